"""The Python shell (``api.py``): fmin_l_bfgs_b and minimize behave like
scipy 1.17's -- evaluation counts, scipy's result class, the integer
options, the report after an exception at the first evaluation, minimize's
keyword rules (direct calls and as ``scipy.optimize.minimize(method=
minimize)``), options that bind, the per-iteration log, all variables
fixed, callbacks, faulty objectives, threads and determinism, and the
status messages."""
import contextlib
import io
import os
import pickle
import re
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest
import scipy.optimize as so

import lbfgsb_numba as lb
from lbfgsb_numba import status
from lbfgsb_numba.bounds import normalize_bounds
from lbfgsb_numba.projection import projected_gradient_norm
from lbfgsb_numba.result import OptimizeResult
from lbfgsb_numba.result import OptimizeResult as PackageResult
from oracle_problems import (B4, BOX5, PROBLEMS, X4, X5, python_wrapper,
                             rosen_float, rosenbrock, rosenbrock_f,
                             rosenbrock_faulty, scipy_bounds)

# --------------------------------------------------------------------------
# scipy's tests, rewritten: counts, isinstance, non-integer maxiter
# --------------------------------------------------------------------------

class Counted:
    """rosenbrock's f and g as separate Python functions that count their
    calls."""

    def __init__(self):
        self.f_calls = self.g_calls = 0

    def f(self, x):
        self.f_calls += 1
        return float(rosenbrock(x)[0])

    def g(self, x):
        self.g_calls += 1
        return rosenbrock(x)[1]


@pytest.mark.parametrize("jac", ["callable", None, "2-point", "3-point"])
def test_evaluation_counts_are_the_calls(jac):
    c = Counted()
    res = lb.minimize(c.f, [-1.2, 1.0], jac=c.g if jac == "callable" else jac,
                      options={"maxiter": 1000})
    assert res.nfev == c.f_calls
    if jac == "callable":
        assert res.njev == c.g_calls
    assert rosenbrock(res.x)[0] < 1e-6


def test_fixed_variables_give_scipy_results_everywhere():
    fixed = [(-2, 2), (2.0, 2.0), (-2, 2), (-1.0, -1.0)]
    x0 = np.array([0.5, 2.0, 0.5, -1.0])
    seen = []

    def callback(intermediate_result):
        seen.append(intermediate_result)

    res = lb.minimize(rosen_float, x0, bounds=fixed, callback=callback)
    assert isinstance(res, so.OptimizeResult)
    assert seen and all(isinstance(r, so.OptimizeResult) and r.x.shape == (4,)
                        for r in seen)
    ref = so.minimize(rosen_float, x0, method="L-BFGS-B", bounds=fixed)
    np.testing.assert_allclose(res.x, ref.x, rtol=5e-4)
    assert np.isnan(res.jac[[1, 3]]).all()
    everything_fixed = lb.minimize(rosen_float, x0,
                                   bounds=[(v, v) for v in x0])
    assert isinstance(everything_fixed, so.OptimizeResult)


@pytest.mark.parametrize("name, value", [
    *[("maxiter", v) for v in (100.1, 5.5, 5.0, 0, -3, np.inf,
                               np.float32(7.2), np.int64(4), True)],
    *[("maxfun", v) for v in (5.5, 5.0, 0.5, 0, -1, np.inf, 1e20,
                              np.int32(7))]])
def test_iteration_limits_read_as_scipy_reads_them(name, value):
    ref = so.minimize(so.rosen, X5, jac=so.rosen_der, method="L-BFGS-B",
                      options={name: value})
    res = lb.minimize(so.rosen, X5, jac=so.rosen_der, options={name: value})
    assert (res.nit, res.nfev, res.status, res.message) == \
        (ref.nit, ref.nfev, ref.status, ref.message)
    x, f, d = lb.fmin_l_bfgs_b(so.rosen, X5, so.rosen_der, **{name: value})
    assert (d["nit"], d["funcalls"]) == (ref.nit, ref.nfev)


def test_iprint_and_disp_numbers():
    for iprint in (-1, -5.0, np.int32(-1), None, np.nan):
        res = lb.minimize(so.rosen, X5, jac=so.rosen_der,
                          options={"iprint": iprint, "maxiter": 3})
        assert res.nit == 3
    with pytest.raises(TypeError, match="iprint"):
        lb.minimize(so.rosen, X5, jac=so.rosen_der, options={"iprint": "5"})


# --------------------------------------------------------------------------
# scipy's result class
# --------------------------------------------------------------------------

