"""Gain kernels of the pairwise-similarity functions (numba, CPU) behind :mod:`matroidomp._pairwise`.

The functions are defined on a symmetric similarity s ≥ 0 over the ground set V = {0, …, n−1}
and keep, per candidate j, one running sum over the selected set S:

    function     gain Δ(j | S)                           state                        one gain   add
    graph cut    r_j − λ (s_jj + c_j)                    c_j = 2 Σ_{k ∈ S} s_kj         O(1)       O(n)

with r_j = Σ_{i ∈ V} s_ij. A sparse similarity (CSR, rows in increasing order) gives bitwise the
numbers of its dense array: its sums skip only terms that are +0.0, which leave a float64 sum
unchanged, and run in the same order.

Public names (``matroidomp._pairwise`` imports them):

- :func:`dense_column_sums`, :func:`csr_column_sums`: r_j = Σ_i s_ij in float64, i increasing;
- graph cut: :func:`gc_gains` (a batch), :func:`gc_add_dense`, :func:`gc_add_csr`
  (c ← c + 2 s_k·).

Reproducible gains. A gain is a fixed expression of (r_j, s_jj, c_j), bitwise the same alone or
in a batch. c_j only grows (a sum of terms ≥ 0, each rounding monotone), so λ (s_jj + c_j) never
decreases and the *computed* gain r_j − λ (s_jj + c_j) never increases as S grows; lazy greedy
relies on exactly this to select the same set as naive greedy.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def dense_column_sums(sim):
    """r_j = Σ_i s_ij of a dense (m, n) matrix, accumulated in float64 with i increasing. O(m n).

    Parameters
    ----------
    sim : numpy.ndarray of shape (m, n), float32 or float64

    Returns
    -------
    numpy.ndarray of shape (n,), float64

    Examples
    --------
    >>> import numpy as np
    >>> dense_column_sums(np.array([[1.0, 0.5], [0.5, 2.0]])).tolist()
    [1.5, 2.5]
    """
    m, n = sim.shape
    r = np.zeros(n, dtype=np.float64)
    for i in range(m):
        for j in range(n):
            r[j] += np.float64(sim[i, j])
    return r


@njit(cache=True)
def csr_column_sums(data, indices, indptr, n):
    """r_j = Σ_i s_ij of a CSR (m, n) matrix over its stored entries, in float64, i increasing. O(nnz + n).

    Bitwise :func:`dense_column_sums` of the dense array (the skipped terms are +0.0).

    Parameters
    ----------
    data : numpy.ndarray of shape (nnz,), float32 or float64
    indices : numpy.ndarray of shape (nnz,), integer
        Column of each stored entry.
    indptr : numpy.ndarray of shape (m + 1,), integer
        Row pointers.
    n : int
        Number of columns.

    Returns
    -------
    numpy.ndarray of shape (n,), float64

    Examples
    --------
    >>> import numpy as np
    >>> csr_column_sums(np.array([1.0, 0.5, 2.0]), np.array([0, 1, 1]), np.array([0, 2, 3]), 2).tolist()
    [1.0, 2.5]
    """
    r = np.zeros(n, dtype=np.float64)
    for i in range(indptr.shape[0] - 1):
        for t in range(indptr[i], indptr[i + 1]):
            r[indices[t]] += np.float64(data[t])
    return r


@njit(cache=True)
def gc_gains(r, d, c, lam, cand, out):
    """Graph-cut gains of a batch: out_t = r_j − λ (d_j + c_j) for j = cand_t. O(b).

    Parameters
    ----------
    r : numpy.ndarray of shape (n,), float64
        r_j = Σ_i s_ij.
    d : numpy.ndarray of shape (n,), float64
        d_j = s_jj.
    c : numpy.ndarray of shape (n,), float64
        c_j = 2 Σ_{k ∈ S} s_kj.
    lam : float
        λ ≥ 0.
    cand : numpy.ndarray of shape (b,), int64
        The candidates.
    out : numpy.ndarray of shape (b,), float64
        Receives the gains.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.empty(2)
    >>> gc_gains(np.array([3.0, 2.0]), np.array([1.0, 1.0]), np.array([0.0, 1.0]), 0.5, np.array([1, 0]), out)
    >>> out.tolist()  # 2 - 0.5 (1 + 1), 3 - 0.5 (1 + 0)
    [1.0, 2.5]
    """
    for t in range(cand.shape[0]):
        j = cand[t]
        out[t] = r[j] - lam * (d[j] + c[j])


@njit(cache=True)
def gc_add_dense(row, c):
    """Add candidate k to the graph-cut state from its dense row: c_j ← c_j + 2 s_kj. O(n).

    Parameters
    ----------
    row : numpy.ndarray of shape (n,), float32 or float64
        s_k·, the similarities of the added candidate.
    c : numpy.ndarray of shape (n,), float64
        Updated in place.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([0.0, 1.0])
    >>> gc_add_dense(np.array([0.25, 0.5]), c)
    >>> c.tolist()
    [0.5, 2.0]
    """
    for j in range(row.shape[0]):
        c[j] += 2.0 * np.float64(row[j])


@njit(cache=True)
def gc_add_csr(vals, cols, c):
    """Add candidate k to the graph-cut state from its stored similarities: c_j ← c_j + 2 s_kj. O(deg k).

    Bitwise :func:`gc_add_dense` on the dense row (c_j + 0.0 = c_j).

    Parameters
    ----------
    vals : numpy.ndarray of shape (deg k,), float32 or float64
        The stored similarities of the added candidate.
    cols : numpy.ndarray of shape (deg k,), integer
        Their columns.
    c : numpy.ndarray of shape (n,), float64
        Updated in place.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([0.0, 1.0, 0.0])
    >>> gc_add_csr(np.array([0.5]), np.array([1]), c)
    >>> c.tolist()
    [0.0, 2.0, 0.0]
    """
    for t in range(cols.shape[0]):
        c[cols[t]] += 2.0 * np.float64(vals[t])
