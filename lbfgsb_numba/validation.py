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
