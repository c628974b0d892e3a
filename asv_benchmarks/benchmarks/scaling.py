"""Scaling benchmarks: ``minimize_batch`` through Dask against in-process,
and the cost of ``progress=True``.

    cd asv_benchmarks && python -m benchmarks.scaling [--quick] [--k K] [--chunk ROWS]

needs the ``dask`` extra (dask, distributed, tqdm).  It prints:

* progress: ``minimize_batch`` with and without ``progress=True`` on the
  same fits, in alternating blocks (``lbfgsb_numba.timing.compare``), as a ratio;
* Dask: K (default 10^6) bounded 5-parameter exponential fits (the
  ``benchmarks.problems`` batch problem) solved in-process by ``minimize_batch`` on all
  cores and through a 2-worker ``distributed.LocalCluster`` (1 thread each)
  on the same cores, runs alternating, fits per second for both and their
  ratio; the data live on the workers (generated there chunk by chunk,
  persisted before timing), the in-process run gets the same data as one
  numpy array; the results must be equal bit for bit;
* the client's peak memory (tracemalloc) while computing through the
  cluster, against the size of the data and of the results.
"""
from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np

from benchmarks.bench import machine
from benchmarks.problems import (FIT, FIT_LOWER, FIT_UPPER, data_block,
                                 data_in_process, two_exp_data,
                                 two_exp_njit)

FIELDS = ("x", "fun", "jac", "nit", "nfev", "status", "success", "task")


def cpu_seconds():
    """User + system CPU seconds of this process and of its live child
    processes (a LocalCluster's nannies and workers; its scheduler runs in
    this process)."""
    import psutil
    me = psutil.Process()
    total = 0.0
    for proc in [me] + me.children(recursive=True):
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def progress_overhead(k=100_000, pairs=6, pause=0.5):
    """Seconds per batch of k fits without and with progress=True:
    ``pairs`` alternating runs of each, (list without, list with)."""
    import contextlib
    import io
    from lbfgsb_numba import minimize_batch
    y = two_exp_data(k)
    t = np.broadcast_to(FIT.t, (k, FIT.t.size))
    x0 = np.broadcast_to(FIT.x0, (k, 5))
    bounds = (FIT_LOWER, FIT_UPPER)
    minimize_batch(two_exp_njit, x0[:10], (t[:10], y[:10]), bounds)
    plain, shown = [], []
    for _ in range(pairs):
        for progress, times in ((False, plain), (True, shown)):
            with contextlib.redirect_stderr(io.StringIO()):
                t0 = time.perf_counter()
                minimize_batch(two_exp_njit, x0, (t, y), bounds,
                               progress=progress)
                times.append(time.perf_counter() - t0)
            time.sleep(pause)
    return plain, shown


