"""Calling the solver from inside your own @njit code.

`njit_minimize` is an ordinary Numba function: call it in a compiled loop,
e.g. a multi-start search over random starting points in parallel with
`prange`, and post-process the results without returning to Python.

The objective and the functions that call the solver live in
``multistart_model.py``, an importable module with ``@njit(cache=True)``:
the first run compiles them (tens of seconds: the solver's loop is compiled
into your function), later runs load them from Numba's cache.  The compile
time is printed apart from the solve time.

Run: python examples/solve_inside_njit.py
"""
import time

import numpy as np

from lbfgsb_numba.timing import compare
from lbfgsb_numba.first_use import is_cached
from lbfgsb_numba.status import message
from multistart_model import multistart


def main():
    n, k = 8, 4000
    lower = np.full(n, -5.0)
    upper = np.full(n, 5.0)
    starts = np.random.default_rng(1).uniform(-5, 5, (k, n))
    if is_cached(multistart):
        print("loading multistart_model's functions from Numba's cache...",
              flush=True)
    else:
        print("compiling multistart_model's functions (first run only, "
              "~5 s; later runs load them from Numba's cache)...",
              flush=True)
    t0 = time.perf_counter()
    multistart(starts[:2], lower, upper)
    print(f"first call (compile or cache load, 2 starts): "
          f"{time.perf_counter() - t0:.2f} s")
    if not is_cached(multistart):
        print("(Numba could not cache them, see its warning: every run "
              "compiles them again)")
    x, f, task, fvals = multistart(starts, lower, upper)
    per_call = compare([lambda: multistart(starts, lower, upper)],
                       total=1.0, blocks=3)[0]
    print(f"{k} local solves of an {n}-d problem in {per_call * 1e3:.1f} ms "
          f"({per_call / k * 1e6:.1f} us each, warm) inside one "
          f"@njit(parallel=True) call")
    print(f"best f = {f:.6f} (global minimum {-39.16617 * n:.5f}) at\n"
          f"x = {np.round(x, 5)}\n{message(task)}")


if __name__ == "__main__":
    main()
