"""The solver's entry points for compiled callers, as cached C functions
exported under fixed symbol names.

A function that takes the user's objective (a drive loop, a batch row loop,
``njit_minimize``) is compiled anew for every objective, in every process
where the objective is not cached.  Numba compiles a call to another
``@njit`` function by linking that function's LLVM code into the caller and
optimising and generating machine code for the whole again, so a caller that
called the solver directly would pay for compiling the solver (tens of
seconds) each time.  Instead the solver's entries below are ``cfunc``
(compiled once, cached on disk) and registered with LLVM under a symbol
name (``compiled_entries``: on the first use of a compiled path, or when
this module is imported if they are in the cache; ``register_symbols``
for an empty cache); compiled callers declare the symbol and
call it (``c_entry``), like a C library function.  Nothing of this process
(no address) is baked into a caller, so a user's ``@njit(cache=True)``
function that calls the solver stays cacheable: its cached machine code
refers to the symbol by name, resolved when it is loaded in a later process
(after ``import lbfgsb_numba``, which imports this module).

Work buffer of a compiled caller (``workspace_bytes`` bytes, any alignment
of 8): a header with the addresses of the fields (``N_FIELDS`` int64, the
address array of ``driver.step_at``), then the fields as laid out by
``workspace.field_offsets`` (own inputs).  The address of the buffer is the
address of its address array, which is what ``advance`` takes.

Entries (pointers and strides are int64 byte values):

* ``workspace_bytes(n, m)``: size of the buffer;
* ``setup(buf, n, x0, x0_stride, lower, lower_stride, upper,
  upper_stride, options)``: lay out the buffer for n variables and memory
  ``options.m``, zero it, load the problem (strided float64 inputs) and
  initialise the solver with ``options`` (the address of an
  ``options.SolverOptions`` record: ``c_entry`` passes the record itself);
* ``advance(addresses, n, m, f, nfev_used, x_eval, g_eval)``: record an
  evaluation (f, the gradient in ``g_eval``, which may be the workspace's
  own g, ``nfev_used`` objective calls; ``nfev_used < 0``: nothing to
  record), step the solver (on past new iterates: one crossing per
  evaluation), and on FG copy the point to evaluate into ``x_eval``;
  returns the task code (FG or a final code, never NEW_X);
* ``result(addresses, n, m, task, x_out, x_stride, g_out, g_stride,
  info)``: copy x and g out (unless ``x_out`` is 0), put (f, nit, nfev,
  njev, head, col, gradient_length) in ``info`` and return scipy's
  warnflag;
* ``abandon(addresses, n, m, code, gradient_length)``: end the solve with
  task ``code`` when the evaluation it asked for cannot be used (a gradient
  of length ``gradient_length`` != n), back at the last accepted iterate
  (``driver.abandon_evaluation``); returns ``code``.
"""
from __future__ import annotations

import ctypes
import threading

from llvmlite import binding as llvm_binding
from llvmlite import ir
from numba import carray, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .driver import abandon_evaluation, initialize_at, plain_flag, step_at
from .first_use import is_cached, notice_if_cold
from .options import OPTIONS_TYPE
from .precompiled import c_function
from .projection import bound_type_of
from .status import FG, warnflag
from .workspace import (BOUND_TYPE, G, LOWER, N_FIELDS, STATE, UPPER, X,
                        pointer_cast, evaluation_views, field_offsets,
                        workspace_views)

# Bump when an entry's arguments or meaning change: a user's stale cached
# code (Numba checks only the user's own source file) then refers to names
# LLVM cannot resolve, and fails, instead of calling an entry with the
# wrong arguments.
ABI_VERSION = 3
HEADER_BYTES = (N_FIELDS * 8 + 63) // 64 * 64
# ``result``'s summary: (f, nit, nfev, njev, head, col, gradient_length)
INFO_SIZE = 7
INFO_GRADIENT_LENGTH = 6

_as_f64 = pointer_cast(types.float64)
_as_i64 = pointer_cast(types.int64)
_i64, _f64 = types.int64, types.float64


@njit(cache=True, nogil=True)
def load_problem(x0, lower, upper, x, lo, up, nbd):
    """Copy a problem into a workspace's own fields x, lower, upper and set
    the bound types (``projection.bound_type_of``)."""
    for i in range(x0.shape[0]):
        x[i] = x0[i]
        lo[i] = lower[i]
        up[i] = upper[i]
        nbd[i] = bound_type_of(lower[i], upper[i])


@intrinsic
def options_at(typingctx, address):
    """The ``SolverOptions`` record stored at ``address`` (int64; stored
    by ``c_entry`` in Numba's data layout of ``OPTIONS_TYPE``)."""
    if address != _i64:
        return None

    def codegen(context, builder, signature, args):
        model = context.data_model_manager[OPTIONS_TYPE]
        pointer = builder.inttoptr(args[0], model.get_data_type().as_pointer())
        return model.load_from_data_pointer(builder, pointer)
    return OPTIONS_TYPE(_i64), codegen


