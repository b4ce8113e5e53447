"""Partition matroids and the budget rules: construction, queries, brute-force matroid facts."""

import math
from collections import Counter
from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidomp as mo

# ----------------------------------------------------------------------------- construction


def _py(x):
    return x.item() if hasattr(x, "item") else x


@pytest.mark.parametrize(
    "labels, budgets, domains, expected",
    [
        ([0, 1, 1, 2, 2, 2], {0: 1, 1: 2, 2: 0}, [0, 1, 2], [1, 2, 0]),
        ([2, 0, 2, 1], [1, 1, 2], [0, 1, 2], [1, 1, 2]),  # sequence aligned with sorted domains
        (np.array([5, 5, 9], dtype=np.int32), {5: 2, 9: 1}, [5, 9], [2, 1]),
        (np.array([3, 3, 3], dtype=np.uint8), 2, [3], [2]),  # one domain: a single int
        (["math", "chem", "math"], {"chem": 1, "math": 2}, ["chem", "math"], [1, 2]),
        (np.array(["b", "a", "b"]), [1, 1], ["a", "b"], [1, 1]),
        (np.array(["x", "y"], dtype=object), {"x": 1, "y": 0}, ["x", "y"], [1, 0]),
        ([1.0, 2.0, 2.0], {1: 1, 2: 2}, [1, 2], [1, 2]),  # whole-number floats are ints
        ([True, False, True], {False: 1, True: 1}, [False, True], [1, 1]),
        (np.array([0, 0, 1]), {np.int64(0): np.int64(2), np.int64(1): 1}, [0, 1], [2, 1]),
        ([0, 0, 1], [np.int64(1), 1.0], [0, 1], [1, 1]),  # numpy ints, integral floats
    ],
)
def test_construction_label_and_budget_kinds(labels, budgets, domains, expected):
    m = mo.PartitionMatroid(labels, budgets)
    assert m.domains.tolist() == domains
    assert m.budgets.tolist() == expected
    assert m.budgets.dtype == np.int64 and m.codes.dtype == np.int64
    assert m.n == len(labels) and m.n_domains == len(domains)
    # codes index into domains
    assert [_py(m.domains[c]) for c in m.codes] == [_py(x) for x in np.asarray(labels)]
    np.testing.assert_array_equal(m.sizes, [Counter(np.asarray(labels).tolist())[d] for d in m.domains.tolist()])
    assert "PartitionMatroid(n=" in repr(m)


def test_construction_errors():
    labels = [0, 0, 1]
    with pytest.raises(ValueError, match="domain 2 does not occur"):
        mo.PartitionMatroid(labels, {0: 1, 1: 1, 2: 1})
    with pytest.raises(ValueError, match=r"no budget given for domain\(s\) \[1\]"):
        mo.PartitionMatroid(labels, {0: 1})
    with pytest.raises(ValueError, match="domain 0 has budget 3 but only 2"):
        mo.PartitionMatroid(labels, {0: 3, 1: 1})
    with pytest.raises(ValueError, match="expected 2 budgets"):
        mo.PartitionMatroid(labels, [1, 1, 1])
    with pytest.raises(ValueError, match="single int needs a single domain"):
        mo.PartitionMatroid(labels, 1)
    with pytest.raises(ValueError, match="budget must be >= 0"):
        mo.PartitionMatroid(labels, {0: -1, 1: 1})
    with pytest.raises(TypeError, match="expected an int budget"):
        mo.PartitionMatroid(labels, {0: 1.5, 1: 1})
    with pytest.raises(TypeError, match="expected an int budget"):
        mo.PartitionMatroid(labels, {0: True, 1: 1})
    with pytest.raises(TypeError, match="expected an int budget"):
        mo.PartitionMatroid(labels, {0: "1", 1: 1})
    with pytest.raises(ValueError, match="1-D"):
        mo.PartitionMatroid([[0, 1]], [1, 1])
    with pytest.raises(ValueError, match="whole numbers"):
        mo.PartitionMatroid([0.5, 1.0], [1, 1])
    with pytest.raises(ValueError, match="whole numbers"):
        mo.PartitionMatroid([np.nan, 1.0], [1, 1])
    with pytest.raises(TypeError, match="ints or strings"):
        mo.PartitionMatroid(np.array([1j, 2j]), [1, 1])