def test_results_are_scipy_optimize_results():
    seen = []
    res = lb.minimize(python_wrapper(rosenbrock), X5, jac=True,
                      callback=lambda intermediate_result:
                      seen.append(intermediate_result))
    for r in [res] + seen:
        assert isinstance(r, so.OptimizeResult)
        assert isinstance(r, PackageResult)  # and still the package's
    assert "message" in repr(res) and res.x is res["x"]
    back = pickle.loads(pickle.dumps(res))
    assert type(back) is type(res)
    np.testing.assert_array_equal(back.x, res.x)
    compiled = lb.minimize(rosenbrock, X5, jac=True)
    assert isinstance(compiled, so.OptimizeResult)
    with pytest.raises(ZeroDivisionError) as info:
        lb.minimize(lambda x: 1 / 0, X5)
    assert isinstance(info.value.lbfgsb_result, so.OptimizeResult)


def _run_python(code):
    """Run ``code`` in a fresh interpreter that imports this checkout's
    package and the benchmark problems (asv_benchmarks/)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [root, os.path.join(root, "asv_benchmarks"),
         env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                         capture_output=True, text=True, timeout=300,
                         env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_without_scipy_the_package_class():
    """With scipy unimportable: the package's own class, and no scipy."""
    out = _run_python("""
        import sys
        sys.modules["scipy"] = None   # scipy cannot be imported
        import numpy as np
        import lbfgsb_numba as lb
        from lbfgsb_numba.result import OptimizeResult
        seen = []
        res = lb.minimize(lambda x: float(x @ x), np.ones(3),
                          callback=lambda intermediate_result:
                          seen.append(intermediate_result))
        assert type(res) is OptimizeResult, type(res)
        assert seen and all(type(r) is OptimizeResult for r in seen)
        assert res.success and res.nit >= 1
        print("ok")
    """)
    assert out.strip() == "ok"


def test_scipy_optimize_is_never_imported_by_a_solve():
    """Importing scipy.optimize costs more than a first solve: the package
    uses scipy's class only when someone else has imported it."""
    out = _run_python("""
        import sys
        import numpy as np
        import lbfgsb_numba as lb
        res = lb.minimize(lambda x: float(x @ x), np.ones(3))
        print("scipy.optimize" in sys.modules, type(res).__module__)
        import scipy.optimize
        res = lb.minimize(lambda x: float(x @ x), np.ones(3))
        print(isinstance(res, scipy.optimize.OptimizeResult))
    """)
    assert out.split() == ["False", "lbfgsb_numba.result", "True"]


# --------------------------------------------------------------------------
# an exception at the first evaluation
# --------------------------------------------------------------------------

def _first_call_report(call):
    with pytest.raises(ValueError) as info:
        call()
    notes = getattr(info.value, "__notes__", [])
    if info.value.lbfgsb_result.nfev == 0 and sys.version_info >= (3, 11):
        assert any("first evaluation" in note for note in notes)
    return info.value.lbfgsb_result


@pytest.mark.parametrize("jac", [True, None, "3-point"])
def test_exception_at_first_call_invents_nothing(jac):
    calls = []

    def fail_at_call_one_or_two(x):
        calls.append(1)
        if len(calls) >= (2 if jac != True else 1):  # noqa: E712
            raise ValueError("bad objective")
        return rosen_float(x)

    r = _first_call_report(lambda: lb.minimize(
        fail_at_call_one_or_two, [3.0, -1.0], jac=jac,
        bounds=[(-2, 2), (-2, 2)]))
    np.testing.assert_array_equal(r.x, [2.0, -1.0])  # x0 in the box
    assert r.fun is None and r.jac is None
    assert isinstance(r, so.OptimizeResult)
    assert (r.nit, r.nfev, r.success) == (0, 0, False)


def test_exception_at_first_call_compiled_path(compiled_calls):
    count, raise_after, nan_first = (np.zeros(1, np.int64),
                                     np.zeros(1, np.int64),
                                     np.zeros(1, np.int64))
    r = _first_call_report(lambda: lb.fmin_l_bfgs_b(
        rosenbrock_faulty, [3.0, -1.0], args=(count, raise_after, nan_first),
        bounds=[(-2, 2), (-2, 2)]))
    assert count[0] == 1 and compiled_calls == [rosenbrock_faulty]
    np.testing.assert_array_equal(r.x, [2.0, -1.0])
    assert r.fun is None and r.jac is None and r.nfev == 0
    # a later exception still reports the last accepted iterate
    count[0], raise_after[0] = 0, 5
    r = _first_call_report(lambda: lb.fmin_l_bfgs_b(
        rosenbrock_faulty, [3.0, -1.0], args=(count, raise_after, nan_first),
        bounds=[(-2, 2), (-2, 2)]))
    assert r.nfev >= 1 and np.isfinite(r.fun) and r.jac.shape == (2,)


