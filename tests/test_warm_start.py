"""Warm start: the seeded memory is the compact (or dense) L-BFGS matrix of
the given pairs; a warm start saves evaluations on a drifting sequence of
fits and finds the same minima; warm_start=None is a cold start, bit for
bit; the same on both paths and through ask/tell; bad pairs refused."""
import numpy as np
import pytest

import lbfgsb_numba as lb
from lbfgsb_numba import LbfgsbSolver
from benchmarks.bench import warm_start_savings
from benchmarks.problems import (FIT, FIT_LOWER, FIT_UPPER, drifting_fit_data,
                                 two_exp_njit, two_exp_numpy)
from lbfgsb_numba.bounds import normalize_bounds
from lbfgsb_numba.hess_inv import LbfgsInvHessProduct, pairs_in_order
from lbfgsb_numba.options import solver_options
from lbfgsb_numba.warm_start import seed_memory, warm_start_pairs
from kernel_harness import initialize, new_workspace
from oracle_problems import dense_compact_matrix, python_wrapper, rosenbrock
from test_ask_tell import assert_same_solve, drive

BOUNDS = (FIT_LOWER, FIT_UPPER)


def _pairs(k, n, seed=0):
    """k pairs with y = A s for a random SPD A (positive curvature)."""
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n, n))
    a = q @ q.T + n * np.eye(n)
    s = rng.normal(size=(k, n))
    return s, s @ a


@pytest.mark.parametrize("n, m, bounded", [(6, 4, False), (5, 10, True),
                                           (20, 5, True)])
def test_seeded_memory_is_the_lbfgs_matrix_of_the_pairs(n, m, bounded):
    s, y = _pairs(m + 2, n)
    s[3] = -s[3]  # negative curvature: left out
    lo = np.full(n, -5.0 if bounded else -np.inf)
    up = np.full(n, 5.0 if bounded else np.inf)
    nbd = normalize_bounds((lo, up), n)[2]
    ws = new_workspace(n, m)[0]
    initialize(ws, np.zeros(n), lo, up, nbd,
               solver_options(m=m, maxiter=100, maxfun=100))
    kept = seed_memory(ws, *warm_start_pairs((s, y), n, m))
    st = ws.state[0]
    # warm_start_pairs keeps the newest m; the reversed one is among them
    assert kept == m - 1 == st["col"] and st["iter"] == 1
    sk, yk = pairs_in_order(ws.s_pairs, ws.y_pairs, int(st["head"]), m - 1)
    keep = [j for j in range(2, m + 2) if j != 3]
    np.testing.assert_array_equal(sk, s[keep])
    np.testing.assert_array_equal(yk, y[keep])
    assert st["theta"] == pytest.approx(y[-1] @ y[-1] / (s[-1] @ y[-1]),
                                        rel=1e-14)
    expected = dense_compact_matrix(ws)
    scale = np.abs(expected).max()
    if st["dense"]:
        np.testing.assert_allclose(ws.b_dense, expected, atol=1e-10 * scale)
    else:
        col = m - 1
        np.testing.assert_allclose(ws.sy[:col, :col], sk @ yk.T,
                                   rtol=1e-12)
        np.testing.assert_allclose(np.tril(ws.yy[:col, :col]),
                                   np.tril(yk @ yk.T), rtol=1e-12)
        if bounded:  # S'S (only bounds need it) and J'J = T
            np.testing.assert_allclose(np.triu(ws.ss[:col, :col]),
                                       np.triu(sk @ sk.T), rtol=1e-12)
            sy = sk @ yk.T
            low = np.tril(sy, -1)
            t = (st["theta"] * sk @ sk.T
                 + low @ np.diag(1.0 / np.diag(sy)) @ low.T)
            j = np.triu(ws.t_chol[:col, :col])
            np.testing.assert_allclose(j.T @ j, t, rtol=1e-10)


def test_warm_start_saves_evaluations_on_drifting_fits():
    data = drifting_fit_data(count=12)
    cold, warm, diff = warm_start_savings(data=data, options={
        "ftol": 1e-12, "gtol": 1e-8})
    assert warm.sum() < 0.6 * cold.sum()
    assert diff < 1e-7  # the same minima


def test_warm_start_none_is_a_cold_start_bit_for_bit():
    x0, y = FIT.x0, drifting_fit_data(count=1)[0]
    args = (FIT.t, y)
    for fun in (two_exp_njit, python_wrapper(two_exp_njit)):
        ref = lb.minimize(fun, x0, args=args, jac=True, bounds=BOUNDS)
        res = lb.minimize(fun, x0, args=args, jac=True, bounds=BOUNDS,
                          warm_start=None)
        assert_same_solve(res, ref)
    solver = LbfgsbSolver(x0, BOUNDS, warm_start=None)
    assert_same_solve(drive(solver, two_exp_njit, args)[0], ref)


