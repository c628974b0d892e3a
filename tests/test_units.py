"""Unit tests of the support modules: bounds, finite differences, the
inverse-Hessian operator, the workspace layout, results."""
import numpy as np
import pytest

from lbfgsb_numba.bounds import normalize_bounds
from lbfgsb_numba.finite_diff import fd_gradient_njit, forward_difference
from lbfgsb_numba.hess_inv import LbfgsInvHessProduct, pairs_in_order
from lbfgsb_numba.result import OptimizeResult
from lbfgsb_numba.workspace import (INPUT_FIELDS, Workspace, allocate,
                                    field_offsets, new_buffer,
                                    new_workspace, workspace_arrays)
from oracle_problems import dense_compact_matrix, step_through


def test_bounds_forms():
    lo, up, nbd = normalize_bounds([(None, 1), (0, None), (None, None),
                                    (-1, 2), (3, 3)], 5)
    np.testing.assert_array_equal(lo, [-np.inf, 0, -np.inf, -1, 3])
    np.testing.assert_array_equal(up, [1, np.inf, np.inf, 2, 3])
    np.testing.assert_array_equal(nbd, [3, 1, 0, 2, 2])
    lo2, up2, nbd2 = normalize_bounds((lo, up), 5)
    np.testing.assert_array_equal(nbd2, nbd)
    lo3, up3, nbd3 = normalize_bounds((0.0, np.inf), 3)  # scalars
    np.testing.assert_array_equal(nbd3, [1, 1, 1])
    # n == 2: pairs win, as in scipy
    lo4, up4, _ = normalize_bounds([(0, 5), (5, 10)], 2)
    np.testing.assert_array_equal(lo4, [0, 5])


def test_finite_differences_match_scipy_bit_for_bit():
    approx = pytest.importorskip("scipy.optimize._numdiff").approx_derivative

    def f(x):
        return float(np.sum(np.sin(3 * x) * x ** 2) + x[0] * x[-1])

    rng = np.random.default_rng(2)
    for trial in range(6):
        n = 7
        x = rng.normal(size=n) * 2
        lo = np.where(rng.random(n) < 0.5, -np.inf, x - rng.random(n) * 1e-9)
        up = np.where(rng.random(n) < 0.5, np.inf, x + rng.random(n) * 1e-9)
        x[0] = 0.0  # the sign rule at zero
        lo[0], up[0] = min(lo[0], 0.0), max(up[0], 0.0)
        f0 = f(x)
        for abs_step, rel_step, kw in ((1e-8, None, {"abs_step": 1e-8}),
                                       (None, None, {}),
                                       (None, 1e-6, {"rel_step": 1e-6})):
            ref = approx(f, x, method="2-point", f0=f0, bounds=(lo, up), **kw)
            g, used = forward_difference(f, x, f0, (), lo, up,
                                         abs_step=abs_step,
                                         rel_step=rel_step)
            np.testing.assert_array_equal(g, ref)
            assert used == n
            g2 = np.empty(n)
            abs_arr = np.full(n, abs_step) if abs_step else np.empty(0)
            used2 = fd_gradient_njit(_f_njit, x, f0, (), lo, up, abs_arr,
                                     -1.0 if rel_step is None else rel_step,
                                     g2, np.empty(n))
            np.testing.assert_array_equal(g2, g)
            assert used2 == n


from numba import njit  # noqa: E402


@njit(cache=True)
def _f_njit(x):
    return np.sum(np.sin(3 * x) * x ** 2) + x[0] * x[-1]


def test_hess_inv_ring_order():
    rng = np.random.default_rng(1)
    m, n = 4, 6
    s = rng.normal(size=(m, n))
    y = s + 0.1 * rng.normal(size=(m, n))
    # ring with head 2 and 4 pairs: logical order rows 2, 3, 0, 1
    sk, yk = pairs_in_order(s, y, 2, 4)
    np.testing.assert_array_equal(sk, s[[2, 3, 0, 1]])
    a = LbfgsInvHessProduct(sk, yk)
    b = LbfgsInvHessProduct.from_ring(s, y, 2, 4)
    v = rng.normal(size=n)
    np.testing.assert_allclose(a.matvec(v), b @ v, rtol=1e-14)
    np.testing.assert_array_equal(b.sk, sk)
    dense = b.todense()
    np.testing.assert_allclose(dense, dense.T, atol=1e-12)
    np.testing.assert_allclose(b.matmat(np.eye(n)), dense)
    np.testing.assert_allclose(b.T @ v, b @ v)
    with pytest.raises(ValueError):
        LbfgsInvHessProduct(sk, yk[:2])
    lin = pytest.importorskip("scipy.sparse.linalg")
    op = b.to_linear_operator()
    assert isinstance(op, lin.LinearOperator)
    np.testing.assert_allclose(op @ v, b @ v)


