"""The whole state of one solve as plain data, and back (checkpoints).

``workspace_state`` turns a solve's work arrays (a ``workspace.Workspace``
of named arrays) into a dict of numpy arrays and scalars:

* ``format`` (``FORMAT``), ``format_version``, ``n``, ``m``;
* every workspace field by name (``workspace.FIELDS``: x, g, lower,
  upper, bound_type, s_pairs, y_pairs, sy, ..., as copies), except the two
  records ``state`` and ``search``, whose scalars appear as
  ``state.<name>`` and ``search.<name>`` (``workspace.STATE_DTYPE``,
  ``SEARCH_DTYPE``);
* ``checksum``: SHA-256 of everything else.

``check_state`` validates such a dict completely (keys, every field's
dtype and shape, the checksum and the solver's invariants: 0 <= col <= m,
0 <= head < m, phase and task codes, index arrays inside [0, n), flags
consistent with the bounds, ...) and raises ValueError naming the first
problem, so that a corrupt, truncated or foreign state never reaches the
compiled kernels.  ``restore_workspace`` copies a valid state into a
workspace.  ``save_state``/``load_state`` store the dict in a ``.npz``
file (``np.savez``; loaded with ``allow_pickle=False``).

Nothing here depends on how the solve is driven: the ask/tell solver uses
it, and a batch solver can use it per problem.
"""
from __future__ import annotations

import hashlib
import os
from typing import Any, Union

import numpy as np

from .dense_model import use_dense
from .driver import PHASE_DONE, PHASE_START
from .line_search import SEARCH_ERROR, SEARCH_START
from .options import SolverOptions, solver_options
from .projection import (BOTH, FIXED, FREE_STILL, LOWER_ONLY, UNBOUNDED,
                         UPPER_ONLY)
from .status import (ABNORMAL_LINE_SEARCH, ABNORMAL_NONFINITE_SEARCH,
                     ABNORMAL_NONFINITE_START, ABNORMAL_NOT_DESCENT, CONV_F,
                     CONV_GRAD, STOP_CALLBACK, STOP_MAXFUN, STOP_MAXITER)
from .workspace import (DENSE_MAX_N, FIELDS, SEARCH_DTYPE, STATE_DTYPE,
                        Workspace, field_dtype, field_shape)

FORMAT = "lbfgsb_numba.solver_state"
# 2: state fields renamed (pg_norm, newest, n_updates, n_skipped,
# n_entering, leaving_start, newton_clipped, n_trials; wt_direction,
# wt_cauchy_step, w_row, scratch_2m, m_wt_cauchy_step) and write-only ones
# dropped (projected, nseg, nintol, dnorm, iback, nfgv)
FORMAT_VERSION = 2

__all__ = ["FORMAT", "FORMAT_VERSION", "workspace_state", "check_state",
           "restore_workspace", "save_state", "load_state",
           "state_checksum", "saved_options"]

# the record fields (state, search), whose scalars are stored one by one
_RECORDS = {f.name: f.dtype for f in FIELDS if f.dtype.names is not None}
# field index of every array field, by name
_ARRAY_FIELDS = {f.name: k for k, f in enumerate(FIELDS)
                 if f.name not in _RECORDS}
_HEADER = ("format", "format_version", "n", "m")
_FLAGS = ("stop_request", "updated", "constrained", "boxed",
          "dense", "refactor", "k_products_stale", "k_factor_stale",
          "x_is_last_eval", "nonfinite_trial")
_FINAL_CODES = frozenset((CONV_GRAD, CONV_F, STOP_MAXFUN, STOP_MAXITER,
                          STOP_CALLBACK, ABNORMAL_LINE_SEARCH,
                          ABNORMAL_NONFINITE_START, ABNORMAL_NONFINITE_SEARCH,
                          ABNORMAL_NOT_DESCENT))
_INDEX_FIELDS = ("break_index", "free_active", "changed")


