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
sqrt_d                    (m,)         D^1/2: square roots of s_i'y_i
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
    ("nit", np.int64), ("nfev", np.int64), ("njev", np.int64),
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
    "s_pairs", "y_pairs", "sy", "ss", "t_chol", "sqrt_d", "k_factor",
    "k_products",
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
        np.zeros((m, m)), np.zeros((m, m)), np.zeros((m, m)), np.zeros(m),
        np.zeros((2 * m, 2 * m)), np.zeros((2 * m, 2 * m)),
        np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n),
        np.zeros(n), np.zeros(n, dtype=np.int32), np.zeros(n),
        np.zeros(n, dtype=np.int32), np.zeros(n, dtype=np.int32),
        np.zeros(n, dtype=np.int32),
        np.zeros(2 * m), np.zeros(2 * m), np.zeros(2 * m), np.zeros(2 * m),
        np.zeros(2 * m),
        np.zeros(1, dtype=STATE_DTYPE), np.zeros(1, dtype=SEARCH_DTYPE),
    )



def workspace_layout(n, m):
    """(shape, dtype) of every Workspace field, in field order (the layout
    ``allocate_workspace`` builds in compiled code)."""
    f8, i4 = np.float64, np.int32
    vec, pairs, small, big, short = (n,), (m, n), (m, m), (2 * m, 2 * m), (2 * m,)
    return ([(vec, f8)] * 4 + [(vec, i4)] + [(pairs, f8)] * 2 +
            [(small, f8)] * 3 + [((m,), f8)] + [(big, f8)] * 2 +
            [(vec, f8)] * 6 +
            [(vec, i4), (vec, f8)] + [(vec, i4)] * 3 + [(short, f8)] * 5 +
            [((1,), STATE_DTYPE), ((1,), SEARCH_DTYPE)])


_FIELD_INDEX = {name: i for i, name in enumerate(Workspace._fields)}


def new_workspace(n, m, **arrays):
    """Allocate a workspace from Python with numpy (zero pages are mapped
    lazily, so memory the solve never touches costs nothing).  Keyword
    arguments hand over existing arrays for fields (e.g. x, lower, upper,
    bound_type) instead of allocating them."""
    layout = workspace_layout(n, m)
    given = {}
    for name, arr in arrays.items():
        shape, dtype = layout[_FIELD_INDEX[name]]
        if arr.shape != shape or arr.dtype != dtype or \
                not arr.flags.c_contiguous:
            raise ValueError(f"workspace field {name}: expected a "
                             f"C-contiguous {dtype} array of shape {shape}")
        given[_FIELD_INDEX[name]] = arr
    zeros = np.zeros
    return Workspace(*[given[i] if i in given else zeros(shape, dtype)
                       for i, (shape, dtype) in enumerate(layout)])


# ---------------------------------------------------------------------------
# Addresses of the work arrays.  Compiled callers (``compiled._run``) drive
# the solver through ``driver.step_c``, a C-callable function that takes the
# addresses of the work arrays: calling it through a pointer keeps the whole
# solver out of every caller's compilation (a caller that takes the user's
# objective must be compiled anew in each process, since Numba cannot cache
# it), which cuts that compile from seconds to a fraction of a second.
# ---------------------------------------------------------------------------

from numba import carray, types  # noqa: E402
from numba.extending import intrinsic  # noqa: E402
from numba.np.numpy_support import from_dtype  # noqa: E402

N_FIELDS = len(Workspace._fields)
STATE_RECORD = from_dtype(STATE_DTYPE)
SEARCH_RECORD = from_dtype(SEARCH_DTYPE)


def _pointer_cast(target):
    ptr_type = types.CPointer(target)

    @intrinsic
    def cast(typingctx, address):
        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(ptr_type))
        return ptr_type(types.int64), codegen
    return cast


_as_f64 = _pointer_cast(types.float64)
_as_i32 = _pointer_cast(types.int32)
_as_state = _pointer_cast(STATE_RECORD)
_as_search = _pointer_cast(SEARCH_RECORD)


