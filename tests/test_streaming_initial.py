"""Streaming from an initial set A: the contracted problem written out by hand selects the same,
the guarantees on g(T) = f(A ∪ T) − f(A) against brute force, chunking, A in the stream, rows,
initial=None unchanged, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidomp as mo
from matroidomp import bounds
from matroidomp._setfunction import GainState
from submodular_cases import KINDS, make_function, random_matroid, reference
from test_streaming import ORDERS, chunks_of, integer_instance, stream_order

FAST = settings(max_examples=100, deadline=None)
instances = dict(kind=st.sampled_from(KINDS), n=st.integers(1, 9), ties=st.booleans(),
                 seed=st.integers(0, 2**32 - 1), order=st.sampled_from(ORDERS), repeats=st.booleans())


class _ContractedState(GainState):
    def __init__(self, f, A):
        self.inner = f.new_state()
        for j in A:
            self.inner.add(j)
        self.base = float(self.inner.value) if A else 0.0
        self.value = 0.0

    def gains(self, candidates):
        return self.inner.gains(candidates)

    def add(self, j):
        self.inner.add(j)
        self.value = float(self.inner.value) - self.base


class Contracted(mo.SetFunction):
    """g(T) = f(A ∪ T) − f(A), written out: f's state after A, values less f(A)."""

    def __init__(self, f, A):
        self.f, self.A, self.n = f, list(A), f.n

    def new_state(self):
        return _ContractedState(self.f, self.A)


def random_initial(matroid, rng, leave_room=False):
    """A random independent set in random order; with ``leave_room``, one that fills no budget
    (a domain with budget 0 is never filled by it)."""
    order = rng.permutation(matroid.n)
    counts = np.zeros(matroid.n_domains, dtype=np.int64)
    keep = []
    for j in order.tolist():
        d = matroid.codes[j]
        if counts[d] < matroid.budgets[d] - leave_room and rng.random() < 0.5:
            counts[d] += 1
            keep.append(j)
    return keep


def feed(stream, seq, rng, labels=None):
    for part in chunks_of(seq, rng):
        stream.partial_fit(part) if labels is None else stream.partial_fit(part, labels[part])
    return stream.result()


def check_prefix(res, A, value):
    """indices start with A; history = f of every prefix; objective = f(all); distinct elements."""
    idx = res.indices.tolist()
    assert idx[:len(A)] == A and len(set(idx)) == len(idx)
    np.testing.assert_allclose(res.history, [value(idx[:t + 1]) for t in range(len(idx))], rtol=1e-9, atol=1e-12)
    assert res.objective == (res.history[-1] if idx else 0.0)


def contracted_opt(value, matroid, A):
    """max over feasible T of f(A ∪ T) − f(A), by brute force: the best basis holding A (f monotone)."""
    return max(value(B) for B in matroid.bases() if set(A) <= set(B)) - value(A)


# ----------------------------------------------------------------------------- the contracted problem
@FAST
@given(**instances, k=st.integers(1, 5), epsilon=st.sampled_from([0.05, 0.1, 0.25, 0.45]))
def test_sieve_from_initial_is_sieve_on_the_contracted_problem(kind, n, ties, seed, order, repeats, k, epsilon):
    rng = np.random.default_rng(seed)
    f, data = make_function(kind, n, rng, ties=ties)
    value = lambda S: reference(kind, data, S)  # noqa: E731
    A = rng.permutation(n)[:int(rng.integers(0, min(k, n) + 1))].tolist()
    seq = stream_order(f, n, order, rng, repeats)  # A's elements come too: skipped
    res = feed(mo.SieveStreaming(f, k, epsilon=epsilon, initial=A), seq, rng)
    check_prefix(res, A, value)
    assert len(res) <= k and res.counts == {0: len(res)}
    assert res.stop_reason == ("rank_reached" if len(res) == k else "stream_end")
    if len(A) < k:
        rest = seq[~np.isin(seq, A)]
        by_hand = mo.SieveStreaming(Contracted(f, A), k - len(A), epsilon=epsilon).partial_fit(rest).result()
        assert res.indices[len(A):].tolist() == by_hand.indices.tolist()
    else:
        assert res.indices.tolist() == A and res.info["gain_evaluations"] == 0
    fA = value(A)
    opt = contracted_opt(value, mo.PartitionMatroid.cardinality(n, min(k, n)), A)
    assert res.objective - fA >= bounds.sieve_streaming_guarantee(epsilon) * opt - 1e-9 * max(1.0, abs(fA + opt))


