"""The workspace (``workspace.py``): one buffer per solve, one aligned
slice per field, and the field table (``workspace.FIELDS``) as the one
source of the record, the indices, the layout and the views: the compiled
views and the Python views of a buffer are the same arrays."""
import numpy as np
import pytest

from numba import njit

from lbfgsb_numba.workspace import (DENSE_MAX_N, FIELDS, INPUT_FIELDS,
                                    N_FIELDS, Workspace, evaluation_views,
                                    field_offsets, workspace_arrays,
                                    workspace_views)
from kernel_harness import allocate, new_buffer, new_workspace


def test_workspace_layout():
    """Every field gets its own aligned, non-overlapping slice of one
    buffer, with the shape and dtype the kernels expect; the problem's own
    arrays can be used in place."""
    n, m = 7, 3
    ws, buf, addresses = new_workspace(n, m)
    base = buf.__array_interface__["data"][0]
    spans = []
    for name, arr in zip(Workspace._fields, ws):
        start = arr.__array_interface__["data"][0]
        assert (start - base) % 64 == 0, name
        assert base <= start and start + arr.nbytes <= base + buf.nbytes, name
        spans.append((start, start + arr.nbytes, name))
        assert not np.frombuffer(arr.tobytes(), np.uint8).any(), name
    spans.sort()
    for (_, end, a), (start, _, b) in zip(spans, spans[1:]):
        assert end <= start, (a, b)
    assert ws.s_pairs.shape == (m, n) and ws.k_factor.shape == (2 * m, 2 * m)
    assert ws.bound_type.dtype == np.int32 and ws.state.shape == (1,)
    # compiled allocation: same layout
    buf2, addresses2 = allocate(n, m)
    np.testing.assert_array_equal(addresses2 - addresses2[0],
                                  addresses - addresses[0])
    assert addresses2.dtype == np.int64
    # the problem's arrays in place: no room for them in the buffer
    x, lo, up = np.zeros(n), np.zeros(n), np.ones(n)
    nbd = np.full(n, 2, np.int32)
    buf3, addresses3 = new_buffer(n, m, x, lo, up, nbd)
    assert buf3.nbytes < buf.nbytes
    views = workspace_arrays(buf3, addresses3, n, m, (x, lo, up, nbd))
    for k in INPUT_FIELDS:
        assert views[k] is (x, lo, up, nbd)[INPUT_FIELDS.index(k)]
    offsets, size = field_offsets(n, m, False)
    assert (offsets[list(INPUT_FIELDS)] == -1).all() and size == buf3.nbytes
    with pytest.raises(ValueError, match="lower"):
        new_buffer(n, m, x, np.zeros(n + 1), up, nbd)

@njit(cache=True)
def compiled_views(addresses, n, m):
    return workspace_views(addresses, n, m)


@njit(cache=True)
def compiled_evaluation_views(addresses, n):
    return evaluation_views(addresses, n)


def data_address(arr):
    return arr.__array_interface__["data"][0]


@pytest.mark.parametrize("n", [3, DENSE_MAX_N + 4])
def test_compiled_views_are_the_python_views(n):
    m = 4
    buf, addresses = new_buffer(n, m)
    python = workspace_arrays(buf, addresses, n, m)
    compiled = compiled_views(addresses, n, m)
    assert Workspace._fields == tuple(f.name for f in FIELDS)
    assert len(compiled) == len(python) == N_FIELDS
    for field, a, b in zip(FIELDS, compiled, python):
        assert a.dtype == b.dtype == field.dtype, field.name
        assert a.shape == b.shape, field.name
        if a.size:
            assert data_address(a) == data_address(b) == addresses[
                FIELDS.index(field)], field.name
    # the dense-model fields exist for small n only
    assert python.b_dense.shape == ((n, n) if n <= DENSE_MAX_N else (0, 0))
    # the evaluation subset: x, g, lower, upper, state
    subset = compiled_evaluation_views(addresses, n)
    for a, b in zip(subset, (python.x, python.g, python.lower, python.upper,
                             python.state)):
        assert data_address(a) == data_address(b) and a.dtype == b.dtype


def test_buffer_size_follows_the_table():
    """Each field takes its own size rounded up to 64 bytes."""
    n, m = 5, 3
    offsets, size = field_offsets(n, m, True)
    buf, addresses = new_buffer(n, m)
    views = workspace_arrays(buf, addresses, n, m)
    expected = sum((v.nbytes + 63) // 64 * 64 for v in views)
    assert size == expected == buf.nbytes
    assert (np.diff(offsets) > 0).all()
