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

Every field is declared once, in ``FIELDS`` (name, shape, dtype, what it
holds); the ``Workspace`` record, the field indices, the offsets, the shapes,
the Python views and the compiled views are all derived from that table.
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
    # f at x, f at the start of the line search, ||P(x - g) - x||_inf at x
    ("f", np.float64), ("f_old", np.float64), ("pg_norm", np.float64),
    # limited-memory matrix: theta, the number of stored pairs ``col``, the
    # slots of the oldest (``head``) and newest pair, the pairs stored since
    # the memory was last dropped, whether the last step stored a pair, and
    # the pairs skipped (s'y too small)
    ("theta", np.float64), ("col", np.int64), ("head", np.int64),
    ("newest", np.int64), ("n_updates", np.int64), ("updated", np.int64),
    ("n_skipped", np.int64),
    # box information: any bound at all, both bounds on every variable
    ("constrained", np.int64), ("boxed", np.int64),
    # free set at the Cauchy point: free variables, variables entering it
    # (``changed[:n_entering]``) and leaving it (``changed[leaving_start:]``)
    # since the previous iteration; whether B is the dense n x n matrix,
    # whether K changed, and whether K's inner products and factor are out
    # of date
    ("nfree", np.int64), ("n_entering", np.int64),
    ("leaving_start", np.int64),
    ("dense", np.int64), ("refactor", np.int64),
    ("k_products_stale", np.int64), ("k_factor_stale", np.int64),
    # whether the subspace step was cut by a bound (1), not (0), or not
    # taken (-1); iterations begun (0 only before the first one)
    ("newton_clipped", np.int64), ("iter", np.int64),
    # line search: g'd at the trial point and at its start, step length and
    # its bound, d'd, trial points evaluated in this search
    ("gd", np.float64), ("gd_old", np.float64), ("stp", np.float64),
    ("stp_max", np.float64), ("dtd", np.float64), ("n_trials", np.int64),
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

# bounded problems with at most this many variables may keep the
# quasi-Newton matrix B as a dense n x n matrix (``dense_model.use_dense``)
DENSE_MAX_N = 16

# Shape rules of the fields (n variables, m = maximum number of stored
# correction pairs, nd = n if n <= DENSE_MAX_N else 0):
_SHAPE_RULES = ("n", "m n", "m m", "2m 2m", "2m", "1", "nd nd", "nd")

F8, I4 = np.dtype(np.float64), np.dtype(np.int32)

Field = namedtuple("Field", ["name", "shape", "dtype", "holds"])

FIELDS = tuple(Field(*row) for row in (
    # The one declaration of every field, in buffer order.
    ("x", "n", F8, "current point (trial point while searching)"),
    ("g", "n", F8, "gradient at x"),
    ("lower", "n", F8, "lower bounds (-inf where missing)"),
    ("upper", "n", F8, "upper bounds (+inf where missing)"),
    ("bound_type", "n", I4, "0 none, 1 lower, 2 both, 3 upper"),
    ("s_pairs", "m n", F8, "ring buffer of s_k = x_{k+1} - x_k; row "
     "``head`` is the oldest"),
    ("y_pairs", "m n", F8, "ring buffer of y_k = g_{k+1} - g_k"),
    ("sy", "m m", F8, "S'Y (strictly lower part L, diagonal D, upper "
     "triangle R)"),
    ("ss", "m m", F8, "S'S (upper triangle)"),
    ("yy", "m m", F8, "Y'Y (lower triangle)"),
    ("t_chol", "m m", F8, "Cholesky factor J' of T = theta S'S + "
     "L D^-1 L' (upper triangle)"),
    ("d_scaling", "2m", F8, "D^-1/2 in [:m] and D^-1 in [m:], "
     "D = diag(s_i'y_i) in pair order"),
    ("k_factor", "2m 2m", F8, "factor of the subspace matrix K (upper)"),
    ("k_products", "2m 2m", F8, "inner products Y'ZZ'Y, S'AA'S, L_a + R_z "
     "kept between iterations to update K"),
    ("x_cauchy", "n", F8, "generalized Cauchy point, then the subspace "
     "minimiser (the step target)"),
    ("reduced_grad", "n", F8, "reduced gradient of the model at the Cauchy "
     "point over the free variables"),
    ("direction", "n", F8, "search direction d = x_cauchy - x"),
    ("x_prev", "n", F8, "iterate at the start of the line search"),
    ("g_prev", "n", F8, "gradient at x_prev"),
    ("breakpoints", "n", F8, "breakpoints t_i of the projected path"),
    ("break_index", "n", I4, "variable of each breakpoint (heap order)"),
    ("free_active", "n", I4, "free variables first, active last"),
    ("where", "n", I4, "status of each variable at the Cauchy point "
     "(``projection``'s codes)"),
    ("changed", "n", I4, "variables entering (head) and leaving (tail) "
     "the free set"),
    ("wt_direction", "2m", F8, "W'd along the Cauchy path (p in Byrd et al. "
     "1995)"),
    ("wt_cauchy_step", "2m", F8, "W'(x_cauchy - x) (c in Byrd et al. 1995)"),
    ("w_row", "2m", F8, "the row of W of the variable at a breakpoint"),
    ("scratch_2m", "2m", F8, "M or K^-1 times a 2m-vector (scratch)"),
    ("m_wt_cauchy_step", "2m", F8, "M W'(x_cauchy - x), for the reduced "
     "gradient"),
    ("state", "1", STATE_DTYPE, "scalars of the driver (STATE_DTYPE)"),
    ("search", "1", SEARCH_DTYPE, "scalars of the More-Thuente search "
     "(SEARCH_DTYPE)"),
    ("b_dense", "nd nd", F8, "B itself for small bounded problems"),
    ("b_times_d", "nd", F8, "B d along the Cauchy path (dense B)"),
    ("b_times_z", "nd", F8, "B (x(t) - x) along the Cauchy path (dense B)"),
    ("free_chol", "nd nd", F8, "Cholesky factor of Z'BZ (dense B)"),
))

