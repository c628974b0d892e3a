"""Bounds in every form scipy accepts, plus two arrays (lower, upper),
converted once into arrays for the kernels (no per-element Python loop for
the array forms)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .projection import BOTH, LOWER_ONLY, UNBOUNDED, UPPER_ONLY


def _as_float_array(values, what):
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        arr = None
    if arr is None:
        obj = np.asarray(values, dtype=object)
        if obj.dtype == object:
            none = np.equal(obj, None)
            obj = np.where(none, np.nan, obj)
            try:
                arr = obj.astype(float)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"bounds: {what} must be numbers or None "
                                f"({exc})") from None
            return arr, none
    if np.iscomplexobj(arr):
        raise TypeError(f"bounds: {what} must be real numbers")
    nan = np.isnan(arr)
    if nan.any() and not isinstance(values, np.ndarray):
        # numpy reads None as NaN: tell a missing bound from a NaN bound
        none = np.equal(np.asarray(values, dtype=object), None)
        if none.shape == arr.shape:
            return arr, none
    return arr, None


_UNBOUNDED: dict = {}


def _unbounded(n):
    """(-inf, +inf, 0) arrays of length n, shared and read-only (the solver
    never writes its bound arrays)."""
    arrays = _UNBOUNDED.get(n)
    if arrays is None:
        arrays = (np.full(n, -np.inf), np.full(n, np.inf),
                  np.zeros(n, dtype=np.int32))
        for a in arrays:
            a.flags.writeable = False
        if n <= 100_000:  # keep small ones only
            if len(_UNBOUNDED) > 64:
                _UNBOUNDED.clear()
            _UNBOUNDED[n] = arrays
    return arrays


def _where(index, shape):
    """'variable i' (or 'problem r, variable i' for (k, n) bounds)."""
    if len(shape) < 2:
        return f"variable {index}"
    row, col = np.unravel_index(index, shape)
    return f"problem {int(row)}, variable {int(col)}"


def check_bound_values(lower: np.ndarray, upper: np.ndarray) -> None:
    """Raise ValueError for a NaN bound, lower > upper, a lower bound of
    +inf or an upper bound of -inf (arrays of one shape, (n,) or (k, n))."""
    bad = np.isnan(lower) | np.isnan(upper)
    if bad.any():
        raise ValueError(f"bounds: NaN in the bound of "
                         f"{_where(int(np.argmax(bad)), bad.shape)}")
    above = lower > upper
    if above.any():
        i = int(np.argmax(above))
        lo, up = lower.flat[i], upper.flat[i]
        raise ValueError(f"bounds: one of the lower bounds is greater than an "
                         f"upper bound ({_where(i, above.shape)}: {lo} > {up})")
    if (lower == np.inf).any() or (upper == -np.inf).any():
        raise ValueError("bounds: a lower bound of +inf or an upper bound of "
                         "-inf leaves no feasible point")


def normalize_bounds(bounds: Any, n: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (lower, upper, bound_type) arrays of length n.

    ``bounds`` may be None; n (min, max) pairs with None or +-inf for a
    missing side (scipy's old style); an object with ``lb``/``ub``
    (``scipy.optimize.Bounds``); or two arrays/scalars (lower, upper).
    n pairs take precedence when len(bounds) == n (as in scipy).
    bound_type: 0 none, 1 lower only, 2 both, 3 upper only (int32).
    """
    if bounds is None:
        return _unbounded(n)
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lower, lo_none = _as_float_array(bounds.lb, "lb")
        upper, up_none = _as_float_array(bounds.ub, "ub")
        try:
            lower = np.broadcast_to(lower, (n,)).astype(float)
            upper = np.broadcast_to(upper, (n,)).astype(float)
        except ValueError:
            raise ValueError(f"bounds: lb/ub of shapes {np.shape(bounds.lb)} "
                             f"and {np.shape(bounds.ub)} do not match x0 of "
                             f"length {n}") from None
        lower[np.isnan(lower) & (lo_none is not None)] = -np.inf
        upper[np.isnan(upper) & (up_none is not None)] = np.inf
    else:
        try:
            length = len(bounds)
        except TypeError:
            raise TypeError("bounds must be None, a sequence of (min, max) "
                            "pairs, (lower, upper) arrays or a Bounds object"
                            ) from None
        arr, none = _as_float_array(bounds, "entries")
        if length == n and arr.shape == (n, 2):
            lower = arr[:, 0].copy()
            upper = arr[:, 1].copy()
            if none is not None:
                lower[none[:, 0]] = -np.inf
                upper[none[:, 1]] = np.inf
        elif length == 2 and arr.ndim in (1, 2) and (
                arr.ndim == 1 or arr.shape[1] == n):
            lower = np.array(np.broadcast_to(arr[0], (n,)), dtype=float)
            upper = np.array(np.broadcast_to(arr[1], (n,)), dtype=float)
            if none is not None:
                lower[np.broadcast_to(none[0], (n,))] = -np.inf
                upper[np.broadcast_to(none[1], (n,))] = np.inf
        elif length != n:
            raise ValueError(f"bounds: length of x0 != length of bounds "
                             f"({n} variables, {length} bounds)")
        else:
            raise ValueError(f"bounds: expected {n} (min, max) pairs, got an "
                             f"array of shape {arr.shape}")
    check_bound_values(lower, upper)
    has_lo = lower > -np.inf
    has_up = upper < np.inf
    nbd = np.where(has_lo, np.where(has_up, BOTH, LOWER_ONLY),
                   np.where(has_up, UPPER_ONLY, UNBOUNDED)).astype(np.int32)
    return np.ascontiguousarray(lower), np.ascontiguousarray(upper), nbd
