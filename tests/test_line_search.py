"""The line search (``line_search.py``): the More-Thuente search on
one-dimensional functions with known minimisers, and the first trial step
above its maximum step.

The first trial step above the maximum step:

With a target point x + d in the box, the largest feasible step stpmax
along d is 1 up to rounding, and the first trial step is 1; when x + d lies
an ulp beyond a bound, stpmax = 1 - O(eps) < stp.  The More-Thuente search
rejects stp > stpmax as an input error; L-BFGS-B 3.0 (and scipy) then
evaluate x + d anyway and go on from the previous search's saved state.
Here the search starts from stpmax instead; only when no step at all stays
in the box (stpmax = 0) does it fail, with a message that says so.

The driver's search kernel is called directly (``_search`` after
``start_search``, as ``step_at`` does after ``_iterate``) with a direction built to overshoot
a bound by rounding.
"""
import numpy as np
import pytest
from numba import njit

from lbfgsb_numba import status
from lbfgsb_numba.bounds import normalize_bounds
from lbfgsb_numba.driver import _search
from lbfgsb_numba.line_search import (FTOL, GTOL, SEARCH_CONVERGED,
                                      SEARCH_ERROR, SEARCH_FG, SEARCH_START,
                                      SEARCH_WARNING, csrch, start_search)
from lbfgsb_numba.options import solver_options
from lbfgsb_numba.status import FG, NEW_X
from lbfgsb_numba.workspace import (BOUND_TYPE, DIRECTION, G_PREV, LOWER,
                                    SEARCH, SEARCH_DTYPE, STATE, UPPER,
                                    X_CAUCHY, X_PREV, G, X, workspace_views)
from kernel_harness import initialize, new_workspace
from oracle_problems import step_through

C = np.array([0.6, 0.4, 0.3])  # minimiser of the quadratic, in the box
LOWER_BOUND = np.array([0.0, 0.0, -1.0])
UPPER_BOUND = np.array([1.0, 1.0, 1.0])


def shifted_quadratic(x):
    return float(np.sum((x - C) ** 2)), 2.0 * (x - C)


@njit(cache=True)
def search_along(addresses, n, m, d):
    """Start the line search from the current iterate along d (target
    x + d), as the driver does after computing a direction; returns what
    the search kernel returns (FG, NEW_X, -1 for a memory restart, or a
    final task code)."""
    ws = workspace_views(addresses, n, m)
    st = ws[STATE][0]
    ls = ws[SEARCH][0]
    x, direction, target = ws[X], ws[DIRECTION], ws[X_CAUCHY]
    for i in range(n):
        direction[i] = d[i]
        target[i] = x[i] + d[i]
    start_search(x, ws[LOWER], ws[UPPER], ws[BOUND_TYPE], direction,
                 ws[X_PREV], ws[G], ws[G_PREV], st, st.iter)
    ls.task = SEARCH_START
    st.nonfinite_trial = 0
    return _search(ws, st, ls)


def solver_after(iterations):
    """A workspace (and its buffer and addresses) of the bounded quadratic
    after ``iterations`` accepted iterates."""
    n, m = 3, 5
    lower, upper, nbd = normalize_bounds(list(zip(LOWER_BOUND, UPPER_BOUND)),
                                         n)
    ws, buf, addresses = new_workspace(n, m)
    initialize(ws, np.array([0.5, 0.5, 0.5]), lower, upper, nbd,
               solver_options(m=m))
    assert step_through(ws, shifted_quadratic, iterations) == NEW_X
    return ws, buf, addresses, n, m


def overshooting_direction(ws):
    """A descent direction d along one variable j whose target x_j + d_j
    is one ulp of d_j beyond its lower bound (d_j = l_j - x_j rounded
    away from zero)."""
    x, g = ws.x, ws.g
    j = int(np.argmax(g))
    assert g[j] > 0.0 and x[j] > LOWER_BOUND[j]
    d = np.zeros_like(x)
    d[j] = np.nextafter(LOWER_BOUND[j] - x[j], -np.inf)
    assert x[j] + d[j] < LOWER_BOUND[j]
    assert g @ d < 0.0
    return d


def test_first_step_above_stpmax_by_rounding_starts_at_stpmax():
    ws, buf, addresses, n, m = solver_after(1)
    st = ws.state[0]
    x_before = ws.x.copy()
    d = overshooting_direction(ws)
    result = search_along(addresses, n, m, d)
    # the search goes on: one evaluation requested at the largest step
    # that stays in the box, just below 1 (the reference's dcsrch rejects
    # stp = 1 > stpmax as an input error)
    assert result == FG
    assert 1.0 - 1e-12 < st["stp_max"] < 1.0
    assert st["stp"] == st["stp_max"]
    assert int(st["n_trials"]) == 1  # the first trial point of the search
    assert np.all(ws.x >= LOWER_BOUND) and np.all(ws.x <= UPPER_BOUND)
    np.testing.assert_allclose(ws.x, x_before + d, rtol=0, atol=1e-15)
    # and the solve carries on to a normal end from there
    f, g = shifted_quadratic(ws.x.copy())
    st["f"], ws.g[:] = f, g
    task = step_through(ws, shifted_quadratic)
    assert status.message(task).startswith("CONVERGENCE")
    np.testing.assert_allclose(ws.x, np.clip(C, LOWER_BOUND, UPPER_BOUND),
                               atol=1e-6)


