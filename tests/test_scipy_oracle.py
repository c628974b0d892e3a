"""lbfgsb_numba against scipy's L-BFGS-B as the oracle: x, f, nit, nfev,
messages and every parameter / return field of fmin_l_bfgs_b's page."""
import numpy as np
import pytest

scipy_optimize = pytest.importorskip("scipy.optimize")

import lbfgsb_numba as lb  # noqa: E402
from oracle_problems import (PROBLEMS, lower_upper, python_wrapper,  # noqa: E402
                             quadratic, rosenbrock, scipy_bounds,
                             sine_wells)

IDS = [p.name for p in PROBLEMS]


def _both(p, **kw):
    fun = python_wrapper(p.fg)
    ours = lb.fmin_l_bfgs_b(fun, p.x0.copy(), args=p.args, bounds=p.bounds,
                            **kw)
    ref = scipy_optimize.fmin_l_bfgs_b(
        fun, p.x0.copy(), args=p.args,
        bounds=scipy_bounds(p.bounds, p.x0.size), **kw)
    return ours, ref


# The final f must be as good as scipy's within 1e-6 relative, or within the
# resolution of the stopping rule both solvers share: the ftol test stops
# when an iteration reduces f by less than factr * eps * max(|f|, 1)
# (2.2e-9 absolute for |f| < 1, e.g. at the zero minimum of Rosenbrock,
# where a relative comparison means nothing).
STOP_RESOLUTION = 1e7 * np.finfo(float).eps


@pytest.mark.parametrize("p", PROBLEMS, ids=IDS)
def test_fmin_l_bfgs_b_matches_scipy(p):
    (x, f, d), (xs, fs, ds) = _both(p)
    lo, up = lower_upper(p.bounds, p.x0.size)
    assert (x >= lo).all() and (x <= up).all()
    assert f <= fs + 1e-6 * abs(fs) + STOP_RESOLUTION * max(abs(fs), 1.0), \
        (f, fs)
    assert f == p.fg(x, *p.args)[0]
    np.testing.assert_allclose(d["grad"], p.fg(x, *p.args)[1], rtol=0,
                               atol=1e-12 * max(1.0, np.abs(d["grad"]).max()))
    if p.exact:
        assert (d["nit"], d["funcalls"]) == (ds["nit"], ds["funcalls"])
        assert d["task"] == ds["task"] and d["warnflag"] == ds["warnflag"]
        np.testing.assert_allclose(x, xs, rtol=1e-9, atol=1e-9)
    else:
        assert d["warnflag"] == ds["warnflag"] == 0


@pytest.mark.parametrize("p", [p for p in PROBLEMS if p.exact], ids=[
    p.name for p in PROBLEMS if p.exact])
def test_minimize_matches_scipy(p):
    fun = python_wrapper(p.fg)
    res = lb.minimize(fun, p.x0.copy(), args=p.args, jac=True,
                      bounds=p.bounds)
    ref = scipy_optimize.minimize(fun, p.x0.copy(), args=p.args, jac=True,
                                  bounds=scipy_bounds(p.bounds, p.x0.size),
                                  method="L-BFGS-B")
    for key in ("nit", "nfev", "njev", "status", "success", "message"):
        assert res[key] == ref[key], key
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-9, atol=1e-9)
    assert res.fun <= ref.fun + 1e-12 * max(1.0, abs(ref.fun))


def _f_only(fg):
    return lambda x, *a: fg(x, *a)[0]


@pytest.mark.parametrize("name", ["rosenbrock_2", "quadratic_box_active",
                                  "exp_fit_bounded", "beale_box"])
def test_approx_grad_matches_scipy(name):
    p = next(q for q in PROBLEMS if q.name == name)
    kw = dict(args=p.args, approx_grad=True)
    x, f, d = lb.fmin_l_bfgs_b(_f_only(p.fg), p.x0, bounds=p.bounds, **kw)
    xs, fs, ds = scipy_optimize.fmin_l_bfgs_b(_f_only(p.fg), p.x0,
                                              bounds=p.bounds, **kw)
    assert (d["nit"], d["funcalls"], d["task"]) == \
        (ds["nit"], ds["funcalls"], ds["task"])
    # finite differences amplify last-bit differences: same path, close x
    np.testing.assert_allclose(x, xs, rtol=1e-5, atol=1e-6)


