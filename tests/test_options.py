"""The options record (``lbfgsb_numba.options``): its defaults, its one
check (scipy 1.17's reading of every option, errors naming the option) used
by every entry point, and the record reaching the solver's state field by
field on every path (so that no two options can be swapped on the way)."""
import inspect
import math
import pathlib
import re

import numpy as np
import pytest
import scipy.optimize as so
from numba import njit, typeof

import lbfgsb_numba as lb
from lbfgsb_numba import checkpoint, entries, status
from lbfgsb_numba.ask_tell import LbfgsbSolver
from lbfgsb_numba.batch_ask_tell import BatchSolver
from lbfgsb_numba.botorch import fmin_l_bfgs_b_batched
from lbfgsb_numba.compiled import new_buffer, setup_problem
from lbfgsb_numba.options import (EPS, FACTR, FD_STEP, FTOL, GTOL, MAXCOR,
                                  MAXFUN, MAXITER, MAXLS, NO_LIMIT,
                                  OPTIONS_TYPE, SolverOptions,
                                  solver_options)
from lbfgsb_numba.vectorized_batch import minimize_vectorized
from lbfgsb_numba.workspace import N_FIELDS, STATE, STATE_DTYPE

X0 = np.array([3.0, -2.0])
BATCH_X0 = np.array([[3.0, -2.0], [1.5, 0.5]])
# distinct values for every option: a swap of any two shows
DISTINCT = {"m": 3, "factr": 11.0, "pgtol": 1e-7, "maxiter": 7,
            "maxfun": 19, "maxls": 5}


@njit(cache=True)
def quadratic_fg(x):
    """sum((x - 1)^2) and its gradient."""
    return np.sum((x - 1.0) ** 2), 2.0 * (x - 1.0)


def quadratic_batch_fg(X):
    return np.sum((X - 1.0) ** 2, axis=1), 2.0 * (X - 1.0)


# ----------------------------------------------------------------- defaults

def test_defaults_are_scipys():
    assert solver_options() == SolverOptions(
        m=10, factr=1e7, pgtol=1e-5, maxiter=15000, maxfun=15000, maxls=20)
    assert EPS == np.finfo(np.float64).eps == 2.0 ** -52
    assert FTOL == 2.2204460492503131e-09 and FTOL / EPS == FACTR
    assert solver_options(ftol=FTOL) == solver_options(factr=FACTR)
    scipy_fmin = inspect.signature(so.fmin_l_bfgs_b).parameters
    for name, value in (("m", MAXCOR), ("factr", FACTR), ("pgtol", GTOL),
                        ("epsilon", FD_STEP), ("maxiter", MAXITER),
                        ("maxfun", MAXFUN), ("maxls", MAXLS)):
        assert scipy_fmin[name].default == value


@pytest.mark.parametrize("entry", [
    lb.fmin_l_bfgs_b, lb.njit_minimize, lb.minimize_batch,
    minimize_vectorized, BatchSolver.__init__, LbfgsbSolver.__init__,
    fmin_l_bfgs_b_batched, "dask"])
def test_every_entry_point_has_the_same_defaults(entry):
    """The defaults in every public signature are the record's (a default
    changed in options.py changes them all)."""
    if entry == "dask":
        entry = pytest.importorskip("lbfgsb_numba.dask").minimize_batch
    defaults = solver_options()
    names = {"m": "m", "maxcor": "m", "maxiter": "maxiter",
             "maxfun": "maxfun", "maxls": "maxls", "factr": "factr",
             "pgtol": "pgtol", "gtol": "pgtol"}
    params = inspect.signature(entry).parameters
    seen = 0
    for name, field in names.items():
        if name in params and params[name].default is not None:
            assert params[name].default == getattr(defaults, field), name
            seen += 1
    if "ftol" in params and params["ftol"].default is not None:
        assert params["ftol"].default / EPS == defaults.factr
    assert seen >= 4


def test_the_values_are_written_once():
    """EPS, the default ftol and the scipy defaults are literals in
    options.py only; no other module computes machine epsilon."""
    package = pathlib.Path(lb.__file__).parent
    literals = re.compile(r"finfo\(|2\.22044604925031\d*e-(16|09)|"
                          r"^\s*EPS(MCH)?\s*=", re.MULTILINE)
    offenders = [p.name for p in package.glob("*.py")
                 if p.name != "options.py" and literals.search(p.read_text())]
    assert offenders == []


# ---------------------------------------------------------------- the check

