"""OMP (solve_omp, omp, omp_gram, partitionsel) from an initial set A: forced picks, then OMP.

The reference is independent of the solvers' loops: F of a set is the brute-force NNQP of
tests/nnqp_reference.py (nonnegative weights) or least squares (signed), on the blocks of
Q and c; ρ at a step is c − Q[:, S]w_S at that optimum (Qw is the same at every optimum).
"""

from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

import matroidomp as mo
from matroidomp._omp import HORIZON, forced_failure, rng_key
from matroidomp._result import STOP_NO_GAIN, STOP_RANK
from matroidomp.kernels.omp_loop import uniform_index
from matroidomp.kernels.status import MAX_ITER
from matroidomp.testing import gradient_pools
from nnqp_reference import brute_force_nnqp

torch = pytest.importorskip("torch", reason="needs torch")
HAS_CUDA = torch.cuda.is_available()
if "triton" not in sys.modules and not HAS_CUDA:
    # as in test_triton_kernels: the interpreter is chosen when triton is first imported
    os.environ["TRITON_INTERPRET"] = "1"
needs_triton = pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="needs triton")

FAST = settings(max_examples=150, deadline=None)


# ----------------------------------------------------------------------------- reference
class Reference:
    """F, its optimal weights and ρ on any set, from Q and c (no solver of the package)."""

    def __init__(self, u: mo.QuadraticUtility):
        everything = np.arange(u.n)
        self.Q = u.q_columns(everything)
        self.c = u.c_host(everything)
        self.nonneg = u.nonneg
        diag = np.diag(self.Q)
        live = diag > 0
        gain = np.abs(self.c) if not self.nonneg else np.maximum(self.c, 0.0)
        root = np.sqrt(np.where(live, diag, 1.0))
        self.gamma = float(np.max(np.where(live, gain / root, 0.0)))
        self.sigma = float(np.max(np.where(live, np.abs(self.c) / root, 0.0)))
        self.root = np.sqrt(np.clip(diag, 0.0, None))
        self.cap = HORIZON * self.gamma**2 / 2  # the solvers' numerical horizon on F

    def solve(self, S) -> tuple[float, np.ndarray]:
        S = list(S)
        if not S:
            return 0.0, np.zeros(0)
        Q, c = self.Q[np.ix_(S, S)], self.c[S]
        if self.nonneg:
            return brute_force_nnqp(Q, c)
        # least squares on the equilibrated system DQD x = Dc, w = Dx (D = diag(1/√Q_ii)): the
        # thresholds then do not depend on the rows' scales; unbounded when Dc ∉ range(DQD)
        diag = np.diag(Q)
        if np.any((diag <= 0) & (c != 0)):
            return np.inf, np.zeros(len(S))
        live = diag > 0
        D = 1.0 / np.sqrt(diag[live])
        C, Dc = Q[np.ix_(live, live)] * D[:, None] * D[None, :], c[live] * D
        x = np.linalg.lstsq(C, Dc, rcond=1e-12)[0]
        w = np.zeros(len(S))
        w[live] = D * x
        if np.max(np.abs(Dc - C @ x), initial=0.0) > 1e-8 * max(float(np.max(np.abs(Dc), initial=0.0)), 1e-300):
            return np.inf, w
        return float(Dc @ x - 0.5 * x @ C @ x), w

    def value(self, S) -> float:
        return self.solve(S)[0]

    def rho(self, S) -> tuple[np.ndarray, np.ndarray]:
        """(ρ, w_S) at the optimum on S."""
        _, w = self.solve(S)
        return self.c - self.Q[:, list(S)] @ w, w

    def atol(self) -> float:
        return 1e-9 * max(self.gamma**2, 1e-300)


def random_independent(matroid, rng) -> list[int]:
    """A random independent set, in random order."""
    counts = np.zeros(matroid.n_domains, dtype=np.int64)
    keep = []
    for j in rng.permutation(matroid.n).tolist():
        d = matroid.codes[j]
        if counts[d] < matroid.budgets[d] and rng.random() < 0.6:
            counts[d] += 1
            keep.append(j)
    return keep


