"""Bad and degenerate input at every public entry point.

Each case ends either in a verified result (against an independent computation: scipy NNLS,
least squares, or QuadraticUtility.value) or in a ValueError/TypeError whose message names the
argument and the problem. Nothing may crash inside numerical code or return a silently wrong answer.
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import nnls as scipy_nnls

import matroidomp as mo

seeds = st.integers(0, 2**32 - 1)


# ----------------------------------------------------------------------------- helpers


def instance(seed=0, n=12, d=8, n_domains=3, k=5):
    """Row-normalised gradients, a target that several rows correlate with positively, labels."""
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, d))
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    b = G[: max(2, n // 3)].T @ rng.uniform(0.5, 1.5, max(2, n // 3)) + 0.1 * rng.standard_normal(d)
    labels = np.arange(n) % n_domains
    return G, b, labels, mo.make_matroid(labels, "proportional", min(k, n))


def exact_value(G, b, S, lam=0.0, nonneg=True):
    """F(S) = ½‖b‖² − ½ min_w ‖G_Sᵀw − b‖² + λ‖w‖² (w ≥ 0 if nonneg), by scipy / lstsq."""
    S = np.asarray(S, dtype=np.int64)
    if S.size == 0:
        return 0.0
    A = G[S].T.astype(np.float64)
    rhs = np.asarray(b, dtype=np.float64)
    if lam:
        A = np.vstack([A, np.sqrt(lam) * np.eye(S.size)])
        rhs = np.concatenate([rhs, np.zeros(S.size)])
    if nonneg:
        w, _ = scipy_nnls(A, rhs, maxiter=50 * S.size)
    else:
        w = np.linalg.lstsq(A, rhs, rcond=None)[0]
    r = A @ w - rhs
    return 0.5 * float(rhs @ rhs - r @ r)


def assert_valid(res, matroid, nonneg=True):
    assert matroid.is_independent(res.indices)
    assert res.indices.dtype == np.int64
    assert res.weights.shape == res.indices.shape == res.history.shape
    assert np.all(np.isfinite(res.weights)) and np.isfinite(res.objective)
    if nonneg:
        assert np.all(res.weights >= 0)
    assert res.counts == matroid.count_dict(res.indices)


def nonfinite(x, row, value, col=0):
    y = np.array(x, dtype=np.float64, copy=True)
    if y.ndim == 1:
        y[row] = value
    else:
        y[row, col] = value
    return y


G0, B0, L0, M0 = instance()
K0 = G0 @ G0.T
C0 = G0 @ B0
RNG = np.random.default_rng(7)
A0 = RNG.standard_normal((10, 6))
Y0 = RNG.standard_normal(10)
BAD_VALUES = [np.nan, np.inf, -np.inf]


# ----------------------------------------------------------------------------- NaN / Inf


@pytest.mark.parametrize("value", BAD_VALUES)
@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda v: mo.omp(nonfinite(G0, 3, v), B0, M0), r"G: .*first is row 3"),
        (lambda v: mo.omp(nonfinite(G0, 3, v), B0, M0, precompute=False), r"G: .*first is row 3"),
        (lambda v: mo.omp(G0, nonfinite(B0, 4, v), M0), r"b: entry 4 is not finite"),
        (lambda v: mo.omp_gram(nonfinite(K0, 3, v, col=3), C0, M0), r"K: .*first is row 3"),
        (lambda v: mo.omp_gram(K0, nonfinite(C0, 5, v), M0), r"c: entry 5 is not finite"),
        (lambda v: mo.solve_omp(mo.QuadraticUtility.gradient_matching(nonfinite(G0, 3, v), B0), M0),
         r"G: .*first is row 3"),
        (lambda v: mo.partitionsel(nonfinite(G0, 3, v), L0, 4, anchors=B0, lr=0.1), r"G: .*first is row 3"),
        (lambda v: mo.partitionsel(nonfinite(G0, 3, v), L0, 4, anchors=B0, lr=0.1, normalize=False),
         r"G: .*first is row 3"),
        (lambda v: mo.partitionsel(G0, L0, 4, anchors=nonfinite(np.vstack([B0, B0]), 1, v), lr=0.1),
         r"anchors: .*first is row 1"),
        (lambda v: mo.nnqp(nonfinite(K0, 3, v, col=3), C0), r"Q: .*first is row 3"),
        (lambda v: mo.nnqp(K0, nonfinite(C0, 2, v)), r"c: entry 2 is not finite"),
        (lambda v: mo.nnqp(K0, C0, w0=nonfinite(np.zeros(12), 6, v)), r"w0: entry 6 is not finite"),
        (lambda v: mo.nnls(nonfinite(A0, 3, v), Y0), r"A: .*first is row 3"),
        (lambda v: mo.nnls(A0, nonfinite(Y0, 9, v)), r"b: entry 9 is not finite"),
        (lambda v: mo.QuadraticUtility.gradient_matching(nonfinite(G0, 3, v), B0), r"G: .*first is row 3"),
        (lambda v: mo.QuadraticUtility.taylor(nonfinite(G0, 3, v), B0, 0.1), r"G: .*first is row 3"),
        (lambda v: mo.QuadraticUtility.from_gram(nonfinite(K0, 3, v, col=3), C0), r"K: .*first is row 3"),
        (lambda v: mo.conflicting_pairs(nonfinite(G0, 3, v), [0, 1]), r"G: .*first is row 3"),
    ],
)
def test_non_finite_input_names_the_row(call, pattern, value):
    with pytest.raises(ValueError, match=pattern):
        call(value)


def test_non_finite_scalars():
    with pytest.raises(ValueError, match="lr: expected a finite"):
        mo.partitionsel(G0, L0, 4, anchors=B0, lr=np.nan)
    with pytest.raises(ValueError, match="lr: expected a finite"):
        mo.partitionsel(G0, L0, 4, anchors=B0, lr=np.inf)
    with pytest.raises(ValueError, match="lam: expected a finite value >= 0"):
        mo.omp(G0, B0, M0, lam=np.nan)
    with pytest.raises(ValueError, match="lam: expected a finite value >= 0"):
        mo.omp_gram(K0, C0, M0, lam=np.inf)
    with pytest.raises(ValueError, match="tol: expected a finite value >= 0"):
        mo.nnqp(K0, C0, tol=np.nan)


def test_overflowing_and_underflowing_rows():
    """Finite entries whose products leave the dtype's range are refused, naming the row."""
    big = G0.copy()
    big[5] *= 1e200
    with pytest.raises(ValueError, match="G: the squared norm of row 5 overflows float64"):
        mo.omp(big, B0, M0)
    big32 = G0.astype(np.float32)
    big32[2] *= np.float32(1e25)
    with pytest.raises(ValueError, match="G: the squared norm of row 2 overflows float32"):
        mo.omp(big32, B0, M0, precompute=False)
    with pytest.raises(ValueError, match="G: the squared norm of row 2 overflows float32"):
        mo.partitionsel(big32, L0, 4, anchors=B0, lr=0.1, normalize=False)
    # normalisation rescales in float64 first, so the same rows are fine with normalize=True
    ok = mo.partitionsel(big32, L0, 4, anchors=B0, lr=0.1)
    assert_valid(ok, mo.make_matroid(L0, "proportional", 4))
    tiny = G0 * 1e-170
    with pytest.raises(ValueError, match="G: the squared norm of row 0 underflows float64"):
        mo.omp(tiny, B0, M0)
    with pytest.raises(ValueError, match="lr: .* too large"):
        mo.partitionsel(G0, L0, 4, anchors=B0, lr=1e200)
    with pytest.raises(ValueError, match="lr: .* too large"):
        mo.partitionsel(G0.astype(np.float32), L0, 4, anchors=B0, lr=1e20)


