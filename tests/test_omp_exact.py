"""OMP and partitionsel report F of the set they return, on every utility, with n > d.

With more candidates than dimensions the selected gradients become linearly dependent and, for
the Taylor utility, 0 can enter their conic hull (F unbounded). Whatever happens, the reported
``objective`` and ``history`` are F of the returned sets (checked against an independent brute
force, tests/nnqp_reference.py), the weights attain it, and every element skipped as
unbounded makes F of the final set plus it unbounded or beyond the solver's horizon.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidomp as mo
from matroidomp._omp import HORIZON
from nnqp_reference import brute_force_nnqp

UTILITIES = ("taylor", "taylor-unnormalised", "gradmatch", "gradmatch-ridge", "iwd")


def _utility(kind, G, b, labels, lr=0.5):
    if kind == "taylor":
        return mo.QuadraticUtility.taylor(G, b, lr)
    if kind == "taylor-unnormalised":
        return mo.QuadraticUtility.taylor(G, b, lr, normalize=False)
    if kind == "iwd":
        return mo.QuadraticUtility.taylor(G, b, lr, domains=labels)
    return mo.QuadraticUtility.gradient_matching(G, b, 0.3 if kind == "gradmatch-ridge" else 0.0)


def _exact(u, S):
    S = np.asarray(S, dtype=np.int64)
    if S.size == 0:
        return 0.0
    return brute_force_nnqp(u.q_columns(S), u.c[S])[0]


def _horizon(u):
    root = np.sqrt(u.diagonal())
    live = root > 0
    return HORIZON * float(np.max(np.maximum(u.c[live], 0) / root[live], initial=0.0)) ** 2 / 2


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(4, 9), d=st.integers(1, 3), k=st.integers(2, 7),
       kind=st.sampled_from(UTILITIES), randomized=st.booleans(), precompute=st.booleans(),
       dtype=st.sampled_from([np.float64, np.float32]), duplicate=st.booleans())
def test_reported_objective_is_f_of_the_returned_set(seed, n, d, k, kind, randomized, precompute, dtype, duplicate):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, d))
    if duplicate:  # duplicated and antipodal rows are ordinary input
        G[1], G[2] = G[0], -G[0]
    G = G.astype(dtype)
    b = rng.standard_normal(d)
    labels = rng.integers(0, 2, n)
    k = min(k, n)
    matroid = mo.PartitionMatroid(labels, mo.proportional_budgets(labels, k))
    u = _utility(kind, G, b, labels)
    res = mo.solve_omp(u, matroid, randomized=randomized, seed=seed, on_no_gain="fill", precompute=precompute)
    assert matroid.is_independent(res.indices) and np.all(res.weights >= 0)
    exact = [_exact(u, res.indices[: t + 1]) for t in range(len(res))]
    assert np.all(np.isfinite(exact))
    rel = 1e-9 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(res.history, exact, rtol=rel, atol=rel * max(1.0, abs(res.objective)))
    assert res.objective == pytest.approx(exact[-1] if exact else 0.0, rel=rel, abs=rel)
    w, S = res.weights, res.indices
    assert u.c[S] @ w - 0.5 * w @ u.q_columns(S) @ w == pytest.approx(res.objective, rel=rel, abs=rel)
    # a skipped element makes every later set unbounded (or beyond the horizon): F is monotone
    for j in res.info["skipped_unbounded"]:
        assert _exact(u, np.append(S, j)) > _horizon(u) * (1 - 1e-6)
    filled = len(res) == matroid.rank
    assert filled or res.stop_reason == "only_unbounded_left"


def test_partitionsel_reproducers_of_the_issue():
    """±e1, ±e2 with anchor (1, 1): {e1, −e1} puts 0 in the conic hull, so after e1 and e2 the
    antipodes are skipped (before: objective 0.573, 'rank_reached', sup +∞)."""
    G = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    for randomized in (False, True):
        res = mo.partitionsel(G, [0, 0, 0, 0], 4, anchors=[[1.0, 1]], lr=0.1, randomized=randomized, seed=0)
        assert res.stop_reason == "only_unbounded_left" and res.info["n_skipped_unbounded"] == 2
        S = sorted(res.indices.tolist())
        assert S == [0, 2] if not randomized else (S[0] in (0, 1) and S[1] in (2, 3))  # one of ±e1, one of ±e2
        assert res.objective == pytest.approx(mo.QuadraticUtility.taylor(G, [[1.0, 1]], 0.1).value(S))
    # 8 unit gradients in R³, two domains, budgets 2 + 2: the objective is F(S) (before: 46 of 60 not)
    for seed in range(60):
        rng = np.random.default_rng(seed)
        G = rng.standard_normal((8, 3))
        anchors = rng.standard_normal((2, 3))
        res = mo.partitionsel(G, np.repeat([0, 1], 4), 4, anchors=anchors, lr=0.5, budgets={0: 2, 1: 2},
                              seed=seed)
        assert res.objective == pytest.approx(mo.QuadraticUtility.taylor(G, anchors, 0.5).value(res.indices),
                                              rel=1e-9)


def test_many_more_examples_than_dimensions_keep_weights_bounded():
    """k = n = 2000 in d = 16 (before: weights ~1e10 and an F that was not F(S)): the run stops
    once every example left would make F unbounded; F(S) is exact and below the horizon."""
    rng = np.random.default_rng(0)
    G = rng.standard_normal((2000, 16)).astype(np.float32)
    anchors = rng.standard_normal((2, 16))
    res = mo.partitionsel(G, np.zeros(2000, dtype=np.int64), 2000, anchors=anchors, lr=0.1, seed=0)
    u = mo.QuadraticUtility.taylor(G, anchors, 0.1)
    assert res.stop_reason == "only_unbounded_left" and 16 < len(res) < 2000
    assert res.info["n_skipped_unbounded"] + len(res) == 2000
    assert res.objective == pytest.approx(u.value(res.indices), rel=1e-6)
    assert res.objective <= _horizon(u)


@pytest.mark.parametrize("dtype, scale", [(np.float32, 1e5), (np.float64, 1e6)])
@pytest.mark.parametrize("precompute", [True, False])
def test_one_huge_row_does_not_stop_omp_early(dtype, scale, precompute):
    """Tolerances are per column: a gradient 10⁵× (10⁶×) larger than the rest no longer makes every
    other correlation look like zero (before: a false 'no_positive_gain' after one pick)."""
    rng = np.random.default_rng(0)
    G = rng.standard_normal((30, 8))
    b = rng.standard_normal(8)
    G[3] *= scale
    G = G.astype(dtype)
    matroid = mo.PartitionMatroid.cardinality(30, 5)
    res = mo.omp(G, b, matroid, precompute=precompute)
    assert res.stop_reason == "rank_reached" and len(res) == 5
    exact = mo.QuadraticUtility.gradient_matching(G.astype(np.float64), b).value(res.indices)
    assert res.objective == pytest.approx(exact, rel=1e-6 if dtype == np.float32 else 1e-12)


def test_indefinite_gram_is_refused():
    K = np.array([[1, -0.6, -0.6], [-0.6, 1, -0.6], [-0.6, -0.6, 1]])  # eigenvalue −0.2
    with pytest.raises(ValueError, match="K: matrix is not positive semi-definite"):
        mo.omp_gram(K, np.ones(3), mo.PartitionMatroid.cardinality(3, 3))
    with pytest.raises(ValueError, match="K: matrix is not positive semi-definite"):
        mo.QuadraticUtility.from_gram(K, np.ones(3))
    with pytest.raises(ValueError, match="Q: matrix is not positive semi-definite"):
        mo.nnqp(K, np.ones(3))


@pytest.mark.parametrize("shape", [(40, 6, 12), (60, 8, 20), (30, 3, 10)])
@pytest.mark.parametrize("randomized", [False, True])
def test_backends_and_paths_agree_with_more_examples_than_dimensions(shape, randomized):
    """float32 gradients with k > d (before: 11 of 60 instances selected differently on different
    backends): numba and numpy steps, Gram and d-space paths select the same examples."""
    n, d, k = shape
    for seed in range(20):
        rng = np.random.default_rng(seed)
        G = rng.standard_normal((n, d)).astype(np.float32)
        labels = rng.integers(0, 3, n)
        anchors = rng.standard_normal((2, d)).astype(np.float32)
        runs = [mo.partitionsel(G, labels, k, anchors=anchors, lr=0.1, backend=backend, precompute=precompute,
                                randomized=randomized, seed=1)
                for backend in ("numba", "numpy") for precompute in (True, False)]
        for other in runs[1:]:
            np.testing.assert_array_equal(other.indices, runs[0].indices)
            assert other.objective == pytest.approx(runs[0].objective, rel=1e-6)
