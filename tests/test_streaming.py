"""Streaming selection: guarantees against brute force, a literal one-element-at-a-time reference,
chunking, repeats, row functions against their ground-set twins, progress, bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidomp as mo
from matroidomp import bounds
from submodular_cases import KINDS, make_function, random_matroid, reference

REL = 1e-9
FAST = settings(max_examples=120, deadline=None)
ORDERS = ("random", "ascending", "descending")
instances = dict(
    kind=st.sampled_from(KINDS),
    n=st.integers(1, 9),
    ties=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
    order=st.sampled_from(ORDERS),
)


def stream_order(f, n, order, rng, repeats=False):
    """The elements in the given order: random, or sorted by singleton value (ascending is the
    adversarial order for sieve-streaming: every new element raises m); with ``repeats`` every
    element comes one to three times, the copies at random places."""
    if order == "random":
        seq = rng.permutation(n)
    else:
        singles = np.array([f([j]) for j in range(n)])
        seq = np.argsort(singles if order == "ascending" else -singles, kind="stable")
    if repeats:
        extra = rng.choice(seq, size=int(rng.integers(0, 2 * n + 1)))
        seq = np.insert(seq, rng.integers(0, len(seq) + 1, extra.size), extra)
    return seq.astype(np.int64)


def chunks_of(seq, rng):
    """``seq`` cut at random places (chunks of every size, empty ones included)."""
    cuts = np.sort(rng.integers(0, len(seq) + 1, int(rng.integers(0, 4))))
    return np.split(seq, cuts)


def feed(stream, seq, rng, **labels_of):
    for part in chunks_of(seq, rng):
        if labels_of:
            stream.partial_fit(part, labels_of["labels"][part])
        else:
            stream.partial_fit(part)
    return stream.result()


def check_valid(res, kind, data, n, seq):
    """Distinct in-range elements that came in the stream; objective, history = reference values."""
    idx = res.indices.tolist()
    assert len(set(idx)) == len(idx) and set(idx) <= set(seq.tolist())
    assert all(0 <= j < n for j in idx)
    assert np.all(res.weights == 1.0) and len(res.history) == len(idx)
    for t in range(len(idx)):
        assert res.history[t] == pytest.approx(reference(kind, data, idx[: t + 1]), rel=REL, abs=1e-12)
    assert res.objective == (res.history[-1] if idx else 0.0)


# ----------------------------------------------------------------------------- guarantees
@FAST
@given(**instances, k=st.integers(1, 4), epsilon=st.sampled_from([0.02, 0.1, 0.25, 0.45]),
       repeats=st.booleans())
def test_sieve_gets_half_minus_epsilon_of_opt(kind, n, ties, seed, order, k, epsilon, repeats):
    rng = np.random.default_rng(seed)
    f, data = make_function(kind, n, rng, ties=ties)
    seq = stream_order(f, n, order, rng, repeats)
    res = feed(mo.SieveStreaming(f, k, epsilon=epsilon), seq, rng)
    check_valid(res, kind, data, n, seq)
    assert len(res) <= k
    opt, _ = bounds.brute_force_opt(lambda S: reference(kind, data, S), mo.PartitionMatroid.cardinality(n, min(k, n)))
    assert res.objective >= bounds.sieve_streaming_guarantee(epsilon) * opt * (1 - REL) - 1e-12
    assert res.stop_reason == ("rank_reached" if len(res) == k else "stream_end")


@FAST
@given(**instances, repeats=st.booleans())
def test_matroid_streaming_gets_a_quarter_of_opt(kind, n, ties, seed, order, repeats):
    rng = np.random.default_rng(seed)
    f, data = make_function(kind, n, rng, ties=ties)
    matroid = random_matroid(n, rng)
    seq = stream_order(f, n, order, rng, repeats)
    res = feed(mo.MatroidStreaming(f, matroid), seq, rng)
    check_valid(res, kind, data, n, seq)
    assert matroid.is_independent(res.indices)
    assert res.counts == matroid.count_dict(res.indices)
    opt, _ = bounds.brute_force_opt(lambda S: reference(kind, data, S), matroid)
    assert res.objective >= bounds.matroid_streaming_guarantee() * opt * (1 - REL) - 1e-12
    # monotone f: a domain with room takes every element, so each domain ends full
    assert len(res) == matroid.rank and res.stop_reason == "rank_reached"


# ----------------------------------------------------------------------------- literal references
def integer_instance(rng, n):
    """Facility location or coverage with small integers: every gain and value is exact."""
    if rng.random() < 0.5:
        data = {"sim": rng.integers(0, 6, (int(rng.integers(1, 6)), n)).astype(float)}
        return "facility", data, mo.FacilityLocation(data["sim"])
    A = rng.random((int(rng.integers(1, 8)), n)) < 0.4
    data = {"A": A, "w": rng.integers(1, 5, A.shape[0]).astype(float)}
    return "coverage", data, mo.Coverage(A, data["w"])


def sieve_reference(value, seq, k, epsilon):
    """Algorithm 3 of Badanidiyuru et al. (2014), one element at a time, from its statement."""
    step = math.log1p(epsilon)
    m, sieves = 0.0, {}
    for e in seq.tolist():
        m = max(m, value([e]))
        if m > 0:
            lo = int(np.ceil(np.log(m) / step))
            hi = int(np.floor((np.log(m) + math.log(2 * k)) / step))
            sieves = {i: sieves.get(i, []) for i in range(lo, hi + 1)}
        for i, S in sieves.items():
            if len(S) < k and e not in S:
                v = math.exp(i * step)
                if value(S + [e]) - value(S) >= (v / 2 - value(S)) / (k - len(S)):
                    S.append(e)
    best = []
    for i in sorted(sieves):
        if sieves[i] and (not best or value(sieves[i]) > value(best)):
            best = sieves[i]
    return best


def swap_reference(value, seq, codes, budgets):
    """Chakrabarti & Kale's swap rule under a partition matroid, one element at a time."""
    S, w = [], []
    for e in seq.tolist():
        d = codes[e]
        if e in S or budgets[d] == 0:
            continue
        gain = value(S + [e]) - value(S)
        members = [p for p in range(len(S)) if codes[S[p]] == d]
        if len(members) < budgets[d]:
            if gain >= 0:
                S.append(e)
                w.append(gain)
            continue
        victim = min(members, key=lambda p: (w[p], p))
        if gain >= 2 * w[victim]:
            del S[victim], w[victim]
            S.append(e)
            w.append(gain)
    return S


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), k=st.integers(1, 6),
       epsilon=st.sampled_from([0.1, 0.25, 0.5]), order=st.sampled_from(ORDERS), repeats=st.booleans())
