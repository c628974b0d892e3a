"""lbfgsb_numba: L-BFGS-B (version 3.0) as Numba-compiled kernels.

Drop-in for ``scipy.optimize.fmin_l_bfgs_b`` and
``scipy.optimize.minimize(method='L-BFGS-B')``, plus fully compiled solves
(``njit_minimize``, callable from ``@njit`` code) and batched solves of many
independent problems in parallel (``minimize_batch``, also with a Python
objective vectorised over the batch), a solver object driven by ask/tell
with checkpoints and warm starts (``LbfgsbSolver``), and ask/tell for
batches (``BatchSolver``; ``lbfgsb_numba.botorch`` has a drop-in for
BoTorch's ``fmin_l_bfgs_b_batched``).

References: R. H. Byrd, P. Lu, J. Nocedal and C. Zhu, SIAM J. Sci. Comput.
16(5), 1995; C. Zhu, R. H. Byrd, P. Lu and J. Nocedal, ACM TOMS 23(4), 1997
(Algorithm 778); J. L. Morales and J. Nocedal, ACM TOMS 38(1), 2011.
"""
from .api import fmin_l_bfgs_b, minimize
from .ask_tell import LbfgsbSolver
from .hess_inv import LbfgsInvHessProduct
from .njit_entry import njit_minimize
from .result import BatchResult, OptimizeResult
from . import status
# Imported with the package, not on first use: importing it registers the
# solver's entry symbols with LLVM (``entries``), which a user's cached
# code that calls ``njit_minimize`` needs before it is loaded, even when it
# reaches ``njit_minimize`` as ``lbfgsb_numba.njit_minimize``.  With an
# empty cache the entries themselves are compiled on the first use of a
# compiled path only (a Python-objective solve does not need them).
from . import entries as _entries  # noqa: F401
from .precompiled import attach_loaded as _attach_loaded

_attach_loaded()  # kernels compiled at install, where valid (precompiled.py)

# The compiled and batched solvers load the code that takes an objective on
# first use.
_LAZY = {"NjitResult": "compiled", "minimize_batch": "batch", "BatchSolver": "batch_ask_tell"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = ["fmin_l_bfgs_b", "minimize", "minimize_batch", "njit_minimize",
           "NjitResult", "LbfgsbSolver", "BatchSolver",
           "LbfgsInvHessProduct", "OptimizeResult", "BatchResult", "status"]
