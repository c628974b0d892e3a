"""Checkpoints: a state taken after any number of evaluations resumes to
the same bits (in this process and in a fresh one); corrupt, truncated and
foreign states give a clear ValueError."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lbfgsb_numba as lb
from lbfgsb_numba import LbfgsbSolver
from lbfgsb_numba.checkpoint import (FORMAT_VERSION, check_state,
                                     load_state, state_checksum)
from oracle_problems import PROBLEMS, python_wrapper, tridiag
from test_ask_tell import assert_same_solve, drive
from test_properties import _nonconvex, _quadratic, boxed_problems

HERE = os.path.dirname(os.path.abspath(__file__))

# unbounded (two-loop step), bounded small (dense B), bounded n = 20
# (compact B with the K factor), a fit with args
TRIDIAG_20 = (tridiag, np.zeros(20), [(-0.5, 0.9)] * 20,
              (np.sin(np.arange(20.0)) * 2,))
CASES = {p.name: (p.fg, p.x0, p.bounds, p.args) for p in PROBLEMS
         if p.name in ("rosenbrock_2", "rosenbrock_10_box",
                       "exp_fit_bounded")}
CASES["tridiag_20_box"] = TRIDIAG_20


def advanced(case, k, **options):
    """A solver after k evaluations told."""
    fg, x0, bounds, args = case
    solver = LbfgsbSolver(x0, bounds, **options)
    for _ in range(k):
        if solver.done:
            break
        solver.tell(*fg(solver.ask(), *args))
    return solver


@pytest.mark.parametrize("name", sorted(CASES))
def test_resume_after_every_evaluation(name, tmp_path):
    case = CASES[name]
    options = {"maxcor": 3} if name == "tridiag_20_box" else {}
    ref = drive(advanced(case, 0, **options), case[0], case[3])[0]
    path = tmp_path / "state.npz"
    for k in range(ref.nfev + 1):
        solver = advanced(case, k, **options)
        if k % 2:
            solver.save(path)
            resumed = LbfgsbSolver.load(path)
        else:
            resumed = LbfgsbSolver.from_state(solver.state())
        assert resumed.nfev == solver.nfev == k
        assert resumed.nit == solver.nit and resumed.done == solver.done
        assert_same_solve(drive(resumed, case[0], case[3])[0], ref)
        # the original goes on unaffected
        assert_same_solve(drive(solver, case[0], case[3])[0], ref)


def test_state_is_plain_data():
    state = advanced(CASES["rosenbrock_2"], 10).state()
    assert state["n"] == 2 and state["m"] == 10
    assert state["format_version"] == FORMAT_VERSION
    for key, value in state.items():
        assert isinstance(value, (np.ndarray, np.generic)), key
        assert np.asarray(value).dtype != object
    assert state["s_pairs"].shape == (10, 2) and state["state.nfev"] == 10
    assert check_state(state) == (2, 10)


_RESUME_SCRIPT = """
import json, sys
import numpy as np
sys.path.insert(0, {tests!r})
from lbfgsb_numba import LbfgsbSolver
from test_checkpoint import CASES
from test_ask_tell import drive
out = []
for name, path in json.loads(sys.argv[1]):
    case = CASES[name]
    res = drive(LbfgsbSolver.load(path), case[0], case[3])[0]
    out.append([[float(v).hex() for v in res.x], float(res.fun).hex(),
                res.nit, res.nfev, res.message])
