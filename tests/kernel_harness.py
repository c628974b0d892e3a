"""Test helpers that drive the kernels on a workspace of named numpy arrays
(moved out of the production modules, which use only the address form).

``new_workspace(n, m)`` gives (Workspace, buffer, addresses);
``initialize(ws, x0, ...)`` loads a problem into it; ``step(ws)``
and ``driver.step_at(addresses, n, m, False)`` then advance the solver.
"""
import numpy as np
from numba import njit

from lbfgsb_numba.driver import initialize_arrays, step_at
from lbfgsb_numba.workspace import (INPUT_FIELDS, Workspace, field_dtype,
                                    field_offsets, layout, workspace_arrays)


@njit(cache=True, nogil=True)
def allocate(n, m):
    """A zeroed buffer (float64 array) holding every field, and the int64
    array of the fields' addresses, laid out in compiled code.  The buffer
    must outlive every use of the addresses (keep a reference to it)."""
    offsets, size = field_offsets(n, m, True)
    buf = np.zeros(size // 8)
    addresses = offsets + np.int64(buf.ctypes.data)  # int64, not float
    return buf, addresses


def new_buffer(n, m, x=None, lower=None, upper=None, bound_type=None):
    """Python-side ``allocate``: (buffer, addresses).  With x, lower, upper
    and bound_type given (C-contiguous float64, and int32 for bound_type, of
    length n) these arrays are used in place instead of buffer fields."""
    own = x is None
    offsets, size, _ = layout(n, m, own)
    buf = np.zeros(size // 8)
    addresses = offsets + buf.__array_interface__["data"][0]
    if not own:
        for k, arr in zip(INPUT_FIELDS, (x, lower, upper, bound_type)):
            dtype = field_dtype(k)
            if (arr.dtype != dtype or arr.shape != (n,) or
                    not arr.flags.c_contiguous):
                raise ValueError(f"workspace field {Workspace._fields[k]}: "
                                 f"expected a C-contiguous {np.dtype(dtype)} "
                                 f"array of shape ({n},)")
            addresses[k] = arr.__array_interface__["data"][0]
    return buf, addresses


def new_workspace(n, m):
    """A zeroed workspace as named numpy arrays; returns (Workspace,
    buffer, addresses)."""
    buf, addresses = new_buffer(n, m)
    return workspace_arrays(buf, addresses, n, m), buf, addresses


@njit(cache=True, nogil=True)
def initialize(ws, x0, lower, upper, bound_type, options):
    """Load a problem into a Workspace of named arrays and reset the
    state (x0 is clipped into the box); ``options`` is an
    ``options.SolverOptions`` (``options.solver_options``)."""
    ws.x[:] = x0
    ws.lower[:] = lower
    ws.upper[:] = upper
    ws.bound_type[:] = bound_type
    initialize_arrays(ws.x, ws.g, ws.lower, ws.upper, ws.bound_type,
                      ws.where, ws.state, ws.search, options)


def step(ws):
    """``driver.step_at`` on a ``Workspace`` of numpy arrays (C-contiguous,
    with the fields' shapes and dtypes), from Python."""
    addresses = np.array([field.ctypes.data for field in ws], np.int64)
    return step_at(addresses, ws.x.shape[0], ws.s_pairs.shape[0], False)