# --------------------------------------------------------------------------
# minimize's keyword rules
# --------------------------------------------------------------------------

def _no_warnings(call):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return call()


def test_method_lbfgsb_accepted_quietly_others_refused():
    for method in ("L-BFGS-B", "l-bfgs-b", "L-bfgs-B", None):
        res = _no_warnings(lambda: lb.minimize(so.rosen, X5, method=method,
                                               jac=so.rosen_der))
        assert res.success
    for method in ("BFGS", "Nelder-Mead", "lbfgsb", lb.minimize):
        with pytest.raises(ValueError, match="method"):
            lb.minimize(so.rosen, X5, method=method)


def test_unknown_keyword_is_a_type_error_like_scipy():
    with pytest.raises(TypeError) as ref:
        so.minimize(so.rosen, X5, method="L-BFGS-B", bound=[(0, 2)] * 5)
    with pytest.raises(TypeError) as ours:
        lb.minimize(so.rosen, X5, bound=[(0, 2)] * 5)
    assert str(ours.value) == str(ref.value)
    assert "'bound'" in str(ours.value)


def test_options_as_keywords_and_unknown_options():
    res = _no_warnings(lambda: lb.minimize(so.rosen, X5, jac=so.rosen_der,
                                           maxiter=4, maxcor=5))
    assert res.nit == 4
    with pytest.warns(Warning) as ref:
        so.minimize(so.rosen, X5, jac=so.rosen_der, method="L-BFGS-B",
                    options={"maxiter": 4, "bogus": 1})
    with pytest.warns(Warning) as ours:
        res = lb.minimize(so.rosen, X5, jac=so.rosen_der,
                          options={"maxiter": 4, "bogus": 1})
    assert res.nit == 4
    assert [(w.category, str(w.message)) for w in ours] == \
        [(w.category, str(w.message)) for w in ref]
    assert ours[0].category is so.OptimizeWarning
    assert ours[0].filename == __file__  # points at the caller


def test_as_scipy_method():
    """scipy passes hess, hessp, constraints, tol and the options as
    keywords; jac=True arrives as a memoized pair of callables."""
    res = _no_warnings(lambda: so.minimize(
        python_wrapper(rosenbrock), X5, jac=True, method=lb.minimize,
        bounds=BOX5, options={"maxiter": 6, "maxcor": 4}))
    ref = so.minimize(python_wrapper(rosenbrock), X5, jac=True,
                      method="L-BFGS-B", bounds=BOX5,
                      options={"maxiter": 6, "maxcor": 4})
    assert (res.nit, res.nfev, res.message) == (ref.nit, ref.nfev,
                                                ref.message)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-12, atol=1e-14)
    assert isinstance(res, so.OptimizeResult)
    res = so.minimize(so.rosen, X5, method=lb.minimize, tol=1e-3)
    assert res.success and res.nit < 30
    with pytest.warns(so.OptimizeWarning,
                      match="Unknown solver options: bogus") as ours:
        so.minimize(so.rosen, X5, method=lb.minimize,
                    options={"bogus": 1, "maxiter": 2})
    assert ours[0].filename == __file__
    with pytest.warns(RuntimeWarning, match=r"\(hess\)"):
        so.minimize(so.rosen, X5, jac=so.rosen_der, hess=so.rosen_hess,
                    method=lb.minimize, options={"maxiter": 2})
    with pytest.raises(ValueError, match="constraints"):
        so.minimize(so.rosen, X5, method=lb.minimize,
                    constraints={"type": "ineq", "fun": lambda x: x[0]})


# --------------------------------------------------------------------------
# options that bind, like scipy
# --------------------------------------------------------------------------

def test_eps_with_finite_differences_like_scipy():
    # (larger steps make the gradient, hence the path, depend less on the
    # last bits of the iterates, which BLAS sums change in scipy)
    p = _problem("sine_wells_nonconvex")
    f_only = python_wrapper(lambda x, w: p.fg(x, w)[0])
    results = []
    for eps in (1e-5, 1e-4):
        res = lb.minimize(f_only, p.x0, args=p.args, bounds=p.bounds,
                          options={"eps": eps})
        ref = so.minimize(f_only, p.x0, args=p.args,
                                      bounds=p.bounds, method="L-BFGS-B",
                                      options={"eps": eps})
        _assert_like_scipy(res, ref)
        np.testing.assert_allclose(res.jac, ref.jac, rtol=1e-6, atol=1e-9)
        results.append(res)
    a, b = results
    assert (a.nit, a.nfev) != (b.nit, b.nfev) or \
        np.abs(a.x - b.x).max() > 1e-6
    assert np.abs(a.jac - b.jac).max() > 1e-6


