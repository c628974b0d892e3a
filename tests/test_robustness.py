"""Bad input, faulty objectives, threads and determinism (issue: clear
errors, nothing lost)."""
import threading

import numpy as np
import pytest

import lbfgsb_numba as lb
from lbfgsb_numba import status


def quad(x):
    return float(np.sum((x - 1.5) ** 2)), 2.0 * (x - 1.5)


def rosen(x):
    f = float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return f, g


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("x0, exc, words", [
    ([1.0, np.nan], ValueError, "x0"),
    ([np.inf, 1.0], ValueError, "x0"),
    ([1 + 2j, 0.0], TypeError, "x0"),
    (["a", "b"], TypeError, "x0"),
    ([], ValueError, "x0"),
])
def test_bad_x0(x0, exc, words):
    with pytest.raises(exc, match=words):
        lb.fmin_l_bfgs_b(quad, x0)


@pytest.mark.parametrize("bounds, exc, words", [
    ([(0, np.nan), (0, 1)], ValueError, "NaN"),
    ([(2, 1), (0, 1)], ValueError, "lower bounds is greater"),
    ([(0, 1)], ValueError, "length of x0 != length of bounds"),
    ([(0, 1)] * 3, ValueError, "length of x0 != length of bounds"),
    ([(np.inf, None), (0, 1)], ValueError, "bounds"),
    ([("a", 1), (0, 1)], TypeError, "bounds"),
])
def test_bad_bounds(bounds, exc, words):
    with pytest.raises(exc, match=words):
        lb.fmin_l_bfgs_b(quad, [0.5, 0.5], bounds=bounds)


@pytest.mark.parametrize("kw, exc, words", [
    ({"m": 0}, ValueError, "m"),
    ({"maxls": 0}, ValueError, "maxls"),
    ({"maxiter": np.nan}, ValueError, "maxiter"),
    ({"maxfun": np.nan}, ValueError, "maxfun"),
    ({"maxls": 2.0}, TypeError, "maxls"),
    ({"factr": -1.0}, ValueError, "factr"),
    ({"pgtol": -1e-5}, ValueError, "pgtol"),
    ({"pgtol": np.nan}, ValueError, "pgtol"),
    ({"m": 2.5}, TypeError, "m"),
    ({"maxiter": "10"}, TypeError, "maxiter"),
])
def test_bad_options(kw, exc, words):
    with pytest.raises(exc, match=words):
        lb.fmin_l_bfgs_b(quad, [0.5, 0.5], **kw)


def test_bad_minimize_options():
    with pytest.raises(ValueError, match="ftol"):
        lb.minimize(quad, [0.5], jac=True, options={"ftol": -1.0})
    with pytest.raises(ValueError, match="gtol"):
        lb.minimize(quad, [0.5], jac=True, options={"gtol": -1.0})
    with pytest.raises(ValueError, match="eps"):
        lb.minimize(lambda x: float(x @ x), [0.5], options={"eps": 0.0})


@pytest.mark.parametrize("fun, exc, words", [
    (lambda x: (np.array([1.0, 2.0]), 2 * x), ValueError, "scalar"),
    (lambda x: (float(x @ x), np.ones(3)), ValueError, "gradient has shape"),
    (lambda x: (complex(1, 1), 2 * x), TypeError, "complex"),
    (lambda x: (float(x @ x), 2 * x + 1j), TypeError, "complex"),
    (lambda x: float(x @ x), ValueError, r"\(f, g\)"),
])
def test_bad_objective_output(fun, exc, words):
    with pytest.raises(exc, match=words):
        lb.fmin_l_bfgs_b(fun, [0.5, 0.5])


