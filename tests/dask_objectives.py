"""Objective and data for the Dask tests, in an importable module: Dask
workers (other processes) import the objective by name and load Numba's
on-disk cache for it instead of compiling a pickled copy."""
import numpy as np
from numba import njit

T = np.linspace(0.0, 10.0, 40)
X0 = np.array([1.5, 3.0, 0.75, 0.35, 0.0])
LOWER = np.array([0.0, 0.0, 0.0, 0.0, -1.0])
UPPER = np.array([10.0, 10.0, 10.0, 10.0, 1.0])


@njit(cache=True, nogil=True)
def two_exp_fg(p, t, y, repeats):
    """Least squares of p0 exp(-p1 t) + p2 exp(-p3 t) + p4 - y and its
    gradient (5,), computed afresh ``repeats`` times (the same bits each
    time: a slow objective whose answers do not depend on ``repeats``)."""
    f = 0.0
    g = np.zeros(5)
    for _ in range(repeats):
        f = 0.0
        g[:] = 0.0
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


def make_local_objective():
    """The same objective as a new dispatcher that cannot be imported by
    name (like one defined in ``__main__`` or a closure)."""
    return njit(nogil=True)(two_exp_fg.py_func)


def problem(k, seed=0, nan_rows=()):
    """(x0 (k, 5) varied starts, args (t shared, y (k, 40), repeats shared))
    for k noisy two-exponential curves; ``nan_rows`` get NaN data."""
    rng = np.random.default_rng(seed)
    p = rng.uniform([1.0, 2.0, 0.5, 0.2, -0.1], [2.0, 4.0, 1.0, 0.5, 0.1],
                    (k, 5))
    y = (p[:, :1] * np.exp(-p[:, 1:2] * T) + p[:, 2:3] * np.exp(-p[:, 3:4] * T)
         + p[:, 4:5] + rng.normal(0.0, 0.005, (k, T.size)))
    y[list(nan_rows)] = np.nan
    x0 = X0 * rng.uniform(0.8, 1.2, (k, 5))
    return x0, y


def args_for(y, repeats=1):
    """(t, y, repeats) with t and repeats shared by broadcasting."""
    k = y.shape[0]
    return (np.broadcast_to(T, (k, T.size)), y,
            np.broadcast_to(np.int64(repeats), (k,)))
