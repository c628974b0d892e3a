"""Work arrays of one L-BFGS-B solve, allocated once per solve.

Everything the algorithm keeps between two calls of the driver lives here, so
that the driver can be re-entered (reverse communication) and so that many
solves can run side by side (one workspace each, no global state).

The named arrays below are laid out in one zeroed buffer (one allocation per
solve; ``field_offsets``), and the solver is driven through the addresses of
the fields (``workspace_views`` turns them back into the named arrays inside
compiled code).  Passing one small array of addresses is what makes every
crossing into the solver cheap, from Python and from compiled callers that
reach it through a function pointer.  The problem's own arrays (x, lower,
upper, bound_type) may live outside the buffer: the caller's copies are then
used in place (no O(n) copies for large n).

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
sy                        (m, m)       S'Y (strictly lower part = L, diag = D,
                                       upper triangle = R)
ss                        (m, m)       S'S (upper triangle)
yy                        (m, m)       Y'Y (lower triangle)
t_chol                    (m, m)       Cholesky factor J' of T = theta S'S +
                                       L D^-1 L' (upper triangle)
d_scaling                 (2m,)        D^-1/2 in [:m] and D^-1 in [m:], for
                                       D = diag(s_i'y_i) in pair order
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
free_active               (n,) int32   free variables first, active last
where                     (n,) int32   status of each variable at the GCP
changed                   (n,) int32   variables entering (head) and leaving
                                       (tail) the free set
wp, wc, wbp, wv, wm       (2m,)        W'd, W'(xcp-x), a row of W, and two
                                       products with the middle matrix M
state                     (1,) record  scalars of the driver (see STATE_DTYPE)
search                    (1,) record  scalars of the More-Thuente search
b_dense                   (n, n)       B itself for small bounded problems
                                       (n <= DENSE_MAX_N; else empty)
b_times_d, b_times_z      (n,)         B d and B (x(t) - x) along the Cauchy
                                       path (idem)
free_chol                 (n, n)       Cholesky factor of Z'BZ (idem)
========================  ===========  ==========================================
"""
from collections import namedtuple

import numpy as np
from numba import carray, njit, types
from numba.extending import intrinsic
from numba.np.numpy_support import from_dtype

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
    ("dense", np.int64), ("refactor", np.int64),
    ("k_products_stale", np.int64),
    ("k_factor_stale", np.int64), ("nseg", np.int64), ("nintol", np.int64),
    ("iword", np.int64), ("iter", np.int64),
    # line search
    ("gd", np.float64), ("gd_old", np.float64), ("stp", np.float64),
    ("stp_max", np.float64), ("dnorm", np.float64), ("dtd", np.float64),
    ("ifun", np.int64), ("iback", np.int64), ("nfgv", np.int64),
    ("x_is_last_eval", np.int64), ("nonfinite_trial", np.int64),
    # length of a gradient that was not n (compiled paths; 0 otherwise)
    ("gradient_length", np.int64),
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
    "s_pairs", "y_pairs", "sy", "ss", "yy", "t_chol", "d_scaling", "k_factor",
    "k_products",
    "x_cauchy", "reduced_grad", "direction", "x_prev", "g_prev",
    "breakpoints", "break_index", "free_active", "where",
    "changed", "wp", "wc", "wbp", "wv", "wm", "state", "search", "b_dense",
    "b_times_d", "b_times_z", "free_chol",
])
Workspace.__doc__ = """The work arrays of one solve as named arrays (numpy
views of the buffer; ``workspace_arrays``), for Python-side use."""

N_FIELDS = len(Workspace._fields)
# field indices (positions in Workspace and in the address array)
(X, G, LOWER, UPPER, BOUND_TYPE, S_PAIRS, Y_PAIRS, SY, SS, YY, T_CHOL,
 D_SCALING, K_FACTOR, K_PRODUCTS, X_CAUCHY, REDUCED_GRAD, DIRECTION, X_PREV,
 G_PREV, BREAKPOINTS, BREAK_INDEX, FREE_ACTIVE, WHERE, CHANGED, WP, WC, WBP,
 WV, WM, STATE, SEARCH, B_DENSE, B_TIMES_D, B_TIMES_Z,
 FREE_CHOL) = range(N_FIELDS)
