"""The compiled entries reach the cached solver by symbol: a user's
``cache=True`` functions calling ``njit_minimize`` load from the cache in a
new process, and inputs of any layout give the same bits."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np

import lbfgsb_numba as lb
from benchmarks.problems import rosenbrock_njit as rosen_fg
from benchmarks.problems import two_exp_njit as expfit_fg
from benchmarks.compile_cost import user_module_source
from oracle_problems import fit_curves

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(lb.__file__)))

_RUN_USER_MODULE = textwrap.dedent("""
    import json, sys, warnings
    sys.path.insert(0, sys.argv[1])
    warnings.simplefilter("error")   # e.g. "cannot cache ... dynamic globals"
    from user_module import solve_one, solve_many, X0, LOWER, UPPER
    one = solve_one(X0[0], LOWER, UPPER)
    many = solve_many(X0[:8], LOWER, UPPER)
    print(json.dumps({
        "one": one, "many": many.tolist(),
        "hits": [sum(f.stats.cache_hits.values())
                 for f in (solve_one, solve_many)],
        "misses": [sum(f.stats.cache_misses.values())
                   for f in (solve_one, solve_many)]}))
""")


def _run_user_module(directory, script=_RUN_USER_MODULE):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [_REPO] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                   if p])
    run = subprocess.run([sys.executable, "-c", script, str(directory)],
                         env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_user_module_calling_njit_minimize_loads_from_cache(tmp_path):
    (tmp_path / "user_module.py").write_text(user_module_source())
    first = _run_user_module(tmp_path)
    assert first["misses"] == [1, 1] and first["hits"] == [0, 0]
    second = _run_user_module(tmp_path)
    # nothing compiled in the second process: both loaded from the cache
    assert second["misses"] == [0, 0] and second["hits"] == [1, 1]
    assert second["one"] == first["one"] and second["many"] == first["many"]
    assert np.isfinite(first["one"]) and len(first["many"]) == 8


_ATTRIBUTE_MODULE = textwrap.dedent("""
    import numpy as np
    from numba import njit
    import lbfgsb_numba as lb

    @njit(cache=True)
    def bowl(x):
        return ((x - 1.0) ** 2).sum(), 2.0 * (x - 1.0)

    @njit(cache=True)
    def solve(x0, lower, upper):
        return lb.njit_minimize(bowl, x0, lower, upper).x
""")

_RUN_ATTRIBUTE_MODULE = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import attribute_module as mod
    x = mod.solve(np.zeros(3), np.full(3, -5.0), np.full(3, 0.5))
    print(json.dumps({"x": x.tolist(),
                      "hits": sum(mod.solve.stats.cache_hits.values()),
                      "misses": sum(mod.solve.stats.cache_misses.values())}))
""")


def test_cached_caller_reaching_njit_minimize_as_module_attribute(tmp_path):
    # lb.njit_minimize inside the cached function: the package's import
    # alone must register the symbols that the cached code refers to
    (tmp_path / "attribute_module.py").write_text(_ATTRIBUTE_MODULE)
    first = _run_user_module(tmp_path, _RUN_ATTRIBUTE_MODULE)
    second = _run_user_module(tmp_path, _RUN_ATTRIBUTE_MODULE)
    assert (first["misses"], second["misses"], second["hits"]) == (1, 0, 1)
    assert first["x"] == second["x"] == [0.5, 0.5, 0.5]


def test_njit_minimize_strided_inputs_same_bits():
    wide = np.zeros((3, 8))
    wide[0, ::2] = [-1.2, 1.0, -1.2, 1.0]
    wide[1, ::2] = -np.inf
    wide[2, ::2] = [np.inf, np.inf, 0.5, np.inf]
    x0, lower, upper = wide[0, ::2], wide[1, ::2], wide[2, ::2]
    assert not x0.flags.c_contiguous
    strided = lb.njit_minimize(rosen_fg, x0, lower, upper)
    dense = lb.njit_minimize(rosen_fg, x0.copy(), lower.copy(), upper.copy())
    for a, b in zip(strided, dense):
        np.testing.assert_array_equal(a, b)
    assert strided.status == 0 and strided.x[2] <= 0.5


def test_minimize_batch_strided_bounds_same_bits():
    k = 6
    t, y = fit_curves(k)
    x0 = np.tile([1.0, 1.0, 1.0, 0.1, 0.0], (k, 1))
    lower = np.tile([0.0, 0.0, 0.0, 0.0, -1.0], (k, 1))
    upper = np.tile([5.0, 5.0, 5.0, 5.0, 1.0], (k, 1))
    dense = lb.minimize_batch(expfit_fg, x0, args=(t, y),
                              bounds=(lower, upper), parallel=False)
    for parallel in (False, True):
        strided = lb.minimize_batch(
            expfit_fg, x0, args=(t, y), parallel=parallel,
            bounds=(np.asfortranarray(lower), np.asfortranarray(upper)))
        np.testing.assert_array_equal(strided.x, dense.x)
        np.testing.assert_array_equal(strided.fun, dense.fun)
        np.testing.assert_array_equal(strided.jac, dense.jac)
        np.testing.assert_array_equal(strided.nit, dense.nit)
        np.testing.assert_array_equal(strided.nfev, dense.nfev)
    assert dense.success.all()
