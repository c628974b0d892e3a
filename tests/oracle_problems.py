"""Problem suite for the scipy-oracle tests: each objective is written once
as an @njit(cache=True) function fg(x, *args) -> (f, g), so the Python path
(through a plain-Python wrapper) and the compiled path share compiled code."""
from collections import namedtuple

import numpy as np
from numba import njit

from benchmarks.problems import rosenbrock_njit as rosenbrock  # noqa: F401

Problem = namedtuple("Problem", "name fg x0 bounds args exact")


@njit(cache=True)
def quadratic(x, h_diag, c):
    d = x - c
    return 0.5 * np.sum(h_diag * d * d), h_diag * d


@njit(cache=True)
def beale(x):
    a = 1.5 - x[0] + x[0] * x[1]
    b = 2.25 - x[0] + x[0] * x[1] ** 2
    c = 2.625 - x[0] + x[0] * x[1] ** 3
    f = a * a + b * b + c * c
    g = np.empty(2)
    g[0] = 2 * a * (x[1] - 1) + 2 * b * (x[1] ** 2 - 1) + 2 * c * (x[1] ** 3 - 1)
    g[1] = 2 * a * x[0] + 4 * b * x[0] * x[1] + 6 * c * x[0] * x[1] ** 2
    return f, g


@njit(cache=True)
def exp_fit(p, t, y):
    f = 0.0
    g = np.zeros(3)
    for i in range(t.shape[0]):
        e = np.exp(-p[1] * t[i])
        r = p[0] * e + p[2] - y[i]
        f += r * r
        g[0] += 2 * r * e
        g[1] += -2 * r * p[0] * t[i] * e
        g[2] += 2 * r
    return f, g


@njit(cache=True)
def tridiag(x, c):
    """Convex, tridiagonal Hessian: sum (x_i - c_i)^2 + sum (x_i+1 - x_i)^2."""
    n = x.shape[0]
    f = 0.0
    g = np.zeros(n)
    for i in range(n):
        d = x[i] - c[i]
        f += d * d
        g[i] += 2 * d
    for i in range(n - 1):
        t = x[i + 1] - x[i]
        f += t * t
        g[i + 1] += 2 * t
        g[i] -= 2 * t
    return f, g


@njit(cache=True)
def sine_wells(x, w):
    """Non-convex: sum sin(w_i x_i) + 0.05 x_i^2."""
    return (np.sum(np.sin(w * x) + 0.05 * x * x),
            w * np.cos(w * x) + 0.1 * x)


@njit(cache=True)
def rosenbrock_f(x):
    """f alone (for jac=None and a separate jac on the compiled path)."""
    return rosenbrock(x)[0]


@njit(cache=True)
def rosenbrock_g(x):
    """The gradient alone."""
    return rosenbrock(x)[1]


@njit(cache=True)
def rosenbrock_faulty(x, count, raise_after, nan_first):
    """Rosenbrock that counts its calls in count[0], returns NaN for f at
    the first call when nan_first[0] != 0 and raises ValueError at call
    number raise_after[0] + 1 (faulty objectives on the compiled path and
    in batches; the counters are per problem)."""
    count[0] += 1
    if count[0] > raise_after[0]:
        raise ValueError("rosenbrock_faulty: evaluation limit reached")
    f, g = rosenbrock(x)
    if nan_first[0] != 0 and count[0] == 1:
        return np.nan, g
    return f, g


def _exp_data():
    t = np.linspace(0, 3, 30)
    return t, 2.5 * np.exp(-1.3 * t) + 0.4 + 0.01 * np.sin(7 * t)


def build():
    t, y = _exp_data()
    rng = np.random.default_rng(0)
    h10 = np.linspace(1, 10, 10)
    c10 = np.linspace(-2, 2, 10)
    c1e3 = np.sin(np.arange(1000) * 0.1) * 2
    c1e4 = np.cos(np.arange(10000) * 0.01) * 1.5
    w7 = np.linspace(0.5, 3.0, 7)
    rosen10 = np.tile([-1.2, 1.0], 5)
    return [
        Problem("n1_quadratic", quadratic, np.array([5.0]), None,
                (np.array([2.0]), np.array([1.0])), True),
        Problem("n1_lower_active", quadratic, np.array([5.0]), [(2.0, None)],
                (np.array([2.0]), np.array([1.0])), True),
        Problem("quadratic_unconstrained", quadratic, np.zeros(10), None,
                (h10, c10), True),
        Problem("quadratic_box_active", quadratic, np.zeros(10),
                [(-1.0, 1.0)] * 10, (h10, c10), True),
        Problem("quadratic_x0_outside", quadratic, np.full(10, 5.0),
                [(-1.0, 1.0)] * 10, (h10, c10), True),
        Problem("rosenbrock_2", rosenbrock, np.array([-1.2, 1.0]), None, (),
                True),
        Problem("rosenbrock_10", rosenbrock, rosen10, None, (), True),
        Problem("rosenbrock_10_box", rosenbrock, rosen10,
                [(-0.5, 0.8)] * 10, (), True),
        Problem("rosenbrock_10_lower_only", rosenbrock, rosen10,
                [(1.1, None)] * 10, (), True),
        Problem("rosenbrock_10_upper_only", rosenbrock, rosen10,
                [(None, 0.5)] * 10, (), True),
        Problem("rosenbrock_6_fixed_mixed", rosenbrock,
                np.tile([-1.2, 1.0], 3),
                [(None, 0.5), (0.3, 0.3), (None, None), (-2, 2),
                 (1.0, 1.0), (-np.inf, np.inf)], (), True),
        Problem("beale_box", beale, np.array([1.0, 1.0]),
                [(-4.5, 4.5), (-4.5, 0.4)], (), True),
        Problem("exp_fit_bounded", exp_fit, np.array([1.0, 0.5, 0.0]),
                [(0, 5), (0, 5), (0.5, 1.0)], (t, y), True),
        Problem("sine_wells_nonconvex", sine_wells, np.linspace(-2, 2, 7),
                [(-3, 3)] * 7, (w7,), True),
        Problem("tridiag_1000_box", tridiag, np.zeros(1000),
                [(-1.0, 1.2)] * 1000, (c1e3,), False),
        Problem("tridiag_10000_lower", tridiag, rng.normal(size=10000),
                [(0.0, None)] * 10000, (c1e4,), False),
        Problem("rosenbrock_100", rosenbrock, np.tile([-1.2, 1.0], 50), None,
                (), False),
        Problem("tridiag_100000_box", tridiag, np.zeros(100000),
                (np.full(100000, -0.5), np.full(100000, 1.0)),
                (np.sin(np.arange(100000) * 0.01) * 2,), False),
    ]


