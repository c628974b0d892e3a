"""Generalized Cauchy point (Byrd, Lu, Nocedal & Zhu 1995, section 4;
Zhu et al. 1997, Alg. 778).

Along the projected steepest-descent path x(t) = P(x - t g, l, u) the
quadratic model m(x + s) = g's + s'Bs/2 is piecewise quadratic in t, with a
breakpoint t_i where variable i reaches its bound.  The GCP is the first local
minimiser of m along the path.  Breakpoints are visited in increasing order,
kept in a binary heap (Williams' heapsort, CACM Alg. 232) so that the work is
O(n + k log n) for k visited segments.  On each segment

    f'(t) = f1 + f2 (t - t_j),     f1 = g'd + ...,   f2 = d'Bd,

is updated with O(m) work through the compact form B = theta I - W M W'.
"""
import numpy as np
from numba import njit

from .bfgs_matrix import middle_product, next_slot
from .options import EPS
from .projection import (AT_LOWER, AT_UPPER, FIXED, FREE, FREE_STILL,
                         FREE_UNBOUNDED, has_lower, has_upper)


@njit(cache=True, nogil=True, _nrt=False)
def heap_pop_min(nleft, t, order, build):
    """Breakpoints t[0:nleft+1] with their variables ``order``.  If ``build``,
    first arrange t[0:nleft+1] as a min-heap.  Then move the least element to
    position nleft and restore the heap on t[0:nleft]."""
    if build:
        for k in range(1, nleft + 1):
            val = t[k]
            idx = order[k]
            i = k + 1  # 1-based position while sifting up
            while i > 1:
                j = i // 2
                if val < t[j - 1]:
                    t[i - 1] = t[j - 1]
                    order[i - 1] = order[j - 1]
                    i = j
                else:
                    break
            t[i - 1] = val
            order[i - 1] = idx
    if nleft > 0:
        least = t[0]
        least_idx = order[0]
        val = t[nleft]
        idx = order[nleft]
        i = 1
        while True:
            j = i + i
            if j <= nleft:
                if t[j] < t[j - 1]:
                    j += 1
                if t[j - 1] < val:
                    t[i - 1] = t[j - 1]
                    order[i - 1] = order[j - 1]
                    i = j
                else:
                    break
            else:
                break
        t[i - 1] = val
        order[i - 1] = idx
        t[nleft] = least
        order[nleft] = least_idx


