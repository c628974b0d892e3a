"""The inverse-Hessian operator (``hess_inv.py``): ring order of the stored
pairs, the two-loop product against dense BFGS inverses, and the
LinearOperator interface."""
import numpy as np
import pytest

import lbfgsb_numba as lb
from lbfgsb_numba.hess_inv import LbfgsInvHessProduct, pairs_in_order
from oracle_problems import lower_upper, python_wrapper, quadratic, rosenbrock

scipy_optimize = pytest.importorskip("scipy.optimize")


def test_hess_inv_ring_order():
    rng = np.random.default_rng(1)
    m, n = 4, 6
    s = rng.normal(size=(m, n))
    y = s + 0.1 * rng.normal(size=(m, n))
    # ring with head 2 and 4 pairs: logical order rows 2, 3, 0, 1
    sk, yk = pairs_in_order(s, y, 2, 4)
    np.testing.assert_array_equal(sk, s[[2, 3, 0, 1]])
    a = LbfgsInvHessProduct(sk, yk)
    b = LbfgsInvHessProduct.from_ring(s, y, 2, 4)
    v = rng.normal(size=n)
    np.testing.assert_allclose(a.matvec(v), b @ v, rtol=1e-14)
    np.testing.assert_array_equal(b.sk, sk)
    dense = b.todense()
    np.testing.assert_allclose(dense, dense.T, atol=1e-12)
    np.testing.assert_allclose(b.matmat(np.eye(n)), dense)
    np.testing.assert_allclose(b.T @ v, b @ v)
    with pytest.raises(ValueError):
        LbfgsInvHessProduct(sk, yk[:2])
    lin = pytest.importorskip("scipy.sparse.linalg")
    op = b.to_linear_operator()
    assert isinstance(op, lin.LinearOperator)
    np.testing.assert_allclose(op @ v, b @ v)


def _dense_two_loop(sk, yk, v):
    q = v.copy()
    alphas = []
    for s, y in zip(sk[::-1], yk[::-1]):
        a = (s @ q) / (y @ s)
        alphas.append(a)
        q -= a * y
    for (s, y), a in zip(zip(sk, yk), alphas[::-1]):
        b = (y @ q) / (y @ s)
        q += s * (a - b)
    return q


def _dense_bfgs_inverse(sk, yk):
    n = sk.shape[1]
    H = np.eye(n)
    for s, y in zip(sk, yk):
        rho = 1.0 / (y @ s)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H


def _pairs_from_callback(fun, x0, m, maxiter, bounds=None):
    """The (s, y) pairs of a run, recorded from the iterates (oldest first)."""
    lo, up = lower_upper(bounds, x0.size)
    x0 = np.clip(x0, lo, up)
    xs, gs = [x0.copy()], [fun(x0)[1]]

    def cb(xk):
        xs.append(xk.copy())
        gs.append(fun(xk)[1])
    lb.fmin_l_bfgs_b(fun, x0, m=m, maxiter=maxiter, callback=cb,
                     bounds=bounds)
    s = np.diff(np.array(xs), axis=0)[:-1]
    y = np.diff(np.array(gs), axis=0)[:-1]
    keep = np.einsum("ij,ij->i", s, y) > 2.2e-16 * np.abs(
        np.einsum("ij,ij->i", s, np.array(gs[:-2])))
    return s[keep][-m:], y[keep][-m:]