@FAST
@given(**instances)
def test_matroid_streaming_from_initial_is_swapping_on_the_contracted_problem(kind, n, ties, seed, order, repeats):
    rng = np.random.default_rng(seed)
    f, data = make_function(kind, n, rng, ties=ties)
    value = lambda S: reference(kind, data, S)  # noqa: E731
    matroid = random_matroid(n, rng)
    A = random_initial(matroid, rng)
    seq = stream_order(f, n, order, rng, repeats)
    res = feed(mo.MatroidStreaming(f, matroid, initial=A), seq, rng)
    check_prefix(res, A, value)
    assert matroid.is_independent(res.indices) and res.counts == matroid.count_dict(res.indices)
    # monotone f: every domain ends full, A never swapped out
    assert len(res) == matroid.rank and res.stop_reason == "rank_reached"
    left = matroid.budgets - matroid.counts(np.asarray(A, dtype=np.int64))
    contracted = mo.PartitionMatroid(matroid.codes, left)
    rest = seq[~np.isin(seq, A)]
    by_hand = mo.MatroidStreaming(Contracted(f, A), contracted).partial_fit(rest).result()
    assert res.indices[len(A):].tolist() == by_hand.indices.tolist()
    assert res.info["n_swaps"] == by_hand.info["n_swaps"]
    np.testing.assert_array_equal(res.info["swap_weights"], by_hand.info["swap_weights"])
    # the same with a budgets mapping and labels per chunk
    budgets = dict(zip(matroid.domains.tolist(), matroid.budgets.tolist()))
    labels = matroid.domains[matroid.codes]
    mapped = feed(mo.MatroidStreaming(f, budgets, initial=A, initial_labels=labels[A]), seq, rng, labels)
    assert mapped.indices.tolist() == res.indices.tolist()
    fA = value(A)
    opt = contracted_opt(value, matroid, A)
    assert res.objective - fA >= bounds.matroid_streaming_guarantee() * opt - 1e-9 * max(1.0, abs(fA + opt))


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 60), k=st.integers(2, 8),
       epsilon=st.sampled_from([0.1, 0.25, 0.5]), order=st.sampled_from(ORDERS), repeats=st.booleans())
def test_larger_streams_select_what_the_contracted_problem_selects(seed, n, k, epsilon, order, repeats):
    """Beyond brute force: facility location, coverage (exact small integers) and feature-based
    functions on up to 60 elements, where most elements are refused."""
    rng = np.random.default_rng(seed)
    if rng.random() < 0.5:
        f = integer_instance(rng, n)[2]
    else:
        f = mo.FeatureBased(rng.random((n, 4)) * (rng.random((n, 4)) < 0.5), concave="log1p")
    A = rng.permutation(n)[:int(rng.integers(1, min(k, n)))].tolist()
    seq = stream_order(f, n, order, rng, repeats)
    rest = seq[~np.isin(seq, A)]
    ours = feed(mo.SieveStreaming(f, k, epsilon=epsilon, initial=A), seq, rng)
    by_hand = mo.SieveStreaming(Contracted(f, A), k - len(A), epsilon=epsilon).partial_fit(rest).result()
    assert ours.indices[len(A):].tolist() == by_hand.indices.tolist()
    assert ours.info["threshold"] == by_hand.info["threshold"]
    assert ours.info["max_singleton"] == by_hand.info["max_singleton"]
    assert ours.info["n_sieves"] == by_hand.info["n_sieves"]
    matroid = random_matroid(n, rng)
    A = random_initial(matroid, rng)
    left = matroid.budgets - matroid.counts(np.asarray(A, dtype=np.int64))
    ours = feed(mo.MatroidStreaming(f, matroid, initial=A), seq, rng)
    by_hand = mo.MatroidStreaming(Contracted(f, A), mo.PartitionMatroid(matroid.codes, left))
    by_hand = by_hand.partial_fit(seq[~np.isin(seq, A)]).result()
    assert ours.indices[len(A):].tolist() == by_hand.indices.tolist()
    np.testing.assert_array_equal(ours.info["swap_weights"], by_hand.info["swap_weights"])


