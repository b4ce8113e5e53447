"""matroidomp.testing: the strategies draw valid instances, assert_guarantee passes correct
solvers and fails broken ones (shown to raise), and its Hoeffding tolerance is the stated one."""

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidomp as mo
from matroidomp import bounds
from matroidomp.testing import (POOL_KINDS, SET_FUNCTION_KINDS, assert_guarantee, gradient_pools,
                                hoeffding_tolerance, instances, partition_matroids, quadratic_utilities,
                                random_gradient_pool, random_set_function, set_functions)
from submodular_cases import reference

# ----------------------------------------------------------------------------- strategies
@settings(max_examples=60, deadline=None)
@given(partition_matroids())
def test_partition_matroids_are_valid(m):
    assert 1 <= m.n <= 8
    assert np.all(m.budgets <= m.sizes) and np.all(m.budgets >= 0)
    assert m.rank == int(np.minimum(m.budgets, m.sizes).sum())
    for basis in m.bases():
        assert m.is_independent(basis) and len(basis) == m.rank


@settings(max_examples=60, deadline=None)
@given(set_functions(), st.data())
def test_set_functions_are_monotone_submodular_and_finite(f, data):
    """f(∅) = 0, finite, and on random A ⊆ B, j ∉ B: f(A + j) − f(A) ≥ f(B + j) − f(B) ≥ 0."""
    n = f.n
    assert 1 <= n <= 8 and f([]) == 0.0
    B = data.draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n - 1))
    A = data.draw(st.lists(st.sampled_from(B), unique=True)) if B else []
    j = data.draw(st.sampled_from([v for v in range(n) if v not in B]))
    fA, fB = f(A), f(B)
    assert math.isfinite(fA) and math.isfinite(fB)
    assert f(A + [j]) - fA >= f(B + [j]) - fB - 1e-12 >= -2e-12


def _subsets(n):
    return [[j for j in range(n) if mask >> j & 1] for mask in range(2**n)]


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("kind", SET_FUNCTION_KINDS)
def test_every_kind_is_monotone_submodular_and_matches_its_definition(kind, ties):
    """Over all subsets of small instances: f = the from-definition reference, f(∅) = 0,
    f(S + j) ≥ f(S) and f(S + j) + f(S + k) ≥ f(S + j + k) + f(S)."""
    for seed in range(6):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(1, 7))
        f, data = random_set_function(kind, n, rng, ties=ties)
        value = {tuple(S): f(S) for S in _subsets(n)}
        for S, v in value.items():
            assert v == pytest.approx(reference(kind, data, S), rel=1e-9, abs=1e-9), (seed, S)
        assert value[()] == 0.0
        tol = 1e-9 * (1 + max(abs(v) for v in value.values()))
        for S, v in value.items():
            out = [j for j in range(n) if j not in S]
            for j in out:
                assert value[tuple(sorted(S + (j,)))] >= v - tol, ("not monotone", seed, S, j)
                for k in out:
                    if k > j:
                        both = value[tuple(sorted(S + (j, k)))]
                        assert value[tuple(sorted(S + (j,)))] + value[tuple(sorted(S + (k,)))] >= both + v - tol, (
                            "not submodular", seed, S, j, k)


def _tied_pairs(f):
    """Pairs (a, b) whose gains are equal, bitwise, from every state S ⊆ V ∖ {a, b}."""
    n, pairs = f.n, []
    for a in range(n):
        for b in range(a + 1, n):
            for S in _subsets(n):
                if a in S or b in S:
                    continue
                state = f.new_state()
                for j in S:
                    state.add(j)
                g = state.gains(np.array([a, b]))
                if g[0] != g[1]:
                    break
            else:
                pairs.append((a, b))
    return pairs


@pytest.mark.parametrize("kind", SET_FUNCTION_KINDS)
def test_ties_give_two_candidates_with_equal_gains_everywhere(kind):
    for seed in range(4):
        rng = np.random.default_rng(seed)
        f, data = random_set_function(kind, int(rng.integers(2, 6)), rng, ties=True)
        assert _tied_pairs(f), (kind, seed, data)


