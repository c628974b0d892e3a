"""The limited-memory matrices (``bfgs_matrix.py``): the middle matrix M
against dense numpy, and the inner products behind K against dense numpy on
every path.

K of the subspace step stays consistent with the stored pairs and the free
set on every path (the stale-K defect of L-BFGS-B 3.0, repaired).

In the reference code, an iteration whose generalized Cauchy point has no
free variable skips the subspace step and with it the update of K's inner
products, yet records the empty free set; the next iteration then updates
them incrementally from that empty set.  The case in
``/work/shared/cases/stale_k`` (copied below as ``stale_k_case.npz``) hits
it: scipy 1.17 ends after 18 iterations / 23 evaluations, a solver with
an exact K after 19 / 26.  Appending a variable that always sits at its
bound changes the path this package takes (no shortcut for "no variable
active") but not the mathematics.
"""
import os

import numpy as np
import pytest

import lbfgsb_numba as lb
from benchmarks.problems import rosenbrock_njit
from lbfgsb_numba.bfgs_matrix import middle_product
from lbfgsb_numba.bounds import normalize_bounds
from kernel_harness import step
from lbfgsb_numba.hess_inv import pairs_in_order
from lbfgsb_numba.options import solver_options
from lbfgsb_numba.status import FG, NEW_X, message
from kernel_harness import initialize, new_workspace
from oracle_problems import step_through

CASE = np.load(os.path.join(os.path.dirname(__file__), "stale_k_case.npz"))
M = int(CASE["m"])
EXACT_K_NIT_NFEV = (19, 26)


def stale_k_objective(x):
    """Convex quadratic + quartic + softplus barrier of the case (f, g)."""
    A, b, sgn, pos = CASE["A"], CASE["b"], CASE["sgn"], CASE["pos"]
    wt, kk = float(CASE["Wt"]), float(CASE["kk"])
    z = kk * (sgn * x - pos)
    ax = A @ x
    f = (0.5 * x @ ax - b @ x + 0.1 * np.sum(x ** 4)
         + wt * np.sum(np.logaddexp(0.0, z)) / kk)
    g = ax - b + 0.4 * x ** 3 + wt * sgn * 0.5 * (1.0 + np.tanh(0.5 * z))
    return float(f), g


def with_active_extra(x):
    """The case plus one separable variable that stays at its lower bound
    (f += x_extra on [0, 1])."""
    f, g = stale_k_objective(x[:-1])
    return f + x[-1], np.append(g, 1.0)


def problem(extra):
    x0, lo, up = CASE["x0"], CASE["lo"], CASE["up"]
    if not extra:
        return stale_k_objective, x0.copy(), list(zip(lo, up))
    return (with_active_extra, np.append(x0, 0.0),
            list(zip(np.append(lo, 0.0), np.append(up, 1.0))))


def exact_k_products(ws):
    """The inner products behind K (``bfgs_matrix.update_k_products``
    layout) formed with numpy from the stored pairs and the current free
    set: Y'ZZ'Y, S'AA'S and, in the off-diagonal block, S'ZZ'Y on and
    above the diagonal and S'AA'Y below it."""
    st = ws.state[0]
    col, head, nfree = int(st["col"]), int(st["head"]), int(st["nfree"])
    sk, yk = pairs_in_order(ws.s_pairs, ws.y_pairs, head, col)  # (col, n)
    free = ws.free_active[:nfree]
    active = ws.free_active[nfree:]
    yzzy = yk[:, free] @ yk[:, free].T
    saas = sk[:, active] @ sk[:, active].T
    szzy = sk[:, free] @ yk[:, free].T
    saay = sk[:, active] @ yk[:, active].T
    off = np.where(np.arange(col)[:, None] <= np.arange(col), szzy, saay)
    return yzzy, saas, off


def dense_k(ws, yzzy, saas, off):
    """K = [[-D - Y'ZZ'Y/theta, L_a' - R_z'], [L_a - R_z, theta S'AA'S]]
    (Alg. 778, formk) formed with numpy: D = diag(S'Y), R_z the upper
    triangle of S'ZZ'Y, L_a the strict lower triangle of S'AA'Y."""
    st = ws.state[0]
    col, head, theta = int(st["col"]), int(st["head"]), float(st["theta"])
    sk, yk = pairs_in_order(ws.s_pairs, ws.y_pairs, head, col)
    d = np.diag(np.diag(sk @ yk.T))
    r_z, l_a = np.triu(off), np.tril(off, -1)
    return np.block([[-d - yzzy / theta, (l_a - r_z).T],
                     [l_a - r_z, theta * saas]])


