"""Sparse facility location and the kNN similarity: differential against the dense path and exact kNN."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidomp as mo
from matroidomp._knn import knn_neighbors, knn_similarity
from matroidomp._submodular import FacilityLocation, similarity_matrix
from matroidomp.kernels import submodular_gains as kg
from submodular_cases import random_matroid

FAST = settings(max_examples=60, deadline=None)
FORMATS = ("csr", "csc", "coo", "lil", "dok", "csr_array", "coo_dup")


def _sparse(A: np.ndarray, fmt: str, rng):
    """A in scipy format ``fmt``; 'coo_dup' splits some entries into two summing duplicates."""
    if fmt == "csr_array":
        return sp.csr_array(A)
    if fmt != "coo_dup":
        return sp.coo_matrix(A).asformat(fmt)
    C = sp.coo_matrix(A)
    half = rng.random(C.nnz) < 0.5
    half &= C.data == np.round(C.data)  # integers: the two halves sum back exactly
    first = np.where(half, np.floor(C.data / 2), C.data)
    row = np.concatenate([C.row, C.row[half]])
    col = np.concatenate([C.col, C.col[half]])
    data = np.concatenate([first, (C.data - first)[half]]).astype(A.dtype)
    return sp.coo_matrix((data, (row, col)), shape=A.shape)


def _random_similarity(rng, m, n, ties, dtype):
    """(m, n) nonnegative, about 30 % stored; ties: small integers and a copied candidate column;
    some columns empty and some stored zeros."""
    A = rng.integers(0, 4, (m, n)).astype(float) if ties else rng.random((m, n))
    A *= rng.random((m, n)) < 0.3
    if n > 1 and ties:
        src, dst = rng.choice(n, 2, replace=False)
        A[:, dst] = A[:, src]
    if n > 2:
        A[:, rng.integers(0, n)] = 0  # an empty column: a candidate that covers nothing
    return A.astype(dtype)


@FAST
@given(m=st.integers(1, 25), n=st.integers(1, 25), ties=st.booleans(), fmt=st.sampled_from(FORMATS),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**32 - 1))
def test_sparse_selects_exactly_what_dense_selects(m, n, ties, fmt, dtype, seed):
    rng = np.random.default_rng(seed)
    A = _random_similarity(rng, m, n, ties, dtype)
    S = _sparse(A, fmt, rng)
    if fmt == "csc":  # stored zeros mean 0 too
        S.data[rng.random(S.nnz) < 0.2] = 0
        A = S.toarray()
    fs, fd = FacilityLocation(S), FacilityLocation(A)
    assert (fs.m, fs.n) == (fd.m, fd.n) == (m, n)
    k = int(rng.integers(0, n + 1))
    for matroid in (k, random_matroid(n, rng)):
        for run in (lambda f: mo.greedy(f, matroid), lambda f: mo.greedy(f, matroid, lazy=False),
                    lambda f: mo.stochastic_greedy(f, matroid, epsilon=0.3, seed=seed)):
            a, b = run(fs), run(fd)
            assert a.indices.tolist() == b.indices.tolist()
            np.testing.assert_allclose(a.history, b.history, rtol=1e-12, atol=1e-12)
            assert a.objective == pytest.approx(A[:, a.indices].max(axis=1).sum() if len(a) else 0.0, rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_gains_are_bitwise_the_dense_gains(dtype):
    """Serial (small batches) and parallel kernel, m not a multiple of 8, along a random chain."""
    rng = np.random.default_rng(3)
    m, n = 203, 2 * kg.PARALLEL_MIN + 7
    A = (rng.random((m, n)) * (rng.random((m, n)) < 0.1)).astype(dtype)
    sparse, dense = FacilityLocation(sp.csr_matrix(A)).new_state(), FacilityLocation(A).new_state()
    everyone = np.arange(n)
    for j in rng.choice(n, 6, replace=False):
        assert np.array_equal(sparse.gains(everyone), dense.gains(everyone))
        some = rng.choice(n, 9)
        assert np.array_equal(sparse.gains(some), dense.gains(some))
        sparse.add(int(j))
        dense.add(int(j))
        assert sparse.value == pytest.approx(dense.value, rel=1e-12)


def test_csr_kernels_serial_and_parallel_agree():
    rng = np.random.default_rng(5)
    C = sp.csc_matrix(rng.random((57, 3000)) * (rng.random((57, 3000)) < 0.2))
    cur = rng.random(57) * (rng.random(57) < 0.5)
    cand = rng.integers(0, 3000, 2500).astype(np.int64)
    out_s, out_p = np.empty(2500), np.empty(2500)
    kg.fl_csr_gains_serial(C.data, C.indices, C.indptr, cur, cand, out_s)
    kg.fl_csr_gains_parallel(C.data, C.indices, C.indptr, cur, cand, out_p)
    assert kg.fl_csr_gains_parallel.targetoptions["parallel"] is True
    assert np.array_equal(out_s, out_p)
    dense = C.T.toarray()
    assert np.array_equal(out_s, np.array([kg.fl_gain(dense[j], cur) for j in cand]))


def test_the_input_matrix_is_left_alone_and_canonical_csc_is_not_copied():
    rng = np.random.default_rng(6)
    coo = sp.coo_matrix((np.array([0.5, 0.25, 1.0]), (np.array([2, 0, 2]), np.array([1, 1, 1]))), shape=(3, 2))
    before = (coo.row.copy(), coo.col.copy(), coo.data.copy())
    f = FacilityLocation(coo)
    assert all(np.array_equal(a, b) for a, b in zip(before, (coo.row, coo.col, coo.data)))
    assert f([1]) == pytest.approx(0.25 + 1.5)  # duplicates (2, 1) summed, as toarray() does
    C = sp.csc_matrix(rng.random((20, 10)))
    g = FacilityLocation(C)
    assert np.shares_memory(g._csc.data, C.data)


@pytest.mark.parametrize(
    "make, exc, match",
    [
        (lambda: sp.csr_matrix(np.array([[0.5, 0.0], [0.0, -0.25]])), ValueError, r"stored entry \(1, 1\) is -0.25, < 0"),
        (lambda: sp.csc_matrix(np.array([[0.5, np.nan], [0.0, 0.3]])), ValueError, r"stored entry \(0, 1\) is nan, not finite"),
        (lambda: sp.coo_matrix(np.array([[0.5, 0.0], [np.inf, 0.3]])), ValueError, r"stored entry \(1, 0\) is inf, not finite"),
        (lambda: sp.csr_matrix(np.array([[1 + 1j, 0]])), TypeError, "real numeric"),
        (lambda: sp.coo_array(np.array([0.5, 1.0])), ValueError, "2-D"),
    ],
)
def test_bad_sparse_similarity_is_rejected_naming_the_entry(make, exc, match):
    with pytest.raises(exc, match=match):
        FacilityLocation(make())


# ----------------------------------------------------------------------------- kNN similarity
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


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_knn_similarity_matches_exact_knn_on_small_n(metric):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((300, 6))
    k = 7
    S = knn_similarity(X, k, metric)
    nbrs, _ = _exact_knn(X, k, metric)
    assert S.shape == (300, 300) and S.nnz == 300 * (k + 1) and S.has_sorted_indices
    for i in range(300):
        assert set(S[[i]].indices.tolist()) == set(nbrs[i].tolist()) | {i}
    np.testing.assert_allclose(S.toarray(), _reference(X, nbrs, metric), rtol=1e-12, atol=1e-12)
    f = FacilityLocation.from_features(X, metric, n_neighbors=k)
    ref = FacilityLocation(_reference(X, nbrs, metric))
    assert mo.greedy(f, 25).indices.tolist() == mo.greedy(ref, 25).indices.tolist()


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
def test_duplicate_points(metric):
    """30 copies of one point among 70 others: every row holds k + 1 distinct points, and its
    neighbours are at the exact k smallest distances (which copies is arbitrary)."""
    rng = np.random.default_rng(15)
    X = np.concatenate([np.tile(rng.standard_normal((1, 5)), (30, 1)), rng.standard_normal((70, 5))])
    X = X[rng.permutation(100)]
    k = 6
    S = knn_similarity(X, k, metric)
    _, d = _exact_knn(X, k, metric)
    for i in range(100):
        cols = S[[i]].indices
        assert cols.size == k + 1 and i in cols
        others = np.setdiff1d(cols, [i])
        np.testing.assert_allclose(np.sort(d[i, others]), np.sort(d[i])[:k], atol=1e-9)
    dense = FacilityLocation.from_features(X, metric)
    f = FacilityLocation.from_features(X, metric, n_neighbors=k)
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
