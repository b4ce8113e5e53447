"""numba kernels against numpy references."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matroidomp.kernels.active_set import _remove
from matroidomp.kernels.cholesky import cholesky_append, cholesky_solve


def grown_factor(A):
    p = A.shape[0]
    L = np.zeros((p + 3, p + 3))  # a larger buffer, as the solvers use
    for j in range(p):
        assert cholesky_append(L, j, A[:j, j].copy(), A[j, j], 1e-10)
    return L


@settings(max_examples=50, deadline=None)
@given(p=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_append_and_solve_match_numpy(p, seed):
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((p, p + 2))
    A = F @ F.T
    L = grown_factor(A)
    np.testing.assert_allclose(L[:p, :p], np.linalg.cholesky(A), rtol=1e-9, atol=1e-12)
    b = rng.standard_normal(p)
    np.testing.assert_allclose(cholesky_solve(L, b, p), np.linalg.solve(A, b), rtol=1e-7, atol=1e-9)


def test_append_reports_linear_dependence():
    A = np.array([[1.0, 1.0], [1.0, 1.0]])
    L = np.zeros((2, 2))
    assert cholesky_append(L, 0, np.zeros(0), 1.0, 1e-10)
    assert not cholesky_append(L, 1, A[:1, 1].copy(), 1.0, 1e-10)


@settings(max_examples=50, deadline=None)
@given(p=st.integers(2, 12), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_givens_removal_gives_factor_of_reduced_matrix(p, seed, data):
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((p, p + 1))
    A = F @ F.T
    L = grown_factor(A)
    perm = np.arange(p, dtype=np.int64)
    t = data.draw(st.integers(0, p - 1))
    _remove(L, perm, p, t)
    keep = [i for i in range(p) if i != t]
    np.testing.assert_array_equal(perm[: p - 1], keep)
    reduced = A[np.ix_(keep, keep)]
    L2 = np.tril(L[: p - 1, : p - 1])
    np.testing.assert_allclose(L2 @ L2.T, reduced, rtol=1e-9, atol=1e-10)
    assert np.all(np.diag(L2) > 0)
    np.testing.assert_allclose(L2, np.linalg.cholesky(reduced), rtol=1e-8, atol=1e-10)
