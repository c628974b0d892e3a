"""The benchmark problems, in one place: the asv suite (``benchmarks.*``),
the side-by-side bench command (``python -m benchmarks.bench``, run in
asv_benchmarks/) and the tests (tests/conftest.py puts asv_benchmarks/ on
``sys.path``) all import them from here; they are not part of the
installed package.

* chained Rosenbrock with a numpy objective and compiled (``@njit``);
* bounded 5-parameter exponential fits p0 exp(-p1 t) + p2 exp(-p3 t) + p4
  to 40 noisy points, well-posed (``FIT``) and ill-conditioned
  (``FIT_SHORT``), compiled, with numpy, and vectorised over a batch; their
  data (``two_exp_data``, per Dask chunk ``data_block``, a drifting
  sequence ``drifting_fit_data``);
* a large bounded problem (``large_problem``).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit


def rosenbrock_numpy(x):
    """Chained Rosenbrock f and gradient with numpy (a typical user's
    objective)."""
    t = x[1:] - x[:-1] ** 2
    u = 1.0 - x[:-1]
    f = float(100.0 * np.dot(t, t) + np.dot(u, u))
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * t - 2.0 * u
    g[1:] += 200.0 * t
    return f, g


@njit(cache=True)
def rosenbrock_njit(x):
    """Chained Rosenbrock f and gradient, compiled."""
    n = x.shape[0]
    f = 0.0
    g = np.zeros(n)
    for i in range(n - 1):
        t = x[i + 1] - x[i] * x[i]
        u = 1.0 - x[i]
        f += 100.0 * t * t + u * u
        g[i] += -400.0 * x[i] * t - 2.0 * u
        g[i + 1] += 200.0 * t
    return f, g


def rosenbrock_start(n):
    """The classic start (-1.2, 1, -1.2, 1, ...) of size n."""
    x0 = np.full(n, -1.2)
    x0[1::2] = 1.0
    return x0


# Bounded 5-parameter exponential fits p0 exp(-p1 t) + p2 exp(-p3 t) + p4 to
# 40 noisy points.  The benchmark's fits observe both decays (t in [0, 10],
# fast rate 2..4, slow rate 0.2..0.5): a well-posed fit with one minimum.
# ``FIT_SHORT`` is the same model seen over t in [0, 4] only, where the slow
# decay is nearly collinear with the offset: an ill-conditioned fit whose
# flat valley both solvers leave at slightly different points (their final
# f differ by up to ~1e-5 relative either way: the factr test stops both).
FitProblem = namedtuple("FitProblem", "t true_low true_high x0")
FIT = FitProblem(np.linspace(0.0, 10.0, 40),
                 np.array([1.0, 2.0, 0.5, 0.2, -0.1]),
                 np.array([2.0, 4.0, 1.0, 0.5, 0.1]),
                 np.array([1.5, 3.0, 0.75, 0.35, 0.0]))
FIT_SHORT = FitProblem(np.linspace(0.0, 4.0, 40),
                       np.array([1.0, 1.5, 0.3, 0.1, -0.1]),
                       np.array([2.0, 3.0, 1.0, 0.4, 0.1]),
                       np.array([1.5, 2.0, 0.5, 0.2, 0.0]))
FIT_T, FIT_X0 = FIT.t, FIT.x0
FIT_LOWER = np.array([0.0, 0.0, 0.0, 0.0, -1.0])
FIT_UPPER = np.array([10.0, 10.0, 10.0, 10.0, 1.0])


@njit(cache=True)
def two_exp_njit(p, t, y):
    """Least squares of p0 exp(-p1 t) + p2 exp(-p3 t) + p4 - y, compiled."""
    f = 0.0
    g = np.zeros(5)
    for i in range(t.shape[0]):
        e1 = np.exp(-p[1] * t[i])
        e3 = np.exp(-p[3] * t[i])
        r = p[0] * e1 + p[2] * e3 + p[4] - y[i]
        f += r * r
        g[0] += 2.0 * r * e1
        g[1] -= 2.0 * r * p[0] * t[i] * e1
        g[2] += 2.0 * r * e3
        g[3] -= 2.0 * r * p[2] * t[i] * e3
        g[4] += 2.0 * r
    return f, g


def two_exp_numpy(p, t, y):
    """The same least squares with numpy."""
    e1 = np.exp(-p[1] * t)
    e3 = np.exp(-p[3] * t)
    r = p[0] * e1 + p[2] * e3 + p[4] - y
    g = 2.0 * np.array([r @ e1, -p[0] * (r @ (t * e1)), r @ e3,
                        -p[2] * (r @ (t * e3)), r.sum()])
    return float(r @ r), g


def two_exp_numpy_rows(P, t, Y):
    """The same least squares for a batch of fits, vectorised with numpy:
    P (a, 5) parameters, t (m,) shared sample times, Y (a, m) data; returns
    F (a,) and G (a, 5).  Elementwise operations and row sums only, so row
    i's result does not depend on the other rows."""
    e1 = np.exp(-P[:, 1:2] * t)
    e3 = np.exp(-P[:, 3:4] * t)
    r = P[:, 0:1] * e1 + P[:, 2:3] * e3 + P[:, 4:5] - Y
    re1 = r * e1
    re3 = r * e3
    G = np.empty_like(P)
    G[:, 0] = np.sum(re1, axis=1)
    G[:, 1] = -P[:, 0] * np.sum(re1 * t, axis=1)
    G[:, 2] = np.sum(re3, axis=1)
    G[:, 3] = -P[:, 2] * np.sum(re3 * t, axis=1)
    G[:, 4] = np.sum(r, axis=1)
    G *= 2.0
    return np.sum(r * r, axis=1), G


