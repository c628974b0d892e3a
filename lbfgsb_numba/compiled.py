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
  (``finite_diff.fd_gradient_njit``) or, with jac='3-point', central ones
  (``finite_diff.central_gradient_njit``), honouring the bounds like scipy.

The objective receives a work copy of x (it may not keep it).

A function that takes the user's objective must be compiled in every
process (Numba cannot cache it), so these loops are kept small: the solver
itself is reached through ``step_c``, a cached C-callable function on the
work arrays' addresses, and is never compiled again.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from llvmlite import ir
from numba import carray, cfunc, njit, types
from numba.extending import intrinsic
from numba.core.errors import TypingError
from numba.core.registry import CPUDispatcher

from .api import (Solve, attach_last_accepted, attach_result,
                  overload_entry, solve_result)
from .bounds import check_bound_values
from .compiled_checks import (f_and_gradient, f_only, gradient_into,
                              gradient_only, plain_objective_errors,
                              problem_task, raise_plain)
from .driver import abandon_evaluation, initialize_at, step_at
from .finite_diff import (central_gradient_njit, fd_gradient_njit,
                          normalize_steps)
from .first_use import notice_before_compile
from .status import ABNORMAL_GRADIENT_LENGTH, FG, NEW_X
from .validation import as_x0, check_solver_options, gradient_shape_error
from .workspace import (BOUND_TYPE, LOWER, N_FIELDS, UPPER, X, allocate,
                        evaluation_views, result_views, workspace_views)

NjitResult = namedtuple("NjitResult",
                        ["x", "fun", "jac", "nit", "nfev", "status", "task"])
NjitResult.__doc__ = """Result of ``njit_minimize``: x (n,), fun, jac (n,),
nit, nfev, status (0 converged, 1 maxiter/maxfun, 2 other) and task (the
final task code; ``lbfgsb_numba.status.message(task)`` gives the text)."""


def is_compiled_function(fun) -> bool:
    """True for a Numba CPU dispatcher (an ``@njit`` function)."""
    return isinstance(fun, CPUDispatcher)


@njit(cache=True, nogil=True)
def load_problem(x0, lower, upper, x, lo, up, nbd):
    """Copy a problem into a workspace's own fields x, lower, upper and set
    the bound-type codes (0 none, 1 lower, 2 both, 3 upper) from +-inf."""
    for i in range(x0.shape[0]):
        x[i] = x0[i]
        lo[i] = lower[i]
        up[i] = upper[i]
        has_lo = lower[i] > -np.inf
        has_up = upper[i] < np.inf
        nbd[i] = (2 if has_up else 1) if has_lo else (3 if has_up else 0)


@njit(cache=True, nogil=True)
def warnflag_of(task, nit, nfev, maxiter, maxfun):
    """scipy's warnflag from the final task code (``status.warnflag``)."""
    if 400 <= task < 500:
        return 0
    if 811 <= task <= 819:  # input errors
        return 2
    if nfev > maxfun or nit >= maxiter:
        return 1
    return 2


@cfunc(types.int64(types.CPointer(types.int64), types.int64, types.int64),
       cache=True, nopython=True)
@notice_before_compile
def step_c(addresses, n, m):
    """``step`` for compiled callers, on the workspace given by the
    addresses of its fields, with n variables and memory m.  Called through
    a pointer, so the solver is compiled once (and cached), never again
    inside each caller."""
    return step_at(carray(addresses, (N_FIELDS,)), n, m)


