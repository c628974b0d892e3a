"""Demo solve (the README's quick start): the regression example of
scipy's fmin_l_bfgs_b page, without and with bounds, on the Python path and
on the compiled path, and a batch of bounded fits.

Run: ``python -m lbfgsb_numba.demo``
"""
from __future__ import annotations

import time

import numpy as np
from numba import njit

from . import fmin_l_bfgs_b, minimize_batch

X = np.arange(0, 10, 1.0)
Y = 2.0 * X + 3.0


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


def _show(label, x, f, d, seconds):
    print(f"{label:<42} x = [{x[0]:.8f}, {x[1]:.8f}]  f = {f:.6g}  "
          f"nit = {d['nit']:2d}  nfev = {d['funcalls']:2d}  "
          f"({seconds * 1e3:.2f} ms)\n{'':<42} {d['task']}")


def main() -> None:
    x0 = np.array([0.0, 1.0])
    bounds = [(0, 5), (5, 10)]
    print("lbfgsb_numba demo: fit y = m x + b to y = 2 x + 3 "
          "(scipy's fmin_l_bfgs_b example)\n")
    for label, kw in [("Python objective, approx_grad, no bounds", {}),
                      ("Python objective, approx_grad, bounds", {"bounds": bounds})]:
        t0 = time.perf_counter()
        x, f, d = fmin_l_bfgs_b(regression_error, x0, args=(X, Y),
                                approx_grad=True, **kw)
        _show(label, x, f, d, time.perf_counter() - t0)
    for label, kw in [("compiled objective (@njit), no bounds", {}),
                      ("compiled objective (@njit), bounds", {"bounds": bounds})]:
        fmin_l_bfgs_b(regression_fg, x0, args=(X, Y), **kw)  # compile
        t0 = time.perf_counter()
        x, f, d = fmin_l_bfgs_b(regression_fg, x0, args=(X, Y), **kw)
        _show(label, x, f, d, time.perf_counter() - t0)

    k = 1000
    rng = np.random.default_rng(0)
    slopes = rng.uniform(0.5, 4.0, k)
    ys = slopes[:, None] * X[None, :] + 3.0 + rng.normal(0, 0.1, (k, X.size))
    xs = np.broadcast_to(X, (k, X.size))
    minimize_batch(regression_fg, np.zeros((2, 2)), args=(xs[:2], ys[:2]),
                   bounds=([0.0, 0.0], [5.0, 10.0]))  # compile
    t0 = time.perf_counter()
    res = minimize_batch(regression_fg, np.tile(x0, (k, 1)), args=(xs, ys),
                         bounds=([0.0, 0.0], [5.0, 10.0]))
    dt = time.perf_counter() - t0
    err = np.abs(res.x[:, 0] - slopes).max()
    print(f"\nminimize_batch: {k} bounded fits in {dt * 1e3:.1f} ms "
          f"({dt / k * 1e6:.1f} us per fit), all converged: "
          f"{bool(res.success.all())}, max |slope error| = {err:.3f}")


if __name__ == "__main__":
    main()
