"""Array backends: torch (and cupy) arrays in give the numpy selection, in the input's framework.

Each case runs one instance twice — as numpy arrays and as arrays of another framework holding
the same values (bfloat16 compared against its float32 rounding) — and asserts the same
selection, weights to dtype-aware tolerance, and results of the input's framework and device.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np
import pytest

import matroidomp as mo
from matroidomp._array import Backend, detect

torch = pytest.importorskip("torch", reason="needs torch")
HAS_CUDA = torch.cuda.is_available()
if "triton" not in sys.modules and not HAS_CUDA:
    # as in test_triton_kernels: the interpreter is chosen when triton is first imported
    os.environ["TRITON_INTERPRET"] = "1"
try:
    import cupy

    HAS_CUPY_GPU = bool(cupy.cuda.is_available())
except ImportError:
    HAS_CUPY_GPU = False
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
needs_cupy = pytest.mark.skipif(not HAS_CUPY_GPU, reason="needs cupy and a CUDA GPU")
needs_triton = pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="needs triton")

TORCH_DTYPES = [torch.float32, torch.float64, torch.bfloat16]


def _instance(seed=0, n=60, d=12, n_domains=3, k=8):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, d))
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    b = rng.standard_normal(d)
    labels = rng.integers(0, n_domains, n)
    return G, b, labels, mo.PartitionMatroid(labels, mo.proportional_budgets(labels, k))


def _as_torch(x, dtype, device="cpu"):
    return torch.tensor(x, dtype=dtype, device=device)


def _host(t):
    """The numpy array a torch tensor's values round to (bfloat16 → float32)."""
    return (t.float() if t.dtype == torch.bfloat16 else t).cpu().numpy()


def _tol(dtype):
    return {torch.float64: 1e-9, torch.float32: 1e-4, torch.bfloat16: 1e-4}[dtype]


def _assert_torch_result(res, ref, device, rtol):
    assert isinstance(res.indices, torch.Tensor) and isinstance(res.weights, torch.Tensor)
    assert res.indices.dtype == torch.int64 and res.weights.dtype == torch.float64
    assert res.indices.device == res.weights.device == torch.device(device)
    np.testing.assert_array_equal(res.indices.cpu().numpy(), ref.indices)
    np.testing.assert_allclose(res.weights.cpu().numpy(), ref.weights, rtol=rtol, atol=rtol)
    assert res.objective == pytest.approx(ref.objective, rel=rtol)
    assert isinstance(res.history, np.ndarray) and res.counts == ref.counts


# ----------------------------------------------------------------------------- torch CPU
@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("precompute", [True, False])
def test_omp_torch_cpu(dtype, precompute):
    G, b, _, M = _instance()
    Gt, bt = _as_torch(G, dtype), _as_torch(b, dtype)
    res = mo.omp(Gt, bt, M, lam=0.1, precompute=precompute)
    ref = mo.omp(_host(Gt), _host(bt), M, lam=0.1, precompute=precompute)
    _assert_torch_result(res, ref, "cpu", _tol(dtype))


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
def test_omp_gram_torch_cpu(dtype):
    G, b, _, M = _instance(seed=1)
    Kt, ct = _as_torch(G @ G.T, dtype), _as_torch(G @ b, dtype)
    res = mo.omp_gram(Kt, ct, M, lam=0.05)
    # the host copy of a bfloat16 K is float32, whose PSD check allows float32 rounding only
    ref = mo.omp_gram(_host(Kt), _host(ct), M, lam=0.05, check_psd=dtype != torch.bfloat16)
    _assert_torch_result(res, ref, "cpu", _tol(dtype))


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("randomized", [False, True])
def test_partitionsel_torch_cpu(dtype, randomized):
    G, b, labels, _ = _instance(seed=2)
    Gt, At = _as_torch(G, dtype), _as_torch(b[None, :], dtype)
    res = mo.partitionsel(Gt, torch.tensor(labels), 8, anchors=At, lr=0.5, randomized=randomized, seed=3)
    ref = mo.partitionsel(_host(Gt), labels, 8, anchors=_host(At), lr=0.5, randomized=randomized, seed=3)
    _assert_torch_result(res, ref, "cpu", _tol(dtype))


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
def test_nnqp_nnls_batched_torch_cpu(dtype):
    rng = np.random.default_rng(4)
    A, y = rng.standard_normal((20, 6)), rng.standard_normal(20)
    At, yt = _as_torch(A, dtype), _as_torch(y, dtype)
    Ah, yh = _host(At).astype(np.float64), _host(yt).astype(np.float64)
    Q, c = Ah.T @ Ah, Ah.T @ yh
    for res, ref in [(mo.nnls(At, yt, lam=0.1), mo.nnls(_host(At), _host(yt), lam=0.1)),
                     (mo.nnqp(torch.tensor(Q), torch.tensor(c)), mo.nnqp(Q, c))]:
        assert isinstance(res.w, torch.Tensor) and res.w.dtype == torch.float64
        np.testing.assert_allclose(res.w.numpy(), ref.w, rtol=1e-9, atol=1e-12)
        assert res.objective == pytest.approx(ref.objective) and res.status == ref.status
    Qb, cb = np.stack([Q, Q + np.eye(6)]), np.stack([c, -c])
    res = mo.nnqp_batched(torch.tensor(Qb), torch.tensor(cb))
    ref = mo.nnqp_batched(Qb, cb)
    assert isinstance(res.w, torch.Tensor) and isinstance(res.objective, torch.Tensor)
    np.testing.assert_allclose(res.w.numpy(), ref.w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.objective.numpy(), ref.objective, rtol=1e-12)
    np.testing.assert_array_equal(res.status, ref.status)


