"""Side-by-side speed comparison with scipy's L-BFGS-B.

    cd asv_benchmarks && python -m benchmarks.bench [--quick] [--plot PATH] [--compile-cost] [--peers]

prints, for one run on this machine, ours vs scipy as ratios:

* Python path: chained Rosenbrock with a numpy objective, n = 2, 10, 100;
* compiled path: the same problems with an @njit objective (ours) against
  scipy with the numpy objective;
* batch: 2000 bounded 5-parameter exponential fits (40 points each) in one
  ``minimize_batch`` call against a Python loop of scipy fmin_l_bfgs_b, on a
  well-posed fit and on an ill-conditioned variant;
* the same well-posed batch with a numpy objective vectorised over the
  batch (``minimize_batch(vectorized=True)``, one objective call per round)
  against the scipy loop, the solver's own time per round and the
  objective's share of the wall time; and the solver's share with the
  @njit objective (one thread, against the objective alone);
* large n = 10^6 with bounds: time and peak memory (each solve in a fresh
  process; memory is tracemalloc's peak of what the solve allocates, which
  covers numpy arrays and both solvers' work arrays);
* ask/tell: the solver's own cost per evaluation at n = 10 against
  scipy's, and the evaluations a warm start saves on a drifting sequence of
  fits;
* peers, when installed (``--peers`` for these alone): BoTorch's own
  ``fmin_l_bfgs_b_batched`` against our drop-in (same call, same
  decisions), and jaxopt's ``LBFGSB`` vmapped over the batch against
  ``minimize_batch``;
* first solve in a fresh process (import included, warm cache);
* compile cost of every compiled entry for a new objective, and with the
  user's functions cached (``compile_cost``; fresh process each).

Timings alternate blocks of ours and scipy's calls, with a pause after each
block, and keep the minimum per call (``compare``), so the ratios come from
one run under the same machine load.  scipy (and, for the
plot, matplotlib) are imported lazily: they are optional.  The problems
come from ``benchmarks.problems``, shared with the asv suite and the
tests; this harness lives beside the asv suite, outside the installed
package.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import textwrap
import time
from collections import namedtuple

import numpy as np

try:
    from lbfgsb_numba.timing import compare
except ImportError:  # a version from before the move (asv on old commits)
    from lbfgsb_numba.bench import compare
from benchmarks.problems import (FIT, FIT_LOWER, FIT_SHORT, FIT_UPPER,
                                 drifting_fit_data, evaluate_fits,
                                 rosenbrock_njit, rosenbrock_numpy,
                                 rosenbrock_start, two_exp_data,
                                 two_exp_njit, two_exp_numpy,
                                 two_exp_numpy_rows)

# the directory that holds the ``benchmarks`` package, for the scripts run
# in fresh processes
ASV_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _scipy():
    from scipy.optimize import fmin_l_bfgs_b
    return fmin_l_bfgs_b


def python_path(ns=(2, 10, 100), total=1.0):
    """Rows (n, nit ours, nit scipy, nfev ours, t ours, t scipy) for a
    numpy objective on both sides."""
    from lbfgsb_numba import fmin_l_bfgs_b
    sp = _scipy()
    rows = []
    for n in ns:
        x0 = rosenbrock_start(n)
        ours = fmin_l_bfgs_b(rosenbrock_numpy, x0)
        ref = sp(rosenbrock_numpy, x0)
        t_ours, t_ref = compare(
            [lambda: fmin_l_bfgs_b(rosenbrock_numpy, x0),
             lambda: sp(rosenbrock_numpy, x0)], total)
        rows.append((n, ours[2]["nit"], ref[2]["nit"], ours[2]["funcalls"],
                     t_ours, t_ref))
    return rows


def compiled_path(ns=(2, 10, 100), total=1.0):
    """Rows (n, nit, nfev, t ours compiled, t scipy numpy objective)."""
    from lbfgsb_numba import fmin_l_bfgs_b
    sp = _scipy()
    rows = []
    for n in ns:
        x0 = rosenbrock_start(n)
        ours = fmin_l_bfgs_b(rosenbrock_njit, x0)
        t_ours, t_ref = compare(
            [lambda: fmin_l_bfgs_b(rosenbrock_njit, x0),
             lambda: sp(rosenbrock_numpy, x0)], total)
        rows.append((n, ours[2]["nit"], ours[2]["funcalls"], t_ours, t_ref))
    return rows


def batch(k=2000, scipy_fits=200, total=4.0, problem=FIT):
    """(k, t batch, t scipy per fit, fits as good as scipy's (f within
    1e-6 relative or lower), fits better than scipy's, fits compared, mean
    nfev, mean nit) for k fits of ``problem`` in one ``minimize_batch``
    call against a Python loop of scipy fmin_l_bfgs_b on the first
    ``scipy_fits``.  Both use the default tolerances."""
    from lbfgsb_numba import minimize_batch
    sp = _scipy()
    y = two_exp_data(k, problem=problem)
    t = np.broadcast_to(problem.t, (k, problem.t.size))
    x0 = np.broadcast_to(problem.x0, (k, 5))
    bounds = (FIT_LOWER, FIT_UPPER)
    res = minimize_batch(two_exp_njit, x0, args=(t, y), bounds=bounds)
    sub = min(k, scipy_fits)
    pairs = list(zip(FIT_LOWER, FIT_UPPER))

    def scipy_loop():
        return [sp(two_exp_numpy, problem.x0, args=(problem.t, y[i]),
                   bounds=pairs) for i in range(sub)]
    ref = scipy_loop()
    t_batch, t_loop = compare(
        [lambda: minimize_batch(two_exp_njit, x0, args=(t, y),
                                bounds=bounds), scipy_loop], total, blocks=3)
    f_ref = np.array([r[1] for r in ref])
    good = int(np.sum(res.fun[:sub] <= f_ref * (1 + 1e-6) + 1e-12))
    better = int(np.sum(f_ref > res.fun[:sub] * (1 + 1e-6) + 1e-12))
    return (k, t_batch, t_loop / sub, good, better, sub,
            float(res.nfev.mean()), float(res.nit.mean()))


class _TimedObjective:
    """A vectorised objective that records the CPU time spent inside it,
    the number of rounds and the active problems per round."""

    def __init__(self, fun):
        self.fun = fun
        self.reset()

    def reset(self):
        self.seconds = 0.0
        self.rounds = 0
        self.evaluations = 0

    def __call__(self, X, *args):
        t0 = time.process_time()
        out = self.fun(X, *args)
        self.seconds += time.process_time() - t0
        self.rounds += 1
        self.evaluations += X.shape[0]
        return out


VectorizedBatchTimes = namedtuple(
    "VectorizedBatchTimes",
    "k t_batch t_fit_scipy cpu_batch cpu_fit_scipy rounds evaluations "
    "cpu_solve cpu_objective good sub")


def batch_vectorized(k=2000, scipy_fits=200, total=4.0, problem=FIT):
    """k fits of ``problem`` through ``minimize_batch(vectorized=True)`` with
    the numpy objective vectorised over the batch (``two_exp_numpy_rows``),
    against a Python loop of scipy fmin_l_bfgs_b with the per-fit numpy
    objective (``two_exp_numpy``) on the first ``scipy_fits``, in
    alternating blocks, in wall time and in CPU time.  Returns
    ``VectorizedBatchTimes``: t_batch / cpu_batch (s per batch),
    t_fit_scipy / cpu_fit_scipy (s per fit), the rounds and evaluations of
    one batch solve, its CPU time and the CPU time inside the objective (of
    the instrumented solve, out of 5, with the least time outside the
    objective), and how many of the compared fits are
    as good as scipy's (f within 1e-6 relative or lower)."""
    from lbfgsb_numba import minimize_batch
    sp = _scipy()
    y = two_exp_data(k, problem=problem)
    x0 = np.broadcast_to(problem.x0, (k, 5))
    bounds = (FIT_LOWER, FIT_UPPER)
    t = problem.t

    def objective(P, Y):
        return two_exp_numpy_rows(P, t, Y)

    def ours(fun=objective):
        return minimize_batch(fun, x0, args=(y,), bounds=bounds,
                              vectorized=True)
    sub = min(k, scipy_fits)
    pairs = list(zip(FIT_LOWER, FIT_UPPER))

    def scipy_loop():
        return [sp(two_exp_numpy, problem.x0, args=(t, y[i]), bounds=pairs)
                for i in range(sub)]
    res, ref = ours(), scipy_loop()
    t_batch, t_loop = compare([ours, scipy_loop], total, blocks=3)
    cpu_batch, cpu_loop = compare([ours, scipy_loop], total, blocks=3,
                                  clock=time.process_time)
    timed = _TimedObjective(objective)
    cpu_solve, cpu_objective = np.inf, 0.0
    for _ in range(5):  # the run with the least time outside the objective
        timed.reset()
        t0 = time.process_time()
        ours(timed)
        cpu = time.process_time() - t0
        if cpu - timed.seconds < cpu_solve - cpu_objective:
            cpu_solve, cpu_objective = cpu, timed.seconds
    f_ref = np.array([r[1] for r in ref])
    good = int(np.sum(res.fun[:sub] <= f_ref * (1 + 1e-6) + 1e-12))
    return VectorizedBatchTimes(k, t_batch, t_loop / sub, cpu_batch,
                                cpu_loop / sub, timed.rounds,
                                timed.evaluations, cpu_solve, cpu_objective,
                                good, sub)


