"""Fused OMP step in Triton: residual correlation, partition-matroid mask and arg-max in one pass.

    Gram path      ρ = c − Rᵀw               R = Q[S, :] (p × n), w (p,)
    d-space path   ρᵢ = c_i − s·⟨gᵢ, U[bᵢ]⟩   G (n × d), U (B × d) one residual direction per block
    score          σ = |ρ| if absolute else ρ, then σ_i := 0 where |σ_i| ≤ tol_i (rounding noise)
    feasible       F = {i : not selected_i and remaining[codes_i] > 0}
    best           argmax_{i ∈ F} σ_i, ties to the lowest index; −1 when F is empty

This is the contract of :mod:`matroidomp.kernels.reference`. Each program owns BLOCK_N
candidates: it streams its columns of R (or rows of G) once, accumulating in fp32 (fp16/bf16
loads are cast explicitly), stores ρ, and reduces its masked scores to one (max, lowest arg-max)
pair. A second single-program kernel reduces those pairs, so only ρ and one index leave the
device. Out-of-range codes (or blocks) count as infeasible and are never used as addresses.

The kernels launch on CUDA tensors, or on CPU tensors when ``TRITON_INTERPRET=1`` was set
before triton was first imported (triton picks the interpreter when functions are decorated).
Inputs are assumed finite (the solvers check once up front).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from triton.runtime.interpreter import InterpretedFunction

_FLOATS = (torch.float32, torch.float16, torch.bfloat16)


@triton.jit
def _masked_block_argmax(rho, tol_ptr, ABSOLUTE: tl.constexpr, offs, in_range, codes_ptr, remaining_ptr,
                         n_domains, selected_ptr, extra_ok, max_ptr, idx_ptr, pid):
    """Store this block's best feasible score and its lowest index (2³¹ − 1 if none is feasible)."""
    score = tl.abs(rho) if ABSOLUTE else rho
    tol = tl.load(tol_ptr + offs, mask=in_range, other=0.0)
    score = tl.where(tl.abs(score) <= tol, 0.0, score)
    code = tl.load(codes_ptr + offs, mask=in_range, other=-1)
    valid_code = (code >= 0) & (code < n_domains)
    left = tl.load(remaining_ptr + code, mask=in_range & valid_code, other=0)
    taken = tl.load(selected_ptr + offs, mask=in_range, other=1)
    feasible = in_range & valid_code & (left > 0) & (taken == 0) & extra_ok
    masked = tl.where(feasible, score, float("-inf"))
    top = tl.max(masked, axis=0)
    idx = tl.min(tl.where(feasible & (masked == top), offs, 2147483647), axis=0)
    tl.store(max_ptr + pid, top)
    tl.store(idx_ptr + pid, idx)


