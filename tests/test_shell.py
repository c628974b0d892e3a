"""Drop-in parity of minimize's API with scipy 1.17: the finite-difference
schemes ('2-point', '3-point', 'cs' and finite_diff_rel_step), scipy's
result class, scipy's rules for the integer options, the report after an
exception at the first evaluation, and minimize's keyword rules (direct
calls and as ``scipy.optimize.minimize(method=minimize)``)."""
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.optimize as so
from scipy.optimize._numdiff import approx_derivative

import lbfgsb_numba as lb
from lbfgsb_numba.finite_diff import (central_gradient_njit,
                                      fd_gradient_njit, finite_difference)
from lbfgsb_numba.result import OptimizeResult as PackageResult
from oracle_problems import (python_wrapper, rosenbrock, rosenbrock_f,
                             rosenbrock_faulty)

X5 = np.array([-1.2, 1.0, 0.7, 1.3, 0.2])


def rosen_any(x):
    """Rosenbrock in numpy, for real or complex x (complex step)."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_float(x):
    return float(rosen_any(x))


# --------------------------------------------------------------------------
# finite differences against scipy's approx_derivative
# --------------------------------------------------------------------------

H3 = np.finfo(float).eps ** (1 / 3)  # the default '3-point' relative step
# (x, lower, upper): an interior point, and points at or next to a bound
# (at the lower / upper bound, a bound closer than the step on one side,
# a box narrower than two steps, an unbounded coordinate)
FD_POINTS = {
    "interior": (np.array([0.3, -0.4, 0.7, 2.0]),
                 np.array([-1.0, -1.0, 0.0, -np.inf]),
                 np.array([1.0, 1.0, 1.0, np.inf])),
    "edge": (np.array([-1.0, 1.0, 0.5 + 1e-6, 2.0]),
             np.array([-1.0, -1.0, 0.5, -np.inf]),
             np.array([1.0, 1.0, 1.0, 2.0 + 3e-6])),
    "narrow": (np.array([0.5, 0.5, 1.0, -3.0]),
               np.array([0.5 - 0.7 * H3, 0.5 - 0.2 * H3, 1.0 - 1e-3, -3.0]),
               np.array([0.5 + 0.8 * H3, 0.5 + 0.9 * H3, 1.0, -3.0 + 1e-7])),
}
REL_STEPS = {"default": None, "scalar": 1e-5,
             "per-variable": np.array([1e-4, 1e-6, 3e-5, 1e-7])}


@pytest.mark.parametrize("point", sorted(FD_POINTS))
@pytest.mark.parametrize("rel", sorted(REL_STEPS))
@pytest.mark.parametrize("scheme", ["2-point", "3-point", "cs"])
def test_gradient_equals_approx_derivative(scheme, rel, point):
    x, lo, up = FD_POINTS[point]
    rel_step = REL_STEPS[rel]
    fun = rosen_any if scheme == "cs" else python_wrapper(rosenbrock_f)
    f0 = float(fun(x))
    ref, info = approx_derivative(fun, x, method=scheme, rel_step=rel_step,
                                  f0=f0, bounds=(lo, up), full_output=True)
    g, used = finite_difference(fun, x, f0, (), lo, up, rel_step=rel_step,
                                scheme=scheme)
    np.testing.assert_array_equal(g, ref)
    assert used == info["nfev"] == (2 if scheme == "3-point" else 1) * 4
    if scheme == "cs":
        return
    # the compiled kernels give the same bits with an @njit objective
    kernel = central_gradient_njit if scheme == "3-point" else \
        fd_gradient_njit
    g_njit = np.empty(4)
    rel_arr = np.empty(0) if rel_step is None else \
        np.ascontiguousarray(np.broadcast_to(rel_step, (4,)), dtype=float)
    used_njit = kernel(rosenbrock_f, x, f0, (), lo, up, np.empty(0), rel_arr,
                       g_njit, np.empty(4))
    np.testing.assert_array_equal(g_njit, ref)
    assert used_njit == used


def test_central_steps_stay_in_the_box():
    """Every point where '3-point' evaluates f lies in the box, and the
    one-sided formula is used exactly where a central pair does not fit."""
    x, lo, up = FD_POINTS["edge"]
    seen = []

    def recording(z):
        seen.append(z.copy())
        return rosen_float(z)

    finite_difference(recording, x, rosen_float(x), (), lo, up,
                      scheme="3-point")
    points = np.array(seen)
    assert ((points >= lo) & (points <= up)).all()
    # variable 0 sits at its lower bound: x + h and x + 2h, both above it
    steps0 = points[0:2, 0] - x[0]
    assert (steps0 > 0).all()
    assert steps0[1] == pytest.approx(2 * steps0[0], rel=1e-9)
    # variable 3 is 3e-6 below its upper bound, less than the step: the
    # backward one-sided pair x - h, x - 2h
    steps3 = points[6:8, 3] - x[3]
    assert (steps3 < 0).all()
    assert steps3[1] == pytest.approx(2 * steps3[0], rel=1e-9)


def test_fixed_variable_is_not_differenced():
    lo = np.array([-1.0, 0.25, -1.0])
    up = np.array([1.0, 0.25, 1.0])
    x = np.array([0.5, 0.25, -0.5])
    for scheme, per_var in (("2-point", 1), ("3-point", 2), ("cs", 1)):
        fun = rosen_any if scheme == "cs" else rosen_float
        g, used = finite_difference(fun, x, rosen_float(x), (), lo, up,
                                    scheme=scheme)
        assert used == 2 * per_var and g[1] == 0.0


def test_bad_finite_diff_rel_step():
    for bad, exc in ((-1e-6, ValueError), (np.nan, ValueError),
                     (np.ones(3), ValueError), ("big", TypeError)):
        with pytest.raises(exc, match="finite_diff_rel_step"):
            lb.minimize(rosen_float, X5, jac="3-point",
                        options={"finite_diff_rel_step": bad})


# --------------------------------------------------------------------------
# whole solves with '3-point' and 'cs' against scipy
# --------------------------------------------------------------------------

BOX5 = [(-2, 2), (0, 0.99), (0.5, 0.7), (-1, 2), (0.1, 3)]


@pytest.mark.parametrize("rel", [None, 1e-6, "per-variable"])
@pytest.mark.parametrize("bounds", [None, BOX5], ids=["free", "box"])
@pytest.mark.parametrize("scheme", ["3-point", "cs"])
def test_solve_equals_scipy(scheme, bounds, rel):
    if rel == "per-variable":
        rel = np.array([1e-5, 1e-6, 1e-7, 1e-6, 1e-5])
    opts = {} if rel is None else {"finite_diff_rel_step": rel}
    fun = rosen_any if scheme == "cs" else rosen_float
    ref = so.minimize(fun, X5, method="L-BFGS-B", jac=scheme, bounds=bounds,
                      options=opts)
    res = lb.minimize(fun, X5, jac=scheme, bounds=bounds, options=opts)
    assert (res.nit, res.nfev, res.njev, res.message) == \
        (ref.nit, ref.nfev, ref.njev, ref.message)
    np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=1e-8)
    np.testing.assert_allclose(res.fun, ref.fun, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.jac, ref.jac, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("bounds", [None, BOX5], ids=["free", "box"])
def test_central_differences_compiled_equal_python(bounds):
    """'3-point' with an @njit objective runs on the compiled path with the
    same iterates as the Python path."""
    a = lb.minimize(rosenbrock_f, X5, jac="3-point", bounds=bounds)
    b = lb.minimize(python_wrapper(rosenbrock_f), X5, jac="3-point",
                    bounds=bounds)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.jac, b.jac)
    assert (a.nit, a.nfev, a.fun) == (b.nit, b.nfev, b.fun)
    assert a.nfev > 2 * len(X5) * a.nit  # 2n calls per gradient


def test_fixed_variables_with_central_differences_like_scipy():
    """scipy removes fixed variables before differencing; skipping them
    gives the same solve and evaluation count."""
    bounds = [(-2, 2), (0.5, 0.5), (0.5, 0.7), (-1, 2), (0.2, 0.2)]
    ref = so.minimize(rosen_float, X5, method="L-BFGS-B", jac="3-point",
                      bounds=bounds)
    res = lb.minimize(rosen_float, X5, jac="3-point", bounds=bounds)
    assert (res.nit, res.nfev) == (ref.nit, ref.nfev)
    np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=1e-8)
    assert np.isnan(res.jac[[1, 4]]).all()


# --------------------------------------------------------------------------
# scipy's tests, rewritten: counts, FD from outside the box, isinstance,
# non-integer maxiter
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


@pytest.mark.parametrize("args", [(), (2.0,)])
@pytest.mark.parametrize("jac", ["2-point", "3-point", None])
def test_start_outside_the_box_with_finite_differences(jac, args):
    """x0 outside the box is projected onto it, whatever the scheme."""

    def fun(x, a=2.5):
        return float((x[0] - a) ** 2 + (x[1] + 0.5) ** 2)

    a = args[0] if args else 2.5
    res = lb.minimize(fun, [0.0, -1.0], args=args, jac=jac,
                      bounds=[(1.0, 2.2), (-0.3, 4.0)],
                      options={"finite_diff_rel_step": None})
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [min(a, 2.2), -0.3], atol=1e-6)


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


@pytest.mark.parametrize("name, value", [
    ("maxcor", 5.0), ("maxcor", 2.5), ("maxcor", True), ("maxls", 5.0),
    ("maxls", np.float64(5.5)), ("maxiter", "5"), ("maxfun", None),
    ("maxiter", [5])])
def test_integer_options_scipy_refuses(name, value):
    with pytest.raises(TypeError):
        so.minimize(so.rosen, X5, jac=so.rosen_der, method="L-BFGS-B",
                    options={name: value})
    with pytest.raises(TypeError, match=name):
        lb.minimize(so.rosen, X5, jac=so.rosen_der, options={name: value})


def test_integer_options_we_refuse_more_clearly():
    """Where scipy fails obscurely or ignores the value, a ValueError
    naming the option."""
    for name, value in (("maxcor", 0), ("maxcor", -1), ("maxls", 0),
                        ("maxiter", np.nan), ("maxfun", np.nan)):
        with pytest.raises(ValueError, match=name):
            lb.minimize(so.rosen, X5, jac=so.rosen_der,
                        options={name: value})


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
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                         capture_output=True, text=True, timeout=300)
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


def test_exception_at_first_call_compiled_path():
    count, raise_after, nan_first = (np.zeros(1, np.int64),
                                     np.zeros(1, np.int64),
                                     np.zeros(1, np.int64))
    r = _first_call_report(lambda: lb.fmin_l_bfgs_b(
        rosenbrock_faulty, [3.0, -1.0], args=(count, raise_after, nan_first),
        bounds=[(-2, 2), (-2, 2)]))
    assert count[0] == 1
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
