"""Kernels compiled at install (``lbfgsb_numba/precompiled.py``): recorded
and loaded back without compiling, used only when they match this process
(Numba, llvmlite, Python, CPU, package sources), ignored when the file is
corrupt or switched off; and with the file that ``pip install`` built, a
first solve in a process with an empty Numba cache compiles nothing of the
package."""
import importlib.util
import os
import pickle
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest
from numba.core import event

import lbfgsb_numba
from lbfgsb_numba import precompiled

PACKAGE_PARENT = os.path.dirname(os.path.dirname(lbfgsb_numba.__file__))

_TINY_MODULE = """
from numba import njit

@njit(cache=True)
def scaled_sum(x, factor):
    total = 0.0
    for value in x:
        total += value * factor
    return total
"""


def _load_tiny_module(tmp_path, name):
    """A fresh module ``name`` (a new dispatcher, as in a new process) with
    the tiny kernel, attached to the precompiled kernels."""
    path = tmp_path / f"{name}_source.py"
    path.write_text(_TINY_MODULE)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    precompiled.attach(name)
    return module


class _CompileCounter(event.Listener):
    def __init__(self):
        self.names = []

    def on_start(self, ev):
        self.names.append(ev.data["dispatcher"].py_func.__qualname__)

    def on_end(self, ev):
        pass


@pytest.fixture
def artifact(tmp_path, monkeypatch):
    """``precompiled.ARTIFACT`` moved to a temporary file, nothing read."""
    path = tmp_path / "kernels.pkl"
    monkeypatch.setattr(precompiled, "ARTIFACT", path)
    monkeypatch.setattr(precompiled, "_loaded", {})
    monkeypatch.delenv(precompiled.ENV_SWITCH, raising=False)
    return path


def _write(path, manifest, entries):
    with open(path, "wb") as file:
        pickle.dump({"manifest": manifest, "entries": entries}, file)


def test_recorded_specialisation_loads_back_without_compiling(
        tmp_path, monkeypatch):
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(precompiled, "_loaded", {"entries": {}})
    name = "precompiled_tiny_kernel"
    built = _load_tiny_module(tmp_path, name)
    x = np.linspace(0.1, 1.3, 7)
    monkeypatch.setitem(precompiled.recording, "active", True)
    expected = built.scaled_sum(x, 3.0)
    recorded = {key: value for key, value in precompiled.recording.items()
                if key != "active"}
    monkeypatch.delitem(precompiled.recording, "active")
    assert list(recorded) == [
        f"njit:{name}.scaled_sum:(Array(float64, 1, 'C', False, "
        "aligned=True), float64)"]
    for key in recorded:
        precompiled.recording.pop(key)

    # a new process: an empty Numba cache, the recorded file
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "empty"))
    monkeypatch.setitem(precompiled._loaded, "entries", recorded)
    loaded = _load_tiny_module(tmp_path, name)
    counter = _CompileCounter()
    with event.install_listener("numba:compile", counter):
        got = loaded.scaled_sum(x, 3.0)
    assert counter.names == []
    assert got == expected
    assert loaded.scaled_sum.stats.cache_hits  # loaded, not compiled
    # another signature is not in the file: compiled as usual
    with event.install_listener("numba:compile", counter):
        assert loaded.scaled_sum(x.astype(np.float32), 2.0) == pytest.approx(
            2.0 * x.astype(np.float32).sum(), rel=1e-6)
    assert counter.names == ["scaled_sum"]
    sys.modules.pop(name)


def test_file_matching_this_process_is_read(artifact):
    _write(artifact, precompiled.manifest(), {"njit:a.b:()": b"x"})
    assert precompiled.available()
    assert precompiled._entries() == {"njit:a.b:()": b"x"}


@pytest.mark.parametrize("field, value", [
    ("numba", "0.0.1"), ("llvmlite", "0.0.1"), ("python", [2, 7]),
    ("cpu", ["other-os", "pentium", ""]), ("sources", "0" * 64),
    ("format", precompiled.FORMAT_VERSION + 1)])
def test_file_built_elsewhere_is_ignored(artifact, field, value):
    manifest = dict(precompiled.manifest(), **{field: value})
    _write(artifact, manifest, {"njit:a.b:()": b"x"})
    assert not precompiled.available()


@pytest.mark.parametrize("content", [b"", b"not a pickle", b"\x80\x05N."])
def test_corrupt_or_foreign_file_is_ignored(artifact, content):
    artifact.write_bytes(content)
    assert not precompiled.available()


def test_switched_off_or_missing_file_is_ignored(artifact, monkeypatch):
    assert not precompiled.available()  # no file
    _write(artifact, precompiled.manifest(), {"njit:a.b:()": b"x"})
    monkeypatch.setenv(precompiled.ENV_SWITCH, "0")
    assert not precompiled.available()


def test_sources_hash_follows_every_source_file(tmp_path):
    for name in ("driver.py", "cauchy.py"):
        (tmp_path / name).write_text(f"# {name}\n")
    before = precompiled.sources_hash(tmp_path)
    assert precompiled.sources_hash(tmp_path) == before
    (tmp_path / "cauchy.py").write_text("# cauchy.py, edited\n")
    assert precompiled.sources_hash(tmp_path) != before
    (tmp_path / "cauchy.py").write_text("# cauchy.py\n")
    assert precompiled.sources_hash(tmp_path) == before
    (tmp_path / "new_kernel.py").write_text("")
    assert precompiled.sources_hash(tmp_path) != before