def test_accepted_like_scipy():
    # lists, ints, 0-d x0, numpy scalar / 1-element f, float32 gradient
    x, f, d = lb.fmin_l_bfgs_b(
        lambda x: (np.array([np.sum((x - 1.5) ** 2)]),
                   (2 * (x - 1.5)).astype(np.float32)),
        [0, 1], bounds=[(None, 1.0), (-np.inf, None)])
    assert d["warnflag"] == 0
    np.testing.assert_allclose(x, [1.0, 1.5], atol=1e-5)
    x, f, d = lb.fmin_l_bfgs_b(lambda x: (np.float64(x[0] ** 2), 2 * x),
                               np.array(3.0))
    assert x.shape == (1,) and abs(x[0]) < 1e-5
    # (lower, upper) arrays and a Bounds-like object
    class B:
        lb = np.zeros(3)
        ub = np.array([1.0, np.inf, 0.5])
    x1, _, _ = lb.fmin_l_bfgs_b(quad, np.zeros(3), bounds=B())
    x2, _, _ = lb.fmin_l_bfgs_b(quad, np.zeros(3),
                                bounds=(np.zeros(3), [1.0, np.inf, 0.5]))
    np.testing.assert_allclose(x1, [1.0, 1.5, 0.5], atol=1e-6)
    np.testing.assert_array_equal(x1, x2)


def test_large_bounds_arrays_are_vectorised():
    import sys
    n = 200_000
    lines = [0]

    def tracer(frame, event, arg):  # counts executed Python lines
        if event == "line":
            lines[0] += 1
        return tracer

    sys.settrace(tracer)
    try:
        lower, upper, nbd = lb.bounds.normalize_bounds(
            (np.zeros(n), np.full(n, np.inf)), n)
    finally:
        sys.settrace(None)
    assert lines[0] < 1000  # no Python loop over the n variables
    assert nbd.dtype == np.int32 and (nbd == 1).all()
    pairs = [(0.0, None)] * 5 + [(None, None)] * 5
    lower, upper, nbd = lb.bounds.normalize_bounds(pairs, 10)
    assert list(nbd) == [1] * 5 + [0] * 5


# ------------------------------------------------------- faulty objectives

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


# --------------------------------------------- threads and determinism

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


def test_same_input_same_output_bits():
    x0 = np.linspace(-2, 2, 30)
    a = lb.fmin_l_bfgs_b(rosen, x0, bounds=[(-1.5, 1.5)] * 30)
    b = lb.fmin_l_bfgs_b(rosen, x0, bounds=[(-1.5, 1.5)] * 30)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[2]["grad"], b[2]["grad"])
    assert a[1] == b[1]


def test_status_messages_are_documented():
    for code in (status.CONV_GRAD, status.CONV_F, status.STOP_MAXFUN,
                 status.STOP_MAXITER, status.STOP_CALLBACK,
                 status.ABNORMAL_LINE_SEARCH, status.ABNORMAL_NONFINITE_START,
                 status.ABNORMAL_NONFINITE_SEARCH,
                 status.ABNORMAL_NOT_DESCENT):
        text = status.message(code)
        assert text.split(":")[0] in ("CONVERGENCE", "STOP", "ABNORMAL")
        if text.startswith("ABNORMAL"):  # with a reason, unlike scipy's
            assert len(text) > len("ABNORMAL: ") + 10
    # the texts scipy gives for the same outcomes, word for word
    assert status.message(status.CONV_GRAD) == \
        "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL"
    assert status.message(status.CONV_F) == \
        "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
    assert status.message(status.STOP_MAXFUN) == \
        "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT"
    assert status.message(status.STOP_MAXITER) == \
        "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"
    # scipy's warnflag: 0 converged, 1 limits, 2 anything else
    assert status.warnflag(status.CONV_F, 3, 4, 10, 10) == 0
    assert status.warnflag(status.STOP_MAXITER, 10, 4, 10, 100) == 1
    assert status.warnflag(status.STOP_MAXFUN, 3, 11, 100, 10) == 1
    assert status.warnflag(status.ABNORMAL_LINE_SEARCH, 3, 4, 10, 10) == 2