PeerTimes = namedtuple(
    "PeerTimes", "k t_ours t_peer same_iterations close worst_f_ratio")


def botorch_peer(k=2000, total=4.0, problem=FIT):
    """Our ``lbfgsb_numba.botorch.fmin_l_bfgs_b_batched`` against BoTorch's
    own (``botorch.optim.batched_lbfgs_b``, which steps scipy's L-BFGS-B
    once per problem per round in Python) on k fits of ``problem``, with
    the same numpy objective vectorised over the active rows, in
    alternating blocks of wall time.  Returns ``PeerTimes``: seconds per
    batch each, how many problems took the same nit and nfev, how many
    ended within 1e-6 (relative) of the peer's x, and the largest ratio of
    our f to the peer's; None when botorch is not installed."""
    try:
        from botorch.optim.batched_lbfgs_b import (
            fmin_l_bfgs_b_batched as peer)
    except ImportError:
        return None
    from lbfgsb_numba.botorch import fmin_l_bfgs_b_batched as ours
    y = two_exp_data(k, problem=problem)
    x0 = np.ascontiguousarray(np.broadcast_to(problem.x0, (k, 5)))
    bounds = list(zip(FIT_LOWER, FIT_UPPER))
    t = problem.t

    def func(X, batch_indices):
        return two_exp_numpy_rows(X, t, y[batch_indices])

    def run(solver):
        return solver(func, x0.copy(), bounds=bounds,
                      pass_batch_indices=True)
    mine, theirs = run(ours), run(peer)
    t_ours, t_peer = compare([lambda: run(ours), lambda: run(peer)], total,
                             blocks=3)
    same = sum(a.nit == b.nit and a.nfev == b.nfev
               for a, b in zip(mine[2], theirs[2]))
    scale = np.maximum(np.abs(theirs[0]), 1e-12)
    close = int(np.sum(np.all(np.abs(mine[0] - theirs[0]) <= 1e-6 * scale,
                              axis=1)))
    worst = float(np.max(mine[1] / theirs[1]))
    return PeerTimes(k, t_ours, t_peer, int(same), close, worst)


