"""Task codes exchanged between the driver kernel and its callers, and the
status texts they map to.

The driver (`lbfgsb_numba.driver.step`) returns a *task code*:

* ``FG`` (3) -- evaluate f and g at ``ws.x`` and call ``step`` again;
* ``NEW_X`` (1) -- a new iterate has been accepted (``ws.x``, ``ws.g``, f);
* any code >= 400 -- the solve is over; ``message(code)`` gives the text.

The final texts are the ones scipy prints, so that ``d['task']`` and
``res.message`` compare equal with scipy's; the ``ABNORMAL`` family carries a
reason where scipy prints none.
"""
from numba.extending import register_jitable

NEW_X = 1
FG = 3

CONV_GRAD = 401
CONV_F = 402
STOP_MAXFUN = 502
STOP_MAXITER = 504
STOP_CALLBACK = 505
ABNORMAL_LINE_SEARCH = 801
ABNORMAL_NONFINITE_START = 802
ABNORMAL_NONFINITE_SEARCH = 803
ABNORMAL_NOT_DESCENT = 804
ABNORMAL_NO_FEASIBLE_STEP = 821
# input errors met in compiled code (811-819), reported as a status there
# (from Python the same errors raise ValueError before or during the solve)
ABNORMAL_GRADIENT_LENGTH = 811
ERROR_BOUND_NAN = 812
ERROR_LOWER_ABOVE_UPPER = 813
ERROR_INFINITE_BOUND = 814
ERROR_X0_NOT_FINITE = 815

_MESSAGES = {
    NEW_X: "NEW_X",
    FG: "FG",
    CONV_GRAD: "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL",
    CONV_F: "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH",
    STOP_MAXFUN: "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT",
    STOP_MAXITER: "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT",
    STOP_CALLBACK: "STOP: CALLBACK REQUESTED HALT",
    ABNORMAL_LINE_SEARCH: (
        "ABNORMAL: LINE SEARCH FAILED: NO STEP WITH SUFFICIENT DECREASE "
        "ALONG THE STEEPEST-DESCENT DIRECTION"),
    ABNORMAL_NONFINITE_START: (
        "ABNORMAL: OBJECTIVE OR GRADIENT IS NOT FINITE (NAN OR INF) AT THE "
        "STARTING POINT"),
    ABNORMAL_NONFINITE_SEARCH: (
        "ABNORMAL: LINE SEARCH FAILED: OBJECTIVE OR GRADIENT NOT FINITE AT "
        "THE TRIAL POINTS; THE LAST FINITE ITERATE IS RETURNED"),
    ABNORMAL_NOT_DESCENT: (
        "ABNORMAL: STEEPEST-DESCENT DIRECTION IS NOT A DESCENT DIRECTION "
        "(ROUNDING ERRORS PREVENT PROGRESS)"),
    ABNORMAL_NO_FEASIBLE_STEP: (
        "ABNORMAL: LINE SEARCH CANNOT START: NO FEASIBLE STEP ALONG THE "
        "STEEPEST-DESCENT DIRECTION (ROUNDING ERRORS PREVENT PROGRESS)"),
    ABNORMAL_GRADIENT_LENGTH: (
        "ABNORMAL: THE GRADIENT RETURNED BY THE OBJECTIVE DOES NOT HAVE THE "
        "LENGTH OF X0; THE LAST ACCEPTED ITERATE IS RETURNED"),
    ERROR_BOUND_NAN: "ERROR: NAN IN A BOUND",
    ERROR_LOWER_ABOVE_UPPER: (
        "ERROR: NO FEASIBLE SOLUTION: A LOWER BOUND IS GREATER THAN ITS "
        "UPPER BOUND"),
    ERROR_INFINITE_BOUND: (
        "ERROR: NO FEASIBLE SOLUTION: A LOWER BOUND OF +INF OR AN UPPER "
        "BOUND OF -INF"),
    ERROR_X0_NOT_FINITE: "ERROR: X0 CONTAINS NAN OR INF",
}


def message(code: int) -> str:
    """Status text for a task code (scipy's text where scipy has one)."""
    return _MESSAGES[int(code)]


@register_jitable
def is_input_error(code: int) -> bool:
    """True for the codes of bad input met in compiled code (811-819)."""
    return 811 <= code <= 819


@register_jitable
def warnflag(code: int, nit: int, nfev: int, maxiter: int, maxfun: int) -> int:
    """scipy's ``warnflag``/``status``: 0 converged, 1 too many evaluations or
    iterations, 2 stopped for another reason (always 2 for an input
    error, codes 811-819).  A plain function from Python, compiled into
    the callers in ``@njit`` code (the compiled entries and the batch
    kernels): the one rule for every path."""
    if 400 <= code < 500:
        return 0
    if is_input_error(code):
        return 2
    if nfev > maxfun or nit >= maxiter:
        return 1
    return 2
