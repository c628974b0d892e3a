"""Warm start: begin a solve with the correction pairs of an earlier one.

For a sequence of related problems (data that drift a little between
solves) the curvature learnt by the previous solve is a good initial
quasi-Newton matrix for the next one.  The pairs (s_i, y_i) of the earlier
result (``res.hess_inv.sk``/``yk``, oldest first) are stored in the new
solve's memory in order, exactly as if they had been made by its own
iterations: theta = y'y / s'y of the newest pair, S'Y, S'S, Y'Y, D and the
factor of T = theta S'S + L D^-1 L' (compact form), or the dense B = theta
I updated by the pairs (small bounded problems).  The first iteration then
takes a quasi-Newton step with unit trial step, as any later iteration does
(a cold start takes a steepest-descent step scaled to 1/||d||).

A pair whose curvature s'y is not clearly positive (s'y <= eps ||s|| ||y||)
or not finite is left out.  If the rebuilt matrix is not positive definite
the memory is dropped and the solve starts cold.

References: Byrd, Nocedal & Schnabel, Math. Prog. 63, 1994 (compact form);
Byrd, Lu, Nocedal & Zhu, SIAM J. Sci. Comput. 16(5), 1995.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
from numba import njit

from .bfgs_matrix import form_t, store_pair, update_products
from .dense_model import build_dense
from .options import EPS
from .vector_ops import dot
from .workspace import (B_DENSE, B_TIMES_D, D_SCALING, DIRECTION, FREE_ACTIVE,
                        G_PREV, S_PAIRS, SS, STATE, SY, T_CHOL, Y_PAIRS, YY,
                        workspace_views)

__all__ = ["warm_start_pairs", "seed_memory", "seed_memory_at"]


def warm_start_pairs(warm_start: Any, n: int, m: int
                     ) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """The correction pairs a warm start begins with.

    The newest m pairs are kept; ``minimize``, ``LbfgsbSolver`` and
    ``fmin_l_bfgs_b``'s callers reach this through ``warm_start=``.

    Parameters
    ----------
    warm_start : object or None
        None; an earlier result (anything with a ``hess_inv`` entry or
        attribute, such as the OptimizeResult of ``minimize`` or
        ``LbfgsbSolver.result()``); an inverse-Hessian operator with ``sk``
        and ``yk`` (this package's or scipy's ``LbfgsInvHessProduct``); or a
        pair of arrays (sk, yk).
    n : int
        Number of variables of the new solve.
    m : int
        Its number of correction pairs.

    Returns
    -------
    tuple of ndarray or None
        None for a cold start, else C-contiguous float64 arrays (s, y) of
        shape (k, n), oldest first, k <= m.

    Raises
    ------
    TypeError
        ``warm_start`` of another kind, or pairs that are not real arrays.
    ValueError
        Pairs not of shape (k, n), or containing NaN or inf.

    Examples
    --------
    >>> import numpy as np
    >>> from lbfgsb_numba import minimize
    >>> from lbfgsb_numba.warm_start import warm_start_pairs
    >>> def fg(x):
    ...     return float(np.sum((x - 1.0) ** 2 * np.arange(1, 4))), 2.0 * (x - 1.0) * np.arange(1, 4)
    >>> res = minimize(fg, np.zeros(3), jac=True)
    >>> s, y = warm_start_pairs(res, 3, 10)
    >>> s.shape == y.shape == (res.hess_inv.n_corrs, 3)
    True
    >>> res2 = minimize(fg, np.zeros(3), jac=True, warm_start=res)
    >>> bool(np.allclose(res2.x, 1.0))
    True
    """
    if warm_start is None:
        return None
    source = warm_start
    if isinstance(source, dict) and "hess_inv" in source:
        source = source["hess_inv"]
    elif hasattr(source, "hess_inv"):
        source = source.hess_inv
    if hasattr(source, "sk") and hasattr(source, "yk"):
        sk, yk = source.sk, source.yk
    elif isinstance(source, (tuple, list)) and len(source) == 2:
        sk, yk = source
    else:
        raise TypeError(f"warm_start must be an earlier result (with "
                        f"hess_inv), an inverse-Hessian operator with sk and "
                        f"yk, or a pair of arrays (sk, yk); got "
                        f"{type(warm_start).__name__}")
    try:
        sk = np.asarray(sk, dtype=np.float64)
        yk = np.asarray(yk, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"warm_start: the pairs must be real arrays "
                        f"({exc})") from None
    if sk.ndim != 2 or sk.shape != yk.shape or sk.shape[1] != n:
        raise ValueError(f"warm_start: the pairs must have shape (k, {n}) "
                         f"like x0; got {sk.shape} and {yk.shape}")
    if not (np.isfinite(sk).all() and np.isfinite(yk).all()):
        raise ValueError("warm_start: the pairs contain NaN or inf")
    if sk.shape[0] == 0:
        return None
    return (np.ascontiguousarray(sk[-m:]), np.ascontiguousarray(yk[-m:]))


@njit(cache=True, nogil=True, _nrt=False)
def seed_memory(ws, s_rows, y_rows):
    """Store the pairs s_rows[j], y_rows[j] (k, n), oldest first, in the
    memory of a freshly initialised workspace (fields as a tuple in
    Workspace order) and bring B's representation up to date.  Returns the
    number of pairs kept (0: cold start)."""
    st = ws[STATE][0]
    s_new, y_new = ws[DIRECTION], ws[G_PREV]  # where an iteration keeps s, y
    n = s_new.shape[0]
    st.stp = 1.0
    kept = 0
    for j in range(s_rows.shape[0]):
        for i in range(n):
            s_new[i] = s_rows[j, i]
            y_new[i] = y_rows[j, i]
        dr = dot(s_new, y_new, n)
        rr = dot(y_new, y_new, n)
        dtd = dot(s_new, s_new, n)
        if not (dr > EPS * math.sqrt(dtd) * math.sqrt(rr)
                and math.isfinite(rr) and math.isfinite(dtd)):
            continue
        st.dtd = dtd
        st.n_updates += 1
        store_pair(ws[S_PAIRS], ws[Y_PAIRS], ws[D_SCALING], s_new, y_new, st,
                   rr, dr)
        if not st.dense:
            update_products(ws[S_PAIRS], ws[Y_PAIRS], ws[SY], ws[SS], ws[YY],
                            s_new, y_new, st, rr, dr)
        kept += 1
    st.stp = 0.0
    st.dtd = 0.0
    if kept == 0:
        return 0
    if st.dense:
        info = build_dense(ws[B_DENSE], ws[S_PAIRS], ws[Y_PAIRS],
                           ws[D_SCALING], st.theta, st.col, st.head, st.m,
                           ws[B_TIMES_D])
    elif st.constrained:
        info = form_t(ws[T_CHOL], ws[D_SCALING], ws[SY], ws[SS], st.col,
                      st.theta)
    else:
        info = 0
    if info != 0:
        st.col = 0
        st.head = 0
        st.newest = 0
        st.theta = 1.0
        st.n_updates = 0
        return 0
    st.updated = 1
    # continue as after an iteration: unit trial steps; the previous free
    # set is "every variable"; K's inner products are built from scratch
    st.iter = 1
    free_active = ws[FREE_ACTIVE]
    for i in range(n):
        free_active[i] = i
    st.nfree = n
    st.k_products_stale = 1
    st.k_factor_stale = 1
    return kept


@njit(cache=True, nogil=True)
def seed_memory_at(addresses, n, m, s_rows, y_rows):
    """``seed_memory`` on the workspace at ``addresses`` (after
    ``driver.setup_at``, before the first ``step``)."""
    return seed_memory(workspace_views(addresses, n, m), s_rows, y_rows)
