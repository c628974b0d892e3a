"""Input checks (``validation.py``, ``bounds.py``, ``compiled_checks.py``):
bad input gets a ValueError/TypeError naming the argument, on every entry.

On the compiled paths: a gradient of the wrong length or shape,
an f that is not a scalar, a forgotten jac=True, and bad bounds, for every
compiled entry (fmin_l_bfgs_b/minimize with @njit objectives, njit_minimize
from Python and from inside @njit with prange, minimize_batch serial and
parallel).  The objectives are module-level and shared, so that each
(entry, objective) pair is compiled once."""
import numpy as np
import pytest
import scipy.optimize as so
from numba import njit, prange
from numba.core.errors import TypingError

import lbfgsb_numba as lb
from lbfgsb_numba import status
from lbfgsb_numba.bounds import normalize_bounds
from oracle_problems import X4, X5, python_wrapper, quad, rosenbrock_f

N = 3
X0 = np.zeros(N)
NO_LOWER = np.full(N, -np.inf)
NO_UPPER = np.full(N, np.inf)


@njit(cache=True)
def quad_f(x, size, after):
    """sum((x - 1)^2)."""
    return float(np.sum((x - 1.0) ** 2))


@njit(cache=True)
def quad_g(x, size, after):
    """Gradient of quad_f, with size[0] elements once x[0] >= after[0]
    (the first min(n, size) of them right, the others 0); n before."""
    n = x.shape[0]
    length = size[0] if x[0] >= after[0] else n
    g = np.zeros(length)
    for i in range(min(n, length)):
        g[i] = 2.0 * (x[i] - 1.0)
    return g


@njit(cache=True)
def quad_fg(x, size, after):
    return quad_f(x, size, after), quad_g(x, size, after)


@njit(cache=True)
def fg_2d_gradient(x):
    return float(np.sum(x ** 2)), (2.0 * x).reshape((-1, 1))


@njit(cache=True)
def fg_array_f(x):
    return x ** 2, 2.0 * x


@njit(cache=True)
def fg_complex_gradient(x):
    return float(np.sum(x ** 2)), 2.0j * x


@njit(cache=True)
def f_only(x):
    return float(np.sum(x ** 2))


@njit(cache=True)
def jac_2d(x):
    return (2.0 * x).reshape((1, -1))


def _py(fn):
    """The same objective as a Python function (the Python path)."""
    return lambda x, *a: fn(x, *a)


def _sizes(size, after):
    return np.array([size]), np.array([after])


# a gradient too short or too long, from the first evaluation (after=-inf)
# or only once x[0] >= 0.4, i.e. within a later line search
BAD_LENGTHS = [(N - 1, -np.inf), (N + 2, -np.inf), (N - 2, 0.4),
               (N + 1, 0.4)]
BAD_IDS = ["short-first", "long-first", "short-later", "long-later"]


# ----------------------------------------------------------- from Python

@pytest.mark.parametrize("size, after", BAD_LENGTHS, ids=BAD_IDS)
def test_fmin_l_bfgs_b_wrong_gradient_length_as_python_path(size, after):
    args = _sizes(size, after)
    with pytest.raises(ValueError) as python_path:
        lb.fmin_l_bfgs_b(_py(quad_fg), X0, args=args)
    with pytest.raises(ValueError) as compiled:
        lb.fmin_l_bfgs_b(quad_fg, X0, args=args)
    assert str(compiled.value) == str(python_path.value) == (
        f"the gradient has shape ({size},); expected ({N},) like x0")
    with pytest.raises(ValueError) as through_minimize:
        lb.minimize(quad_fg, X0, args=args, jac=True)
    assert str(through_minimize.value) == str(compiled.value)
    got, want = compiled.value.lbfgsb_result, python_path.value.lbfgsb_result
    np.testing.assert_array_equal(got.x, want.x)
    assert (got.nit, got.nfev) == (want.nit, want.nfev)
    if after > 0:  # the last accepted iterate, before the bad evaluation
        assert got.x[0] < 0.4 and got.fun == want.fun
        np.testing.assert_array_equal(got.jac, want.jac)
    else:
        np.testing.assert_array_equal(got.x, X0)


