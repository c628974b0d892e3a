"""Line search of L-BFGS-B: the More-Thuente search (More & Thuente, ACM
TOMS 20(3), 1994; MINPACK-2 dcsrch/dcstep) driven by reverse communication,
safeguarded so that every trial point lies in the box (Zhu et al. 1997,
Alg. 778; Byrd, Lu, Nocedal & Zhu 1995, section 6).

Along d from x_k, phi(stp) = f(x_k + stp d).  A step is accepted when

    phi(stp) <= phi(0) + ftol stp phi'(0)   and   |phi'(stp)| <= gtol |phi'(0)|

with ftol = 1e-3, gtol = 0.9, xtol = 0.1.  The first trial is stp = 1, except
on the first iteration of an unboxed problem where it is min(1/||d||, stpmax);
stpmax is the largest step keeping x + stp d in the box (1 on the first
iteration of a constrained problem, 1e10 when unconstrained).
"""
import math

from numba import njit

from .projection import UNBOUNDED, has_lower, has_upper
from .vector_ops import dot

FTOL = 1e-3
GTOL = 0.9
XTOL = 0.1
STPMAX_UNCONSTRAINED = 1e10

# search.task values
SEARCH_START = 0
SEARCH_FG = 1
SEARCH_CONVERGED = 2
SEARCH_WARNING = 3
SEARCH_ERROR = 4


@njit(cache=True, nogil=True, _nrt=False)
def cstep(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    """One safeguarded step of the More-Thuente interval update.

    (stx, fx, dx): best step so far with its value and derivative;
    (sty, fy, dy): the other end of the interval; (stp, fp, dp): current
    trial.  Returns the updated (stx, fx, dx, sty, fy, dy, stp, brackt).
    """
    sgnd = dp * (dx / abs(dx))
    if fp > fx:
        # higher value: minimiser bracketed; cubic or cubic/quadratic mean
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), max(abs(dx), abs(dp)))
        gamma = s * math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s))
        if stp < stx:
            gamma = -gamma
        p = (gamma - dx) + theta
        q = ((gamma - dx) + gamma) + dp
        r = p / q
        stpc = stx + r * (stp - stx)
        stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
        if abs(stpc - stx) < abs(stpq - stx):
            stpf = stpc
        else:
            stpf = stpc + (stpq - stpc) / 2.0
        brackt = True
    elif sgnd < 0.0:
        # lower value, derivatives of opposite sign: bracketed
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), max(abs(dx), abs(dp)))
        gamma = s * math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s))
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dx
        r = p / q
        stpc = stp + r * (stx - stp)
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        if abs(stpc - stp) > abs(stpq - stp):
            stpf = stpc
        else:
            stpf = stpq
        brackt = True
    elif abs(dp) < abs(dx):
        # lower value, same-sign derivatives, |derivative| decreasing
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), max(abs(dx), abs(dp)))
        gamma = s * math.sqrt(max(0.0, (theta / s) ** 2 - (dx / s) * (dp / s)))
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = (gamma + (dx - dp)) + gamma
        r = p / q
        if r < 0.0 and gamma != 0.0:
            stpc = stp + r * (stx - stp)
        elif stp > stx:
            stpc = stpmax
        else:
            stpc = stpmin
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        if brackt:
            if abs(stpc - stp) < abs(stpq - stp):
                stpf = stpc
            else:
                stpf = stpq
            if stp > stx:
                stpf = min(stp + 0.66 * (sty - stp), stpf)
            else:
                stpf = max(stp + 0.66 * (sty - stp), stpf)
        else:
            if abs(stpc - stp) > abs(stpq - stp):
                stpf = stpc
            else:
                stpf = stpq
            stpf = min(stpmax, stpf)
            stpf = max(stpmin, stpf)
    else:
        # lower value, same-sign derivatives, |derivative| not decreasing
        if brackt:
            theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp
            s = max(abs(theta), max(abs(dy), abs(dp)))
            gamma = s * math.sqrt((theta / s) ** 2 - (dy / s) * (dp / s))
            if stp > sty:
                gamma = -gamma
            p = (gamma - dp) + theta
            q = ((gamma - dp) + gamma) + dy
            r = p / q
            stpc = stp + r * (sty - stp)
            stpf = stpc
        elif stp > stx:
            stpf = stpmax
        else:
            stpf = stpmin
    # update the interval
    if fp > fx:
        sty = stp
        fy = fp
        dy = dp
    else:
        if sgnd < 0.0:
            sty = stx
            fy = fx
            dy = dx
        stx = stp
        fx = fp
        dx = dp
    return stx, fx, dx, sty, fy, dy, stpf, brackt


