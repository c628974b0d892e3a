"""The workspace's field table (``workspace.FIELDS``) is the one source of
the record, the indices, the layout and the views: the compiled views and
the Python views of a buffer are the same arrays."""
import numpy as np
import pytest
from numba import njit

from lbfgsb_numba.workspace import (DENSE_MAX_N, FIELDS, N_FIELDS, Workspace,
                                    evaluation_views, field_offsets,
                                    workspace_arrays, workspace_views)
from kernel_harness import new_buffer


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
