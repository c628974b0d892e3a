"""Argument checks (done once, up front) and conversion of what the user's
objective returns (done once per evaluation, with fast paths)."""
from __future__ import annotations

import math
import numbers
import sys
from typing import Any

import numpy as np


def as_x0(x0: Any) -> np.ndarray:
    """x0 as a new float64 vector (0-d becomes shape (1,); any shape is
    ravelled like scipy).  TypeError if not real numbers, ValueError if
    empty or not finite."""
    if (type(x0) is np.ndarray and x0.dtype == np.float64 and x0.ndim == 1
            and x0.shape[0] > 0):
        arr = x0.copy()  # the common case, quickly
        if np.isfinite(arr).all():
            return arr
    try:
        arr = np.asarray(x0)
    except Exception as exc:  # ragged sequences and the like
        raise TypeError(f"x0 must be an array of real numbers ({exc})") from None
    if np.iscomplexobj(arr):
        raise TypeError("x0 must be real; got complex values")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or
                                   arr.dtype == bool):
        raise TypeError(f"x0 must be an array of real numbers, got dtype "
                        f"{arr.dtype}")
    arr = np.array(arr, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError("x0 must have at least one element")
    if not np.isfinite(arr).all():
        raise ValueError(f"x0 contains NaN or inf (first at index "
                         f"{int(np.argmin(np.isfinite(arr)))})")
    return arr


def _check_int(name, value, minimum):
    """An integer option (Python or numpy integer; not bool, not float:
    scipy's L-BFGS-B refuses a float ``maxcor`` or ``maxls`` too)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


_NO_LIMIT = 2 ** 62  # an iteration/evaluation count never reached


def _iteration_limit(name, value, round_up):
    """``maxiter``/``maxfun`` as the integer the driver compares with,
    read as scipy reads them: any real number.  scipy stops when
    ``nit >= maxiter`` (so 100.1 allows 101 iterations: rounded up) and
    when ``nfev > maxfun`` (rounded down); values <= 0 stop after the first
    iteration, like scipy's; +inf means no limit.  NaN is refused (scipy
    silently ignores the limit)."""
    if type(value) is int:
        return min(value, _NO_LIMIT)
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if isinstance(value, (numbers.Integral, np.integer)):
        return min(int(value), _NO_LIMIT)
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"{name} must not be NaN")
    if v >= _NO_LIMIT:
        return _NO_LIMIT
    if v <= -_NO_LIMIT:
        return -_NO_LIMIT
    return int(math.ceil(v) if round_up else math.floor(v))


def _check_tol(name, value):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not v >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")


def check_solver_options(m, factr, pgtol, maxiter, maxfun, maxls,
                         epsilon) -> tuple[int, int]:
    """Raise ValueError/TypeError naming the first invalid option; return
    (maxiter, maxfun) as the integers the driver compares with (see
    ``_iteration_limit``)."""
    if (type(m) is int and type(maxiter) is int and type(maxfun) is int and
            type(maxls) is int and type(factr) is float and
            type(pgtol) is float and type(epsilon) is float and
            min(m, maxiter, maxfun, maxls) >= 1 and factr >= 0.0 and
            pgtol >= 0.0 and 0.0 < epsilon < np.inf and
            max(maxiter, maxfun) <= _NO_LIMIT):
        return maxiter, maxfun  # the common case, quickly
    _check_int("m (maxcor)", m, 1)
    maxiter = _iteration_limit("maxiter", maxiter, round_up=True)
    maxfun = _iteration_limit("maxfun", maxfun, round_up=False)
    _check_int("maxls", maxls, 1)
    _check_tol("factr (ftol)", factr)
    _check_tol("pgtol (gtol)", pgtol)
    if type(epsilon) is float and 0.0 < epsilon < np.inf:
        return maxiter, maxfun
    eps = np.asarray(epsilon)
    if np.iscomplexobj(eps) or not np.issubdtype(eps.dtype, np.number):
        raise TypeError(f"epsilon (eps) must be real, got {epsilon!r}")
    if not (eps > 0).all() or not np.isfinite(eps).all():
        raise ValueError(f"epsilon (eps) must be > 0 and finite, got {epsilon!r}")
    return maxiter, maxfun


def iprint_level(iprint: Any, disp: Any) -> int:
    """The log level from ``iprint`` and ``disp`` (as fmin_l_bfgs_b reads
    them: ``disp`` overrides ``iprint``; ``disp=True`` is level 1): an int,
    -1 (no log) for None, False or NaN; a float is rounded down and +inf is
    the most verbose level.  TypeError for anything that is not a number."""
    if disp is None and type(iprint) is int:
        return iprint  # the common case, quickly
    if disp is not None and disp is not False:
        level = 1 if disp is True else _log_level("disp", disp)
        return level if level > 0 else -1
    if disp is False or iprint is None:
        return -1
    return _log_level("iprint", iprint)


def _log_level(name, value):
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if not isinstance(value, (numbers.Real, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if math.isnan(v):
        return -1
    return int(math.floor(min(max(v, -1.0), 1000.0)))


class OptimizeWarning(UserWarning):
    """scipy's ``OptimizeWarning`` when scipy is not loaded (an unknown
    solver option)."""


def optimize_warning() -> type:
    """scipy.optimize's ``OptimizeWarning`` if scipy.optimize is loaded
    (so that filters on it apply), else this package's own."""
    scipy_optimize = sys.modules.get("scipy.optimize")
    return getattr(scipy_optimize, "OptimizeWarning", None) or OptimizeWarning


