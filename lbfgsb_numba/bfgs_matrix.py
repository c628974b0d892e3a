"""The compact limited-memory BFGS matrix (Byrd, Nocedal & Schnabel 1994;
Byrd, Lu, Nocedal & Zhu 1995, section 3):

    B = theta I - W M W',   W = [Y, theta S]  (n x 2col),

    M = [ -D    L'        ]^-1        D = diag(s_i'y_i),
        [  L    theta S'S ]           L = strictly lower part of S'Y.

Stored pairs live in ring buffers ``s_pairs``/``y_pairs`` of shape (m, n);
logical pair j (0 = oldest) is row ``(head + j) % m``.  The inverse of M is
applied through the factorisation

    M^-1 = [ D^1/2       0 ] [ -D^1/2   D^-1/2 L' ]
           [ -L D^-1/2   J ] [  0       J'        ],   J J' = T = theta S'S + L D^-1 L'.

This module also forms the factor of the indefinite 2col x 2col matrix K used
by the subspace minimisation (Zhu et al. 1997, ACM TOMS 23(4), Alg. 778;
Morales & Nocedal 2011).  All matrices are indexed [row, column] with the
mathematical meaning of the papers; only upper triangles of the factors are
referenced.
"""
import math

from numba import njit


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
        t = b[boff + i]
        for p in range(i):
            t -= a[p, i] * b[boff + p]
        b[boff + i] = t * (1.0 / a[i, i])
    return 0


@njit(cache=True, nogil=True, _nrt=False)
def solve_upper(a, k, b, boff):
    """Solve U x = b in place, U = a[:k, :k] upper, b[boff:boff+k].
    Returns 0, or i+1 if U[i, i] == 0."""
    for i in range(k):
        if a[i, i] == 0.0:
            return i + 1
    for i in range(k - 1, -1, -1):
        t = b[boff + i]
        for p in range(i + 1, k):
            t -= a[i, p] * b[boff + p]
        b[boff + i] = t * (1.0 / a[i, i])
    return 0


@njit(cache=True, nogil=True, _nrt=False)
def middle_product(sy, t_chol, sqrt_d, col, v, out):
    """out[:2col] = M v[:2col] for the middle matrix M (see module doc);
    sqrt_d[:col] holds D^1/2.  Returns 0, or nonzero if J is singular."""
    if col == 0:
        return 0
    # forward half: [D^1/2 0; -L D^-1/2 J] p = v
    out[col] = v[col]
    for i in range(1, col):
        acc = 0.0
        for k in range(i):
            acc += sy[i, k] * v[k] / sy[k, k]
        out[col + i] = v[col + i] + acc
    info = solve_upper_t(t_chol, col, out, col)
    if info != 0:
        return info
    for i in range(col):
        out[i] = v[i] / sqrt_d[i]
    # backward half: [-D^1/2 D^-1/2 L'; 0 J'] p = p
    info = solve_upper(t_chol, col, out, col)
    if info != 0:
        return info
    for i in range(col):
        out[i] = -out[i] / sqrt_d[i]
    for i in range(col):
        acc = 0.0
        for k in range(i + 1, col):
            acc += sy[k, i] * out[col + k] / sy[i, i]
        out[i] += acc
    return 0


@njit(cache=True, nogil=True, _nrt=False)
def form_t(t_chol, sqrt_d, sy, ss, col, theta):
    """Form T = theta S'S + L D^-1 L' (upper triangle) and factor T = J J'
    with J' in the upper triangle of ``t_chol``; sqrt_d = D^1/2.  Returns 0
    or nonzero."""
    for j in range(col):
        sqrt_d[j] = math.sqrt(sy[j, j])
    for j in range(col):
        t_chol[0, j] = theta * ss[0, j]
    for i in range(1, col):
        for j in range(i, col):
            kmax = min(i, j)
            acc = 0.0
            for k in range(kmax):
                acc += sy[i, k] * sy[j, k] / sy[k, k]
            t_chol[i, j] = acc + theta * ss[i, j]
    return cholesky_upper(t_chol, 0, col)