JaxoptTimes = namedtuple(
    "JaxoptTimes", "k t_ours t_peer mean_iterations_peer as_good")


def jaxopt_peer(k=2000, total=6.0, problem=FIT):
    """``minimize_batch`` with the @njit objective (one thread) against
    jaxopt's ``LBFGSB`` vmapped over the same k fits and jit-compiled
    (float64, the same memory 10 and gradient tolerance 1e-5, its own
    L-BFGS-B variant), in alternating blocks of wall time, compile
    excluded.  Returns ``JaxoptTimes``: seconds per batch each, jaxopt's
    mean iterations and how many of our fits end with f as low as
    jaxopt's (within 1e-6 relative); None when jax or jaxopt is not
    installed."""
    try:
        import jax
        import jaxopt
    except ImportError:
        return None
    from lbfgsb_numba import minimize_batch
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    y = two_exp_data(k, problem=problem)
    t_j, y_j = jnp.asarray(problem.t), jnp.asarray(y)

    def f(p, y_row):
        r = (p[0] * jnp.exp(-p[1] * t_j) + p[2] * jnp.exp(-p[3] * t_j)
             + p[4] - y_row)
        return jnp.dot(r, r)
    solver = jaxopt.LBFGSB(fun=f, maxiter=15000, tol=1e-5, history_size=10)
    box = (jnp.asarray(FIT_LOWER), jnp.asarray(FIT_UPPER))
    run = jax.jit(jax.vmap(
        lambda x, y_row: solver.run(x, bounds=box, y_row=y_row)))
    x0 = np.broadcast_to(problem.x0, (k, 5))
    x0_j = jnp.asarray(x0)
    t = np.broadcast_to(problem.t, (k, problem.t.size))

    def peer():
        out = run(x0_j, y_j)
        out.params.block_until_ready()
        return out

    def ours():
        return minimize_batch(two_exp_njit, x0, args=(t, y),
                              bounds=(FIT_LOWER, FIT_UPPER), parallel=False)
    theirs, mine = peer(), ours()  # compiles both
    t_ours, t_peer = compare([ours, peer], total, blocks=3)
    f_peer = np.asarray(jax.vmap(f)(theirs.params, y_j))
    as_good = int(np.sum(mine.fun <= f_peer * (1 + 1e-6) + 1e-12))
    return JaxoptTimes(k, t_ours, t_peer,
                       float(np.mean(np.asarray(theirs.state.iter_num))),
                       as_good)


