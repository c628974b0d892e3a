"""Checks of the user's data on the compiled paths (``njit_minimize``,
``minimize_batch`` and ``fmin_l_bfgs_b``/``minimize`` with an ``@njit``
objective), which Numba would otherwise trust:

* the types the objective returns, at compile time (``f_only``,
  ``f_and_gradient``, ``gradient_only``): types that cannot work stop
  Numba's typing with a message saying what the objective must return, and
  ``plain_objective_errors`` re-raises it from Python as the TypeError or
  ValueError the Python path raises (Numba's error kept as the cause);
* the gradient's length, at every evaluation (``gradient_into``: one
  comparison, nothing read or written when it is not n);
* the values of x0 and of the bounds before a solve (``problem_task``: a
  task code, so that compiled callers get a status instead of an
  exception).
"""
from __future__ import annotations

import contextlib
import re

import numpy as np
from numba import njit, types
from numba.core.errors import TypingError
from numba.extending import overload

from .status import (ERROR_BOUND_NAN, ERROR_INFINITE_BOUND,
                     ERROR_LOWER_ABOVE_UPPER, ERROR_X0_NOT_FINITE)
from .validation import SCALAR_MSG, FORGOTTEN_JAC_MSG, PAIR_MSG
from .precompiled import attach

_MARK = "lbfgsb_numba objective check"
_MARKED = re.compile(_MARK + r" \((TypeError|ValueError)\): ([^\n\x1b]*)")


# ------------------------------------------------- return types (compile time)

def _f_problem(t):
    """(exception name, message) if type t cannot be f, else None."""
    if isinstance(t, (types.Float, types.Integer, types.Boolean)):
        return None
    if isinstance(t, types.Complex):
        return ("TypeError", f"the objective returned a complex value ({t}); "
                             f"it must return a real scalar")
    if isinstance(t, types.BaseTuple) and len(t) == 2:
        return "ValueError", FORGOTTEN_JAC_MSG
    return "ValueError", f"{SCALAR_MSG} Got {t}."


def _g_problem(t):
    """(exception name, message) if type t cannot be a gradient, else None."""
    if isinstance(t, types.Array):
        if isinstance(t.dtype, types.Complex):
            return "TypeError", "the gradient is complex; it must be real"
        if t.ndim != 1:
            return ("ValueError", f"the gradient is a {t.ndim}-d array ({t}); "
                                  f"expected shape (n,) like x0")
        if isinstance(t.dtype, (types.Float, types.Integer)):
            return None
    return ("ValueError", f"the gradient must be a 1-d array of n numbers "
                          f"like x0, got {t}")


def _pair_problem(t):
    if not (isinstance(t, types.BaseTuple) and len(t) == 2):
        return "ValueError", f"{PAIR_MSG}; got {t}"
    return _f_problem(t[0]) or _g_problem(t[1])


def _checked(problem):
    """The identity as an overload implementation, or a TypingError that
    carries the plain message (found again by ``plain_objective_errors``)."""
    if problem is not None:
        raise TypingError(f"{_MARK} ({problem[0]}): {problem[1]}")
    return lambda value: value


def f_only(value):
    """What an objective returned as f alone (compiled code only: checks
    the type when compiled)."""
    return value


def f_and_gradient(value):
    """What an objective returned as (f, g) (compiled code only: checks
    the types when compiled)."""
    return value


def gradient_only(value):
    """What a separate ``jac`` returned (compiled code only: checks the
    type when compiled)."""
    return value


@overload(f_only)
def _f_only_typed(value):
    return _checked(_f_problem(value))


@overload(f_and_gradient)
def _f_and_gradient_typed(value):
    return _checked(_pair_problem(value))


@overload(gradient_only)
def _gradient_only_typed(value):
    return _checked(_g_problem(value))


def raise_plain(exc: TypingError):
    """Raise the plain TypeError/ValueError of a typing error raised by the
    checks above (Numba's error as its cause); re-raise ``exc`` itself if
    it comes from elsewhere."""
    found = _MARKED.search(str(exc))
    if found is None:
        raise exc
    kind = TypeError if found.group(1) == "TypeError" else ValueError
    raise kind(found.group(2)) from exc


@contextlib.contextmanager
def plain_objective_errors():
    """``raise_plain`` for the typing errors raised in this context."""
    try:
        yield
    except TypingError as exc:
        raise_plain(exc)


# ------------------------------------------------------ values (run time)

@njit(nogil=True, inline='always')
def gradient_into(g, g_out):
    """Copy the objective's gradient g into g_out (n,) if it has n
    elements; return its length (when it is not n nothing is read or
    written)."""
    length = g.shape[0]
    if length == g_out.shape[0]:
        for i in range(length):
            g_out[i] = g[i]
    return length


@njit(cache=True, nogil=True)
def problem_task(x0, lower, upper):
    """0 if x0 (n,) is finite and the bounds (n,) satisfy lower <= upper
    with no NaN, no lower bound of +inf and no upper bound of -inf; else
    the task code of the problem, in the Python path's order of checks
    (x0, NaN, lower > upper, infinite bound).  Arrays of length n."""
    for i in range(x0.shape[0]):
        if not np.isfinite(x0[i]):
            return ERROR_X0_NOT_FINITE
    code = 0
    for i in range(x0.shape[0]):
        lo = lower[i]
        up = upper[i]
        if np.isnan(lo) or np.isnan(up):
            return ERROR_BOUND_NAN
        if lo > up:
            code = ERROR_LOWER_ABOVE_UPPER
        elif code == 0 and (lo == np.inf or up == -np.inf):
            code = ERROR_INFINITE_BOUND
    return code


attach(__name__)  # kernels compiled at install (precompiled.py)
