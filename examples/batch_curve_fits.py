"""Thousands of small bounded curve fits in one minimize_batch call.

Each problem fits a logistic growth curve with an offset,
y(t) = a0 / (1 + exp(-a1 (t - a2))) + a3, to 40 noisy points, with all four
parameters bounded.  The 2000 fits run in parallel over
the cores in compiled code.  A Python loop of scipy's fmin_l_bfgs_b on a
subset (if scipy is installed) is timed against it the way
the bench command (asv_benchmarks/) times its batch (``timing.compare``: blocks
alternating between the two, with a pause after each, best time per call),
after a first call that includes compiling the batch loop.  A few fits are
plotted to batch_curve_fits.png (if matplotlib is installed).

Run: python examples/batch_curve_fits.py [k]
"""
import sys
import time

import numpy as np
from numba import njit

from lbfgsb_numba import minimize_batch
from lbfgsb_numba.timing import compare

T = np.linspace(0.0, 10.0, 40)
LOWER = np.array([0.1, 0.05, 0.0, -1.0])
UPPER = np.array([10.0, 5.0, 10.0, 1.0])
X0 = np.array([1.0, 1.0, 5.0, 0.0])


@njit(cache=True)
def logistic_fg(a, t, y):
    """Sum of squared residuals of the logistic model and its gradient (4,)."""
    f = 0.0
    g = np.zeros(4)
    for i in range(t.shape[0]):
        e = np.exp(-a[1] * (t[i] - a[2]))
        s = 1.0 / (1.0 + e)
        r = a[0] * s + a[3] - y[i]
        ds = s * s * e              # d s / d(a1 (t - a2))
        f += r * r
        g[0] += 2.0 * r * s
        g[1] += 2.0 * r * a[0] * ds * (t[i] - a[2])
        g[2] -= 2.0 * r * a[0] * ds * a[1]
        g[3] += 2.0 * r
    return f, g


def logistic_numpy(a, t, y):
    """The same objective with numpy, for the scipy loop."""
    e = np.exp(-a[1] * (t - a[2]))
    s = 1.0 / (1.0 + e)
    r = a[0] * s + a[3] - y
    ds = s * s * e
    g = 2.0 * np.array([r @ s, a[0] * (r @ (ds * (t - a[2]))),
                        -a[0] * a[1] * (r @ ds), r.sum()])
    return float(r @ r), g


def make_data(k, seed=0):
    rng = np.random.default_rng(seed)
    p = np.column_stack([rng.uniform(2, 6, k), rng.uniform(0.5, 2.0, k),
                         rng.uniform(3, 7, k), rng.uniform(-0.3, 0.3, k)])
    y = (p[:, :1] / (1 + np.exp(-p[:, 1:2] * (T - p[:, 2:3]))) + p[:, 3:4]
         + rng.normal(0.0, 0.05, (k, T.size)))
    return p, y


def main(k=2000):
    p_true, y = make_data(k)
    t = np.broadcast_to(T, (k, T.size))          # shared data, no copy
    x0 = np.broadcast_to(X0, (k, 4))

    def batch():
        return minimize_batch(logistic_fg, x0, args=(t, y),
                              bounds=(LOWER, UPPER))
    print("compiling the batch loop for this objective (each new process, "
          "~5 s)...", flush=True)
    t0 = time.perf_counter()
    res = batch()
    first_call = time.perf_counter() - t0
    print(f"minimize_batch: {k} fits, {int(res.success.sum())} converged, "
          f"mean nit {res.nit.mean():.1f}, mean nfev {res.nfev.mean():.1f}; "
          f"first call {first_call:.1f} s (compile included)")
    try:
        from scipy.optimize import fmin_l_bfgs_b
    except ImportError:
        fmin_l_bfgs_b = None
    sub = min(k, 200)
    bounds = list(zip(LOWER, UPPER))

    def scipy_loop():
        return [fmin_l_bfgs_b(logistic_numpy, X0, args=(T, y[i]),
                              bounds=bounds)[1] for i in range(sub)]
    # warm calls timed as `python -m benchmarks.bench` does: blocks of
    # calls alternate between the two, with a pause after each (scipy's
    # BLAS threads go idle before the batch runs), best time per call kept
    if fmin_l_bfgs_b is None:
        batch_time = compare([batch], total=2.0, blocks=3)[0]
    else:
        f_scipy = np.array(scipy_loop())
        batch_time, loop_time = compare([batch, scipy_loop], total=6.0,
                                        blocks=3)
    print(f"warm: minimize_batch {batch_time * 1e3:.1f} ms "
          f"({batch_time / k * 1e6:.1f} us per fit)", end="")
    if fmin_l_bfgs_b is not None:
        per_fit = loop_time / sub
        as_good = int(np.sum(res.fun[:sub] <= f_scipy * (1 + 1e-6) + 1e-12))
        print(f"; scipy fmin_l_bfgs_b loop {per_fit * 1e3:.3f} ms per fit "
              f"-> {per_fit / (batch_time / k):.0f}x; fits as good as "
              f"scipy's: {as_good}/{sub}", end="")
    print()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return res
    fig, axes = plt.subplots(2, 3, figsize=(10, 5.5), sharex=True)
    tt = np.linspace(0, 10, 200)
    for ax, i in zip(axes.flat, range(6)):
        a = res.x[i]
        ax.plot(T, y[i], "o", ms=3, label="data")
        ax.plot(tt, a[0] / (1 + np.exp(-a[1] * (tt - a[2]))) + a[3], "-",
                label="fit")
        ax.set_title(f"fit {i}: f = {res.fun[i]:.2e}", fontsize=9)
    axes.flat[0].legend()
    fig.suptitle(f"{k} bounded logistic fits with minimize_batch")
    fig.tight_layout()
    out = __file__.rsplit("/", 1)[0] + "/batch_curve_fits.png" \
        if "/" in __file__ else "batch_curve_fits.png"
    fig.savefig(out, dpi=90)
    print(f"plot saved to {out}")
    return res


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
