"""``initial=`` of matroidomp.distributed: greedy (two rounds on the contracted function), omp and
partitionsel (the initial set forced first), on a 2-worker Dask cluster of threads."""

import dask.array as da
import numpy as np
import pytest
from distributed import Client

import matroidomp as mo
from matroidomp import bounds
from matroidomp.distributed import greedy


@pytest.fixture(scope="module")
def client():
    with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0") as c:
        yield c


# --------------------------------------------------------------------------- distributed greedy
def _greedy_instances():
    """Tiny monotone submodular instances (exact restrictions) with an initial set A each."""
    rng = np.random.default_rng(21)
    for t in range(4):
        n = 10
        if t % 2:
            matroid = mo.PartitionMatroid(rng.integers(0, 2, n), {0: 3, 1: 2})
        else:
            matroid = mo.PartitionMatroid.cardinality(n, 4)
        X = rng.random((n, 4)) ** 3
        S = mo.similarity_matrix(rng.standard_normal((14, 3)))[:, :n]
        inc = rng.random((12, n)) < 0.25
        A = rng.permutation(np.arange(n) if t % 2 == 0 else np.flatnonzero(matroid.codes == 0))[:2].tolist()
        yield (lambda idx, X=X: mo.FeatureBased(X[idx])), mo.FeatureBased(X), matroid, A
        yield (lambda idx, S=S: mo.FacilityLocation(S[:, idx])), mo.FacilityLocation(S), matroid, A
        yield (lambda idx, inc=inc: mo.Coverage(inc[:, idx])), mo.Coverage(inc), matroid, A


def _same_greedy(res, ref):
    assert res.indices.tolist() == ref.indices.tolist()
    assert res.history.tolist() == pytest.approx(ref.history.tolist(), rel=1e-12, abs=1e-12)
    assert res.stop_reason == ref.stop_reason and res.counts == ref.counts


def test_greedy_from_initial_is_two_round_greedy_on_the_contracted_function(client):
    """parts=1 is matroidomp.greedy(f, initial=A); with 2 and 3 parts every candidate holds A and
    g(T) = f(A ∪ T) − f(A) meets distributed_greedy_guarantee for g (r = the rank left) against
    brute force: every run the worst case, the mean over seeds the expectation."""
    for factory, f, matroid, A in _greedy_instances():
        assert A
        fA = f(A)
        opt_g = max(f(list(B)) for B in matroid.bases() if set(A) <= set(B)) - fA
        rank_left = matroid.rank - len(A)
        card = matroid.n_domains == 1
        _same_greedy(greedy(factory, matroid, parts=1, initial=A, client=client), mo.greedy(f, matroid, initial=A))
        for parts in (2, 3):
            worst = bounds.distributed_greedy_guarantee(parts, rank_left, cardinality=card, randomized=False)
            gains = []
            for seed in range(5):
                res = greedy(factory, matroid, parts=parts, seed=seed, initial=A, client=client)
                assert res.indices[:len(A)].tolist() == A
                assert matroid.is_independent(res.indices) and len(res) == matroid.rank
                assert res.objective == pytest.approx(f(res.indices), rel=1e-12)
                assert res.history[:len(A)].tolist() == pytest.approx([f(A[:t + 1]) for t in range(len(A))])
                assert all(v >= fA - 1e-12 for v in res.info["candidate_values"])
                assert res.objective - fA >= worst * opt_g - 1e-12  # every partition
                gains.append(res.objective - fA)
            expected = bounds.distributed_greedy_guarantee(parts, rank_left, cardinality=card)
            assert np.mean(gains) >= expected * opt_g - 1e-12  # in expectation (mean of 5 runs)
            det = greedy(factory, matroid, parts=parts, randomized=False, initial=A, client=client)
            assert det.indices[:len(A)].tolist() == A and det.objective - fA >= worst * opt_g - 1e-12


def test_greedy_initial_none_or_empty_is_unchanged_and_a_full_initial_set(client):
    factory, f, matroid, _ = next(_greedy_instances())
    base = greedy(factory, matroid, parts=3, seed=4, client=client)
    for initial in (None, [], np.zeros(0, dtype=np.int64)):
        res = greedy(factory, matroid, parts=3, seed=4, initial=initial, client=client)
        assert res.indices.tolist() == base.indices.tolist() and res.history.tolist() == base.history.tolist()
        assert res.info == base.info
    full = [7, 0, 3, 9]  # fills |S| <= 4
    res = greedy(factory, matroid, parts=2, seed=1, initial=full, client=client)
    assert res.indices.tolist() == full and res.stop_reason == "rank_reached"
    assert res.objective == pytest.approx(f(full), rel=1e-12) and res.info["union_size"] == 4


def test_greedy_initial_bad_input(client):
    factory, _, _, _ = next(_greedy_instances())
    m = mo.PartitionMatroid(np.repeat([0, 1], 5), {0: 2, 1: 1})
    for initial, err, match in (([10], ValueError, "initial"), ([1, 1], ValueError, "initial"),
                                ([5, 6], ValueError, "initial: 2 elements of domain 1 exceed its budget of 1"),
                                ([0.5], TypeError, "initial"), ([[0, 1]], ValueError, "initial")):
        with pytest.raises(err, match=match):
            greedy(factory, m, parts=2, initial=initial, client=client)


def test_greedy_initial_torch_indices(client):
    torch = pytest.importorskip("torch")
    factory, f, matroid, _ = next(_greedy_instances())
    res = greedy(factory, matroid, parts=2, seed=0, initial=torch.tensor([3, 8]), client=client)
    assert res.indices.tolist() == greedy(factory, matroid, parts=2, seed=0, initial=[3, 8], client=client).indices.tolist()
