"""Triton kernels against numpy references: interpreter on CPU tensors here, compiled on CUDA.

Triton chooses between interpreter and compiler when a function is decorated — its own library
functions (tl.sum, tl.max) when triton is imported — so the mode is fixed for the process before
the first triton import: without a CUDA GPU, TRITON_INTERPRET=1 (CPU tests run, CUDA tests skip);
with one, compiled (CUDA tests run; run ``TRITON_INTERPRET=1 pytest`` for the interpreter tests).
Shapes stay small because the interpreter runs every program in Python.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs torch and triton")
HAS_CUDA = torch.cuda.is_available()
if "triton" not in sys.modules and not HAS_CUDA:
    # stays set for the session: triton reads it again on lazy imports inside the interpreter
    os.environ["TRITON_INTERPRET"] = "1"
pytest.importorskip("triton", reason="needs torch and triton")
from matroidomp import nnqp  # noqa: E402
from matroidomp.kernels import reference  # noqa: E402
from matroidomp.kernels import triton_nnqp, triton_omp_step  # noqa: E402

DTYPES = [torch.float32, torch.float16, torch.bfloat16]
interpreter_only = pytest.mark.skipif(
    not triton_omp_step.INTERPRETED,
    reason="kernels compiled in this process (triton imported without TRITON_INTERPRET=1)")


# ----------------------------------------------------------------------------- references
def reference_best(rho, codes, remaining, selected, absolute):
    """Lowest-index arg-max of σ = |ρ| or ρ over feasible candidates; −1 if none."""
    score = np.abs(rho) if absolute else rho
    codes = np.asarray(codes)
    ok_code = (codes >= 0) & (codes < len(remaining))
    left = np.asarray(remaining)[np.where(ok_code, codes, 0)]
    feasible = ~np.asarray(selected, dtype=bool) & ok_code & (left > 0)
    if not feasible.any():
        return -1
    return int(np.argmax(np.where(feasible, score, -np.inf)))


def _instance(n, D, seed, p_selected=0.2, integer=True):
    rng = np.random.default_rng(seed)
    c = rng.integers(-4, 5, n) if integer else rng.standard_normal(n)
    codes = rng.integers(0, D, n)
    remaining = rng.integers(0, 3, D)
    remaining[rng.integers(D)] = 1  # at least one open domain
    selected = rng.random(n) < p_selected
    return (rng, torch.tensor(c, dtype=torch.float32), torch.tensor(codes, dtype=torch.int32),
            torch.tensor(remaining, dtype=torch.int32), torch.tensor(selected))


def _check_step(rho, best, rho_ref, codes, remaining, selected, absolute, atol):
    np.testing.assert_allclose(rho.numpy(), rho_ref, rtol=0, atol=atol)
    assert best.dtype == torch.int32 and best.dim() == 0
    assert int(best) == reference_best(rho_ref, codes, remaining, selected, absolute)


def _gram_case(p, n, D, dtype, seed):
    rng, c, codes, remaining, selected = _instance(n, D, seed)
    rows = torch.tensor(rng.integers(-3, 4, (p, n)), dtype=dtype)
    w = torch.tensor(rng.integers(-2, 3, p), dtype=torch.float32)
    rho_ref = c.numpy().astype(np.float64) - rows.double().numpy().T @ w.double().numpy()
    return rows, w, c, codes, remaining, selected, rho_ref


def _factor_case(n, d, B, dtype, seed):
    rng, c, codes, remaining, selected = _instance(n, B, seed)
    G = torch.tensor(rng.integers(-3, 4, (n, d)), dtype=dtype)
    U = torch.tensor(rng.integers(-2, 3, (B, d)), dtype=dtype)
    blocks = torch.tensor(rng.integers(0, B, n), dtype=torch.int32)
    proj = np.einsum("nd,nd->n", G.double().numpy(), U.double().numpy()[blocks.numpy()])
    rho_ref = c.numpy().astype(np.float64) - 0.5 * proj
    return G, U, blocks, c, codes, remaining, selected, rho_ref


# ----------------------------------------------------------------------------- Gram step
@interpreter_only
class TestGramStepInterpreter:
    """Integer-valued data: every dtype holds it exactly, so ρ and the arg-max (ties included)
    must match the float64 reference exactly."""

    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("p,n,D", [(0, 50, 2), (1, 1, 1), (1, 300, 1), (3, 257, 4), (16, 130, 3), (17, 513, 2)])
    @pytest.mark.parametrize("absolute", [False, True])
    def test_matches_reference(self, p, n, D, dtype, absolute):
        rows, w, c, codes, remaining, selected, rho_ref = _gram_case(p, n, D, dtype, seed=p * n + D)
        rho, best = triton_omp_step.gram_step(rows, w, c, codes, remaining, selected, absolute)
        _check_step(rho, best, rho_ref, codes, remaining, selected, absolute, atol=0)

    def test_float_data_fp32_accumulation(self):
        rng = np.random.default_rng(1)
        p, n = 40, 300
        rows = torch.tensor(rng.standard_normal((p, n)), dtype=torch.bfloat16)
        w = torch.tensor(rng.standard_normal(p), dtype=torch.float32)
        c = torch.tensor(rng.standard_normal(n), dtype=torch.float32)
        codes = torch.zeros(n, dtype=torch.int32)
        remaining = torch.ones(1, dtype=torch.int32)
        selected = torch.zeros(n, dtype=torch.bool)
        rho, best = triton_omp_step.gram_step(rows, w, c, codes, remaining, selected, block_p=8)
        rho_ref = c.double().numpy() - rows.double().numpy().T @ w.double().numpy()
        bound = np.abs(rows.double().numpy()).T @ np.abs(w.double().numpy())
        np.testing.assert_array_less(np.abs(rho.numpy() - rho_ref), 1e-5 * bound + 1e-6)
        assert rho_ref[int(best)] >= rho_ref.max() - 1e-5 * bound.max()

    def test_ties_go_to_lowest_index_across_blocks(self):
        n = 700
        rows = torch.zeros(2, n)
        w = torch.ones(2)
        c = torch.full((n,), 3.0)
        codes = torch.zeros(n, dtype=torch.int32)
        selected = torch.zeros(n, dtype=torch.bool)
        selected[:300] = True
        rho, best = triton_omp_step.gram_step(rows, w, c, codes, torch.ones(1, dtype=torch.int32), selected,
                                       block_n=64)
        assert int(best) == 300

    @pytest.mark.parametrize("absolute", [False, True])
    def test_all_infeasible(self, absolute):
        rows, w, c, codes, remaining, selected, rho_ref = _gram_case(3, 200, 3, torch.float32, seed=5)
        _, best = triton_omp_step.gram_step(rows, w, c, codes, torch.zeros_like(remaining), selected, absolute)
        assert int(best) == -1
        _, best = triton_omp_step.gram_step(rows, w, c, codes, remaining, torch.ones_like(selected), absolute)
        assert int(best) == -1

    def test_out_of_range_codes_are_infeasible(self):
        rows, w, c, codes, remaining, selected, rho_ref = _gram_case(2, 100, 2, torch.float32, seed=6)
        codes[::3] = 7
        codes[1::3] = -1
        rho, best = triton_omp_step.gram_step(rows, w, c, codes, remaining, selected.to(torch.uint8))
        _check_step(rho, best, rho_ref, codes, remaining, selected, False, atol=0)

    def test_empty(self):
        rho, best = triton_omp_step.gram_step(torch.zeros(0, 0), torch.zeros(0), torch.zeros(0),
                                       torch.zeros(0, dtype=torch.int32), torch.ones(1, dtype=torch.int32),
                                       torch.zeros(0, dtype=torch.bool))
        assert rho.shape == (0,) and int(best) == -1

    def test_strided_rows(self):
        rows, w, c, codes, remaining, selected, rho_ref = _gram_case(3, 90, 2, torch.float16, seed=8)
        rho, best = triton_omp_step.gram_step(rows.T.contiguous().T, w, c, codes, remaining, selected)
        _check_step(rho, best, rho_ref, codes, remaining, selected, False, atol=0)

    def test_bad_input(self):
        rows, w, c, codes, remaining, selected, _ = _gram_case(2, 10, 2, torch.float32, seed=0)
        with pytest.raises(TypeError, match="torch.Tensor"):
            triton_omp_step.gram_step(rows.numpy(), w, c, codes, remaining, selected)
        with pytest.raises(TypeError, match="torch.Tensor"):
            triton_omp_step.gram_step(rows, w, c.numpy(), codes, remaining, selected)
        with pytest.raises(TypeError, match="codes: dtype"):
            triton_omp_step.gram_step(rows, w, c, codes.long(), remaining, selected)
        with pytest.raises(TypeError, match="w: dtype"):
            triton_omp_step.gram_step(rows, w.double(), c, codes, remaining, selected)
        with pytest.raises(TypeError, match="rows: dtype"):
            triton_omp_step.gram_step(rows.double(), w, c, codes, remaining, selected)
        with pytest.raises(ValueError, match="rows: shape"):
            triton_omp_step.gram_step(rows[:, :9], w, c, codes, remaining, selected)
        with pytest.raises(ValueError, match="selected: length"):
            triton_omp_step.gram_step(rows, w, c, codes, remaining, selected[:9])
        with pytest.raises(ValueError, match="expected cpu"):
            triton_omp_step.gram_step(rows, w, c, codes.to("meta"), remaining, selected)

    def test_cpu_needs_interpreter(self, monkeypatch):
        monkeypatch.setattr(triton_omp_step, "INTERPRETED", False)
        monkeypatch.setattr(triton_nnqp, "INTERPRETED", False)
        rows, w, c, codes, remaining, selected, _ = _gram_case(2, 10, 2, torch.float32, seed=0)
        with pytest.raises(RuntimeError, match="TRITON_INTERPRET=1"):
            triton_omp_step.gram_step(rows, w, c, codes, remaining, selected)
        Q, c = _nnqp_batch(1, 2, 3, seed=0, dtype=torch.float32)
        with pytest.raises(RuntimeError, match="TRITON_INTERPRET=1"):
            triton_nnqp.batched_nnqp(Q, c)


@interpreter_only
class TestArgmaxReduction:
    def test_chunks_and_ties(self):
        rng = np.random.default_rng(3)
        parts = 37
        top = torch.tensor(rng.integers(0, 4, parts), dtype=torch.float32)
        idx = torch.tensor(np.sort(rng.choice(10_000, parts, replace=False)), dtype=torch.int32)
        idx[top.numpy() == 3] = 2**31 - 1  # blocks with nothing feasible
        out = torch.empty((), dtype=torch.int32)
        triton_omp_step._reduce_argmax_kernel[(1,)](top, idx, out, parts, BLOCK=4)
        ok = idx.numpy() != 2**31 - 1
        best_val = top.numpy()[ok].max()
        assert int(out) == idx.numpy()[ok & (top.numpy() == best_val)].min()


# ----------------------------------------------------------------------------- d-space step
@interpreter_only
class TestFactorStepInterpreter:
    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("n,d,B", [(1, 1, 1), (300, 1, 1), (257, 7, 3), (100, 130, 2), (65, 5, 1)])
    @pytest.mark.parametrize("absolute", [False, True])
    def test_matches_reference(self, n, d, B, dtype, absolute):
        G, U, blocks, c, codes, remaining, selected, rho_ref = _factor_case(n, d, B, dtype, seed=n + d + B)
        rho, best = triton_omp_step.factor_step(G, U, blocks, c, 0.5, codes, remaining, selected, absolute)
        _check_step(rho, best, rho_ref, codes, remaining, selected, absolute, atol=0)

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_single_block_fast_path(self, dtype):
        G, U, _, c, codes, remaining, selected, _ = _factor_case(200, 9, 1, dtype, seed=11)
        rho_ref = c.double().numpy() - 0.5 * G.double().numpy() @ U[0].double().numpy()
        for blocks in (None, torch.zeros(200, dtype=torch.int32)):
            rho, best = triton_omp_step.factor_step(G, U, blocks, c, 0.5, codes, remaining, selected)
            _check_step(rho, best, rho_ref, codes, remaining, selected, False, atol=0)

    def test_fp32_residual_with_bf16_g(self):
        G, _, blocks, c, codes, remaining, selected, _ = _factor_case(150, 33, 2, torch.bfloat16, seed=12)
        U = torch.randn(2, 33, generator=torch.Generator().manual_seed(0))
        rho, best = triton_omp_step.factor_step(G, U, blocks, c, 1.5, codes, remaining, selected, block_d=16)
        proj = np.einsum("nd,nd->n", G.double().numpy(), U.double().numpy()[blocks.numpy()])
        rho_ref = c.double().numpy() - 1.5 * proj
        np.testing.assert_allclose(rho.numpy(), rho_ref, rtol=0, atol=1e-4)

    def test_infeasible_and_bad_blocks(self):
        G, U, blocks, c, codes, remaining, selected, rho_ref = _factor_case(120, 4, 3, torch.float32, seed=13)
        _, best = triton_omp_step.factor_step(G, U, blocks, c, 0.5, codes, torch.zeros_like(remaining), selected)
        assert int(best) == -1
        blocks[::2] = 3  # out of range: never read, never picked
        _, best = triton_omp_step.factor_step(G, U, blocks, c, 0.5, codes, remaining, selected)
        odd = selected.clone()
        odd[::2] = True
        assert int(best) == reference_best(rho_ref, codes, remaining, odd, False)

    def test_bad_input(self):
        G, U, blocks, c, codes, remaining, selected, _ = _factor_case(20, 4, 2, torch.float32, seed=0)
        with pytest.raises(TypeError, match="torch.Tensor"):
            triton_omp_step.factor_step(G.numpy(), U, blocks, c, 1.0, codes, remaining, selected)
        with pytest.raises(ValueError, match="U: shape"):
            triton_omp_step.factor_step(G, U[:, :3], blocks, c, 1.0, codes, remaining, selected)
        with pytest.raises(ValueError, match="blocks is None"):
            triton_omp_step.factor_step(G, U, None, c, 1.0, codes, remaining, selected)
        with pytest.raises(ValueError, match="blocks: length"):
            triton_omp_step.factor_step(G, U, blocks[:5], c, 1.0, codes, remaining, selected)
        with pytest.raises(ValueError, match="G: 19 rows"):
            triton_omp_step.factor_step(G[:19], U, blocks, c, 1.0, codes, remaining, selected)


@interpreter_only
class TestReferenceContract:
    """Same (ρ, best) as kernels/reference.py, including its tol: |score| ≤ tol counts as 0."""

    @staticmethod
    def _np(*tensors):
        return [t.float().numpy() if t.is_floating_point() else t.numpy() for t in tensors]

    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("absolute", [False, True])
    @pytest.mark.parametrize("tol", [0.0, 2.5])
    def test_gram(self, dtype, absolute, tol):
        rows, w, c, codes, remaining, selected, _ = _gram_case(4, 301, 3, dtype, seed=31)
        rho, best = triton_omp_step.gram_step(rows, w, c, codes, remaining, selected, absolute, tol)
        rho_ref, best_ref = reference.gram_step(*self._np(rows, w, c, codes, remaining, selected), absolute, tol)
        np.testing.assert_array_equal(rho.numpy(), rho_ref)
        assert int(best) == best_ref

    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("absolute", [False, True])
    @pytest.mark.parametrize("tol", [0.0, 2.5])
    def test_factor(self, dtype, absolute, tol):
        G, U, blocks, c, codes, remaining, selected, _ = _factor_case(203, 6, 3, dtype, seed=32)
        rho, best = triton_omp_step.factor_step(G, U, blocks, c, 0.5, codes, remaining, selected, absolute, tol)
        G_, U_, blocks_, c_, codes_, remaining_, selected_ = self._np(G, U, blocks, c, codes, remaining, selected)
        rho_ref, best_ref = reference.factor_step(G_, U_, blocks_, c_, 0.5, codes_, remaining_, selected_,
                                                  absolute, tol)
        np.testing.assert_array_equal(rho.numpy(), rho_ref)
        assert int(best) == best_ref


# ----------------------------------------------------------------------------- batched NNQP
def _nnqp_batch(B, k, m, seed, dtype):
    """Random NNLS-type problems Q = AᵀA/m, c = Aᵀb/m, rounded to dtype; float64 copies for the
    reference solve on exactly the rounded data."""
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(B, m, k, generator=g, dtype=torch.float64)
    b = torch.randn(B, m, generator=g, dtype=torch.float64) + 0.5
    Q = (A.transpose(1, 2) @ A / m).to(dtype)
    Q = (Q + Q.transpose(1, 2)) / 2  # symmetric after rounding
    c = (torch.einsum("bmk,bm->bk", A, b) / m).to(dtype)
    return Q, c


def _check_nnqp(res, Q, c, ridge, rtol):
    assert res.status.dtype == torch.int32
    assert (res.status == triton_nnqp.CONVERGED).all()
    assert (res.w >= 0).all()
    for bidx in range(Q.shape[0]):
        Qb, cb = Q[bidx].double().numpy(), c[bidx].double().numpy()
        ref = nnqp(Qb, cb, ridge=ridge)
        assert ref.converged
        H = Qb + ridge * np.eye(len(cb))
        scale = max(np.abs(cb).max(), np.abs(np.diag(H)).max())
        lam_min = max(np.linalg.eigvalsh(H)[0], 1e-12)
        # KKT violation ≤ rtol·scale ⇒ ‖w − w*‖ ≤ √k·rtol·scale/λ_min (plus fp32 rounding)
        atol = 4 * np.sqrt(len(cb)) * rtol * scale / lam_min + 1e-5 * max(np.abs(ref.w).max(), 1)
        np.testing.assert_allclose(res.w[bidx].numpy(), ref.w, rtol=0, atol=atol)


@interpreter_only
class TestBatchedNNQPInterpreter:
    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("B,k,m,ridge", [(3, 1, 4, 0.0), (4, 7, 20, 0.0), (2, 13, 40, 0.1)])
    def test_matches_active_set(self, B, k, m, ridge, dtype):
        Q, c = _nnqp_batch(B, k, m, seed=B * k, dtype=dtype)
        res = triton_nnqp.batched_nnqp(Q, c, ridge=ridge)
        _check_nnqp(res, Q, c, ridge, rtol=1e-5)

    def test_rank_deficient_reaches_the_optimal_value(self):
        Q, c = _nnqp_batch(2, 6, 3, seed=7, dtype=torch.float32)  # rank 3: w* is not unique
        res = triton_nnqp.batched_nnqp(Q, c)
        assert (res.status == triton_nnqp.CONVERGED).all()
        for bidx in range(2):
            Qb, cb = Q[bidx].numpy(), c[bidx].numpy()  # float32: PSD checked at float32 rounding
            ref = nnqp(Qb, cb)
            w = res.w[bidx].double().numpy()
            value = cb.astype(np.float64) @ w - 0.5 * w @ Qb.astype(np.float64) @ w
            assert value == pytest.approx(ref.objective, rel=1e-5, abs=1e-6)

    def test_singular_problems_against_brute_force(self):
        """Singular, rank-deficient, duplicated, antipodal, wildly scaled and zero-column problems
        (tests/nnqp_reference.py): an unbounded one is never called converged and is proven by a
        valid ray; a bounded one is never called unbounded and, when converged, reaches the
        brute-force optimum (fp32: rel 1e-4). MAX_ITER is allowed only on bounded problems."""
        from nnqp_reference import KINDS, brute_force_nnqp, singular_instance

        verdicts = {"inf": 0, "fin": 0}
        for n in (3, 4):
            problems = [singular_instance(seed, n, KINDS[seed % len(KINDS)], seed % 3) for seed in range(12)]
            Q = torch.tensor(np.stack([q for q, _ in problems]), dtype=torch.float32)
            c = torch.tensor(np.stack([cc for _, cc in problems]), dtype=torch.float32)
            res = triton_nnqp.batched_nnqp(Q, c, max_sweeps=100)
            for b in range(len(problems)):
                Qb, cb = Q[b].double().numpy(), c[b].double().numpy()  # the rounded problem is the one solved
                opt, _ = brute_force_nnqp(Qb, cb)
                status = int(res.status[b])
                if np.isinf(opt):
                    assert status == triton_nnqp.UNBOUNDED
                    v = res.ray[b].double().numpy()
                    root = np.sqrt(np.diag(Qb))
                    assert v.min() >= 0 and v.max() == 1.0 and cb @ v > 0
                    assert np.all(np.abs(Qb @ v) <= 1e-4 * root * (root @ v))
                else:
                    assert status in (triton_nnqp.CONVERGED, triton_nnqp.MAX_ITER)
                    if status == triton_nnqp.CONVERGED:
                        w = res.w[b].double().numpy()
                        assert cb @ w - 0.5 * w @ Qb @ w == pytest.approx(opt, rel=1e-4, abs=1e-6)
                verdicts["inf" if np.isinf(opt) else "fin"] += 1
        assert verdicts["inf"] >= 4 and verdicts["fin"] >= 4  # both kinds exercised

    def test_zero_curvature_coordinate_is_a_ray(self):
        Q = torch.tensor([[[0.0, 0.0], [0.0, 1.0]]])
        res = triton_nnqp.batched_nnqp(Q, torch.tensor([[1.0, 1.0]]))
        assert int(res.status[0]) == triton_nnqp.UNBOUNDED
        torch.testing.assert_close(res.ray[0], torch.tensor([1.0, 0.0]))

    def test_zero_padding_and_zero_solution(self):
        Q, c = _nnqp_batch(3, 6, 30, seed=2, dtype=torch.float32)
        Q[0, 4:, :] = 0
        Q[0, :, 4:] = 0
        c[0, 4:] = 0
        c[1] = -c[1].abs()  # w = 0 is optimal
        res = triton_nnqp.batched_nnqp(Q, c)
        _check_nnqp(res, Q, c, 0.0, rtol=1e-5)
        assert (res.w[0, 4:] == 0).all() and (res.w[1] == 0).all()

    def test_warm_start_at_solution_needs_no_sweep(self):
        Q, c = _nnqp_batch(2, 5, 20, seed=3, dtype=torch.float32)
        first = triton_nnqp.batched_nnqp(Q, c)
        again = triton_nnqp.batched_nnqp(Q, c, w0=first.w)
        assert (again.status == triton_nnqp.CONVERGED).all() and (again.n_sweeps == 0).all()
        torch.testing.assert_close(again.w, first.w, rtol=0, atol=0)

    def test_max_iter_is_a_status(self):
        Q, c = _nnqp_batch(2, 8, 9, seed=4, dtype=torch.float32)  # ill-conditioned
        res = triton_nnqp.batched_nnqp(Q, c, max_sweeps=1, rtol=1e-9)
        assert (res.status == triton_nnqp.MAX_ITER).all()
        assert (res.n_sweeps == 1).all() and (res.violation > 0).all() and (res.w >= 0).all()

    def test_empty_batch(self):
        res = triton_nnqp.batched_nnqp(torch.zeros(0, 3, 3), torch.zeros(0, 3))
        assert res.w.shape == (0, 3) and res.status.shape == (0,)

    def test_bad_input(self):
        Q, c = _nnqp_batch(2, 3, 5, seed=0, dtype=torch.float32)
        with pytest.raises(TypeError, match="torch.Tensor"):
            triton_nnqp.batched_nnqp(Q.numpy(), c)
        with pytest.raises(TypeError, match="dtype"):
            triton_nnqp.batched_nnqp(Q.double(), c)
        with pytest.raises(ValueError, match=r"Q: expected shape \(B, k, k\)"):
            triton_nnqp.batched_nnqp(Q[:, :2], c)
        with pytest.raises(ValueError, match="c: shape"):
            triton_nnqp.batched_nnqp(Q, c[:, :2])
        with pytest.raises(ValueError, match="exceeds 512"):
            triton_nnqp.batched_nnqp(torch.zeros(1, 513, 513), torch.zeros(1, 513))
        with pytest.raises(ValueError, match="ridge"):
            triton_nnqp.batched_nnqp(Q, c, ridge=-1.0)
        with pytest.raises(ValueError, match="nonnegative"):
            triton_nnqp.batched_nnqp(Q, c, w0=-torch.ones(2, 3))


# ----------------------------------------------------------------------------- compiled code path
_COMPILE_SCRIPT = textwrap.dedent("""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    from matroidomp.kernels import triton_nnqp as q, triton_omp_step as s

    def compile_for_h100(kernel, types, constexprs):
        names = kernel.arg_names
        src = ASTSource(fn=kernel, signature={n: types.get(n, "constexpr") for n in names},
                        constexprs={(names.index(k),): v for k, v in constexprs.items()})
        assert "cubin" in triton.compile(src, target=GPUTarget("cuda", 90, 32)).asm

    per_candidate = dict(c_ptr="*fp32", codes_ptr="*i32", remaining_ptr="*i32", selected_ptr="*u8",
                         rho_ptr="*fp32", max_ptr="*fp32", idx_ptr="*i32", tol_ptr="*fp32", n="i32",
                         n_domains="i32")
    compile_for_h100(s._gram_step_kernel, dict(per_candidate, rows_ptr="*bf16", w_ptr="*fp32", p="i32",
                     stride_row="i32", stride_col="i32"), dict(ABSOLUTE=True, BLOCK_N=256, BLOCK_P=16))
    for g_type, one_block in (("*bf16", True), ("*fp16", False)):
        compile_for_h100(s._factor_step_kernel, dict(per_candidate, g_ptr=g_type, u_ptr="*fp32", blocks_ptr="*i32",
                         scale="fp32", d="i32", n_blocks="i32", stride_gn="i32", stride_gd="i32", stride_ub="i32",
                         stride_ud="i32"), dict(ONE_BLOCK=one_block, ABSOLUTE=False, BLOCK_N=64, BLOCK_D=128))
    compile_for_h100(s._reduce_argmax_kernel, dict(max_ptr="*fp32", idx_ptr="*i32", out_ptr="*i32", n_parts="i32"),
                     dict(BLOCK=1024))
    compile_for_h100(q._nnqp_kernel, dict(q_ptr="*bf16", c_ptr="*fp32", w_ptr="*fp32", tol_ptr="*fp32",
                     status_ptr="*i32", sweeps_ptr="*i32", viol_ptr="*fp32", ray_ptr="*fp32", k="i32",
                     ridge="fp32", max_sweeps="i32", ray_rtol="fp32", stride_qb="i32", stride_qr="i32",
                     stride_qc="i32", stride_cb="i32", stride_ck="i32", stride_wb="i32", stride_tb="i32"),
                     dict(BLOCK_K=512))
