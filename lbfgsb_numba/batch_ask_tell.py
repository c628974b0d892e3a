"""Ask/tell for a batch of k independent bound-constrained problems.

The caller evaluates the objective, the solver only asks for points and is
told f and g (reverse communication, as in the L-BFGS-B driver itself:
Byrd, Lu, Nocedal & Zhu 1995; Zhu et al., ACM TOMS 23(4) 1997)::

    b = BatchSolver(x0, bounds)              # x0 (k, n)
    while not b.done:
        idx, X = b.ask()                     # X (len(idx), n): rows idx
        F, G = my_vectorised_objective(X)    # F (len(idx),), G (len(idx), n)
        b.tell(F, G)
    res = b.result()                         # BatchResult, as minimize_batch

Every problem keeps its own work arrays: the k workspaces are rows of one
buffer of shape (k, row words), allocated once, each row laid out like
``workspace.field_offsets`` without the fields that no problem of the batch
uses (``row_layout``) and driven through the addresses of its fields
(``driver.step_at``).  ``tell`` is one compiled call for the whole batch:
for each problem just evaluated it stores f and g, advances the driver to
its next evaluation or to its end, and gathers the next points (while it
prefetches the next problem's row); nothing is allocated per round in
compiled code.  Each problem takes exactly the
iterates, nit, nfev and message of solving it alone with ``minimize``,
whatever the others do; a NaN or inf ends only its own problem (with the
status the single solve would give).
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any, Callable, Optional

import numpy as np
from llvmlite import ir
from llvmlite.binding import llvm_version_info
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import status as _status
from .solve import entry_point
from .compiled import load_problem
from .dense_model import use_dense
from .driver import (PHASE_FIRST_FG, PHASE_SEARCH, initialize_at, plain_flag,
                     step_at)
from .hess_inv import LbfgsInvHessProduct
from .options import (FTOL, GTOL, MAXCOR, MAXFUN, MAXITER, MAXLS,
                      solver_options)
from .result import BatchResult
from .status import FG, NEW_X, warnflag
from .workspace import (BOUND_TYPE, G_PREV, K_FACTOR, K_PRODUCTS, LOWER,
                        M_WT_CAUCHY_STEP, N_FIELDS, S_PAIRS, SCRATCH_2M, SS,
                        STATE, STATE_DTYPE, SY, T_CHOL, UPPER, W_ROW,
                        WT_CAUCHY_STEP, WT_DIRECTION, X, X_PREV, Y_PAIRS, YY,
                        evaluation_views, layout, workspace_views)
from .precompiled import attach

RUNNING = 0  # task code of a problem that still needs evaluations
RUNNING_MESSAGE = "RUNNING: THE PROBLEM STILL NEEDS EVALUATIONS"

__all__ = ["BatchSolver"]


# ---------------------------------------------------------------- kernels

@njit(cache=True, nogil=True)
def _start_batch(addresses, x0, lower, upper, options, rows, points):
    """Load problem i (x0[i], lower[i], upper[i]) into the workspace at
    addresses[i], initialise it with ``options`` (a ``SolverOptions``) and
    take its first step (which asks for f and g at x0 clipped into the
    box); rows = 0..k-1 and points[i] = that point."""
    k, n = x0.shape
    m = options.m
    for i in range(k):
        a = addresses[i]
        ws = workspace_views(a, n, m)
        x = ws[X]
        load_problem(x0[i], lower[i], upper[i], x, ws[LOWER], ws[UPPER],
                     ws[BOUND_TYPE])
        initialize_at(a, n, options)
        step_at(a, n, m, plain_flag(False))  # START -> FG
        rows[i] = i
        for j in range(n):
            points[i, j] = x[j]


@njit(cache=True, nogil=True, inline='always')
def _receive_and_advance(a, n, m, f, gradient, evaluated, pause_at_new_x):
    """Problem at addresses ``a``: with ``evaluated`` store f and its
    gradient (one evaluation), then step it until it asks for f and g (FG),
    finishes (its final code) or, with ``pause_at_new_x``, accepts a new
    iterate (NEW_X)."""
    if evaluated:
        x, g, lower, upper, state = evaluation_views(a, n)
        st = state[0]
        st.f = f
        for q in range(n):
            g[q] = gradient[q]
        st.nfev += 1
        st.njev += 1
    return step_at(a, n, m, not pause_at_new_x)


# llvm.prefetch's name: opaque pointers from LLVM 15 on
_PREFETCH = ("llvm.prefetch.p0" if llvm_version_info >= (15,)
             else "llvm.prefetch.p0i8")


@intrinsic
def _prefetch(typingctx, address):
    """Hint the processor to load the cache line at ``address`` (int64)."""
    def codegen(context, builder, signature, args):
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(),
                                            [i8p, i32, i32, i32]),
            _PREFETCH)
        ptr = builder.inttoptr(args[0], i8p)
        builder.call(fn, [ptr, i32(1), i32(3), i32(1)])
        return context.get_dummy_value()
    return types.void(types.int64), codegen


@njit(cache=True, nogil=True, inline='always')
def _prefetch_row(addresses, i, row_bytes):
    """Start loading problem i's workspace row (it follows its x field)."""
    start = addresses[i, X]
    for offset in range(0, row_bytes, 64):
        _prefetch(start + offset)