def test_without_ties_continuous_draws_have_no_tied_pair():
    """The tied pair comes from ties=True (the test above can fail): untied draws of the
    continuous kinds have none."""
    for kind in ("facility", "graph_cut", "saturated_coverage", "log_determinant", "flmi", "gcmi"):
        f, _ = random_set_function(kind, 5, np.random.default_rng(1))
        assert _tied_pairs(f) == [], kind


def test_every_kind_is_drawn_in_its_monotone_regime():
    """The parameters stay where the class documents monotone submodularity."""
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(1, 9))
        for kind in SET_FUNCTION_KINDS:
            f, data = random_set_function(kind, n, rng, ties=bool(seed % 2))
            assert f.n == n
            parts = zip(data["kinds"], data["parts"]) if kind == "mixture" else [(kind, data)]
            if kind == "mixture":
                assert len(set(data["kinds"])) == 2 and "mixture" not in data["kinds"]
                assert np.all(data["weights"] >= 0)
            for k, d in parts:
                if "sim" in d and k in ("graph_cut", "saturated_coverage", "sum_redundancy"):
                    assert d["sim"].shape == (n, n) and np.array_equal(d["sim"], d["sim"].T) and d["sim"].min() >= 0
                if k == "graph_cut":
                    assert 0 <= d["lam"] <= 0.5
                if k == "saturated_coverage":
                    assert 0 < d["alpha"] <= 1
                if k == "log_determinant":
                    assert d["regularization"] >= 1 and np.array_equal(d["L"], d["L"].T)
                    assert np.linalg.eigvalsh(d["L"]).min() >= -1e-9 * (1 + np.abs(d["L"]).max())
                if k == "flmi":
                    assert d["eta"] > 0 and d["query_sim"].shape[1] >= 1 and d["sim"].shape[1] == n
                    assert d["query_sim"].shape[0] == d["sim"].shape[0] and d["query_sim"].min() >= 0
                if k == "flcg":
                    assert d["nu"] >= 0 and d["private_sim"].shape[0] == d["sim"].shape[0] and d["sim"].shape[1] == n
                if k == "gcmi":
                    assert d["query_sim"].shape[0] == n and d["query_sim"].shape[1] >= 1 and d["query_sim"].min() >= 0