print(json.dumps(out))
"""


def test_resume_in_a_fresh_process(tmp_path):
    jobs, expected = [], []
    for name in ("rosenbrock_10_box", "tridiag_20_box"):
        case = CASES[name]
        ref = drive(advanced(case, 0), case[0], case[3])[0]
        for k in (0, 1, ref.nfev // 2, ref.nfev - 1):
            path = str(tmp_path / f"{name}_{k}.npz")
            advanced(case, k).save(path)
            jobs.append([name, path])
            expected.append([[v.hex() for v in ref.x], ref.fun.hex(),
                             ref.nit, ref.nfev, ref.message])
    script = _RESUME_SCRIPT.format(tests=HERE)
    env = dict(os.environ)
    # the package, and the benchmark problems that oracle_problems imports
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(HERE),
         os.path.join(os.path.dirname(HERE), "asv_benchmarks"),
         env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", script, json.dumps(jobs)],
                         capture_output=True, text=True, env=env,
                         check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == expected


# ------------------------------------------------------------ bad states

def _resigned(state, **changes):
    """A copy of state with entries changed and a valid checksum (to reach
    the checks behind the checksum)."""
    bad = dict(state)
    bad.update(changes)
    bad["checksum"] = np.str_(state_checksum(bad))
    return bad


@pytest.fixture(scope="module")
def state():
    return advanced(CASES["rosenbrock_10_box"], 20).state()


@pytest.mark.parametrize("change, match", [
    ({"format_version": np.int64(99)}, "version 99"),
    ({"format": np.str_("something else")}, "not an lbfgsb_numba"),
    ({"state.col": np.int64(11)}, "col"),
    ({"state.col": np.int64(-1)}, "col"),
    ({"state.head": np.int64(10)}, "head"),
    ({"state.phase": np.int64(7)}, "phase"),
    ({"state.m": np.int64(5)}, "state.m"),
    ({"state.nfree": np.int64(11)}, "nfree"),
    ({"state.dense": np.int64(0)}, "dense"),
    ({"state.constrained": np.int64(0)}, "constrained"),
    ({"search.task": np.int64(9)}, "line-search"),
    ({"free_active": np.full(10, 10, np.int32)}, "free_active"),
    ({"bound_type": np.full(10, 5, np.int32)}, "bound_type"),
    ({"lower": np.full(10, np.nan)}, "bounds"),
    ({"changed": np.full(10, -1, np.int32)}, "changed"),
    ({"where": np.full(10, 4, np.int32)}, "where"),
    ({"state.stop_request": np.int64(2)}, "stop_request"),
    ({"state.phase": np.int64(4), "state.task": np.int64(3)}, "task code"),
    ({"s_pairs": np.zeros((10, 9))}, "s_pairs"),
    ({"sy": np.zeros((10, 10), np.float32)}, "sy"),
    ({"n": np.int64(11)}, "shape"),
    ({"state.nit": np.float64(3.0)}, "state.nit"),
    ({"extra": np.zeros(1)}, "unknown"),
])
def test_inconsistent_states_are_refused(state, change, match):
    with pytest.raises(ValueError, match=match):
        LbfgsbSolver.from_state(_resigned(state, **change))


def test_altered_or_truncated_states_are_refused(state):
    altered = dict(state)
    altered["g"] = state["g"] + 1e-12
    with pytest.raises(ValueError, match="checksum"):
        LbfgsbSolver.from_state(altered)
    missing = dict(state)
    del missing["y_pairs"]
    with pytest.raises(ValueError, match="missing"):
        LbfgsbSolver.from_state(missing)
    with pytest.raises(ValueError, match="dict"):
        LbfgsbSolver.from_state([1, 2])


def test_corrupt_files_give_value_errors(state, tmp_path):
    case = CASES["rosenbrock_10_box"]
    ref = drive(advanced(case, 0), case[0], case[3])[0]
    good = tmp_path / "good.npz"
    LbfgsbSolver.from_state(state).save(good)
    data = good.read_bytes()
    bad = tmp_path / "bad.npz"
    # truncated anywhere
    for cut in np.linspace(0, len(data) - 1, 12).astype(int):
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="solver state"):
            LbfgsbSolver.load(bad)
    # one byte flipped anywhere: refused, or (a byte nobody reads) the same
    # solve as before
    for pos in np.linspace(0, len(data) - 1, 40).astype(int):
        flipped = bytearray(data)
        flipped[pos] ^= 0x5A
        bad.write_bytes(bytes(flipped))
        try:
            solver = LbfgsbSolver.load(bad)
        except ValueError as exc:
            assert "solver state" in str(exc)
        else:
            assert_same_solve(drive(solver, case[0], case[3])[0], ref)
    # foreign files
    np.savez(bad, a=np.zeros(3))
    with pytest.raises(ValueError, match="not an lbfgsb_numba"):
        load_state(bad)
    with open(bad, "wb") as out:
        np.save(out, np.zeros(3))
    with pytest.raises(ValueError, match="not a .npz"):
        load_state(bad)
    bad.write_bytes(b"hello, not a checkpoint")
    with pytest.raises(ValueError, match="solver state"):
        load_state(bad)
    with pytest.raises(FileNotFoundError):
        load_state(tmp_path / "none.npz")


# ------------------------------------------------------------ properties

@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(boxed_problems(), st.sampled_from(["convex", "nonconvex"]),
       st.floats(0.0, 1.0), st.sampled_from([2, 5]))
def test_random_problems_resume_from_any_point(problem, kind, where, m):
    """Random boxes (infinite sides, fixed variables, x0 outside): every
    valid state passes the checks and resumes to the uninterrupted solve,
    which is minimize's."""
    lower, upper, x0, seed = problem
    fg = (_quadratic if kind == "convex" else _nonconvex)(seed, x0.size)
    bounds = list(zip(lower, upper))  # (lower, upper) reads as pairs at n = 2
    ref = lb.minimize(fg, x0, jac=True, bounds=bounds,
                      options={"maxcor": m})
    k = int(round(where * ref.nfev))
    solver = LbfgsbSolver(x0, bounds, maxcor=m)
    for _ in range(k):
        if solver.done:
            break
        solver.tell(*fg(solver.ask()))
    resumed = LbfgsbSolver.from_state(solver.state())
    assert_same_solve(drive(resumed, fg)[0], ref)


