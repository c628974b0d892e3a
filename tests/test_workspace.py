"""The workspace (``workspace.py``): one buffer per solve, one aligned
slice per field."""
import numpy as np
import pytest

from lbfgsb_numba.workspace import (INPUT_FIELDS, Workspace, allocate,
                                    field_offsets, new_buffer, new_workspace,
                                    workspace_arrays)


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