@pytest.mark.parametrize("size, after", BAD_LENGTHS, ids=BAD_IDS)
def test_minimize_separate_jac_wrong_length(size, after):
    args = _sizes(size, after)
    with pytest.raises(ValueError, match=rf"shape \({size},\); expected"):
        lb.minimize(quad_f, X0, args=args, jac=quad_g)


def test_njit_minimize_from_python_wrong_gradient_length():
    args = _sizes(N - 2, 0.4)
    with pytest.raises(ValueError, match=rf"shape \({N - 2},\)") as info:
        lb.njit_minimize(quad_fg, X0, NO_LOWER, NO_UPPER, args)
    with pytest.raises(ValueError) as ref:
        lb.fmin_l_bfgs_b(quad_fg, X0, args=args)
    got = info.value.lbfgsb_result
    np.testing.assert_array_equal(got.x, ref.value.lbfgsb_result.x)
    assert got.status == 2 and got.task == status.ABNORMAL_GRADIENT_LENGTH


OBJECTIVE_TYPES = [
    (fg_2d_gradient, ValueError, r"^the gradient is a 2-d array"),
    (fg_array_f, ValueError, r"^The user-provided objective function must "
                             r"return a scalar value"),
    (fg_complex_gradient, TypeError, r"^the gradient is complex"),
    (f_only, ValueError, r"^the objective must return \(f, g\)"),
]
TYPE_IDS = ["2-d g", "array f", "complex g", "f alone"]


@pytest.mark.parametrize("fg, kind, text", OBJECTIVE_TYPES, ids=TYPE_IDS)
def test_objective_types_plain_errors_from_python(fg, kind, text):
    for solve in (lambda: lb.fmin_l_bfgs_b(fg, X0),
                  lambda: lb.njit_minimize(fg, X0, NO_LOWER, NO_UPPER),
                  lambda: lb.minimize_batch(fg, np.zeros((2, N)),
                                            parallel=False),
                  lambda: lb.minimize_batch(fg, np.zeros((2, N)))):
        with pytest.raises(kind, match=text) as info:
            solve()
        assert len(str(info.value)) < 200
        assert isinstance(info.value.__cause__, TypingError)


def test_separate_jac_of_wrong_shape():
    with pytest.raises(ValueError, match="^the gradient is a 2-d array"):
        lb.minimize(f_only, X0, jac=jac_2d)


def test_forgotten_jac_true_gives_the_python_path_message():
    with pytest.raises(ValueError) as python_path:
        lb.minimize(_py(quad_fg), X0, args=_sizes(N, 0.0))
    for solve in (lambda: lb.minimize(quad_fg, X0, args=_sizes(N, 0.0)),
                  lambda: lb.fmin_l_bfgs_b(quad_fg, X0, approx_grad=True,
                                           args=_sizes(N, 0.0))):
        with pytest.raises(ValueError) as compiled:
            solve()
        assert str(compiled.value) == str(python_path.value)
        assert "jac=True" in str(compiled.value)
        assert len(str(compiled.value)) < 200


# ------------------------------------------------------------ batches

def _batch_rows(k=8):
    """Per-row gradient lengths: rows 2 and 5 short/long from the start,
    row 6 short later; the others right."""
    x0 = np.random.default_rng(3).uniform(-2, 0, (k, N))
    size = np.full((k, 1), N)
    after = np.full((k, 1), -np.inf)
    size[2, 0], size[5, 0], size[6, 0] = N - 1, N + 3, N - 2
    after[6, 0] = 0.4
    return x0, size, after


@pytest.mark.parametrize("parallel", [True, False])
def test_batch_row_with_wrong_gradient_length(parallel):
    x0, size, after = _batch_rows()
    res = lb.minimize_batch(quad_fg, x0, args=(size, after),
                            parallel=parallel)
    bad = [2, 5, 6]
    for i in range(x0.shape[0]):
        if i in bad:
            assert res.task[i] == status.ABNORMAL_GRADIENT_LENGTH
            assert res.status[i] == 2 and not res.success[i]
            assert "LENGTH OF X0" in res.message[i]
            continue
        assert res.success[i]
        alone = lb.minimize_batch(quad_fg, x0[i:i + 1],
                                  args=(size[i:i + 1], after[i:i + 1]),
                                  parallel=parallel)
        np.testing.assert_array_equal(res.x[i], alone.x[0])
        np.testing.assert_array_equal(res.jac[i], alone.jac[0])
        assert (res.fun[i], res.nit[i], res.nfev[i]) == (
            alone.fun[0], alone.nit[0], alone.nfev[0])
    # first evaluation bad: x0, f and g unknown; later: last accepted point
    np.testing.assert_array_equal(res.x[2], x0[2])
    assert np.isnan(res.fun[2]) and np.isnan(res.jac[2]).all()
    assert res.nfev[2] == 0
    assert res.x[6, 0] < 0.4 and np.isfinite(res.fun[6])
    np.testing.assert_array_equal(res.jac[6], 2.0 * (res.x[6] - 1.0))


