"""k-nearest-neighbour similarities: facility location at corpus scale in O(n k) memory.

:func:`knn_similarity` keeps, for every point i, its similarity to itself and to its k nearest
neighbours, found by an approximate-nearest-neighbour (ANN) index, and stores them as a
scipy.sparse matrix of n (k + 1) entries; ``FacilityLocation`` then represents each point by
its best selected neighbour (0 when none is selected).

The index is faiss's HNSW (``faiss-cpu``, extra ``ann``), chosen by measurement among
pynndescent, faiss-cpu and hnswlib (``benchmarks/ann_choice.py``, docs/performance.md): at
n = 10^5 and 10^6 points in 32 dimensions with k = 10 it matches hnswlib's recall, build time and
memory, and unlike hnswlib (source only on PyPI: a C++ compiler at install) it ships wheels;
pynndescent built faster on one thread but compiles for 20-35 s in every fresh process and
needed about 400 MB more memory.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._validation import as_float_array
from .kernels.knn_graph import METRICS, clean_neighbors, pair_similarities

#: HNSW graph degree, construction and search beam widths (faiss's names M, efConstruction,
#: efSearch); recall@10 >= 0.98 on the benchmark's 10^6 points (docs/performance.md).
HNSW_M, EF_CONSTRUCTION, EF_SEARCH = 16, 100, 64

#: Rows the exact fallback compares with all n points at once (a float64 block of this many x n).
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


def _index_points(X: np.ndarray, metric: str) -> np.ndarray:
    """The float32 points the index sees: unit rows for cosine (nearest = largest cosine),
    centred and scaled rows for euclidean (the same neighbours, and no float32 overflow)."""
    X64 = X.astype(np.float64)
    if metric == "cosine":
        norms = np.sqrt(np.einsum("ij,ij->i", X64, X64))
        norms[norms == 0] = 1
        X64 /= norms[:, None]
    else:
        X64 -= X64.mean(axis=0)
        top = np.abs(X64).max() if X64.size else 0.0
        if top > 0:
            X64 /= top
    return np.ascontiguousarray(X64, dtype=np.float32)


def _hnsw_neighbors(points: np.ndarray, r: int) -> np.ndarray:
    """(n, r) ids of approximate nearest neighbours of every point (itself usually first; -1
    pads a short answer), by a faiss HNSW index. The graph is built on one thread (faiss's
    insertion is then deterministic), the queries on all of faiss's threads."""
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "n_neighbors needs faiss-cpu for its nearest-neighbour index: pip install 'matroidomp[ann]'"
        ) from exc
    index = faiss.IndexHNSWFlat(points.shape[1], HNSW_M)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        index.add(points)
    finally:
        faiss.omp_set_num_threads(threads)
    index.hnsw.efSearch = max(EF_SEARCH, r)
    _, ids = index.search(points, r)
    return ids.astype(np.int64, copy=False)


def _exact_neighbors(points: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """(len(rows), k) exact nearest other points of ``rows`` by brute force in float64, blocks of rows."""
    P = points.astype(np.float64)
    sq = np.einsum("ij,ij->i", P, P)
    out = np.empty((rows.size, k), dtype=np.int64)
    step = max(1, _EXACT_BLOCK // max(P.shape[0], 1))
    for lo in range(0, rows.size, step):
        block = rows[lo:lo + step]
        d2 = sq[block, None] + sq[None, :] - 2.0 * (P[block] @ P.T)
        d2[np.arange(block.size), block] = np.inf
        out[lo:lo + step] = np.argpartition(d2, k - 1, axis=1)[:, :k]
    return out


def knn_neighbors(points: np.ndarray, k: int, raw=None) -> np.ndarray:
    """(n, k) distinct nearest other points of every point: the HNSW answer, repaired.

    ``raw`` is the index's (n, r) answer (computed when None). Self, padding (-1), out-of-range
    and repeated ids are dropped; a row left with fewer than k neighbours (an index that found
    too few, e.g. among many duplicate points) is recomputed exactly by brute force, so the
    result never holds garbage.
    """
    n = points.shape[0]
    if raw is None:
        raw = _hnsw_neighbors(points, k + 1)
    nbrs = np.empty((n, k), dtype=np.int64)
    short = clean_neighbors(np.ascontiguousarray(raw, dtype=np.int64), k, nbrs)
    rows = np.flatnonzero(short)
    if rows.size:
        nbrs[rows] = _exact_neighbors(points, rows, k)
    return nbrs


def knn_similarity(X, n_neighbors, metric: str = "cosine", *, raw=None) -> sp.csr_matrix:
    """The k-nearest-neighbour similarity of the rows of ``X``: s_ij stored for j = i and j among i's k nearest.

    Conventions, those of the dense ``similarity_matrix``: ``'cosine'`` s_ij = (1 + cos)/2;
    ``'euclidean'`` s_ij = D - ||x_i - x_j||^2 with D the largest squared distance *stored*
    (the dense matrix takes it over all pairs; the same when k = n - 1). The diagonal is always
    stored, as the dense matrix has it: s_ii = 1 (0.5 for a zero row) or D, so each point can
    represent itself. Neighbours are found by an HNSW index (approximate: recall@10 about 0.99,
    docs/performance.md) on float32 copies of the rows; the similarity of each stored pair is
    then computed exactly, in float64, from ``X``. Row i of the result is point i: facility
    location f(S) = sum_i max_{j in S} s_ij, so point i is represented by its best selected
    neighbour. Rows the index answers with fewer than k distinct neighbours are recomputed
    exactly; with duplicate points, which of the equally near copies are kept is arbitrary.

    Parameters
    ----------
    X : array-like of shape (n, d)
        One item per row, real and finite.
    n_neighbors : int
        k in [1, n - 1]: neighbours per point besides itself.
    metric : {'cosine', 'euclidean'}, default 'cosine'
    raw : numpy.ndarray of shape (n, r), optional
        An index's neighbour ids to use instead of building one (tests feed broken answers).

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

    Notes
    -----
    Costs: the HNSW build and query, O(n log n) distance evaluations in practice (about 25 s
    for n = 10^5 and 4 min for 10^6 at d = 32 on one core, docs/performance.md), then O(n k d)
    for the values; memory O(n (d + k)): the float32 points, the index's graph (2 M = 32 ids a
    point) and the n (k + 1) entries.

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
    nbrs = knn_neighbors(_index_points(X, metric), k, raw)
    cols = np.sort(np.concatenate([nbrs, np.arange(n, dtype=np.int64)[:, None]], axis=1), axis=1)
    vals = np.empty(cols.shape, dtype=np.float64)
    pair_similarities(X, cols, METRICS[metric], vals)
    if metric == "euclidean":
        np.subtract(vals.max(), vals, out=vals)
    itype = np.int32 if n * (k + 1) < np.iinfo(np.int32).max else np.int64
    indptr = np.arange(0, n * (k + 1) + 1, k + 1, dtype=itype)
    return sp.csr_matrix((vals.astype(X.dtype).ravel(), cols.astype(itype).ravel(), indptr), shape=(n, n))
