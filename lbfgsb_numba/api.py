"""Python shell with scipy's API: ``fmin_l_bfgs_b`` and ``minimize``.

All validation and conversion happens once, before the loop; the loop only
crosses into the compiled driver (``driver.step_at``), calls the user's
objective, and copies f and g into the workspace.  When the objective is a
Numba-compiled function (and no Python callback or log is requested) the
whole solve runs in compiled code instead (``compiled.py``).
"""
from __future__ import annotations

import inspect
import warnings
from typing import Any, Callable, Optional

import numpy as np
from numba.core.registry import CPUDispatcher

from .bounds import normalize_bounds
from .finite_diff import difference_gradient, normalize_steps
from .hess_inv import LbfgsInvHessProduct
from .options import (EPS, FACTR, FD_STEP, FTOL, GTOL, MAXCOR, MAXFUN,
                      MAXITER, MAXLS, solver_options)
from .result import OptimizeResult, result_class
from .solve import (Solve, attach_last_accepted, driver_entries,
                    solve_result)
from .status import FG, NEW_X
from .validation import (as_gradient, as_scalar_f, as_x0, iprint_level,
                         optimize_warning, unpack_fg)
from .warm_start import warm_start_pairs
from .workspace import G

__all__ = ["fmin_l_bfgs_b", "minimize"]


# ---------------------------------------------------------------------------
# objective adapters: each returns (f, g, number_of_f_calls) for a point x
# ---------------------------------------------------------------------------

def _make_objective(fun, jac, args, n, lower, upper, abs_step, rel_step,
                    scheme="2-point"):
    """Build ``evaluate(x) -> (f, g, calls of fun)`` for the three ways of
    giving the gradient: with f (jac True), separately (callable), or by
    finite differences (jac None; ``scheme`` '2-point', '3-point' or
    'cs')."""
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
        abs_steps, rel_steps = normalize_steps(abs_step, rel_step, n)

        def f_only(xx, *a):
            return as_scalar_f(fun(xx, *a))

        differenced = fun if scheme == "cs" else f_only

        def evaluate(x):
            f = f_only(x, *args)
            g, used = difference_gradient(differenced, x, f, args, lower,
                                          upper, abs_steps, rel_steps, scheme)
            return f, g, 1 + used
    return evaluate


def callback_adapter(callback):
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
            res = result_class()(x=x.copy(), fun=f)
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
                  f"{float(st['pg_norm'][0]):12.5e} "
                  f"{float(st['stp'][0]):10.3e} "
                  f"{int(st['nfev'][0]):7d} {at_bound:9d}")
            if self.vectors:
                print(f"       x = {np.array2string(x, precision=8)}\n"
                      f"       g = {np.array2string(g, precision=8)}")

    def final(self, message, nit, nfev, f, pgnorm):
        print(f"{message}\n  iterations {nit}, evaluations {nfev}, "
              f"f = {f:.15e}, |proj g| = {pgnorm:.5e}")


def _run_python(solve, lower, upper, evaluate, callback, log,
                after_iteration=None):
    """The reverse-communication loop with a Python objective;
    ``after_iteration()`` (optional, ``periodic_checkpoint``) is called
    after every new iterate when the solve goes on (the first point of the
    next line search pending).  Returns (final task code, njev)."""
    x, addresses, m = solve.x, solve.addresses, solve.m
    n = x.shape[0]
    st = solve.state()
    f_slot = st["f"]
    nfev_slot = st["nfev"]
    stop_slot = st["stop_request"]
    g_slot = solve.field(G)
    advance = driver_entries()[1]
    nfev = njev = 0
    task = advance(addresses, n, m, False)  # START: asks for f and g at x0
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
                task = advance(addresses, n, m, False)
                if after_iteration is not None and task == FG:
                    after_iteration()  # the state ask/tell has here
                continue
            else:
                return task, njev
            task = advance(addresses, n, m, False)
    finally:
        nfev_slot[0] = nfev


