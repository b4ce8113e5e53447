"""Pairwise-similarity functions (graph cut, saturated coverage, sum redundancy): values, gains,
laws, greedy, apricot, input checks."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidomp as mo
from matroidomp._pairwise import GraphCut, SaturatedCoverage, SumRedundancy
from submodular_cases import random_matroid

FAST = settings(max_examples=60, deadline=None)


def _symmetric(n, rng, *, ties=False, density=1.0):
    """A random symmetric n x n similarity >= 0; ``ties``: small integers and a duplicated candidate."""
    s = rng.integers(0, 4, (n, n)).astype(float) if ties else rng.random((n, n))
    s = s * (rng.random((n, n)) < density)
    s = np.triu(s) + np.triu(s, 1).T
    if ties and n > 2:
        src, dst = rng.choice(n, 2, replace=False)  # dst copies src (off their 2 x 2 block)
        s[dst], s[:, dst] = s[src], s[src]
        s[dst, dst], s[src, dst], s[dst, src] = s[src, src], s[src, src], s[src, src]
    return s


def graph_cut_reference(s, lam, S):
    """f(S) = sum_{i in V, j in S} s_ij - lam sum_{i, j in S} s_ij, from the definition."""
    S = list(S)
    return float(s[:, S].sum() - lam * s[np.ix_(S, S)].sum()) if S else 0.0


def saturated_reference(s, alpha, S):
    """f(S) = sum_i min(sum_{j in S} s_ij, alpha sum_k s_ik), from the definition."""
    return float(np.minimum(s[:, list(S)].sum(axis=1), alpha * s.sum(axis=1)).sum())


def sum_redundancy_reference(s, _, S):
    """f(S) = M |S| - sum_{i, j in S} s_ij with M = 2 max_j sum_i s_ij, from the definition."""
    S = list(S)
    offset = 2 * s.sum(axis=0).max() if s.size else 0.0
    return float(offset * len(S) - s[np.ix_(S, S)].sum()) if S else 0.0


#: kind -> (class, reference, parameters to draw, parameters under which f is monotone);
#: sum redundancy has no parameter (None).
KINDS = {
    "graph_cut": (GraphCut, graph_cut_reference, [0.0, 0.3, 0.5, 1.0, 2.5], [0.0, 0.3, 0.5]),
    "saturated": (SaturatedCoverage, saturated_reference, [0.05, 0.2, 0.5, 1.0, 2.0], [0.05, 0.2, 0.5, 1.0, 2.0]),
    "sum_redundancy": (SumRedundancy, sum_redundancy_reference, [None] * 5, [None]),
}


def build(kind, s, param, sparse=False):
    cls = KINDS[kind][0]
    sim = sp.csr_matrix(s) if sparse else s
    return cls(sim) if param is None else cls(sim, param)


@FAST
@given(kind=st.sampled_from(sorted(KINDS)), n=st.integers(1, 9), pick=st.integers(0, 4), sparse=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_values_and_gains_match_the_definition(kind, n, pick, sparse, seed):
    rng = np.random.default_rng(seed)
    s = _symmetric(n, rng, density=0.6)
    reference, param = KINDS[kind][1], KINDS[kind][2][pick]
    f = build(kind, s, param, sparse)
    state, S, everyone = f.new_state(), [], np.arange(n)
    for j in rng.permutation(n)[: int(rng.integers(0, n + 1))]:
        base = reference(s, param, S)
        assert state.value == pytest.approx(base, rel=1e-9, abs=1e-9)
        expected = [reference(s, param, S + [c]) - base for c in everyone]
        np.testing.assert_allclose(state.gains(everyone), expected, rtol=1e-9, atol=1e-9)
        state.add(int(j))
        S.append(int(j))
    assert f(S) == pytest.approx(reference(s, param, S), rel=1e-9, abs=1e-9)


@FAST
@given(kind=st.sampled_from(sorted(KINDS)), n=st.integers(1, 12), pick=st.integers(0, 4), ties=st.booleans(),
       sparse=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_computed_gains_never_increase(kind, n, pick, ties, sparse, seed):
    """Exactly, in floating point, for every parameter: what makes lazy greedy equal naive greedy."""
    rng = np.random.default_rng(seed)
    f = build(kind, _symmetric(n, rng, ties=ties, density=0.5 if sparse else 1.0), KINDS[kind][2][pick], sparse)
    state, everyone = f.new_state(), np.arange(n)
    previous = state.gains(everyone)
    for j in rng.permutation(n):
        state.add(int(j))
        current = state.gains(everyone)
        assert np.all(current <= previous)
        previous = current


@FAST
@given(kind=st.sampled_from(sorted(KINDS)), n=st.integers(1, 14), pick=st.integers(0, 4), ties=st.booleans(),
       sparse=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_lazy_and_naive_greedy_select_bitwise_the_same(kind, n, pick, ties, sparse, seed):
    rng = np.random.default_rng(seed)
    s = _symmetric(n, rng, ties=ties, density=0.5 if sparse else 1.0)
    f = build(kind, s, KINDS[kind][2][pick], sparse)
    matroid = random_matroid(n, rng)
    lazy, naive = mo.greedy(f, matroid, lazy=True), mo.greedy(f, matroid, lazy=False)
    assert lazy.indices.tolist() == naive.indices.tolist()
    assert np.array_equal(lazy.history, naive.history)
    assert lazy.stop_reason == naive.stop_reason


@pytest.mark.parametrize("kind, param", [("graph_cut", 0.4), ("saturated", 0.05), ("sum_redundancy", None)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_gives_bitwise_the_dense_gains_and_selection(kind, param, dtype):
    rng = np.random.default_rng(3)
    s = _symmetric(300, rng, density=0.1).astype(dtype)
    dense, sparse = build(kind, s, param), build(kind, sp.coo_matrix(s), param)
    a, b = dense.new_state(), sparse.new_state()
    everyone = np.arange(300)
    for j in rng.choice(300, 20, replace=False):
        assert np.array_equal(a.gains(everyone), b.gains(everyone))
        a.add(int(j))
        b.add(int(j))
        assert a.value == b.value
    assert np.array_equal(mo.greedy(dense, 25).indices, mo.greedy(sparse, 25).indices)


@pytest.mark.parametrize("sparse", [False, True])
def test_saturated_coverage_gains_are_bitwise_identical_alone_and_in_parallel_batches(sparse):
    """Batches of PARALLEL_MIN or more run on the parallel kernel: the same float per candidate."""
    from matroidomp.kernels.submodular_gains import PARALLEL_MIN

    rng = np.random.default_rng(8)
    n = 2 * PARALLEL_MIN + 3
    s = _symmetric(n, rng, density=0.05)
    f = SaturatedCoverage(sp.csr_matrix(s) if sparse else s, alpha=0.02)
    state = f.new_state()
    for j in rng.choice(n, 5, replace=False):
        state.add(int(j))
    batch = state.gains(np.arange(n))
    some = rng.choice(n, 40, replace=False)
    assert np.array_equal(np.array([state.gains(np.array([j]))[0] for j in some]), batch[some])
    perm = rng.permutation(n)
    assert np.array_equal(state.gains(perm), batch[perm])


@pytest.mark.parametrize("kind, param", [("graph_cut", lam) for lam in (0.0, 0.25, 0.5, 0.8, 2.0)]
                         + [("saturated", alpha) for alpha in (0.05, 0.3, 1.5)] + [("sum_redundancy", None)])
def test_submodular_and_monotone_by_brute_force(kind, param):
    """Every A ⊆ B ⊆ V, j ∉ B of tiny random instances: f(A + j) - f(A) >= f(B + j) - f(B), and
    f(A) <= f(B) where f is monotone (graph cut: lam <= 1/2)."""
    rng = np.random.default_rng(int((param or 0.77) * 100))
    n = 5
    monotone = param in KINDS[kind][3]
    for _ in range(5):
        s = _symmetric(n, rng)
        f = build(kind, s, param)
        value = {S: f(list(S)) for r in range(n + 1) for S in itertools.combinations(range(n), r)}
        for B in value:
            for r in range(len(B) + 1):
                for A in itertools.combinations(B, r):
                    if monotone:
                        assert value[A] <= value[B] + 1e-12
                    for j in set(range(n)) - set(B):
                        gain_a = value[tuple(sorted(A + (j,)))] - value[A]
                        gain_b = value[tuple(sorted(B + (j,)))] - value[B]
                        assert gain_a >= gain_b - 1e-12


def test_graph_cut_above_one_half_is_not_monotone_and_greedy_stops():
    f = GraphCut(np.ones((3, 3)), lam=1.0)  # f({0}) = 3 - 1, f({0, 1}) = 6 - 4, f(V) = 9 - 9
    assert [f([0]), f([0, 1]), f([0, 1, 2])] == [2.0, 2.0, 0.0]
    res = mo.greedy(f, 3)
    assert res.indices.tolist() == [0, 1] and res.stop_reason == "no_positive_gain"


@pytest.mark.parametrize("kind, param", [("graph_cut", 0.3), ("saturated", 0.1), ("sum_redundancy", None)])
def test_from_features_uses_similarity_matrix(kind, param):
    X = np.random.default_rng(4).standard_normal((30, 3))
    cls, reference = KINDS[kind][:2]
    for metric in ("cosine", "euclidean"):
        f = cls.from_features(X, metric) if param is None else cls.from_features(X, metric, param)
        s = mo.similarity_matrix(X, metric)
        assert f([2, 7, 11]) == pytest.approx(reference(s, param, [2, 7, 11]), rel=1e-12)
        assert mo.greedy(f, 6).indices.tolist() == mo.greedy(build(kind, s, param), 6).indices.tolist()


@pytest.mark.parametrize("lam", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("sparse", [False, True])
def test_graph_cut_selects_what_apricot_selects(lam, sparse):
    """apricot's GraphCutSelection(alpha) is f / lam with alpha = 1 / lam: the same naive greedy."""
    apricot = pytest.importorskip("apricot", reason="apricot-select (extra 'bench') is the reference")
    rng = np.random.default_rng(int(lam * 10) + sparse)
    s = mo.similarity_matrix(rng.standard_normal((60, 5)))
    ours = GraphCut(sp.csr_matrix(s) if sparse else s, lam=lam)
    theirs = apricot.GraphCutSelection(10, metric="precomputed", alpha=1 / lam, optimizer="naive").fit(s)
    res = mo.greedy(ours, 10)
    assert res.indices.tolist() == theirs.ranking.tolist()
    np.testing.assert_allclose(np.diff(res.history, prepend=0.0), lam * theirs.gains, rtol=1e-9)


