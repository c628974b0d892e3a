"""Compile cost of the compiled entries (asv ``track_*``, seconds): the
first call's time in a fresh process with a warm package cache, the minimum
of three processes (``benchmarks.compile_cost``), with an objective
defined in a script (``new``) or, in a second process, with the user's
functions in a ``cache=True`` module (``cached``), so that a regression
shows in asv's history.  ``track_cpu_seconds`` is the CPU time of the same
call (the better estimate of the elapsed time on an idle machine when the
machine is shared)."""
try:
    from . import compile_cost
except ImportError:  # pragma: no cover - asv reports the benchmark as failed
    compile_cost = None

_MODES = ["new", "cached"]


class CompileCost:
    params = [list(compile_cost.CALLS) if compile_cost else ["unavailable"],
              _MODES]
    param_names = ["entry", "objective"]
    timeout = 3600

    def setup_cache(self):
        if compile_cost is None:
            raise NotImplementedError("lbfgsb_numba is not importable")
        return {(entry, mode): compile_cost.measure(entry, mode == "cached",
                                                    repeat=3)
                for entry in compile_cost.CALLS for mode in _MODES
                if mode == "new" or entry in compile_cost.CACHED}

    def setup(self, measured, entry, mode):
        if (entry, mode) not in measured:
            raise NotImplementedError("not measured for this entry")

    def track_elapsed_seconds(self, measured, entry, mode):
        return measured[entry, mode][0]
    track_elapsed_seconds.unit = "seconds"

    def track_cpu_seconds(self, measured, entry, mode):
        return measured[entry, mode][1]
    track_cpu_seconds.unit = "seconds"
