"""BatchSolver (ask/tell for k problems): every problem equals its solve
alone with ``minimize`` bit for bit (iterates, nit, nfev, message), with NaN
rows, rows finishing at different rounds, per-row bounds and callbacks."""
import numpy as np
import pytest

import lbfgsb_numba as lb
from lbfgsb_numba import status
from lbfgsb_numba.batch_ask_tell import BatchSolver
from oracle_problems import beale, exp_fit, rosenbrock, tridiag


def row_objective(fg, args_of_row):
    """A vectorised objective built from a per-row one: F, G for the rows
    ``idx`` at points X (the per-row objective gets row i's arguments)."""
    def batch_fg(idx, X):
        n = X.shape[1]
        F = np.empty(len(idx))
        G = np.empty((len(idx), n))
        for j, i in enumerate(idx):
            f, g = fg(X[j].copy(), *args_of_row(i))
            F[j] = f
            G[j] = g
        return F, G
    return batch_fg


def run(solver, batch_fg, trace=None):
    """Drive ``solver`` to the end; ``trace[i]`` collects the points asked
    of problem i.  Returns the number of rounds."""
    rounds = 0
    while not solver.done:
        idx, X = solver.ask()
        if trace is not None:
            for j, i in enumerate(idx):
                trace.setdefault(int(i), []).append(X[j].copy())
        solver.tell(*batch_fg(idx, X))
        rounds += 1
    return rounds


def alone(fg, x0, args, bounds, trace=None, **options):
    """``minimize`` on one problem, recording the points it evaluates."""
    def fun(x):
        if trace is not None:
            trace.append(x.copy())
        return fg(x, *args)
    return lb.minimize(fun, x0, jac=True, bounds=bounds, options=options)


def assert_same(res, i, ref):
    np.testing.assert_array_equal(res.x[i], ref.x)
    assert res.fun[i] == ref.fun or (np.isnan(res.fun[i]) and
                                     np.isnan(ref.fun))
    np.testing.assert_array_equal(res.jac[i], ref.jac)
    assert (res.nit[i], res.nfev[i], res.message[i], res.status[i]) == (
        ref.nit, ref.nfev, ref.message, ref.status), i


def test_rosenbrock_rows_equal_minimize_with_per_row_bounds():
    """Different starts and per-row boxes (some rows without bounds): the
    rows finish at different rounds, each as ``minimize`` alone."""
    rng = np.random.default_rng(1)
    k, n = 7, 4
    x0 = rng.uniform(-2, 2, (k, n))
    lower = np.full((k, n), -np.inf)
    upper = np.full((k, n), np.inf)
    lower[1:4] = -1.5
    upper[2:5] = rng.uniform(0.3, 1.5, (3, n))
    solver = BatchSolver(x0, (lower, upper), maxcor=5)
    trace = {}
    run(solver, row_objective(rosenbrock, lambda i: ()), trace)
    res = solver.result()
    assert len(set(res.nfev.tolist())) > 3  # finish at different rounds
    for i in range(k):
        ref_trace = []
        ref = alone(rosenbrock, x0[i], (), list(zip(lower[i], upper[i])),
                    ref_trace, maxcor=5)
        assert_same(res, i, ref)
        np.testing.assert_array_equal(np.array(trace[i]),
                                      np.array(ref_trace))


def test_curve_fits_with_row_data_equal_minimize():
    rng = np.random.default_rng(2)
    k = 6
    t = np.linspace(0, 4, 30)
    p_true = rng.uniform([1, 0.5, -0.2], [3, 2, 0.2], (k, 3))
    y = p_true[:, :1] * np.exp(-p_true[:, 1:2] * t) + p_true[:, 2:]
    x0 = np.tile([1.0, 1.0, 0.0], (k, 1))
    bounds = [(0, 5), (0.1, 3), (-1, 1)]
    solver = BatchSolver(x0, bounds, ftol=1e-12, gtol=1e-9)
    run(solver, row_objective(exp_fit, lambda i: (t, y[i])))
    assert not solver._scratch.any()  # the fields left out stay untouched
    res = solver.result()
    for i in range(k):
        ref = alone(exp_fit, x0[i], (t, y[i]), bounds, ftol=1e-12,
                    gtol=1e-9)
        assert_same(res, i, ref)
    np.testing.assert_allclose(res.x, p_true, atol=1e-4)


