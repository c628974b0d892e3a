"""LbfgsbSolver (ask/tell): the same solve as ``minimize``, bit for bit, on
the oracle problems; options, callbacks, stop(), faulty values told, bad
input, progress before the end."""
import numpy as np
import pytest

import lbfgsb_numba as lb
from lbfgsb_numba import LbfgsbSolver
from oracle_problems import PROBLEMS, python_wrapper, rosenbrock

X4 = np.array([-1.2, 1.0, -1.2, 1.0])
B4 = [(-2.0, 2.0), (-0.5, 0.8), (None, 2.0), (0.0, None)]
SMALL = [p for p in PROBLEMS if p.x0.size < 100000]


def drive(solver, fg, args=()):
    """Ask and tell until the end; returns (result, tell's return values)."""
    accepted = []
    while not solver.done:
        x = solver.ask()
        f, g = fg(x, *args)
        accepted.append(solver.tell(f, g))
    return solver.result(), accepted


def assert_same_solve(res, ref):
    """Bit-for-bit equality of two OptimizeResults, hess_inv included."""
    assert (res.nit, res.nfev, res.njev, res.status, res.success,
            res.message) == (ref.nit, ref.nfev, ref.njev, ref.status,
                             ref.success, ref.message)
    assert res.fun == ref.fun or (np.isnan(res.fun) and np.isnan(ref.fun))
    np.testing.assert_array_equal(res.x, ref.x)
    np.testing.assert_array_equal(res.jac, ref.jac)
    np.testing.assert_array_equal(res.hess_inv.sk, ref.hess_inv.sk)
    np.testing.assert_array_equal(res.hess_inv.yk, ref.hess_inv.yk)


@pytest.mark.parametrize("problem", SMALL, ids=lambda p: p.name)
def test_equals_minimize_bit_for_bit(problem):
    ref = lb.minimize(python_wrapper(problem.fg), problem.x0,
                      args=problem.args, jac=True, bounds=problem.bounds)
    solver = LbfgsbSolver(problem.x0, problem.bounds)
    res, accepted = drive(solver, problem.fg, problem.args)
    assert_same_solve(res, ref)
    assert sum(accepted) == res.nit == solver.nit
    assert solver.nfev == res.nfev and solver.message == res.message


def test_equals_compiled_minimize():
    p = next(p for p in PROBLEMS if p.name == "rosenbrock_10_box")
    ref = lb.minimize(p.fg, p.x0, args=p.args, jac=True, bounds=p.bounds)
    assert_same_solve(drive(LbfgsbSolver(p.x0, p.bounds), p.fg)[0], ref)


@pytest.mark.parametrize("options", [
    {"maxiter": 5}, {"maxfun": 9}, {"maxcor": 3, "ftol": 1e-12,
                                    "gtol": 1e-9}, {"tol": 1e-3},
    {"maxls": 1}])
def test_options_bind_like_minimize(options):
    kw = dict(options)
    tol = kw.pop("tol", None)
    ref = lb.minimize(python_wrapper(rosenbrock), X4, jac=True, bounds=B4,
                      tol=tol, options=kw)
    res = drive(LbfgsbSolver(X4, B4, tol=tol, **kw), rosenbrock)[0]
    assert_same_solve(res, ref)


def test_tell_returns_true_exactly_at_new_iterates():
    solver = LbfgsbSolver(X4, B4)
    iterates = []
    while not solver.done:
        nit = solver.nit
        if solver.tell(*rosenbrock(solver.ask())):
            assert solver.nit == nit + 1
            iterates.append(solver.result().x)
        else:
            assert solver.nit == nit
    seen = []
    lb.minimize(python_wrapper(rosenbrock), X4, jac=True, bounds=B4,
                callback=lambda xk: seen.append(xk.copy()))
    # every accepted iterate, in order, as minimize's callback sees them
    # (the result before the end is the last accepted iterate)
    np.testing.assert_array_equal(np.array(iterates), np.array(seen))


@pytest.mark.parametrize("style", ["old", "new"])
def test_callback_stop_iteration_like_minimize(style):
    def make():
        calls = []

        def old(xk):
            calls.append(xk.copy())
            if len(calls) == 4:
                raise StopIteration

        def new(intermediate_result):
            calls.append(intermediate_result.x.copy())
            if len(calls) == 4:
                raise StopIteration
        return (old if style == "old" else new), calls

    cb, calls = make()
    ref = lb.minimize(python_wrapper(rosenbrock), X4, jac=True, bounds=B4,
                      callback=cb)
    cb2, calls2 = make()
    res = drive(LbfgsbSolver(X4, B4, callback=cb2), rosenbrock)[0]
    assert_same_solve(res, ref)
    assert res.status == 99 and res.nit == 4
    np.testing.assert_array_equal(np.array(calls), np.array(calls2))


def test_stop_ends_at_the_last_accepted_iterate():
    solver = LbfgsbSolver(X4, B4)
    with pytest.raises(RuntimeError, match="no point"):
        solver.stop()
    accepted = 0
    while accepted < 5:
        accepted += solver.tell(*rosenbrock(solver.ask()))
    before = solver.result()
    assert before.status == -1 and not before.success
    solver.tell(*rosenbrock(solver.ask()))  # a trial point of the next step
    if solver.nit == 5:
        solver.stop()
        res = solver.result()
        assert solver.done and res.status == 99 and res.nit == 5
        np.testing.assert_array_equal(res.x, before.x)
        assert res.fun == before.fun
        np.testing.assert_array_equal(res.jac, before.jac)
        with pytest.raises(RuntimeError, match="over"):
            solver.ask()
        with pytest.raises(RuntimeError, match="over"):
            solver.tell(1.0, np.zeros(4))
        solver.stop()  # no-op once done
    else:  # the first trial was accepted: stop lands on that iterate
        solver.stop()
        assert solver.result().nit == 6


