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

from ._per_example import sum_of_mean_nll
from ._selector import BATCH_KEYS, PartitionSelector, Selection


def mean_answer_loss(model: nn.Module, batch: Mapping) -> torch.Tensor:
    """The training loss L = (1/n) Σ_b ℓ_b, ℓ_b the mean NLL over the answer tokens of row b.

    ℓ_b is the per-example loss whose gradients :func:`~matroidomp.torch.per_example_gradients`
    computes, so training on L(S) steps along the mean of the matched gradients.

    Parameters
    ----------
    model : torch.nn.Module
        A causal language model called as ``model(input_ids=..., attention_mask=...)``,
        returning ``.logits``.
    batch : mapping
        ``input_ids``, ``attention_mask`` and ``answer_mask`` tensors of shape (n, T); every row
        needs an answer token after the first position.

    Returns
    -------
    torch.Tensor
        A scalar, differentiable.

    Raises
    ------
    KeyError
        When ``batch`` lacks one of the three tensors.

    Examples
    --------
    >>> import torch, transformers
    >>> from matroidomp.torch import PartitionSelector, last_layer_linears
    >>> _ = torch.manual_seed(0)
    >>> model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(
    ...     hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
    ...     num_key_value_heads=1, vocab_size=50))  # a tiny random Qwen2, built offline
    >>> g = torch.Generator().manual_seed(0)
    >>> def batch(n):  # n random rows of 6 tokens, the last 3 of them the answer
    ...     ids = torch.randint(0, 50, (n, 6), generator=g)
    ...     answer = torch.zeros_like(ids)
    ...     answer[:, 3:] = 1
    ...     return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "answer_mask": answer}
    >>> loss = mean_answer_loss(model, batch(4))
    >>> loss.shape, round(loss.item(), 1)  # about log(50): a random model's uniform guess
    (torch.Size([]), 3.9)
    """
    ids, attn = batch["input_ids"], batch["attention_mask"]
    logits = model(input_ids=ids, attention_mask=attn).logits
    return sum_of_mean_nll(logits, ids, attn, batch["answer_mask"]) / ids.shape[0]


def selective_step(selector: PartitionSelector, model: nn.Module, optimizer: torch.optim.Optimizer,
                   pool: Mapping, domains, validation: Mapping, lr: float | None = None,
                   scheduler=None, preconditioner=None) -> tuple[float, Selection]:
    """One PartitionSel training step: select S ⊆ pool at η = lr, then one optimizer step on L(S).

    Selects S from ``pool`` with η = ``lr`` (default: the optimizer's current learning rate,
    which the scheduler sets), then takes one optimizer (and scheduler) step on the mean
    answer-token loss L(S) (:func:`mean_answer_loss`); the weights w_S are reported, not applied.

    Under torch.distributed (W > 1) call it on every rank with that rank's own ``pool`` and
    ``domains`` (same size on every rank), the same ``validation`` batch and learning rate, a
    DDP-wrapped ``model`` and a selector built on the unwrapped model with the same seed and ``k``
    per rank: the selection is the global one (k·W indices into the gathered pool, see
    :meth:`PartitionSelector.select_distributed`), the step is on this rank's shard of it and the
    returned loss is L(S_r) of that shard.

    Parameters
    ----------
    selector : PartitionSelector
        Built on the (unwrapped) model with ``k`` = examples trained on per step (per rank).
    model : torch.nn.Module
        The model to step (DDP-wrapped under data parallelism).
    optimizer : torch.optim.Optimizer
    pool : mapping
        ``input_ids``, ``attention_mask``, ``answer_mask`` of the n pool examples (n × T).
    domains : sequence or array of length n
        Domain label of every pool example (ints or strings).
    validation : mapping
        The anchors: a batch of the same three tensors (at least one row).
    lr : float, optional
        η of the Taylor utility; default ``optimizer.param_groups[0]['lr']``.
    scheduler : optional
        A learning-rate scheduler, stepped after the optimizer.
    preconditioner : 'optimizer', torch.optim.Optimizer or None, optional
        Select on the pool examples' Adam update directions from this optimizer's state
        (``'optimizer'``: ``optimizer`` itself, for Adam/AdamW); default the selector's own
        setting. See :func:`~matroidomp.torch.per_example_gradients`.

    Returns
    -------
    loss : float
        L(S) (this rank's shard under DDP) before the step.
    selection : Selection
        Indices into the (gathered) pool, weights, per-domain counts, F(S), conflicting pairs,
        seconds in gradients and in selection.

    Raises
    ------
    ValueError
        When ``pool`` or ``validation`` lacks a tensor, ``validation`` is empty, ``domains`` is
        None or does not have one label per pool row, or the pool has fewer than ``k`` rows (and
        the errors of :class:`PartitionSelector` and of the budget rule).

    Examples
    --------
    >>> import torch, transformers
    >>> from matroidomp.torch import PartitionSelector, last_layer_linears
    >>> _ = torch.manual_seed(0)
    >>> model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(
    ...     hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
    ...     num_key_value_heads=1, vocab_size=50))  # a tiny random Qwen2, built offline
    >>> g = torch.Generator().manual_seed(0)
    >>> def batch(n):  # n random rows of 6 tokens, the last 3 of them the answer
    ...     ids = torch.randint(0, 50, (n, 6), generator=g)
    ...     answer = torch.zeros_like(ids)
    ...     answer[:, 3:] = 1
    ...     return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "answer_mask": answer}
    >>> selector = PartitionSelector(model, last_layer_linears(model, 1), k=3)
    >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> domains = ["math"] * 8 + ["chem"] * 4
    >>> loss, sel = selective_step(selector, model, optimizer, batch(12), domains, batch(2))
    >>> round(loss, 1), len(sel.indices), sel.counts  # proportional budgets of 3: 2 math, 1 chem
    (3.9, 3, {'chem': 1, 'math': 2})
    """
    eta = optimizer.param_groups[0]["lr"] if lr is None else lr
    sel, chosen = selector.select_distributed(pool, domains, validation, lr=eta,
                                              preconditioner=_preconditioner(preconditioner, optimizer))
    optimizer.zero_grad()
    loss = mean_answer_loss(model, chosen)
    loss.backward()
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return loss.item(), sel


