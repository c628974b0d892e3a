"""The compact limited-memory BFGS matrix (Byrd, Nocedal & Schnabel 1994;
Byrd, Lu, Nocedal & Zhu 1995, section 3):

    B = theta I - W M W',   W = [Y, theta S]  (n x 2col),

    M = [ -D    L'        ]^-1        D = diag(s_i'y_i),
        [  L    theta S'S ]           L = strictly lower part of S'Y.

Stored pairs live in ring buffers ``s_pairs``/``y_pairs`` of shape (m, n);
logical pair j (0 = oldest) is row ``(head + j) % m``.  The inverse of M is
applied through the factorisation

    M^-1 = [ D^1/2       0 ] [ -D^1/2   D^-1/2 L' ]
           [ -L D^-1/2   J ] [  0       J'        ],

    J J' = T = theta S'S + L D^-1 L'

(D^-1/2 and D^-1 are kept, so that applying M takes no division).

This module also forms the factor of the indefinite 2col x 2col matrix K used
by the subspace minimisation (Zhu et al. 1997, ACM TOMS 23(4), Alg. 778;
Morales & Nocedal 2011).  All matrices are indexed [row, column] with the
mathematical meaning of the papers; only upper triangles of the factors are
referenced.
"""
import math

import numpy as np
from numba import njit

from .vector_ops import dot, dot_rows2

#: offset 0 into a factor or a right-hand side, typed int64 rather than
#: Literal[int](0): a literal argument would compile the callee a second time
NO_OFFSET = np.int64(0)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def next_slot(p, m):
    """(p + 1) % m for 0 <= p < m, without an integer division."""
    p += 1
    return 0 if p == m else p


@njit(cache=True, nogil=True, _nrt=False)
def cholesky_upper(a, off, k):
    """In place A = U'U of the k x k block a[off:off+k, off:off+k] (upper
    triangle read and overwritten with U).  Returns 0, or j+1 if the leading
    minor of order j+1 is not positive definite."""
    for j in range(k):
        jj = off + j
        s = a[jj, jj]
        for p in range(j):
            s -= a[off + p, jj] * a[off + p, jj]
        if not s > 0.0:
            return j + 1
        ujj = math.sqrt(s)
        a[jj, jj] = ujj
        inv = 1.0 / ujj
        for i in range(j + 1, k):
            ii = off + i
            t = a[jj, ii]
            for p in range(j):
                t -= a[off + p, jj] * a[off + p, ii]
            a[jj, ii] = t * inv
    return 0


@njit(cache=True, nogil=True, _nrt=False)
def solve_upper_t(a, k, b, boff):
    """Solve U'x = b in place, U = a[:k, :k] upper, b[boff:boff+k].
    Returns 0, or i+1 if U[i, i] == 0."""
    for i in range(k):
        if a[i, i] == 0.0:
            return i + 1
    for i in range(k):
        # two partial sums: half the dependency chain of one
        t0 = b[boff + i]
        t1 = 0.0
        p = 0
        while p + 1 < i:
            t0 -= a[p, i] * b[boff + p]
            t1 -= a[p + 1, i] * b[boff + p + 1]
            p += 2
        if p < i:
            t0 -= a[p, i] * b[boff + p]
        b[boff + i] = (t0 + t1) * (1.0 / a[i, i])
    return 0


@njit(cache=True, nogil=True, _nrt=False)
def solve_upper(a, k, b, boff):
    """Solve U x = b in place, U = a[:k, :k] upper, b[boff:boff+k].
    Returns 0, or i+1 if U[i, i] == 0."""
    for i in range(k):
        if a[i, i] == 0.0:
            return i + 1
    for i in range(k - 1, -1, -1):
        t0 = b[boff + i]
        t1 = 0.0
        p = i + 1
        while p + 1 < k:
            t0 -= a[i, p] * b[boff + p]
            t1 -= a[i, p + 1] * b[boff + p + 1]
            p += 2
        if p < k:
            t0 -= a[i, p] * b[boff + p]
        b[boff + i] = (t0 + t1) * (1.0 / a[i, i])
    return 0


