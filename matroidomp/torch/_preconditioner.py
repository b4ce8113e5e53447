"""Adam update directions of per-example gradients, from the optimizer's state.

An AdamW step is not −η g: with the optimizer's moments (m, v) of a parameter at step count s,
betas (β₁, β₂) and ε, the update that example i alone would cause is −η Γ(g_i) with

    m_i = β₁ m + (1 − β₁) g_i,     v_i = β₂ v + (1 − β₂) g_i²      (elementwise),
    Γ(g_i) = m̂_i / (√v̂_i + ε),   m̂_i = m_i / (1 − β₁^{s+1}),   v̂_i = v_i / (1 − β₂^{s+1}),

exactly PyTorch's Adam/AdamW step direction (decoupled weight decay aside, which does not depend
on the example). With AMSGrad, v_i is max(v_max, v_i). This is what LESS (Xia et al. 2024) and
the PartitionSel authors' ``lowpass_adam`` option feed the selection for the training rows; the
anchors stay raw gradients. A parameter the optimizer has no state for yet (before its first
step) keeps its raw gradient — there is no Adam direction to take yet.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


class AdamDirections:
    """The Adam directions Γ(g) = m̂/(√v̂ + ε) of per-example gradients of ``params`` (module docstring).

    Reads the state once, at construction (the state of the current step); :meth:`apply` maps a
    chunk's per-example gradient blocks (one b × numel block per parameter, in ``params`` order)
    to their Adam directions.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor]):
        groups = {}
        for group in getattr(optimizer, "param_groups", None) or ():
            for p in group["params"]:
                groups[p] = group
        if not groups:
            raise TypeError(f"preconditioner: expected a torch.optim.Optimizer, got {type(optimizer).__name__}")
        self.terms = []
        for p in params:
            group = groups.get(p)
            if group is None:
                raise ValueError(f"preconditioner: a selected parameter of shape {tuple(p.shape)} is not in the "
                                 "optimizer's parameter groups")
            if "betas" not in group or "eps" not in group:
                raise ValueError(f"preconditioner: {type(optimizer).__name__} is not an Adam-type optimizer (its "
                                 "parameter groups have no 'betas' and 'eps'); use Adam or AdamW, or no preconditioner")
            if group.get("maximize", False):
                raise ValueError("preconditioner: an optimizer with maximize=True ascends; its directions are not "
                                 "descent directions of the loss")
            state = optimizer.state.get(p, {})
            if "exp_avg" not in state or "exp_avg_sq" not in state:
                self.terms.append(None)  # no state yet: the raw gradient (module docstring)
                continue
            beta1, beta2 = (float(b) for b in group["betas"])
            t = float(state["step"]) + 1.0
            v_max = state.get("max_exp_avg_sq") if group.get("amsgrad", False) else None
            self.terms.append((
                beta1 * state["exp_avg"].detach().float().reshape(1, -1),
                beta2 * state["exp_avg_sq"].detach().float().reshape(1, -1),
                None if v_max is None else v_max.detach().float().reshape(1, -1),
                beta1, beta2, 1.0 - beta1 ** t, (1.0 - beta2 ** t) ** 0.5, float(group["eps"])))

    def apply(self, blocks: list[torch.Tensor]) -> list[torch.Tensor]:
        """The Adam directions Γ(g) of per-example gradient blocks (b × numel each, float32)."""
        if len(blocks) != len(self.terms):
            raise ValueError(f"expected {len(self.terms)} gradient blocks, got {len(blocks)}")
        out = []
        for g, term in zip(blocks, self.terms):
            if term is None:
                out.append(g)
                continue
            m, v, v_max, beta1, beta2, bc1, sqrt_bc2, eps = term
            m_i = m + (1.0 - beta1) * g
            v_i = v + (1.0 - beta2) * g * g
            if v_max is not None:
                v_i = torch.maximum(v_i, v_max)
            out.append((m_i / bc1) / (v_i.sqrt() / sqrt_bc2 + eps))
        return out
