"""lbfgsb_numba.botorch.fmin_l_bfgs_b_batched against the documented
behaviour of BoTorch's function of that name (signature, return value,
options, callback, errors), and each problem against solving it alone."""
import inspect

import numpy as np
import pytest

import lbfgsb_numba as lb
from lbfgsb_numba.botorch import (fmin_l_bfgs_b_batched,
                                  translate_bounds_for_lbfgsb)


def squares(x, batch_indices=None):
    if batch_indices is not None:
        assert isinstance(batch_indices, list)
        assert len(batch_indices) == len(x)
    return np.sum(x ** 2, axis=-1), 2 * x


def rosenbrock_rows(x):
    f = 10.0 * (x[:, 1] - x[:, 0] ** 2) ** 2 + (1.0 - x[:, 0]) ** 2
    g = np.zeros_like(x)
    g[:, 0] = -40.0 * x[:, 0] * (x[:, 1] - x[:, 0] ** 2) - 2 * (1 - x[:, 0])
    g[:, 1] = 20.0 * (x[:, 1] - x[:, 0] ** 2)
    return f, g


def test_signature_is_botorchs():
    params = inspect.signature(fmin_l_bfgs_b_batched).parameters
    assert [(p.name, p.default) for p in params.values()] == [
        ("func", inspect.Parameter.empty), ("x0", inspect.Parameter.empty),
        ("bounds", None), ("maxcor", 10), ("factr", 1e7), ("ftol", None),
        ("pgtol", 1e-5), ("tol", None), ("maxiter", 15000), ("disp", None),
        ("callback", None), ("maxls", 20), ("pass_batch_indices", False)]


def test_basic_returns_xs_fs_results():
    xs, fs, results = fmin_l_bfgs_b_batched(squares, np.array([[1.0], [2.0],
                                                               [3.0]]))
    assert xs.shape == (3, 1) and fs.shape == (3,) and len(results) == 3
    np.testing.assert_allclose(xs, 0.0, atol=1e-5)
    np.testing.assert_allclose(fs, 0.0, atol=1e-5)
    for i, r in enumerate(results):
        assert r["success"] and r["status"] == 0
        assert set(r) >= {"x", "fun", "jac", "nit", "nfev", "njev", "status",
                          "success", "message", "hess_inv"}
        np.testing.assert_array_equal(r["x"], xs[i])
        assert r["fun"] == fs[i]


def test_bounds_pairs_shared_by_all_problems():
    def func(x):
        return np.sum((x - 2) ** 2, axis=1), 2 * (x - 2)
    xs, fs, _ = fmin_l_bfgs_b_batched(func, np.array([[-1.0], [0.0], [1.0]]),
                                      bounds=[(0, 1)])
    np.testing.assert_allclose(xs, 1.0, atol=1e-5)
    np.testing.assert_allclose(fs, 1.0, atol=1e-5)


def test_two_dimensional_rosenbrock_with_factr_zero():
    xs, fs, _ = fmin_l_bfgs_b_batched(rosenbrock_rows,
                                      np.array([[-1.0, 1.0], [2.0, 2.0]]),
                                      factr=0, pgtol=1e-10,
                                      bounds=((-2, 2), (-2, 2)))
    np.testing.assert_allclose(xs, 1.0, atol=1e-6)
    np.testing.assert_allclose(fs, 0.0, atol=1e-10)


def test_pass_batch_indices_lists_the_active_rows():
    seen = []

    def func(x, batch_indices):
        seen.append(list(batch_indices))
        return squares(x, batch_indices)

    x0 = np.array([[0.0], [2.0], [30.0]])  # row 0 converges at once
    xs, fs, results = fmin_l_bfgs_b_batched(func, x0,
                                            pass_batch_indices=True)
    assert seen[0] == [0, 1, 2] and seen[-1] != [0, 1, 2]
    assert all(type(i) is int for i in seen[-1])
    assert sum(len(s) for s in seen) == sum(r["nfev"] for r in results)
    np.testing.assert_allclose(xs, 0.0, atol=1e-5)


def test_callback_per_problem_and_halt_after_one_iteration():
    calls = []
    x0 = np.array([[1.0], [2.0], [3.0]])
    xs, fs, results = fmin_l_bfgs_b_batched(
        squares, x0, callback=lambda xk: calls.append(xk.copy()) or False)
    assert len(calls) == sum(r["nit"] for r in results) > 0
    assert all(c.shape == (1,) for c in calls)  # one point, not a batch
    np.testing.assert_allclose(xs, 0.0, atol=1e-5)

    def halt(_):
        raise StopIteration
    xs, fs, results = fmin_l_bfgs_b_batched(squares, x0 * 10, callback=halt)
    for r in results:
        assert not r["success"] and r["nit"] == 1
        assert r["message"] == "STOP: CALLBACK REQUESTED HALT"


def test_new_style_callback_gets_x_and_fun():
    got = []

    def callback(intermediate_result):
        got.append((intermediate_result.x.copy(), intermediate_result.fun))
    fmin_l_bfgs_b_batched(rosenbrock_rows, np.array([[-1.0, 1.0]]),
                          callback=callback)
    assert len(got) > 3
    x, f = got[-1]
    assert f == pytest.approx(rosenbrock_rows(x[None])[0][0])