def test_copies_and_pickles_are_independent_solvers():
    import copy
    import pickle
    case = CASES["rosenbrock_10_box"]
    ref = drive(advanced(case, 0), case[0], case[3])[0]
    solver = advanced(case, 15)
    copies = [copy.copy(solver), copy.deepcopy(solver),
              pickle.loads(pickle.dumps(solver))]
    for other in copies:
        assert other._addresses[0] != solver._addresses[0]
    for other in copies + [solver]:  # each goes on alone, same bits
        assert_same_solve(drive(other, case[0], case[3])[0], ref)


# ------------------------------------------- minimize's periodic checkpoint


class _Interrupted(Exception):
    """The objective's way of killing the run (a crash, a lost node)."""


def _dying_after(fg, calls):
    """fg that raises _Interrupted on its evaluation number ``calls + 1``."""
    count = [0]

    def fun(x, *args):
        count[0] += 1
        if count[0] > calls:
            raise _Interrupted
        return fg(x, *args)
    return fun


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("every", [1, 3])
def test_minimize_resumes_from_its_periodic_checkpoint(name, every, tmp_path):
    fg, x0, bounds, args = CASES[name]
    options = {"maxcor": 3} if name == "tridiag_20_box" else {}
    ref = lb.minimize(python_wrapper(fg), x0, args=args, jac=True,
                      bounds=bounds, options=options)
    assert ref.nit > every
    path = tmp_path / "run.npz"
    # the checkpoint does not change the solve; the file holds the state
    # after the last iteration that is a multiple of k and not the final one
    full = lb.minimize(python_wrapper(fg), x0, args=args, jac=True,
                       bounds=bounds, options={**options, "checkpoint": path,
                                               "checkpoint_every": every})
    assert_same_solve(full, ref)
    assert LbfgsbSolver.load(path).nit == (ref.nit - 1) // every * every
    # interrupted from the evaluation after the first checkpoint on
    first = advanced(CASES[name], 0, **options)
    while first.nit < every:
        first.tell(*fg(first.ask(), *args))
    for calls in sorted({first.nfev, (first.nfev + ref.nfev) // 2,
                         ref.nfev - 1}):
        os.remove(path)
        with pytest.raises(_Interrupted):
            lb.minimize(_dying_after(fg, calls), x0, args=args, jac=True,
                        bounds=bounds, options={**options,
                                                "checkpoint": str(path),
                                                "checkpoint_every": every})
        resumed = LbfgsbSolver.load(path)
        assert resumed.nit % every == 0 and 0 < resumed.nfev <= calls
        assert_same_solve(drive(resumed, fg, args)[0], ref)
        assert not [p for p in os.listdir(tmp_path) if p != "run.npz"]


def test_periodic_checkpoint_with_a_compiled_objective(tmp_path):
    """An @njit objective runs through the Python loop to write the
    checkpoints; the solve stays the same."""
    fg, x0, bounds, args = CASES["exp_fit_bounded"]
    ref = lb.minimize(fg, x0, args=args, jac=True, bounds=bounds)
    path = tmp_path / "run.npz"
    res = lb.minimize(fg, x0, args=args, jac=True, bounds=bounds,
                      options={"checkpoint": path, "checkpoint_every": 2})
    assert_same_solve(res, ref)
    resumed = LbfgsbSolver.load(path)
    assert resumed.nit == (ref.nit - 1) // 2 * 2
    assert_same_solve(drive(resumed, fg, args)[0], ref)


def _quadratic_fg(x):
    return float(np.sum((x - 3.0) ** 2)), 2.0 * (x - 3.0)


@pytest.mark.parametrize("options, error, match", [
    ({"checkpoint_every": 2}, ValueError, "checkpoint_every: needs"),
    ({"checkpoint": "run.npz", "checkpoint_every": 0}, ValueError,
     "checkpoint_every: expected an integer >= 1"),
    ({"checkpoint": "run.npz", "checkpoint_every": 2.0}, ValueError,
     "checkpoint_every"),
    ({"checkpoint": "run.npz", "checkpoint_every": True}, ValueError,
     "checkpoint_every"),
    ({"checkpoint": 3}, TypeError, "checkpoint: expected a file path"),
    ({"checkpoint": ""}, ValueError, "checkpoint: expected a non-empty"),
    ({"checkpoint": "no/such/dir/run.npz"}, ValueError,
     "checkpoint: the directory .* does not exist"),
    ({"checkpoint": "."}, ValueError, "checkpoint: .* is a directory"),
])
def test_bad_checkpoint_options(options, error, match, tmp_path,
                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=match):
        lb.minimize(_quadratic_fg, np.zeros(3), jac=True,
                    bounds=[(0, 2)] * 3, options=options)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("jac", [None, "2-point", "3-point"])
def test_checkpoint_needs_the_objectives_gradient(jac, tmp_path):
    with pytest.raises(ValueError, match="checkpoint: needs the gradient"):
        lb.minimize(lambda x: float(np.sum((x - 3.0) ** 2)), np.zeros(3),
                    jac=jac, options={"checkpoint": tmp_path / "run.npz"})
