"""Every NNQP entry point is exact on singular, rank-deficient, duplicated, antipodal and wildly
scaled PSD problems: the optimum of an independent brute force (support enumeration plus an LP
for unbounded rays, tests/nnqp_reference.py), or status 'unbounded' with a valid ray.

The Triton kernel's version of this test lives in test_triton_kernels.py (interpreter set-up).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidomp as mo
from nnqp_reference import KINDS, assert_matches_brute_force, brute_force_nnqp, singular_instance

problems = dict(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), kind=st.sampled_from(KINDS),
                c_kind=st.integers(0, 2))


@settings(max_examples=300, deadline=None)
@given(**problems)
def test_nnqp_is_exact_or_proves_unbounded(seed, n, kind, c_kind):
    Q, c = singular_instance(seed, n, kind, c_kind)
    res = mo.nnqp(Q, c)
    assert_matches_brute_force(Q, c, res.status, res.objective, res.w, res.ray)


@settings(max_examples=60, deadline=None)
@given(**problems, start=st.integers(0, 2**32 - 1))
def test_nnqp_warm_start_changes_nothing(seed, n, kind, c_kind, start):
    Q, c = singular_instance(seed, n, kind, c_kind)
    w0 = np.random.default_rng(start).exponential(size=n) * (np.random.default_rng(start + 1).random(n) < 0.5)
    res = mo.nnqp(Q, c, w0=w0)
    assert_matches_brute_force(Q, c, res.status, res.objective, res.w, res.ray)


@settings(max_examples=40, deadline=None)
@given(seeds=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=6), n=st.integers(1, 7),
       kind=st.sampled_from(KINDS), c_kind=st.integers(0, 2))
def test_nnqp_batched_is_exact_or_proves_unbounded(seeds, n, kind, c_kind):
    pairs = [singular_instance(s, n, kind, c_kind) for s in seeds]
    Q = np.stack([q for q, _ in pairs])
    c = np.stack([cc for _, cc in pairs])
    res = mo.nnqp_batched(Q, c)
    for b in range(len(seeds)):
        assert_matches_brute_force(Q[b], c[b], res.status[b], res.objective[b], res.w[b],
                                   res.ray[b] if res.unbounded[b] else None)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 6), n=st.integers(1, 8),
       kind=st.sampled_from(("independent", "duplicated", "antipodal", "zero", "wild_scale")),
       lam=st.sampled_from([0.0, 0.0, 0.3]))
def test_nnls_is_exact_on_rank_deficient_A(seed, d, n, kind, lam):
    """NNLS is never unbounded (F ≤ ½‖b‖²); dependent columns (n > d, repeats) are ordinary."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((d, n))
    if n > 1 and kind in ("duplicated", "antipodal"):
        i, j = rng.choice(n, 2, replace=False)
        A[:, j] = A[:, i] if kind == "duplicated" else -A[:, i]
    if kind == "zero":
        A[:, rng.integers(n)] = 0.0
    if kind == "wild_scale":
        A *= 10.0 ** rng.uniform(-4, 4, size=n)
    b = rng.standard_normal(d)
    res = mo.nnls(A, b, lam=lam)
    Q, c = A.T @ A + lam * np.eye(n), A.T @ b
    opt, _ = brute_force_nnqp(Q, c)
    assert res.converged and np.isfinite(opt)
    assert res.objective == pytest.approx(opt, rel=1e-7, abs=1e-9 * (b @ b))
    r = A @ res.w - b
    assert 0.5 * (b @ b - r @ r - lam * res.w @ res.w) == pytest.approx(opt, rel=1e-7, abs=1e-9 * (b @ b))


@settings(max_examples=80, deadline=None)
@given(**problems)
def test_utility_value_on_a_set_is_the_brute_force_optimum(seed, n, kind, c_kind):
    """QuadraticUtility.from_gram(K, c).value(S) = sup over w ≥ 0 on S (inf when unbounded)."""
    K, c = singular_instance(seed, n, kind, c_kind)
    u = mo.QuadraticUtility.from_gram(K, c)
    S = np.flatnonzero(np.random.default_rng(seed).random(n) < 0.7)
    opt, _ = brute_force_nnqp(K[np.ix_(S, S)], c[S])
    value = u.value(S)
    if np.isinf(opt):
        assert value == np.inf
    else:
        assert value == pytest.approx(opt, rel=1e-7, abs=1e-12 * max(1.0, abs(opt)))


@pytest.mark.parametrize("dtype", ["float16", "float32"])
@pytest.mark.parametrize("framework", ["numpy", "torch"])
def test_low_precision_psd_input_is_accepted_alike(dtype, framework):
    """A PSD matrix rounded to half precision is PSD only to its rounding: numpy and torch inputs
    of the same dtype are judged alike (torch float16 was called indefinite)."""
    rng = np.random.default_rng(3)
    B = rng.standard_normal((6, 3))
    Q = (B @ B.T).astype(dtype)
    c = (B @ rng.standard_normal(3)).astype(dtype)
    if framework == "torch":
        torch = pytest.importorskip("torch")
        Q, c = torch.from_numpy(Q), torch.from_numpy(c)
        Qb = torch.from_numpy(np.stack([B @ B.T] * 2).astype(dtype)).to(torch.bfloat16)
        assert mo.nnqp_batched(Qb, Qb[:, 0]).status.shape == (2,)
    res = mo.nnqp(Q, c)
    assert res.status in ("converged", "unbounded")
    batched = mo.nnqp_batched(Q[None], c[None])
    assert batched.status[0] == res.status


def test_issue_reproducers():
    """The two reproducers of the issue: an unbounded ray and a bounded singular problem whose
    optimum the old solver missed by blocking a dependent column."""
    res = mo.nnqp(np.array([[1.0, -1.0], [-1.0, 1.0]]), np.array([1.0, 1.0]))
    assert res.status == "unbounded" and res.objective == np.inf
    np.testing.assert_array_equal(res.ray, [1.0, 1.0])
    res = mo.nnqp(np.array([[5.0, -2, 1], [-2, 1, 0], [1, 0, 1]]), np.array([0.0, 2, 3]))
    assert res.status == "converged"
    assert res.objective == pytest.approx(10.0, rel=1e-12)
    np.testing.assert_allclose(res.w, [4.0, 10.0, 0.0], rtol=1e-12, atol=1e-12)
    for value in (mo.nnqp_batched(np.array([[[5.0, -2, 1], [-2, 1, 0], [1, 0, 1]]]), np.array([[0.0, 2, 3]])).objective[0],
                  mo.QuadraticUtility.from_gram(np.array([[5.0, -2, 1], [-2, 1, 0], [1, 0, 1]]),
                                                np.array([0.0, 2, 3])).value([0, 1, 2])):
        assert value == pytest.approx(10.0, rel=1e-12)


def test_random_low_rank_problems_of_the_issue():
    """200 problems Q = BBᵀ (B 6 × 3), c ~ N(0, I): every unbounded one is flagged, every bounded
    one reaches the brute-force optimum (before: 72 unbounded unflagged, 17 wrong optima)."""
    rng = np.random.default_rng(2026)
    flagged = 0
    for _ in range(200):
        B = rng.standard_normal((6, 3))
        Q, c = B @ B.T, rng.standard_normal(6)
        res = mo.nnqp(Q, c)
        assert_matches_brute_force(Q, c, res.status, res.objective, res.w, res.ray)
        flagged += res.unbounded
    assert 40 < flagged < 120
