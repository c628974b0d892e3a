"""The compiled path (``compiled.py``, ``njit_entry.py``): which path a
solve takes, @njit objectives through fmin_l_bfgs_b/minimize with the same
results as the Python path, njit_minimize from inside user @njit code and
prange, threads, faulty compiled objectives, and the kernels' compile
options."""
import importlib
import threading

import numpy as np
import pytest
from numba import njit, prange
from numba.core.caching import NullCache
from numba.core.registry import CPUDispatcher

import lbfgsb_numba as lb
from lbfgsb_numba import status
from benchmarks.problems import rosenbrock_njit as rosen_fg
from benchmarks.problems import two_exp_njit as expfit_fg
from lbfgsb_numba.bounds import normalize_bounds
from oracle_problems import (B4, PROBLEMS, X4, Problem, python_wrapper,
                             rosenbrock, rosenbrock_f, rosenbrock_faulty,
                             rosenbrock_g)


def _py(fn):
    return lambda x, *a: fn(x, *a)


def test_compiled_args_passthrough(compiled_calls):
    t = np.linspace(0, 4, 40)
    y = 2.0 * np.exp(-1.3 * t) + 0.5 * np.exp(-0.2 * t) + 0.1
    x0 = np.array([1.0, 1.0, 1.0, 0.1, 0.0])
    bounds = [(0, 5), (0, 5), (0, 5), (0, 5), (-1, 1)]
    co = lb.fmin_l_bfgs_b(expfit_fg, x0, args=(t, y), bounds=bounds)
    assert compiled_calls == [expfit_fg]
    py = lb.fmin_l_bfgs_b(_py(expfit_fg), x0, args=(t, y), bounds=bounds)
    assert compiled_calls == [expfit_fg]
    np.testing.assert_array_equal(co[0], py[0])
    assert co[1] < 1e-5  # a good fit (noise-free data)


@njit
def solve_inside(x0, lower, upper):
    res = lb.njit_minimize(rosen_fg, x0, lower, upper)
    return res.x, res.fun, res.nit, res.nfev, res.status, res.task


@njit(parallel=True)
def solve_many(x0s, lower, upper):
    k = x0s.shape[0]
    xs = np.empty_like(x0s)
    nits = np.empty(k, dtype=np.int64)
    for i in prange(k):
        res = lb.njit_minimize(rosen_fg, x0s[i], lower, upper)
        xs[i] = res.x
        nits[i] = res.nit
    return xs, nits


def test_njit_minimize_inside_user_njit_and_prange():
    x0 = np.array([-1.2, 1.0, -1.2, 1.0])
    lower = np.full(4, -np.inf)
    upper = np.array([np.inf, np.inf, 0.5, np.inf])
    x, f, nit, nfev, st, task = solve_inside(x0, lower, upper)
    ref = lb.fmin_l_bfgs_b(_py(rosen_fg), x0,
                           bounds=list(zip([None] * 4, [None, None, 0.5, None])))
    np.testing.assert_array_equal(x, ref[0])
    assert (nit, nfev) == (ref[2]["nit"], ref[2]["funcalls"])
    assert status.message(task) == ref[2]["task"] and st == 0
    starts = np.random.default_rng(0).uniform(-2, 2, (16, 4))
    xs, nits = solve_many(starts, lower, upper)
    for i in range(16):
        one = solve_inside(starts[i], lower, upper)
        np.testing.assert_array_equal(xs[i], one[0])
        assert nits[i] == one[2]


@njit(cache=True)
def solve_inside_with_limits(x0, lower, upper, maxiter, maxfun):
    res = lb.njit_minimize(rosen_fg, x0, lower, upper, maxiter=maxiter,
                           maxfun=maxfun)
    return res.x, res.fun, res.nit, res.nfev, res.status, res.task


@pytest.mark.parametrize("maxiter, maxfun", [
    (0, 15000), (-3, 15000), (15000, 0), (15000, -2), (0, 0)])
