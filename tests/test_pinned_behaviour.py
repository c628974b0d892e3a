"""Pins the solver's decisions bit for bit, so that refactors can prove
they changed nothing: for every oracle problem, on the Python path, the
compiled path, ``njit_minimize``, ``minimize_batch`` and ask/tell, the
SHA-256 of every accepted iterate (every point evaluated, for ask/tell), of x and f at the end, and nit, nfev and
the message are compared with ``pinned_behaviour.json``.

The file is written by ``python tests/test_pinned_behaviour.py --write``;
rewrite it only for a deliberate change of behaviour, and say so in the
commit message.
"""
import hashlib
import json
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
import lbfgsb_numba as lb  # noqa: E402
from oracle_problems import (PROBLEMS, fit_curves, lower_upper,  # noqa: E402
                             python_wrapper)

PINNED = os.path.join(os.path.dirname(__file__), "pinned_behaviour.json")

# The whole range of the suite, with the 10^5 problem left to the oracle
# tests (it adds seconds and no decision the 10^4 one does not make).
CASES = [p for p in PROBLEMS if p.x0.size <= 10000]
OPTION_SETS = {"default": {}, "m3_tight": {"maxcor": 3, "ftol": 1e-13,
                                           "gtol": 1e-9}}


def _digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()[:24]


def _record(res, iterates=None):
    rec = {"x": _digest(res.x), "fun": float(res.fun).hex(),
           "nit": int(res.nit), "nfev": int(res.nfev),
           "message": str(res.message)}
    if iterates is not None:
        rec["iterates"] = _digest(*iterates)
    return rec


def python_path(p, opts):
    iterates = []
    res = lb.minimize(python_wrapper(p.fg), p.x0.copy(), args=p.args,
                      jac=True, bounds=p.bounds, options=dict(opts),
                      callback=lambda xk: iterates.append(xk.copy()))
    return _record(res, iterates)


def finite_difference_path(p, opts):
    if p.x0.size > 100:
        return None  # n evaluations per gradient: the small problems suffice
    res = lb.minimize(python_wrapper(lambda x, *a: p.fg(x, *a)[0]),
                      p.x0.copy(), args=p.args, bounds=p.bounds,
                      options=dict(opts))
    return _record(res)


def compiled_path(p, opts):
    res = lb.minimize(p.fg, p.x0.copy(), args=p.args, jac=True,
                      bounds=p.bounds, options=dict(opts))
    return _record(res)


def njit_path(p, opts):
    lo, up = lower_upper(p.bounds, p.x0.size)
    m = opts.get("maxcor", 10)
    factr = opts.get("ftol", 2.2204460492503131e-09) / np.finfo(float).eps
    r = lb.njit_minimize(p.fg, p.x0.copy(), lo, up, p.args, m, factr,
                         opts.get("gtol", 1e-5))
    return {"x": _digest(r.x), "fun": float(r.fun).hex(), "nit": int(r.nit),
            "nfev": int(r.nfev), "status": int(r.status)}


def ask_tell_path(p, opts):
    s = lb.LbfgsbSolver(p.x0.copy(), bounds=p.bounds, **opts)
    points = []
    while not s.done:
        x = s.ask()
        points.append(x.copy())
        s.tell(*p.fg(x, *p.args))
    return _record(s.result(), points)


def batch_path(opts):
    from benchmarks.problems import two_exp_njit
    t, y = fit_curves(24, seed=3)
    x0 = np.tile([1.0, 1.0, 0.5, 0.1, 0.0], (24, 1))
    out = lb.minimize_batch(two_exp_njit, x0, (t, y),
                            bounds=[(0, 5), (0, 5), (0, 5), (0, 2), (-1, 1)],
                            parallel=False, **opts)
    return {"x": _digest(out.x), "fun": _digest(out.fun),
            "nit": out.nit.tolist(), "nfev": out.nfev.tolist(),
            "status": out.status.tolist()}


PATHS = {"python": python_path, "2-point": finite_difference_path,
         "compiled": compiled_path,
         "njit_minimize": njit_path, "ask_tell": ask_tell_path}


def compute():
    out = {}
    for opt_name, opts in OPTION_SETS.items():
        for p in CASES:
            for path_name, path in PATHS.items():
                out[f"{opt_name}/{p.name}/{path_name}"] = path(p, opts)
        out[f"{opt_name}/batch"] = batch_path(opts)
    return out


def _pinned():
    with open(PINNED) as fh:
        return json.load(fh)


@pytest.mark.parametrize("opt_name", list(OPTION_SETS))
@pytest.mark.parametrize("path_name", list(PATHS))
def test_decisions_are_pinned(path_name, opt_name):
    pinned = _pinned()
    path, opts = PATHS[path_name], OPTION_SETS[opt_name]
    for p in CASES:
        key = f"{opt_name}/{p.name}/{path_name}"
        assert path(p, opts) == pinned[key], key


@pytest.mark.parametrize("opt_name", list(OPTION_SETS))
def test_batch_decisions_are_pinned(opt_name):
    assert batch_path(OPTION_SETS[opt_name]) == _pinned()[f"{opt_name}/batch"]


if __name__ == "__main__" and "--write" in sys.argv:
    with open(PINNED, "w") as fh:
        json.dump(compute(), fh, indent=1, sort_keys=True)
    print("wrote", PINNED)