# ----------------------------------------------------------------------------- zero rows


def test_partitionsel_zero_row_with_normalize_is_a_clear_error():
    G = G0.copy()
    G[4] = 0
    with pytest.raises(ValueError, match="G: row 4 is all zeros and cannot be L2-normalised.*normalize=False"):
        mo.partitionsel(G, L0, 4, anchors=B0, lr=0.1)
    with pytest.raises(ValueError, match="anchors: row 0 is all zeros"):
        mo.partitionsel(G0, L0, 4, anchors=np.zeros_like(B0), lr=0.1)
    with pytest.raises(ValueError, match="G: row 4 is all zeros"):
        mo.QuadraticUtility.taylor(G, B0, 0.1)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n_zero=st.integers(1, 4), lam=st.sampled_from([0.0, 0.1]), nonneg=st.booleans(),
       fill=st.booleans(), gram=st.booleans(), randomized=st.booleans())
def test_omp_zero_rows_never_get_weight(seed, n_zero, lam, nonneg, fill, gram, randomized):
    G, b, labels, matroid = instance(seed, n=12, d=8, k=8)
    zero = np.random.default_rng(seed).choice(12, n_zero, replace=False)
    G[zero] = 0
    res = mo.omp(G, b, matroid, lam=lam, nonneg=nonneg, precompute=gram, randomized=randomized, seed=seed,
                 on_no_gain="fill" if fill else "stop")
    assert_valid(res, matroid, nonneg)
    picked_zero = np.isin(res.indices, zero)
    assert np.all(res.weights[picked_zero] == 0)  # a zero row can never carry weight
    if not fill and not randomized:
        # without filling the deterministic rule never picks it at all (the randomized rule may
        # draw a zero-score element from its shortlist: the authors' "dummy" pick, at weight 0)
        assert not picked_zero.any()
    if res.stop_reason != "linear_dependence":
        assert res.objective == pytest.approx(exact_value(G, b, res.indices, lam, nonneg), rel=1e-7, abs=1e-10)


