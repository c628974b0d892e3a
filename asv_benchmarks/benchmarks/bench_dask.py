"""minimize_batch through Dask: a 2-worker LocalCluster (1 thread each)
against the in-process minimize_batch on the same cores; time, and the
peak memory of the process that submits the work (the client holds the
results, not the data, which live on the workers).  Skipped without the
``dask`` extra.  Full-size run (10^6 fits): ``python -m
benchmarks.scaling`` (in asv_benchmarks/)."""
import numpy as np

try:
    import dask.array as da
    import distributed
    from lbfgsb_numba import dask as lbd
    from lbfgsb_numba.batch import minimize_batch
    from . import problems
    from .problems import data_block, data_in_process
except ImportError:  # pragma: no cover - asv reports the benchmark skipped
    lbd = None

CHUNK = 5000


class DaskBatch:
    params = (["in_process", "local_cluster"], [20000])
    param_names = ["where", "k"]
    timeout = 600

    def setup(self, where, k):
        self.cluster = self.client = None
        if lbd is None:
            raise NotImplementedError("the dask extra is not installed")
        fit = problems.FIT
        x0 = np.broadcast_to(fit.x0, (k, 5))
        t = np.broadcast_to(fit.t, (k, fit.t.size))
        bounds = (problems.FIT_LOWER, problems.FIT_UPPER)
        if where == "in_process":
            y = data_in_process(k, CHUNK)
            self.run = lambda: minimize_batch(problems.two_exp_njit, x0,
                                              (t, y), bounds)
            self.run()
            return
        self.cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True,
            dashboard_address=":0")
        self.client = distributed.Client(self.cluster)
        problems.importable_on_workers(self.client)  # they import fg by name
        y = da.map_blocks(data_block, dtype=float,
                          chunks=((CHUNK,) * (k // CHUNK), (fit.t.size,)))
        y = y.persist()
        distributed.wait(y)
        lazy = lbd.minimize_batch(problems.two_exp_njit, x0, (t, y), bounds)
        lazy.warm_up(self.client)
        self.run = lazy.compute

    def teardown(self, where, k):
        if self.client is not None:
            self.client.close(timeout=30)
            self.cluster.close(timeout=30)

    def time_solve(self, where, k):
        self.run()

    def peakmem_solve(self, where, k):
        self.run()