def test_nonfinite_values_like_minimize():
    calls = [0]

    def fg(x):
        calls[0] += 1
        f, g = rosenbrock(x)
        return (np.nan if calls[0] in (1, 7) else f), g
    res = drive(LbfgsbSolver(X4, B4), fg)[0]
    calls[0] = 0
    assert_same_solve(res, lb.minimize(fg, X4, jac=True, bounds=B4))
    assert res.status == 2 and "NOT FINITE" in res.message

    calls[0] = 1  # NaN at the 7th evaluation only: a failed trial point
    res = drive(LbfgsbSolver(X4, B4), fg)[0]
    calls[0] = 1
    assert_same_solve(res, lb.minimize(fg, X4, jac=True, bounds=B4))
    assert res.success


def test_bad_values_told_leave_the_solve_unchanged():
    solver = LbfgsbSolver(X4, B4)
    ref = LbfgsbSolver(X4, B4)
    for _ in range(7):
        x = solver.ask()
        f, g = rosenbrock(x)
        with pytest.raises(ValueError, match="gradient"):
            solver.tell(f, g[:3])
        with pytest.raises(TypeError, match="complex"):
            solver.tell(1j, g)
        with pytest.raises(ValueError, match="scalar"):
            solver.tell(np.ones(2), g)
        solver.tell(np.float32(f), list(g))  # converted like minimize does
        ref.tell(float(np.float32(f)), g)
    np.testing.assert_array_equal(solver.ask(), ref.ask())
    assert solver.nfev == ref.nfev == 7


@pytest.mark.parametrize("kwargs, error, match", [
    ({"x0": [np.nan, 1.0]}, ValueError, "x0"),
    ({"x0": "ab"}, TypeError, "x0"),
    ({"x0": [1.0, 2.0], "bounds": [(0, 1)] * 3}, ValueError, "bounds"),
    ({"x0": [1.0, 2.0], "bounds": [(1, 0)] * 2}, ValueError, "bounds"),
    ({"x0": [1.0, 2.0], "maxcor": 0}, ValueError, "maxcor"),
    ({"x0": [1.0, 2.0], "maxiter": float("nan")}, ValueError, "maxiter"),
    ({"x0": [1.0, 2.0], "maxls": 1.5}, TypeError, "maxls"),
    ({"x0": [1.0, 2.0], "gtol": -1.0}, ValueError, "gtol"),
])
def test_bad_input_errors_name_the_argument(kwargs, error, match):
    kw = dict(kwargs)
    with pytest.raises(error, match=match):
        LbfgsbSolver(kw.pop("x0"), **kw)


def test_all_fixed_like_minimize():
    bounds = [(1.0, 1.0), (2.0, 2.0)]
    ref = lb.minimize(python_wrapper(rosenbrock), [0.0, 0.0], jac=True,
                      bounds=bounds)
    res = drive(LbfgsbSolver([0.0, 0.0], bounds), rosenbrock)[0]
    assert (res.message, res.nit, res.nfev, res.njev, res.status) == (
        ref.message, ref.nit, ref.nfev, ref.njev, ref.status)
    np.testing.assert_array_equal(res.x, ref.x)
    assert res.fun == ref.fun


def test_progress_before_the_end():
    solver = LbfgsbSolver(X4, B4)
    early = solver.result()
    assert early.nfev == 0 and np.isnan(early.fun) and early.status == -1
    assert solver.message == "FG" and not solver.done
    x0_in_box = np.clip(X4, [-2, -0.5, -np.inf, 0], [2, 0.8, 2, np.inf])
    np.testing.assert_array_equal(solver.ask(), x0_in_box)
    assert "LbfgsbSolver n=4" in repr(solver)
    x = solver.ask()
    x[:] = 99.0  # ask() hands out a copy
    assert (solver.ask() != 99.0).all()


@pytest.mark.parametrize("layout", ["strided", "readonly", "float32",
                                    "column"])
def test_gradients_of_any_layout(layout):
    """A gradient handed over as a strided view, read-only, float32 or
    (n, 1) gives the same solve as a plain float64 vector."""
    def convert(g):
        if layout == "strided":
            return np.repeat(g, 3)[::3]
        if layout == "readonly":
            g = g.copy()
            g.flags.writeable = False
            return g
        if layout == "float32":
            return g.astype(np.float32).astype(np.float64).astype(np.float32)
        return g.reshape(-1, 1)

    def fg(x):
        f, g = rosenbrock(x)
        return f, convert(g)

    def reference(x):
        f, g = rosenbrock(x)
        return f, np.asarray(convert(g), dtype=np.float64).ravel().copy()
    res = drive(LbfgsbSolver(X4, B4), fg)[0]
    assert_same_solve(res, drive(LbfgsbSolver(X4, B4), reference)[0])
    assert res.nit > 5


def test_exception_in_callback_propagates_and_the_solve_can_go_on():
    calls = []

    def callback(xk):
        calls.append(xk.copy())
        if len(calls) == 3:
            raise KeyError("from the callback")
    solver = LbfgsbSolver(X4, B4, callback=callback)
    with pytest.raises(KeyError, match="from the callback"):
        while not solver.done:
            solver.tell(*rosenbrock(solver.ask()))
    assert solver.nit == 3 and not solver.done
    # the state survives a checkpoint taken right there, and both go on to
    # the solve that was never interrupted
    resumed = LbfgsbSolver.from_state(solver.state())
    ref = drive(LbfgsbSolver(X4, B4), rosenbrock)[0]
    assert_same_solve(drive(solver, rosenbrock)[0], ref)
    assert_same_solve(drive(resumed, rosenbrock)[0], ref)
    assert len(calls) == ref.nit
