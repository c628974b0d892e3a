"""Result containers: ``OptimizeResult`` (scipy-compatible: a dict with
attribute access) and ``BatchResult`` for ``minimize_batch``.

``result_class()`` is the class ``minimize`` (and the callbacks'
``intermediate_result``) use: when ``scipy.optimize`` has been imported in
the process, a subclass of both ``scipy.optimize.OptimizeResult`` and this
package's ``OptimizeResult`` (so ``isinstance`` holds for either); otherwise
the package's own class.  scipy is never imported for this: importing it
costs more than a whole first solve, and code that names
``scipy.optimize.OptimizeResult`` has already imported it.
"""
from __future__ import annotations

import sys

import numpy as np


class OptimizeResult(dict):
    """Result of a solve: a dict whose keys are also attributes.

    Parameters
    ----------
    **fields
        The entries, as for ``dict``.

    Returns
    -------
    OptimizeResult
        As ``minimize`` fills it: x (n,), fun, jac (n,), nit, nfev, njev,
        status (0 converged, 1 too many evaluations or iterations, 2 other,
        99 stopped by the callback), success, message and hess_inv (an
        ``LbfgsInvHessProduct``).

    Examples
    --------
    >>> from lbfgsb_numba import OptimizeResult
    >>> res = OptimizeResult(x=[1.0], fun=0.5)
    >>> res.fun, res["x"]
    (0.5, [1.0])
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    def __dir__(self):
        return list(self.keys())

    def __repr__(self):
        if not self:
            return f"{type(self).__name__}()"
        width = max(map(len, self.keys())) + 1
        lines = []
        for key, value in self.items():
            text = np.array2string(value, threshold=20, separator=", ") \
                if isinstance(value, np.ndarray) else repr(value)
            text = text.replace("\n", "\n" + " " * (width + 2))
            lines.append(f"{key.rjust(width)}: {text}")
        return "\n".join(lines)


class BatchResult(OptimizeResult):
    """Result of ``minimize_batch`` (and ``BatchSolver.result``): the results of
    k problems, one entry per row.

    Always the package's class: it holds k results, which is not what
    ``scipy.optimize.OptimizeResult`` describes.

    Parameters
    ----------
    **fields
        The entries, as for ``dict``.

    Returns
    -------
    BatchResult
        x (k, n), fun (k,), jac (k, n), nit, nfev, status, success, task (k,)
        and message (list of k strings).

    Examples
    --------
    >>> import numpy as np
    >>> from lbfgsb_numba import BatchResult
    >>> res = BatchResult(fun=np.array([0.0, 1.0]), success=np.array([True, False]))
    >>> res.fun[res.success]
    array([0.])
    """


_SCIPY_CLASSES: dict = {}


def _with_scipy_base(scipy_class):
    """The subclass of scipy's ``OptimizeResult`` and ours (one per scipy
    class; named so that pickle finds it through ``__getattr__`` below)."""
    cls = _SCIPY_CLASSES.get(scipy_class)
    if cls is None:
        cls = type("OptimizeResult", (scipy_class, OptimizeResult), {
            "__module__": __name__, "__qualname__": "ScipyOptimizeResult",
            "__doc__": OptimizeResult.__doc__})
        _SCIPY_CLASSES[scipy_class] = cls
    return cls


def result_class() -> type:
    """The class for results and intermediate results: with
    ``scipy.optimize`` imported, a subclass of its ``OptimizeResult`` (and
    of ours); without it, ``OptimizeResult``."""
    scipy_optimize = sys.modules.get("scipy.optimize")
    scipy_class = getattr(scipy_optimize, "OptimizeResult", None)
    if scipy_class is None:
        return OptimizeResult
    return _with_scipy_base(scipy_class)


def __getattr__(name):
    if name == "ScipyOptimizeResult":  # unpickling a result made with scipy
        import scipy.optimize
        return _with_scipy_base(scipy.optimize.OptimizeResult)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