@njit(cache=True, nogil=True, inline='always')
def _copy_x(a, n, points, row):
    x = evaluation_views(a, n)[0]
    for q in range(n):
        points[row, q] = x[q]


@njit(cache=True, nogil=True)
def _tell_batch(addresses, n, m, rows, count, f_values, gradients, evaluated,
                pause_at_new_x, next_rows, next_count, points, paused,
                tasks):
    """Advance the problems ``rows[:count]``.

    With ``evaluated``, problem rows[j] first receives f_values[j] and
    gradients[j] (one evaluation).  Each problem is then stepped until it
    asks for f and g (its row goes to next_rows[next_count], its point to
    points[next_count]; next_count grows) or finishes (tasks[row] = its
    final code).  With ``pause_at_new_x`` a problem that accepts a new
    iterate stops there instead and goes to ``paused``.  ``next_rows`` may
    be ``rows`` itself (in-place compaction keeps the order).
    Returns (next_count, number paused)."""
    n_paused = 0
    row_bytes = addresses[min(1, addresses.shape[0] - 1), X] - addresses[0, X]
    for j in range(count):
        i = rows[j]
        a = addresses[i]
        if j + 1 < count:
            _prefetch_row(addresses, rows[j + 1], row_bytes)
        task = _receive_and_advance(a, n, m, f_values[j], gradients[j],
                                    evaluated, pause_at_new_x)
        if task == FG:
            next_rows[next_count] = i
            _copy_x(a, n, points, next_count)
            next_count += 1
        elif task == NEW_X:
            paused[n_paused] = i
            n_paused += 1
        else:
            tasks[i] = task
    return next_count, n_paused


@njit(cache=True, nogil=True)
def _collect_batch(addresses, n, x_out, f_out, g_out, nit_out, nfev_out):
    """Every problem's current answer: the final one if it has finished,
    else its last accepted iterate (f = NaN before the first evaluation)."""
    for i in range(addresses.shape[0]):
        a = addresses[i]
        x, g, lower, upper, state = evaluation_views(a, n)
        st = state[0]
        f = st.f
        xs, gs = x, g
        if st.phase == PHASE_SEARCH:
            ws = workspace_views(a, n, 1)  # x_prev, g_prev do not depend on m
            xs, gs, f = ws[X_PREV], ws[G_PREV], st.f_old
        for q in range(n):
            x_out[i, q] = xs[q]
            g_out[i, q] = gs[q] if st.phase != PHASE_FIRST_FG else np.nan
        f_out[i] = f if st.phase != PHASE_FIRST_FG else np.nan
        nit_out[i] = st.nit
        nfev_out[i] = st.nfev


