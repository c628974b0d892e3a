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
    """Minimise fg(x, *args) -> (f, g) subject to lower <= x <= upper with
    L-BFGS-B, from Python or from inside ``@njit`` code.

    x0, lower, upper: float64 arrays of shape (n,); use -inf/+inf for a
    missing bound.  ``args`` is a tuple passed through to ``fg``.  Other
    parameters as in ``fmin_l_bfgs_b``.  Returns ``NjitResult``.
    Thread-safe: every call has its own work arrays.

    Bad input: called from Python, x0, the bounds and the options are
    checked as on the Python path (ValueError), and a gradient whose
    length is not n raises ValueError with the last accepted iterate in
    ``exc.lbfgsb_result``.  Inside ``@njit`` code, NaN/inf in x0, a NaN
    bound, lower > upper, a lower bound of +inf or an upper bound of -inf
    end the solve with status 2 and their own task code (811-819, see
    ``lbfgsb_numba.status``) without evaluating fg, and so does a gradient
    of the wrong length (at the last accepted iterate); lower/upper not of
    x0's shape and bad options raise ValueError.
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
