"""L-BFGS-B as an object driven from outside: ask for a point, tell f and g.

``LbfgsbSolver`` exposes the driver's reverse communication (``driver``):
the caller evaluates the objective wherever it likes (an external
simulator, another process, asynchronous workers, a framework with its own
autodiff) and hands the values back.  For the same objective it takes the
same iterates, nit, nfev and message as ``minimize`` (bit for bit): both
drive the same kernels on the same work buffer (``solve.Solve``).

The whole state can be taken out as plain data and put back
(``state``/``from_state``, ``save``/``load`` to a ``.npz`` file;
``checkpoint``), to stop a long solve and resume it later, in another
process, with the same bits; and a solve can start from the correction
pairs of an earlier result (``warm_start``).

Reference: Byrd, Lu, Nocedal & Zhu, SIAM J. Sci. Comput. 16(5), 1995;
Zhu, Byrd, Lu & Nocedal, ACM TOMS 23(4), 1997.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import functools

import numpy as np
from numba import njit

from . import status as _status
from .api import callback_adapter
from .bounds import normalize_bounds
from .checkpoint import (check_state, load_state, restore_workspace,
                         save_state, saved_options, workspace_state)
from .driver import (PHASE_DONE, PHASE_NEW_X, PHASE_SEARCH, PHASE_START,
                     plain_flag, step_at)
from .hess_inv import LbfgsInvHessProduct, pairs_in_order
from .options import (FTOL, GTOL, MAXCOR, MAXFUN, MAXITER, MAXLS,
                      solver_options)
from .result import OptimizeResult
from .solve import (Solve, driver_entries, last_accepted, overload_entry,
                    solve_result)
from .status import FG, NEW_X, STOP_CALLBACK
from .validation import as_gradient, as_scalar_f, as_x0
from .warm_start import warm_start_pairs
from .workspace import (G, G_PREV, X_PREV, evaluation_views,
                        workspace_arrays)

__all__ = ["LbfgsbSolver"]

_F64 = np.dtype(np.float64)
_ALL_FIXED = "All independent variables were fixed by bounds."
_STOPPED = "`callback` raised `StopIteration`."


@njit(cache=True, nogil=True)
def tell_at(addresses, n, m, f, g, nfev, pause_at_new_x):
    """Put f, its gradient g (n,) and the count of evaluations into the
    workspace at ``addresses`` and step the solver until it wants the next
    evaluation or is done: one crossing per ``tell``.  Returns the task
    code (FG or a final code), NEW_X when a new iterate was accepted and
    ``pause_at_new_x`` (the caller steps on after its callback), or minus
    the task code when a new iterate was accepted on the way."""
    x, g_work, lower, upper, state = evaluation_views(addresses, n)
    st = state[0]
    st.f = f
    for i in range(n):
        g_work[i] = g[i]
    st.nfev = nfev
    task = step_at(addresses, n, m, plain_flag(False))
    if task != NEW_X or pause_at_new_x:
        return task
    return -step_at(addresses, n, m, plain_flag(False))


@functools.lru_cache(maxsize=None)
def _tell_entry():
    """Direct entry of ``tell_at`` for gradients of any layout."""
    solve = Solve(np.zeros(1), np.full(1, -np.inf), np.full(1, np.inf),
                  np.zeros(1, np.int32),
                  solver_options(m=1, maxiter=1, maxfun=1))
    example = (solve.addresses, 1, 1, 0.0, np.zeros(4)[::2], 1, False)
    tell_at(*example)
    return overload_entry(tell_at, example)


class LbfgsbSolver:
    """L-BFGS-B for one problem, by ask and tell.

    The solver as an object driven from outside: ``ask()`` gives the point
    where f and its gradient are wanted, ``tell(f, g)`` hands them back.  For
    the same objective it takes the same iterates, nit, nfev and message as
    ``minimize(..., jac=True)``, bit for bit [1]_ [2]_ [3]_.  Its whole state
    can be saved (``state``, ``save``) and resumed in another process
    (``from_state``, ``load``).

    Parameters
    ----------
    x0 : array_like, shape (n,)
        Starting point.
    bounds : optional
        As for ``minimize``: None, n pairs (min, max), a Bounds-like object
        or two arrays (lower, upper).
    maxcor, ftol, gtol, maxiter, maxfun, maxls, tol
        ``minimize``'s options, with its defaults and checks (``tol`` sets
        ftol and gtol when they are not given).
    callback : callable, optional
        Called at every new iterate inside ``tell``, as ``minimize`` calls
        it (``callback(xk)`` or ``callback(intermediate_result)``); raising
        StopIteration ends the solve (status 99).
    warm_start : optional
        An earlier result (or its ``hess_inv``, or (sk, yk)): its
        correction pairs start the memory (``warm_start`` module).

    Returns
    -------
    LbfgsbSolver
        A solver waiting for f and g at the (projected) x0.

    Raises
    ------
    ValueError
        Bad x0, bounds or options (as ``minimize``).

    Attributes
    ----------
    done : bool
        Whether the solve is over.
    nit, nfev : int
        Iterations and evaluations so far.
    n : int
        Number of variables.
    message : str
        The final message when done, else the pending task.

    References
    ----------
    .. [1] Byrd, Lu, Nocedal & Zhu, SIAM J. Sci. Comput. 16(5), 1995.
    .. [2] Zhu, Byrd, Lu & Nocedal, "Algorithm 778", ACM TOMS 23(4), 1997.
    .. [3] Morales & Nocedal, "Remark on Algorithm 778", ACM TOMS 38(1), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from lbfgsb_numba import LbfgsbSolver
    >>> s = LbfgsbSolver(np.zeros(3), bounds=[(0, 2)] * 3)
    >>> while not s.done:
    ...     x = s.ask()
    ...     new_iterate = s.tell(np.sum((x - 3.0) ** 2), 2.0 * (x - 3.0))
    >>> res = s.result()   # as minimize(..., jac=True) returns it
    >>> print(res.x, res.fun, res.nit, res.nfev)
    [2. 2. 2.] 3.0 1 2
    """

    __slots__ = ("_solve", "_lower", "_upper", "_nbd", "_task", "_advance",
                 "_tell", "_addresses", "_n", "_m", "_shape", "_x", "_f_slot",
                 "_g_slot", "_nfev_slot", "_stop_slot", "_nfev", "_callback",
                 "_user_callback")

    def __init__(self, x0: Any, bounds: Any = None, *, maxcor: int = MAXCOR,
                 ftol: Optional[float] = None, gtol: Optional[float] = None,
                 maxiter: int = MAXITER, maxfun: int = MAXFUN,
                 maxls: int = MAXLS,
                 tol: Optional[float] = None,
                 callback: Optional[Callable[..., Any]] = None,
                 warm_start: Any = None):
        x0 = as_x0(x0)
        n = x0.shape[0]
        lower, upper, nbd = normalize_bounds(bounds, n)
        if ftol is None:
            ftol = FTOL if tol is None else tol
        if gtol is None:
            gtol = GTOL if tol is None else tol
        options = solver_options(m=maxcor, ftol=ftol, pgtol=gtol,
                                 maxiter=maxiter, maxfun=maxfun, maxls=maxls)
        pairs = warm_start_pairs(warm_start, n, options.m)
        solve = Solve(x0, lower, upper, nbd, options, pairs)
        self._bind(solve, lower, upper, nbd, callback)
        self._nfev = 0
        # FG at x0
        self._task = self._advance(self._addresses, n, self._m, False)

    def _bind(self, solve, lower, upper, nbd, callback):
        self._solve = solve
        self._lower, self._upper, self._nbd = lower, upper, nbd
        self._advance = driver_entries()[1]
        self._tell = _tell_entry()
        self._addresses = solve.addresses
        self._n = n = solve.x.shape[0]
        self._m = solve.m
        self._shape = (n,)
        self._x = solve.x
        st = solve.state()
        self._f_slot = st["f"]
        self._nfev_slot = st["nfev"]
        self._stop_slot = st["stop_request"]
        self._g_slot = solve.field(G)
        self._callback = callback_adapter(callback)
        self._user_callback = callback

    # ------------------------------------------------------------ ask/tell

    def ask(self) -> np.ndarray:
        """The point at which f and g are wanted next.

        Returns
        -------
        ndarray, shape (n,)
            A new array (the caller may keep or change it).

        Examples
        --------
        >>> import numpy as np
        >>> from lbfgsb_numba import LbfgsbSolver
        >>> LbfgsbSolver(np.array([-1.0, 0.5]), bounds=[(0, 1)] * 2).ask()
        array([0. , 0.5])
        """
        if self._task != FG:
            if self._task == NEW_X:  # the callback raised last time
                self._task = self._advance(self._addresses, self._n,
                                           self._m, False)
            if self._task != FG:
                raise RuntimeError(f"the solve is over ({self.message}); "
                                   f"see result()")
        return self._x.copy()

    def tell(self, f: Any, g: Any) -> bool:
        """Hand over f and its gradient g at the point of ``ask()`` and advance to
        the next point wanted (or the end).

        f and g are checked like an objective's values in ``minimize``; NaN or
        inf is a failed trial point (the solver backs off).

        Parameters
        ----------
        f : float
            The objective at ``ask()``'s point.
        g : array_like, shape (n,)
            Its gradient there.

        Returns
        -------
        bool
            True when a new iterate was accepted (nit went up).

        Raises
        ------
        ValueError, TypeError
            f not a real scalar or g not of shape (n,); the solve is unchanged.
        RuntimeError
            When the solve is already over.

        Examples
        --------
        >>> import numpy as np
        >>> from lbfgsb_numba import LbfgsbSolver
        >>> s = LbfgsbSolver(np.zeros(2))
        >>> x = s.ask()
        >>> s.tell(float(np.sum((x - 1.0) ** 2)), 2.0 * (x - 1.0))
        False
        >>> x = s.ask()
        >>> s.tell(float(np.sum((x - 1.0) ** 2)), 2.0 * (x - 1.0))
        True
        """
        if self._task != FG:
            raise RuntimeError("tell() without a pending evaluation: call "
                               "ask() first" if self._task == NEW_X else
                               f"the solve is over ({self.message})")
        if type(f) is not float:
            f = as_scalar_f(f)
        if not (type(g) is np.ndarray and g.dtype is _F64 and
                g.shape == self._shape):
            g = as_gradient(g, self._n)
        self._nfev += 1
        callback = self._callback
        task = self._tell(self._addresses, self._n, self._m, f, g,
                          self._nfev, callback is not None)
        if task != NEW_X:
            if task < 0:  # a new iterate on the way (no callback)
                self._task = -task
                return True
            self._task = task
            return False
        self._task = NEW_X
        if callback(self._x, float(self._f_slot[0])):
            self._stop_slot[0] = 1
        self._task = self._advance(self._addresses, self._n, self._m, False)
        return True

    def stop(self) -> None:
        """End the solve now, at the last accepted iterate, as a callback raising
        StopIteration would (status 99); the memory keeps the pair of the last
        accepted step.

        Returns
        -------
        None

        Raises
        ------
        RuntimeError
            Before the first ``tell``.

        Examples
        --------
        >>> import numpy as np
        >>> from lbfgsb_numba import LbfgsbSolver
        >>> s = LbfgsbSolver(np.zeros(2))
        >>> x = s.ask()
        >>> s.tell(float(np.sum((x - 1.0) ** 2)), 2.0 * (x - 1.0))
        False
        >>> s.stop()
        >>> s.done, s.result().status
        (True, 99)
        """
        if self.done:
            return
        solve = self._solve
        st = solve.state()
        phase = int(st["phase"][0])
        if phase == PHASE_SEARCH:  # back to the iterate the search left
            self._x[:] = solve.field(X_PREV)
            self._g_slot[:] = solve.field(G_PREV)
            self._f_slot[0] = st["f_old"][0]
        elif phase != PHASE_NEW_X:
            raise RuntimeError("stop(): no point has been evaluated yet")
        self._stop_slot[0] = 1
        st["task"][0] = STOP_CALLBACK
        st["phase"][0] = PHASE_DONE
        self._task = STOP_CALLBACK

    # ------------------------------------------------------------ progress

    @property
    def done(self) -> bool:
        """Whether the solve is over (``message`` says why)."""
        return self._task != FG and self._task != NEW_X

    @property
    def nit(self) -> int:
        """Accepted iterations so far."""
        return int(self._solve.state()["nit"][0])

    @property
    def nfev(self) -> int:
        """Evaluations told so far."""
        return self._nfev

    @property
    def n(self) -> int:
        """Number of variables."""
        return self._n

    @property
    def message(self) -> str:
        """The final status text when done, else the pending task ('FG')."""
        if self._task >= 400 and self._nbd.size and self._all_fixed():
            return _ALL_FIXED
        return _status.message(self._task)

    def _all_fixed(self):
        return bool((self._lower == self._upper).all())

    def result(self) -> OptimizeResult:
        """The result ``minimize`` returns for the same solve.

        Returns
        -------
        OptimizeResult
            x, fun, jac, nit, nfev, njev, status, success, message, hess_inv.
            Before the end: the last accepted iterate, with status -1 and
            success False.

        Examples
        --------
        >>> import numpy as np
        >>> from lbfgsb_numba import LbfgsbSolver
        >>> LbfgsbSolver(np.zeros(2)).result().status
        -1
        """
        solve = self._solve
        st = solve.state()[0]
        if not self.done:
            x, f, g = last_accepted(solve)
            if self._nfev == 0 or int(st["phase"]) == PHASE_START:
                f = np.nan
            return OptimizeResult(
                x=x, fun=f, jac=g, nit=int(st["nit"]), nfev=self._nfev,
                njev=self._nfev, status=-1, success=False,
                message="IN PROGRESS", hess_inv=LbfgsInvHessProduct(
                    *pairs_in_order(self._ring("s_pairs"),
                                    self._ring("y_pairs"), int(st["head"]),
                                    int(st["col"]))))
        res = solve_result(solve, self._task, st["f"], st["nit"], self._nfev,
                           self._nfev, st["head"], st["col"])
        res["x"] = res["x"].copy()
        if int(st["stop_request"]):
            res.update(success=False, status=99, message=_STOPPED)
        elif self._all_fixed():  # minimize answers without a solve
            res.update(message=_ALL_FIXED, njev=0)
        return res

    def _ring(self, name):
        return getattr(self._workspace(), name)

    def _workspace(self):
        solve = self._solve
        return workspace_arrays(solve.buf, solve.addresses, self._n, self._m,
                                (self._x, self._lower, self._upper,
                                 self._nbd))

    # ------------------------------------------------------------ checkpoints

    def state(self) -> dict:
        """The whole state as plain data, for a checkpoint.

        Returns
        -------
        dict
            numpy arrays and scalars (``checkpoint.workspace_state``): the work
            buffer's fields by name, the problem's arrays and options, n, m, a
            format version and a SHA-256 checksum.

        See Also
        --------
        from_state, save

        Examples
        --------
        >>> import numpy as np
        >>> from lbfgsb_numba import LbfgsbSolver
        >>> state = LbfgsbSolver(np.zeros(3)).state()
        >>> int(state["n"]), int(state["m"])
        (3, 10)
        """
        return workspace_state(self._workspace())

    @classmethod
    def from_state(cls, state: dict,
                   callback: Optional[Callable[..., Any]] = None
                   ) -> "LbfgsbSolver":
        """A solver that continues from a state given by ``state()``.

        Parameters
        ----------
        state : dict
            As ``state()`` returns it (or ``checkpoint.load_state`` reads it).
        callback : callable, optional
            As the constructor's (a callback is not part of the state).

        Returns
        -------
        LbfgsbSolver
            A solver that takes the same iterates, nit, nfev and message as the
            one that gave the state.

        Raises
        ------
        ValueError
            For a state that is corrupt, truncated or not of this format
            (``checkpoint.check_state``).

        Examples
        --------
        >>> import numpy as np
        >>> from lbfgsb_numba import LbfgsbSolver
        >>> s = LbfgsbSolver(np.zeros(2))
        >>> copy = LbfgsbSolver.from_state(s.state())
        >>> copy.ask()
        array([0., 0.])
        """
        n, m = check_state(state)
        x = np.array(state["x"], dtype=np.float64)
        lower = np.array(state["lower"], dtype=np.float64)
        upper = np.array(state["upper"], dtype=np.float64)
        nbd = np.array(state["bound_type"], dtype=np.int32)
        solve = Solve(x, lower, upper, nbd, saved_options(state))
        self = cls.__new__(cls)
        self._bind(solve, lower, upper, nbd, callback)
        restore_workspace(state, self._workspace())
        st = solve.state()[0]
        self._nfev = int(st["nfev"])
        phase = int(st["phase"])
        if phase == PHASE_DONE:
            self._task = int(st["task"])
        elif phase == PHASE_NEW_X:
            self._task = NEW_X
        elif phase == PHASE_START:
            self._task = self._advance(self._addresses, n, m, False)
        else:
            self._task = FG
        return self

    def save(self, path) -> None:
        """Write the state to a ``.npz`` file (``checkpoint.save_state``).

        Parameters
        ----------
        path : str or os.PathLike
            The file to write.

        Returns
        -------
        None

        See Also
        --------
        load
        """
        save_state(path, self.state())

    @classmethod
    def load(cls, path, callback: Optional[Callable[..., Any]] = None
             ) -> "LbfgsbSolver":
        """A solver that continues from the state saved at ``path``.

        Parameters
        ----------
        path : str or os.PathLike
            A file written by ``save``.
        callback : callable, optional
            As the constructor's.

        Returns
        -------
        LbfgsbSolver

        Raises
        ------
        ValueError
            If the file is not a complete, unaltered state.
        FileNotFoundError
            If there is no such file.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from lbfgsb_numba import LbfgsbSolver
        >>> s = LbfgsbSolver(np.zeros(2), bounds=[(0, 2)] * 2)
        >>> path = os.path.join(tempfile.mkdtemp(), "solve.npz")
        >>> s.save(path)
        >>> t = LbfgsbSolver.load(path)
        >>> while not t.done:
        ...     x = t.ask()
        ...     _ = t.tell(float(np.sum((x - 3.0) ** 2)), 2.0 * (x - 3.0))
        >>> print(t.result().x, t.nit)
        [2. 2.] 1
        """
        return cls.from_state(load_state(path), callback)

    def __reduce__(self):
        """Pickling and copy.copy/deepcopy go through ``state()``: the copy
        is an independent solver (the work buffer is addressed by raw
        pointers, which must never be shared or carried over)."""
        return (type(self).from_state, (self.state(), self._user_callback))

    def __repr__(self):
        return (f"<LbfgsbSolver n={self._n} m={self._m} nit={self.nit} "
                f"nfev={self._nfev} {'done: ' if self.done else ''}"
                f"{self.message}>")
