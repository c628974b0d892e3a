"""lbfgsb_numba.dask: minimize_batch over Dask arrays, on the threads and
processes schedulers and on a real 2-worker ``distributed.LocalCluster``
(worker processes), compared bit for bit with the in-process
``minimize_batch``; a worker killed mid-computation loses no row."""
import logging
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

from dask_objectives import (  # noqa: E402
    LOWER, UPPER, args_for, make_local_objective, problem, two_exp_fg)
from lbfgsb_numba import dask as lbd  # noqa: E402
from lbfgsb_numba.batch import minimize_batch  # noqa: E402

FIELDS = ("x", "fun", "jac", "nit", "nfev", "status", "success", "task")
K = 60
NAN_ROWS = (3, 31, 59)


def assert_same(res, ref):
    """Every field equal bit for bit (NaN where NaN), messages equal."""
    for name in FIELDS:
        np.testing.assert_array_equal(res[name], ref[name], err_msg=name)
    assert list(res.message) == list(ref.message)


@pytest.fixture(scope="module")
def data():
    x0, y = problem(K, nan_rows=NAN_ROWS)
    return x0, y


@pytest.fixture(scope="module")
def reference(data):
    """The in-process minimize_batch (default: parallel) on the same rows."""
    x0, y = data
    return minimize_batch(two_exp_fg, x0, args_for(y), bounds=(LOWER, UPPER))


@pytest.fixture(scope="module")
def client():
    """A real cluster: 2 worker processes (under nannies), 1 thread each.
    Closed with timeouts after the module; its worker processes must be
    gone afterwards."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True,
        dashboard_address=":0", silence_logs=logging.CRITICAL,
        env={"NUMBA_NUM_THREADS": "1"})  # no idle Numba pool per worker
    client = distributed.Client(cluster, timeout="60s")
    pids = set(client.run(os.getpid).values())
    try:
        yield client
    finally:
        pids |= set(client.run(os.getpid).values())
        client.close(timeout=30)
        cluster.close(timeout=30)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if _alive(pid)], "worker left running"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) is not running
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_core_package_never_imports_dask():
    code = ("import sys, numpy as np, lbfgsb_numba\n"
            "from lbfgsb_numba import minimize_batch, minimize\n"
            "import lbfgsb_numba.batch, lbfgsb_numba.compiled\n"
            "bad = [m for m in ('dask', 'distributed', 'xarray', 'tqdm')\n"
            "       if m in sys.modules]\n"
            "print(bad)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(__file__)))
    assert run.stdout.strip() == "[]"


def test_lazy_result_chunked_like_the_batch(data):
    x0, y = data
    res = lbd.minimize_batch(two_exp_fg, x0, args_for(y), (LOWER, UPPER),
                             chunks=25)
    assert isinstance(res.x, da.Array) and res.x.shape == (K, 5)
    assert res.x.chunks == ((25, 25, 10), (5,))
    assert res.fun.chunks == ((25, 25, 10),)
    assert res.success.dtype == bool and res.nit.dtype == np.int64
    # one task per chunk solves; the fields are read from its records
    solve_keys = [key for key in res.records.__dask_graph__()
                  if isinstance(key, tuple)
                  and key[0].startswith("lbfgsb-minimize-batch")]
    assert len(solve_keys) == 3


def test_shared_data_sent_once_not_per_row():
    """Broadcast (shared) inputs enter the graph once, unmaterialised."""
    import cloudpickle
    from dask_objectives import T, X0
    k = 10**6
    y = da.zeros((k, T.size), chunks=(10**5, T.size))
    res = lbd.minimize_batch(two_exp_fg, np.broadcast_to(X0, (k, 5)),
                             (np.broadcast_to(T, (k, T.size)), y,
                              np.broadcast_to(np.int64(1), (k,))),
                             (LOWER, UPPER))
    assert res.x.chunks[0] == (10**5,) * 10
    graph = dict(res.records.__dask_graph__())
    # t alone would be 320 MB materialised, x0 40 MB
    assert len(cloudpickle.dumps(graph)) < 100_000


def test_threads_scheduler_bit_identical_with_nan_rows(data, reference):
    x0, y = data
    res = lbd.minimize_batch(two_exp_fg, x0, args_for(y), (LOWER, UPPER),
                             chunks=16)
    out = res.compute(scheduler="threads", num_workers=2)
    assert_same(out, reference)
    assert (out.status[list(NAN_ROWS)] == 2).all()
    assert not out.success[list(NAN_ROWS)].any()
    assert out.message[NAN_ROWS[0]].startswith("ABNORMAL")
    others = np.setdiff1d(np.arange(K), NAN_ROWS)
    assert out.success[others].all()
    # dask.compute on the fields gives the same arrays
    x, fun = dask.compute(res.x, res.fun, scheduler="threads")
    np.testing.assert_array_equal(x, reference.x)
    np.testing.assert_array_equal(fun, reference.fun)


def test_numba_threads_inside_a_task(data, reference):
    """numba_threads=2: the parallel kernel runs inside the task; the
    caller's Numba thread count is restored afterwards."""
    import numba
    x0, y = data
    before = numba.get_num_threads()
    out = lbd.minimize_batch(two_exp_fg, x0, args_for(y), (LOWER, UPPER),
                             chunks=30, numba_threads=2).compute(
                                 scheduler="sync")
    assert_same(out, reference)
    assert numba.get_num_threads() == before


