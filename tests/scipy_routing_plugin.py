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


def _minimize_lbfgsb_routed(fun, x0, args=(), jac=None, bounds=None,
                            callback=None, **options):
    """scipy's ``_minimize_lbfgsb`` signature, solved by lbfgsb_numba."""
    return lbfgsb_numba.minimize(fun, x0, args=args, jac=jac, bounds=bounds,
                                 callback=callback, **options)


def pytest_configure(config):
    _minimize_module._minimize_lbfgsb = _minimize_lbfgsb_routed
    _lbfgsb_py.fmin_l_bfgs_b = lbfgsb_numba.fmin_l_bfgs_b
    scipy.optimize.fmin_l_bfgs_b = lbfgsb_numba.fmin_l_bfgs_b
    config.addinivalue_line(
        "markers", "routed: scipy's tests routed through lbfgsb_numba")


def pytest_report_header(config):
    return (f"scipy L-BFGS-B routed through lbfgsb_numba "
            f"({lbfgsb_numba.__file__})")
