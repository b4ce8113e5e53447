"""Incremental Cholesky kernels (numba) for the active-set solvers.

The factor lives in a preallocated (capacity x capacity) float64 buffer ``L`` whose leading
p x p block is the lower-triangular factor of the current passive-set matrix. Working in place
on that block avoids the O(p^2) copies that LAPACK wrappers make of non-contiguous sub-blocks,
so appending an element costs one O(p^2) triangular solve and a solve costs two.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def forward_substitution(L, b, p, out):
    """Solve L[:p, :p] x = b[:p] into ``out[:p]`` (L lower triangular): O(p²), in place.

    Parameters
    ----------
    L : numpy.ndarray of float64, shape (capacity, capacity)
        Its leading p × p block is lower triangular with a nonzero diagonal.
    b : numpy.ndarray of float64, shape (>= p,)
    p : int
    out : numpy.ndarray of float64, shape (>= p,)
        Receives x.

    Examples
    --------
    >>> import numpy as np
    >>> L = np.zeros((3, 3))  # capacity 3; factor of A = [[4, 2], [2, 3]] grown one column at a time
    >>> cholesky_append(L, 0, np.zeros(0), 4.0, 1e-12), cholesky_append(L, 1, np.array([2.0]), 3.0, 1e-12)
    (True, True)
    >>> y = np.empty(2)
    >>> forward_substitution(L, np.array([4.0, 3.0]), 2, y)
    >>> y.round(6).tolist()
    [2.0, 0.707107]
    """
    for i in range(p):
        acc = b[i]
        for t in range(i):
            acc -= L[i, t] * out[t]
        out[i] = acc / L[i, i]


@njit(cache=True)
def backward_substitution_transposed(L, y, p, out):
    """Solve L[:p, :p]^T x = y[:p] into ``out[:p]``: O(p²), in place.

    Column-oriented on Lᵀ, i.e. it sweeps the rows of L contiguously (row-major friendly).

    Parameters
    ----------
    L : numpy.ndarray of float64, shape (capacity, capacity)
    y : numpy.ndarray of float64, shape (>= p,)
    p : int
    out : numpy.ndarray of float64, shape (>= p,)
        Receives x.

    Examples
    --------
    >>> import numpy as np
    >>> L = np.zeros((3, 3))  # capacity 3; factor of A = [[4, 2], [2, 3]] grown one column at a time
    >>> cholesky_append(L, 0, np.zeros(0), 4.0, 1e-12), cholesky_append(L, 1, np.array([2.0]), 3.0, 1e-12)
    (True, True)
    >>> y, x = np.empty(2), np.empty(2)
    >>> forward_substitution(L, np.array([4.0, 3.0]), 2, y)
    >>> backward_substitution_transposed(L, y, 2, x)
    >>> x.round(6).tolist()  # A x = (4, 3)
    [0.75, 0.5]
    """
    for i in range(p):
        out[i] = y[i]
    for i in range(p - 1, -1, -1):
        out[i] /= L[i, i]
        xi = out[i]
        for t in range(i):
            out[t] -= L[i, t] * xi


@njit(cache=True)
def cholesky_solve(L, b, p):
    """x = (L Lᵀ)⁻¹ b on the leading p × p block: two triangular solves, O(p²).

    Parameters
    ----------
    L : numpy.ndarray of float64, shape (capacity, capacity)
    b : numpy.ndarray of float64, shape (>= p,)
    p : int

    Returns
    -------
    numpy.ndarray of float64, shape (p,)

    Examples
    --------
    >>> import numpy as np
    >>> L = np.zeros((3, 3))  # capacity 3; factor of A = [[4, 2], [2, 3]] grown one column at a time
    >>> cholesky_append(L, 0, np.zeros(0), 4.0, 1e-12), cholesky_append(L, 1, np.array([2.0]), 3.0, 1e-12)
    (True, True)
    >>> cholesky_solve(L, np.array([6.0, 5.0]), 2).round(6).tolist()
    [1.0, 1.0]
    """
    y = np.empty(p)
    x = np.empty(p)
    forward_substitution(L, b, p, y)
    backward_substitution_transposed(L, y, p, x)
    return x


@njit(cache=True)
def cholesky_append(L, p, q, d, rel_tol):
    """Grow the factor of A (p × p) to that of [[A, q], [qᵀ, d]] in place: O(p²).

    Returns False, leaving ``L`` unchanged, when the Schur complement d − |L⁻¹ q|² is
    <= rel_tol · d, i.e. the new column is (numerically) linearly dependent on the others.

    Parameters
    ----------
    L : numpy.ndarray of float64, shape (capacity, capacity), capacity > p
        Leading p × p block: the factor of A; row p is written.
    p : int
        Current size.
    q : numpy.ndarray of float64, shape (>= p,)
        The new column's entries against the current ones.
    d : float
        The new diagonal entry.
    rel_tol : float
        Relative threshold of the dependence test.

    Returns
    -------
    bool
        Whether the factor grew.

    Examples
    --------
    >>> import numpy as np
    >>> L = np.zeros((3, 3))  # capacity 3; factor of A = [[4, 2], [2, 3]] grown one column at a time
    >>> cholesky_append(L, 0, np.zeros(0), 4.0, 1e-12), cholesky_append(L, 1, np.array([2.0]), 3.0, 1e-12)
    (True, True)
    >>> L[:2, :2].round(6).tolist()
    [[2.0, 0.0], [1.0, 1.414214]]
    >>> cholesky_append(L, 2, np.array([4.0, 2.0]), 4.0, 1e-12)  # Schur complement 4 − |L⁻¹q|² = 0: dependent
    False
    """
    row = np.empty(p)
    forward_substitution(L, q, p, row)
    s = d
    for t in range(p):
        s -= row[t] * row[t]
    if not (s > rel_tol * d):
        return False
    for t in range(p):
        L[p, t] = row[t]
    L[p, p] = np.sqrt(s)
    return True