@njit(cache=True, nogil=True, _nrt=False)
def middle_product(sy, t_chol, d_scaling, col, v, out):
    """out[:2col] = M v[:2col] for the middle matrix M (see module doc);
    d_scaling holds D^-1/2 and D^-1 (``store_pair``).  Returns 0, or nonzero
    if J is singular."""
    if col == 0:
        return 0
    # forward half: [D^1/2 0; -L D^-1/2 J] p = v  (out[:col] holds D^-1 v
    # for the moment)
    m = d_scaling.shape[0] // 2
    for k in range(col):
        out[k] = v[k] * d_scaling[m + k]
    for i in range(col):
        acc = 0.0
        for k in range(i):
            acc += sy[i, k] * out[k]
        out[col + i] = v[col + i] + acc
    info = solve_upper_t(t_chol, col, out, col)
    if info != 0:
        return info
    for i in range(col):
        out[i] = v[i] * d_scaling[i]
    # backward half: [-D^1/2 D^-1/2 L'; 0 J'] p = p
    info = solve_upper(t_chol, col, out, col)
    if info != 0:
        return info
    for i in range(col):
        acc = 0.0
        for k in range(i + 1, col):
            acc += sy[k, i] * out[col + k]
        out[i] = -out[i] * d_scaling[i] + acc * d_scaling[m + i]
    return 0


@njit(cache=True, nogil=True, _nrt=False)
def form_t(t_chol, d_scaling, sy, ss, col, theta):
    """Form T = theta S'S + L D^-1 L' (upper triangle) and factor T = J J'
    with J' in the upper triangle of ``t_chol``; d_scaling[m:] = D^-1.
    Returns 0 or nonzero."""
    m = d_scaling.shape[0] // 2
    for j in range(col):
        t_chol[0, j] = theta * ss[0, j]
    for i in range(1, col):
        for j in range(i, col):
            acc = 0.0
            for k in range(i):
                acc += sy[i, k] * sy[j, k] * d_scaling[m + k]
            t_chol[i, j] = acc + theta * ss[i, j]
    return cholesky_upper(t_chol, NO_OFFSET, col)


@njit(cache=True, nogil=True, _nrt=False)
def store_pair(s_pairs, y_pairs, d_scaling, step_dir, grad_diff, state, rr,
               dr):
    """Store the new pair (s, y) = (stp*d, g_new - g_old) in the ring buffers
    (dropping the oldest when m are kept), with D^-1/2 and D^-1
    (``d_scaling``) and theta = y'y / s'y.  ``step_dir`` already holds s;
    ``rr`` = y'y, ``dr`` = s'y.  Sets state.col, head, newest, theta."""
    n = step_dir.shape[0]
    m = state.m
    n_updates = state.n_updates
    # (slots by comparison, not integer division: head + n_updates - 1 <
    # 2m)
    if n_updates <= m:
        state.col = n_updates
        newest = state.head + n_updates - 1
        state.newest = newest - m if newest >= m else newest
    else:
        state.newest = next_slot(state.newest, m)
        state.head = next_slot(state.head, m)
        for i in range(m - 1):
            d_scaling[i] = d_scaling[i + 1]
            d_scaling[m + i] = d_scaling[m + i + 1]
    tail = state.newest
    for i in range(n):
        s_pairs[tail, i] = step_dir[i]
        y_pairs[tail, i] = grad_diff[i]
    state.theta = rr / dr
    last = state.col - 1
    d_scaling[last] = 1.0 / math.sqrt(dr)
    d_scaling[m + last] = 1.0 / dr


