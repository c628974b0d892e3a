"""Fully compiled solves: the driver loop, the objective and the gradient all
run in Numba-compiled code, with no Python per iteration.

``njit_minimize`` can be called from Python or from inside the user's own
``@njit`` functions (also in ``numba.prange`` loops); ``fmin_l_bfgs_b`` and
``minimize`` route here automatically when the objective is a Numba
dispatcher.  The iterates, nit, nfev and messages are the same as on the
Python path, since both drive the same kernels (``driver.step_at``).

Objective conventions (``fg`` and ``fun`` must be ``@njit`` functions):

* combined: ``fg(x, *args) -> (f, g)``;
* separate: ``fun(x, *args) -> f`` and ``jac(x, *args) -> g``;
* f only:   ``fun(x, *args) -> f``, gradient by forward differences
  (``finite_diff.fd_gradient_njit``) or, with jac='3-point', central ones
  (``finite_diff.central_gradient_njit``), honouring the bounds like scipy.

The objective receives a work copy of x (it may not keep it).

A function that takes the user's objective must be compiled in every
process where the objective is not cached, so what is compiled per
objective is kept to the loop around it (``_make_drive``) and the thin
``njit_minimize_impl``: everything else (set-up, the solver's steps, abandoning an
evaluation, the result) is reached through the cached entries of
``entries``, called by symbol name, and is never compiled again nor linked
into the caller.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit
from numba.core.errors import TypingError
from numba.core.registry import CPUDispatcher

from .bounds import check_bound_values
from .compiled_checks import (f_and_gradient, f_only, gradient_into,
                              gradient_only, plain_objective_errors,
                              problem_task, raise_plain)
from .entries import (INFO_GRADIENT_LENGTH, INFO_SIZE, abandon, advance,
                      as_int, load_problem, result, setup, workspace_bytes)
from .finite_diff import (central_gradient_njit, fd_gradient_njit,
                          normalize_steps)
from .solve import (Solve, attach_last_accepted, attach_result,
                    overload_entry, solve_result)
from .options import (FACTR, GTOL, MAXCOR, MAXFUN, MAXITER, MAXLS,
                      SolverOptions, solver_options)
from .status import ABNORMAL_GRADIENT_LENGTH, FG
from .validation import as_x0, gradient_shape_error
from .workspace import G
from .entries import compiled_entries
from .precompiled import attach

# the solver's entries: compiled (or loaded from the cache) on the first use
# of a compiled path, not at the package's import
compiled_entries()

# (re-exported: batch_ask_tell loads its problems with it)
__all__ = ["NjitResult", "load_problem", "njit_solve",
           "njit_minimize_impl", "njit_minimize_from_python",
           "solve_compiled"]

NjitResult = namedtuple("NjitResult",
                        ["x", "fun", "jac", "nit", "nfev", "status", "task"])
NjitResult.__doc__ = """Result of ``njit_minimize`` (a named tuple, usable
in ``@njit`` code).

Parameters
----------
x : ndarray, shape (n,)
    The best point found.
fun : float
    f at x.
jac : ndarray, shape (n,)
    The gradient at x.
nit, nfev : int
    Iterations and evaluations.
status : int
    0 converged, 1 too many iterations or evaluations, 2 other stop.
task : int
    The final task code; ``lbfgsb_numba.status.message(task)`` gives the
    message.

Returns
-------
NjitResult

Examples
--------
>>> import numpy as np
>>> from lbfgsb_numba import NjitResult
>>> res = NjitResult(np.zeros(2), 0.0, np.zeros(2), 3, 4, 0, 0)
>>> res.nit, res.status
(3, 0)
"""


def is_compiled_function(fun) -> bool:
    """True for a Numba CPU dispatcher (an ``@njit`` function)."""
    return isinstance(fun, CPUDispatcher)


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
        differences); x_eval, g_eval, x_work: float64 work arrays (n,).
        A gradient whose length is not n ends the solve with
        ABNORMAL_GRADIENT_LENGTH at the last accepted iterate (the
        ``abandon`` entry)."""
        task = advance((addresses, n, m, 0.0, -1, x_eval, g_eval))
        while True:
            if task == FG:
                f, used, g_length = evaluate(fun, jac, x_eval, args, lower,
                                             upper, abs_step, rel_step,
                                             g_eval, x_work)
                if g_length != n:
                    return abandon((addresses, n, m,
                                    ABNORMAL_GRADIENT_LENGTH, g_length))
                task = advance((addresses, n, m, f, used, x_eval, g_eval))
            else:  # (the advance entry steps past new iterates itself)
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
drive_central_diff, _ = _make_drive(_eval_central_diff)


