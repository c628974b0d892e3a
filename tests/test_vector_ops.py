"""The inner products over the n variables (``vector_ops.py``) against
numpy: below VECTORISE_FROM the plain sum in order, bit for bit; from there
on the reassociated (SIMD) sums, equal to numpy's up to rounding."""
import numpy as np
import pytest

from lbfgsb_numba.vector_ops import (VECTORISE_FROM, all_finite, dot,
                                     dot_rows2, max_abs)

LENGTHS = [1, 7, VECTORISE_FROM - 1, VECTORISE_FROM, VECTORISE_FROM + 1,
           37, 100, 1023, 10_000]


def _in_order(u, v):
    acc = 0.0
    for a, b in zip(u.tolist(), v.tolist()):
        acc += a * b
    return acc


def _rounding_bound(u, v):
    """|error| of any summation order <= n eps sum |u_i v_i| (Higham)."""
    return 2 * u.size * np.finfo(float).eps * np.sum(np.abs(u * v))


@pytest.mark.parametrize("n", LENGTHS)
def test_dot_and_dot_rows2_equal_numpy(n):
    rng = np.random.default_rng(n)
    u = rng.normal(size=n + 5) * rng.uniform(0.1, 1e3, n + 5)
    v = rng.normal(size=n + 5)
    a, b = rng.normal(size=(4, n + 5)), rng.normal(size=(4, n + 5))
    got = dot(u, v, n)  # the first n entries only
    got_a, got_b = dot_rows2(a, b, 2, v, n)
    if n < VECTORISE_FROM:
        assert got == _in_order(u[:n], v[:n])
        assert (got_a, got_b) == (_in_order(a[2, :n], v[:n]),
                                  _in_order(b[2, :n], v[:n]))
    assert abs(got - u[:n] @ v[:n]) <= _rounding_bound(u[:n], v[:n])
    assert abs(got_a - a[2, :n] @ v[:n]) <= _rounding_bound(a[2, :n], v[:n])
    assert abs(got_b - b[2, :n] @ v[:n]) <= _rounding_bound(b[2, :n], v[:n])
    # the same bits on every call (no dependence on the call)
    assert dot(u, v, n) == got and dot_rows2(a, b, 2, v, n) == (got_a,
                                                               got_b)


@pytest.mark.parametrize("n", LENGTHS)
def test_all_finite_finds_every_nan_and_inf(n):
    rng = np.random.default_rng(n)
    v = rng.normal(size=n + 3)
    assert all_finite(v, n)
    for i in sorted({0, n // 2, n - 1}):
        for bad in (np.nan, np.inf, -np.inf):
            w = v.copy()
            w[i] = bad
            assert not all_finite(w, n), (i, bad)
    w = v.copy()
    w[n:] = np.nan  # past n: not looked at
    assert all_finite(w, n)
    # huge finite entries whose products would overflow are still finite
    assert all_finite(np.full(n, 1e308), n)


@pytest.mark.parametrize("n", LENGTHS)
def test_max_abs_is_numpys(n):
    rng = np.random.default_rng(n)
    v = rng.normal(size=n + 2)
    v[n:] = 1e9  # past n: not looked at
    assert max_abs(v, n) == np.abs(v[:n]).max()
    v[n - 1] = -50.0
    assert max_abs(v, n) == 50.0
