"""The generalized Cauchy point (``cauchy.py``) against a brute-force search
along the projected steepest-descent path, and the breakpoint heap against
sorting.

The model m(z) = g'z + z'Bz/2 along x(t) = P(x - t g, l, u) (Byrd, Lu,
Nocedal & Zhu 1995, section 4) is written here densely with numpy: B =
theta I - W M W' from the stored pairs (``dense_compact_matrix``), the
breakpoints sorted, and each segment's quadratic minimised in turn; the
first local minimiser is the GCP.  The limited-memory matrices are those of
solves of random bounded problems, stopped part-way (the ring has wrapped).
"""
import numpy as np
import pytest
from numba import njit

from lbfgsb_numba.options import solver_options
from lbfgsb_numba.bounds import normalize_bounds
from lbfgsb_numba.cauchy import cauchy_point, heap_pop_min
from lbfgsb_numba.hess_inv import pairs_in_order
from lbfgsb_numba.status import NEW_X
from lbfgsb_numba.workspace import (B_DENSE, B_TIMES_D, B_TIMES_Z,
                                    BOUND_TYPE, BREAK_INDEX, BREAKPOINTS,
                                    D_SCALING, LOWER, S_PAIRS, STATE, SY,
                                    SCRATCH_2M, T_CHOL, UPPER, W_ROW, WHERE,
                                    WT_CAUCHY_STEP, WT_DIRECTION,
                                    M_WT_CAUCHY_STEP, Y_PAIRS,
                                    workspace_views)
from kernel_harness import initialize, new_workspace
from oracle_problems import dense_compact_matrix, step_through


@njit(cache=True)
def cauchy_at(addresses, n, m, x, g, d, xcp):
    """``cauchy_point`` at (x, g) with the solver's stored matrices and
    variable status; returns its code."""
    ws = workspace_views(addresses, n, m)
    st = ws[STATE][0]
    st.pg_norm = 1.0  # any positive projected-gradient norm
    info = cauchy_point(x, g, ws[LOWER], ws[UPPER], ws[BOUND_TYPE],
                        ws[WHERE], ws[BREAKPOINTS], ws[BREAK_INDEX], d, xcp,
                        ws[S_PAIRS], ws[Y_PAIRS], ws[SY], ws[T_CHOL],
                        ws[D_SCALING], ws[WT_DIRECTION], ws[WT_CAUCHY_STEP],
                        ws[W_ROW], ws[SCRATCH_2M], ws[M_WT_CAUCHY_STEP],
                        ws[B_DENSE], ws[B_TIMES_D], ws[B_TIMES_Z],
                        st)
    return info


def brute_force_gcp(x, g, lower, upper, B):
    """The first local minimiser of m(x(t) - x) over t >= 0, segment by
    segment: returns (x(t*), number of segments entered)."""
    t_break = np.full(x.size, np.inf)
    down, up = g > 0, g < 0
    t_break[down] = (x[down] - lower[down]) / g[down]
    t_break[up] = (x[up] - upper[up]) / g[up]
    t_break = np.where(np.isnan(t_break), np.inf, t_break)
    knots = np.unique(t_break[np.isfinite(t_break) & (t_break > 0)])
    t0, z = 0.0, np.zeros_like(x)
    segments = 0
    for t1 in np.append(knots, np.inf):
        d = np.where(t_break > t0, -g, 0.0)  # the variables still moving
        if not d.any():
            break
        segments += 1
        slope = g @ d + z @ B @ d
        curvature = d @ B @ d
        if slope >= 0.0:
            break
        dt = -slope / curvature
        if dt < t1 - t0:
            z = z + dt * d
            break
        z = z + (t1 - t0) * d
        t0 = t1
    return x + z, segments