@njit(cache=True, nogil=True)
def _status_of(tasks, nit, nfev, options, status_out):
    for i in range(tasks.shape[0]):
        status_out[i] = (2 if tasks[i] == RUNNING else
                         warnflag(tasks[i], nit[i], nfev[i], options.maxiter,
                                  options.maxfun))


# ------------------------------------------------------------- the object

def as_batch_x0(x0: Any) -> np.ndarray:
    """x0 as a new C-contiguous float64 array of shape (k, n), k, n >= 1;
    TypeError if not real numbers, ValueError if not 2-d or not finite."""
    try:
        arr = np.asarray(x0)
    except Exception as exc:  # ragged sequences and the like
        raise TypeError(f"x0 must be an array of real numbers ({exc})") \
            from None
    if np.iscomplexobj(arr) or not (np.issubdtype(arr.dtype, np.number) or
                                    arr.dtype == bool):
        raise TypeError(f"x0 must be real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"x0 must have shape (k, n) with k, n >= 1, got "
                         f"{arr.shape}")
    arr = np.array(arr, dtype=np.float64, order="C")
    if not np.isfinite(arr).all():
        row = int(np.argmin(np.isfinite(arr).all(axis=1)))
        raise ValueError(f"x0 contains NaN or inf (first in row {row})")
    return arr


class _Kernels:
    """Direct entries of the batch kernels (Numba's own dispatch types
    every argument on every call: several us, per round), made from
    example arguments of the types the solver passes (one problem, n = m =
    1; a zero count steps nothing)."""
    _entries = None

    @staticmethod
    def _examples():
        """(buffer, addresses, ints, vector, matrix); the buffer must live
        while the addresses are used."""
        lay = row_layout(1, 1, False)
        buf = np.zeros((1, lay.words))
        return (buf, _row_addresses(buf, lay, buf), np.zeros(1, np.int64),
                np.zeros(1), np.zeros((1, 1)))

    @classmethod
    def get(cls):
        """Entries of (start, tell, collect, status)."""
        if cls._entries is None:
            buf, addr, ints, vec, mat = cls._examples()
            options = solver_options(m=1, maxiter=100, maxfun=100)
            start = entry_point(_start_batch, addr, mat, mat, mat + 1.0,
                                 options, ints, mat.copy())
            tell = entry_point(_tell_batch, addr, 1, 1, ints, 0, vec, mat,
                                True, False, ints, 0, mat, ints, ints)
            collect = entry_point(_collect_batch, addr, 1, mat, vec,
                                   mat.copy(), ints.copy(), ints.copy())
            status = entry_point(_status_of, ints, ints, ints, options,
                                  ints.copy())
            cls._entries = (start, tell, collect, status)
        return cls._entries


RowLayout = namedtuple("RowLayout", ["offsets", "words", "index", "unused"])
RowLayout.__doc__ = """Layout of one problem's workspace in a row of the
batch buffer: byte ``offsets`` of the fields in the row (-1 for a field no
problem of the batch uses), row size in float64 ``words``, each field's
word ``index`` in the row, and the ``unused`` fields."""


def row_layout(n: int, m: int, all_constrained: bool) -> RowLayout:
    """``workspace.layout`` without the fields that no problem of the batch
    touches, so that the k workspaces take less memory and cache: with the
    dense B (``dense_model.use_dense``) the factors of the compact form
    (K and its inner products, the factor of T) serve no problem, and S'Y,
    S'S, Y'Y and the 2m-vectors of the compact products serve only
    problems without any bound."""
    lay = layout(n, m, True)
    unused = []
    if use_dense(n, m):
        unused = [K_FACTOR, K_PRODUCTS, T_CHOL]
        if all_constrained:
            unused += [SY, SS, YY, WT_DIRECTION, WT_CAUCHY_STEP, W_ROW,
                       SCRATCH_2M, M_WT_CAUCHY_STEP]
    sizes = np.diff(np.append(lay.offsets, lay.size))
    offsets = np.full(N_FIELDS, -1, np.int64)
    pos = 0
    for f in range(N_FIELDS):
        if f not in unused:
            offsets[f] = pos
            pos += int(sizes[f])
    return RowLayout(offsets, pos // 8, [int(o) // 8 for o in offsets],
                     tuple(unused))