def test_processes_scheduler_objective_pickled_by_value(data, reference):
    """An objective that cannot be imported by name (like one defined in
    __main__) travels by value to the worker processes."""
    local_fg = make_local_objective()
    assert not lbd.Objective(local_fg).by_reference
    x0, y = data
    out = lbd.minimize_batch(local_fg, x0, args_for(y), (LOWER, UPPER),
                             chunks=30).compute(scheduler="processes",
                                                num_workers=2)
    assert_same(out, reference)


def test_module_objective_travels_by_reference():
    """A module-level objective is looked up by name where it is
    unpickled: the module's own dispatcher, with its on-disk cache."""
    ref = lbd.Objective(two_exp_fg)
    assert ref.by_reference
    assert pickle.loads(pickle.dumps(ref)).fun is two_exp_fg
    assert len(pickle.dumps(ref)) < 200


def test_dask_inputs_rechunked_row_bounds(data):
    """x0 and y as Dask arrays chunked differently (rechunked to whole
    rows), lower bounds per row (k, n) as a Dask array, the upper bound
    shared.  (Threads scheduler: other argument types mean another
    compilation of the batch kernel in every process.)"""
    x0, y = data
    lower = np.broadcast_to(LOWER, (K, 5)).copy()
    lower[::7, 4] = -0.5
    ref = minimize_batch(two_exp_fg, x0, args_for(y), bounds=(lower, UPPER),
                         parallel=False)
    t, _, repeats = args_for(y)
    res = lbd.minimize_batch(
        two_exp_fg, da.from_array(x0, chunks=(20, 2)),
        (t, da.from_array(y, chunks=(7, 40)), repeats),
        bounds=(da.from_array(lower, chunks=(33, 5)), UPPER))
    assert res.x.chunks[0] == (20, 20, 20)
    out = res.compute(scheduler="threads")
    assert_same(out, ref)
    assert (out.status[list(NAN_ROWS)] == 2).all()
    assert (out.x[:, 4] >= lower[:, 4]).all()


def test_cluster_result_equals_in_process(client, data, reference):
    x0, y = data
    res = lbd.minimize_batch(two_exp_fg, x0, args_for(y), (LOWER, UPPER),
                             chunks=11)
    with distributed.get_task_stream(client) as stream:
        assert res.warm_up(client) is res
    warmed = {task["worker"] for task in stream.data
              if "solve_chunk" in str(task["key"])}
    assert warmed == set(client.nthreads())
    assert_same(res.compute(), reference)
    x, status = dask.compute(res.x, res.status)
    np.testing.assert_array_equal(x, reference.x)
    np.testing.assert_array_equal(status, reference.status)


