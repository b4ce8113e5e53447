"""Batched NNQP in Triton: many small problems, one program each, by projected coordinate descent.

    for b = 1..B:   maximise cᵦᵀw − ½wᵀ(Qᵦ + ρI)w   subject to  w ≥ 0      (k ≤ 512)

A sweep visits i = 1..k in order and minimises exactly along coordinate i, projected on w ≥ 0:

    wᵢ ← max(0, wᵢ + gᵢ / (Qᵢᵢ + ρ)),     g ← g − (Δwᵢ)(Q[i, :] + ρeᵢ),     g = c − (Q + ρI)w

Each step is one row read of Q (symmetric) and O(k) flops; w and g stay in registers (k padded
to a power of two). On a PSD matrix with a bounded supremum the iterates converge to a
maximiser (Luo & Tseng 1992), singular Q included, and the stopping test is the KKT condition
itself, per coordinate and scale-invariant,

    { |gᵢ| if wᵢ > 0,  max(gᵢ, 0) if wᵢ = 0 }  ≤  tolᵢ = rtol·√(Qᵢᵢ + ρ)·max_j |c_j|/√(Q_jj + ρ),

checked after every sweep on the running gradient and confirmed on a gradient recomputed from
scratch (so rounding drift in g cannot stop it early).

Unbounded problems (sup = +∞ iff some v ≥ 0 has (Q + ρI)v = 0 and cᵀv > 0) are detected, not
iterated for ever: a zero-curvature coordinate with gᵢ > tolᵢ is the ray eᵢ; otherwise the
iterates diverge linearly along a recession direction, so the move v = Δw of a sweep becomes
one — each sweep tests v ≥ 0, cᵀv > 0 and the change of the running gradient (= −(Q + ρI)v)
against v, and a candidate is confirmed by a fresh product (Q + ρI)v, which must vanish to
``ray_rtol`` relative to √Qᵢᵢ·Σⱼ√Q_jj vⱼ. Then status UNBOUNDED and ``ray`` = v / max v. A problem
that has neither converged nor been proven unbounded after ``max_sweeps`` sweeps returns its
last iterate with status MAX_ITER (so does, typically, a matrix that is not PSD); nothing
raises. Inputs may be fp32/fp16/bf16; every load is cast to fp32 and all arithmetic is fp32.

The kernel launches on CUDA tensors, or on CPU tensors when ``TRITON_INTERPRET=1`` was set
before triton was first imported.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import triton
import triton.language as tl
from triton.runtime.interpreter import InterpretedFunction

from . import status as _status

UNBOUNDED_CODE: tl.constexpr = tl.constexpr(_status.UNBOUNDED)

CONVERGED, MAX_ITER, UNBOUNDED = _status.CONVERGED, _status.MAX_ITER, _status.UNBOUNDED
MAX_K = 512

_FLOATS = (torch.float32, torch.float16, torch.bfloat16)
_EPS32 = float(torch.finfo(torch.float32).eps)


class TritonNNQPSolution(NamedTuple):
    """The kernel's raw output, with the integer status codes every kernel shares (the public
    :class:`matroidomp.BatchedNNQPResult` names them: ``kernels.status.NAMES[code]``).

    ``w`` (B × k) fp32 solutions (or last iterates); ``status`` (B,) int32 codes of
    :mod:`matroidomp.kernels.status` (CONVERGED, MAX_ITER, UNBOUNDED); ``n_sweeps`` (B,) int32
    sweeps run; ``violation`` (B,) fp32 final max_i violation_i/tol_i (≤ 1 when converged; on a
    fresh gradient then, on the running gradient otherwise); ``ray`` (B × k) fp32, the
    certificate v ≥ 0, max v = 1, (Q + ρI)v ≈ 0, cᵀv > 0 of every unbounded problem (0 elsewhere)."""

    w: torch.Tensor
    status: torch.Tensor
    n_sweeps: torch.Tensor
    violation: torch.Tensor
    ray: torch.Tensor


@triton.jit
def _kkt_violation(w, g, tol, in_k):
    """max_i violation_i / tol_i (a violation with tol_i = 0 counts as +inf)."""
    viol = tl.where(w > 0, tl.abs(g), tl.maximum(g, 0.0))
    ratio = tl.where(tol > 0, viol / tl.where(tol > 0, tol, 1.0), tl.where(viol > 0, float("inf"), 0.0))
    return tl.max(tl.where(in_k, ratio, 0.0), axis=0)


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
def _nnqp_kernel(q_ptr, c_ptr, w_ptr, tol_ptr, status_ptr, sweeps_ptr, viol_ptr, ray_ptr,
                 k, ridge, max_sweeps, ray_rtol,
                 stride_qb, stride_qr, stride_qc, stride_cb, stride_ck, stride_wb, stride_tb,
                 BLOCK_K: tl.constexpr):
    b = tl.program_id(0)
    offs = tl.arange(0, BLOCK_K)
    in_k = offs < k
    q_b = q_ptr + b * stride_qb
    c_row = tl.load(c_ptr + b * stride_cb + offs * stride_ck, mask=in_k, other=0.0).to(tl.float32)
    w = tl.load(w_ptr + b * stride_wb + offs, mask=in_k, other=0.0)
    tol = tl.load(tol_ptr + b * stride_tb + offs, mask=in_k, other=0.0)
    diag = tl.load(q_b + offs * (stride_qr + stride_qc), mask=in_k, other=0.0).to(tl.float32) + ridge
    root = tl.sqrt(tl.maximum(diag, 0.0))
    g = _fresh_gradient(q_b, c_row, w, offs, in_k, k, ridge, stride_qr, stride_qc)
    viol = _kkt_violation(w, g, tol, in_k)
    ray = tl.zeros((BLOCK_K,), dtype=tl.float32)
    unbounded = viol < 0.0  # False, as a tensor
    sweeps = 0
    while (viol > 1.0) & (sweeps < max_sweeps) & (unbounded == 0):
        w_start = w
        g_start = g
        for i in range(0, k):
            here = offs == i
            gi = tl.sum(tl.where(here, g, 0.0), axis=0)
            wi = tl.sum(tl.where(here, w, 0.0), axis=0)
            ti = tl.sum(tl.where(here, tol, 0.0), axis=0)
            qii = tl.load(q_b + i * (stride_qr + stride_qc)).to(tl.float32) + ridge
            curved = qii > 0.0  # Qᵢᵢ + ρ = 0 on a PSD matrix: row i is 0, wᵢ has no step to take
            flat_ray = (~curved) & (gi > ti) & (unbounded == 0)  # then cᵢ > 0 along eᵢ: a ray
            ray = tl.where(flat_ray, tl.where(here, 1.0, 0.0), ray)
            unbounded = unbounded | flat_ray
            step = tl.where(curved & (unbounded == 0), tl.maximum(wi + gi / tl.where(curved, qii, 1.0), 0.0) - wi,
                            0.0)
            if step != 0.0:
                qi = tl.load(q_b + i * stride_qr + offs * stride_qc, mask=in_k, other=0.0).to(tl.float32)
                w = tl.where(here, wi + step, w)
                g -= step * (qi + tl.where(here, ridge, 0.0))
        sweeps += 1
        # A sweep that moved w along v ≥ 0 with (Q + ρI)v = g_start − g ≈ 0 and cᵀv > 0 is a
        # recession direction: the iterates diverge along it. Cheap test on the running
        # gradient, then a fresh product Qv in fp32 against ``ray_rtol`` (scale-invariant).
        v = tl.where(in_k, w - w_start, 0.0)
        v_top = tl.max(v, axis=0)
        mass = tl.sum(root * tl.abs(v), axis=0)
        qv_run = tl.max(tl.where(in_k & (root > 0), tl.abs(g_start - g) / tl.where(root > 0, root, 1.0), 0.0), axis=0)
        gain = tl.sum(c_row * v, axis=0)
        candidate = (unbounded == 0) & (v_top > 0.0) & (tl.min(v, axis=0) >= -1e-6 * v_top) & (gain > 0.0) & \
            (qv_run <= 1e-3 * mass)
        if candidate:
            ray_c = tl.maximum(v, 0.0) / v_top
            qv = _fresh_gradient(q_b, tl.zeros((BLOCK_K,), dtype=tl.float32), ray_c, offs, in_k, k, ridge,
                                 stride_qr, stride_qc)  # = −(Q + ρI)v
            err = tl.max(tl.where(in_k & (root > 0), tl.abs(qv) / tl.where(root > 0, root, 1.0), 0.0), axis=0)
            zero_col = tl.max(tl.where(in_k & (root <= 0), tl.abs(qv), 0.0), axis=0)
            ok = (err <= ray_rtol * tl.sum(root * ray_c, axis=0)) & (zero_col == 0.0)
            ray = tl.where(ok, ray_c, ray)
            unbounded = unbounded | ok
        viol = _kkt_violation(w, g, tol, in_k)
        if (viol <= 1.0) & (unbounded == 0):
            g = _fresh_gradient(q_b, c_row, w, offs, in_k, k, ridge, stride_qr, stride_qc)
            viol = _kkt_violation(w, g, tol, in_k)
    tl.store(w_ptr + b * stride_wb + offs, w, mask=in_k)
    tl.store(ray_ptr + b * stride_wb + offs, ray, mask=in_k)
    tl.store(status_ptr + b, tl.where(unbounded != 0, UNBOUNDED_CODE, tl.where(viol <= 1.0, 0, 1)))
    tl.store(sweeps_ptr + b, sweeps)
    tl.store(viol_ptr + b, viol)


#: Kernels and triton's own library (tl.sum, tl.max) built for the interpreter: CPU tensors run.
INTERPRETED = isinstance(_nnqp_kernel, InterpretedFunction) and isinstance(tl.sum, InterpretedFunction)


def batched_nnqp(Q, c, *, ridge: float = 0.0, w0=None, rtol: float = 1e-5, max_sweeps: int = 1000
                 ) -> TritonNNQPSolution:
    """Solve B independent NNQPs max cᵦᵀw − ½wᵀ(Qᵦ + ridge·I)w, w ≥ 0, one Triton program each.

    Parameters
    ----------
    Q : (B, k, k) torch.Tensor
        Symmetric PSD (possibly singular), fp32/fp16/bf16, k ≤ 512 (pad smaller problems with
        zero rows and zero c: their coordinates stay 0).
    c : (B, k) torch.Tensor
        fp32/fp16/bf16, on Q's device.
    ridge : float, default 0
    w0 : (B, k) torch.Tensor, optional
        Nonnegative warm start (default 0).
    rtol : float, default 1e-5
        Relative, scale-invariant KKT tolerance (see the module docstring).
    max_sweeps : int, default 1000

    Returns
    -------
    TritonNNQPSolution
        Per problem: CONVERGED (w optimal to rtol), UNBOUNDED (``ray`` proves sup = +∞; the
        certificate holds to 64·eps of the input dtype plus fp32 accumulation) or MAX_ITER.

    Raises
    ------
    TypeError, ValueError, RuntimeError
        Non-tensors or wrong dtypes; shapes, devices or parameters that disagree; CPU tensors
        without ``TRITON_INTERPRET=1``.

    Cost per sweep: k row reads of Qᵦ and O(k²) flops, plus one more pass per confirmed ray
    candidate.
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
    ray = torch.zeros((B, k), dtype=torch.float32, device=Q.device)
    if B == 0 or k == 0:
        return TritonNNQPSolution(w, status.fill_(CONVERGED), sweeps, viol, ray)
    tol = coordinate_tolerances(Q, c, ridge, rtol)
    eps_in = max(float(torch.finfo(Q.dtype).eps), float(torch.finfo(c.dtype).eps))
    ray_rtol = 64 * eps_in + 4 * k**0.5 * _EPS32
    _nnqp_kernel[(B,)](Q, c, w, tol, status, sweeps, viol, ray, k, float(ridge), int(max_sweeps), ray_rtol,
                       Q.stride(0), Q.stride(1), Q.stride(2), c.stride(0), c.stride(1), w.stride(0), tol.stride(0),
                       BLOCK_K=triton.next_power_of_2(k))
    return TritonNNQPSolution(w, status, sweeps, viol, ray)


def coordinate_tolerances(Q: torch.Tensor, c: torch.Tensor, ridge: float, rtol: float) -> torch.Tensor:
    """tol_bi = rtol·√(Q_bii + ρ)·σ_b, σ_b = max_{j: Q_bjj + ρ > 0} |c_bj|/√(Q_bjj + ρ): fp32 (B × k),
    the batched form of :func:`matroidomp._nnqp.coordinate_tolerances` (same convention)."""
    root = (Q.diagonal(dim1=1, dim2=2).float() + ridge).clamp_min(0.0).sqrt()
    ratio = torch.where(root > 0, c.float().abs() / torch.where(root > 0, root, torch.ones_like(root)),
                        torch.zeros_like(root))
    sigma = ratio.amax(dim=1, keepdim=True)
    return (rtol * root * sigma).contiguous()
