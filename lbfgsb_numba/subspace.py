"""Subspace minimisation over the free variables at the Cauchy point
(direct primal method: Byrd, Lu, Nocedal & Zhu 1995, section 5.1; Zhu et al.
1997, Alg. 778), with the projection and backtracking of the subspace step of
Morales & Nocedal (ACM TOMS 38(1), 2011).

With Z the free variables at the GCP x^c, the model minimiser over them is

    d_u = -(Z'BZ)^-1 r^c,     r^c = Z'(g + B(x^c - x))       (reduced gradient)

and by Sherman-Morrison-Woodbury, with B = theta I - W M W',

    d_u = r/theta + Z'W K^-1 W'Z r / theta^2      (r = -r^c),

where K is factored by ``bfgs_matrix.factor_k``.  When no variable is
active at the GCP (Z = I) the step is d_u = B^-1 r = H r, computed with the
compact form of the inverse H (``inverse_product``, O(mn), no
factorisation); without any bound x^c = x and the target point is simply
x - H g (``quasi_newton_point``).
"""
from numba import njit

from .bfgs_matrix import NO_OFFSET, next_slot, solve_upper, solve_upper_t
from .projection import (BOTH, LOWER_ONLY, UNBOUNDED, UPPER_ONLY, has_lower,
                         has_upper)
from .vector_ops import dot_rows2


@njit(cache=True, nogil=True, _nrt=False)
def free_set(n, where, free_active, changed, updated, constrained, it, state):
    """Split the variables at the GCP into free (where <= 0, first ``nfree``
    entries of ``free_active``) and active (the rest, in reverse order), and
    record in ``changed`` those entering (first n_entering) and leaving
    (from leaving_start on) the free set since the previous iteration.
    Sets state.nfree, n_entering, leaving_start and state.refactor (whether
    K must be refactored)."""
    nfree = state.nfree
    n_entering = 0
    leaving_start = n
    if it > 0 and constrained:
        for i in range(nfree):
            k = free_active[i]
            if where[k] > 0:
                leaving_start -= 1
                changed[leaving_start] = k
        for i in range(nfree, n):
            k = free_active[i]
            if where[k] <= 0:
                changed[n_entering] = k
                n_entering += 1
    state.refactor = 1 if (leaving_start < n or n_entering > 0
                           or updated) else 0
    nfree = 0
    iact = n
    for i in range(n):
        if where[i] <= 0:
            free_active[nfree] = i
            nfree += 1
        else:
            iact -= 1
            free_active[iact] = i
    state.nfree = nfree
    state.n_entering = n_entering
    state.leaving_start = leaving_start


@njit(cache=True, nogil=True, _nrt=False)
def reduced_gradient(x, g, s_pairs, y_pairs, xcp, r, wm, free_active, theta,
                     col, head, m, nfree):
    """r[:nfree] = -Z'(g + B(xcp - x)) = -Z'(g + theta (xcp - x) - W wm)
    with wm = M W'(xcp - x) from the Cauchy search."""
    for i in range(nfree):
        k = free_active[i]
        r[i] = -theta * (xcp[k] - x[k]) - g[k]
    p = head
    for j in range(col):
        a1 = wm[j]
        a2 = theta * wm[col + j]
        for i in range(nfree):
            k = free_active[i]
            r[i] += y_pairs[p, k] * a1 + s_pairs[p, k] * a2
        p = next_slot(p, m)


@njit(cache=True, nogil=True, _nrt=False)
def newton_step(d, s_pairs, y_pairs, k_factor, wv, theta, col, head, m, nsub,
                free_active):
    """Newton step of the model over the free variables from the GCP:
    on entry d[:nsub] holds the reduced gradient r (``reduced_gradient``),
    on exit d[:nsub] = r/theta + Z'W K^-1 W'Z r / theta^2 through the factor
    of K (``bfgs_matrix.factor_k``).  wv (2m,) is scratch.  Returns 0 or
    nonzero if K is singular."""
    col2 = 2 * col
    # wv = W'Z d
    p = head
    for i in range(col):
        t1 = 0.0
        t2 = 0.0
        for j in range(nsub):
            k = free_active[j]
            t1 += y_pairs[p, k] * d[j]
            t2 += s_pairs[p, k] * d[j]
        wv[i] = t1
        wv[col + i] = theta * t2
        p = next_slot(p, m)
    # wv = K^-1 wv through the factor of K
    info = solve_upper_t(k_factor, col2, wv, NO_OFFSET)
    if info != 0:
        return info
    for i in range(col):
        wv[i] = -wv[i]
    info = solve_upper(k_factor, col2, wv, NO_OFFSET)
    if info != 0:
        return info
    # d = (1/theta) d + (1/theta^2) Z'W wv
    p = head
    for jy in range(col):
        js = col + jy
        for i in range(nsub):
            k = free_active[i]
            d[i] = (d[i] + (y_pairs[p, k] * wv[jy] / theta)
                    + (s_pairs[p, k] * wv[js]))
        p = next_slot(p, m)
    inv_theta = 1.0 / theta
    for i in range(nsub):
        d[i] *= inv_theta
    return 0