# bounded problems with at most this many variables may keep the
# quasi-Newton matrix B as a dense n x n matrix (``dense_model.use_dense``)
DENSE_MAX_N = 16
STATE_RECORD = from_dtype(STATE_DTYPE)
SEARCH_RECORD = from_dtype(SEARCH_DTYPE)

# Shape of each field: (n,), (m, n), (m, m), (2m, 2m), (2m,), (1,), and
# (n, n) and (n,) for small n, else (0, 0) and (0,); its dtype: float64,
# int32, the state or the search record.
_VEC, _PAIRS, _SMALL, _BIG, _SHORT, _ONE, _DENSE, _DVEC = range(8)
_F8, _I4, _STATE, _SEARCH = range(4)
_FIELD_SHAPE = np.array(
    [_VEC] * 4 + [_VEC] + [_PAIRS] * 2 + [_SMALL] * 4 + [_SHORT] +
    [_BIG] * 2 + [_VEC] * 6 + [_VEC] * 4 + [_SHORT] * 5 + [_ONE] * 2 +
    [_DENSE] + [_DVEC] * 2 + [_DENSE], dtype=np.int64)
_FIELD_KIND = np.array(
    [_F8] * 4 + [_I4] + [_F8] * 2 + [_F8] * 4 + [_F8] + [_F8] * 2 +
    [_F8] * 6 + [_I4] * 4 + [_F8] * 5 + [_STATE, _SEARCH] + [_F8] * 4,
    dtype=np.int64)
_KIND_BYTES = np.array([8, 4, STATE_DTYPE.itemsize, SEARCH_DTYPE.itemsize],
                       dtype=np.int64)
_KIND_DTYPES = (np.dtype(np.float64), np.dtype(np.int32), STATE_DTYPE,
                SEARCH_DTYPE)
# the problem's own arrays, which may live outside the buffer
INPUT_FIELDS = (X, LOWER, UPPER, BOUND_TYPE)
_IS_INPUT = np.zeros(N_FIELDS, dtype=np.bool_)
_IS_INPUT[list(INPUT_FIELDS)] = True
_ALIGN = 64


@njit(cache=True, nogil=True, inline='always')
def _field_count(shape_code, n, m):
    if shape_code == _VEC:
        return n
    if shape_code == _PAIRS:
        return m * n
    if shape_code == _SMALL:
        return m * m
    if shape_code == _BIG:
        return 4 * m * m
    if shape_code == _SHORT:
        return 2 * m
    if shape_code == _DENSE:
        return n * n if n <= DENSE_MAX_N else 0
    if shape_code == _DVEC:
        return n if n <= DENSE_MAX_N else 0
    return 1


@njit(cache=True, nogil=True)
def field_offsets(n, m, own_inputs):
    """(byte offset of every field in the buffer, buffer size in bytes) for
    n variables and memory m; fields are 64-byte aligned.  Without
    ``own_inputs`` the problem's arrays (INPUT_FIELDS) take no room (their
    offset is -1).

    Memory: (2m + 11) n doubles + 5n int32 + O(m^2) with own inputs, 3n
    doubles and n int32 fewer without.
    """
    offsets = np.empty(N_FIELDS, dtype=np.int64)
    pos = 0
    for k in range(N_FIELDS):
        if _IS_INPUT[k] and not own_inputs:
            offsets[k] = -1
            continue
        offsets[k] = pos
        size = _KIND_BYTES[_FIELD_KIND[k]] * _field_count(_FIELD_SHAPE[k], n,
                                                           m)
        pos += (size + _ALIGN - 1) // _ALIGN * _ALIGN
    return offsets, max(pos, _ALIGN)