def test_modular_is_the_sum_of_its_singletons():
    f, data = random_set_function("modular", 6, np.random.default_rng(3), ties=True)
    assert f([0, 2, 5]) == pytest.approx(sum(f([j]) for j in (0, 2, 5)), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(gradient_pools())
def test_gradient_pools_are_finite_and_consistent(pool):
    G, domains, anchors = pool
    n, d = G.shape
    assert 1 <= n <= 8 and 1 <= d <= 8 and G.dtype == np.float64 and np.isfinite(G).all()
    assert domains.shape == (n,) and anchors.shape[1] == d and np.isfinite(anchors).all()


def test_each_pool_kind_has_its_hard_case():
    rng = np.random.default_rng(0)
    G, _, _ = random_gradient_pool("duplicated", 6, 4, rng)
    assert len(np.unique(G, axis=0)) == 5
    G, _, _ = random_gradient_pool("antipodal", 6, 4, rng)
    assert np.any(np.all(G[:, None] == -G[None], axis=2))
    G, _, _ = random_gradient_pool("tall", 6, 8, rng)
    assert G.shape == (6, 5)
    for n, d in [(6, 5), (2, 2), (3, 7)]:
        G, _, _ = random_gradient_pool("rank_deficient", n, d, rng)
        assert np.linalg.matrix_rank(G) < min(n, d)
    G, _, _ = random_gradient_pool("wild_scale", 8, 4, rng)
    norms = np.linalg.norm(G, axis=1)
    assert norms.max() / norms.min() > 10
    assert set(POOL_KINDS) == {"gaussian", "duplicated", "antipodal", "wild_scale", "tall", "rank_deficient"}


@settings(max_examples=40, deadline=None)
@given(quadratic_utilities())
def test_quadratic_utilities_are_bounded_and_monotone(u):
    full = u.value(np.arange(u.n))
    assert isinstance(u, mo.QuadraticUtility) and math.isfinite(full)
    pair = [0, 1] if u.n > 1 else [0]
    assert 0.0 <= u.value([0]) <= u.value(pair) * (1 + 1e-9) + 1e-12 <= full * (1 + 1e-9) + 2e-12


def test_instances_accept_a_function_of_your_own():
    """instances(functions) with a user's callable set function over the drawn n."""
    weights = st.lists(st.floats(0, 10), min_size=8, max_size=8)

    def modular(n):
        return weights.map(lambda w: mo.CallableSetFunction(lambda S: float(sum(w[j] for j in S)), n))

    @settings(max_examples=20, deadline=None)
    @given(instances(modular))
    def check(instance):
        assert_guarantee(mo.greedy, *instance, bound=1.0)  # greedy is exact on a modular f

    check()


# ----------------------------------------------------------------------------- correct solvers pass
@settings(max_examples=40, deadline=None)
@given(instances())
def test_greedy_passes_its_half(instance):
    value, opt = assert_guarantee(mo.greedy, *instance, bound=bounds.greedy_guarantee())
    assert 0.5 * opt * (1 - 1e-9) <= value <= opt * (1 + 1e-9)


@pytest.mark.parametrize("kind", SET_FUNCTION_KINDS)
def test_greedy_passes_its_half_on_every_kind(kind):
    """instances() drawn from each kind alone: greedy ≥ ½·OPT under partition matroids and
    ≥ (1 − 1/e)·OPT under |S| ≤ k."""
    def of_kind(n):
        return set_functions(n, kinds=(kind,))

    @settings(max_examples=15, deadline=None)
    @given(instances(of_kind))
    def half(instance):
        assert instance[0].n == instance[1].n
        assert_guarantee(mo.greedy, *instance, bound=bounds.greedy_guarantee())

    @settings(max_examples=10, deadline=None)
    @given(instances(of_kind, max_domains=1))
    def cardinality(instance):
        assert_guarantee(mo.greedy, *instance, bound=bounds.greedy_guarantee(cardinality=True))

    half()
    cardinality()


@settings(max_examples=40, deadline=None)
@given(instances(max_domains=1))
def test_greedy_passes_1_minus_1_over_e_under_cardinality(instance):
    assert_guarantee(mo.greedy, *instance, bound=bounds.greedy_guarantee(cardinality=True))


@settings(max_examples=30, deadline=None)
@given(instances(max_domains=1), st.integers(0, 2**32 - 1))
def test_stochastic_greedy_passes_in_expectation(instance, seed):
    def run(f, m, seed):
        return mo.stochastic_greedy(f, m, epsilon=0.1, seed=seed)

    assert_guarantee(run, *instance, bound=bounds.stochastic_greedy_guarantee(0.1), seed=seed,
                     expectation=True, trials=200)


@settings(max_examples=30, deadline=None)
@given(quadratic_utilities(max_n=6), st.data())
def test_randomized_omp_passes_its_factor_in_expectation(u, data):
    """solve_omp(randomized=True) vs ℓ_r(α_r, γ, r), the factor of bounds, in expectation."""
    m = data.draw(partition_matroids(u.n, max_domains=2))
    r = max(m.rank, 1)
    gamma = bounds.submodularity_ratio(u, u.n, r)
    factor = bounds.residual_random_greedy_guarantee(bounds.restricted_eigenvalue_ratio(u, r), gamma, r)

    def run(f, m, seed):
        return mo.solve_omp(f, m, randomized=True, seed=seed)

    assert_guarantee(run, u, m, bound=factor, seed=data.draw(st.integers(0, 2**32 - 1)), expectation=True,
                     trials=100)


@settings(max_examples=25, deadline=None)
@given(instances(quadratic_utilities, max_n=5))
def test_greedy_passes_its_weak_submodularity_factor_on_quadratic_utilities(instance):
    """greedy on a QuadraticUtility vs γ_DR/(1 + γ_DR) (Gong et al. 2019), n = 1 included."""
    u, m = instance
    r = max(m.rank, 1)
    gamma_dr = bounds.diminishing_returns_ratio(u, u.n, r)
    assert_guarantee(mo.greedy, u, m, bound=bounds.greedy_guarantee(gamma=gamma_dr))


# ----------------------------------------------------------------------------- broken solvers fail
def worst_singleton(f, m):
    feasible = [j for j in range(m.n) if m.is_independent([j])]
    return [min(feasible, key=lambda j: f([j]))] if feasible else []


def random_basis(f, m, seed):
    bases = list(m.bases())
    return bases[np.random.default_rng(seed).integers(len(bases))]


def test_worst_singleton_fails_with_a_message_naming_everything():
    f = mo.FacilityLocation([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.1]])
    m = mo.PartitionMatroid.cardinality(3, 2)
    with pytest.raises(AssertionError) as err:
        assert_guarantee(worst_singleton, f, m, bound=0.5)
    message = str(err.value)
    for part in ("FacilityLocation(n=3)", "f([2]) = 0.1", "OPT = 2.0", "bound·OPT = 0.5·2.0", "(0, 1)"):
        assert part in message, (part, message)
    assert assert_guarantee(mo.greedy, f, m, bound=1.0) == (2.0, 2.0)