# ----------------------------------------------------------------------------- chunking, repeats, rows
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 8))
def test_any_chunking_selects_alike_from_an_initial_set(seed, k):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(k, 200))
    X = rng.random((n, 5)) * (rng.random((n, 5)) < 0.5)
    f = mo.FeatureBased(X)
    A = rng.permutation(n)[:int(rng.integers(1, k))].tolist()
    seq = rng.permutation(n)
    labels = rng.integers(0, 3, n)
    budgets = {0: 3, 1: 2, 2: 3}
    A = [j for j in A if labels[j] != 1][:2]  # within every budget
    one = mo.SieveStreaming(f, k, initial=A)
    swap_one = mo.MatroidStreaming(f, budgets, initial=A, initial_labels=labels[A])
    for j in seq:
        one.partial_fit([j])
        swap_one.partial_fit([j], labels[[j]])
    whole = mo.SieveStreaming(f, k, initial=A).partial_fit(seq).result()
    parts = mo.SieveStreaming(f, k, initial=A).fit(iter(chunks_of(seq, rng))).result()
    assert one.result().indices.tolist() == whole.indices.tolist() == parts.indices.tolist()
    swap_parts = mo.MatroidStreaming(f, budgets, initial=A, initial_labels=labels[A])
    swap_parts = swap_parts.fit((part, labels[part]) for part in chunks_of(seq, rng)).result()
    assert swap_one.result().indices.tolist() == swap_parts.indices.tolist()


def test_initial_elements_in_the_stream_are_skipped():
    X = np.diag([5.0, 4.0, 3.0, 2.0, 1.0])  # modular: every element is worth taking
    f = mo.FeatureBased(X)
    for stream in (mo.SieveStreaming(f, 3, initial=[0, 1]), mo.MatroidStreaming(f, {0: 3}, initial=[0, 1],
                                                                                  initial_labels=[0, 0])):
        labels = (np.zeros(7, int),) if isinstance(stream, mo.MatroidStreaming) else ()
        res = stream.partial_fit(np.array([0, 1, 0, 4, 1, 2, 3]), *labels).result()
        assert res.indices[:2].tolist() == [0, 1] and len(set(res.indices.tolist())) == 3
        assert res.objective == pytest.approx(f(res.indices)) and res.info["n_read"] == 7


def test_fit_restarts_from_the_initial_set():
    X = np.random.default_rng(0).random((300, 4))
    f = mo.FeatureBased(X)
    sieve = mo.SieveStreaming(f, 6, initial=[10, 20])
    first = sieve.fit(np.array_split(np.arange(300), 3)).result()
    again = sieve.fit([np.arange(150, 300)]).result()
    assert first.indices[:2].tolist() == again.indices[:2].tolist() == [10, 20]
    assert again.info["n_read"] == 150
    assert again.indices.tolist() == mo.SieveStreaming(f, 6, initial=[10, 20]).partial_fit(
        np.arange(150, 300)).result().indices.tolist()
    swap = mo.MatroidStreaming(f, mo.PartitionMatroid(np.arange(300) % 2, {0: 2, 1: 2}), initial=[10])
    a = swap.fit([np.arange(300)]).result()
    b = swap.fit([np.arange(300)]).result()
    assert a.indices.tolist() == b.indices.tolist() and a.indices[0] == 10 and a.info["n_read"] == 300


@pytest.mark.parametrize("algorithm", ["sieve", "swap"])
def test_initial_rows_select_what_initial_indices_select(algorithm):
    """A RowFunction started from rows named by their corpus positions selects what its ground-set
    twin started from those indices selects, and skips the rows when the stream carries them."""
    rng = np.random.default_rng(1)
    X = rng.random((400, 4))
    labels = rng.choice(["x", "y"], 400)
    A = [17, 250]
    budgets = {"x": 3, "y": 3}
    if algorithm == "sieve":
        by_rows = mo.SieveStreaming(mo.FeatureBasedRows(4), 6, initial=X[A], initial_ids=A)
        by_index = mo.SieveStreaming(mo.FeatureBased(X), 6, initial=A)
        by_rows.fit(X[i:i + 64] for i in range(0, 400, 64))
        by_index.fit(np.arange(i, min(i + 64, 400)) for i in range(0, 400, 64))
    else:
        by_rows = mo.MatroidStreaming(mo.FeatureBasedRows(4), budgets, initial=X[A], initial_ids=A,
                                      initial_labels=labels[A])
        by_index = mo.MatroidStreaming(mo.FeatureBased(X), budgets, initial=A, initial_labels=labels[A])
        by_rows.fit((X[i:i + 64], labels[i:i + 64]) for i in range(0, 400, 64))
        by_index.fit((np.arange(i, min(i + 64, 400)), labels[i:i + 64]) for i in range(0, 400, 64))
    rows, index = by_rows.result(), by_index.result()
    assert rows.indices.tolist() == index.indices.tolist() and rows.indices[:2].tolist() == A
    np.testing.assert_allclose(rows.history, index.history, rtol=1e-12)
    # rows named by a matroid over the corpus: their ids give their domains
    m = mo.PartitionMatroid(labels, budgets)
    by_matroid = mo.MatroidStreaming(mo.FeatureBasedRows(4), m, initial=X[A], initial_ids=A).partial_fit(X).result()
    assert by_matroid.indices[:2].tolist() == A and m.is_independent(by_matroid.indices)


