"""The L-BFGS-B iteration as a reverse-communication state machine
(Byrd, Lu, Nocedal & Zhu 1995, Algorithm L-BFGS-B; Zhu et al. 1997,
Alg. 778, version 3.0 with Morales & Nocedal 2011).

One iteration from x_k:

1. generalized Cauchy point x^c along P(x_k - t g_k)      (``cauchy``);
2. minimise the model over the variables free at x^c      (``subspace``;
   with no variable active this is the quasi-Newton step by the compact
   inverse H = B^-1, without factorising K);
3. line search along d = xbar - x_k inside the box        (``line_search``);
4. stop if ||P(x - g) - x||_inf <= pgtol or the relative reduction of f is
   <= factr * eps; otherwise store (s, y) if s'y > eps (-g's) and refactor
   the compact matrix                                       (``bfgs_matrix``).

The memory is dropped (B = I) whenever a factorisation fails, the direction
is not a descent direction, or a line search fails with a non-empty memory.

Usage (any caller, Python or compiled; ``workspace`` has the layout)::

    buf, addresses = allocate(n, m)  # put x0, lower, upper, bound_type in
    initialize_at(addresses, n, m, factr, pgtol, maxls, maxiter, maxfun)
    while True:
        task = step_at(addresses, n, m)
        if task == FG:       # put f(x) in state.f and its gradient in g,
            ...              # add the number of f calls to state.nfev
        elif task == NEW_X:  # new iterate in x (callback, logging, ...)
            ...
        else:                # finished; status.message(task)
            break

``step(ws)`` does the same on a Workspace of named arrays.
"""
import math

import numpy as np
from numba import njit

from .bfgs_matrix import (add_pair, factor_k, form_t, rebuild_k_products,
                          update_k_products)
from .cauchy import cauchy_point
from .line_search import (SEARCH_CONVERGED, SEARCH_ERROR, SEARCH_START,
                          SEARCH_WARNING, csrch, set_trial_point,
                          start_search)
from .projection import project_start, projected_gradient_norm
from .status import (ABNORMAL_LINE_SEARCH, ABNORMAL_NONFINITE_SEARCH,
                     ABNORMAL_NONFINITE_START, ABNORMAL_NOT_DESCENT,
                     CONV_F, CONV_GRAD, FG, NEW_X, STOP_CALLBACK,
                     STOP_MAXFUN, STOP_MAXITER)
from .subspace import (free_set, inverse_product, newton_step,
                       project_newton_point, quasi_newton_point,
                       reduced_gradient)
from .vector_ops import dot
from .workspace import N_FIELDS, workspace_views

EPSMCH = 2.220446049250313e-16

PHASE_START = 0
PHASE_FIRST_FG = 1
PHASE_SEARCH = 2
PHASE_NEW_X = 3
PHASE_DONE = 4

_RESTART = -1  # internal: drop the memory and recompute the direction


@njit(cache=True, nogil=True, _nrt=False)
def initialize_arrays(x, g, lower, upper, bound_type, where, state, search,
                      m, factr, pgtol, maxls, maxiter, maxfun):
    """Reset the solver state for the problem already in x (x0), lower,
    upper and bound_type; x is clipped into the box."""
    n = x.shape[0]
    for i in range(n):
        g[i] = 0.0
    st = state[0]
    st.m = m
    st.maxls = maxls
    st.maxiter = maxiter
    st.maxfun = maxfun
    st.tol = factr * EPSMCH
    st.pgtol = pgtol
    st.phase = PHASE_START
    st.task = 0
    st.stop_request = 0
    st.nit = 0
    st.nfev = 0
    st.njev = 0
    st.f = 0.0
    st.f_old = 0.0
    st.sbgnrm = 0.0
    st.theta = 1.0
    st.col = 0
    st.head = 0
    st.itail = 0
    st.iupdat = 0
    st.updated = 0
    st.nskip = 0
    st.nfree = n
    st.nenter = 0
    st.ileave = 0
    st.refactor = 0
    st.k_products_stale = 0
    st.k_factor_stale = 1
    st.nseg = 0
    st.nintol = 0
    st.iword = 0
    st.iter = 0
    st.gd = 0.0
    st.gd_old = 0.0
    st.stp = 0.0
    st.stp_max = 0.0
    st.dnorm = 0.0
    st.dtd = 0.0
    st.ifun = 0
    st.iback = 0
    st.nfgv = 0
    st.last_trial_stp = np.nan
    st.nonfinite_trial = 0
    search[0].task = SEARCH_START
    projected, constrained, boxed = project_start(x, lower, upper, bound_type,
                                                  where)
    st.projected = 1 if projected else 0
    st.constrained = 1 if constrained else 0
    st.boxed = 1 if boxed else 0


