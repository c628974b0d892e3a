"""The reverse-communication driver (``driver.py``) stepped directly, like
the Python shell steps it: its state record and final point against the
shell's and scipy's."""
import numpy as np
import pytest

import lbfgsb_numba as lb
from lbfgsb_numba.options import solver_options
from lbfgsb_numba.bounds import normalize_bounds
from kernel_harness import initialize
from lbfgsb_numba.status import message
from kernel_harness import new_workspace
from oracle_problems import python_wrapper, sine_wells, step_through

scipy_optimize = pytest.importorskip("scipy.optimize")


def _drive(fg, x0, bounds, m=10, factr=1e7, pgtol=1e-5):
    """Drive the solver like the Python shell does; returns the state
    record, the final x and the task."""
    n = x0.size
    lower, upper, nbd = normalize_bounds(bounds, n)
    ws = new_workspace(n, m)[0]
    initialize(ws, x0, lower, upper, nbd,
               solver_options(m=m, factr=factr, pgtol=pgtol))
    task = step_through(ws, fg)
    return ws.state[0].copy(), ws.x.copy(), task


@pytest.mark.parametrize("n, seed", [(6, 0), (20, 18)])  # dense, compact B
def test_skipped_correction_pair_like_scipy(n, seed):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.5, 3.0, n)
    x0 = rng.uniform(-3, 3, n)
    bounds = [(-3.0, 3.0)] * n
    st, x_driven, task = _drive(lambda x: sine_wells(x, w), x0, bounds)
    assert st["n_skipped"] > 0  # some s'y <= eps * (-g's): the pair was skipped
    assert st["dense"] == (n <= 8)
    fun = python_wrapper(sine_wells)
    x, f, d = lb.fmin_l_bfgs_b(fun, x0, args=(w,), bounds=bounds)
    xs, fs, ds = scipy_optimize.fmin_l_bfgs_b(fun, x0, args=(w,),
                                              bounds=bounds)
    np.testing.assert_array_equal(x, x_driven)
    assert (d["nit"], d["funcalls"]) == (st["nit"], st["nfev"])
    assert d["task"] == message(task)
    assert (d["nit"], d["funcalls"], d["task"], d["warnflag"]) == \
        (ds["nit"], ds["funcalls"], ds["task"], ds["warnflag"])
    np.testing.assert_allclose(x, xs, rtol=1e-9, atol=1e-12)