# ----------------------------------------------------------------------------- None, full, input
def _same(a, b):
    assert a.indices.tolist() == b.indices.tolist() and a.history.tolist() == b.history.tolist()
    assert a.objective == b.objective and a.counts == b.counts and a.stop_reason == b.stop_reason
    for key in a.info:
        np.testing.assert_array_equal(a.info[key], b.info[key])
    assert a.info.keys() == b.info.keys()


def test_no_initial_set_is_the_plain_stream_bit_for_bit():
    rng = np.random.default_rng(2)
    X = rng.random((500, 6)).astype(np.float32)
    f = mo.FeatureBased(X.astype(np.float64))
    labels = rng.integers(0, 3, 500)
    budgets = {0: 2, 1: 3, 2: 1}
    cases = [
        (lambda **kw: mo.SieveStreaming(f, 7, epsilon=0.2, **kw), lambda s: s.partial_fit(np.arange(500))),
        (lambda **kw: mo.SieveStreaming(mo.FeatureBasedRows(6), 7, **kw), lambda s: s.partial_fit(X)),
        (lambda **kw: mo.MatroidStreaming(f, budgets, **kw), lambda s: s.partial_fit(np.arange(500), labels)),
        (lambda **kw: mo.MatroidStreaming(mo.FeatureBasedRows(6), mo.PartitionMatroid(labels, budgets), **kw),
         lambda s: s.partial_fit(X)),
    ]
    for make, run in cases:
        plain = run(make()).result()
        _same(run(make(initial=None)).result(), plain)
        _same(run(make(initial=[])).result(), plain)
    _same(mo.MatroidStreaming(f, budgets, initial=[], initial_labels=[]).partial_fit(np.arange(500), labels).result(),
          cases[2][1](cases[2][0]()).result())


def test_an_initial_set_that_fills_the_budgets_is_the_result():
    X = np.random.default_rng(3).random((40, 3))
    f = mo.FeatureBased(X)
    res = mo.SieveStreaming(f, 3, initial=[5, 1, 9]).partial_fit(np.arange(40)).result()
    assert res.indices.tolist() == [5, 1, 9] and res.stop_reason == "rank_reached"
    assert res.info["gain_evaluations"] == 0 and res.info["n_read"] == 40
    np.testing.assert_allclose(res.history, [f([5]), f([5, 1]), f([5, 1, 9])], rtol=1e-12)
    empty_stream = mo.SieveStreaming(f, 3, initial=[5, 1, 9]).result()
    assert empty_stream.indices.tolist() == [5, 1, 9] and empty_stream.stop_reason == "rank_reached"
    m = mo.PartitionMatroid(np.arange(40) % 2, {0: 1, 1: 2})
    res = mo.MatroidStreaming(f, m, initial=[3, 0, 7]).partial_fit(np.arange(40)).result()
    assert res.indices.tolist() == [3, 0, 7] and res.stop_reason == "rank_reached" and res.counts == {0: 1, 1: 2}
    # A shorter than k from a stream that adds nothing: A, the stream's end
    res = mo.SieveStreaming(f, 3, initial=[5]).partial_fit([5]).result()
    assert res.indices.tolist() == [5] and res.stop_reason == "stream_end" and res.objective == f([5])


def test_callback_reports_the_objective_with_the_initial_set():
    X = np.random.default_rng(4).random((100, 3))
    f = mo.FeatureBased(X)
    calls = []
    mo.SieveStreaming(f, 3, initial=[0, 1, 2], callback=lambda *a: calls.append(a) is None).partial_fit(np.arange(100))
    assert calls == [(100, 99, f([0, 1, 2]))]  # steps count the elements read


def test_torch_initial_indices():
    torch = pytest.importorskip("torch")
    f = mo.FeatureBased(np.random.default_rng(5).random((30, 3)))
    res = mo.SieveStreaming(f, 4, initial=torch.tensor([4, 2])).partial_fit(np.arange(30)).result()
    assert res.indices[:2].tolist() == [4, 2]
    assert res.indices.tolist() == mo.SieveStreaming(f, 4, initial=[4, 2]).partial_fit(np.arange(30)).result() \
        .indices.tolist()