@njit(cache=True, nogil=True)
def initialize_at(addresses, n, m, factr, pgtol, maxls, maxiter, maxfun):
    """``initialize_arrays`` on the workspace at ``addresses``."""
    ws = workspace_views(addresses, n, m)
    initialize_arrays(ws[0], ws[1], ws[2], ws[3], ws[4], ws[22], ws[29],
                      ws[30], m, factr, pgtol, maxls, maxiter, maxfun)


@njit(cache=True, nogil=True)
def setup_at(buf, offsets, addresses, x, lower, upper, bound_type, m, factr,
             pgtol, maxls, maxiter, maxfun):
    """Set ``addresses`` to the fields laid out at ``offsets`` in ``buf``
    (``workspace.field_offsets`` without own inputs), with the problem's
    arrays x (holding x0), lower, upper and bound_type used in place, and
    initialise the solver: one crossing from Python per solve."""
    base = np.int64(buf.ctypes.data)
    for k in range(N_FIELDS):
        addresses[k] = offsets[k] + base
    addresses[0] = x.ctypes.data
    addresses[2] = lower.ctypes.data
    addresses[3] = upper.ctypes.data
    addresses[4] = bound_type.ctypes.data
    initialize_at(addresses, x.shape[0], m, factr, pgtol, maxls, maxiter,
                  maxfun)


@njit(cache=True, nogil=True)
def initialize(ws, x0, lower, upper, bound_type, m, factr, pgtol, maxls,
               maxiter, maxfun):
    """Load a problem into a Workspace of named arrays and reset the
    state (x0 is clipped into the box)."""
    ws.x[:] = x0
    ws.lower[:] = lower
    ws.upper[:] = upper
    ws.bound_type[:] = bound_type
    initialize_arrays(ws.x, ws.g, ws.lower, ws.upper, ws.bound_type,
                      ws.where, ws.state, ws.search, m, factr, pgtol, maxls,
                      maxiter, maxfun)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _all_finite(f, g):
    if not math.isfinite(f):
        return False
    for i in range(g.shape[0]):
        if not math.isfinite(g[i]):
            return False
    return True


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _reset_memory(st):
    st.col = 0
    st.head = 0
    st.theta = 1.0
    st.iupdat = 0
    st.updated = 0


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _finish(st, code):
    st.task = code
    st.phase = PHASE_DONE
    return code