def test_maxiter_one():
    xs, fs, results = fmin_l_bfgs_b_batched(squares, np.array([[10.0], [20.0],
                                                               [30.0]]),
                                            maxiter=1)
    assert not np.allclose(xs, 0.0, atol=1e-5)
    for r in results:
        assert not r["success"] and r["status"] == 1 and r["nit"] == 1


def test_ftol_instead_of_factr_and_tol_alias():
    xs, fs, _ = fmin_l_bfgs_b_batched(squares, np.array([[1.0], [2.0]]),
                                      ftol=1e-15, factr=None)
    np.testing.assert_allclose(xs, 0.0, atol=1e-7)
    np.testing.assert_allclose(fs, 0.0, atol=1e-14)
    loose = fmin_l_bfgs_b_batched(rosenbrock_rows, np.array([[-1.0, 1.0]]),
                                  tol=1e-1, pgtol=1e-12)[2][0]
    strict = fmin_l_bfgs_b_batched(rosenbrock_rows, np.array([[-1.0, 1.0]]),
                                   pgtol=1e-1)[2][0]
    assert loose["nit"] == strict["nit"]  # tol replaces pgtol


def test_errors_as_documented():
    x0 = np.array([[1.0], [2.0], [3.0]])
    with pytest.raises(AssertionError):  # BoTorch asserts here
        fmin_l_bfgs_b_batched(squares, x0, factr=1e7, ftol=1e-10)
    with pytest.raises(ValueError, match="factr"):
        fmin_l_bfgs_b_batched(squares, x0, factr=1e7, ftol=1e-10)
    with pytest.raises(ValueError, match="length of bounds"):
        fmin_l_bfgs_b_batched(squares, x0, bounds=[(0, 1), (0, 1)])
    with pytest.raises(ValueError, match="greater"):
        fmin_l_bfgs_b_batched(squares, x0, bounds=[(1, 0)])
    with pytest.raises(ValueError, match="maxls"):
        fmin_l_bfgs_b_batched(squares, x0, maxls=0)
    with pytest.raises(AssertionError):
        fmin_l_bfgs_b_batched(squares, np.array([1.0, 2.0]))
    with pytest.warns(DeprecationWarning, match="disp"):
        fmin_l_bfgs_b_batched(squares, x0, disp=1)


def test_each_problem_equals_fmin_l_bfgs_b_alone():
    rng = np.random.default_rng(7)
    x0 = rng.uniform(-2, 2, (6, 2))
    bounds = [(-1.5, 1.5), (None, 1.2)]
    xs, fs, results = fmin_l_bfgs_b_batched(rosenbrock_rows, x0,
                                            bounds=bounds, maxcor=4)
    for i in range(6):
        x, f, d = lb.fmin_l_bfgs_b(
            lambda z: tuple(a[0] for a in rosenbrock_rows(z[None])), x0[i],
            bounds=bounds, m=4)
        np.testing.assert_array_equal(xs[i], x)
        assert fs[i] == f
        r = results[i]
        assert (r["nit"], r["nfev"], r["message"], r["status"]) == (
            d["nit"], d["funcalls"], d["task"], d["warnflag"])
        np.testing.assert_array_equal(r["jac"], d["grad"])


def test_same_decisions_as_scipy_per_problem():
    sp = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(8)
    x0 = rng.uniform(-2, 2, (5, 2))
    bounds = [(-1.5, 1.5), (-0.5, 1.2)]
    xs, fs, results = fmin_l_bfgs_b_batched(rosenbrock_rows, x0,
                                            bounds=bounds)
    for i in range(5):
        x, f, d = sp.fmin_l_bfgs_b(
            lambda z: tuple(a[0] for a in rosenbrock_rows(z[None])), x0[i],
            bounds=bounds)
        assert (results[i]["nit"], results[i]["nfev"]) == (d["nit"],
                                                           d["funcalls"])
        assert results[i]["message"] == d["task"]
        np.testing.assert_allclose(xs[i], x, rtol=1e-7, atol=1e-9)


def test_hess_inv_is_the_solvers():
    x0 = np.array([[-1.0, 1.0], [0.5, -0.5]])
    _, _, results = fmin_l_bfgs_b_batched(rosenbrock_rows, x0)
    for i in range(2):
        ref = lb.minimize(
            lambda z: tuple(a[0] for a in rosenbrock_rows(z[None])), x0[i],
            jac=True, options={"maxfun": 10**9})
        np.testing.assert_array_equal(results[i]["hess_inv"].todense(),
                                      ref.hess_inv.todense())


def test_translate_bounds_for_lbfgsb():
    assert translate_bounds_for_lbfgsb(None, None, 3, 1) == [(None, None)] * 3
    assert translate_bounds_for_lbfgsb(0.0, 1.0, 3, 1) == [(0.0, 1.0)] * 3
    lo, up = [0.0, 0.1, 0.2], [1.0, 1.1, 1.2]
    assert translate_bounds_for_lbfgsb(lo, up, 3, 1) == list(zip(lo, up))
    assert translate_bounds_for_lbfgsb(np.array(lo), np.array(up), 3, 2) == (
        list(zip(lo, up)) * 2)
    assert translate_bounds_for_lbfgsb(lo, up, 3, 2, fixed_features={1: 0.5}
                                       ) == [(0.0, 1.0), (0.2, 1.2)] * 2
    with pytest.raises(ValueError, match="expected 3 or 6"):
        translate_bounds_for_lbfgsb([0.0] * 4, None, 3, 2)