# ------------------------------------------------------ inside @njit

@njit(parallel=True)
def solve_rows_inside(x0s, lower, upper, size, after):
    k = x0s.shape[0]
    xs = np.empty_like(x0s)
    fs = np.empty(k)
    nfevs = np.empty(k, dtype=np.int64)
    tasks = np.empty(k, dtype=np.int64)
    statuses = np.empty(k, dtype=np.int64)
    for i in prange(k):
        res = lb.njit_minimize(quad_fg, x0s[i], lower[i], upper[i],
                               (size[i], after[i]))
        xs[i] = res.x
        fs[i] = res.fun
        nfevs[i] = res.nfev
        tasks[i] = res.task
        statuses[i] = res.status
    return xs, fs, nfevs, tasks, statuses


def _solve_alone(x0s, lower, upper, size, after, i):
    return solve_rows_inside(x0s[i:i + 1], lower[i:i + 1], upper[i:i + 1],
                             size[i:i + 1], after[i:i + 1])


def _assert_rows_as_alone(out, x0s, lower, upper, size, after, rows):
    for i in rows:
        alone = _solve_alone(x0s, lower, upper, size, after, i)
        np.testing.assert_array_equal(out[0][i], alone[0][0])
        assert [o[i] for o in out[1:]] == [o[0] for o in alone[1:]]
        assert out[3][i] < 500  # converged


def test_inside_njit_prange_wrong_gradient_length():
    x0, size, after = _batch_rows()
    k = x0.shape[0]
    lower = np.full((k, N), -np.inf)
    upper = np.full((k, N), np.inf)
    out = solve_rows_inside(x0, lower, upper, size, after)
    xs, fs, nfevs, tasks, statuses = out
    for i in (2, 5, 6):
        assert tasks[i] == status.ABNORMAL_GRADIENT_LENGTH
        assert statuses[i] == 2
    np.testing.assert_array_equal(xs[2], x0[2])
    assert np.isnan(fs[2]) and nfevs[2] == 0
    assert xs[6, 0] < 0.4 and np.isfinite(fs[6])
    _assert_rows_as_alone(out, x0, lower, upper, size, after,
                          [0, 1, 3, 4, 7])


@njit(parallel=True)
def solve_2d_gradient_inside(x0s):
    tasks = np.empty(x0s.shape[0], dtype=np.int64)
    for i in prange(x0s.shape[0]):
        tasks[i] = lb.njit_minimize(fg_2d_gradient, x0s[i], x0s[i] - 1.0,
                                    x0s[i] + 1.0).task
    return tasks


@njit
def solve_array_f_inside(x0):
    return lb.njit_minimize(fg_array_f, x0, x0 - 1.0, x0 + 1.0).task


@pytest.mark.parametrize("solve, text", [
    (solve_2d_gradient_inside, "the gradient is a 2-d array"),
    (solve_array_f_inside, "must return a scalar value"),
], ids=["2-d g", "array f"])
def test_inside_njit_objective_types_name_the_problem(solve, text):
    with pytest.raises(TypingError, match=text):
        solve(np.zeros((2, N)) if solve is solve_2d_gradient_inside else X0)


# ------------------------------------------------------------- bounds

BAD_BOUNDS = [
    ("lower +inf", [0.0, np.inf, 0.0], [1.0, np.inf, 1.0],
     status.ERROR_INFINITE_BOUND, "lower bound of \\+inf"),
    ("upper -inf", [-np.inf, 0.0, 0.0], [-np.inf, 1.0, 1.0],
     status.ERROR_INFINITE_BOUND, "upper bound of -inf"),
    ("NaN", [0.0, np.nan, 0.0], [1.0, 1.0, 1.0],
     status.ERROR_BOUND_NAN, "NaN in the bound"),
    ("lower > upper", [0.0, 2.0, 0.0], [1.0, 1.0, 1.0],
     status.ERROR_LOWER_ABOVE_UPPER, "lower bounds is greater"),
]