@pytest.mark.parametrize("options, error, text", [
    ({"m": 0}, ValueError, r"m \(maxcor\) must be >= 1, got 0"),
    ({"m": 2.0}, TypeError, r"m \(maxcor\) must be an integer, got 2.0"),
    ({"m": True}, TypeError, r"m \(maxcor\) must be an integer"),
    ({"maxls": 0}, ValueError, "maxls must be >= 1, got 0"),
    ({"maxls": 5.0}, TypeError, "maxls must be an integer, got 5.0"),
    ({"maxiter": math.nan}, ValueError, "maxiter must not be NaN"),
    ({"maxfun": np.nan}, ValueError, "maxfun must not be NaN"),
    ({"maxiter": "5"}, TypeError, "maxiter must be a real number"),
    ({"maxfun": None}, TypeError, "maxfun must be a real number"),
    ({"factr": -1.0}, ValueError, r"factr \(ftol\) must be >= 0, got -1.0"),
    ({"ftol": -EPS}, ValueError, r"factr \(ftol\) must be >= 0, got -1.0"),
    ({"factr": None}, TypeError, r"factr \(ftol\) must be a real number"),
    ({"pgtol": math.nan}, ValueError, r"pgtol \(gtol\) must be >= 0"),
    ({"pgtol": 1j}, TypeError, r"pgtol \(gtol\) must be a real number"),
    ({"epsilon": 0.0}, ValueError, r"epsilon \(eps\) must be > 0"),
    ({"epsilon": [1e-8, np.inf]}, ValueError, r"epsilon \(eps\)"),
    ({"epsilon": "a"}, TypeError, r"epsilon \(eps\) must be real"),
])
def test_the_check_names_the_bad_option(options, error, text):
    with pytest.raises(error, match=text):
        solver_options(**options)


def test_the_first_bad_option_is_named():
    with pytest.raises(TypeError, match="m"):
        solver_options(m=1.5, maxls=0, pgtol=-1.0)
    with pytest.raises(ValueError, match="maxls"):
        solver_options(maxls=0, pgtol=-1.0)


@pytest.mark.parametrize("given, maxiter, maxfun", [
    (5.5, 6, 5),                       # maxiter up, maxfun down
    (5.0, 5, 5),
    (100.1, 101, 100),
    (0, 0, 0), (-3, -3, -3), (-2.5, -2, -3),  # <= 0: one iteration
    (math.inf, NO_LIMIT, NO_LIMIT),    # no limit
    (1e300, NO_LIMIT, NO_LIMIT), (-math.inf, -NO_LIMIT, -NO_LIMIT),
    (2 ** 70, NO_LIMIT, NO_LIMIT),
    (np.float32(7.2), 8, 7), (np.int32(4), 4, 4), (True, 1, 1)])
def test_iteration_limits_read_as_scipy(given, maxiter, maxfun):
    options = solver_options(maxiter=given, maxfun=given)
    assert (options.maxiter, options.maxfun) == (maxiter, maxfun)


def test_the_record_has_one_numba_type():
    """Whatever the user's types, the record holds Python ints and floats:
    one Numba type (compiled once; the type ``entries.setup`` accepts)."""
    odd = solver_options(m=np.int32(3), factr=np.float32(2.0), pgtol=0,
                         maxiter=np.float64(4.5), maxfun=np.uint8(9),
                         maxls=np.int64(4))
    assert odd == SolverOptions(m=3, factr=2.0, pgtol=0.0, maxiter=5,
                                maxfun=9, maxls=4)
    assert [type(v) for v in odd] == [int, float, float, int, int, int]
    assert typeof(odd) == OPTIONS_TYPE
    assert str(OPTIONS_TYPE) == ("SolverOptions(int64, float64, float64, "
                                 "int64, int64, int64)")


def test_the_check_takes_keywords_only():
    with pytest.raises(TypeError):
        solver_options(10, 1e7)


def test_keywords_read_back_to_the_same_record():
    for options in (solver_options(), solver_options(**DISTINCT),
                    solver_options(factr=1e-300, maxfun=math.inf)):
        back = options.keywords()
        again = solver_options(m=back["maxcor"], ftol=back["ftol"],
                               pgtol=back["gtol"], maxiter=back["maxiter"],
                               maxfun=back["maxfun"], maxls=back["maxls"])
        assert again._replace(factr=options.factr) == options
        # ftol = factr * EPS (the tolerance the driver uses) is the same
        assert again.factr * EPS == options.factr * EPS


# ------------------------------------------- every entry point, one check

