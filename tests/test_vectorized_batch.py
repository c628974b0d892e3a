"""minimize_batch(vectorized=True): one Python call per round on the active
rows; every problem equals ``minimize`` on it alone, bit for bit."""
import sys

import numpy as np
import pytest

import lbfgsb_numba as lb
from lbfgsb_numba import progress as progress_module
from lbfgsb_numba import status
from benchmarks.problems import FIT, FIT_LOWER, FIT_UPPER, two_exp_data


def two_exp_rows(P, t, Y):
    """Least squares of p0 exp(-p1 t) + p2 exp(-p3 t) + p4 - y for every row
    of P (a, 5), with t (a, m) and Y (a, m): F (a,), G (a, 5).  Only
    elementwise operations and row sums, so that row i's bits do not depend
    on the other rows."""
    e1 = np.exp(-P[:, 1:2] * t)
    e3 = np.exp(-P[:, 3:4] * t)
    r = P[:, 0:1] * e1 + P[:, 2:3] * e3 + P[:, 4:5] - Y
    G = np.empty_like(P)
    G[:, 0] = 2.0 * np.sum(r * e1, axis=1)
    G[:, 1] = -2.0 * P[:, 0] * np.sum(r * t * e1, axis=1)
    G[:, 2] = 2.0 * np.sum(r * e3, axis=1)
    G[:, 3] = -2.0 * P[:, 2] * np.sum(r * t * e3, axis=1)
    G[:, 4] = 2.0 * np.sum(r, axis=1)
    return np.sum(r * r, axis=1), G


def one_row(fun, args, i):
    """Problem i alone, through the vectorised objective on one row."""
    rows = tuple(a[i:i + 1] for a in args)

    def fg(x):
        F, G = fun(x[None, :], *rows)
        return float(F[0]), G[0]
    return fg


def assert_rows_equal_minimize(res, fun, x0, args, bounds, **options):
    for i in range(x0.shape[0]):
        ref = lb.minimize(one_row(fun, args, i), x0[i], jac=True,
                          bounds=bounds, options=options)
        np.testing.assert_array_equal(res.x[i], ref.x)
        assert res.fun[i] == ref.fun or np.isnan(ref.fun)
        assert (res.nit[i], res.nfev[i], res.message[i], res.status[i]) == (
            ref.nit, ref.nfev, ref.message, ref.status), i


def test_exponential_fits_equal_minimize_per_fit():
    k = 40
    y = two_exp_data(k, seed=5)
    t = np.broadcast_to(FIT.t, y.shape)
    x0 = np.broadcast_to(FIT.x0, (k, 5))
    bounds = (FIT_LOWER, FIT_UPPER)
    calls = []

    def fun(P, t, Y):
        calls.append(P.shape[0])
        return two_exp_rows(P, t, Y)

    res = lb.minimize_batch(fun, x0, args=(t, y), bounds=bounds,
                            vectorized=True)
    assert res.success.all()
    # one call per round, with fewer rows as the fits finish
    assert calls[0] == k and calls[-1] < k
    assert calls == sorted(calls, reverse=True)
    assert len(calls) == res.nfev.max()
    assert sum(calls) == res.nfev.sum()
    assert_rows_equal_minimize(res, two_exp_rows, np.asarray(x0), (t, y),
                               list(zip(FIT_LOWER, FIT_UPPER)))


def test_bench_objective_matches_the_per_fit_one():
    """The bench's vectorised objective computes what the per-fit numpy
    objective that scipy's loop uses computes (to rounding)."""
    from benchmarks.problems import two_exp_numpy, two_exp_numpy_rows
    rng = np.random.default_rng(11)
    P = rng.uniform(FIT_LOWER + 0.1, FIT_UPPER / 3, (7, 5))
    Y = two_exp_data(7, seed=12)
    F, G = two_exp_numpy_rows(P, FIT.t, Y)
    for i in range(7):
        f, g = two_exp_numpy(P[i], FIT.t, Y[i])
        assert F[i] == pytest.approx(f, rel=1e-12)
        np.testing.assert_allclose(G[i], g, rtol=1e-10, atol=1e-12)