def test_bad_initial_sets():
    f = mo.FeatureBased(np.ones((6, 2)))
    m = mo.PartitionMatroid(["a", "a", "a", "b", "b", "b"], {"a": 1, "b": 2})
    for make in (lambda A: mo.SieveStreaming(f, 2, initial=A), lambda A: mo.MatroidStreaming(f, m, initial=A)):
        with pytest.raises(ValueError, match="initial: index 6 is out of range"):
            make([0, 6])
        with pytest.raises(ValueError, match="initial: index 3 appears more than once"):
            make([3, 3])
        with pytest.raises(TypeError, match="initial: expected integer indices"):
            make([0.0, 3.0])
        with pytest.raises(ValueError, match="initial: expected a 1-D"):
            make([[0, 3]])
    with pytest.raises(ValueError, match="initial: 3 elements of domain 0 exceed its budget of 2"):
        mo.SieveStreaming(f, 2, initial=[0, 1, 2])
    with pytest.raises(ValueError, match="domain 'a' exceed its budget of 1; the initial set is infeasible"):
        mo.MatroidStreaming(f, m, initial=[0, 1])
    with pytest.raises(ValueError, match="initial_ids: ground-set indices name the initial elements"):
        mo.SieveStreaming(f, 2, initial=[0], initial_ids=[0])
    with pytest.raises(ValueError, match="initial_labels: the matroid gives every element's domain"):
        mo.MatroidStreaming(f, m, initial=[0], initial_labels=["a"])
    # a budgets mapping: A's domains come from initial_labels
    budgets = {"a": 1, "b": 2}
    with pytest.raises(ValueError, match="initial_labels: with a budgets mapping the initial elements need"):
        mo.MatroidStreaming(f, budgets, initial=[0])
    with pytest.raises(ValueError, match="initial_labels: 1 labels for an initial set of 2 elements"):
        mo.MatroidStreaming(f, budgets, initial=[0, 3], initial_labels=["a"])
    with pytest.raises(ValueError, match="initial_labels: element 3 has domain 'c', which has no budget"):
        mo.MatroidStreaming(f, budgets, initial=[0, 3], initial_labels=["a", "c"])
    with pytest.raises(ValueError, match="initial: 2 elements of domain 'a' exceed its budget of 1"):
        mo.MatroidStreaming(f, budgets, initial=[0, 3], initial_labels=["a", "a"])
    with pytest.raises(ValueError, match="initial: index 9 is out of range"):
        mo.MatroidStreaming(f, budgets, initial=[9], initial_labels=["a"])
    # rows
    rows = mo.FeatureBasedRows(2)
    with pytest.raises(ValueError, match="initial_ids: initial feature rows need their ids"):
        mo.SieveStreaming(rows, 2, initial=np.ones((1, 2)))
    with pytest.raises(ValueError, match="initial: the initial rows are invalid: X: expected rows of 2 features"):
        mo.SieveStreaming(rows, 2, initial=np.ones((1, 3)), initial_ids=[0])
    with pytest.raises(ValueError, match="initial: the initial rows are invalid: X: row 0 has a negative entry"):
        mo.SieveStreaming(rows, 2, initial=-np.ones((1, 2)), initial_ids=[0])
    with pytest.raises(ValueError, match="initial_ids: 1 ids for an initial set of 2 rows"):
        mo.SieveStreaming(rows, 2, initial=np.ones((2, 2)), initial_ids=[0])
    with pytest.raises(TypeError, match="initial_ids: expected integers"):
        mo.SieveStreaming(rows, 2, initial=np.ones((1, 2)), initial_ids=[0.5])
    with pytest.raises(ValueError, match="initial_ids: id 4 appears more than once"):
        mo.SieveStreaming(rows, 2, initial=np.ones((2, 2)), initial_ids=[4, 4])
    with pytest.raises(ValueError, match="initial: 3 elements of domain 0 exceed its budget of 2"):
        mo.SieveStreaming(rows, 2, initial=np.ones((3, 2)), initial_ids=[0, 1, 2])
    with pytest.raises(ValueError, match="initial_ids: 1 ids for an initial set of 0 rows"):
        mo.SieveStreaming(rows, 2, initial=None, initial_ids=[1])
    with pytest.raises(ValueError, match="initial: index 6 is out of range"):
        mo.MatroidStreaming(rows, m, initial=np.ones((1, 2)), initial_ids=[6])
    with pytest.raises(ValueError, match="domain 'a' exceed its budget of 1"):
        mo.MatroidStreaming(rows, m, initial=np.ones((2, 2)), initial_ids=[0, 1])
