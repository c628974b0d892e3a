"""The solver's options in one record, their defaults, and the one check
that reads them (like LBFGS++'s ``LBFGSBParam``).

Every entry point (``fmin_l_bfgs_b``, ``minimize``, ``njit_minimize``,
``minimize_batch`` and its Dask and vectorised forms, ``LbfgsbSolver``,
``BatchSolver``, the BoTorch drop-in) builds a ``SolverOptions`` with
``solver_options`` and hands the record down as it is: to the driver
(``driver.initialize_arrays`` copies it into the state record), through
the compiled entries (``entries.setup`` takes its address) and into the
batch kernels.  Nothing passes the three integer limits one by one, so
they cannot be swapped on the way.

The defaults are scipy's (``scipy.optimize.fmin_l_bfgs_b`` and
``minimize(method='L-BFGS-B')``): ``ftol = factr * EPS`` with the default
``factr = 1e7``.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import numpy as np
from numba import typeof
from numba.core.typing.typeof import typeof_impl

# machine epsilon of float64 (2**-52): the unit of factr (``ftol = factr *
# EPS``) and the rounding threshold of the kernels
EPS = float(np.finfo(np.float64).eps)

# defaults (scipy's), under fmin_l_bfgs_b's names and minimize's
MAXCOR = 10            # m: correction pairs kept
FACTR = 1e7            # factr: stop when the relative reduction of f is
FTOL = FACTR * EPS     # <= factr * EPS = ftol (2.2204460492503131e-09)
GTOL = 1e-5            # pgtol: stop when max |projected gradient| <= pgtol
FD_STEP = 1e-8         # epsilon / eps: absolute finite-difference step
MAXITER = 15000        # iterations
MAXFUN = 15000         # evaluations of the objective
MAXLS = 20             # line-search steps per iteration

NO_LIMIT = 2 ** 62  # an iteration/evaluation count never reached
_FROM_FTOL = object()  # factr not given: ftol / EPS
_new_record = tuple.__new__


class SolverOptions(NamedTuple):
    """The options of one solve, checked and converted
    (``solver_options``): what the driver reads.

    m : int
        Correction pairs kept (scipy's ``maxcor``), >= 1.
    factr : float
        Stop when the relative reduction of f is <= ``factr * EPS``
        (``ftol / EPS``), >= 0.
    pgtol : float
        Stop when the largest entry of the projected gradient is <=
        ``pgtol`` (``gtol``), >= 0.
    maxiter : int
        Stop when ``nit >= maxiter`` (<= 0: after the first iteration;
        ``NO_LIMIT``: never).
    maxfun : int
        Stop when ``nfev > maxfun`` (idem).
    maxls : int
        Line-search steps per iteration, >= 1.

    Also the record passed to compiled code (a Numba named tuple of
    int64 and float64: the same type from Python and from ``@njit``
    code).
    """
    m: int
    factr: float
    pgtol: float
    maxiter: int
    maxfun: int
    maxls: int

    def keywords(self) -> dict:
        """These options as ``minimize_batch``'s keywords (maxcor, ftol,
        gtol, maxiter, maxfun, maxls), which ``solver_options`` reads back
        to the same record (``ftol = factr * EPS`` is exact: EPS is a power
        of two)."""
        return {"maxcor": self.m, "ftol": self.factr * EPS,
                "gtol": self.pgtol, "maxiter": self.maxiter,
                "maxfun": self.maxfun, "maxls": self.maxls}


# Numba's type of every record (``solver_options`` stores Python ints and
# floats): int64 and float64 fields
OPTIONS_TYPE = typeof(SolverOptions(1, 1.0, 1.0, 1, 1, 1))


@typeof_impl.register(SolverOptions)
def _typeof_options(value, context):
    """``OPTIONS_TYPE`` at once (Numba's typing of a named tuple, field by
    field, takes some 20 us, paid where a record is passed to a compiled
    function from Python without a direct entry)."""
    return OPTIONS_TYPE


def _check_int(name, value, minimum):
    """An integer option (Python or numpy integer; not bool, not float:
    scipy's L-BFGS-B refuses a float ``maxcor`` or ``maxls`` too)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _iteration_limit(name, value, round_up):
    """``maxiter``/``maxfun`` as the integer the driver compares with,
    read as scipy reads them: any real number.  scipy stops when
    ``nit >= maxiter`` (so 100.1 allows 101 iterations: rounded up) and
    when ``nfev > maxfun`` (rounded down); values <= 0 stop after the first
    iteration, like scipy's; +inf means no limit.  NaN is refused (scipy
    silently ignores the limit)."""
    if type(value) is int:
        return min(value, NO_LIMIT)
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if isinstance(value, (numbers.Integral, np.integer)):
        return min(int(value), NO_LIMIT)
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"{name} must not be NaN")
    if v >= NO_LIMIT:
        return NO_LIMIT
    if v <= -NO_LIMIT:
        return -NO_LIMIT
    return int(math.ceil(v) if round_up else math.floor(v))


