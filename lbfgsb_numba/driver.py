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
is not a descent direction or leaves the box at once (no feasible step), or
a line search fails with a non-empty memory.

Usage (any caller, Python or compiled; ``workspace`` has the layout)::

    # a buffer laid out by workspace.field_offsets, its field addresses in
    # ``addresses``, x0, lower, upper, bound_type in their fields
    initialize_at(addresses, n, options)  # options.SolverOptions
    while True:
        task = step_at(addresses, n, m, False)
        if task == FG:       # put f(x) in state.f and its gradient in g,
            ...              # add the number of f calls to state.nfev
        elif task == NEW_X:  # new iterate in x (callback, logging, ...)
            ...
        else:                # finished; status.message(task)
            break

``step(ws)`` is the same step from Python on a ``Workspace`` of numpy
views (tests).
"""
import math

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from .bfgs_matrix import (factor_k, form_t, rebuild_k_products, store_pair,
                          update_k_products, update_products)
from .cauchy import cauchy_point
from .dense_model import build_dense, dense_newton_step, use_dense
from .line_search import (SEARCH_CONVERGED, SEARCH_ERROR, SEARCH_START,
                          SEARCH_WARNING, csrch, set_trial_point,
                          start_search)
from .options import EPS
from .projection import project_start, projected_gradient_norm
from .status import (ABNORMAL_LINE_SEARCH, ABNORMAL_NONFINITE_SEARCH,
                     ABNORMAL_NONFINITE_START, ABNORMAL_NO_FEASIBLE_STEP,
                     ABNORMAL_NOT_DESCENT,
                     CONV_F, CONV_GRAD, FG, NEW_X, STOP_CALLBACK,
                     STOP_MAXFUN, STOP_MAXITER)
from .subspace import (free_set, inverse_product, newton_step,
                       project_newton_point, quasi_newton_point,
                       reduced_gradient)
from .vector_ops import all_finite, dot, max_abs
from .workspace import (B_DENSE, B_TIMES_D, B_TIMES_Z, BOUND_TYPE, BREAK_INDEX,
                        BREAKPOINTS, CHANGED, D_SCALING, DIRECTION,
                        FREE_ACTIVE, FREE_CHOL, G, G_PREV, K_FACTOR,
                        K_PRODUCTS, LOWER, M_WT_CAUCHY_STEP, N_FIELDS,
                        REDUCED_GRAD, S_PAIRS, SCRATCH_2M, SEARCH, SS, STATE,
                        SY, T_CHOL, UPPER, W_ROW, WHERE, WT_CAUCHY_STEP,
                        WT_DIRECTION, X, X_CAUCHY, X_PREV, Y_PAIRS, YY,
                        workspace_views)


PHASE_START = 0
PHASE_FIRST_FG = 1
PHASE_SEARCH = 2
PHASE_NEW_X = 3
PHASE_DONE = 4

_RESTART = -1  # internal: drop the memory and recompute the direction


@njit(cache=True, nogil=True, _nrt=False)
def initialize_arrays(x, g, lower, upper, bound_type, where, state, search,
                      options):
    """Reset the solver state for the problem already in x (x0), lower,
    upper and bound_type, with ``options`` (``options.SolverOptions``);
    x is clipped into the box."""
    n = x.shape[0]
    for i in range(n):
        g[i] = 0.0
    st = state[0]
    st.m = options.m
    st.maxls = options.maxls
    st.maxiter = options.maxiter
    st.maxfun = options.maxfun
    st.tol = options.factr * EPS
    st.pgtol = options.pgtol
    st.phase = PHASE_START
    st.task = 0
    st.stop_request = 0
    st.nit = 0
    st.nfev = 0
    st.njev = 0
    st.f = 0.0
    st.f_old = 0.0
    st.pg_norm = 0.0
    st.theta = 1.0
    st.col = 0
    st.head = 0
    st.newest = 0
    st.n_updates = 0
    st.updated = 0
    st.n_skipped = 0
    st.nfree = n
    st.n_entering = 0
    st.leaving_start = 0
    st.refactor = 0
    st.k_products_stale = 0
    st.k_factor_stale = 1
    st.newton_clipped = 0
    st.iter = 0
    st.gd = 0.0
    st.gd_old = 0.0
    st.stp = 0.0
    st.stp_max = 0.0
    st.dtd = 0.0
    st.n_trials = 0
    st.x_is_last_eval = 0
    st.nonfinite_trial = 0
    st.gradient_length = 0
    search[0].task = SEARCH_START
    constrained, boxed = project_start(x, lower, upper, bound_type, where)
    st.constrained = 1 if constrained else 0
    st.boxed = 1 if boxed else 0
    # small bounded problems keep B as an n x n matrix (``dense_model``)
    st.dense = 1 if constrained and use_dense(n, options.m) else 0


@njit(cache=True, nogil=True)
def initialize_at(addresses, n, options):
    """``initialize_arrays`` on the workspace at ``addresses``."""
    ws = workspace_views(addresses, n, options.m)
    initialize_arrays(ws[X], ws[G], ws[LOWER], ws[UPPER], ws[BOUND_TYPE],
                      ws[WHERE], ws[STATE], ws[SEARCH], options)


@njit(cache=True, nogil=True)
def setup_at(buf, offsets, addresses, x, lower, upper, bound_type, options):
    """Set ``addresses`` to the fields laid out at ``offsets`` in ``buf``
    (``workspace.field_offsets`` without own inputs), with the problem's
    arrays x (holding x0), lower, upper and bound_type used in place, and
    initialise the solver: one crossing from Python per solve."""
    base = np.int64(buf.ctypes.data)
    for k in range(N_FIELDS):
        addresses[k] = offsets[k] + base
    addresses[X] = x.ctypes.data
    addresses[LOWER] = lower.ctypes.data
    addresses[UPPER] = upper.ctypes.data
    addresses[BOUND_TYPE] = bound_type.ctypes.data
    initialize_at(addresses, x.shape[0], options)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _all_finite(f, g):
    return math.isfinite(f) and all_finite(g, g.shape[0])


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _reset_memory(st):
    st.col = 0
    st.head = 0
    st.theta = 1.0
    st.n_updates = 0
    st.updated = 0


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _pg_norm(ws, st):
    """||P(x - g) - x||_inf at x with its (finite) gradient g."""
    g = ws[G]
    if not st.constrained:
        return max_abs(g, g.shape[0])
    return projected_gradient_norm(ws[X], g, ws[LOWER], ws[UPPER],
                                   ws[BOUND_TYPE])


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _finish(st, code):
    st.task = code
    st.phase = PHASE_DONE
    return code


# The internal functions below take the work arrays one by one (never the
# Workspace tuple): taking an array out of the tuple costs an atomic
# reference-count update, so it is done once per ``step`` call.


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _search_failed(ws, st, code):
    """The line search failed (``code`` ABNORMAL_LINE_SEARCH), d is not a
    descent direction (ABNORMAL_NOT_DESCENT) or no step along d stays in
    the box (ABNORMAL_NO_FEASIBLE_STEP): go back to the last iterate; give
    up with ``code`` (ABNORMAL_NONFINITE_SEARCH if the last trial point's f
    or g was not finite) if the memory is already empty, else drop it."""
    x, g, x_prev, g_prev = ws[X], ws[G], ws[X_PREV], ws[G_PREV]
    for i in range(x.shape[0]):
        x[i] = x_prev[i]
        g[i] = g_prev[i]
    st.f = st.f_old
    st.x_is_last_eval = 0  # x, f, g are no longer the last evaluation's
    if st.col == 0:
        st.iter += 1
        if st.nonfinite_trial:
            code = ABNORMAL_NONFINITE_SEARCH
        return _finish(st, code)
    _reset_memory(st)
    return _RESTART


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _search(ws, st, ls):
    """Advance the line search with f, g at the current trial point.
    Returns FG (evaluate at the new trial point), NEW_X, _RESTART or a
    final code.  Every failure leaves the loop with its code and goes
    through one ``_search_failed`` call (an inlined function is pasted
    once)."""
    x, g, direction = ws[X], ws[G], ws[DIRECTION]
    n = x.shape[0]
    failure = 0
    while True:
        trial_ok = True
        if st.n_trials > 0 and not _all_finite(st.f, g):
            trial_ok = False
        gd = 0.0
        if trial_ok:
            gd = dot(g, direction, n)
            st.gd = gd
        if st.n_trials == 0:
            st.gd_old = gd
            if not gd < 0.0:
                # not a descent direction: line search impossible
                failure = ABNORMAL_NOT_DESCENT
                break
            if st.stp > st.stp_max:
                # x + d lies beyond a bound by rounding (the target point
                # is in the box, so stpmax = 1 - O(eps)): start from the
                # largest feasible step.  L-BFGS-B 3.0 passes stp > stpmax
                # to dcsrch, which reports an input error; the reference
                # then evaluates x + d anyway and continues its search from
                # the previous search's saved state.
                if not st.stp_max > 0.0:
                    failure = ABNORMAL_NO_FEASIBLE_STEP
                    break
                st.stp = st.stp_max
        if trial_ok:
            st.nonfinite_trial = 0
            stp = csrch(st.f, gd, st.stp, 0.0, st.stp_max, ls)
            if ls.task == SEARCH_ERROR:
                # csrch's other input checks (stp < 0, g >= 0, stpmax < 0)
                # cannot fail here; kept as a safeguard
                failure = ABNORMAL_NO_FEASIBLE_STEP
                break
            if ls.task == SEARCH_CONVERGED or ls.task == SEARCH_WARNING:
                st.stp = stp
                st.iter += 1
                st.nit += 1
                st.pg_norm = _pg_norm(ws, st)
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
        st.n_trials += 1
        moved = set_trial_point(x, ws[X_PREV], direction, ws[X_CAUCHY],
                                ws[LOWER], ws[UPPER], ws[BOUND_TYPE], stp,
                                st.constrained)
        if st.n_trials > st.maxls:  # maxls trial points tried
            failure = ABNORMAL_LINE_SEARCH
            break
        if not moved and st.x_is_last_eval:
            # the trial point rounds to the point evaluated last: reuse its
            # f and g, not counted as an evaluation (scipy's objective
            # wrapper caches the last x the same way)
            continue
        st.phase = PHASE_SEARCH
        return FG
    return _search_failed(ws, st, failure)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _compact_subspace_step(ws, st):
    """Newton step over the free variables with the compact B: H r when
    no variable is active (no K), else through the factor of K (kept up to
    date incrementally, refactored only when it changed).  Returns 0, or
    nonzero if a factorisation failed."""
    n = ws[X].shape[0]
    m = st.m
    s_pairs, y_pairs, r = ws[S_PAIRS], ws[Y_PAIRS], ws[REDUCED_GRAD]
    free_active = ws[FREE_ACTIVE]
    reduced_gradient(ws[X], ws[G], s_pairs, y_pairs, ws[X_CAUCHY], r,
                     ws[M_WT_CAUCHY_STEP], free_active, st.theta, st.col,
                     st.head, m, st.nfree)
    if st.nfree == n:
        # no variable active at the GCP (Z = I): the Newton step from the
        # GCP is H r by the compact inverse; K is not needed (its inner
        # products are rebuilt when it is)
        inverse_product(r, s_pairs, y_pairs, ws[SY], ws[YY], ws[D_SCALING],
                        st.theta, st.col, st.head, m, ws[SCRATCH_2M])
        if st.refactor:
            st.k_products_stale = 1
        return 0
    k_products = ws[K_PRODUCTS]
    if st.k_products_stale:
        rebuild_k_products(n, st.nfree, free_active, k_products, m, s_pairs,
                           y_pairs, st.col, st.head)
        st.k_products_stale = 0
        st.k_factor_stale = 1
    elif st.refactor:
        update_k_products(n, st.nfree, free_active, st.n_entering,
                          st.leaving_start, ws[CHANGED], st.n_updates,
                          st.updated, k_products, m, s_pairs, y_pairs, st.col,
                          st.head)
        st.k_factor_stale = 1
    if st.k_factor_stale:
        if factor_k(ws[K_FACTOR], k_products, ws[SY], st.theta, st.col,
                    m) != 0:
            return -1
        st.k_factor_stale = 0
    return newton_step(r, s_pairs, y_pairs, ws[K_FACTOR], ws[SCRATCH_2M],
                       st.theta, st.col, st.head, m, st.nfree, free_active)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _iterate(ws, st, ls):
    """Compute a search direction from the current iterate and start the
    line search along it (``_search`` then evaluates its first trial
    point)."""
    x, g, x_cauchy, direction = ws[X], ws[G], ws[X_CAUCHY], ws[DIRECTION]
    lower, upper, bound_type = ws[LOWER], ws[UPPER], ws[BOUND_TYPE]
    n = x.shape[0]
    m = st.m
    while True:
        st.newton_clipped = -1
        if (not st.constrained) and st.col > 0:
            # no bounds: the GCP is x itself and the subspace is everything
            quasi_newton_point(x, g, ws[S_PAIRS], ws[Y_PAIRS], ws[SY], ws[YY],
                               ws[D_SCALING], st.theta, st.col, st.head, m,
                               ws[SCRATCH_2M], x_cauchy)
            st.newton_clipped = 0
        else:
            if cauchy_point(x, g, lower, upper, bound_type, ws[WHERE],
                            ws[BREAKPOINTS], ws[BREAK_INDEX], direction,
                            x_cauchy, ws[S_PAIRS], ws[Y_PAIRS], ws[SY],
                            ws[T_CHOL], ws[D_SCALING], ws[WT_DIRECTION],
                            ws[WT_CAUCHY_STEP], ws[W_ROW], ws[SCRATCH_2M],
                            ws[M_WT_CAUCHY_STEP], ws[B_DENSE],
                            ws[B_TIMES_D], ws[B_TIMES_Z], st) != 0:
                _reset_memory(st)
                continue
            free_set(n, ws[WHERE], ws[FREE_ACTIVE], ws[CHANGED], st.updated,
                     st.constrained, st.iter, st)
        if st.constrained and st.nfree == 0 and st.col != 0 and not st.dense:
            # every variable active at the GCP: no subspace step, so K's
            # inner products are not brought to this free set.  Mark them
            # stale (rebuilt from the pairs when next needed) instead of
            # updating them later from this empty set as L-BFGS-B 3.0 does,
            # which leaves K out of step with the pairs and the free set.
            st.k_products_stale = 1
        if st.constrained and st.nfree != 0 and st.col != 0:
            if st.dense:
                info = dense_newton_step(ws[B_DENSE], x, g, x_cauchy,
                                         ws[REDUCED_GRAD], ws[FREE_ACTIVE],
                                         st.nfree, ws[FREE_CHOL],
                                         ws[B_TIMES_Z])
            else:
                info = _compact_subspace_step(ws, st)
            if info != 0:
                _reset_memory(st)
                continue
            project_newton_point(x, g, lower, upper, bound_type, x_cauchy,
                                 ws[REDUCED_GRAD], direction, st.nfree,
                                 ws[FREE_ACTIVE], st)
        for i in range(n):
            direction[i] = x_cauchy[i] - x[i]
        start_search(x, lower, upper, bound_type, direction, ws[X_PREV], g,
                     ws[G_PREV], st, st.iter)
        ls.task = SEARCH_START
        st.nonfinite_trial = 0
        return


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _update_memory(ws, st):
    """After an accepted step: y = g - g_prev (kept in g_prev), s = stp d
    (kept in direction); store the pair unless s'y <= eps * (-g_prev's),
    and bring the representation of B up to date."""
    g, g_prev, direction = ws[G], ws[G_PREV], ws[DIRECTION]
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
    if dr <= EPS * ddum:
        st.n_skipped += 1
        st.updated = 0
        return
    st.updated = 1
    st.n_updates += 1
    store_pair(ws[S_PAIRS], ws[Y_PAIRS], ws[D_SCALING], direction, g_prev, st,
               rr, dr)
    if st.dense:
        if build_dense(ws[B_DENSE], ws[S_PAIRS], ws[Y_PAIRS], ws[D_SCALING],
                       st.theta, st.col, st.head, st.m, ws[B_TIMES_D]) != 0:
            _reset_memory(st)
        return
    update_products(ws[S_PAIRS], ws[Y_PAIRS], ws[SY], ws[SS], ws[YY],
                    direction, g_prev, st, rr, dr)
    # the factor of T serves the Cauchy search and the subspace matrix only:
    # without bounds the step is H g in compact form, which needs no
    # factorisation (so no reset for a non-positive-definite T either)
    if st.constrained and form_t(ws[T_CHOL], ws[D_SCALING], ws[SY], ws[SS],
                                 st.col, st.theta) != 0:
        _reset_memory(st)


@intrinsic
def plain_flag(typingctx, flag):
    """``flag`` typed as a plain bool, not as its constant value: compiled
    callers pass ``step_at``'s flag through it, so that ``step_at`` is
    compiled once (for bool) rather than once more per constant."""
    def codegen(context, builder, signature, args):
        return args[0]
    return types.unliteral(flag)(flag), codegen


@njit(cache=True, nogil=True)
def step_at(addresses, n, m, past_new_x):
    """Advance the solver until it needs f and g (returns FG), has accepted
    a new iterate (NEW_X; unless ``past_new_x``: then it goes on) or has
    finished (a code >= 400, see ``status``), on the workspace whose field
    addresses are in ``addresses`` (``setup_at``, ``initialize_at``), with
    n variables and memory m: the entry for every caller, and the cheapest
    to call from Python (one small array to unbox).  Callers that act on
    new iterates (callbacks, logging, ask/tell) pass ``past_new_x``
    False; the compiled drive loops, which do not, pass True (one call per
    evaluation: the same steps as calling again after each NEW_X).

    Each inlined function is pasted once (the line search is advanced in
    one place, every stop goes through one ``_finish``), and the body is
    here rather than in an inlined ``step(ws)``: Numba's inlining copies
    the callee's IR block by block, in time growing with blocks times
    variables, which for the whole step took seconds of the first
    compile."""
    ws = workspace_views(addresses, n, m)
    st = ws[STATE][0]
    ls = ws[SEARCH][0]
    while True:
        phase = st.phase
        if phase == PHASE_START:
            st.phase = PHASE_FIRST_FG
            return FG
        if (phase != PHASE_SEARCH and phase != PHASE_FIRST_FG
                and phase != PHASE_NEW_X):
            return st.task  # finished (PHASE_DONE)
        if phase == PHASE_SEARCH or phase == PHASE_FIRST_FG:
            st.x_is_last_eval = 1  # x, f, g: the evaluation just made
        stop = 0  # a final code when the solve stops before a new direction
        if phase == PHASE_FIRST_FG:
            g = ws[G]
            if not _all_finite(st.f, g):
                stop = ABNORMAL_NONFINITE_START
            else:
                st.pg_norm = _pg_norm(ws, st)
                if st.pg_norm <= st.pgtol:
                    stop = CONV_GRAD
        elif phase == PHASE_NEW_X:
            scale = max(max(abs(st.f_old), abs(st.f)), 1.0)
            if st.nit >= st.maxiter:
                stop = STOP_MAXITER
            elif st.nfev > st.maxfun:
                stop = STOP_MAXFUN
            elif st.stop_request:
                stop = STOP_CALLBACK
            elif st.pg_norm <= st.pgtol:
                stop = CONV_GRAD
            elif st.f_old - st.f <= st.tol * scale:
                stop = CONV_F
            else:
                _update_memory(ws, st)
        if stop != 0:
            return _finish(st, stop)
        # PHASE_SEARCH continues its line search; the others start one
        searching = phase == PHASE_SEARCH
        while True:
            if not searching:
                _iterate(ws, st, ls)
            searching = False
            result = _search(ws, st, ls)
            if result != _RESTART:
                break
        if result != NEW_X or not past_new_x:
            return result
        # on past the new iterate, as a second call would go (one set-up
        # of the views per evaluation instead of two per iteration)


@njit(cache=True, nogil=True)
def abandon_evaluation(addresses, n, m, code, gradient_length):
    """End the solve with ``code`` when the evaluation it asked for (task
    FG) cannot be used, e.g. a gradient of length ``gradient_length`` != n
    (kept in the state): during a line search x, f and g go back to the
    last accepted iterate; at the first evaluation x stays x0 and f and g
    are unknown (NaN).  Returns ``code``."""
    ws = workspace_views(addresses, n, m)
    st = ws[STATE][0]
    x, g, x_prev, g_prev = ws[X], ws[G], ws[X_PREV], ws[G_PREV]
    if st.phase == PHASE_SEARCH:
        for i in range(n):
            x[i] = x_prev[i]
            g[i] = g_prev[i]
        st.f = st.f_old
    else:
        for i in range(n):
            g[i] = np.nan
        st.f = np.nan
    st.gradient_length = gradient_length
    return _finish(st, code)