# The internal functions below take the work arrays one by one (never the
# Workspace tuple): taking an array out of the tuple costs an atomic
# reference-count update, so it is done once per ``step`` call.


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _search_failed(x, g, x_prev, g_prev, st, info):
    """Line search failed (or d is not a descent direction): go back to the
    last iterate; give up if the memory is already empty, else drop it."""
    for i in range(x.shape[0]):
        x[i] = x_prev[i]
        g[i] = g_prev[i]
    st.f = st.f_old
    if st.col == 0:
        if info == 0:
            st.nfgv -= 1
            st.ifun -= 1
            st.iback -= 1
        st.iter += 1
        if st.nonfinite_trial:
            return _finish(st, ABNORMAL_NONFINITE_SEARCH)
        if info == -4:
            return _finish(st, ABNORMAL_NOT_DESCENT)
        return _finish(st, ABNORMAL_LINE_SEARCH)
    if info == 0:
        st.nfgv -= 1
    _reset_memory(st)
    return _RESTART


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _search(x, g, lower, upper, bound_type, x_cauchy, direction, x_prev,
            g_prev, st, ls):
    """Advance the line search with f, g at the current trial point.
    Returns FG (evaluate at the new trial point), NEW_X, _RESTART or a
    final code."""
    n = x.shape[0]
    while True:
        trial_ok = True
        if st.ifun > 0 and not _all_finite(st.f, g):
            trial_ok = False
        gd = 0.0
        if trial_ok:
            gd = dot(g, direction, n)
            st.gd = gd
        if st.ifun == 0:
            st.gd_old = gd
            if not gd < 0.0:
                # not a descent direction: line search impossible
                return _search_failed(x, g, x_prev, g_prev, st, -4)
        if trial_ok:
            st.nonfinite_trial = 0
            stp = csrch(st.f, gd, st.stp, 0.0, st.stp_max, ls)
            if ls.task == SEARCH_ERROR:
                return _search_failed(x, g, x_prev, g_prev, st, -4)
            if ls.task == SEARCH_CONVERGED or ls.task == SEARCH_WARNING:
                st.stp = stp
                st.iter += 1
                st.nit += 1
                st.sbgnrm = projected_gradient_norm(x, g, lower, upper,
                                                    bound_type)
                st.phase = PHASE_NEW_X
                return NEW_X
        else:
            # f or g is NaN/inf at the trial point: the point is outside the
            # objective's domain.  Shrink toward the best step so far and
            # never try beyond the new step again.
            st.nonfinite_trial = 1
            stp = ls.stx + 0.5 * (st.stp - ls.stx)
            st.stp_max = stp
        st.stp = stp
        st.ifun += 1
        st.nfgv += 1
        st.iback = st.ifun - 1
        set_trial_point(x, x_prev, direction, x_cauchy, lower, upper,
                        bound_type, stp)
        if st.iback >= st.maxls:
            return _search_failed(x, g, x_prev, g_prev, st, 0)
        if stp == st.last_trial_stp and trial_ok:
            # same point as the last evaluation: reuse f and g (not counted)
            continue
        st.last_trial_stp = stp
        st.phase = PHASE_SEARCH
        return FG


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _iterate(x, g, lower, upper, bound_type, s_pairs, y_pairs, sy, yy, t_chol,
             sqrt_d, k_factor, k_products, x_cauchy, reduced_grad, direction,
             x_prev, g_prev, breakpoints, break_index, free_active,
             where, changed, wp, wc, wbp, wv, wm, st, ls):
    """Compute a search direction from the current iterate and start the
    line search; returns FG for the first trial point, or a final code."""
    n = x.shape[0]
    m = st.m
    while True:
        st.iword = -1
        info = 0
        if (not st.constrained) and st.col > 0:
            # no bounds: the GCP is x itself and the subspace is everything
            quasi_newton_point(x, g, s_pairs, y_pairs, sy, yy, st.theta,
                               st.col, st.head, m, wv, x_cauchy)
            st.nseg = 0
            st.iword = 0
        else:
            info = cauchy_point(
                x, g, lower, upper, bound_type, where, breakpoints,
                break_index, direction, x_cauchy, s_pairs, y_pairs, sy,
                t_chol, sqrt_d, st.theta, st.col, st.head, m, wp, wc, wbp, wv,
                wm, st.sbgnrm, st)
            if info != 0:
                _reset_memory(st)
                continue
            st.nintol += st.nseg
            free_set(n, where, free_active, changed, st.updated,
                     st.constrained, st.iter, st)
        if st.constrained and st.nfree != 0 and st.col != 0:
            reduced_gradient(x, g, s_pairs, y_pairs, x_cauchy, reduced_grad,
                             wm, free_active, st.theta, st.col, st.head, m,
                             st.nfree)
            if st.nfree == n:
                # no variable active at the GCP (Z = I): the Newton step
                # from the GCP is H r, by the two-loop recursion; K is not
                # needed (its inner products are rebuilt when it is)
                inverse_product(reduced_grad, s_pairs, y_pairs, sy, yy,
                                st.theta, st.col, st.head, m, wv)
                if st.refactor:
                    st.k_products_stale = 1
            else:
                if st.k_products_stale:
                    rebuild_k_products(n, st.nfree, free_active, k_products,
                                       m, s_pairs, y_pairs, st.col, st.head)
                    st.k_products_stale = 0
                    st.k_factor_stale = 1
                elif st.refactor:
                    update_k_products(n, st.nfree, free_active, st.nenter,
                                      st.ileave, changed, st.iupdat,
                                      st.updated, k_products, m, s_pairs,
                                      y_pairs, st.col, st.head)
                    st.k_factor_stale = 1
                if st.k_factor_stale:
                    if factor_k(k_factor, k_products, sy, st.theta, st.col,
                                m) != 0:
                        _reset_memory(st)
                        continue
                    st.k_factor_stale = 0
                if newton_step(reduced_grad, s_pairs, y_pairs, k_factor, wv,
                               st.theta, st.col, st.head, m, st.nfree,
                               free_active) != 0:
                    _reset_memory(st)
                    continue
            project_newton_point(x, g, lower, upper, bound_type, x_cauchy,
                                 reduced_grad, direction, st.nfree,
                                 free_active, st)
        for i in range(n):
            direction[i] = x_cauchy[i] - x[i]
        start_search(x, lower, upper, bound_type, direction, x_prev, g,
                     g_prev, st, st.iter)
        ls.task = SEARCH_START
        st.last_trial_stp = np.nan
        st.nonfinite_trial = 0
        result = _search(x, g, lower, upper, bound_type, x_cauchy, direction,
                         x_prev, g_prev, st, ls)
        if result == _RESTART:
            continue
        return result


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _update_memory(g, g_prev, direction, s_pairs, y_pairs, sy, ss, yy, t_chol,
                   sqrt_d, st):
    """After an accepted step: y = g - g_prev (kept in g_prev), s = stp d
    (kept in direction); store the pair unless s'y <= eps * (-g_prev's)."""
    n = g.shape[0]
    for i in range(n):
        g_prev[i] = g[i] - g_prev[i]
    rr = dot(g_prev, g_prev, n)
    stp = st.stp
    if stp == 1.0:
        dr = st.gd - st.gd_old
        ddum = -st.gd_old
    else:
        dr = (st.gd - st.gd_old) * stp
        for i in range(n):
            direction[i] *= stp
        ddum = -st.gd_old * stp
    if dr <= EPSMCH * ddum:
        st.nskip += 1
        st.updated = 0
        return
    st.updated = 1
    st.iupdat += 1
    add_pair(s_pairs, y_pairs, sy, ss, yy, direction, g_prev, st, rr, dr)
    # the factor of T serves the Cauchy search and the subspace matrix only:
    # without bounds the step is H g in compact form, which needs no
    # factorisation (so no reset for a non-positive-definite T either)
    if st.constrained and form_t(t_chol, sqrt_d, sy, ss, st.col,
                                 st.theta) != 0:
        _reset_memory(st)


