"""Calling the solver from inside your own @njit code.

`njit_minimize` is an ordinary Numba function: call it in a compiled loop,
e.g. a multi-start search over random starting points in parallel with
`prange`, and post-process the results without returning to Python.

Run: python examples/solve_inside_njit.py
"""
import time

import numpy as np
from numba import njit, prange

from lbfgsb_numba import njit_minimize
from lbfgsb_numba.status import message


@njit(cache=True)
def styblinski_tang(x):
    """f = sum(x^4 - 16 x^2 + 5 x) / 2: many local minima, global at
    x_i = -2.9035; returns (f, g)."""
    f = 0.0
    g = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        f += 0.5 * (x[i] ** 4 - 16.0 * x[i] ** 2 + 5.0 * x[i])
        g[i] = 0.5 * (4.0 * x[i] ** 3 - 32.0 * x[i] + 5.0)
    return f, g


# (In a script these two are not cached: Numba cannot cache a function that
# passes a function defined in __main__ as a value.  In an importable module
# they can be @njit(cache=True).)
@njit
def local_solve(x0, lower, upper):
    """One bounded local solve, from inside compiled code."""
    res = njit_minimize(styblinski_tang, x0, lower, upper, (), 10, 1e7, 1e-8)
    return res.x, res.fun, res.task


@njit(parallel=True)
def multistart(starts, lower, upper):
    """Solve from every start in parallel; return the best point found."""
    k = starts.shape[0]
    fvals = np.empty(k)
    xs = np.empty_like(starts)
    tasks = np.empty(k, dtype=np.int64)
    for i in prange(k):
        xs[i], fvals[i], tasks[i] = local_solve(starts[i], lower, upper)
    best = np.argmin(fvals)
    return xs[best], fvals[best], tasks[best], fvals


def main():
    n, k = 8, 4000
    lower = np.full(n, -5.0)
    upper = np.full(n, 5.0)
    starts = np.random.default_rng(1).uniform(-5, 5, (k, n))
    multistart(starts[:2], lower, upper)  # compile
    t0 = time.perf_counter()
    x, f, task, fvals = multistart(starts, lower, upper)
    dt = time.perf_counter() - t0
    print(f"{k} local solves of an {n}-d problem in {dt * 1e3:.1f} ms "
          f"({dt / k * 1e6:.1f} us each) inside one @njit(parallel=True) call")
    print(f"best f = {f:.6f} (global minimum {-39.16617 * n:.5f}) at\n"
          f"x = {np.round(x, 5)}\n{message(task)}")


if __name__ == "__main__":
    main()