Workspace = namedtuple("Workspace", [f.name for f in FIELDS])
Workspace.__doc__ = """The work arrays of one solve as named arrays (numpy
views of the buffer; ``workspace_arrays``), for Python-side use; fields as
in ``FIELDS``."""

N_FIELDS = len(FIELDS)
# field indices (positions in FIELDS, Workspace and the address array)
(X, G, LOWER, UPPER, BOUND_TYPE, S_PAIRS, Y_PAIRS, SY, SS, YY, T_CHOL,
 D_SCALING, K_FACTOR, K_PRODUCTS, X_CAUCHY, REDUCED_GRAD, DIRECTION, X_PREV,
 G_PREV, BREAKPOINTS, BREAK_INDEX, FREE_ACTIVE, WHERE, CHANGED, WT_DIRECTION,
 WT_CAUCHY_STEP, W_ROW, SCRATCH_2M, M_WT_CAUCHY_STEP, STATE, SEARCH, B_DENSE,
 B_TIMES_D, B_TIMES_Z, FREE_CHOL) = range(N_FIELDS)


def _check_table():
    """The index constants above name the rows of FIELDS in order."""
    for k, field in enumerate(FIELDS):
        if globals().get(field.name.upper()) != k:
            raise ImportError(f"workspace: index constant of field "
                              f"{field.name!r} is not {k}")
        if field.shape not in _SHAPE_RULES:
            raise ImportError(f"workspace: field {field.name!r} has unknown "
                              f"shape rule {field.shape!r}")


_check_table()

STATE_RECORD = from_dtype(STATE_DTYPE)
SEARCH_RECORD = from_dtype(SEARCH_DTYPE)

_DTYPES = (F8, I4, STATE_DTYPE, SEARCH_DTYPE)
# per field: its shape rule and its dtype as codes (for compiled code)
_FIELD_SHAPE = np.array([_SHAPE_RULES.index(f.shape) for f in FIELDS],
                        dtype=np.int64)
_FIELD_KIND = np.array([_DTYPES.index(f.dtype) for f in FIELDS],
                       dtype=np.int64)
_KIND_BYTES = np.array([d.itemsize for d in _DTYPES], dtype=np.int64)
_VEC, _PAIRS, _SMALL, _BIG, _SHORT, _ONE, _DENSE, _DVEC = range(
    len(_SHAPE_RULES))
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


def field_shape(k, n, m):
    """The shape of field k for n variables and memory m."""
    nd = n if n <= DENSE_MAX_N else 0
    sizes = {"n": n, "m": m, "2m": 2 * m, "nd": nd, "1": 1}
    return tuple(sizes[part] for part in FIELDS[k].shape.split())


def field_dtype(k):
    """The dtype of field k: float64, int32, or the state or search
    record."""
    return FIELDS[k].dtype


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


_CASTS = {F8: pointer_cast(types.float64), I4: pointer_cast(types.int32),
          STATE_DTYPE: pointer_cast(STATE_RECORD),
          SEARCH_DTYPE: pointer_cast(SEARCH_RECORD)}


def _compiled_views(name, arguments, indices, doc):
    """An inline @njit function ``name(arguments)`` (``a, n, m`` or
    ``a, n``) returning the fields
    ``indices`` as ``carray`` views on the addresses in ``a``, with the
    shapes and dtypes of ``FIELDS`` (its source is generated from the
    table, so it cannot drift from it)."""
    sizes = {"n": "n", "m": "m", "2m": "m2", "nd": "nd", "1": "1"}
    casts = {dtype: f"_cast{i}" for i, dtype in enumerate(_CASTS)}
    views = []
    for k in indices:
        field = FIELDS[k]
        shape = ", ".join(sizes[p] for p in field.shape.split())
        views.append(f"carray({casts[field.dtype]}(a[{k}]), ({shape},)),"
                     f"  # {field.name}")
    source = "\n".join(
        [f"def {name}({arguments}):"] +
        (["    m2 = 2 * m", "    nd = n if n <= DENSE_MAX_N else 0"]
         if "m" in arguments.split(", ") else []) +
        ["    return ("] + [f"        {v}" for v in views] + ["    )"])
    namespace = {"carray": carray, "DENSE_MAX_N": DENSE_MAX_N}
    namespace.update({casts[d]: cast for d, cast in _CASTS.items()})
    # compiled as code of this file, whose table it comes from: Numba's
    # disk cache of it then follows this file (and its bytecode)
    exec(compile(source, __file__, "exec"), namespace)
    function = namespace[name]
    function.__doc__ = doc
    function.__module__ = __name__
    return njit(cache=True, nogil=True, inline='always')(function)


workspace_views = _compiled_views(
    "workspace_views", "a, n, m", range(N_FIELDS),
    """The workspace fields as arrays on the addresses in ``a`` (a tuple
    in Workspace order), for n variables and memory m.""")

evaluation_views = _compiled_views(
    "evaluation_views", "a, n", (X, G, LOWER, UPPER, STATE),
    """(x, g, lower, upper, state): the fields a driver loop touches.""")