def test_property_test_of_a_broken_solver_raises():
    """The three-line property test finds a counterexample for the worst singleton."""
    @settings(max_examples=100, deadline=None, database=None, derandomize=True)
    @given(instances())
    def check(instance):
        assert_guarantee(worst_singleton, *instance, bound=0.5)

    with pytest.raises(AssertionError, match="< bound·OPT"):
        check()


def test_random_basis_fails_in_expectation_and_greedy_passes():
    w = np.array([10.0] + [0.01] * 7)
    f = mo.Coverage(np.eye(8, dtype=bool), w)
    m = mo.PartitionMatroid.cardinality(8, 1)  # OPT = 10, a random basis has mean 1.26
    with pytest.raises(AssertionError, match=r"mean f over 400 runs = .* < bound·OPT − t"):
        assert_guarantee(random_basis, f, m, bound=bounds.stochastic_greedy_guarantee(0.1), seed=0,
                         expectation=True)
    mean, opt = assert_guarantee(lambda f, m, seed: mo.greedy(f, m), f, m, bound=1.0, seed=0, expectation=True)
    assert mean == opt == 10.0


def test_exact_mode_checks_every_run_expectation_mode_the_mean():
    """Best or worst singleton with probability ½ each: mean 0.5·OPT meets 0.4 in expectation
    but not run by run."""
    f = mo.Coverage(np.eye(2, dtype=bool), np.array([1.0, 0.0]))
    m = mo.PartitionMatroid.cardinality(2, 1)

    def coin(f, m, seed):
        return [int(np.random.default_rng(seed).integers(2))]

    mean, opt = assert_guarantee(coin, f, m, bound=0.4, seed=1, expectation=True)
    assert opt == 1.0 and abs(mean - 0.5) < 0.1
    with pytest.raises(AssertionError, match=r"run seed="):
        assert_guarantee(coin, f, m, bound=0.4, seed=1, trials=50)


# ----------------------------------------------------------------------------- Hoeffding
def test_hoeffding_tolerance_formula():
    assert hoeffding_tolerance(2.0, 50, 0.95) == pytest.approx(2 * math.sqrt(math.log(20) / 100), rel=1e-14)
    assert hoeffding_tolerance(1.0, 400, 1 - 1e-6) == pytest.approx(math.sqrt(math.log(1e6) / 800), rel=1e-12)
    assert hoeffding_tolerance(0.0, 10, 0.9) == 0.0


