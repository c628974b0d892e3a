"""The Python side of one solve: the work buffer and its layout
(``Solve``), the direct entries of the compiled driver, and the results
built from a finished (or interrupted) solve.

Below the public entries (``api``: fmin_l_bfgs_b and minimize; ``compiled``:
@njit objectives; ``ask_tell``: the solver as an object) and above the
kernels: the layers import one way, kernels <- solve <- api / compiled /
ask_tell / batch.
"""
from __future__ import annotations

import functools

import numpy as np

from . import status as _status
from .driver import PHASE_SEARCH, setup_at, step_at
from .first_use import notice_if_cold
from .hess_inv import LbfgsInvHessProduct
from .options import solver_options
from .projection import BOTH
from .result import result_class
from .warm_start import seed_memory_at
from .workspace import (G, G_PREV, N_FIELDS, S_PAIRS, X_PREV, Y_PAIRS,
                        float_field, layout, state_of)


def overload_entry(dispatcher, example_args):
    """The entry of ``dispatcher``'s compiled overload for the types of
    ``example_args`` (already compiled), callable without Numba's
    argument-type dispatch, which costs several us per call; the dispatcher
    itself if there is none."""
    types = tuple(dispatcher.typeof_pyval(a) for a in example_args)
    for sig, overload in dispatcher.overloads.items():
        if tuple(sig) == types:
            return overload.entry_point
    return dispatcher


def entry_point(dispatcher, *example_args):
    """``overload_entry`` after compiling (or loading from the cache)."""
    dispatcher(*example_args)
    return overload_entry(dispatcher, example_args)


@functools.lru_cache(maxsize=None)
def driver_entries():
    """Direct entries of ``setup_at`` and ``step_at``."""
    notice_if_cold(setup_at, step_at)
    x, lo, up = np.zeros(1), np.zeros(1), np.ones(1)
    nbd = np.full(1, BOTH, np.int32)
    offsets, size, _ = layout(1, 1, False)
    buf, addresses = np.zeros(size // 8), np.empty(N_FIELDS, np.int64)
    setup = entry_point(setup_at, buf, offsets, addresses, x, lo, up, nbd,
                         solver_options(m=1))
    return setup, entry_point(step_at, addresses, 1, 1, False)


class Solve:
    """The work buffer of one solve and its layout, set up with
    ``options`` (a ``SolverOptions``); the problem's arrays (x0, which
    becomes x, lower, upper, nbd) are used in place.  ``pairs`` (s, y),
    each (k, n) oldest first, seed the memory (warm start)."""

    __slots__ = ("buf", "lay", "addresses", "x", "m", "options")

    def __init__(self, x0, lower, upper, nbd, options, pairs=None):
        n = x0.shape[0]
        self.options = options
        self.m = m = options.m
        self.lay = lay = layout(n, m, False)
        self.buf = np.zeros(lay.size >> 3)
        self.addresses = np.empty(N_FIELDS, np.int64)
        self.x = x0
        driver_entries()[0](self.buf, lay.offsets, self.addresses, x0, lower,
                            upper, nbd, options)
        if pairs is not None:  # warm start (``warm_start.warm_start_pairs``)
            seed_memory_at(self.addresses, n, m, *pairs)

    def field(self, k):
        """Float64 field k of length n (a view)."""
        return float_field(self.buf, self.lay, k, self.x.shape[0])

    def state(self):
        """The state record, a (1,) view."""
        return state_of(self.buf, self.lay)


def last_accepted(solve):
    """(x, f, g) of the last accepted iterate (not a line-search trial)."""
    st = solve.state()
    if int(st["phase"][0]) == PHASE_SEARCH:
        return (solve.field(X_PREV).copy(), float(st["f_old"][0]),
                solve.field(G_PREV).copy())
    return solve.x.copy(), float(st["f"][0]), solve.field(G).copy()


def attach_last_accepted(exc, solve):
    """Attach the last accepted iterate to an exception from user code.
    When no evaluation has returned yet (the objective raised on its first
    call, nfev 0), nothing is known but the starting point: x is x0
    (projected onto the box), ``fun`` and ``jac`` are None."""
    st = solve.state()
    nfev = int(st["nfev"][0])
    if nfev == 0:
        x_best, f_best, g_best = solve.x.copy(), None, None
    else:
        x_best, f_best, g_best = last_accepted(solve)
    attach_result(exc, result_class()(
        x=x_best, fun=f_best, jac=g_best, nit=int(st["nit"][0]),
        nfev=nfev, success=False, status=2,
        message="interrupted by an exception from user code"))


def attach_result(exc, result):
    """Attach ``result`` (the last accepted iterate: x, fun, jac, nit,
    nfev; fun and jac None when no evaluation returned) to an exception
    raised during a solve, with a note saying so."""
    exc.lbfgsb_result = result
    if hasattr(exc, "add_note"):
        exc.add_note(
            "lbfgsb_numba: raised at the first evaluation; this exception's "
            ".lbfgsb_result holds x0 (fun and jac None)"
            if getattr(result, "fun", None) is None else
            "lbfgsb_numba: the last accepted iterate is in this "
            "exception's .lbfgsb_result (x, fun, jac, nit, nfev)")


def solve_result(solve, task, f, nit, nfev, njev, head, col, log=None,
                 pg_norm=0.0):
    """OptimizeResult of a finished solve; x is the solve's own array."""
    task, nit, nfev, njev = int(task), int(nit), int(nfev), int(njev)
    f = float(f)
    options = solve.options
    warnflag = _status.warnflag(task, nit, nfev, options.maxiter,
                                options.maxfun)
    message = _status.message(task)
    if log is not None:
        log.final(message, nit, nfev, f, float(pg_norm))
    index = solve.lay.index
    return result_class()(
        fun=f, jac=solve.field(G).copy(), nfev=nfev, njev=njev, nit=nit,
        status=warnflag, message=message, x=solve.x, success=(warnflag == 0),
        hess_inv=LbfgsInvHessProduct.from_buffer(
            solve.buf, index[S_PAIRS], index[Y_PAIRS], solve.m,
            solve.x.shape[0], int(head), int(col)))