@triton.jit
def _gram_step_kernel(rows_ptr, w_ptr, c_ptr, codes_ptr, remaining_ptr, selected_ptr, rho_ptr,
                      max_ptr, idx_ptr, tol_ptr, p, n, n_domains, stride_row, stride_col,
                      ABSOLUTE: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_P: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * BLOCK_N + tl.arange(0, BLOCK_N)
    in_range = offs < n
    acc = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for p0 in range(0, p, BLOCK_P):
        offs_p = p0 + tl.arange(0, BLOCK_P)
        in_p = offs_p < p
        wp = tl.load(w_ptr + offs_p, mask=in_p, other=0.0)
        tile = tl.load(rows_ptr + offs_p[:, None] * stride_row + offs[None, :] * stride_col,
                       mask=in_p[:, None] & in_range[None, :], other=0.0).to(tl.float32)
        acc += tl.sum(tile * wp[:, None], axis=0)
    rho = tl.load(c_ptr + offs, mask=in_range, other=0.0) - acc
    tl.store(rho_ptr + offs, rho, mask=in_range)
    _masked_block_argmax(rho, tol_ptr, ABSOLUTE, offs, in_range, codes_ptr, remaining_ptr, n_domains,
                         selected_ptr, in_range, max_ptr, idx_ptr, pid)


@triton.jit
def _factor_step_kernel(g_ptr, u_ptr, blocks_ptr, c_ptr, codes_ptr, remaining_ptr, selected_ptr,
                        rho_ptr, max_ptr, idx_ptr, scale, tol_ptr, n, d, n_blocks, n_domains,
                        stride_gn, stride_gd, stride_ub, stride_ud,
                        ONE_BLOCK: tl.constexpr, ABSOLUTE: tl.constexpr,
                        BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * BLOCK_N + tl.arange(0, BLOCK_N)
    in_range = offs < n
    if ONE_BLOCK:
        block_ok = in_range
        block = tl.zeros((BLOCK_N,), dtype=tl.int32)
    else:
        block = tl.load(blocks_ptr + offs, mask=in_range, other=-1)
        block_ok = in_range & (block >= 0) & (block < n_blocks)
    acc = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for d0 in range(0, d, BLOCK_D):
        offs_d = d0 + tl.arange(0, BLOCK_D)
        in_d = offs_d < d
        g = tl.load(g_ptr + offs[:, None] * stride_gn + offs_d[None, :] * stride_gd,
                    mask=in_range[:, None] & in_d[None, :], other=0.0).to(tl.float32)
        if ONE_BLOCK:
            u = tl.load(u_ptr + offs_d * stride_ud, mask=in_d, other=0.0).to(tl.float32)
            acc += tl.sum(g * u[None, :], axis=1)
        else:
            u = tl.load(u_ptr + block[:, None] * stride_ub + offs_d[None, :] * stride_ud,
                        mask=block_ok[:, None] & in_d[None, :], other=0.0).to(tl.float32)
            acc += tl.sum(g * u, axis=1)
    rho = tl.load(c_ptr + offs, mask=in_range, other=0.0) - scale * acc
    tl.store(rho_ptr + offs, rho, mask=in_range)
    _masked_block_argmax(rho, tol_ptr, ABSOLUTE, offs, in_range, codes_ptr, remaining_ptr, n_domains,
                         selected_ptr, block_ok, max_ptr, idx_ptr, pid)


@triton.jit
def _reduce_argmax_kernel(max_ptr, idx_ptr, out_ptr, n_parts, BLOCK: tl.constexpr):
    """out = lowest index among the parts' maxima equal to the overall maximum; −1 if none."""
    top = float("-inf")
    best = 2147483647
    for start in range(0, n_parts, BLOCK):
        offs = start + tl.arange(0, BLOCK)
        idx = tl.load(idx_ptr + offs, mask=offs < n_parts, other=2147483647)
        part = tl.load(max_ptr + offs, mask=offs < n_parts, other=float("-inf"))
        ok = idx != 2147483647
        part = tl.where(ok, part, float("-inf"))
        chunk_top = tl.max(part, axis=0)
        chunk_idx = tl.min(tl.where(ok & (part == chunk_top), idx, 2147483647), axis=0)
        better = (chunk_idx != 2147483647) & ((chunk_top > top) | ((chunk_top == top) & (chunk_idx < best)))
        top = tl.where(better, chunk_top, top)
        best = tl.where(better, chunk_idx, best)
    tl.store(out_ptr, tl.where(best == 2147483647, -1, best))


#: Kernels and triton's own library (tl.sum, tl.max) built for the interpreter: CPU tensors run.
INTERPRETED = isinstance(_reduce_argmax_kernel, InterpretedFunction) and isinstance(tl.sum, InterpretedFunction)


def _check_tensor(x, name: str, ndim: int, dtypes, device) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__} "
                        "(numpy arrays go through the numba kernels)")
    if x.dim() != ndim:
        raise ValueError(f"{name}: expected {ndim} dimension(s), got shape {tuple(x.shape)}")
    if x.dtype not in dtypes:
        raise TypeError(f"{name}: dtype {x.dtype} not in {[str(t) for t in dtypes]}")
    if x.device != device:
        raise ValueError(f"{name}: on {x.device}, expected {device} like the other inputs")
    return x


def _check_common(c, codes, remaining, selected, n: int):
    """Validate the per-candidate inputs shared by both paths; return selected as uint8."""
    device = c.device
    if device.type != "cuda" and not INTERPRETED:
        raise RuntimeError(f"Triton kernels need CUDA tensors; {device} tensors run only when "
                           "TRITON_INTERPRET=1 is set before triton is first imported")
    _check_tensor(codes, "codes", 1, (torch.int32,), device)
    _check_tensor(remaining, "remaining", 1, (torch.int32,), device)
    _check_tensor(selected, "selected", 1, (torch.bool, torch.uint8), device)
    for name, x in (("c", c), ("codes", codes), ("selected", selected)):
        if x.shape[0] != n:
            raise ValueError(f"{name}: length {x.shape[0]}, expected n = {n}")
    if n >= 2**31 - 1:
        raise ValueError(f"n = {n} exceeds the int32 index range")
    return selected.view(torch.uint8) if selected.dtype == torch.bool else selected


def _tolerances(tol, n: int, device) -> torch.Tensor:
    """Per-candidate tolerances as an fp32 (n,) tensor on ``device`` (a number is broadcast)."""
    if isinstance(tol, torch.Tensor):
        _check_tensor(tol, "tol", 1, (torch.float32,), device)
        if tol.shape[0] != n:
            raise ValueError(f"tol: length {tol.shape[0]}, expected n = {n}")
        return tol
    return torch.full((n,), float(tol), dtype=torch.float32, device=device)


def _finish(rho, top, idx, n_parts):
    out = torch.empty((), dtype=torch.int32, device=rho.device)
    _reduce_argmax_kernel[(1,)](top, idx, out, n_parts, BLOCK=1024)
    return rho, out


