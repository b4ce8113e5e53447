"""Knapsack greedy (cost-benefit greedy + best singleton): ½(1 − 1/e) against brute force, lazy == naive, input."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidomp as mo
from matroidomp import CallableSetFunction, PartitionMatroid, greedy
from matroidomp.bounds import knapsack_greedy_guarantee
from submodular_cases import KINDS, make_function, reference

FAST = settings(max_examples=150, deadline=None)
instances = dict(kind=st.sampled_from(KINDS), n=st.integers(1, 8), ties=st.booleans(),
                 seed=st.integers(0, 2**32 - 1))


def random_knapsack(n, rng, ties):
    """Costs in (0, 1] (a few values only when ``ties``) and a budget from below the cheapest to above the total."""
    costs = rng.choice([0.25, 0.5, 1.0], n) if ties else rng.uniform(0.05, 1.0, n)
    budget = float(rng.uniform(0.5 * costs.min(), 1.1 * costs.sum()))
    return costs, budget


def knapsack_opt(kind, data, costs, budget):
    """max f over every subset of cost <= budget, from the definition."""
    n = costs.shape[0]
    return max(reference(kind, data, S) for r in range(n + 1) for S in itertools.combinations(range(n), r)
               if costs[list(S)].sum() <= budget)


@FAST
@given(**instances)
def test_knapsack_greedy_gets_half_of_1_minus_1_over_e_of_opt(kind, n, ties, seed):
    rng = np.random.default_rng(seed)
    f, data = make_function(kind, n, rng, ties=ties)
    costs, budget = random_knapsack(n, rng, ties)
    opt = knapsack_opt(kind, data, costs, budget)
    lazy, naive = (greedy(f, costs=costs, budget=budget, lazy=z) for z in (True, False))
    assert lazy.indices.tolist() == naive.indices.tolist()
    assert lazy.history.tolist() == naive.history.tolist()
    assert lazy.info["picked"] == naive.info["picked"]
    for res in (lazy, naive):
        assert len(set(res.indices.tolist())) == len(res.indices)
        assert costs[res.indices].sum() <= budget * (1 + 1e-12)  # feasible, always
        assert res.info["cost"] == pytest.approx(costs[res.indices].sum(), rel=1e-12)
        assert res.objective == pytest.approx(reference(kind, data, res.indices), rel=1e-9, abs=1e-12)
        assert res.stop_reason == "budget_spent"
        assert res.objective >= knapsack_greedy_guarantee() * opt - 1e-9 * max(1.0, opt)


def test_the_best_singleton_wins_when_the_ratio_path_runs_out_of_budget():
    w = np.array([1.0, 9.0])
    f = CallableSetFunction(lambda S: float(w[S].sum()), 2)
    # Ratios 1.0 and 0.9: the path takes 0, then 1 no longer fits; {1} alone is worth 9.
    for lazy in (True, False):
        res = greedy(f, costs=[1.0, 10.0], budget=10.0, lazy=lazy)
        assert res.indices.tolist() == [1] and res.objective == 9.0
        assert res.info["picked"] == "singleton" and res.info["cost"] == 10.0
        assert res.history.tolist() == [9.0]


def test_unit_costs_and_an_integer_budget_are_greedy_under_cardinality():
    X = np.random.default_rng(3).random((40, 5))
    f = mo.FacilityLocation.from_features(X)
    for lazy in (True, False):
        res = greedy(f, costs=np.ones(40), budget=6, lazy=lazy)
        assert res.indices.tolist() == greedy(f, 6, lazy=lazy).indices.tolist()


def test_nothing_affordable_gives_an_empty_selection():
    f = mo.FeatureBased(np.random.default_rng(0).random((4, 2)))
    res = greedy(f, costs=[2.0, 3.0, 4.0, 5.0], budget=1.0)
    assert res.indices.tolist() == [] and res.objective == 0.0 and res.info["cost"] == 0.0


def test_a_callback_can_stop_knapsack_greedy():
    f = mo.FeatureBased(np.random.default_rng(1).random((10, 3)))
    res = greedy(f, costs=np.full(10, 0.1), budget=0.55, callback=lambda step, index, objective: step < 2)
    assert res.stop_reason == "stopped_by_callback" and len(res.indices) == 2


def test_bad_knapsacks_are_rejected():
    f = mo.FeatureBased(np.random.default_rng(2).random((4, 3)))
    ok = np.ones(4)
    for costs, message in [([1.0, 0.0, 1.0, 1.0], "costs: the cost of element 1 is 0.0"),
                           ([1.0, 1.0, -2.0, 1.0], "costs: the cost of element 2 is -2.0"),
                           ([1.0, 1.0, 1.0, np.nan], "costs: the cost of element 3 is nan"),
                           ([np.inf, 1.0, 1.0, 1.0], "costs: the cost of element 0 is inf"),
                           ([1.0, 1.0, 1.0], r"costs: expected shape \(4,\)"),
                           (np.ones((4, 1)), r"costs: expected shape \(4,\)")]:
        with pytest.raises(ValueError, match=message):
            greedy(f, costs=costs, budget=2.0)
    with pytest.raises(TypeError, match="costs: expected real numbers"):
        greedy(f, costs=["a", "b", "c", "d"], budget=2.0)
    for budget in (0, -1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="budget: expected a finite number > 0"):
            greedy(f, costs=ok, budget=budget)
    for budget in (True, "2", None.__class__):
        with pytest.raises(TypeError, match="budget: expected a positive number"):
            greedy(f, costs=ok, budget=budget)
    with pytest.raises(ValueError, match="costs and budget: give both"):
        greedy(f, costs=ok)
    with pytest.raises(ValueError, match="costs and budget: give both"):
        greedy(f, budget=2.0)
    with pytest.raises(ValueError, match="matroid: not combinable with costs"):
        greedy(f, PartitionMatroid([0, 0, 1, 1], {0: 1, 1: 1}), costs=ok, budget=2.0)
    with pytest.raises(ValueError, match="matroid: not combinable with costs"):
        greedy(f, 2, costs=ok, budget=2.0)
    with pytest.raises(ValueError, match="initial: not supported with costs"):
        greedy(f, costs=ok, budget=2.0, initial=[0])
    with pytest.raises(TypeError, match="matroid: required"):
        greedy(f)


def test_the_cost_benefit_path_is_apricots_sample_cost_selection():
    """apricot's naive optimizer with ``sample_cost`` is the same ratio rule (no singleton step)."""
    apricot = pytest.importorskip("apricot", reason="apricot-select (extra 'bench') is the reference")
    rng = np.random.default_rng(7)
    s = mo.similarity_matrix(rng.standard_normal((60, 4)))
    costs = rng.uniform(0.5, 2.0, 60)
    theirs = apricot.FacilityLocationSelection(8, metric="precomputed", optimizer="naive").fit(s, sample_cost=costs)
    for lazy in (True, False):
        res = greedy(mo.FacilityLocation(s), costs=costs, budget=8.0, lazy=lazy)
        assert res.info["picked"] == "cost_benefit"
        assert res.indices.tolist() == theirs.ranking.tolist()
        np.testing.assert_allclose(np.diff(res.history, prepend=0.0), theirs.gains, rtol=1e-9)