@pytest.mark.parametrize("maxiter", [3, 12])  # 12 > m: the ring has wrapped
def test_hess_inv_is_the_two_loop_product_in_order(maxiter):
    fun = python_wrapper(rosenbrock)
    x0 = np.tile([-1.2, 1.0], 3)
    res = lb.minimize(fun, x0, jac=True, options={"maxcor": 5,
                                                   "maxiter": maxiter})
    # the step of the last iteration is never stored (the solve stops)
    sk, yk = _pairs_from_callback(fun, x0, 5, maxiter)
    H = res.hess_inv
    assert H.n_corrs == len(sk)
    np.testing.assert_allclose(H.sk, sk, rtol=1e-12, atol=1e-15)
    v = np.arange(1.0, 7.0)
    np.testing.assert_allclose(H.matvec(v), _dense_two_loop(sk, yk, v),
                               rtol=1e-10)
    np.testing.assert_allclose(H @ v, _dense_two_loop(sk, yk, v), rtol=1e-10)
    np.testing.assert_allclose(H.todense(), _dense_bfgs_inverse(sk, yk),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(H.todense(), H.todense().T, atol=1e-12)
    if maxiter == 3:  # before the ring wraps scipy's operator agrees
        ref = scipy_optimize.minimize(fun, x0, jac=True, method="L-BFGS-B",
                                      options={"maxcor": 5, "maxiter": 3})
        np.testing.assert_allclose(H.todense(), ref.hess_inv.todense(),
                                   rtol=1e-9)


def test_hess_inv_approximates_true_inverse_on_quadratic():
    h = np.array([1.0, 2.0, 4.0, 8.0])
    fun = python_wrapper(quadratic)
    res = lb.minimize(fun, np.zeros(4), args=(h, np.ones(4)), jac=True,
                      options={"gtol": 1e-12, "ftol": 1e-15})
    H = res.hess_inv.todense()
    true_inv = np.diag(1 / h)
    # much closer to the true inverse than the initial H0 = I
    assert np.linalg.norm(H - true_inv) < 0.25 * np.linalg.norm(
        np.eye(4) - true_inv)
    np.testing.assert_allclose(np.diag(H)[1:], 1 / h[1:], rtol=0.1)


def test_hess_inv_bounded_compiled_path_is_the_two_loop_product(
        compiled_calls):
    x0 = np.tile([-1.2, 1.0], 3)
    bounds = [(-0.5, 0.8), (None, 0.9), (-1.0, None), (0.2, 0.9),
              (-2.0, 2.0), (None, None)]
    # @njit objective, no callback: the compiled path (12 > m: wrapped)
    res = lb.minimize(rosenbrock, x0, jac=True, bounds=bounds,
                      options={"maxcor": 5, "maxiter": 12})
    assert res.nit == 12 and compiled_calls == [rosenbrock]
    sk, yk = _pairs_from_callback(python_wrapper(rosenbrock), x0, 5, 12,
                                  bounds)
    H = res.hess_inv
    assert H.n_corrs == len(sk) == 5
    np.testing.assert_allclose(H.sk, sk, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(H.yk, yk, rtol=1e-10, atol=1e-12)
    for v in (np.arange(1.0, 7.0), np.sin(np.arange(6.0))):
        np.testing.assert_allclose(H @ v, _dense_two_loop(sk, yk, v),
                                   rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(H.todense(), _dense_bfgs_inverse(sk, yk),
                               rtol=1e-9, atol=1e-12)


def test_hess_inv_linear_operator_interface():
    fun = python_wrapper(rosenbrock)
    res = lb.minimize(fun, np.tile([-1.2, 1.0], 3), jac=True,
                      bounds=[(-0.5, 0.8)] * 6,
                      options={"maxcor": 4, "maxiter": 9})
    H = res.hess_inv
    assert H.shape == (6, 6) and H.dtype == np.float64 and H.n_corrs == 4
    v = np.linspace(-1.0, 2.0, 6)
    X = np.random.default_rng(0).normal(size=(6, 3))
    hv, hx = H @ v, H.matmat(X)
    assert hv.shape == (6,) and hx.shape == (6, 3)
    np.testing.assert_allclose(hx[:, 1], H @ X[:, 1], rtol=1e-12)
    np.testing.assert_allclose(H.todense() @ v, hv, rtol=1e-10, atol=1e-14)
    for other in (H * v, H.H @ v, H.adjoint() @ v, H.T @ v,
                  H.transpose() @ v, H.rmatvec(v), H.dot(v), H(v),
                  H.matvec(v)):
        np.testing.assert_allclose(other, hv, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(H.matvec(v.reshape(6, 1)), hv.reshape(6, 1),
                               rtol=1e-14)
    for other in (H.rmatmat(X), H @ X, H * X, H.dot(X)):
        np.testing.assert_allclose(other, hx, rtol=1e-14, atol=1e-15)
    linalg = pytest.importorskip("scipy.sparse.linalg")
    op = linalg.aslinearoperator(H)
    assert isinstance(op, linalg.LinearOperator) and op.shape == (6, 6)
    np.testing.assert_allclose(op @ v, hv, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(op.H @ v, hv, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(op.matmat(X), hx, rtol=1e-14, atol=1e-15)
    # a solve with it: H is positive definite, cg recovers v from H v
    sol, info = linalg.cg(op, hv, rtol=1e-12, atol=0.0, maxiter=200)
    assert info == 0
    np.testing.assert_allclose(sol, v, rtol=1e-6, atol=1e-8)
