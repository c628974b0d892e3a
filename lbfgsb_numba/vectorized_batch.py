"""``minimize_batch(..., vectorized=True)``: k independent problems whose
objective is one Python callable vectorised over the batch.

Each round calls ``fun(X, *args_rows) -> (F, G)`` once, with X of shape
(a, n) holding the a problems that need an evaluation and every array of
``args`` sliced to their rows; the batch solver (``batch_ask_tell``) then
advances all of them in one compiled call.  Any objective works (numpy;
PyTorch or JAX converted to and from numpy at the boundary): the solver's
own cost is a few us per round plus well under a us per problem.
"""
from __future__ import annotations

from typing import Any, Callable

from .batch_ask_tell import BatchSolver
from .options import FTOL, GTOL, MAXCOR, MAXFUN, MAXITER, MAXLS
from .result import BatchResult
from .validation import unpack_fg


def _batch_args(args: Any, k: int) -> tuple:
    """``args`` as a tuple of objects whose first axis is the batch."""
    if not isinstance(args, tuple):
        args = tuple(args) if isinstance(args, list) else (args,)
    for j, a in enumerate(args):
        try:
            length = len(a)
        except TypeError:
            length = None
        if length != k:
            raise ValueError(f"args[{j}] must be an array whose first axis "
                             f"is the batch of {k} problems (got "
                             f"{type(a).__name__} of length {length})")
    return args


def minimize_vectorized(fun: Callable[..., Any], x0: Any, args: tuple = (),
                        bounds: Any = None, *, maxcor: int = MAXCOR,
                        ftol: float = FTOL, gtol: float = GTOL,
                        maxiter: int = MAXITER, maxfun: int = MAXFUN,
                        maxls: int = MAXLS,
                        pass_indices: bool = False,
                        progress: bool = False) -> BatchResult:
    """Solve k independent problems with a vectorised objective.

    Parameters
    ----------
    fun : callable
        ``fun(X, *args_rows) -> (F, G)`` with X of shape (a, n) (the a
        problems that need an evaluation this round), F of shape (a,) and G
        of shape (a, n); with ``pass_indices`` also the keyword
        ``indices`` (int64 array (a,): the rows of x0 that X holds).
    x0 : array_like, shape (k, n)
    args : tuple of arrays (or anything indexable by an int array) whose
        first axis is the batch; each round passes ``a[indices]`` (the
        whole ``a`` while every problem is active).
    bounds, maxcor, ftol, gtol, maxiter, maxfun, maxls
        As in ``minimize_batch``.
    progress : bool, optional
        Show a progress bar of the problems finished out of k
        (``progress.progress_bar``: tqdm when installed, else a line on
        stderr), advanced after each round by the problems that finished
        in it; the results are the same.

    Returns
    -------
    BatchResult
        As ``minimize_batch``; problem i's x, fun, nit, nfev and message
        are those of ``minimize`` on it alone.  An exception from ``fun``
        propagates unchanged, carrying the state so far (last accepted
        iterates) in ``exc.lbfgsb_result``.
    """
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    solver = BatchSolver(x0, bounds, maxcor=maxcor, ftol=ftol, gtol=gtol,
                         maxiter=maxiter, maxfun=maxfun, maxls=maxls)
    k = solver.k
    args = _batch_args(args, k)
    bar = None
    if progress:
        from .progress import progress_bar
        bar = progress_bar(k, "minimize_batch")
    finished = 0  # problems finished so far (shown on the bar)
    try:
        while not solver.done:
            idx, X = solver.ask()
            # the active rows are kept in ascending order: all k are 0..k-1
            rows = args if idx.shape[0] == k else tuple(a[idx] for a in args)
            if pass_indices:
                out = fun(X, *rows, indices=idx)
            else:
                out = fun(X, *rows)
            if type(out) is tuple and len(out) == 2:
                F, G = out
            else:
                F, G = unpack_fg(out)
            running = solver.tell(F, G)
            if bar is not None and k - running > finished:
                bar.update(k - running - finished)
                finished = k - running
    except BaseException as exc:
        exc.lbfgsb_result = solver.result()
        if hasattr(exc, "add_note"):
            exc.add_note("lbfgsb_numba: every problem's last accepted "
                         "iterate is in this exception's .lbfgsb_result "
                         "(a BatchResult)")
        raise
    finally:
        if bar is not None:
            bar.close()
    return solver.result()

