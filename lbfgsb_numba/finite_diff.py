"""Forward-difference gradients that honour the bounds, computed with the
same arithmetic as scipy's ``approx_derivative(method='2-point')`` so that
approx_grad solves take the same decisions as scipy's.

Step for coordinate i (sign(x) taken as +1 at x == 0):

* absolute step ``abs_step`` (fmin_l_bfgs_b's ``epsilon``, minimize's
  ``eps`` with jac=None): h_i = abs_step_i;
* relative step r (minimize's ``finite_diff_rel_step`` with jac='2-point'):
  h_i = r sign(x_i) |x_i|, or the default EPS^(1/2) sign(x_i) max(1, |x_i|)
  when r is not given;
* a step that vanishes in floating point, (x_i + h_i) - x_i == 0, is
  replaced by the default relative step;
* when x_i + h_i leaves the box the step is reversed if -h_i fits, else
  it is set to the larger distance to a bound (forward or backward).

g_i = (f(x + h_i e_i) - f(x)) / ((x_i + h_i) - x_i); a fixed variable
(l_i == u_i, so h_i == 0) gets g_i = 0 without an evaluation (scipy
divides 0 by 0 there).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

DEFAULT_REL_STEP = float(np.finfo(float).eps ** 0.5)


@njit(cache=True, nogil=True)
def _step(xi, lo, up, abs_step_i, rel_step):
    """Finite-difference step for one coordinate (see module doc).
    ``abs_step_i`` is NaN when the relative rule applies; ``rel_step`` < 0
    selects the default relative step."""
    sign = 1.0 if xi >= 0 else -1.0
    default = DEFAULT_REL_STEP * sign * max(1.0, abs(xi))
    if not math.isnan(abs_step_i):
        h = abs_step_i
    elif rel_step < 0.0:
        h = default
    else:
        h = rel_step * sign * abs(xi)
    if (xi + h) - xi == 0.0:
        h = default
    if lo == -np.inf and up == np.inf:
        return h
    lower_dist = xi - lo
    upper_dist = up - xi
    xh = xi + h
    fits = abs(h) <= max(lower_dist, upper_dist)
    if fits:
        if xh < lo or xh > up:
            h = -h
    elif upper_dist >= lower_dist:
        h = upper_dist
    else:
        h = -lower_dist
    return h


@njit(cache=True, nogil=True)
def fd_gradient_njit(fun, x, f0, args, lower, upper, abs_step, rel_step,
                     g_out, x_work):
    """g_out = forward-difference gradient of fun(x, *args) at x (f0 =
    fun(x)); x_work (n,) is scratch.  ``abs_step`` is an (n,) array of
    absolute steps, or empty to use the relative rule with ``rel_step``
    (< 0: default).  Returns the number of calls of fun."""
    n = x.shape[0]
    for i in range(n):
        x_work[i] = x[i]
    unbounded = True
    for i in range(n):
        if lower[i] != -np.inf or upper[i] != np.inf:
            unbounded = False
            break
    used = 0
    for i in range(n):
        a = abs_step[i] if abs_step.shape[0] > 0 else np.nan
        lo = -np.inf if unbounded else lower[i]
        up = np.inf if unbounded else upper[i]
        h = _step(x[i], lo, up, a, rel_step)
        if h == 0.0:
            # fixed variable (l == u): no room to move, derivative unused
            g_out[i] = 0.0
            continue
        x_work[i] = x[i] + h
        fi = fun(x_work, *args)
        x_work[i] = x[i]
        g_out[i] = (fi - f0) / ((x[i] + h) - x[i])
        used += 1
    return used


@njit(cache=True, nogil=True)
def fd_steps(x, lower, upper, abs_step, rel_step, h_out):
    """The steps h (n,) used by ``forward_difference`` (for the Python
    path, computed once per gradient)."""
    n = x.shape[0]
    unbounded = True
    for i in range(n):
        if lower[i] != -np.inf or upper[i] != np.inf:
            unbounded = False
            break
    for i in range(n):
        a = abs_step[i] if abs_step.shape[0] > 0 else np.nan
        lo = -np.inf if unbounded else lower[i]
        up = np.inf if unbounded else upper[i]
        h_out[i] = _step(x[i], lo, up, a, rel_step)


def normalize_steps(abs_step, rel_step, n):
    """Normalise (abs_step, rel_step) to the kernels' convention:
    (float64 array (n,) or empty, float rel_step or -1 for the default)."""
    if abs_step is None:
        abs_arr = np.empty(0)
    else:
        steps = np.asarray(abs_step, dtype=float)
        if steps.size != 1 and steps.shape != (n,):
            raise ValueError(f"epsilon (eps) must be a scalar or have the "
                             f"shape of x0 ({n},), got {steps.shape}")
        abs_arr = np.ascontiguousarray(np.broadcast_to(steps.reshape(
            steps.shape if steps.size != 1 else ()), (n,)))
    if rel_step is None or isinstance(rel_step, str):
        rel = -1.0
    else:
        rel_arr = np.asarray(rel_step, dtype=float)
        if rel_arr.size != 1:
            raise ValueError("finite_diff_rel_step: only a scalar relative "
                             "step is supported")
        rel = float(rel_arr.reshape(-1)[0])
        if rel < 0:
            raise ValueError("finite_diff_rel_step must be >= 0")
    return abs_arr, rel


def forward_difference(fun, x, f0, args, lower, upper, abs_step=None,
                       rel_step=None):
    """Forward-difference gradient of a Python ``fun(x, *args) -> float``.
    Returns (g, number of calls of fun)."""
    n = x.shape[0]
    abs_arr, rel = normalize_steps(abs_step, rel_step, n)
    h = np.empty(n)
    fd_steps(x, lower, upper, abs_arr, rel, h)
    g = np.empty(n)
    xw = x.copy()
    used = 0
    for i in range(n):
        if h[i] == 0.0:
            g[i] = 0.0  # fixed variable (l == u)
            continue
        xi = x[i]
        xw[i] = xi + h[i]
        g[i] = (fun(xw.copy(), *args) - f0) / ((xi + h[i]) - xi)
        xw[i] = xi
        used += 1
    return g, used
