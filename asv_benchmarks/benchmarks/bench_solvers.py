"""Solve-time, memory and iteration-count benchmarks (asv conventions:
``time_*``, ``peakmem_*``, ``track_*`` with ``params``/``param_names``)."""
import numpy as np

try:
    import lbfgsb_numba
    from . import bench, problems
except ImportError:  # pragma: no cover - asv reports the benchmark as failed
    lbfgsb_numba = bench = problems = None

try:
    from scipy.optimize import fmin_l_bfgs_b as scipy_fmin
except ImportError:  # pragma: no cover
    scipy_fmin = None


def _require(solver):
    if lbfgsb_numba is None:
        raise NotImplementedError("lbfgsb_numba is not importable")
    if solver == "scipy" and scipy_fmin is None:
        raise NotImplementedError("scipy is not installed")


class PythonObjective:
    """Chained Rosenbrock with a numpy objective: the drop-in use."""
    params = (["lbfgsb_numba", "scipy"], [2, 10, 100])
    param_names = ["solver", "n"]

    def setup(self, solver, n):
        _require(solver)
        self.x0 = problems.rosenbrock_start(n)
        self.fmin = (lbfgsb_numba.fmin_l_bfgs_b if solver == "lbfgsb_numba"
                     else scipy_fmin)
        self.fmin(problems.rosenbrock_numpy, self.x0)

    def time_solve(self, solver, n):
        self.fmin(problems.rosenbrock_numpy, self.x0)

    def track_nit(self, solver, n):
        return self.fmin(problems.rosenbrock_numpy, self.x0)[2]["nit"]

    def track_nfev(self, solver, n):
        return self.fmin(problems.rosenbrock_numpy, self.x0)[2]["funcalls"]


class CompiledObjective:
    """@njit objective on the compiled path (scipy: numpy objective)."""
    params = (["lbfgsb_numba", "scipy"], [2, 10, 100, 1000])
    param_names = ["solver", "n"]

    def setup(self, solver, n):
        _require(solver)
        self.x0 = problems.rosenbrock_start(n)
        if solver == "lbfgsb_numba":
            self.run = lambda: lbfgsb_numba.fmin_l_bfgs_b(
                problems.rosenbrock_njit, self.x0)
        else:
            self.run = lambda: scipy_fmin(problems.rosenbrock_numpy, self.x0)
        self.run()

    def time_solve(self, solver, n):
        self.run()


class BoundedFitsBatch:
    """k bounded 5-parameter exponential fits (40 points each): one
    minimize_batch call vs a Python loop of scipy fmin_l_bfgs_b; the
    well-posed fit (t in [0, 10]) and its ill-conditioned variant (t in
    [0, 4]), see ``benchmarks.problems``."""
    params = (["lbfgsb_numba", "scipy"], [10, 100, 2000],
              ["t_0_10", "t_0_4"])
    param_names = ["solver", "k", "window"]
    timeout = 300

    def setup(self, solver, k, window):
        _require(solver)
        if solver == "scipy" and k > 100:
            raise NotImplementedError("the scipy loop is timed up to k=100")
        problem = problems.FIT if window == "t_0_10" else problems.FIT_SHORT
        y = problems.two_exp_data(k, problem=problem)
        t = np.broadcast_to(problem.t, (k, problem.t.size))
        x0 = np.broadcast_to(problem.x0, (k, 5))
        if solver == "lbfgsb_numba":
            bounds = (problems.FIT_LOWER, problems.FIT_UPPER)
            self.run = lambda: lbfgsb_numba.minimize_batch(
                problems.two_exp_njit, x0, args=(t, y), bounds=bounds)
        else:
            pairs = list(zip(problems.FIT_LOWER, problems.FIT_UPPER))
            self.run = lambda: [
                scipy_fmin(problems.two_exp_numpy, problem.x0,
                           args=(problem.t, y[i]), bounds=pairs)
                for i in range(k)]
        self.run()

    def time_solve(self, solver, k, window):
        self.run()

    def track_mean_nfev(self, solver, k, window):
        result = self.run()
        if solver == "lbfgsb_numba":
            return float(result.nfev.mean())
        return float(np.mean([r[2]["funcalls"] for r in result]))


class LargeProblem:
    """n = 1e5 and 1e6, numpy objective, with and without bounds (30
    iterations at most): time and peak memory."""
    params = (["lbfgsb_numba", "scipy"], [100_000, 1_000_000],
              [True, False])
    param_names = ["solver", "n", "bounded"]
    timeout = 600

    def setup(self, solver, n, bounded):
        _require(solver)
        fg, x0, lower, upper = problems.large_problem(n)
        self.fg, self.x0 = fg, x0
        if solver == "lbfgsb_numba":
            self.fmin = lbfgsb_numba.fmin_l_bfgs_b
            self.bounds = (lower, upper) if bounded else None
        else:
            self.fmin = scipy_fmin
            self.bounds = None
            self.pairs = bounded
            self.lower, self.upper = lower, upper
        small = problems.large_problem(10)
        self.fmin(small[0], small[1], maxiter=2)

    def _bounds(self):
        if self.fmin is scipy_fmin and self.pairs:
            return list(zip(self.lower, self.upper))  # what scipy takes
        return self.bounds

    def time_solve(self, solver, n, bounded):
        self.fmin(self.fg, self.x0, bounds=self._bounds(), maxiter=30)

    def peakmem_solve(self, solver, n, bounded):
        self.fmin(self.fg, self.x0, bounds=self._bounds(), maxiter=30)


class FirstCall:
    """Import + first solve in a fresh process (``benchmarks.bench.first_solve``):
    warm Numba cache; empty Numba cache with the kernels compiled at install
    ("cold"); empty cache and nothing precompiled ("cold-jit")."""
    params = (["python", "compiled"], ["warm", "cold", "cold-jit"])
    param_names = ["path", "cache"]
    timeout = 600
    number = 1
    repeat = 1

    def setup(self, path, cache):
        _require("lbfgsb_numba")

    def track_first_solve(self, path, cache):
        return bench.first_solve(compiled=path == "compiled",
                                 cold=cache != "warm",
                                 precompiled=cache != "cold-jit")

    track_first_solve.unit = "seconds"


class IterationCounts:
    """nit and nfev on a few problems, so that an accidental change of the
    algorithm shows up in asv's history (they should equal scipy's)."""
    params = (["lbfgsb_numba", "scipy"],
              ["rosenbrock_2", "rosenbrock_10_box", "rosenbrock_10_lower"])
    param_names = ["solver", "problem"]

    def setup(self, solver, problem):
        _require(solver)
        n = 2 if problem == "rosenbrock_2" else 10
        self.x0 = problems.rosenbrock_start(n)
        self.bounds = {"rosenbrock_2": None,
                       "rosenbrock_10_box": [(-0.5, 0.8)] * 10,
                       "rosenbrock_10_lower": [(1.1, None)] * 10}[problem]
        self.fmin = (lbfgsb_numba.fmin_l_bfgs_b if solver == "lbfgsb_numba"
                     else scipy_fmin)

    def track_nit(self, solver, problem):
        return self.fmin(problems.rosenbrock_numpy, self.x0,
                         bounds=self.bounds)[2]["nit"]

    def track_nfev(self, solver, problem):
        return self.fmin(problems.rosenbrock_numpy, self.x0,
                         bounds=self.bounds)[2]["funcalls"]