@st.composite
def problems(draw):
    """(utility, matroid, A, rng) on the hard gradient pools (duplicated, antipodal, wild scales,
    n > d, rank-deficient): gradient matching (signed or nonnegative) or the Taylor utility."""
    G, domains, anchors = draw(gradient_pools(max_n=8, max_d=6))
    if draw(st.booleans()):
        u = mo.QuadraticUtility.gradient_matching(G, anchors.mean(axis=0), draw(st.sampled_from([0.0, 0.1])),
                                                  nonneg=draw(st.booleans()))
    else:
        u = mo.QuadraticUtility.taylor(G, anchors, draw(st.sampled_from([0.1, 1.0])), normalize=draw(st.booleans()),
                                       domains=domains if draw(st.booleans()) else None)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    labels = np.unique(domains)
    budgets = {int(d): int(rng.integers(0, np.sum(domains == d) + 1)) for d in labels}
    matroid = mo.PartitionMatroid(domains, budgets)
    return u, matroid, random_independent(matroid, rng), rng


def expected_failure(ref: Reference, A) -> int | None:
    """The element of A whose addition makes F unbounded (None if F(A) is finite); assume() away
    the cases near the solvers' horizon, where either answer is right."""
    for t in range(len(A)):
        value = ref.value(A[: t + 1])
        if not np.isfinite(value):
            return A[t]
        assume(value < ref.cap / 100)
    return None


def check_against_reference(res, ref: Reference, matroid, A, deterministic: bool):
    idx = res.indices.tolist()
    assert idx[: len(A)] == A
    assert matroid.is_independent(res.indices)
    atol = ref.atol()
    values = [ref.value(idx[: t + 1]) for t in range(len(idx))]
    np.testing.assert_allclose(res.history, values, rtol=1e-7, atol=atol)
    assert res.objective == pytest.approx(values[-1] if values else 0.0, rel=1e-7, abs=atol)
    w = np.asarray(res.weights)
    Q, c = ref.Q[np.ix_(idx, idx)], ref.c[idx]
    assert float(c @ w - 0.5 * w @ Q @ w) == pytest.approx(res.objective, rel=1e-7, abs=atol)  # w attains F
    if ref.nonneg:
        assert np.all(w >= 0)
    assert res.counts == matroid.count_dict(res.indices)
    if not deterministic:
        return
    out = set(res.info["skipped_unbounded"].tolist()) | set(res.info["skipped_unresolved"].tolist())
    counts = matroid.counts(np.asarray(A, dtype=np.int64)) if A else np.zeros(matroid.n_domains, dtype=np.int64)
    for t in range(len(A), len(idx) + 1):
        S = idx[:t]
        rho, wS = ref.rho(S)
        score = np.abs(rho) if not ref.nonneg else rho
        # the loops' tie allowance: ~eps·√Q_ii·(σ + Σ_j √Q_jj|w_j|), generously
        allowance = 1e-7 * ref.root * (ref.sigma + float(ref.root[S] @ np.abs(wS)))
        feasible = [i for i in range(matroid.n) if i not in S and i not in out
                    and counts[matroid.codes[i]] < matroid.budgets[matroid.codes[i]]]
        if t == len(idx):  # after the last pick: nothing feasible is left, or nothing gains
            if res.stop_reason == STOP_NO_GAIN:
                assert all(score[i] <= allowance[i] + atol for i in feasible)
            elif res.stop_reason == STOP_RANK:
                assert not feasible
            break
        j = idx[t]
        assert j in feasible
        assert all(score[j] >= score[i] - allowance[i] - allowance[j] - atol for i in feasible), (t, j, score)
        counts[matroid.codes[j]] += 1


# ----------------------------------------------------------------------------- contracted problem
@FAST
@given(problem=problems(), backend=st.sampled_from(["numba", "numpy"]), gram=st.booleans())
def test_deterministic_omp_from_initial_is_omp_on_the_contracted_problem(problem, backend, gram):
    u, matroid, A, _ = problem
    ref = Reference(u)
    bad = expected_failure(ref, A)
    event("unbounded initial set" if bad is not None else f"|A| = {len(A)}, nonneg={u.nonneg}")
    if bad is not None:
        with pytest.raises(ValueError, match=rf"initial: adding element {bad} makes F unbounded"):
            mo.solve_omp(u, matroid, initial=A, backend=backend, precompute=gram)
        return
    res = mo.solve_omp(u, matroid, initial=A, backend=backend, precompute=gram)
    check_against_reference(res, ref, matroid, A, deterministic=True)