def _solve(fun, x0, args, jac, bounds, *, m, ftol, gtol, maxiter, maxfun,
           maxls, abs_step, rel_step, callback, iprint, minimize_api=False,
           scheme="2-point", warm_start=None, checkpoint=None):
    """Common core of fmin_l_bfgs_b and minimize; returns OptimizeResult.
    The options (m ... maxls, and abs_step) are the user's values, checked
    here (``options.solver_options``) after x0 and the bounds.
    ``jac``: True, a callable, or None for finite differences by
    ``scheme`` ('2-point', '3-point', 'cs') with ``abs_step`` or
    ``rel_step``.  With ``minimize_api``, scipy.optimize.minimize's
    conventions: every variable fixed by its bounds returns without a
    solve, and a StopIteration from the callback ends with status 99.
    ``warm_start``: see ``warm_start.warm_start_pairs``; ``checkpoint``:
    (path, k) from ``periodic_checkpoint.checkpoint_options`` (the Python
    loop then runs, also for a compiled objective)."""
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    x0 = as_x0(x0)
    n = x0.shape[0]
    lower, upper, nbd = normalize_bounds(bounds, n)
    options = solver_options(m=m, ftol=ftol, pgtol=gtol, maxiter=maxiter,
                             maxfun=maxfun, maxls=maxls, epsilon=abs_step)
    pairs = warm_start_pairs(warm_start, n, options.m)
    if minimize_api and bounds is not None and (lower == upper).all():
        return _all_fixed(fun, lower, args, jac)

    if (callback is None and iprint < 0 and checkpoint is None
            and isinstance(fun, CPUDispatcher)
            and (jac is True or isinstance(jac, CPUDispatcher) or
                 (jac is None and scheme != "cs"))):
        from .compiled import solve_compiled
        res = solve_compiled(fun, jac, x0, args, lower, upper, nbd, options,
                             abs_step, rel_step, scheme, pairs)
    else:
        res = _solve_python(fun, x0, args, jac, lower, upper, nbd, options,
                            abs_step, rel_step, callback, iprint,
                            minimize_api, scheme, pairs, checkpoint)
    if jac is None:
        _unknown_fixed_gradient(res, lower, upper)
    return res


def _solve_python(fun, x0, args, jac, lower, upper, nbd, options, abs_step,
                  rel_step, callback, iprint, halt_status_99,
                  scheme="2-point", pairs=None, checkpoint=None):
    """The solve with a Python objective (reverse communication), with
    ``options`` (a ``SolverOptions``)."""
    n = x0.shape[0]
    evaluate = _make_objective(fun, jac, args, n, lower, upper, abs_step,
                               rel_step, scheme)
    solve = Solve(x0, lower, upper, nbd, options, pairs)
    log = _Log(iprint, n, solve.m) if iprint >= 0 else None
    after_iteration = None
    if checkpoint is not None:
        from .periodic_checkpoint import iteration_writer
        after_iteration = iteration_writer(checkpoint, solve, lower, upper,
                                           nbd)
    try:
        task, njev = _run_python(solve, lower, upper, evaluate,
                                 callback_adapter(callback), log,
                                 after_iteration)
    except BaseException as exc:
        attach_last_accepted(exc, solve)
        raise
    st = solve.state()[0]
    res = solve_result(solve, task, st["f"], st["nit"], st["nfev"], njev,
                       st["head"], st["col"], log, st["pg_norm"])
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


