"""Build the file of kernels compiled ahead of time (``precompiled``):
``lbfgsb-numba-precompile [PATH]``, run by ``setup.py`` at install.

In a fresh process with an empty, temporary Numba cache, ``_workload``
solves a few small problems through every path the package drives itself,
and every specialisation Numba compiles for the package's own functions is
recorded (``precompiled.PrecompiledFirst.save_overload``) and written with
the manifest of this process to ``precompiled.ARTIFACT``.
"""
from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

from .first_use import stay_quiet
from .precompiled import (ARTIFACT, ENV_SWITCH, PACKAGE_DIR, manifest,
                          recording)


def _workload() -> None:
    """Call every kernel entry that the package calls itself, with the
    argument types it uses (so each specialisation gets compiled)."""
    import numpy as np

    from numba import njit

    from . import LbfgsbSolver, fmin_l_bfgs_b, minimize, njit_minimize
    from .batch import minimize_batch
    from .batch_ask_tell import BatchSolver
    from .entries import compiled_entries

    target = np.array([1.5, -0.5, 2.0])

    @njit
    def fg_compiled(x):
        r = x - target
        return (r * r).sum(), 2.0 * r

    def fg(x):
        r = x - target
        return float(r @ r), 2.0 * r

    def f_only(x):  # also takes complex x (jac="cs")
        r = x - target
        return r @ r

    x0 = np.zeros(3)
    bounds = [(0.0, 1.0), (None, 0.0), (-1.0, None)]
    first = minimize(fg, x0, jac=True, bounds=bounds, method="L-BFGS-B")
    minimize(fg, x0, jac=True)
    minimize(fg, x0, jac=True, bounds=bounds, warm_start=first)
    minimize(f_only, x0, bounds=bounds)
    minimize(f_only, x0, jac="3-point", bounds=bounds)
    minimize(f_only, x0, jac="cs")
    fmin_l_bfgs_b(f_only, x0, approx_grad=True, bounds=bounds)
    njit_minimize(fg_compiled, x0, np.array([0.0, -np.inf, -1.0]),
                  np.array([1.0, 0.0, np.inf]))

    solver = LbfgsbSolver(x0, bounds=bounds)
    while not solver.done:
        solver.tell(*fg(solver.ask()))
        if solver.nfev == 2:
            solver = LbfgsbSolver.from_state(solver.state())
    solver.result()

    def batch_fg(xs):
        r = xs - target
        return (r * r).sum(axis=1), 2.0 * r

    xs0 = np.zeros((4, 3))
    minimize_batch(batch_fg, xs0, bounds=bounds, vectorized=True)
    batch = BatchSolver(xs0, bounds=bounds)
    while not batch.done:
        rows, points = batch.ask()
        batch.tell(*batch_fg(points))
    batch.result()
    compiled_entries()


def build(path: Path = ARTIFACT) -> dict:
    """Compile the kernels (``_workload``) and write them to ``path``.
    Run in a fresh process with an empty Numba cache (``main`` does), so
    that everything is compiled here.  Returns the manifest."""
    stay_quiet()
    recording["active"] = True
    try:
        _workload()
    finally:
        recording.pop("active")
    entries = dict(recording)
    recording.clear()
    stored = {"manifest": manifest(), "entries": entries}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as file:
        pickle.dump(stored, file, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(partial, path)
    return stored["manifest"]


def main(argv: list[str] | None = None) -> int:
    """``lbfgsb-numba-precompile [PATH]``: build the file of
    precompiled kernels (default: ``ARTIFACT``), compiling in a fresh
    process with a temporary, empty Numba cache."""
    import subprocess
    import tempfile
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else ARTIFACT
    if os.environ.get("_LBFGSB_NUMBA_BUILDING") == "1":
        os.environ[ENV_SWITCH] = "0"
        build(path)
        return 0
    with tempfile.TemporaryDirectory() as cache_dir:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir,
                   _LBFGSB_NUMBA_BUILDING="1", **{ENV_SWITCH: "0"})
        env["PYTHONPATH"] = os.pathsep.join(
            [str(PACKAGE_DIR.parent)]
            + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        script = ("import sys; from lbfgsb_numba.build_kernels import main; "
                  "sys.exit(main(sys.argv[1:]))")
        return subprocess.call([sys.executable, "-c", script, str(path)],
                               env=env)
