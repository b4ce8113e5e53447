"""PartitionSel in a training loop: select S from the pool, then one step on S.

Each step t draws a pool P_t (n = batch · buffer examples with domain labels) and a validation
batch V_t (a few anchors), selects S_t ⊆ P_t, |S_t| = batch, with the selector's utility at
η = the optimizer's current learning rate, and steps on the plain mean answer-token loss

    L(S_t) = (1/|S_t|) Σ_{i∈S_t} ℓ_i,   ℓ_i = mean over answer tokens of example i of −log p(token),

the same ℓ_i whose gradients the selector matched (the weights w_S are reported, not applied).

:func:`selective_step` is the plain-PyTorch helper; :class:`PartitionSelTrainer` the Hugging Face
``Trainer`` (the dataloader yields the pool: set ``per_device_train_batch_size = batch · buffer``).

Data-parallel (torch.distributed initialised, W ranks, model wrapped in DistributedDataParallel):
both go through :meth:`PartitionSelector.select_distributed`. Each rank's local pool (its
dataloader's batch) is gathered into a global pool P of W·n_r examples, every rank selects the
same S ⊆ P with |S| = k·W (``k`` per rank), and rank r steps on its shard S_r (k examples, possibly
drawn from other ranks' pools). DDP averages the ranks' gradients of L(S_r), and with equal
shards (1/W) Σ_r ∇L(S_r) = ∇L(S): the step is the single-process step on the whole selection.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn
from transformers import Trainer

from .per_example import _sum_of_mean_nll
from .selector import _KEYS, PartitionSelector, Selection


def mean_answer_loss(model: nn.Module, batch: Mapping) -> torch.Tensor:
    """L = (1/n) Σ_b ℓ_b, ℓ_b the mean NLL over the answer tokens of row b (as in
    :func:`~matroidomp.torch.per_example_gradients`)."""
    ids, attn = batch["input_ids"], batch["attention_mask"]
    logits = model(input_ids=ids, attention_mask=attn).logits
    return _sum_of_mean_nll(logits, ids, attn, batch["answer_mask"]) / ids.shape[0]


def selective_step(selector: PartitionSelector, model: nn.Module, optimizer: torch.optim.Optimizer,
                   pool: Mapping, domains, validation: Mapping, lr: float | None = None,
                   scheduler=None) -> tuple[float, Selection]:
    """Select S from ``pool`` with η = ``lr`` (default: the optimizer's current learning rate,
    which the scheduler sets), take one optimizer (and scheduler) step on L(S); returns (L(S)
    before the step, the selection).

    Under torch.distributed (W > 1) call it on every rank with that rank's own ``pool`` and
    ``domains`` (same size on every rank), the same ``validation`` batch and learning rate, a
    DDP-wrapped ``model`` and a selector built on the unwrapped model with the same seed and ``k``
    per rank: the selection is the global one (k·W indices into the gathered pool, see
    :meth:`PartitionSelector.select_distributed`), the step is on this rank's shard of it and the
    returned loss is L(S_r) of that shard."""
    eta = optimizer.param_groups[0]["lr"] if lr is None else lr
    sel, chosen = selector.select_distributed(pool, domains, validation, lr=eta)
    optimizer.zero_grad()
    loss = mean_answer_loss(model, chosen)
    loss.backward()
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return loss.item(), sel


class PartitionSelTrainer(Trainer):
    """``Trainer`` whose every training step selects ``batch`` of a pool of ``batch · buffer``.

    The dataloader yields the pool: set ``per_device_train_batch_size = batch · buffer``, build
    ``selector`` (on the unwrapped model) with ``k = batch``, keep the ``domain`` field
    (``remove_unused_columns=False``, and a ``data_collator`` that passes ``domain`` through: the
    default one drops string fields such as domain names) and, if the dataset size is not a
    multiple of the pool, use ``dataloader_drop_last=True``.
    Examples are dicts of ``input_ids``, ``attention_mask``, ``answer_mask`` and ``domain``.
    ``validation_dataset_or_batch``: a dict of tensors (the anchors of every step) or a dataset of
    examples, from which ``anchors`` are drawn uniformly each step (seed ``anchor_seed``) and put
    together by the data collator. η is the learning rate the scheduler set for this step. The
    loss is the mean answer-token loss; selection statistics (``sel/count_<domain>``,
    ``sel/objective``, ``sel/conflicting_pairs``, ``sel/grad_seconds``, ``sel/select_seconds``),
    averaged over the steps since the last log, join the Trainer's training logs.

    Under DDP (W processes) each device's batch is its local pool: the trainer gathers the W pools
    and selects ``k · W = batch · W`` of the ``batch · buffer · W`` examples, the same on every rank
    (counts in ``sel/count_<domain>`` are of that global selection), and each rank trains on its
    ``batch`` examples of it — the effective batch stays ``batch · W`` as in plain DDP training.
    The anchors must be the same on every rank: the same ``validation_dataset_or_batch`` and
    ``anchor_seed`` everywhere (the default).
    """

    def __init__(self, *args, selector: PartitionSelector, validation_dataset_or_batch, buffer: int,
                 anchors: int = 4, anchor_seed: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        if buffer < 1:
            raise ValueError(f"buffer must be >= 1, got {buffer}")
        pool = self.args.per_device_train_batch_size
        if pool % buffer:
            raise ValueError(f"per_device_train_batch_size = {pool} is not batch · buffer for buffer = {buffer}")
        if selector.k != pool // buffer:
            raise ValueError(f"selector must be built with k = per_device_train_batch_size // buffer = "
                             f"{pool // buffer}, got k = {selector.k}")
        if self.args.remove_unused_columns:
            raise ValueError("set remove_unused_columns=False: the Trainer would drop the 'domain' "
                             "and 'answer_mask' fields")
        self.selector, self.validation = selector, validation_dataset_or_batch
        self.buffer, self.anchors = buffer, anchors
        self._anchor_rng = np.random.default_rng(anchor_seed)
        self._stats: list[dict] = []

    def training_step(self, model, inputs, num_items_in_batch=None):
        if "domain" not in inputs:
            raise ValueError(
                f"pool batch has no 'domain' field (keys: {sorted(inputs)}): the examples carry no 'domain' "
                "label, or the data collator dropped it (the default collator, default_data_collator, drops "
                "string fields such as domain names; remove_unused_columns=True drops every field the model "
                "does not take). Keep TrainingArguments(remove_unused_columns=False) and pass a collator "
                "that keeps 'domain', e.g. data_collator=lambda rows: {**default_data_collator(rows), "
                "'domain': [r['domain'] for r in rows]}")
        eta = self.optimizer.param_groups[0]["lr"]
        sel, chosen = self.selector.select_distributed(inputs, inputs["domain"], self._validation_batch(), lr=eta)
        self._stats.append({**{f"sel/count_{d}": c for d, c in sel.counts.items()},
                            "sel/objective": sel.objective, "sel/conflicting_pairs": sel.conflicting_pairs,
                            "sel/grad_seconds": sel.grad_seconds, "sel/select_seconds": sel.select_seconds})
        return super().training_step(model, chosen)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss = mean_answer_loss(model, inputs)
        return (loss, None) if return_outputs else loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self._stats:
            keys = sorted({key for s in self._stats for key in s})
            logs = {**logs, **{key: float(np.mean([s.get(key, 0) for s in self._stats])) for key in keys}}
            self._stats = []
        super().log(logs, start_time)

    def _validation_batch(self) -> Mapping:
        if isinstance(self.validation, Mapping):
            return self.validation
        rows = self._anchor_rng.choice(len(self.validation), size=min(self.anchors, len(self.validation)),
                                       replace=False)
        batch = self.data_collator([self.validation[int(i)] for i in rows])
        return {key: batch[key].to(self.args.device) for key in _KEYS}