def fmin_l_bfgs_b(func: Callable[..., Any], x0: Any,
                  fprime: Optional[Callable[..., Any]] = None,
                  args: tuple = (), approx_grad: int = 0,
                  bounds: Any = None, m: int = MAXCOR, factr: float = FACTR,
                  pgtol: float = GTOL, epsilon: float = FD_STEP,
                  iprint: int = -1, maxfun: int = MAXFUN,
                  maxiter: int = MAXITER, disp: Optional[int] = None,
                  callback: Optional[Callable[..., Any]] = None,
                  maxls: int = MAXLS) -> tuple[np.ndarray, float, dict]:
    """Minimise ``func(x, *args)`` subject to bounds with L-BFGS-B.

    A drop-in for ``scipy.optimize.fmin_l_bfgs_b``: same signature,
    semantics and return value.  Each iteration takes the generalized Cauchy
    point of the limited-memory quadratic model along the projected gradient
    path, minimises the model over the variables that are still free, and
    searches along the resulting direction inside the box [1]_ [2]_ [3]_.
    When ``func`` (and ``fprime``) are Numba ``@njit`` functions and no
    ``callback`` or log is asked for, the whole solve runs compiled.

    Parameters
    ----------
    func : callable
        ``func(x, *args)``: x of shape (n,).  Returns f and its gradient
        ``(f, g)`` when ``fprime`` is None and ``approx_grad`` is false, else
        f alone.
    x0 : array_like, shape (n,)
        Starting point (projected into the bounds).
    fprime : callable, optional
        ``fprime(x, *args) -> g`` of shape (n,).
    args : tuple, optional
        Extra arguments passed to ``func`` and ``fprime``.
    approx_grad : bool, optional
        Approximate the gradient by forward differences (step ``epsilon``).
    bounds : optional
        None, n pairs ``(min, max)`` (None or +-inf for a missing side), a
        ``Bounds``-like object with ``lb``/``ub``, or two arrays
        ``(lower, upper)``.
    m : int, optional
        Number of correction pairs kept (the limited memory).
    factr : float, optional
        Stop when ``(f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= factr *
        eps`` (eps the machine epsilon).
    pgtol : float, optional
        Stop when the largest entry of the projected gradient is <= pgtol.
    epsilon : float, optional
        Absolute step of the forward differences (``approx_grad``).
    iprint : int, optional
        Log level, as scipy's (< 0: silent; 0: one summary; > 0: per
        iteration).
    maxfun, maxiter : int, optional
        Largest number of evaluations and of iterations.
    disp : int, optional
        Overrides ``iprint`` when given.
    callback : callable, optional
        ``callback(xk)`` after each iteration; raising StopIteration ends the
        solve at xk.
    maxls : int, optional
        Largest number of line-search steps per iteration.

    Returns
    -------
    x : ndarray, shape (n,)
        The best point found.
    f : float
        ``func`` at x.
    d : dict
        ``grad`` (gradient at x), ``task`` (the final message), ``funcalls``
        (evaluations), ``nit`` (iterations) and ``warnflag`` (0 converged,
        1 too many evaluations or iterations, 2 other stop).

    Raises
    ------
    ValueError, TypeError
        For bad input (x0, bounds, options, or an objective whose values have
        the wrong shape), naming the argument.  Exceptions raised by ``func``
        propagate unchanged.

    See Also
    --------
    minimize : the same solver behind ``scipy.optimize.minimize``'s API.

    Notes
    -----
    Differences from scipy: ``iprint``/``disp`` print a real per-iteration
    log; a Numba-compiled ``func`` runs the whole solve in compiled code;
    bounds may also be given as two arrays ``(lower, upper)``.

    References
    ----------
    .. [1] Byrd, Lu, Nocedal & Zhu, SIAM J. Sci. Comput. 16(5), 1995.
    .. [2] Zhu, Byrd, Lu & Nocedal, "Algorithm 778", ACM TOMS 23(4), 1997.
    .. [3] Morales & Nocedal, "Remark on Algorithm 778", ACM TOMS 38(1), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from lbfgsb_numba import fmin_l_bfgs_b
    >>> def f_and_grad(x):
    ...     return float(np.sum((x - 3.0) ** 2)), 2.0 * (x - 3.0)
    >>> x, f, d = fmin_l_bfgs_b(f_and_grad, np.zeros(5), bounds=[(0, 2)] * 5)
    >>> print(x, f, d["nit"], d["funcalls"], d["warnflag"])
    [2. 2. 2. 2. 2.] 5.0 1 2 0
    """
    if approx_grad:
        jac = None
    elif fprime is None:
        jac = True
    else:
        jac = fprime
    res = _solve(func, x0, tuple(args), jac, bounds, m=m, ftol=factr * EPS,
                 gtol=pgtol, maxiter=maxiter, maxfun=maxfun, maxls=maxls,
                 abs_step=epsilon, rel_step=None, callback=callback,
                 iprint=iprint_level(iprint, disp))
    d = {"grad": res["jac"], "task": res["message"],
         "funcalls": res["nfev"], "nit": res["nit"],
         "warnflag": res["status"]}
    return res["x"], res["fun"], d


# minimize's options and their defaults (scipy's _minimize_lbfgsb)
_OPTION_DEFAULTS = {
    "maxcor": MAXCOR, "ftol": FTOL, "gtol": GTOL, "eps": FD_STEP,
    "maxfun": MAXFUN, "maxiter": MAXITER, "maxls": MAXLS,
    "finite_diff_rel_step": None, "iprint": -1, "disp": None,
    "callback": None, "workers": None, "warm_start": None,
    "checkpoint": None, "checkpoint_every": None}
_FD_SCHEMES = ("2-point", "3-point", "cs")
_NOT_GIVEN = object()  # a keyword scipy.optimize.minimize always passes


