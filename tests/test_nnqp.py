"""Active-set NNQP/NNLS against scipy and the KKT conditions."""

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

from matroidomp import nnls, nnqp, nnqp_batched


def kkt_violation(Q, c, w):
    g = c - Q @ w
    return max(float(np.max(g)), float(np.max(np.abs(g[w > 0]))) if np.any(w > 0) else 0.0, -float(np.min(w)))


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 40), k=st.integers(1, 30), seed=st.integers(0, 2**32 - 1), lam=st.sampled_from([0.0, 1e-3, 1.0]))
def test_nnls_matches_scipy(m, k, seed, lam):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, k))
    b = rng.standard_normal(m)
    res = nnls(A, b, lam=lam)
    assert res.converged
    A_aug = np.vstack([A, np.sqrt(lam) * np.eye(k)]) if lam else A
    b_aug = np.concatenate([b, np.zeros(k)]) if lam else b
    ref, _ = scipy.optimize.nnls(A_aug, b_aug)
    obj = lambda w: np.sum((A @ w - b) ** 2) + lam * w @ w  # noqa: E731
    # unique minimiser when the problem is strictly convex; otherwise compare objective values
    assert obj(res.w) <= obj(ref) + 1e-9 * max(1.0, obj(ref))
    if np.linalg.matrix_rank(A) == k or lam > 0:
        np.testing.assert_allclose(res.w, ref, rtol=1e-6, atol=1e-8 * max(1.0, np.max(np.abs(ref))))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 25), rank=st.integers(1, 25), seed=st.integers(0, 2**32 - 1))
def test_nnqp_kkt_on_psd_and_singular_q(n, rank, seed):
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n, min(rank, n)))
    Q = F @ F.T  # PSD, singular when rank < n
    c = rng.standard_normal(n)
    if rank < n:
        c = F @ rng.standard_normal(F.shape[1])  # keep the problem bounded
    res = nnqp(Q, c)
    assert res.converged
    assert np.all(res.w >= 0)
    assert kkt_violation(Q, c, res.w) <= 1e-7 * max(1.0, np.max(np.abs(c)), np.max(np.abs(Q)))
    assert res.objective == pytest.approx(c @ res.w - 0.5 * res.w @ Q @ res.w, rel=1e-9, abs=1e-12)


def test_nnqp_ridge_equals_shifted_diagonal():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 12))
    Q, c = A.T @ A, A.T @ rng.standard_normal(30)
    np.testing.assert_allclose(nnqp(Q, c, ridge=0.5).w, nnqp(Q + 0.5 * np.eye(12), c).w, rtol=1e-10)


def test_nnqp_warm_start_reaches_same_optimum():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((40, 20))
    Q, c = A.T @ A, A.T @ rng.standard_normal(40)
    cold = nnqp(Q, c)
    warm = nnqp(Q, c, w0=np.abs(rng.standard_normal(20)))
    np.testing.assert_allclose(warm.w, cold.w, rtol=1e-8, atol=1e-12)
    again = nnqp(Q, c, w0=cold.w)
    assert again.n_iter == 0


def test_nnqp_reports_iteration_limit_instead_of_raising():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((60, 30))
    Q, c = A.T @ A, A.T @ rng.standard_normal(60)
    res = nnqp(Q, c, max_iter=2)
    assert res.status == "max_iter"
    assert not res.converged
    assert np.all(res.w >= 0)


def test_nnls_all_negative_target_gives_zero():
    A = np.abs(np.random.default_rng(3).standard_normal((10, 4)))
    res = nnls(A, -np.ones(10))
    np.testing.assert_array_equal(res.w, 0.0)
    assert res.objective == 0.0


def test_batched_nnqp_names_the_indefinite_problem():
    rng = np.random.default_rng(4)
    F = rng.standard_normal((3, 5, 5))
    Q = F @ F.transpose(0, 2, 1)
    Q[1][0, 1] = Q[1][1, 0] = 0.99 * np.sqrt(Q[1][0, 0] * Q[1][1, 1])
    Q[1][0, 0] *= -1e-3  # a negative diagonal entry: clearly not positive semi-definite
    with pytest.raises(ValueError, match=r"Q\[1\]: matrix is not positive semi-definite"):
        nnqp_batched(Q, rng.standard_normal((3, 5)))


@pytest.mark.parametrize("parallel", [False, True])
def test_batched_checks_agree_with_the_single_problem_checks(parallel, monkeypatch):
    """The numba stack check accepts and refuses what nnqp's symmetry and Cholesky checks do,
    and names the first offender, asymmetric problems before indefinite ones."""
    from matroidomp.kernels import batched_nnqp

    monkeypatch.setattr(batched_nnqp, "PARALLEL_MIN_WORK", 0 if parallel else 1 << 60)
    rng = np.random.default_rng(5)
    k = 9
    F = rng.standard_normal((8, k, k))
    Q = F @ F.transpose(0, 2, 1)
    Q[2] = F[2][:, :3] @ F[2][:, :3].T  # rank 3: PSD, singular
    Q[3] = Q[2] - 1e-3 * np.abs(Q[2]).max() * np.eye(k)  # indefinite
    Q[5] = Q[0] * 1e-200  # tiny scale: still PSD
    Q[6] = np.zeros((k, k))
    Q[7] = Q[1].copy()
    Q[7][0, 4] += 1e-6 * np.abs(Q[7]).max()  # asymmetric
    c = rng.standard_normal((8, k))
    single = []
    for b in range(8):
        try:
            nnqp(Q[b], c[b])
            single.append(None)
        except ValueError as exc:
            single.append(str(exc).split(": ", 1)[1])
    assert single == [None, None, None, "matrix is not positive semi-definite", None, None, None,
                      single[7]] and single[7].startswith("matrix is not symmetric")
    with pytest.raises(ValueError, match=r"Q\[7\]: matrix is not symmetric"):
        nnqp_batched(Q, c)
    with pytest.raises(ValueError, match=r"Q\[3\]: matrix is not positive semi-definite"):
        nnqp_batched(Q[:7], c[:7])
    ok = [0, 1, 2, 4, 5, 6]
    res = nnqp_batched(Q[ok], c[ok])
    for i, b in enumerate(ok):
        np.testing.assert_array_equal(res.w[i], nnqp(Q[b], c[b]).w)
    bad = Q[ok].copy()
    bad[4, 2, 1] = np.nan
    with pytest.raises(ValueError, match="Q: 1 row.*first is row 4"):
        nnqp_batched(bad, c[ok])
