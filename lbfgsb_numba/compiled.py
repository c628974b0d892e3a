"""Fully compiled solves: the driver loop, the objective and the gradient all
run in Numba-compiled code, with no Python per iteration.

``njit_minimize`` can be called from Python or from inside the user's own
``@njit`` functions (also in ``numba.prange`` loops); ``fmin_l_bfgs_b`` and
``minimize`` route here automatically when the objective is a Numba
dispatcher.  The iterates, nit, nfev and messages are the same as on the
Python path, since both drive the same kernels (``driver.step``).

Objective conventions (``fg`` and ``fun`` must be ``@njit`` functions):

* combined: ``fg(x, *args) -> (f, g)``;
* separate: ``fun(x, *args) -> f`` and ``jac(x, *args) -> g``;
* f only:   ``fun(x, *args) -> f``, gradient by forward differences
  (``finite_diff.fd_gradient_njit``), honouring the bounds like scipy.

The objective receives a work copy of x (it may not keep it).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import carray, cfunc, njit, types
from numba.core.registry import CPUDispatcher

from .driver import initialize, step_at
from .finite_diff import fd_gradient_njit, normalize_steps
from .status import FG, NEW_X
from .workspace import (N_FIELDS, allocate_workspace, evaluation_views,
                        workspace_addresses)

NjitResult = namedtuple("NjitResult",
                        ["x", "fun", "jac", "nit", "nfev", "status", "task"])
NjitResult.__doc__ = """Result of ``njit_minimize``: x (n,), fun, jac (n,),
nit, nfev, status (0 converged, 1 maxiter/maxfun, 2 other) and task (the
final task code; ``lbfgsb_numba.status.message(task)`` gives the text)."""

SolveOutput = namedtuple("SolveOutput",
                         ["x", "g", "s_pairs", "y_pairs", "state"])
SolveOutput.__doc__ = """The part of a workspace a result is built from (few
arrays, so that returning to Python is cheap)."""


def is_compiled_function(fun) -> bool:
    """True for a Numba CPU dispatcher (an ``@njit`` function)."""
    return isinstance(fun, CPUDispatcher)


@njit(cache=True, nogil=True)
def bound_types(lower, upper):
    """Bound-type codes (0 none, 1 lower, 2 both, 3 upper) from +-inf."""
    n = lower.shape[0]
    nbd = np.empty(n, dtype=np.int32)
    for i in range(n):
        has_lo = lower[i] > -np.inf
        has_up = upper[i] < np.inf
        if has_lo and has_up:
            nbd[i] = 2
        elif has_lo:
            nbd[i] = 1
        elif has_up:
            nbd[i] = 3
        else:
            nbd[i] = 0
    return nbd


@njit(cache=True, nogil=True)
def warnflag_of(task, nit, nfev, maxiter, maxfun):
    """scipy's warnflag from the final task code."""
    if 400 <= task < 500:
        return 0
    if nfev > maxfun or nit >= maxiter:
        return 1
    return 2


@cfunc(types.int64(types.CPointer(types.int64), types.int64, types.int64),
       cache=True, nopython=True)
def step_c(addresses, n, m):
    """``step`` for compiled callers, on the workspace given by the
    addresses of its fields (``workspace.workspace_addresses``), with n
    variables and memory m.  Called through a pointer, so the solver is
    compiled once (and cached), never again inside each caller."""
    return step_at(carray(addresses, (N_FIELDS,)), n, m)


@njit(nogil=True)
def _eval_combined(fg, jac, x, args, lower, upper, abs_step, rel_step, g_out,
                   x_work):
    f, g = fg(x, *args)
    for i in range(g_out.shape[0]):
        g_out[i] = g[i]
    return f, 1


@njit(nogil=True)
def _eval_separate(fun, jac, x, args, lower, upper, abs_step, rel_step,
                   g_out, x_work):
    f = fun(x, *args)
    g = jac(x, *args)
    for i in range(g_out.shape[0]):
        g_out[i] = g[i]
    return f, 1


@njit(nogil=True)
def _eval_finite_diff(fun, jac, x, args, lower, upper, abs_step, rel_step,
                      g_out, x_work):
    f = fun(x, *args)
    used = fd_gradient_njit(fun, x, f, args, lower, upper, abs_step,
                            rel_step, g_out, x_work)
    return f, 1 + used


@njit(nogil=True)
def _advance_by_address(addresses, n, m):
    """One ``step`` through the cached C-callable ``step_c``: the caller's
    compilation does not include the solver (fast to compile), but the
    caller cannot be cached (it refers to a function pointer)."""
    return step_c(addresses.ctypes, n, m)


@njit(nogil=True)
def _advance_linked(addresses, n, m):
    """One ``step`` compiled into the caller: slower to compile, but keeps
    a user's ``@njit(cache=True)`` function that calls the solver
    cacheable."""
    return step_at(addresses, n, m)


