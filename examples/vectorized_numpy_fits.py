"""Thousands of bounded curve fits with a plain numpy objective vectorised
over the batch: no @njit needed.

Each problem fits y(t) = a0 exp(-a1 t) + a2 to 30 noisy points with bounded
parameters.  The objective takes all the fits that still need an evaluation
at once (one numpy call per round); ``minimize_batch(vectorized=True)``
advances all of them in one compiled call.  The same solve is then driven
by hand through the ask/tell batch solver (as one would for an external
simulator), and a Python loop of scipy's fmin_l_bfgs_b is timed on a subset
for comparison (if scipy is installed).

Run: python examples/vectorized_numpy_fits.py [k]
"""
import sys
import time

import numpy as np

from lbfgsb_numba import BatchSolver, minimize_batch

T = np.linspace(0.0, 5.0, 30)
BOUNDS = (np.array([0.0, 0.01, -1.0]), np.array([10.0, 5.0, 1.0]))
X0 = np.array([1.0, 1.0, 0.0])


def decay_fits(A, Y):
    """Least squares of a0 exp(-a1 t) + a2 - y for every row: A (a, 3)
    parameters, Y (a, 30) data -> F (a,), G (a, 3)."""
    e = np.exp(-A[:, 1:2] * T)
    r = A[:, 0:1] * e + A[:, 2:3] - Y
    G = np.empty_like(A)
    G[:, 0] = 2.0 * np.sum(r * e, axis=1)
    G[:, 1] = -2.0 * A[:, 0] * np.sum(r * e * T, axis=1)
    G[:, 2] = 2.0 * np.sum(r, axis=1)
    return np.sum(r * r, axis=1), G


def decay_fit(a, y):
    """One fit, for scipy's loop."""
    F, G = decay_fits(a[None, :], y[None, :])
    return float(F[0]), G[0]


def make_data(k, seed=0):
    rng = np.random.default_rng(seed)
    p = np.column_stack([rng.uniform(1, 4, k), rng.uniform(0.3, 3, k),
                         rng.uniform(-0.5, 0.5, k)])
    y = (p[:, :1] * np.exp(-p[:, 1:2] * T) + p[:, 2:]
         + rng.normal(0.0, 0.01, (k, T.size)))
    return p, y


def main(k=2000):
    p_true, y = make_data(k)
    x0 = np.tile(X0, (k, 1))

    # 1. one call: fun(X, *args_rows) with args sliced to the active rows
    t0 = time.perf_counter()
    res = minimize_batch(decay_fits, x0, args=(y,), bounds=BOUNDS,
                         vectorized=True)
    t_batch = time.perf_counter() - t0
    print(f"{k} fits: {res.success.sum()} converged, mean nfev "
          f"{res.nfev.mean():.1f}, max |a - a_true| "
          f"{np.abs(res.x - p_true).max():.3f}; {t_batch * 1e3:.1f} ms "
          f"({t_batch / k * 1e6:.1f} us per fit)")

    # 2. the same solve by ask/tell: the caller evaluates
    solver = BatchSolver(x0, BOUNDS)
    rounds = 0
    while not solver.done:
        idx, X = solver.ask()          # the fits that need f and g
        solver.tell(*decay_fits(X, y[idx]))
        rounds += 1
    same = np.array_equal(solver.result().x, res.x)
    print(f"ask/tell: {rounds} rounds, same bits as minimize_batch: {same}")

    try:
        from scipy.optimize import fmin_l_bfgs_b
    except ImportError:
        return
    sub = min(k, 200)
    pairs = list(zip(*BOUNDS))
    t0 = time.perf_counter()
    ref = [fmin_l_bfgs_b(decay_fit, X0, args=(y[i],), bounds=pairs)
           for i in range(sub)]
    t_ref = (time.perf_counter() - t0) / sub
    worse = sum(res.fun[i] > r[1] * (1 + 1e-6) + 1e-12
                for i, r in enumerate(ref))
    print(f"scipy loop: {t_ref * 1e6:.0f} us per fit, "
          f"{t_ref / (t_batch / k):.0f}x slower; fits worse than scipy's: "
          f"{worse} of {sub}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
