"""Small bounded problems: the quasi-Newton matrix B as an explicit n x n
matrix (n <= ``workspace.DENSE_MAX_N``).

The compact form B = theta I - W M W' (``bfgs_matrix``) costs O(m^3) per
iteration for the factors of the 2m x 2m middle matrix and of K, whatever n
is.  With the pairs s_j, y_j in the order they were made, the same matrix is
the result of m BFGS updates of theta I (Byrd, Nocedal & Schnabel, Math.
Prog. 63, 1994, sec. 2):

    B <- B - (B s)(B s)' / (s'B s) + y y' / (y's),

which costs O(m n^2): less for the small problems solved by the thousand
in batches.  The generalized Cauchy point then takes products with B
directly (``cauchy.cauchy_point``) and the subspace step solves with the
Cholesky factor of the reduced matrix Z'BZ (nfree x nfree) instead of
factoring K (Byrd, Lu, Nocedal & Zhu 1995, sec. 5.1, direct primal
method).  Same mathematics as the compact form; only the rounding differs.
"""
from numba import njit

from .bfgs_matrix import (NO_OFFSET, cholesky_upper, next_slot, solve_upper,
                          solve_upper_t)
from .workspace import DENSE_MAX_N


@njit(cache=True, nogil=True, _nrt=False)
def use_dense(n, m):
    """Whether a bounded problem with n variables and memory m is cheaper
    with the dense B: its O(m n^2) rebuild against the O(m^3) factors of
    the compact form (measured break-even: n = 9 at m = 3, 10 at m = 5,
    14 at m = 10, beyond 16 at m = 20)."""
    return n <= DENSE_MAX_N and n <= 8 + m // 2


@njit(cache=True, nogil=True, _nrt=False)
def build_dense(b, s_pairs, y_pairs, d_scaling, theta, col, head, m, bs):
    """b (n, n) = theta I updated by the col stored pairs, oldest first;
    d_scaling[m:] holds 1/(s_j'y_j).  bs (n,) is scratch.  O(col n^2).
    Returns 0, or -1 if some s'Bs is not positive (B is then not positive
    definite).  The first update starts from theta I without storing it
    or multiplying by it: B s = 0 + theta s (the zero terms of the sums
    change no bit)."""
    n = b.shape[0]
    if col == 0:
        for i in range(n):
            for k in range(n):
                b[i, k] = 0.0
            b[i, i] = theta
        return 0
    p = head
    for j in range(col):
        sbs = 0.0
        for i in range(n):
            if j == 0:
                acc = 0.0 + theta * s_pairs[p, i]
            else:
                acc = 0.0
                for k in range(n):
                    acc += b[i, k] * s_pairs[p, k]
            bs[i] = acc
            sbs += s_pairs[p, i] * acc
        if not sbs > 0.0:
            return -1
        inv_sbs = 1.0 / sbs
        inv_ys = d_scaling[m + j]
        for i in range(n):
            yi = y_pairs[p, i] * inv_ys
            bi = bs[i] * inv_sbs
            if j == 0:
                for k in range(n):
                    b[i, k] = ((theta if i == k else 0.0)
                               + (yi * y_pairs[p, k] - bi * bs[k]))
            else:
                for k in range(n):
                    b[i, k] += yi * y_pairs[p, k] - bi * bs[k]
        p = next_slot(p, m)
    return 0


@njit(cache=True, nogil=True, _nrt=False)
def dense_newton_step(b, x, g, xcp, r, free_active, nfree, chol, z):
    """r[:nfree] = (Z'BZ)^-1 (-Z'(g + B(xcp - x))): the Newton step of the
    model over the free variables ``free_active[:nfree]`` from the GCP.
    chol (upper triangle of [:nfree, :nfree]) receives the Cholesky factor
    of Z'BZ; z (n,) is scratch.  Returns 0, or nonzero if Z'BZ is not
    positive definite."""
    n = x.shape[0]
    for i in range(n):
        z[i] = xcp[i] - x[i]
    for i in range(nfree):
        k = free_active[i]
        acc = 0.0
        for j in range(n):
            acc += b[k, j] * z[j]
        r[i] = -g[k] - acc
        for j in range(i, nfree):
            chol[i, j] = b[k, free_active[j]]
    info = cholesky_upper(chol, NO_OFFSET, nfree)
    if info != 0:
        return info
    info = solve_upper_t(chol, nfree, r, NO_OFFSET)
    if info != 0:
        return info
    return solve_upper(chol, nfree, r, NO_OFFSET)
