"""The feasible box l <= x <= u: projection of the starting point, the
initial status of each variable, and the projected-gradient norm.

Bound types (``bound_type[i]``, scipy's ``nbd`` codes): UNBOUNDED,
LOWER_ONLY, BOTH, UPPER_ONLY (``has_lower``, ``has_upper``). Variable status
(``where[i]``): set here to FREE_UNBOUNDED, FIXED or FREE, refined by the
Cauchy search (``cauchy``) to FREE, FREE_STILL, AT_LOWER or AT_UPPER; a
variable is free at the Cauchy point when its status is <= 0 and active
when > 0.
"""
import math

from numba import njit

UNBOUNDED = 0        # no bound
LOWER_ONLY = 1       # l_i only
BOTH = 2             # l_i and u_i
UPPER_ONLY = 3       # u_i only

FREE = 0             # free and moving along the Cauchy path
FREE_UNBOUNDED = -1  # no bound: always free
FREE_STILL = -3      # free, but its gradient is zero (it does not move)
AT_LOWER = 1         # at its lower bound at the Cauchy point
AT_UPPER = 2         # at its upper bound at the Cauchy point
FIXED = 3            # l_i == u_i: always active


@njit(cache=True, nogil=True, _nrt=False)
def has_lower(bound):
    """Whether bound type ``bound`` has a lower bound l_i."""
    return bound == LOWER_ONLY or bound == BOTH


@njit(cache=True, nogil=True, _nrt=False)
def has_upper(bound):
    """Whether bound type ``bound`` has an upper bound u_i."""
    return bound == BOTH or bound == UPPER_ONLY


@njit(cache=True, nogil=True, _nrt=False)
def bound_type_of(lower, upper):
    """The bound type of l_i = ``lower``, u_i = ``upper`` (-inf, +inf: no
    bound)."""
    if lower > -math.inf:
        return BOTH if upper < math.inf else LOWER_ONLY
    return UPPER_ONLY if upper < math.inf else UNBOUNDED


@njit(cache=True, nogil=True, _nrt=False)
def project_start(x, lower, upper, bound_type, where):
    """Clip x into the box in place and initialise ``where``.

    Returns (constrained, boxed): whether any variable has a bound,
    whether every variable has both bounds.
    """
    n = x.shape[0]
    constrained = False
    boxed = True
    for i in range(n):
        nb = bound_type[i]
        if nb != UNBOUNDED:
            if has_lower(nb) and x[i] <= lower[i]:
                if x[i] < lower[i]:
                    x[i] = lower[i]
            elif has_upper(nb) and x[i] >= upper[i]:
                if x[i] > upper[i]:
                    x[i] = upper[i]
    for i in range(n):
        nb = bound_type[i]
        if nb != BOTH:
            boxed = False
        if nb == UNBOUNDED:
            where[i] = FREE_UNBOUNDED
        else:
            constrained = True
            if nb == BOTH and upper[i] - lower[i] <= 0.0:
                where[i] = FIXED
            else:
                where[i] = FREE
    return constrained, boxed


@njit(cache=True, nogil=True, _nrt=False)
def projected_gradient_norm(x, g, lower, upper, bound_type):
    """Infinity norm of the projected gradient P(x - g) - x, i.e.
    max_i |pg_i| with pg_i = g_i clipped by the distance to the bound the
    step -g_i heads for.  NaN in g propagates (so a NaN never "converges").
    """
    norm = 0.0
    for i in range(x.shape[0]):
        gi = g[i]
        if gi != gi:
            return gi
        nb = bound_type[i]
        if nb != UNBOUNDED:
            if gi < 0.0:
                if has_upper(nb):
                    gi = max(x[i] - upper[i], gi)
            else:
                if has_lower(nb):
                    gi = min(x[i] - lower[i], gi)
        norm = max(norm, abs(gi))
    return norm
