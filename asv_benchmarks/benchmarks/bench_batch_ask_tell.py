"""Batches with a numpy objective vectorised over the batch (ask/tell,
``minimize_batch(vectorized=True)``, the BoTorch drop-in) against a Python
loop of scipy, and the solver's share of ``minimize_batch`` with an @njit
objective (against the objective alone).  Problems from
``benchmarks.problems`` (the well-posed 5-parameter exponential fits)."""
import numpy as np

from .bench_solvers import _require, lbfgsb_numba, problems, scipy_fmin

try:  # absent from versions before the batch ask/tell
    from lbfgsb_numba.batch_ask_tell import BatchSolver
    from lbfgsb_numba.botorch import fmin_l_bfgs_b_batched
except ImportError:  # pragma: no cover
    BatchSolver = None


class VectorizedNumpyBatch:
    """k fits with a numpy objective: vectorised over the batch (ours, one
    call per round) against a loop of scipy with the per-fit objective."""
    params = (["minimize_batch", "ask_tell", "botorch_dropin", "scipy"],
              [100, 2000])
    param_names = ["solver", "k"]
    timeout = 300

    def setup(self, solver, k):
        _require(solver)
        if BatchSolver is None:
            raise NotImplementedError("this version has no batch ask/tell")
        if solver == "scipy" and k > 100:
            raise NotImplementedError("the scipy loop is timed up to k=100")
        fit = problems.FIT
        y = problems.two_exp_data(k)
        x0 = np.broadcast_to(fit.x0, (k, 5))
        bounds = (problems.FIT_LOWER, problems.FIT_UPPER)
        t = fit.t

        def objective(P, Y):
            return problems.two_exp_numpy_rows(P, t, Y)

        if solver == "minimize_batch":
            self.run = lambda: lbfgsb_numba.minimize_batch(
                objective, x0, args=(y,), bounds=bounds, vectorized=True)
        elif solver == "ask_tell":
            def run():
                b = BatchSolver(x0, bounds)
                while not b.done:
                    idx, X = b.ask()
                    b.tell(*objective(X, y[idx]))
                return b.result()
            self.run = run
        elif solver == "botorch_dropin":
            pairs = list(zip(problems.FIT_LOWER, problems.FIT_UPPER))
            self.run = lambda: fmin_l_bfgs_b_batched(
                lambda P, batch_indices: objective(P, y[batch_indices]),
                x0, bounds=pairs, pass_batch_indices=True)
        else:
            pairs = list(zip(problems.FIT_LOWER, problems.FIT_UPPER))
            self.run = lambda: [
                scipy_fmin(problems.two_exp_numpy, fit.x0, args=(t, y[i]),
                           bounds=pairs) for i in range(k)]
        self.run()

    def time_solve(self, solver, k):
        self.run()


class NjitBatchSolverShare:
    """minimize_batch with the @njit objective on one thread against the
    objective alone (the same evaluations, no solver): their ratio is the
    solver's overhead."""
    params = (["minimize_batch", "objective_only"], [2000])
    param_names = ["what", "k"]
    timeout = 300

    def setup(self, what, k):
        _require(what)
        fit = problems.FIT
        y = problems.two_exp_data(k)
        t = np.broadcast_to(fit.t, (k, fit.t.size))
        x0 = np.broadcast_to(fit.x0, (k, 5))
        bounds = (problems.FIT_LOWER, problems.FIT_UPPER)

        def batch():
            return lbfgsb_numba.minimize_batch(
                problems.two_exp_njit, x0, args=(t, y), bounds=bounds,
                parallel=False)
        if what == "minimize_batch":
            self.run = batch
        else:
            counts = batch().nfev
            x = np.ascontiguousarray(x0)
            self.run = lambda: problems.evaluate_fits(x, t, y, counts)
        self.run()

    def time_solve(self, what, k):
        self.run()
