"""Driving the solver from outside: ask/tell, a checkpoint resumed in
another process, and warm starts over a drifting sequence of fits.

The objective here is a plain numpy least-squares fit, but it could be
anything that produces f and its gradient at a point: a simulator, a
remote worker, a PyTorch or JAX function (convert x to a tensor, and f
and the gradient back with ``float(f)`` and ``np.asarray(g, float)``).

Run: python examples/ask_tell_checkpoint.py
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

from lbfgsb_numba import LbfgsbSolver, minimize

# the fit problem comes from the benchmark problems beside the asv suite
ASV_DIR = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "asv_benchmarks")
sys.path.insert(0, ASV_DIR)
from benchmarks.problems import (FIT, FIT_LOWER, FIT_UPPER,  # noqa: E402
                                 drifting_fit_data, two_exp_numpy)

BOUNDS = (FIT_LOWER, FIT_UPPER)
T = FIT.t
Y = drifting_fit_data(count=1)[0]

# the second half of the solve, in a fresh process
RESUME = """
import sys
from lbfgsb_numba import LbfgsbSolver
sys.path.insert(0, sys.argv[2])
from benchmarks.problems import FIT, drifting_fit_data, two_exp_numpy
y = drifting_fit_data(count=1)[0]
s = LbfgsbSolver.load(sys.argv[1])
while not s.done:
    s.tell(*two_exp_numpy(s.ask(), FIT.t, y))
print(s.result().fun.hex(), s.nit, s.nfev)
"""


def main():
    # 1. ask/tell: the loop is yours
    s = LbfgsbSolver(FIT.x0, BOUNDS)
    while not s.done:
        x = s.ask()
        f, g = two_exp_numpy(x, T, Y)
        if s.tell(f, g):
            pass  # a new iterate: s.nit went up
    whole = s.result()
    print(f"ask/tell: f = {whole.fun:.6e} after {whole.nit} iterations, "
          f"{whole.nfev} evaluations ({whole.message})")

    # 2. stop after 10 evaluations, save, resume in another process
    s = LbfgsbSolver(FIT.x0, BOUNDS)
    for _ in range(10):
        s.tell(*two_exp_numpy(s.ask(), T, Y))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fit.npz")
        s.save(path)
        out = subprocess.run([sys.executable, "-c", RESUME, path, ASV_DIR],
                             capture_output=True, text=True, check=True)
    fun_hex, nit, nfev = out.stdout.split()
    same = float.fromhex(fun_hex) == whole.fun and (int(nit), int(nfev)) == (
        whole.nit, whole.nfev)
    print(f"resumed in another process after 10 evaluations: nit {nit}, "
          f"nfev {nfev}, same bits as the uninterrupted solve: {same}")

    # 3. warm starts over data that drift between solves
    cold_nfev = warm_nfev = 0
    x_cold = x_warm = FIT.x0
    previous = None
    for y in drifting_fit_data(count=20):
        cold = minimize(two_exp_numpy, x_cold, args=(T, y), jac=True,
                        bounds=BOUNDS)
        warm = minimize(two_exp_numpy, x_warm, args=(T, y), jac=True,
                        bounds=BOUNDS, warm_start=previous)
        cold_nfev += cold.nfev
        warm_nfev += warm.nfev
        x_cold, x_warm, previous = cold.x, warm.x, warm
    print(f"20 drifting fits, each from the previous solution: "
          f"{cold_nfev} evaluations cold, {warm_nfev} with warm starts")


if __name__ == "__main__":
    main()
