"""Fused OMP step and batched NNQP: numba kernels against the numpy reference, and whole-solver agreement.

Kernel inputs are small integers (scales powers of two), so every correlation is exact in
float16/float32/float64 and the arg-max must match the reference exactly — ties included, which
small integers make frequent. Each kernel also runs its parallel driver with odd chunk sizes.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numba import njit

import matroidomp as mo
from conftest import random_instance
from matroidomp.kernels import batched_nnqp, omp_step, reference

seeds = st.integers(0, 2**32 - 1)
dtypes = st.sampled_from([np.float16, np.float32, np.float64])
#: the ``driver`` fixture only sets module constants, the same for every example
fixture_ok = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(params=["serial", "parallel"])
def driver(request, monkeypatch):
    if request.param == "parallel":
        monkeypatch.setattr(omp_step, "PARALLEL_MIN_WORK", 0)
        monkeypatch.setattr(omp_step, "GRAM_CHUNK", 7)
        monkeypatch.setattr(omp_step, "FACTOR_CHUNK", 5)
    return request.param


def _matroid_state(rng, n, n_domains, all_infeasible):
    codes = rng.integers(0, n_domains, n)
    remaining = rng.integers(0, 3, n_domains)
    selected = rng.random(n) < rng.choice([0.0, 0.3])
    if all_infeasible:
        selected[:] = True
    return codes, remaining, selected


def _ints(rng, shape, dtype):
    return rng.integers(-3, 4, shape).astype(dtype)


def _same_step(got, ref):
    rho, best = got
    rho_ref, best_ref = ref
    assert best == best_ref
    assert rho.dtype == rho_ref.dtype
    np.testing.assert_array_equal(rho, rho_ref)


@settings(max_examples=60, **fixture_ok)
@given(n=st.integers(1, 40), p=st.integers(0, 6), n_domains=st.integers(1, 4), dtype=dtypes,
       c64=st.booleans(), absolute=st.booleans(), tol=st.sampled_from([0.0, 1.0]), none=st.booleans(), seed=seeds)
def test_gram_step_matches_reference(driver, n, p, n_domains, dtype, c64, absolute, tol, none, seed):
    rng = np.random.default_rng(seed)
    rows, w = _ints(rng, (p, n), dtype), _ints(rng, p, dtype)
    c = _ints(rng, n, np.float64 if c64 else np.float32)
    state = _matroid_state(rng, n, n_domains, none)
    got = omp_step.gram_step(rows, w, c, *state, absolute, tol)
    ref = reference.gram_step(rows, w, c, *state, absolute, tol)
    _same_step(got, ref)
    if none:
        assert got[1] == -1


@settings(max_examples=60, **fixture_ok)
@given(n=st.integers(1, 40), d=st.integers(1, 20), n_blocks=st.integers(1, 3), n_domains=st.integers(1, 4),
       dtype=dtypes, c64=st.booleans(), scale=st.sampled_from([1.0, 0.25]), absolute=st.booleans(),
       tol=st.sampled_from([0.0, 1.0]), none=st.booleans(), seed=seeds)
def test_factor_step_matches_reference(driver, n, d, n_blocks, n_domains, dtype, c64, scale, absolute, tol, none,
                                       seed):
    rng = np.random.default_rng(seed)
    G, U = _ints(rng, (n, d), dtype), _ints(rng, (n_blocks, d), dtype)
    blocks = rng.integers(0, n_blocks, n)
    c = _ints(rng, n, np.float64 if c64 else np.float32)
    state = _matroid_state(rng, n, n_domains, none)
    got = omp_step.factor_step(G, U, blocks, c, scale, *state, absolute, tol)
    ref = reference.factor_step(G, U, blocks, c, scale, *state, absolute, tol)
    _same_step(got, ref)
    if none:
        assert got[1] == -1


@settings(max_examples=40, **fixture_ok)
@given(n=st.integers(1, 3000), d=st.integers(1, 70), dtype=st.sampled_from([np.float32, np.float64]), seed=seeds)
def test_factor_step_rounding_on_continuous_data(driver, n, d, dtype, seed):
    """Gaussian data: ρ within accumulation rounding of the reference, and the pick within it of the max."""
    rng = np.random.default_rng(seed)
    G, U = rng.standard_normal((n, d)).astype(dtype), rng.standard_normal((1, d)).astype(dtype)
    c = rng.standard_normal(n)
    state = _matroid_state(rng, n, 3, False)
    rho, best = omp_step.factor_step(G, U, np.zeros(n, np.int64), c, 1.0, *state)
    rho_ref, best_ref = reference.factor_step(G, U, np.zeros(n, np.int64), c, 1.0, *state)
    bound = 4 * d * np.finfo(dtype).eps * (np.abs(G) @ np.abs(U[0]) + 1)
    assert np.all(np.abs(rho - rho_ref) <= bound)
    assert (best < 0) == (best_ref < 0)
    if best >= 0:
        assert rho_ref[best] >= rho_ref[best_ref] - 2 * bound.max()


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 200), n_domains=st.integers(1, 4), dtype=dtypes, none=st.booleans(), seed=seeds)
def test_shortlist_matches_reference(n, n_domains, dtype, none, seed):
    rng = np.random.default_rng(seed)
    score = rng.integers(-4, 5, n).astype(dtype)  # many ties
    state = _matroid_state(rng, n, n_domains, none)
    state = (state[0], rng.integers(0, 12, n_domains), state[2])  # heaps deep enough to sift
    got = omp_step.shortlist(score, *state)
    np.testing.assert_array_equal(got, reference.shortlist(score, *state))
    codes, remaining, selected = state
    assert not selected[got].any() and np.all(np.bincount(codes[got], minlength=n_domains) <= remaining)


def test_shortlist_takes_top_by_score_then_index():
    score = np.array([1.0, 5.0, 5.0, 2.0, 5.0, 0.0])
    codes = np.array([0, 0, 0, 1, 1, 1])
    selected = np.array([False, False, False, False, True, False])
    np.testing.assert_array_equal(omp_step.shortlist(score, codes, np.array([2, 1]), selected), [1, 2, 3])


def test_kernels_reject_bad_shapes():
    c = np.zeros(3)
    state = (np.zeros(3, np.int64), np.ones(1, np.int64), np.zeros(3, bool))
    with pytest.raises(ValueError, match="w must have shape"):
        omp_step.gram_step(np.zeros((2, 3), np.float32), np.zeros(3), c, *state)
    with pytest.raises(ValueError, match="codes"):
        omp_step.gram_step(np.zeros((2, 3), np.float32), np.zeros(2), c, np.array([0, 1, 0]), *state[1:])
    with pytest.raises(ValueError, match="blocks"):
        omp_step.factor_step(np.zeros((3, 2)), np.zeros((1, 2)), np.array([0, 1, 0]), c, 1.0, *state)
    with pytest.raises(ValueError, match="float array"):
        omp_step.factor_step(np.zeros((3, 2), np.int64), np.zeros((1, 2)), np.zeros(3, np.int64), c, 1.0, *state)


# ----------------------------------------------------------------------------- numba entry points
@njit
def _steps_from_numba(rows, w, G, U, blocks, c, scale, codes, remaining, selected, absolute, tol, rho_g, rho_f,
                      score, out):
    """Calls the entry points from other numba code, as a compiled OMP loop does."""
    best_g = omp_step.gram_step_into(rows, w, c, codes, remaining, selected, absolute, tol, rho_g)
    best_f = omp_step.factor_step_into(G, U, blocks, c, scale, codes, remaining, selected, absolute, tol, rho_f)
    size = omp_step.shortlist_into(score, codes, remaining, selected, out)
    return best_g, best_f, size


def _feasible_state(rng, n, n_domains):
    codes = rng.integers(0, n_domains, n)
    remaining = rng.integers(0, 3, n_domains)
    selected = rng.random(n) < 0.3
    j = rng.integers(n)
    remaining[codes[j]], selected[j] = 1, False  # at least one feasible element
    return codes, remaining, selected


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("absolute", [False, True])
@pytest.mark.parametrize("n_blocks", [1, 3])
@pytest.mark.parametrize("n, d, p", [(1, 1, 0), (7, 5, 1), (37, 17, 2), (300, 33, 3), (1031, 131, 9)])
def test_into_entry_points_from_numba(n, d, p, n_blocks, absolute, dtype):
    """gram_step_into / factor_step_into / shortlist_into compile inside another @njit function and
    agree exactly with the reference on small-integer data (p mod 4 and n not a multiple of anything)."""
    rng = np.random.default_rng(n * 1000 + d * 10 + p)
    rows, w = _ints(rng, (p, n), dtype), _ints(rng, p, dtype)
    G, U = _ints(rng, (n, d), dtype), _ints(rng, (n_blocks, d), dtype)
    blocks = rng.integers(0, n_blocks, n)
    c = _ints(rng, n, np.float64)
    codes, remaining, selected = _feasible_state(rng, n, 3)
    tol = rng.choice([0.0, 1.0], n)
    score = _ints(rng, n, np.float64)
    rho_g, rho_f, out = np.empty(n), np.empty(n), np.empty(n, np.int64)
    best_g, best_f, size = _steps_from_numba(rows, w, G, U, blocks, c, 0.5, codes, remaining, selected, absolute,
                                             tol, rho_g, rho_f, score, out)
    _same_step((rho_g, best_g), reference.gram_step(rows, w, c, codes, remaining, selected, absolute, tol))
    _same_step((rho_f, best_f), reference.factor_step(G, U, blocks, c, 0.5, codes, remaining, selected, absolute, tol))
    np.testing.assert_array_equal(out[:size], reference.shortlist(score, codes, remaining, selected))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("absolute", [False, True])
@pytest.mark.parametrize("n_blocks", [1, 4])
def test_into_entry_points_parallel_path(n_blocks, absolute, dtype):
    """Above PARALLEL_MIN_WORK the entry points run their parallel drivers (several chunks, the last
    one partial): same ρ and arg-max as the reference, ties included."""
    rng = np.random.default_rng(7)
    n = 2 * omp_step.GRAM_CHUNK + 3 * omp_step.FACTOR_CHUNK + 5  # partial chunks on both paths
    p = -(-omp_step.PARALLEL_MIN_WORK // n) + 2
    d = -(-omp_step.PARALLEL_MIN_WORK // n) + 3
    rows, w = _ints(rng, (p, n), dtype), _ints(rng, p, dtype)
    G, U = _ints(rng, (n, d), dtype), _ints(rng, (n_blocks, d), dtype)
    assert p * n >= omp_step.PARALLEL_MIN_WORK and n * d >= omp_step.PARALLEL_MIN_WORK
    blocks = rng.integers(0, n_blocks, n)
    c = _ints(rng, n, np.float64)
    codes, remaining, selected = _feasible_state(rng, n, 5)
    tol = rng.choice([0.0, 1.0], n)
    rho = np.empty(n)
    best = omp_step.gram_step_into(rows, w, c, codes, remaining, selected, absolute, tol, rho)
    _same_step((rho, best), reference.gram_step(rows, w, c, codes, remaining, selected, absolute, tol))
    best = omp_step.factor_step_into(G, U, blocks, c, 2.0, codes, remaining, selected, absolute, tol, rho)
    _same_step((rho, best), reference.factor_step(G, U, blocks, c, 2.0, codes, remaining, selected, absolute, tol))


@pytest.mark.parametrize("min_work", [0, 1 << 62])
@pytest.mark.parametrize("chunk", [1, 3, 64, 10_000])
def test_drivers_do_not_depend_on_chunking(min_work, chunk):
    """Serial and parallel drivers at any chunk size give bit-identical ρ and the same arg-max: many
    equal scores, scores within the tolerance, NaN and −inf among the feasible ones."""
    rng = np.random.default_rng(chunk)
    n, d, p = 997, 19, 6
    G, U = _ints(rng, (n, d), np.float32), _ints(rng, (2, d), np.float32)
    rows, w = _ints(rng, (p, n), np.float32), _ints(rng, p, np.float32)
    blocks = rng.integers(0, 2, n)
    c = _ints(rng, n, np.float64)
    c[rng.integers(0, n, 20)] = np.nan
    c[rng.integers(0, n, 20)] = -np.inf
    codes, remaining, selected = _feasible_state(rng, n, 4)
    tol = rng.choice([0.0, 2.0], n)
    for absolute in (False, True):
        rho_ref, rho = np.empty(n), np.empty(n)
        ref = omp_step._factor_run(G, U, blocks, c, 1.0, codes, remaining, selected, absolute, tol, rho_ref, 1 << 62, n)
        got = omp_step._factor_run(G, U, blocks, c, 1.0, codes, remaining, selected, absolute, tol, rho, min_work, chunk)
        assert got == ref
        np.testing.assert_array_equal(rho, rho_ref)
        ref = omp_step._gram_run(rows, w, c, codes, remaining, selected, absolute, tol, rho_ref, 1 << 62, n)
        got = omp_step._gram_run(rows, w, c, codes, remaining, selected, absolute, tol, rho, min_work, chunk)
        assert got == ref
        np.testing.assert_array_equal(rho, rho_ref)
        # the rule: lowest index of the largest non-NaN feasible score, else the first feasible element
        score = reference.feasible_scores(rho, absolute, tol)
        feasible = ~selected & (remaining[codes] > 0)
        candidates = np.where(feasible & ~np.isnan(score), score, -np.inf)
        expected = int(np.argmax(candidates)) if candidates.max() > -np.inf else int(np.argmax(feasible))
        assert got == expected


def test_gram_step_into_in_place_and_empty():
    """ρ may be c itself (a p = 0 step re-masks an unchanged ρ); nothing feasible gives −1."""
    rng = np.random.default_rng(3)
    n = 50
    rho = _ints(rng, n, np.float64)
    codes, remaining, selected = _feasible_state(rng, n, 3)
    expected = reference.gram_step(np.zeros((0, n)), np.zeros(0), rho, codes, remaining, selected)
    best = omp_step.gram_step_into(np.zeros((0, n)), np.zeros(0), rho, codes, remaining, selected, False,
                                   np.zeros(n), rho)
    _same_step((rho, best), expected)
    assert omp_step.gram_step_into(np.zeros((0, n)), np.zeros(0), rho, codes, np.zeros(3, np.int64), selected,
                                   False, np.zeros(n), rho) == -1
    assert omp_step.factor_step_into(np.ones((n, 2)), np.ones((1, 2)), np.zeros(n, np.int64), rho, 1.0, codes,
                                     remaining, np.ones(n, bool), False, np.zeros(n), np.empty(n)) == -1


# ----------------------------------------------------------------------------- whole solver
@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 60), d=st.integers(1, 30), doms=st.integers(1, 4), k=st.integers(1, 15), seed=seeds,
       lam=st.sampled_from([0.0, 0.01]), nonneg=st.booleans(), randomized=st.booleans(), fill=st.booleans(),
       gram=st.booleans())
def test_omp_backends_agree_float32(n, d, doms, k, seed, lam, nonneg, randomized, fill, gram):
    rng = np.random.default_rng(seed)
    G, b, _, matroid = random_instance(rng, n, d, doms, min(k, n))
    kw = dict(lam=lam, nonneg=nonneg, randomized=randomized, seed=seed, precompute=gram,
              on_no_gain="fill" if fill else "stop")
    ref = mo.omp(G.astype(np.float32), b, matroid, backend="numpy", **kw)
    got = mo.omp(G.astype(np.float32), b, matroid, backend="numba", **kw)
    assert ref.info["backend"] == "numpy" and got.info["backend"] == "numba"
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_allclose(got.weights, ref.weights, rtol=1e-6, atol=1e-9)
    assert got.stop_reason == ref.stop_reason


@pytest.mark.parametrize("block_diagonal", [False, True])
def test_partitionsel_backends_agree(block_diagonal, rng):
    G = rng.standard_normal((300, 16)).astype(np.float32)
    labels = rng.integers(0, 3, 300)
    kw = dict(anchors=rng.standard_normal((4, 16)), lr=0.1, block_diagonal=block_diagonal, precompute=False, seed=0)
    ref = mo.partitionsel(G, labels, 30, backend="numpy", **kw)
    got = mo.partitionsel(G, labels, 30, backend="numba", **kw)
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_allclose(got.weights, ref.weights, rtol=1e-6, atol=1e-12)


def test_unknown_backend_raises(rng):
    G, b, _, matroid = random_instance(rng, 10, 4, 2, 3)
    with pytest.raises(ValueError, match="backend"):
        mo.omp(G, b, matroid, backend="cuda")


# ----------------------------------------------------------------------------- batched NNQP
@settings(max_examples=30, deadline=None)
@given(B=st.integers(1, 12), k=st.integers(1, 12), rank=st.integers(1, 14), ridge=st.sampled_from([0.0, 0.1]),
       parallel=st.booleans(), seed=seeds)
def test_nnqp_batched_matches_nnqp(B, k, rank, ridge, parallel, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((B, rank, k))
    Q = A.transpose(0, 2, 1) @ A  # singular when rank < k
    c = rng.standard_normal((B, k))
    old = batched_nnqp.PARALLEL_MIN_WORK
    batched_nnqp.PARALLEL_MIN_WORK = 0 if parallel else old
    try:
        res = mo.nnqp_batched(Q, c, ridge=ridge)
    finally:
        batched_nnqp.PARALLEL_MIN_WORK = old
    assert res.w.shape == (B, k) and (res.converged | res.unbounded).all()
    for b in range(B):
        one = mo.nnqp(Q[b], c[b], ridge=ridge)  # singular Q with c ∉ range(Q): often unbounded
        assert res.status[b] == one.status
        assert res.objective[b] == pytest.approx(one.objective, rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(res.w[b], one.w, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(res.ray[b], one.ray if one.unbounded else 0.0, rtol=1e-7, atol=1e-9)


def test_nnqp_batched_reports_iteration_limit_and_bad_input():
    Q = np.tile(np.eye(3), (2, 1, 1))
    res = mo.nnqp_batched(Q, np.ones((2, 3)), max_iter=1)
    assert list(res.status) == ["max_iter", "max_iter"] and not res.converged.any()
    with pytest.raises(ValueError, match="shape"):
        mo.nnqp_batched(Q, np.ones((2, 4)))
    with pytest.raises(ValueError, match="positive semi-definite"):
        mo.nnqp_batched(-Q, np.ones((2, 3)))
