"""Python shell with scipy's API: ``fmin_l_bfgs_b`` and ``minimize``.

All validation and conversion happens once, before the loop; the loop only
crosses into the compiled driver (``driver.step``), calls the user's
objective, and copies f and g into the workspace.  When the objective is a
Numba-compiled function (and no Python callback or log is requested) the
whole solve runs in compiled code instead (``compiled.py``).
"""
from __future__ import annotations

import functools
import inspect
import warnings
from typing import Any, Callable, Optional

import numpy as np
from numba.core.registry import CPUDispatcher

from . import status as _status
from .bounds import normalize_bounds
from .driver import PHASE_SEARCH, setup_at, step_at
from .finite_diff import forward_difference
from .first_use import notice_if_cold
from .hess_inv import LbfgsInvHessProduct
from .result import OptimizeResult
from .status import FG, NEW_X
from .validation import (as_gradient, as_scalar_f, as_x0,
                         check_solver_options, unpack_fg)
from .workspace import (G, G_PREV, N_FIELDS, S_PAIRS, X_PREV, Y_PAIRS,
                        float_field, layout, state_of)

EPS = float(np.finfo(float).eps)

__all__ = ["fmin_l_bfgs_b", "minimize"]


# ---------------------------------------------------------------------------
# objective adapters: each returns (f, g, number_of_f_calls) for a point x
# ---------------------------------------------------------------------------

def _make_objective(fun, jac, args, n, lower, upper, abs_step, rel_step):
    """Build ``evaluate(x) -> (f, g, calls of fun)`` for the three ways of
    giving the gradient: with f (jac True), separately (callable), or by
    forward differences (jac None)."""
    shape = (n,)
    f64 = np.dtype(np.float64)
    ndarray = np.ndarray

    # the checks below are the fast paths of as_scalar_f / as_gradient,
    # inlined because they run once per evaluation
    if jac is True:
        def evaluate(x):
            out = fun(x, *args)
            if type(out) is tuple and len(out) == 2:
                f, g = out
            else:
                f, g = unpack_fg(out)
            if type(f) is not float:
                f = as_scalar_f(f)
            if not (type(g) is ndarray and g.dtype is f64 and
                    g.shape == shape):
                g = as_gradient(g, n)
            return f, g, 1
    elif callable(jac):
        def evaluate(x):
            f = fun(x, *args)
            if type(f) is not float:
                f = as_scalar_f(f)
            g = jac(x, *args)
            if not (type(g) is ndarray and g.dtype is f64 and
                    g.shape == shape):
                g = as_gradient(g, n)
            return f, g, 1
    else:
        def f_only(xx, *a):
            return as_scalar_f(fun(xx, *a))

        def evaluate(x):
            f = f_only(x, *args)
            g, used = forward_difference(f_only, x, f, args, lower, upper,
                                         abs_step=abs_step, rel_step=rel_step)
            return f, g, 1 + used
    return evaluate


def _callback_adapter(callback):
    """Return ``call(x, f) -> halt`` for old-style ``callback(xk)`` and
    new-style ``callback(intermediate_result)`` callbacks (and callbacks
    already wrapped by scipy.optimize.minimize)."""
    if callback is None:
        return None
    new_style = hasattr(callback, "stop_iteration")
    if not new_style:
        try:
            params = set(inspect.signature(callback).parameters)
        except (TypeError, ValueError):
            params = set()
        new_style = params == {"intermediate_result"}
    if new_style:
        def call(x, f):
            res = OptimizeResult(x=x.copy(), fun=f)
            try:
                if hasattr(callback, "stop_iteration"):
                    callback(res)
                else:
                    callback(intermediate_result=res)
            except StopIteration:
                if hasattr(callback, "stop_iteration"):
                    callback.stop_iteration = True
                return True
            return False
    else:
        def call(x, f):
            try:
                callback(x.copy())
            except StopIteration:
                return True
            return False
    return call


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


def _entry_point(dispatcher, *example_args):
    """``overload_entry`` after compiling (or loading from the cache)."""
    dispatcher(*example_args)
    return overload_entry(dispatcher, example_args)


