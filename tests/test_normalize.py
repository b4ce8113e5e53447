"""Row normalisation as a row scale: partitionsel(normalize=True) on G equals normalize=False on
the explicitly normalised rows g_i/‖g_i‖ (same indices; weights and F to the dtype's rounding),
on both OMP paths, and G itself is never copied."""

import numpy as np
import pytest

import matroidomp as mo
from matroidomp import QuadraticUtility


def _explicit(X):
    return (X / np.linalg.norm(X.astype(np.float64), axis=1, keepdims=True)).astype(X.dtype)


def _instance(seed, dtype, n=90, d=24):
    rng = np.random.default_rng(seed)
    G = (rng.standard_normal((n, d)) * rng.uniform(0.01, 100.0, (n, 1))).astype(dtype)  # uneven norms
    anchors = rng.standard_normal((3, d)).astype(dtype) * 5.0
    labels = rng.integers(0, 3, n)
    return G, anchors, labels


CASES = [dict(precompute=True), dict(precompute=False), dict(precompute=False, block_diagonal=True),
         dict(precompute=True, block_diagonal=True), dict(precompute=False, randomized=True, seed=7),
         dict(precompute=False, backend="numpy")]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kw", CASES, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_row_scale_matches_explicit_normalisation(seed, dtype, kw):
    G, anchors, labels = _instance(seed, dtype)
    kw = {"randomized": False, **kw}  # deterministic unless the case says otherwise (then seeded)
    res = mo.partitionsel(G, labels, 12, anchors=anchors, lr=0.05, normalize=True, **kw)
    ref = mo.partitionsel(_explicit(G), labels, 12, anchors=_explicit(anchors), lr=0.05, normalize=False, **kw)
    rtol = 1e-9 if dtype == np.float64 else 2e-4
    np.testing.assert_array_equal(res.indices, ref.indices)
    np.testing.assert_allclose(res.weights, ref.weights, rtol=rtol, atol=rtol * np.abs(ref.weights).max())
    assert res.objective == pytest.approx(ref.objective, rel=rtol)
    assert res.info["gram"] == kw["precompute"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_utility_values_and_no_copy(dtype):
    G, anchors, labels = _instance(3, dtype)
    u = QuadraticUtility.taylor(G, anchors, 0.1, domains=labels)
    ref = QuadraticUtility.taylor(_explicit(G), _explicit(anchors), 0.1, normalize=False, domains=labels)
    assert u.factor is G  # the row scale is kept beside G; G is not copied
    np.testing.assert_allclose(u.row_scale, 1 / np.linalg.norm(G.astype(np.float64), axis=1))
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(u.c, ref.c, rtol=rtol)
    S = np.array([0, 5, 17, 40, 41])
    np.testing.assert_allclose(u.q_columns(S, rows=np.arange(20)), ref.q_columns(S, rows=np.arange(20)),
                               rtol=rtol, atol=rtol)
    np.testing.assert_allclose(u.with_gram().gram, ref.with_gram().gram, rtol=rtol, atol=rtol)
    assert u.value(S) == pytest.approx(ref.value(S), rel=rtol)


def test_zero_row_names_the_row_and_huge_rows_are_scaled_first():
    G, anchors, labels = _instance(4, np.float32)
    Z = G.copy()
    Z[7] = 0
    with pytest.raises(ValueError, match="G: row 7 is all zeros and cannot be L2-normalised.*normalize=False"):
        mo.partitionsel(Z, labels, 12, anchors=anchors, lr=0.05)
    big = G.astype(np.float64)
    big[3] *= 1e200  # its squared norm overflows float64
    with pytest.raises(ValueError, match="G: the squared norm of row 3 leaves the float64 range"):
        mo.partitionsel(big, labels, 12, anchors=anchors, lr=0.05)
    huge = G.copy()
    huge[3] *= np.float32(1e25)  # overflows float32 once squared, not once scaled
    for precompute in (True, False):
        res = mo.partitionsel(huge, labels, 12, anchors=anchors, lr=0.05, precompute=precompute, seed=0)
        ref = mo.partitionsel(_explicit(G), labels, 12, anchors=_explicit(anchors), lr=0.05, normalize=False,
                              precompute=precompute, seed=0)
        np.testing.assert_array_equal(res.indices, ref.indices)
        assert np.all(np.isfinite(res.weights))