@pytest.mark.parametrize("n", [12, 20])
def test_compact_form_rows_equal_minimize(n):
    """Bounded problems beyond the dense model's size (n = 20) take the
    compact form with K; n = 12 the dense model with m = 3 would not
    (use_dense is false there), so every field is kept."""
    rng = np.random.default_rng(10)
    x0 = rng.uniform(-1.5, 1.5, (3, n))
    bounds = [(-1.0, 0.9)] * n
    solver = BatchSolver(x0, bounds, maxcor=3)
    run(solver, row_objective(rosenbrock, lambda i: ()))
    res = solver.result()
    for i in range(3):
        assert_same(res, i, alone(rosenbrock, x0[i], (), bounds, maxcor=3))


def nan_rows(x, row):
    """Row 0: NaN at the start; row 1: NaN beyond x0 > 0.5 (the line search
    shrinks the step); row 2: inf f everywhere but the start, so its line
    search fails; other rows: a plain quadratic."""
    n = x.shape[0]
    c = np.linspace(0.0, 2.0, n) + row
    f, g = 0.5 * float(np.sum((x - c) ** 2)), x - c
    if row == 0:
        return np.nan, g
    if row == 1 and x[0] > 0.5:
        return f, np.full(n, np.nan)
    if row == 2 and x[0] != 0.0:
        return np.inf, g
    return f, g


def test_nan_rows_end_with_their_own_status_others_go_on():
    k, n = 5, 3
    x0 = np.zeros((k, n))
    solver = BatchSolver(x0, maxiter=50)
    run(solver, row_objective(nan_rows, lambda i: (i,)))
    res = solver.result()
    assert res.task[0] == status.ABNORMAL_NONFINITE_START
    assert res.nfev[0] == 1 and res.nit[0] == 0
    assert res.task[2] in (status.ABNORMAL_NONFINITE_SEARCH,
                           status.ABNORMAL_LINE_SEARCH)
    assert res.x[1][0] <= 0.5
    assert res.success[3] and res.success[4]
    for i in range(k):
        assert_same(res, i, alone(nan_rows, x0[i], (i,), None, maxiter=50))


@pytest.mark.parametrize("maxiter, maxfun", [(3, 15000), (15000, 4)])
def test_limits_per_problem(maxiter, maxfun):
    """maxiter and maxfun stop each problem as ``minimize`` does."""
    rng = np.random.default_rng(3)
    x0 = rng.uniform(-1, 1, (4, 2))
    solver = BatchSolver(x0, maxiter=maxiter, maxfun=maxfun)
    run(solver, row_objective(beale, lambda i: ()))
    res = solver.result()
    assert (res.status == 1).all()
    for i in range(4):
        assert_same(res, i, alone(beale, x0[i], (), None, maxiter=maxiter,
                                  maxfun=maxfun))


def test_callback_stops_one_problem():
    """callback(i, x, f) sees each accepted iterate of problem i (as
    fmin_l_bfgs_b's callback); a true return stops problem i only."""
    x0 = np.tile(np.linspace(-1.0, 1.0, 6), (3, 1)) + np.arange(3)[:, None]
    c = np.arange(6.0)
    seen = {}

    def callback(i, x, f):
        seen.setdefault(i, []).append((x.copy(), f))
        return i == 1 and len(seen[1]) == 2

    solver = BatchSolver(x0, callback=callback)
    run(solver, row_objective(tridiag, lambda i: (c,)))
    res = solver.result()
    assert res.task[1] == status.STOP_CALLBACK and res.nit[1] == 2
    assert res.success[0] and res.success[2]
    for i in range(3):
        ref_seen = []
        x, f, d = lb.fmin_l_bfgs_b(
            lambda z: tridiag(z, c), x0[i],
            callback=lambda xk: ref_seen.append(xk.copy()) or (
                i == 1 and len(ref_seen) == 2 and _raise_stop()))
        np.testing.assert_array_equal(res.x[i], x)
        assert (res.nit[i], res.nfev[i], res.message[i]) == (
            d["nit"], d["funcalls"], d["task"])
        np.testing.assert_array_equal(np.array([s[0] for s in seen[i]]),
                                      np.array(ref_seen))


def _raise_stop():
    raise StopIteration


def test_hess_inv_equals_minimize():
    rng = np.random.default_rng(4)
    x0 = rng.uniform(-2, 2, (3, 5))
    solver = BatchSolver(x0, maxcor=3)
    run(solver, row_objective(rosenbrock, lambda i: ()))
    for i in range(3):
        ref = alone(rosenbrock, x0[i], (), None, maxcor=3)
        np.testing.assert_array_equal(solver.hess_inv(i).todense(),
                                      ref.hess_inv.todense())


