"""Result containers: ``OptimizeResult`` (scipy-compatible: a dict with
attribute access) and ``BatchResult`` for ``minimize_batch``."""
from __future__ import annotations

import numpy as np


class OptimizeResult(dict):
    """Result of a solve: a dict whose keys are also attributes
    (x, fun, jac, nit, nfev, njev, status, success, message, hess_inv)."""

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
    """Result of ``minimize_batch``: x (k, n), fun (k,), jac (k, n), nit,
    nfev, status, success, task (k,) and message (list of k strings)."""