def batch_solver_share(k=2000, total=3.0, problem=FIT):
    """``minimize_batch`` with the @njit objective on one thread
    (``parallel=False``) against the objective alone (``evaluate_fits``:
    the same number of evaluations per fit, no solver), in alternating
    blocks of CPU time.  Returns (t batch, t objective only, evaluations)."""
    from lbfgsb_numba import minimize_batch
    y = two_exp_data(k, problem=problem)
    t = np.broadcast_to(problem.t, (k, problem.t.size))
    x0 = np.broadcast_to(problem.x0, (k, 5))
    bounds = (FIT_LOWER, FIT_UPPER)

    def ours():
        return minimize_batch(two_exp_njit, x0, args=(t, y), bounds=bounds,
                              parallel=False)
    counts = ours().nfev
    x = np.ascontiguousarray(x0)
    evaluate_fits(x, t, y, counts)
    t_batch, t_objective = compare(
        [ours, lambda: evaluate_fits(x, t, y, counts)], total, blocks=3,
        clock=time.process_time)
    return t_batch, t_objective, int(counts.sum())


_LARGE_SCRIPT = textwrap.dedent("""
    import json, sys, time, tracemalloc
    import numpy as np
    sys.path.insert(0, sys.argv[5])
    from benchmarks.problems import large_problem
    n, solver, bounded, maxiter = (int(sys.argv[1]), sys.argv[2],
                                   sys.argv[3] == "1", int(sys.argv[4]))
    if solver == "ours":
        from lbfgsb_numba import fmin_l_bfgs_b
        fmin_l_bfgs_b(lambda x: (float(x @ x), 2 * x), np.ones(3),
                      bounds=(np.zeros(3), np.ones(3)))  # load compiled code
    else:
        from scipy.optimize import fmin_l_bfgs_b
    fg, x0, lower, upper = large_problem(n)

    def solve():
        # the bounds in the form each solver takes (scipy: pairs or Bounds)
        if solver == "ours":
            bounds = (lower, upper) if bounded else None
        else:
            bounds = list(zip(lower, upper)) if bounded else None
        return fmin_l_bfgs_b(fg, x0, bounds=bounds, maxiter=maxiter)
    t0 = time.perf_counter()
    x, f, d = solve()
    dt = time.perf_counter() - t0
    nit, nfev = d["nit"], d["funcalls"]
    del x, d
    tracemalloc.start()           # memory in a second, untimed run:
    solve()                       # peak of numpy/Python allocations
    peak = tracemalloc.get_traced_memory()[1]
    print(json.dumps({"time": dt, "peak_mb": peak / 2**20,
                      "nit": nit, "nfev": nfev, "f": f}))
""")


def large(n=10**6, bounded=True, maxiter=30, repeat=2):
    """{'ours': {...}, 'scipy': {...}} from fresh processes (best time of
    ``repeat``; peak memory over the baseline, in MB)."""
    out = {}
    for _ in range(repeat):
        for solver in ("ours", "scipy"):
            run = subprocess.run(
                [sys.executable, "-c", _LARGE_SCRIPT, str(n), solver,
                 "1" if bounded else "0", str(maxiter), ASV_DIR],
                capture_output=True, text=True, check=True)
            r = json.loads(run.stdout.strip().splitlines()[-1])
            if solver not in out or r["time"] < out[solver]["time"]:
                out[solver] = r
    return out


_FIRST_SCRIPT = textwrap.dedent("""
    import time
    t0 = time.perf_counter()
    import numpy as np
    from lbfgsb_numba import fmin_l_bfgs_b
    fmin_l_bfgs_b(lambda x: (float(x @ x), 2 * x), np.ones(3),
                  bounds=[(0.5, 2)] * 3)
    print(time.perf_counter() - t0)
""")