@njit(cache=True, nogil=True)
def workspace_addresses(ws):
    """int64 array of the data addresses of the workspace fields (in
    Workspace order).  The workspace must outlive every use of them."""
    a = np.empty(N_FIELDS, dtype=np.int64)
    i = 0
    for arr in (ws.x, ws.g, ws.lower, ws.upper):
        a[i] = arr.ctypes.data
        i += 1
    a[4] = ws.bound_type.ctypes.data
    a[5] = ws.s_pairs.ctypes.data
    a[6] = ws.y_pairs.ctypes.data
    a[7] = ws.sy.ctypes.data
    a[8] = ws.ss.ctypes.data
    a[9] = ws.t_chol.ctypes.data
    a[10] = ws.sqrt_d.ctypes.data
    a[11] = ws.k_factor.ctypes.data
    a[12] = ws.k_products.ctypes.data
    i = 13
    for arr in (ws.x_cauchy, ws.reduced_grad, ws.direction, ws.x_prev,
                ws.g_prev, ws.breakpoints):
        a[i] = arr.ctypes.data
        i += 1
    a[19] = ws.break_index.ctypes.data
    a[20] = ws.x_saved.ctypes.data
    a[21] = ws.free_active.ctypes.data
    a[22] = ws.where.ctypes.data
    a[23] = ws.changed.ctypes.data
    i = 24
    for arr in (ws.wp, ws.wc, ws.wbp, ws.wv, ws.wm):
        a[i] = arr.ctypes.data
        i += 1
    a[29] = ws.state.ctypes.data
    a[30] = ws.search.ctypes.data
    return a


@njit(cache=True, nogil=True, inline='always')
def workspace_views(a, n, m):
    """The workspace fields as array views of the addresses in ``a``."""
    m2 = 2 * m
    return (carray(_as_f64(a[0]), (n,)), carray(_as_f64(a[1]), (n,)),
            carray(_as_f64(a[2]), (n,)), carray(_as_f64(a[3]), (n,)),
            carray(_as_i32(a[4]), (n,)),
            carray(_as_f64(a[5]), (m, n)), carray(_as_f64(a[6]), (m, n)),
            carray(_as_f64(a[7]), (m, m)), carray(_as_f64(a[8]), (m, m)),
            carray(_as_f64(a[9]), (m, m)), carray(_as_f64(a[10]), (m,)),
            carray(_as_f64(a[11]), (m2, m2)),
            carray(_as_f64(a[12]), (m2, m2)),
            carray(_as_f64(a[13]), (n,)), carray(_as_f64(a[14]), (n,)),
            carray(_as_f64(a[15]), (n,)), carray(_as_f64(a[16]), (n,)),
            carray(_as_f64(a[17]), (n,)), carray(_as_f64(a[18]), (n,)),
            carray(_as_i32(a[19]), (n,)), carray(_as_f64(a[20]), (n,)),
            carray(_as_i32(a[21]), (n,)), carray(_as_i32(a[22]), (n,)),
            carray(_as_i32(a[23]), (n,)),
            carray(_as_f64(a[24]), (m2,)), carray(_as_f64(a[25]), (m2,)),
            carray(_as_f64(a[26]), (m2,)), carray(_as_f64(a[27]), (m2,)),
            carray(_as_f64(a[28]), (m2,)),
            carray(_as_state(a[29]), (1,)), carray(_as_search(a[30]), (1,)))


@njit(cache=True, nogil=True, inline='always')
def evaluation_views(a, n):
    """(x, g, lower, upper, state): the fields a driver loop touches."""
    return (carray(_as_f64(a[0]), (n,)), carray(_as_f64(a[1]), (n,)),
            carray(_as_f64(a[2]), (n,)), carray(_as_f64(a[3]), (n,)),
            carray(_as_state(a[29]), (1,)))
