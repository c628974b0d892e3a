"""Objective and data for the Dask tests, in an importable module: Dask
workers (other processes) import the objective by name and load Numba's
on-disk cache for it instead of compiling a pickled copy."""
import numpy as np
from numba import njit

from benchmarks.problems import FIT, FIT_LOWER as LOWER, FIT_UPPER as UPPER
from benchmarks.problems import two_exp_data, two_exp_njit

T, X0 = FIT.t, FIT.x0


@njit(cache=True, nogil=True)
def two_exp_fg(p, t, y, repeats):
    """Least squares of p0 exp(-p1 t) + p2 exp(-p3 t) + p4 - y and its
    gradient (5,) (``bench.two_exp_njit``), computed afresh ``repeats``
    times: a slow objective whose answers do not depend on ``repeats``."""
    f, g = two_exp_njit(p, t, y)
    for _ in range(repeats - 1):
        f, g = two_exp_njit(p, t, y)
    return f, g


def make_local_objective():
    """The same objective as a new dispatcher that cannot be imported by
    name (like one defined in ``__main__`` or a closure)."""
    return njit(nogil=True)(two_exp_fg.py_func)


def problem(k, seed=0, nan_rows=()):
    """(x0 (k, 5) starts varied around X0, y (k, 40)) for k noisy
    two-exponential curves; ``nan_rows`` get NaN data."""
    y = two_exp_data(k, seed=seed)
    y[list(nan_rows)] = np.nan
    rng = np.random.default_rng(seed + 1)
    return X0 * rng.uniform(0.8, 1.2, (k, 5)), y


def args_for(y, repeats=1):
    """(t, y, repeats) with t and repeats shared by broadcasting."""
    k = y.shape[0]
    return (np.broadcast_to(T, (k, T.size)), y,
            np.broadcast_to(np.int64(repeats), (k,)))