def test_njit_minimize_limits_at_or_below_zero_as_scipy(maxiter, maxfun):
    """maxiter/maxfun <= 0 stop after the first iteration (scipy 1.17:
    nit 1, nfev 2), from Python and inside @njit code, as ``minimize``."""
    so = pytest.importorskip("scipy.optimize")
    x0 = np.array([-1.2, 1.0, -1.2, 1.0])
    lower = np.full(4, -np.inf)
    upper = np.array([np.inf, np.inf, 0.5, np.inf])
    bounds = list(zip([None] * 4, [None, None, 0.5, None]))
    limits = {"maxiter": maxiter, "maxfun": maxfun}
    ref = so.minimize(rosen_fg.py_func, x0, jac=True, method="L-BFGS-B",
                      bounds=bounds, options=limits)
    ours = lb.minimize(rosen_fg, x0, jac=True, bounds=bounds,
                       options=limits)
    from_python = lb.njit_minimize(rosen_fg, x0, lower, upper, **limits)
    inside = solve_inside_with_limits(x0, lower, upper, maxiter, maxfun)
    assert (ref.nit, ref.nfev, ref.status) == (1, 2, 1)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-12)
    for x, f, nit, nfev, st, task in (tuple(from_python)[:2] + (
            from_python.nit, from_python.nfev, from_python.status,
            from_python.task), inside):
        np.testing.assert_array_equal(x, ours.x)
        assert f == ours.fun
        assert (nit, nfev, st, status.message(task)) == (
            ours.nit, ours.nfev, ours.status, ours.message)
        assert status.message(task) == ref.message


def test_compiled_path_taken_for_njit_objectives(compiled_calls):
    py_fg = python_wrapper(rosenbrock)
    py_f = python_wrapper(rosenbrock_f)
    py_g = python_wrapper(rosenbrock_g)
    cases = [  # (compiled call, the same problem on the Python path)
        (lambda: lb.fmin_l_bfgs_b(rosenbrock, X4, bounds=B4),
         lambda: lb.fmin_l_bfgs_b(py_fg, X4, bounds=B4)),
        (lambda: lb.fmin_l_bfgs_b(rosenbrock_f, X4, fprime=rosenbrock_g,
                                  bounds=B4),
         lambda: lb.fmin_l_bfgs_b(py_f, X4, fprime=py_g, bounds=B4)),
        (lambda: lb.fmin_l_bfgs_b(rosenbrock_f, X4, approx_grad=True,
                                  bounds=B4),
         lambda: lb.fmin_l_bfgs_b(py_f, X4, approx_grad=True, bounds=B4)),
    ]
    for jac, f_c, f_p in ((True, rosenbrock, py_fg),
                          (rosenbrock_g, rosenbrock_f, py_f),
                          (None, rosenbrock_f, py_f),
                          ("2-point", rosenbrock_f, py_f)):
        jac_p = py_g if jac is rosenbrock_g else jac
        cases.append((
            lambda f_c=f_c, jac=jac: _as_tuple(lb.minimize(
                f_c, X4, jac=jac, bounds=B4)),
            lambda f_p=f_p, jac_p=jac_p: _as_tuple(lb.minimize(
                f_p, X4, jac=jac_p, bounds=B4))))
    for i, (compiled_run, python_run) in enumerate(cases):
        before = len(compiled_calls)
        xc, fc, dc = compiled_run()
        assert len(compiled_calls) == before + 1, i
        xp, fp, dp = python_run()
        assert len(compiled_calls) == before + 1, i
        np.testing.assert_array_equal(xc, xp)
        assert (fc, dc["nit"], dc["funcalls"], dc["task"]) == \
            (fp, dp["nit"], dp["funcalls"], dp["task"]), i


def _as_tuple(res):
    return res.x, res.fun, {"nit": res.nit, "funcalls": res.nfev,
                            "task": res.message}


def test_python_path_when_callback_log_or_python_objective(compiled_calls,
                                                           capsys):
    seen = []
    lb.fmin_l_bfgs_b(rosenbrock, X4, bounds=B4, callback=seen.append)
    lb.minimize(rosenbrock, X4, jac=True, bounds=B4,
                callback=lambda intermediate_result: None)
    lb.minimize(rosenbrock_f, X4, bounds=B4, callback=seen.append)
    lb.fmin_l_bfgs_b(rosenbrock, X4, bounds=B4, iprint=0)
    lb.fmin_l_bfgs_b(rosenbrock, X4, bounds=B4, disp=1)
    lb.minimize(rosenbrock, X4, jac=True, options={"iprint": 1})
    lb.minimize(rosenbrock, X4, jac=True, options={"disp": True})
    lb.fmin_l_bfgs_b(python_wrapper(rosenbrock), X4, bounds=B4)
    lb.minimize(python_wrapper(rosenbrock_f), X4, bounds=B4)
    # a Python jac with an @njit fun: not all compiled
    lb.minimize(rosenbrock_f, X4, jac=python_wrapper(rosenbrock_g))
    assert seen and "L-BFGS-B" in capsys.readouterr().out
    assert compiled_calls == []
    # and iprint=-1 / disp=0 / disp=None keep the compiled path
    lb.fmin_l_bfgs_b(rosenbrock, X4, iprint=-1, disp=0)
    lb.minimize(rosenbrock, X4, jac=True, options={"disp": None})
    assert compiled_calls == [rosenbrock, rosenbrock]


