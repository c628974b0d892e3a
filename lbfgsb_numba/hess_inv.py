"""The L-BFGS approximation of the inverse Hessian as a linear operator.

H is built from the kept correction pairs (s_i, y_i), oldest first, by the
two-loop recursion (Nocedal, Math. Comp. 35, 1980) with H_0 = I:

    H_{i+1} = (I - rho_i s_i y_i') H_i (I - rho_i y_i s_i') + rho_i s_i s_i',
    rho_i = 1 / (y_i' s_i).

Unlike scipy's ``LbfgsInvHessProduct`` as returned by its L-BFGS-B, the
pairs are handed over in the order they were made even after the solver's
ring buffer has wrapped (``pairs_in_order``).
"""
from __future__ import annotations

import numpy as np


def pairs_in_order(s_ring: np.ndarray, y_ring: np.ndarray, head: int,
                   col: int) -> tuple[np.ndarray, np.ndarray]:
    """Copies of the ``col`` stored pairs, oldest first, from ring buffers
    of shape (m, n) whose oldest row is ``head``."""
    m = s_ring.shape[0]
    rows = (head + np.arange(col)) % m if m else np.arange(0)
    return s_ring[rows].copy(), y_ring[rows].copy()


class LbfgsInvHessProduct:
    """Operator v -> H v for the L-BFGS inverse-Hessian approximation.

    H is the inverse of the limited-memory BFGS matrix built from the
    correction pairs (s_i, y_i), applied by the two-loop recursion with the
    initial scaling y's / y'y of the newest pair [1]_.

    It has the interface of scipy's ``LinearOperator`` (without needing
    scipy): ``matvec``, ``rmatvec``, ``matmat``, ``rmatmat``, ``dot``, ``@``,
    ``*``, ``todense()``, ``shape``, ``dtype``, ``T``, ``H``, ``transpose()``
    and ``adjoint()`` (H is symmetric), plus ``sk``, ``yk``, ``rho`` and
    ``n_corrs`` like scipy's own ``LbfgsInvHessProduct``.
    ``scipy.sparse.linalg.aslinearoperator(op)`` or
    ``op.to_linear_operator()`` give a genuine LinearOperator.
    ``from_ring``/``from_buffer`` build it on a solver's ring buffers
    without copying them.

    Parameters
    ----------
    sk, yk : array_like, shape (n_corrs, n)
        The correction pairs s_i = x_{i+1} - x_i and y_i = g_{i+1} - g_i,
        oldest first.

    Returns
    -------
    LbfgsInvHessProduct

    Raises
    ------
    ValueError
        If sk and yk are not two-dimensional arrays of one shape.

    References
    ----------
    .. [1] J. Nocedal, "Updating quasi-Newton matrices with limited
       storage", Math. Comp. 35(151), 773-782, 1980; R. H. Byrd, P. Lu,
       J. Nocedal and C. Zhu, SIAM J. Sci. Comput. 16(5), 1995.

    Examples
    --------
    One pair on a quadratic with Hessian diag(1, 4) (y = A s):

    >>> import numpy as np
    >>> from lbfgsb_numba import LbfgsInvHessProduct
    >>> H = LbfgsInvHessProduct(np.array([[1.0, 1.0]]), np.array([[1.0, 4.0]]))
    >>> H.shape, H.n_corrs
    ((2, 2), 1)
    >>> print(np.round(H @ np.array([1.0, 4.0]), 12))
    [1. 1.]
    """

    def __init__(self, sk: np.ndarray, yk: np.ndarray):
        sk = np.asarray(sk, dtype=float)
        yk = np.asarray(yk, dtype=float)
        if sk.shape != yk.shape or sk.ndim != 2:
            raise ValueError("sk and yk must have matching shape (n_corrs, n)")
        self._set(sk, yk, np.arange(sk.shape[0]))

    @classmethod
    def from_ring(cls, s_ring: np.ndarray, y_ring: np.ndarray, head: int,
                  col: int) -> "LbfgsInvHessProduct":
        """The operator for the ``col`` pairs kept in ring buffers of shape
        (m, n) whose oldest row is ``head`` (no copy of the buffers)."""
        self = cls.__new__(cls)
        m = s_ring.shape[0]
        self._set(s_ring, y_ring, (head + np.arange(col)) % max(m, 1))
        return self

    @classmethod
    def from_buffer(cls, buf: np.ndarray, s_index: int, y_index: int,
                    m: int, n: int, head: int, col: int
                    ) -> "LbfgsInvHessProduct":
        """``from_ring`` on ring buffers of shape (m, n) starting at
        ``buf[s_index]`` and ``buf[y_index]`` in the solver's float64 work
        buffer; the views are made on first use (a result whose hess_inv is
        never used costs nothing)."""
        self = cls.__new__(cls)
        self.shape = (n, n)
        self.dtype = np.dtype(np.float64)
        self.n_corrs = col
        self._rho = None
        self._pending = (buf, s_index, y_index, m, n, head, col)
        return self

    def _set(self, s_rows, y_rows, order):
        self._s = s_rows
        self._y = y_rows
        self._order = order
        self.n_corrs = len(order)
        n = s_rows.shape[1]
        self.shape = (n, n)
        self.dtype = np.dtype(np.float64)
        self._rho = None
        self._pending = None

    def _load(self):
        if self._pending is not None:
            buf, s_index, y_index, m, n, head, col = self._pending
            self._set(buf[s_index:s_index + m * n].reshape(m, n),
                      buf[y_index:y_index + m * n].reshape(m, n),
                      (head + np.arange(col)) % max(m, 1))

    @property
    def rho(self) -> np.ndarray:
        """1 / (y_i's_i) for the pairs, oldest first (computed on first
        use)."""
        self._load()
        if self._rho is None:
            self._rho = np.array([1.0 / np.dot(self._s[i], self._y[i])
                                  for i in self._order])
        return self._rho

    @property
    def sk(self) -> np.ndarray:
        """The s pairs, oldest first, shape (n_corrs, n) (a copy)."""
        self._load()
        return self._s[self._order]

    @property
    def yk(self) -> np.ndarray:
        """The y pairs, oldest first, shape (n_corrs, n) (a copy)."""
        self._load()
        return self._y[self._order]

    def matmat(self, X: np.ndarray) -> np.ndarray:
        """H X.

        Parameters
        ----------
        X : ndarray, shape (n, k)

        Returns
        -------
        ndarray, shape (n, k)
        """
        self._load()
        Q = np.array(X, dtype=float, copy=True)
        if Q.ndim != 2 or Q.shape[0] != self.shape[0]:
            raise ValueError(f"expected an array of shape ({self.shape[0]}, k)")
        alpha = np.empty((self.n_corrs, Q.shape[1]))
        s, y, rho = self._s, self._y, self.rho
        for i in range(self.n_corrs - 1, -1, -1):
            row = self._order[i]
            alpha[i] = rho[i] * (s[row] @ Q)
            Q -= np.outer(y[row], alpha[i])
        for i in range(self.n_corrs):
            row = self._order[i]
            beta = rho[i] * (y[row] @ Q)
            Q += np.outer(s[row], alpha[i] - beta)
        return Q

    rmatmat = matmat

    def matvec(self, v: np.ndarray) -> np.ndarray:
        """H v.

        Parameters
        ----------
        v : ndarray, shape (n,) or (n, 1)

        Returns
        -------
        ndarray
            Of v's shape.
        """
        v = np.asarray(v, dtype=float)
        if v.shape not in ((self.shape[0],), (self.shape[0], 1)):
            raise ValueError(f"expected a vector of length {self.shape[0]}")
        return self.matmat(v.reshape(-1, 1)).reshape(v.shape)

    rmatvec = matvec

    def dot(self, v: np.ndarray) -> np.ndarray:
        """H v for a vector, H X for an (n, k) array.

        Parameters
        ----------
        v : ndarray, shape (n,), (n, 1) or (n, k)

        Returns
        -------
        ndarray
            Of v's shape.
        """
        v = np.asarray(v)
        return self.matvec(v) if v.ndim == 1 else self.matmat(v)

    __matmul__ = dot
    __call__ = dot

    def __mul__(self, v):
        return self.dot(v)

    def todense(self) -> np.ndarray:
        """The dense matrix H.

        Returns
        -------
        ndarray, shape (n, n)

        Examples
        --------
        >>> import numpy as np
        >>> from lbfgsb_numba import LbfgsInvHessProduct
        >>> H = LbfgsInvHessProduct(np.array([[1.0, 1.0]]), np.array([[1.0, 4.0]]))
        >>> bool(np.allclose(H.todense(), H.todense().T))
        True
        """
        return self.matmat(np.eye(self.shape[0]))

    @property
    def T(self) -> "LbfgsInvHessProduct":
        return self

    H = T

    def transpose(self) -> "LbfgsInvHessProduct":
        return self

    adjoint = transpose

    def to_linear_operator(self):
        """The same operator as a ``scipy.sparse.linalg.LinearOperator``."""
        from scipy.sparse.linalg import LinearOperator
        return LinearOperator(self.shape, matvec=self.matvec,
                              rmatvec=self.matvec, matmat=self.matmat,
                              dtype=self.dtype)

    def __repr__(self):
        return (f"<{self.shape[0]}x{self.shape[1]} LbfgsInvHessProduct with "
                f"{self.n_corrs} correction pairs>")