""")


def test_kernels_compile_for_cuda_without_a_gpu(tmp_path):
    """Ahead-of-time compilation to sm_90 cubin (no GPU needed) catches what the interpreter
    tolerates but the compiler rejects; a fresh process, since this one may be interpreting."""
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["TRITON_CACHE_DIR"] = str(tmp_path)
    run = subprocess.run([sys.executable, "-c", _COMPILE_SCRIPT], env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]


# ----------------------------------------------------------------------------- CUDA
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
class TestCUDA:
    """Kernels on a real GPU (compiled unless TRITON_INTERPRET=1), larger shapes, same references."""

    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("absolute", [False, True])
    def test_gram_step(self, dtype, absolute):
        rows, w, c, codes, remaining, selected, rho_ref = _gram_case(37, 100_003, 16, dtype, seed=21)
        cuda = [t.cuda() for t in (rows, w, c, codes, remaining, selected)]
        rho, best = triton_omp_step.gram_step(*cuda, absolute)
        _check_step(rho.cpu(), best.cpu(), rho_ref, codes, remaining, selected, absolute, atol=0)

    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("B", [1, 16])
    def test_factor_step(self, dtype, B):
        G, U, blocks, c, codes, remaining, selected, rho_ref = _factor_case(50_001, 257, B, dtype, seed=22)
        cuda = [t.cuda() for t in (G, U, blocks, c)]
        rho, best = triton_omp_step.factor_step(*cuda, 0.5, codes.cuda(), remaining.cuda(), selected.cuda())
        _check_step(rho.cpu(), best.cpu(), rho_ref, codes, remaining, selected, False, atol=0)

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_batched_nnqp(self, dtype):
        Q, c = _nnqp_batch(64, 48, 200, seed=23, dtype=dtype)
        res = triton_nnqp.batched_nnqp(Q.cuda(), c.cuda(), ridge=0.01)
        _check_nnqp(type(res)(*(t.cpu() for t in res)), Q, c, 0.01, rtol=1e-5)