def _row_addresses(buf, lay, scratch):
    """(k, N_FIELDS) int64 addresses of the fields of every row of ``buf``
    (one workspace per row, laid out by ``lay``); the unused fields all
    point to ``scratch`` (never touched; big enough for any field)."""
    base = buf.__array_interface__["data"][0]
    row_bytes = buf.shape[1] * 8
    addresses = np.ascontiguousarray(
        lay.offsets[None, :] + base
        + np.arange(buf.shape[0], dtype=np.int64)[:, None] * row_bytes)
    addresses[:, list(lay.unused)] = scratch.__array_interface__["data"][0]
    return addresses


class BatchSolver:
    """Ask/tell L-BFGS-B for k independent problems ``min f_i(x)`` subject to
    ``lower_i <= x <= upper_i``.

    Use ``idx, X = ask()`` (the problems that need f and g, and their points
    as one array), then ``tell(F, G)`` with F of shape (len(idx),) and G of
    shape (len(idx), n), until ``done``; ``result()`` gives a
    ``BatchResult``.  Each problem follows exactly the iterates of
    ``minimize`` on it alone [1]_ [2]_ [3]_.

    Parameters
    ----------
    x0 : array_like, shape (k, n)
        Starting points, one row per problem (clipped into the bounds).
    bounds : optional
        None, a tuple ``(lower, upper)`` of scalars or arrays of shape (n,)
        or (k, n), n ``(min, max)`` pairs, or a Bounds-like object (as
        ``minimize_batch``).
    maxcor, ftol, gtol, maxiter, maxfun, maxls : optional
        Options of ``minimize(method='L-BFGS-B')``, shared by all problems.
    callback : callable ``callback(i, x, f) -> bool``, optional
        Called after each accepted iterate of problem i (x its iterate, a
        copy); a true return value stops problem i with
        ``STOP: CALLBACK REQUESTED HALT``.

    Returns
    -------
    BatchSolver
        A solver waiting for f and g at every (projected) row of x0.

    Raises
    ------
    ValueError
        Bad x0, bounds or options.

    Attributes
    ----------
    done : bool
        True when every problem has finished.
    n_active : int
        Number of problems waiting for f and g.
    nit, nfev : ndarray, shape (k,)
        Iterations and evaluations of every problem so far.
    finished : ndarray of bool, shape (k,)
        The problems that have finished.

    See Also
    --------
    minimize_batch, lbfgsb_numba.botorch.fmin_l_bfgs_b_batched

    References
    ----------
    .. [1] Byrd, Lu, Nocedal & Zhu, SIAM J. Sci. Comput. 16(5), 1995.
    .. [2] Zhu, Byrd, Lu & Nocedal, "Algorithm 778", ACM TOMS 23(4), 1997.
    .. [3] Morales & Nocedal, "Remark on Algorithm 778", ACM TOMS 38(1), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from lbfgsb_numba import BatchSolver
    >>> centres = np.array([[1.0, 2.0], [3.0, -1.0]])
    >>> s = BatchSolver(np.zeros((2, 2)), bounds=(-2.0, 2.0))
    >>> while not s.done:
    ...     idx, X = s.ask()
    ...     D = X - centres[idx]
    ...     running = s.tell(np.sum(D ** 2, axis=1), 2.0 * D)
    >>> print(s.result().x)
    [[ 1.  2.]
     [ 2. -1.]]
    """

    def __init__(self, x0: Any, bounds: Any = None, *, maxcor: int = MAXCOR,
                 ftol: float = FTOL, gtol: float = GTOL,
                 maxiter: int = MAXITER, maxfun: int = MAXFUN,
                 maxls: int = MAXLS,
                 callback: Optional[Callable[[int, np.ndarray, float], Any]]
                 = None):
        from .batch import batch_bounds
        x0 = as_batch_x0(x0)
        k, n = x0.shape
        self.options = options = solver_options(
            m=maxcor, ftol=ftol, pgtol=gtol, maxiter=maxiter, maxfun=maxfun,
            maxls=maxls)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got "
                            f"{type(callback).__name__}")
        lower, upper = batch_bounds(bounds, k, n)
        lower = np.ascontiguousarray(lower, dtype=np.float64)
        upper = np.ascontiguousarray(upper, dtype=np.float64)
        self.k, self.n = k, n
        self.m = m = options.m
        self._callback = callback
        all_constrained = bool(
            (np.isfinite(lower) | np.isfinite(upper)).any(axis=1).all())
        self._lay = lay = row_layout(n, m, all_constrained)
        # one workspace per row, allocated once for the whole solve
        self._buf = np.zeros((k, lay.words))
        self._scratch = np.zeros(max(4 * m * m, m * m, 1))
        self._addresses = _row_addresses(self._buf, lay, self._scratch)
        words = STATE_DTYPE.itemsize // 8
        s = lay.index[STATE]
        self._states = self._buf[:, s:s + words].view(STATE_DTYPE)[:, 0]
        self._rows = np.empty(k, np.int64)       # problems asking for f, g
        self._points = np.empty((k, n))          # their points
        self._paused = np.empty(k, np.int64)     # at a new iterate (callback)
        self._tasks = np.full(k, RUNNING, np.int64)
        self._start, self._tell, self._collect, self._status = \
            _Kernels.get()
        self._start(self._addresses, x0, lower, upper, options, self._rows,
                    self._points)
        self._count = k
        self._asked = None
        self._interrupted = False

    # ------------------------------------------------------------ protocol

    @property
    def done(self) -> bool:
        """True when every problem has finished."""
        return self._count == 0

    @property
    def n_active(self) -> int:
        """Number of problems waiting for f and g."""
        return self._count

    def ask(self) -> tuple[np.ndarray, np.ndarray]:
        """The problems that need f and g, and their points.

        Returns
        -------
        idx : ndarray of int, shape (a,)
            The indices (ascending) of the problems that need f and g.
        X : ndarray, shape (a, n)
            Their points (a new array; empty when done).
        """
        self._check_not_interrupted()
        if self._asked is None:
            c = self._count
            self._asked = (self._rows[:c].copy(), self._points[:c].copy())
        return self._asked

    def tell(self, F: Any, G: Any) -> int:
        """Give f and g at the points of the last ``ask`` and advance every problem
        to its next evaluation or its end, in one compiled call.

        Parameters
        ----------
        F : array_like, shape (a,)
            f at the a points of the last ``ask``.  NaN or inf is allowed
            (handled per problem as in ``minimize``).
        G : array_like, shape (a, n)
            The gradients there.

        Returns
        -------
        int
            The number of problems still running.

        Raises
        ------
        ValueError, TypeError
            F or G of the wrong shape or not real; the solve is unchanged.
        RuntimeError
            When every problem has finished.
        """
        c, n = self._count, self.n
        if c == 0:
            raise RuntimeError("tell: every problem has finished")
        self._check_not_interrupted()
        F = _as_real_array(F, "F", (c,))
        G = _as_real_array(G, "G", (c, n))
        pause = self._callback is not None
        count, n_paused = self._tell(
            self._addresses, n, self.m, self._rows, c, F, G, True, pause,
            self._rows, 0, self._points, self._paused, self._tasks)
        try:
            while n_paused:
                count, n_paused = self._new_iterates(count, n_paused, F, G)
        except BaseException:
            # the round is cut short: the problems not yet advanced cannot
            # be asked again (result() still reports every problem)
            self._interrupted = True
            raise
        self._count = count
        self._asked = None
        return count

    def _check_not_interrupted(self):
        if self._interrupted:
            raise RuntimeError("an exception from the callback interrupted "
                               "a round: the solver cannot go on (result() "
                               "gives every problem's last iterate)")

    def _new_iterates(self, count, n_paused, F, G):
        """Run the callback on the problems paused at a new iterate, then
        advance them; returns the new (count, n_paused)."""
        paused = self._paused[:n_paused].copy()
        stop = self._states["stop_request"]
        for i in paused:
            x = self._problem_x(int(i))
            if self._callback(int(i), x, float(self._states["f"][i])):
                stop[i] = 1
        return self._tell(self._addresses, self.n, self.m, paused, n_paused,
                          F, G, False, True, self._rows, count, self._points,
                          self._paused, self._tasks)

    def _problem_x(self, i):
        j = self._lay.index[X]
        return self._buf[i, j:j + self.n].copy()

    def hess_inv(self, i: int) -> LbfgsInvHessProduct:
        """Problem i's inverse-Hessian approximation from its correction pairs (as
        ``minimize``'s ``res.hess_inv``; a copy of the pairs is made on first
        use).

        Parameters
        ----------
        i : int
            The problem (row of x0).

        Returns
        -------
        LbfgsInvHessProduct
        """
        lay = self._lay
        st = self._states[i]
        return LbfgsInvHessProduct.from_buffer(
            self._buf[i].copy(), lay.index[S_PAIRS], lay.index[Y_PAIRS],
            self.m, self.n, int(st["head"]), int(st["col"]))

    # ------------------------------------------------------------- results

    @property
    def nit(self) -> np.ndarray:
        """Iterations of every problem so far, shape (k,)."""
        return self._states["nit"].copy()

    @property
    def nfev(self) -> np.ndarray:
        """Evaluations of every problem so far, shape (k,)."""
        return self._states["nfev"].copy()

    @property
    def finished(self) -> np.ndarray:
        """Boolean mask (k,) of the problems that have finished."""
        return self._tasks != RUNNING

    def result(self) -> BatchResult:
        """The results of all problems (as ``minimize_batch`` returns them).

        Returns
        -------
        BatchResult
            x (k, n), fun, jac, nit, nfev, status, success, task and message.
            A problem still running (only before ``done``) reports its last
            accepted iterate, task 0, status 2 and the message ``RUNNING: ...``.
        """
        k, n = self.k, self.n
        x, g = np.empty((k, n)), np.empty((k, n))
        f = np.empty(k)
        nit = np.empty(k, np.int64)
        nfev = np.empty(k, np.int64)
        status = np.empty(k, np.int64)
        self._collect(self._addresses, n, x, f, g, nit, nfev)
        task = self._tasks.copy()
        self._status(task, nit, nfev, self.options, status)
        return BatchResult(x=x, fun=f, jac=g, nit=nit, nfev=nfev,
                           status=status, success=status == 0, task=task,
                           message=batch_messages(task))