# the oracle problems, and one with bounds of every kind at once
SMALL = [p for p in PROBLEMS if p.x0.size < 100000] + [
    Problem("rosenbrock_6_upper_and_fixed", rosenbrock,
            np.tile([-1.2, 1.0], 3), [(None, 0.5), (0.3, 0.3), (None, 0.5),
                                      (None, None), (-2, 2), (1, 1)], (),
            True)]


@pytest.mark.parametrize("p", SMALL, ids=[p.name for p in SMALL])
def test_compiled_path_equals_python_path_bit_for_bit(p, compiled_calls):
    py = lb.fmin_l_bfgs_b(python_wrapper(p.fg), p.x0.copy(), args=p.args,
                          bounds=p.bounds)
    assert compiled_calls == []
    co = lb.fmin_l_bfgs_b(p.fg, p.x0.copy(), args=p.args, bounds=p.bounds)
    assert compiled_calls == [p.fg]
    np.testing.assert_array_equal(co[0], py[0])
    assert co[1] == py[1]
    np.testing.assert_array_equal(co[2]["grad"], py[2]["grad"])
    for key in ("nit", "funcalls", "task", "warnflag"):
        assert co[2][key] == py[2][key], key


def test_compiled_solves_in_threads_are_bit_identical(compiled_calls):
    rng = np.random.default_rng(5)
    jobs = []
    for i in range(12):
        n = (6, 20)[i % 2]  # dense and compact bounded models
        bounds = [(-1.5, 2.0)] * (n // 2) + [(None, None)] * (n - n // 2)
        jobs.append((rng.normal(size=n), bounds))
    serial = [lb.fmin_l_bfgs_b(rosenbrock, x0, bounds=b) for x0, b in jobs]
    out = [None] * len(jobs)
    barrier = threading.Barrier(4)
    errors = []

    def work(t):
        try:
            barrier.wait()
            for i in range(t, len(jobs), 4):
                out[i] = lb.fmin_l_bfgs_b(rosenbrock, jobs[i][0],
                                          bounds=jobs[i][1])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(compiled_calls) == 2 * len(jobs)
    for (x1, f1, d1), (x2, f2, d2) in zip(serial, out):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(d1["grad"], d2["grad"])
        assert (f1, d1["nit"], d1["funcalls"], d1["task"]) == \
            (f2, d2["nit"], d2["funcalls"], d2["task"])


KERNEL_MODULES = ["cauchy", "subspace", "bfgs_matrix", "dense_model",
                  "line_search", "projection", "driver", "vector_ops",
                  "finite_diff", "workspace"]


@pytest.mark.parametrize("name", KERNEL_MODULES)
def test_kernels_release_the_gil_and_are_cached(name):
    module = importlib.import_module(f"lbfgsb_numba.{name}")
    kernels = {k: v for k, v in vars(module).items()
               if isinstance(v, CPUDispatcher)}
    assert kernels
    for k, dispatcher in kernels.items():
        assert dispatcher.targetoptions.get("nogil") is True, k
        assert not isinstance(dispatcher._cache, NullCache), k  # cache=True


def test_compiled_nan_at_start(compiled_calls):
    count = np.zeros(1, dtype=np.int64)
    x, f, d = lb.fmin_l_bfgs_b(
        rosenbrock_faulty, X4, bounds=B4,
        args=(count, np.array([10**9]), np.array([1])))
    assert compiled_calls == [rosenbrock_faulty]
    assert d["warnflag"] == 2 and count[0] == 1
    assert d["task"].startswith(
        "ABNORMAL: OBJECTIVE OR GRADIENT IS NOT FINITE")
    assert np.isnan(f)


def test_compiled_exception_propagates_with_last_accepted_point(
        compiled_calls):
    lower, upper, _ = normalize_bounds(B4, 4)
    count = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError, match="evaluation limit") as info:
        lb.fmin_l_bfgs_b(rosenbrock_faulty, X4, bounds=B4,
                         args=(count, np.array([12]), np.array([0])))
    assert compiled_calls == [rosenbrock_faulty]
    assert type(info.value) is ValueError and count[0] == 13
    assert any("lbfgsb_result" in note for note in info.value.__notes__)
    best = info.value.lbfgsb_result
    assert best.nit >= 3 and best.nfev == 12
    assert (best.x >= lower).all() and (best.x <= upper).all()
    f, g = rosenbrock(best.x)
    assert best.fun == f and best.fun < rosenbrock(np.clip(X4, lower,
                                                           upper))[0]
    np.testing.assert_array_equal(best.jac, g)
