"""Gain kernels of the log-determinant function (numba, CPU) behind :mod:`matroidomp._logdet`.

f(S) = log det(L_S + λ I) on a PSD similarity L, with gains by the incremental Cholesky of the
greedy DPP MAP algorithm (Chen, Zhang and Zhou, NeurIPS 2018, Algorithm 1). For every candidate j
the state keeps c_j, its row of the Cholesky factor of L_{S+j} + λ I (one entry per element of S,
in the order they were added), and the squared pivot

    d_j² = L_jj + λ − ||c_j||²,   Δ(j | S) = log d_j²   (the Schur complement of L_S + λ I in L_{S+j} + λ I).

Adding s appends e_j = (L_sj − ⟨c_s, c_j⟩) / d_s to every c_j and sets d_j² ← d_j² − e_j²:
O(n |S|) per add, O(1) per gain.

Reproducible gains. A gain is log of one stored number, bitwise the same alone or in a batch.
d_j² only ever has e_j² ≥ 0 subtracted, and a rounded subtraction of a nonnegative number never
increases it, so the *computed* gains never increase as S grows; lazy greedy relies on exactly
this to select what naive greedy selects.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def logdet_gains(d2, cand, out):
    """Log-determinant gains of a batch: out_t = log d_j² for j = cand_t. O(b).

    Parameters
    ----------
    d2 : numpy.ndarray of shape (n,), float64
        The squared pivots d_j² > 0.
    cand : numpy.ndarray of shape (b,), int64
        The candidates.
    out : numpy.ndarray of shape (b,), float64
        Receives the gains.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.empty(2)
    >>> logdet_gains(np.array([1.0, np.e]), np.array([1, 0]), out)
    >>> out.tolist()
    [1.0, 0.0]
    """
    for t in range(cand.shape[0]):
        out[t] = math.log(d2[cand[t]])


@njit(cache=True)
def logdet_add(row, s, C, d2, k, selected):
    """Add element s (the k-th, 0-based) to the Cholesky state of every unselected candidate. O(n k).

    For every j with ``selected[j]`` False and j ≠ s: e_j = (L_sj − Σ_{t<k} C[s, t] C[j, t]) / √d_s²,
    C[j, k] = e_j, d_j² ← d_j² − e_j². ``selected`` and ``d2[s]`` are left as they are.

    Parameters
    ----------
    row : numpy.ndarray of shape (n,), float32 or float64
        Row s of L.
    s : int
        The element added.
    C : numpy.ndarray of shape (n, m), float64, m > k
        Row j holds c_j in its first k columns; column k is written.
    d2 : numpy.ndarray of shape (n,), float64
        The squared pivots, updated.
    k : int
        |S| before adding s.
    selected : numpy.ndarray of shape (n,), bool
        The elements of S (and s, or not: s is skipped either way).

    Returns
    -------
    float
        The smallest updated d_j² (+inf when none was updated).

    Examples
    --------
    L = [[1, 0.5], [0.5, 1]], λ = 1: d² = (2, 2); adding 0 gives e_1 = 0.5 / √2 and
    d_1² = 2 − 0.125 = det([[2, 0.5], [0.5, 2]]) / 2.

    >>> import numpy as np
    >>> L = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> C, d2 = np.zeros((2, 1)), np.array([2.0, 2.0])
    >>> logdet_add(L[0], 0, C, d2, 0, np.array([True, False]))
    1.875
    >>> d2.tolist(), round(float(C[1, 0]) ** 2, 12)
    ([2.0, 1.875], 0.125)
    """
    n = d2.shape[0]
    ds = math.sqrt(d2[s])
    low = np.inf
    for j in range(n):
        if selected[j] or j == s:
            continue
        acc = 0.0
        for t in range(k):
            acc += C[s, t] * C[j, t]
        e = (row[j] - acc) / ds
        C[j, k] = e
        d2[j] -= e * e
        if d2[j] < low:
            low = d2[j]
    return low