@njit(cache=True, nogil=True)
def allocate(n, m):
    """A zeroed buffer (float64 array) holding every field, and the int64
    array of the fields' addresses.  The buffer must outlive every use of
    the addresses (keep a reference to it)."""
    offsets, size = field_offsets(n, m, True)
    buf = np.zeros(size // 8)
    addresses = offsets + np.int64(buf.ctypes.data)  # int64, not float
    return buf, addresses


Layout = namedtuple("Layout", ["offsets", "size", "index"])
Layout.__doc__ = """Buffer layout for (n, m): byte ``offsets`` of the fields
(int64 array, -1 for problem arrays used in place), buffer ``size`` in
bytes, and ``index``: each field's position in the buffer seen as a float64
array (a list, for fast slicing in Python)."""

_LAYOUTS: dict = {}


def layout(n: int, m: int, own_inputs: bool) -> Layout:
    """``field_offsets`` for Python callers (cached)."""
    key = (n, m, own_inputs)
    lay = _LAYOUTS.get(key)
    if lay is None:
        offsets, size = field_offsets(n, m, own_inputs)
        lay = Layout(offsets, int(size), [int(o) // 8 for o in offsets])
        if len(_LAYOUTS) > 256:
            _LAYOUTS.clear()
        _LAYOUTS[key] = lay
    return lay


STATE_WORDS = STATE_DTYPE.itemsize // 8


def float_field(buf, lay, k, count):
    """The float64 field k (count values) of a buffer laid out by ``lay``,
    as a view."""
    i = lay.index[k]
    return buf[i:i + count]


def state_of(buf, lay):
    """The state record of a buffer laid out by ``lay``, as a (1,) view."""
    i = lay.index[STATE]
    return buf[i:i + STATE_WORDS].view(STATE_DTYPE)


def new_buffer(n, m, x=None, lower=None, upper=None, bound_type=None):
    """Python-side ``allocate``: (buffer, addresses).  With x, lower, upper
    and bound_type given (C-contiguous float64, and int32 for bound_type, of
    length n) these arrays are used in place instead of buffer fields."""
    own = x is None
    offsets, size, _ = layout(n, m, own)
    buf = np.zeros(size // 8)
    addresses = offsets + buf.__array_interface__["data"][0]
    if not own:
        for k, arr, dtype in ((0, x, np.float64), (2, lower, np.float64),
                              (3, upper, np.float64),
                              (4, bound_type, np.int32)):
            if (arr.dtype != dtype or arr.shape != (n,) or
                    not arr.flags.c_contiguous):
                raise ValueError(f"workspace field {Workspace._fields[k]}: "
                                 f"expected a C-contiguous {np.dtype(dtype)} "
                                 f"array of shape ({n},)")
            addresses[k] = arr.__array_interface__["data"][0]
    return buf, addresses


def field_shape(k, n, m):
    code = int(_FIELD_SHAPE[k])
    nd = n if n <= DENSE_MAX_N else 0
    return {_VEC: (n,), _PAIRS: (m, n), _SMALL: (m, m),
            _BIG: (2 * m, 2 * m), _SHORT: (2 * m,), _ONE: (1,),
            _DENSE: (nd, nd), _DVEC: (nd,)}[code]


def field_dtype(k):
    """The dtype of field k: float64, int32, or the state or search
    record."""
    return _KIND_DTYPES[int(_FIELD_KIND[k])]


def field_view(buf, addresses, k, n, m):
    """Numpy view of field k (a Workspace field index) inside ``buf``."""
    dtype = field_dtype(k)
    shape = field_shape(k, n, m)
    offset = int(addresses[k]) - buf.__array_interface__["data"][0]
    count = int(np.prod(shape))
    return np.frombuffer(buf, dtype=dtype, count=count,
                         offset=offset).reshape(shape)


def workspace_arrays(buf, addresses, n, m, inputs=None):
    """The fields as a Workspace of numpy views of ``buf`` (``inputs``: the
    arrays (x, lower, upper, bound_type) used in place, if any)."""
    arrays = []
    for k in range(N_FIELDS):
        if inputs is not None and k in INPUT_FIELDS:
            arrays.append(inputs[INPUT_FIELDS.index(k)])
        else:
            arrays.append(field_view(buf, addresses, k, n, m))
    return Workspace(*arrays)


def new_workspace(n, m):
    """A zeroed workspace as named numpy arrays (for Python-side use and
    tests); returns (Workspace, buffer, addresses)."""
    buf, addresses = new_buffer(n, m)
    return workspace_arrays(buf, addresses, n, m), buf, addresses


# ---------------------------------------------------------------------------
# From addresses back to named arrays, in compiled code.
# ---------------------------------------------------------------------------


def pointer_cast(target):
    """An intrinsic turning an int64 address into a pointer to ``target``
    (a Numba type), for ``carray`` views of the work buffer's fields."""
    ptr_type = types.CPointer(target)

    @intrinsic
    def cast(typingctx, address):
        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(ptr_type))
        return ptr_type(types.int64), codegen
    return cast


_as_f64 = pointer_cast(types.float64)
_as_i32 = pointer_cast(types.int32)
_as_state = pointer_cast(STATE_RECORD)
_as_search = pointer_cast(SEARCH_RECORD)


@njit(cache=True, nogil=True, inline='always')
def workspace_views(a, n, m):
    """The workspace fields as arrays on the addresses in ``a`` (in
    Workspace order)."""
    m2 = 2 * m
    nd = n if n <= DENSE_MAX_N else 0
    return (carray(_as_f64(a[X]), (n,)), carray(_as_f64(a[G]), (n,)),
            carray(_as_f64(a[LOWER]), (n,)), carray(_as_f64(a[UPPER]), (n,)),
            carray(_as_i32(a[BOUND_TYPE]), (n,)),
            carray(_as_f64(a[S_PAIRS]), (m, n)),
            carray(_as_f64(a[Y_PAIRS]), (m, n)),
            carray(_as_f64(a[SY]), (m, m)), carray(_as_f64(a[SS]), (m, m)),
            carray(_as_f64(a[YY]), (m, m)), carray(_as_f64(a[T_CHOL]), (m, m)),
            carray(_as_f64(a[D_SCALING]), (m2,)),
            carray(_as_f64(a[K_FACTOR]), (m2, m2)),
            carray(_as_f64(a[K_PRODUCTS]), (m2, m2)),
            carray(_as_f64(a[X_CAUCHY]), (n,)),
            carray(_as_f64(a[REDUCED_GRAD]), (n,)),
            carray(_as_f64(a[DIRECTION]), (n,)),
            carray(_as_f64(a[X_PREV]), (n,)), carray(_as_f64(a[G_PREV]), (n,)),
            carray(_as_f64(a[BREAKPOINTS]), (n,)),
            carray(_as_i32(a[BREAK_INDEX]), (n,)),
            carray(_as_i32(a[FREE_ACTIVE]), (n,)),
            carray(_as_i32(a[WHERE]), (n,)), carray(_as_i32(a[CHANGED]), (n,)),
            carray(_as_f64(a[WP]), (m2,)), carray(_as_f64(a[WC]), (m2,)),
            carray(_as_f64(a[WBP]), (m2,)), carray(_as_f64(a[WV]), (m2,)),
            carray(_as_f64(a[WM]), (m2,)),
            carray(_as_state(a[STATE]), (1,)),
            carray(_as_search(a[SEARCH]), (1,)),
            carray(_as_f64(a[B_DENSE]), (nd, nd)),
            carray(_as_f64(a[B_TIMES_D]), (nd,)),
            carray(_as_f64(a[B_TIMES_Z]), (nd,)),
            carray(_as_f64(a[FREE_CHOL]), (nd, nd)))


@njit(cache=True, nogil=True, inline='always')
def evaluation_views(a, n):
    """(x, g, lower, upper, state): the fields a driver loop touches."""
    return (carray(_as_f64(a[X]), (n,)), carray(_as_f64(a[G]), (n,)),
            carray(_as_f64(a[LOWER]), (n,)), carray(_as_f64(a[UPPER]), (n,)),
            carray(_as_state(a[STATE]), (1,)))