def test_sieve_selects_what_the_literal_algorithm_selects(seed, n, k, epsilon, order, repeats):
    rng = np.random.default_rng(seed)
    kind, data, f = integer_instance(rng, n)
    seq = stream_order(f, n, order, rng, repeats)
    expected = sieve_reference(lambda S: reference(kind, data, S), seq, k, epsilon)
    assert feed(mo.SieveStreaming(f, k, epsilon=epsilon), seq, rng).indices.tolist() == expected


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), order=st.sampled_from(ORDERS), repeats=st.booleans())
def test_matroid_streaming_selects_what_the_literal_rule_selects(seed, n, order, repeats):
    rng = np.random.default_rng(seed)
    kind, data, f = integer_instance(rng, n)
    matroid = random_matroid(n, rng)
    seq = stream_order(f, n, order, rng, repeats)
    expected = swap_reference(lambda S: reference(kind, data, S), seq, matroid.codes, matroid.budgets)
    res = feed(mo.MatroidStreaming(f, matroid), seq, rng)
    assert res.indices.tolist() == expected
    assert res.info["n_read"] == len(seq)


def test_ascending_stream_swaps_and_keeps_a_quarter():
    """Elements of growing value in one domain of budget 1, each with a feature of its own (f is
    modular, so a gain is the singleton value): a swap needs twice the kept weight."""
    X = np.diag([1.0, 1.5, 2.5, 4.0, 9.0, 10.0])
    f = mo.FeatureBased(X, concave="log1p")
    res = mo.MatroidStreaming(f, {0: 1}).partial_fit(np.arange(6), np.zeros(6, int)).result()
    w = [math.log1p(x) for x in np.diag(X)]
    kept, swaps = 0, 0
    for j in range(1, 6):
        if w[j] >= 2 * w[kept]:
            kept, swaps = j, swaps + 1
    assert res.indices.tolist() == [kept] and res.info["n_swaps"] == swaps
    assert res.objective >= 0.25 * max(w)