def test_warm_start_same_on_every_path():
    """Compiled and Python objectives, ask/tell, options= and keyword, from
    the result, its hess_inv or (sk, yk): the same solve, bit for bit."""
    y0, y1 = drifting_fit_data(count=2)
    first = lb.minimize(two_exp_njit, FIT.x0, args=(FIT.t, y0), jac=True,
                        bounds=BOUNDS)
    args = (FIT.t, y1)
    ref = lb.minimize(two_exp_njit, first.x, args=args, jac=True,
                      bounds=BOUNDS, warm_start=first)
    pairs = (first.hess_inv.sk, first.hess_inv.yk)
    for source in (first, first.hess_inv, pairs,
                   LbfgsInvHessProduct(*pairs)):
        res = lb.minimize(python_wrapper(two_exp_njit), first.x, args=args,
                          jac=True, bounds=BOUNDS,
                          options={"warm_start": source})
        assert_same_solve(res, ref)
    solver = LbfgsbSolver(first.x, BOUNDS, warm_start=first)
    assert_same_solve(drive(solver, two_exp_njit, args)[0], ref)
    cold = lb.minimize(two_exp_njit, first.x, args=args, jac=True,
                       bounds=BOUNDS)
    assert ref.nfev < cold.nfev


def test_warm_start_without_bounds_and_with_more_pairs_than_m():
    x0 = np.tile([-1.2, 1.0], 5)
    first = lb.minimize(rosenbrock, x0, jac=True, options={"maxiter": 30})
    assert first.hess_inv.n_corrs == 10
    # continue the same problem with a smaller memory: the newest 4 pairs
    res = lb.minimize(rosenbrock, first.x, jac=True, warm_start=first,
                      options={"maxcor": 4})
    kept = lb.minimize(rosenbrock, first.x, jac=True, options={"maxcor": 4},
                       warm_start=(first.hess_inv.sk[-4:],
                                   first.hess_inv.yk[-4:]))
    assert_same_solve(res, kept)
    assert res.success and np.allclose(res.x, 1.0, atol=1e-4)
    cold = lb.minimize(rosenbrock, first.x, jac=True, options={"maxcor": 4})
    assert res.nfev < cold.nfev


def test_warm_start_from_a_scipy_result():
    scipy_optimize = pytest.importorskip("scipy.optimize")
    y0, y1 = drifting_fit_data(count=2)
    first = scipy_optimize.minimize(two_exp_numpy, FIT.x0, args=(FIT.t, y0),
                                    jac=True, method="L-BFGS-B",
                                    bounds=list(zip(FIT_LOWER, FIT_UPPER)))
    res = lb.minimize(two_exp_njit, first.x, args=(FIT.t, y1), jac=True,
                      bounds=BOUNDS, warm_start=first)
    ours = lb.minimize(two_exp_njit, first.x, args=(FIT.t, y1), jac=True,
                       bounds=BOUNDS, warm_start=(first.hess_inv.sk,
                                                  first.hess_inv.yk))
    assert_same_solve(res, ours)
    assert res.success


@pytest.mark.parametrize("warm_start, error, match", [
    ((np.ones((2, 3)), np.ones((2, 3))), ValueError, r"\(k, 5\)"),
    ((np.ones((2, 5)), np.ones((3, 5))), ValueError, "shape"),
    ((np.full((1, 5), np.nan), np.ones((1, 5))), ValueError, "NaN"),
    ("previous", TypeError, "warm_start"),
    (42, TypeError, "warm_start"),
])
def test_bad_warm_start_is_refused(warm_start, error, match):
    y = drifting_fit_data(count=1)[0]
    with pytest.raises(error, match=match):
        lb.minimize(two_exp_njit, FIT.x0, args=(FIT.t, y), jac=True,
                    bounds=BOUNDS, warm_start=warm_start)
    with pytest.raises(error, match=match):
        LbfgsbSolver(FIT.x0, BOUNDS, warm_start=warm_start)


def test_pairs_without_curvature_give_a_cold_start():
    y = drifting_fit_data(count=1)[0]
    s = np.eye(5)[:2]
    ref = lb.minimize(two_exp_njit, FIT.x0, args=(FIT.t, y), jac=True,
                      bounds=BOUNDS)
    res = lb.minimize(two_exp_njit, FIT.x0, args=(FIT.t, y), jac=True,
                      bounds=BOUNDS, warm_start=(s, -s))
    assert_same_solve(res, ref)