def solver_memory(n, m, seed, iterations):
    """A workspace after ``iterations`` of a random convex bounded problem,
    stepped once more so that the matrices hold the last update."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    h = a @ a.T / n + np.diag(rng.uniform(0.5, 3.0, n))
    c = rng.normal(size=n) * 2

    def fg(x):
        r = x - c
        return float(0.5 * r @ h @ r), h @ r

    lower = np.where(rng.random(n) < 0.7, rng.uniform(-1.5, -0.5, n),
                     -np.inf)
    upper = np.where(rng.random(n) < 0.7, rng.uniform(0.5, 1.5, n), np.inf)
    upper[0] = lower[0] = -0.25  # one fixed variable
    nbd = normalize_bounds((lower, upper), n)[2]
    ws, buf, addresses = new_workspace(n, m)
    initialize(ws, rng.uniform(-1, 1, n), lower, upper, nbd,
               solver_options(m=m, factr=0.0, pgtol=0.0))
    assert step_through(ws, fg, iterations + 1) == NEW_X
    return ws, buf, addresses, lower, upper, rng


@pytest.mark.parametrize("n, m, dense, iterations",
                         [(12, 4, 0, 7), (6, 3, 1, 7)],
                         ids=["compact", "dense"])
def test_cauchy_point_is_the_first_minimiser_along_the_path(n, m, dense,
                                                            iterations):
    ws, buf, addresses, lower, upper, rng = solver_memory(n, m, n,
                                                          iterations)
    st = ws.state[0]
    assert st["dense"] == dense and st["col"] == m and st["head"] != 0
    B = dense_compact_matrix(ws)
    if dense:
        np.testing.assert_allclose(ws.b_dense, B, rtol=1e-9,
                                   atol=1e-12 * np.abs(B).max())
    col, theta = int(st["col"]), float(st["theta"])
    sk, yk = pairs_in_order(ws.s_pairs, ws.y_pairs, int(st["head"]), col)
    W = np.hstack([yk.T, theta * sk.T])
    segments_seen = set()
    for trial in range(40):
        x = np.clip(rng.uniform(-2, 2, n), lower, upper)
        on_bound = rng.random(n) < 0.25
        x[on_bound] = np.where(np.isfinite(lower), lower, x)[on_bound]
        g = rng.normal(size=n) * rng.uniform(0.1, 10)
        where = ws.where.copy()
        d, xcp = np.empty(n), np.empty(n)
        info = cauchy_at(addresses, n, m, x, g, d, xcp)
        ws.where[:] = where  # (the kernel updates the variable status)
        assert info == 0
        expected, segments = brute_force_gcp(x, g, lower, upper, B)
        np.testing.assert_allclose(xcp, expected, rtol=1e-9, atol=1e-11,
                                   err_msg=str(trial))
        assert (xcp >= lower).all() and (xcp <= upper).all()
        segments_seen.add(segments)
        if not dense:  # wc = W'(xcp - x) and wm = M wc, for the subspace
            np.testing.assert_allclose(ws.wt_cauchy_step[:2 * col], W.T @ (xcp - x),
                                       rtol=1e-8, atol=1e-10)
    assert len(segments_seen) >= 3  # GCPs on several segments


@pytest.mark.parametrize("k", [1, 2, 3, 7, 64, 301])
def test_breakpoint_heap_pops_in_sorted_order(k):
    """Popping with nleft = k-1, k-2, ..., 1 (the first call building the
    heap) leaves the breakpoints in decreasing order with their variables,
    as ``cauchy_point`` visits them: t[nleft] is the least of t[:nleft+1]."""
    rng = np.random.default_rng(k)
    t = rng.exponential(size=k)
    t[rng.random(k) < 0.2] = 0.5  # ties
    original = t.copy()
    order = rng.permutation(k).astype(np.int32)
    variable_of = dict(zip(order.tolist(), original.tolist()))
    for nleft in range(k - 1, -1, -1):
        heap_pop_min(nleft, t, order, nleft == k - 1)
        assert (t[:nleft] >= t[nleft]).all()
    np.testing.assert_array_equal(t, np.sort(original)[::-1])
    assert sorted(order.tolist()) == list(range(k))
    assert [variable_of[i] for i in order.tolist()] == t.tolist()