# ----------------------------------------------------------------------------- chunks, rows, memory
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 8))
def test_any_chunking_selects_alike(seed, k):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    X = rng.random((n, 5)) * (rng.random((n, 5)) < 0.5)
    f = mo.FeatureBased(X)
    seq = rng.permutation(n)
    labels = rng.integers(0, 3, n)
    budgets = {0: 2, 1: 1, 2: int(rng.integers(0, 3))}
    one = mo.SieveStreaming(f, k)
    swap_one = mo.MatroidStreaming(f, budgets)
    for j in seq:
        one.partial_fit([j])
        swap_one.partial_fit([j], labels[[j]])
    whole = mo.SieveStreaming(f, k).partial_fit(seq).result()
    parts = mo.SieveStreaming(f, k).fit(iter(chunks_of(seq, rng))).result()
    assert one.result().indices.tolist() == whole.indices.tolist() == parts.indices.tolist()
    swap_whole = mo.MatroidStreaming(f, budgets).fit([(seq, labels[seq])]).result()
    assert swap_one.result().indices.tolist() == swap_whole.indices.tolist()


def test_row_functions_equal_their_ground_set_twins():
    rng = np.random.default_rng(0)
    X = rng.random((200, 6)) * (rng.random((200, 6)) < 0.5)
    S = [3, 17, 42, 199]
    for concave in ("sqrt", "log1p"):
        assert mo.FeatureBasedRows(6, concave)(X[S]) == mo.FeatureBased(X, concave)(S)
    P = rng.standard_normal((30, 6))
    rows = mo.FacilityLocationRows(P)
    sim = rows.similarity(X)
    assert sim.shape == (30, 200) and sim.min() >= 0 and sim.max() <= 1
    # the similarity is the cosine one of similarity_matrix on the points and rows together
    both = mo.similarity_matrix(np.vstack([P, X]))[:30, 30:]
    np.testing.assert_allclose(sim, both, rtol=1e-12, atol=1e-12)
    assert rows(X[S]) == pytest.approx(mo.FacilityLocation(sim)(S), rel=1e-12)
    assert rows(X[S]) == pytest.approx(sum(max(sim[i, j] for j in S) for i in range(30)), rel=1e-12)


@pytest.mark.parametrize("algorithm", ["sieve", "swap"])
def test_rows_select_what_indices_select(algorithm):
    """A RowFunction fed the rows (ids = stream positions) selects what its ground-set twin fed
    the indices selects."""
    rng = np.random.default_rng(1)
    X = rng.random((500, 4)).astype(np.float32)
    labels = rng.choice(["x", "y"], 500)
    order = rng.permutation(500)
    fl_rows = mo.FacilityLocationRows(rng.standard_normal((40, 4)).astype(np.float32))
    # (row function, its twin, the index stream, stream position -> twin index)
    cases = [(mo.FeatureBasedRows(4), mo.FeatureBased(X), order, order),
             (fl_rows, mo.FacilityLocation(fl_rows.similarity(X[order])), np.arange(500), np.arange(500))]
    for row_f, index_f, index_stream, twin in cases:
        if algorithm == "sieve":
            by_rows = mo.SieveStreaming(row_f, 7).partial_fit(X[order]).result()
            by_index = mo.SieveStreaming(index_f, 7).partial_fit(index_stream).result()
        else:
            budgets = {"x": 3, "y": 2}
            by_rows = mo.MatroidStreaming(row_f, budgets).partial_fit(X[order], labels[order]).result()
            by_index = mo.MatroidStreaming(index_f, budgets).partial_fit(index_stream, labels[order]).result()
        assert twin[by_rows.indices].tolist() == by_index.indices.tolist()
        assert by_rows.objective == pytest.approx(by_index.objective, rel=1e-12)


def test_ids_name_the_rows():
    X = np.array([[1.0, 0.0], [0.0, 4.0], [9.0, 0.0]])
    res = mo.SieveStreaming(mo.FeatureBasedRows(2), 2).partial_fit(X, ids=[70, 71, 72]).result()
    assert sorted(res.indices.tolist()) == [71, 72]
    res = mo.SieveStreaming(mo.FeatureBasedRows(2), 2).partial_fit(X[:2]).partial_fit(X[2:]).result()
    assert sorted(res.indices.tolist()) == [1, 2]  # default ids count the rows read