def _problem(name):
    return next(p for p in PROBLEMS if p.name == name)


def _same_message(ours, ref):
    # scipy prints no reason after "ABNORMAL: "; ours does (README)
    return ours == ref or (ref == "ABNORMAL: " and ours.startswith(ref))


def _assert_like_scipy(res, ref, rtol=1e-9, atol=1e-12):
    assert (res.nit, res.nfev, res.status, res.success) == \
        (ref.nit, ref.nfev, ref.status, ref.success)
    assert _same_message(res.message, ref.message), (res.message,
                                                     ref.message)
    np.testing.assert_allclose(res.x, ref.x, rtol=rtol, atol=atol)


def test_maxls_binds_like_scipy():
    fun = python_wrapper(rosenbrock)
    p = _problem("rosenbrock_10_box")
    bounds = scipy_bounds(p.bounds, p.x0.size)
    default = lb.minimize(fun, p.x0, jac=True, bounds=bounds)
    ref = so.minimize(fun, p.x0, jac=True, bounds=bounds,
                                  method="L-BFGS-B")
    _assert_like_scipy(default, ref)
    assert default.nfev > default.nit + 1  # some searches take trials
    two = lb.minimize(fun, p.x0, jac=True, bounds=bounds,
                      options={"maxls": 2})
    ref = so.minimize(fun, p.x0, jac=True, bounds=bounds,
                                  method="L-BFGS-B", options={"maxls": 2})
    _assert_like_scipy(two, ref)
    assert two.success and (two.nit, two.nfev) != (default.nit,
                                                   default.nfev)
    # maxls=1: a search that needs a second trial fails, after a few
    # iterations, at the same point as scipy's
    p = _problem("rosenbrock_10")
    default = lb.minimize(fun, p.x0, jac=True)
    one = lb.minimize(fun, p.x0, jac=True, options={"maxls": 1})
    ref = so.minimize(fun, p.x0, jac=True, method="L-BFGS-B",
                                  options={"maxls": 1})
    _assert_like_scipy(one, ref)
    assert default.success and not one.success and one.status == 2
    assert one.message.startswith("ABNORMAL") and 0 < one.nit < default.nit


@pytest.mark.parametrize("jac", [True, None])
def test_small_maxfun_like_scipy(jac):
    fg = python_wrapper(rosenbrock)
    fun = fg if jac else python_wrapper(rosenbrock_f)
    x0 = _problem("rosenbrock_10").x0
    for maxfun in (1, 10, 25):
        res = lb.minimize(fun, x0, jac=jac, options={"maxfun": maxfun})
        ref = so.minimize(fun, x0, jac=jac, method="L-BFGS-B",
                                      options={"maxfun": maxfun})
        _assert_like_scipy(res, ref)
        assert res.status == 1 and res.nfev > maxfun
        assert res.message == ("STOP: TOTAL NO. OF F,G EVALUATIONS "
                               "EXCEEDS LIMIT")


# --------------------------------------------------------------------------
# the per-iteration log (scipy's is a no-op; ours follows L-BFGS-B's levels):
# it, f, |proj g|, step, nfev, at bound
_ITER_LINE = re.compile(r"^\s*(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)"
                        r"\s+(\d+)\s*$")


def _log_rows(out):
    return [_ITER_LINE.match(ln).groups() for ln in out.splitlines()
            if _ITER_LINE.match(ln)]


def _iterates(**options):
    """Iterates (x, f) of the bounded Rosenbrock run, from a callback."""
    seen = []
    lb.minimize(python_wrapper(rosenbrock), X4, jac=True, bounds=B4,
                callback=lambda intermediate_result: seen.append(
                    (intermediate_result.x.copy(), intermediate_result.fun)),
                options=options)
    return seen


