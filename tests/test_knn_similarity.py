"""The kNN similarity (similarity_matrix / FacilityLocation.from_features with n_neighbors): against
exact kNN built with numpy and the dense matrix; broken search answers, duplicates, bad input.

pynndescent compiles its numba code once per process (about 25 s of CPU): this file pays it once.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import matroidomp as mo
from matroidomp import _knn
from matroidomp._knn import knn_neighbors, knn_similarity
from matroidomp._submodular import FacilityLocation, similarity_matrix


def _exact_knn(X, k, metric):
    """The k nearest other rows by brute force (numpy; cosine: largest cosine)."""
    if metric == "cosine":
        U = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-300)
        d = -(U @ U.T)
    else:
        d = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1, kind="stable")[:, :k], d


def _reference(X, nbrs, metric):
    """The kNN similarity from its definition, with the dense matrix's formulas."""
    n = X.shape[0]
    dense = similarity_matrix(X.astype(np.float64), metric)
    mask = np.eye(n, dtype=bool)
    mask[np.arange(n)[:, None], nbrs] = True
    if metric == "cosine":
        return np.where(mask, dense, 0.0)
    d2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    top = d2[mask].max()
    return np.where(mask, top - d2, 0.0)


@pytest.fixture(params=["exact", "nndescent"])
def search(request, monkeypatch):
    """Which neighbour search small tests exercise: the exact one (n <= EXACT_MAX_N), or
    pynndescent's, forced by lowering the threshold."""
    if request.param == "nndescent":
        monkeypatch.setattr(_knn, "EXACT_MAX_N", 0)
    return request.param


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_knn_similarity_matches_exact_knn_on_small_n(metric, search):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((300, 6))
    k = 7
    S = knn_similarity(X, k, metric, seed=0)
    nbrs, _ = _exact_knn(X, k, metric)
    assert S.shape == (300, 300) and S.nnz == 300 * (k + 1) and S.has_sorted_indices
    found = [set(S[[i]].indices.tolist()) - {i} for i in range(300)]
    assert all(i in S[[i]].indices for i in range(300))
    recall = sum(len(found[i] & set(nbrs[i].tolist())) for i in range(300)) / (300 * k)
    assert recall == 1.0 if search == "exact" else recall >= 0.98
    got = np.array([sorted(row) for row in found])
    np.testing.assert_allclose(S.toarray(), _reference(X, got, metric), rtol=1e-12, atol=1e-12)
    if search == "exact":
        f = FacilityLocation.from_features(X, metric, n_neighbors=k)
        ref = FacilityLocation(_reference(X, nbrs, metric))
        assert mo.greedy(f, 25).indices.tolist() == mo.greedy(ref, 25).indices.tolist()


def test_above_the_exact_threshold_the_search_is_approximate_but_close_and_seeded():
    """n = EXACT_MAX_N + 1 takes pynndescent's path; recall against exact kNN (numpy, blocks)."""
    rng = np.random.default_rng(16)
    n, k = _knn.EXACT_MAX_N + 1, 5
    X = rng.standard_normal((n, 4))
    S = knn_similarity(X, k, "euclidean", seed=3)
    assert np.array_equal(S.indices, knn_similarity(X, k, "euclidean", seed=3).indices)
    sq = (X * X).sum(1)
    hits = 0
    for lo in range(0, n, 1024):
        d2 = sq[lo:lo + 1024, None] + sq[None, :] - 2 * X[lo:lo + 1024] @ X.T
        d2[np.arange(d2.shape[0]), np.arange(lo, lo + d2.shape[0])] = np.inf
        exact = np.argpartition(d2, k, axis=1)[:, :k]
        hits += sum(len(set(exact[r].tolist()) & set(S[[lo + r]].indices.tolist())) for r in range(d2.shape[0]))
    assert hits / (n * k) >= 0.98


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_neighbours_is_the_dense_similarity(metric, dtype):
    rng = np.random.default_rng(12)
    X = rng.standard_normal((40, 5)).astype(dtype)
    X[3] = 0  # a zero row: cosine 0 with everything, s_33 = 0.5 as in the dense matrix
    S = similarity_matrix(X, metric, n_neighbors=39)
    D = similarity_matrix(X, metric)
    assert S.dtype == D.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(S.toarray(), D, rtol=tol, atol=tol * np.abs(D).max())
    a = mo.greedy(FacilityLocation(S), 10)
    b = mo.greedy(FacilityLocation(D), 10)
    assert a.objective == pytest.approx(b.objective, rel=10 * tol)