@njit(cache=True)
def evaluate_fits(x, t, y, counts):
    """Objective-only cost of a batch solve: ``counts[i]`` evaluations of
    ``two_exp_njit`` for fit i (at x[i]); returns the sum of f."""
    total = 0.0
    for i in range(x.shape[0]):
        for _ in range(counts[i]):
            total += two_exp_njit(x[i], t[i], y[i])[0]
    return total


def two_exp_data(k, seed=0, problem=FIT):
    """k noisy curves (k, 40) of ``problem`` around random true
    parameters."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(problem.true_low, problem.true_high, (k, 5))
    t = problem.t
    return (p[:, :1] * np.exp(-p[:, 1:2] * t)
            + p[:, 2:3] * np.exp(-p[:, 3:4] * t) + p[:, 4:5]
            + rng.normal(0.0, 0.005, (k, t.size)))


def large_problem(n):
    """A bounded problem of size n with a numpy objective; about a third of
    the variables end at a bound.  Returns (fg, x0, lower, upper)."""
    target = 2.0 * np.sin(np.arange(n) * 0.37)
    weight = 1.0 + 4.0 * (np.arange(n) % 7) / 7.0

    def fg(x):
        d = x - target
        t = x[1:] - x[:-1]
        f = float(np.dot(weight * d, d) + 2.0 * np.dot(t, t)
                  + np.sum(np.cos(x)))
        g = 2.0 * weight * d - np.sin(x)
        g[1:] += 4.0 * t
        g[:-1] -= 4.0 * t
        return f, g
    return fg, np.zeros(n), np.full(n, -0.5), np.full(n, 0.8)


def drifting_fit_data(count=40, seed=1, drift=0.01, problem=FIT):
    """``count`` data sets of ``problem``'s model whose true parameters
    drift by about ``drift`` (relative) from one to the next, with the
    same noise: a sequence of related least-squares fits."""
    rng = np.random.default_rng(seed)
    p = problem.x0.copy()
    noise = rng.normal(0.0, 0.005, problem.t.size)
    t = problem.t
    data = []
    for _ in range(count):
        p = p * (1.0 + rng.normal(0.0, drift, 5))
        p[4] += rng.normal(0.0, drift / 5)
        data.append(p[0] * np.exp(-p[1] * t) + p[2] * np.exp(-p[3] * t)
                    + p[4] + noise)
    return data


def data_block(block_info=None, seed=0):
    """One chunk of the fits' data (rows, 40), seeded by the chunk's
    position: the same numbers wherever it is generated."""
    (start, stop), _ = block_info[None]["array-location"]
    return two_exp_data(stop - start, seed=seed + start)


def data_in_process(k, chunk, seed=0):
    """The cluster's data (``data_block`` chunk by chunk) as one numpy
    array."""
    return np.concatenate([two_exp_data(min(chunk, k - s), seed=seed + s)
                           for s in range(0, k, chunk)])



def importable_on_workers(client):
    """Put the directory that holds the ``benchmarks`` package on the
    ``sys.path`` of every worker of a ``distributed`` client, so that the
    workers import the objectives here by name (and load their Numba
    cache) when they unpickle a task."""
    import os
    import site
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    client.run(site.addsitedir, root)
