"""Batched solves: many independent bound-constrained problems in one call,
run in parallel over the cores (``numba.prange``), each with its own work
arrays, all in compiled code.

Problem i minimises ``fun(x, *args_i) -> (f, g)`` from ``x0[i]`` within
``lower[i] <= x <= upper[i]``, where ``args_i`` takes row i of every array in
``args`` (pass shared data with ``np.broadcast_to``: no copy is made).  A
problem that fails (NaN objective, line-search failure, ...) ends with its
own status and never touches the others' arrays.
"""
from __future__ import annotations

from typing import Any, Callable

import numba
import numpy as np
from numba import njit, prange
from numba.core import types
from numba.extending import overload

from . import status as _status
from .compiled import (drive_combined, is_compiled_function, keep_alive,
                       load_problem, step_address, warnflag_of)
from .compiled_checks import plain_objective_errors
from .driver import initialize_at
from .result import BatchResult
from .validation import check_solver_options
from .workspace import (BOUND_TYPE, G, LOWER, STATE, UPPER, X, allocate,
                        workspace_views)

EPS = float(np.finfo(float).eps)
RAISED = -2  # task code of a problem whose objective raised
_MAX_ARGS = 10


def rows_at(args, i):
    """(args[0][i], args[1][i], ...): problem i's share of every argument."""
    return tuple(a[i] for a in args)


def _rows_impl(count):
    body = ", ".join(f"args[{j}][i]" for j in range(count))
    src = f"def impl(args, i):\n    return ({body}{',' if count else ''})\n"
    scope: dict = {}
    exec(src, scope)  # a fixed-arity tuple builder, one per argument count
    return scope["impl"]


_ROWS_IMPLS = tuple(_rows_impl(k) for k in range(_MAX_ARGS + 1))


@overload(rows_at)
def _rows_at_overload(args, i):
    if isinstance(args, types.BaseTuple) and len(args) <= _MAX_ARGS:
        return _ROWS_IMPLS[len(args)]
    return None


@njit(nogil=True)
def _solve_rows(fun, x0, lower, upper, args, start, stop, m, factr, pgtol,
                maxiter, maxfun, maxls, x_out, f_out, g_out, nit_out, nfev_out,
                task_out, status_out, step, catch):
    """Solve problems start..stop-1 one after the other in one work buffer
    (zeroed between problems, so each result is that of a solve alone).
    With ``catch``, a problem whose objective raises gets the task code
    RAISED and the others go on (an exception must not leave a parallel
    region: Numba would lose it)."""
    n = x0.shape[1]
    buf, addresses = allocate(n, m)
    ws = workspace_views(addresses, n, m)
    x, g, lo, up, nbd = ws[X], ws[G], ws[LOWER], ws[UPPER], ws[BOUND_TYPE]
    state = ws[STATE]
    no_steps = np.empty(0)
    for i in range(start, stop):
        buf[:] = 0.0
        load_problem(x0[i], lower[i], upper[i], x, lo, up, nbd)
        initialize_at(addresses, n, m, factr, pgtol, maxls, maxiter, maxfun)
        row_args = rows_at(args, i)
        if catch:
            try:
                task = drive_combined(fun, fun, step, addresses, n, m,
                                      row_args, no_steps, -1.0)[0]
            except Exception:  # noqa: BLE001 (re-raised from Python)
                task = RAISED
        else:
            task = drive_combined(fun, fun, step, addresses, n, m, row_args,
                                  no_steps, -1.0)[0]
        st = state[0]
        for j in range(n):
            x_out[i, j] = x[j]
            g_out[i, j] = g[j]
        f_out[i] = st.f
        nit_out[i] = st.nit
        nfev_out[i] = st.nfev
        task_out[i] = task
        status_out[i] = warnflag_of(task, st.nit, st.nfev, maxiter, maxfun)
    keep_alive(buf)


