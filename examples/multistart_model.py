"""The model and solver calls of ``solve_inside_njit.py``, in a module of
their own so that Numba can cache them.

Every function here is ``@njit(cache=True)``: the first run compiles them
(the solver's loop is compiled into ``local_solve``) and writes the result
to ``__pycache__``; later runs load it in a fraction of a second.  (Numba
does not cache a function defined in a script that is run as ``__main__``
and passed as a value, so a script that defines ``styblinski_tang`` itself
recompiles everything on every run.)  Copy this layout: objective and
solver calls in an importable module, the script imports them.
"""
import numpy as np
from numba import njit, prange

from lbfgsb_numba import njit_minimize


@njit(cache=True)
def styblinski_tang(x):
    """f = sum(x^4 - 16 x^2 + 5 x) / 2 and its gradient (n,): many local
    minima, the global one at x_i = -2.903534."""
    f = 0.0
    g = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        f += 0.5 * (x[i] ** 4 - 16.0 * x[i] ** 2 + 5.0 * x[i])
        g[i] = 0.5 * (4.0 * x[i] ** 3 - 32.0 * x[i] + 5.0)
    return f, g


@njit(cache=True)
def local_solve(x0, lower, upper):
    """One bounded local solve from x0 (n,), from inside compiled code;
    returns (x, f, task code)."""
    res = njit_minimize(styblinski_tang, x0, lower, upper, (), 10, 1e7, 1e-8)
    return res.x, res.fun, res.task


@njit(cache=True, parallel=True)
def multistart(starts, lower, upper):
    """Solve from every row of ``starts`` (k, n) in parallel; returns the
    best point, its f and task code, and every local minimum's f (k,)."""
    k = starts.shape[0]
    fvals = np.empty(k)
    xs = np.empty_like(starts)
    tasks = np.empty(k, dtype=np.int64)
    for i in prange(k):
        xs[i], fvals[i], tasks[i] = local_solve(starts[i], lower, upper)
    best = np.argmin(fvals)
    return xs[best], fvals[best], tasks[best], fvals
