"""Pins the solver's decisions bit for bit, so that refactors can prove
they changed nothing: for every oracle problem, on the Python path, the
compiled path, ``njit_minimize``, ``minimize_batch`` and ask/tell, the
SHA-256 of every accepted iterate (every point evaluated, for ask/tell), of x and f at the end, and nit, nfev and
the message are compared with ``pinned_behaviour.json``.

The file is written by ``python tests/test_pinned_behaviour.py --write``;
rewrite it only for a deliberate change of behaviour, and say so in the
commit message.

Two things make bits depend on the machine, and the pins keep them apart:

* numpy's array exp and libm's exp pick SIMD or FMA code by CPU and library
  version.  So the two exponential fits read their data from
  ``pinned_inputs.npz`` and evaluate exp with ``portable_exp`` (+, -, *, /
  and powers of two only), instead of the oracle suite's data and
  ``np.exp``.
* From ``vector_ops.VECTORISE_FROM`` variables on, the solver's inner
  products are reassociated for SIMD, in an order set by the processor's
  vector width (``vector_ops``' docstring).  Problems that large are pinned
  per machine kind, in ``pinned_simd.json`` under a fingerprint of that
  order (``simd_fingerprint``); on a machine with no pins of its own they
  are skipped, and ``--write`` adds its pins.  Every smaller problem is
  pinned once for all machines, in ``pinned_behaviour.json``.
"""
import hashlib
import json
import os
import sys

import numpy as np
import pytest
from numba import njit

sys.path.insert(0, os.path.dirname(__file__))
import lbfgsb_numba as lb  # noqa: E402
from lbfgsb_numba import vector_ops  # noqa: E402
from lbfgsb_numba.vector_ops import VECTORISE_FROM  # noqa: E402
from oracle_problems import (PROBLEMS, exp_fit, lower_upper,  # noqa: E402
                             python_wrapper)

PINNED = os.path.join(os.path.dirname(__file__), "pinned_behaviour.json")
INPUTS = np.load(os.path.join(os.path.dirname(__file__),
                              "pinned_inputs.npz"))

_LN2_HI = 6.93147180369123816490e-01  # ln 2 with 32 trailing zero bits
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_INV_LN2 = 1.44269504088896338700e+00
_INV_FACTORIALS = (1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120,
                   1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880,
                   1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600,
                   1.0 / 6227020800)


@njit(cache=True)
def portable_exp(x):
    """exp(x) for |x| < 700 with the same bits on every IEEE machine:
    x = k ln2 + r (ln 2 in two parts, so k ln2_hi is exact), exp(r) by its
    Taylor series to r^13 (|r| <= 0.35: truncation below 1e-17), times 2^k
    (exact)."""
    k = np.floor(x * _INV_LN2 + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = _INV_FACTORIALS[13]
    for j in range(12, -1, -1):
        p = p * r + _INV_FACTORIALS[j]
    return p * 2.0 ** int(k)


@njit(cache=True)
def exp_fit_portable(p, t, y):
    """``oracle_problems.exp_fit`` with ``portable_exp``."""
    f = 0.0
    g = np.zeros(3)
    for i in range(t.shape[0]):
        e = portable_exp(-p[1] * t[i])
        r = p[0] * e + p[2] - y[i]
        f += r * r
        g[0] += 2 * r * e
        g[1] += -2 * r * p[0] * t[i] * e
        g[2] += 2 * r
    return f, g


@njit(cache=True)
def two_exp_portable(p, t, y):
    """``benchmarks.problems.two_exp_njit`` with ``portable_exp``."""
    f = 0.0
    g = np.zeros(5)
    for i in range(t.shape[0]):
        e1 = portable_exp(-p[1] * t[i])
        e3 = portable_exp(-p[3] * t[i])
        r = p[0] * e1 + p[2] * e3 + p[4] - y[i]
        f += r * r
        g[0] += 2.0 * r * e1
        g[1] -= 2.0 * r * p[0] * t[i] * e1
        g[2] += 2.0 * r * e3
        g[3] -= 2.0 * r * p[2] * t[i] * e3
        g[4] += 2.0 * r
    return f, g


def _portable(p):
    """The oracle problem p, with its exponential fit made portable."""
    if p.fg is not exp_fit:
        return p
    return p._replace(fg=exp_fit_portable,
                      args=(INPUTS["exp_t"], INPUTS["exp_y"]))


# The whole range of the suite, with the 10^5 problem left to the oracle
# tests (it adds seconds and no decision the 10^4 one does not make).
CASES = [_portable(p) for p in PROBLEMS if p.x0.size <= 10000]
# the same bits on every machine, and those in the processor's SIMD order
PORTABLE_CASES = [p for p in CASES if p.x0.size < VECTORISE_FROM]
SIMD_CASES = [p for p in CASES if p.x0.size >= VECTORISE_FROM]
PINNED_SIMD = os.path.join(os.path.dirname(__file__), "pinned_simd.json")


def simd_fingerprint():
    """A digest of the reassociated sums (``vector_ops``) on fixed data:
    equal on machines that add in the same order."""
    rng = np.random.default_rng(7)
    sums = []
    for n in (VECTORISE_FROM, 37, 100, 1001, 10007):
        u, v = rng.normal(size=n), rng.normal(size=n)
        a, b = rng.normal(size=(2, n)), rng.normal(size=(2, n))
        sums.append(vector_ops.dot(u, v, n))
        sums.extend(vector_ops.dot_rows2(a, b, 1, v, n))
    return _digest(np.array(sums))[:16]
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
    y = INPUTS["batch_y"]
    t = np.broadcast_to(INPUTS["batch_t"], y.shape)
    x0 = np.tile([1.0, 1.0, 0.5, 0.1, 0.0], (24, 1))
    out = lb.minimize_batch(two_exp_portable, x0, (t, y),
                            bounds=[(0, 5), (0, 5), (0, 5), (0, 2), (-1, 1)],
                            parallel=False, **opts)
    return {"x": _digest(out.x), "fun": _digest(out.fun),
            "nit": out.nit.tolist(), "nfev": out.nfev.tolist(),
            "status": out.status.tolist()}


PATHS = {"python": python_path, "2-point": finite_difference_path,
         "compiled": compiled_path,
         "njit_minimize": njit_path, "ask_tell": ask_tell_path}


def compute(cases):
    out = {}
    for opt_name, opts in OPTION_SETS.items():
        for p in cases:
            for path_name, path in PATHS.items():
                out[f"{opt_name}/{p.name}/{path_name}"] = path(p, opts)
    return out


def _pinned():
    with open(PINNED) as fh:
        return json.load(fh)


def _pinned_simd():
    with open(PINNED_SIMD) as fh:
        return json.load(fh)


def test_portable_exp_is_exp():
    """The pinned fits are still exponential fits: portable_exp is within
    2 ulp of libm's exp over the range they use and beyond."""
    xs = np.concatenate([np.linspace(-60.0, 60.0, 20001), [0.0, -0.0]])
    ours = np.array([portable_exp(x) for x in xs])
    ref = np.exp(xs)
    assert np.all(np.abs(ours - ref) <= 2 * np.spacing(ref))
    t, y = INPUTS["exp_t"], INPUTS["exp_y"]
    p = np.array([2.0, 1.1, 0.4])
    f, g = exp_fit_portable(p, t, y)
    f_ref, g_ref = exp_fit(p, t, y)
    np.testing.assert_allclose(f, f_ref, rtol=1e-13)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12)