def test_euclidean_constant_and_diagonal():
    """D is the largest stored squared distance; s_ii = D; the farthest stored pair gets 0."""
    X = np.array([[0.0], [1.0], [3.0], [7.0]])
    S = knn_similarity(X, 1, "euclidean")
    assert S.diagonal().tolist() == [16.0] * 4
    assert S[[3]].indices.tolist() == [2, 3] and S[3, 2] == 0.0  # stored, and 0
    assert S.nnz == 8


def test_broken_index_answers_are_repaired_exactly():
    """-1 padding, too few columns, self missing, repeats and out-of-range ids: the bad rows are
    recomputed by brute force; the good rows keep the index's answer."""
    rng = np.random.default_rng(13)
    X = rng.standard_normal((60, 3))
    k = 4
    exact, _ = _exact_knn(X, k, "euclidean")
    raw = np.concatenate([np.arange(60)[:, None], exact], axis=1)  # a perfect answer
    raw[0, 2:] = -1                        # padded: 1 neighbour left
    raw[1] = [raw[1, 1]] * 5               # one neighbour repeated
    raw[2] = np.r_[exact[2], 999]          # self missing, one id out of range: still 4 valid
    raw[3, 1:] = 3                         # only itself
    short = raw[:, :3]                     # an index that returned 3 columns
    for answer in (raw, short):
        S = knn_similarity(X, k, "euclidean", raw=answer)
        for i in range(60):
            assert set(S[[i]].indices.tolist()) == set(exact[i].tolist()) | {i}, i


def test_knn_neighbors_never_repeats_or_keeps_self():
    rng = np.random.default_rng(14)
    P = rng.standard_normal((50, 4)).astype(np.float32)
    raw = rng.integers(-1, 55, (50, 9))
    nbrs = knn_neighbors(P, 5, raw)
    for i, row in enumerate(nbrs):
        assert len(set(row.tolist())) == 5 and i not in row and row.min() >= 0 and row.max() < 50


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_duplicate_points(metric, search):
    """30 copies of one point among 70 others: every row holds k + 1 distinct points, and its
    neighbours are at the exact k smallest distances (which copies is arbitrary)."""
    rng = np.random.default_rng(15)
    X = np.concatenate([np.tile(rng.standard_normal((1, 5)), (30, 1)), rng.standard_normal((70, 5))])
    X = X[rng.permutation(100)]
    k = 6
    S = knn_similarity(X, k, metric, seed=1)
    _, d = _exact_knn(X, k, metric)
    for i in range(100):
        cols = S[[i]].indices
        assert cols.size == k + 1 and i in cols
        others = np.setdiff1d(cols, [i])
        if search == "exact":
            np.testing.assert_allclose(np.sort(d[i, others]), np.sort(d[i])[:k], atol=1e-9)
        else:  # approximate, but a copy finds (nearly) all its copies
            assert np.sort(d[i, others])[0] <= np.sort(d[i])[k - 1] + 1e-9
    dense = FacilityLocation.from_features(X, metric)
    f = FacilityLocation.from_features(X, metric, n_neighbors=k, seed=1)
    assert f([0]) <= dense([0]) + 1e-9  # fewer stored similarities, never more coverage


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"n_neighbors": 0}, ValueError, "at least 1"),
        ({"n_neighbors": -3}, ValueError, "at least 1"),
        ({"n_neighbors": 10}, ValueError, r"10 neighbours asked but X has 10 rows.*n_neighbors <= 9"),
        ({"n_neighbors": 2.5}, TypeError, "expected an int"),
        ({"n_neighbors": "3"}, TypeError, "expected an int"),
        ({"n_neighbors": True}, TypeError, "expected an int"),
        ({"n_neighbors": 3, "metric": "manhattan"}, ValueError, "metric"),
    ],
)
def test_bad_n_neighbors_is_rejected(kwargs, exc, match):
    X = np.random.default_rng(0).standard_normal((10, 3))
    with pytest.raises(exc, match=match):
        FacilityLocation.from_features(X, **kwargs)


@pytest.mark.parametrize(
    "X, exc, match",
    [
        (np.ones(5), ValueError, "2-D"),
        (np.array([[1.0, np.nan], [0.0, 1.0], [1.0, 1.0]]), ValueError, "NaN"),
        (sp.csr_matrix(np.eye(4)), TypeError, "X: scipy.sparse"),
    ],
)
def test_bad_features_with_n_neighbors_are_rejected(X, exc, match):
    with pytest.raises(exc, match=match):
        FacilityLocation.from_features(X, n_neighbors=1)