def _minimize_options(options, option_keywords, tol, via_scipy):
    """minimize's options, every one filled in: ``options`` (a dict)
    updated by options given as keywords; ``tol`` is the default of ftol
    and gtol.  Called by
    ``scipy.optimize.minimize(method=minimize)`` (``via_scipy``), every
    option arrives as a keyword, and unknown ones get scipy's warning
    "Unknown solver options: ..."; called directly, an unknown keyword is a
    TypeError as for any Python function, and unknown keys of ``options``
    get the warning."""
    given = option_keywords
    if options:
        given = {**options, **option_keywords} if option_keywords else options
    if option_keywords and not via_scipy:
        for name in option_keywords:
            if name not in _OPTION_DEFAULTS:
                raise TypeError(f"minimize() got an unexpected keyword "
                                f"argument '{name}'")
    opts = _OPTION_DEFAULTS.copy()
    if tol is not None:
        opts["ftol"] = opts["gtol"] = tol
    if given:
        unknown = [str(name) for name in given
                   if name not in _OPTION_DEFAULTS]
        if unknown:
            warnings.warn(f"Unknown solver options: {', '.join(unknown)}",
                          optimize_warning(),
                          stacklevel=4 if via_scipy else 3)
        opts.update(given)
    return opts


def _check_method_arguments(method, hess, hessp, constraints, via_scipy):
    """``method`` must name L-BFGS-B; hess and hessp are unused (scipy's
    warning); constraints are refused."""
    if method is not None and not (isinstance(method, str) and
                                   method.lower() == "l-bfgs-b"):
        raise ValueError(
            f"method: lbfgsb_numba.minimize solves with L-BFGS-B only, got "
            f"{method!r} (leave it out, or use scipy.optimize.minimize for "
            f"other methods)")
    for name, value in (("hess", hess), ("hessp", hessp)):
        if value is not _NOT_GIVEN and value is not None:
            kind = ("Hessian information" if name == "hess" else
                    "Hessian-vector product information")
            warnings.warn(f"Method L-BFGS-B does not use {kind} ({name}).",
                          RuntimeWarning, stacklevel=4 if via_scipy else 3)
    if constraints is not _NOT_GIVEN and constraints is not None:
        given = (len(constraints) > 0 if hasattr(constraints, "__len__")
                 else True)
        if given:
            raise ValueError("constraints: L-BFGS-B handles only bounds")


def _gradient_scheme(jac, opts):
    """(jac for _solve, scheme, abs_step, rel_step) from minimize's
    ``jac``: True or a callable is used as given; '2-point', '3-point' and
    'cs' are finite differences with the relative step
    ``finite_diff_rel_step``; None/False forward differences with the
    absolute step ``eps``."""
    if callable(jac) or jac is True:
        return jac, "2-point", None, None
    if isinstance(jac, str):
        if jac not in _FD_SCHEMES:
            raise ValueError(f"jac: unknown finite-difference scheme {jac!r} "
                             f"(use '2-point', '3-point', 'cs', True, a "
                             f"callable or None)")
        return None, jac, None, opts["finite_diff_rel_step"]
    if jac is None or jac is False:
        return None, "2-point", opts["eps"], None
    raise TypeError(f"jac must be True, a callable, None, '2-point', "
                    f"'3-point' or 'cs', got {type(jac).__name__}")


