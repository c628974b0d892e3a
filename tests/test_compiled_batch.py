"""Fully compiled solves: @njit objectives through fmin_l_bfgs_b/minimize,
njit_minimize from inside user @njit code and prange, minimize_batch."""
import numpy as np
import pytest
from numba import njit, prange

import lbfgsb_numba as lb
from lbfgsb_numba import status
from benchmarks.problems import rosenbrock_njit as rosen_fg
from benchmarks.problems import two_exp_njit as expfit_fg
from oracle_problems import fit_curves
from oracle_problems import rosenbrock_f as rosen_f
from oracle_problems import rosenbrock_g as rosen_g


@njit(cache=True)
def nan_beyond(x, limit):
    """Quadratic that is NaN beyond `limit` in its first coordinate."""
    if x[0] > limit[0]:
        return np.nan, np.full(x.shape[0], np.nan)
    return -x[0] + 0.5 * np.sum(x[1:] ** 2), np.concatenate(
        (np.array([-1.0]), x[1:]))


def _py(fn):
    return lambda x, *a: fn(x, *a)


PROBLEMS = [
    ("unconstrained n=2", np.array([-1.2, 1.0]), None),
    ("unconstrained n=10", np.tile([-1.2, 1.0], 5), None),
    ("box", np.tile([-1.2, 1.0], 5), [(-0.5, 0.8)] * 10),
    ("lower", np.tile([-1.2, 1.0], 5), [(1.1, None)] * 10),
    ("upper and fixed", np.tile([-1.2, 1.0], 3),
     [(None, 0.5), (0.3, 0.3), (None, 0.5), (None, None), (-2, 2), (1, 1)]),
]


@pytest.mark.parametrize("name, x0, bounds", PROBLEMS,
                         ids=[p[0] for p in PROBLEMS])
def test_compiled_path_equals_python_path(name, x0, bounds):
    py = lb.fmin_l_bfgs_b(_py(rosen_fg), x0, bounds=bounds)
    co = lb.fmin_l_bfgs_b(rosen_fg, x0, bounds=bounds)
    np.testing.assert_array_equal(py[0], co[0])
    assert py[1] == co[1]
    for key in ("nit", "funcalls", "task", "warnflag"):
        assert py[2][key] == co[2][key], key
    np.testing.assert_array_equal(py[2]["grad"], co[2]["grad"])


def test_compiled_separate_jac_and_finite_differences():
    x0 = np.array([-1.2, 1.0, 0.5])
    a = lb.minimize(rosen_f, x0, jac=rosen_g, bounds=[(-2, 2)] * 3)
    b = lb.minimize(_py(rosen_f), x0, jac=_py(rosen_g), bounds=[(-2, 2)] * 3)
    np.testing.assert_array_equal(a.x, b.x)
    assert (a.nit, a.nfev, a.message) == (b.nit, b.nfev, b.message)
    c = lb.fmin_l_bfgs_b(rosen_f, x0, approx_grad=True, bounds=[(-2, 2)] * 3)
    d = lb.fmin_l_bfgs_b(_py(rosen_f), x0, approx_grad=True,
                         bounds=[(-2, 2)] * 3)
    np.testing.assert_array_equal(c[0], d[0])
    assert c[2]["funcalls"] == d[2]["funcalls"] > c[2]["nit"] * 3


def test_compiled_args_passthrough():
    t = np.linspace(0, 4, 40)
    y = 2.0 * np.exp(-1.3 * t) + 0.5 * np.exp(-0.2 * t) + 0.1
    x0 = np.array([1.0, 1.0, 1.0, 0.1, 0.0])
    bounds = [(0, 5), (0, 5), (0, 5), (0, 5), (-1, 1)]
    co = lb.fmin_l_bfgs_b(expfit_fg, x0, args=(t, y), bounds=bounds)
    py = lb.fmin_l_bfgs_b(_py(expfit_fg), x0, args=(t, y), bounds=bounds)
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


@pytest.mark.parametrize("parallel", [True, False])
def test_minimize_batch_equals_rowwise_solves(parallel):
    k = 12
    t, y = fit_curves(k)
    x0 = np.tile([1.0, 1.0, 1.0, 0.1, 0.0], (k, 1))
    lower = np.array([0.0, 0.0, 0.0, 0.0, -1.0])
    upper = np.array([5.0, 5.0, 5.0, 5.0, 1.0])
    res = lb.minimize_batch(expfit_fg, x0, args=(t, y),
                            bounds=(lower, upper), parallel=parallel)
    assert res.x.shape == (k, 5) and res.fun.shape == (k,)
    for i in range(k):
        xi, fi, di = lb.fmin_l_bfgs_b(_py(expfit_fg), x0[i], args=(t[i], y[i]),
                                      bounds=list(zip(lower, upper)),
                                      factr=2.2204460492503131e-09 / np.finfo(float).eps)
        np.testing.assert_array_equal(res.x[i], xi)
        assert res.fun[i] == fi
        assert res.nit[i] == di["nit"] and res.nfev[i] == di["funcalls"]
        assert res.message[i] == di["task"]
        assert res.success[i] == (di["warnflag"] == 0)


def test_batch_bad_row_leaves_others_intact():
    k, n = 6, 3
    x0 = np.zeros((k, n))
    limits = np.full((k, 1), np.inf)
    limits[2, 0] = -1.0   # problem 2 is NaN everywhere it can start from
    limits[4, 0] = 0.5    # problem 4 is NaN beyond x0 = 0.5
    res = lb.minimize_batch(nan_beyond, x0, args=(limits,),
                            bounds=(np.full(n, -10.0), np.full(n, 3.0)))
    assert res.message[2].startswith("ABNORMAL") and res.status[2] == 2
    assert res.x[4, 0] <= 0.5 and np.isfinite(res.fun[4])
    for i in (0, 1, 3, 5):
        assert res.success[i]
        np.testing.assert_allclose(res.x[i], [3.0, 0.0, 0.0], atol=1e-7)
        solo = lb.minimize_batch(nan_beyond, x0[i:i + 1],
                                 args=(limits[i:i + 1],),
                                 bounds=(np.full(n, -10.0), np.full(n, 3.0)))
        np.testing.assert_array_equal(solo.x[0], res.x[i])


def test_batch_input_errors():
    with pytest.raises(TypeError, match="njit"):
        lb.minimize_batch(lambda x: (0.0, x), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"shape \(k, n\)"):
        lb.minimize_batch(rosen_fg, np.zeros(3))
    with pytest.raises(ValueError, match="args\\[0\\]"):
        lb.minimize_batch(expfit_fg, np.zeros((3, 5)),
                          args=(np.zeros((2, 40)), np.zeros((3, 40))))
    with pytest.raises(ValueError, match="lower bounds is greater"):
        lb.minimize_batch(rosen_fg, np.zeros((2, 2)),
                          bounds=(np.ones(2), np.zeros(2)))