def test_hoeffding_tolerance_covers_the_deviation_it_claims():
    """Bernoulli(p) means of N draws fall below p − t in at most δ of 20000 repetitions."""
    rng = np.random.default_rng(0)
    N, delta, p = 30, 0.1, 0.5
    t = hoeffding_tolerance(1.0, N, 1 - delta)
    means = rng.binomial(N, p, size=20000) / N
    assert np.mean(means <= p - t) <= delta


def test_expectation_mode_uses_exactly_that_tolerance():
    """A constant value 0.5 of OPT = 1 against bound 0.6: passes iff 0.6 − t(N) ≤ 0.5, i.e.
    N ≤ ln(10⁶)/(2·0.1²) = 690.8 at confidence 1 − 10⁻⁶."""
    f = mo.Coverage(np.eye(2, dtype=bool), np.array([1.0, 0.5]))
    m = mo.PartitionMatroid.cardinality(2, 1)

    def second(f, m, seed):
        return [1]

    assert assert_guarantee(second, f, m, bound=0.6, seed=0, expectation=True, trials=690) == (0.5, 1.0)
    with pytest.raises(AssertionError, match="692 runs"):
        assert_guarantee(second, f, m, bound=0.6, seed=0, expectation=True, trials=692)


# ----------------------------------------------------------------------------- bad input
def test_refusals():
    f = mo.Coverage(np.eye(40, dtype=bool), np.ones(40))
    with pytest.raises(ValueError, match="too large for brute force.*MAX_ENUMERATION"):
        assert_guarantee(mo.greedy, f, mo.PartitionMatroid.cardinality(40, 20), bound=0.5)
    small = mo.PartitionMatroid.cardinality(3, 1)
    with pytest.raises(ValueError, match="constraint: 3 elements, but f is over n = 40"):
        assert_guarantee(mo.greedy, f, small, bound=0.5)
    g = mo.Coverage(np.eye(3, dtype=bool), np.ones(3))
    with pytest.raises(ValueError, match="bound"):
        assert_guarantee(mo.greedy, g, small, bound=1.5)
    with pytest.raises(ValueError, match="seed"):
        assert_guarantee(mo.greedy, g, small, bound=0.5, expectation=True)
    with pytest.raises(ValueError, match="trials"):
        assert_guarantee(mo.greedy, g, small, bound=0.5, seed=0, trials=0)
    with pytest.raises(TypeError, match="constraint: expected a PartitionMatroid"):
        assert_guarantee(mo.greedy, g, 2, bound=0.5)
    with pytest.raises(AssertionError, match="not independent"):
        assert_guarantee(lambda f, m: [0, 1], g, small, bound=0.5)
    with pytest.raises(AssertionError, match="not monotone"):
        assert_guarantee(lambda f, m: [], lambda S: 1.0 - len(S), small, bound=0.5)
    with pytest.raises(ValueError, match="kind"):
        random_set_function("cut", 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n: expected at least 1"):
        random_set_function("facility", 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="kind"):
        random_gradient_pool("zero_row", 3, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n, d: kind 'antipodal' needs n >= 2"):
        random_gradient_pool("antipodal", 1, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n, d: kind 'rank_deficient' needs n >= 2 rows and d >= 2"):
        random_gradient_pool("rank_deficient", 4, 1, np.random.default_rng(0))
    @given(gradient_pools(1, kinds=("duplicated",)))
    def no_kind_fits(pool):
        pass

    with pytest.raises(ValueError, match="kinds: none of"):
        no_kind_fits()
    for args, name in [((-1.0, 5, 0.9), "value_range"), ((1.0, 0, 0.9), "trials"), ((1.0, 5, 1.0), "confidence")]:
        with pytest.raises(ValueError, match=name):
            hoeffding_tolerance(*args)


def test_without_hypothesis_the_import_error_names_the_extra():
    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "try:\n    import matroidomp.testing\nexcept ImportError as err:\n    print(err)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert 'matroidomp.testing needs hypothesis: pip install "matroidomp[testing]"' in out.stdout, out.stderr
    out = subprocess.run([sys.executable, "-c", "import sys; sys.modules['hypothesis'] = None; import matroidomp"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr  # the package itself does not need hypothesis