@njit(cache=True, nogil=True, _nrt=False)
def update_products(s_pairs, y_pairs, sy, ss, yy, step_dir, grad_diff, state,
                    rr, dr):
    """After ``store_pair``: update S'Y (full), S'S (upper triangle) and Y'Y
    (lower triangle) for the new pair, shifting out the oldest when the
    ring was full: O(m n + m^2)."""
    n = step_dir.shape[0]
    m = state.m
    col = state.col
    if state.n_updates > m:
        # drop the oldest pair: shift the products up-left by one
        for i in range(col - 1):
            for j in range(col - 1):
                sy[i, j] = sy[i + 1, j + 1]
            for j in range(i, col - 1):
                ss[i, j] = ss[i + 1, j + 1]
            for j in range(i + 1):
                yy[i, j] = yy[i + 1, j + 1]
    # products of the new pair (logical index col - 1) with the others
    last = col - 1
    p = state.head
    for j in range(last):
        if state.constrained:
            sy[last, j], ss[j, last] = dot_rows2(y_pairs, s_pairs, p,
                                                 step_dir, n)
        else:  # S'S serves only T, which bounds need
            sy[last, j] = dot(y_pairs[p], step_dir, n)
        sy[j, last], yy[last, j] = dot_rows2(s_pairs, y_pairs, p, grad_diff,
                                             n)
        p = next_slot(p, m)
    if state.stp == 1.0:
        ss[last, last] = state.dtd
    else:
        ss[last, last] = state.stp * state.stp * state.dtd
    sy[last, last] = dr
    yy[last, last] = rr


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _k_products_row(wn1, iy, ip, n, nfree, free_active, m, s_pairs, y_pairs,
                    head):
    """Row iy (the pair in slot ip) of Y'ZZ'Y and S'AA'S (jy <= iy) and of
    L_a (jy < iy) in ``k_products`` (see ``update_k_products``)."""
    jp = head
    for jy in range(iy + 1):
        t1 = 0.0
        t2 = 0.0
        t3 = 0.0
        for k in range(nfree):
            k1 = free_active[k]
            t1 += y_pairs[ip, k1] * y_pairs[jp, k1]
        for k in range(nfree, n):
            k1 = free_active[k]
            t2 += s_pairs[ip, k1] * s_pairs[jp, k1]
            t3 += s_pairs[ip, k1] * y_pairs[jp, k1]
        wn1[iy, jy] = t1
        wn1[m + iy, m + jy] = t2
        if jy < iy:
            wn1[m + iy, jy] = t3
        jp = next_slot(jp, m)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _k_products_column(wn1, jy, jp, nfree, free_active, m, s_pairs, y_pairs,
                       head):
    """Column jy (the pair in slot jp) of R_z (i <= jy) in ``k_products``."""
    ip = head
    for i in range(jy + 1):
        t = 0.0
        for k in range(nfree):
            k1 = free_active[k]
            t += s_pairs[ip, k1] * y_pairs[jp, k1]
        wn1[m + i, jy] = t
        ip = next_slot(ip, m)


@njit(cache=True, nogil=True, _nrt=False)
def update_k_products(n, nfree, free_active, n_entering, leaving_start,
                      changed, n_updates, updated, k_products, m, s_pairs,
                      y_pairs, col, head):
    """Bring the inner products behind the subspace matrix K (see
    ``factor_k``) up to date: ``k_products`` keeps the lower triangles of
    Y'ZZ'Y and S'AA'S (blocks at offsets 0 and m) and L_a + R_z (block
    [m:, :m]), where Z selects the free variables at the Cauchy point, A the
    active ones, L_a is the strictly lower part of S'AA'Y and R_z the upper
    part of S'ZZ'Y.  Only the newest pair (when ``updated``) and the
    variables that changed status (``changed[:n_entering]`` entered the
    free set, ``changed[leaving_start:]`` left it) are visited:
    O(col n_changed + col n) work.
    """
    wn1 = k_products
    if updated:
        if n_updates > m:
            # shift the old blocks by one pair
            for jy in range(m - 1):
                js = m + jy
                for t in range(m - jy - 1):
                    wn1[jy + t, jy] = wn1[jy + 1 + t, jy + 1]
                    wn1[js + t, js] = wn1[js + 1 + t, js + 1]
                for t in range(m - 1):
                    wn1[m + t, jy] = wn1[m + 1 + t, jy + 1]
        # new row of Y'ZZ'Y, S'AA'S and L_a, new column of R_z
        last = col - 1
        slot = (head + last) % m
        _k_products_row(k_products, last, slot, n, nfree, free_active, m,
                        s_pairs, y_pairs, head)
        _k_products_column(k_products, last, slot, nfree, free_active, m,
                           s_pairs, y_pairs, head)
        upcl = col - 1
    else:
        upcl = col
    # correct the old blocks for variables that changed status
    ip = head
    for iy in range(upcl):
        is_ = m + iy
        jp = head
        for jy in range(iy + 1):
            js = m + jy
            t1 = 0.0
            t2 = 0.0
            t3 = 0.0
            t4 = 0.0
            for k in range(n_entering):
                k1 = changed[k]
                t1 += y_pairs[ip, k1] * y_pairs[jp, k1]
                t2 += s_pairs[ip, k1] * s_pairs[jp, k1]
            for k in range(leaving_start, n):
                k1 = changed[k]
                t3 += y_pairs[ip, k1] * y_pairs[jp, k1]
                t4 += s_pairs[ip, k1] * s_pairs[jp, k1]
            wn1[iy, jy] = wn1[iy, jy] + t1 - t3
            wn1[is_, js] = wn1[is_, js] - t2 + t4
            jp = next_slot(jp, m)
        ip = next_slot(ip, m)
    ip = head
    for is_ in range(m, m + upcl):
        jp = head
        for jy in range(upcl):
            t1 = 0.0
            t3 = 0.0
            for k in range(n_entering):
                k1 = changed[k]
                t1 += s_pairs[ip, k1] * y_pairs[jp, k1]
            for k in range(leaving_start, n):
                k1 = changed[k]
                t3 += s_pairs[ip, k1] * y_pairs[jp, k1]
            if is_ <= jy + m:
                wn1[is_, jy] = wn1[is_, jy] + t1 - t3
            else:
                wn1[is_, jy] = wn1[is_, jy] - t1 + t3
            jp = next_slot(jp, m)
        ip = next_slot(ip, m)