def test_ask_tell_protocol_and_partial_result():
    x0 = np.array([[3.0, -2.0], [0.5, 0.5]])
    solver = BatchSolver(x0, bounds=(-1.0, 1.0))
    idx, X = solver.ask()
    np.testing.assert_array_equal(idx, [0, 1])
    np.testing.assert_array_equal(X, [[1.0, -1.0], [0.5, 0.5]])  # clipped
    assert solver.ask()[1] is X  # asking twice gives the same points
    early = solver.result()  # before any evaluation
    assert np.isnan(early.fun).all() and (early.task == 0).all()
    assert early.message[0].startswith("RUNNING")
    X[:] = 99.0  # the caller's copy: the solver is not affected
    F = np.array([1.0, 2.0])
    G = np.array([[1.0, 1.0], [0.5, -0.5]])
    assert solver.tell(F, G) == 2
    mid = solver.result()
    np.testing.assert_array_equal(mid.x, [[1.0, -1.0], [0.5, 0.5]])
    np.testing.assert_array_equal(mid.fun, F)
    np.testing.assert_array_equal(mid.nfev, [1, 1])
    assert not mid.success.any() and (mid.status == 2).all()
    run(solver, lambda idx, X: (0.5 * np.sum(X * X, axis=1), X.copy()))
    assert solver.done and solver.finished.all()
    np.testing.assert_allclose(solver.result().x, 0.0, atol=1e-5)
    idx, X = solver.ask()
    assert idx.shape == (0,) and X.shape == (0, 2)
    with pytest.raises(RuntimeError, match="finished"):
        solver.tell(np.empty(0), np.empty((0, 2)))


def test_tell_accepts_lists_float32_and_column_f():
    x0 = np.array([[1.0, 2.0], [-1.0, 0.5]])
    a = BatchSolver(x0)
    b = BatchSolver(x0)
    while not a.done:
        idx, X = a.ask()
        F, G = 0.5 * np.sum(X * X, axis=1), X.astype(np.float32)
        a.tell(F.reshape(-1, 1), G.tolist())
        b.tell(F, G.astype(np.float64))
    assert b.done
    np.testing.assert_array_equal(a.result().x, b.result().x)


def test_bad_input():
    with pytest.raises(ValueError, match=r"shape \(k, n\)"):
        BatchSolver(np.zeros(3))
    with pytest.raises(TypeError, match="real"):
        BatchSolver(np.zeros((2, 2), dtype=complex))
    with pytest.raises(ValueError, match="NaN or inf .* row 1"):
        BatchSolver(np.array([[0.0, 1.0], [np.nan, 0.0]]))
    with pytest.raises(ValueError, match="maxls"):
        BatchSolver(np.zeros((2, 2)), maxls=0)
    with pytest.raises(ValueError, match="bounds"):
        BatchSolver(np.zeros((2, 2)), bounds=(np.zeros(3), np.ones(3)))
    with pytest.raises(ValueError, match="greater"):
        BatchSolver(np.zeros((2, 2)), bounds=(1.0, 0.0))
    with pytest.raises(TypeError, match="callback"):
        BatchSolver(np.zeros((2, 2)), callback=3)
    solver = BatchSolver(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"F has shape \(3,\)"):
        solver.tell(np.zeros(3), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"G has shape \(2, 2\)"):
        solver.tell(np.zeros(2), np.zeros((2, 2)))
    with pytest.raises(TypeError, match="complex"):
        solver.tell(np.zeros(2, dtype=complex), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="complex"):
        solver.tell(np.zeros(2), np.zeros((2, 3), dtype=complex))
    with pytest.raises(TypeError, match="F must be"):
        solver.tell(["a", "b"], np.zeros((2, 3)))
    # a rejected tell changes nothing
    assert solver.n_active == 2 and (solver.nfev == 0).all()
    solver.tell(np.zeros(2), np.zeros((2, 3)))
    assert solver.done and solver.result().success.all()


class CallbackFailed(Exception):
    pass


def test_callback_exception_propagates_and_keeps_the_iterates():
    def callback(i, x, f):
        if i == 1:
            raise CallbackFailed(i)
        return False

    solver = BatchSolver(np.array([[2.0, 2.0], [1.0, -1.0], [0.0, 3.0]]),
                         callback=callback)
    with pytest.raises(CallbackFailed):
        run(solver, lambda idx, X: (np.sum(X ** 4, axis=1), 4 * X ** 3))
    with pytest.raises(RuntimeError, match="interrupted"):
        solver.ask()
    res = solver.result()
    assert (res.nit[1] == 1) and (res.fun[1] < 2.0)
    assert np.isfinite(res.fun).all()