@functools.lru_cache(maxsize=None)
def _entries():
    """Direct entries of ``setup_at`` and ``step_at``."""
    notice_if_cold(setup_at, step_at)
    x, lo, up, nbd = np.zeros(1), np.zeros(1), np.ones(1), np.full(1, 2,
                                                                     np.int32)
    offsets, size, _ = layout(1, 1, False)
    buf, addresses = np.zeros(size // 8), np.empty(N_FIELDS, np.int64)
    setup = _entry_point(setup_at, buf, offsets, addresses, x, lo, up, nbd,
                         1, 1e7, 1e-5, 20, 15000, 15000)
    return setup, _entry_point(step_at, addresses, 1, 1)


class _Solve:
    """The work buffer of one solve and its layout; the problem's arrays
    (x0, which becomes x, lower, upper, nbd) are used in place."""

    __slots__ = ("buf", "lay", "addresses", "x", "m")

    def __init__(self, x0, lower, upper, nbd, m, factr, pgtol, maxls,
                 maxiter, maxfun):
        n = x0.shape[0]
        self.lay = lay = layout(n, m, False)
        self.buf = np.zeros(lay.size >> 3)
        self.addresses = np.empty(N_FIELDS, np.int64)
        self.x = x0
        self.m = m = int(m)
        _entries()[0](self.buf, lay.offsets, self.addresses, x0, lower, upper,
                      nbd, int(m), float(factr), float(pgtol), int(maxls),
                      int(maxiter), int(maxfun))

    def field(self, k):
        """Float64 field k of length n (a view)."""
        return float_field(self.buf, self.lay, k, self.x.shape[0])

    def state(self):
        """The state record, a (1,) view."""
        return state_of(self.buf, self.lay)


class _Log:
    """Per-iteration log for ``iprint``/``disp`` (scipy made them no-ops),
    with L-BFGS-B's levels: 0 a summary at the end; 1..98 also a line every
    ``iprint`` iterations (iteration, f, projected-gradient norm, step,
    evaluations, variables at a bound); 99 and 100 a line every iteration;
    above 100 also x and g every iteration."""

    def __init__(self, iprint: int, n: int, m: int):
        self.every = 1 if iprint >= 99 else iprint
        self.vectors = iprint > 100
        print(f"L-BFGS-B (lbfgsb_numba): n = {n}, m = {m}")
        if iprint > 0:
            print(f"{'it':>6} {'f':>23} {'|proj g|':>12} {'step':>10} "
                  f"{'nfev':>7} {'at bound':>9}")

    def iteration(self, x, lower, upper, st, g):
        if self.every > 0 and int(st["nit"][0]) % self.every == 0:
            at_bound = int(np.count_nonzero((x == lower) | (x == upper)))
            print(f"{int(st['nit'][0]):6d} {float(st['f'][0]):23.15e} "
                  f"{float(st['sbgnrm'][0]):12.5e} {float(st['stp'][0]):10.3e} "
                  f"{int(st['nfev'][0]):7d} {at_bound:9d}")
            if self.vectors:
                print(f"       x = {np.array2string(x, precision=8)}\n"
                      f"       g = {np.array2string(g, precision=8)}")

    def final(self, message, nit, nfev, f, pgnorm):
        print(f"{message}\n  iterations {nit}, evaluations {nfev}, "
              f"f = {f:.15e}, |proj g| = {pgnorm:.5e}")


def _last_accepted(solve):
    """(x, f, g) of the last accepted iterate (not a line-search trial)."""
    st = solve.state()
    if int(st["phase"][0]) == PHASE_SEARCH:
        return (solve.field(X_PREV).copy(), float(st["f_old"][0]),
                solve.field(G_PREV).copy())
    return solve.x.copy(), float(st["f"][0]), solve.field(G).copy()


def _run_python(solve, lower, upper, evaluate, callback, log):
    """The reverse-communication loop with a Python objective.
    Returns (final task code, njev)."""
    x, addresses, m = solve.x, solve.addresses, solve.m
    n = x.shape[0]
    st = solve.state()
    f_slot = st["f"]
    nfev_slot = st["nfev"]
    stop_slot = st["stop_request"]
    g_slot = solve.field(G)
    advance = _entries()[1]
    nfev = njev = 0
    task = advance(addresses, n, m)  # START: asks for f and g at x0
    try:
        while True:
            if task == FG:
                f, g, used = evaluate(x.copy())
                f_slot[0] = f
                g_slot[:] = g
                nfev += used
                njev += 1
            elif task == NEW_X:
                nfev_slot[0] = nfev  # the driver checks maxfun next
                if callback is not None and callback(x, float(f_slot[0])):
                    stop_slot[0] = 1
                if log is not None:
                    log.iteration(x, lower, upper, st, g_slot)
            else:
                return task, njev
            task = advance(addresses, n, m)
    finally:
        nfev_slot[0] = nfev


def _solve(fun, x0, args, jac, bounds, m, ftol, gtol, abs_step, rel_step,
           maxfun, maxiter, maxls, callback, iprint, minimize_api=False):
    """Common core of fmin_l_bfgs_b and minimize; returns OptimizeResult.
    With ``minimize_api``, scipy.optimize.minimize's conventions: every
    variable fixed by its bounds returns without a solve, and a
    StopIteration from the callback ends with status 99."""
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    x0 = as_x0(x0)
    n = x0.shape[0]
    lower, upper, nbd = normalize_bounds(bounds, n)
    factr = ftol / EPS
    check_solver_options(m, factr, gtol, maxiter, maxfun, maxls,
                         abs_step if abs_step is not None else 1e-8)
    if minimize_api and bounds is not None and (lower == upper).all():
        return _all_fixed(fun, lower, args, jac)

    if (callback is None and iprint < 0 and isinstance(fun, CPUDispatcher)
            and (jac is True or jac is None or
                 isinstance(jac, CPUDispatcher))):
        from .compiled import solve_compiled
        res = solve_compiled(fun, jac, x0, args, lower, upper, nbd, m, factr,
                             gtol, maxfun, maxiter, maxls, abs_step, rel_step)
    else:
        res = _solve_python(fun, x0, args, jac, lower, upper, nbd, m, factr,
                            gtol, abs_step, rel_step, maxfun, maxiter, maxls,
                            callback, iprint, minimize_api)
    if jac is None:
        _unknown_fixed_gradient(res, lower, upper)
    return res


def _solve_python(fun, x0, args, jac, lower, upper, nbd, m, factr, gtol,
                  abs_step, rel_step, maxfun, maxiter, maxls, callback, iprint,
                  halt_status_99):
    """The solve with a Python objective (reverse communication)."""
    n = x0.shape[0]
    evaluate = _make_objective(fun, jac, args, n, lower, upper, abs_step,
                               rel_step)
    solve = _Solve(x0, lower, upper, nbd, m, factr, gtol, maxls, maxiter,
                   maxfun)
    log = _Log(iprint, n, m) if iprint >= 0 else None
    try:
        task, njev = _run_python(solve, lower, upper, evaluate,
                                 _callback_adapter(callback), log)
    except BaseException as exc:
        _attach_last_accepted(exc, solve)
        raise
    st = solve.state()[0]
    res = _result(solve, task, st["f"], st["nit"], st["nfev"], njev,
                  st["head"], st["col"], maxiter, maxfun, log, st["sbgnrm"])
    if halt_status_99 and int(st["stop_request"]):
        res.update(success=False, status=99,
                   message="`callback` raised `StopIteration`.")
    return res


def _unknown_fixed_gradient(res, lower, upper):
    """With finite differences the gradient of a fixed variable (l == u) is
    never evaluated: report it as NaN, like scipy (whose differences divide
    0 by 0 there), while the solver itself used 0."""
    fixed = lower == upper
    if fixed.any():
        res["jac"][fixed] = np.nan


def _attach_last_accepted(exc, solve):
    """Attach the last accepted iterate to an exception from user code."""
    x_best, f_best, g_best = _last_accepted(solve)
    st = solve.state()
    exc.lbfgsb_result = OptimizeResult(
        x=x_best, fun=f_best, jac=g_best, nit=int(st["nit"][0]),
        nfev=int(st["nfev"][0]), success=False, status=2,
        message="interrupted by an exception from user code")
    if hasattr(exc, "add_note"):
        exc.add_note("lbfgsb_numba: the last accepted iterate is in this "
                     "exception's .lbfgsb_result (x, fun, jac, nit, nfev)")


def _result(solve, task, f, nit, nfev, njev, head, col, maxiter, maxfun,
            log=None, sbgnrm=0.0):
    """OptimizeResult of a finished solve; x is the solve's own array."""
    task, nit, nfev, njev = int(task), int(nit), int(nfev), int(njev)
    f = float(f)
    warnflag = _status.warnflag(task, nit, nfev, maxiter, maxfun)
    message = _status.message(task)
    if log is not None:
        log.final(message, nit, nfev, f, float(sbgnrm))
    index = solve.lay.index
    return OptimizeResult(
        fun=f, jac=solve.field(G).copy(), nfev=nfev, njev=njev, nit=nit,
        status=warnflag, message=message, x=solve.x, success=(warnflag == 0),
        hess_inv=LbfgsInvHessProduct.from_buffer(
            solve.buf, index[S_PAIRS], index[Y_PAIRS], solve.m,
            solve.x.shape[0], int(head), int(col)))


def _iprint_from(iprint, disp):
    if disp is not None and disp is not False:
        if disp is True:
            return 1
        return int(disp) if int(disp) > 0 else -1
    if disp is False:
        return -1
    if iprint is None:
        return -1
    return int(iprint)


def fmin_l_bfgs_b(func: Callable[..., Any], x0: Any,
                  fprime: Optional[Callable[..., Any]] = None,
                  args: tuple = (), approx_grad: int = 0,
                  bounds: Any = None, m: int = 10, factr: float = 1e7,
                  pgtol: float = 1e-5, epsilon: float = 1e-8,
                  iprint: int = -1, maxfun: int = 15000,
                  maxiter: int = 15000, disp: Optional[int] = None,
                  callback: Optional[Callable[..., Any]] = None,
                  maxls: int = 20) -> tuple[np.ndarray, float, dict]:
    """Minimise func(x, *args) subject to bounds with L-BFGS-B.

    Same signature, semantics and return value as
    ``scipy.optimize.fmin_l_bfgs_b``: returns ``(x, f, d)`` with
    ``d = {'grad', 'task', 'funcalls', 'nit', 'warnflag'}``.  Differences:
    ``iprint``/``disp`` print a real per-iteration log; a Numba-compiled
    ``func`` runs the whole solve in compiled code; bounds may also be given
    as two arrays ``(lower, upper)``.

    References: Byrd, Lu, Nocedal & Zhu, SIAM J. Sci. Comput. 16(5), 1995;
    Zhu, Byrd, Lu & Nocedal, ACM TOMS 23(4), 1997; Morales & Nocedal, ACM
    TOMS 38(1), 2011.
    """
    if approx_grad:
        jac = None
    elif fprime is None:
        jac = True
    else:
        jac = fprime
    res = _solve(func, x0, tuple(args), jac, bounds, m, factr * EPS, pgtol,
                 epsilon, None, maxfun, maxiter, maxls, callback,
                 _iprint_from(iprint, disp))
    d = {"grad": res["jac"], "task": res["message"],
         "funcalls": res["nfev"], "nit": res["nit"],
         "warnflag": res["status"]}
    return res["x"], res["fun"], d


_KNOWN_OPTIONS = {"maxcor", "ftol", "gtol", "eps", "maxfun", "maxiter",
                  "maxls", "finite_diff_rel_step", "iprint", "disp",
                  "callback", "workers"}


def minimize(fun: Callable[..., Any], x0: Any, args: tuple = (),
             jac: Any = None, bounds: Any = None, tol: Optional[float] = None,
             callback: Optional[Callable[..., Any]] = None,
             options: Optional[dict] = None, **kwargs: Any) -> OptimizeResult:
    """``scipy.optimize.minimize(method='L-BFGS-B')`` with this solver.

    ``jac``: True (fun returns (f, g)), a callable, None (forward
    differences with absolute step ``eps``) or '2-point' (relative step).
    ``options``: maxcor, ftol, gtol, eps, maxfun, maxiter, maxls,
    finite_diff_rel_step, iprint, disp.  ``tol`` sets ftol and gtol.
    Returns an OptimizeResult with x, fun, jac, nit, nfev, njev, status,
    success, message, hess_inv.

    Also works as ``scipy.optimize.minimize(fun, x0, method=minimize, ...)``
    (scipy then passes hess, hessp, constraints and the options as keywords).
    """
    if not isinstance(args, tuple):
        args = (args,)  # as scipy.optimize.minimize does
    if np.ndim(x0) > 1:
        raise ValueError("'x0' must only have one dimension.")
    opts = dict(options or {})
    for key in ("hess", "hessp"):
        if kwargs.pop(key, None) is not None:
            warnings.warn(f"L-BFGS-B does not use {key}", RuntimeWarning,
                          stacklevel=2)
    constraints = kwargs.pop("constraints", None)
    if constraints is not None and len(constraints) if hasattr(
            constraints, "__len__") else constraints:
        raise ValueError("constraints: L-BFGS-B handles only bounds")
    if "tol" in kwargs:
        tol = kwargs.pop("tol") if tol is None else tol
    opts.update(kwargs)
    unknown = set(opts) - _KNOWN_OPTIONS
    if unknown:
        warnings.warn(f"Unknown solver options: {', '.join(sorted(unknown))}",
                      RuntimeWarning, stacklevel=2)
    if tol is not None:
        opts.setdefault("ftol", tol)
        opts.setdefault("gtol", tol)
    if callback is None:
        callback = opts.get("callback")
    maxcor = opts.get("maxcor", 10)
    ftol = opts.get("ftol", 2.2204460492503131e-09)
    gtol = opts.get("gtol", 1e-5)
    eps = opts.get("eps", 1e-8)
    maxfun = opts.get("maxfun", 15000)
    maxiter = opts.get("maxiter", 15000)
    maxls = opts.get("maxls", 20)
    rel_step = opts.get("finite_diff_rel_step", None)
    iprint = _iprint_from(opts.get("iprint", -1), opts.get("disp", None))

    if callable(jac) or jac is True:
        grad = jac
        abs_step = None
    elif isinstance(jac, str):
        if jac != "2-point":
            raise ValueError(f"jac: unsupported finite-difference scheme "
                             f"{jac!r} (use '2-point', True, a callable or "
                             f"None)")
        grad = None
        abs_step = None
        if rel_step is None:
            rel_step = "default"
    elif jac is None or jac is False:
        grad = None
        abs_step = eps
    else:
        raise TypeError(f"jac must be True, a callable, None or '2-point', "
                        f"got {type(jac).__name__}")
    return _solve(fun, x0, args, grad, bounds, maxcor, ftol, gtol, abs_step,
                  rel_step, maxfun, maxiter, maxls, callback, iprint,
                  minimize_api=True)


def _all_fixed(fun, lower, args, jac):
    """scipy.optimize.minimize's answer when every variable is fixed by its
    bounds (l == u): no solve, one evaluation of f (the gradient is known
    only when ``fun`` returns it: jac=True; NaN otherwise)."""
    x = lower.copy()
    if jac is True:
        f, g = unpack_fg(fun(x.copy(), *args))
        g = as_gradient(g, x.shape[0])
    else:
        f = fun(x.copy(), *args)
        g = np.full(x.shape, np.nan)
    return OptimizeResult(
        x=x, fun=as_scalar_f(f), jac=g, nit=0, nfev=1, njev=0, status=0,
        success=True, message="All independent variables were fixed by bounds.",
        hess_inv=LbfgsInvHessProduct(np.empty((0, x.shape[0])),
                                     np.empty((0, x.shape[0]))))