def test_iprint_99_logs_every_iteration_with_its_columns(capsys):
    lo, up, nbd = normalize_bounds(B4, 4)
    res = lb.minimize(python_wrapper(rosenbrock), X4, jac=True, bounds=B4,
                      options={"iprint": 99, "maxiter": 8})
    out = capsys.readouterr().out
    rows = _log_rows(out)
    seen = _iterates(maxiter=8)
    assert res.nit == 8 and len(rows) == len(seen) == 8
    for k, (row, (x, f)) in enumerate(zip(rows, seen), start=1):
        assert int(row[0]) == k
        assert float(row[1]) == pytest.approx(f, rel=1e-14, abs=0)
        pg = projected_gradient_norm(x, rosenbrock(x)[1], lo, up, nbd)
        assert float(row[2]) == pytest.approx(pg, rel=1e-5)
        assert int(row[5]) == np.count_nonzero((x == lo) | (x == up))
    assert int(rows[-1][4]) == res.nfev
    assert "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT" in out
    assert "x =" not in out


def test_iprint_levels(capsys):
    fun = python_wrapper(rosenbrock)
    lb.minimize(fun, X4, jac=True, bounds=B4, options={"maxiter": 7})
    assert capsys.readouterr().out == ""
    lb.minimize(fun, X4, jac=True, bounds=B4,
                options={"iprint": 0, "maxiter": 7})
    out = capsys.readouterr().out
    assert _log_rows(out) == [] and "ITERATIONS REACHED LIMIT" in out
    lb.minimize(fun, X4, jac=True, bounds=B4,
                options={"iprint": 3, "maxiter": 7})
    assert [int(r[0]) for r in _log_rows(capsys.readouterr().out)] == [3, 6]
    # above 100: x and g after every iteration line
    seen = _iterates(maxiter=3)
    lb.minimize(fun, X4, jac=True, bounds=B4,
                options={"iprint": 101, "maxiter": 3})
    out = capsys.readouterr().out
    assert len(_log_rows(out)) == 3
    xs = re.findall(r"x = \[([^\]]*)\]", out)
    gs = re.findall(r"g = \[([^\]]*)\]", out)
    assert len(xs) == len(gs) == 3
    for (x, _), xt, gt in zip(seen, xs, gs):
        np.testing.assert_allclose(np.array(xt.split(), float), x,
                                   rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(np.array(gt.split(), float),
                                   rosenbrock(x)[1], rtol=1e-7, atol=1e-8)


def test_disp_prints_a_log(capsys):
    fun = python_wrapper(rosenbrock)
    x, f, d = lb.fmin_l_bfgs_b(fun, X4, bounds=B4, maxiter=4, disp=1)
    out = capsys.readouterr().out
    rows = _log_rows(out)
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4]
    assert float(rows[-1][1]) == pytest.approx(f, rel=1e-14)
    assert d["task"] in out
    lb.fmin_l_bfgs_b(fun, X4, bounds=B4, maxiter=4, disp=2)
    assert [int(r[0]) for r in _log_rows(capsys.readouterr().out)] == [2, 4]
    # disp=0 silences the log whatever iprint says (as in scipy)
    lb.fmin_l_bfgs_b(fun, X4, bounds=B4, maxiter=4, disp=0, iprint=99)
    assert capsys.readouterr().out == ""
    lb.minimize(fun, X4, jac=True, bounds=B4,
                options={"disp": True, "maxiter": 2})
    assert len(_log_rows(capsys.readouterr().out)) == 2


# --------------------------------------------------------------------------
# every variable fixed by its bounds
# --------------------------------------------------------------------------

@pytest.mark.parametrize("jac", [True, None, "2-point"])
def test_all_variables_fixed_like_scipy(jac):
    fun = python_wrapper(rosenbrock) if jac is True else \
        python_wrapper(rosenbrock_f)
    bounds = [(0.5, 0.5), (2.0, 2.0), (-1.0, -1.0)]
    calls = []

    def counted(x):
        calls.append(x.copy())
        return fun(x)

    res = lb.minimize(counted, np.zeros(3), jac=jac, bounds=bounds)
    ref = so.minimize(fun, np.zeros(3), jac=jac, bounds=bounds,
                                  method="L-BFGS-B")
    assert res.message == ref.message == \
        "All independent variables were fixed by bounds."
    assert (res.nfev, res.njev, res.success) == (ref.nfev, ref.njev,
                                                 ref.success) == (1, 0, True)
    assert len(calls) == 1
    np.testing.assert_array_equal(res.x, ref.x)
    assert res.fun == ref.fun == rosenbrock(res.x)[0]