def _entry_calls(fmin_name, minimize_name, value):
    """Each entry point called with one option set to ``value``."""
    fmin_kw = {fmin_name: value}
    min_kw = {minimize_name: value}
    lo, up = np.full(2, -np.inf), np.full(2, np.inf)
    calls = {
        "fmin_l_bfgs_b": lambda: lb.fmin_l_bfgs_b(quadratic_fg, X0,
                                                  **fmin_kw),
        "minimize": lambda: lb.minimize(quadratic_fg, X0, jac=True,
                                        options=min_kw),
        "njit_minimize": lambda: lb.njit_minimize(quadratic_fg, X0, lo, up,
                                                  **fmin_kw),
        "minimize_batch": lambda: lb.minimize_batch(quadratic_fg, BATCH_X0,
                                                    **min_kw),
        "vectorized": lambda: lb.minimize_batch(
            quadratic_batch_fg, BATCH_X0, vectorized=True, **min_kw),
        "LbfgsbSolver": lambda: LbfgsbSolver(X0, **min_kw),
        "BatchSolver": lambda: BatchSolver(BATCH_X0, **min_kw),
    }
    if fmin_name in ("m", "maxiter", "maxls", "pgtol"):
        botorch_kw = {"maxcor" if fmin_name == "m" else fmin_name: value}
        calls["botorch"] = lambda: fmin_l_bfgs_b_batched(
            quadratic_batch_fg, BATCH_X0, **botorch_kw)
    try:
        import lbfgsb_numba.dask as lbd
    except ImportError:
        return calls
    calls["dask"] = lambda: lbd.minimize_batch(quadratic_fg, BATCH_X0,
                                               **min_kw)
    return calls


@pytest.mark.parametrize("fmin_name, minimize_name, value, error, text", [
    ("m", "maxcor", 0, ValueError, r"m \(maxcor\) must be >= 1, got 0"),
    ("m", "maxcor", 2.5, TypeError, r"m \(maxcor\) must be an integer"),
    ("maxls", "maxls", 0, ValueError, "maxls must be >= 1, got 0"),
    ("maxiter", "maxiter", math.nan, ValueError, "maxiter must not be NaN"),
    ("maxfun", "maxfun", "5", TypeError, "maxfun must be a real number"),
    ("pgtol", "gtol", -1.0, ValueError, r"pgtol \(gtol\) must be >= 0"),
])
def test_every_entry_point_uses_the_one_check(fmin_name, minimize_name,
                                              value, error, text):
    for name, call in _entry_calls(fmin_name, minimize_name, value).items():
        with pytest.raises(error, match=text):
            call()
            pytest.fail(f"{name} accepted {minimize_name}={value!r}")


# ------------------------------------- the record reaches the solver whole

def _assert_state_holds(state, options):
    """The state record's option fields, each from its own option."""
    assert int(state["m"]) == options.m
    assert int(state["maxiter"]) == options.maxiter
    assert int(state["maxfun"]) == options.maxfun
    assert int(state["maxls"]) == options.maxls
    assert float(state["tol"]) == options.factr * EPS
    assert float(state["pgtol"]) == options.pgtol


def test_python_setup_puts_each_option_in_its_field():
    """``Solve`` -> ``driver.setup_at`` (the Python paths)."""
    solver = LbfgsbSolver(X0, maxcor=3, ftol=11.0 * EPS, gtol=1e-7,
                          maxiter=7, maxfun=19, maxls=5)
    saved = solver.state()
    state = {key: saved[f"state.{key}"] for key in STATE_DTYPE.names}
    _assert_state_holds(state, solver_options(**DISTINCT))


@njit(cache=True)
def _set_up_compiled(x0, lower, upper, options):
    buf = new_buffer(x0.shape[0], options.m)
    setup_problem(buf, x0, lower, upper, options)
    return buf


def test_compiled_setup_entry_puts_each_option_in_its_field():
    """The ``entries.setup`` cfunc (njit_minimize, minimize_batch): the
    record crosses the C ABI by address."""
    options = solver_options(**DISTINCT)
    buf = _set_up_compiled(X0, np.full(2, -np.inf), np.full(2, np.inf),
                           options)
    addresses = buf[:N_FIELDS].view(np.int64)
    start = (int(addresses[STATE]) - buf.ctypes.data) // 8
    words = STATE_DTYPE.itemsize // 8
    state = buf[start:start + words].view(STATE_DTYPE)[0]
    _assert_state_holds(state, options)