def test_no_feasible_step_restarts_the_memory_then_names_the_reason():
    ws, buf, addresses, n, m = solver_after(2)
    st = ws.state[0]
    # put variable 1 on its lower bound and ask to move below it: no step
    # along d stays in the box (stpmax = 0)
    ws.x[1] = LOWER_BOUND[1]
    d = np.array([0.1, -0.2, 0.0])
    ws.g[:] = -d  # d is a descent direction
    assert st["col"] > 0
    result = search_along(addresses, n, m, d)
    assert result == -1  # memory dropped; the driver recomputes d
    assert st["col"] == 0
    # with the memory empty the solve stops, naming the reason (not "not a
    # descent direction", which d is)
    result = search_along(addresses, n, m, d)
    assert result == status.ABNORMAL_NO_FEASIBLE_STEP
    text = status.message(result)
    assert text.startswith("ABNORMAL: ") and "NO FEASIBLE STEP" in text
    assert "NOT A DESCENT" not in text
    assert 821 <= result <= 829
    assert status.warnflag(result, 3, 4, 10, 10) == 2


# ---------------------------------------------------------------------------
# the More-Thuente search (``csrch``) on one-dimensional functions
# ---------------------------------------------------------------------------

@njit(cache=True)
def phi(kind, a):
    """phi(a) and phi'(a) of five test functions with phi'(0) < 0:
    0: (a - 0.3)^2 (minimiser 0.3, inside the first step),
    1: (a - 100)^2 (minimiser 100, far beyond it),
    2: -a / (a^2 + 2) (More & Thuente's function 1, minimiser sqrt 2),
    3: (a + 0.004)^5 - 2 (a + 0.004)^4 (their function 2, minimiser 1.596),
    4: -a (decreasing without end)."""
    if kind == 0:
        return (a - 0.3) ** 2, 2.0 * (a - 0.3)
    if kind == 1:
        return (a - 100.0) ** 2, 2.0 * (a - 100.0)
    if kind == 2:
        q = a * a + 2.0
        return -a / q, (a * a - 2.0) / (q * q)
    if kind == 3:
        t = a + 0.004
        return t ** 5 - 2.0 * t ** 4, 5.0 * t ** 4 - 8.0 * t ** 3
    return -a, -1.0


@njit(cache=True)
def search_1d(kind, stp, stpmax, record, max_trials):
    """Run ``csrch`` from phi(0) with the first trial ``stp`` until it stops
    asking for evaluations; returns (the step, the trials evaluated)."""
    ls = record[0]
    f0, g0 = phi(kind, 0.0)
    ls.task = SEARCH_START
    stp = csrch(f0, g0, stp, 0.0, stpmax, ls)
    trials = 0
    while ls.task == SEARCH_FG and trials < max_trials:
        f, g = phi(kind, stp)
        trials += 1
        stp = csrch(f, g, stp, 0.0, stpmax, ls)
    return stp, trials


def _search_1d(kind, stp, stpmax=1e10):
    record = np.zeros(1, dtype=SEARCH_DTYPE)
    step, trials = search_1d(kind, stp, stpmax, record, 50)
    return step, trials, int(record[0]["task"])


def _strong_wolfe(kind, step):
    f0, g0 = phi(kind, 0.0)
    f, g = phi(kind, step)
    return f <= f0 + FTOL * step * g0 and abs(g) <= GTOL * abs(g0)


@pytest.mark.parametrize("kind, minimiser", [(0, 0.3), (1, 100.0),
                                             (2, np.sqrt(2.0))])
@pytest.mark.parametrize("first", [1e-3, 1e-1, 1.0, 10.0, 1e3])
def test_search_ends_at_a_strong_wolfe_step(kind, minimiser, first):
    step, trials, task = _search_1d(kind, first)
    assert task == SEARCH_CONVERGED
    assert 1 <= trials <= 20
    assert _strong_wolfe(kind, step), step
    if kind == 0 and first > minimiser:
        # bracketed at once: the cubic through two points of a quadratic
        # is the quadratic, so its minimiser is the exact one
        assert step == pytest.approx(minimiser, rel=1e-12)
        assert trials == 2


@pytest.mark.parametrize("first", [1e-3, 1e-1, 1.0, 10.0, 1e3])
def test_flat_function_ends_near_its_minimiser_by_the_interval_test(first):
    """phi'(0) = -5e-7 on More & Thuente's function 2: |phi'| <= gtol
    |phi'(0)| only very near the minimiser, so the search stops when the
    bracket is shorter than xtol = 0.1 of its end (a warning), with a step
    within 2% of the minimiser and a sufficient decrease."""
    step, trials, task = _search_1d(3, first)
    assert task == SEARCH_WARNING and trials <= 20
    assert step == pytest.approx(1.6 - 0.004, rel=0.02)
    assert phi(3, step)[0] <= phi(3, 0.0)[0] + FTOL * step * phi(3, 0.0)[1]


def test_acceptable_first_step_is_kept():
    """A first trial that meets both conditions is returned as it is."""
    for kind, first in ((0, 0.4), (1, 150.0), (2, 1.0), (2, 10.0)):
        assert _strong_wolfe(kind, first)
        assert _search_1d(kind, first) == (first, 1, SEARCH_CONVERGED)


def test_search_stops_at_stpmax_when_phi_keeps_decreasing():
    step, trials, task = _search_1d(4, 1.0, stpmax=37.5)
    assert (step, task) == (37.5, SEARCH_WARNING) and trials <= 5
    # a first trial outside [stpmin, stpmax] is an input error
    assert _search_1d(4, 40.0, stpmax=37.5)[2] == SEARCH_ERROR
