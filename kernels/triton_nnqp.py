"""Batched NNQP in Triton: many small problems, one program each, by projected coordinate descent.

    for b = 1..B:   maximise cᵦᵀw − ½wᵀ(Qᵦ + ρI)w   subject to  w ≥ 0      (k ≤ 512)

A sweep visits i = 1..k in order and minimises exactly along coordinate i, projected on w ≥ 0:

    wᵢ ← max(0, wᵢ + gᵢ / (Qᵢᵢ + ρ)),     g ← g − (Δwᵢ)(Q[i, :] + ρeᵢ),     g = c − (Q + ρI)w

Each step is one row read of Q (symmetric) and O(k) flops; w and g stay in registers (k padded
to a power of two). On a PSD matrix the iterates converge to a maximiser (Luo & Tseng 1992), and
the stopping test is the KKT condition itself,

    max_i  { |gᵢ| if wᵢ > 0,  max(gᵢ, 0) if wᵢ = 0 }  ≤  tolᵦ,

checked after every sweep on the running gradient and confirmed on a gradient recomputed from
scratch (so rounding drift in g cannot stop it early). A problem that has not passed after
``max_sweeps`` sweeps returns its last iterate with status MAX_ITER; nothing raises. So does an
unbounded problem (Qᵢᵢ + ρ = 0 < cᵢ) and, typically, a matrix that is not PSD. Inputs may
be fp32/fp16/bf16; every load is cast to fp32 and all arithmetic is fp32.

The kernel launches on CUDA tensors, or on CPU tensors when ``TRITON_INTERPRET=1`` was set
before triton was first imported.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import triton
import triton.language as tl
from triton.runtime.interpreter import InterpretedFunction

CONVERGED = 0
MAX_ITER = 1
MAX_K = 512

_FLOATS = (torch.float32, torch.float16, torch.bfloat16)


class BatchedNNQPResult(NamedTuple):
    """``w`` (B × k) fp32 solutions; ``status`` (B,) int32 CONVERGED/MAX_ITER; ``n_sweeps`` (B,)
    int32 sweeps run; ``violation`` (B,) fp32 final KKT violation (on a fresh gradient when
    converged, on the running gradient otherwise)."""

    w: torch.Tensor
    status: torch.Tensor
    n_sweeps: torch.Tensor
    violation: torch.Tensor


@triton.jit
def _kkt_violation(w, g, in_k):
    viol = tl.where(w > 0, tl.abs(g), tl.maximum(g, 0.0))
    return tl.max(tl.where(in_k, viol, 0.0), axis=0)


@triton.jit
def _fresh_gradient(q_ptr, c_row, w, offs, in_k, k, ridge, stride_r, stride_c):
    """g = c − (Q + ρI)w, one row of Q per positive wⱼ (Q symmetric: row j = column j)."""
    g = c_row - ridge * w
    for j in range(0, k):
        wj = tl.sum(tl.where(offs == j, w, 0.0), axis=0)
        if wj != 0.0:
            qj = tl.load(q_ptr + j * stride_r + offs * stride_c, mask=in_k, other=0.0).to(tl.float32)
            g -= wj * qj
    return g


@triton.jit
def _nnqp_kernel(q_ptr, c_ptr, w_ptr, tol_ptr, status_ptr, sweeps_ptr, viol_ptr,
                 k, ridge, max_sweeps,
                 stride_qb, stride_qr, stride_qc, stride_cb, stride_ck, stride_wb,
                 BLOCK_K: tl.constexpr):
    b = tl.program_id(0)
    offs = tl.arange(0, BLOCK_K)
    in_k = offs < k
    q_b = q_ptr + b * stride_qb
    c_row = tl.load(c_ptr + b * stride_cb + offs * stride_ck, mask=in_k, other=0.0).to(tl.float32)
    w = tl.load(w_ptr + b * stride_wb + offs, mask=in_k, other=0.0)
    tol = tl.load(tol_ptr + b)
    g = _fresh_gradient(q_b, c_row, w, offs, in_k, k, ridge, stride_qr, stride_qc)
    viol = _kkt_violation(w, g, in_k)
    sweeps = 0
    while (viol > tol) & (sweeps < max_sweeps):
        for i in range(0, k):
            here = offs == i
            gi = tl.sum(tl.where(here, g, 0.0), axis=0)
            wi = tl.sum(tl.where(here, w, 0.0), axis=0)
            qii = tl.load(q_b + i * (stride_qr + stride_qc)).to(tl.float32) + ridge
            curved = qii > 0.0  # Qᵢᵢ + ρ = 0 on a PSD matrix: row i is 0, wᵢ has no step to take
            step = tl.where(curved, tl.maximum(wi + gi / tl.where(curved, qii, 1.0), 0.0) - wi, 0.0)
            if step != 0.0:
                qi = tl.load(q_b + i * stride_qr + offs * stride_qc, mask=in_k, other=0.0).to(tl.float32)
                w = tl.where(here, wi + step, w)
                g -= step * (qi + tl.where(here, ridge, 0.0))
        sweeps += 1
        viol = _kkt_violation(w, g, in_k)
        if viol <= tol:
            g = _fresh_gradient(q_b, c_row, w, offs, in_k, k, ridge, stride_qr, stride_qc)
            viol = _kkt_violation(w, g, in_k)
    tl.store(w_ptr + b * stride_wb + offs, w, mask=in_k)
    tl.store(status_ptr + b, tl.where(viol <= tol, 0, 1))
    tl.store(sweeps_ptr + b, sweeps)
    tl.store(viol_ptr + b, viol)


#: Kernels and triton's own library (tl.sum, tl.max) built for the interpreter: CPU tensors run.
INTERPRETED = isinstance(_nnqp_kernel, InterpretedFunction) and isinstance(tl.sum, InterpretedFunction)


def batched_nnqp(Q, c, *, ridge: float = 0.0, w0=None, rtol: float = 1e-5, max_sweeps: int = 1000
                 ) -> BatchedNNQPResult:
    """Solve B independent NNQPs max cᵦᵀw − ½wᵀ(Qᵦ + ridge·I)w, w ≥ 0, one Triton program each.

    Q (B × k × k) symmetric PSD, fp32/fp16/bf16; c (B × k) fp32/fp16/bf16; k ≤ 512 (pad smaller
    problems with zero rows and zero c: their coordinates stay 0). ``w0`` (B × k) nonnegative
    warm start (default 0). Stops problem b when its KKT violation is ≤ rtol·max(max|cᵦ|,
    max diag Qᵦ + ridge). Cost per sweep: k row reads of Qᵦ and O(k²) flops.
    """
    for name, x in (("Q", Q), ("c", c)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__} "
                            "(numpy problems go through matroidomp.nnqp)")
        if x.dtype not in _FLOATS:
            raise TypeError(f"{name}: dtype {x.dtype} not in {[str(t) for t in _FLOATS]}")
    if Q.dim() != 3 or Q.shape[1] != Q.shape[2]:
        raise ValueError(f"Q: expected shape (B, k, k), got {tuple(Q.shape)}")
    B, k = Q.shape[0], Q.shape[1]
    if c.shape != (B, k):
        raise ValueError(f"c: shape {tuple(c.shape)}, expected (B, k) = ({B}, {k})")
    if k > MAX_K:
        raise ValueError(f"k = {k} exceeds {MAX_K}: use matroidomp.nnqp for larger problems")
    if c.device != Q.device:
        raise ValueError(f"c: on {c.device}, expected {Q.device} like Q")
    if Q.device.type != "cuda" and not INTERPRETED:
        raise RuntimeError(f"Triton kernels need CUDA tensors; {Q.device} tensors run only when "
                           "TRITON_INTERPRET=1 is set before triton is first imported")
    if not ridge >= 0.0:
        raise ValueError(f"ridge must be >= 0, got {ridge}")
    if not rtol > 0.0:
        raise ValueError(f"rtol must be > 0, got {rtol}")
    if int(max_sweeps) < 0:
        raise ValueError(f"max_sweeps must be >= 0, got {max_sweeps}")
    if w0 is None:
        w = torch.zeros((B, k), dtype=torch.float32, device=Q.device)
    else:
        if not isinstance(w0, torch.Tensor) or w0.shape != (B, k) or w0.device != Q.device:
            raise ValueError(f"w0: expected a ({B}, {k}) torch.Tensor on {Q.device}")
        if bool((w0 < 0).any()):
            raise ValueError("w0: must be nonnegative")
        w = w0.to(torch.float32, copy=True).contiguous()
    status = torch.full((B,), MAX_ITER, dtype=torch.int32, device=Q.device)
    sweeps = torch.zeros((B,), dtype=torch.int32, device=Q.device)
    viol = torch.zeros((B,), dtype=torch.float32, device=Q.device)
    if B == 0 or k == 0:
        return BatchedNNQPResult(w, status.fill_(CONVERGED), sweeps, viol)
    scale = torch.maximum(c.abs().amax(dim=1).float(),
                          Q.diagonal(dim1=1, dim2=2).abs().amax(dim=1).float() + ridge)
    tol = (rtol * scale.clamp_min(torch.finfo(torch.float32).tiny)).contiguous()
    _nnqp_kernel[(B,)](Q, c, w, tol, status, sweeps, viol, k, float(ridge), int(max_sweeps),
                       Q.stride(0), Q.stride(1), Q.stride(2), c.stride(0), c.stride(1), w.stride(0),
                       BLOCK_K=triton.next_power_of_2(k))
    return BatchedNNQPResult(w, status, sweeps, viol)