@pytest.mark.parametrize("alpha", [0.02, 0.1, 0.3])
@pytest.mark.parametrize("sparse", [False, True])
def test_saturated_coverage_selects_what_apricot_selects(alpha, sparse):
    apricot = pytest.importorskip("apricot", reason="apricot-select (extra 'bench') is the reference")
    rng = np.random.default_rng(int(alpha * 100) + sparse)
    s = mo.similarity_matrix(rng.standard_normal((60, 5)))
    ours = SaturatedCoverage(sp.csr_matrix(s) if sparse else s, alpha=alpha)
    theirs = apricot.SaturatedCoverageSelection(10, metric="precomputed", alpha=alpha, optimizer="naive").fit(s)
    res = mo.greedy(ours, 10)
    assert res.indices.tolist() == theirs.ranking.tolist()
    np.testing.assert_allclose(np.diff(res.history, prepend=0.0), theirs.gains, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("sparse", [False, True])
def test_sum_redundancy_selects_what_apricot_selects(sparse):
    """apricot's gains are ours minus the offset M (its function is not normalised: g(empty) =
    sum of s over V x V, every gain <= 0). A random diagonal: with a constant one (cosine
    similarities) every first gain ties, and apricot breaks ties differently."""
    apricot = pytest.importorskip("apricot", reason="apricot-select (extra 'bench') is the reference")
    rng = np.random.default_rng(11 + sparse)
    s = _symmetric(60, rng, density=0.5 if sparse else 1.0)
    ours = SumRedundancy(sp.csr_matrix(s) if sparse else s)
    theirs = apricot.SumRedundancySelection(10, metric="precomputed", optimizer="naive").fit(s)
    res = mo.greedy(ours, 10)
    assert res.indices.tolist() == theirs.ranking.tolist()
    np.testing.assert_allclose(np.diff(res.history, prepend=0.0) - ours.offset, theirs.gains, rtol=1e-9, atol=1e-9)


def test_saturated_coverage_saturates():
    """alpha >= 1 never saturates (modular: the sum of column sums); a small alpha caps every point."""
    s = _symmetric(6, np.random.default_rng(5))
    assert SaturatedCoverage(s, alpha=1.0)([1, 4]) == pytest.approx(s[:, [1, 4]].sum(), rel=1e-12)
    f = SaturatedCoverage(s, alpha=0.01)
    assert f([0, 1, 2]) == pytest.approx(f(range(6)), rel=1e-12) == pytest.approx(0.01 * s.sum(), rel=1e-12)


@pytest.mark.parametrize("cls", [GraphCut, SaturatedCoverage, SumRedundancy])
def test_empty_ground_set(cls):
    f = cls(np.zeros((0, 0)))
    assert f.n == 0 and f([]) == 0.0
    assert f.new_state().gains(np.array([], dtype=np.int64)).shape == (0,)


@pytest.mark.parametrize(
    "make, exc, match",
    [
        (lambda: GraphCut(np.array([[1.0, -0.1], [-0.1, 1.0]])), ValueError, r"similarity: entry \(0, 1\).*< 0"),
        (lambda: GraphCut(sp.csr_matrix(np.array([[1.0, -0.1], [-0.1, 1.0]]))), ValueError,
         r"similarity: stored entry.*< 0; graph cut"),
        (lambda: GraphCut(np.array([[1.0, np.nan], [np.nan, 1.0]])), ValueError, "similarity.*NaN"),
        (lambda: GraphCut(np.ones((2, 3))), ValueError, r"similarity: expected a square.*\(2, 3\)"),
        (lambda: GraphCut(np.ones(3)), ValueError, "similarity: expected a 2-D"),
        (lambda: GraphCut(np.array([[1.0, 0.2], [0.3, 1.0]])), ValueError,
         r"similarity: expected a symmetric matrix, but entry \(0, 1\) is 0.2 and \(1, 0\) is 0.3"),
        (lambda: GraphCut(sp.csr_matrix(np.array([[1.0, 0.2], [0.0, 1.0]]))), ValueError,
         "similarity: expected a symmetric"),
        (lambda: GraphCut(np.array([["a", "b"], ["b", "a"]])), TypeError, "similarity: expected a real numeric"),
        (lambda: GraphCut(np.eye(2), lam=-0.1), ValueError, "lam: expected a finite number >= 0"),
        (lambda: GraphCut(np.eye(2), lam=float("nan")), ValueError, "lam: expected a finite"),
        (lambda: GraphCut(np.eye(2), lam="0.5"), TypeError, "lam: expected a real number"),
        (lambda: GraphCut.from_features(np.ones((3, 2)), metric="manhattan"), ValueError, "metric"),
        (lambda: SaturatedCoverage(np.array([[1.0, -0.1], [-0.1, 1.0]])), ValueError,
         r"similarity: entry \(0, 1\).*< 0; saturated coverage"),
        (lambda: SaturatedCoverage(sp.csr_matrix(np.array([[1.0, -0.1], [-0.1, 1.0]]))), ValueError,
         r"similarity: stored entry.*< 0; saturated coverage"),
        (lambda: SaturatedCoverage(np.array([[1.0, np.inf], [np.inf, 1.0]])), ValueError, "similarity.*NaN or Inf"),
        (lambda: SaturatedCoverage(np.ones((3, 2))), ValueError, "similarity: expected a square"),
        (lambda: SaturatedCoverage(np.array([[1.0, 0.2], [0.3, 1.0]])), ValueError, "similarity: expected a symmetric"),
        (lambda: SaturatedCoverage(np.eye(2), alpha=0.0), ValueError, "alpha: expected a finite number > 0"),
        (lambda: SaturatedCoverage(np.eye(2), alpha=float("inf")), ValueError, "alpha: expected a finite"),
        (lambda: SaturatedCoverage(np.eye(2), alpha=None), TypeError, "alpha: expected a real number"),
        (lambda: SaturatedCoverage.from_features(np.ones((3, 2)), metric="l1"), ValueError, "metric"),
        (lambda: SumRedundancy(np.array([[1.0, -0.1], [-0.1, 1.0]])), ValueError,
         r"similarity: entry \(0, 1\).*< 0; sum redundancy"),
        (lambda: SumRedundancy(sp.csc_matrix(np.array([[1.0, -0.1], [-0.1, 1.0]]))), ValueError,
         r"similarity: stored entry.*< 0; sum redundancy"),
        (lambda: SumRedundancy(np.array([[np.nan, 0.0], [0.0, 1.0]])), ValueError, "similarity.*NaN"),
        (lambda: SumRedundancy(np.ones((1, 2))), ValueError, "similarity: expected a square"),
        (lambda: SumRedundancy(sp.csr_matrix(np.array([[0.0, 1.0], [0.0, 0.0]]))), ValueError,
         "similarity: expected a symmetric"),
        (lambda: SumRedundancy.from_features(np.ones((3, 2)), metric="l1"), ValueError, "metric"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


@pytest.mark.parametrize("n", [0, 1, 2, 63, 64, 65, 130, 200])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_check_sums_bitwise_and_finds_every_bad_entry(n, dtype):
    """symmetric_nonnegative_column_sums: dense_column_sums bitwise, and False for one asymmetric
    entry, or a symmetric pair that is negative, NaN or infinite, anywhere (inside a tile, across
    tiles, on the diagonal)."""
    from matroidomp.kernels.pairwise_gains import dense_column_sums, symmetric_nonnegative_column_sums

    rng = np.random.default_rng(n)
    s = _symmetric(n, rng).astype(dtype)
    r = np.zeros(n)
    assert symmetric_nonnegative_column_sums(s, r)
    assert np.array_equal(r, dense_column_sums(s))
    for i, j in {(0, n - 1), (n - 1, 0), (n // 2, n // 3), (n - 1, n - 1)} if n else ():
        for value in (-0.5, np.nan, np.inf):
            bad = s.copy()
            bad[i, j] = bad[j, i] = value
            assert not symmetric_nonnegative_column_sums(bad, np.zeros(n)), (i, j, value)
        if i != j:
            bad = s.copy()
            bad[i, j] += 1
            assert not symmetric_nonnegative_column_sums(bad, np.zeros(n)), (i, j)


def test_greedy_default_runs_naive_for_o1_gain_functions_and_lazy_otherwise():
    """lazy=None reads f.lazy_greedy_pays: naive for graph cut, sum redundancy, log-determinant and
    mixtures of only these (the same selection, fewer Python steps); lazy for the others."""
    rng = np.random.default_rng(9)
    s = _symmetric(60, rng)
    X = rng.standard_normal((60, 5))
    fl = mo.FacilityLocation(s)
    naive_kind = [GraphCut(s, 0.3), SumRedundancy(s), mo.LogDeterminant.from_features(X),
                  mo.Mixture([GraphCut(s, 0.3), SumRedundancy(s)])]
    for f in naive_kind:
        default, naive = mo.greedy(f, 8), mo.greedy(f, 8, lazy=False)
        assert not f.lazy_greedy_pays
        assert default.indices.tolist() == naive.indices.tolist() == mo.greedy(f, 8, lazy=True).indices.tolist()
        assert default.info["gain_evaluations"] == naive.info["gain_evaluations"]
    for f in (fl, mo.Mixture([fl, GraphCut(s, 0.3)]), mo.SaturatedCoverage(s)):
        assert f.lazy_greedy_pays
        assert mo.greedy(f, 8).info["gain_evaluations"] == mo.greedy(f, 8, lazy=True).info["gain_evaluations"]
    with pytest.raises(TypeError, match="lazy: expected True, False or None"):
        mo.greedy(fl, 3, lazy="yes")