@FAST
@given(problem=problems(), backend=st.sampled_from(["numba", "numpy"]), seed=st.integers(0, 2**16))
def test_randomized_omp_from_initial_picks_from_the_shortlist_of_the_budgets_left(problem, backend, seed):
    """Every randomized pick is among its domain's top rem_d (rem_d: the budget left after A and
    the picks before it), and the weights and objective are exact for A ∪ T."""
    u, matroid, A, _ = problem
    ref = Reference(u)
    assume(expected_failure(ref, A) is None)
    res = mo.solve_omp(u, matroid, initial=A, backend=backend, randomized=True, seed=seed)
    check_against_reference(res, ref, matroid, A, deterministic=False)
    idx = res.indices.tolist()
    out = set(res.info["skipped_unbounded"].tolist()) | set(res.info["skipped_unresolved"].tolist())
    for t in range(len(A), len(idx)):
        S, j = idx[:t], idx[t]
        rho, wS = ref.rho(S)
        score = np.abs(rho) if not ref.nonneg else rho
        allowance = 1e-7 * ref.root * (ref.sigma + float(ref.root[S] @ np.abs(wS))) + ref.atol()
        d = matroid.codes[j]
        rem = matroid.budgets[d] - sum(matroid.codes[i] == d for i in S)
        rivals = [i for i in range(matroid.n) if matroid.codes[i] == d and i not in S and i not in out and i != j]
        assert sum(score[i] > score[j] + allowance[i] + allowance[j] for i in rivals) < rem


def test_random_stream_starts_after_the_initial_set():
    """The first pick after A is the shortlist's uniform_index(key, 0, size): draw 0, not draw |A|."""
    rng = np.random.default_rng(3)
    G = rng.standard_normal((40, 12))
    labels = rng.integers(0, 3, 40)
    matroid = mo.PartitionMatroid(labels, {0: 4, 1: 4, 2: 4})
    A = [int(np.flatnonzero(labels == 0)[0]), int(np.flatnonzero(labels == 2)[1])]
    u = mo.QuadraticUtility.taylor(G, G[:3], 0.5)
    ref = Reference(u)
    rho, _ = ref.rho(A)
    pool = []
    for d in range(3):
        members = [i for i in np.flatnonzero(labels == d).tolist() if i not in A]
        rem = 4 - sum(labels[i] == d for i in A)
        pool += sorted(members, key=lambda i: -rho[i])[:rem]
    pool.sort()  # the shortlist in index order
    for backend in ("numba", "numpy"):
        res = mo.solve_omp(u, matroid, initial=A, randomized=True, seed=11, backend=backend)
        assert res.indices[2] == pool[uniform_index(np.uint64(rng_key(True, 11)), 0, len(pool))]


# ----------------------------------------------------------------------------- backends agree
@settings(max_examples=40, deadline=None)
@given(n=st.integers(3, 40), d=st.integers(1, 12), seed=st.integers(0, 2**32 - 1), randomized=st.booleans(),
       gram=st.booleans(), lam=st.sampled_from([0.0, 0.05]), fill=st.booleans())
def test_numba_and_numpy_select_alike_from_an_initial_set(n, d, seed, randomized, gram, lam, fill):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, d)) * 10.0 ** rng.uniform(-2, 2, (n, 1))
    labels = rng.integers(0, 3, n)
    matroid = mo.PartitionMatroid(labels, {int(k): int(rng.integers(1, 5)) for k in np.unique(labels)}, clip_to_size=True)
    A = random_independent(matroid, rng)
    kw = dict(lam=lam, randomized=randomized, seed=seed, precompute=gram, on_no_gain="fill" if fill else "stop",
              initial=A)
    b = rng.standard_normal(d)
    ref = mo.omp(G, b, matroid, backend="numpy", **kw)
    got = mo.omp(G, b, matroid, backend="numba", **kw)
    assert got.info["backend"] == "numba"
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_allclose(got.weights, ref.weights, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got.history, ref.history, rtol=1e-9, atol=1e-12)
    assert got.stop_reason == ref.stop_reason
    assert ref.indices[: len(A)].tolist() == A


def _pool(seed=0, n=50, d=10):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, d))
    labels = rng.integers(0, 3, n)
    return G, rng.standard_normal(d), labels, mo.PartitionMatroid(labels, {0: 3, 1: 2, 2: 3})