_FIRST_USE_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from numba import njit
    from numba.core import ccallback, event

    compiled_here = []

    class Counter(event.Listener):
        def on_start(self, ev):
            func = ev.data["dispatcher"].py_func
            compiled_here.append(func.__module__ + "." + func.__qualname__)

        def on_end(self, ev):
            pass

    def refuse(self):
        raise SystemExit("a C entry compiled: " + self._pyfunc.__name__)

    ccallback.CFunc._compile_uncached = refuse
    event.register("numba:compile", Counter())

    import lbfgsb_numba
    from lbfgsb_numba import LbfgsbSolver, fmin_l_bfgs_b, minimize

    target = np.array([0.3, -2.0, 4.0, 1.0])

    def fg(x):
        r = x - target
        return float(r @ r), 2.0 * r

    bounds = [(0.0, 1.0), (None, 0.0), (-1.0, 2.0), (1.0, 1.0)]
    results = [minimize(fg, np.zeros(4), jac=True, bounds=bounds),
               minimize(lambda x: fg(x)[0], np.zeros(4), bounds=bounds)]
    solver = LbfgsbSolver(np.zeros(4), bounds=bounds)
    while not solver.done:
        solver.tell(*fg(solver.ask()))
    results.append(solver.result())
    for r in results:
        print(r.x.tobytes().hex(), r.nit, r.nfev, r.message)
    kernels = [n for n in compiled_here if n.startswith("lbfgsb_numba")]
    print("python path compiled:", kernels)

    @njit(cache=False)
    def fg_compiled(x):
        r = x - target
        return (r * r).sum(), 2.0 * r

    compiled_here.clear()
    r = minimize(fg_compiled, np.zeros(4), jac=True, bounds=bounds)
    print(r.x.tobytes().hex(), r.nit, r.nfev, r.message)
    solver_kernels = [n for n in compiled_here  # not the objective's loop
                      if n.startswith("lbfgsb_numba") and not n.startswith(
                          ("lbfgsb_numba.compiled.",
                           "lbfgsb_numba.compiled_checks."))]
    print("compiled path compiled:", solver_kernels)
""")


@pytest.mark.skipif(not precompiled.available(),
                    reason="no kernels precompiled at install here "
                           "(CI checks that pip install built them)")
def test_first_use_with_an_empty_cache_compiles_no_kernel(tmp_path):
    """With the file that ``pip install`` built and an empty Numba cache, a
    Python-objective solve (analytic and finite-difference gradient,
    ask/tell) compiles nothing of the package, a compiled-objective solve
    compiles only its own loop for the objective (no solver kernel, no C
    entry), and the results are bit for bit those of kernels compiled just
    in time (the file switched off, Numba's cache as it is)."""
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT)
    env.pop(precompiled.ENV_SWITCH, None)
    run = subprocess.run([sys.executable, "-c", _FIRST_USE_SCRIPT],
                         env=dict(env, NUMBA_CACHE_DIR=str(tmp_path)),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # no first-use notice
    lines = run.stdout.splitlines()
    assert lines[3] == "python path compiled: []"
    assert lines[5] == "compiled path compiled: []"

    jit_script = _FIRST_USE_SCRIPT.replace(
        "ccallback.CFunc._compile_uncached = refuse", "")
    jit = subprocess.run([sys.executable, "-c", jit_script],
                         env=dict(env, **{precompiled.ENV_SWITCH: "0"}),
                         capture_output=True, text=True, timeout=600)
    assert jit.returncode == 0, jit.stderr
    jit_lines = jit.stdout.splitlines()
    assert [lines[k] for k in (0, 1, 2, 4)] == [jit_lines[k]
                                                for k in (0, 1, 2, 4)]


def test_unusable_entry_falls_back_to_compiling(tmp_path, monkeypatch):
    """An entry that cannot be rebuilt (damaged) is compiled instead."""
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "cache"))
    name = "precompiled_tiny_kernel_damaged"
    key = (f"njit:{name}.scaled_sum:(Array(float64, 1, 'C', False, "
           "aligned=True), float64)")
    monkeypatch.setattr(precompiled, "_loaded",
                        {"entries": {key: b"\x80\x05N."}})
    module = _load_tiny_module(tmp_path, name)
    counter = _CompileCounter()
    with event.install_listener("numba:compile", counter):
        assert module.scaled_sum(np.array([1.0, 2.0]), 3.0) == 9.0
    assert counter.names == ["scaled_sum"]
    sys.modules.pop(name)


def test_specialisations_for_one_objective_are_not_recorded():
    """A specialisation that takes a compiled function (the user's
    objective) is of no use to another process: the build skips it."""
    from numba import njit, types

    @njit
    def objective(x):
        return x

    assert not precompiled._takes_a_function(
        (types.float64[::1], types.int64))
    assert precompiled._takes_a_function(
        (numba.typeof(objective), types.float64[::1]))
