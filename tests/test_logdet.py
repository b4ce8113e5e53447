"""LogDeterminant: values against slogdet, gains against value differences, laws by brute force,
lazy == naive greedy, from_features, submodlib, input checks."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidomp as mo
from matroidomp import LogDeterminant
from submodular_cases import random_matroid

FAST = settings(max_examples=60, deadline=None)


def _psd(n, rng, *, rank=None, dtype=np.float64):
    """A random n x n PSD similarity B Bᵀ, of rank ``rank`` (default n: positive definite a.s.)."""
    B = rng.standard_normal((n, rank if rank is not None else n)) / np.sqrt(max(n, 1))
    L = B @ B.T
    return ((L + L.T) / 2).astype(dtype)


def logdet_reference(L, lam, S):
    """log det(L_S + lam I) by numpy's slogdet (0 for S = empty)."""
    S = list(S)
    if not S:
        return 0.0
    sign, value = np.linalg.slogdet(L[np.ix_(S, S)].astype(np.float64) + lam * np.eye(len(S)))
    assert sign > 0
    return float(value)


@FAST
@given(n=st.integers(1, 9), lam=st.sampled_from([0.1, 0.5, 1.0, 3.0]), low_rank=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_values_and_gains_match_slogdet(n, lam, low_rank, seed):
    rng = np.random.default_rng(seed)
    L = _psd(n, rng, rank=max(1, n // 3) if low_rank else None)
    f = LogDeterminant(L, regularization=lam)
    state, S, everyone = f.new_state(), [], np.arange(n)
    for j in rng.permutation(n)[: int(rng.integers(0, n + 1))]:
        base = logdet_reference(L, lam, S)
        assert state.value == pytest.approx(base, rel=1e-9, abs=1e-9)
        rest = np.array([c for c in everyone if c not in S], dtype=np.int64)
        expected = [logdet_reference(L, lam, S + [int(c)]) - base for c in rest]
        np.testing.assert_allclose(state.gains(rest), expected, rtol=1e-9, atol=1e-9)
        state.add(int(j))
        S.append(int(j))
    assert f(S) == pytest.approx(logdet_reference(L, lam, S), rel=1e-9, abs=1e-9)


@FAST
@given(n=st.integers(1, 12), lam=st.sampled_from([0.2, 1.0, 2.0]), ties=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_computed_gains_never_increase(n, lam, ties, seed):
    """Exactly, in floating point: what makes lazy greedy equal naive greedy."""
    rng = np.random.default_rng(seed)
    L = _psd(n, rng, rank=2 if ties else None)
    state, rest = LogDeterminant(L, lam).new_state(), list(range(n))
    previous = state.gains(np.array(rest, dtype=np.int64))
    for j in rng.permutation(n)[:-1]:
        state.add(int(j))
        idx = rest.index(int(j))
        rest.pop(idx)
        previous = np.delete(previous, idx)
        now = state.gains(np.array(rest, dtype=np.int64))
        assert np.all(now <= previous)
        previous = now


@FAST
@given(n=st.integers(1, 12), lam=st.sampled_from([0.3, 1.0, 2.0]), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**32 - 1))
def test_lazy_and_naive_greedy_select_bitwise_the_same(n, lam, dtype, seed):
    rng = np.random.default_rng(seed)
    f = LogDeterminant(_psd(n, rng, rank=max(1, n // 2), dtype=dtype), lam)
    matroid = random_matroid(n, rng)
    lazy, naive = mo.greedy(f, matroid, lazy=True), mo.greedy(f, matroid, lazy=False)
    assert lazy.indices.tolist() == naive.indices.tolist()
    assert np.array_equal(lazy.history, naive.history)
    assert lazy.stop_reason == naive.stop_reason


def test_gains_are_bitwise_the_same_alone_and_in_a_batch():
    rng = np.random.default_rng(3)
    state = LogDeterminant(_psd(30, rng), 0.5).new_state()
    for j in (4, 17, 9):
        state.add(j)
    rest = np.array([c for c in range(30) if c not in (4, 17, 9)], dtype=np.int64)
    batch = state.gains(rest)
    alone = np.array([state.gains(np.array([c]))[0] for c in rest])
    assert np.array_equal(batch, alone)


@pytest.mark.parametrize("lam", [0.1, 0.5, 1.0, 2.0])
def test_submodular_and_monotone_by_brute_force(lam):
    """Submodular for every lam > 0; monotone for lam >= 1 (every gain log d_j^2 >= log lam)."""
    rng = np.random.default_rng(int(lam * 10))
    n = 6
    L = _psd(n, rng, rank=3) * 2
    f = LogDeterminant(L, lam)
    value = {S: f(list(S)) for r in range(n + 1) for S in itertools.combinations(range(n), r)}
    monotone = True
    for A in value:
        for j in set(range(n)) - set(A):
            gain_A = value[tuple(sorted(A + (j,)))] - value[A]
            monotone &= gain_A >= -1e-12
            for extra in set(range(n)) - set(A) - {j}:
                B = tuple(sorted(A + (extra,)))
                assert value[tuple(sorted(B + (j,)))] - value[B] <= gain_A + 1e-10
    if lam >= 1:
        assert monotone


def test_small_regularization_is_not_monotone_and_greedy_stops():
    L = np.array([[1.0, 1.0], [1.0, 1.0]])
    f = LogDeterminant(L, regularization=0.1)  # f({0}) = log 1.1 > 0, gain of 1 then log(0.1 * 2.1 / 1.1) < 0
    res = mo.greedy(f, 2)
    assert res.indices.tolist() == [0] and res.stop_reason == "no_positive_gain"


def test_from_features_is_the_cosine_similarity():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((15, 4))
    X[3] = 0.0  # a zero row: similarity 1/2 with every point, itself included
    f = LogDeterminant.from_features(X, regularization=0.5)
    L = mo.similarity_matrix(X, "cosine")
    S = [0, 3, 7, 11]
    assert f(S) == LogDeterminant(L, 0.5)(S)
    assert f(S) == pytest.approx(logdet_reference(L, 0.5, S), rel=1e-12)
    assert mo.greedy(f, 5).indices.tolist() == mo.greedy(f, 5, lazy=False).indices.tolist()


def test_empty_ground_set():
    f = LogDeterminant(np.zeros((0, 0)))
    assert f.n == 0 and f([]) == 0.0
    assert mo.greedy(f, 0).indices.tolist() == []


@pytest.mark.parametrize("lam", [1.0, 0.5])
def test_selects_what_submodlib_selects(lam):
    """submodlib's naive greedy on the same float32 kernel (it stores L in float32): same elements, gains, value.

    A random Gram matrix with distinct diagonal entries, so the first pick is not a tie (submodlib
    breaks ties in hash-set order). With lam = 0.5 gains turn negative; both stop there.
    """
    submodlib = pytest.importorskip("submodlib", reason="submodlib (pip: submodlib-py) is not installed; reference only")
    rng = np.random.default_rng(1)
    B = rng.standard_normal((40, 6))
    L = (B @ B.T / 6).astype(np.float32)
    L = (L + L.T) / 2
    ref = submodlib.LogDeterminantFunction(n=40, mode="dense", lambdaVal=lam, sijs=L)
    theirs = ref.maximize(budget=10, optimizer="NaiveGreedy", stopIfZeroGain=False, stopIfNegativeGain=True,
                          verbose=False, show_progress=False)
    f = LogDeterminant(L, lam)
    ours = mo.greedy(f, 10, lazy=False)
    assert ours.indices.tolist() == [i for i, _ in theirs]
    np.testing.assert_allclose(np.diff(np.r_[0.0, ours.history]), [g for _, g in theirs], rtol=1e-9)
    assert ref.evaluate(set(ours.indices.tolist())) == pytest.approx(f(ours.indices), rel=1e-12)


BAD = [
    (lambda: LogDeterminant(np.array([[0.0, 1.0], [1.0, 0.0]])), ValueError, "positive semidefinite.*smallest eigenvalue is -1"),
    (lambda: LogDeterminant(np.array([[1.0, 0.5], [0.4, 1.0]])), ValueError, r"symmetric.*\(0, 1\) is 0.5"),
    (lambda: LogDeterminant(np.array([[1.0, np.nan], [np.nan, 1.0]])), ValueError, "similarity.*(NaN|finite)"),
    (lambda: LogDeterminant(np.ones((2, 3))), ValueError, r"square.*\(2, 3\)"),
    (lambda: LogDeterminant(np.ones(3)), ValueError, "2-D"),
    (lambda: LogDeterminant(np.eye(2), regularization=-1.0), ValueError, "regularization.*> 0"),
    (lambda: LogDeterminant(np.eye(2), regularization=0.0), ValueError, "regularization.*> 0"),
    (lambda: LogDeterminant(np.eye(2), regularization=np.inf), ValueError, "regularization.*finite"),
    (lambda: LogDeterminant(np.eye(2), regularization="1"), TypeError, "regularization"),
    (lambda: LogDeterminant(np.array([["a"]])), TypeError, "similarity"),
    (lambda: LogDeterminant(__import__("scipy.sparse").sparse.eye(3)), TypeError, "dense.*toarray"),
    (lambda: LogDeterminant.from_features(np.eye(3), metric="euclidean"), ValueError, "metric.*'cosine'.*not PSD"),
    (lambda: LogDeterminant.from_features(np.eye(3), metric="manhattan"), ValueError, "metric"),
]


@pytest.mark.parametrize("make, exc, match", BAD)
def test_bad_input_is_rejected_with_a_clear_message(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_skipping_the_psd_check_gives_the_same_values_and_still_reports_a_bad_pivot():
    rng = np.random.default_rng(5)
    L = _psd(12, rng, rank=4)
    S = [3, 0, 9, 4, 7]
    assert LogDeterminant(L, 0.7, check_psd=False)(S) == LogDeterminant(L, 0.7)(S)
    f = LogDeterminant(np.array([[0.0, 1.0], [1.0, 0.0]]), 0.5, check_psd=False)  # not PSD: d_1^2 = 0.5 - 2 after 0
    with pytest.raises(ValueError, match=r"after adding element 0.*pivot -1.5 <= 0\): L is not PSD"):
        f([0])


def test_numerically_singular_pivot_is_reported():
    L = np.ones((3, 3)) * 1e12  # rank one: d_j^2 = lam (1 + ...) cancels to <= 0 in float64
    f = LogDeterminant(L, regularization=1e-9)
    with pytest.raises(ValueError, match="not positive definite.*increase regularization"):
        f([0, 1])