def test_torch_results_feed_the_metrics_and_the_matroid():
    G, b, _, M = _instance(seed=5)
    Gt = torch.tensor(G)
    res = mo.omp(Gt, torch.tensor(b), M)
    assert M.is_independent(res.indices)
    assert res.mask(M.n).sum() == len(res)
    assert mo.conflicting_pairs(Gt, res.indices) == mo.conflicting_pairs(G, res.indices.numpy())


# ----------------------------------------------------------------------------- numpy and mixed
def test_numpy_in_numpy_out():
    G, b, labels, M = _instance(seed=6)
    for res in (mo.omp(G, b, M), mo.omp_gram(G @ G.T, G @ b, M),
                mo.partitionsel(G, labels, 8, anchors=b, lr=0.5)):
        assert type(res.indices) is np.ndarray and type(res.weights) is np.ndarray
        assert res.indices.dtype == np.int64 and res.weights.dtype == np.float64
    assert type(mo.nnls(G.T, b).w) is np.ndarray


def test_mixed_frameworks_are_refused():
    G, b, labels, M = _instance(seed=7)
    Gt, bt = torch.tensor(G), torch.tensor(b)
    with pytest.raises(TypeError, match="b is a numpy array but G is a torch array"):
        mo.omp(Gt, b, M)
    with pytest.raises(TypeError, match="c is a torch array but K is a numpy array"):
        mo.omp_gram(G @ G.T, torch.tensor(G @ b), M)
    with pytest.raises(TypeError, match="anchors is a numpy array but G is a torch array"):
        mo.partitionsel(Gt, labels, 8, anchors=b, lr=0.5)
    with pytest.raises(TypeError, match="b is a torch array but A is a numpy array"):
        mo.nnls(G.T, bt)


def test_sequences_and_labels_adopt_the_arrays_framework():
    """Plain lists are not arrays; labels are host metadata in any framework."""
    G, b, labels, M = _instance(seed=8)
    res = mo.omp(torch.tensor(G), b.tolist(), M)
    assert isinstance(res.indices, torch.Tensor)
    np.testing.assert_array_equal(res.indices.numpy(), mo.omp(G, b, M).indices)
    res = mo.partitionsel(G, torch.tensor(labels), 8, anchors=b, lr=0.5)
    assert type(res.indices) is np.ndarray


# ----------------------------------------------------------------------------- the Triton step
def test_auto_runs_the_device_path_for_cuda_tensors_only():
    """The dispatch rule itself (a CUDA device object needs no GPU): CUDA tensors take the torch
    path (whose step is Triton on CUDA), host arrays the compiled numba loop."""
    from matroidomp._omp import resolve_backend

    cuda = Backend(detect(x=torch.zeros(1)).xp, torch.device("cuda", 0))
    assert resolve_backend("auto", cuda) == "torch"
    assert resolve_backend("numba", cuda) == "numba"  # an explicit backend wins
    assert resolve_backend("auto", detect(x=torch.zeros(1))) == "numba"  # CPU tensors: read in place
    assert resolve_backend("auto", detect(x=np.zeros(1))) == "numba"
    with pytest.raises(ValueError, match="backend: expected one of"):
        resolve_backend("cuda", cuda)
    G, b, _, M = _instance(seed=12)
    assert mo.omp(torch.tensor(G), torch.tensor(b), M).info["backend"] == "numba"


def test_triton_backend_without_triton_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "matroidomp.kernels.triton_omp_step", None)  # import fails as without triton
    G, b, _, M = _instance(seed=16)
    with pytest.raises(ImportError, match=r"needs torch and triton.*backend='numba'"):
        mo.omp(torch.tensor(G), torch.tensor(b), M, backend="triton")


