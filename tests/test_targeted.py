"""Targeted functions (FLMI, FLCG, GCMI): values and gains from the definitions, exact laws, lazy ==
naive, sparse == dense, guarantees against brute force, from_features, submodlib, input checks."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidomp as mo
from matroidomp import (
    FacilityLocationConditionalGain as FLCG,
    FacilityLocationMutualInformation as FLMI,
    GraphCutMutualInformation as GCMI,
)
from matroidomp.testing import assert_guarantee, random_partition_matroid

FAST = settings(max_examples=60, deadline=None)


def flmi_reference(s, t, eta, A):
    """Σ_i min(max_{j ∈ A} s_ij, η max_q t_iq), from the definition."""
    A = list(A)
    return float(np.minimum(s[:, A].max(axis=1), eta * t.max(axis=1)).sum()) if A else 0.0


def flcg_reference(s, t, nu, A):
    """Σ_i max(max_{j ∈ A} s_ij − ν max_p t_ip, 0), from the definition (max over no p: 0)."""
    A = list(A)
    level = nu * (t.max(axis=1) if t.shape[1] else np.zeros(s.shape[0]))
    return float(np.maximum(s[:, A].max(axis=1) - level, 0.0).sum()) if A else 0.0


def gcmi_reference(s, t, _, A):
    """Σ_{j ∈ A} Σ_q t_jq, from the definition."""
    return float(t[list(A)].sum())


#: kind -> (build(s, t, param), reference, parameters to draw)
KINDS = {
    "flmi": (lambda s, t, p: FLMI(s, t, eta=p), flmi_reference, [1.0, 0.5, 2.0, 0.1]),
    "flcg": (lambda s, t, p: FLCG(s, t, nu=p), flcg_reference, [1.0, 0.0, 0.5, 3.0]),
    "gcmi": (lambda s, t, p: GCMI(t), gcmi_reference, [None] * 4),
}


def draw_instance(kind, n, rng, *, ties=False, density=1.0):
    """s (m, n) >= 0 and t (m, q) >= 0 (m = n for GCMI, whose t is indexed by candidates)."""
    m = n if kind == "gcmi" else int(rng.integers(1, 9))
    q = int(rng.integers(0 if kind == "flcg" else 1, 4))
    draw = (lambda shape: rng.integers(0, 4, shape).astype(float)) if ties else rng.random
    s = draw((m, n)) * (rng.random((m, n)) < density)
    t = draw((m, q)) * (rng.random((m, q)) < density)
    if ties and n > 1:
        src, dst = rng.choice(n, 2, replace=False)
        s[:, dst] = s[:, src]
        if kind == "gcmi":
            t[dst] = t[src]
    return s, t


def build(kind, s, t, param, sparse=False):
    as_input = sp.csr_matrix if sparse else (lambda a: a)
    return KINDS[kind][0](as_input(s), as_input(t), param)


@FAST
@given(kind=st.sampled_from(sorted(KINDS)), n=st.integers(1, 9), pick=st.integers(0, 3), sparse=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_values_and_gains_match_the_definition(kind, n, pick, sparse, seed):
    rng = np.random.default_rng(seed)
    s, t = draw_instance(kind, n, rng, density=0.6)
    reference, param = KINDS[kind][1], KINDS[kind][2][pick]
    f = build(kind, s, t, param, sparse)
    assert f.n == n
    state, A, everyone = f.new_state(), [], np.arange(n)
    for j in rng.permutation(n)[: int(rng.integers(0, n + 1))]:
        base = reference(s, t, param, A)
        assert state.value == pytest.approx(base, rel=1e-9, abs=1e-9)
        expected = [reference(s, t, param, A + [c]) - base for c in everyone]
        np.testing.assert_allclose(state.gains(everyone), expected, rtol=1e-9, atol=1e-9)
        state.add(int(j))
        A.append(int(j))
    assert f(A) == pytest.approx(reference(s, t, param, A), rel=1e-9, abs=1e-9)


@FAST
@given(kind=st.sampled_from(sorted(KINDS)), n=st.integers(1, 12), pick=st.integers(0, 3), ties=st.booleans(),
       sparse=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_computed_gains_never_increase(kind, n, pick, ties, sparse, seed):
    """Exactly, in floating point: what makes lazy greedy select what naive greedy selects."""
    rng = np.random.default_rng(seed)
    s, t = draw_instance(kind, n, rng, ties=ties, density=0.5 if sparse else 1.0)
    f = build(kind, s, t, KINDS[kind][2][pick], sparse)
    state, everyone = f.new_state(), np.arange(n)
    previous = state.gains(everyone)
    assert np.all(previous >= 0)
    for j in rng.permutation(n):
        state.add(int(j))
        current = state.gains(everyone)
        assert np.all(current <= previous)
        previous = current


@FAST
@given(kind=st.sampled_from(sorted(KINDS)), n=st.integers(1, 14), pick=st.integers(0, 3), ties=st.booleans(),
       sparse=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_lazy_and_naive_greedy_select_bitwise_the_same(kind, n, pick, ties, sparse, seed):
    rng = np.random.default_rng(seed)
    s, t = draw_instance(kind, n, rng, ties=ties, density=0.5 if sparse else 1.0)
    f = build(kind, s, t, KINDS[kind][2][pick], sparse)
    matroid = random_partition_matroid(n, rng)
    lazy, naive = mo.greedy(f, matroid, lazy=True), mo.greedy(f, matroid, lazy=False)
    assert lazy.indices.tolist() == naive.indices.tolist()
    assert np.array_equal(lazy.history, naive.history)
    assert lazy.stop_reason == naive.stop_reason


@pytest.mark.parametrize("kind, param", [("flmi", 0.7), ("flcg", 0.8), ("gcmi", None)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_gives_bitwise_the_dense_gains_and_selection(kind, param, dtype):
    rng = np.random.default_rng(3)
    n = 300
    s = (rng.random((n, n)) * (rng.random((n, n)) < 0.1)).astype(dtype)
    t = (rng.random((n, 7)) * (rng.random((n, 7)) < 0.3)).astype(dtype)
    dense, sparse = build(kind, s, t, param), build(kind, sp.coo_matrix(s), sp.coo_matrix(t), param)
    a, b = dense.new_state(), sparse.new_state()
    everyone = np.arange(n)
    for j in rng.choice(n, 20, replace=False):
        assert np.array_equal(a.gains(everyone), b.gains(everyone))
        a.add(int(j))
        b.add(int(j))
        assert a.value == pytest.approx(b.value, rel=1e-12)  # dense sums f(S), sparse accumulates gains
    assert np.array_equal(mo.greedy(dense, 25).indices, mo.greedy(sparse, 25).indices)


@pytest.mark.parametrize("kind, param", [("flmi", 1.0), ("flmi", 0.3), ("flcg", 1.0), ("flcg", 2.0), ("gcmi", None)])
def test_normalised_monotone_submodular_by_brute_force(kind, param):
    rng = np.random.default_rng(11)
    for _ in range(5):
        s, t = draw_instance(kind, 6, rng)
        f = build(kind, s, t, param)
        value = {A: f(list(A)) for r in range(7) for A in itertools.combinations(range(6), r)}
        assert value[()] == 0
        for A, fa in value.items():
            for j in set(range(6)) - set(A):
                gain = value[tuple(sorted(A + (j,)))] - fa
                assert gain >= -1e-12
                for k in set(range(6)) - set(A) - {j}:  # Δ(j | A + k) <= Δ(j | A)
                    bigger = tuple(sorted(A + (k,)))
                    assert value[tuple(sorted(bigger + (j,)))] - value[bigger] <= gain + 1e-12


@FAST
@given(kind=st.sampled_from(sorted(KINDS)), n=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_greedy_guarantees_hold_against_brute_force(kind, n, seed):
    """1/2 under a partition matroid (GCMI, modular: greedy is optimal); stochastic greedy 1 − 1/e − ε in expectation."""
    rng = np.random.default_rng(seed)
    s, t = draw_instance(kind, n, rng)
    f = build(kind, s, t, KINDS[kind][2][0])
    matroid = random_partition_matroid(n, rng)
    assert_guarantee(mo.greedy, f, matroid, bound=1.0 if kind == "gcmi" else 0.5)
    k = int(rng.integers(1, n + 1))
    assert_guarantee(mo.greedy, f, mo.PartitionMatroid.cardinality(n, k), bound=1.0 if kind == "gcmi" else 1 - 1 / np.e)


def test_flcg_with_no_private_item_or_zero_hardness_is_facility_location():
    rng = np.random.default_rng(5)
    s, t = rng.random((9, 12)), rng.random((9, 3))
    reference = mo.greedy(mo.FacilityLocation(s), 5)
    for f in (FLCG(s, np.zeros((9, 0))), FLCG(s, t, nu=0.0)):
        out = mo.greedy(f, 5)
        assert out.indices.tolist() == reference.indices.tolist()
        assert np.array_equal(out.history, reference.history)


def test_flmi_saturates_once_the_query_level_is_reached_and_gcmi_does_not():
    """Two copies of the item nearest the query: FLMI gains nothing from the second, GCMI counts both."""
    X = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.2]])
    query = np.array([[1.0, 0.05]])
    flmi, gcmi = FLMI.from_features(X, query), GCMI.from_features(X, query)
    assert mo.greedy(flmi, 2).indices[0] in (0, 1)
    assert set(mo.greedy(flmi, 2).indices.tolist()) != {0, 1}
    assert set(mo.greedy(gcmi, 2).indices.tolist()) == {0, 1}


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_feature_similarities_share_one_scale(metric, dtype):
    rng = np.random.default_rng(2)
    X, Q = rng.standard_normal((30, 5)).astype(dtype), rng.standard_normal((4, 5)).astype(dtype) * 3
    S, T = mo.feature_similarities(X, Q, metric)
    assert S.dtype == T.dtype == dtype and S.shape == (30, 30) and T.shape == (30, 4)
    assert np.array_equal(S, S.T) and S.min() >= 0 and T.min() >= 0
    Z = np.vstack([X, Q]).astype(np.float64)
    if metric == "cosine":
        np.testing.assert_array_equal(S, mo.similarity_matrix(X, "cosine"))
        U = Z / np.linalg.norm(Z, axis=1, keepdims=True)
        full = (1 + U @ U.T) / 2
    else:  # one D: the largest squared distance over X x X and X x Q (Q x Q is not computed)
        d = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)
        full = d[:30].max() - d
    tol = 1e-4 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(S, full[:30, :30], rtol=tol, atol=tol * np.abs(full).max())
    np.testing.assert_allclose(T, full[:30, 30:], rtol=tol, atol=tol * np.abs(full).max())
    _, T_alone = mo.feature_similarities(X, Q, metric, ground=False)
    if metric == "cosine":
        assert np.array_equal(T_alone, T)
    else:  # D over X x Q only
        np.testing.assert_allclose(T_alone, d[:30, 30:].max() - d[:30, 30:], rtol=tol, atol=tol * d.max())


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_from_features_is_the_class_on_feature_similarities(metric):
    rng = np.random.default_rng(4)
    X, Q = rng.standard_normal((25, 3)), rng.standard_normal((3, 3))
    S, T = mo.feature_similarities(X, Q, metric)
    _, T_alone = mo.feature_similarities(X, Q, metric, ground=False)
    pairs = [
        (FLMI.from_features(X, Q, metric, eta=0.8), FLMI(S, T, eta=0.8)),
        (FLCG.from_features(X, Q, metric, nu=0.5), FLCG(S, T, nu=0.5)),
        (GCMI.from_features(X, Q, metric), GCMI(T_alone)),
    ]
    for a, b in pairs:
        ra, rb = mo.greedy(a, 6), mo.greedy(b, 6)
        assert ra.indices.tolist() == rb.indices.tolist()
        assert np.array_equal(ra.history, rb.history)


def test_solvers_accept_the_targeted_functions():
    """stochastic greedy, a start set, knapsack costs and a mixture: each function is a SetFunction like the others."""
    rng = np.random.default_rng(8)
    X, Q = rng.standard_normal((40, 4)), rng.standard_normal((2, 4))
    flmi, flcg, gcmi = FLMI.from_features(X, Q), FLCG.from_features(X, Q), GCMI.from_features(X, Q)
    assert len(mo.stochastic_greedy(flmi, 5, seed=0).indices) == 5
    assert mo.greedy(flcg, 5, initial=[3]).indices[0] == 3
    costs = rng.random(40) + 0.5
    picked = mo.greedy(gcmi, costs=costs, budget=3.0).indices
    assert costs[picked].sum() <= 3.0
    mix = mo.Mixture([flmi, gcmi], [1.0, 0.1])
    assert mix([1, 2]) == pytest.approx(flmi([1, 2]) + 0.1 * gcmi([1, 2]))


# --------------------------------------------------------------------------- submodlib
def _submodlib():
    return pytest.importorskip("submodlib", reason="submodlib (pip: submodlib-py) is not installed; reference only")


def _theirs(ref, k):
    out = ref.maximize(budget=k, optimizer="NaiveGreedy", stopIfZeroGain=False, stopIfNegativeGain=False,
                       verbose=False, show_progress=False)
    return [i for i, _ in out], [g for _, g in out]


def _assert_greedy_agrees(f, idx, gains, k):
    """Our naive greedy makes submodlib's choices up to exact ties.

    Clipping (FLMI) and the zero floor (FLCG) make exact ties ordinary: two candidates whose
    only contribution is one point's query level, or many with gain 0. submodlib breaks them in
    hash-set order, we take the lowest index. So walk submodlib's picks: each must attain the
    largest of our gains (to float32 precision) with our gain equal to theirs, and where our
    pick differs the two gains must be tied.
    """
    ours = mo.greedy(f, k, lazy=False)
    state, chosen = f.new_state(), []
    for step, (j, g) in enumerate(zip(idx, gains)):
        rest = np.setdiff1d(np.arange(f.n), chosen)
        ours_gains = state.gains(rest)
        best = ours_gains.max()
        assert ours_gains[np.searchsorted(rest, j)] == pytest.approx(best, rel=1e-6, abs=1e-6), step
        assert best == pytest.approx(g, rel=1e-6, abs=1e-6), step
        state.add(int(j))
        chosen.append(int(j))
    assert len(ours.indices) == len(idx)
    assert ours.objective == pytest.approx(state.value, rel=1e-6)


def _kernels(n, q, seed):
    """float32 kernels (submodlib stores them in float32) with distinct entries: no first-step ties.
    Not symmetric, so a transposed orientation would select differently."""
    rng = np.random.default_rng(seed)
    s = rng.permutation(n * n).reshape(n, n).astype(np.float32) / np.float32(n * n)
    t = rng.random((n, q)).astype(np.float32)
    return s, t


@pytest.mark.parametrize("eta", [1.0, 0.5, 2.0])
def test_flmi_selects_what_submodlib_selects(eta):
    submodlib = _submodlib()
    s, t = _kernels(60, 5, 1)
    ref = submodlib.FacilityLocationMutualInformationFunction(n=60, num_queries=5, data_sijs=s, query_sijs=t,
                                                               magnificationEta=eta)
    idx, gains = _theirs(ref, 12)
    f = FLMI(s, t, eta=eta)
    _assert_greedy_agrees(f, idx, gains, 12)
    assert ref.evaluate(set(idx)) == pytest.approx(f(idx), rel=1e-6)
    ours = mo.greedy(f, 12).indices.tolist()
    assert ref.evaluate(set(ours)) == pytest.approx(f(ours), rel=1e-6)


@pytest.mark.parametrize("nu", [1.0, 0.5, 2.0])
def test_flcg_selects_what_submodlib_selects(nu):
    submodlib = _submodlib()
    s, t = _kernels(60, 4, 2)
    t *= np.float32(0.8)
    ref = submodlib.FacilityLocationConditionalGainFunction(n=60, num_privates=4, data_sijs=s, private_sijs=t,
                                                             privacyHardness=nu)
    idx, gains = _theirs(ref, 12)
    f = FLCG(s, t, nu=nu)
    _assert_greedy_agrees(f, idx, gains, 12)
    positive = int(np.sum(np.asarray(gains) > 0))  # before the zero-gain ties: the very same picks
    assert mo.greedy(f, 12, lazy=False).indices.tolist()[:positive] == idx[:positive]
    assert ref.evaluate(set(idx)) == pytest.approx(f(idx), rel=1e-6)


def test_gcmi_selects_what_submodlib_selects():
    submodlib = _submodlib()
    _, t = _kernels(80, 6, 3)
    ref = submodlib.GraphCutMutualInformationFunction(n=80, num_queries=6, query_sijs=t)
    idx, gains = _theirs(ref, 15)
    f = GCMI(t)
    ours = mo.greedy(f, 15, lazy=False)
    assert ours.indices.tolist() == idx
    np.testing.assert_allclose(np.diff(np.r_[0.0, ours.history]), gains, rtol=1e-6)
    assert ref.evaluate(set(idx)) == pytest.approx(f(idx), rel=1e-6)


# --------------------------------------------------------------------------- bad input
E = np.eye(3)
BAD = [
    (lambda: FLMI(-E, E), ValueError, r"similarity: entry \(0, 1\) is -0 < 0|similarity: entry.*< 0"),
    (lambda: FLMI(E, -E), ValueError, r"query_similarity: entry.*< 0.*t_iq >= 0"),
    (lambda: FLMI(E, sp.csr_matrix(-E)), ValueError, r"query_similarity: stored entry \(0, 0\) is -1"),
    (lambda: FLMI(E, np.ones((2, 1))), ValueError, r"query_similarity: expected one row per point, 3 rows.*\(2, 1\)"),
    (lambda: FLMI(E, np.ones((3, 0))), ValueError, "query_similarity: no query columns"),
    (lambda: FLMI(E, E, eta=0.0), ValueError, "eta.*> 0"),
    (lambda: FLMI(E, E, eta="1"), TypeError, "eta"),
    (lambda: FLMI(E, np.full((3, 1), np.nan)), ValueError, "query_similarity.*(NaN|finite)"),
    (lambda: FLMI(np.ones(3), E), ValueError, "similarity.*2-D"),
    (lambda: FLCG(E, np.ones((4, 2))), ValueError, r"private_similarity: expected one row per point, 3 rows"),
    (lambda: FLCG(E, -E), ValueError, r"private_similarity: entry.*< 0"),
    (lambda: FLCG(E, E, nu=-1.0), ValueError, "nu.*>= 0"),
    (lambda: FLCG(E, E, nu=np.inf), ValueError, "nu.*finite"),
    (lambda: GCMI(-E), ValueError, r"query_similarity: entry.*< 0.*t_jq >= 0"),
    (lambda: GCMI(np.ones((3, 0))), ValueError, "query_similarity: no query columns"),
    (lambda: GCMI(np.array([["a"]])), TypeError, "query_similarity"),
    (lambda: FLMI.from_features(np.eye(3), np.ones((2, 4))), ValueError, r"query: expected rows of width 3.*\(2, 4\)"),
    (lambda: FLCG.from_features(np.eye(3), np.ones((2, 2))), ValueError, r"private: expected rows of width 3"),
    (lambda: GCMI.from_features(np.eye(3), np.ones(3)), ValueError, "query.*2-D"),
    (lambda: GCMI.from_features(np.eye(3), np.ones((0, 3))), ValueError, "query_similarity: no query columns"),
    (lambda: FLMI.from_features(np.eye(3), np.ones((1, 3)), metric="manhattan"), ValueError, "metric"),
    (lambda: FLMI.from_features(sp.eye(3), np.ones((1, 3))), TypeError, "X: scipy.sparse"),
    (lambda: FLMI.from_features(np.eye(3), sp.csr_matrix(np.ones((1, 3)))), TypeError, "query: scipy.sparse"),
    (lambda: FLMI.from_features(np.eye(3), np.array([[np.inf, 0, 0]])), ValueError, "query.*(NaN|Inf|finite)"),
]


@pytest.mark.parametrize("make, exc, match", BAD)
def test_bad_input_is_rejected_with_a_clear_message(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_inputs_are_not_modified():
    rng = np.random.default_rng(0)
    s, t = rng.random((6, 6)), rng.random((6, 2))
    S = sp.csc_matrix(s)
    copies = (s.copy(), t.copy(), S.data.copy())
    FLMI(s, t, eta=0.5), FLCG(s, t, nu=2.0), GCMI(t), FLMI(S, t), FLCG(S, t)
    assert np.array_equal(s, copies[0]) and np.array_equal(t, copies[1]) and np.array_equal(S.data, copies[2])