def minimize(fun: Callable[..., Any], x0: Any, args: tuple = (),
             jac: Any = None, bounds: Any = None, tol: Optional[float] = None,
             callback: Optional[Callable[..., Any]] = None,
             options: Optional[dict] = None, *, method: Optional[str] = None,
             hess: Any = _NOT_GIVEN, hessp: Any = _NOT_GIVEN,
             constraints: Any = _NOT_GIVEN,
             **option_keywords: Any) -> OptimizeResult:
    """``scipy.optimize.minimize(method='L-BFGS-B')`` with this solver.

    Also works as a custom method of scipy:
    ``scipy.optimize.minimize(fun, x0, method=minimize, ...)``; scipy then
    passes hess, hessp, constraints and the options as keywords, and unknown
    options get scipy's "Unknown solver options" warning.  The algorithm is
    L-BFGS-B 3.0 [1]_ [2]_ [3]_ (see ``fmin_l_bfgs_b``).

    Parameters
    ----------
    fun : callable
        ``fun(x, *args)``: f, or ``(f, g)`` when ``jac`` is True.  A Numba
        ``@njit`` function runs the whole solve compiled.
    x0 : array_like, shape (n,)
        Starting point (projected into the bounds).
    args : tuple, optional
        Extra arguments of ``fun`` (and ``jac``).
    jac : {True, callable, None, '2-point', '3-point', 'cs'}, optional
        True: ``fun`` returns ``(f, g)``; a callable ``jac(x, *args) -> g``;
        None: forward differences with absolute step ``eps``; '2-point'
        (forward), '3-point' (central, one-sided at a bound) or 'cs'
        (complex step; ``fun`` must accept complex x) with relative steps
        ``finite_diff_rel_step``.
    bounds : optional
        None, n pairs ``(min, max)``, a ``Bounds``-like object, or two arrays
        ``(lower, upper)``.
    tol : float, optional
        Sets ``ftol`` and ``gtol``.
    callback : callable, optional
        ``callback(xk)`` or ``callback(intermediate_result)`` after each
        iteration; raising StopIteration ends the solve (status 99).
    options : dict, optional
        maxcor, ftol, gtol, eps, maxfun, maxiter, maxls,
        finite_diff_rel_step (scalar or per variable), iprint, disp,
        callback, workers (accepted, unused), ``warm_start``: an earlier
        result (or its ``hess_inv``, or a pair (sk, yk)) whose correction
        pairs start the memory, and ``checkpoint`` (a file path) with
        ``checkpoint_every`` (k, default 1): write the solve's state there
        every k iterations, atomically, for ``LbfgsbSolver.load`` (needs
        jac=True or a callable jac).
    method : str, optional
        'L-BFGS-B' (any case); any other method is a ValueError.
    **option_keywords
        The options may also be given as keywords.

    Returns
    -------
    OptimizeResult
        ``x, fun, jac, nit, nfev, njev, status, success, message`` and
        ``hess_inv`` (an ``LbfgsInvHessProduct``); an instance of
        ``scipy.optimize.OptimizeResult`` when scipy.optimize is loaded.

    Raises
    ------
    ValueError
        Bad x0, bounds or option values, or another ``method``.
    TypeError
        An unknown keyword.

    See Also
    --------
    fmin_l_bfgs_b, minimize_batch, LbfgsbSolver

    References
    ----------
    .. [1] Byrd, Lu, Nocedal & Zhu, SIAM J. Sci. Comput. 16(5), 1995.
    .. [2] Zhu, Byrd, Lu & Nocedal, "Algorithm 778", ACM TOMS 23(4), 1997.
    .. [3] Morales & Nocedal, "Remark on Algorithm 778", ACM TOMS 38(1), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from lbfgsb_numba import minimize
    >>> def f_and_grad(x):
    ...     return float(np.sum((x - 3.0) ** 2)), 2.0 * (x - 3.0)
    >>> res = minimize(f_and_grad, np.zeros(5), jac=True, bounds=[(0, 2)] * 5,
    ...                options={"ftol": 1e-12, "gtol": 1e-8})
    >>> print(res.x, res.fun, res.nit, res.nfev, res.message)
    [2. 2. 2. 2. 2.] 5.0 1 2 CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL
    >>> print(res.hess_inv @ np.ones(5))
    [1. 1. 1. 1. 1.]
    """
    via_scipy = (hess is not _NOT_GIVEN and hessp is not _NOT_GIVEN and
                 constraints is not _NOT_GIVEN)
    _check_method_arguments(method, hess, hessp, constraints, via_scipy)
    opts = _minimize_options(options, option_keywords, tol, via_scipy)
    if not isinstance(args, tuple):
        args = (args,)  # as scipy.optimize.minimize does
    if np.ndim(x0) > 1:
        raise ValueError("'x0' must only have one dimension.")
    if callback is None:
        callback = opts["callback"]
    grad, scheme, abs_step, rel_step = _gradient_scheme(jac, opts)
    checkpoint = None
    if opts["checkpoint"] is not None or opts["checkpoint_every"] is not None:
        from .periodic_checkpoint import checkpoint_options
        checkpoint = checkpoint_options(opts["checkpoint"],
                                        opts["checkpoint_every"],
                                        grad is not None)
    return _solve(fun, x0, args, grad, bounds, m=opts["maxcor"],
                  ftol=opts["ftol"], gtol=opts["gtol"],
                  maxiter=opts["maxiter"], maxfun=opts["maxfun"],
                  maxls=opts["maxls"], abs_step=abs_step, rel_step=rel_step,
                  callback=callback,
                  iprint=iprint_level(opts["iprint"], opts["disp"]),
                  minimize_api=True, scheme=scheme,
                  warm_start=opts["warm_start"], checkpoint=checkpoint)


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
    return result_class()(
        x=x, fun=as_scalar_f(f), jac=g, nit=0, nfev=1, njev=0, status=0,
        success=True, message="All independent variables were fixed by bounds.",
        hess_inv=LbfgsInvHessProduct(np.empty((0, x.shape[0])),
                                     np.empty((0, x.shape[0]))))