def test_batch_start_puts_each_option_in_its_field():
    """``batch_ask_tell._start_batch`` (BatchSolver, vectorized batches,
    the BoTorch drop-in)."""
    solver = BatchSolver(BATCH_X0, maxcor=3, ftol=11.0 * EPS, gtol=1e-7,
                         maxiter=7, maxfun=19, maxls=5)
    assert solver.options == solver_options(**DISTINCT)
    for state in solver._states:
        _assert_state_holds(state, solver.options)


@pytest.mark.parametrize("maxiter, maxfun, stop", [
    (1, 1000, status.STOP_MAXITER), (1000, 1, status.STOP_MAXFUN)])
def test_limits_stop_where_their_own_option_says(maxiter, maxfun, stop):
    """maxiter and maxfun act as themselves on the Python, compiled and
    njit_minimize paths (a swap would exchange the stops)."""
    x0 = np.array([30.0, -20.0])
    limits = {"maxiter": maxiter, "maxfun": maxfun}
    for fg in (quadratic_fg, quadratic_fg.py_func):
        res = lb.minimize(fg, x0, jac=True, options=limits)
        assert (res.message, res.status) == (status.message(stop), 1)
    lo, up = np.full(2, -np.inf), np.full(2, np.inf)
    res = lb.njit_minimize(quadratic_fg, x0, lo, up, **limits)
    assert (res.task, res.status) == (stop, 1)


@pytest.mark.parametrize("limits", [{"maxiter": 0}, {"maxfun": -1},
                                    {"maxiter": math.inf, "maxls": 2}])
def test_saved_states_keep_their_options(limits):
    """A checkpoint holds the options and restores them through the same
    check: limits <= 0 (scipy: stop after the first iteration) and no limit
    included; the restored solve ends as the uninterrupted one."""
    def quadratic(x):
        return float(np.sum((x - 1.0) ** 2)), 2.0 * (x - 1.0)

    def finish(solver):
        while not solver.done:
            solver.tell(*quadratic(solver.ask()))
        return solver.result()

    solver = LbfgsbSolver(np.array([30.0, -20.0]), **limits)
    solver.tell(*quadratic(solver.ask()))
    restored = LbfgsbSolver.from_state(solver.state())
    assert restored._solve.options == solver._solve.options
    alone = finish(solver)
    again = finish(restored)
    assert (again.nit, again.nfev, again.status, again.message) == \
        (alone.nit, alone.nfev, alone.status, alone.message)
    np.testing.assert_array_equal(again.x, alone.x)


@pytest.mark.parametrize("field, value, text", [
    ("state.maxls", np.int64(0), "maxls must be >= 1"),
    ("state.tol", np.float64(-1.0), r"factr \(ftol\) must be >= 0"),
    ("state.pgtol", np.float64(np.nan), r"pgtol \(gtol\) must be >= 0")])
def test_saved_options_are_checked_by_the_one_check(field, value, text):
    state = LbfgsbSolver(X0).state()
    state[field] = value
    state["checksum"] = np.str_(checkpoint.state_checksum(state))
    with pytest.raises(ValueError, match="inconsistent state: " + text):
        LbfgsbSolver.from_state(state)


# ----------------------------------------------------- the warnflag rule

@njit(cache=True)
def _compiled_warnflags(codes, counts, limits):
    out = np.empty((codes.shape[0], counts.shape[0], limits.shape[0]),
                   np.int64)
    for i in range(codes.shape[0]):
        for j in range(counts.shape[0]):
            for k in range(limits.shape[0]):
                out[i, j, k] = status.warnflag(codes[i], counts[j, 0],
                                               counts[j, 1], limits[k, 0],
                                               limits[k, 1])
    return out


def test_warnflag_is_one_rule_for_python_and_compiled_code():
    codes = np.array([status.CONV_GRAD, status.CONV_F, status.STOP_MAXFUN,
                      status.STOP_MAXITER, status.STOP_CALLBACK,
                      status.ABNORMAL_LINE_SEARCH, status.ERROR_BOUND_NAN,
                      status.ABNORMAL_GRADIENT_LENGTH])
    counts = np.array([[0, 1], [3, 4], [10, 11], [10, 30]])  # (nit, nfev)
    limits = np.array([[10, 10], [100, 100], [5, 50]])  # (maxiter, maxfun)
    compiled = _compiled_warnflags(codes, counts, limits)
    python = np.array([[[status.warnflag(int(c), int(nit), int(nfev),
                                         int(maxiter), int(maxfun))
                         for maxiter, maxfun in limits]
                        for nit, nfev in counts] for c in codes])
    np.testing.assert_array_equal(compiled, python)
    assert set(np.unique(python)) == {0, 1, 2}
    assert not hasattr(entries, "warnflag_of")
