"""Sparse facility location: the same gains and selections as the dense path, input checks."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidomp as mo
from matroidomp._submodular import FacilityLocation
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
