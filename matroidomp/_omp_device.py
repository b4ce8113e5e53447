"""OMP's per-step work on torch tensors through the Triton step kernels (CUDA, or the interpreter).

The same step as :class:`matroidomp._omp._GramOperator` / ``_FactorOperator``, with every
n-sized array on the device::

    Gram path   R = Q[S, :] (|S| × n, fp32),  ρ = c − Rᵀw                 (triton gram_step)
    d-space     U_b = Σ_{j ∈ S, b_j = b} w_j g_j (B × d),  ρ_i = c_i − s·⟨g_i, U_{b_i}⟩ − λ·w_i
                                                                             (triton factor_step)

(with a row scale, g_i stands for s_i g_i: the stored rows are scaled, G is not — the kernel
returns ⟨g_i, U_{b_i}⟩ and the arg-max is a second, masked pass over ρ, as on the host)

then the feasibility mask and the lowest-index arg-max in the same pass. Per step the host sends
w_S (|S| numbers) and the budgets left (one int per domain), and receives the arg-max and its ρ;
the refit's column Q[S, j] is computed on the host in float64 (from G when the utility has it):
the NNQP refit stays on the host. The randomized
rule's shortlist (per domain its top rem_d feasible scores) is built on the device too.
Triton accumulates in fp32, so float64 data is rounded to float32 on the device.
"""

from __future__ import annotations

import numpy as np
import torch

from .kernels import triton_omp_step as tk
from .objectives import QuadraticUtility


class TritonOperator:
    """ρ, the masked arg-max and columns of Q for :func:`~matroidomp.solve_omp` on ``device``."""

    def __init__(self, u: QuadraticUtility, gram_path: bool, capacity: int, codes: np.ndarray, device):
        self.u = u
        self.gram_path = gram_path
        data = torch.as_tensor(u.gram if gram_path else u.factor).to(device)
        self.data = data.float() if data.dtype == torch.float64 else data
        self.c = torch.as_tensor(u.c, dtype=torch.float32).to(device)
        scaled = not gram_path and u.row_scale is not None
        self.row_scale = torch.as_tensor(u.row_scale, dtype=torch.float32).to(device) if scaled else None
        self.codes = torch.as_tensor(codes, dtype=torch.int32).to(device)
        self.selected = torch.zeros(u.n, dtype=torch.bool, device=device)
        self.blocks = None if u.blocks is None else torch.as_tensor(u.blocks, dtype=torch.int32).to(device)
        self.n_blocks = 1 if u.blocks is None or u.n == 0 else int(u.blocks.max()) + 1
        width = u.n if gram_path else self.data.shape[1]
        self.stored = torch.empty((capacity, width), dtype=torch.float32, device=device)
        self.sel: list[int] = []

    def tolerances(self, root: np.ndarray, factor: float) -> torch.Tensor:
        """The per-element tolerances √Q_ii·factor on the device (fp32, as the kernels compare them)."""
        if not hasattr(self, "_root"):
            self._root = torch.as_tensor(root, dtype=torch.float32).to(self.c.device)
        return self._root * float(factor)

    def column(self, j: int) -> np.ndarray:
        """Stage row Q[j, :] (Gram) or s_j g_j (d-space) in slot |S|; return Q[S + j, j]
        (float64, diagonal last) — from the rows of G in float64 when the utility has G."""
        u, p = self.u, len(self.sel)
        sel = self.sel + [j]
        if self.gram_path:
            row = self.data[j].float() * u.scale
            if self.blocks is not None:
                row = row * (self.blocks == self.blocks[j])
            row[j] += u.ridge
            self.stored[p] = row
        else:
            self.stored[p] = self.data[j] if self.row_scale is None else self.data[j].float() * self.row_scale[j]
        if u.factor is not None:
            rows = u.scaled_rows(sel).astype(np.float64)
            col = (rows @ rows[-1]) * u.scale
        else:
            col = u.gram[sel, j].astype(np.float64) * u.scale
        if u.blocks is not None:
            col = col * (u.blocks[sel] == u.blocks[j])
        col[-1] += u.ridge
        return col

    def commit(self, j: int) -> None:
        """Add the staged j to S."""
        self.sel.append(j)
        self.selected[j] = True

    def exclude(self, j: int) -> None:
        """Never consider j again."""
        self.selected[j] = True

    def _remaining(self, remaining: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(remaining, dtype=torch.int32).to(self.c.device)

    def step(self, w: np.ndarray, remaining, absolute: bool, tol):
        """(ρ on the device, best as an int) for the current weights w_S."""
        p = len(self.sel)
        wp = torch.as_tensor(w[:p], dtype=torch.float32).to(self.c.device)
        rem = self._remaining(remaining)
        if self.gram_path:
            rho, best = tk.gram_step(self.stored[:p], wp, self.c, self.codes, rem, self.selected, absolute, tol)
            return rho, int(best)
        rows = self.stored[:p]
        if self.blocks is None:
            U = (wp @ rows)[None, :]
        else:
            U = torch.zeros((self.n_blocks, rows.shape[1]), dtype=torch.float32, device=rows.device)
            U.index_add_(0, self.blocks[self.sel].long(), wp[:, None] * rows)
        if self.row_scale is None:
            rho, best = tk.factor_step(self.data, U, self.blocks, self.c, self.u.scale, self.codes, rem,
                                       self.selected, absolute, tol)
        else:
            corr, _ = tk.factor_step(self.data, U, self.blocks, torch.zeros_like(self.c), -1.0, self.codes, rem,
                                     self.selected, absolute, tol)  # corr = ⟨g_i, U_{b_i}⟩
            rho = self.c - self.u.scale * self.row_scale * corr
            best = self.masked_best(rho, remaining, absolute, tol)
        if self.u.ridge and p:
            rho[self.sel] -= self.u.ridge * wp  # selected rows only: the arg-max is unaffected
        return rho, int(best)

    def masked_best(self, rho, remaining, absolute: bool, tol) -> int:
        """The feasible arg-max of an unchanged ρ under the current mask."""
        empty = torch.empty((0, self.u.n), dtype=torch.float32, device=rho.device)
        _, best = tk.gram_step(empty, self.c[:0], rho, self.codes, self._remaining(remaining), self.selected,
                               absolute, tol)
        return int(best)

    @staticmethod
    def value(rho, j: int) -> float:
        return float(rho[j])

    def random_pick(self, rho, remaining, absolute: bool, tol, rng) -> int:
        """Residual random greedy: a uniform pick among every domain's top rem_d feasible scores.

        Shortlist on the device, as :func:`matroidomp.kernels.reference.shortlist` (stable sorts:
        ties → lowest index); the host draws the position and reads back one index and one score.
        """
        score = rho.abs() if absolute else rho
        score = torch.where(score.abs() <= tol, torch.zeros_like(score), score)  # tol: (n,) on the device
        rem = self._remaining(remaining)
        codes = self.codes.long()
        feasible = torch.nonzero(~self.selected & (rem[codes] > 0)).flatten()
        order = feasible[torch.sort(-score[feasible], stable=True).indices]
        dom = codes[order]
        by_domain = torch.sort(dom, stable=True).indices
        sorted_dom = dom[by_domain]
        starts = torch.searchsorted(sorted_dom, sorted_dom, side="left")
        rank = torch.empty_like(order)
        rank[by_domain] = torch.arange(order.numel(), device=order.device) - starts
        pool = torch.sort(order[rank < rem[dom]]).values
        return int(pool[int(rng.integers(pool.numel()))])
