"""The solver's kernels compiled ahead of time, at install.

Compiling the kernels just in time takes tens of seconds on first use (an
empty Numba cache: after installing, after the sources change, in a fresh
container or on a new Dask worker).  So ``pip install`` compiles them once
(``setup.py`` runs ``lbfgsb-numba-precompile``, ``build_kernels.main``),
and the package loads that machine code instead of compiling it:

* **build** (``build_kernels.build(path)``): run a small workload that calls
  every kernel entry the package calls itself (the Python-objective solve
  with an analytic or finite-difference gradient, ask/tell, warm starts,
  checkpoints, the C entries of the compiled paths, the batch kernels), and
  keep every compiled specialisation of the package's own functions, in
  Numba's serialised form (object code and the bitcode for linking), in one
  file (``ARTIFACT``).
* **load** (``attach(module)``, for each module of the package when it is
  imported): each ``@njit(cache=True)`` function of ``module`` first looks
  for a specialisation in the file, then in Numba's own cache as before;
  ``c_function`` does the same for the C entries.  Nothing is loaded
  before it is called, and what the file lacks is compiled as before.

The file is used only if it was built by the same Numba, llvmlite and
Python, for this CPU (Numba's ``magic_tuple``: name and features), from the
same package sources (a hash of every ``.py`` file of the package);
otherwise it is ignored, so an edited kernel is compiled from its new
source.  It holds exactly what Numba's compiler produced in the build, so
results are bit for bit those of a just-in-time compile.  Set
``LBFGSB_NUMBA_PRECOMPILED=0`` to ignore it.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import sys
import threading
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
ARTIFACT = PACKAGE_DIR / "_precompiled" / "kernels.pkl"
FORMAT_VERSION = 1
ENV_SWITCH = "LBFGSB_NUMBA_PRECOMPILED"

_lock = threading.Lock()
_loaded: dict = {}      # "entries": key -> serialised payload, once read
recording: dict = {}    # during ``build_kernels.build``: key -> payload


def sources_hash(package_dir: Path = PACKAGE_DIR) -> str:
    """SHA-256 over the names and contents of the package's ``.py`` files."""
    digest = hashlib.sha256()
    for path in sorted(package_dir.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def manifest() -> dict:
    """What the machine code in the file depends on, for this process."""
    import llvmlite
    import numba
    from numba.core.registry import cpu_target
    return {"format": FORMAT_VERSION,
            "numba": numba.__version__,
            "llvmlite": llvmlite.__version__,
            "python": list(sys.version_info[:2]),
            "cpu": list(cpu_target.target_context.codegen().magic_tuple()),
            "sources": sources_hash()}


def _entries() -> dict:
    """The file's specialisations (key -> serialised payload) if the file
    exists, is enabled and matches this process (``manifest``); else {}."""
    if "entries" not in _loaded:
        with _lock:
            if "entries" not in _loaded:
                _loaded["entries"] = _read_artifact()
    return _loaded["entries"]


def _read_artifact() -> dict:
    if os.environ.get(ENV_SWITCH, "1") == "0" or not ARTIFACT.is_file():
        return {}
    try:
        with open(ARTIFACT, "rb") as file:
            stored = pickle.load(file)
        if stored.get("manifest") != manifest():
            return {}
        return dict(stored["entries"])
    except Exception:  # noqa: BLE001 (unreadable: compile as without it)
        return {}


def available() -> bool:
    """Whether a valid file of precompiled kernels is in use."""
    return bool(_entries())


def _key(kind: str, py_func: Any, sig: Any) -> str:
    """'kind:module.qualname:(argument types)', with '->return type' when
    the signature gives one (C entries)."""
    from numba.core import sigutils
    args, return_type = sigutils.normalize_signature(sig)
    returns = "" if return_type is None else f"->{return_type!r}"
    return (f"{kind}:{py_func.__module__}.{py_func.__qualname__}:"
            f"{tuple(args)!r}{returns}")


def has(func: Any) -> bool:
    """Whether the file holds a specialisation of ``func`` (a dispatcher,
    or the plain function of a C entry)."""
    py_func = getattr(func, "py_func", func)
    name = f"{py_func.__module__}.{py_func.__qualname__}:"
    return any(key.split(":", 1)[1].startswith(name) for key in _entries())


class PrecompiledFirst:
    """A Numba cache (the ``load_overload``/``save_overload`` interface of
    ``numba.core.caching.Cache``) that looks in the file of precompiled
    kernels first, then in the function's own cache (``fallback``), which
    also receives every new compile (and, during ``build``, the file)."""

    def __init__(self, kind: str, py_func: Any, fallback: Any):
        self._kind = kind
        self._py_func = py_func
        self._fallback = fallback

    def __getattr__(self, name):  # enable, disable, flush, cache_path, ...
        return getattr(self._fallback, name)

    def load_overload(self, sig, target_context):
        payload = _entries().get(_key(self._kind, self._py_func, sig))
        if payload is not None:
            from numba.core.compiler import CompileResult
            target_context.refresh()
            try:
                return CompileResult._rebuild(target_context,
                                              *pickle.loads(payload))
            except Exception:  # noqa: BLE001 (unusable entry: as without)
                pass
        return self._fallback.load_overload(sig, target_context)

    def save_overload(self, sig, cres):
        if (recording.get("active") and _cachable(cres)
                and not _takes_a_function(sig)):
            from numba.core.serialize import dumps
            recording[_key(self._kind, self._py_func, sig)] = dumps(
                cres._reduce())
        self._fallback.save_overload(sig, cres)


def _takes_a_function(sig) -> bool:
    """Whether a specialisation is for one objective (a compiled function
    among its arguments): of no use to another process."""
    from numba.core import sigutils, types
    args, _ = sigutils.normalize_signature(sig)
    return any(isinstance(arg, (types.Dispatcher, types.FunctionType))
               for arg in args)


def _cachable(cres) -> bool:
    """Numba's rule for what its cache may keep (no lifted loops, no
    addresses of this process baked in)."""
    return (all(lifted.can_cache for lifted in cres.lifted)
            and not cres.library.has_dynamic_globals)


def attach(module_name: str) -> None:
    """Let every ``@njit(cache=True)`` function defined in the module
    ``module_name`` (of this package) load its specialisations from the
    file of precompiled kernels (``PrecompiledFirst``)."""
    from numba.core.caching import FunctionCache
    from numba.core.registry import CPUDispatcher
    module = sys.modules[module_name]
    for value in vars(module).values():
        if (isinstance(value, CPUDispatcher)
                and value.py_func.__module__ == module_name
                and isinstance(getattr(value, "_cache", None),
                               FunctionCache)):
            value._cache = PrecompiledFirst("njit", value.py_func,
                                            value._cache)


def attach_loaded() -> None:
    """``attach`` every module of this package imported so far."""
    for name in [name for name in sys.modules
                 if name.startswith(__package__ + ".")]:
        attach(name)


def c_function(py_func, sig):
    """``numba.cfunc(sig, cache=True, nopython=True)(py_func)``, loading
    its machine code from the file of precompiled kernels when it is
    there."""
    from numba import cfunc
    from numba.core import sigutils
    try:
        from numba.core.ccallback import CFunc
        compiled = CFunc(py_func, sigutils.normalize_signature(sig),
                         locals={}, options={"nopython": True})
        compiled.enable_caching()
        compiled._cache = PrecompiledFirst("cfunc", py_func, compiled._cache)
    except (ImportError, TypeError, AttributeError):  # another Numba
        return cfunc(sig, cache=True, nopython=True)(py_func)
    compiled.compile()
    return compiled
