"""backend='torch' keeps every n-sized array where the tensors live.

During each call, converting a tensor of more than O(k²) elements to host memory fails:
``torch.Tensor.numpy``, ``__array__``, ``__dlpack__`` and ``tolist`` raise for tensors above the
limit. The calls run on CPU tensors here (the same code runs on CUDA tensors), and must select
what the numpy path selects — the deterministic rule's weights to 1e-5, the randomized rule the
same examples for the same seed.
"""

from contextlib import contextmanager

import numpy as np
import pytest

import matroidomp as mo

torch = pytest.importorskip("torch", reason="needs torch")

N, D, K = 300, 48, 8
LIMIT = 4 * K * K  # O(k²): the refit's system and a few vectors of size k may cross


@contextmanager
def host_copies_forbidden(monkeypatch, limit: int = LIMIT):
    """Make every large tensor → host conversion raise while the block runs."""
    seen = []
    for name in ("numpy", "__array__", "__dlpack__", "tolist"):
        original = getattr(torch.Tensor, name)

        def guarded(self, *args, _original=original, _name=name, **kwargs):
            if self.numel() > limit:
                raise AssertionError(f"host copy of a {tuple(self.shape)} tensor through Tensor.{_name}")
            seen.append((_name, self.numel()))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, guarded)
    yield seen
    monkeypatch.undo()


def _instance(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((N, D)).astype(dtype)
    labels = rng.integers(0, 3, N)
    anchors = rng.standard_normal((4, D)).astype(dtype)
    return G, labels, anchors


def _same(res, ref, rtol=1e-5):
    assert isinstance(res.indices, torch.Tensor)
    np.testing.assert_array_equal(res.indices.numpy(), ref.indices)
    np.testing.assert_allclose(res.weights.numpy(), ref.weights, rtol=rtol, atol=rtol * np.abs(ref.weights).max())
    assert res.objective == pytest.approx(ref.objective, rel=rtol)
    assert res.counts == ref.counts and res.stop_reason == ref.stop_reason


@pytest.mark.parametrize("precompute", [True, False])
@pytest.mark.parametrize("randomized", [False, True])
def test_partitionsel(monkeypatch, precompute, randomized):
    G, labels, anchors = _instance()
    Gt, At = torch.from_numpy(G), torch.from_numpy(anchors)
    with host_copies_forbidden(monkeypatch):
        res = mo.partitionsel(Gt, labels, K, anchors=At, lr=0.05, precompute=precompute, randomized=randomized,
                              seed=7, backend="torch")
        pairs = mo.conflicting_pairs(Gt, res.indices)
    ref = mo.partitionsel(G, labels, K, anchors=anchors, lr=0.05, precompute=precompute, randomized=randomized,
                          seed=7, backend="numpy")
    _same(res, ref)
    assert res.info["backend"] == "torch" and pairs == mo.conflicting_pairs(G, ref.indices)


@pytest.mark.parametrize("precompute", [True, False])
def test_omp_and_omp_gram_and_solve_omp(monkeypatch, precompute):
    G, labels, anchors = _instance(1, np.float64)
    b = anchors[0]
    M = mo.PartitionMatroid(labels, mo.proportional_budgets(labels, K))
    Gt, bt = torch.from_numpy(G), torch.from_numpy(b)
    Kt, ct = Gt @ Gt.T, Gt @ bt
    with host_copies_forbidden(monkeypatch):
        res = mo.omp(Gt, bt, M, lam=0.1, precompute=precompute, backend="torch")
        gram = mo.omp_gram(Kt, ct, M, lam=0.1, backend="torch")
        u = mo.QuadraticUtility.taylor(Gt, torch.from_numpy(anchors), 0.05)
        solved = mo.solve_omp(u, M, precompute=precompute, backend="torch", randomized=True, seed=3)
    _same(res, mo.omp(G, b, M, lam=0.1, precompute=precompute, backend="numpy"))
    _same(gram, mo.omp_gram(G @ G.T, G @ b, M, lam=0.1, backend="numpy"))
    ref = mo.solve_omp(mo.QuadraticUtility.taylor(G, anchors, 0.05), M, precompute=precompute, backend="numpy",
                       randomized=True, seed=3)
    np.testing.assert_array_equal(solved.indices, ref.indices)
    assert solved.objective == pytest.approx(ref.objective, rel=1e-9)


def test_labels_on_the_device_stay_there(monkeypatch):
    """Domain labels given as a tensor: codes on its device, only the domains come back."""
    G, labels, anchors = _instance(2)
    Gt, At, Lt = torch.from_numpy(G), torch.from_numpy(anchors), torch.from_numpy(labels)
    with host_copies_forbidden(monkeypatch):
        res = mo.partitionsel(Gt, Lt, K, anchors=At, lr=0.05, seed=1, backend="torch")
    ref = mo.partitionsel(G, labels, K, anchors=anchors, lr=0.05, seed=1, backend="numpy")
    _same(res, ref)


def test_the_guard_catches_a_host_copy(monkeypatch):
    """The guard itself: the numba backend reads CPU tensors through a numpy view, which it forbids."""
    G, labels, anchors = _instance(3)
    with host_copies_forbidden(monkeypatch), pytest.raises(AssertionError, match="host copy"):
        mo.partitionsel(torch.from_numpy(G), labels, K, anchors=torch.from_numpy(anchors), lr=0.05, backend="numba")


@pytest.mark.parametrize("method", ["partitionsel", "partitionsel-omp", "gradmatch", "gradmatch-per-domain", "iwd",
                                    "greats", "gradnorm", "facloc", "random", "stratified-random"])
def test_partition_selector(monkeypatch, method):
    """The adapter's whole step (per-example gradients, one utility, the method, the conflict count)
    with backend='torch': no gradient-sized tensor reaches the host, and the numpy path's selection."""
    pytest.importorskip("transformers", reason="needs transformers")
    from lm_cases import answer_batch, tiny_qwen2

    from matroidomp.torch import PartitionSelector, last_layer_linears

    domains = np.array([0] * 16 + [1] * 10 + [2] * 6)
    pool, valid, model = answer_batch(torch.from_numpy(domains), 1), answer_batch([0, 1, 2, 2], 2), tiny_qwen2()
    names = last_layer_linears(model, 1)

    def select(backend):
        s = PartitionSelector(model, names, method=method, k=K, seed=4, backend=backend)
        return s.select(pool, domains, valid, lr=1e-3)

    with host_copies_forbidden(monkeypatch):
        sel = select("torch")
    ref = select("numpy")
    np.testing.assert_array_equal(sel.indices.numpy(), ref.indices.numpy())
    np.testing.assert_allclose(sel.weights.numpy(), ref.weights.numpy(), rtol=1e-5,
                               atol=1e-5 * float(ref.weights.abs().max()))
    assert sel.objective == pytest.approx(ref.objective, rel=1e-5)
    assert sel.counts == ref.counts and sel.conflicting_pairs == ref.conflicting_pairs