def batch_messages(task: np.ndarray) -> list:
    """The status text of every task code (one lookup per distinct code)."""
    codes, inverse = np.unique(task, return_inverse=True)
    texts = [RUNNING_MESSAGE if c == RUNNING else _status.message(int(c))
             for c in codes]
    return [texts[j] for j in inverse.ravel()]


def _as_real_array(value, name, shape):
    """``value`` as a C-contiguous float64 array of ``shape`` (F: (a,),
    also accepted as (a, 1) or (1, a); G: (a, n)); errors name ``name``."""
    if (type(value) is np.ndarray and value.dtype == np.float64 and
            value.shape == shape and value.flags.c_contiguous):
        return value
    if np.iscomplexobj(value):
        raise TypeError(f"tell: {name} is complex; it must be real")
    try:
        arr = np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"tell: {name} must be an array of real numbers of "
                        f"shape {shape}, got {type(value).__name__}") from None
    if arr.shape != shape:
        if len(shape) == 1 and arr.ndim == 2 and arr.size == shape[0]:
            return np.ascontiguousarray(arr.reshape(shape))
        raise ValueError(f"tell: {name} has shape {arr.shape}; expected "
                         f"{shape}, one per asked point")
    return arr


attach(__name__)  # kernels compiled at install (precompiled.py)
