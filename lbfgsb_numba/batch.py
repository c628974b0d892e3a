"""Batched solves: many independent bound-constrained problems in one call,
run in parallel over the cores (threads, each running compiled code that
releases the GIL), each problem with its own work arrays.

Problem i minimises ``fun(x, *args_i) -> (f, g)`` from ``x0[i]`` within
``lower[i] <= x <= upper[i]``, where ``args_i`` takes row i of every array in
``args`` (pass shared data with ``np.broadcast_to``: no copy is made).  A
problem that fails (NaN objective, line-search failure, ...) ends with its
own status and never touches the others' arrays.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numba
import numpy as np
from numba import njit
from numba.core import types
from numba.extending import overload

from . import status as _status
from .solve import overload_entry
from .compiled import (drive_combined_inline, is_compiled_function,
                       setup_problem)
from .compiled_checks import plain_objective_errors
from .entries import (INFO_SIZE, as_int, buffer_words, gradient_field,
                      result)
from .options import (FTOL, GTOL, MAXCOR, MAXFUN, MAXITER, MAXLS,
                      solver_options)
from .result import BatchResult
from .precompiled import attach

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


@overload(rows_at, inline='always')
def _rows_at_overload(args, i):
    if isinstance(args, types.BaseTuple) and len(args) <= _MAX_ARGS:
        return _ROWS_IMPLS[len(args)]
    return None


@njit(nogil=True)
def _solve_rows(fun, x0, lower, upper, args, start, stop, options, x_out,
                f_out, g_out, nit_out, nfev_out, task_out, status_out, buf,
                work, info):
    """Solve problems start..stop-1, with ``options`` (a
    ``SolverOptions``), one after the other in one work buffer
    ``buf`` (``buffer_words`` float64, set up afresh for each problem, so
    each result is that of a solve alone), with ``work`` (2, n) and
    ``info`` (INFO_SIZE,) float64 arrays (allocated by the caller: nothing to
    compile for them here); an exception from ``fun`` propagates
    unchanged.  Only the loop around ``fun`` is compiled here: set-up,
    steps and results are the cached entries (``entries``)."""
    n = x0.shape[1]
    m = options.m
    x_eval, x_work = work[0], work[1]
    for i in range(start, stop):
        lo, up = lower[i], upper[i]
        setup_problem(buf, x0[i], lo, up, options)
        # the objective's gradient goes straight into the workspace's g
        task = drive_combined_inline(fun, fun, buf, n, m, rows_at(args, i),
                                     lo, up, info, -1.0, x_eval,
                                     gradient_field(buf, n), x_work)
        status_out[i] = result((buf, n, m, task, x_out[i], x_out.strides[1],
                                g_out[i], g_out.strides[1], info))
        f_out[i] = info[0]
        nit_out[i] = as_int(info[1])
        nfev_out[i] = as_int(info[2])
        task_out[i] = task


def _solve_chunks(kernel_args, k, parallel):
    """``_solve_rows`` over the k problems: in one call, or in chunks (a few
    per thread, each reusing one work buffer) spread over
    ``numba.get_num_threads()`` threads, the kernel releasing the GIL.
    Threads rather than a ``prange`` kernel: the one compiled
    ``_solve_rows`` serves both modes, no parallel region has to be
    compiled for each new objective, and an exception from the objective
    reaches the caller as raised (the other chunks finish first)."""
    head, tail = kernel_args[:5], kernel_args[5:]
    n, m = kernel_args[1].shape[1], kernel_args[5].m
    words = buffer_words(n, m)

    def arrays():
        return np.empty(words), np.empty((2, n)), np.empty(INFO_SIZE)

    threads = numba.get_num_threads() if parallel else 1
    n_chunks = min(k, 4 * threads)
    if threads == 1 or n_chunks <= 1:
        _solve_rows(*head, 0, k, *tail, *arrays())
        return
    starts = [c * k // n_chunks for c in range(n_chunks + 1)]
    # the compiled entry (the dispatcher itself until compiled: the first
    # thread to call it compiles, the others wait for it)
    entry = overload_entry(_solve_rows, (*head, 0, k, *tail, *arrays()))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for done in pool.map(lambda c: entry(*head, starts[c], starts[c + 1],
                                             *tail, *arrays()),
                             range(n_chunks)):
            del done


def batch_bounds(bounds, k, n):
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


def _solve_with_progress(kernel_args, k, parallel):
    """``_solve_chunks`` over blocks of rows (views: the same argument
    types, no new compilation), with a progress bar."""
    from .progress import solve_in_blocks
    threads = numba.get_num_threads() if parallel else 1
    fun, rows, args, options, outputs = (kernel_args[0], kernel_args[1:4],
                                         kernel_args[4], kernel_args[5],
                                         kernel_args[6:])

    def solve_rows(a, b):
        _solve_chunks((fun, *(r[a:b] for r in rows),
                       tuple(arg[a:b] for arg in args), options,
                       *(out[a:b] for out in outputs)), b - a, parallel)
    solve_in_blocks(solve_rows, k, threads)


def minimize_batch(fun: Callable[..., Any], x0: Any, args: tuple = (),
                   bounds: Any = None, *, maxcor: int = MAXCOR,
                   ftol: float = FTOL, gtol: float = GTOL,
                   maxiter: int = MAXITER, maxfun: int = MAXFUN,
                   maxls: int = MAXLS,
                   parallel: bool = True, vectorized: bool = False,
                   pass_indices: bool = False,
                   progress: bool = False) -> BatchResult:
    """Solve k independent problems ``min fun(x, *args_i)`` subject to bounds.

    Each problem follows exactly the iterates of ``minimize`` on it alone
    (L-BFGS-B 3.0 [1]_ [2]_ [3]_); the problems run in parallel in compiled
    code (Numba threads), or, with ``vectorized=True``, a Python objective is
    called once per round with every problem that needs an evaluation.

    Parameters
    ----------
    fun : callable
        An ``@njit`` function ``fun(x, *args_i) -> (f, g)`` (x and g of shape
        (n,)); with ``vectorized=True`` any callable
        ``fun(X, *args_rows) -> (F, G)``.
    x0 : array_like, shape (k, n)
        Starting points, one row per problem.
    args : tuple of arrays, optional
        Their first axis is the batch (row i goes to problem i); use
        ``np.broadcast_to(a, (k,) + a.shape)`` for shared data.
    bounds : optional
        None; a tuple (lower, upper) of scalars or arrays of shape (n,) or
        (k, n) (+-inf for a missing side); a list of n (min, max) pairs; or
        a Bounds-like object with lb/ub.
    maxcor, ftol, gtol, maxiter, maxfun, maxls : optional
        As in ``minimize(method='L-BFGS-B')``, shared by all problems.
    parallel : bool, optional
        Solve the rows on Numba's threads (else one thread).
    vectorized : bool, optional
        ``fun(X, *args_rows) -> (F, G)`` is called once per round on the a
        problems that need an evaluation (X (a, n), F (a,), G (a, n), args
        sliced to their rows); see ``vectorized_batch.minimize_vectorized``.
    pass_indices : bool, optional
        With ``vectorized``, also pass the keyword ``indices`` (the rows of
        x0 that X holds).
    progress : bool, optional
        Show a progress bar of the problems finished out of k (tqdm when
        installed, else a line on stderr); the results are the same.  The
        rows are solved in blocks, the bar advancing after each; with
        ``vectorized`` it advances after each round by the problems that
        finished in it.

    Returns
    -------
    BatchResult
        x (k, n), fun (k,), jac (k, n), nit, nfev, status, success, task
        (k,) and message (list of k strings).

    Raises
    ------
    ValueError, TypeError
        Bad x0, args, bounds or options, naming the argument.  An exception
        raised by ``fun`` propagates unchanged.

    See Also
    --------
    BatchSolver : the same batch driven by ask/tell.

    References
    ----------
    .. [1] Byrd, Lu, Nocedal & Zhu, SIAM J. Sci. Comput. 16(5), 1995.
    .. [2] Zhu, Byrd, Lu & Nocedal, "Algorithm 778", ACM TOMS 23(4), 1997.
    .. [3] Morales & Nocedal, "Remark on Algorithm 778", ACM TOMS 38(1), 2011.

    Examples
    --------
    Three shifted quadratics with a numpy objective vectorised over the
    batch:

    >>> import numpy as np
    >>> from lbfgsb_numba import minimize_batch
    >>> centres = np.array([[1.0, 2.0], [3.0, -1.0], [-2.0, 0.5]])
    >>> def fg(X, c):
    ...     return np.sum((X - c) ** 2, axis=1), 2.0 * (X - c)
    >>> res = minimize_batch(fg, np.zeros((3, 2)), args=(centres,),
    ...                      bounds=(-1.5, 2.5), vectorized=True)
    >>> print(res.x)
    [[ 1.   2. ]
     [ 2.5 -1. ]
     [-1.5  0.5]]
    >>> bool(res.success.all()), res.nit.tolist()
    (True, [2, 2, 2])
    """
    if vectorized:
        from .vectorized_batch import minimize_vectorized
        return minimize_vectorized(fun, x0, args, bounds, maxcor=maxcor,
                                   ftol=ftol, gtol=gtol, maxiter=maxiter,
                                   maxfun=maxfun, maxls=maxls,
                                   pass_indices=pass_indices,
                                   progress=progress)
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
    options = solver_options(m=maxcor, ftol=ftol, pgtol=gtol, maxiter=maxiter,
                             maxfun=maxfun, maxls=maxls)
    lower, upper = batch_bounds(bounds, k, n)
    x_out = np.empty((k, n))
    g_out = np.empty((k, n))
    f_out = np.empty(k)
    nit = np.empty(k, dtype=np.int64)
    nfev = np.empty(k, dtype=np.int64)
    task = np.empty(k, dtype=np.int64)
    status = np.empty(k, dtype=np.int64)
    outputs = (x_out, f_out, g_out, nit, nfev, task, status)
    kernel_args = (fun, x0, lower, upper, args, options, *outputs)
    with plain_objective_errors():
        if progress:
            _solve_with_progress(kernel_args, k, parallel)
        else:
            _solve_chunks(kernel_args, k, parallel)
    codes, first = np.unique(task, return_inverse=True)
    texts = [_status.message(int(c)) for c in codes]
    return BatchResult(x=x_out, fun=f_out, jac=g_out, nit=nit, nfev=nfev,
                       status=status, success=status == 0, task=task,
                       message=[texts[j] for j in first.ravel()])


attach(__name__)  # kernels compiled at install (precompiled.py)