_FIRST_COMPILED_SCRIPT = textwrap.dedent("""
    import sys, time
    t0 = time.perf_counter()
    import numpy as np
    from lbfgsb_numba import fmin_l_bfgs_b
    sys.path.insert(0, sys.argv[1])
    from benchmarks.problems import rosenbrock_njit, rosenbrock_start
    fmin_l_bfgs_b(rosenbrock_njit, rosenbrock_start(4))
    print(time.perf_counter() - t0)
""")


def first_solve(compiled=False, cold=False, precompiled=True):
    """Seconds for import + first solve in a fresh process: with a warm
    cache (after one run that fills it), or with an empty Numba cache
    directory when ``cold``: the kernels compiled at install are loaded,
    or, with ``precompiled=False`` (``LBFGSB_NUMBA_PRECOMPILED=0``),
    everything is compiled."""
    env = dict(os.environ)
    if not precompiled:
        env["LBFGSB_NUMBA_PRECOMPILED"] = "0"
    script = _FIRST_COMPILED_SCRIPT if compiled else _FIRST_SCRIPT
    if cold:
        import tempfile
        env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="lbfgsb-cold-")
    else:
        subprocess.run([sys.executable, "-c", script, ASV_DIR], env=env,
                       capture_output=True, check=True)
    run = subprocess.run([sys.executable, "-c", script, ASV_DIR], env=env,
                         capture_output=True, text=True, check=True)
    return float(run.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ report


def machine():
    import numba
    try:
        import scipy
        scipy_version = scipy.__version__
    except ImportError:
        scipy_version = "not installed"
    return (f"{platform.platform()}, {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores; Python {platform.python_version()}, "
            f"numpy {np.__version__}, numba {numba.__version__}, "
            f"scipy {scipy_version}")


def _geomean(values):
    return float(np.exp(np.mean(np.log(values))))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes and fewer repeats")
    parser.add_argument("--plot", metavar="PATH",
                        help="save a PNG of time versus n (needs matplotlib)")
    parser.add_argument("--compile-cost", action="store_true",
                        help="only the compile-cost table")
    parser.add_argument("--peers", action="store_true",
                        help="only the comparison with the peers that are "
                             "installed (BoTorch, jaxopt)")
    args = parser.parse_args(argv)
    quick = args.quick
    if args.compile_cost:
        print_compile_costs(repeat=2 if quick else 3)
        return
    if args.peers:
        print_peers(quick)
        return
    total = 0.4 if quick else 1.5  # seconds of timing per row
    print(f"lbfgsb_numba vs scipy L-BFGS-B on {machine()}\n")

    rows = python_path(total=total)
    print("Python path, chained Rosenbrock, numpy objective (f, g):")
    print(f"{'n':>6} {'nit ours':>9} {'nit scipy':>10} {'ours ms':>9} "
          f"{'scipy ms':>9} {'ours/scipy':>11}")
    for n, nit, nit_ref, nfev, t, t_ref in rows:
        print(f"{n:6d} {nit:9d} {nit_ref:10d} {t * 1e3:9.3f} {t_ref * 1e3:9.3f}"
              f" {t / t_ref:11.2f}")

    crows = compiled_path(total=total)
    print("\nCompiled path (@njit objective) vs scipy with the numpy "
          "objective:")
    print(f"{'n':>6} {'nit':>5} {'ours ms':>9} {'scipy ms':>9} "
          f"{'speedup':>8} {'us/iter':>8}")
    for n, nit, nfev, t, t_ref in crows:
        print(f"{n:6d} {nit:5d} {t * 1e3:9.3f} {t_ref * 1e3:9.3f} "
              f"{t_ref / t:7.1f}x {t / nit * 1e6:8.2f}")
    print(f"geometric mean speedup: "
          f"{_geomean([r[4] / r[3] for r in crows]):.1f}x")

    for label, problem in (("t in [0, 10]", FIT),
                           ("t in [0, 4], ill-conditioned", FIT_SHORT)):
        k, t_batch, t_fit_ref, good, better, sub, nfev, nit = batch(
            k=500 if quick else 2000, scipy_fits=50 if quick else 200,
            total=1.5 if quick else 6.0, problem=problem)
        print(f"\nBatch: {k} bounded 5-parameter exponential fits (40 "
              f"points, {label}), mean nit {nit:.1f}, mean nfev {nfev:.1f}:")
        print(f"  minimize_batch {t_batch * 1e3:.1f} ms "
              f"({t_batch / k * 1e6:.1f} us per fit); scipy loop "
              f"{t_fit_ref * 1e3:.3f} ms per fit; speedup "
              f"{t_fit_ref / (t_batch / k):.0f}x;\n  of {sub} fits compared "
              f"with scipy's: {good} as good (f within 1e-6 relative or "
              f"lower), {better} better, {sub - good} worse")

    print_vectorized_batch(quick)
    print_peers(quick)

    n_large = 10**5 if quick else 10**6
    print(f"\nLarge n = {n_large}, numpy objective, maxiter 30 "
          f"(fresh process each):")
    for bounded in (True, False):
        res = large(n_large, bounded=bounded, repeat=1 if quick else 2)
        o, s = res["ours"], res["scipy"]
        print(f"  {'with' if bounded else 'without'} bounds: ours "
              f"{o['time']:.2f} s, scipy {s['time']:.2f} s, ratio "
              f"{o['time'] / s['time']:.2f}; peak memory ours "
              f"{o['peak_mb']:.0f} MB, scipy {s['peak_mb']:.0f} MB, ratio "
              f"{o['peak_mb'] / max(s['peak_mb'], 1e-9):.2f}; nit "
              f"{o['nit']}/{s['nit']}")

    ask_tell_report(quick)

    print(f"\nFirst solve in a fresh process (import included, warm cache): "
          f"Python path {first_solve():.2f} s, compiled path "
          f"{first_solve(compiled=True):.2f} s")
    print_compile_costs(repeat=2 if quick else 3)
    from lbfgsb_numba import precompiled
    if precompiled.available():
        print(f"Empty Numba cache, kernels compiled at install: Python path "
              f"{first_solve(cold=True):.2f} s, compiled path "
              f"{first_solve(compiled=True, cold=True):.2f} s")
    else:
        print("Empty Numba cache, kernels compiled at install: not built "
              "here (lbfgsb-numba-precompile)")
    if not quick:
        print(f"Empty Numba cache, nothing precompiled (compile everything): "
              f"Python path {first_solve(cold=True, precompiled=False):.2f} "
              f"s, compiled path "
              f"{first_solve(compiled=True, cold=True, precompiled=False):.2f}"
              f" s")

    if args.plot:
        plot(args.plot, quick)


def print_peers(quick=False):
    """The BoTorch drop-in against BoTorch itself, and minimize_batch
    against jaxopt's LBFGSB, for those installed."""
    r = botorch_peer(k=500 if quick else 2000, total=1.5 if quick else 6.0)
    if r is None:
        print("\nBoTorch's fmin_l_bfgs_b_batched: not installed here (pip "
              "install botorch), not compared")
    else:
        print(f"\nBoTorch's fmin_l_bfgs_b_batched against ours (the same "
              f"call, {r.k} fits, numpy objective on the active rows):\n  "
              f"ours {r.t_ours * 1e3:.1f} ms, BoTorch {r.t_peer * 1e3:.1f} "
              f"ms per batch, speedup {r.t_peer / r.t_ours:.1f}x; same nit "
              f"and nfev in {r.same_iterations}/{r.k}, x within 1e-6 in "
              f"{r.close}/{r.k}, largest f ours/BoTorch "
              f"{r.worst_f_ratio:.6f}")
    j = jaxopt_peer(k=500 if quick else 2000, total=3.0 if quick else 8.0)
    if j is None:
        print("jaxopt's LBFGSB: not installed here (pip install jax jaxopt), "
              "not compared")
        return
    print(f"jaxopt's LBFGSB, vmapped and jit-compiled (float64), against "
          f"minimize_batch with the @njit objective (one thread), {j.k} "
          f"fits:\n  ours {j.t_ours * 1e3:.1f} ms, jaxopt "
          f"{j.t_peer * 1e3:.1f} ms per batch (compile excluded), speedup "
          f"{j.t_peer / j.t_ours:.0f}x; jaxopt's mean nit "
          f"{j.mean_iterations_peer:.1f}; our f as low as jaxopt's in "
          f"{j.as_good}/{j.k}")


def print_vectorized_batch(quick=False):
    """The vectorised-objective batch (``minimize_batch(vectorized=True)``)
    against a loop of scipy, the solver's own time per round, and the
    solver's share with an @njit objective."""
    r = batch_vectorized(k=500 if quick else 2000,
                         scipy_fits=50 if quick else 200,
                         total=1.5 if quick else 6.0)
    solver = r.cpu_solve - r.cpu_objective
    budget = 20e-6 * r.rounds + 1e-6 * r.evaluations
    print(f"\nBatch, numpy objective vectorised over the batch "
          f"(minimize_batch(vectorized=True)): {r.k} fits of the well-posed "
          f"batch, {r.rounds} rounds, {r.evaluations} evaluations:")
    print(f"  wall: ours {r.t_batch * 1e3:.1f} ms ({r.t_batch / r.k * 1e6:.1f}"
          f" us per fit); scipy loop (per-fit numpy objective) "
          f"{r.t_fit_scipy * 1e3:.3f} ms per fit; speedup "
          f"{r.t_fit_scipy / (r.t_batch / r.k):.0f}x")
    print(f"  CPU:  ours {r.cpu_batch * 1e3:.1f} ms "
          f"({r.cpu_batch / r.k * 1e6:.1f} us per fit); scipy loop "
          f"{r.cpu_fit_scipy * 1e3:.3f} ms per fit; speedup "
          f"{r.cpu_fit_scipy / (r.cpu_batch / r.k):.0f}x; {r.good} of "
          f"{r.sub} fits as good as scipy's")
    print(f"  CPU inside the objective {r.cpu_objective * 1e3:.1f} ms "
          f"({r.cpu_objective / r.cpu_solve:.0%} of the solve); the solver's "
          f"own {solver * 1e3:.1f} ms = {solver / r.rounds * 1e6:.0f} us per "
          f"round, {solver / r.evaluations * 1e6:.2f} us per active problem;"
          f" budget (20 us per round + 1 us per active problem) "
          f"{budget * 1e3:.1f} ms, used {solver / budget:.0%}")
    t_batch, t_obj, evaluations = batch_solver_share(
        k=500 if quick else 2000, total=1.0 if quick else 3.0)
    print(f"  @njit objective, one thread (CPU): minimize_batch "
          f"{t_batch * 1e3:.1f} ms, the objective alone ({evaluations} "
          f"evaluations) {t_obj * 1e3:.1f} ms; solver "
          f"{(t_batch - t_obj) / evaluations * 1e6:.2f} us per evaluation, "
          f"objective {t_obj / evaluations * 1e6:.2f} us; batch / objective "
          f"{t_batch / t_obj:.2f}")


def print_compile_costs(repeat=3):
    """The compile-cost table (``compile_cost``): first call with a new
    objective, and in a second process with the user's module cached."""
    from benchmarks.compile_cost import measure_all
    print(f"\nCompile cost: first call in a fresh process, warm package "
          f"cache, minimum of {repeat} processes, elapsed (CPU) seconds;\n"
          f"new: objective defined in the script; cached: user's "
          f"functions in a cache=True module, second process:")
    print(f"{'':<46} {'new':>13} {'cached':>13}")
    for label, new, cached in measure_all(repeat):
        cells = [f"{t[0]:6.2f} ({t[1]:4.2f})" if t else f"{'-':>13}"
                 for t in (new, cached)]
        print(f"{label:<46} {cells[0]:>13} {cells[1]:>13}")


def plot(path, quick=False):
    """PNG of solve time versus n (chained Rosenbrock) for both solvers."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    ns = (2, 10, 100, 1000) if quick else (2, 10, 100, 1000, 10000)
    py = python_path(ns, total=0.5)
    co = compiled_path(ns, total=0.5)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(ns, [r[5] for r in py], "o-", label="scipy (numpy objective)")
    ax.loglog(ns, [r[4] for r in py], "s-",
              label="lbfgsb_numba, Python path (numpy objective)")
    ax.loglog(ns, [r[3] for r in co], "^-",
              label="lbfgsb_numba, compiled path (@njit objective)")
    ax.set_xlabel("n (chained Rosenbrock)")
    ax.set_ylabel("time per solve [s]")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"plot saved to {path}")


# ------------------------------------------------ ask/tell and warm starts


def ask_tell_solve(fg, x0, bounds=None, **options):
    """One solve by ``LbfgsbSolver`` ask/tell with ``fg(x) -> (f, g)``;
    returns the solver's result."""
    from lbfgsb_numba import LbfgsbSolver
    solver = LbfgsbSolver(x0, bounds, **options)
    ask, tell = solver.ask, solver.tell
    while not solver.done:
        tell(*fg(ask()))
    return solver.result()


def recorded(fg):
    """(fg wrapper that records its values, the list they go to)."""
    values = []

    def record(x):
        out = fg(x)
        values.append(out)
        return out
    return record, values


def replay(values):
    """An objective that returns ``values`` in order, whatever x is."""
    nxt = iter(values).__next__
    return lambda x: nxt()


def ask_tell_cost(n=10, total=1.0):
    """(nfev, our own cost per evaluation, scipy's own cost per evaluation)
    in seconds, for chained Rosenbrock: each solver is timed on a replay of
    the values its own solve received (the same iterates, the objective
    costing nothing), so that only the solver's own work is timed: ours is
    the solver's construction, ask, tell and the solver step; scipy's is
    fmin_l_bfgs_b's loop (its objective wrapper and setulb).  The fastest
    whole solve of each, divided by its evaluations."""
    sp = _scipy()
    x0 = rosenbrock_start(n)
    record, ours = recorded(rosenbrock_numpy)
    ask_tell_solve(record, x0)
    record_ref, theirs = recorded(rosenbrock_numpy)
    sp(record_ref, x0)
    # a solve takes ~0.2 ms: alternate blocks of single solves (with a
    # pause after each block, see ``compare``) and keep the fastest solve
    # of each, which a busy machine disturbs least
    fns = (lambda: ask_tell_solve(replay(ours), x0),
           lambda: sp(replay(theirs), x0))
    best = [np.inf, np.inf]
    blocks = 20
    for _ in range(blocks):
        for i, fn in enumerate(fns):
            end = time.perf_counter() + total / blocks / 2
            while time.perf_counter() < end:
                t0 = time.perf_counter()
                fn()
                best[i] = min(best[i], time.perf_counter() - t0)
            time.sleep(0.05)
    t_ours, t_ref = best
    return len(ours), t_ours / len(ours), t_ref / len(theirs)

def warm_start_savings(data=None, options=None, fun=two_exp_njit,
                       problem=FIT):
    """Solve a drifting sequence of fits twice with ``minimize``, each
    solve from the previous solution: cold (new memory) and warm
    (``warm_start`` = the previous result).  Returns (nfev cold, nfev
    warm) per solve after the first, as arrays, and the largest relative
    difference of the final f."""
    from lbfgsb_numba import minimize
    data = drifting_fit_data(problem=problem) if data is None else data
    bounds = (FIT_LOWER, FIT_UPPER)
    x_cold = x_warm = problem.x0
    previous = None
    cold, warm, diff = [], [], 0.0
    for y in data:
        rc = minimize(fun, x_cold, args=(problem.t, y), jac=True,
                      bounds=bounds, options=options)
        rw = minimize(fun, x_warm, args=(problem.t, y), jac=True,
                      bounds=bounds, options=options, warm_start=previous)
        cold.append(rc.nfev)
        warm.append(rw.nfev)
        diff = max(diff, abs(rw.fun - rc.fun) / max(abs(rc.fun), 1e-300))
        x_cold, x_warm, previous = rc.x, rw.x, rw
    return np.array(cold[1:]), np.array(warm[1:]), diff


def ask_tell_report(quick=False):
    """Print the ask/tell and warm-start rows of the bench."""
    nfev, ours, ref = ask_tell_cost(10, total=0.4 if quick else 1.5)
    print(f"\nAsk/tell, chained Rosenbrock n = 10 ({nfev} evaluations, "
          f"objective values replayed):\n  solver's own cost per "
          f"evaluation: ours (ask + tell) {ours * 1e6:.2f} us, scipy "
          f"fmin_l_bfgs_b {ref * 1e6:.2f} us, ratio {ours / ref:.2f}")
    for label, options in (("default tolerances", None),
                           ("ftol 1e-12, gtol 1e-8",
                            {"ftol": 1e-12, "gtol": 1e-8})):
        cold, warm, diff = warm_start_savings(options=options)
        print(f"Warm start, {cold.size} drifting 5-parameter fits ({label}),"
              f" each from the previous solution:\n  mean nfev cold "
              f"{cold.mean():.1f}, warm {warm.mean():.1f} "
              f"({1 - warm.sum() / cold.sum():.0%} fewer); final f within "
              f"{diff:.0e} relative")


if __name__ == "__main__":
    main()