@njit(nogil=True, parallel=True)
def _batch_parallel(fun, x0, lower, upper, args, m, factr, pgtol, maxiter,
                    maxfun, maxls, x_out, f_out, g_out, nit_out, nfev_out,
                    task_out, status_out, n_chunks, step):
    k = x0.shape[0]
    for c in prange(n_chunks):
        _solve_rows(fun, x0, lower, upper, args, c * k // n_chunks,
                    (c + 1) * k // n_chunks, m, factr, pgtol, maxiter, maxfun,
                    maxls, x_out, f_out, g_out, nit_out, nfev_out, task_out,
                    status_out, step, True)


@njit(nogil=True)
def _batch_serial(fun, x0, lower, upper, args, m, factr, pgtol, maxiter,
                  maxfun, maxls, x_out, f_out, g_out, nit_out, nfev_out,
                  task_out, status_out, n_chunks, step):
    _solve_rows(fun, x0, lower, upper, args, 0, x0.shape[0], m, factr, pgtol,
                maxiter, maxfun, maxls, x_out, f_out, g_out, nit_out,
                nfev_out, task_out, status_out, step, False)


def _batch_bounds(bounds, k, n):
    """(lower, upper) arrays of shape (k, n) (read-only broadcasts)."""
    from .bounds import check_bound_values, normalize_bounds
    if bounds is None:
        lo = np.full(n, -np.inf)
        return np.broadcast_to(lo, (k, n)), np.broadcast_to(-lo, (k, n))
    if isinstance(bounds, tuple) and len(bounds) == 2 and not (
            hasattr(bounds, "lb")):
        # a tuple is (lower, upper): scalars or arrays of shape (n,) / (k, n)
        try:
            lower = np.broadcast_to(np.asarray(bounds[0], dtype=float), (k, n))
            upper = np.broadcast_to(np.asarray(bounds[1], dtype=float), (k, n))
        except (TypeError, ValueError):
            lower = upper = None
        if lower is None:
            raise ValueError(f"bounds: (lower, upper) must be scalars or "
                             f"arrays of shape ({n},) or {(k, n)}, got "
                             f"{np.shape(bounds[0])} and {np.shape(bounds[1])}")
        check_bound_values(lower, upper)
        return lower, upper
    lo, up, _ = normalize_bounds(bounds, n)
    return np.broadcast_to(lo, (k, n)), np.broadcast_to(up, (k, n))


def _solve_with_progress(kernel, fun, x0, lower, upper, args, options,
                         outputs):
    """The kernel over blocks of rows (views: the same argument types, no
    new compilation), with a progress bar."""
    from .progress import solve_in_blocks
    threads = numba.get_num_threads() if kernel is _batch_parallel else 1
    step = step_address()

    def solve_rows(a, b):
        kernel(fun, x0[a:b], lower[a:b], upper[a:b],
               tuple(arg[a:b] for arg in args), *options,
               *(out[a:b] for out in outputs),
               max(1, min(b - a, 4 * threads)), step)
    solve_in_blocks(solve_rows, x0.shape[0], threads)


