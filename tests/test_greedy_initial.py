"""greedy and stochastic_greedy from an initial subset: contracted problem, lazy == naive, input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidomp as mo
from matroidomp import PartitionMatroid, greedy, stochastic_greedy
from matroidomp._result import STOP_RANK
from submodular_cases import KINDS, make_function, random_matroid, reference

FAST = settings(max_examples=120, deadline=None)
instances = dict(kind=st.sampled_from(KINDS), n=st.integers(1, 9), ties=st.booleans(),
                 seed=st.integers(0, 2**32 - 1))


def random_independent(matroid, rng):
    """A random independent set, in random order."""
    order = rng.permutation(matroid.n)
    counts = np.zeros(matroid.n_domains, dtype=np.int64)
    keep = []
    for j in order.tolist():
        d = matroid.codes[j]
        if counts[d] < matroid.budgets[d] and rng.random() < 0.5:
            counts[d] += 1
            keep.append(j)
    return keep


def reference_greedy(kind, data, matroid, initial):
    """Naive greedy on the contracted problem g(T) = f(A + T) - f(A), every value from the definition.

    Returns the elements added and whether some step had two gains within 1e-9 (a near tie,
    where floating-point rounding may legitimately pick either).
    """
    S = list(initial)
    counts = matroid.counts(np.asarray(S, dtype=np.int64)) if S else np.zeros(matroid.n_domains, dtype=np.int64)
    near_tie = False
    while len(S) < matroid.rank:
        base = reference(kind, data, S)
        cand = [j for j in range(matroid.n) if j not in S and counts[matroid.codes[j]] < matroid.budgets[matroid.codes[j]]]
        g = np.array([reference(kind, data, S + [j]) - base for j in cand])
        best = int(np.argmax(g))
        near_tie |= bool(np.sum(g >= g[best] - 1e-9) > 1)
        S.append(cand[best])
        counts[matroid.codes[cand[best]]] += 1
    return S[len(initial):], near_tie


@FAST
@given(**instances)
def test_greedy_from_initial_is_greedy_on_the_contracted_problem(kind, n, ties, seed):
    rng = np.random.default_rng(seed)
    f, data = make_function(kind, n, rng, ties=ties)
    matroid = random_matroid(n, rng)
    A = random_independent(matroid, rng)
    added, near_tie = reference_greedy(kind, data, matroid, A)
    # OPT of the contracted problem: the best basis containing A (f is monotone).
    opt = max(reference(kind, data, B) for B in matroid.bases() if set(A) <= set(B))
    fA = reference(kind, data, A)
    for lazy in (True, False):
        res = greedy(f, matroid, initial=A, lazy=lazy)
        assert res.indices[:len(A)].tolist() == A
        assert matroid.is_independent(res.indices) and len(res.indices) == matroid.rank
        assert res.stop_reason == STOP_RANK
        assert res.objective == pytest.approx(reference(kind, data, res.indices), rel=1e-9, abs=1e-12)
        assert res.history.tolist() == pytest.approx(
            [reference(kind, data, res.indices[:t + 1]) for t in range(len(res.indices))], rel=1e-9, abs=1e-12)
        # Fisher et al.'s 1/2 on the contracted problem (a partition matroid with budgets k_d - |A ∩ d|).
        assert res.objective - fA >= 0.5 * (opt - fA) - 1e-9 * max(1.0, abs(opt))
        if not near_tie:
            assert res.indices[len(A):].tolist() == added


@FAST
@given(**instances)
def test_lazy_selects_exactly_what_naive_selects_from_an_initial_set(kind, n, ties, seed):
    rng = np.random.default_rng(seed)
    f, _ = make_function(kind, n, rng, ties=ties)
    matroid = random_matroid(n, rng)
    A = random_independent(matroid, rng)
    lazy, naive = greedy(f, matroid, initial=A), greedy(f, matroid, initial=A, lazy=False)
    assert lazy.indices.tolist() == naive.indices.tolist()
    assert lazy.history.tolist() == naive.history.tolist()


def test_initial_counts_against_the_budgets_and_the_callback_counts_from_it():
    X = np.random.default_rng(0).random((30, 4))
    f = mo.FacilityLocation.from_features(X)
    m = PartitionMatroid(np.arange(30) % 3, {0: 2, 1: 2, 2: 2})
    steps = []
    res = greedy(f, m, initial=[0, 3], callback=lambda step, index, objective: steps.append(step) is None)
    assert res.indices[:2].tolist() == [0, 3] and res.counts == {0: 2, 1: 2, 2: 2}
    assert steps == [3, 4, 5, 6]  # step = |S|, counted from the initial set
    assert res.info["gain_evaluations"] == greedy(f, m, initial=np.array([0, 3]), lazy=True).info["gain_evaluations"]
    full = greedy(f, m, initial=[0, 3, 1, 4, 2, 5])  # a basis already: nothing to add
    assert full.indices.tolist() == [0, 3, 1, 4, 2, 5] and full.stop_reason == STOP_RANK
    assert full.info["gain_evaluations"] == 0
    assert greedy(f, m, initial=[]).indices.tolist() == greedy(f, m).indices.tolist()


def test_stochastic_greedy_starts_from_the_initial_set():
    X = np.random.default_rng(1).random((80, 6))
    f = mo.FeatureBased(X)
    m = PartitionMatroid(np.arange(80) % 2, {0: 4, 1: 3})
    res = stochastic_greedy(f, m, initial=[6, 1], seed=3)
    assert res.indices[:2].tolist() == [6, 1] and m.is_independent(res.indices) and len(res) == m.rank
    assert res.indices.tolist() == stochastic_greedy(f, m, initial=[6, 1], seed=3).indices.tolist()
    # Sampling everything is greedy, from the same initial set.
    assert stochastic_greedy(f, m, initial=[6, 1], epsilon=1e-9, seed=0).indices.tolist() == \
        greedy(f, m, initial=[6, 1]).indices.tolist()


def test_initial_selection_matches_apricot_initial_subset():
    apricot = pytest.importorskip("apricot", reason="apricot-select (extra 'bench') is the reference")
    s = mo.similarity_matrix(np.random.default_rng(5).standard_normal((50, 4)))
    A = [7, 19, 3]
    theirs = apricot.FacilityLocationSelection(8, metric="precomputed", optimizer="naive", initial_subset=A).fit(s)
    res = greedy(mo.FacilityLocation(s), 8 + len(A), initial=A)
    assert res.indices[len(A):].tolist() == theirs.ranking.tolist()
    np.testing.assert_allclose(np.diff(res.history)[len(A) - 1:], theirs.gains, rtol=1e-9)


@pytest.mark.parametrize("solver", [greedy, stochastic_greedy])
def test_bad_initial_sets_are_rejected(solver):
    f = mo.FeatureBased(np.random.default_rng(2).random((6, 3)))
    m = PartitionMatroid(["a", "a", "a", "b", "b", "b"], {"a": 1, "b": 2})
    with pytest.raises(ValueError, match="initial: index 6 is out of range"):
        solver(f, m, initial=[0, 6])
    with pytest.raises(ValueError, match="initial: index -1 is out of range"):
        solver(f, m, initial=[-1])
    with pytest.raises(ValueError, match="initial: index 3 appears more than once"):
        solver(f, m, initial=[3, 3])
    with pytest.raises(ValueError, match="domain 'a' exceed its budget of 1; the initial set is infeasible"):
        solver(f, m, initial=[0, 1])
    with pytest.raises(ValueError, match="initial: .*domain 0 exceed its budget of 2"):
        solver(f, 2, initial=[0, 1, 2])
    with pytest.raises(TypeError, match="initial: expected integer indices"):
        solver(f, m, initial=[0.0, 3.0])
    with pytest.raises(TypeError, match="initial: expected integer indices"):
        solver(f, m, initial=[True, False])
    with pytest.raises(ValueError, match="initial: expected a 1-D"):
        solver(f, m, initial=[[0, 3]])
