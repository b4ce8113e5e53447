"""k-nearest-neighbour similarities: facility location at corpus scale in O(n k) memory.

:func:`knn_similarity` keeps, for every point i, its similarity to itself and to its k nearest
neighbours and stores them as a scipy.sparse matrix of n (k + 1) entries; ``FacilityLocation``
then represents each point by its best selected neighbour (0 when none is selected).

Neighbours are exact (brute force, O(n^2 d)) up to :data:`EXACT_MAX_N` points and approximate
above, from pynndescent's nearest-neighbour descent (extra ``ann``). pynndescent was chosen by
measurement among pynndescent, faiss-cpu (HNSW) and hnswlib (``benchmarks/ann_choice.py``,
docs/performance.md, n = 10^5 and 10^6 points in 32 dimensions, k = 10): the all-points kNN
graph, which is all facility location needs, costs it 3.8-4.7x less CPU than building and
querying an HNSW index when it searches 2 (k + 1) neighbours, with higher recall (0.994 at
n = 10^6 against 0.98-0.99); it is pure Python on numba (a dependency already; faiss-cpu ships
wheels too, hnswlib only its C++ source) and deterministic for a fixed seed on any number of
threads. Its costs: 20-45 s of numba compilation in each new process (hence the exact path
for small n) and more memory while it builds (1.2 GB peak at n = 10^6 against 0.7 GB).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._validation import as_float_array, make_rng
from .kernels.knn_graph import METRICS, clean_neighbors, pair_similarities

#: Up to this many points the neighbours are found exactly, by brute force (n^2 d flops, no
#: index to build or compile).
EXACT_MAX_N = 4096

#: Above :data:`EXACT_MAX_N`, pynndescent searches this many times k + 1 neighbours (more
#: candidates, higher recall: 0.994 instead of 0.92 at n = 10^6, docs/performance.md) and the
#: nearest k + 1 are kept.
SEARCH_FACTOR = 2

#: Rows the exact search compares with all n points at once (a float64 block of this many x n).
_EXACT_BLOCK = 1 << 22


def _check_k(n_neighbors, n: int) -> int:
    """``n_neighbors`` as an int in [1, n - 1], or a clear error."""
    if isinstance(n_neighbors, (bool, np.bool_)) or not isinstance(n_neighbors, (int, np.integer)):
        raise TypeError(f"n_neighbors: expected an int or None, got {n_neighbors!r}")
    k = int(n_neighbors)
    if k < 1:
        raise ValueError(f"n_neighbors: expected at least 1, got {k}")
    if k > n - 1:
        raise ValueError(
            f"n_neighbors: {k} neighbours asked but X has {n} rows, so each point has at most "
            f"{n - 1} others; use n_neighbors <= {n - 1}, or n_neighbors=None for the dense similarity"
        )
    return k


def _unit_rows(X: np.ndarray, *, in_place: bool = False) -> np.ndarray:
    """X with every row divided by its euclidean norm (a zero row stays 0): the rows whose dot
    products are the cosines. ``in_place`` divides X itself (a float array the caller owns)."""
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    norms[norms == 0] = 1
    if in_place:
        X /= norms[:, None]
        return X
    return X / norms[:, None]


def _index_points(X: np.ndarray, metric: str) -> np.ndarray:
    """float64 points whose euclidean neighbours are the metric's: unit rows for cosine (nearest
    = largest cosine, a zero row stays 0), centred rows scaled to max |x| = 1 for euclidean (the
    same neighbours, and no overflow once cast to float32 for the index)."""
    P = X.astype(np.float64)
    if metric == "cosine":
        _unit_rows(P, in_place=True)
    else:
        P -= P.mean(axis=0)
        top = np.abs(P).max() if P.size else 0.0
        if top > 0:
            P /= top
    return P


def _nndescent(points: np.ndarray, r: int, seed) -> np.ndarray:
    """(n, r) ids of approximate nearest neighbours of every point (itself usually first; -1
    where it found too few), by pynndescent on float32 copies of ``points``."""
    try:
        from pynndescent import NNDescent
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "n_neighbors needs pynndescent for the nearest-neighbour search of more than "
            f"{EXACT_MAX_N} points: pip install 'matroidomp[ann]'"
        ) from exc
    random_state = int(make_rng(seed).integers(2**31 - 1))
    index = NNDescent(points.astype(np.float32), n_neighbors=r, metric="euclidean", random_state=random_state)
    return index.neighbor_graph[0].astype(np.int64, copy=False)


def _exact_neighbors(points: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """(len(rows), k) exact nearest other points of ``rows`` by brute force in float64, blocks of rows."""
    sq = np.einsum("ij,ij->i", points, points)
    out = np.empty((rows.size, k), dtype=np.int64)
    step = max(1, _EXACT_BLOCK // max(points.shape[0], 1))
    for lo in range(0, rows.size, step):
        block = rows[lo:lo + step]
        d2 = sq[block, None] + sq[None, :] - 2.0 * (points[block] @ points.T)
        d2[np.arange(block.size), block] = np.inf
        out[lo:lo + step] = np.argpartition(d2, k - 1, axis=1)[:, :k]
    return out


def knn_neighbors(points: np.ndarray, k: int, seed=None, raw=None) -> np.ndarray:
    """(n, k) distinct nearest other points of every point (float64 ``points``, euclidean).

    Exact up to :data:`EXACT_MAX_N` points; above, pynndescent's answer ``raw`` ((n, r) ids,
    computed when None) repaired: self, padding (-1), out-of-range and repeated ids are dropped,
    the first k others kept, and a row left with fewer than k (a search that found too few, e.g.
    among many duplicate points) is recomputed exactly by brute force, so the result never holds
    garbage. ``raw`` given is always used (tests feed broken answers).
    """
    n = points.shape[0]
    if raw is None:
        if n <= EXACT_MAX_N:
            return _exact_neighbors(points, np.arange(n), k)
        raw = _nndescent(points, min(n, SEARCH_FACTOR * (k + 1)), seed)
    nbrs = np.empty((n, k), dtype=np.int64)
    short = clean_neighbors(np.ascontiguousarray(raw, dtype=np.int64), k, nbrs)
    rows = np.flatnonzero(short)
    if rows.size:
        nbrs[rows] = _exact_neighbors(points, rows, k)
    return nbrs


def knn_similarity(X, n_neighbors, metric: str = "cosine", *, seed=None, raw=None) -> sp.csr_matrix:
    """The k-nearest-neighbour similarity of the rows of ``X``: s_ij stored for j = i and j among i's k nearest.

    Conventions, those of the dense ``similarity_matrix``: ``'cosine'`` s_ij = (1 + cos)/2;
    ``'euclidean'`` s_ij = D - ||x_i - x_j||^2 with D the largest squared distance *stored*
    (the dense matrix takes it over all pairs; the same when k = n - 1). The diagonal is always
    stored, as the dense matrix has it: s_ii = 1 (0.5 for a zero row) or D, so each point can
    represent itself. Row i of the result is point i: facility location
    f(S) = sum_i max_{j in S} s_ij represents point i by its best selected neighbour.

    Neighbours: exact for n <= ``EXACT_MAX_N`` (4096); above, pynndescent's nearest-neighbour
    descent, approximate (recall@10 0.994 at n = 10^6, docs/performance.md), rows it answers
    with fewer than k distinct neighbours recomputed exactly. With duplicate points, which of the
    equally near copies are kept is arbitrary. The similarity of each stored pair is computed
    exactly, in float64, from ``X``.

    Parameters
    ----------
    X : array-like of shape (n, d)
        One item per row, real and finite.
    n_neighbors : int
        k in [1, n - 1]: neighbours per point besides itself.
    metric : {'cosine', 'euclidean'}, default 'cosine'
    seed : None, int or numpy.random.Generator
        The randomness of the approximate search (n > 4096); the same seed gives the same
        matrix, on any number of threads.
    raw : numpy.ndarray of shape (n, r), optional
        A search's neighbour ids to use instead of searching (tests feed broken answers).

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n, n)
        n (k + 1) stored entries, sorted within each row; float32 for float32 ``X``, float64
        otherwise. Not symmetric in general (j near i does not make i near j).

    Raises
    ------
    TypeError
        When ``n_neighbors`` is not an int, or ``X`` not a real numeric array.
    ValueError
        When ``n_neighbors`` is outside [1, n - 1], ``metric`` is unknown, or ``X`` is not 2-D
        or has a non-finite entry.
    ImportError
        When n > 4096 and pynndescent (extra ``ann``) is not installed.

    Notes
    -----
    Time: O(n^2 d) exact; nearest-neighbour descent about O(n^1.14) distance evaluations
    empirically (Dong, Charikar & Li 2011), plus 20-45 s of numba compilation once per process
    (n = 10^6, d = 32, k = 10: docs/performance.md); then O(n k d) for the values. Memory
    O(n (d + k)): the float32 points, the search's 2 (k + 1) candidates a point, and the
    n (k + 1) entries.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0]])
    >>> S = knn_similarity(X, 1, "euclidean")  # D = 16, the largest stored squared distance
    >>> S.toarray().tolist()
    [[16.0, 15.0, 0.0, 0.0], [15.0, 16.0, 0.0, 0.0], [0.0, 12.0, 16.0, 0.0], [0.0, 0.0, 0.0, 16.0]]
    """
    if metric not in METRICS:
        raise ValueError(f"metric: expected 'cosine' or 'euclidean', got {metric!r}")
    X = as_float_array(X, "X", 2)
    n = X.shape[0]
    k = _check_k(n_neighbors, n)
    nbrs = knn_neighbors(_index_points(X, metric), k, seed, raw)
    cols = np.sort(np.concatenate([nbrs, np.arange(n, dtype=np.int64)[:, None]], axis=1), axis=1)
    vals = np.empty(cols.shape, dtype=np.float64)
    pair_similarities(X, cols, METRICS[metric], vals)
    if metric == "euclidean":
        np.subtract(vals.max(), vals, out=vals)
    itype = np.int32 if n * (k + 1) < np.iinfo(np.int32).max else np.int64
    indptr = np.arange(0, n * (k + 1) + 1, k + 1, dtype=itype)
    return sp.csr_matrix((vals.astype(X.dtype).ravel(), cols.astype(itype).ravel(), indptr), shape=(n, n))
