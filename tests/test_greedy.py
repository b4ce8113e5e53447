"""Greedy, lazy greedy and stochastic greedy: guarantees against brute force, invariants, input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matroidomp import CallableSetFunction, PartitionMatroid
from matroidomp import greedy, stochastic_greedy
from matroidomp._result import STOP_NO_GAIN, STOP_RANK
from matroidomp._submodular import Coverage, FacilityLocation
from matroidomp.testing import hoeffding_tolerance
from submodular_cases import KINDS, brute_force_opt, make_function, random_matroid, reference

FAST = settings(max_examples=150, deadline=None)
REL = 1e-9
instances = dict(
    kind=st.sampled_from(KINDS),
    n=st.integers(1, 10),
    ties=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)


def check_invariants(res, f, matroid, kind=None, data=None):
    assert matroid.is_independent(res.indices)
    assert len(res.history) == len(res.indices) == len(res.weights)
    assert np.all(res.weights == 1.0)
    assert np.all(np.diff(res.history) >= 0)
    assert res.counts == matroid.count_dict(res.indices)
    if len(res.history):
        assert res.objective == res.history[-1]
    if data is not None:
        assert res.objective == pytest.approx(reference(kind, data, res.indices), rel=REL, abs=1e-12)
    # Every function here is monotone: greedy fills every budget.
    assert res.stop_reason == STOP_RANK and len(res.indices) == matroid.rank


@FAST
@given(**instances)
def test_greedy_gets_half_of_opt_under_a_partition_matroid(kind, n, ties, seed):
    rng = np.random.default_rng(seed)
    f, data = make_function(kind, n, rng, ties=ties)
    matroid = random_matroid(n, rng)
    opt = brute_force_opt(kind, data, matroid)
    for lazy in (True, False):
        res = greedy(f, matroid, lazy=lazy)
        check_invariants(res, f, matroid, kind, data)
        assert res.objective >= 0.5 * opt * (1 - REL)


@FAST
@given(**instances, k=st.integers(0, 6))
def test_greedy_gets_1_minus_1_over_e_of_opt_under_cardinality(kind, n, ties, seed, k):
    rng = np.random.default_rng(seed)
    f, data = make_function(kind, n, rng, ties=ties)
    matroid = PartitionMatroid.cardinality(n, min(k, n))
    opt = brute_force_opt(kind, data, matroid)
    res = greedy(f, matroid)
    check_invariants(res, f, matroid, kind, data)
    assert res.objective >= (1 - 1 / math.e) * opt * (1 - REL)


@settings(max_examples=40, deadline=None)
@given(**instances, k=st.integers(1, 5), epsilon=st.sampled_from([0.1, 0.3]))
def test_stochastic_greedy_mean_meets_its_guarantee(kind, n, ties, seed, k, epsilon):
    """E f(S) >= (1 - 1/e - eps) OPT; tested on the mean of N runs with distinct seeds.

    Every run has 0 <= f(S) <= OPT, so by Hoeffding the mean of N runs falls below its
    expectation by more than t = OPT sqrt(log(1/delta) / (2N)) with probability at most delta.
    N = 400, delta = 1e-6 gives t = 0.131 OPT (matroidomp.testing.hoeffding_tolerance).
    """
    rng = np.random.default_rng(seed)
    f, data = make_function(kind, n, rng, ties=ties)
    matroid = PartitionMatroid.cardinality(n, min(k, n))
    opt = brute_force_opt(kind, data, matroid)
    N, delta = 400, 1e-6
    values = []
    for s in range(N):
        res = stochastic_greedy(f, matroid, epsilon=epsilon, seed=s)
        check_invariants(res, f, matroid, kind, data)
        values.append(res.objective)
    t = hoeffding_tolerance(opt, N, 1 - delta)
    assert np.mean(values) >= (1 - 1 / math.e - epsilon) * opt * (1 - REL) - t


@settings(max_examples=300, deadline=None)
@given(**{**instances, "n": st.integers(1, 60)}, cardinality=st.booleans())
def test_lazy_selects_exactly_what_naive_selects(kind, n, ties, seed, cardinality):
    rng = np.random.default_rng(seed)
    f, _ = make_function(kind, n, rng, ties=ties)
    matroid = PartitionMatroid.cardinality(n, int(rng.integers(0, n + 1))) if cardinality else random_matroid(n, rng)
    lazy, naive = greedy(f, matroid, lazy=True), greedy(f, matroid, lazy=False)
    assert np.array_equal(lazy.indices, naive.indices)
    assert np.array_equal(lazy.history, naive.history)
    assert lazy.stop_reason == naive.stop_reason


def test_lazy_equals_naive_with_fewer_evaluations_on_a_larger_instance():
    rng = np.random.default_rng(3)
    f = FacilityLocation.from_features(rng.standard_normal((600, 5)))
    labels = rng.integers(0, 4, 600)
    matroid = PartitionMatroid(labels, {0: 10, 1: 5, 2: 3, 3: 2})
    lazy, naive = greedy(f, matroid), greedy(f, matroid, lazy=False)
    assert np.array_equal(lazy.indices, naive.indices)
    assert lazy.info["gain_evaluations"] < naive.info["gain_evaluations"] / 2


def test_greedy_path_on_an_instance_where_greedy_is_not_optimal():
    """Sets {1,2,3,4}, {1,2,5}, {3,4,6}, k = 2: greedy takes 0, then ties 1 vs 2 (lowest: 1).

    f = 5 while OPT = f({1, 2}) = 6: 5/6 >= 1 - 1/e, and the path is forced.
    """
    A = np.zeros((6, 3), dtype=bool)
    for j, items in enumerate([(0, 1, 2, 3), (0, 1, 4), (2, 3, 5)]):
        A[list(items), j] = True
    for res in (greedy(Coverage(A), 2), greedy(Coverage(A), 2, lazy=False)):
        assert res.indices.tolist() == [0, 1] and res.history.tolist() == [4.0, 5.0]
    assert Coverage(A)([1, 2]) == 6.0


def test_ties_go_to_the_lowest_index():
    sim = np.array([[1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    f = FacilityLocation(sim)
    for lazy in (True, False):
        assert greedy(f, 2, lazy=lazy).indices.tolist() == [0, 3]
    assert stochastic_greedy(f, 2, epsilon=1e-3, seed=0).indices.tolist() == [0, 3]


@settings(max_examples=100, deadline=None)
@given(**instances)
def test_stochastic_greedy_sampling_everything_is_greedy(kind, n, ties, seed):
    """When s = ceil((n/k) log(1/eps)) >= n every feasible element is scored: naive greedy."""
    rng = np.random.default_rng(seed)
    f, _ = make_function(kind, n, rng, ties=ties)
    matroid = random_matroid(n, rng)
    epsilon = math.exp(-max(matroid.rank, 1)) / 2
    res = stochastic_greedy(f, matroid, epsilon=epsilon, seed=seed)
    assert np.array_equal(res.indices, greedy(f, matroid, lazy=False).indices)


def test_stochastic_greedy_same_seed_same_answer_and_seeds_matter():
    rng = np.random.default_rng(4)
    f = FacilityLocation.from_features(rng.standard_normal((300, 8)))
    labels = rng.integers(0, 3, 300)
    matroid = PartitionMatroid(labels, {0: 4, 1: 3, 2: 2})
    a = stochastic_greedy(f, matroid, epsilon=0.5, seed=11)
    b = stochastic_greedy(f, matroid, epsilon=0.5, seed=11)
    c = stochastic_greedy(f, matroid, epsilon=0.5, seed=np.random.default_rng(11))
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.indices, c.indices)
    assert a.info["sample_size"] == math.ceil(300 / 9 * math.log(2))
    check_invariants(a, f, matroid)
    runs = {tuple(stochastic_greedy(f, matroid, epsilon=0.5, seed=s).indices) for s in range(10)}
    assert len(runs) > 1


def test_user_callable_works_with_every_variant():
    """Coverage written as a plain Python function selects what the built-in Coverage selects."""
    rng = np.random.default_rng(5)
    A = rng.random((25, 14)) < 0.25
    sets = [set(np.flatnonzero(A[:, j])) for j in range(14)]

    def covered(S):
        return len(set().union(*(sets[j] for j in S)))

    user, builtin = CallableSetFunction(covered, 14), Coverage(A)
    matroid = PartitionMatroid(np.arange(14) % 2, {0: 2, 1: 3})
    for lazy in (True, False):
        mine, ref = greedy(user, matroid, lazy=lazy), greedy(builtin, matroid, lazy=lazy)
        assert np.array_equal(mine.indices, ref.indices)
        check_invariants(mine, user, matroid)
    mine = stochastic_greedy(user, matroid, seed=1)
    assert np.array_equal(mine.indices, stochastic_greedy(builtin, matroid, seed=1).indices)
    check_invariants(mine, user, matroid)


def test_zero_gains_still_fill_the_budgets_and_negative_gains_stop():
    one_covers_all = Coverage(np.array([[1, 0, 0], [1, 0, 0]]))
    res = greedy(one_covers_all, 3)
    assert res.indices.tolist() == [0, 1, 2] and res.stop_reason == STOP_RANK
    assert res.gains.tolist() == [2.0, 0.0, 0.0]
    peaked = CallableSetFunction(lambda S: len(S) * (3 - len(S)), 6)  # gains 2, 0, -2, ...
    for res in (greedy(peaked, 5), greedy(peaked, 5, lazy=False), stochastic_greedy(peaked, 5, seed=0)):
        assert len(res.indices) == 2 and res.stop_reason == STOP_NO_GAIN
        assert res.objective == 2.0


def test_zero_budget_and_empty_ground_set_give_empty_selections():
    f = FacilityLocation(np.ones((3, 4)))
    empty = FacilityLocation(np.zeros((3, 0)))
    cases = [(f, 0), (f, PartitionMatroid([0, 0, 1, 1], {0: 0, 1: 0})), (empty, 0)]
    for fn, matroid in cases:
        for res in (greedy(fn, matroid), greedy(fn, matroid, lazy=False), stochastic_greedy(fn, matroid, seed=0)):
            assert res.indices.shape == (0,) and res.objective == 0.0 and res.stop_reason == STOP_RANK


@pytest.mark.parametrize("solver", [greedy, stochastic_greedy])
def test_bad_problems_are_rejected(solver):
    f = FacilityLocation(np.ones((3, 4)))
    with pytest.raises(ValueError, match="4 elements but the matroid has 5"):
        solver(f, PartitionMatroid.cardinality(5, 2))
    with pytest.raises(TypeError, match="CallableSetFunction"):
        solver(lambda S: len(S), 2)
    with pytest.raises(TypeError, match="matroid"):
        solver(f, "two")
    with pytest.raises(ValueError, match="budget"):
        solver(f, 9)
    nan_gain = CallableSetFunction(lambda S: float("nan") if S else 0.0, 3)
    with pytest.raises(ValueError, match="finite"):
        solver(nan_gain, 1)


@pytest.mark.parametrize("epsilon", [0, 1, -0.1, 1.5, float("nan")])
def test_epsilon_must_be_in_the_open_unit_interval(epsilon):
    with pytest.raises(ValueError, match="epsilon"):
        stochastic_greedy(FacilityLocation(np.ones((3, 4))), 2, epsilon=epsilon)


def test_epsilon_must_be_a_number():
    with pytest.raises(TypeError, match="epsilon"):
        stochastic_greedy(FacilityLocation(np.ones((3, 4))), 2, epsilon="0.1")