@njit(cache=True, nogil=True, _nrt=False)
def cauchy_point(x, g, lower, upper, bound_type, where, breakpoints,
                 break_index, d, xcp, s_pairs, y_pairs, sy, t_chol, d_scaling,
                 wp, wc, wbp, wv, wm, b, bd, bz, state):
    """Compute the GCP into ``xcp``; in compact form (state.dense == 0)
    also wc = W'(xcp - x) and wm = M wc for the subspace step (wc and wm
    have 2col entries).  With the dense B (``dense_model``) the products
    are taken with b (n, n) directly: bd = B d and bz = B(x(t) - x) (n,).

    ``d`` receives the projected steepest-descent direction with the
    components fixed at breakpoints zeroed.  ``where`` is updated (the
    codes of ``projection``: FREE, FREE_STILL, AT_LOWER, AT_UPPER; FIXED
    and FREE_UNBOUNDED stay).  Returns 0, or nonzero when the middle
    matrix is singular (the caller then resets the memory).
    """
    n = x.shape[0]
    theta = state.theta
    col = state.col
    head = state.head
    m = state.m
    dense = state.dense != 0 and col > 0  # (with col = 0, B = theta I)
    if dense:
        col = 0  # no compact products; B enters through b
    if state.pg_norm <= 0.0:
        for i in range(n):
            xcp[i] = x[i]
        return middle_product(sy, t_chol, d_scaling, col, wc, wm)
    bounded_path = True
    nfree = n
    nbreak = np.int64(-1)  # not Literal[int](-1): one heap_pop_min
    ibkmin = 0
    bkmin = 0.0
    col2 = 2 * col
    f1 = 0.0
    tl = 0.0
    tu = 0.0
    for j in range(col2):
        wp[j] = 0.0
    for i in range(n):
        neggi = -g[i]
        nb = bound_type[i]
        if where[i] != FIXED and where[i] != FREE_UNBOUNDED:
            if has_lower(nb):
                tl = x[i] - lower[i]
            if has_upper(nb):
                tu = upper[i] - x[i]
            at_lower = has_lower(nb) and tl <= 0.0
            at_upper = has_upper(nb) and tu <= 0.0
            where[i] = FREE
            if at_lower:
                if neggi <= 0.0:
                    where[i] = AT_LOWER
            elif at_upper:
                if neggi >= 0.0:
                    where[i] = AT_UPPER
            else:
                if abs(neggi) <= 0.0:
                    where[i] = FREE_STILL
        if where[i] != FREE and where[i] != FREE_UNBOUNDED:
            d[i] = 0.0
        else:
            d[i] = neggi
            f1 -= neggi * neggi
            p = head
            for j in range(col):
                wp[j] += y_pairs[p, i] * neggi
                wp[col + j] += s_pairs[p, i] * neggi
                p = next_slot(p, m)
            if has_lower(nb) and neggi < 0.0:
                nbreak += 1
                break_index[nbreak] = i
                breakpoints[nbreak] = tl / (-neggi)
                if nbreak == 0 or breakpoints[nbreak] < bkmin:
                    bkmin = breakpoints[nbreak]
                    ibkmin = nbreak
            elif has_upper(nb) and neggi > 0.0:
                nbreak += 1
                break_index[nbreak] = i
                breakpoints[nbreak] = tu / neggi
                if nbreak == 0 or breakpoints[nbreak] < bkmin:
                    bkmin = breakpoints[nbreak]
                    ibkmin = nbreak
            else:
                nfree -= 1
                break_index[nfree] = i
                if abs(neggi) > 0.0:
                    bounded_path = False
    if theta != 1.0:
        for j in range(col):
            wp[col + j] *= theta
    for i in range(n):
        xcp[i] = x[i]
    if nbreak == -1 and nfree == n:
        # d is zero: x itself is the GCP (wc is left as it is)
        return middle_product(sy, t_chol, d_scaling, col, wc, wm)
    for j in range(col2):
        wc[j] = 0.0
    f2 = -theta * f1
    if dense:
        # bd = B d, f2 = d'Bd
        f2 = 0.0
        for i in range(n):
            acc = 0.0
            for k in range(n):
                acc += b[i, k] * d[k]
            bd[i] = acc
            bz[i] = 0.0
            f2 += d[i] * acc
    f2_org = f2
    if col > 0:
        info = middle_product(sy, t_chol, d_scaling, col, wp, wv)
        if info != 0:
            return info
        acc = 0.0
        for j in range(col2):
            acc += wv[j] * wp[j]
        f2 -= acc
    dtm = -f1 / f2
    tsum = 0.0
    all_fixed = False
    passed = 0  # breakpoints passed
    if nbreak >= 0:
        nleft = nbreak
        it = 0
        tj = 0.0
        while True:
            tj0 = tj
            if it == 0:
                tj = bkmin
                ibp = break_index[ibkmin]
            else:
                if it == 1:
                    # replace the used least breakpoint by the last one
                    if ibkmin != nbreak:
                        breakpoints[ibkmin] = breakpoints[nbreak]
                        break_index[ibkmin] = break_index[nbreak]
                heap_pop_min(nleft, breakpoints, break_index, it == 1)
                tj = breakpoints[nleft]
                ibp = break_index[nleft]
            dt = tj - tj0
            if dtm < dt:
                break  # minimiser inside this segment
            tsum += dt
            nleft -= 1
            it += 1
            passed = it
            dibp = d[ibp]
            d[ibp] = 0.0
            if dibp > 0.0:
                zibp = upper[ibp] - x[ibp]
                xcp[ibp] = upper[ibp]
                where[ibp] = AT_UPPER
            else:
                zibp = lower[ibp] - x[ibp]
                xcp[ibp] = lower[ibp]
                where[ibp] = AT_LOWER
            if nleft == -1 and nbreak == n - 1:
                # every variable is at a bound
                dtm = dt
                all_fixed = True
                break
            dibp2 = dibp * dibp
            if dense:
                # z += dt d; f1 = g'd + d'Bz and f2 = d'Bd with d_ibp -> 0
                for i in range(n):
                    bz[i] += dt * bd[i]
                f1 = f1 + dt * f2 + dibp2 - dibp * bz[ibp]
                f2 = f2 - 2.0 * dibp * bd[ibp] + dibp2 * b[ibp, ibp]
                for i in range(n):
                    bd[i] -= dibp * b[i, ibp]
            else:
                f1 = f1 + dt * f2 + dibp2 - theta * dibp * zibp
                f2 = f2 - theta * dibp2
            if col > 0:
                for j in range(col2):
                    wc[j] += dt * wp[j]
                p = head
                for j in range(col):
                    wbp[j] = y_pairs[p, ibp]
                    wbp[col + j] = theta * s_pairs[p, ibp]
                    p = next_slot(p, m)
                info = middle_product(sy, t_chol, d_scaling, col, wbp, wv)
                if info != 0:
                    return info
                wmc = 0.0
                wmp = 0.0
                wmw = 0.0
                for j in range(col2):
                    wmc += wc[j] * wv[j]
                for j in range(col2):
                    wmp += wp[j] * wv[j]
                for j in range(col2):
                    wmw += wbp[j] * wv[j]
                for j in range(col2):
                    wp[j] -= dibp * wbp[j]
                f1 += dibp * wmc
                f2 += 2.0 * dibp * wmp - dibp2 * wmw
            f2 = max(EPS * f2_org, f2)
            if nleft >= 0:
                dtm = -f1 / f2
            elif bounded_path:
                dtm = 0.0
                break
            else:
                dtm = -f1 / f2
                break
    if not all_fixed:
        if dtm <= 0.0:
            dtm = 0.0
        tsum += dtm
        for i in range(n):
            xcp[i] += tsum * d[i]
    if col > 0:
        for j in range(col2):
            wc[j] += dtm * wp[j]
        if passed == 0:
            # wc = dtm wp and wv still holds M wp
            for j in range(col2):
                wm[j] = dtm * wv[j]
        else:
            return middle_product(sy, t_chol, d_scaling, col, wc, wm)
    return 0