def test_args_are_sliced_to_the_active_rows_and_indices_passed():
    k, n = 6, 3
    c = np.arange(k * n, dtype=float).reshape(k, n) / 7.0
    scale = np.linspace(1.0, 3.0, k)

    def fun(X, c_rows, scale_rows, indices):
        np.testing.assert_array_equal(c_rows, c[indices])
        np.testing.assert_array_equal(scale_rows, scale[indices])
        assert indices.dtype == np.int64 and (np.diff(indices) > 0).all()
        D = X - c_rows
        F = 0.5 * scale_rows * np.sum(D * D, axis=1)
        return F, scale_rows[:, None] * D

    res = lb.minimize_batch(fun, np.zeros((k, n)), args=[c, scale],
                            bounds=(0.0, 1.0), vectorized=True,
                            pass_indices=True)
    np.testing.assert_allclose(res.x, np.clip(c, 0.0, 1.0), atol=1e-6)
    assert res.success.all()


def nan_or_slow(X, kind):
    """kind 0: NaN at the start; kind 1: NaN beyond x0 > 0.3; kind 2: a
    slow, ill-conditioned quadratic; kind 3: an easy one."""
    n = X.shape[1]
    w = np.where(kind[:, None] == 2, np.logspace(0, 3, n), 1.0)
    D = X - 1.0
    F = 0.5 * np.sum(w * D * D, axis=1)
    G = w * D
    F = np.where(kind == 0, np.nan, F)
    G = np.where(((kind == 1) & (X[:, 0] > 0.3))[:, None], np.nan, G)
    return F, G


def test_nan_rows_and_rows_finishing_at_different_rounds():
    kind = np.array([3, 0, 2, 1, 3, 2, 0, 1])
    x0 = np.tile(np.array([0.0, -1.0, 2.0, 0.5]), (kind.size, 1))
    res = lb.minimize_batch(nan_or_slow, x0, args=(kind,), vectorized=True)
    assert (res.task[kind == 0] == status.ABNORMAL_NONFINITE_START).all()
    assert (res.x[kind == 1, 0] <= 0.3).all()
    assert res.success[kind >= 2].all()
    assert res.nfev[kind == 2].min() > res.nfev[kind == 3].max()
    assert_rows_equal_minimize(res, nan_or_slow, x0, (kind,), None)


class RecordingBar:
    """``progress.progress_bar``'s bar, recording the count after each
    update."""

    def __init__(self, total, desc):
        self.total, self.desc, self.done = total, desc, 0
        self.counts, self.closed = [], False

    def update(self, count):
        self.done += count
        self.counts.append(self.done)

    def close(self):
        self.closed = True


@pytest.fixture
def recorded_bars(monkeypatch):
    bars = []

    def make(total, desc):
        bars.append(RecordingBar(total, desc))
        return bars[-1]
    monkeypatch.setattr(progress_module, "progress_bar", make)
    return bars


def test_progress_counts_the_problems_finished_each_round(recorded_bars):
    kind = np.array([3, 0, 2, 1, 3, 2, 0, 1, 2])
    x0 = np.tile(np.array([0.0, -1.0, 2.0, 0.5]), (kind.size, 1))
    plain = lb.minimize_batch(nan_or_slow, x0, args=(kind,), vectorized=True)
    active = []

    def fun(X, kind_rows):
        active.append(X.shape[0])
        return nan_or_slow(X, kind_rows)
    shown = lb.minimize_batch(fun, x0, args=(kind,), vectorized=True,
                              progress=True)
    for name in ("x", "fun", "jac", "nit", "nfev", "status", "task"):
        np.testing.assert_array_equal(shown[name], plain[name])
    assert shown.message == plain.message
    (bar,) = recorded_bars
    assert (bar.total, bar.desc, bar.closed) == (9, "minimize_batch", True)
    # after each round in which problems finished: the number finished
    finished_after_round = [kind.size - a for a in active[1:]] + [kind.size]
    assert bar.counts == sorted(set(finished_after_round) - {0})
    assert bar.counts[-1] == 9 and len(bar.counts) >= 3