def test_omp_all_rows_zero():
    G = np.zeros((6, 4))
    M = mo.PartitionMatroid.cardinality(6, 3)
    for kw in (dict(), dict(precompute=False), dict(nonneg=False), dict(lam=1.0)):
        res = mo.omp(G, np.ones(4), M, **kw)
        assert res.indices.size == 0 and res.objective == 0.0 and res.stop_reason == "no_positive_gain"
    res = mo.omp(G, np.ones(4), M, on_no_gain="fill")
    assert len(res) == 3 and np.all(res.weights == 0) and res.objective == 0.0
    res = mo.omp_gram(np.zeros((6, 6)), np.zeros(6), M)
    assert res.indices.size == 0 and res.objective == 0.0
    # the unnormalised Taylor utility: c_i = ½η²‖g_i‖² = 0, nothing to gain
    res = mo.partitionsel(G, [0, 0, 0, 1, 1, 1], 2, anchors=np.ones(4), lr=0.1, normalize=False)
    assert len(res) == 2 and res.objective == 0.0 and np.all(res.weights == 0)


def test_zero_target_selects_nothing_or_fills_at_weight_zero():
    res = mo.omp(G0, np.zeros(8), M0)
    assert res.indices.size == 0 and res.objective == 0.0 and res.stop_reason == "no_positive_gain"
    res = mo.omp(G0, np.zeros(8), M0, on_no_gain="fill")
    assert_valid(res, M0)
    assert len(res) == M0.rank and res.objective == 0.0 and np.all(res.weights == 0)


def test_zero_rows_in_metrics():
    G = G0.copy()
    G[[1, 2]] = 0
    inner = G @ G.T
    idx = [0, 1, 2, 3, 4]
    expected = sum(inner[i, j] < 0 for a, i in enumerate(idx) for j in idx[a + 1:])
    assert mo.conflicting_pairs(G, idx) == expected  # ⟨0, g⟩ = 0 is not a conflict


# ----------------------------------------------------------------------------- duplicate rows


@settings(max_examples=40, deadline=None)
@given(seed=seeds, copies=st.integers(1, 3), lam=st.sampled_from([0.0, 0.01]), gram=st.booleans(),
       randomized=st.booleans(), fill=st.booleans())
def test_nonneg_omp_with_duplicate_rows(seed, copies, lam, gram, randomized, fill):
    """Linearly dependent rows: a valid independent set with the exact objective."""
    rng = np.random.default_rng(seed)
    G, b, _, _ = instance(seed, n=8, d=6)
    dup = rng.choice(8, 3, replace=False)
    Gd = np.vstack([G] + [G[dup]] * copies)
    n = Gd.shape[0]
    labels = rng.integers(0, 2, n)
    matroid = mo.make_matroid(labels, "proportional", min(7, n))
    res = mo.omp(Gd, b, matroid, lam=lam, precompute=gram, randomized=randomized, seed=seed,
                 on_no_gain="fill" if fill else "stop")
    assert_valid(res, matroid)
    assert res.stop_reason in ("rank_reached", "no_positive_gain")
    assert np.all(np.diff(res.history) >= -1e-9)
    # exact objective, checked against scipy on the deduplicated rows of the selection
    uniq = np.unique(Gd[res.indices], axis=0) if len(res) else np.zeros((0, 6))
    ref = exact_value(uniq, b, np.arange(uniq.shape[0]), lam) if lam == 0 else exact_value(Gd, b, res.indices, lam)
    assert res.objective == pytest.approx(ref, rel=1e-7, abs=1e-10)
    assert res.objective == pytest.approx(mo.QuadraticUtility.gradient_matching(Gd, b, lam).value(res.indices),
                                          rel=1e-7, abs=1e-10)
    # the same on the Gram path entry point
    res_g = mo.omp_gram(Gd @ Gd.T, Gd @ b, matroid, lam=lam, randomized=randomized, seed=seed,
                        on_no_gain="fill" if fill else "stop")
    assert_valid(res_g, matroid)
    assert res_g.objective == pytest.approx(exact_value(Gd, b, res_g.indices, lam), rel=1e-7, abs=1e-10)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, gram=st.booleans(), fill=st.booleans(), rank=st.integers(1, 5))