def test_workspace_layout():
    """Every field gets its own aligned, non-overlapping slice of one
    buffer, with the shape and dtype the kernels expect; the problem's own
    arrays can be used in place."""
    n, m = 7, 3
    ws, buf, addresses = new_workspace(n, m)
    base = buf.__array_interface__["data"][0]
    spans = []
    for name, arr in zip(Workspace._fields, ws):
        start = arr.__array_interface__["data"][0]
        assert (start - base) % 64 == 0, name
        assert base <= start and start + arr.nbytes <= base + buf.nbytes, name
        spans.append((start, start + arr.nbytes, name))
        assert not np.frombuffer(arr.tobytes(), np.uint8).any(), name
    spans.sort()
    for (_, end, a), (start, _, b) in zip(spans, spans[1:]):
        assert end <= start, (a, b)
    assert ws.s_pairs.shape == (m, n) and ws.k_factor.shape == (2 * m, 2 * m)
    assert ws.bound_type.dtype == np.int32 and ws.state.shape == (1,)
    # compiled allocation: same layout
    buf2, addresses2 = allocate(n, m)
    np.testing.assert_array_equal(addresses2 - addresses2[0],
                                  addresses - addresses[0])
    assert addresses2.dtype == np.int64
    # the problem's arrays in place: no room for them in the buffer
    x, lo, up = np.zeros(n), np.zeros(n), np.ones(n)
    nbd = np.full(n, 2, np.int32)
    buf3, addresses3 = new_buffer(n, m, x, lo, up, nbd)
    assert buf3.nbytes < buf.nbytes
    views = workspace_arrays(buf3, addresses3, n, m, (x, lo, up, nbd))
    for k in INPUT_FIELDS:
        assert views[k] is (x, lo, up, nbd)[INPUT_FIELDS.index(k)]
    offsets, size = field_offsets(n, m, False)
    assert (offsets[list(INPUT_FIELDS)] == -1).all() and size == buf3.nbytes
    with pytest.raises(ValueError, match="lower"):
        new_buffer(n, m, x, np.zeros(n + 1), up, nbd)


def test_optimize_result_behaves_like_scipy():
    r = OptimizeResult(x=np.arange(3.0), fun=1.5, message="ok")
    assert r.fun == r["fun"] == 1.5
    r.nit = 3
    assert r["nit"] == 3 and "nit" in dir(r)
    with pytest.raises(AttributeError):
        r.missing
    text = repr(r)
    assert "fun: 1.5" in text and "message: 'ok'" in text


def test_quasi_newton_point_is_the_compact_newton_step():
    """Without bounds the subspace step must be -B^-1 g for the compact
    matrix B = theta I - W M W' (Byrd, Nocedal & Schnabel 1994), built here
    densely from the stored pairs in order (the ring buffer has wrapped)."""
    from benchmarks.problems import rosenbrock_njit
    from lbfgsb_numba.driver import initialize
    from lbfgsb_numba.subspace import quasi_newton_point

    n, m = 6, 4
    x0 = np.tile([-1.2, 1.0], 3)
    lo, up = np.full(n, -np.inf), np.full(n, np.inf)
    ws = new_workspace(n, m)[0]
    initialize(ws, x0, lo, up, np.zeros(n, dtype=np.int32), m, 1e7, 1e-5,
               20, 10, 15000)
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


def test_build_dense_is_the_compact_matrix():
    """The dense B of small bounded problems (``dense_model.build_dense``)
    equals theta I - W M W' formed from the stored pairs in order, after
    the ring buffer has wrapped."""
    from benchmarks.problems import rosenbrock_njit
    from lbfgsb_numba.dense_model import build_dense, use_dense
    from lbfgsb_numba.driver import initialize, step
    from lbfgsb_numba.status import FG, NEW_X

    n, m = 5, 3
    x0 = np.array([-1.2, 1.0, -1.2, 1.0, -1.2])
    lo = np.array([-2.0, -0.5, -np.inf, 0.1, -1.0])
    up = np.array([2.0, 0.8, 1.5, np.inf, 1.0])
    nbd = normalize_bounds(list(zip(lo, up)), n)[2]
    assert use_dense(n, m)
    ws = new_workspace(n, m)[0]
    initialize(ws, x0, lo, up, nbd, m, 1e7, 1e-5, 20, 15000, 15000)
    assert step_through(ws, rosenbrock_njit, iterations=7) == NEW_X
    # the pairs of the last completed update (the one after iteration 7
    # is made when the solver is stepped again)
    task = step(ws)
    assert task == FG
    st = ws.state[0]
    assert st["dense"] == 1
    col, head, theta = int(st["col"]), int(st["head"]), float(st["theta"])
    assert col == m and head != 0  # wrapped ring
    expected = dense_compact_matrix(ws)
    np.testing.assert_allclose(ws.b_dense, expected, rtol=1e-10,
                               atol=1e-10 * np.abs(expected).max())
    # a fresh build from the same pairs gives the solver's matrix
    b = np.full((n, n), np.nan)
    assert build_dense(b, ws.s_pairs, ws.y_pairs, ws.d_scaling, theta, col,
                       head, m, np.empty(n)) == 0
    np.testing.assert_array_equal(b, ws.b_dense)
    np.testing.assert_allclose(b, b.T, rtol=1e-12, atol=1e-12)
    # d_scaling[m:] holds 1 / (s'y) in pair order
    sk, yk = pairs_in_order(ws.s_pairs, ws.y_pairs, head, col)
    np.testing.assert_allclose(ws.d_scaling[m:m + col],
                               1.0 / np.sum(sk * yk, axis=1), rtol=1e-14)
