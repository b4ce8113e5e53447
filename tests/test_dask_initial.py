"""``initial=`` of matroidomp.distributed: greedy (two rounds on the contracted function), omp and
partitionsel (the initial set forced first), on a 2-worker Dask cluster of threads."""

import dask.array as da
import numpy as np
import pytest
from distributed import Client

import matroidomp as mo
from matroidomp import bounds
from matroidomp.distributed import greedy, omp, partitionsel


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


# --------------------------------------------------------------------------- omp / partitionsel
def _reference_omp(G, b, matroid, A, lam, nonneg, key=None):
    """OMP from A on F(S) = ½‖b‖² − ½ min_w (‖G_Sᵀw − b‖² + λ‖w‖²), from the definition: A first
    in order, then the feasible arg-max of ρ_j = ⟨g_j, b − G_Sᵀw⟩ (|ρ_j| when signed) — or, with
    a ``key``, the residual random greedy draw t = 0, 1, ... (counted from the first step after A)
    among every domain's top rem_d. Returns (indices, F after each, final w, smallest score gap)."""
    from scipy.optimize import nnls

    from matroidomp.kernels.omp_loop import uniform_index

    def fit(S):
        M = np.vstack([G[S].T, np.sqrt(lam) * np.eye(len(S))])
        y = np.concatenate([b, np.zeros(len(S))])
        w = nnls(M, y)[0] if nonneg else np.linalg.lstsq(M, y, rcond=None)[0]
        return w, 0.5 * b @ b - 0.5 * np.sum((M @ w - y) ** 2)

    S, values, gap, draws = [], [], np.inf, 0
    while len(S) < matroid.rank:
        w, _ = fit(S) if S else (np.zeros(0), 0.0)
        score = G @ (b - G[S].T @ w)
        score = np.abs(score) if not nonneg else score
        counts = np.bincount(matroid.codes[S], minlength=matroid.n_domains) if S else np.zeros(matroid.n_domains, int)
        ok = (counts[matroid.codes] < matroid.budgets[matroid.codes]) & ~np.isin(np.arange(G.shape[0]), S)
        if len(S) < len(A):
            j = A[len(S)]
        elif key is None:
            order = np.flatnonzero(ok)[np.argsort(-score[ok], kind="stable")]
            j = int(order[0])
            gap = min(gap, score[order[0]] - score[order[1]])
        else:
            pool = []
            for d in range(matroid.n_domains):
                mine = np.flatnonzero(ok & (matroid.codes == d))
                top = mine[np.argsort(-score[mine], kind="stable")]
                rem = int(matroid.budgets[d] - counts[d])
                if rem and top.shape[0] > rem:
                    gap = min(gap, score[top[rem - 1]] - score[top[rem]])
                pool += top[:rem].tolist()
            pool = sorted(pool)
            j = pool[uniform_index(np.uint64(key), draws, len(pool))]
            draws += 1
        S.append(int(j))
        values.append(fit(S)[1])
    return S, np.array(values), fit(S)[0], gap


def _taylor_F(G, anchors, lr, S):
    """F(S) = max_{w ≥ 0} cᵀw − ½wᵀQw of the Taylor utility with unit rows (c = η U ā + ½η²,
    Q = η² U Uᵀ), by enumerating the supports P ⊆ S: the optimum solves Q_PP w_P = c_P on its own."""
    from itertools import combinations

    U = G[S].astype(np.float64)
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    a = anchors.astype(np.float64) / np.linalg.norm(anchors, axis=1, keepdims=True)
    c = lr * U @ a.mean(axis=0) + 0.5 * lr**2
    Q = lr**2 * U @ U.T
    best = 0.0
    for size in range(1, len(S) + 1):
        for P in map(list, combinations(range(len(S)), size)):
            w = np.linalg.lstsq(Q[np.ix_(P, P)], c[P], rcond=None)[0]
            if np.all(w >= 0):
                best = max(best, float(c[P] @ w - 0.5 * w @ Q[np.ix_(P, P)] @ w))
    return best