SCALAR_MSG = "The user-provided objective function must return a scalar value."
# an objective that returns (f, g) where f alone is expected
FORGOTTEN_JAC_MSG = (f"{SCALAR_MSG} Got a pair (f, g): pass jac=True "
                     f"(fmin_l_bfgs_b: fprime=None, approx_grad=False) to use "
                     f"the gradient it returns.")
PAIR_MSG = ("the objective must return (f, g) when no separate gradient is "
            "given (fprime=None / jac=True)")


def as_scalar_f(value: Any) -> float:
    """f as a Python float: float, int, numpy scalar, or a 1-element array."""
    t = type(value)
    if t is float or t is np.float64:
        return float(value)
    if isinstance(value, (complex, np.complexfloating)) or (
            isinstance(value, np.ndarray) and np.iscomplexobj(value)):
        raise TypeError(f"the objective returned a complex value {value!r}; "
                        f"it must return a real scalar")
    if isinstance(value, (numbers.Real, np.number)) and not isinstance(
            value, (bool, np.bool_)):
        return float(value)
    if type(value) is tuple and len(value) == 2:
        raise ValueError(FORGOTTEN_JAC_MSG)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{SCALAR_MSG} Got {type(value).__name__}.") from None
    if arr.size != 1:
        raise ValueError(f"{SCALAR_MSG} Got an array of shape {arr.shape}.")
    return float(arr.reshape(-1)[0])


def as_gradient(value: Any, n: int) -> np.ndarray:
    """The gradient as a float64 vector of length n (float32 upcast,
    (n, 1)/(1, n) ravelled)."""
    if (type(value) is np.ndarray and value.dtype == np.float64 and
            value.shape == (n,)):
        return value
    if isinstance(value, np.ndarray) and np.iscomplexobj(value):
        raise TypeError("the gradient is complex; it must be real")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        if np.iscomplexobj(np.asarray(value)):
            raise TypeError("the gradient is complex; it must be real") from None
        raise ValueError(f"the gradient must be an array of {n} numbers, got "
                         f"{type(value).__name__}") from None
    if arr.size != n or (arr.ndim > 1 and max(arr.shape) != n):
        raise gradient_shape_error(arr.shape, n)
    return arr.reshape(n)


def gradient_shape_error(shape: tuple, n: int) -> ValueError:
    """The error for a gradient of shape ``shape`` where (n,) is needed."""
    return ValueError(f"the gradient has shape {tuple(shape)}; expected "
                      f"({n},) like x0")


def unpack_fg(value: Any) -> tuple[Any, Any]:
    """(f, g) from an objective that returns both."""
    try:
        f, g = value
    except (TypeError, ValueError):
        raise ValueError(f"{PAIR_MSG}; got {type(value).__name__}") from None
    return f, g
