"""A drop-in for BoTorch's ``fmin_l_bfgs_b_batched``
(``botorch.optim.batched_lbfgs_b``).

BoTorch minimises a batch of independent problems with one vectorised
objective call per round; its own version drives scipy's private L-BFGS-B
routine once per problem per round from a Python loop.  This one has the
same signature, arguments and return value and drives the whole batch in
one compiled call per round (``batch_ask_tell.BatchSolver``)::

    # from botorch.optim.batched_lbfgs_b import fmin_l_bfgs_b_batched
    from lbfgsb_numba.botorch import fmin_l_bfgs_b_batched

Each problem's result is that of solving it alone (``minimize`` with the
same options), whatever the other problems do.  Written from BoTorch's
documented behaviour; no BoTorch code.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any, Callable, Optional

import numpy as np

from .api import callback_adapter
from .batch_ask_tell import BatchSolver
from .bounds import normalize_bounds
from .options import EPS, FACTR, GTOL, MAXCOR, MAXITER, MAXLS, NO_LIMIT
from .result import OptimizeResult
from .validation import unpack_fg

__all__ = ["fmin_l_bfgs_b_batched", "translate_bounds_for_lbfgsb"]


class ArgumentConflictError(ValueError, AssertionError):
    """Invalid arguments that BoTorch's version rejects with an assertion
    (``factr`` together with ``ftol``, an x0 that is not 2-d): both a
    ValueError and an AssertionError, so code written for either works."""


def fmin_l_bfgs_b_batched(
        func: Callable[..., Any], x0: Any, bounds: Any = None,
        maxcor: int = MAXCOR, factr: Optional[float] = FACTR,
        ftol: Optional[float] = None, pgtol: float = GTOL,
        tol: Optional[float] = None, maxiter: int = MAXITER,
        disp: Any = None, callback: Optional[Callable[..., Any]] = None,
        maxls: int = MAXLS,
        pass_batch_indices: bool = False
) -> tuple[np.ndarray, np.ndarray, list]:
    """Minimise b independent problems with one batched objective
    (BoTorch's ``fmin_l_bfgs_b_batched``).

    Parameters
    ----------
    func : callable
        ``func(X) -> (F, G)``: X of shape (a, n) holds the a problems that
        need an evaluation this round, F (a,) their values and G (a, n)
        their gradients.  With ``pass_batch_indices`` it is called as
        ``func(X, batch_indices=list_of_a_ints)`` (the rows of x0 that X
        holds).
    x0 : array_like, shape (b, n)
        Starting points (clipped into the bounds).
    bounds : sequence of n ``(min, max)`` pairs, optional
        Shared by all problems; None or +-inf for a missing side.
    maxcor : int
        Number of correction pairs kept (m).
    factr, ftol : float
        Stop when ``(f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol``,
        ``ftol = factr * eps`` by default; to give ``ftol`` set
        ``factr=None`` (both together raise ``ArgumentConflictError``, a
        ValueError and AssertionError).
    pgtol : float
        Stop when the projected gradient's largest entry is <= pgtol.
    tol : float, optional
        Alias for ``pgtol`` (takes precedence).
    maxiter : int
        Iterations per problem; there is no limit on evaluations.
    disp : ignored (deprecated in BoTorch); a DeprecationWarning if given.
    callback : callable, optional
        Called after each iteration of each problem with a copy of its
        iterate, ``callback(xk)``, or ``callback(intermediate_result)``
        (an OptimizeResult with x and fun) if that is its only parameter;
        raising StopIteration stops that problem (``STOP: CALLBACK
        REQUESTED HALT``).
    maxls : int
        Line-search steps per iteration.
    pass_batch_indices : bool
        See ``func``.

    Returns
    -------
    xs : ndarray, shape (b, n)
    fs : ndarray, shape (b,)
    results : list of b OptimizeResult
        With x, fun, jac, nit, nfev, njev, status (0 converged, 1 maxiter,
        2 other), success, message and hess_inv.

    Raises
    ------
    ArgumentConflictError
        Both ``factr`` and ``ftol`` given, or x0 not of shape (b, n) (a
        ValueError and an AssertionError, as BoTorch raises).
    ValueError, TypeError
        Other bad input (no tolerance, bounds of the wrong length, func
        not callable).

    See Also
    --------
    lbfgsb_numba.BatchSolver : the ask/tell solver this runs on.

    References
    ----------
    .. [1] Byrd, Lu, Nocedal & Zhu, SIAM J. Sci. Comput. 16(5), 1995.
    .. [2] Zhu, Byrd, Lu & Nocedal, "Algorithm 778", ACM TOMS 23(4), 1997.
    .. [3] Morales & Nocedal, "Remark on Algorithm 778", ACM TOMS 38(1), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from lbfgsb_numba.botorch import fmin_l_bfgs_b_batched
    >>> centres = np.array([[1.0, 2.0], [3.0, -1.0]])
    >>> def func(X, batch_indices):
    ...     D = X - centres[batch_indices]
    ...     return np.sum(D ** 2, axis=1), 2.0 * D
    >>> xs, fs, results = fmin_l_bfgs_b_batched(
    ...     func, np.zeros((2, 2)), bounds=[(-2.0, 2.0)] * 2,
    ...     pass_batch_indices=True)
    >>> print(xs, fs)
    [[ 1.  2.]
     [ 2. -1.]] [0. 1.]
    >>> [r.status for r in results]
    [0, 0]
    """
    if disp is not None:
        warnings.warn("fmin_l_bfgs_b_batched: disp is deprecated and "
                      "ignored", DeprecationWarning, stacklevel=2)
    if ftol is None:
        if factr is None:
            raise ValueError("give factr or ftol (both are None)")
        ftol = factr * EPS
    elif factr is not None:
        raise ArgumentConflictError(
            "ftol and factr cannot be used together: set factr=None to give "
            "ftol")
    if not callable(func):
        raise TypeError(f"func must be callable, got {type(func).__name__}")
    if np.ndim(x0) != 2:
        raise ArgumentConflictError(f"x0 must be a 2-d array (b, n), got "
                                    f"shape {np.shape(x0)}")
    n = np.shape(x0)[1]
    if bounds is not None:
        if len(bounds) != n:
            raise ValueError(f"bounds: length of x0 != length of bounds "
                             f"({n} variables, {len(bounds)} bounds)")
        lower, upper, _ = normalize_bounds(list(bounds), n)
        bounds = (lower, upper)
    on_iterate = callback_adapter(callback)
    solver = BatchSolver(
        x0, bounds, maxcor=maxcor, ftol=float(ftol),
        gtol=float(tol if tol is not None else pgtol), maxiter=maxiter,
        maxfun=NO_LIMIT, maxls=maxls,  # BoTorch's has no such limit
        callback=None if on_iterate is None else
        (lambda i, x, f: on_iterate(x, f)))
    while not solver.done:
        idx, X = solver.ask()
        if pass_batch_indices:
            out = func(X, batch_indices=idx.tolist())
        else:
            out = func(X)
        F, G = unpack_fg(out)
        solver.tell(F, G)
    res = solver.result()
    results = [OptimizeResult(
        fun=float(res.fun[i]), jac=res.jac[i], nfev=int(res.nfev[i]),
        njev=int(res.nfev[i]), nit=int(res.nit[i]),
        status=int(res.status[i]), message=res.message[i], x=res.x[i],
        success=bool(res.success[i]), hess_inv=solver.hess_inv(i))
        for i in range(solver.k)]
    return res.x, res.fun, results


def translate_bounds_for_lbfgsb(lower_bounds: Any, upper_bounds: Any,
                                num_features: int, q: int,
                                fixed_features: Optional[dict] = None
                                ) -> list:
    """BoTorch's helper: ``(min, max)`` pairs for ``q`` repetitions of
    ``num_features`` features, without the features in ``fixed_features``.

    ``lower_bounds``/``upper_bounds`` are None (no bound: None in the
    pairs), a scalar (the same for every feature) or a sequence (or tensor)
    of num_features or num_features * q values.
    """
    columns = []
    for values in (lower_bounds, upper_bounds):
        if values is None:
            values = [None] * num_features
        elif not isinstance(values, Iterable):
            values = [values] * num_features
        else:
            values = list(values)
        if len(values) == num_features:
            values = values * q
        if len(values) != num_features * q:
            raise ValueError(f"bounds: expected {num_features} or "
                             f"{num_features * q} values, got {len(values)}")
        if fixed_features:
            values = [values[j * num_features + i] for j in range(q)
                      for i in range(num_features)
                      if i not in fixed_features]
        columns.append(values)
    return list(zip(*columns))