def _same(a, b):
    """Bit-for-bit the same result."""
    assert a.indices.tolist() == b.indices.tolist()
    assert np.array_equal(np.asarray(a.weights), np.asarray(b.weights))
    assert np.array_equal(a.history, b.history) and a.objective == b.objective
    assert a.stop_reason == b.stop_reason and a.counts == b.counts


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("nonneg", [True, False])
@pytest.mark.parametrize("randomized", [False, True])
def test_initial_none_or_empty_is_bitwise_the_run_without_it(backend, nonneg, randomized):
    G, b, _, matroid = _pool(1)
    kw = dict(nonneg=nonneg, randomized=randomized, seed=7, backend=backend)
    base = mo.omp(G, b, matroid, **kw)
    for empty in (None, [], np.zeros(0, dtype=np.int64)):
        _same(mo.omp(G, b, matroid, initial=empty, **kw), base)
    again = mo.omp(G, b, matroid, initial=[4, 9], **kw)  # reproducible with a seed
    _same(mo.omp(G, b, matroid, initial=[4, 9], **kw), again)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_partitionsel_initial_none_is_bitwise_unchanged_and_k_counts_the_initial_set(backend):
    G, _, labels, _ = _pool(2, n=60)
    kw = dict(anchors=G[:3], lr=0.5, seed=3, backend=backend)
    _same(mo.partitionsel(G, labels, 9, initial=None, **kw), mo.partitionsel(G, labels, 9, **kw))
    A = [int(np.flatnonzero(labels == 1)[2]), int(np.flatnonzero(labels == 0)[0])]
    res = mo.partitionsel(G, labels, 9, initial=A, **kw)
    budgets = mo.make_matroid(labels, "proportional", 9)
    assert res.indices[:2].tolist() == A and len(res) == 9 and budgets.is_independent(res.indices)
    assert res.objective == pytest.approx(mo.QuadraticUtility.taylor(G, G[:3], 0.5).value(res.indices), rel=1e-9)
    with pytest.raises(ValueError, match="initial: .* exceed its budget"):
        mo.partitionsel(G, labels, 9, initial=np.flatnonzero(labels == 0)[:9], **kw)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("nonneg", [True, False])
def test_initial_filling_every_budget_is_the_result(backend, nonneg):
    G, b, labels, matroid = _pool(3)
    A = np.concatenate([np.flatnonzero(labels == d)[-k:] for d, k in ((2, 3), (0, 3), (1, 2))])
    res = mo.omp(G, b, matroid, nonneg=nonneg, initial=A, backend=backend, randomized=True, seed=0)
    u = mo.QuadraticUtility.gradient_matching(G, b, nonneg=nonneg)
    assert res.indices.tolist() == A.tolist() and res.stop_reason == STOP_RANK
    np.testing.assert_allclose(res.history, [u.value(A[: t + 1]) for t in range(len(A))], rtol=1e-9)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_an_initial_element_may_keep_weight_zero(backend):
    """Nonnegative weights: a forced element anti-correlated with b stays at 0, and is kept."""
    G = np.eye(3)
    res = mo.omp(G, np.array([1.0, -1.0, 2.0]), mo.PartitionMatroid.cardinality(3, 2), initial=[1],
                 backend=backend)
    assert res.indices.tolist() == [1, 2] and res.weights.tolist() == [0.0, 2.0]
    assert res.history.tolist() == [0.0, 2.0]


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("gram", [True, False])
def test_unbounded_initial_set_raises_naming_the_element(backend, gram):
    rng = np.random.default_rng(4)
    G = rng.standard_normal((6, 4))
    G[5] = -G[2]  # antipodal rows: the Taylor utility of {2, 5} is unbounded
    M = mo.PartitionMatroid.cardinality(6, 4)
    u = mo.QuadraticUtility.taylor(G, G[:2], 0.5)
    with pytest.raises(ValueError, match="initial: adding element 5 makes F unbounded"):
        mo.solve_omp(u, M, initial=[2, 0, 5], backend=backend, precompute=gram)
    res = mo.solve_omp(u, M, initial=[2, 0], backend=backend, precompute=gram)  # OMP itself skips 5
    assert 5 not in res.indices.tolist()


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_signed_dependent_initial_element_with_a_residual_raises(backend):
    K = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    M = mo.PartitionMatroid.cardinality(3, 3)
    with pytest.raises(ValueError, match="initial: adding element 1 makes F unbounded"):
        mo.omp_gram(K, np.array([1.0, 2.0, 0.5]), M, nonneg=False, initial=[0, 1], backend=backend)
    # with no residual along it the dependent element joins, at weight 0
    res = mo.omp_gram(K, np.array([1.0, 1.0, 0.5]), M, nonneg=False, initial=[0, 1], backend=backend)
    assert res.indices.tolist() == [0, 1, 2] and res.weights.tolist() == [1.0, 0.0, 0.5]


