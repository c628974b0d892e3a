"""``njit_minimize``: one name for Python callers and for ``@njit`` code.

Defined apart from ``compiled`` (loaded on first use) so that the name is
known to Numba from the package's import on: a user's ``@njit`` function
may refer to ``lbfgsb_numba.njit_minimize`` before anything has loaded the
compiled solver.  From Python the call goes to
``compiled.njit_minimize_from_python`` (input checked, errors raised);
inside ``@njit`` code to ``compiled.njit_minimize_impl`` (errors as a status).
"""
from __future__ import annotations

from numba.extending import overload

from .options import FACTR, GTOL, MAXCOR, MAXFUN, MAXITER, MAXLS


def njit_minimize(fg, x0, lower, upper, args=(), m=MAXCOR, factr=FACTR,
                  pgtol=GTOL, maxiter=MAXITER, maxfun=MAXFUN, maxls=MAXLS):
    """Minimise ``fg(x, *args) -> (f, g)`` subject to lower <= x <= upper with
    L-BFGS-B [1]_ [2]_ [3]_, from Python or from inside ``@njit`` code (also
    in ``prange`` loops).

    Thread-safe: every call has its own work arrays.  It compiles only the
    loop around ``fg``; the solver itself is loaded from Numba's cache.

    Parameters
    ----------
    fg : Numba ``@njit`` function
        ``fg(x, *args) -> (f, g)``, g of shape (n,).
    x0, lower, upper : ndarray of float64, shape (n,)
        Starting point and bounds; -inf/+inf for a missing bound.
    args : tuple, optional
        Passed through to ``fg``.
    m, factr, pgtol, maxiter, maxfun, maxls : optional
        As in ``fmin_l_bfgs_b``.

    Returns
    -------
    NjitResult
        ``(x, fun, jac, nit, nfev, status, task)``;
        ``lbfgsb_numba.status.message(task)`` gives the message.

    Raises
    ------
    ValueError
        Called from Python: x0, the bounds or the options are bad (checked
        as on the Python path), or the gradient's length is not n (the last
        accepted iterate is in ``exc.lbfgsb_result``).  Inside ``@njit``
        code only lower/upper not of x0's shape and bad options raise; NaN/inf
        in x0, a NaN bound, lower > upper, a lower bound of +inf or an upper
        bound of -inf end the solve with status 2 and their own task code
        (811-819, see ``lbfgsb_numba.status``) without evaluating fg, and so
        does a gradient of the wrong length (at the last accepted iterate).

    References
    ----------
    .. [1] Byrd, Lu, Nocedal & Zhu, SIAM J. Sci. Comput. 16(5), 1995.
    .. [2] Zhu, Byrd, Lu & Nocedal, "Algorithm 778", ACM TOMS 23(4), 1997.
    .. [3] Morales & Nocedal, "Remark on Algorithm 778", ACM TOMS 38(1), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from numba import njit
    >>> from lbfgsb_numba import njit_minimize
    >>> @njit
    ... def fg(x, c):
    ...     return np.sum((x - c) ** 2), 2.0 * (x - c)
    >>> @njit
    ... def solve(c):
    ...     inf = np.full(2, np.inf)
    ...     return njit_minimize(fg, np.zeros(2), -inf, inf, (c,)).x
    >>> solve(np.array([1.0, -2.0]))
    array([ 1., -2.])
    """
    from .compiled import njit_minimize_from_python
    return njit_minimize_from_python(fg, x0, lower, upper, args, m=m,
                                     factr=factr, pgtol=pgtol,
                                     maxiter=maxiter, maxfun=maxfun,
                                     maxls=maxls)


@overload(njit_minimize, jit_options={"nogil": True}, inline="always")
def _njit_minimize_compiled(fg, x0, lower, upper, args=(), m=MAXCOR,
                            factr=FACTR, pgtol=GTOL, maxiter=MAXITER,
                            maxfun=MAXFUN, maxls=MAXLS):
    """``njit_minimize`` inside ``@njit`` code: bad input gives a status.
    Inlined (``compiled.njit_minimize_impl``): the objective is then a global of the
    caller, not a value passed to a function compiled apart (which Numba
    lowers as a process address), so that a user's ``cache=True`` function
    calling ``njit_minimize`` is cached."""
    from .compiled import njit_minimize_impl
    return njit_minimize_impl
