"""The first-use notice: one line on stderr when the kernels are about to
compile with an empty Numba cache, nothing when the cache is warm.

The compile itself is never run with an empty cache here (20-40 s): the
subprocess checks stop at the first compile, after the notice.  Where a
test is about compiling just in time, the kernels compiled at install
(``precompiled``) are switched off (``without_precompiled``)."""
import importlib.util
import io
import os
import subprocess
import sys

import numba
import numpy as np
import pytest

import lbfgsb_numba
from lbfgsb_numba import api, driver, first_use, precompiled

PACKAGE_PARENT = os.path.dirname(os.path.dirname(lbfgsb_numba.__file__))


@pytest.fixture
def fresh_process_flag(monkeypatch):
    """As if the notice had not been printed in this process yet."""
    monkeypatch.setattr(first_use, "_noticed", False)


@pytest.fixture
def without_precompiled(monkeypatch):
    """As if no kernels had been compiled at install (here and in
    subprocesses)."""
    monkeypatch.setitem(precompiled._loaded, "entries", {})
    monkeypatch.setenv(precompiled.ENV_SWITCH, "0")


def _load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_TINY_KERNEL = """
from numba import njit

@njit(cache=True)
def plus_one(x):
    return x + 1
"""


def test_is_cached_false_before_first_compile_true_after(tmp_path):
    source = tmp_path / "tiny_kernel.py"
    source.write_text(_TINY_KERNEL)
    module = _load_module(source, "tiny_kernel_first_use")
    assert not first_use.is_cached(module.plus_one)
    assert module.plus_one(1) == 2
    assert first_use.is_cached(module.plus_one)


def test_is_cached_reads_the_cache_numba_uses(tmp_path, monkeypatch):
    source = tmp_path / "tiny_kernel_2.py"
    source.write_text(_TINY_KERNEL)
    module = _load_module(source, "tiny_kernel_first_use_2")
    assert module.plus_one(1) == 2  # compiled and cached
    assert first_use.is_cached(module.plus_one)
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "other"))
    assert not first_use.is_cached(module.plus_one)


def test_is_cached_true_for_precompiled_kernels(tmp_path, monkeypatch):
    """A kernel compiled at install needs no compile, whatever Numba's
    cache holds."""
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(precompiled._loaded, "entries", {
        "njit:lbfgsb_numba.driver.step_at:(int64,)": b""})
    assert first_use.is_cached(driver.step_at)
    assert not first_use.is_cached(driver.setup_at)


def test_notice_printed_once_per_process(fresh_process_flag, tmp_path,
                                         monkeypatch, without_precompiled):
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    out = io.StringIO()
    assert first_use.notice_if_cold(driver.step_at, stream=out)
    assert not first_use.notice_if_cold(driver.step_at, stream=out)
    assert out.getvalue() == first_use.MESSAGE + "\n"


def test_no_notice_when_warm(fresh_process_flag, capsys):
    api.driver_entries()
    capsys.readouterr()
    api.driver_entries.cache_clear()
    api.driver_entries()  # the hook runs again, on a warm cache
    assert capsys.readouterr().err == ""
    out = io.StringIO()
    assert not first_use.notice_if_cold(driver.setup_at, driver.step_at,
                                        stream=out)
    assert out.getvalue() == ""


# Each script stops the process at the first compile the entry point asks
# for (after the notice, if any): the hooks are checked against a real empty
# cache without paying for the compile.
_STOP_AT_PYTHON_PATH_COMPILE = """
import numpy as np
import lbfgsb_numba.api as api
import lbfgsb_numba.solve as solve
def stop(*args):
    raise SystemExit(0)
solve.entry_point = stop
api.fmin_l_bfgs_b(lambda x: (float(x @ x), 2 * x), np.ones(2))
"""
_STOP_AT_COMPILED_PATH_COMPILE = """
from numba.core import ccallback
def stop(self):
    raise SystemExit(0)
ccallback.CFunc.compile = stop
import lbfgsb_numba.compiled
"""


def _stderr_of(script, cache_dir=None):
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    run = subprocess.run([sys.executable, "-c", script], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return run.stderr


@pytest.mark.parametrize("script", [_STOP_AT_PYTHON_PATH_COMPILE,
                                    _STOP_AT_COMPILED_PATH_COMPILE],
                         ids=["python_path", "compiled_path"])
def test_entry_points_notice_an_empty_cache(script, tmp_path,
                                           without_precompiled):
    assert _stderr_of(script, cache_dir=tmp_path) == first_use.MESSAGE + "\n"


@pytest.mark.parametrize("script", [_STOP_AT_PYTHON_PATH_COMPILE,
                                    _STOP_AT_COMPILED_PATH_COMPILE],
                         ids=["python_path", "compiled_path"])
def test_entry_points_quiet_on_a_warm_cache(script):
    import lbfgsb_numba.compiled  # noqa: F401  (compiled and cached)
    api.fmin_l_bfgs_b(lambda x: (float(x @ x), 2 * x), np.ones(2))
    env_cache = os.environ.get("NUMBA_CACHE_DIR")
    assert _stderr_of(script, cache_dir=env_cache) == ""


_IMPORT_MUST_NOT_COMPILE_ENTRIES = """
from numba.core import ccallback
def refuse(self):
    raise SystemExit("an entry compiled at import")
ccallback.CFunc.compile = refuse
import lbfgsb_numba
from lbfgsb_numba import entries
assert not entries._entries, "entries compiled at import"
print(len(entries._stand_ins))
"""


def test_import_with_an_empty_cache_compiles_no_entry(tmp_path,
                                                    without_precompiled):
    """A Python-objective solve never needs the compiled paths' entries: with
    an empty cache the import registers stand-ins under their symbols
    instead of compiling them (and says nothing)."""
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT,
               NUMBA_CACHE_DIR=str(tmp_path))
    run = subprocess.run([sys.executable, "-c",
                          _IMPORT_MUST_NOT_COMPILE_ENTRIES], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["5"] and run.stderr == ""


def test_stand_in_forwards_to_the_compiled_entry():
    """The stand-in under an entry's symbol (empty cache) calls the real
    entry, with its C signature."""
    import ctypes
    from lbfgsb_numba import entries
    fn, sig = entries._ENTRY_FUNCTIONS["workspace_bytes"]
    stand_in = entries._forwarding_stand_in("workspace_bytes", sig)
    as_c = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_int64)
    call = ctypes.cast(ctypes.cast(stand_in, ctypes.c_void_p).value, as_c)
    real = entries.compiled_entries()["workspace_bytes"].ctypes
    assert call(7, 3) == real(7, 3) > entries.HEADER_BYTES
    assert call(40, 10) == real(40, 10) > call(7, 3)
