"""Facility location, feature-based and coverage functions: values, gains, laws, input checks."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics.pairwise import cosine_similarity, euclidean_distances

from matroidomp.kernels import submodular_gains as kg
from matroidomp._submodular import (
    _PARALLEL_MIN,
    Coverage,
    FacilityLocation,
    FeatureBased,
    similarity_matrix,
)
from submodular_cases import KINDS, make_function, reference

FAST = settings(max_examples=60, deadline=None)


def _random_chain(n, rng):
    """A random order of the ground set; its prefixes form a chain of sets."""
    return [int(j) for j in rng.permutation(n)]


@FAST
@given(kind=st.sampled_from(KINDS), n=st.integers(1, 10), ties=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_state_gains_and_values_match_the_definition(kind, n, ties, seed):
    rng = np.random.default_rng(seed)
    f, data = make_function(kind, n, rng, ties=ties)
    state = f.new_state()
    S = []
    for j in _random_chain(n, rng)[: int(rng.integers(0, n + 1))]:
        base = reference(kind, data, S)
        assert state.value == pytest.approx(base, rel=1e-9, abs=1e-12)
        everyone = np.arange(n)
        expected = [reference(kind, data, S + [c]) - base for c in everyone]
        np.testing.assert_allclose(state.gains(everyone), expected, rtol=1e-9, atol=1e-12)
        state.add(j)
        S.append(j)
    assert state.value == pytest.approx(reference(kind, data, S), rel=1e-9, abs=1e-12)
    assert f(S) == pytest.approx(reference(kind, data, S), rel=1e-9, abs=1e-12)


@FAST
@given(kind=st.sampled_from(KINDS), n=st.integers(2, 10), ties=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_monotone_and_submodular_on_random_sets(kind, n, ties, seed):
    """For A ⊆ B and j ∉ B: f(A) <= f(B) and f(A + j) - f(A) >= f(B + j) - f(B) (definition)."""
    rng = np.random.default_rng(seed)
    _, data = make_function(kind, n, rng, ties=ties)
    order = _random_chain(n, rng)
    b = int(rng.integers(0, n))
    a = int(rng.integers(0, b + 1))
    A, B, j = order[:a], order[:b], order[b]
    fA, fB = reference(kind, data, A), reference(kind, data, B)
    assert fA <= fB + 1e-12
    assert reference(kind, data, A + [j]) - fA >= reference(kind, data, B + [j]) - fB - 1e-12


@FAST
@given(kind=st.sampled_from(KINDS), n=st.integers(1, 12), ties=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_computed_gains_never_increase_as_the_set_grows(kind, n, ties, seed):
    """Exactly, in floating point: the property that makes lazy greedy equal naive greedy."""
    rng = np.random.default_rng(seed)
    f, _ = make_function(kind, n, rng, ties=ties)
    state = f.new_state()
    everyone = np.arange(n)
    previous = state.gains(everyone)
    assert np.all(previous >= 0)
    for j in _random_chain(n, rng):
        state.add(j)
        current = state.gains(everyone)
        assert np.all(current <= previous)
        assert np.all(current >= 0)
        previous = current


@pytest.mark.parametrize("kind", KINDS)
def test_gains_are_bitwise_identical_alone_and_in_batches(kind):
    """Serial and parallel kernels, any batch order: one candidate, one exact float."""
    rng = np.random.default_rng(7)
    n = 2 * _PARALLEL_MIN + 3
    if kind == "facility":
        f = FacilityLocation(rng.random((97, n)))  # float64: float32 sums would be exact
    elif kind == "coverage":
        f = Coverage(rng.random((200, n)) < 0.05, rng.random(200))
    else:
        f = FeatureBased(rng.random((n, 41)) ** 3, concave=kind.split("_")[1])
    state = f.new_state()
    for j in rng.choice(n, 5, replace=False):
        state.add(int(j))
    everyone = np.arange(n)
    batch = state.gains(everyone)  # parallel kernel
    some = rng.choice(n, 50, replace=False)
    alone = np.array([state.gains(np.array([j]))[0] for j in some])  # serial kernel
    assert np.array_equal(alone, batch[some])
    perm = rng.permutation(n)
    assert np.array_equal(state.gains(perm), batch[perm])
    assert np.array_equal(state.gains(some), batch[some])


def test_float32_similarity_is_kept_and_symmetric_input_is_not_copied():
    rng = np.random.default_rng(0)
    S = similarity_matrix(rng.standard_normal((50, 4)).astype(np.float32))
    f = FacilityLocation(S)
    assert S.dtype == np.float32
    assert np.shares_memory(f._sim_t, S)
    rect = rng.random((30, 50))
    g = FacilityLocation(rect)
    assert (g.m, g.n) == (30, 50)
    assert g([3, 9]) == pytest.approx(rect[:, [3, 9]].max(axis=1).sum(), rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_similarity_matrix_matches_its_definition(dtype):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 6)).astype(dtype)
    X[5] = 0  # a zero row has cosine 0 with everything
    tol = 1e-5 if dtype == np.float32 else 1e-12
    cos = similarity_matrix(X, "cosine")
    assert cos.dtype == dtype and np.array_equal(cos, cos.T) and cos.min() >= 0
    np.testing.assert_allclose(cos, (1 + cosine_similarity(X.astype(float))) / 2, atol=tol)
    euc = similarity_matrix(X, "euclidean")
    d2 = euclidean_distances(X.astype(float), squared=True)
    assert np.array_equal(euc, euc.T) and euc.min() >= 0
    np.testing.assert_allclose(euc, d2.max() - d2, atol=tol * d2.max())
    f = FacilityLocation.from_features(X, metric="euclidean")
    assert f([0, 1]) == pytest.approx(euc[:, [0, 1]].max(axis=1).sum(), rel=1e-6)


def test_sparse_and_dense_incidence_agree():
    rng = np.random.default_rng(2)
    A = rng.random((30, 20)) < 0.2
    w = rng.random(30)
    dense, sparse = Coverage(A.astype(np.int8), w), Coverage(sp.csr_matrix(A.astype(float)), w)
    for S in ([], [0], [1, 5, 7], list(range(20))):
        assert dense(S) == pytest.approx(w[A[:, S].any(axis=1)].sum(), rel=1e-12)
        assert sparse(S) == dense(S)
    assert Coverage(A)([2, 3]) == A[:, [2, 3]].any(axis=1).sum()


def test_empty_ground_set():
    for f in (FacilityLocation(np.zeros((4, 0))), FeatureBased(np.zeros((0, 3))), Coverage(np.zeros((4, 0)))):
        assert f.n == 0
        assert f([]) == 0.0
        assert f.new_state().gains(np.array([], dtype=np.int64)).shape == (0,)


@pytest.mark.parametrize(
    "make, exc, match",
    [
        (lambda: FacilityLocation(np.array([[0.5, -0.1], [0.2, 0.3]])), ValueError, r"\(0, 1\).*< 0"),
        (lambda: FacilityLocation(np.array([[0.5, np.nan], [0.2, 0.3]])), ValueError, "NaN"),
        (lambda: FacilityLocation(np.ones(4)), ValueError, "2-D"),
        (lambda: FacilityLocation(np.ones((2, 2, 2))), ValueError, "2-D"),
        (lambda: FacilityLocation(np.array([["a", "b"]])), TypeError, "real numeric"),
        (lambda: FacilityLocation.from_features(np.ones((3, 2)), metric="manhattan"), ValueError, "metric"),
        (lambda: FeatureBased(np.array([[1.0, -2.0]])), ValueError, "row 0"),
        (lambda: FeatureBased(np.ones((3, 2)), concave="square"), ValueError, "concave"),
        (lambda: FeatureBased(np.array([[np.inf, 1.0]])), ValueError, "NaN or Inf"),
        (lambda: Coverage(np.array([[0, 2], [1, 0]])), ValueError, "0 or 1"),
        (lambda: Coverage(sp.csr_matrix(np.array([[0.0, 0.5]]))), ValueError, "0 or 1"),
        (lambda: Coverage(np.ones(3)), ValueError, "2-D"),
        (lambda: Coverage(np.ones((2, 3)), weights=np.ones(3)), ValueError, "length 3"),
        (lambda: Coverage(np.ones((2, 3)), weights=np.array([1.0, -1.0])), ValueError, "negative"),
        (lambda: Coverage(np.ones((2, 3)), weights=np.array([1.0, np.nan])), ValueError, "not finite"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda A: FacilityLocation.from_features(A), "X"),
        (lambda A: FeatureBased(A), "features"),
    ],
)
def test_sparse_matrices_are_refused_with_a_pointer_to_toarray(make, name):
    """Regression: a scipy.sparse input failed with 'got dtype object'. Sparse features are
    still refused (a sparse *similarity* is accepted: tests/test_sparse_facloc.py)."""
    A = sp.csr_matrix(np.array([[1.0, 0.0], [0.5, 1.0]]))
    with pytest.raises(TypeError, match=rf"{name}: scipy.sparse matrices are not supported yet.*{name}.toarray\(\)"):
        make(A)
    make(A.toarray())  # the suggested fix works


def test_a_sparse_similarity_is_accepted():
    """Formerly refused like the features above; now the same function as its dense array."""
    A = sp.csr_matrix(np.array([[1.0, 0.0], [0.5, 1.0]]))
    assert FacilityLocation(A)([0]) == FacilityLocation(A.toarray())([0]) == 1.5


def test_feature_sums_that_overflow_float64_are_refused():
    """Regression: huge features gave f(S) = inf (and zero gains) without a word."""
    X = np.array([[1e308, 1.0], [1e308, 2.0], [0.0, 1.0]])
    message = r"features: the sum of column 0 over the candidates overflows float64.*rescale X"
    with pytest.raises(ValueError, match=message):
        FeatureBased(X)
    with pytest.raises(ValueError, match="overflows float64"):
        FeatureBased(np.full((3, 2), 8e307, dtype=np.float64), concave="log1p")
    scaled = FeatureBased(X / X.max())
    assert np.isfinite(scaled([0, 1, 2]))


def test_large_but_summable_features_stay_finite():
    X = np.array([[1e308, 0.0], [7e307, 1.0]])  # the column sum 1.7e308 still fits in float64
    f = FeatureBased(X)
    state = f.new_state()
    state.add(0)
    gains = state.gains(np.array([0, 1]))
    state.add(1)
    assert np.all(np.isfinite(gains)) and np.isfinite(state.value)
    assert state.value == pytest.approx(np.sqrt(1.7e308) + 1.0, rel=1e-12)


# ----------------------------------------------------------------------------- the gain kernels
def _kernel_case(family, dtype, rng):
    """(serial, parallel, dispatcher, one-candidate gain, data, n) of one gain kernel on random data
    and a random state; float32 rows are kept as float32, as the functions keep them."""
    n = 2 * kg.PARALLEL_MIN + 5
    if family == "facility":
        m = 37  # not a multiple of 8: the tail loop of fl_gain runs too
        sim_t = rng.random((n, m)).astype(dtype)
        cur = np.where(rng.random(m) < 0.5, rng.random(m), 0.0)
        return kg.fl_gains_serial, kg.fl_gains_parallel, kg.fl_gains, \
            lambda j: kg.fl_gain(sim_t[j], cur), (sim_t, cur), n
    if family == "facility_csr":
        m = 37
        C = sp.csc_matrix((rng.random((m, n)) * (rng.random((m, n)) < 0.3)).astype(dtype))
        cur = np.where(rng.random(m) < 0.5, rng.random(m), 0.0)
        dense = C.T.toarray()
        return kg.fl_csr_gains_serial, kg.fl_csr_gains_parallel, kg.fl_csr_gains, \
            lambda j: kg.fl_gain(dense[j], cur), (C.data, C.indices, C.indptr, cur), n
    if family.startswith("feature"):
        X = (rng.random((n, 13)) ** 3 * (rng.random((n, 13)) < 0.7)).astype(dtype)
        acc = rng.random(13) * rng.integers(0, 2, 13)
        kind = kg.CONCAVE[family.split("_")[1]]
        return kg.fb_gains_serial, kg.fb_gains_parallel, kg.fb_gains, \
            lambda j: kg.fb_gain(X[j], acc, kind), (X, acc, kind), n
    A = sp.csc_matrix(rng.random((60, n)) < 0.1)
    A.sort_indices()
    indptr, indices = A.indptr.astype(np.int64), A.indices.astype(np.int64)
    covered, w = rng.random(60) < 0.3, rng.random(60)
    return kg.cov_gains_serial, kg.cov_gains_parallel, kg.cov_gains, \
        lambda j: kg.cov_gain(indices[indptr[j]:indptr[j + 1]], covered, w), (indptr, indices, covered, w), n


@pytest.mark.parametrize("size", [1, 7, kg.PARALLEL_MIN - 1, kg.PARALLEL_MIN, 2 * kg.PARALLEL_MIN + 5],
                         ids=["1", "7", "below", "at", "above"])
@pytest.mark.parametrize("family, dtype", [("facility", np.float64), ("facility", np.float32),
                                           ("facility_csr", np.float64), ("facility_csr", np.float32),
                                           ("feature_sqrt", np.float64), ("feature_log1p", np.float32),
                                           ("coverage", np.float64)])
def test_serial_and_parallel_gain_kernels_agree_exactly(family, dtype, size):
    """The two variants compiled from one source, below and above the parallel threshold: the
    same float for every candidate, equal to the one-candidate gain and to the dispatcher's."""
    rng = np.random.default_rng(size * 31 + len(family))
    serial, parallel, batched, one, data, n = _kernel_case(family, dtype, rng)
    assert serial.targetoptions["parallel"] is False and parallel.targetoptions["parallel"] is True
    cand = rng.integers(0, n, size).astype(np.int64)  # any order, repeats allowed
    out_serial, out_parallel = np.full(size, np.nan), np.full(size, np.nan)
    serial(*data, cand, out_serial)
    parallel(*data, cand, out_parallel)
    assert np.array_equal(out_serial, out_parallel)
    assert np.array_equal(batched(*data, cand), out_serial)
    some = cand[:20]
    assert np.array_equal(np.array([one(int(j)) for j in some]), out_serial[:20])
    assert np.all(out_serial >= 0) and np.any(out_serial > 0)


