"""Finite-difference gradients that honour the bounds, computed with the
same arithmetic as scipy's ``approx_derivative`` so that solves with
finite differences take the same decisions as scipy's.

Three schemes, as in scipy (Nocedal & Wright, *Numerical Optimization*,
2nd ed., section 8.1; Squire & Trapp, SIAM Review 40(1), 1998, for the
complex step):

* '2-point' (forward):  g_i = (f(x + h_i e_i) - f(x)) / ((x_i + h_i) - x_i),
  one call per variable;
* '3-point' (central):  g_i = (f(x + h_i e_i) - f(x - h_i e_i)) /
  ((x_i + h_i) - (x_i - h_i)), or, where the central pair does not fit in
  the box, the one-sided second-order formula
  g_i = (-3 f(x) + 4 f(x + h_i e_i) - f(x + 2 h_i e_i)) / ((x_i + 2 h_i) - x_i)
  with h_i of either sign; two calls per variable;
* 'cs' (complex step):  g_i = Im f(x + i h_i e_i) / h_i, one call per
  variable with a complex x (f must be analytic in x); the step is never
  adjusted to the bounds, since x itself stays real.

Step for coordinate i before the bounds (sign(x) taken as +1 at x == 0,
r0 = EPS^(1/2) for '2-point' and 'cs', EPS^(1/3) for '3-point'):

* absolute step ``abs_step`` (fmin_l_bfgs_b's ``epsilon``, minimize's
  ``eps`` with jac=None): h_i = abs_step_i;
* relative step r (minimize's ``finite_diff_rel_step``, a scalar or one
  per variable): h_i = r_i sign(x_i) |x_i|, or the default
  r0 sign(x_i) max(1, |x_i|) when r is not given;
* a step that vanishes in floating point, (x_i + h_i) - x_i == 0, is
  replaced by the default relative step.

Bounds, '2-point': when x_i + h_i leaves the box the step is reversed if
-h_i fits, else it is set to the larger distance to a bound.  '3-point':
h_i = |h_i|; central when h_i fits on both sides; otherwise one-sided
towards the farther bound with h_i = min(h_i, distance / 2) (so that
x_i + 2 h_i stays inside), unless that is no longer than the distance to
the nearer bound, in which case a central step of that distance is taken.

A fixed variable (l_i == u_i) gets g_i = 0 without an evaluation (scipy
divides 0 by 0 there, or removes the variable in ``minimize``).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

from .options import EPS

DEFAULT_REL_STEP = EPS ** 0.5          # '2-point' and 'cs'
DEFAULT_REL_STEP_CENTRAL = EPS ** (1 / 3)  # '3-point'


def relative_step_at(rel_step, i):
    """The relative step of coordinate i: ``rel_step`` is a float (< 0:
    the default) or an array of one step per coordinate (empty: the
    default)."""
    if np.ndim(rel_step) == 0:
        return float(rel_step)
    return float(rel_step[i]) if len(rel_step) > 0 else -1.0


@overload(relative_step_at, inline="always")
def _relative_step_at_impl(rel_step, i):
    if isinstance(rel_step, types.Array):
        def impl(rel_step, i):
            return rel_step[i] if rel_step.shape[0] > 0 else -1.0
    else:
        def impl(rel_step, i):
            return float(rel_step)
    return impl


@njit(cache=True, nogil=True)
def _base_step(xi, abs_step_i, rel_step_i, default_rel):
    """Step for one coordinate before the bounds (see module doc).
    ``abs_step_i`` is NaN when the relative rule applies; ``rel_step_i``
    < 0 selects the default relative step ``default_rel``."""
    sign = 1.0 if xi >= 0 else -1.0
    default = default_rel * sign * max(1.0, abs(xi))
    if not math.isnan(abs_step_i):
        h = abs_step_i
    elif rel_step_i < 0.0:
        h = default
    else:
        h = rel_step_i * sign * abs(xi)
    if (xi + h) - xi == 0.0:
        h = default
    return h


@njit(cache=True, nogil=True)
def _forward_step(xi, lo, up, abs_step_i, rel_step_i):
    """'2-point' step for one coordinate, kept inside [lo, up]."""
    h = _base_step(xi, abs_step_i, rel_step_i, DEFAULT_REL_STEP)
    if lo == -np.inf and up == np.inf:
        return h
    lower_dist = xi - lo
    upper_dist = up - xi
    xh = xi + h
    if abs(h) <= max(lower_dist, upper_dist):
        if xh < lo or xh > up:
            h = -h
    elif upper_dist >= lower_dist:
        h = upper_dist
    else:
        h = -lower_dist
    return h


@njit(cache=True, nogil=True)
def _central_step(xi, lo, up, abs_step_i, rel_step_i):
    """'3-point' step for one coordinate: (h, one_sided).  Central
    differences use x +- h; one-sided ones x + h and x + 2h (h < 0 for a
    backward step); both stay inside [lo, up]."""
    h = abs(_base_step(xi, abs_step_i, rel_step_i, DEFAULT_REL_STEP_CENTRAL))
    lower_dist = xi - lo
    upper_dist = up - xi
    if lower_dist >= h and upper_dist >= h:
        return h, False
    if upper_dist >= lower_dist:
        h = min(h, 0.5 * upper_dist)
    else:
        h = -min(h, 0.5 * lower_dist)
    nearer = min(upper_dist, lower_dist)
    if abs(h) <= nearer:
        return nearer, False
    return h, True


@njit(cache=True, nogil=True)
def _step_args(abs_step, rel_step, i):
    """(absolute step or NaN, relative step or -1) of coordinate i."""
    a = abs_step[i] if abs_step.shape[0] > 0 else np.nan
    return a, relative_step_at(rel_step, i)


@njit(cache=True, nogil=True)
def fd_gradient_njit(fun, x, f0, args, lower, upper, abs_step, rel_step,
                     g_out, x_work):
    """g_out = '2-point' gradient of fun(x, *args) at x (f0 = fun(x));
    x_work (n,) is scratch.  ``abs_step`` is an (n,) array of absolute
    steps, or empty to use the relative rule with ``rel_step`` (a float,
    < 0 for the default, or an (n,) array, empty for the default).
    Returns the number of calls of fun."""
    n = x.shape[0]
    for i in range(n):
        x_work[i] = x[i]
    used = 0
    for i in range(n):
        if lower[i] == upper[i]:
            g_out[i] = 0.0  # fixed variable: no room to move, unused
            continue
        a, r = _step_args(abs_step, rel_step, i)
        h = _forward_step(x[i], lower[i], upper[i], a, r)
        x_work[i] = x[i] + h
        fi = fun(x_work, *args)
        x_work[i] = x[i]
        g_out[i] = (fi - f0) / ((x[i] + h) - x[i])
        used += 1
    return used


@njit(cache=True, nogil=True)
def central_gradient_njit(fun, x, f0, args, lower, upper, abs_step,
                          rel_step, g_out, x_work):
    """g_out = '3-point' gradient of fun(x, *args) at x (f0 = fun(x)),
    one-sided where the box requires it; arguments as in
    ``fd_gradient_njit``.  Returns the number of calls of fun."""
    n = x.shape[0]
    for i in range(n):
        x_work[i] = x[i]
    used = 0
    for i in range(n):
        if lower[i] == upper[i]:
            g_out[i] = 0.0  # fixed variable
            continue
        a, r = _step_args(abs_step, rel_step, i)
        h, one_sided = _central_step(x[i], lower[i], upper[i], a, r)
        xi = x[i]
        if one_sided:
            x_work[i] = xi + h
            f1 = fun(x_work, *args)
            x_work[i] = xi + 2.0 * h
            f2 = fun(x_work, *args)
            g_out[i] = (-3.0 * f0 + 4.0 * f1 - f2) / ((xi + 2.0 * h) - xi)
        else:
            x_work[i] = xi - h
            f1 = fun(x_work, *args)
            x_work[i] = xi + h
            f2 = fun(x_work, *args)
            g_out[i] = (f2 - f1) / ((xi + h) - (xi - h))
        x_work[i] = xi
        used += 2
    return used


@njit(cache=True, nogil=True)
def fd_steps(x, lower, upper, abs_step, rel_step, central, h_out,
             one_sided_out):
    """The steps h (n,) of the '2-point' (``central`` False) or '3-point'
    scheme, and for '3-point' which coordinates are one-sided (for the
    Python path, computed once per gradient)."""
    for i in range(x.shape[0]):
        a, r = _step_args(abs_step, rel_step, i)
        if central:
            h_out[i], one_sided_out[i] = _central_step(x[i], lower[i],
                                                       upper[i], a, r)
        else:
            h_out[i] = _forward_step(x[i], lower[i], upper[i], a, r)
            one_sided_out[i] = True


@njit(cache=True, nogil=True)
def complex_steps(x, abs_step, rel_step, h_out):
    """The steps h (n,) of the 'cs' scheme (no bounds: x stays real)."""
    for i in range(x.shape[0]):
        a, r = _step_args(abs_step, rel_step, i)
        h_out[i] = _base_step(x[i], a, r, DEFAULT_REL_STEP)


def normalize_steps(abs_step, rel_step, n):
    """Normalise (abs_step, rel_step) to the kernels' convention: float64
    arrays, (n,) or empty (absolute steps unused / default relative step).
    ``rel_step`` may be a scalar or one step per variable, >= 0."""
    if abs_step is None:
        abs_arr = np.empty(0)
    else:
        steps = np.asarray(abs_step, dtype=float)
        if steps.size != 1 and steps.shape != (n,):
            raise ValueError(f"epsilon (eps) must be a scalar or have the "
                             f"shape of x0 ({n},), got {steps.shape}")
        abs_arr = np.ascontiguousarray(np.broadcast_to(steps.reshape(
            steps.shape if steps.size != 1 else ()), (n,)))
    if rel_step is None:
        return abs_arr, np.empty(0)
    try:
        rel = np.asarray(rel_step, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"finite_diff_rel_step must be a number or an array "
                        f"of numbers, got {rel_step!r}") from None
    try:
        rel = np.ascontiguousarray(np.broadcast_to(rel, (n,)))
    except ValueError:
        raise ValueError(f"finite_diff_rel_step: shape {rel.shape} does not "
                         f"match x0's ({n},)") from None
    if not (rel >= 0).all():
        raise ValueError("finite_diff_rel_step must be >= 0 (no NaN)")
    return abs_arr, rel


def _complex_value(value):
    """f at a complex point as a complex number (a scalar or a 1-element
    array, like f itself)."""
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError(f"The user-provided objective function must return "
                         f"a scalar value. Got an array of shape {arr.shape}.")
    return complex(arr.reshape(-1)[0])


def finite_difference(fun, x, f0, args, lower, upper, abs_step=None,
                      rel_step=None, scheme="2-point"):
    """Gradient of a Python ``fun(x, *args) -> float`` by ``scheme``
    ('2-point', '3-point' or 'cs'; for 'cs' ``fun`` is called with a
    complex x).  Returns (g, number of calls of fun)."""
    abs_arr, rel = normalize_steps(abs_step, rel_step, x.shape[0])
    return difference_gradient(fun, x, f0, args, lower, upper, abs_arr, rel,
                               scheme)


def difference_gradient(fun, x, f0, args, lower, upper, abs_arr, rel,
                        scheme):
    """``finite_difference`` with the steps already normalised
    (``normalize_steps``)."""
    n = x.shape[0]
    h = np.empty(n)
    g = np.empty(n)
    fixed = lower == upper
    used = 0
    if scheme == "cs":
        complex_steps(x, abs_arr, rel, h)
        xc = x.astype(complex)
        for i in range(n):
            if fixed[i]:
                g[i] = 0.0
                continue
            xc[i] = complex(x[i], h[i])
            g[i] = _complex_value(fun(xc.copy(), *args)).imag / h[i]
            xc[i] = x[i]
            used += 1
        return g, used
    one_sided = np.empty(n, np.bool_)
    central = scheme == "3-point"
    fd_steps(x, lower, upper, abs_arr, rel, central, h, one_sided)
    xw = x.copy()
    for i in range(n):
        if fixed[i]:
            g[i] = 0.0
            continue
        xi, hi = x[i], h[i]
        if not central:
            xw[i] = xi + hi
            g[i] = (fun(xw.copy(), *args) - f0) / ((xi + hi) - xi)
            used += 1
        elif one_sided[i]:
            xw[i] = xi + hi
            f1 = fun(xw.copy(), *args)
            xw[i] = xi + 2.0 * hi
            f2 = fun(xw.copy(), *args)
            g[i] = (-3.0 * f0 + 4.0 * f1 - f2) / ((xi + 2.0 * hi) - xi)
            used += 2
        else:
            xw[i] = xi - hi
            f1 = fun(xw.copy(), *args)
            xw[i] = xi + hi
            f2 = fun(xw.copy(), *args)
            g[i] = (f2 - f1) / ((xi + hi) - (xi - hi))
            used += 2
        xw[i] = xi
    return g, used


def forward_difference(fun, x, f0, args, lower, upper, abs_step=None,
                       rel_step=None):
    """'2-point' gradient of a Python ``fun(x, *args) -> float``.
    Returns (g, number of calls of fun)."""
    return finite_difference(fun, x, f0, args, lower, upper, abs_step,
                             rel_step, "2-point")