@pytest.mark.parametrize(
    "labels, match",
    [
        ([1, 1, "1", "1"], r"entry 0 is int 1 but entry 2 is str '1'"),
        (np.array([1, 1, "1", "1"], dtype=object), r"entry 0 is int 1 but entry 2 is str '1'"),
        (["a", np.int64(2)], r"entry 0 is str 'a' but entry 1 is int64 2"),
        ([0.0, "0"], r"entry 0 is float 0.0 but entry 1 is str '0'"),
        (["x", b"x"], r"entry 0 is str 'x' but entry 1 is bytes b'x'"),
        ([0, 1 + 2j], r"entry 1 has type complex"),
        ([0, object()], r"entry 1 has type object"),
    ],
)
def test_mixed_or_unsupported_label_types_are_refused(labels, match):
    """Regression: encode_labels turned an object array into strings, so 1 and '1' became one domain."""
    with pytest.raises(TypeError, match=match):
        mo.PartitionMatroid(labels, 1)
    with pytest.raises(TypeError, match=match):
        mo.proportional_budgets(labels, 1)


@pytest.mark.parametrize(
    "labels, match",
    [
        ([0, 1, None, 1], "entry 2 is None"),
        (np.array(["a", None], dtype=object), "entry 1 is None"),
        ([None], "entry 0 is None"),
        ([0, float("nan")], "entry 1 is nan"),
        (np.array([2.0, 1.0, np.nan]), "entry 2 is nan"),
        (np.array([1.0, np.inf]), "entry 1 is inf"),
        ([1e20, 2e20], "entry 0 is 1e\\+20"),  # int64 would wrap both to one domain
    ],
)
def test_missing_labels_are_refused_naming_the_position(labels, match):
    """Regression: None became the domain 'None'; NaN was refused without saying where."""
    with pytest.raises(ValueError, match=match):
        mo.PartitionMatroid(labels, 1)


@pytest.mark.parametrize(
    "labels, domains",
    [
        ([3, 1, 3], [1, 3]),
        ([np.int64(3), 1, np.int8(3)], [1, 3]),  # numpy and Python ints are one kind
        ([True, False], [False, True]),
        ([1.0, 2, 2.0], [1, 2]),  # whole floats are ints, as 1 == 1.0
        (["b", np.str_("a"), "b"], ["a", "b"]),
        ([b"x", b"y"], [b"x", b"y"]),
        (("q", "p"), ["p", "q"]),
        (np.array(["b", "a"]), ["a", "b"]),
        (np.array([7, 5], dtype=np.uint16), [5, 7]),
        (np.array(["b", "a", "b"], dtype=object), ["a", "b"]),
        (np.array([2, 1], dtype=object), [1, 2]),
        (np.array(["None", "nan"]), ["None", "nan"]),  # strings that merely read like missing values
        ([], []),
    ],
)
def test_homogeneous_labels_keep_working(labels, domains):
    m = mo.PartitionMatroid(labels, [0] * len(domains))
    assert m.domains.tolist() == domains
    assert m.n == len(labels)
    assert m.domains.dtype.kind in "iubUS"


def test_torch_int_tensor_labels():
    torch = pytest.importorskip("torch")
    m = mo.make_matroid(torch.tensor([2, 0, 2, 2]), "proportional", 2)
    assert m.domains.tolist() == [0, 2] and m.budgets.tolist() == [1, 1]
    assert mo.proportional_budgets(torch.tensor([2, 0, 2, 2], dtype=torch.int32), 2) == {0: 1, 2: 1}


def test_clip_to_size_allows_oversized_budgets():
    m = mo.PartitionMatroid([0, 0, 1], {0: 5, 1: 1}, clip_to_size=True)
    assert m.budgets.tolist() == [5, 1]
    assert m.rank == 3
    assert m.is_independent([0, 1, 2])
    assert list(m.bases()) == [(0, 1, 2)]


def test_empty_ground_set():
    m = mo.PartitionMatroid([], {})
    assert m.n == 0 and m.n_domains == 0 and m.rank == 0
    assert m.is_independent([])
    assert list(m.independent_sets()) == [()]
    assert list(m.bases()) == [()]
    assert m.counts([]).tolist() == []
    assert m.feasible_mask(np.zeros(0, dtype=np.int64)).shape == (0,)


# ----------------------------------------------------------------------------- cardinality