_CACHE_SCRIPT = """
import json, numpy as np, scipy.sparse as sp
import matroidomp.kernels.submodular_gains as kg
rng = np.random.default_rng(0)
n = 2 * kg.PARALLEL_MIN + 5
cand = rng.permutation(n).astype(np.int64)
A = sp.csc_matrix(rng.random((40, n)) < 0.1); A.sort_indices()
C = sp.csc_matrix(rng.random((40, n)) * (rng.random((40, n)) < 0.2))
cases = {"fl_gains": (rng.random((n, 11)), rng.random(11) * 0.5),
         "fl_csr_gains": (C.data, C.indices, C.indptr, rng.random(40) * 0.5),
         "fb_gains": (rng.random((n, 9)), rng.random(9), 1),
         "cov_gains": (A.indptr.astype(np.int64), A.indices.astype(np.int64), rng.random(40) < 0.3, rng.random(40))}
report = {}
for name, data in cases.items():
    for variant in ("serial", "parallel"):
        f = getattr(kg, name + "_" + variant)
        out = np.empty(n)
        f(*data, cand, out)
        report[name + "_" + variant] = [sum(f.stats.cache_hits.values()), sum(f.stats.cache_misses.values()),
                                        out.tobytes().hex()]
print(json.dumps(report))
"""


def test_each_variant_is_cached_under_its_own_key(tmp_path):
    """Two variants of one factory share qualified name, line, bytecode and closure, numba's cache
    key; renamed, each gets its own entry. Fresh processes: the first compiles (misses), the second
    loads (hits) with the same results, and only the parallel entries hold threaded code."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    runs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", _CACHE_SCRIPT], env=env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout))
    first, second = runs
    for name in first:
        assert first[name][:2] == [0, 1], (name, first[name][:2])  # compiled, not loaded
        assert second[name][:2] == [1, 0], (name, second[name][:2])  # loaded from its own entry
        assert first[name][2] == second[name][2]
    for family in ("fl_gains", "fl_csr_gains", "fb_gains", "cov_gains"):
        assert first[f"{family}_serial"][2] == first[f"{family}_parallel"][2]
        objects = {v: b"".join(p.read_bytes() for p in tmp_path.rglob(f"submodular_gains.{family}_{v}-*.nbc"))
                   for v in ("serial", "parallel")}
        assert objects["serial"] and objects["parallel"]
        assert b"do_scheduling" in objects["parallel"] and b"do_scheduling" not in objects["serial"]
