"""minimize_batch (``batch.py``): rows solved in one call equal the same
problems solved alone, per-row bounds and data, faulty rows, bad input."""
import numpy as np
import pytest
from numba import njit

import lbfgsb_numba as lb
from benchmarks.problems import rosenbrock_njit as rosen_fg
from benchmarks.problems import two_exp_njit
from benchmarks.problems import two_exp_njit as expfit_fg
from lbfgsb_numba.bounds import normalize_bounds
from oracle_problems import X4, fit_curves, python_wrapper, rosenbrock_faulty


@njit(cache=True)
def nan_beyond(x, limit):
    """Quadratic that is NaN beyond `limit` in its first coordinate."""
    if x[0] > limit[0]:
        return np.nan, np.full(x.shape[0], np.nan)
    return -x[0] + 0.5 * np.sum(x[1:] ** 2), np.concatenate(
        (np.array([-1.0]), x[1:]))


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
        xi, fi, di = lb.fmin_l_bfgs_b(python_wrapper(expfit_fg), x0[i], args=(t[i], y[i]),
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


def _batch_problem(k, seed=0):
    t, y = fit_curves(k, seed)
    rng = np.random.default_rng(seed + 1)
    x0 = np.tile([1.0, 1.0, 1.0, 0.1, 0.0], (k, 1)) + rng.uniform(
        0, 0.5, (k, 5))
    return t, y, x0


def _check_rows(res, x0, t, y, lower, upper):
    factr = 2.2204460492503131e-09 / np.finfo(float).eps
    for i in range(x0.shape[0]):
        xi, fi, di = lb.fmin_l_bfgs_b(two_exp_njit, x0[i], args=(t[i], y[i]),
                                      bounds=list(zip(lower[i], upper[i])),
                                      factr=factr)
        np.testing.assert_array_equal(res.x[i], xi)
        assert res.fun[i] == fi
        assert (res.nit[i], res.nfev[i]) == (di["nit"], di["funcalls"])
        assert res.message[i] == di["task"]
        f, g = two_exp_njit(res.x[i], t[i], y[i])
        assert res.fun[i] == f
        np.testing.assert_array_equal(res.jac[i], g)


def test_minimize_batch_bounds_per_row_and_as_pairs():
    k = 8
    t, y, x0 = _batch_problem(k)
    rng = np.random.default_rng(1)
    lower = np.column_stack([np.zeros(k), np.zeros(k), rng.uniform(0, 0.3, k),
                             np.zeros(k), np.full(k, -np.inf)])
    upper = np.column_stack([rng.uniform(1.5, 5, k), np.full(k, 5.0),
                             np.full(k, np.inf), rng.uniform(0.1, 5, k),
                             np.full(k, 1.0)])
    res = lb.minimize_batch(two_exp_njit, x0, args=(t, y),
                            bounds=(lower, upper))
    assert res.x.shape == (k, 5) and res.jac.shape == (k, 5)
    assert (res.x >= lower).all() and (res.x <= upper).all()
    _check_rows(res, x0, t, y, lower, upper)
    pairs = [(0, 2.0), (0, 5), (0.1, None), (None, 3), (-1, 1)]
    res = lb.minimize_batch(two_exp_njit, x0, args=(t, y), bounds=pairs,
                            parallel=False)
    lo, up, _ = normalize_bounds(pairs, 5)
    _check_rows(res, x0, t, y, np.tile(lo, (k, 1)), np.tile(up, (k, 1)))


@pytest.mark.parametrize("parallel", [False, True])
def test_minimize_batch_exception_in_one_row_propagates(parallel):
    k = 6
    x0 = np.tile(X4, (k, 1))
    count = np.zeros((k, 1), dtype=np.int64)
    raise_after = np.full((k, 1), 10**9, dtype=np.int64)
    raise_after[3, 0] = 5
    no_nan = np.zeros((k, 1), dtype=np.int64)
    with pytest.raises(ValueError, match="evaluation limit") as info:
        lb.minimize_batch(rosenbrock_faulty, x0,
                          args=(count, raise_after, no_nan),
                          parallel=parallel)
    assert type(info.value) is ValueError
    # the exception reaches the caller from the call that raised (in
    # parallel too: no second solve of the failing problem)
    assert count[3, 0] == 6
    # without the faulty row every problem is solved
    raise_after[3, 0] = 10**9
    count[:] = 0
    res = lb.minimize_batch(rosenbrock_faulty, x0,
                            args=(count, raise_after, no_nan),
                            parallel=parallel)
    assert res.success.all() and (count[:, 0] == res.nfev).all()