@pytest.mark.parametrize("n, k", [(0, 0), (1, 0), (1, 1), (5, 3), (7, 7)])
def test_cardinality(n, k):
    m = mo.PartitionMatroid.cardinality(n, k)
    assert m.n == n and m.rank == min(n, k)
    bases = list(m.bases())
    assert bases == list(combinations(range(n), min(n, k)))
    if n:
        assert m.domains.tolist() == [0] and m.budgets.tolist() == [k]
        assert m.count_dict(range(min(n, k))) == {0: min(n, k)}


def test_cardinality_errors():
    with pytest.raises(ValueError, match="budget must be >= 0"):
        mo.PartitionMatroid.cardinality(4, -1)
    with pytest.raises(TypeError, match="expected an int budget"):
        mo.PartitionMatroid.cardinality(4, 1.5)
    with pytest.raises(ValueError, match="budget 5 but only 3"):
        mo.PartitionMatroid.cardinality(3, 5)
    with pytest.raises(ValueError, match="n: .*>= 0"):
        mo.PartitionMatroid.cardinality(-1, 0)
    with pytest.raises(TypeError, match="n: "):
        mo.PartitionMatroid.cardinality("a", 0)


# ----------------------------------------------------------------------------- queries


def test_counts_and_count_dict():
    m = mo.PartitionMatroid(["b", "a", "b", "c", "b"], {"a": 1, "b": 2, "c": 1})
    assert m.counts([]).tolist() == [0, 0, 0]
    assert m.counts([0, 2, 3]).tolist() == [0, 2, 1]
    assert m.counts(np.array([[1], [4]])).tolist() == [1, 1, 0]  # any shape is flattened
    d = m.count_dict([0, 1])
    assert d == {"a": 1, "b": 1, "c": 0}
    assert all(type(key) is str for key in d)
    assert all(type(v) is int for v in d.values())
    ints = mo.PartitionMatroid(np.array([7, 7, 8]), [2, 1])
    assert all(type(key) is int for key in ints.count_dict([0]))  # numpy scalars are unwrapped


@pytest.mark.parametrize("bad", [[-1], [0, -3], [5], np.array([1, 5])])
def test_counts_refuse_negative_and_out_of_range_indices(bad):
    """Regression: counts([-1]) counted the last element instead of refusing the index."""
    m = mo.PartitionMatroid(["b", "a", "b", "c", "b"], {"a": 1, "b": 2, "c": 1})
    index = int(np.asarray(bad)[(np.asarray(bad) < 0) | (np.asarray(bad) >= 5)][0])
    with pytest.raises(ValueError, match=f"indices: index {index} is out of range for a pool of 5"):
        m.counts(bad)
    with pytest.raises(ValueError, match=f"index {index} is out of range"):
        m.count_dict(bad)


def test_counts_refuse_non_integer_indices():
    m = mo.PartitionMatroid([0, 0, 1], {0: 1, 1: 1})
    with pytest.raises(TypeError, match="indices: expected integers"):
        m.counts([0.0, 1.0])


def test_feasible_mask():
    m = mo.PartitionMatroid([0, 0, 1, 1, 2], {0: 1, 1: 2, 2: 0})
    counts = np.array([0, 0, 0])
    assert m.feasible_mask(counts).tolist() == [True, True, True, True, False]
    assert m.feasible_mask(np.array([1, 1, 0])).tolist() == [False, False, True, True, False]
    selected = np.array([False, False, True, False, False])
    assert m.feasible_mask(np.array([0, 1, 0]), selected).tolist() == [True, True, False, True, False]
    assert m.feasible_mask(np.array([1, 2, 0]), selected).tolist() == [False] * 5


def test_is_independent_edge_cases():
    m = mo.PartitionMatroid([0, 0, 1], {0: 1, 1: 1})
    assert m.is_independent([])
    assert m.is_independent(np.array([0, 2]))
    assert not m.is_independent([0, 1])  # over budget
    assert not m.is_independent([2, 2])  # repeat
    assert not m.is_independent([3])  # out of range
    assert not m.is_independent([-1])  # negative is not an index here


@st.composite
def small_matroids(draw, max_n=9):
    n = draw(st.integers(0, max_n))
    labels = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=n, max_size=n))
    domains = sorted(set(labels))
    budgets = {d: draw(st.integers(0, labels.count(d))) for d in domains}
    return labels, budgets


