"""pytest plugin: route scipy's L-BFGS-B through lbfgsb_numba.

Loaded with ``-p tests.scipy_routing_plugin`` (or ``-p scipy_routing_plugin``
with ``tests/`` on the path) when running scipy's own test files: scipy's
``minimize(method='L-BFGS-B')`` then calls ``lbfgsb_numba.minimize`` (after
scipy's own preprocessing: fixed variables removed, bounds standardised,
callback wrapped) and ``scipy.optimize.fmin_l_bfgs_b`` is
``lbfgsb_numba.fmin_l_bfgs_b``.
"""
import scipy.optimize
import scipy.optimize._lbfgsb_py as _lbfgsb_py
import scipy.optimize._minimize as _minimize_module

import lbfgsb_numba


ROUTED_CALLS = {"minimize": 0, "fmin_l_bfgs_b": 0}


def _minimize_lbfgsb_routed(fun, x0, args=(), jac=None, bounds=None,
                            callback=None, **options):
    """scipy's ``_minimize_lbfgsb`` signature, solved by lbfgsb_numba."""
    ROUTED_CALLS["minimize"] += 1
    return lbfgsb_numba.minimize(fun, x0, args=args, jac=jac, bounds=bounds,
                                 callback=callback, **options)


def _fmin_l_bfgs_b_routed(*args, **kwargs):
    ROUTED_CALLS["fmin_l_bfgs_b"] += 1
    return lbfgsb_numba.fmin_l_bfgs_b(*args, **kwargs)


def pytest_configure(config):
    _minimize_module._minimize_lbfgsb = _minimize_lbfgsb_routed
    _lbfgsb_py.fmin_l_bfgs_b = _fmin_l_bfgs_b_routed
    scipy.optimize.fmin_l_bfgs_b = _fmin_l_bfgs_b_routed


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(
        f"routed through lbfgsb_numba ({lbfgsb_numba.__file__}): "
        f"{ROUTED_CALLS['minimize']} minimize calls, "
        f"{ROUTED_CALLS['fmin_l_bfgs_b']} fmin_l_bfgs_b calls")
