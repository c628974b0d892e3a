"""The subspace minimisation (``subspace.py``) against dense numpy."""
import numpy as np

from kernel_harness import new_workspace
from oracle_problems import dense_compact_matrix, step_through


def test_quasi_newton_point_is_the_compact_newton_step():
    """Without bounds the subspace step must be -B^-1 g for the compact
    matrix B = theta I - W M W' (Byrd, Nocedal & Schnabel 1994), built here
    densely from the stored pairs in order (the ring buffer has wrapped)."""
    from benchmarks.problems import rosenbrock_njit
    from lbfgsb_numba.options import solver_options
    from kernel_harness import initialize
    from lbfgsb_numba.subspace import quasi_newton_point

    n, m = 6, 4
    x0 = np.tile([-1.2, 1.0], 3)
    lo, up = np.full(n, -np.inf), np.full(n, np.inf)
    ws = new_workspace(n, m)[0]
    initialize(ws, x0, lo, up, np.zeros(n, dtype=np.int32),
               solver_options(m=m, maxiter=10))
    step_through(ws, rosenbrock_njit)
    st = ws.state[0]
    col, head, theta = int(st["col"]), int(st["head"]), float(st["theta"])
    assert col == m and head != 0  # wrapped ring
    B = dense_compact_matrix(ws)
    x, g = ws.x.copy(), ws.g.copy()
    expected = x - np.linalg.solve(B, g)
    got = np.empty(n)
    quasi_newton_point(x, g, ws.s_pairs, ws.y_pairs, ws.sy, ws.yy,
                       ws.d_scaling, theta, col, head, m, np.empty(2 * m), got)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
