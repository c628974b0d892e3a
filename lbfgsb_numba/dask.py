"""``minimize_batch`` over Dask arrays: batches beyond one machine.

``minimize_batch(fun, x0, args, bounds)`` here takes ``x0`` and the per-row
``args`` as Dask (or numpy) arrays chunked along the batch axis and returns a
lazy :class:`DaskBatchResult`; nothing runs until it is computed, on any
Dask scheduler (threads, processes, a ``distributed`` cluster).  Each chunk
of rows is one task, solved by the in-process
:func:`lbfgsb_numba.batch.minimize_batch`, so every row equals a solve of
that row alone, bit for bit, whatever the chunking or the scheduler.

This module is an optional extra (``pip install "lbfgsb_numba[dask]"``); the
core package never imports Dask.

Pitfalls handled here (see the README section "Scaling out with Dask"):

* Numba threads inside Dask workers: a task runs its chunk on
  ``numba_threads`` threads (default 1, Dask's own threads provide the
  parallelism).  With one thread the serial kernel runs and no parallel
  region is ever entered (so Numba's threading layer never runs code from
  several threads at once); with more, ``numba.set_num_threads`` is set
  inside the task (the setting is per thread) and restored after it.
* Objectives: a module-level objective is sent to workers by reference
  (module and name) and looked up there, so the worker uses that module's
  own dispatcher and its on-disk cache; one that cannot be imported by name
  (defined in ``__main__``, a closure) is pickled by value and compiled once
  per worker process.
"""
from __future__ import annotations

import importlib
from contextlib import contextmanager
from typing import Any, Callable, NamedTuple

import dask
import dask.array as da
import numpy as np
from dask.base import tokenize

from .options import (FTOL, GTOL, MAXCOR, MAXFUN, MAXITER, MAXLS,
                      SolverOptions, solver_options)
from .result import BatchResult

_ROWS_PER_CHUNK = 10_000  # default chunk when no input is a Dask array


# ----------------------------------------------------------------- objective


def _lookup(module: str, qualname: str):
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


class Objective:
    """The objective as tasks carry it: by reference (module, qualified
    name) when importing the module gives back the very same object,
    otherwise by value (Numba pickles a dispatcher's Python function; the
    receiving process compiles it once, without an on-disk cache)."""

    def __init__(self, fun: Callable[..., Any]):
        self.fun = fun
        module = getattr(fun, "__module__", None)
        qualname = getattr(fun, "__qualname__", None)
        self.where = None
        if module and qualname and module != "__main__" \
                and "<locals>" not in qualname:
            try:
                if _lookup(module, qualname) is fun:
                    self.where = (module, qualname)
            except (ImportError, AttributeError):
                pass

    @property
    def by_reference(self) -> bool:
        return self.where is not None

    def __reduce__(self):
        if self.where is not None:
            return _objective_at, self.where
        return Objective, (self.fun,)

    def __dask_tokenize__(self):
        return ("lbfgsb-objective", self.where or id(self.fun))


def _objective_at(module: str, qualname: str) -> Objective:
    return Objective(_lookup(module, qualname))


# ---------------------------------------------------------------- the tasks


