"""Timing helper shared by the demo and the benchmarks: ``compare`` times
callables side by side in alternating blocks (BLAS single-threaded) and
keeps the best time per call of each."""
from __future__ import annotations

import time

import numpy as np


def compare(fns, total=1.0, blocks=5, pause=0.1, clock=time.perf_counter):
    """Seconds per call of each callable, measured side by side in one run.

    Blocks alternate between the callables; a block calls one callable in a
    loop for about ``total / blocks / len(fns)`` seconds and the minimum
    per-call time over its blocks is kept.  A pause follows each block, so
    that helper threads one solver leaves spinning (OpenBLAS's, after
    scipy) are idle again when the other starts, and BLAS libraries run
    single-threaded throughout (``blas_single_threaded``).  ``clock``: wall
    time by default; ``time.process_time`` gives CPU time (steadier on a
    loaded machine)."""
    with blas_single_threaded():
        return _compare(fns, total, blocks, pause, clock)


def blas_single_threaded():
    """A context in which the BLAS libraries loaded (numpy's, scipy's) use
    one thread, through threadpoolctl when it is installed (a no-op
    otherwise).  Both solvers make only small BLAS calls here (vectors of
    at most n, matrices of order 2m); their helper threads only add wake-up
    costs, and on a busy machine they fight other processes for the cores
    (scipy's fits ran 10-20x slower with them).  Numba's own threads
    (``minimize_batch``) are not affected."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _compare(fns, total, blocks, pause, clock):
    once = []
    for fn in fns:  # calibrate
        t0 = clock()
        fn()
        once.append(max(clock() - t0, 1e-7))
    per_block = total / blocks / len(fns)
    best = [np.inf] * len(fns)
    for _ in range(blocks):
        for i, fn in enumerate(fns):
            calls = max(1, int(per_block / once[i]))
            t0 = clock()
            for _ in range(calls):
                fn()
            best[i] = min(best[i], (clock() - t0) / calls)
            time.sleep(pause)
    return best
