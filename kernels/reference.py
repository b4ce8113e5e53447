"""numpy reference of the fused OMP step under a partition matroid (the contract every kernel meets).

One OMP step, with S the selected set and w its weights::

    ρ = c − Q[:, S] w                       Gram path:   rows = Q[S, :]  (p × n)
    ρ_i = c_i − s·⟨g_i, U[b_i]⟩              d-space:     U (B × d), one residual direction per block
    score = |ρ| if absolute else ρ;  scores with |score_i| ≤ tol_i count as 0 (rounding noise;
                                     tol is a scalar or one tolerance per element)
    feasible_i = not selected_i and remaining[codes_i] > 0
    best = argmax of score over feasible i  (ties → lowest index; −1 if nothing is feasible)

Accumulation is float32 for float16/float32 inputs and float64 for float64 inputs; ρ has the
dtype of c combined with the accumulation dtype (the scale multiplies in that dtype). :func:`shortlist` is the candidate set of the
residual random greedy rule: in every domain d its top remaining[d] feasible elements by score.
:func:`matvec` (float64, a column of the refit's system) and :func:`rmatvec` (the residual
direction G_Sᵀw) are the small (|S| × d) products of a d-space step.
"""

from __future__ import annotations

import numpy as np


def accumulation_dtype(*arrays: np.ndarray) -> np.dtype:
    """float64 if any input is float64, else float32 (float16 and bfloat16 accumulate in float32)."""
    return np.dtype(np.float64) if any(a.dtype == np.float64 for a in arrays) else np.dtype(np.float32)


def _masked_argmax(rho, codes, remaining, selected, absolute, tol) -> int:
    score = feasible_scores(rho, absolute, tol)
    feasible = ~selected & (remaining[codes] > 0)
    if not feasible.any():
        return -1
    return int(np.argmax(np.where(feasible, score, -np.inf)))


def feasible_scores(rho: np.ndarray, absolute: bool = False, tol=0.0) -> np.ndarray:
    """score = |ρ| if absolute else ρ, with |score_i| ≤ tol_i set to 0 (tol scalar or (n,))."""
    score = np.abs(rho) if absolute else rho
    return np.where(np.abs(score) <= tol, 0.0, score).astype(rho.dtype, copy=False)


def gram_step(rows, w, c, codes, remaining, selected, absolute=False, tol=0.0):
    """(ρ, best) with ρ = c − rowsᵀw; rows (p × n) = Q[S, :], w (p,)."""
    acc = accumulation_dtype(rows, w)
    corr = rows.astype(acc, copy=False).T @ w.astype(acc, copy=False)
    rho = c - corr.astype(np.result_type(c, acc), copy=False)
    return rho, _masked_argmax(rho, codes, remaining, selected, absolute, tol)


def factor_step(G, U, blocks, c, scale, codes, remaining, selected, absolute=False, tol=0.0):
    """(ρ, best) with ρ_i = c_i − scale·⟨g_i, U[blocks_i]⟩; G (n × d), U (B × d), blocks (n,)."""
    acc = accumulation_dtype(G, U)
    proj = G.astype(acc, copy=False) @ U.astype(acc, copy=False).T
    corr = proj[np.arange(G.shape[0]), blocks]
    out = np.result_type(c, acc)
    rho = c - out.type(scale) * corr.astype(out, copy=False)
    return rho, _masked_argmax(rho, codes, remaining, selected, absolute, tol)


def matvec(A, x):
    """A x in float64 (a column of the small |S| × |S| system: products of float32 inputs are exact)."""
    return A.astype(np.float64, copy=False) @ x.astype(np.float64, copy=False)


def rmatvec(A, w):
    """Aᵀw = Σ_t w_t a_t, accumulated in the accumulation dtype."""
    acc = accumulation_dtype(A, w)
    return A.astype(acc, copy=False).T @ w.astype(acc, copy=False)


def shortlist(score, codes, remaining, selected):
    """Sorted indices: per domain d its top remaining[d] feasible elements by score (ties → lowest index)."""
    feasible = np.flatnonzero(~selected & (remaining[codes] > 0))
    order = feasible[np.argsort(-score[feasible], kind="stable")]
    rank_in_domain = np.empty(order.size, dtype=np.int64)
    dom = codes[order]
    by_domain = np.argsort(dom, kind="stable")
    sorted_dom = dom[by_domain]
    starts = np.searchsorted(sorted_dom, sorted_dom, side="left")
    rank_in_domain[by_domain] = np.arange(order.size) - starts
    return np.sort(order[rank_in_domain < remaining[dom]])