def test_reference_page_example():
    X = np.arange(0, 10, 1)
    Y = 2 * X + 3

    def func(parameters, *args):
        x, y = args
        m, b = parameters
        return sum(np.power((y - (m * x + b)), 2))

    x0 = np.array([0.0, 1.0])
    for bounds in (None, [(0, 5), (5, 10)]):
        ours = lb.fmin_l_bfgs_b(func, x0, args=(X, Y), approx_grad=True,
                                bounds=bounds)
        ref = scipy_optimize.fmin_l_bfgs_b(func, x0, args=(X, Y),
                                           approx_grad=True, bounds=bounds)
        np.testing.assert_allclose(ours[0], ref[0], rtol=1e-7)
        assert ours[2]["funcalls"] == ref[2]["funcalls"]
    np.testing.assert_allclose(ours[0], [1.65990508, 5.31649385], rtol=1e-7)


# ----------------------------------------------------------- parameters

X0 = np.tile([-1.2, 1.0], 4)


def _same_task(ours, ref):
    # scipy prints no reason after "ABNORMAL: "; ours does
    return ours == ref or (ref == "ABNORMAL: " and ours.startswith(ref))


def _cmp(x0=X0, **kw):
    fun = python_wrapper(rosenbrock)
    x, f, d = lb.fmin_l_bfgs_b(fun, x0, **kw)
    xs, fs, ds = scipy_optimize.fmin_l_bfgs_b(fun, x0, **kw)
    assert (d["nit"], d["funcalls"], d["warnflag"]) == \
        (ds["nit"], ds["funcalls"], ds["warnflag"])
    assert _same_task(d["task"], ds["task"])
    # same decisions; x to the accuracy that last-bit differences (scipy
    # sums with BLAS, and forms the step another way) leave on Rosenbrock
    np.testing.assert_allclose(x, xs, rtol=1e-6, atol=1e-9)
    return x, f, d


@pytest.mark.parametrize("m", [1, 3, 20])
def test_param_m(m):
    x, f, d = _cmp(x0=X0[:2], m=m)
    x, f, d = _cmp(x0=X0, m=m, bounds=[(-0.5, 0.8)] * 8)


def test_param_factr_and_pgtol():
    x, f, d = _cmp(factr=1e12)
    assert d["task"] == "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
    x, f, d = _cmp(factr=10.0, pgtol=1e-3)
    assert d["task"] == "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL"


def test_param_fprime_and_args():
    h, c = np.array([1.0, 4.0, 9.0]), np.array([1.0, -2.0, 0.5])
    f_only = lambda x, h, c: quadratic(x, h, c)[0]  # noqa: E731
    grad = lambda x, h, c: quadratic(x, h, c)[1]  # noqa: E731
    x, f, d = lb.fmin_l_bfgs_b(f_only, np.zeros(3), fprime=grad, args=(h, c))
    xs, fs, ds = scipy_optimize.fmin_l_bfgs_b(f_only, np.zeros(3),
                                              fprime=grad, args=(h, c))
    np.testing.assert_allclose(x, c, atol=1e-6)
    assert (d["nit"], d["funcalls"]) == (ds["nit"], ds["funcalls"])


def test_param_epsilon():
    f_only = _f_only(rosenbrock)
    a = lb.fmin_l_bfgs_b(f_only, X0[:2], approx_grad=True, epsilon=1e-6)
    b = scipy_optimize.fmin_l_bfgs_b(f_only, X0[:2], approx_grad=True,
                                     epsilon=1e-6)
    assert (a[2]["nit"], a[2]["funcalls"]) == (b[2]["nit"], b[2]["funcalls"])
    # scipy's own x moves by ~2e-9 here with the OpenBLAS kernel its CPU
    # picks (OPENBLAS_CORETYPE=Prescott against Haswell, same decisions):
    # the finite-difference gradient's noise, not a difference in the steps
    np.testing.assert_allclose(a[0], b[0], rtol=1e-7)