def state_checksum(state: dict) -> str:
    """SHA-256 of every entry of a state but ``checksum``: key, dtype, shape and
    bytes, in key order.

    Parameters
    ----------
    state : dict
        A state (``LbfgsbSolver.state()``).

    Returns
    -------
    str
        The hex digest.

    Examples
    --------
    >>> import numpy as np
    >>> from lbfgsb_numba import LbfgsbSolver
    >>> from lbfgsb_numba.checkpoint import state_checksum
    >>> state = LbfgsbSolver(np.zeros(2)).state()
    >>> state_checksum(state) == state["checksum"]
    True
    """
    digest = hashlib.sha256()
    for key in sorted(state):
        if key == "checksum":
            continue
        value = np.asarray(state[key])
        digest.update(f"{key}|{value.dtype.str}|{value.shape}|".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def workspace_state(ws: Workspace) -> dict[str, Any]:
    """The state of the solve held in ``ws`` as a dict of numpy arrays and
    scalars (copies; see the module doc)."""
    n, m = ws.x.shape[0], ws.s_pairs.shape[0]
    state: dict[str, Any] = {
        "format": np.str_(FORMAT), "format_version": np.int64(FORMAT_VERSION),
        "n": np.int64(n), "m": np.int64(m)}
    for name in _ARRAY_FIELDS:
        state[name] = np.array(getattr(ws, name), copy=True)
    for record, dtype in _RECORDS.items():
        values = getattr(ws, record)[0]
        for key in dtype.names:
            state[f"{record}.{key}"] = dtype.fields[key][0].type(values[key])
    state["checksum"] = np.str_(state_checksum(state))
    return state


def _bad(message):
    return ValueError(f"solver state: {message}")


def _scalar(state, key, kind):
    value = np.asarray(state[key])
    if value.shape != () or value.dtype.kind not in kind:
        raise _bad(f"{key!r} must be a scalar of kind {kind!r}, got dtype "
                   f"{value.dtype} and shape {value.shape}")
    return value[()]


def check_state(state: Any) -> tuple[int, int]:
    """Validate a state dict completely (see the module doc).

    Parameters
    ----------
    state : dict
        A state (``LbfgsbSolver.state()``, ``load_state``).

    Returns
    -------
    n, m : int
        Its number of variables and of correction pairs.

    Raises
    ------
    ValueError
        Naming the first problem: a missing or extra key, a field of the
        wrong dtype or shape, a wrong checksum, or a broken invariant.

    Examples
    --------
    >>> import numpy as np
    >>> from lbfgsb_numba import LbfgsbSolver
    >>> from lbfgsb_numba.checkpoint import check_state
    >>> state = LbfgsbSolver(np.zeros(2)).state()
    >>> check_state(state)
    (2, 10)
    >>> state["x"] = state["x"] + 1.0
    >>> try:
    ...     check_state(state)
    ... except ValueError:
    ...     print("rejected")
    rejected
    """
    if not hasattr(state, "keys"):
        raise _bad(f"expected a dict of arrays, got {type(state).__name__}")
    if "format" not in state or str(np.asarray(state["format"])) != FORMAT:
        raise _bad("not an lbfgsb_numba solver state (no 'format' entry "
                   f"equal to {FORMAT!r})")
    version = int(_scalar(state, "format_version", "iu"))
    if version != FORMAT_VERSION:
        raise _bad(f"format version {version} is not supported (this "
                   f"version reads {FORMAT_VERSION})")
    n = int(_scalar(state, "n", "iu"))
    m = int(_scalar(state, "m", "iu"))
    if n < 1 or m < 1:
        raise _bad(f"n and m must be >= 1, got n={n}, m={m}")
    expected = set(_HEADER) | set(_ARRAY_FIELDS) | {"checksum"}
    for record, dtype in _RECORDS.items():
        expected.update(f"{record}.{key}" for key in dtype.names)
    missing = expected - set(state.keys())
    if missing:
        raise _bad(f"missing entries {sorted(missing)[:5]} (truncated or "
                   f"from another program)")
    unknown = set(state.keys()) - expected
    if unknown:
        raise _bad(f"unknown entries {sorted(unknown)[:5]}")
    for name in _ARRAY_FIELDS:
        value = state[name]
        shape = field_shape(_ARRAY_FIELDS[name], n, m)
        dtype = field_dtype(_ARRAY_FIELDS[name])
        if (not isinstance(value, np.ndarray) or value.dtype != dtype or
                value.shape != shape):
            got = (f"{value.dtype} {value.shape}" if isinstance(
                value, np.ndarray) else type(value).__name__)
            raise _bad(f"field {name!r} must be a {dtype} array of shape "
                       f"{shape} for n={n}, m={m}; got {got}")
    for record, dtype in _RECORDS.items():
        for key in dtype.names:
            _scalar(state, f"{record}.{key}", dtype.fields[key][0].kind)
    checksum = np.asarray(state["checksum"])
    if checksum.dtype.kind != "U" or str(checksum) != state_checksum(state):
        raise _bad("checksum mismatch: the state was altered or corrupted")
    _check_invariants(state, n, m)
    return n, m


def saved_options(state: dict) -> SolverOptions:
    """The options of the solve saved in ``state`` (its record's m, tol =
    factr * EPS, pgtol and limits), read by the one check of the options
    (``options.solver_options``): ValueError if they are not valid."""
    saved = {key: state[f"state.{key}"].item()
             for key in ("m", "tol", "pgtol", "maxiter", "maxfun", "maxls")}
    try:
        return solver_options(m=saved["m"], ftol=saved["tol"],
                              pgtol=saved["pgtol"], maxiter=saved["maxiter"],
                              maxfun=saved["maxfun"], maxls=saved["maxls"])
    except (TypeError, ValueError) as exc:
        raise _bad(f"inconsistent state: {exc}") from None


def _check_invariants(state, n, m):
    st = {key: state[f"state.{key}"].item() for key in STATE_DTYPE.names}
    ls = {key: state[f"search.{key}"].item() for key in SEARCH_DTYPE.names}

    def require(ok, what):
        if not ok:
            raise _bad(f"inconsistent state: {what}")

    require(st["m"] == m, f"state.m = {st['m']} but m = {m}")
    saved_options(state)
    require(PHASE_START <= st["phase"] <= PHASE_DONE,
            f"unknown phase {st['phase']}")
    require(st["phase"] != PHASE_DONE or st["task"] in _FINAL_CODES,
            f"finished with unknown task code {st['task']}")
    require(0 <= st["col"] <= m, f"col = {st['col']} not in [0, {m}]")
    require(0 <= st["head"] < m and 0 <= st["newest"] < m,
            f"head = {st['head']}, newest = {st['newest']} not in [0, {m})")
    require(st["n_updates"] >= st["col"], "n_updates < col")
    for key in ("nit", "nfev", "njev", "n_skipped", "iter", "n_trials"):
        require(st[key] >= 0, f"{key} < 0")
    require(0 <= st["nfree"] <= n and 0 <= st["n_entering"] <= n and
            0 <= st["leaving_start"] <= n,
            "nfree, n_entering or leaving_start not in [0, n]")
    for key in _FLAGS:
        require(st[key] in (0, 1), f"flag {key} = {st[key]} not 0 or 1")
    require(SEARCH_START <= ls["task"] <= SEARCH_ERROR,
            f"unknown line-search task {ls['task']}")
    require(ls["brackt"] in (0, 1) and ls["stage"] in (1, 2, 0),
            "line-search brackt or stage out of range")
    bound_type, lower, upper = (state["bound_type"], state["lower"],
                                state["upper"])
    require(((bound_type >= UNBOUNDED) & (bound_type <= UPPER_ONLY)).all(),
            "bound_type outside 0..3")
    has_lo = (bound_type == LOWER_ONLY) | (bound_type == BOTH)
    has_up = (bound_type == BOTH) | (bound_type == UPPER_ONLY)
    require(((lower > -np.inf) == has_lo).all() and
            ((upper < np.inf) == has_up).all() and
            not (np.isnan(lower).any() or np.isnan(upper).any()) and
            (lower <= upper).all(),
            "bounds inconsistent with bound_type")
    constrained = bool((bound_type != UNBOUNDED).any())
    require(st["constrained"] == constrained and
            st["boxed"] == bool((bound_type == BOTH).all()),
            "constrained/boxed flags inconsistent with the bounds")
    require(st["dense"] == int(constrained and n <= DENSE_MAX_N and
                               use_dense(n, m)),
            "dense flag inconsistent with n and m")
    for name in _INDEX_FIELDS:
        values = state[name]
        require(((values >= 0) & (values < n)).all(),
                f"index array {name} outside [0, {n})")
    where = state["where"]
    require(((where >= FREE_STILL) & (where <= FIXED)).all(),
            "where codes out of range")


def restore_workspace(state: dict, ws: Workspace) -> None:
    """Copy a state (already checked by ``check_state``) into the fields of
    a workspace of the same n and m."""
    for name in _ARRAY_FIELDS:
        getattr(ws, name)[...] = state[name]
    for record, dtype in _RECORDS.items():
        target = getattr(ws, record)
        for key in dtype.names:
            target[key][0] = state[f"{record}.{key}"]


PathLike = Union[str, "os.PathLike[str]"]


def save_state(path: PathLike, state: dict) -> None:
    """Write a state dict to a ``.npz`` file (``np.savez``).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    state : dict
        A state (``LbfgsbSolver.state()``).

    Returns
    -------
    None
    """
    with open(path, "wb") as out:  # no '.npz' appended to the name
        np.savez(out, **state)


def load_state(path: PathLike) -> dict[str, Any]:
    """Read a state dict written by ``save_state`` and validate it
    (``check_state``).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file (read with ``allow_pickle=False``).

    Returns
    -------
    dict
        The state, ready for ``LbfgsbSolver.from_state``.

    Raises
    ------
    ValueError
        For a file that is not a complete, unaltered state of this format.
    FileNotFoundError
        If there is no such file.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from lbfgsb_numba import LbfgsbSolver
    >>> from lbfgsb_numba.checkpoint import load_state, save_state
    >>> path = os.path.join(tempfile.mkdtemp(), "state.npz")
    >>> save_state(path, LbfgsbSolver(np.zeros(2)).state())
    >>> int(load_state(path)["n"])
    2
    """
    name = os.fspath(path)
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise _bad(f"{name!r} is not a .npz file")
        with data:
            state = {key: data[key] for key in data.files}
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:  # any failure to decode the file's bytes
        if isinstance(exc, ValueError) and str(exc).startswith(
                "solver state:"):
            raise
        raise _bad(f"cannot read {name!r} as a checkpoint "
                   f"({type(exc).__name__}: {exc})") from None
    for key, value in state.items():
        if value.shape == () and value.dtype.kind != "U":
            state[key] = value[()]  # numpy scalars, as written
    check_state(state)
    return state
