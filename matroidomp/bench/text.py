"""Tokenizer and tensor formats of the benchmark's prompt/answer examples.

A training sequence is

    prompt tokens · SEPARATOR tokens · answer tokens · eos

(each piece tokenized on its own, so the answer starts at a token boundary), right-padded;
``answer_mask`` is 1 exactly on the answer tokens and eos, the tokens whose prediction is in the
loss (the format of :func:`matroidomp.torch.per_example_gradients`). For greedy decoding a prompt
is ``prompt tokens · SEPARATOR tokens``, left-padded, and the model's continuation up to eos is
its answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from .data import Example

SEPARATOR = "\nAnswer: "
PAD, EOS = "<pad>", "<eos>"


def train_tokenizer(texts: Iterable[str], vocab_size: int = 1024) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer of at most ``vocab_size`` tokens trained on ``texts`` (and
    :data:`SEPARATOR`): every digit is its own token, decode(encode(s)) = s for every string s,
    special tokens ``<pad>`` (id 0) and ``<eos>`` (id 1)."""
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
        raise TypeError(f"vocab_size must be an int, got {type(vocab_size).__name__}")
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    if vocab_size < len(alphabet) + 2:
        raise ValueError(f"vocab_size must be at least {len(alphabet) + 2} (256 bytes + pad + eos), got {vocab_size}")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                       pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD, EOS], initial_alphabet=alphabet,
                                  show_progress=False)
    tokenizer.train_from_iterator(itertools.chain(texts, [SEPARATOR]), trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token=PAD, eos_token=EOS,
                                   clean_up_tokenization_spaces=False)


def encode_examples(tokenizer, examples: Sequence[Example], max_length: int) -> dict[str, torch.Tensor]:
    """``input_ids``, ``attention_mask``, ``answer_mask`` (long, n × T, right-padded with the pad
    token, T = the longest row ≤ ``max_length``). A sequence longer than ``max_length`` loses the
    end of its answer (and eos); a prompt that leaves no room for one answer token is an error."""
    prompts = _prompt_ids(tokenizer, examples, max_length)
    eos, pad = _eos_pad(tokenizer)
    answers = _ids(tokenizer, [e.answer for e in examples])
    rows = [(p, (a + [eos])[:max_length - len(p)]) for p, a in zip(prompts, answers)]
    width = max(len(p) + len(a) for p, a in rows)
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    answer_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (p, a) in enumerate(rows):
        input_ids[i, :len(p) + len(a)] = torch.tensor(p + a)
        attention_mask[i, :len(p) + len(a)] = 1
        answer_mask[i, len(p):len(p) + len(a)] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "answer_mask": answer_mask}


def encode_prompts(tokenizer, examples: Sequence[Example], max_length: int) -> dict[str, torch.Tensor]:
    """``input_ids``, ``attention_mask`` (long, n × T) of prompt · SEPARATOR, left-padded with the
    pad token for batched greedy decoding; the same length limit as :func:`encode_examples`."""
    prompts = _prompt_ids(tokenizer, examples, max_length)
    _, pad = _eos_pad(tokenizer)
    width = max(len(p) for p in prompts)
    input_ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):
        input_ids[i, width - len(p):] = torch.tensor(p)
        attention_mask[i, width - len(p):] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask}


def decode_answers(tokenizer, generated_ids: torch.Tensor | Sequence[Sequence[int]]) -> list[str]:
    """The answer of each row of ``generated_ids`` (the generated continuation only, without the
    prompt columns): its tokens before the first eos, decoded without special tokens, stripped."""
    eos, _ = _eos_pad(tokenizer)
    rows = generated_ids.tolist() if isinstance(generated_ids, torch.Tensor) else [list(r) for r in generated_ids]
    answers = []
    for row in rows:
        if not isinstance(row, list):
            raise ValueError("generated_ids must be 2-D (one row of token ids per example)")
        cut = row.index(eos) if eos in row else len(row)
        answers.append(tokenizer.decode(row[:cut], skip_special_tokens=True).strip())
    return answers


def _prompt_ids(tokenizer, examples: Sequence[Example], max_length: int) -> list[list[int]]:
    """Token ids of prompt · SEPARATOR per example, each checked to leave room for one more token."""
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
        raise ValueError(f"max_length must be an int of at least 2, got {max_length!r}")
    if len(examples) == 0:
        raise ValueError("no examples to encode")
    separator = _ids(tokenizer, [SEPARATOR])[0]
    prompts = [p + separator for p in _ids(tokenizer, [e.prompt for e in examples])]
    for i, (p, e) in enumerate(zip(prompts, examples)):
        if len(p) >= max_length:
            raise ValueError(f"example {i} ({e.domain}: {e.prompt[:60]!r}) has {len(p)} prompt+separator tokens; "
                             f"max_length {max_length} leaves no room for an answer token")
    return prompts


def _ids(tokenizer, texts: list[str]) -> list[list[int]]:
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def _eos_pad(tokenizer) -> tuple[int, int]:
    """(eos id, pad id); a tokenizer without a pad token pads with eos (padding is masked out)."""
    if tokenizer.eos_token_id is None:
        raise ValueError("tokenizer has no eos token: answers need one to end")
    pad = tokenizer.pad_token_id
    return tokenizer.eos_token_id, tokenizer.eos_token_id if pad is None else pad