@njit(cache=True, nogil=True, _nrt=False)
def csrch(f, g, stp, stpmin, stpmax, ls):
    """One reverse-communication step of the More-Thuente search.

    ``ls`` (a SEARCH_DTYPE record) holds the search state; set
    ls.task = SEARCH_START for a new search with f = phi(0), g = phi'(0) < 0
    and the initial trial ``stp``.  Returns the next trial step; ls.task is
    then SEARCH_FG (evaluate at it), SEARCH_CONVERGED, SEARCH_WARNING (no
    further progress possible; stp is the best step found) or SEARCH_ERROR.
    """
    xtrapl = 1.1
    xtrapu = 4.0
    if ls.task == SEARCH_START:
        if stp < stpmin or stp > stpmax or g >= 0.0 or stpmax < stpmin:
            ls.task = SEARCH_ERROR
            return stp
        ls.brackt = 0
        ls.stage = 1
        ls.finit = f
        ls.ginit = g
        ls.gtest = FTOL * g
        ls.width = stpmax - stpmin
        ls.width1 = ls.width / 0.5
        ls.stx = 0.0
        ls.fx = f
        ls.gx = g
        ls.sty = 0.0
        ls.fy = f
        ls.gy = g
        ls.stmin = 0.0
        ls.stmax = stp + xtrapu * stp
        ls.task = SEARCH_FG
        return stp
    brackt = ls.brackt != 0
    gtest = ls.gtest
    ftest = ls.finit + stp * gtest
    if ls.stage == 1 and f <= ftest and g >= 0.0:
        ls.stage = 2
    task = SEARCH_FG
    if brackt and (stp <= ls.stmin or stp >= ls.stmax):
        task = SEARCH_WARNING  # rounding errors prevent progress
    if brackt and ls.stmax - ls.stmin <= XTOL * ls.stmax:
        task = SEARCH_WARNING  # xtol test satisfied
    if stp == stpmax and f <= ftest and g <= gtest:
        task = SEARCH_WARNING  # stp = stpmax
    if stp == stpmin and (f > ftest or g >= gtest):
        task = SEARCH_WARNING  # stp = stpmin
    if f <= ftest and abs(g) <= GTOL * (-ls.ginit):
        task = SEARCH_CONVERGED
    if task != SEARCH_FG:
        ls.task = task
        return stp
    stx = ls.stx
    sty = ls.sty
    if ls.stage == 1 and f <= ls.fx and f > ftest:
        # modified function psi(stp) = phi(stp) - phi(0) - ftol stp phi'(0)
        fm = f - stp * gtest
        fxm = ls.fx - stx * gtest
        fym = ls.fy - sty * gtest
        gm = g - gtest
        gxm = ls.gx - gtest
        gym = ls.gy - gtest
        stx, fxm, gxm, sty, fym, gym, stp, brackt = cstep(
            stx, fxm, gxm, sty, fym, gym, stp, fm, gm, brackt,
            ls.stmin, ls.stmax)
        ls.fx = fxm + stx * gtest
        ls.fy = fym + sty * gtest
        ls.gx = gxm + gtest
        ls.gy = gym + gtest
    else:
        stx, fx, gx, sty, fy, gy, stp, brackt = cstep(
            stx, ls.fx, ls.gx, sty, ls.fy, ls.gy, stp, f, g, brackt,
            ls.stmin, ls.stmax)
        ls.fx = fx
        ls.gx = gx
        ls.fy = fy
        ls.gy = gy
    ls.stx = stx
    ls.sty = sty
    if brackt:
        if abs(sty - stx) >= 0.66 * ls.width1:
            stp = stx + 0.5 * (sty - stx)
        ls.width1 = ls.width
        ls.width = abs(sty - stx)
        ls.stmin = min(stx, sty)
        ls.stmax = max(stx, sty)
    else:
        ls.stmin = stp + xtrapl * (stp - stx)
        ls.stmax = stp + xtrapu * (stp - stx)
    stp = max(stp, stpmin)
    stp = min(stp, stpmax)
    if brackt and (stp <= ls.stmin or stp >= ls.stmax or
                   ls.stmax - ls.stmin <= XTOL * ls.stmax):
        stp = stx
    ls.brackt = 1 if brackt else 0
    ls.task = SEARCH_FG
    return stp


@njit(cache=True, nogil=True, _nrt=False)
def start_search(x, lower, upper, bound_type, d, x_prev, g, g_prev, state,
                 it):
    """Prepare the search along d from x: ||d||, stpmax, the first trial
    step; save x and g into x_prev/g_prev.  Sets state.dtd, stp_max, stp,
    f_old, n_trials."""
    n = x.shape[0]
    dnorm = math.sqrt(dot(d, d, n))
    state.dtd = dnorm * dnorm
    stpmx = STPMAX_UNCONSTRAINED
    if state.constrained:
        if it == 0:
            stpmx = 1.0
        else:
            for i in range(n):
                a1 = d[i]
                nb = bound_type[i]
                if nb != UNBOUNDED:
                    if a1 < 0.0 and has_lower(nb):
                        a2 = lower[i] - x[i]
                        if a2 >= 0.0:
                            stpmx = 0.0
                        elif a1 * stpmx < a2:
                            stpmx = a2 / a1
                    elif a1 > 0.0 and has_upper(nb):
                        a2 = upper[i] - x[i]
                        if a2 <= 0.0:
                            stpmx = 0.0
                        elif a1 * stpmx > a2:
                            stpmx = a2 / a1
    state.stp_max = stpmx
    if it == 0 and not state.boxed:
        state.stp = min(1.0 / dnorm, stpmx)
    else:
        state.stp = 1.0
    for i in range(n):
        x_prev[i] = x[i]
        g_prev[i] = g[i]
    state.f_old = state.f
    state.n_trials = 0


@njit(cache=True, nogil=True, _nrt=False)
def set_trial_point(x, x_prev, d, x_target, lower, upper, bound_type, stp,
                    constrained):
    """x = x_prev + stp d, kept inside the box (x = x_target when stp == 1).
    Returns whether x changed (a tiny step can round to the same point)."""
    n = x.shape[0]
    moved = False
    if stp == 1.0:
        for i in range(n):
            moved |= x[i] != x_target[i]
            x[i] = x_target[i]
    elif not constrained:
        for i in range(n):
            xi = stp * d[i] + x_prev[i]
            moved |= x[i] != xi
            x[i] = xi
    else:
        for i in range(n):
            xi = stp * d[i] + x_prev[i]
            nb = bound_type[i]
            if has_lower(nb):
                xi = max(xi, lower[i])
            if has_upper(nb):
                xi = min(xi, upper[i])
            moved |= x[i] != xi
            x[i] = xi
    return moved
