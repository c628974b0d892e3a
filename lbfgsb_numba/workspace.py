"""Work arrays of one L-BFGS-B solve, allocated once per solve.

Everything the algorithm keeps between two calls of the driver lives here, so
that the driver can be re-entered (reverse communication) and so that many
solves can run side by side (one workspace each, no global state).

Shapes (n variables, m = maximum number of stored correction pairs):

========================  ===========  ==========================================
field                     shape        holds
========================  ===========  ==========================================
x, g                      (n,)         current point and gradient (trial point
                                       and its gradient while searching)
lower, upper              (n,)         bounds (+-inf where missing)
bound_type                (n,) int32   0 none, 1 lower, 2 both, 3 upper
s_pairs, y_pairs          (m, n)       ring buffers of s_k = x_{k+1}-x_k and
                                       y_k = g_{k+1}-g_k; row ``head`` is oldest
sy                        (m, m)       S'Y (strictly lower part = L, diag = D)
ss                        (m, m)       S'S (upper triangle)
t_chol                    (m, m)       Cholesky factor J' of T = theta S'S +
                                       L D^-1 L' (upper triangle)
k_factor                  (2m, 2m)     factor of the subspace matrix K (upper)
k_products                (2m, 2m)     inner products Y'ZZ'Y, S'AA'S, L_a+R_z
                                       kept between iterations to update K
x_cauchy                  (n,)         generalized Cauchy point, then the
                                       subspace minimiser (the step target)
reduced_grad              (n,)         reduced gradient of the model at the
                                       Cauchy point over the free variables
direction                 (n,)         search direction d = x_cauchy - x
x_prev, g_prev            (n,)         iterate and gradient at the start of
                                       the line search
breakpoints               (n,)         breakpoints t_i of the projected path
break_index               (n,) int32   variable of each breakpoint (heap order)
x_saved                   (n,)         subspace minimiser before projection
free_active               (n,) int32   free variables first, active last
where                     (n,) int32   status of each variable at the GCP
changed                   (n,) int32   variables entering (head) and leaving
                                       (tail) the free set
wp, wc, wbp, wv, wm       (2m,)        W'd, W'(xcp-x), a row of W, and two
                                       products with the middle matrix M
state                     (1,) record  scalars of the driver (see STATE_DTYPE)
search                    (1,) record  scalars of the More-Thuente search
========================  ===========  ==========================================
"""
from collections import namedtuple

import numpy as np
from numba import njit

STATE_DTYPE = np.dtype([
    # problem parameters
    ("m", np.int64), ("maxls", np.int64), ("maxiter", np.int64),
    ("maxfun", np.int64), ("tol", np.float64), ("pgtol", np.float64),
    # reverse-communication bookkeeping
    ("phase", np.int64), ("task", np.int64), ("stop_request", np.int64),
    ("nit", np.int64), ("nfev", np.int64),
    # f at x, f at the start of the line search, projected-gradient norm
    ("f", np.float64), ("f_old", np.float64), ("sbgnrm", np.float64),
    # limited-memory matrix
    ("theta", np.float64), ("col", np.int64), ("head", np.int64),
    ("itail", np.int64), ("iupdat", np.int64), ("updated", np.int64),
    ("nskip", np.int64),
    # box information
    ("projected", np.int64), ("constrained", np.int64), ("boxed", np.int64),
    # free set at the Cauchy point
    ("nfree", np.int64), ("nenter", np.int64), ("ileave", np.int64),
    ("refactor", np.int64), ("nseg", np.int64), ("nintol", np.int64),
    ("iword", np.int64), ("iter", np.int64),
    # line search
    ("gd", np.float64), ("gd_old", np.float64), ("stp", np.float64),
    ("stp_max", np.float64), ("dnorm", np.float64), ("dtd", np.float64),
    ("ifun", np.int64), ("iback", np.int64), ("nfgv", np.int64),
    ("last_trial_stp", np.float64), ("nonfinite_trial", np.int64),
])

SEARCH_DTYPE = np.dtype([
    ("task", np.int64), ("brackt", np.int64), ("stage", np.int64),
    ("ginit", np.float64), ("gtest", np.float64), ("gx", np.float64),
    ("gy", np.float64), ("finit", np.float64), ("fx", np.float64),
    ("fy", np.float64), ("stx", np.float64), ("sty", np.float64),
    ("stmin", np.float64), ("stmax", np.float64), ("width", np.float64),
    ("width1", np.float64),
])

Workspace = namedtuple("Workspace", [
    "x", "g", "lower", "upper", "bound_type",
    "s_pairs", "y_pairs", "sy", "ss", "t_chol", "k_factor", "k_products",
    "x_cauchy", "reduced_grad", "direction", "x_prev", "g_prev",
    "breakpoints", "break_index", "x_saved", "free_active", "where",
    "changed", "wp", "wc", "wbp", "wv", "wm", "state", "search",
])


@njit(cache=True, nogil=True)
def allocate_workspace(n, m):
    """Allocate the work arrays of one solve with n variables and memory m.

    Memory: (2m + 11) n doubles + 4n int32 + O(m^2).
    """
    return Workspace(
        np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n),
        np.zeros(n, dtype=np.int32),
        np.zeros((m, n)), np.zeros((m, n)),
        np.zeros((m, m)), np.zeros((m, m)), np.zeros((m, m)),
        np.zeros((2 * m, 2 * m)), np.zeros((2 * m, 2 * m)),
        np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n),
        np.zeros(n), np.zeros(n, dtype=np.int32), np.zeros(n),
        np.zeros(n, dtype=np.int32), np.zeros(n, dtype=np.int32),
        np.zeros(n, dtype=np.int32),
        np.zeros(2 * m), np.zeros(2 * m), np.zeros(2 * m), np.zeros(2 * m),
        np.zeros(2 * m),
        np.zeros(1, dtype=STATE_DTYPE), np.zeros(1, dtype=SEARCH_DTYPE),
    )