@njit(cache=True, nogil=True, _nrt=False)
def step_arrays(x, g, lower, upper, bound_type, s_pairs, y_pairs, sy, ss, yy,
                t_chol, sqrt_d, k_factor, k_products, x_cauchy, reduced_grad,
                direction, x_prev, g_prev, breakpoints, break_index,
                free_active, where, changed, wp, wc, wbp, wv, wm, state,
                search):
    """``step`` on the workspace fields passed one by one (in Workspace
    order), for compiled callers that unpack the workspace once."""
    st = state[0]
    ls = search[0]
    phase = st.phase
    if phase == PHASE_START:
        st.phase = PHASE_FIRST_FG
        return FG
    if phase == PHASE_SEARCH:
        result = _search(x, g, lower, upper, bound_type, x_cauchy, direction,
                         x_prev, g_prev, st, ls)
        if result != _RESTART:
            return result
    elif phase == PHASE_FIRST_FG:
        if not _all_finite(st.f, g):
            return _finish(st, ABNORMAL_NONFINITE_START)
        st.nfgv = 1
        st.sbgnrm = projected_gradient_norm(x, g, lower, upper, bound_type)
        if st.sbgnrm <= st.pgtol:
            return _finish(st, CONV_GRAD)
    elif phase == PHASE_NEW_X:
        if st.nit >= st.maxiter:
            return _finish(st, STOP_MAXITER)
        if st.nfev > st.maxfun:
            return _finish(st, STOP_MAXFUN)
        if st.stop_request:
            return _finish(st, STOP_CALLBACK)
        if st.sbgnrm <= st.pgtol:
            return _finish(st, CONV_GRAD)
        scale = max(max(abs(st.f_old), abs(st.f)), 1.0)
        if st.f_old - st.f <= st.tol * scale:
            return _finish(st, CONV_F)
        _update_memory(g, g_prev, direction, s_pairs, y_pairs, sy, ss, yy,
                       t_chol, sqrt_d, st)
    else:
        return st.task
    return _iterate(x, g, lower, upper, bound_type, s_pairs, y_pairs, sy, yy,
                    t_chol, sqrt_d, k_factor, k_products, x_cauchy,
                    reduced_grad, direction, x_prev, g_prev, breakpoints, break_index,
                    free_active, where, changed, wp, wc, wbp, wv,
                    wm, st, ls)


@njit(cache=True, nogil=True)
def step_at(addresses, n, m):
    """``step`` on the workspace whose field addresses are in ``addresses``
    (``workspace.allocate``), with n variables and memory m: the
    cheapest entry to call from Python (one small array to unbox)."""
    return step_arrays(*workspace_views(addresses, n, m))


@njit(cache=True, nogil=True, _nrt=False)
def step(ws):
    """Advance the solver until it needs f and g (returns FG), has accepted
    a new iterate (NEW_X) or has finished (a code >= 400, see ``status``)."""
    return step_arrays(*ws)