@njit(cache=True, nogil=True, inline='always')
def _read_strided(dest, address, stride):
    """dest[i] = the float64 at address + i * stride (bytes)."""
    for i in range(dest.shape[0]):
        dest[i] = _as_f64(address + i * stride)[0]


@njit(cache=True, nogil=True, inline='always')
def _write_strided(src, address, stride):
    for i in range(src.shape[0]):
        _as_f64(address + i * stride)[0] = src[i]


@njit(nogil=True, inline='always')
def gradient_field(buf, n):
    """The workspace's own g (n,) in a buffer set up by ``setup`` (its
    address is in the buffer's header): a drive loop that evaluates the
    gradient into it spares ``advance`` the copy from ``g_eval``."""
    return carray(_as_f64(_as_i64(buf.ctypes.data)[G]), (n,))


def workspace_bytes_c(n, m):
    """Bytes of a compiled caller's work buffer for n variables, memory m."""
    return HEADER_BYTES + field_offsets(n, m, True)[1]


def setup_c(buf, n, x0, x0_stride, lower, lower_stride, upper, upper_stride,
            options_address):
    """Lay out, zero and load the buffer at ``buf``; initialise the solver
    with the options at ``options_address``."""
    options = options_at(options_address)
    m = options.m
    offsets, size = field_offsets(n, m, True)
    addresses = carray(_as_i64(buf), (N_FIELDS,))
    for k in range(N_FIELDS):
        addresses[k] = offsets[k] + buf + HEADER_BYTES
    body = carray(_as_f64(buf + HEADER_BYTES), (size // 8,))
    for i in range(body.shape[0]):
        body[i] = 0.0
    ws = workspace_views(addresses, n, m)
    x, lo, up = ws[X], ws[LOWER], ws[UPPER]
    _read_strided(x, x0, x0_stride)
    _read_strided(lo, lower, lower_stride)
    _read_strided(up, upper, upper_stride)
    load_problem(x, lo, up, x, lo, up, ws[BOUND_TYPE])
    initialize_at(addresses, n, options)
    return 0


def advance_c(addresses, n, m, f, nfev_used, x_eval, g_eval):
    """Record an evaluation, step, and hand out the next point to evaluate
    (see the module docstring)."""
    a = carray(_as_i64(addresses), (N_FIELDS,))
    x, g, _, _, state = evaluation_views(a, n)
    if nfev_used >= 0:
        if g_eval != a[G]:
            g_given = carray(_as_f64(g_eval), (n,))
            for i in range(n):
                g[i] = g_given[i]
        st = state[0]
        st.f = f
        st.nfev += nfev_used
        st.njev += 1
    # (no compiled caller acts on a new iterate)
    task = step_at(a, n, m, plain_flag(True))
    if task == FG:
        x_next = carray(_as_f64(x_eval), (n,))
        for i in range(n):
            x_next[i] = x[i]
    return task


def result_c(addresses, n, m, task, x_out, x_stride, g_out, g_stride, info):
    """Copy x and g out of the workspace at ``addresses`` (unless
    ``x_out`` is 0), put (f, nit, nfev, njev, head, col) in ``info`` and
    return the warnflag."""
    ws = workspace_views(carray(_as_i64(addresses), (N_FIELDS,)), n, m)
    if x_out != 0:
        _write_strided(ws[X], x_out, x_stride)
        _write_strided(ws[G], g_out, g_stride)
    st = ws[STATE][0]
    out = carray(_as_f64(info), (INFO_SIZE,))
    out[0] = st.f
    out[1] = st.nit
    out[2] = st.nfev
    out[3] = st.njev
    out[4] = st.head
    out[5] = st.col
    out[6] = st.gradient_length
    return warnflag(task, st.nit, st.nfev, st.maxiter, st.maxfun)


def abandon_c(addresses, n, m, code, gradient_length):
    """End the solve at ``addresses`` with task ``code``: the evaluation it
    asked for gave a gradient of length ``gradient_length`` != n."""
    return abandon_evaluation(carray(_as_i64(addresses), (N_FIELDS,)), n, m,
                              code, gradient_length)


# ------------------------------------------------------------- calling them

@intrinsic
def as_int(typingctx, value):
    """int64 of a float64 holding an integer (``result``'s counts), without
    an overload to compile."""
    if value != _f64:
        return None

    def codegen(context, builder, signature, args):
        return builder.fptosi(args[0], ir.IntType(64))
    return _i64(_f64), codegen


def symbol_name(entry: str) -> str:
    """The exported symbol of an entry (``'advance'`` -> a versioned name)."""
    return f"lbfgsb_numba_{entry}_v{ABI_VERSION}"


def c_entry(entry, restype, argtypes):
    """An intrinsic ``call((arg, ...))`` that calls the exported entry
    ``entry`` by its symbol name.  Its one argument is a tuple of the C
    arguments: integers and floats (converted to the C types
    ``argtypes``), or, where ``argtypes`` says int64, arrays, passed as the
    address of their data (the tuple keeps them alive during the call),
    or a ``SolverOptions`` record, passed as the address of a copy on the
    caller's stack (read by ``options_at``)."""
    name = symbol_name(entry)
    c_types = tuple(argtypes)

    @intrinsic
    def call(typingctx, arguments):
        if not (isinstance(arguments, types.BaseTuple)
                and len(arguments) == len(c_types)):
            return None
        for given, wanted in zip(arguments, c_types):
            if isinstance(given, types.Array) or given == OPTIONS_TYPE:
                if wanted != _i64:
                    return None
            elif not isinstance(given, (types.Integer, types.Float,
                                        types.Boolean)):
                return None

        def codegen(context, builder, signature, args):
            values = cgutils.unpack_tuple(builder, args[0], len(c_types))
            c_args = []
            for given, wanted, value in zip(arguments, c_types, values):
                if isinstance(given, types.Array):
                    data = context.make_array(given)(context, builder,
                                                     value).data
                    c_args.append(builder.ptrtoint(data, ir.IntType(64)))
                elif given == OPTIONS_TYPE:
                    model = context.data_model_manager[OPTIONS_TYPE]
                    copy = cgutils.alloca_once_value(
                        builder, model.as_data(builder, value))
                    c_args.append(builder.ptrtoint(copy, ir.IntType(64)))
                else:
                    c_args.append(context.cast(builder, value, given,
                                               wanted))
            fnty = ir.FunctionType(context.get_value_type(restype),
                                   [context.get_value_type(t)
                                    for t in c_types])
            fn = cgutils.get_or_insert_function(builder.module, fnty, name)
            return builder.call(fn, c_args)
        return restype(arguments), codegen
    return call


def buffer_words(n: int, m: int) -> int:
    """float64 words of a compiled caller's work buffer (from Python)."""
    return (compiled_entries()["workspace_bytes"].ctypes(n, m) + 7) // 8


# entry name -> (plain function, C signature)
_ENTRY_FUNCTIONS = {
    "workspace_bytes": (workspace_bytes_c, _i64(_i64, _i64)),
    "setup": (setup_c, _i64(*(_i64,) * 9)),
    "advance": (advance_c, _i64(_i64, _i64, _i64, _f64, _i64, _i64, _i64)),
    "result": (result_c, _i64(*(_i64,) * 9)),
    "abandon": (abandon_c, _i64(*(_i64,) * 5)),
}
_entries: dict = {}  # entry name -> compiled cfunc, once compiled
_compile_lock = threading.Lock()


def compiled_entries() -> dict:
    """The entries as ``cfunc`` objects by name, compiled (or loaded from
    Numba's cache) on the first call in a process, and registered with LLVM
    under their symbol names.  Called when ``compiled`` is imported (first
    use of a compiled path) and, with an empty cache, by the stand-ins that
    ``register_symbols`` put under the names at import."""
    if not _entries:
        with _compile_lock:
            if not _entries:
                notice_if_cold(*(fn for fn, _ in _ENTRY_FUNCTIONS.values()))
                compiled = {entry: c_function(fn, sig)
                            for entry, (fn, sig) in _ENTRY_FUNCTIONS.items()}
                for entry, fn in compiled.items():
                    llvm_binding.add_symbol(symbol_name(entry), fn.address)
                _entries.update(compiled)
    return _entries


def _forwarding_stand_in(entry: str, sig):
    """A C function (ctypes callback) with ``entry``'s signature that
    compiles the entries (``compiled_entries``) and calls the real one."""
    c_type = {_i64: ctypes.c_int64, _f64: ctypes.c_double}
    prototype = ctypes.CFUNCTYPE(c_type[sig.return_type],
                                 *(c_type[t] for t in sig.args))

    def forward(*args):
        return compiled_entries()[entry].ctypes(*args)
    return prototype(forward)


_stand_ins: list = []  # kept alive: their addresses are registered


def register_symbols():
    """Make every entry's symbol resolvable by LLVM in this process (done
    at import, before any caller's code is compiled or loaded).

    With the entries in Numba's cache they are loaded (a few ms) and their
    own addresses registered.  With an empty cache nothing is compiled
    here (a Python-objective solve never needs the entries): the names get
    stand-ins that compile the entries on their first call and forward to
    them, so that a user's cached code loaded before anything compiled the
    entries still links (its calls then pass through Python, in this
    process only); the compiled paths compile the entries when ``compiled``
    is imported, which puts the real addresses under the names for all code
    linked later."""
    if all(is_cached(fn) for fn, _ in _ENTRY_FUNCTIONS.values()):
        compiled_entries()
        return
    for entry, (_, sig) in _ENTRY_FUNCTIONS.items():
        stand_in = _forwarding_stand_in(entry, sig)
        _stand_ins.append(stand_in)
        llvm_binding.add_symbol(symbol_name(entry),
                                ctypes.cast(stand_in, ctypes.c_void_p).value)


register_symbols()

# the callers' side of each entry, with the C signature of its table row
(workspace_bytes, setup, advance, result,
 abandon) = (c_entry(entry, sig.return_type, sig.args)
             for entry in ("workspace_bytes", "setup", "advance", "result",
                           "abandon")
             for sig in (_ENTRY_FUNCTIONS[entry][1],))