def test_cluster_worker_killed_mid_computation(client, data, reference):
    """Kill one worker process (SIGKILL, by pid) while chunks are still
    being solved: the scheduler gives the lost chunks to the remaining or
    restarted worker and no row is lost; the result is the same bits.
    The objective repeats its work (same answers) so that a chunk takes
    about half a second."""
    x0, y = data
    res = lbd.minimize_batch(two_exp_fg, x0, args_for(y, repeats=1000),
                             (LOWER, UPPER), chunks=6)
    pids = client.run(os.getpid)
    persisted = res.persist()
    futures = distributed.futures_of(persisted.records)
    assert len(futures) == K // 6
    deadline = time.monotonic() + 120
    victim = None  # a busy worker near the end (a restarted worker would
    # compile the kernel again before taking a chunk)
    while victim is None and time.monotonic() < deadline:
        done = sum(f.done() for f in futures)
        busy = [addr for addr, keys in client.processing().items() if keys]
        if busy and 2 <= len(futures) - done <= 4:
            victim = busy[0]
        else:
            time.sleep(0.02)
    assert victim is not None, "no chunk in progress to interrupt"
    os.kill(pids[victim], signal.SIGKILL)
    out = persisted.compute()
    assert_same(out, reference)
    client.wait_for_workers(2, timeout=120)
    assert pids[victim] not in client.run(os.getpid).values()


def test_bad_input_named_at_call():
    x0, y = problem(4)
    args = args_for(y)
    with pytest.raises(ValueError, match="x0 must have shape"):
        lbd.minimize_batch(two_exp_fg, x0[0], args)
    with pytest.raises(TypeError, match="x0 must be real"):
        lbd.minimize_batch(two_exp_fg, x0.astype(complex), args)
    with pytest.raises(ValueError, match=r"args\[1\] must be an array"):
        lbd.minimize_batch(two_exp_fg, x0, (args[0], y[:3], args[2]))
    with pytest.raises(ValueError, match="maxcor"):
        lbd.minimize_batch(two_exp_fg, x0, args, maxcor=0)
    with pytest.raises(ValueError, match="numba_threads"):
        lbd.minimize_batch(two_exp_fg, x0, args, numba_threads=0)
    with pytest.raises(ValueError, match="greater"):
        lbd.minimize_batch(two_exp_fg, x0, args, bounds=(UPPER, LOWER))
    with pytest.raises(TypeError, match="fun must be"):
        lbd.minimize_batch("not a function", x0, args)
    unknown = da.from_array(x0, chunks=2)[da.from_array(x0[:, 0]) > 0]
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        lbd.minimize_batch(two_exp_fg, unknown, ())


def test_value_errors_raise_when_computed():
    """Checks of values (not shapes) happen in the task, as in-process."""
    x0, y = problem(4)
    x0[2, 0] = np.nan
    res = lbd.minimize_batch(two_exp_fg, x0, args_for(y), (LOWER, UPPER))
    with pytest.raises(ValueError, match="x0 contains NaN"):
        res.compute(scheduler="sync")


def test_xarray_example_maps_and_png(tmp_path):
    """The example's fits on a small cube: the module and apply_ufunc give
    the same maps, dead (NaN) pixels get status 2 and nothing else does,
    the true parameters are found, and the PNG is written."""
    pytest.importorskip("xarray")
    examples = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                            "examples")
    sys.path.insert(0, examples)
    try:
        import xarray_per_pixel_fits as example
    finally:
        sys.path.remove(examples)
    cube, truth = example.synthetic_cube(24, chunk_rows=8)
    fits = example.fit_cube(cube).compute(scheduler="threads")
    other = example.fit_cube_apply_ufunc(cube).compute(scheduler="threads")
    for name in ("params", "status", "fun"):
        np.testing.assert_array_equal(fits[name].values, other[name].values)
    dead = np.isnan(cube.values).any(axis=-1)
    assert dead.sum() >= 4
    np.testing.assert_array_equal(fits.status.values == 2, dead)
    assert (fits.status.values[~dead] == 0).all()
    k_fast = fits.params.sel(param="k_fast").values[~dead]
    assert np.median(np.abs(
        k_fast / truth.sel(param="k_fast").values[~dead] - 1)) < 0.05
    png = tmp_path / "maps.png"
    example.main(["--size", "24", "--png", str(png)])
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert png.stat().st_size > 10_000
