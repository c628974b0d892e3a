"""Compile cost of the compiled entries for a new objective (asv
``track_*``, seconds): each value is the first call's elapsed time in a
fresh process with a warm package cache, the minimum of three processes
(``lbfgsb_numba.compile_cost``), so that a regression shows in asv's
history; the ``cpu`` variants track the CPU time of the same call (the
better estimate on a busy machine)."""
try:
    from lbfgsb_numba import compile_cost
except ImportError:  # pragma: no cover - asv reports the benchmark as failed
    compile_cost = None

_ENTRIES = list(compile_cost.CALLS) if compile_cost else []
_CACHED = list(compile_cost.CACHED) if compile_cost else []


def _require():
    if compile_cost is None:
        raise NotImplementedError("lbfgsb_numba is not importable")


class NewObjective:
    """First call with an objective defined in a script (not cacheable)."""
    params = [_ENTRIES]
    param_names = ["entry"]
    timeout = 1800

    def setup_cache(self):
        _require()
        return {entry: compile_cost.measure(entry, cached=False, repeat=3)
                for entry in _ENTRIES}

    def track_first_call_seconds(self, measured, entry):
        return measured[entry][0]
    track_first_call_seconds.unit = "seconds"

    def track_first_call_cpu_seconds(self, measured, entry):
        return measured[entry][1]
    track_first_call_cpu_seconds.unit = "seconds"


class CachedUserModule:
    """First call in a second process, the user's functions in a module
    compiled with ``cache=True``."""
    params = [_CACHED]
    param_names = ["entry"]
    timeout = 1800

    def setup_cache(self):
        _require()
        return {entry: compile_cost.measure(entry, cached=True, repeat=3)
                for entry in _CACHED}

    def track_second_process_seconds(self, measured, entry):
        return measured[entry][0]
    track_second_process_seconds.unit = "seconds"

    def track_second_process_cpu_seconds(self, measured, entry):
        return measured[entry][1]
    track_second_process_cpu_seconds.unit = "seconds"