@pytest.mark.parametrize("nonneg, lam, randomized", [(True, 0.0, False), (False, 0.2, False), (True, 0.1, True)])
def test_omp_from_initial_against_an_independent_reference(client, nonneg, lam, randomized):
    """A first in the given order whatever its ρ (its second element scores low), F exact after
    each element, then OMP under the budgets left; the randomized rule's draws counted from the
    first step after A; no callback for A's elements."""
    from matroidomp._omp import rng_key

    rng = np.random.default_rng(31)
    G = rng.standard_normal((150, 16))
    b = G[:5].sum(axis=0) + 0.1 * rng.standard_normal(16)
    m = mo.PartitionMatroid(rng.integers(0, 2, 150), {0: 4, 1: 3})
    rho0 = G @ b
    A = [int(np.argmax(rho0)), int(np.argmin(np.abs(rho0)))]  # the best first, then a useless one
    key = rng_key(True, 7) if randomized else None
    S, values, w, gap = _reference_omp(G, b, m, A, lam, nonneg, key)
    assert gap > 1e-6  # no near tie: the reference's choice is the only right one
    seen = []
    res = omp(da.from_array(G, chunks=((20, 45, 0, 70, 15), 16)), b, m, lam=lam, nonneg=nonneg,
              randomized=randomized, seed=7, initial=A, callback=lambda *a: seen.append(a), client=client)
    assert res.indices.tolist() == S and res.indices[:len(A)].tolist() == A
    np.testing.assert_allclose(res.history, values, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.weights, w, rtol=1e-7, atol=1e-9)
    assert res.stop_reason == "rank_reached" and res.counts == m.count_dict(np.asarray(S))
    assert [s for s, _, _ in seen] == list(range(len(A) + 1, len(S) + 1))  # no tick for A
    assert [j for _, j, _ in seen] == S[len(A):]


def test_omp_initial_none_or_empty_is_unchanged_full_initial_and_errors(client):
    rng = np.random.default_rng(32)
    G = rng.standard_normal((90, 8)).astype(np.float32)
    domains = np.repeat(["math", "chem"], [60, 30])
    Gd = da.from_array(G, chunks=(40, 8))
    kw = dict(anchors=G[:2], lr=1e-2, seed=3, client=client)
    base = partitionsel(Gd, domains, 6, **kw)
    for initial in (None, [], np.zeros(0, dtype=np.int64)):
        res = partitionsel(Gd, domains, 6, initial=initial, **kw)
        assert res.indices.tolist() == base.indices.tolist() and res.history.tolist() == base.history.tolist()
        assert res.weights.tolist() == base.weights.tolist() and res.stop_reason == base.stop_reason
    full = [70, 2, 5, 61, 1, 0]  # 4 of math, 2 of chem: every budget of k = 6
    assert mo.make_matroid(domains, "proportional", 6).count_dict(np.asarray(full)) == {"chem": 2, "math": 4}
    res = partitionsel(Gd, domains, 6, initial=full, **kw)
    assert res.indices.tolist() == full and res.stop_reason == "rank_reached"
    np.testing.assert_allclose(res.history, [_taylor_F(G, G[:2], 1e-2, full[:t + 1]) for t in range(6)], rtol=1e-6)
    # an initial element that makes F unbounded: 0 in the conic hull of ±e1
    E = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    with pytest.raises(ValueError, match="initial: adding element 1 makes F unbounded"):
        partitionsel(da.from_array(E, chunks=1), [0] * 4, 3, anchors=[[1.0, 1]], lr=0.1, initial=[0, 1], client=client)
    for initial, err in (([90], ValueError), ([3, 3], ValueError), ([0.5], TypeError), ([[1, 2]], ValueError),
                         (list(range(7)), ValueError)):
        with pytest.raises(err, match="initial"):
            partitionsel(Gd, domains, 6, initial=initial, **kw)
    assert client.status == "running"


def test_omp_and_partitionsel_from_initial_select_what_one_machine_selects(client):
    """The same data, seed and A: the same indices, weights, history and stop reason as
    matroidomp.omp / matroidomp.partitionsel(initial=A), over uneven chunks."""
    rng = np.random.default_rng(33)
    G = rng.standard_normal((200, 12)).astype(np.float32)
    G[9] = G[4]  # a duplicated row: ties
    labels = rng.integers(0, 3, 200)
    Gd = da.from_array(G, chunks=((17, 80, 0, 103), 12))
    A = [150, 4, 33]
    b = G[:4].sum(axis=0)
    m = mo.PartitionMatroid(labels, {0: 3, 1: 3, 2: 2})
    for kw in ({}, {"randomized": True, "seed": 2}, {"nonneg": False, "lam": 0.1}, {"on_no_gain": "fill"}):
        res = omp(Gd, b, m, initial=A, client=client, **kw)
        ref = mo.omp(G, b, m, initial=A, **kw)
        assert res.indices.tolist() == ref.indices.tolist() and res.indices[:3].tolist() == A
        np.testing.assert_allclose(res.weights, ref.weights, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(res.history, ref.history, rtol=1e-9, atol=1e-12)
        assert res.stop_reason == ref.stop_reason and res.counts == ref.counts
    for kw in ({"seed": 0}, {"seed": 5, "block_diagonal": True}, {"randomized": False}):
        res = partitionsel(Gd, labels, 9, anchors=G[:3], lr=0.05, initial=A, client=client, **kw)
        ref = mo.partitionsel(G, labels, 9, anchors=G[:3], lr=0.05, initial=A, **kw)
        assert res.indices.tolist() == ref.indices.tolist() and res.indices[:3].tolist() == A
        np.testing.assert_allclose(res.weights, ref.weights, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(res.history, ref.history, rtol=1e-9, atol=1e-12)
        assert res.stop_reason == ref.stop_reason and res.counts == ref.counts