class PartitionSelTrainer(Trainer):
    """Hugging Face ``Trainer`` whose every step selects ``batch`` of a pool of ``batch · buffer`` and trains on it.

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

    Parameters
    ----------
    *args, **kwargs
        Passed to ``transformers.Trainer`` (``model``, ``args``, ``train_dataset``,
        ``data_collator``, ...).
    selector : PartitionSelector
        The selection step, with ``k = per_device_train_batch_size // buffer``.
    validation_dataset_or_batch : mapping or dataset
        The anchors of every step (a dict of tensors), or a dataset to draw them from.
    buffer : int
        Pool size over batch size, >= 1.
    anchors : int, default 4
        Anchors drawn per step from a validation dataset.
    anchor_seed : int, default 0
        Seed of those draws.
    preconditioner : 'optimizer', torch.optim.Optimizer or None, optional
        ``'optimizer'``: select on the pool examples' Adam update directions from the Trainer's own
        (AdamW) optimizer state; an optimizer: from that one; None: the selector's own setting.

    Raises
    ------
    ValueError
        When ``buffer`` < 1, ``per_device_train_batch_size`` is not a multiple of ``buffer``,
        ``selector.k`` is not ``per_device_train_batch_size // buffer`` or
        ``remove_unused_columns`` is True; during training, when a pool batch has no
        ``domain`` field (the message says how to keep it).

    Examples
    --------
    >>> import torch, transformers
    >>> from matroidomp.torch import PartitionSelector, last_layer_linears
    >>> _ = torch.manual_seed(0)
    >>> model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(
    ...     hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
    ...     num_key_value_heads=1, vocab_size=50))  # a tiny random Qwen2, built offline
    >>> g = torch.Generator().manual_seed(0)
    >>> def batch(n):  # n random rows of 6 tokens, the last 3 of them the answer
    ...     ids = torch.randint(0, 50, (n, 6), generator=g)
    ...     answer = torch.zeros_like(ids)
    ...     answer[:, 3:] = 1
    ...     return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "answer_mask": answer}
    >>> domains = ["math"] * 8 + ["chem"] * 4
    >>> pool = batch(12)
    >>> class Rows(torch.utils.data.Dataset):  # examples with their domain label
    ...     def __len__(self):
    ...         return len(domains)
    ...     def __getitem__(self, i):
    ...         return {**{key: value[i] for key, value in pool.items()}, "domain": domains[i]}
    >>> def collate(rows):  # the default collator, plus the string domain labels
    ...     tensors = [{k: v for k, v in r.items() if k != "domain"} for r in rows]
    ...     return {**transformers.default_data_collator(tensors), "domain": [r["domain"] for r in rows]}
    >>> import tempfile
    >>> args = transformers.TrainingArguments(
    ...     output_dir=tempfile.mkdtemp(), per_device_train_batch_size=6, max_steps=1,
    ...     learning_rate=1e-2, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True,
    ...     remove_unused_columns=False, disable_tqdm=True)
    >>> trainer = PartitionSelTrainer(
    ...     model=model, args=args, train_dataset=Rows(), data_collator=collate,
    ...     selector=PartitionSelector(model, last_layer_linears(model, 1), k=3),
    ...     validation_dataset_or_batch=batch(2), buffer=2)  # pools of 6, batches of 3
    >>> trainer.remove_callback(transformers.PrinterCallback)  # no log lines on stdout
    >>> _ = trainer.train()
    >>> log = trainer.state.log_history[0]
    >>> log["sel/count_math"] + log["sel/count_chem"]  # the batch: 3 selected of 6
    3.0
    >>> sorted(k for k in log if k.startswith("sel/"))  # doctest: +NORMALIZE_WHITESPACE
    ['sel/conflicting_pairs', 'sel/count_chem', 'sel/count_math', 'sel/grad_seconds',
     'sel/objective', 'sel/select_seconds']
    """

    def __init__(self, *args, selector: PartitionSelector, validation_dataset_or_batch, buffer: int,
                 anchors: int = 4, anchor_seed: int = 0, preconditioner=None, **kwargs):
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
        _preconditioner(preconditioner, None)  # checks the value; the Trainer's optimizer exists only once training starts
        self.preconditioner = preconditioner
        self._anchor_rng = np.random.default_rng(anchor_seed)
        self._stats: list[dict] = []

    def training_step(self, model, inputs, num_items_in_batch=None):
        """Select ``batch`` of the pool ``inputs`` (η = the scheduled lr), then the Trainer's step on them."""
        if "domain" not in inputs:
            raise ValueError(
                f"pool batch has no 'domain' field (keys: {sorted(inputs)}): the examples carry no 'domain' "
                "label, or the data collator dropped it (the default collator, default_data_collator, drops "
                "string fields such as domain names; remove_unused_columns=True drops every field the model "
                "does not take). Keep TrainingArguments(remove_unused_columns=False) and pass a collator "
                "that keeps 'domain', e.g. data_collator=lambda rows: {**default_data_collator(rows), "
                "'domain': [r['domain'] for r in rows]}")
        eta = self.optimizer.param_groups[0]["lr"]
        sel, chosen = self.selector.select_distributed(inputs, inputs["domain"], self._validation_batch(), lr=eta,
                                                       preconditioner=_preconditioner(self.preconditioner,
                                                                                      self.optimizer))
        self._stats.append({**{f"sel/count_{d}": c for d, c in sel.counts.items()},
                            "sel/objective": sel.objective, "sel/conflicting_pairs": sel.conflicting_pairs,
                            "sel/grad_seconds": sel.grad_seconds, "sel/select_seconds": sel.select_seconds})
        return super().training_step(model, chosen)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """The mean answer-token loss (:func:`mean_answer_loss`) of the selected examples."""
        loss = mean_answer_loss(model, inputs)
        return (loss, None) if return_outputs else loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """The Trainer's log, with the selection statistics averaged since the last one."""
        if "loss" in logs and self._stats:
            keys = sorted({key for s in self._stats for key in s})
            logs = {**logs, **{key: float(np.mean([s.get(key, 0) for s in self._stats])) for key in keys}}
            self._stats = []
        super().log(logs, start_time)

    def _validation_batch(self) -> Mapping:
        """The anchors of this step: the fixed batch, or ``anchors`` examples drawn from the dataset."""
        if isinstance(self.validation, Mapping):
            return self.validation
        rows = self._anchor_rng.choice(len(self.validation), size=min(self.anchors, len(self.validation)),
                                       replace=False)
        batch = self.data_collator([self.validation[int(i)] for i in rows])
        return {key: batch[key].to(self.args.device) for key in BATCH_KEYS}


def _preconditioner(value, optimizer):
    """The optimizer a ``preconditioner`` option names: 'optimizer' → the training loop's own."""
    if value is None or isinstance(value, torch.optim.Optimizer):
        return value
    if isinstance(value, str) and value == "optimizer":
        return optimizer
    raise ValueError(f"preconditioner: expected 'optimizer', a torch.optim.Optimizer or None, got {value!r}")