def test_all_variables_fixed_does_not_call_a_separate_jac():
    bounds = [(0.5, 0.5), (2.0, 2.0)]
    jac_calls = []

    def jac(x):
        jac_calls.append(x.copy())
        return rosenbrock(x)[1]

    f = python_wrapper(rosenbrock_f)
    res = lb.minimize(f, np.zeros(2), jac=jac, bounds=bounds)
    ref = so.minimize(f, np.zeros(2), jac=jac, bounds=bounds,
                                  method="L-BFGS-B")
    assert jac_calls == [] and (res.nfev, res.njev) == (ref.nfev, ref.njev)
    assert res.fun == ref.fun and np.isnan(res.jac).all()


# --------------------------------------------------------------------------
# callbacks
# --------------------------------------------------------------------------

def _stop_at(k):
    calls = []

    def callback(xk):
        calls.append(xk.copy())
        if len(calls) == k:
            raise StopIteration
    return callback, calls


def test_old_style_callback_stop_iteration_in_minimize():
    fun = python_wrapper(rosenbrock)
    cb, calls = _stop_at(4)
    res = lb.minimize(fun, X4, jac=True, bounds=B4, callback=cb)
    cb_ref, calls_ref = _stop_at(4)
    ref = so.minimize(fun, X4, jac=True, bounds=B4,
                                  method="L-BFGS-B", callback=cb_ref)
    assert (res.status, res.success, res.message) == \
        (ref.status, ref.success, ref.message) == \
        (99, False, "`callback` raised `StopIteration`.")
    assert (res.nit, res.nfev) == (ref.nit, ref.nfev)
    assert res.nit == len(calls) == len(calls_ref) == 4
    np.testing.assert_array_equal(res.x, calls[-1])
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-9)


def _new_style_stop(k):
    calls = []

    def callback(intermediate_result):
        calls.append(intermediate_result.x.copy())
        if len(calls) == k:
            raise StopIteration
    return callback


@pytest.mark.parametrize("style", ["old", "new"])
def test_callback_through_scipy_custom_method(style):
    fun = python_wrapper(rosenbrock)
    results = []
    for method in (lb.minimize, "L-BFGS-B"):
        cb = _stop_at(3)[0] if style == "old" else _new_style_stop(3)
        results.append(so.minimize(fun, X4, jac=True, bounds=B4,
                                               method=method, callback=cb))
    res, ref = results
    assert (res.nit, res.nfev, res.status, res.success, res.message) == \
        (ref.nit, ref.nfev, ref.status, ref.success, ref.message)
    assert res.nit == 3 and res.status == 99
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-9)


X0 = np.tile([-1.2, 1.0], 4)


def test_callback_gets_copies_of_iterates_like_scipy():
    ours, ref = [], []

    def cb_ours(xk):
        ours.append(xk)
        xk[:] = 1e6  # must not affect the solve

    lb.fmin_l_bfgs_b(python_wrapper(rosenbrock), X0, callback=cb_ours,
                     maxiter=15)
    so.fmin_l_bfgs_b(python_wrapper(rosenbrock), X0,
                                 callback=lambda xk: ref.append(xk.copy()),
                                 maxiter=15)
    assert len(ours) == len(ref) == 15
    # (the first copy was overwritten by the callback itself)
    x, f, d = lb.fmin_l_bfgs_b(python_wrapper(rosenbrock), X0, maxiter=15,
                               callback=lambda xk: None)
    np.testing.assert_allclose(x, ref[-1], rtol=1e-9)


def test_callback_halting_semantics():
    fun = python_wrapper(rosenbrock)
    calls = []

    def new_style(intermediate_result):
        calls.append((intermediate_result.x.copy(), intermediate_result.fun))
        if len(calls) == 3:
            raise StopIteration

    res = lb.minimize(fun, X0, jac=True, callback=new_style)
    ref_calls = []

    def ref_new_style(intermediate_result):
        ref_calls.append(intermediate_result.fun)
        if len(ref_calls) == 3:
            raise StopIteration

    ref = so.minimize(fun, X0, jac=True, method="L-BFGS-B",
                                  callback=ref_new_style)
    assert res.nit == ref.nit == 3
    assert (res.message, res.status, res.success) == \
        (ref.message, ref.status, ref.success) == \
        ("`callback` raised `StopIteration`.", 99, False)
    np.testing.assert_allclose([c[1] for c in calls], ref_calls, rtol=1e-12)
    assert calls[-1][1] == res.fun
    # old style callback(xk) raising StopIteration halts too
    n = [0]

    def old_style(xk):
        n[0] += 1
        if n[0] == 2:
            raise StopIteration

    x, f, d = lb.fmin_l_bfgs_b(fun, X0, callback=old_style)
    assert d["nit"] == 2 and d["task"] == "STOP: CALLBACK REQUESTED HALT"