@settings(max_examples=60, deadline=None)
@given(small_matroids())
def test_brute_force_matroid_facts(lb):
    labels, budgets = lb
    m = mo.PartitionMatroid(labels, budgets)
    n = len(labels)
    all_subsets = [s for r in range(n + 1) for s in combinations(range(n), r)]
    expected = [s for s in all_subsets if all(sum(labels[i] == d for i in s) <= k for d, k in budgets.items())]
    got = list(m.independent_sets())
    assert sorted(got) == sorted(expected)
    assert len(set(got)) == len(got)
    # membership test agrees with the enumeration on every subset
    indep = set(expected)
    for s in all_subsets:
        assert m.is_independent(list(s)) == (s in indep)
    # rank = sum_d min(k_d, n_d) = size of the largest independent set; bases are exactly the maximal ones
    assert m.rank == sum(min(k, labels.count(d)) for d, k in budgets.items())
    assert m.rank == max(len(s) for s in expected)
    bases = list(m.bases())
    assert sorted(bases) == sorted(s for s in expected if len(s) == m.rank)
    maximal = [s for s in expected if not any(set(s) < set(t) for t in expected)]
    assert sorted(maximal) == sorted(bases)
    # number of bases = prod_d C(n_d, k_d)
    from math import comb, prod

    assert len(bases) == prod(comb(labels.count(d), k) for d, k in budgets.items())
    # the augmentation axiom: a smaller independent set can be extended from a larger one
    for a in expected[:20]:
        for b in expected[-20:]:
            if len(a) < len(b):
                assert any(m.is_independent(list(a) + [x]) for x in set(b) - set(a))
    # independent_sets(max_size) truncates
    assert all(len(s) <= 1 for s in m.independent_sets(1))
    # feasible_mask from a set's counts marks exactly the one-element extensions
    for s in expected[:30]:
        sel = np.zeros(n, dtype=bool)
        sel[list(s)] = True
        mask = m.feasible_mask(m.counts(list(s)), sel)
        for j in range(n):
            assert mask[j] == (j not in s and m.is_independent(list(s) + [j]))


# ----------------------------------------------------------------------------- proportional budgets