def cluster_vs_in_process(k=10**6, chunk=50_000, repeat=2, workers=2):
    """Fits per second in-process and through a LocalCluster (best of
    ``repeat`` alternating runs), the client's peak memory, the sizes of
    the data and the results, and whether the results are equal."""
    import dask.array as da
    import distributed

    from lbfgsb_numba import dask as lbd
    from lbfgsb_numba import minimize_batch
    bounds = (FIT_LOWER, FIT_UPPER)
    t = np.broadcast_to(FIT.t, (k, FIT.t.size))
    x0 = np.broadcast_to(FIT.x0, (k, 5))
    y_np = data_in_process(k, chunk)
    out = {"in_process": [], "cluster": [], "in_process_cpu": [],
           "cluster_cpu": [], "k": k, "chunk": chunk,
           "data_mb": y_np.nbytes / 2**20}
    minimize_batch(two_exp_njit, x0[:10], (t[:10], y_np[:10]), bounds)
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                  processes=True, dashboard_address=":0") \
            as cluster, distributed.Client(cluster) as client:
        y = da.map_blocks(data_block, dtype=float,
                          chunks=((chunk,) * (k // chunk)
                                  + ((k % chunk,) if k % chunk else ()),
                                  (FIT.t.size,)))
        y = y.persist()
        distributed.wait(y)
        warm = lbd.minimize_batch(two_exp_njit, x0[:100],
                                  (t[:100], y[:100]), bounds)
        t0 = time.perf_counter()
        warm.warm_up(client)  # every worker compiles the batch kernel once
        out["worker_warmup_s"] = time.perf_counter() - t0
        for _ in range(repeat):
            c0, t0 = cpu_seconds(), time.perf_counter()
            ref = minimize_batch(two_exp_njit, x0, (t, y_np), bounds)
            out["in_process"].append(time.perf_counter() - t0)
            out["in_process_cpu"].append(cpu_seconds() - c0)
            time.sleep(1.0)
            lazy = lbd.minimize_batch(two_exp_njit, x0, (t, y), bounds)
            tracemalloc.start()
            c0, t0 = cpu_seconds(), time.perf_counter()
            res = lazy.compute()
            out["cluster"].append(time.perf_counter() - t0)
            out["cluster_cpu"].append(cpu_seconds() - c0)
            out["client_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            time.sleep(1.0)
    out["results_mb"] = sum(res[name].nbytes for name in FIELDS) / 2**20
    out["equal"] = all(np.array_equal(res[name], ref[name], equal_nan=True)
                       for name in FIELDS)
    out["mean_nit"] = float(ref.nit.mean())
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scaling",
        description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="10^5 fits, one run each")
    parser.add_argument("--k", type=int, default=None, help="fits")
    parser.add_argument("--chunk", type=int, default=50_000,
                        help="rows per Dask chunk")
    parser.add_argument("--repeat", type=int, default=None,
                        help="alternating runs of each (default 2, quick 1)")
    parser.add_argument("--skip-progress", action="store_true",
                        help="only the Dask comparison")
    args = parser.parse_args(argv)
    k = args.k or (10**5 if args.quick else 10**6)
    print(f"lbfgsb_numba scaling on {machine()}\n")

    if not args.skip_progress:
        plain, shown = progress_overhead(k=20_000 if args.quick else 100_000,
                                         pairs=3 if args.quick else 6)
        ratios = np.array(shown) / np.array(plain)
        print(f"progress=True, {len(plain)} alternating pairs of runs: best "
              f"{min(shown):.3f} s against {min(plain):.3f} s without "
              f"(ratio {min(shown) / min(plain):.3f}); median ratio of the "
              f"pairs {np.median(ratios):.3f}")

    r = cluster_vs_in_process(k, args.chunk, repeat=args.repeat or (
        1 if args.quick else 2))
    best_in, best_cl = min(r["in_process"]), min(r["cluster"])
    cores = os.cpu_count()
    print(f"\n{k} bounded 5-parameter fits (mean nit {r['mean_nit']:.1f}), "
          f"{k // args.chunk} chunks of {args.chunk} rows "
          f"({args.chunk * 40 * 8 / 2**20:.0f} MB of data per chunk):")
    print(f"  in-process minimize_batch ({cores} threads): "
          f"{k / best_in:,.0f} fits/s "
          f"({k / best_in / cores:,.0f} per core); runs "
          f"{', '.join(f'{s:.1f}' for s in r['in_process'])} s")
    print(f"  LocalCluster, 2 workers x 1 thread: {k / best_cl:,.0f} fits/s "
          f"({k / best_cl / 2:,.0f} per core); runs "
          f"{', '.join(f'{s:.1f}' for s in r['cluster'])} s; "
          f"cluster/in-process time {best_cl / best_in:.2f}")
    cpu_in, cpu_cl = min(r["in_process_cpu"]), min(r["cluster_cpu"])
    print(f"  CPU seconds (all processes): in-process {cpu_in:.1f}, cluster "
          f"{cpu_cl:.1f} (ratio {cpu_cl / cpu_in:.2f}); {k / cpu_in:,.0f} "
          f"and {k / cpu_cl:,.0f} fits per CPU-second")
    print(f"  workers' first solve (compile once per process): "
          f"{r['worker_warmup_s']:.1f} s; results equal bit for bit: "
          f"{r['equal']}")
    print(f"  client peak memory (tracemalloc) {r['client_peak_mb']:.0f} MB; "
          f"data {r['data_mb']:.0f} MB (on the workers); results "
          f"{r['results_mb']:.0f} MB")


if __name__ == "__main__":
    main()