@pytest.mark.parametrize("name, lower, upper, code, text", BAD_BOUNDS,
                         ids=[b[0] for b in BAD_BOUNDS])
def test_bad_bounds_from_python(name, lower, upper, code, text):
    lower, upper = np.array(lower), np.array(upper)
    args = _sizes(N, -np.inf)
    with pytest.raises(ValueError, match=f"^bounds: .*{text}"):
        lb.njit_minimize(quad_fg, X0, lower, upper, args)
    for parallel in (True, False):
        with pytest.raises(ValueError, match=f"^bounds: .*{text}"):
            lb.minimize_batch(quad_fg, np.zeros((2, N)),
                              args=tuple(np.tile(a, (2, 1)) for a in args),
                              bounds=(lower, upper), parallel=parallel)
    # the same wording as the Python path
    with pytest.raises(ValueError, match=f"^bounds: .*{text}"):
        lb.fmin_l_bfgs_b(_py(quad_fg), X0, args=args,
                         bounds=list(zip(lower, upper)))


def test_bad_bounds_inside_njit_prange():
    k = len(BAD_BOUNDS) + 3
    x0 = np.random.default_rng(5).uniform(-1, 1, (k, N))
    lower = np.full((k, N), -2.0)
    upper = np.full((k, N), 0.5)
    for j, (_, lo, up, _, _) in enumerate(BAD_BOUNDS):
        lower[2 * j], upper[2 * j] = lo, up
    x0[1, 0] = np.nan  # x0 not finite
    size = np.full((k, 1), N)
    after = np.full((k, 1), -np.inf)
    out = solve_rows_inside(x0, lower, upper, size, after)
    xs, fs, nfevs, tasks, statuses = out
    for j, (_, _, _, code, _) in enumerate(BAD_BOUNDS):
        i = 2 * j
        assert tasks[i] == code and statuses[i] == 2
        assert nfevs[i] == 0 and np.isnan(fs[i])  # fg never evaluated
        np.testing.assert_array_equal(xs[i], x0[i])
        assert status.message(code).startswith("ERROR: ")
    assert tasks[1] == status.ERROR_X0_NOT_FINITE and nfevs[1] == 0
    _assert_rows_as_alone(out, x0, lower, upper, size, after, [3, 5])


def test_input_error_codes_have_warnflag_2_and_texts():
    for code in (status.ABNORMAL_GRADIENT_LENGTH, status.ERROR_BOUND_NAN,
                 status.ERROR_LOWER_ABOVE_UPPER, status.ERROR_INFINITE_BOUND,
                 status.ERROR_X0_NOT_FINITE):
        assert 811 <= code <= 819
        # even past maxfun/maxiter: the input error is the reason
        assert status.warnflag(code, 10, 10, 5, 5) == 2
        assert status.message(code).isupper()


def test_njit_minimize_known_to_numba_before_the_solver_is_loaded():
    """A user's @njit function may use lbfgsb_numba.njit_minimize before
    anything loaded the compiled solver (the name resolves through the
    package's import; a bad objective stops typing early, so this compiles
    little)."""
    import os
    import subprocess
    import sys
    script = "\n".join([
        "import sys",
        "import numpy as np",
        "from numba import njit",
        "import lbfgsb_numba as lb",
        "assert 'lbfgsb_numba.compiled' not in sys.modules",
        "fg = njit(lambda x: (x * x, 2.0 * x))",
        "user = njit(lambda x0: lb.njit_minimize(fg, x0, x0 - 1, x0 + 1).task)",
        "try:",
        "    user(np.zeros(2))",
        "except Exception as exc:",
        "    print(type(exc).__name__, 'must return a scalar value' in str(exc))",
    ])
    package_root = os.path.dirname(os.path.dirname(lb.__file__))
    env = dict(os.environ, PYTHONPATH=package_root)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True,
                         text=True, timeout=600, env=env)
    assert out.stdout.split() == ["TypingError", "True"], out.stderr[-2000:]


