"""Mixture: weighted sums of set functions — values, gains, laws, greedy, apricot, input checks."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidomp as mo
from matroidomp._mixture import Mixture
from submodular_cases import random_matroid

FAST = settings(max_examples=50, deadline=None)


def _parts(n, rng, *, ties=False):
    """Four functions over n elements and their from-scratch references f(S)."""
    s = rng.integers(0, 4, (n, n)).astype(float) if ties else rng.random((n, n))
    s = np.triu(s) + np.triu(s, 1).T
    X = rng.integers(0, 3, (n, 4)).astype(float) if ties else rng.random((n, 4))
    lam, alpha = 0.4, 0.2
    functions = [mo.FacilityLocation(s), mo.FeatureBased(X), mo.GraphCut(s, lam), mo.SaturatedCoverage(s, alpha)]
    references = [
        lambda S: float(s[:, S].max(axis=1).sum()) if S else 0.0,
        lambda S: float(np.sqrt(X[S].sum(axis=0)).sum()),
        lambda S: float(s[:, S].sum() - lam * s[np.ix_(S, S)].sum()),
        lambda S: float(np.minimum(s[:, S].sum(axis=1), alpha * s.sum(axis=1)).sum()),
    ]
    return functions, references


def _weights(rng, k, ties):
    w = rng.integers(0, 3, k).astype(float) if ties else rng.random(k) * 2
    w[rng.integers(0, k)] = 0.0 if rng.random() < 0.3 else w[0]  # a zero weight now and then
    return w


@FAST
@given(n=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_values_and_gains_are_the_weighted_sums(n, seed):
    rng = np.random.default_rng(seed)
    functions, references = _parts(n, rng)
    w = _weights(rng, 4, False)
    f = Mixture(functions, w)

    def reference(S):
        return sum(wk * ref(list(S)) for wk, ref in zip(w, references))

    state, S, everyone = f.new_state(), [], np.arange(n)
    for j in rng.permutation(n)[: int(rng.integers(0, n + 1))]:
        base = reference(S)
        assert state.value == pytest.approx(base, rel=1e-9, abs=1e-9)
        np.testing.assert_allclose(state.gains(everyone), [reference(S + [c]) - base for c in everyone],
                                   rtol=1e-9, atol=1e-9)
        state.add(int(j))
        S.append(int(j))
    assert f(S) == pytest.approx(reference(S), rel=1e-9, abs=1e-9)


@FAST
@given(n=st.integers(1, 12), ties=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_computed_gains_never_increase_and_lazy_equals_naive(n, ties, seed):
    rng = np.random.default_rng(seed)
    functions, _ = _parts(n, rng, ties=ties)
    f = Mixture(functions, _weights(rng, 4, ties))
    state, everyone = f.new_state(), np.arange(n)
    previous = state.gains(everyone)
    for j in rng.permutation(n):
        state.add(int(j))
        current = state.gains(everyone)
        assert np.all(current <= previous)
        previous = current
    matroid = random_matroid(n, rng)
    lazy, naive = mo.greedy(f, matroid, lazy=True), mo.greedy(f, matroid, lazy=False)
    assert lazy.indices.tolist() == naive.indices.tolist()
    assert np.array_equal(lazy.history, naive.history)


def test_monotone_submodular_parts_give_a_monotone_submodular_mixture_by_brute_force():
    rng = np.random.default_rng(1)
    n = 5
    for _ in range(4):
        functions, _ = _parts(n, rng)
        f = Mixture(functions, rng.random(4))
        value = {S: f(list(S)) for r in range(n + 1) for S in itertools.combinations(range(n), r)}
        for B in value:
            for r in range(len(B) + 1):
                for A in itertools.combinations(B, r):
                    assert value[A] <= value[B] + 1e-12
                    for j in set(range(n)) - set(B):
                        gain_a = value[tuple(sorted(A + (j,)))] - value[A]
                        gain_b = value[tuple(sorted(B + (j,)))] - value[B]
                        assert gain_a >= gain_b - 1e-12


def test_any_set_function_mixes_and_default_weights_are_ones():
    v = np.array([3.0, 1.0, 2.0])
    modular = mo.CallableSetFunction(lambda S: float(v[list(S)].sum()), 3)
    cover = mo.Coverage(np.array([[1, 0, 1], [0, 1, 0]]))
    f = Mixture([modular, cover])
    assert f([0, 1]) == 4.0 + 2.0 and f([2]) == 2.0 + 1.0
    assert f.weights.tolist() == [1.0, 1.0]
    assert mo.greedy(f, 2).indices.tolist() == mo.greedy(f, 2, lazy=False).indices.tolist() == [0, 1]


@pytest.mark.parametrize("lam, alpha", [(0.3, 0.1), (0.5, 0.05)])
def test_mixture_selects_what_apricot_selects(lam, alpha):
    """apricot's MixtureSelection with its graph cut weighted by lam (its graph cut is ours / lam)."""
    apricot = pytest.importorskip("apricot", reason="apricot-select (extra 'bench') is the reference")
    rng = np.random.default_rng(int(lam * 10))
    s = mo.similarity_matrix(rng.standard_normal((60, 5)))
    w = np.array([1.0, 0.3, 2.0])
    ours = Mixture([mo.FacilityLocation(s), mo.GraphCut(s, lam), mo.SaturatedCoverage(s, alpha)], w)
    parts = [apricot.FacilityLocationSelection(10, metric="precomputed"),
             apricot.GraphCutSelection(10, metric="precomputed", alpha=1 / lam),
             apricot.SaturatedCoverageSelection(10, metric="precomputed", alpha=alpha)]
    # an ndarray: apricot 0.6.1 calls numpy.array(weights, copy=False), which numpy 2 refuses for a list
    theirs = apricot.MixtureSelection(10, parts, weights=w * np.array([1.0, lam, 1.0]), optimizer="naive").fit(s)
    res = mo.greedy(ours, 10)
    assert res.indices.tolist() == theirs.ranking.tolist()
    np.testing.assert_allclose(np.diff(res.history, prepend=0.0), theirs.gains, rtol=1e-9)


_FL3 = mo.FacilityLocation(np.eye(3))


@pytest.mark.parametrize(
    "make, exc, match",
    [
        (lambda: Mixture([_FL3, mo.GraphCut(np.eye(4))]), ValueError,
         "functions: function 1 has a ground set of 4 elements but function 0 has 3"),
        (lambda: Mixture([_FL3, _FL3], weights=[1.0, -0.5]), ValueError, r"weights: entry 1 is -0.5 < 0"),
        (lambda: Mixture([_FL3, _FL3], weights=[1.0, np.nan]), ValueError, "weights: entry 1 is not finite"),
        (lambda: Mixture([_FL3, _FL3], weights=[1.0]), ValueError, r"weights: length 1 does not match the number of functions \(2\)"),
        (lambda: Mixture([_FL3, _FL3], weights=[["a", "b"]]), TypeError, "weights: expected a real numeric"),
        (lambda: Mixture([_FL3, lambda S: 1.0]), TypeError, "functions: function 1 is a function, not a SetFunction"),
        (lambda: Mixture([]), ValueError, "functions: expected at least one"),
        (lambda: Mixture(_FL3), TypeError, "functions: expected a sequence of SetFunction"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(make, exc, match):
    with pytest.raises(exc, match=match):
        make()
