"""lbfgsb_numba: L-BFGS-B (version 3.0) as Numba-compiled kernels.

Drop-in for ``scipy.optimize.fmin_l_bfgs_b`` and
``scipy.optimize.minimize(method='L-BFGS-B')``, plus fully compiled solves
(``njit_minimize``, callable from ``@njit`` code) and batched solves of many
independent problems in parallel (``minimize_batch``).

References: R. H. Byrd, P. Lu, J. Nocedal and C. Zhu, SIAM J. Sci. Comput.
16(5), 1995; C. Zhu, R. H. Byrd, P. Lu and J. Nocedal, ACM TOMS 23(4), 1997
(Algorithm 778); J. L. Morales and J. Nocedal, ACM TOMS 38(1), 2011.
"""
from .api import fmin_l_bfgs_b, minimize
from .hess_inv import LbfgsInvHessProduct
from .result import BatchResult, OptimizeResult
from . import status
# Imported with the package, not on first use: importing it registers the
# solver's entry symbols with LLVM (``entries``), which a user's cached
# code that calls ``njit_minimize`` needs before it is loaded, even when it
# reaches ``njit_minimize`` as ``lbfgsb_numba.njit_minimize``; and an import
# in the middle of the compilation of a caller would break the inlining of
# ``njit_minimize``.  (Its cost, Numba's CPU target set-up, is paid by the
# first solve on any path anyway.)
from .compiled import NjitResult, njit_minimize

# The batched solver loads on first use.
_LAZY = {"minimize_batch": "batch"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = ["fmin_l_bfgs_b", "minimize", "minimize_batch", "njit_minimize",
           "NjitResult", "LbfgsInvHessProduct", "OptimizeResult",
           "BatchResult", "status"]