@njit(cache=True, nogil=True, _nrt=False)
def project_newton_point(x, g, lower, upper, bound_type, xcp, d, xcp_saved,
                         nsub, free_active, state):
    """Turn the Newton step d[:nsub] (over the free variables
    ``free_active[:nsub]``, from the GCP ``xcp``) into the target point, in
    ``xcp``: the Newton point projected into the box if that is a descent
    direction from x, otherwise the GCP plus the largest feasible fraction
    of the Newton step (Morales & Nocedal 2011).  Sets state.newton_clipped
    (0 inside the box, 1 a bound was hit).  xcp_saved (n,) is scratch."""
    n = x.shape[0]
    # projected Newton point
    clipped = 0
    for i in range(n):
        xcp_saved[i] = xcp[i]
    for i in range(nsub):
        k = free_active[i]
        dk = d[i]
        xk = xcp[k]
        nb = bound_type[k]
        if nb == UNBOUNDED:
            xcp[k] = xk + dk
        elif nb == LOWER_ONLY:
            xcp[k] = max(lower[k], xk + dk)
            if xcp[k] == lower[k]:
                clipped = 1
        elif nb == BOTH:
            xk = max(lower[k], xk + dk)
            xcp[k] = min(upper[k], xk)
            if xcp[k] == lower[k] or xcp[k] == upper[k]:
                clipped = 1
        elif nb == UPPER_ONLY:
            xcp[k] = min(upper[k], xk + dk)
            if xcp[k] == upper[k]:
                clipped = 1
    state.newton_clipped = clipped
    if clipped == 0:
        return 0
    # keep the projection only if it is a descent direction from x
    dd_p = 0.0
    for i in range(n):
        dd_p += (xcp[i] - x[i]) * g[i]
    if not dd_p > 0.0:
        return 0
    for i in range(n):
        xcp[i] = xcp_saved[i]
    # otherwise backtrack: largest alpha <= 1 keeping xcp + alpha d feasible
    alpha = 1.0
    temp1 = 1.0
    ibd = 0
    for i in range(nsub):
        k = free_active[i]
        dk = d[i]
        nb = bound_type[k]
        if nb != UNBOUNDED:
            if dk < 0.0 and has_lower(nb):
                temp2 = lower[k] - xcp[k]
                if temp2 >= 0.0:
                    temp1 = 0.0
                elif dk * alpha < temp2:
                    temp1 = temp2 / dk
            elif dk > 0.0 and has_upper(nb):
                temp2 = upper[k] - xcp[k]
                if temp2 <= 0.0:
                    temp1 = 0.0
                elif dk * alpha > temp2:
                    temp1 = temp2 / dk
            if temp1 < alpha:
                alpha = temp1
                ibd = i
    if alpha < 1.0:
        dk = d[ibd]
        k = free_active[ibd]
        if dk > 0.0:
            xcp[k] = upper[k]
            d[ibd] = 0.0
        elif dk < 0.0:
            xcp[k] = lower[k]
            d[ibd] = 0.0
    for i in range(nsub):
        k = free_active[i]
        xcp[k] = xcp[k] + alpha * d[i]
    return 0


@njit(cache=True, nogil=True, _nrt=False)
def inverse_product(v, s_pairs, y_pairs, sy, yy, d_scaling, theta, col, head,
                    m, work):
    """v = H v in place, where H = B^-1 is the inverse of the compact matrix
    over all variables, in its own compact form (Byrd, Nocedal & Schnabel
    1994, Thm. 2.2) with H_0 = I/theta:

        H = I/theta + [S  Y/theta] [ R^-T (D + Y'Y/theta) R^-1   -R^-T ] [ S' ]
                                   [ -R^-1                        0    ] [ Y' ],

    R the upper triangle of S'Y.  O(mn + m^2), no factorisation, and unlike
    the two-loop recursion the 2m inner products are independent.  With no
    variable active at the GCP the subspace step is H r for the reduced
    gradient r (Z = I).  ``work`` (2m,) is scratch."""
    n = v.shape[0]
    inv_theta = 1.0 / theta
    # a = S'v in work[:col], b = Y'v in work[col:2col]
    p = head
    for j in range(col):
        work[j], work[col + j] = dot_rows2(s_pairs, y_pairs, p, v, n)
        p = next_slot(p, m)
    # u = R^-1 a
    for j in range(col - 1, -1, -1):
        t = work[j]
        for k in range(j + 1, col):
            t -= sy[j, k] * work[k]
        work[j] = t * d_scaling[m + j]
    # w = (D + Y'Y/theta) u - b/theta
    for j in range(col):
        acc = 0.0
        for k in range(j + 1):
            acc += yy[j, k] * work[k]
        for k in range(j + 1, col):
            acc += yy[k, j] * work[k]
        work[col + j] = sy[j, j] * work[j] + (acc - work[col + j]) * inv_theta
    # q = R^-T w
    for j in range(col):
        t = work[col + j]
        for k in range(j):
            t -= sy[k, j] * work[col + k]
        work[col + j] = t * d_scaling[m + j]
    # v = v/theta + S q - Y u/theta
    for i in range(n):
        v[i] *= inv_theta
    p = head
    for j in range(col):
        cs = work[col + j]
        cy = work[j] * inv_theta
        for i in range(n):
            v[i] += s_pairs[p, i] * cs - y_pairs[p, i] * cy
        p = next_slot(p, m)


@njit(cache=True, nogil=True, _nrt=False)
def quasi_newton_point(x, g, s_pairs, y_pairs, sy, yy, d_scaling, theta, col,
                       head, m, work, xcp):
    """Without bounds the subspace step is the quasi-Newton step: the
    target point is xcp = x - H g (``inverse_product``)."""
    n = x.shape[0]
    for i in range(n):
        xcp[i] = -g[i]
    inverse_product(xcp, s_pairs, y_pairs, sy, yy, d_scaling, theta, col,
                    head, m, work)
    for i in range(n):
        xcp[i] += x[i]