def reference_proportional(sizes, k):
    """The authors' rule written out: floors, then +1 to the smallest floors (ties: domain order)."""
    n = sum(sizes)
    floors = [s * k // n for s in sizes]
    budgets = list(floors)
    leftover = k - sum(floors)
    while leftover:
        for d in sorted(range(len(sizes)), key=lambda d: (floors[d], d)):
            if leftover and budgets[d] < sizes[d]:
                budgets[d] += 1
                leftover -= 1
    return budgets


label_multisets = st.lists(st.integers(0, 6), min_size=1, max_size=200)


@settings(max_examples=300, deadline=None)
@given(labels=label_multisets, frac=st.floats(0, 1))
def test_proportional_budgets_properties(labels, frac):
    n = len(labels)
    k = int(round(frac * n))
    budgets = mo.proportional_budgets(labels, k)
    domains = sorted(set(labels))
    assert list(budgets) == domains
    sizes = [labels.count(d) for d in domains]
    got = [budgets[d] for d in domains]
    assert sum(got) == k
    floors = [s * k // n for s in sizes]
    for g, s, f in zip(got, sizes, floors):
        assert 0 <= g <= s  # never above the domain size
        assert f <= g <= f + 1  # leftovers are at most one per domain (they are < #domains)
    # leftovers go to the smallest floors first: nobody with a larger floor gets one ahead of a smaller
    bumped = [d for d in range(len(domains)) if got[d] > floors[d]]
    not_bumped = [d for d in range(len(domains)) if got[d] == floors[d]]
    for a in bumped:
        for b in not_bumped:
            assert (floors[a], a) < (floors[b], b)
    assert got == reference_proportional(sizes, k)
    assert all(type(v) is int for v in budgets.values())
    # it builds a valid matroid of rank k
    assert mo.make_matroid(labels, "proportional", k).rank == k


@pytest.mark.parametrize(
    "labels, k, expected",
    [
        ([0] * 50 + [1] * 25 + [2] * 15 + [3] * 10, 10, {0: 5, 1: 2, 2: 2, 3: 1}),  # floors 5,2,1,1: tie at 1 -> domain 2
        ([0] * 6 + [1] * 3 + [2] * 1, 3, {0: 1, 1: 1, 2: 1}),  # floors 1,0,0: leftovers to domains 1, 2
        (["a"] * 7 + ["b"] * 1, 1, {"a": 1, "b": 0}),  # floors 0,0: the tie goes in domain order
        (["a"] * 7 + ["b"] * 1, 8, {"a": 7, "b": 1}),  # k = n takes everything
        ([3, 3, 3], 0, {3: 0}),
        ([], 0, {}),
    ],
)
def test_proportional_budgets_examples(labels, k, expected):
    budgets = mo.proportional_budgets(labels, k)
    assert budgets == expected
    assert [budgets[d] for d in expected] == [expected[d] for d in expected]


def test_proportional_budgets_errors():
    with pytest.raises(ValueError, match="cannot select 4 elements from a pool of 3"):
        mo.proportional_budgets([0, 1, 1], 4)
    with pytest.raises(ValueError, match="budget must be >= 0"):
        mo.proportional_budgets([0, 1, 1], -1)
    with pytest.raises(TypeError, match="expected an int budget"):
        mo.proportional_budgets([0, 1, 1], 1.5)


def reference_authors(sizes, k):
    """The PartitionSel authors' rule, re-derived from their description in Python floats.

    Shares (n_d / n) * k in double precision, floored; the leftover slots go one at a time to
    the domains cycled in ascending order of their floor (ties: domain order). Their code assumes
    no domain is full when its turn comes (it asserts afterwards); we skip full ones.
    """
    n = sum(sizes)
    floors = [math.floor(s / n * k) for s in sizes]
    budgets = list(floors)
    cycle = sorted(range(len(sizes)), key=lambda d: (floors[d], d))
    turn = 0
    while sum(budgets) < k:
        d = cycle[turn % len(cycle)]
        turn += 1
        if budgets[d] < sizes[d]:
            budgets[d] += 1
    return budgets


def test_authors_rule_matches_the_reference_on_many_random_pools():
    rng = np.random.default_rng(2026)
    differ = 0
    for _ in range(20_000):
        sizes = [int(s) for s in rng.integers(1, 300, size=rng.integers(1, 8))]
        k = int(rng.integers(0, sum(sizes) + 1))
        labels = np.repeat(np.arange(len(sizes)), sizes)
        authors = mo.proportional_budgets(labels, k, rule="authors")
        assert list(authors.values()) == reference_authors(sizes, k), (sizes, k)
        integer = mo.proportional_budgets(labels, k)
        assert list(integer.values()) == reference_proportional(sizes, k)
        differ += authors != integer
    assert 0 < differ < 200  # a few in ten thousand: float rounding, not a different rule


def test_the_two_proportional_rules_differ_where_float_rounding_bites():
    labels = [0] * 1 + [1] * 13 + [2] * 30
    assert 30 * 22 // 44 == 15 and math.floor(30 / 44 * 22) == 14  # (30 / 44) * 22 = 14.999...
    assert mo.proportional_budgets(labels, 22) == {0: 1, 1: 6, 2: 15}
    assert mo.proportional_budgets(labels, 22, rule="integer") == {0: 1, 1: 6, 2: 15}
    assert mo.proportional_budgets(labels, 22, rule="authors") == {0: 1, 1: 7, 2: 14}
    default = mo.make_matroid(labels, "proportional", 22)
    assert dict(zip(default.domains.tolist(), default.budgets.tolist())) == {0: 1, 1: 6, 2: 15}
    authors = mo.make_matroid(labels, "proportional-authors", 22)
    assert dict(zip(authors.domains.tolist(), authors.budgets.tolist())) == {0: 1, 1: 7, 2: 14}


def test_authors_rule_never_exceeds_a_domain_size():
    """k = n: floors 7 and 14 (15/22*22 = 14.999...); the leftover would go to the full domain 0."""
    labels = ["a"] * 7 + ["b"] * 15
    assert math.floor(15 / 22 * 22) == 14
    assert mo.proportional_budgets(labels, 22, rule="authors") == {"a": 7, "b": 15}


def test_proportional_rule_must_be_known():
    with pytest.raises(ValueError, match="rule: expected one of \\['integer', 'authors'\\], got 'float'"):
        mo.proportional_budgets([0, 1], 1, rule="float")
    with pytest.raises(ValueError, match="unknown rule 'proportional-float'"):
        mo.make_matroid([0, 1], "proportional-float", 1)


# ----------------------------------------------------------------------------- equal budgets


@settings(max_examples=300, deadline=None)
@given(labels=label_multisets, frac=st.floats(0, 1))
def test_equal_budgets_properties(labels, frac):
    n = len(labels)
    k = int(round(frac * n))
    budgets = mo.equal_budgets(labels, k)
    domains = sorted(set(labels))
    assert list(budgets) == domains
    sizes = {d: labels.count(d) for d in domains}
    assert sum(budgets.values()) == k
    for d in domains:
        assert 0 <= budgets[d] <= sizes[d]
    # as even as possible: two domains differ by more than one only if the smaller one is full
    for a in domains:
        for b in domains:
            if budgets[a] < budgets[b] - 1:
                assert budgets[a] == sizes[a]
    # and no budget is below an uncapped water level: the uncapped ones get floor or ceil of it
    uncapped = [d for d in domains if budgets[d] < sizes[d]]
    if uncapped:
        lo = min(budgets[d] for d in uncapped)
        assert all(budgets[d] <= lo + 1 for d in domains)


@pytest.mark.parametrize(
    "labels, k, expected",
    [
        ([0] * 5 + [1] * 5 + [2] * 5, 7, {0: 3, 1: 2, 2: 2}),  # remainder in domain order
        ([0] * 1 + [1] * 10 + [2] * 10, 9, {0: 1, 1: 4, 2: 4}),  # capped domain's share redistributed
        (["x", "y"], 2, {"x": 1, "y": 1}),
        ([0, 0, 1], 0, {0: 0, 1: 0}),
        ([], 0, {}),
    ],
)
def test_equal_budgets_examples(labels, k, expected):
    assert mo.equal_budgets(labels, k) == expected


def test_equal_budgets_errors():
    with pytest.raises(ValueError, match="cannot select 3 elements from a pool of 2"):
        mo.equal_budgets([0, 1], 3)
    with pytest.raises(ValueError, match="budget must be >= 0"):
        mo.equal_budgets([0, 1], -2)


# ----------------------------------------------------------------------------- make_matroid


def test_make_matroid_rules_and_mappings():
    labels = ["m"] * 6 + ["c"] * 3 + ["p"]
    prop = mo.make_matroid(labels, "proportional", 5)
    assert prop.count_dict([]) == {"c": 0, "m": 0, "p": 0}
    assert dict(zip(prop.domains.tolist(), prop.budgets.tolist())) == mo.proportional_budgets(labels, 5)
    eq = mo.make_matroid(labels, "equal", 5)
    assert dict(zip(eq.domains.tolist(), eq.budgets.tolist())) == {"c": 2, "m": 2, "p": 1}
    explicit = mo.make_matroid(labels, {"m": 2, "c": 2, "p": 1}, 5)
    assert explicit.budgets.tolist() == [2, 2, 1]
    assert mo.make_matroid(labels, {"m": 2, "c": 2, "p": 1}).rank == 5  # k optional
    seq = mo.make_matroid(labels, [1, 1, 1], 3)
    assert seq.budgets.tolist() == [1, 1, 1]
    ready = mo.PartitionMatroid(labels, {"m": 1, "c": 1, "p": 1})
    assert mo.make_matroid(labels, ready) is ready


def test_make_matroid_errors():
    labels = [0, 0, 1, 1, 2]
    with pytest.raises(ValueError, match="unknown rule 'uniform'"):
        mo.make_matroid(labels, "uniform", 2)
    with pytest.raises(ValueError, match="needs the total k"):
        mo.make_matroid(labels, "proportional")
    with pytest.raises(ValueError, match="budgets sum to 3 but k = 4"):
        mo.make_matroid(labels, {0: 1, 1: 1, 2: 1}, 4)
    with pytest.raises(ValueError, match="domain 7 does not occur"):
        mo.make_matroid(labels, {0: 1, 1: 1, 2: 1, 7: 1}, 4)
    with pytest.raises(ValueError, match=r"no budget given for domain\(s\) \[2\]"):
        mo.make_matroid(labels, {0: 1, 1: 1}, 2)
    with pytest.raises(ValueError, match="matroid has 3 elements but labels have 5"):
        mo.make_matroid(labels, mo.PartitionMatroid.cardinality(3, 1))
    with pytest.raises(ValueError, match="cannot select 9 elements"):
        mo.make_matroid(labels, "equal", 9)