def test_memory_does_not_grow_with_n():
    """Sieves ≤ log(2k)/log(1 + ε) + 1 with ≤ k ids each, whatever n; the swap stream holds ≤ r."""
    k, epsilon = 10, 0.2
    cap = math.floor(math.log(2 * k) / math.log1p(epsilon)) + 1
    rng = np.random.default_rng(2)
    for n in (1_000, 20_000):
        X = rng.random((n, 8)).astype(np.float32)
        sieve = mo.SieveStreaming(mo.FeatureBasedRows(8), k, epsilon=epsilon)
        swap = mo.MatroidStreaming(mo.FeatureBasedRows(8), {0: 3, 1: 4})
        for i in range(0, n, 997):
            sieve.partial_fit(X[i:i + 997])
            swap.partial_fit(X[i:i + 997], (np.arange(i, min(i + 997, n)) % 2))
            assert len(sieve._sieves) <= cap
            assert sum(len(s.ids) for s in sieve._sieves.values()) <= cap * k
            assert len(swap._S.ids) <= 7 and len(swap._S.items) <= 7
        res = sieve.result()
        assert res.info["n_sieves"] <= cap and res.info["stored_elements"] <= cap * k
        assert res.info["n_read"] == n and res.info["gain_evaluations"] <= n * (1 + 2 * cap)


def test_empty_and_zero_streams():
    f = mo.FeatureBased(np.zeros((4, 2)))
    for stream in (mo.SieveStreaming(f, 2), mo.MatroidStreaming(f, {0: 2})):
        res = stream.result()
        assert len(res) == 0 and res.objective == 0.0 and res.stop_reason == "stream_end"
    res = mo.SieveStreaming(f, 2).partial_fit([0, 1, 2, 3]).partial_fit([]).result()
    assert len(res) == 0 and res.info["n_sieves"] == 0  # every singleton is 0: OPT = 0


# ----------------------------------------------------------------------------- progress
def test_stream_callback_per_chunk_and_stop():
    X = np.random.default_rng(3).random((400, 5))
    calls = []

    def callback(step, index, objective):
        calls.append((step, index, objective))
        return step < 200

    def chunks():
        for i in range(0, 400, 50):
            yield X[i:i + 50]

    sieve = mo.SieveStreaming(mo.FeatureBasedRows(5), 6, callback=callback).fit(chunks())
    assert [c[0] for c in calls] == [50, 100, 150, 200] and [c[1] for c in calls] == [49, 99, 149, 199]
    res = sieve.result()
    assert sieve.stopped and res.stop_reason == "stopped_by_callback" and res.info["n_read"] == 200
    assert calls[-1][2] == res.objective and len(res) == 6
    with pytest.raises(RuntimeError, match="callback stopped"):
        sieve.partial_fit(X[:5])
    fresh = mo.SieveStreaming(mo.FeatureBasedRows(5), 6).fit(chunks()).result()
    assert fresh.info["n_read"] == 400 and fresh.objective >= res.objective


def test_stream_progress_bar(capsys):
    X = np.random.default_rng(4).random((300, 3))
    res = mo.MatroidStreaming(mo.FeatureBasedRows(3), {0: 2}, verbose=True).fit(
        (X[i:i + 100], np.zeros(100, int)) for i in range(0, 300, 100)).result()
    err = capsys.readouterr().err
    assert "matroid-streaming" in err and "300" in err and f"objective={res.objective:.6g}" in err


