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
    """Solve L[:p, :p] x = b[:p] into ``out[:p]`` (L lower triangular)."""
    for i in range(p):
        acc = b[i]
        for t in range(i):
            acc -= L[i, t] * out[t]
        out[i] = acc / L[i, i]


@njit(cache=True)
def backward_substitution_transposed(L, y, p, out):
    """Solve L[:p, :p]^T x = y[:p] into ``out[:p]``.

    Column-oriented on Lᵀ, i.e. it sweeps the rows of L contiguously (row-major friendly).
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
    """x = (L L^T)^{-1} b on the leading p x p block: O(p^2)."""
    y = np.empty(p)
    x = np.empty(p)
    forward_substitution(L, b, p, y)
    backward_substitution_transposed(L, y, p, x)
    return x


@njit(cache=True)
def cholesky_append(L, p, q, d, rel_tol):
    """Grow the factor of A (p x p) to that of [[A, q], [q^T, d]]; O(p^2).

    Returns False, leaving ``L`` unchanged, when the Schur complement d - |L^{-1} q|^2 is
    <= rel_tol * d, i.e. the new column is (numerically) linearly dependent on the others.
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