def test_epsilon_and_empty_batch_rows_named():
    with pytest.raises(ValueError, match=r"^epsilon \(eps\) must be a scalar"):
        lb.fmin_l_bfgs_b(_py(quad_f), X0, args=_sizes(N, 0.0),
                         approx_grad=True, epsilon=[1e-8, 1e-8])
    with pytest.raises(ValueError, match="at least one variable"):
        lb.minimize_batch(quad_fg, np.zeros((2, 0)))


# ------------------------------------- the Python shell: x0, bounds, options

def test_unknown_jac_scheme_and_2d_x0():
    f = python_wrapper(rosenbrock_f)
    for scheme in ("4-point", "central"):
        with pytest.raises(ValueError, match="jac") as info:
            lb.minimize(f, X4, jac=scheme)
        assert scheme in str(info.value)
    with pytest.raises(ValueError) as ours:
        lb.minimize(f, np.zeros((2, 2)))
    with pytest.raises(ValueError) as ref:
        so.minimize(f, np.zeros((2, 2)), method="L-BFGS-B")
    assert str(ours.value) == str(ref.value)


def test_bounds_forms():
    lo, up, nbd = normalize_bounds([(None, 1), (0, None), (None, None),
                                    (-1, 2), (3, 3)], 5)
    np.testing.assert_array_equal(lo, [-np.inf, 0, -np.inf, -1, 3])
    np.testing.assert_array_equal(up, [1, np.inf, np.inf, 2, 3])
    np.testing.assert_array_equal(nbd, [3, 1, 0, 2, 2])
    lo2, up2, nbd2 = normalize_bounds((lo, up), 5)
    np.testing.assert_array_equal(nbd2, nbd)
    lo3, up3, nbd3 = normalize_bounds((0.0, np.inf), 3)  # scalars
    np.testing.assert_array_equal(nbd3, [1, 1, 1])
    # n == 2: pairs win, as in scipy
    lo4, up4, _ = normalize_bounds([(0, 5), (5, 10)], 2)
    np.testing.assert_array_equal(lo4, [0, 5])


@pytest.mark.parametrize("x0, exc, words", [
    ([1.0, np.nan], ValueError, "x0"),
    ([np.inf, 1.0], ValueError, "x0"),
    ([1 + 2j, 0.0], TypeError, "x0"),
    (["a", "b"], TypeError, "x0"),
    ([], ValueError, "x0"),
])
def test_bad_x0(x0, exc, words):
    with pytest.raises(exc, match=words):
        lb.fmin_l_bfgs_b(quad, x0)


@pytest.mark.parametrize("bounds, exc, words", [
    ([(0, np.nan), (0, 1)], ValueError, "NaN"),
    ([(2, 1), (0, 1)], ValueError, "lower bounds is greater"),
    ([(0, 1)], ValueError, "length of x0 != length of bounds"),
    ([(0, 1)] * 3, ValueError, "length of x0 != length of bounds"),
    ([(np.inf, None), (0, 1)], ValueError, "bounds"),
    ([("a", 1), (0, 1)], TypeError, "bounds"),
])
def test_bad_bounds(bounds, exc, words):
    with pytest.raises(exc, match=words):
        lb.fmin_l_bfgs_b(quad, [0.5, 0.5], bounds=bounds)


@pytest.mark.parametrize("kw, exc, words", [
    ({"m": 0}, ValueError, "m"),
    ({"maxls": 0}, ValueError, "maxls"),
    ({"maxiter": np.nan}, ValueError, "maxiter"),
    ({"maxfun": np.nan}, ValueError, "maxfun"),
    ({"maxls": 2.0}, TypeError, "maxls"),
    ({"factr": -1.0}, ValueError, "factr"),
    ({"pgtol": -1e-5}, ValueError, "pgtol"),
    ({"pgtol": np.nan}, ValueError, "pgtol"),
    ({"m": 2.5}, TypeError, "m"),
    ({"maxiter": "10"}, TypeError, "maxiter"),
])
def test_bad_options(kw, exc, words):
    with pytest.raises(exc, match=words):
        lb.fmin_l_bfgs_b(quad, [0.5, 0.5], **kw)