# ----------------------------------------------------------------------------- bad input
def test_bad_arguments():
    f = mo.FeatureBased(np.ones((5, 2)))
    for eps in (0, 0.0, -0.1, 1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="epsilon"):
            mo.SieveStreaming(f, 2, epsilon=eps)
    with pytest.raises(TypeError, match="epsilon"):
        mo.SieveStreaming(f, 2, epsilon="0.1")
    for k in (0, -3):
        with pytest.raises(ValueError, match="k: expected an int >= 1"):
            mo.SieveStreaming(f, k)
    for k in (2.0, True, None):
        with pytest.raises(TypeError, match="k:"):
            mo.SieveStreaming(f, k)
    with pytest.raises(TypeError, match="SetFunction .* or a RowFunction"):
        mo.SieveStreaming(lambda S: 1.0, 2)
    with pytest.raises(TypeError, match="verbose"):
        mo.SieveStreaming(f, 2, verbose="yes")
    with pytest.raises(TypeError, match="callback"):
        mo.MatroidStreaming(f, {0: 1}, callback=3)
    with pytest.raises(TypeError, match="budgets"):
        mo.MatroidStreaming(f, 3)
    with pytest.raises(ValueError, match="budgets"):
        mo.MatroidStreaming(f, {})
    with pytest.raises(ValueError, match="budgets"):
        mo.MatroidStreaming(f, {"a": -1})
    with pytest.raises(ValueError, match="5 elements but the matroid has 4"):
        mo.MatroidStreaming(f, mo.PartitionMatroid.cardinality(4, 2))


def test_bad_chunks():
    f = mo.FeatureBased(np.ones((5, 2)))
    sieve = mo.SieveStreaming(f, 2)
    with pytest.raises(ValueError, match="chunk: index 5 is out of range for a pool of 5"):
        sieve.partial_fit([0, 5])
    with pytest.raises(ValueError, match="chunk: index -1 is out of range"):
        sieve.partial_fit([-1])
    with pytest.raises(TypeError, match="chunk: expected integers"):
        sieve.partial_fit([0.5])
    with pytest.raises(ValueError, match="1-D"):
        sieve.partial_fit([[0, 1]])
    with pytest.raises(ValueError, match="ids"):
        sieve.partial_fit([0], ids=[0])
    rows = mo.SieveStreaming(mo.FeatureBasedRows(2), 2)
    with pytest.raises(ValueError, match="rows of 2 features"):
        rows.partial_fit(np.ones((3, 3)))
    with pytest.raises(ValueError, match="2-D"):
        rows.partial_fit(np.ones(2))
    with pytest.raises(ValueError, match="row 1"):
        rows.partial_fit(np.array([[1.0, 1.0], [np.nan, 1.0]]))
    with pytest.raises(ValueError, match="row 0 has a negative entry"):
        rows.partial_fit(np.array([[-1.0, 1.0]]))
    with pytest.raises(ValueError, match="ids: 1 ids for a chunk of 2 rows"):
        rows.partial_fit(np.ones((2, 2)), ids=[4])
    with pytest.raises(TypeError, match="ids: expected integers"):
        rows.partial_fit(np.ones((2, 2)), ids=[0.5, 1.5])
    with pytest.raises(ValueError, match="points"):
        mo.FacilityLocationRows(np.ones((0, 3)))
    with pytest.raises(ValueError, match="metric"):
        mo.FacilityLocationRows(np.ones((2, 3)), metric="euclidean")
    with pytest.raises(ValueError, match="dim"):
        mo.FeatureBasedRows(0)


def test_bad_labels():
    rows = mo.FeatureBasedRows(2)
    swap = mo.MatroidStreaming(rows, {"a": 1, "b": 0})
    with pytest.raises(ValueError, match="needs its elements' domain labels"):
        swap.partial_fit(np.ones((2, 2)))
    with pytest.raises(ValueError, match="element 1 has domain 'c', which has no budget"):
        swap.partial_fit(np.ones((2, 2)), ["a", "c"])
    with pytest.raises(ValueError, match="labels: 1 labels for a chunk of 2"):
        swap.partial_fit(np.ones((2, 2)), ["a"])
    m = mo.PartitionMatroid([0, 0, 1], {0: 1, 1: 1})
    with pytest.raises(ValueError, match="pass labels only with a budgets mapping"):
        mo.MatroidStreaming(mo.FeatureBased(np.ones((3, 2))), m).partial_fit([0], [0])
    with pytest.raises(ValueError, match="ids: index 3 is out of range for a pool of 3"):
        mo.MatroidStreaming(rows, m).partial_fit(np.ones((4, 2)))
    # budget 0 excludes a domain
    res = mo.MatroidStreaming(rows, {"a": 1, "b": 0}).partial_fit(np.eye(2) + 1, ["b", "a"]).result()
    assert res.indices.tolist() == [1] and res.counts == {"a": 1, "b": 0}
