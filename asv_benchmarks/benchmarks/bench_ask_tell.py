"""Ask/tell benchmarks: the solver's own cost per evaluation (objective
values replayed, so that only ask, tell and the solver step are timed)
against scipy's fmin_l_bfgs_b loop, and the evaluations a warm start saves
on a drifting sequence of fits (``benchmarks.bench``)."""
import time

import numpy as np

# the package, scipy and the availability check are shared with the
# solver benchmarks
from .bench_solvers import _require, bench, problems, scipy_fmin


class AskTellPerEvaluation:
    """Chained Rosenbrock, n = 10: one whole solve with recorded objective
    values replayed; ``track_us_per_evaluation`` is the fastest solve time
    divided by the number of evaluations (ours: LbfgsbSolver ask + tell;
    scipy: fmin_l_bfgs_b's own loop)."""
    params = (["lbfgsb_numba", "scipy"], [10])
    param_names = ["solver", "n"]

    def setup(self, solver, n):
        _require(solver)
        self.x0 = problems.rosenbrock_start(n)
        record, self.values = bench.recorded(problems.rosenbrock_numpy)
        if solver == "lbfgsb_numba":
            self.solve = lambda fg: bench.ask_tell_solve(fg, self.x0)
        else:
            self.solve = lambda fg: scipy_fmin(fg, self.x0)
        self.solve(record)
        self.nfev = len(self.values)

    def time_solve(self, solver, n):
        self.solve(bench.replay(self.values))

    def track_us_per_evaluation(self, solver, n):
        best = np.inf
        for _ in range(200):
            t0 = time.perf_counter()
            self.solve(bench.replay(self.values))
            best = min(best, time.perf_counter() - t0)
        return best / self.nfev * 1e6

    track_us_per_evaluation.unit = "us"

    def track_nfev(self, solver, n):
        return self.nfev


class WarmStartSavings:
    """39 drifting 5-parameter exponential fits, each solved from the
    previous solution, cold and with ``warm_start`` = the previous
    result: mean evaluations per solve and the share saved."""
    params = (["default", "tight"],)
    param_names = ["tolerances"]
    timeout = 300

    def setup(self, tolerances):
        _require("lbfgsb_numba")
        options = None if tolerances == "default" else {"ftol": 1e-12,
                                                        "gtol": 1e-8}
        self.cold, self.warm, _ = bench.warm_start_savings(
            options=options)

    def track_nfev_cold(self, tolerances):
        return float(np.mean(self.cold))

    def track_nfev_warm(self, tolerances):
        return float(np.mean(self.warm))

    def track_evaluations_saved(self, tolerances):
        return float(1.0 - self.warm.sum() / self.cold.sum())

    track_evaluations_saved.unit = "fraction"
