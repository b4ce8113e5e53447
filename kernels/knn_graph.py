"""Kernels of the k-nearest-neighbour similarity (numba, CPU) behind :mod:`matroidomp._knn`.

An approximate-nearest-neighbour index answers each point with k + 1 neighbour ids, in which
the point itself, padding (-1) or repeats may appear. :func:`clean_neighbors` turns these lists
into k distinct other points per row, or flags the rows the index left short;
:func:`pair_similarities` computes, in float64, the similarity of every stored pair with the
formulas of the dense ``similarity_matrix``:

    cosine      s_ij = max((1 + ⟨u_i, u_j⟩) / 2, 0)      u = x / ‖x‖ (a zero row stays 0)
    euclidean   d_ij = Σ_t (x_it − x_jt)²                 (the caller turns d into D − d)

Both are O(n k) (O(n k d) for the similarities), rows in parallel for the second.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

METRICS = {"cosine": 0, "euclidean": 1}
"""The codes of the metrics of :func:`pair_similarities` (its ``metric`` argument)."""


@njit(cache=True)
def clean_neighbors(raw, k, out):
    """k distinct neighbours per row other than the row itself, in the index's order.

    Row i of ``raw`` lists the index's answer for point i; entries outside [0, n), equal to i, or
    repeated within the row are skipped, and the first k others kept. O(n k) with one (n,)
    scratch array.

    Parameters
    ----------
    raw : numpy.ndarray of shape (n, r), int64
        The index's neighbour ids (any r; -1 pads a short answer).
    k : int
        Neighbours wanted per row.
    out : numpy.ndarray of shape (n, k), int64
        Receives the neighbours; a short row's tail is left as it was.

    Returns
    -------
    numpy.ndarray of shape (n,), bool
        True for the rows with fewer than k valid neighbours.

    Examples
    --------
    >>> import numpy as np
    >>> raw = np.array([[0, 1, 2], [2, 2, -1], [1, 2, 0]])
    >>> out = np.full((3, 2), -1)
    >>> clean_neighbors(raw, 2, out).tolist()  # row 1: only point 2 (repeated), then padding
    [False, True, False]
    >>> out[[0, 2]].tolist()
    [[1, 2], [1, 0]]
    """
    n = raw.shape[0]
    seen = np.full(n, -1, dtype=np.int64)
    short = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        got = 0
        for t in range(raw.shape[1]):
            j = raw[i, t]
            if got == k:
                break
            if j < 0 or j >= n or j == i or seen[j] == i:
                continue
            seen[j] = i
            out[i, got] = j
            got += 1
        short[i] = got < k
    return short


@njit(cache=True, parallel=True)
def pair_similarities(X, cols, metric, out):
    """Similarity of every stored pair (i, cols[i, t]), in float64, rows in parallel.

    ``metric`` 0 (cosine): s = max((1 + ⟨u_i, u_j⟩) / 2, 0) with u = x / ‖x‖, a zero row having
    cosine 0 with every row, itself included (as in the dense matrix). 1 (euclidean): the
    squared distance ‖x_i − x_j‖², summed directly (0 for i = j and for duplicates).
    O(n r d).

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d), float32 or float64
        The points.
    cols : numpy.ndarray of shape (n, r), integer
        Row i: the points paired with i.
    metric : int
        :data:`METRICS` code.
    out : numpy.ndarray of shape (n, r), float64
        Receives the values.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> cols = np.array([[0, 1], [0, 1], [2, 0]])
    >>> out = np.empty((3, 2))
    >>> pair_similarities(X, cols, METRICS["cosine"], out)
    >>> out.tolist()
    [[1.0, 0.5], [0.5, 1.0], [0.5, 0.5]]
    >>> pair_similarities(X, cols, METRICS["euclidean"], out)
    >>> out.tolist()
    [[0.0, 5.0], [5.0, 0.0], [0.0, 1.0]]
    """
    n, d = X.shape
    inv = np.zeros(n)
    if metric == 0:
        for i in prange(n):
            sq = 0.0
            for t in range(d):
                sq += np.float64(X[i, t]) * np.float64(X[i, t])
            inv[i] = 1.0 / np.sqrt(sq) if sq > 0.0 else 0.0
    for i in prange(n):
        for t in range(cols.shape[1]):
            j = cols[i, t]
            acc = 0.0
            if metric == 0:
                for u in range(d):
                    acc += np.float64(X[i, u]) * np.float64(X[j, u])
                out[i, t] = max((1.0 + acc * inv[i] * inv[j]) * 0.5, 0.0)
            else:
                for u in range(d):
                    diff = np.float64(X[i, u]) - np.float64(X[j, u])
                    acc += diff * diff
                out[i, t] = acc