# --------------------------------------------------------------------------
# the package's own result class
# --------------------------------------------------------------------------

def test_optimize_result_behaves_like_scipy():
    r = OptimizeResult(x=np.arange(3.0), fun=1.5, message="ok")
    assert r.fun == r["fun"] == 1.5
    r.nit = 3
    assert r["nit"] == 3 and "nit" in dir(r)
    with pytest.raises(AttributeError):
        r.missing
    text = repr(r)
    assert "fun: 1.5" in text and "message: 'ok'" in text


# --------------------------------------------------------------------------
# faulty objectives: nothing lost, nothing hangs
# --------------------------------------------------------------------------

def rosen(x):
    f = float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return f, g


def test_nonfinite_at_start_stops_at_once():
    calls = []

    def f(x):
        calls.append(1)
        return np.nan, np.ones_like(x)

    x, fval, d = lb.fmin_l_bfgs_b(f, [1.0, 2.0])
    assert len(calls) == 1
    assert d["warnflag"] == 2
    assert d["task"].startswith("ABNORMAL") and "STARTING POINT" in d["task"]
    np.testing.assert_array_equal(x, [1.0, 2.0])

    def g_inf(x):
        return 1.0, np.array([np.inf, 0.0])

    res = lb.minimize(g_inf, [0.0, 0.0], jac=True)
    assert not res.success and res.status == 2 and res.nit == 0


def test_nonfinite_trial_point_shrinks_step():
    # f = sum(x - 2 log x) is NaN for x <= 0 although there are no bounds;
    # from x0 the secant step overshoots into the invalid region (scipy
    # stops there with "ABNORMAL: " at x0).
    nan_trials = []

    def f(x):
        if np.any(x <= 0):
            nan_trials.append(x.copy())
            return np.nan, np.full_like(x, np.nan)
        return float(np.sum(x - 2.0 * np.log(x))), 1.0 - 2.0 / x

    x, fval, d = lb.fmin_l_bfgs_b(f, [10.0, 12.0, 15.0])
    assert nan_trials, "the test must visit the invalid region"
    assert d["warnflag"] == 0, d["task"]
    np.testing.assert_allclose(x, [2.0, 2.0, 2.0], rtol=1e-4)
    assert np.isfinite(fval)


def test_always_nonfinite_along_direction_returns_last_good_point():
    # finite only at the start point's neighbourhood x <= 1.0 (first coord)
    def f(x):
        if x[0] > 1.0 + 1e-12:
            return np.inf, np.full_like(x, np.inf)
        return float(-x[0]), np.array([-1.0, 0.0])

    x0 = np.array([1.0, 0.0])
    x, fval, d = lb.fmin_l_bfgs_b(f, x0, maxls=5)
    assert d["task"].startswith("ABNORMAL")
    assert d["warnflag"] == 2
    np.testing.assert_array_equal(x, x0)
    assert fval == -1.0
    np.testing.assert_array_equal(d["grad"], [-1.0, 0.0])
    assert d["funcalls"] <= 1 + 2 * 5  # bounded: never hangs


class Boom(Exception):
    pass


def test_exception_propagates_unchanged_with_best_point():
    count = [0]

    def f(x):
        count[0] += 1
        if count[0] == 12:
            raise Boom("objective failed")
        return rosen(x)

    with pytest.raises(Boom, match="objective failed") as info:
        lb.fmin_l_bfgs_b(f, np.array([-1.2, 1.0]))
    best = info.value.lbfgsb_result
    f0 = rosen(np.array([-1.2, 1.0]))[0]
    assert best.fun < f0
    assert best.fun == pytest.approx(rosen(best.x)[0])
    np.testing.assert_allclose(best.jac, rosen(best.x)[1])
    assert any("lbfgsb_result" in note for note in info.value.__notes__)
    # nothing broken: the next solve works and equals a fresh one
    x, fval, d = lb.fmin_l_bfgs_b(rosen, np.array([-1.2, 1.0]))
    assert d["warnflag"] == 0


def test_keyboard_interrupt_in_callback_propagates():
    def cb(xk):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        lb.fmin_l_bfgs_b(rosen, np.array([-1.2, 1.0]), callback=cb)
    assert info.value.lbfgsb_result.nit == 1


def test_result_always_inside_box_even_when_aborted():
    lo, hi = -0.5, 0.3

    def f(x):
        return float(np.sum(np.sin(5 * x) + x ** 2)), 5 * np.cos(5 * x) + 2 * x

    x, fval, d = lb.fmin_l_bfgs_b(f, np.linspace(-3, 3, 7),
                                  bounds=[(lo, hi)] * 7, maxiter=3)
    assert d["warnflag"] == 1
    assert (x >= lo).all() and (x <= hi).all()


