"""One line on stderr while the kernels compile for the first time.

With an empty Numba cache (the first use after installing, or after the
package's source changed) the first solve compiles the solver's kernels,
which takes tens of seconds; later processes load them from Numba's cache
in well under a second.  So that nobody thinks it hangs, the first entry
point about to compile says so, once per process (``notice_if_cold``);
nothing is printed when the cache is warm.

Hook, one line: ``notice_if_cold(...)`` before a lazily compiled entry is
first called (``solve.driver_entries``, ``entries.compiled_entries``).
"""
from __future__ import annotations

import sys
from typing import Any, TextIO

#: rough cold-compile time on an idle 2-core machine, for the message
FIRST_COMPILE_SECONDS = 20
MESSAGE = (f"lbfgsb_numba: compiling the kernels (first use only, "
           f"~{FIRST_COMPILE_SECONDS} s; later runs load them from Numba's "
           f"cache)...")

_noticed = False  # the message was printed in this process


def is_cached(func: Any) -> bool:
    """Whether compiled code of ``func`` for its current source on this CPU
    is at hand: in the kernels compiled at install (``precompiled``) or in
    Numba's cache.

    func : a ``@njit(cache=True)`` dispatcher, or the plain Python function
        under a ``cfunc(..., cache=True)`` decorator.

    Reads the function's cache index where Numba would (``__pycache__``
    next to the source, ``NUMBA_CACHE_DIR`` when set, ...): cached when the
    index was written by this Numba version for the current source file and
    holds an entry for this CPU.  True as well when this cannot be told (JIT
    disabled, a Numba without these internals): the notice is never shown
    by mistake.
    """
    from .precompiled import has
    if has(func):
        return True
    try:
        from numba import config
        from numba.core.caching import FunctionCache
        from numba.core.registry import cpu_target
        if config.DISABLE_JIT:
            return True
        py_func = getattr(func, "py_func", func)
        index = FunctionCache(py_func)._cache_file._load_index()
        this_cpu = cpu_target.target_context.codegen().magic_tuple()
        return any(key[1] == this_cpu for key in index)
    except Exception:  # noqa: BLE001 (unknown: stay quiet)
        return True


def stay_quiet() -> None:
    """No notice in this process (``build_kernels.build`` compiles on
    purpose)."""
    global _noticed
    _noticed = True


def notice_if_cold(*funcs: Any, stream: TextIO | None = None) -> bool:
    """Print ``MESSAGE`` on ``stream`` (default stderr), once per process,
    if any of ``funcs`` is not in Numba's cache (so is about to compile).
    Returns whether it printed."""
    global _noticed
    if _noticed or all(is_cached(f) for f in funcs):
        return False
    _noticed = True
    print(MESSAGE, file=sys.stderr if stream is None else stream, flush=True)
    return True