def minimize_batch(fun: Callable[..., Any], x0: Any, args: tuple = (),
                   bounds: Any = None, *, maxcor: int = 10,
                   ftol: float = 2.2204460492503131e-09, gtol: float = 1e-5,
                   maxiter: int = 15000, maxfun: int = 15000, maxls: int = 20,
                   parallel: bool = True, vectorized: bool = False,
                   pass_indices: bool = False,
                   progress: bool = False) -> BatchResult:
    """Solve k independent problems ``min fun(x, *args_i)`` s.t. bounds.

    fun : ``@njit`` function ``fun(x, *args_i) -> (f, g)``.
    x0 : (k, n) starting points, one row per problem.
    args : tuple of arrays whose first axis is the batch (row i goes to
        problem i); use ``np.broadcast_to(a, (k,) + a.shape)`` for shared data.
    bounds : None; a tuple (lower, upper) of scalars or arrays of shape (n,)
        or (k, n) (+-inf for a missing side); a list of n (min, max) pairs;
        or a Bounds-like object with lb/ub.
    Options as in ``minimize(method='L-BFGS-B')``.
    vectorized : with True, ``fun`` is any Python callable
        ``fun(X, *args_rows) -> (F, G)`` called once per round on the
        problems that need an evaluation (X (a, n), F (a,), G (a, n), args
        sliced to their rows; ``pass_indices=True`` adds the keyword
        ``indices``): see ``vectorized_batch.minimize_vectorized``.
    progress : solve in blocks of rows and show a progress bar (tqdm when
        installed, else a line on stderr); the results are the same.

    Returns a BatchResult with x (k, n), fun (k,), jac (k, n), nit, nfev,
    status, success (k,) and message (list of k strings).
    """
    if vectorized:
        if progress:
            raise ValueError("progress: not available with vectorized=True "
                             "(each round is one call of fun over the batch)")
        from .vectorized_batch import minimize_vectorized
        return minimize_vectorized(fun, x0, args, bounds, maxcor=maxcor,
                                   ftol=ftol, gtol=gtol, maxiter=maxiter,
                                   maxfun=maxfun, maxls=maxls,
                                   pass_indices=pass_indices)
    if pass_indices:
        raise ValueError("pass_indices needs vectorized=True")
    if not is_compiled_function(fun):
        raise TypeError("fun must be a Numba @njit function returning (f, g) "
                        "(or use vectorized=True for a Python function of "
                        "the whole batch)")
    x0 = np.asarray(x0)
    if x0.ndim != 2:
        raise ValueError(f"x0 must have shape (k, n), got {x0.shape}")
    if not np.issubdtype(x0.dtype, np.number) or np.iscomplexobj(x0):
        raise TypeError(f"x0 must be real numbers, got dtype {x0.dtype}")
    x0 = np.ascontiguousarray(x0, dtype=float)
    if not np.isfinite(x0).all():
        raise ValueError("x0 contains NaN or inf")
    k, n = x0.shape
    if n == 0:
        raise ValueError("x0 must have at least one variable (shape (k, n) "
                         "with n >= 1)")
    if not isinstance(args, tuple):
        args = tuple(args) if isinstance(args, list) else (args,)
    if len(args) > _MAX_ARGS:
        raise ValueError(f"args: at most {_MAX_ARGS} arrays are supported")
    for j, a in enumerate(args):
        if not isinstance(a, np.ndarray) or a.ndim < 1 or a.shape[0] != k:
            raise ValueError(f"args[{j}] must be an array whose first axis "
                             f"is the batch of {k} problems")
    maxiter, maxfun = check_solver_options(maxcor, ftol / EPS, gtol, maxiter,
                                           maxfun, maxls, 1e-8)
    lower, upper = _batch_bounds(bounds, k, n)
    factr = ftol / EPS
    x_out = np.empty((k, n))
    g_out = np.empty((k, n))
    f_out = np.empty(k)
    nit = np.empty(k, dtype=np.int64)
    nfev = np.empty(k, dtype=np.int64)
    task = np.empty(k, dtype=np.int64)
    status = np.empty(k, dtype=np.int64)
    options = (maxcor, factr, gtol, maxiter, maxfun, maxls)
    outputs = (x_out, f_out, g_out, nit, nfev, task, status)
    kernel = _batch_parallel if parallel else _batch_serial
    # a few chunks per thread: each chunk reuses one work buffer
    n_chunks = max(1, min(k, 4 * numba.get_num_threads()))
    with plain_objective_errors():
        if progress:
            _solve_with_progress(kernel, fun, x0, lower, upper, args, options,
                                 outputs)
        else:
            kernel(fun, x0, lower, upper, args, *options, *outputs, n_chunks,
                   step_address())
    raised = np.flatnonzero(task == RAISED)
    if raised.size:
        # the objective raised for these problems inside the parallel
        # region, which cannot pass exceptions on: solve the first again,
        # alone, so that its exception reaches the caller as raised
        i = int(raised[0])
        _solve_rows(fun, x0, lower, upper, args, i, i + 1, *options,
                    *outputs, step_address(), False)
        raise RuntimeError(f"the objective raised an exception for problem "
                           f"{i} of the batch, but not when solved again "
                           f"alone")
    codes, first = np.unique(task, return_inverse=True)
    texts = [_status.message(int(c)) for c in codes]
    return BatchResult(x=x_out, fun=f_out, jac=g_out, nit=nit, nfev=nfev,
                       status=status, success=status == 0, task=task,
                       message=[texts[j] for j in first.ravel()])