@intrinsic
def call_step(typingctx, step_address, addresses_ptr, n, m):
    """Call the C-callable ``step_c`` through its address: the solver is
    neither recompiled nor linked into the caller (whose compilation for a
    new objective stays small), and nothing process-specific is baked into
    the caller."""
    sig = types.int64(types.int64, types.intp, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        fnty = ir.FunctionType(i64, [i64.as_pointer(), i64, i64])
        fn = builder.inttoptr(args[0], fnty.as_pointer())
        ptr = builder.inttoptr(args[1], i64.as_pointer())
        return builder.call(fn, [ptr, args[2], args[3]])
    return sig, codegen


# ------------------------------------------------------------ evaluation
# (inlined into the driver loop: one function to compile per objective).
# Each returns (f, calls of fun, length of the gradient): g_out is written
# only when that length is n.

@njit(nogil=True, inline='always')
def _eval_combined(fun, jac, x, args, lower, upper, abs_step, rel_step, g_out,
                   x_work):
    f, g = f_and_gradient(fun(x, *args))
    return f, 1, gradient_into(g, g_out)


@njit(nogil=True, inline='always')
def _eval_separate(fun, jac, x, args, lower, upper, abs_step, rel_step,
                   g_out, x_work):
    f = f_only(fun(x, *args))
    return f, 1, gradient_into(gradient_only(jac(x, *args)), g_out)


def _difference_evaluation(gradient):
    """Evaluation of f and of g by the finite-difference kernel
    ``gradient`` (``finite_diff.fd_gradient_njit`` or
    ``central_gradient_njit``); the gradient always has length n."""

    @njit(nogil=True, inline='always')
    def evaluate(fun, jac, x, args, lower, upper, abs_step, rel_step, g_out,
                 x_work):
        f = f_only(fun(x, *args))
        used = gradient(fun, x, f, args, lower, upper, abs_step, rel_step,
                        g_out, x_work)
        return f, 1 + used, g_out.shape[0]
    return evaluate


_eval_finite_diff = _difference_evaluation(fd_gradient_njit)
_eval_central_diff = _difference_evaluation(central_gradient_njit)


# ------------------------------------------------------------ driver loops

@njit(nogil=True, inline='always')
def _advance_by_address(step_address, addresses, n, m):
    """One step through the C-callable ``step_c`` at ``step_address``."""
    return call_step(step_address, addresses.ctypes.data, n, m)


@njit(nogil=True, inline='always')
def _advance_linked(step_address, addresses, n, m):
    """One step compiled into the caller: slower to compile, but keeps a
    user's ``@njit(cache=True)`` function that calls the solver cacheable
    (no address of this process is baked in)."""
    return step_at(addresses, n, m)


def _make_drive(advance, evaluate):
    """The driver loop for one way of stepping (``advance``) and of
    evaluating the objective (``evaluate``)."""

    @njit(nogil=True)
    def drive(fun, jac, step_address, addresses, n, m, args, abs_step,
              rel_step):
        """Drive an initialised workspace (given by the addresses of its
        fields) to the end of the solve.  Returns (task, f, nit, nfev,
        njev, head, col).  A gradient whose length is not n ends the
        solve with ABNORMAL_GRADIENT_LENGTH at the last accepted iterate."""
        x, g, lower, upper, state = evaluation_views(addresses, n)
        st = state[0]
        x_eval = np.empty(n)
        x_work = np.empty(n)
        while True:
            task = advance(step_address, addresses, n, m)
            if task == FG:
                for i in range(n):
                    x_eval[i] = x[i]
                f, used, g_length = evaluate(fun, jac, x_eval, args, lower,
                                             upper, abs_step, rel_step, g,
                                             x_work)
                if g_length != n:
                    task = abandon_evaluation(addresses, n, m,
                                              ABNORMAL_GRADIENT_LENGTH,
                                              g_length)
                    break
                st.f = f
                st.nfev += used
                st.njev += 1
            elif task != NEW_X:
                break
        return task, st.f, st.nit, st.nfev, st.njev, st.head, st.col
    return drive


# loops driving a workspace through step_c (Python callers and batches)
drive_combined = _make_drive(_advance_by_address, _eval_combined)
drive_separate = _make_drive(_advance_by_address, _eval_separate)
drive_finite_diff = _make_drive(_advance_by_address, _eval_finite_diff)
drive_central_diff = _make_drive(_advance_by_address, _eval_central_diff)
_drive_linked = _make_drive(_advance_linked, _eval_combined)


def step_address() -> int:
    """Address of ``step_c`` in this process (for the ``drive_*`` loops)."""
    return step_c.address


@njit(nogil=True)
def _solve_linked(fg, x0, lower, upper, args, m, factr, pgtol, maxiter,
                  maxfun, maxls):
    """Allocate, load, initialise and drive one solve with the solver
    compiled in; returns (buffer, addresses, task)."""
    n = x0.shape[0]
    buf, addresses = allocate(n, m)
    ws = workspace_views(addresses, n, m)
    load_problem(x0, lower, upper, ws[X], ws[LOWER], ws[UPPER],
                 ws[BOUND_TYPE])
    initialize_at(addresses, n, m, factr, pgtol, maxls, maxiter, maxfun)
    task = _drive_linked(fg, fg, 0, addresses, n, m, args, np.empty(0),
                         -1.0)[0]
    return buf, addresses, task


@njit(nogil=True, inline='always')
def keep_alive(buf):
    """A use of ``buf``: a work buffer must live until its last use
    through the addresses (Numba frees an array after its last use)."""
    return buf.shape[0]


@njit(nogil=True)
def njit_solve(fg, x0, lower, upper, args, m, factr, pgtol, maxiter, maxfun,
               maxls):
    """``njit_minimize``'s solve; returns (NjitResult, length of the
    gradient that stopped it, or 0).  Bad values of x0 or of the bounds
    give their task code (status 2) without evaluating fg: x is x0, f and
    g are unknown (NaN)."""
    n = x0.shape[0]
    if lower.shape[0] != n or upper.shape[0] != n:
        raise ValueError("njit_minimize: lower and upper must have the "
                         "shape of x0")
    if m < 1 or maxls < 1 or maxiter < 1 or maxfun < 1:
        raise ValueError("njit_minimize: m, maxls, maxiter and maxfun must "
                         "be >= 1")
    if not (factr >= 0.0 and pgtol >= 0.0):
        raise ValueError("njit_minimize: factr and pgtol must be >= 0")
    bad_input = problem_task(x0, lower, upper)
    if bad_input != 0:
        x_start = np.empty(n)
        for i in range(n):
            x_start[i] = x0[i]
        return NjitResult(x_start, np.nan, np.full(n, np.nan), 0, 0, 2,
                          bad_input), 0
    buf, addresses, task = _solve_linked(fg, x0, lower, upper, args, m, factr,
                                         pgtol, maxiter, maxfun, maxls)
    x, g, s_pairs, y_pairs, state = result_views(addresses, n, m)
    st = state[0]
    result = NjitResult(x.copy(), st.f, g.copy(), st.nit, st.nfev,
                        warnflag_of(task, st.nit, st.nfev, maxiter, maxfun),
                        task)
    gradient_length = st.gradient_length
    keep_alive(buf)
    return result, gradient_length


def njit_minimize_from_python(fg, x0, lower, upper, args, m, factr, pgtol,
                               maxiter, maxfun, maxls):
    """``njit_minimize`` called from Python: the input checked as on the
    Python path (ValueError/TypeError), and a gradient of the wrong length
    raised as ValueError with the last accepted iterate (an NjitResult) in
    ``exc.lbfgsb_result``."""
    if not is_compiled_function(fg):
        raise TypeError("fg must be a Numba @njit function returning (f, g)")
    x0 = as_x0(x0)
    n = x0.shape[0]
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    if lower.shape != (n,) or upper.shape != (n,):
        raise ValueError(f"bounds: lower and upper must have the shape of x0 "
                         f"({n},), got {lower.shape} and {upper.shape}")
    check_bound_values(lower, upper)
    maxiter, maxfun = check_solver_options(m, factr, pgtol, maxiter, maxfun,
                                           maxls, 1e-8)
    with plain_objective_errors():
        result, gradient_length = njit_solve(
            fg, x0, lower, upper, args, int(m), float(factr), float(pgtol),
            int(maxiter), int(maxfun), int(maxls))
    if result.task == ABNORMAL_GRADIENT_LENGTH:
        exc = gradient_shape_error((gradient_length,), n)
        attach_result(exc, result)
        raise exc
    return result


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


def _call_drive(drive, fun, jac, addresses, n, m, args, abs_steps, rel_step):
    """``drive(...)`` through a cached direct entry when possible."""
    arg_keys = tuple(map(_arg_key, args))
    call = (fun, jac, step_c.address, addresses, n, m, args, abs_steps,
            rel_step)
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
                   maxfun, maxiter, maxls, abs_step=None, rel_step=None,
                   scheme="2-point", pairs=None):
    """Run a solve whose objective is compiled; returns an OptimizeResult
    identical to the Python path's.  x0 (a private copy) becomes x.
    jac None: finite differences by ``scheme``, '2-point' or '3-point';
    ``pairs`` seed the memory (warm start)."""
    if jac is True:
        drive, jac_fn = drive_combined, fun
    elif jac is None:
        drive = drive_central_diff if scheme == "3-point" else \
            drive_finite_diff
        jac_fn = fun
    else:
        drive, jac_fn = drive_separate, jac
    n = x0.shape[0]
    if jac is None:
        abs_arr, rel = normalize_steps(abs_step, rel_step, n)
    else:
        abs_arr, rel = _NO_STEPS, -1.0
    solve = Solve(x0, lower, upper, nbd, m, factr, pgtol, maxls, maxiter,
                  maxfun, pairs)
    try:
        task, f, nit, nfev, njev, head, col = _call_drive(
            drive, fun, jac_fn, solve.addresses, n, m, args, abs_arr, rel)
        if task == ABNORMAL_GRADIENT_LENGTH:
            raise gradient_shape_error(
                (int(solve.state()["gradient_length"][0]),), n)
    except TypingError as exc:
        raise_plain(exc)
    except BaseException as exc:
        attach_last_accepted(exc, solve)
        raise
    return solve_result(solve, task, f, nit, nfev, njev, head, col,
                        maxiter, maxfun)
