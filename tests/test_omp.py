"""OMP: differential tests against scikit-learn and the exact utility, and solver invariants."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import orthogonal_mp_gram

import matroidomp as mo
from conftest import random_instance

seeds = st.integers(0, 2**32 - 1)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(5, 60), d=st.integers(5, 50), k=st.integers(1, 12), seed=seeds)
def test_unconstrained_omp_equals_sklearn(n, d, k, seed):
    rng = np.random.default_rng(seed)
    k = min(k, n, d)
    X = rng.standard_normal((d, n))  # sklearn's dictionary: columns are atoms
    y = rng.standard_normal(d)
    gram, xy = X.T @ X, X.T @ y
    ref = orthogonal_mp_gram(gram, xy, n_nonzero_coefs=k)
    ours = mo.omp_gram(gram, xy, mo.PartitionMatroid.cardinality(n, k), nonneg=False)
    coef = np.zeros(n)
    coef[ours.indices] = ours.weights
    np.testing.assert_array_equal(np.flatnonzero(coef), np.flatnonzero(ref))
    np.testing.assert_allclose(coef, ref, rtol=1e-7, atol=1e-9)
    # and the d-space path selects the same atoms in the same order
    dspace = mo.omp(X.T, y, mo.PartitionMatroid.cardinality(n, k), nonneg=False, precompute=False)
    np.testing.assert_array_equal(dspace.indices, ours.indices)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 50), d=st.integers(2, 40), doms=st.integers(1, 4), k=st.integers(1, 15), seed=seeds,
       lam=st.sampled_from([0.0, 0.01, 1.0]), nonneg=st.booleans(), randomized=st.booleans(),
       fill=st.booleans())
def test_paths_agree_and_invariants_hold(n, d, doms, k, seed, lam, nonneg, randomized, fill):
    rng = np.random.default_rng(seed)
    G, b, labels, matroid = random_instance(rng, n, d, doms, min(k, n))
    kw = dict(lam=lam, nonneg=nonneg, randomized=randomized, seed=seed, on_no_gain="fill" if fill else "stop")
    gram = mo.omp(G, b, matroid, precompute=True, **kw)
    dspace = mo.omp(G, b, matroid, precompute=False, **kw)
    np.testing.assert_array_equal(gram.indices, dspace.indices)
    np.testing.assert_allclose(gram.weights, dspace.weights, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gram.history, dspace.history, rtol=1e-9, atol=1e-12)

    res = gram
    assert matroid.is_independent(res.indices)
    assert res.indices.dtype == np.int64 and res.weights.shape == res.indices.shape
    if nonneg:
        assert np.all(res.weights >= 0)
    assert np.all(np.diff(res.history) >= -1e-9 * max(1.0, abs(res.objective)))
    assert res.counts == matroid.count_dict(res.indices)
    if fill or res.stop_reason == "rank_reached":
        assert len(res) == matroid.rank or res.stop_reason == "linear_dependence"
    # the reported objective is the exact utility of the selection
    u = mo.QuadraticUtility.gradient_matching(G, b, lam, nonneg=nonneg)
    if res.stop_reason != "linear_dependence" and (nonneg or lam > 0):
        assert res.objective == pytest.approx(u.value(res.indices), rel=1e-7, abs=1e-10)
        # and the weights attain it
        w = res.weights
        Q = u.q_columns(res.indices)
        assert u.c[res.indices] @ w - 0.5 * w @ Q @ w == pytest.approx(res.objective, rel=1e-7, abs=1e-10)
    # same seed, same answer
    again = mo.omp(G, b, matroid, precompute=True, **kw)
    np.testing.assert_array_equal(again.indices, res.indices)


def test_ridge_form_objective_matches_least_squares_identity(rng):
    """2F(S) = ‖b‖² − min_w ‖G_Sᵀw − b‖² + λ‖w‖² for the GradMatch utility."""
    G, b, labels, matroid = random_instance(rng, 80, 30, 3, 12)
    lam = 0.3
    res = mo.omp(G, b, matroid, lam=lam)
    r = G[res.indices].T @ res.weights - b
    assert 2 * res.objective == pytest.approx(b @ b - r @ r - lam * res.weights @ res.weights, rel=1e-9)


def test_stop_versus_fill_when_nothing_correlates(rng):
    G = np.abs(rng.standard_normal((20, 6)))
    b = -np.ones(6)  # every correlation is negative: no element helps
    m = mo.PartitionMatroid.cardinality(20, 5)
    stopped = mo.omp(G, b, m)
    assert stopped.stop_reason == "no_positive_gain" and len(stopped) == 0 and stopped.objective == 0.0
    filled = mo.omp(G, b, m, on_no_gain="fill")
    assert len(filled) == 5 and np.all(filled.weights == 0) and filled.objective == 0.0
    # filled in order of decreasing correlation
    rho = G @ b
    np.testing.assert_array_equal(filled.indices, np.argsort(-rho, kind="stable")[:5])


def test_randomized_rule_draws_from_the_per_domain_shortlist(rng):
    """First pick of the randomized rule: uniform over each domain's top-k_d elements by ρ."""
    G, b, labels, matroid = random_instance(rng, 40, 10, 2, 6)
    c = G @ b
    shortlist = set()
    for d, k_d in zip(matroid.domains, matroid.budgets):
        members = np.flatnonzero(labels == d)
        shortlist |= set(members[np.argsort(-c[members], kind="stable")[:k_d]].tolist())
    firsts = {int(mo.omp(G, b, matroid, randomized=True, seed=s).indices[0]) for s in range(200)}
    assert firsts <= shortlist
    assert len(firsts) >= len(shortlist) - 1  # uniform over 6 items: all seen in 200 draws w.h.p.


