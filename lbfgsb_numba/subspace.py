"""Subspace minimisation over the free variables at the Cauchy point
(direct primal method: Byrd, Lu, Nocedal & Zhu 1995, section 5.1; Zhu et al.
1997, Alg. 778), with the projection and backtracking of the subspace step of
Morales & Nocedal (ACM TOMS 38(1), 2011).

With Z the free variables at the GCP x^c, the model minimiser over them is

    d_u = -(Z'BZ)^-1 r^c,     r^c = Z'(g + B(x^c - x))       (reduced gradient)

and by Sherman-Morrison-Woodbury, with B = theta I - W M W',

    d_u = r/theta + Z'W K^-1 W'Z r / theta^2      (r = -r^c),

where K is factored by ``bfgs_matrix.form_k``.  Without any bound the free
set is every variable, x^c = x and d_u = -B^-1 g: the same step is then
computed by the two-loop recursion (``two_loop_step``, O(mn), no
factorisation).
"""
from numba import njit

from .bfgs_matrix import middle_product, next_slot, solve_upper, solve_upper_t


@njit(cache=True, nogil=True, _nrt=False)
def free_set(n, where, free_active, changed, updated, constrained, it, state):
    """Split the variables at the GCP into free (where <= 0, first ``nfree``
    entries of ``free_active``) and active (the rest, in reverse order), and
    record in ``changed`` those entering (first nenter) and leaving
    (from ileave on) the free set since the previous iteration.  Sets
    state.nfree, nenter, ileave and state.refactor (whether K must be
    refactored)."""
    nfree = state.nfree
    nenter = 0
    ileave = n
    if it > 0 and constrained:
        for i in range(nfree):
            k = free_active[i]
            if where[k] > 0:
                ileave -= 1
                changed[ileave] = k
        for i in range(nfree, n):
            k = free_active[i]
            if where[k] <= 0:
                changed[nenter] = k
                nenter += 1
    state.refactor = 1 if (ileave < n or nenter > 0 or updated) else 0
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
    state.nenter = nenter
    state.ileave = ileave


@njit(cache=True, nogil=True, _nrt=False)
def reduced_gradient(x, g, s_pairs, y_pairs, sy, t_chol, sqrt_d, xcp, r, wc,
                     wm,
                     free_active, theta, col, head, m, nfree, constrained):
    """r[:nfree] = -Z'(g + B(xcp - x)) using wc = W'(xcp - x) from the
    Cauchy search (r = -g when unconstrained).  Returns 0 or -8 (singular)."""
    n = x.shape[0]
    if (not constrained) and col > 0:
        for i in range(n):
            r[i] = -g[i]
        return 0
    for i in range(nfree):
        k = free_active[i]
        r[i] = -theta * (xcp[k] - x[k]) - g[k]
    if middle_product(sy, t_chol, sqrt_d, col, wc, wm) != 0:
        return -8
    p = head
    for j in range(col):
        a1 = wm[j]
        a2 = theta * wm[col + j]
        for i in range(nfree):
            k = free_active[i]
            r[i] += y_pairs[p, k] * a1 + s_pairs[p, k] * a2
        p = next_slot(p, m)
    return 0


@njit(cache=True, nogil=True, _nrt=False)
def subspace_step(x, g, lower, upper, bound_type, xcp, d, x_saved, s_pairs,
                  y_pairs, k_factor, wv, theta, col, head, m, nsub,
                  free_active, state):
    """Minimise the model over the free variables starting from the GCP.

    On entry d[:nsub] holds the reduced gradient r; ``xcp`` the GCP.  On exit
    ``xcp`` holds the new target point: the Newton point projected into the
    box if that is a descent direction from x, otherwise the GCP plus the
    largest feasible fraction of the Newton step (Morales & Nocedal 2011).
    Sets state.iword (0 inside the box, 1 a bound was hit).  Returns 0 or
    nonzero if K is singular.
    """
    n = x.shape[0]
    if nsub <= 0:
        return 0
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
    info = solve_upper_t(k_factor, col2, wv, 0)
    if info != 0:
        return info
    for i in range(col):
        wv[i] = -wv[i]
    info = solve_upper(k_factor, col2, wv, 0)
    if info != 0:
        return info
    # d = (1/theta) d + (1/theta^2) Z'W wv
    p = head
    for jy in range(col):
        js = col + jy
        for i in range(nsub):
            k = free_active[i]
            d[i] = d[i] + (y_pairs[p, k] * wv[jy] / theta) + (s_pairs[p, k] * wv[js])
        p = next_slot(p, m)
    inv_theta = 1.0 / theta
    for i in range(nsub):
        d[i] *= inv_theta
    # projected Newton point
    iword = 0
    for i in range(n):
        x_saved[i] = xcp[i]
    for i in range(nsub):
        k = free_active[i]
        dk = d[i]
        xk = xcp[k]
        nb = bound_type[k]
        if nb == 0:
            xcp[k] = xk + dk
        elif nb == 1:
            xcp[k] = max(lower[k], xk + dk)
            if xcp[k] == lower[k]:
                iword = 1
        elif nb == 2:
            xk = max(lower[k], xk + dk)
            xcp[k] = min(upper[k], xk)
            if xcp[k] == lower[k] or xcp[k] == upper[k]:
                iword = 1
        elif nb == 3:
            xcp[k] = min(upper[k], xk + dk)
            if xcp[k] == upper[k]:
                iword = 1
    state.iword = iword
    if iword == 0:
        return 0
    # keep the projection only if it is a descent direction from x
    dd_p = 0.0
    for i in range(n):
        dd_p += (xcp[i] - x[i]) * g[i]
    if not dd_p > 0.0:
        return 0
    for i in range(n):
        xcp[i] = x_saved[i]
    # otherwise backtrack: largest alpha <= 1 keeping xcp + alpha d feasible
    alpha = 1.0
    temp1 = 1.0
    ibd = 0
    for i in range(nsub):
        k = free_active[i]
        dk = d[i]
        nb = bound_type[k]
        if nb != 0:
            if dk < 0.0 and nb <= 2:
                temp2 = lower[k] - xcp[k]
                if temp2 >= 0.0:
                    temp1 = 0.0
                elif dk * alpha < temp2:
                    temp1 = temp2 / dk
            elif dk > 0.0 and nb >= 2:
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
def two_loop_step(x, g, s_pairs, y_pairs, sy, theta, col, head, m, alpha,
                  xcp):
    """Without bounds the subspace step is the quasi-Newton step
    xcp = x - H g over all variables, with H = B^-1 the inverse of the same
    compact matrix (H_0 = I/theta); computed by the two-loop recursion
    (Nocedal 1980) in O(mn), with no factorisation.  ``alpha`` (m,) is
    scratch."""
    n = x.shape[0]
    for i in range(n):
        xcp[i] = -g[i]
    p = (head + col - 1) % m
    for j in range(col - 1, -1, -1):
        acc = 0.0
        for i in range(n):
            acc += s_pairs[p, i] * xcp[i]
        a = acc / sy[j, j]
        alpha[j] = a
        for i in range(n):
            xcp[i] -= a * y_pairs[p, i]
        p = p - 1 if p > 0 else m - 1
    inv_theta = 1.0 / theta
    for i in range(n):
        xcp[i] *= inv_theta
    p = head
    for j in range(col):
        acc = 0.0
        for i in range(n):
            acc += y_pairs[p, i] * xcp[i]
        b = alpha[j] - acc / sy[j, j]
        for i in range(n):
            xcp[i] += b * s_pairs[p, i]
        p = next_slot(p, m)
    for i in range(n):
        xcp[i] += x[i]