def test_bad_minimize_options():
    with pytest.raises(ValueError, match="ftol"):
        lb.minimize(quad, [0.5], jac=True, options={"ftol": -1.0})
    with pytest.raises(ValueError, match="gtol"):
        lb.minimize(quad, [0.5], jac=True, options={"gtol": -1.0})
    with pytest.raises(ValueError, match="eps"):
        lb.minimize(lambda x: float(x @ x), [0.5], options={"eps": 0.0})


@pytest.mark.parametrize("fun, exc, words", [
    (lambda x: (np.array([1.0, 2.0]), 2 * x), ValueError, "scalar"),
    (lambda x: (float(x @ x), np.ones(3)), ValueError, "gradient has shape"),
    (lambda x: (complex(1, 1), 2 * x), TypeError, "complex"),
    (lambda x: (float(x @ x), 2 * x + 1j), TypeError, "complex"),
    (lambda x: float(x @ x), ValueError, r"\(f, g\)"),
])
def test_bad_objective_output(fun, exc, words):
    with pytest.raises(exc, match=words):
        lb.fmin_l_bfgs_b(fun, [0.5, 0.5])


def test_accepted_like_scipy():
    # lists, ints, 0-d x0, numpy scalar / 1-element f, float32 gradient
    x, f, d = lb.fmin_l_bfgs_b(
        lambda x: (np.array([np.sum((x - 1.5) ** 2)]),
                   (2 * (x - 1.5)).astype(np.float32)),
        [0, 1], bounds=[(None, 1.0), (-np.inf, None)])
    assert d["warnflag"] == 0
    np.testing.assert_allclose(x, [1.0, 1.5], atol=1e-5)
    x, f, d = lb.fmin_l_bfgs_b(lambda x: (np.float64(x[0] ** 2), 2 * x),
                               np.array(3.0))
    assert x.shape == (1,) and abs(x[0]) < 1e-5
    # (lower, upper) arrays and a Bounds-like object
    class B:
        lb = np.zeros(3)
        ub = np.array([1.0, np.inf, 0.5])
    x1, _, _ = lb.fmin_l_bfgs_b(quad, np.zeros(3), bounds=B())
    x2, _, _ = lb.fmin_l_bfgs_b(quad, np.zeros(3),
                                bounds=(np.zeros(3), [1.0, np.inf, 0.5]))
    np.testing.assert_allclose(x1, [1.0, 1.5, 0.5], atol=1e-6)
    np.testing.assert_array_equal(x1, x2)


def test_large_bounds_arrays_are_vectorised():
    import sys
    n = 200_000
    lines = [0]

    def tracer(frame, event, arg):  # counts executed Python lines
        if event == "line":
            lines[0] += 1
        return tracer

    sys.settrace(tracer)
    try:
        lower, upper, nbd = lb.bounds.normalize_bounds(
            (np.zeros(n), np.full(n, np.inf)), n)
    finally:
        sys.settrace(None)
    assert lines[0] < 1000  # no Python loop over the n variables
    assert nbd.dtype == np.int32 and (nbd == 1).all()
    pairs = [(0.0, None)] * 5 + [(None, None)] * 5
    lower, upper, nbd = lb.bounds.normalize_bounds(pairs, 10)
    assert list(nbd) == [1] * 5 + [0] * 5


@pytest.mark.parametrize("name, value", [
    ("maxcor", 5.0), ("maxcor", 2.5), ("maxcor", True), ("maxls", 5.0),
    ("maxls", np.float64(5.5)), ("maxiter", "5"), ("maxfun", None),
    ("maxiter", [5])])
def test_integer_options_scipy_refuses(name, value):
    with pytest.raises(TypeError):
        so.minimize(so.rosen, X5, jac=so.rosen_der, method="L-BFGS-B",
                    options={name: value})
    with pytest.raises(TypeError, match=name):
        lb.minimize(so.rosen, X5, jac=so.rosen_der, options={name: value})


def test_integer_options_we_refuse_more_clearly():
    """Where scipy fails obscurely or ignores the value, a ValueError
    naming the option."""
    for name, value in (("maxcor", 0), ("maxcor", -1), ("maxls", 0),
                        ("maxiter", np.nan), ("maxfun", np.nan)):
        with pytest.raises(ValueError, match=name):
            lb.minimize(so.rosen, X5, jac=so.rosen_der,
                        options={name: value})
