"""Approximation guarantees of OMP and residual random greedy against brute force.

Instances are small enough (n ≤ 8) to enumerate every basis for OPT and every set pair for the
exact submodularity ratios; the bounds are those proven in matroidomp.bounds.
"""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidomp as mo
from matroidomp import bounds

REL = 1e-9


def instance(seed, n, d, n_domains, k, lam, nonneg):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, d))
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    b = rng.standard_normal(d)
    labels = rng.integers(0, n_domains, n)
    matroid = mo.PartitionMatroid(labels, mo.proportional_budgets(labels, k))
    return G, b, matroid, mo.QuadraticUtility.gradient_matching(G, b, lam, nonneg=nonneg)


params = dict(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(3, 8),
    d=st.integers(2, 8),
    n_domains=st.integers(1, 3),
    k=st.integers(1, 3),
    lam=st.sampled_from([0.05, 0.5, 2.0]),
    nonneg=st.booleans(),
)


def brute_force(u, matroid):
    """(rank r, OPT, f on every set of size ≤ 2r, α_r) of a small instance."""
    r = matroid.rank
    opt, _ = bounds.brute_force_opt(u, matroid)
    return r, opt, bounds.subset_values(u, u.n, 2 * r), bounds.restricted_eigenvalue_ratio(u, r)


@settings(max_examples=25, deadline=None)
@given(**params)
def test_omp_meets_its_matroid_guarantee(seed, n, d, n_domains, k, lam, nonneg):
    G, b, matroid, u = instance(seed, n, d, n_domains, k, lam, nonneg)
    r, opt, values, alpha = brute_force(u, matroid)
    gamma_dr = bounds.diminishing_returns_ratio(u, n, r, values=values)
    guarantee = bounds.omp_matroid_guarantee(alpha, gamma_dr, r)
    assert 0 < guarantee <= 1
    res = mo.omp(G, b, matroid, lam=lam, nonneg=nonneg)
    assert res.objective >= guarantee * opt - REL * max(1.0, opt)
    assert res.objective <= opt + REL * max(1.0, opt)


@settings(max_examples=25, deadline=None)
@given(**params)
def test_omp_meets_its_cardinality_guarantee(seed, n, d, n_domains, k, lam, nonneg):
    G, b, _, u = instance(seed, n, d, 1, k, lam, nonneg)
    k = min(k, n)
    matroid = mo.PartitionMatroid.cardinality(n, k)
    opt, _ = bounds.brute_force_opt(u, matroid)
    alpha_2k = bounds.restricted_eigenvalue_ratio(u, 2 * k)
    res = mo.omp(G, b, matroid, lam=lam, nonneg=nonneg)
    assert res.objective >= bounds.omp_cardinality_guarantee(alpha_2k) * opt - REL * max(1.0, opt)


@settings(max_examples=15, deadline=None)
@given(**{name: strategy for name, strategy in params.items() if name != "nonneg"})
def test_residual_random_greedy_meets_its_guarantee_in_expectation(seed, n, d, n_domains, k, lam):
    G, b, matroid, u = instance(seed, n, d, n_domains, k, lam, nonneg=True)
    r, opt, values, alpha = brute_force(u, matroid)
    gamma = bounds.submodularity_ratio(u, n, r, values=values)
    guarantee = bounds.residual_random_greedy_guarantee(alpha, gamma)
    n_seeds, delta = 200, 1e-6
    rng = np.random.default_rng(seed)
    outcomes = [mo.omp(G, b, matroid, lam=lam, randomized=True, seed=rng).objective for _ in range(n_seeds)]
    # Hoeffding: outcomes lie in [0, OPT], so P(mean < E − t) ≤ exp(−2Nt²/OPT²) = delta
    t = opt * math.sqrt(math.log(1 / delta) / (2 * n_seeds))
    assert np.mean(outcomes) >= guarantee * opt - t - REL * max(1.0, opt)
    assert max(outcomes) <= opt + REL * max(1.0, opt)


def test_ratios_are_one_for_a_modular_function():
    """Orthogonal gradients make F modular: γ = γ_DR = α = 1 and OMP is optimal."""
    G = np.eye(5)
    b = np.array([3.0, 1.0, 2.0, 5.0, 4.0])
    u = mo.QuadraticUtility.gradient_matching(G, b, 0.0)
    values = bounds.subset_values(u, 5, 4)
    assert bounds.submodularity_ratio(u, 5, 2, values=values) == 1.0
    assert bounds.diminishing_returns_ratio(u, 5, 2, values=values) == 1.0
    assert bounds.restricted_eigenvalue_ratio(u, 2) == 1.0
    labels = [0, 0, 1, 1, 1]
    m = mo.PartitionMatroid(labels, {0: 1, 1: 1})
    opt, arg = bounds.brute_force_opt(u, m)
    res = mo.omp(G, b, m)
    assert res.objective == opt and sorted(res.indices) == sorted(arg)


def test_correlated_gradients_have_ratio_below_one():
    rng = np.random.default_rng(0)
    G = rng.standard_normal((6, 3))
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    u = mo.QuadraticUtility.gradient_matching(G, rng.standard_normal(3), 0.1)
    assert bounds.restricted_eigenvalue_ratio(u, 3) < 1.0
    assert bounds.submodularity_ratio(u, 6, 3) <= 1.0