def test_unconstrained_omp_with_dependent_rows(seed, gram, fill, rank):
    """nonneg=False, λ = 0 on a rank-deficient pool: stop on dependence, or pick correctly."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((rank, 8))
    G = rng.standard_normal((10, rank)) @ base  # rank-deficient: rows live in a rank-dim space
    G = np.vstack([G, G[:3]])  # and exact duplicates on top
    b = rng.standard_normal(8)
    matroid = mo.make_matroid(np.arange(13) % 2, "proportional", 8)
    res = mo.omp(G, b, matroid, nonneg=False, precompute=gram, on_no_gain="fill" if fill else "stop")
    assert_valid(res, matroid, nonneg=False)
    assert res.stop_reason in ("rank_reached", "no_positive_gain", "linear_dependence")
    active = res.indices[res.weights != 0]
    assert np.linalg.matrix_rank(G[active]) == active.size <= rank  # the weighted rows are independent
    assert res.objective == pytest.approx(exact_value(G, b, res.indices, nonneg=False), rel=1e-7, abs=1e-9)
    if res.stop_reason == "no_positive_gain":
        # nothing left to explain: the residual is orthogonal to every row
        assert res.objective == pytest.approx(exact_value(G, b, np.arange(13), nonneg=False), rel=1e-7, abs=1e-9)


def test_duplicate_indices_in_queries():
    u = mo.QuadraticUtility.gradient_matching(G0, B0)
    assert u.value([2, 2]) == pytest.approx(u.value([2]), rel=1e-12)
    assert u.value([0, 3, 0, 3]) == pytest.approx(u.value([0, 3]), rel=1e-10)
    assert mo.domain_coverage([0, 0, 1, 1], [0, 0, 2]) == {0: 0.5, 1: 0.5}  # a repeat counts once
    assert not M0.is_independent([0, 0])


# ----------------------------------------------------------------------------- budgets


def test_budget_larger_than_domain():
    with pytest.raises(ValueError, match="domain 0 has budget 5 but only 4 element.*clip_to_size"):
        mo.PartitionMatroid(L0, {0: 5, 1: 1, 2: 1})
    with pytest.raises(ValueError, match="domain 1 has budget 6 but only 4"):
        mo.partitionsel(G0, L0, 8, anchors=B0, lr=0.1, budgets={0: 1, 1: 6, 2: 1})
    with pytest.raises(ValueError, match="budget 9 but only 4"):
        mo.make_matroid(L0, [1, 9, 1])
    # explicitly allowed: the domain fills up completely and the rest is respected
    m = mo.PartitionMatroid(L0, {0: 9, 1: 1, 2: 0}, clip_to_size=True)
    res = mo.omp(G0, B0, m, on_no_gain="fill")
    assert_valid(res, m)
    assert res.counts == {0: 4, 1: 1, 2: 0}


def test_unknown_and_missing_domains():
    with pytest.raises(ValueError, match="domain 'chem' does not occur in labels"):
        mo.partitionsel(G0, L0, 3, anchors=B0, lr=0.1, budgets={0: 1, 1: 1, 2: 1, "chem": 0})
    with pytest.raises(ValueError, match=r"no budget given for domain\(s\) \[2\]"):
        mo.partitionsel(G0, L0, 2, anchors=B0, lr=0.1, budgets={0: 1, 1: 1})
    with pytest.raises(ValueError, match=r"budgets sum to 3 but k = 4"):
        mo.partitionsel(G0, L0, 4, anchors=B0, lr=0.1, budgets={0: 1, 1: 1, 2: 1})
    with pytest.raises(ValueError, match="unknown rule 'proportinal'"):
        mo.partitionsel(G0, L0, 4, anchors=B0, lr=0.1, budgets="proportinal")
    with pytest.raises(ValueError, match="cannot select 13 elements from a pool of 12"):
        mo.partitionsel(G0, L0, 13, anchors=B0, lr=0.1)
    with pytest.raises(ValueError, match="k: budget must be >= 0"):
        mo.partitionsel(G0, L0, -1, anchors=B0, lr=0.1)
    with pytest.raises(TypeError, match="k: expected an int budget"):
        mo.partitionsel(G0, L0, 2.5, anchors=B0, lr=0.1)
    with pytest.raises(TypeError, match=r"budgets\[0\]: expected an int budget"):
        mo.PartitionMatroid(L0, {0: np.inf, 1: 1, 2: 1})


# ----------------------------------------------------------------------------- k = 0 and n = 0


def _assert_empty(res):
    assert res.indices.size == 0 and res.weights.size == 0 and res.history.size == 0
    assert res.objective == 0.0
    assert all(v == 0 for v in res.counts.values())
    assert res.stop_reason == "rank_reached"


@pytest.mark.parametrize("randomized", [False, True])
@pytest.mark.parametrize("on_no_gain", ["stop", "fill"])
def test_k_zero(randomized, on_no_gain):
    kw = dict(randomized=randomized, seed=1, on_no_gain=on_no_gain)
    zero = mo.make_matroid(L0, {0: 0, 1: 0, 2: 0})
    _assert_empty(mo.omp(G0, B0, zero, **kw))
    _assert_empty(mo.omp(G0, B0, zero, precompute=False, **kw))
    _assert_empty(mo.omp(G0, B0, mo.PartitionMatroid.cardinality(12, 0), nonneg=False, **kw))
    _assert_empty(mo.omp_gram(K0, C0, zero, **kw))
    _assert_empty(mo.solve_omp(mo.QuadraticUtility.taylor(G0, B0, 0.1), zero, **kw))
    res = mo.partitionsel(G0, L0, 0, anchors=B0, lr=0.1, **kw)
    _assert_empty(res)
    assert res.counts == {0: 0, 1: 0, 2: 0}
    _assert_empty(mo.partitionsel(G0, L0, 0, anchors=B0, lr=0.1, budgets="equal", block_diagonal=True, **kw))
    assert mo.conflicting_pairs(G0, []) == 0
    assert mo.domain_coverage(L0, []) == {0: 0.0, 1: 0.0, 2: 0.0}
    assert mo.QuadraticUtility.gradient_matching(G0, B0).value([]) == 0.0


def test_empty_pool():
    d = 5
    b = np.ones(d)
    empty = mo.PartitionMatroid.cardinality(0, 0)
    _assert_empty(mo.omp(np.zeros((0, d)), b, empty))
    _assert_empty(mo.omp(np.zeros((0, d)), b, empty, precompute=False, randomized=True, seed=0))
    _assert_empty(mo.omp(np.zeros((0, d)), b, empty, nonneg=False, on_no_gain="fill"))
    _assert_empty(mo.omp_gram(np.zeros((0, 0)), np.zeros(0), empty))
    _assert_empty(mo.partitionsel(np.zeros((0, d)), [], 0, anchors=b, lr=0.1))
    _assert_empty(mo.partitionsel(np.zeros((0, d), dtype=np.float32), np.array([], dtype=np.int64), 0,
                                  anchors=b, lr=0.1, budgets="equal", on_no_gain="stop"))
    with pytest.raises(ValueError, match="cannot select 1 elements from a pool of 0"):
        mo.partitionsel(np.zeros((0, d)), [], 1, anchors=b, lr=0.1)
    res = mo.nnqp(np.zeros((0, 0)), np.zeros(0))
    assert res.w.shape == (0,) and res.objective == 0.0 and res.converged
    res = mo.nnls(np.zeros((4, 0)), np.ones(4))
    assert res.w.shape == (0,) and res.objective == 0.0 and res.converged
    assert mo.QuadraticUtility.gradient_matching(np.zeros((0, d)), b).value([]) == 0.0
    assert mo.proportional_budgets([], 0) == {} and mo.equal_budgets([], 0) == {}
    assert mo.conflicting_pairs(np.zeros((0, d)), []) == 0
    assert mo.domain_coverage([], []) == {}
    with pytest.raises(ValueError, match="out of range for a pool of 0"):
        mo.conflicting_pairs(np.zeros((0, d)), [0])


# ----------------------------------------------------------------------------- shapes


def test_shape_mismatches():
    with pytest.raises(ValueError, match="b: length 7 does not match G's 8 columns"):
        mo.omp(G0, B0[:7], M0)
    with pytest.raises(ValueError, match="b: expected a 1-D array"):
        mo.omp(G0, B0[:, None], M0)
    with pytest.raises(ValueError, match="G: expected a 2-D array"):
        mo.omp(G0[0], B0, M0)
    with pytest.raises(ValueError, match="matroid has 11 elements but the pool has 12"):
        mo.omp(G0, B0, mo.make_matroid(L0[:11], "proportional", 3))
    with pytest.raises(ValueError, match="matroid has 11 elements but the pool has 12"):
        mo.omp_gram(K0, C0, mo.PartitionMatroid.cardinality(11, 3))
    with pytest.raises(ValueError, match="matroid has 11 elements but the pool has 12"):
        mo.solve_omp(mo.QuadraticUtility.taylor(G0, B0, 0.1), mo.PartitionMatroid.cardinality(11, 3))
    with pytest.raises(ValueError, match=r"K: length 12 does not match the length of c \(11\)"):
        mo.omp_gram(K0, C0[:11], M0)
    with pytest.raises(ValueError, match="K: expected a square matrix, got shape"):
        mo.omp_gram(K0[:11], C0, M0)
    with pytest.raises(ValueError, match="K: expected a 2-D array"):
        mo.omp_gram(K0[None], C0, M0)
    with pytest.raises(ValueError, match="domains: 11 labels for a pool of 12 gradients"):
        mo.partitionsel(G0, L0[:11], 3, anchors=B0, lr=0.1)
    with pytest.raises(ValueError, match="G: expected a 2-D array"):
        mo.partitionsel(G0[0], L0[:8], 3, anchors=B0, lr=0.1)
    with pytest.raises(ValueError, match="labels: expected a 1-D array"):
        mo.partitionsel(G0, L0.reshape(3, 4), 3, anchors=B0, lr=0.1)
    with pytest.raises(ValueError, match="anchors: dimension 7 does not match G's 8"):
        mo.partitionsel(G0, L0, 3, anchors=B0[:7], lr=0.1)
    with pytest.raises(ValueError, match="anchors: at least one validation gradient"):
        mo.partitionsel(G0, L0, 3, anchors=np.zeros((0, 8)), lr=0.1)
    with pytest.raises(ValueError, match="anchors: expected a 2-D array"):
        mo.partitionsel(G0, L0, 3, anchors=np.zeros((1, 1, 8)), lr=0.1)
    with pytest.raises(ValueError, match="domains: length 11 does not match the number of rows of G"):
        mo.QuadraticUtility.taylor(G0, B0, 0.1, domains=L0[:11])
    with pytest.raises(ValueError, match="b: length 10 does not match A's number of rows"):
        mo.nnls(A0.T, Y0)
    with pytest.raises(ValueError, match="c: length 11 does not match Q's size"):
        mo.nnqp(K0, C0[:11])
    with pytest.raises(ValueError, match="w0: length 3 does not match Q's size"):
        mo.nnqp(K0, C0, w0=np.ones(3))
    with pytest.raises(ValueError, match="Q: expected a square matrix"):
        mo.nnqp(K0[:, :11], C0)
    with pytest.raises(ValueError, match="needs a Gram matrix or a factor"):
        mo.QuadraticUtility(C0)


def test_non_symmetric_and_non_psd_matrices():
    asym = K0.copy()
    asym[0, 1] += 0.5
    for call in (lambda: mo.omp_gram(asym, C0, M0), lambda: mo.nnqp(asym, C0),
                 lambda: mo.QuadraticUtility.from_gram(asym, C0)):
        with pytest.raises(ValueError, match=r"not symmetric \(max \|A - A\^T\| = 0.5\)"):
            call()
    # tiny asymmetry from floating-point Gram computation is accepted
    mo.nnqp(K0 + 1e-15 * np.triu(np.ones_like(K0)), C0)
    # non-PSD: nnqp checks the spectrum exactly
    indefinite = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])  # 2x2 minors fine
    for Q in (-np.eye(3), np.array([[1.0, 2.0, 0], [2.0, 1.0, 0], [0, 0, 1.0]]), indefinite):
        with pytest.raises(ValueError, match="Q: matrix is not positive semi-definite"):
            mo.nnqp(Q, np.ones(3))
    # Gram-matrix entry points check the necessary conditions (diagonal, 2 x 2 minors) in O(n²)
    with pytest.raises(ValueError, match="K: diagonal entry 0 is negative"):
        mo.omp_gram(-K0, C0, M0)
    dist = np.abs(np.subtract.outer(np.arange(12.0), np.arange(12.0)))  # a distance matrix, not a Gram matrix
    with pytest.raises(ValueError, match=r"K: not positive semi-definite: \|K\[0, 1\]\|"):
        mo.omp_gram(dist, C0, M0)
    with pytest.raises(ValueError, match="K: not positive semi-definite"):
        mo.QuadraticUtility.from_gram(dist, C0)
    # a PSD but singular Gram matrix (rank 3 < n) is fine, and a zero one too
    low = G0[:, :3] @ G0[:, :3].T
    res = mo.omp_gram(low, G0[:, :3] @ B0[:3], M0)
    assert_valid(res, M0)
    assert res.objective == pytest.approx(exact_value(G0[:, :3], B0[:3], res.indices), rel=1e-7)


# ----------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize(
    "bad, kind, pattern",
    [
        (lambda x: x.astype(str), TypeError, "expected a real numeric array, got dtype <U"),
        (lambda x: x.astype(complex), TypeError, "complex dtype complex128 is not supported"),
        (lambda x: x.astype(object), TypeError, "expected a real numeric array, got dtype object"),
    ],
)
def test_wrong_dtypes(bad, kind, pattern):
    cases = [
        (lambda: mo.omp(bad(G0), B0, M0), "G"),
        (lambda: mo.omp(G0, bad(B0), M0), "b"),
        (lambda: mo.omp_gram(bad(K0), C0, M0), "K"),
        (lambda: mo.omp_gram(K0, bad(C0), M0), "c"),
        (lambda: mo.partitionsel(bad(G0), L0, 3, anchors=B0, lr=0.1), "G"),
        (lambda: mo.partitionsel(G0, L0, 3, anchors=bad(B0), lr=0.1), "anchors"),
        (lambda: mo.nnqp(bad(K0), C0), "Q"),
        (lambda: mo.nnqp(K0, bad(C0)), "c"),
        (lambda: mo.nnls(bad(A0), Y0), "A"),
        (lambda: mo.nnls(A0, bad(Y0)), "b"),
        (lambda: mo.QuadraticUtility.gradient_matching(bad(G0), B0), "G"),
        (lambda: mo.QuadraticUtility.from_gram(bad(K0), C0), "K"),
        (lambda: mo.conflicting_pairs(bad(G0), [0, 1]), "G"),
    ]
    for call, name in cases:
        with pytest.raises(kind, match=f"{name}: {pattern}"):
            call()


def test_wrong_kinds_of_objects():
    with pytest.raises(TypeError, match="matroid: expected a PartitionMatroid, got int"):
        mo.omp(G0, B0, 3)
    with pytest.raises(TypeError, match="matroid: expected a PartitionMatroid, got dict"):
        mo.omp_gram(K0, C0, {0: 3})
    with pytest.raises(TypeError, match="utility: expected a QuadraticUtility, got ndarray"):
        mo.solve_omp(G0, M0)
    with pytest.raises(TypeError, match="labels: expected ints or strings, got dtype complex"):
        mo.partitionsel(G0, L0 + 0j, 3, anchors=B0, lr=0.1)
    with pytest.raises(ValueError, match="labels: float labels must be finite whole numbers"):
        mo.proportional_budgets([0.5, 1.0], 1)
    with pytest.raises(TypeError, match="indices: expected integers, got dtype float64"):
        mo.conflicting_pairs(G0, [0.0, 1.0])
    with pytest.raises(TypeError, match="indices: expected integers, got dtype <U"):
        mo.domain_coverage(L0, ["a"])
    with pytest.raises(ValueError, match="indices: index 12 is out of range for a pool of 12"):
        mo.domain_coverage(L0, [0, 12])
    u = mo.QuadraticUtility.gradient_matching(G0, B0)
    with pytest.raises(ValueError, match="indices: index -1 is out of range"):
        u.value([-1])  # not silently the last element
    with pytest.raises(ValueError, match="indices: index 12 is out of range"):
        u.value([3, 12])
    with pytest.raises(TypeError, match="indices: expected integers"):
        u.value([0.5])
    with pytest.raises(TypeError, match="max_iter: expected an int"):
        mo.nnqp(K0, C0, max_iter=2.5)
    with pytest.raises(ValueError, match="max_iter: expected an int >= 0"):
        mo.nnqp(K0, C0, max_iter=-1)
    with pytest.raises(TypeError, match="max_iter: expected an int"):
        mo.nnls(A0, Y0, max_iter="many")


def test_integer_and_bool_and_list_input_is_upcast():
    Gi = np.rint(4 * G0).astype(np.int32)
    res = mo.omp(Gi, B0, M0)
    ref = mo.omp(Gi.astype(np.float64), B0, M0)
    np.testing.assert_array_equal(res.indices, ref.indices)
    assert res.objective == ref.objective
    res_list = mo.omp(G0.tolist(), B0.tolist(), M0)
    np.testing.assert_array_equal(res_list.indices, mo.omp(G0, B0, M0).indices)
    res_ps = mo.partitionsel(G0.tolist(), L0.tolist(), 4, anchors=B0.tolist(), lr=0.1, seed=0)
    np.testing.assert_array_equal(res_ps.indices, mo.partitionsel(G0, L0, 4, anchors=B0, lr=0.1, seed=0).indices)


def test_float16_input_works_and_is_upcast():
    G16, b16 = G0.astype(np.float16), B0.astype(np.float16)
    G32 = G16.astype(np.float32)
    for kw in (dict(), dict(precompute=False), dict(nonneg=False), dict(randomized=True, seed=3)):
        res = mo.omp(G16, b16, M0, **kw)
        ref = mo.omp(G32, b16.astype(np.float32), M0, **kw)  # the upcast is exact
        np.testing.assert_array_equal(res.indices, ref.indices)
        np.testing.assert_allclose(res.weights, ref.weights)
        assert res.objective == pytest.approx(ref.objective)
        assert_valid(res, M0, kw.get("nonneg", True))
        if kw.get("nonneg", True):
            # exact for the data actually given, up to float32 arithmetic
            assert res.objective == pytest.approx(exact_value(G32, b16, res.indices), rel=1e-4)
    u = mo.QuadraticUtility.gradient_matching(G16, b16)
    assert u.factor.dtype == np.float32
    K16 = (G32 @ G32.T).astype(np.float16)
    c16 = (G32 @ b16.astype(np.float32)).astype(np.float16)
    res = mo.omp_gram(K16, c16, M0)
    # the float32 copy of a float16 K is PSD only to float16 rounding, which its check does not allow
    ref = mo.omp_gram(K16.astype(np.float32), c16.astype(np.float32), M0, check_psd=False)
    np.testing.assert_array_equal(res.indices, ref.indices)
    ps = mo.partitionsel(G16, L0, 4, anchors=b16, lr=0.1, seed=0)
    ps_ref = mo.partitionsel(G32, L0, 4, anchors=b16.astype(np.float32), lr=0.1, seed=0)
    np.testing.assert_array_equal(ps.indices, ps_ref.indices)
    assert ps.objective == pytest.approx(
        mo.QuadraticUtility.taylor(G32, b16.astype(np.float32), 0.1).value(ps.indices), rel=1e-5)
    r = mo.nnqp(K16, c16)
    assert r.converged and np.all(r.w >= 0)
    r = mo.nnls(A0.astype(np.float16), Y0.astype(np.float16))
    ref = scipy_nnls(A0.astype(np.float16).astype(np.float64), Y0.astype(np.float16).astype(np.float64))[0]
    np.testing.assert_allclose(r.w, ref, rtol=1e-6, atol=1e-9)
    assert mo.conflicting_pairs(G16, range(12)) == mo.conflicting_pairs(G32, range(12))


def test_bfloat16_torch_input():
    torch = pytest.importorskip("torch", reason="needs torch")
    Gt = torch.tensor(G0, dtype=torch.bfloat16)
    bt = torch.tensor(B0, dtype=torch.bfloat16)
    G32, b32 = Gt.float().numpy(), bt.float().numpy()
    res = mo.omp(Gt, bt, M0)
    ref = mo.omp(G32, b32, M0)
    np.testing.assert_array_equal(res.indices, ref.indices)
    assert res.objective == pytest.approx(ref.objective)
    assert res.objective == pytest.approx(exact_value(G32, b32, res.indices), rel=1e-4)
    labels_t = torch.tensor(L0)
    ps = mo.partitionsel(Gt, labels_t, 4, anchors=bt, lr=0.1, seed=0)
    ps_ref = mo.partitionsel(G32, L0, 4, anchors=b32, lr=0.1, seed=0)
    np.testing.assert_array_equal(ps.indices, ps_ref.indices)
    Kt = torch.tensor(K0, dtype=torch.float16)
    res = mo.omp_gram(Kt, torch.tensor(C0, dtype=torch.bfloat16), M0)
    assert isinstance(res.indices, torch.Tensor) and isinstance(res.weights, torch.Tensor)
    assert_valid(dataclasses.replace(res, indices=res.indices.numpy(), weights=res.weights.numpy()), M0)
    assert mo.conflicting_pairs(Gt, [0, 1, 2]) == mo.conflicting_pairs(G32, [0, 1, 2])
    assert mo.domain_coverage(labels_t, torch.tensor([0, 1])) == mo.domain_coverage(L0, [0, 1])


# ----------------------------------------------------------------------------- scalar options


def test_negative_and_invalid_scalars():
    with pytest.raises(ValueError, match="lr: expected a finite value >= 0, got -0.1"):
        mo.partitionsel(G0, L0, 3, anchors=B0, lr=-0.1)
    with pytest.raises(ValueError, match="lr: expected a finite value >= 0"):
        mo.QuadraticUtility.taylor(G0, B0, -1e-3)
    with pytest.raises(TypeError, match="lr: expected a number, got 'fast'"):
        mo.partitionsel(G0, L0, 3, anchors=B0, lr="fast")
    with pytest.raises(TypeError, match="lr: expected a number, got None"):
        mo.QuadraticUtility.taylor(G0, B0, None)
    for call in (lambda: mo.omp(G0, B0, M0, lam=-1.0), lambda: mo.omp_gram(K0, C0, M0, lam=-1e-9),
                 lambda: mo.nnls(A0, Y0, lam=-2), lambda: mo.QuadraticUtility.gradient_matching(G0, B0, -1),
                 lambda: mo.QuadraticUtility.from_gram(K0, C0, -1)):
        with pytest.raises(ValueError, match="lam: expected a finite value >= 0"):
            call()
    with pytest.raises(TypeError, match="lam: expected a number, got 'big'"):
        mo.omp(G0, B0, M0, lam="big")
    with pytest.raises(ValueError, match="ridge: expected a finite value >= 0"):
        mo.nnqp(K0, C0, ridge=-1)
    with pytest.raises(ValueError, match="tol: expected a finite value >= 0"):
        mo.omp(G0, B0, M0, tol=-1)
    with pytest.raises(ValueError, match="w0: warm start must be nonnegative"):
        mo.nnqp(K0, C0, w0=-np.ones(12))
    # lr = 0 is floored (the authors' 1e-12), not an error, and still selects by alignment
    res = mo.partitionsel(G0, L0, 4, anchors=B0, lr=0.0)
    assert res.objective == pytest.approx(mo.QuadraticUtility.taylor(G0, B0, 0.0).value(res.indices), rel=1e-6)
    assert res.objective > 0


@pytest.mark.parametrize("value", ["never", "Stop", None, 0])
def test_on_no_gain_invalid(value):
    pattern = r"on_no_gain: expected one of \('stop', 'fill'\)"
    for call in (lambda: mo.omp(G0, B0, M0, on_no_gain=value), lambda: mo.omp_gram(K0, C0, M0, on_no_gain=value),
                 lambda: mo.solve_omp(mo.QuadraticUtility.gradient_matching(G0, B0), M0, on_no_gain=value),
                 lambda: mo.partitionsel(G0, L0, 3, anchors=B0, lr=0.1, on_no_gain=value)):
        with pytest.raises(ValueError, match=pattern):
            call()


@pytest.mark.parametrize("value", ["yes", "gram", None, 1, "AUTO"])
def test_precompute_invalid(value):
    pattern = r"precompute: expected 'auto', True or False"
    for call in (lambda: mo.omp(G0, B0, M0, precompute=value),
                 lambda: mo.solve_omp(mo.QuadraticUtility.gradient_matching(G0, B0), M0, precompute=value),
                 lambda: mo.solve_omp(mo.QuadraticUtility.from_gram(K0, C0), M0, precompute=value),
                 lambda: mo.partitionsel(G0, L0, 3, anchors=B0, lr=0.1, precompute=value)):
        with pytest.raises(ValueError, match=pattern):
            call()


@pytest.mark.parametrize("precompute", ["auto", True, False, np.bool_(True)])
def test_precompute_valid_values_agree(precompute):
    res = mo.omp(G0, B0, M0, precompute=precompute)
    ref = mo.omp(G0, B0, M0)
    np.testing.assert_array_equal(res.indices, ref.indices)
    assert res.objective == pytest.approx(ref.objective, rel=1e-9)