def _check_tol(name, value):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not v >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")


def _check_step(epsilon):
    """The finite-difference step (scalar or one per variable): real,
    > 0 and finite."""
    eps = np.asarray(epsilon)
    if np.iscomplexobj(eps) or not np.issubdtype(eps.dtype, np.number):
        raise TypeError(f"epsilon (eps) must be real, got {epsilon!r}")
    if not (eps > 0).all() or not np.isfinite(eps).all():
        raise ValueError(f"epsilon (eps) must be > 0 and finite, got {epsilon!r}")


def solver_options(*, m: Any = MAXCOR, ftol: Any = FTOL,
                   factr: Any = _FROM_FTOL, pgtol: Any = GTOL,
                   maxiter: Any = MAXITER, maxfun: Any = MAXFUN,
                   maxls: Any = MAXLS,
                   epsilon: Any = None) -> SolverOptions:
    """The one check of the solver's options; returns them as the
    ``SolverOptions`` record the solver reads.

    Keywords only (scipy's ``maxcor``, ``gtol`` are ``m``, ``pgtol``
    here).  ``factr``, when given, replaces ``ftol`` (``factr = ftol /
    EPS`` otherwise).  ``epsilon``: a finite-difference step to check too
    (scalar or array; not kept in the record), None for none.

    Read as scipy 1.17 reads them: ``m`` and ``maxls`` integers >= 1
    (a float, even 5.0, or a bool is a TypeError); ``maxiter``/``maxfun``
    any real number, ``maxiter`` rounded up and ``maxfun`` down, <= 0
    stops after the first iteration, +inf (or anything >= ``NO_LIMIT``)
    is no limit, NaN a ValueError; ``factr`` and ``pgtol`` real and >= 0.
    Raises TypeError/ValueError naming the first bad option.
    """
    if factr is _FROM_FTOL:
        factr = ftol / EPS
    if not (type(m) is int and type(maxiter) is int and
            type(maxfun) is int and type(maxls) is int and
            type(factr) is float and type(pgtol) is float and
            min(m, maxiter, maxfun, maxls) >= 1 and factr >= 0.0 and
            pgtol >= 0.0 and max(maxiter, maxfun) <= NO_LIMIT):
        _check_int("m (maxcor)", m, 1)
        maxiter = _iteration_limit("maxiter", maxiter, round_up=True)
        maxfun = _iteration_limit("maxfun", maxfun, round_up=False)
        _check_int("maxls", maxls, 1)
        _check_tol("factr (ftol)", factr)
        _check_tol("pgtol (gtol)", pgtol)
        m, maxls, factr, pgtol = int(m), int(maxls), float(factr), float(pgtol)
    if epsilon is not None and not (type(epsilon) is float and
                                    0.0 < epsilon < math.inf):
        _check_step(epsilon)
    # (the record's fields in its order, without parsing keywords: this
    # runs once per solve, a few us matter for small ones)
    return _new_record(SolverOptions, (m, factr, pgtol, maxiter, maxfun, maxls))
