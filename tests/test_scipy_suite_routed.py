"""scipy's own L-BFGS-B tests, run with L-BFGS-B routed through this
package (``tests/scipy_routing_plugin.py``: scipy's ``_minimize_lbfgsb``
calls ``lbfgsb_numba.minimize``, ``fmin_l_bfgs_b`` is ours).

Run by hand with::

    PYTHONPATH=tests:. python -m pytest -p scipy_routing_plugin \\
        <site-packages>/scipy/optimize/tests/test_optimize.py \\
        <site-packages>/scipy/optimize/tests/test_lbfgsb_hessinv.py \\
        <site-packages>/scipy/optimize/tests/test_lbfgsb_setulb.py \\
        -k "lbfgsb or l_bfgs_b or L-BFGS-B"

Skipped when scipy's tests are not installed.  With scipy 1.17.1 the
selection runs 72 tests (the other 127 selected ones are skipped by scipy
itself: other methods' variants of test_equal_bounds).
"""
import os
import re
import subprocess
import sys

import pytest

scipy = pytest.importorskip("scipy")

SCIPY_TESTS = os.path.join(os.path.dirname(scipy.__file__), "optimize",
                           "tests")
FILES = ["test_optimize.py", "test_lbfgsb_hessinv.py",
         "test_lbfgsb_setulb.py"]
SELECTION = "lbfgsb or l_bfgs_b or L-BFGS-B"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


@pytest.mark.skipif(not all(os.path.exists(os.path.join(SCIPY_TESTS, f))
                            for f in FILES),
                    reason="scipy's test files are not installed")
def test_scipy_lbfgsb_tests_pass_when_routed_through_the_package(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [HERE, ROOT] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-p", "scipy_routing_plugin", "--rootdir", str(tmp_path),
         "-W", "ignore::pytest.PytestUnknownMarkWarning",
         *[os.path.join(SCIPY_TESTS, f) for f in FILES], "-k", SELECTION],
        capture_output=True, text=True, env=env, cwd=str(tmp_path),
        timeout=600)
    report = out.stdout[-3000:] + out.stderr[-2000:]
    routed = re.search(r"routed through lbfgsb_numba \((.*)\): (\d+) "
                       r"minimize calls, (\d+) fmin_l_bfgs_b calls",
                       out.stdout)
    assert routed, report
    assert routed.group(1).startswith(os.path.join(ROOT, "lbfgsb_numba"))
    assert int(routed.group(2)) > 100 and int(routed.group(3)) > 5, report
    summary = [line for line in out.stdout.splitlines()
               if re.search(r"\d+ passed", line)][-1]
    counts = {word: int(num)
              for num, word in re.findall(r"(\d+) (\w+)", summary)}
    assert out.returncode == 0 and "failed" not in counts and \
        "error" not in counts and "errors" not in counts, report
    assert counts.get("passed", 0) >= 72, summary
