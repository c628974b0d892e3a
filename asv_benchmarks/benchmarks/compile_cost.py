"""Compile cost of the compiled entries for a new objective.

Each measurement runs a small script in a fresh Python process (after one
run that warms the package's own Numba cache) and times one call, from the
call to its return: the first call with an objective defined in the script
(so Numba cannot cache it, and everything that depends on it is compiled),
or, for the ``cached_*`` rows, a second process calling functions of a user
module compiled with ``cache=True``.  The minimum over ``repeat`` processes
is kept (the machine may be shared).  Used by the bench command
(``python -m benchmarks.bench``), the asv suite and tests/test_compile_cost.py.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap

# A 2-parameter curve y = a exp(-b t) fitted by least squares; x is (a, b).
_OBJECTIVE = """
import time
import numpy as np
from numba import njit, prange
from lbfgsb_numba import fmin_l_bfgs_b, minimize_batch, njit_minimize

@njit{decorator_args}
def fit(x, t, y):
    f = 0.0
    g = np.zeros(2)
    for i in range(t.shape[0]):
        e = np.exp(-x[1] * t[i])
        r = x[0] * e - y[i]
        f += r * r
        g[0] += 2.0 * r * e
        g[1] -= 2.0 * r * x[0] * t[i] * e
    return f, g

@njit{decorator_args}
def fit_one(x):
    return fit(x, T, Y)

@njit{decorator_args}
def solve_one(x0, lower, upper):
    return njit_minimize(fit_one, x0, lower, upper).fun

@njit(parallel=True{parallel_args})
def solve_many(starts, lower, upper):
    out = np.empty(starts.shape[0])
    for i in prange(starts.shape[0]):
        out[i] = njit_minimize(fit_one, starts[i], lower, upper).fun
    return out

T = np.linspace(0.0, 4.0, 20)
Y = 2.0 * np.exp(-0.7 * T)
K = 100
X0 = np.tile([1.0, 1.0], (K, 1))
TS = np.broadcast_to(T, (K, T.size))
YS = Y * np.linspace(0.5, 1.5, K)[:, None]
LOWER = np.array([0.0, 0.0])
UPPER = np.array([10.0, 10.0])
"""

# what each row times: one call
CALLS = {
    "fmin_l_bfgs_b": "fmin_l_bfgs_b(fit, X0[0], args=(T, Y))",
    "minimize_batch_serial": "minimize_batch(fit, X0, args=(TS, YS), "
                             "bounds=(LOWER, UPPER), parallel=False)",
    "minimize_batch_parallel": "minimize_batch(fit, X0, args=(TS, YS), "
                               "bounds=(LOWER, UPPER), parallel=True)",
    "njit_minimize_python": "njit_minimize(fit_one, X0[0], LOWER, UPPER)",
    "njit_minimize_in_njit": "solve_one(X0[0], LOWER, UPPER)",
    "njit_minimize_in_prange": "solve_many(X0, LOWER, UPPER)",
}
LABELS = {
    "fmin_l_bfgs_b": "fmin_l_bfgs_b / minimize, @njit objective",
    "minimize_batch_serial": "minimize_batch, 100 fits, parallel=False",
    "minimize_batch_parallel": "minimize_batch, 100 fits, parallel=True",
    "njit_minimize_python": "njit_minimize called from Python",
    "njit_minimize_in_njit": "njit_minimize inside the user's @njit",
    "njit_minimize_in_prange": "njit_minimize inside @njit(parallel) prange",
}
# rows timed in a second process with the user's functions cached
CACHED = ("njit_minimize_in_njit", "njit_minimize_in_prange",
          "fmin_l_bfgs_b", "minimize_batch_parallel")

_TIMED = """
t0, c0 = time.perf_counter(), time.process_time()
{call}
print(time.perf_counter() - t0, time.process_time() - c0)
"""

_CACHED_SCRIPT = """
import sys, time
sys.path.insert(0, {directory!r})
from user_module import *
t0, c0 = time.perf_counter(), time.process_time()
{call}
print(time.perf_counter() - t0, time.process_time() - c0)
"""


def _run(script, env=None):
    run = subprocess.run([sys.executable, "-c", script], env=env,
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"compile-cost script failed:\n{run.stderr}")
    wall, cpu = run.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def script_for(name, cached=False, directory=None):
    """The script that times row ``name`` (printing seconds last)."""
    if not cached:
        return textwrap.dedent(_OBJECTIVE.format(
            decorator_args="", parallel_args="")) + _TIMED.format(
                call=CALLS[name])
    return _CACHED_SCRIPT.format(directory=directory, call=CALLS[name])


def user_module_source():
    """The user module of the cached rows: every function cache=True."""
    return textwrap.dedent(_OBJECTIVE.format(
        decorator_args="(cache=True)", parallel_args=", cache=True"))


def measure(name, cached=False, repeat=3):
    """(wall, cpu): seconds of the first call of row ``name`` in a fresh
    process, elapsed and of CPU time of the process (all its threads; on a
    busy machine the better estimate of the elapsed time on an idle one),
    each the minimum over ``repeat`` processes (after one untimed warm-up
    run that fills the package's cache and, when ``cached``, the user
    module's)."""
    with tempfile.TemporaryDirectory(prefix="lbfgsb-compile-") as directory:
        if cached:
            with open(os.path.join(directory, "user_module.py"), "w") as fh:
                fh.write(user_module_source())
        script = script_for(name, cached, directory)
        _run(script)
        runs = [_run(script) for _ in range(repeat)]
        return min(r[0] for r in runs), min(r[1] for r in runs)


def measure_all(repeat=3):
    """[(label, (wall, cpu) with a new objective, (wall, cpu) in a second
    process with the user's module cached, or None)] for every row."""
    rows = []
    for name in CALLS:
        cached = measure(name, True, repeat) if name in CACHED else None
        rows.append((LABELS[name], measure(name, False, repeat), cached))
    return rows