PROBLEMS = build()


# a bounded Rosenbrock start used across the test files: both sides, one
# side and no bound
X4 = np.array([-1.2, 1.0, -1.2, 1.0])
B4 = [(-2.0, 2.0), (-0.5, 0.8), (None, 2.0), (0.0, None)]


def python_wrapper(fg):
    """Plain-Python objective (forces the Python path)."""
    def fun(x, *args):
        return fg(x, *args)
    return fun


def scipy_bounds(bounds, n):
    """The same bounds in a form scipy accepts."""
    if isinstance(bounds, tuple) and len(bounds) == 2 and \
            np.ndim(bounds[0]) == 1 and len(bounds[0]) == n and n != 2:
        return list(zip(bounds[0], bounds[1]))
    return bounds


def lower_upper(bounds, n):
    from lbfgsb_numba.bounds import normalize_bounds
    lo, up, _ = normalize_bounds(bounds, n)
    return lo, up


def fit_curves(k, seed=0):
    """k noisy 40-point curves p0 exp(-p1 t) + p2 exp(-p3 t) + p4 over t in
    [0, 4] (batch tests): returns (t broadcast to (k, 40), y (k, 40))."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 4, 40)
    p = np.column_stack([rng.uniform(1, 3, k), rng.uniform(0.8, 2.0, k),
                         rng.uniform(0.2, 1.0, k), rng.uniform(0.05, 0.3, k),
                         rng.uniform(-0.2, 0.2, k)])
    y = (p[:, :1] * np.exp(-p[:, 1:2] * t) + p[:, 2:3] * np.exp(-p[:, 3:4] * t)
         + p[:, 4:5] + rng.normal(0, 0.01, (k, t.size)))
    return np.broadcast_to(t, (k, t.size)), y


def step_through(ws, fg, iterations=None):
    """Drive an initialised Workspace (named arrays) by reverse
    communication like the Python shell does: evaluate fg at every FG
    request, count evaluations in state.nfev.  Stops after ``iterations``
    accepted iterates if given (returning NEW_X), else at the end (returning
    the final task code)."""
    from kernel_harness import step
    from lbfgsb_numba.status import FG, NEW_X
    nfev = 0
    accepted = 0
    while True:
        task = step(ws)
        if task == FG:
            f, g = fg(ws.x.copy())
            ws.state["f"][0] = f
            ws.g[:] = g
            nfev += 1
        elif task == NEW_X:
            ws.state["nfev"][0] = nfev
            accepted += 1
            if iterations is not None and accepted == iterations:
                return task
        else:
            ws.state["nfev"][0] = nfev
            return task


def dense_compact_matrix(ws):
    """theta I - W M W' formed densely with numpy from the pairs stored in a
    Workspace, oldest first (Byrd, Nocedal & Schnabel 1994)."""
    from lbfgsb_numba.hess_inv import pairs_in_order
    st = ws.state[0]
    col, head, theta = int(st["col"]), int(st["head"]), float(st["theta"])
    sk, yk = pairs_in_order(ws.s_pairs, ws.y_pairs, head, col)
    S, Y = sk.T, yk.T
    SY = S.T @ Y
    D = np.diag(np.diag(SY))
    L = np.tril(SY, -1)
    M = np.linalg.inv(np.block([[-D, L.T], [L, theta * S.T @ S]]))
    W = np.hstack([Y, theta * S])
    return theta * np.eye(S.shape[0]) - W @ M @ W.T


X5 = np.array([-1.2, 1.0, 0.7, 1.3, 0.2])


def rosen_any(x):
    """Rosenbrock in numpy, for real or complex x (complex step)."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_float(x):
    return float(rosen_any(x))


BOX5 = [(-2, 2), (0, 0.99), (0.5, 0.7), (-1, 2), (0.1, 3)]


def quad(x):
    """A plain-Python quadratic with its minimum at 1.5 (input checks)."""
    return float(np.sum((x - 1.5) ** 2)), 2.0 * (x - 1.5)
