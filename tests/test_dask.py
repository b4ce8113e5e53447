"""matroidomp.distributed on a 2-worker Dask cluster.

OMP and PartitionSel on row-chunked dask arrays against the single-machine solvers on the same
data and seed (same indices, weights to 1e-10, same stop reason and skipped elements), over
uneven and empty chunks; two-round distributed greedy against centralised greedy and brute force;
bad input; the embedded cluster; a worker that dies mid-run. The module-scoped cluster runs its
workers as threads (fast); the embedded-cluster and worker-death tests start process clusters.
"""

import os

import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster

import matroidomp as mo
from matroidomp import bounds
from matroidomp.distributed import greedy, omp, partitionsel
from matroidomp.distributed._cluster import client_for


@pytest.fixture(scope="module")
def client():
    with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0") as c:
        yield c


def _same(res, ref):
    assert res.indices.tolist() == ref.indices.tolist()
    np.testing.assert_allclose(res.weights, ref.weights, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(res.history, ref.history, rtol=1e-9, atol=1e-12)  # F near the horizon: ill-conditioned
    assert res.stop_reason == ref.stop_reason and res.counts == ref.counts
    assert sorted(res.info["skipped_unbounded"].tolist()) == sorted(ref.info["skipped_unbounded"].tolist())


CHUNKS = [(40,) * 10, (1, 99, 0, 150, 37, 113), (400,)]


@pytest.mark.parametrize("chunks", CHUNKS)
@pytest.mark.parametrize("dtype, lam, nonneg, randomized", [
    (np.float64, 0.0, True, False), (np.float32, 0.0, True, True), (np.float64, 0.3, False, False),
    (np.float32, 0.05, True, False)])
def test_omp_selects_what_one_machine_selects(client, chunks, dtype, lam, nonneg, randomized):
    rng = np.random.default_rng(len(chunks))
    G = rng.standard_normal((400, 24)).astype(dtype)
    G[7] = G[3]  # a duplicated row: its ρ ties with the original's
    b = G[:6].sum(axis=0) + 0.1 * rng.standard_normal(24)
    m = mo.PartitionMatroid(rng.integers(0, 3, 400), {0: 3, 1: 2, 2: 3})
    res = omp(da.from_array(G, chunks=(chunks, 24)), b, m, lam=lam, nonneg=nonneg, randomized=randomized,
              seed=5, client=client)
    ref = mo.omp(G, b, m, lam=lam, nonneg=nonneg, randomized=randomized, seed=5)
    assert not ref.info["gram"]  # n > 16·rank: one machine is in d-space too
    _same(res, ref)
    _same(res, mo.omp(G, b, m, lam=lam, nonneg=nonneg, randomized=randomized, seed=5, backend="numpy"))
    assert res.info["chunks"] == len(chunks) and res.info["passes"] <= len(res) + 1  # set-up + one per step


@pytest.mark.parametrize("seed", [0, 2])
def test_partitionsel_same_draws_as_one_machine(client, seed):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((300, 16)).astype(np.float32)
    domains = np.repeat(["math", "chem", "code"], [170, 90, 40])
    anchors = rng.standard_normal((3, 16))
    Gd = da.from_array(G, chunks=((64, 64, 64, 64, 44), 8))  # column chunks are merged
    for kw in ({}, {"randomized": False}, {"block_diagonal": True}, {"normalize": False, "budgets": "equal"}):
        res = partitionsel(Gd, domains, 12, anchors=anchors, lr=0.05, seed=seed, client=client, **kw)
        _same(res, mo.partitionsel(G, domains, 12, anchors=anchors, lr=0.05, seed=seed, **kw))


def test_fill_and_the_unbounded_skip_rule(client):
    """±e1, ±e2 (the reproducer of issue 9): the antipodes are skipped, as on one machine; and
    k = n in d = 3 stops with only unbounded elements left."""
    G = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    for randomized in (False, True):
        res = partitionsel(da.from_array(G, chunks=1), [0] * 4, 4, anchors=[[1.0, 1]], lr=0.1,
                           randomized=randomized, seed=0, client=client)
        assert res.stop_reason == "only_unbounded_left" and res.info["n_skipped_unbounded"] == 2
        _same(res, mo.partitionsel(G, [0] * 4, 4, anchors=[[1.0, 1]], lr=0.1, randomized=randomized, seed=0))
    rng = np.random.default_rng(3)
    G = rng.standard_normal((30, 3))
    res = partitionsel(da.from_array(G, chunks=7), np.zeros(30, int), 30, anchors=G[:2], lr=0.1, seed=1,
                       client=client)
    _same(res, mo.partitionsel(G, np.zeros(30, int), 30, anchors=G[:2], lr=0.1, seed=1))
    assert res.stop_reason == "only_unbounded_left" and res.info["n_skipped_unbounded"] > 0
    b = np.array([1.0, -2.0, 0.5])  # on_no_gain: stop early, or fill at weight 0
    m = mo.PartitionMatroid.cardinality(30, 8)
    for on_no_gain in ("stop", "fill"):
        res = omp(da.from_array(G, chunks=9), b, m, on_no_gain=on_no_gain, client=client)
        _same(res, mo.omp(G, b, m, on_no_gain=on_no_gain))


def test_ties_skips_and_small_chunks_against_one_machine(client):
    """Random small pools with duplicated and antipodal rows, k beyond d (many skipped elements),
    chunks smaller than the candidate lists: every path of the chunked tie rule and shortlist
    (answers from the lists, refreshed lists, chunks asked directly) against one machine."""
    for t in range(6):
        rng = np.random.default_rng(100 + t)
        n, d = int(rng.integers(20, 60)), int(rng.integers(2, 6))
        G = rng.standard_normal((n, d))
        G[1::7] = G[0]  # duplicates: exact ties
        G[2::9] = -G[0]  # antipodes: unbounded once G[0] is in
        labels = rng.integers(0, 3, n)
        k = int(rng.integers(d, min(n, 3 * d + 4)))
        chunks = int(rng.integers(3, 9))
        Gd = da.from_array(G, chunks=(chunks, d))
        kw = {"randomized": bool(t % 2), "seed": t}
        res = partitionsel(Gd, labels, k, anchors=G[3:5], lr=0.3, client=client, **kw)
        _same(res, mo.partitionsel(G, labels, k, anchors=G[3:5], lr=0.3, **kw))
        m = mo.make_matroid(labels, "equal", k)
        res = omp(Gd, G[5] - G[6], m, on_no_gain="fill", client=client, **kw)
        _same(res, mo.omp(G, G[5] - G[6], m, on_no_gain="fill", **kw))
    rng = np.random.default_rng(7)
    G = rng.standard_normal((60, 6))
    G[:30] = G[0]  # 30 copies of the best row: ties beyond every chunk's list (the chunks are asked)
    m = mo.PartitionMatroid(np.repeat([0, 1], 30), {0: 4, 1: 4})
    b = G[0] + 0.01 * rng.standard_normal(6)
    for randomized in (False, True):
        res = omp(da.from_array(G, chunks=(12, 6)), b, m, randomized=randomized, seed=1, on_no_gain="fill",
                  client=client)
        _same(res, mo.omp(G, b, m, randomized=randomized, seed=1, on_no_gain="fill"))
    G = np.zeros((50, 4))
    G[:, 1:] = rng.standard_normal((50, 3))
    G[:3, 0] = [1.0, 2.0, 0.5]  # after these nothing gains: fill draws among scores that all tie at 0
    m = mo.PartitionMatroid(np.arange(50) % 2, {0: 6, 1: 6})
    for randomized in (False, True):
        res = omp(da.from_array(G, chunks=(11, 4)), np.array([1.0, 0, 0, 0]), m, randomized=randomized, seed=3,
                  on_no_gain="fill", client=client)
        _same(res, mo.omp(G, np.array([1.0, 0, 0, 0]), m, randomized=randomized, seed=3, on_no_gain="fill"))


def test_progress_callback_and_early_stop(client):
    """callback(step, index, objective) sees the history; False stops with what one machine returns."""
    rng = np.random.default_rng(8)
    G = rng.standard_normal((200, 12))
    m = mo.PartitionMatroid(rng.integers(0, 2, 200), {0: 3, 1: 3})
    seen = []
    res = omp(da.from_array(G, chunks=64), G[0] + G[1], m, callback=lambda *a: seen.append(a), client=client)
    assert [s for s, _, _ in seen] == list(range(1, len(res) + 1)) and [j for _, j, _ in seen] == res.indices.tolist()
    np.testing.assert_allclose([f for _, _, f in seen], res.history, rtol=1e-12)
    stop = lambda step, j, f: step < 3  # noqa: E731
    res = partitionsel(da.from_array(G, chunks=64), m.codes, 6, anchors=G[:2], lr=0.1, seed=2, callback=stop,
                       client=client)
    assert res.stop_reason == "stopped_by_callback" and len(res) == 3
    _same(res, mo.partitionsel(G, m.codes, 6, anchors=G[:2], lr=0.1, seed=2, callback=stop))
    with pytest.raises(TypeError, match="verbose"):
        omp(da.from_array(G, chunks=64), G[0], m, verbose="yes", client=client)


def test_bad_input(client):
    G = np.random.default_rng(0).standard_normal((50, 4))
    Gd = da.from_array(G, chunks=20)
    m = mo.PartitionMatroid.cardinality(50, 3)
    with pytest.raises(TypeError, match="dask.array"):
        omp(G, G[0], m, client=client)
    with pytest.raises(ValueError, match="2-D"):
        omp(Gd[:, 0], G[0], m, client=client)
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        omp(Gd[Gd[:, 0] > 0], G[0], m, client=client)
    with pytest.raises(ValueError, match="matroid has 51 elements but the pool has 50"):
        omp(Gd, G[0], mo.PartitionMatroid.cardinality(51, 3), client=client)
    with pytest.raises(ValueError, match="domains: 49 labels for a pool of 50 gradients"):
        partitionsel(Gd, [0] * 49, 3, anchors=G[:1], lr=0.1, client=client)
    with pytest.raises(ValueError, match="b: length 3"):
        omp(Gd, G[0, :3], m, client=client)
    with pytest.raises(TypeError, match="distributed.Client"):
        omp(Gd, G[0], m, client="tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="on_no_gain"):
        omp(Gd, G[0], m, on_no_gain="pad", client=client)
    bad = G.copy()
    bad[37, 2] = np.nan  # in the second chunk (rows 20..39): named by its global index
    with pytest.raises(ValueError, match=r"row 37\b.*rows 20\.\.39"):
        omp(da.from_array(bad, chunks=20), G[0], m, client=client)
    bad[37, 2] = 0.0
    bad[41] = 0.0
    with pytest.raises(ValueError, match=r"row 41 is all zeros"):
        partitionsel(da.from_array(bad, chunks=20), [0] * 50, 3, anchors=G[:1], lr=0.1, client=client)
    assert client.status == "running"  # a client passed in is never closed


def test_embedded_cluster_is_started_and_closed():
    rng = np.random.default_rng(4)
    G = rng.standard_normal((120, 8))
    m = mo.PartitionMatroid.cardinality(120, 4)
    res = omp(da.from_array(G, chunks=50), G[0] + G[1], m, n_workers=1)
    assert res.info["workers"] == 1
    _same(res, mo.omp(G, G[0] + G[1], m))
    with pytest.raises(RuntimeError, match="boom"):
        with client_for(None, 1) as local:
            raise RuntimeError("boom")
    assert local.status == "closed" and local.cluster.status.name == "closed"


def _die_at(block, counter, at):
    """Kill this worker process the ``at``-th time the first chunk is read (once)."""
    if block.shape[0] and block[0, 0] == 0.25:
        with open(counter, "a") as fh:
            fh.write("x")
        with open(counter) as fh:
            if len(fh.read()) == at:
                os._exit(1)
    return block


def test_worker_that_dies_mid_run(tmp_path):
    """A worker killed during the 3rd pass: Dask reruns the lost pieces and the selection is the
    one-machine selection; with no retries allowed the run raises — never a partial selection."""
    rng = np.random.default_rng(5)
    G = rng.standard_normal((200, 8))
    G[0, 0] = 0.25  # marks the first chunk
    m = mo.PartitionMatroid.cardinality(200, 5)
    ref = mo.omp(G, G[:3].sum(0), m)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        Gd = da.from_array(G, chunks=50).map_blocks(_die_at, str(tmp_path / "once"), 3, dtype=G.dtype)
        _same(omp(Gd, G[:3].sum(0), m, client=c), ref)
        assert (tmp_path / "once").read_text().count("x") > 3  # the worker did die, and the run went on
        cluster.scheduler.allowed_failures = 0
        Gd = da.from_array(G, chunks=50).map_blocks(_die_at, str(tmp_path / "again"), 3, dtype=G.dtype)
        with pytest.raises(RuntimeError, match="no selection is returned"):
            omp(Gd, G[:3].sum(0), m, client=c)


# --------------------------------------------------------------------------- distributed greedy
def _instances():
    rng = np.random.default_rng(11)
    for t in range(4):
        n = 10
        labels = rng.integers(0, 2, n)
        budgets = {0: 2, 1: 1} if t % 2 else {0: 3}
        if not t % 2:
            labels = np.zeros(n, dtype=int)
        matroid = mo.PartitionMatroid(labels, budgets)
        X = rng.random((n, 4)) ** 3
        S = mo.similarity_matrix(rng.standard_normal((14, 3)))[:, :n]  # 14 points, 10 candidates
        inc = rng.random((12, n)) < 0.25  # 12 items, 10 candidates
        yield "features", (lambda idx, X=X: mo.FeatureBased(X[idx])), mo.FeatureBased(X), matroid
        yield "facility", (lambda idx, S=S: mo.FacilityLocation(S[:, idx])), mo.FacilityLocation(S), matroid
        yield "coverage", (lambda idx, inc=inc: mo.Coverage(inc[:, idx])), mo.Coverage(inc), matroid


def test_greedy_against_brute_force_and_central_greedy(client):
    for name, factory, f, matroid in _instances():
        opt, _ = bounds.brute_force_opt(f, matroid)
        card = matroid.n_domains == 1
        central = mo.greedy(f, matroid)
        assert greedy(factory, matroid, parts=1, client=client).indices.tolist() == central.indices.tolist()
        for parts in (2, 3):
            worst = bounds.distributed_greedy_guarantee(parts, matroid.rank, cardinality=card, randomized=False)
            values = []
            for seed in range(6):
                res = greedy(factory, matroid, parts=parts, seed=seed, client=client)
                assert matroid.is_independent(res.indices) and len(res) == matroid.rank
                assert res.objective == pytest.approx(f(res.indices), rel=1e-12)
                assert res.objective >= worst * opt - 1e-12  # every partition
                values.append(res.objective)
            expected = bounds.distributed_greedy_guarantee(parts, matroid.rank, cardinality=card)
            assert np.mean(values) >= expected * opt - 1e-12, name  # in expectation (mean of 6 runs)
            det = greedy(factory, matroid, parts=parts, randomized=False, client=client)
            assert det.info["algorithm"] == "GreeDi" and det.objective >= worst * opt - 1e-12


def test_greedy_takes_the_best_candidate_and_checks_the_factory(client):
    """Two parts, one holding both good elements of a modular f: the merged round finds them."""
    v = np.array([5.0, 4.0, 0.1, 0.2, 0.3, 0.1])
    X = np.diag(v)  # FeatureBased with sqrt: f(S) = Σ_{j∈S} √v_j
    m = mo.PartitionMatroid.cardinality(6, 2)
    res = greedy(lambda idx: mo.FeatureBased(X[idx]), m, parts=2, randomized=False, client=client)
    assert sorted(res.indices.tolist()) == [0, 1] and res.info["union_size"] == 4
    assert res.objective == pytest.approx(np.sqrt(5) + 2) and res.info["candidate_values"][0] == res.objective
    with pytest.raises(ValueError, match="element t of the function must be indices"):
        greedy(lambda idx: mo.FeatureBased(X), m, parts=2, client=client)
    with pytest.raises(TypeError, match="SetFunction"):
        greedy(lambda idx: (lambda S: 0.0), m, parts=2, client=client)
    with pytest.raises(ValueError, match="parts"):
        greedy(lambda idx: mo.FeatureBased(X[idx]), m, parts=0, client=client)
    with pytest.raises(TypeError, match="PartitionMatroid"):
        greedy(lambda idx: mo.FeatureBased(X[idx]), 2, client=client)


def test_guide_examples_run():
    """The ``>>>`` examples of docs/distributed.md (the guide page of this module)."""
    import doctest
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "distributed.md").read_text()
    text = "\n".join("" if line.lstrip().startswith("```") else line for line in text.splitlines())
    test = doctest.DocTestParser().get_doctest(text, {}, "distributed.md", "docs/distributed.md", 0)
    assert test.examples
    out = []
    result = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE).run(
        test, out=out.append)
    assert result.failed == 0, "".join(out)
