"""Demo solve (the README's quick start): the regression example of
scipy's fmin_l_bfgs_b page, without and with bounds, on the Python path and
on the compiled path, and a batch of bounded fits.

Every solve is timed the same way: its first call in this process (which
includes compiling, or loading from Numba's cache, whatever that call is the
first to need; a line says so before each long wait) and then warm calls
(the best of repeated calls, ``timing.compare``).

Run: ``lbfgsb-numba-demo`` (installed with the package) or
``python -m lbfgsb_numba.demo``.
"""
from __future__ import annotations

import time

import numpy as np
from numba import njit

from . import fmin_l_bfgs_b
from .timing import compare
from .driver import setup_at, step_at
from .first_use import FIRST_COMPILE_SECONDS, is_cached

X = np.arange(0, 10, 1.0)
Y = 2.0 * X + 3.0
X0 = np.array([0.0, 1.0])
BOUNDS = [(0, 5), (5, 10)]
INDENT = " " * 13


def regression_error(parameters, *args):
    """Sum of squared residuals of y = m x + b (f only)."""
    x, y = args
    m, b = parameters
    return float(np.sum((y - (m * x + b)) ** 2))


@njit(cache=True)
def regression_fg(parameters, x, y):
    """Same objective with its gradient, compiled."""
    m, b = parameters[0], parameters[1]
    f = 0.0
    g = np.zeros(2)
    for i in range(x.shape[0]):
        r = y[i] - (m * x[i] + b)
        f += r * r
        g[0] -= 2.0 * r * x[i]
        g[1] -= 2.0 * r
    return f, g


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds >= 1.0 else f"{seconds * 1e3:.3g} ms"


def first_and_warm(call, warm_seconds: float = 0.3):
    """(result of the first call, seconds of the first call, seconds per
    warm call: the best of repeated calls)."""
    t0 = time.perf_counter()
    result = call()
    first = time.perf_counter() - t0
    warm = compare([call], total=warm_seconds, blocks=3, pause=0.0)[0]
    return result, first, warm


def _say(text: str) -> None:
    print(text, flush=True)


def _solve_rows(objective, **options) -> None:
    """The unbounded and the bounded solve, one row each."""
    for label, bounds in (("no bounds", None), ("bounds", BOUNDS)):
        (x, f, d), first, warm = first_and_warm(
            lambda: fmin_l_bfgs_b(objective, X0, args=(X, Y), bounds=bounds,
                                  **options))
        _say(f"  {label:<10} x = [{x[0]:.8f}, {x[1]:.8f}]  f = {f:.6g}  "
             f"nit = {d['nit']:2d}  nfev = {d['funcalls']:2d}\n"
             f"{INDENT}{d['task']}\n"
             f"{INDENT}first call {_duration(first)}, warm {_duration(warm)}")


def _batch(k: int = 1000) -> None:
    from .batch import minimize_batch
    rng = np.random.default_rng(0)
    slopes = rng.uniform(0.5, 4.0, k)
    ys = slopes[:, None] * X[None, :] + 3.0 + rng.normal(0, 0.1, (k, X.size))
    xs = np.broadcast_to(X, (k, X.size))
    res, first, warm = first_and_warm(
        lambda: minimize_batch(regression_fg, np.tile(X0, (k, 1)),
                               args=(xs, ys), bounds=([0.0, 0.0], [5.0, 10.0])),
        warm_seconds=1.0)
    err = np.abs(res.x[:, 0] - slopes).max()
    _say(f"  {k} fits: first call {_duration(first)}, warm "
         f"{_duration(warm)} ({warm / k * 1e6:.1f} us per fit); all "
         f"converged: {bool(res.success.all())}, max |slope error| = "
         f"{err:.3f}")


def main() -> None:
    cold = not (is_cached(setup_at) and is_cached(step_at))
    _say("lbfgsb_numba demo: fit y = m x + b to y = 2 x + 3 "
         "(scipy's fmin_l_bfgs_b example)\n"
         "Times: 'first call' includes compiling (or loading the kernels "
         "compiled at install\nor from Numba's cache) what that call is the "
         "first to need; 'warm' is the best\nof repeated calls.\n")
    _say("Python objective, approx_grad=True:")
    # with an empty cache the package itself says that it compiles (stderr)
    _solve_rows(regression_error, approx_grad=True)

    _say("\ncompiled objective (@njit, returns f and g):")
    _say(("  compiling the compiled path's kernels (first use only, "
          f"~{FIRST_COMPILE_SECONDS // 4} s), " if cold else "  compiling ")
         + "the objective and its solve loop (each new process, ~1 s)...")
    _solve_rows(regression_fg)

    _say("\nminimize_batch (compiled objective, bounds, in parallel):")
    _say("  compiling the batch loop for this objective (each new process, "
         "~1 s)...")
    _batch()


if __name__ == "__main__":
    main()
