"""``minimize``'s checkpoint every k iterations (options ``checkpoint`` and
``checkpoint_every``).

After every k-th accepted iteration, when the solve goes on (the first
trial point of the next line search waiting to be evaluated), the whole
state of the solve (``checkpoint.workspace_state``, the format of
``LbfgsbSolver.save``) is written to the file ``checkpoint``: first to a temporary file in the same
directory, then moved over the old checkpoint with ``os.replace``, so the
file always holds one complete state, even when the process dies while
writing.  ``LbfgsbSolver.load(path)`` continues from it, and driven with
the same objective, ends with the same x, f, nit, nfev and message as the
run that was never stopped, bit for bit.

The resumed solver is told f and g, so a checkpoint needs an objective that
gives its gradient (``jac=True`` or a callable ``jac``).
"""
from __future__ import annotations

import os
import tempfile
from typing import Any, Callable, Optional

from .checkpoint import save_state, workspace_state
from .workspace import workspace_arrays


def checkpoint_options(path: Any, every: Any,
                       analytic_gradient: bool) -> Optional[tuple[str, int]]:
    """(path, k) of minimize's options ``checkpoint`` and
    ``checkpoint_every`` (k defaults to 1), or None when no checkpoint is
    asked for.  ValueError/TypeError naming the option that is wrong."""
    if path is None:
        if every is not None:
            raise ValueError("checkpoint_every: needs the option checkpoint "
                             "(the path of the file to write)")
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"checkpoint: expected a file path (str or "
                        f"os.PathLike), got {type(path).__name__}")
    path = os.fspath(path)
    if not isinstance(path, str) or not path:
        raise ValueError(f"checkpoint: expected a non-empty file path, got "
                         f"{path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"checkpoint: the directory {folder!r} does not "
                         f"exist")
    if os.path.isdir(path):
        raise ValueError(f"checkpoint: {path!r} is a directory, not a file")
    if every is None:
        every = 1
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"checkpoint_every: expected an integer >= 1 "
                         f"(iterations between checkpoints), got {every!r}")
    if not analytic_gradient:
        raise ValueError("checkpoint: needs the gradient from the objective "
                         "(jac=True or a callable jac): a solve resumed with "
                         "LbfgsbSolver.load is told f and g")
    return path, every


def write_atomically(path: str, state: dict) -> None:
    """``save_state`` to a temporary file next to ``path``, then
    ``os.replace`` it over ``path``."""
    folder, name = os.path.split(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp",
                                         dir=folder)
    os.close(handle)
    try:
        save_state(temporary, state)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def iteration_writer(options: tuple[str, int], solve, lower, upper,
                     nbd) -> Callable[[], None]:
    """``after_iteration()``, to call after every new iterate of ``solve``
    (a ``solve.Solve`` whose problem arrays are x, lower, upper, nbd) when
    it asks for the next evaluation, with the state's nfev up to date:
    writes the checkpoint when nit is a multiple of k."""
    path, every = options
    n, m = solve.x.shape[0], solve.m
    nit_slot = solve.state()["nit"]

    def after_iteration():
        if int(nit_slot[0]) % every == 0:
            ws = workspace_arrays(solve.buf, solve.addresses, n, m,
                                  (solve.x, lower, upper, nbd))
            write_atomically(path, workspace_state(ws))
    return after_iteration