def solve_checking_k(fg, x0, bounds, dense):
    """Drive the solver with the dense model on or off; at the start of
    every line search whose direction came through K, compare K's inner
    products with ``exact_k_products`` and its factor with ``dense_k``.
    Returns (nit, nfev, task, the (nfree, col) of every search, the number
    of K checks)."""
    n = x0.size
    lower, upper, nbd = normalize_bounds(bounds, n)
    ws = new_workspace(n, M)[0]
    initialize(ws, x0, lower, upper, nbd, solver_options(m=M))
    ws.state["dense"][0] = dense
    st = ws.state[0]
    searches, checked, nfev = [], 0, 0
    while True:
        task = step(ws)
        if task == FG:
            if st["n_trials"] == 1 and st["iter"] > 0:
                nfree, col = int(st["nfree"]), int(st["col"])
                searches.append((nfree, col))
                if not dense and 0 < nfree < n and col > 0:
                    assert st["k_products_stale"] == 0
                    yzzy, saas, off = exact_k_products(ws)
                    kp = ws.k_products
                    scale = np.abs(kp).max()
                    tri = np.tril_indices(col)
                    for got, want in ((kp[:col, :col], yzzy),
                                      (kp[M:M + col, M:M + col], saas)):
                        np.testing.assert_allclose(got[tri], want[tri],
                                                   rtol=1e-9,
                                                   atol=1e-12 * scale)
                    np.testing.assert_allclose(kp[M:M + col, :col], off,
                                               rtol=1e-9, atol=1e-12 * scale)
                    k_dense = dense_k(ws, yzzy, saas, off)
                    u = np.triu(ws.k_factor[:2 * col, :2 * col])
                    e = np.diag(np.repeat([-1.0, 1.0], col))
                    np.testing.assert_allclose(
                        u.T @ e @ u, k_dense, rtol=1e-8,
                        atol=1e-10 * np.abs(k_dense).max())
                    checked += 1
            f, g = fg(ws.x.copy())
            ws.state["f"][0] = f
            ws.g[:] = g
            nfev += 1
        elif task != NEW_X:
            break
    return int(st["nit"]), nfev, task, searches, checked


@pytest.mark.parametrize("extra", [False, True])
@pytest.mark.parametrize("dense", [0, 1])
def test_k_is_exact_on_every_path(extra, dense):
    fg, x0, bounds = problem(extra)
    nit, nfev, task, searches, checked = solve_checking_k(fg, x0, bounds,
                                                         dense)
    assert (nit, nfev) == EXACT_K_NIT_NFEV
    assert message(task).startswith("CONVERGENCE")
    n = x0.size
    # the case reaches a GCP with no free variable while pairs are stored
    # (the iteration that left K stale in the reference) ...
    i = searches.index((0, 1))
    after = searches[i + 1][0]
    if extra:
        # ... followed by a step through K's incremental update
        assert 0 < after < n
    else:
        # ... followed by a step with no active variable (no K)
        assert after == n
    # K never fails to factor, so the memory is never dropped (the stale
    # K of the reference is indefinite here and costs a restart)
    cols = [c for _, c in searches]
    assert cols == sorted(cols)
    if not dense:
        assert checked >= 10


@pytest.mark.parametrize("extra", [False, True])
def test_public_entry_takes_the_exact_k_path(extra):
    fg, x0, bounds = problem(extra)
    x, f, d = lb.fmin_l_bfgs_b(fg, x0, bounds=bounds, m=M)
    assert (d["nit"], d["funcalls"]) == EXACT_K_NIT_NFEV
    assert d["warnflag"] == 0
    # the extra variable stays at its bound and does not change x
    x_plain, f_plain, _ = lb.fmin_l_bfgs_b(stale_k_objective, CASE["x0"],
                                           bounds=problem(False)[2], m=M)
    np.testing.assert_allclose(x[:12], x_plain, rtol=1e-8, atol=1e-10)
    if extra:
        assert x[-1] == 0.0


# ---------------------------------------------------------------------------
# the middle matrix M against dense numpy
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("iterations", [3, 9])  # ring part-filled, wrapped
def test_middle_product_is_the_dense_middle_matrix_inverse(iterations):
    """middle_product gives M v with M = [[-D, L'], [L, theta S'S]]^-1
    (Byrd, Nocedal & Schnabel 1994, eq. 3.4) formed with numpy from the
    stored pairs in order; D and L from S'Y."""
    n, m = 12, 5
    lower, upper, nbd = normalize_bounds([(-2.0, 2.0)] * n, n)
    ws = new_workspace(n, m)[0]
    initialize(ws, np.tile([-1.2, 1.0], n // 2), lower, upper, nbd,
               solver_options(m=m, factr=0.0, pgtol=0.0))
    assert step_through(ws, rosenbrock_njit, iterations) == NEW_X
    st = ws.state[0]
    col, head, theta = int(st["col"]), int(st["head"]), float(st["theta"])
    assert st["dense"] == 0 and col == min(iterations - 1, m)
    sk, yk = pairs_in_order(ws.s_pairs, ws.y_pairs, head, col)
    sy = sk @ yk.T  # S'Y
    middle = np.block([[-np.diag(np.diag(sy)), np.tril(sy, -1).T],
                       [np.tril(sy, -1), theta * sk @ sk.T]])
    rng = np.random.default_rng(iterations)
    for _ in range(5):
        v = rng.normal(size=2 * m)
        out = np.full(2 * m, np.nan)
        assert middle_product(ws.sy, ws.t_chol, ws.d_scaling, col,
                              v[:2 * col].copy(), out) == 0
        np.testing.assert_allclose(middle @ out[:2 * col], v[:2 * col],
                                   rtol=1e-9, atol=1e-9 * np.abs(v).max())