# --------------------------------------------------------------------------
# threads, determinism and the status messages
# --------------------------------------------------------------------------

def test_threads_give_bit_identical_results():
    rng = np.random.default_rng(3)
    starts = [rng.normal(size=20) for _ in range(6)]
    bounds = [(-1.0, 2.0)] * 10 + [(None, None)] * 10
    serial = [lb.fmin_l_bfgs_b(rosen, s, bounds=bounds) for s in starts]
    out = [None] * len(starts)

    def work(i):
        out[i] = lb.fmin_l_bfgs_b(rosen, starts[i], bounds=bounds)

    threads = [threading.Thread(target=work, args=(i,))
               for i in range(len(starts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (x1, f1, d1), (x2, f2, d2) in zip(serial, out):
        np.testing.assert_array_equal(x1, x2)
        assert f1 == f2 and d1["nit"] == d2["nit"]
        assert d1["funcalls"] == d2["funcalls"]


# one solve per path, printed bit for bit; n >= 32 takes the reassociated
# long inner products (``vector_ops``)
_SOLVE_AND_PRINT_BITS = """
    import numpy as np
    import lbfgsb_numba as lb
    from benchmarks.problems import rosenbrock_njit
    x0 = np.linspace(-2, 2, 40)
    for fun in (rosenbrock_njit, lambda x: rosenbrock_njit(x)):
        x, f, d = lb.fmin_l_bfgs_b(fun, x0, bounds=[(-1.5, 1.5)] * 40)
        print(x.tobytes().hex(), f.hex(), d["grad"].tobytes().hex(),
              d["nit"], d["funcalls"], d["task"])
"""


def test_same_input_same_output_bits_across_processes():
    """The same solves in a fresh process (other addresses, another
    allocation history, kernels loaded from the cache) give the same bits
    on the compiled and the Python path."""
    here = io.StringIO()
    with contextlib.redirect_stdout(here):
        exec(textwrap.dedent(_SOLVE_AND_PRINT_BITS), {})
    lines = here.getvalue().splitlines()
    assert len(lines) == 2 and lines[0] == lines[1]  # both paths agree
    assert _run_python(_SOLVE_AND_PRINT_BITS).splitlines() == lines


def test_status_messages_are_scipy_messages():
    """Each outcome's message is the text scipy's L-BFGS-B gives for it
    (run here, not copied), with scipy's warnflag; ABNORMAL stops add a
    reason after scipy's bare "ABNORMAL: "."""
    x0 = np.tile([-1.2, 1.0], 5)
    for code, options in ((status.CONV_GRAD, {"pgtol": 1e-3}),
                          (status.CONV_F, {}),
                          (status.STOP_MAXFUN, {"maxfun": 5}),
                          (status.STOP_MAXITER, {"maxiter": 3}),
                          (status.ABNORMAL_LINE_SEARCH, {"maxls": 1})):
        x, f, d = lb.fmin_l_bfgs_b(rosen, x0, **options)
        xs, fs, ds = so.fmin_l_bfgs_b(rosen, x0, **options)
        assert d["task"] == status.message(code), options
        assert d["warnflag"] == ds["warnflag"], options
        if ds["task"] == "ABNORMAL: ":
            assert d["task"].startswith(ds["task"])
            assert len(d["task"]) > len("ABNORMAL: ") + 10
        else:
            assert d["task"] == ds["task"], options
    for code in (status.STOP_CALLBACK, status.ABNORMAL_NONFINITE_START,
                 status.ABNORMAL_NONFINITE_SEARCH,
                 status.ABNORMAL_NOT_DESCENT):
        text = status.message(code)
        assert text.split(":")[0] in ("STOP", "ABNORMAL")
        if text.startswith("ABNORMAL"):  # with a reason, unlike scipy's
            assert len(text) > len("ABNORMAL: ") + 10
    # scipy's warnflag: 0 converged, 1 limits, 2 anything else
    assert status.warnflag(status.CONV_F, 3, 4, 10, 10) == 0
    assert status.warnflag(status.STOP_MAXITER, 10, 4, 10, 100) == 1
    assert status.warnflag(status.STOP_MAXFUN, 3, 11, 100, 10) == 1
    assert status.warnflag(status.ABNORMAL_LINE_SEARCH, 3, 4, 10, 10) == 2