@njit(cache=True, nogil=True, _nrt=False)
def rebuild_k_products(n, nfree, free_active, k_products, m, s_pairs,
                       y_pairs, col, head):
    """Compute the inner products kept by ``update_k_products`` from
    scratch for the current free set ``free_active[:nfree]`` (active
    variables after it): O(col^2 n).  Used when they were not kept up to
    date because no variable was active."""
    slot = head
    for i in range(col):
        _k_products_row(k_products, i, slot, n, nfree, free_active, m,
                        s_pairs, y_pairs, head)
        _k_products_column(k_products, i, slot, nfree, free_active, m,
                           s_pairs, y_pairs, head)
        slot = next_slot(slot, m)


@njit(cache=True, nogil=True, _nrt=False)
def factor_k(k_factor, k_products, sy, theta, col, m):
    """Factor the 2col x 2col matrix of the subspace step (Alg. 778, formk)

        K = [ -D - Y'ZZ'Y/theta    L_a' - R_z' ]
            [  L_a - R_z           theta S'AA'S ]

    from the inner products kept by ``update_k_products``: K = L E L' with
    E = diag(-I, I), the upper triangle of k_factor[:2col, :2col] receiving
    L' (used by ``subspace.newton_step``).  O(col^3).  Returns 0, -1 or -2
    (a block is not positive definite).
    """
    wn1 = k_products
    wn = k_factor
    # upper triangle of [D + Y'ZZ'Y/theta, -L_a' + R_z'; ., theta S'AA'S]
    for iy in range(col):
        is_ = col + iy
        is1 = m + iy
        for jy in range(iy + 1):
            js = col + jy
            js1 = m + jy
            wn[jy, iy] = wn1[iy, jy] / theta
            wn[js, is_] = wn1[is1, js1] * theta
        for jy in range(iy):
            wn[jy, is_] = -wn1[is1, jy]
        for jy in range(iy, col):
            wn[jy, is_] = wn1[is1, jy]
        wn[iy, iy] = wn[iy, iy] + sy[iy, iy]
    # first block: L L'
    if cholesky_upper(wn, NO_OFFSET, col) != 0:
        return -1
    # (1,2) block: L^-1 (-L_a' + R_z'), one column at a time
    col2 = 2 * col
    for jc in range(col, col2):
        for i in range(col):
            acc = wn[i, jc]
            for p in range(i):
                acc -= wn[p, i] * wn[p, jc]
            wn[i, jc] = acc * (1.0 / wn[i, i])
    # (2,2) block: theta S'AA'S + (L^-1(-L_a'+R_z'))' (L^-1(-L_a'+R_z'))
    for is_ in range(col, col2):
        for js in range(is_, col2):
            acc = 0.0
            for p in range(col):
                acc += wn[p, is_] * wn[p, js]
            wn[is_, js] = wn[is_, js] + acc
    if cholesky_upper(wn, col, col) != 0:
        return -2
    return 0