def _make_drive(advance, evaluate):
    """The driver loop for one way of stepping (``advance``) and of
    evaluating the objective (``evaluate``), both fixed at definition (a
    compiled function passed as a run-time value could not be cached inside
    a user's function)."""

    @njit(nogil=True)
    def drive(fun, jac, addresses, n, m, args, abs_step, rel_step):
        """Drive an initialised workspace (given by the addresses of its
        fields) to the end of the solve; returns the final task code."""
        x, g, lower, upper, state = evaluation_views(addresses, n)
        st = state[0]
        x_eval = np.empty(n)
        x_work = np.empty(n)
        while True:
            task = advance(addresses, n, m)
            if task == FG:
                for i in range(n):
                    x_eval[i] = x[i]
                f, used = evaluate(fun, jac, x_eval, args, lower, upper,
                                   abs_step, rel_step, g, x_work)
                st.f = f
                st.nfev += used
                st.njev += 1
            elif task != NEW_X:
                return task
    return drive


def _make_run(drive):
    """Allocate, initialise and drive one solve from compiled code."""

    @njit(nogil=True)
    def run(fun, jac, x0, lower, upper, nbd, args, m, factr, pgtol, maxiter,
            maxfun, maxls, abs_step, rel_step):
        """Returns the arrays a result needs (SolveOutput) and the final
        task code."""
        n = x0.shape[0]
        ws = allocate_workspace(n, m)
        initialize(ws, x0, lower, upper, nbd, m, factr, pgtol, maxls,
                   maxiter, maxfun)
        task = drive(fun, jac, workspace_addresses(ws), n, m, args,
                     abs_step, rel_step)
        return (SolveOutput(ws.x, ws.g, ws.s_pairs, ws.y_pairs, ws.state),
                task)
    return run


# solves started from Python: the workspace is set up in Python and only
# the loop is compiled for the user's objective (fast to compile)
drive_combined = _make_drive(_advance_by_address, _eval_combined)
drive_separate = _make_drive(_advance_by_address, _eval_separate)
drive_finite_diff = _make_drive(_advance_by_address, _eval_finite_diff)
# batches (compiled, not cacheable anyway: fast compile)
run_combined = _make_run(drive_combined)
# solves started from user @njit code (cacheable there)
run_combined_linked = _make_run(_make_drive(_advance_linked, _eval_combined))


@njit(nogil=True)
def njit_minimize(fg, x0, lower, upper, args=(), m=10, factr=1e7, pgtol=1e-5,
                  maxiter=15000, maxfun=15000, maxls=20):
    """Minimise fg(x, *args) -> (f, g) subject to lower <= x <= upper with
    L-BFGS-B, from Python or from inside ``@njit`` code.

    x0, lower, upper: float64 arrays of shape (n,); use -inf/+inf for a
    missing bound.  ``args`` is a tuple passed through to ``fg``.  Other
    parameters as in ``fmin_l_bfgs_b``.  Returns ``NjitResult``.
    Thread-safe: every call has its own work arrays.
    """
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
    nbd = bound_types(lower, upper)
    x_start = np.empty(n)
    for i in range(n):
        x_start[i] = min(max(x0[i], lower[i]), upper[i])
    no_steps = np.empty(0)
    out, task = run_combined_linked(fg, fg, x_start, lower, upper, nbd, args,
                                    m, factr, pgtol, maxiter, maxfun, maxls,
                                    no_steps, -1.0)
    st = out.state[0]
    return NjitResult(out.x, st.f, out.g, st.nit, st.nfev,
                      warnflag_of(task, st.nit, st.nfev, maxiter, maxfun),
                      task)


_NO_STEPS = np.empty(0)  # read-only use: no finite differences


def solve_compiled(fun, jac, x0, args, lower, upper, nbd, m, factr, pgtol,
                   maxfun, maxiter, maxls, abs_step=None, rel_step=None):
    """Run a solve whose objective is compiled; returns an OptimizeResult
    identical to the Python path's."""
    from .api import _prepare_workspace, _result_from_workspace
    if jac is True:
        drive, jac_fn = drive_combined, fun
    elif jac is None:
        drive, jac_fn = drive_finite_diff, fun
    else:
        drive, jac_fn = drive_separate, jac
    if jac is None:
        abs_arr, rel = normalize_steps(abs_step, rel_step, x0.shape[0])
    else:
        abs_arr, rel = _NO_STEPS, -1.0
    ws, addresses = _prepare_workspace(x0, lower, upper, nbd, m, factr,
                                       pgtol, maxls, maxiter, maxfun)
    task = drive(fun, jac_fn, addresses, x0.shape[0], m, args, abs_arr, rel)
    return _result_from_workspace(ws, int(task), int(ws.state["njev"][0]),
                                  maxiter, maxfun)