@needs_triton
@pytest.mark.parametrize("precompute", [True, False])
@pytest.mark.parametrize("lam", [0.0, 0.1])
@pytest.mark.parametrize("nonneg", [True, False])
def test_omp_triton_step_matches_numpy(precompute, lam, nonneg):
    """backend='triton' on torch CPU tensors (interpreter here, compiled on CUDA): same result, fp32."""
    G, b, _, M = _instance(seed=13)
    G, b = G.astype(np.float32), b.astype(np.float32)
    device = "cuda" if HAS_CUDA else "cpu"
    res = mo.omp(torch.tensor(G, device=device), torch.tensor(b, device=device), M, lam=lam, nonneg=nonneg,
                 precompute=precompute, backend="triton")
    ref = mo.omp(G, b, M, lam=lam, nonneg=nonneg, precompute=precompute)
    assert res.info["backend"] == "triton" and res.info["gram"] == ref.info["gram"]
    _assert_torch_result(res, ref, device, 1e-5)


@needs_triton
@pytest.mark.parametrize("precompute", [True, False])
@pytest.mark.parametrize("block_diagonal", [False, True])
@pytest.mark.parametrize("randomized", [False, True])
def test_partitionsel_triton_step_matches_numpy(precompute, block_diagonal, randomized):
    G, b, labels, _ = _instance(seed=14, n=70, n_domains=4, k=9)
    G = G * np.random.default_rng(1).uniform(0.1, 10.0, (70, 1))  # uneven norms: the row scale matters
    G, b = G.astype(np.float32), b.astype(np.float32)
    device = "cuda" if HAS_CUDA else "cpu"
    opts = dict(lr=0.5, randomized=randomized, block_diagonal=block_diagonal, seed=5, precompute=precompute)
    res = mo.partitionsel(torch.tensor(G, device=device), labels, 9, anchors=torch.tensor(b, device=device),
                          backend="triton", **opts)
    ref = mo.partitionsel(G, labels, 9, anchors=b, **opts)
    _assert_torch_result(res, ref, device, 1e-5)


@needs_triton
def test_omp_gram_triton_step_stops_without_gain():
    """Only two elements correlate positively: 'stop' ends after them, 'fill' completes the budgets."""
    G, b, _, M = _instance(seed=15)
    G = G.astype(np.float32)
    c = np.full(G.shape[0], -1.0, dtype=np.float32)
    c[[3, 40]] = [0.5, 0.25]
    K = G @ G.T
    for rule in ("stop", "fill"):
        res = mo.omp_gram(torch.tensor(K), torch.tensor(c), M, on_no_gain=rule, backend="triton")
        ref = mo.omp_gram(K, c, M, on_no_gain=rule)
        assert res.stop_reason == ref.stop_reason
        _assert_torch_result(res, ref, "cpu", 1e-5)


# ----------------------------------------------------------------------------- devices
@needs_cuda
@pytest.mark.parametrize("dtype", TORCH_DTYPES)
def test_omp_torch_cuda(dtype):
    """'auto' runs the Triton step on CUDA tensors (fp32 accumulation: float32 tolerances)."""
    G, b, labels, M = _instance(seed=9)
    Gt, bt = _as_torch(G, dtype, "cuda"), _as_torch(b, dtype, "cuda")
    res = mo.omp(Gt, bt, M, lam=0.1)
    ref = mo.omp(_host(Gt), _host(bt), M, lam=0.1)
    assert res.info["backend"] == "triton"
    _assert_torch_result(res, ref, Gt.device, 1e-4)
    res = mo.partitionsel(Gt, labels, 8, anchors=bt, lr=0.5, precompute=False, seed=0)
    ref = mo.partitionsel(_host(Gt), labels, 8, anchors=_host(bt), lr=0.5, precompute=False, seed=0)
    _assert_torch_result(res, ref, Gt.device, 1e-4)


@needs_cuda
def test_devices_must_agree():
    G, b, _, M = _instance(seed=10)
    with pytest.raises(ValueError, match="b is on cpu but G is on cuda"):
        mo.omp(torch.tensor(G, device="cuda"), torch.tensor(b), M)


@needs_cupy
def test_omp_cupy():
    G, b, labels, M = _instance(seed=11)
    Gc, bc = cupy.asarray(G), cupy.asarray(b)
    res = mo.omp(Gc, bc, M, lam=0.1)
    ref = mo.omp(G, b, M, lam=0.1)
    assert isinstance(res.indices, cupy.ndarray) and isinstance(res.weights, cupy.ndarray)
    np.testing.assert_array_equal(cupy.asnumpy(res.indices), ref.indices)
    np.testing.assert_allclose(cupy.asnumpy(res.weights), ref.weights, rtol=1e-9, atol=1e-12)
    res = mo.partitionsel(Gc, labels, 8, anchors=bc, lr=0.5)
    assert isinstance(res.indices, cupy.ndarray)