@njit(nogil=True, inline='always')
def new_buffer(n, m):
    """An uninitialised work buffer for ``setup`` (float64 array whose
    first words hold the fields' addresses once set up)."""
    return np.empty((workspace_bytes((n, m)) + 7) // 8)


@njit(nogil=True, inline='always')
def setup_problem(buf, x0, lower, upper, options):
    """Load x0 and the bounds (any float64 arrays of shape (n,)) into
    ``buf`` and initialise the solver with ``options`` (a
    ``SolverOptions``)."""
    setup((buf, x0.shape[0], x0, x0.strides[0], lower, lower.strides[0],
           upper, upper.strides[0], options))


@njit(cache=True, nogil=True)
def check_problem(x0, lower, upper, options):
    """ValueError naming what is wrong with ``njit_minimize``'s shapes or
    options; else the task code of bad values of x0 or of the bounds
    (``compiled_checks.problem_task``), 0 when good.  A call, not inlined:
    a ``prange`` loop body must have no exit of its own to run in
    parallel."""
    n = x0.shape[0]
    if lower.shape[0] != n or upper.shape[0] != n:
        raise ValueError("njit_minimize: lower and upper must have the "
                         "shape of x0")
    # (maxiter, maxfun <= 0 are good: one iteration, as scipy and minimize)
    if options.m < 1 or options.maxls < 1:
        raise ValueError("njit_minimize: m and maxls must be >= 1")
    if not (options.factr >= 0.0 and options.pgtol >= 0.0):
        raise ValueError("njit_minimize: factr and pgtol must be >= 0")
    return problem_task(x0, lower, upper)


@njit(nogil=True, inline='always')
def _with_gradient_length(result, gradient_length):
    return result, gradient_length


@njit(nogil=True, inline='always')
def _result_alone(result, gradient_length):
    return result


def _make_solve(finish):
    """``njit_minimize``'s solve, returning ``finish(NjitResult, length of
    the gradient that stopped it, or 0)``: (``solve``, with
    ``njit_minimize``'s signature; ``solve_options``, the same with the
    options as one ``SolverOptions`` record).  Bad values of x0 or of the
    bounds give their task code (status 2) without evaluating fg: x is x0,
    f and g are unknown (NaN).  Compiles only the loop around ``fg``; the
    solver is the cached one (``entries``).  ``solve`` is a plain function:
    the ``@overload``'s implementation itself (a wrapper calling a compiled
    solve would compile it once more per objective), and
    ``solve_options`` is inlined into it."""

    def solve_options(fg, x0, lower, upper, args, options):
        n = x0.shape[0]
        bad_input = check_problem(x0, lower, upper, options)
        x = np.empty(n)  # the points evaluated, then the result's x
        g = np.empty(n)
        info = np.empty(INFO_SIZE)
        if bad_input != 0:
            for i in range(n):
                x[i] = x0[i]
                g[i] = np.nan
            return finish(NjitResult(x, np.nan, g, 0, 0, 2, bad_input), 0)
        m = options.m
        buf = new_buffer(n, m)
        setup_problem(buf, x0, lower, upper, options)
        x_work = np.empty(n)
        # (x in place of the finite-difference steps: unused with fg's
        # gradient)
        task = drive_combined_inline(fg, fg, buf, n, m, args, lower, upper,
                                     x, -1.0, x, g, x_work)
        status = result((buf, n, m, task, x, 8, g, 8, info))
        return finish(NjitResult(x, info[0], g, as_int(info[1]),
                                 as_int(info[2]), status, task),
                      as_int(info[INFO_GRADIENT_LENGTH]))

    solve_options_inline = njit(nogil=True, inline='always')(solve_options)

    def solve(fg, x0, lower, upper, args=(), m=MAXCOR, factr=FACTR,
              pgtol=GTOL, maxiter=MAXITER, maxfun=MAXFUN, maxls=MAXLS):
        # int64/float64, not literals: the record's type from Python
        options = SolverOptions(
            m=np.int64(m), factr=np.float64(factr), pgtol=np.float64(pgtol),
            maxiter=np.int64(maxiter), maxfun=np.int64(maxfun),
            maxls=np.int64(maxls))
        return solve_options_inline(fg, x0, lower, upper, args, options)
    return solve, solve_options


# inside @njit code: the implementation of njit_minimize's @overload
njit_minimize_impl = _make_solve(_result_alone)[0]
# from Python, with a checked SolverOptions: (NjitResult, length of the
# gradient that stopped it, or 0)
njit_solve = njit(nogil=True)(_make_solve(_with_gradient_length)[1])


def njit_minimize_from_python(fg, x0, lower, upper, args, *, m, factr,
                               pgtol, maxiter, maxfun, maxls):
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
    options = solver_options(m=m, factr=factr, pgtol=pgtol, maxiter=maxiter,
                             maxfun=maxfun, maxls=maxls)
    with plain_objective_errors():
        result_, gradient_length = _call_direct(
            njit_solve, fg, (lower, upper, *args),
            (fg, x0, lower, upper, args, options))
    if result_.task == ABNORMAL_GRADIENT_LENGTH:
        exc = gradient_shape_error((gradient_length,), n)
        attach_result(exc, result_)
        raise exc
    return result_


_NO_STEPS = np.empty(0)  # read-only use: no finite differences

# Direct entries of the drive loops and of ``njit_solve``, per objective
# and argument types: Numba's own dispatch types every argument on every
# call (about 7 us for an empty tuple of args, 15 us for two arrays, a few
# more for the options record), more than a whole small solve.
_DIRECT_ENTRIES: dict = {}
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


def _call_direct(dispatcher, functions, varying, call):
    """``dispatcher(*call)`` through a cached direct entry of its overload
    when the types of ``call`` are known from ``functions`` (the
    objective(s)) and the types of the arguments ``varying`` (the other
    arguments' types are fixed by the caller)."""
    arg_keys = tuple(map(_arg_key, varying))
    if None in arg_keys:
        return dispatcher(*call)
    key = (dispatcher, functions, arg_keys)
    entry = _DIRECT_ENTRIES.get(key)
    if entry is not None:
        return entry(*call)
    out = dispatcher(*call)  # compiles on first use
    if len(_DIRECT_ENTRIES) >= 256:
        _DIRECT_ENTRIES.clear()
    _DIRECT_ENTRIES[key] = overload_entry(dispatcher, call)
    return out


def _call_drive(drive, fun, jac, addresses, n, m, args, lower, upper,
                abs_steps, rel_step, g_eval, work):
    """``drive(...)`` through a cached direct entry when possible."""
    return _call_direct(drive, (fun, jac), args,
                        (fun, jac, addresses, n, m, args, lower, upper,
                         abs_steps, rel_step, g_eval, work))


def solve_compiled(fun, jac, x0, args, lower, upper, nbd, options,
                   abs_step=None, rel_step=None, scheme="2-point",
                   pairs=None):
    """Run a solve whose objective is compiled, with ``options`` (a
    ``SolverOptions``); returns an OptimizeResult identical to the Python
    path's.  x0 (a private copy) becomes x.
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
    solve = Solve(x0, lower, upper, nbd, options, pairs)
    m = solve.m
    # the objective's gradient goes straight into the workspace's g
    work = np.empty(2 * n + INFO_SIZE)
    try:
        task = _call_drive(drive, fun, jac_fn, solve.addresses, n, m, args,
                           lower, upper, abs_arr, rel, solve.field(G), work)
        if task == ABNORMAL_GRADIENT_LENGTH:
            raise gradient_shape_error(
                (int(work[2 * n + INFO_GRADIENT_LENGTH]),), n)
    except TypingError as exc:
        raise_plain(exc)
    except BaseException as exc:
        attach_last_accepted(exc, solve)
        raise
    f, nit, nfev, njev, head, col = work[2 * n:2 * n + 6].tolist()
    return solve_result(solve, task, f, nit, nfev, njev, head, col)


attach(__name__)  # kernels compiled at install (precompiled.py)