@pytest.mark.parametrize("opt_name", list(OPTION_SETS))
@pytest.mark.parametrize("path_name", list(PATHS))
def test_decisions_are_pinned(path_name, opt_name):
    pinned = _pinned()
    path, opts = PATHS[path_name], OPTION_SETS[opt_name]
    for p in PORTABLE_CASES:
        key = f"{opt_name}/{p.name}/{path_name}"
        assert path(p, opts) == pinned[key], key


@pytest.mark.parametrize("opt_name", list(OPTION_SETS))
@pytest.mark.parametrize("path_name", list(PATHS))
def test_simd_decisions_are_pinned(path_name, opt_name):
    """The large problems, against this machine kind's own pins."""
    fingerprint = simd_fingerprint()
    pinned = _pinned_simd().get(fingerprint)
    if pinned is None:
        pytest.skip(f"no pins for this machine's SIMD order ({fingerprint}):"
                    " python tests/test_pinned_behaviour.py --write adds them")
    path, opts = PATHS[path_name], OPTION_SETS[opt_name]
    for p in SIMD_CASES:
        key = f"{opt_name}/{p.name}/{path_name}"
        assert path(p, opts) == pinned[key], key


def test_simd_fingerprint_is_stable():
    """One machine, one key: the fingerprint is the same call after call,
    and the pins on file are keyed the same way."""
    assert simd_fingerprint() == simd_fingerprint()
    assert all(len(key) == 16 for key in _pinned_simd())


@pytest.mark.parametrize("opt_name", list(OPTION_SETS))
def test_batch_decisions_are_pinned(opt_name):
    assert batch_path(OPTION_SETS[opt_name]) == _pinned()[f"{opt_name}/batch"]


if __name__ == "__main__" and "--write" in sys.argv:
    portable = compute(PORTABLE_CASES)
    for opt_name, opts in OPTION_SETS.items():
        portable[f"{opt_name}/batch"] = batch_path(opts)
    with open(PINNED, "w") as fh:
        json.dump(portable, fh, indent=1, sort_keys=True)
    simd = _pinned_simd() if os.path.exists(PINNED_SIMD) else {}
    simd[simd_fingerprint()] = compute(SIMD_CASES)
    with open(PINNED_SIMD, "w") as fh:
        json.dump(simd, fh, indent=1, sort_keys=True)
    print("wrote", PINNED, "and this machine's pins in", PINNED_SIMD)