def test_an_unresolved_initial_refit_raises_too():
    """An initial element the float64 refit cannot resolve (MAX_ITER) is not skipped either."""
    err = forced_failure(3, MAX_ITER)
    assert isinstance(err, ValueError) and str(err).startswith("initial: ") and "element 3" in str(err)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_callback_and_progress_skip_the_initial_elements(backend):
    G, b, _, matroid = _pool(5)
    seen = []
    res = mo.omp(G, b, matroid, initial=[7, 1], backend=backend,
                 callback=lambda step, index, objective: seen.append((step, index, objective)))
    assert [s[0] for s in seen] == list(range(3, len(res) + 1))
    assert [s[1] for s in seen] == res.indices[2:].tolist()
    assert [s[2] for s in seen] == res.history[2:].tolist()
    stopped = mo.omp(G, b, matroid, initial=[7, 1], backend=backend, callback=lambda step, index, objective: False)
    assert stopped.indices.tolist() == res.indices[:3].tolist() and stopped.stop_reason == "stopped_by_callback"


@pytest.mark.parametrize("bad, error, message", [
    ([3, 3], ValueError, "appears more than once"),
    ([50], ValueError, "out of range"),
    ([[1, 2]], ValueError, "1-D"),
    ([1.0], TypeError, "integer indices"),
])
def test_bad_initial_raises(bad, error, message):
    G, b, _, matroid = _pool(6)
    with pytest.raises(error, match=f"initial: .*{message}"):
        mo.omp(G, b, matroid, initial=bad)


# ----------------------------------------------------------------------------- torch and Triton
@pytest.mark.parametrize("nonneg", [True, False])
@pytest.mark.parametrize("randomized", [False, True])
def test_torch_tensors_and_torch_initial_select_as_numpy(nonneg, randomized):
    G, b, _, matroid = _pool(8)
    kw = dict(nonneg=nonneg, randomized=randomized, seed=2)
    ref = mo.omp(G, b, matroid, initial=[12, 3], **kw)
    for backend in ("auto", "torch", "numpy"):
        res = mo.omp(torch.tensor(G), torch.tensor(b), matroid, initial=torch.tensor([12, 3]), backend=backend, **kw)
        assert isinstance(res.indices, torch.Tensor)
        assert res.indices.tolist() == ref.indices.tolist()
        np.testing.assert_allclose(res.weights.numpy(), ref.weights, rtol=1e-9, atol=1e-12)


@needs_triton
@pytest.mark.parametrize("precompute", [True, False])
@pytest.mark.parametrize("nonneg", [True, False])
@pytest.mark.parametrize("randomized", [False, True])
def test_triton_step_selects_as_numpy_from_an_initial_set(precompute, nonneg, randomized):
    """backend='triton' (interpreter on CPU tensors here, compiled on CUDA): same selection, fp32."""
    G, b, _, matroid = _pool(9, n=40, d=8)
    G, b = G.astype(np.float32), b.astype(np.float32)
    device = "cuda" if HAS_CUDA else "cpu"
    kw = dict(nonneg=nonneg, randomized=randomized, seed=4, precompute=precompute, initial=[5, 30])
    res = mo.omp(torch.tensor(G, device=device), torch.tensor(b, device=device), matroid, backend="triton", **kw)
    ref = mo.omp(G, b, matroid, backend="numpy", **kw)
    assert res.info["backend"] == "triton"
    assert res.indices.tolist() == ref.indices.tolist()
    np.testing.assert_allclose(res.weights.cpu().numpy(), ref.weights, rtol=1e-4, atol=1e-6)