@contextmanager
def numba_threads_set(count: int):
    """Run the block with ``count`` Numba threads in this thread (Numba's
    setting is per thread; capped at NUMBA_NUM_THREADS), restored after."""
    import numba
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(count, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def result_dtype(n: int) -> np.dtype:
    """One record per problem: what a chunk task returns."""
    return np.dtype([("x", float, (n,)), ("fun", float), ("jac", float, (n,)),
                     ("nit", np.int64), ("nfev", np.int64),
                     ("status", np.int64), ("success", bool),
                     ("task", np.int64)])


class ChunkPlan(NamedTuple):
    """What every chunk task shares: the objective, which inputs are
    shared (one array broadcast to the chunk's rows in the task) rather
    than rows (the chunk's slice), the bounds (or None when the last two
    inputs are the bound arrays), the options (checked) and the Numba
    threads."""
    objective: Objective
    n: int
    shared: tuple
    n_args: int
    bounds: Any
    bound_arrays: bool
    options: SolverOptions
    numba_threads: int


def solve_chunk(plan: ChunkPlan, x0: np.ndarray, *arrays) -> np.ndarray:
    """Solve one chunk of rows with the in-process ``minimize_batch``;
    returns its records (``result_dtype``)."""
    from .batch import minimize_batch as minimize_in_process
    rows = x0.shape[0]
    # the same array types in every task (C-contiguous writable rows,
    # read-only broadcasts), so that each process compiles the kernel once
    arrays = [np.broadcast_to(a, (rows,) + a.shape) if shared
              else np.require(a, requirements=("C", "W"))
              for a, shared in zip(arrays, plan.shared)]
    args = tuple(arrays[:plan.n_args])
    bounds = tuple(arrays[plan.n_args:]) if plan.bound_arrays else plan.bounds
    options = plan.options.keywords()
    if plan.numba_threads == 1:  # the serial kernel: no parallel region
        res = minimize_in_process(plan.objective.fun, x0, args, bounds,
                                  parallel=False, **options)
    else:
        with numba_threads_set(plan.numba_threads):
            res = minimize_in_process(plan.objective.fun, x0, args, bounds,
                                      **options)
    out = np.empty(rows, result_dtype(plan.n))
    for name in out.dtype.names:
        out[name] = res[name]
    return out


# -------------------------------------------------------------- the inputs


def _row_chunks(chunks, k, x0, args):
    """Rows per chunk along the batch axis: ``chunks`` if given, else x0's
    or the first Dask array's in args, else ``_ROWS_PER_CHUNK``."""
    if chunks is not None:
        return da.core.normalize_chunks((chunks,), (k,))[0]
    for a in (x0,) + tuple(args):
        if isinstance(a, da.Array):
            return a.chunks[0]
    return da.core.normalize_chunks((_ROWS_PER_CHUNK,), (k,))[0]


def _is_shared(a) -> bool:
    """A numpy array whose rows are all the same memory (np.broadcast_to)."""
    return isinstance(a, np.ndarray) and a.ndim >= 1 and a.strides[0] == 0 \
        and a.shape[0] > 1


class _Inputs:
    """Blockwise arguments: (array, index) pairs; row arrays carry the
    batch index ``i``, shared arrays only their own letters (so that every
    task receives the whole array, one key in the graph)."""

    def __init__(self, row_chunks):
        self.row_chunks = row_chunks
        self.pairs: list = []
        self.shared: list = []
        # index letters for the other axes ("i" is the batch axis)
        self._letters = iter("abcdefghjklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ")

    def _index(self, ndim):
        return "".join(next(self._letters) for _ in range(ndim))

    def add_rows(self, a: da.Array):
        a = a.rechunk((self.row_chunks,) + tuple(-1 for _ in a.shape[1:]))
        self.pairs += [a, "i" + self._index(a.ndim - 1)]
        self.shared.append(False)

    def add_shared(self, row: np.ndarray):
        self.pairs += [da.from_array(row, chunks=-1) if row.ndim else row,
                       self._index(row.ndim) if row.ndim else None]
        self.shared.append(True)

    def add(self, a, k: int, what: str):
        """A per-row input: a Dask array, a numpy array (a broadcast one is
        shared) or an array-like; its first axis must be the batch."""
        if not isinstance(a, da.Array):
            a = np.asarray(a)
        if a.ndim < 1 or a.shape[0] != k:
            raise ValueError(f"{what} must be an array whose first axis is "
                             f"the batch of {k} problems, got shape "
                             f"{a.shape}")
        if _is_shared(a):
            self.add_shared(a[0])
        else:
            self.add_rows(a if isinstance(a, da.Array)
                          else da.from_array(a, chunks=(self.row_chunks,)
                                             + a.shape[1:]))


def _x0_array(x0, row_chunks, k, n) -> da.Array:
    if isinstance(x0, da.Array):
        return x0.rechunk((row_chunks, n))
    if _is_shared(x0):
        return da.broadcast_to(da.from_array(x0[0], chunks=-1), (k, n),
                               chunks=(row_chunks, n))
    return da.from_array(x0, chunks=(row_chunks, n))


def _check_x0(x0):
    if not isinstance(x0, da.Array):
        x0 = np.asarray(x0)
    if x0.ndim != 2:
        raise ValueError(f"x0 must have shape (k, n), got {x0.shape}")
    if not np.issubdtype(x0.dtype, np.number) or \
            np.issubdtype(x0.dtype, np.complexfloating):
        raise TypeError(f"x0 must be real numbers, got dtype {x0.dtype}")
    if any(np.isnan(s) for s in x0.shape):
        raise ValueError("x0 has unknown chunk sizes: call "
                         "x0.compute_chunk_sizes() first")
    return x0


def _is_row_bounds(bounds) -> bool:
    """A tuple (lower, upper) with a (k, n) side: bounds per row."""
    return isinstance(bounds, tuple) and len(bounds) == 2 and any(
        isinstance(b, da.Array) or np.ndim(b) == 2 for b in bounds)


# ------------------------------------------------------------------- result


class DaskBatchResult:
    """Lazy result of :func:`minimize_batch` on Dask.

    Attributes x (k, n), fun (k,), jac (k, n), nit, nfev, status, success,
    task (k,) are Dask arrays chunked like the batch; ``records`` is the
    Dask array of per-problem records they are read from.  Compute the
    fields together (``compute()``, or ``dask.compute(res.x, res.fun)``):
    computing them one by one solves the problems again each time.
    """

    fields = ("x", "fun", "jac", "nit", "nfev", "status", "success", "task")

    def __init__(self, records: da.Array, task_inputs: tuple = None):
        self.records = records
        self.task_inputs = task_inputs  # (plan, x0, (array, is rows)...)
        for name in self.fields:
            setattr(self, name, records[name])

    def warm_up(self, client=None) -> "DaskBatchResult":
        """Solve the first two problems once on every worker and wait.

        Each worker process compiles the batch kernel for this objective and
        these argument types once (seconds); warm it before timing or before a
        computation whose first chunks should not wait for it.  A worker that
        starts later compiles on its first chunk.

        Parameters
        ----------
        client : distributed.Client, optional
            Default: the current client.

        Returns
        -------
        DaskBatchResult
            This result (for chaining).
        """
        import distributed
        client = client or distributed.get_client()
        plan, x0, arrays = self.task_inputs
        # two rows: a one-row broadcast would count as contiguous, another
        # array type than in the real chunks
        two = dask.compute(x0[:2], *(a[:2] if rows else a
                                     for a, rows in arrays))
        workers = list(client.nthreads())
        futures = [client.submit(solve_chunk, plan, *two, workers=[w],
                                 allow_other_workers=False, pure=False)
                   for w in workers]
        distributed.wait(futures)
        for future in futures:
            future.result()  # raises what the solve raised
        return self

    def keys(self):
        return self.fields

    def __getitem__(self, name):
        if name not in self.fields:
            raise KeyError(name)
        return getattr(self, name)

    def __repr__(self):
        return (f"DaskBatchResult(k={self.records.shape[0]}, "
                f"chunks={len(self.records.chunks[0])}, fields="
                f"{', '.join(self.fields)})")

    def persist(self, **kwargs) -> "DaskBatchResult":
        """Start the solve and keep the records in memory (on the cluster with
        ``distributed``).

        Parameters
        ----------
        **kwargs
            Passed to ``dask.array.Array.persist``.

        Returns
        -------
        DaskBatchResult
            A result whose records are persisted.
        """
        return DaskBatchResult(self.records.persist(**kwargs),
                               self.task_inputs)

    def compute(self, **kwargs) -> BatchResult:
        """Solve every chunk and gather an in-process ``BatchResult``.

        With a ``distributed`` client the chunks are copied into the result
        arrays as they arrive, so the client holds the results plus about one
        chunk.

        Parameters
        ----------
        **kwargs
            Passed to ``dask.compute`` (e.g. ``scheduler="processes"``).

        Returns
        -------
        BatchResult
            As the in-process ``minimize_batch`` returns it (with ``message``).
        """
        records = self.records
        k, n = records.shape[0], records.dtype["x"].shape[0]
        out = {name: np.empty((k, n) if name in ("x", "jac") else k,
                              records.dtype[name].base)
               for name in self.fields}
        client = _distributed_client(kwargs)
        if client is None:
            (computed,) = dask.compute(records, **kwargs)
            for name in self.fields:
                out[name][...] = computed[name]
            del computed
        else:
            from distributed import as_completed
            starts = np.cumsum((0,) + records.chunks[0])
            blocks = records.to_delayed().ravel()
            futures = client.compute(list(blocks))
            where = {f.key: i for i, f in enumerate(futures)}
            for future in as_completed(futures):
                i = where[future.key]
                block = future.result()
                future.release()
                for name in self.fields:
                    out[name][starts[i]:starts[i + 1]] = block[name]
                del block
        from . import status as _status
        codes, first = np.unique(out["task"], return_inverse=True)
        texts = [_status.message(int(c)) for c in codes]
        return BatchResult(**out, message=[texts[j] for j in first.ravel()])


def _distributed_client(kwargs):
    """The distributed Client that dask.compute would use, else None."""
    scheduler = dask.base.get_scheduler(scheduler=kwargs.get("scheduler"))
    client = getattr(scheduler, "__self__", None)
    if type(client).__name__ == "Client" and \
            type(client).__module__.startswith("distributed"):
        return client
    return None


# ---------------------------------------------------------------- the entry


def minimize_batch(fun: Callable[..., Any], x0: Any, args: tuple = (),
                   bounds: Any = None, *, chunks: Any = None,
                   numba_threads: int = 1, maxcor: int = MAXCOR,
                   ftol: float = FTOL, gtol: float = GTOL,
                   maxiter: int = MAXITER, maxfun: int = MAXFUN,
                   maxls: int = MAXLS) -> DaskBatchResult:
    """Solve k independent problems ``min fun(x, *args_i)`` s.t. bounds,
    lazily, one Dask task per chunk of rows.

    Parameters
    ----------
    fun : callable
        The objective as for the in-process ``minimize_batch`` (an ``@njit``
        function ``fun(x, *args_i) -> (f, g)``).  Define it at module level
        in an importable module: workers then import it (and its Numba
        cache) instead of compiling a pickled copy.
    x0 : (k, n) Dask or numpy array
        Starting points, one row per problem; rechunked to whole rows.
    args : tuple of arrays
        Batch on axis 0.  Dask arrays are rechunked to x0's row chunks (and
        whole along the other axes); a numpy broadcast view
        (``np.broadcast_to(a, (k,) + a.shape)``) is shared: ``a`` is sent
        once and broadcast to the chunk's rows inside each task.
    bounds : as for the in-process ``minimize_batch``; in a tuple
        ``(lower, upper)`` a side of shape (k, n) (numpy or Dask) is per row
        and chunked like x0.
    chunks : int or tuple of ints, optional
        Rows per chunk (default: x0's chunks if it is a Dask array, else the
        first Dask array's in args, else 10000).
    numba_threads : int
        Numba threads per task (default 1: Dask's threads run the chunks in
        parallel; keep Dask threads x numba_threads <= cores).
    maxcor, ftol, gtol, maxiter, maxfun, maxls
        As in ``minimize(method='L-BFGS-B')``.

    Returns
    -------
    DaskBatchResult
        Dask arrays x (k, n), fun, jac (k, n), nit, nfev, status, success
        (k,); ``.compute()`` gives an in-process ``BatchResult``.

    Raises
    ------
    ValueError, TypeError
        Bad x0 (not (k, n), not real, unknown chunk sizes), args, bounds,
        chunks, numba_threads or options, naming the argument.  Exceptions
        from ``fun`` propagate when the result is computed.

    See Also
    --------
    lbfgsb_numba.minimize_batch : the in-process batch that every task runs.

    References
    ----------
    .. [1] Byrd, Lu, Nocedal & Zhu, SIAM J. Sci. Comput. 16(5), 1995.
    .. [2] Zhu, Byrd, Lu & Nocedal, "Algorithm 778", ACM TOMS 23(4), 1997.
    .. [3] Morales & Nocedal, "Remark on Algorithm 778", ACM TOMS 38(1), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from numba import njit
    >>> from lbfgsb_numba import dask as lbd
    >>> @njit
    ... def fg(x, c):
    ...     return np.sum((x - c) ** 2), 2.0 * (x - c)
    >>> centres = np.arange(8.0).reshape(4, 2)
    >>> lazy = lbd.minimize_batch(fg, np.zeros((4, 2)), (centres,),
    ...                           bounds=(0.0, 5.0), chunks=2)
    >>> res = lazy.compute(scheduler="threads")
    >>> print(res.x)
    [[0. 1.]
     [2. 3.]
     [4. 5.]
     [5. 5.]]
    """
    if not callable(fun):
        raise TypeError("fun must be a callable (an @njit function "
                        "returning (f, g))")
    x0 = _check_x0(x0)
    k, n = x0.shape
    if not isinstance(args, tuple):
        args = tuple(args) if isinstance(args, list) else (args,)
    if isinstance(numba_threads, bool) or not isinstance(
            numba_threads, (int, np.integer)) or numba_threads < 1:
        raise ValueError(f"numba_threads must be an integer >= 1, got "
                         f"{numba_threads!r}")
    options = solver_options(m=maxcor, ftol=ftol, pgtol=gtol,
                             maxiter=maxiter, maxfun=maxfun, maxls=maxls)
    row_chunks = _row_chunks(chunks, k, x0, args)
    inputs = _Inputs(row_chunks)
    for j, a in enumerate(args):
        inputs.add(a, k, f"args[{j}]")
    bound_arrays = _is_row_bounds(bounds)
    if bound_arrays:
        for side, b in zip(("lower", "upper"), bounds):
            if np.ndim(b) == 2:
                inputs.add(b, k, f"bounds ({side})")
            else:
                row = np.broadcast_to(np.asarray(b, dtype=float), (n,))
                inputs.add_shared(row)
        bounds = None
    else:
        from .batch import batch_bounds
        batch_bounds(bounds, 1, n)  # the same checks, now, on one row
    plan = ChunkPlan(Objective(fun), n, tuple(inputs.shared), len(args),
                     bounds, bound_arrays, options, int(numba_threads))
    x0 = _x0_array(x0, row_chunks, k, n)
    name = "lbfgsb-minimize-batch-" + tokenize(plan, x0, *inputs.pairs)
    dtype = result_dtype(n)
    records = da.blockwise(solve_chunk, "i", plan, None, x0, "ij",
                           *inputs.pairs, name=name, dtype=dtype,
                           concatenate=True, meta=np.empty(0, dtype))
    arrays = tuple(zip(inputs.pairs[::2], (not shared for shared
                                           in inputs.shared)))
    return DaskBatchResult(records, (plan, x0, arrays))