@njit(cache=True, nogil=True, _nrt=False)
def add_pair(s_pairs, y_pairs, sy, ss, step_dir, grad_diff, state, rr, dr):
    """Store the new pair (s, y) = (stp*d, g_new - g_old) in the ring buffers
    and update S'Y, S'S and theta = y'y / s'y.

    ``step_dir`` already holds s; ``rr`` = y'y, ``dr`` = s'y.
    """
    n = step_dir.shape[0]
    m = state.m
    iupdat = state.iupdat
    if iupdat <= m:
        state.col = iupdat
        state.itail = (state.head + iupdat - 1) % m
    else:
        state.itail = (state.itail + 1) % m
        state.head = (state.head + 1) % m
    col = state.col
    tail = state.itail
    for i in range(n):
        s_pairs[tail, i] = step_dir[i]
        y_pairs[tail, i] = grad_diff[i]
    state.theta = rr / dr
    if iupdat > m:
        # drop the oldest pair: shift S'S (upper) and S'Y (lower) up-left
        for j in range(1, col):
            for i in range(j):
                ss[i, j - 1] = ss[i + 1, j]
            for i in range(col - j):
                sy[j - 1 + i, j - 1] = sy[j + i, j]
    p = state.head
    for j in range(col - 1):
        acc_sy = 0.0
        acc_ss = 0.0
        for i in range(n):
            acc_sy += step_dir[i] * y_pairs[p, i]
        for i in range(n):
            acc_ss += s_pairs[p, i] * step_dir[i]
        sy[col - 1, j] = acc_sy
        ss[j, col - 1] = acc_ss
        p = next_slot(p, m)
    if state.stp == 1.0:
        ss[col - 1, col - 1] = state.dtd
    else:
        ss[col - 1, col - 1] = state.stp * state.stp * state.dtd
    sy[col - 1, col - 1] = dr


@njit(cache=True, nogil=True, _nrt=False)
def form_k(n, nfree, free_active, nenter, ileave, changed, iupdat, updated,
           k_factor, k_products, m, s_pairs, y_pairs, sy, theta, col, head):
    """Factor the 2col x 2col matrix of the subspace step (Alg. 778, formk):

        K = [ -D - Y'ZZ'Y/theta    L_a' - R_z' ]
            [  L_a - R_z           theta S'AA'S ]

    Z selects the free variables at the Cauchy point, A the active ones; L_a
    is the strictly lower part of S'AA'Y and R_z the upper part of S'ZZ'Y.
    ``k_products`` keeps (lower triangles of) Y'ZZ'Y, S'AA'S and L_a + R_z
    between iterations, blocks at offsets 0 and m, and is updated only for
    the newest pair and the variables that changed status
    (``changed[:nenter]`` entered the free set, ``changed[ileave:]`` left it).
    On exit the upper triangle of k_factor[:2col, :2col] holds the factor
    used by ``subspace.subspace_step``.  Returns 0, -1 or -2 (not positive
    definite).
    """
    wn1 = k_products
    wn = k_factor
    if updated:
        if iupdat > m:
            # shift the old blocks by one pair
            for jy in range(m - 1):
                js = m + jy
                for t in range(m - jy - 1):
                    wn1[jy + t, jy] = wn1[jy + 1 + t, jy + 1]
                    wn1[js + t, js] = wn1[js + 1 + t, js + 1]
                for t in range(m - 1):
                    wn1[m + t, jy] = wn1[m + 1 + t, jy + 1]
        # new row of Y'ZZ'Y, of L_a and of S'AA'S
        iy = col - 1
        is_ = m + col - 1
        ip = (head + col - 1) % m
        jp = head
        for jy in range(col):
            js = m + jy
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
            wn1[is_, js] = t2
            wn1[is_, jy] = t3
            jp = next_slot(jp, m)
        # new column of R_z
        jy = col - 1
        jp = (head + col - 1) % m
        ip = head
        for i in range(col):
            is_ = m + i
            t3 = 0.0
            for k in range(nfree):
                k1 = free_active[k]
                t3 += s_pairs[ip, k1] * y_pairs[jp, k1]
            ip = next_slot(ip, m)
            wn1[is_, jy] = t3
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
            for k in range(nenter):
                k1 = changed[k]
                t1 += y_pairs[ip, k1] * y_pairs[jp, k1]
                t2 += s_pairs[ip, k1] * s_pairs[jp, k1]
            for k in range(ileave, n):
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
            for k in range(nenter):
                k1 = changed[k]
                t1 += s_pairs[ip, k1] * y_pairs[jp, k1]
            for k in range(ileave, n):
                k1 = changed[k]
                t3 += s_pairs[ip, k1] * y_pairs[jp, k1]
            if is_ <= jy + m:
                wn1[is_, jy] = wn1[is_, jy] + t1 - t3
            else:
                wn1[is_, jy] = wn1[is_, jy] - t1 + t3
            jp = next_slot(jp, m)
        ip = next_slot(ip, m)
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
    if cholesky_upper(wn, 0, col) != 0:
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