def gram_step(rows, w, c, codes, remaining, selected, absolute: bool = False, tol: float = 0.0, *,
              block_n: int = 256, block_p: int = 16):
    """Gram-path OMP step: ρ = c − rowsᵀw and the feasible arg-max of ρ (or |ρ|).

    rows (p × n) fp32/fp16/bf16 = Q[S, :]; w (p,) fp32; c (n,) fp32; codes (n,) int32 domain of
    each candidate; remaining (D,) int32 budget left per domain; selected (n,) bool/uint8.
    Scores with |σ_i| ≤ tol_i count as 0 (so rounding noise ties, to the lowest index); ``tol``
    is a number or an fp32 (n,) tensor on the same device.
    Returns (ρ (n,) fp32, best 0-d int32 tensor, −1 if nothing is feasible) on the input
    device, without a host synchronisation. Cost: one read of rows, O(pn) flops.
    """
    c = _check_tensor(c, "c", 1, (torch.float32,), getattr(c, "device", None))
    n = c.shape[0]
    selected = _check_common(c, codes, remaining, selected, n)
    _check_tensor(rows, "rows", 2, _FLOATS, c.device)
    _check_tensor(w, "w", 1, (torch.float32,), c.device)
    p = w.shape[0]
    if rows.shape != (p, n):
        raise ValueError(f"rows: shape {tuple(rows.shape)}, expected (len(w), len(c)) = ({p}, {n})")
    n_parts = max(triton.cdiv(n, block_n), 1)
    rho = torch.empty(n, dtype=torch.float32, device=c.device)
    top = torch.empty(n_parts, dtype=torch.float32, device=c.device)
    idx = torch.empty(n_parts, dtype=torch.int32, device=c.device)
    _gram_step_kernel[(n_parts,)](rows, w, c, codes, remaining, selected, rho, top, idx,
                                  _tolerances(tol, n, c.device), p, n, remaining.shape[0], rows.stride(0), rows.stride(1),
                                  ABSOLUTE=bool(absolute), BLOCK_N=block_n, BLOCK_P=block_p)
    return _finish(rho, top, idx, n_parts)


def factor_step(G, U, blocks, c, scale: float, codes, remaining, selected, absolute: bool = False,
                tol: float = 0.0, *,
                block_n: int = 64, block_d: int = 128):
    """d-space OMP step: ρᵢ = cᵢ − scale·⟨G[i], U[blocks[i]]⟩ and the feasible arg-max.

    G (n × d) fp32/fp16/bf16; U (B × d) fp32/fp16/bf16, one residual direction G_Sᵀw per block
    (B = 1 without block-diagonal coupling); blocks (n,) int32 in [0, B), or None when B = 1;
    the rest as in :func:`gram_step`. One pass over G: memory bound at n·d·itemsize bytes.
    """
    c = _check_tensor(c, "c", 1, (torch.float32,), getattr(c, "device", None))
    n = c.shape[0]
    selected = _check_common(c, codes, remaining, selected, n)
    _check_tensor(G, "G", 2, _FLOATS, c.device)
    _check_tensor(U, "U", 2, _FLOATS, c.device)
    if G.shape[0] != n:
        raise ValueError(f"G: {G.shape[0]} rows, expected n = {n}")
    if U.shape[1] != G.shape[1] or U.shape[0] < 1:
        raise ValueError(f"U: shape {tuple(U.shape)}, expected (B >= 1, d = {G.shape[1]})")
    one_block = blocks is None
    if one_block:
        if U.shape[0] != 1:
            raise ValueError(f"blocks is None but U has {U.shape[0]} rows; pass blocks or one row")
        blocks = codes  # unused address (ONE_BLOCK never reads it)
    else:
        _check_tensor(blocks, "blocks", 1, (torch.int32,), c.device)
        if blocks.shape[0] != n:
            raise ValueError(f"blocks: length {blocks.shape[0]}, expected n = {n}")
    n_parts = max(triton.cdiv(n, block_n), 1)
    rho = torch.empty(n, dtype=torch.float32, device=c.device)
    top = torch.empty(n_parts, dtype=torch.float32, device=c.device)
    idx = torch.empty(n_parts, dtype=torch.int32, device=c.device)
    _factor_step_kernel[(n_parts,)](G, U, blocks, c, codes, remaining, selected, rho, top, idx,
                                    float(scale), _tolerances(tol, n, c.device), n, G.shape[1], U.shape[0], remaining.shape[0],
                                    G.stride(0), G.stride(1), U.stride(0), U.stride(1),
                                    ONE_BLOCK=one_block, ABSOLUTE=bool(absolute),
                                    BLOCK_N=block_n, BLOCK_D=block_d)
    return _finish(rho, top, idx, n_parts)