def test_generator_seed_is_used_and_global_state_untouched(rng):
    G, b, labels, matroid = random_instance(rng, 60, 10, 3, 9)
    np.random.seed(0)
    before = np.random.random()
    np.random.seed(0)
    a = mo.omp(G, b, matroid, randomized=True, seed=np.random.default_rng(7))
    assert np.random.random() == before
    b2 = mo.omp(G, b, matroid, randomized=True, seed=7)
    np.testing.assert_array_equal(a.indices, b2.indices)


def test_block_diagonal_taylor_decouples_domains(rng):
    """IWD: with cross-domain coupling off, selection inside a domain ignores the others."""
    G, b, labels, matroid = random_instance(rng, 60, 12, 3, 9)
    anchors = rng.standard_normal((4, 12))
    u = mo.QuadraticUtility.taylor(G, anchors, 1e-2, domains=labels)
    res = mo.solve_omp(u, matroid)
    for d in matroid.domains:
        rows = np.flatnonzero(labels == d)
        sub = mo.QuadraticUtility.taylor(G[rows], anchors, 1e-2)
        k_d = int(matroid.budgets[matroid.domains.tolist().index(d)])
        sub_res = mo.solve_omp(sub, mo.PartitionMatroid.cardinality(rows.size, k_d))
        picked = [i for i in res.indices if labels[i] == d]
        assert sorted(picked) == sorted(rows[sub_res.indices].tolist())
    assert res.objective == pytest.approx(u.value(res.indices), rel=1e-9)


def test_partitionsel_uses_taylor_utility_and_exact_budgets(rng):
    G, b, labels, matroid = random_instance(rng, 128, 32, 4, 16, normalize=False)
    anchors = rng.standard_normal((4, 32))
    res = mo.partitionsel(G, labels, 16, anchors=anchors, lr=2e-4, randomized=False)
    assert len(res) == 16
    assert res.counts == mo.proportional_budgets(labels, 16)
    u = mo.QuadraticUtility.taylor(G, anchors, 2e-4)
    assert res.objective == pytest.approx(u.value(res.indices), rel=1e-6)
    # the authors' rule is the default; same seed, same selection
    r1 = mo.partitionsel(G, labels, 16, anchors=anchors, lr=2e-4, randomized=True, seed=3)
    r2 = mo.partitionsel(G, labels, 16, anchors=anchors, lr=2e-4, randomized=True, seed=3)
    np.testing.assert_array_equal(r1.indices, r2.indices)
    assert r1.counts == res.counts


def test_metrics(rng):
    G = np.array([[1.0, 0.0], [-1.0, 0.1], [0.0, 1.0], [-0.5, -0.5]])
    assert mo.conflicting_pairs(G, [0, 1, 2, 3]) == 3  # (0,1), (0,3), (2,3)
    assert mo.conflicting_pairs(G, [0, 2]) == 0
    assert mo.conflicting_pairs(G, []) == 0
    assert mo.domain_coverage(["a", "a", "b", "b"], [0, 2, 3]) == {"a": 0.5, "b": 1.0}
