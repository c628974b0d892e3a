"""Finite differences (``finite_diff.py``): the gradients of the
'2-point', '3-point' and 'cs' schemes against scipy's approx_derivative,
steps that stay in the box, fixed variables, and whole solves without a
gradient against scipy on both paths."""
import numpy as np
import pytest
import scipy.optimize as so
from numba import njit
from scipy.optimize._numdiff import approx_derivative

import lbfgsb_numba as lb
from lbfgsb_numba.finite_diff import (central_gradient_njit, fd_gradient_njit,
                                      finite_difference, forward_difference)
from oracle_problems import (BOX5, X5, python_wrapper, rosen_any, rosen_float,
                             rosenbrock, rosenbrock_f)

scipy_optimize = pytest.importorskip("scipy.optimize")

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
def test_central_differences_compiled_equal_python(bounds, compiled_calls):
    """'3-point' with an @njit objective runs on the compiled path with the
    same iterates as the Python path."""
    a = lb.minimize(rosenbrock_f, X5, jac="3-point", bounds=bounds)
    assert compiled_calls == [rosenbrock_f]
    b = lb.minimize(python_wrapper(rosenbrock_f), X5, jac="3-point",
                    bounds=bounds)
    assert compiled_calls == [rosenbrock_f]
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


@njit(cache=True)
def _f_njit(x):
    return np.sum(np.sin(3 * x) * x ** 2) + x[0] * x[-1]


def test_finite_differences_skip_fixed_variables_like_scipy(compiled_calls):
    x0 = np.array([-1.2, 1.0, 0.3, 1.0, 0.5])
    bounds = [(-2, 2), (None, None), (0.3, 0.3), (None, 2), (0.7, 0.7)]
    fixed = np.array([False, False, True, False, True])
    for jac in (None, "2-point"):
        runs = []
        for solver in (lb.minimize, lambda *a, **k: scipy_optimize.minimize(
                *a, method="L-BFGS-B", **k)):
            calls = []

            def f(x):
                calls.append(x.copy())
                return rosenbrock(x)[0]

            res = solver(f, x0, jac=jac, bounds=bounds)
            runs.append((res, np.array(calls)))
        (res, calls), (ref, ref_calls) = runs
        assert res.nfev == len(calls) == ref.nfev == len(ref_calls)
        assert (res.nit, res.njev, res.message) == (ref.nit, ref.njev,
                                                    ref.message)
        # x0[4] = 0.5 is projected to 0.7 before the first evaluation
        np.testing.assert_array_equal(calls[:, fixed],
                                      np.tile([0.3, 0.7], (len(calls), 1)))
        assert np.isnan(res.jac[fixed]).all()
        assert np.isnan(ref.jac[fixed]).all()
        assert np.isfinite(res.jac[~fixed]).all()
        np.testing.assert_allclose(res.x, ref.x, rtol=1e-7)
    # the compiled path (an @njit f) does the same
    a = lb.minimize(rosenbrock_f, x0, bounds=bounds)
    b = lb.minimize(python_wrapper(rosenbrock_f), x0, bounds=bounds)
    assert compiled_calls == [rosenbrock_f]
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.jac, b.jac)  # NaN at the same places
    assert np.isnan(a.jac[fixed]).all() and a.nfev == b.nfev
