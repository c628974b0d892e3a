"""Fully compiled solves: the driver loop, the objective and the gradient all
run in Numba-compiled code, with no Python per iteration.

``njit_minimize`` can be called from Python or from inside the user's own
``@njit`` functions (also in ``numba.prange`` loops); ``fmin_l_bfgs_b`` and
``minimize`` route here automatically when the objective is a Numba
dispatcher.  The iterates, nit, nfev and messages are the same as on the
Python path, since both drive the same kernels (``driver.step_views``).

Objective conventions (``fg`` and ``fun`` must be ``@njit`` functions):

* combined: ``fg(x, *args) -> (f, g)``;
* separate: ``fun(x, *args) -> f`` and ``jac(x, *args) -> g``;
* f only:   ``fun(x, *args) -> f``, gradient by forward differences
  (``finite_diff.fd_gradient_njit``), honouring the bounds like scipy.

The objective receives a work copy of x (it may not keep it).

A function that takes the user's objective must be compiled in every
process where the objective is not cached, so what is compiled per
objective is kept to the loop around it (``_make_drive``) and the thin
``njit_minimize``: everything else (set-up, the solver's steps, the result)
is reached through the cached entries of ``entries``, called by symbol name,
and is never compiled again nor linked into the caller.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit
from numba.core.registry import CPUDispatcher

from .api import _attach_last_accepted, _result, _Solve, overload_entry
from .entries import (INFO_SIZE, advance, as_int, result, setup,
                      workspace_bytes)
from .finite_diff import fd_gradient_njit, normalize_steps
from .status import FG, NEW_X
from .workspace import G

NjitResult = namedtuple("NjitResult",
                        ["x", "fun", "jac", "nit", "nfev", "status", "task"])
NjitResult.__doc__ = """Result of ``njit_minimize``: x (n,), fun, jac (n,),
nit, nfev, status (0 converged, 1 maxiter/maxfun, 2 other) and task (the
final task code; ``lbfgsb_numba.status.message(task)`` gives the text)."""


def is_compiled_function(fun) -> bool:
    """True for a Numba CPU dispatcher (an ``@njit`` function)."""
    return isinstance(fun, CPUDispatcher)


# ------------------------------------------------------------ evaluation
# (inlined into the driver loop: one function to compile per objective)

@njit(nogil=True, inline='always')
def _eval_combined(fun, jac, x, args, lower, upper, abs_step, rel_step, g_out,
                   x_work):
    f, g = fun(x, *args)
    for i in range(g_out.shape[0]):
        g_out[i] = g[i]
    return f, 1


@njit(nogil=True, inline='always')
def _eval_separate(fun, jac, x, args, lower, upper, abs_step, rel_step,
                   g_out, x_work):
    f = fun(x, *args)
    g = jac(x, *args)
    for i in range(g_out.shape[0]):
        g_out[i] = g[i]
    return f, 1


@njit(nogil=True, inline='always')
def _eval_finite_diff(fun, jac, x, args, lower, upper, abs_step, rel_step,
                      g_out, x_work):
    f = fun(x, *args)
    used = fd_gradient_njit(fun, x, f, args, lower, upper, abs_step,
                            rel_step, g_out, x_work)
    return f, 1 + used


# ------------------------------------------------------------ driver loops

def _make_drive(evaluate):
    """The driver loop for one way of evaluating the objective
    (``evaluate``), reaching the solver through the ``advance`` entry:
    (``drive``, a dispatcher for Python callers, which also puts the
    ``result`` summary in ``info``; ``loop``, the loop alone, to inline into
    compiled callers, so that it is compiled once with them rather than
    compiled, linked in and optimised again)."""

    def loop(fun, jac, addresses, n, m, args, lower, upper, abs_step,
             rel_step, x_eval, g_eval, x_work):
        """Drive an initialised workspace (``addresses``: the array of the
        addresses of its fields) to the end of the solve; returns the final
        task code.  ``lower``/``upper`` are the bounds (for finite
        differences); x_eval, g_eval, x_work: float64 work arrays (n,)."""
        task = advance((addresses, n, m, 0.0, -1, x_eval, g_eval))
        while True:
            if task == FG:
                f, used = evaluate(fun, jac, x_eval, args, lower, upper,
                                   abs_step, rel_step, g_eval, x_work)
                task = advance((addresses, n, m, f, used, x_eval, g_eval))
            elif task == NEW_X:
                task = advance((addresses, n, m, 0.0, -1, x_eval, g_eval))
            else:
                return task

    loop_inline = njit(nogil=True, inline='always')(loop)

    def drive(fun, jac, addresses, n, m, args, lower, upper, abs_step,
              rel_step, g_eval, work):
        """``loop`` with x_eval, x_work and the summary (``info``) in
        ``work`` (2n + INFO_SIZE,): fewer arrays to pass from Python."""
        info = work[2 * n:]
        task = loop_inline(fun, jac, addresses, n, m, args, lower, upper,
                           abs_step, rel_step, work[:n], g_eval,
                           work[n:2 * n])
        result((addresses, n, m, task, 0, 0, 0, 0, info))
        return task
    return njit(nogil=True)(drive), loop_inline


drive_combined, drive_combined_inline = _make_drive(_eval_combined)
drive_separate, _ = _make_drive(_eval_separate)
drive_finite_diff, _ = _make_drive(_eval_finite_diff)


@njit(nogil=True, inline='always')
def new_buffer(n, m):
    """An uninitialised work buffer for ``setup`` (float64 array whose
    first words hold the fields' addresses once set up)."""
    return np.empty((workspace_bytes((n, m)) + 7) // 8)


@njit(nogil=True, inline='always')
def setup_problem(buf, x0, lower, upper, m, factr, pgtol, maxls, maxiter,
                  maxfun):
    """Load x0 and the bounds (any float64 arrays of shape (n,)) into
    ``buf`` and initialise the solver."""
    setup((buf, x0.shape[0], m, x0, x0.strides[0], lower, lower.strides[0],
           upper, upper.strides[0], factr, pgtol, maxls, maxiter, maxfun))


@njit(cache=True, nogil=True)
def check_problem(x0, lower, upper, m, factr, pgtol, maxiter, maxfun, maxls):
    """ValueError naming what is wrong with ``njit_minimize``'s input (a
    call, not inlined: a ``prange`` loop body must have no exit of its own
    to run in parallel)."""
    n = x0.shape[0]
    if lower.shape[0] != n or upper.shape[0] != n:
        raise ValueError("njit_minimize: lower and upper must have the "
                         "shape of x0")
    if m < 1 or maxls < 1 or maxiter < 1 or maxfun < 1:
        raise ValueError("njit_minimize: m, maxls, maxiter and maxfun must "
                         "be >= 1")
    if not (factr >= 0.0 and pgtol >= 0.0):
        raise ValueError("njit_minimize: factr and pgtol must be >= 0")
    for i in range(n):
        if not np.isfinite(x0[i]):
            raise ValueError("njit_minimize: x0 must be finite")
        if np.isnan(lower[i]) or np.isnan(upper[i]) or lower[i] > upper[i]:
            raise ValueError("njit_minimize: bounds must satisfy "
                             "lower <= upper (no NaN)")


@njit(nogil=True, inline='always')
def njit_minimize(fg, x0, lower, upper, args=(), m=10, factr=1e7, pgtol=1e-5,
                  maxiter=15000, maxfun=15000, maxls=20):
    """Minimise fg(x, *args) -> (f, g) subject to lower <= x <= upper with
    L-BFGS-B, from Python or from inside ``@njit`` code.

    x0, lower, upper: float64 arrays of shape (n,); use -inf/+inf for a
    missing bound.  ``args`` is a tuple passed through to ``fg``.  Other
    parameters as in ``fmin_l_bfgs_b``.  Returns ``NjitResult``.
    Thread-safe: every call has its own work arrays.  Compiles only the
    loop around ``fg``; the solver is the cached one (``entries``).
    """
    n = x0.shape[0]
    check_problem(x0, lower, upper, m, factr, pgtol, maxiter, maxfun, maxls)
    buf = new_buffer(n, m)
    setup_problem(buf, x0, lower, upper, m, factr, pgtol, maxls, maxiter,
                  maxfun)
    x = np.empty(n)  # the points evaluated, then the result's x
    g = np.empty(n)
    x_work = np.empty(n)
    # (x in place of the finite-difference steps: unused with fg's gradient)
    task = drive_combined_inline(fg, fg, buf, n, m, args, lower, upper, x,
                                 -1.0, x, g, x_work)
    info = np.empty(INFO_SIZE)
    status = result((buf, n, m, task, x, 8, g, 8, info))
    return NjitResult(x, info[0], g, as_int(info[1]), as_int(info[2]),
                      status, task)


_NO_STEPS = np.empty(0)  # read-only use: no finite differences

# Direct entries of the drive loops, per objective and argument types:
# Numba's own dispatch types every argument on every call (about 7 us for
# an empty tuple of args, 15 us for two arrays), more than a whole small
# solve.
_DRIVE_ENTRIES: dict = {}
_SCALAR_TYPES = (int, float, bool, complex)


def _arg_key(a):
    """What Numba's typeof of ``a`` depends on, for arrays and Python
    scalars; None for anything else (then Numba's dispatch is used)."""
    t = type(a)
    if t is np.ndarray:
        f = a.flags
        return (a.dtype, a.ndim, f.c_contiguous, f.f_contiguous, f.writeable,
                f.aligned)
    if t in _SCALAR_TYPES:
        return t
    return None


def _call_drive(drive, fun, jac, addresses, n, m, args, lower, upper,
                abs_steps, rel_step, g_eval, work):
    """``drive(...)`` through a cached direct entry when possible."""
    arg_keys = tuple(map(_arg_key, args))
    call = (fun, jac, addresses, n, m, args, lower, upper, abs_steps,
            rel_step, g_eval, work)
    if None in arg_keys:
        return drive(*call)
    key = (drive, fun, jac, arg_keys)
    entry = _DRIVE_ENTRIES.get(key)
    if entry is not None:
        return entry(*call)
    result = drive(*call)  # compiles on first use
    if len(_DRIVE_ENTRIES) >= 256:
        _DRIVE_ENTRIES.clear()
    _DRIVE_ENTRIES[key] = overload_entry(drive, call)
    return result


def solve_compiled(fun, jac, x0, args, lower, upper, nbd, m, factr, pgtol,
                   maxfun, maxiter, maxls, abs_step=None, rel_step=None):
    """Run a solve whose objective is compiled; returns an OptimizeResult
    identical to the Python path's.  x0 (a private copy) becomes x."""
    if jac is True:
        drive, jac_fn = drive_combined, fun
    elif jac is None:
        drive, jac_fn = drive_finite_diff, fun
    else:
        drive, jac_fn = drive_separate, jac
    n = x0.shape[0]
    if jac is None:
        abs_arr, rel = normalize_steps(abs_step, rel_step, n)
    else:
        abs_arr, rel = _NO_STEPS, -1.0
    solve = _Solve(x0, lower, upper, nbd, m, factr, pgtol, maxls, maxiter,
                   maxfun)
    try:
        # the objective's gradient goes straight into the workspace's g
        work = np.empty(2 * n + INFO_SIZE)
        task = _call_drive(drive, fun, jac_fn, solve.addresses, n, m, args,
                           lower, upper, abs_arr, rel, solve.field(G), work)
    except BaseException as exc:
        _attach_last_accepted(exc, solve)
        raise
    f, nit, nfev, njev, head, col = work[2 * n:].tolist()
    return _result(solve, task, f, nit, nfev, njev, head, col, maxiter,
                   maxfun)