def test_param_bounds_forms_agree():
    n = 8
    forms = [[(-0.5, 0.8)] * n,
             (np.full(n, -0.5), np.full(n, 0.8)),
             scipy_optimize.Bounds(np.full(n, -0.5), np.full(n, 0.8)),
             np.array([(-0.5, 0.8)] * n)]
    results = [lb.fmin_l_bfgs_b(python_wrapper(rosenbrock), X0, bounds=b)
               for b in forms]
    for x, f, d in results[1:]:
        np.testing.assert_array_equal(x, results[0][0])
    mixed = [(None, 0.5), (-np.inf, None), (0, np.inf), (None, None)] * 2
    _cmp(bounds=mixed)


def test_minimize_options_and_jac_forms():
    fun = python_wrapper(rosenbrock)
    f_only = _f_only(rosenbrock)
    g_only = lambda x: rosenbrock(x)[1]  # noqa: E731
    X0 = np.array([-1.2, 1.0])
    opts = {"maxcor": 5, "ftol": 1e-12, "gtol": 1e-7, "maxls": 30,
            "maxiter": 500, "maxfun": 1000}
    for jac, f, o in ((True, fun, opts), (g_only, f_only, opts),
                      (None, f_only, {}), ("2-point", f_only, {})):
        res = lb.minimize(f, X0, jac=jac, options=o)
        ref = scipy_optimize.minimize(f, X0, jac=jac, options=o,
                                      method="L-BFGS-B")
        assert (res.nit, res.nfev, res.njev, res.message) == \
            (ref.nit, ref.nfev, ref.njev, ref.message), jac
        np.testing.assert_allclose(res.x, ref.x, rtol=1e-5, atol=1e-8)
    res = lb.minimize(f_only, X0, jac="2-point",
                      options={"finite_diff_rel_step": 1e-6})
    ref = scipy_optimize.minimize(f_only, X0, jac="2-point",
                                  method="L-BFGS-B",
                                  options={"finite_diff_rel_step": 1e-6})
    assert (res.nit, res.nfev) == (ref.nit, ref.nfev)
    res = lb.minimize(fun, X0, jac=True, tol=1e-3)
    ref = scipy_optimize.minimize(fun, X0, jac=True, tol=1e-3,
                                  method="L-BFGS-B")
    assert (res.nit, res.nfev, res.message) == (ref.nit, ref.nfev,
                                                ref.message)
    res = lb.minimize(fun, X0, jac=True, options={"eps": 1e-7})
    assert res.success
    for key in ("x", "fun", "jac", "nit", "nfev", "njev", "status",
                "success", "message", "hess_inv"):
        assert key in res and getattr(res, key) is res[key]


# Bounded problems too large for the dense model (n > 8 + m/2): the compact
# form with its Cauchy search through the middle matrix M, the factor of K
# kept up to date (and rebuilt) as variables enter and leave the free set.
COMPACT_CASES = [
    ("rosenbrock_box", rosenbrock, 20, [(-0.5, 0.8)], ()),
    ("rosenbrock_lower", rosenbrock, 16, [(1.1, None)], ()),
    ("rosenbrock_upper", rosenbrock, 30, [(None, 0.5)], ()),
    ("quadratic_box", quadratic, 20, [(-1.0, 1.0)],
     (np.linspace(1, 10, 20), np.linspace(-2, 2, 20))),
    ("sine_wells_box", sine_wells, 30, [(-3.0, 3.0)],
     (np.linspace(0.5, 3.0, 30),)),
]


@pytest.mark.parametrize("m", [3, 10])
@pytest.mark.parametrize("name, fg, n, bound, args", COMPACT_CASES,
                         ids=[c[0] for c in COMPACT_CASES])
def test_compact_bounded_path_matches_scipy(name, fg, n, bound, args, m):
    from lbfgsb_numba.dense_model import use_dense
    assert not use_dense(n, m)
    x0 = (np.tile([-1.2, 1.0], n // 2) if fg is rosenbrock
          else np.linspace(-2, 2, n))
    fun = python_wrapper(fg)
    x, f, d = lb.fmin_l_bfgs_b(fun, x0, args=args, bounds=bound * n, m=m)
    xs, fs, ds = scipy_optimize.fmin_l_bfgs_b(fun, x0, args=args,
                                              bounds=bound * n, m=m)
    assert (d["nit"], d["funcalls"], d["task"]) == \
        (ds["nit"], ds["funcalls"], ds["task"])
    np.testing.assert_allclose(x, xs, rtol=1e-7, atol=1e-9)