def test_progress_bar_closed_when_the_objective_raises(recorded_bars):
    def fun(X):
        raise ObjectiveFailed("no")
    with pytest.raises(ObjectiveFailed):
        lb.minimize_batch(fun, np.zeros((3, 2)), vectorized=True,
                          progress=True)
    (bar,) = recorded_bars
    assert bar.closed and bar.counts == []


def test_progress_shown_by_tqdm_or_a_plain_line(monkeypatch, capsys):
    pytest.importorskip("tqdm")
    kind = np.array([3, 2, 1, 3])
    x0 = np.zeros((4, 3))
    lb.minimize_batch(nan_or_slow, x0, args=(kind,), vectorized=True,
                      progress=True)
    err = capsys.readouterr().err
    assert "4/4" in err and "100%|" in err and "fit" in err
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    lb.minimize_batch(nan_or_slow, x0, args=(kind,), vectorized=True,
                      progress=True)
    err = capsys.readouterr().err
    assert "minimize_batch: 4/4 (100%)" in err and err.endswith("\n")


def test_options_are_passed_on():
    y = two_exp_data(5, seed=6)
    t = np.broadcast_to(FIT.t, y.shape)
    x0 = np.broadcast_to(FIT.x0, (5, 5))
    res = lb.minimize_batch(two_exp_rows, x0, args=(t, y), vectorized=True,
                            maxiter=4, maxcor=3, maxls=5)
    assert (res.nit == 4).all() and (res.status == 1).all()
    assert_rows_equal_minimize(res, two_exp_rows, np.asarray(x0), (t, y),
                               None, maxiter=4, maxcor=3, maxls=5)


class ObjectiveFailed(Exception):
    pass


def test_exception_propagates_with_the_state_so_far():
    calls = [0]

    def fun(X):
        calls[0] += 1
        if calls[0] == 4:
            raise ObjectiveFailed("no")
        w = np.array([1.0, 100.0])
        return 0.5 * np.sum(w * (X - 2.0) ** 2, axis=1), w * (X - 2.0)

    with pytest.raises(ObjectiveFailed) as info:
        lb.minimize_batch(fun, np.zeros((3, 2)), vectorized=True)
    partial = info.value.lbfgsb_result
    assert partial.x.shape == (3, 2) and (partial.nfev == 3).all()
    assert np.isfinite(partial.fun).all() and (partial.fun < 202.0).all()
    assert (partial.nit >= 1).all()


def test_bad_input():
    with pytest.raises(TypeError, match="callable"):
        lb.minimize_batch(3, np.zeros((2, 2)), vectorized=True)
    with pytest.raises(ValueError, match=r"args\[0\]"):
        lb.minimize_batch(nan_or_slow, np.zeros((2, 2)),
                          args=(np.zeros(3),), vectorized=True)
    with pytest.raises(ValueError, match="vectorized"):
        lb.minimize_batch(nan_or_slow, np.zeros((2, 2)), pass_indices=True)
    with pytest.raises(TypeError, match="vectorized=True"):
        lb.minimize_batch(nan_or_slow, np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"G has shape"):
        lb.minimize_batch(lambda X: (X[:, 0], X[:, :1]), np.zeros((2, 2)),
                          vectorized=True)
    with pytest.raises(ValueError, match=r"return \(f, g\)"):
        lb.minimize_batch(lambda X: X[:, 0], np.zeros((3, 2)),
                          vectorized=True)
