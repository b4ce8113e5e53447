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
import math
from collections.abc import Iterable, Sequence

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from .data import Example

SEPARATOR = "\nAnswer: "
PAD, EOS = "<pad>", "<eos>"


def train_tokenizer(texts: Iterable[str], vocab_size: int = 1024) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer of at most ``vocab_size`` tokens trained on ``texts``: lossless, digit by digit.

    Trained on ``texts`` and :data:`SEPARATOR`: every digit is its own token,
    decode(encode(s)) = s for every string s (byte level: no unknown token), special tokens
    ``<pad>`` (id 0) and ``<eos>`` (id 1).

    Parameters
    ----------
    texts : iterable of str
        The training corpus (prompts and answers).
    vocab_size : int, default 1024
        At most this many tokens; at least 258 (256 bytes, pad and eos).

    Returns
    -------
    transformers.PreTrainedTokenizerFast

    Raises
    ------
    TypeError
        When ``vocab_size`` is not an int.
    ValueError
        When ``vocab_size`` < 258.

    Examples
    --------
    >>> tokenizer = train_tokenizer(["What is 12 + 3?", "15"], vocab_size=300)
    >>> tokenizer.pad_token_id, tokenizer.eos_token_id, len(tokenizer) <= 300
    (0, 1, True)
    >>> tokenizer.convert_ids_to_tokens(tokenizer("120")["input_ids"])  # digit by digit
    ['1', '2', '0']
    >>> tokenizer.decode(tokenizer("Ünïcode, never seen")["input_ids"])
    'Ünïcode, never seen'
    """
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
    """Training rows ``prompt · SEPARATOR · answer · eos``, right-padded, with the answer mask of the loss.

    Returns ``input_ids``, ``attention_mask``, ``answer_mask`` (long, n × T, right-padded with the
    pad token, T = the longest row ≤ ``max_length``); ``answer_mask`` is 1 on the answer tokens
    and eos (the format of :func:`matroidomp.torch.per_example_gradients`). A sequence longer
    than ``max_length`` loses the end of its answer (and eos); a prompt that leaves no room for
    one answer token is an error.

    Parameters
    ----------
    tokenizer : transformers tokenizer
        With an eos token (e.g. from :func:`train_tokenizer`); without a pad token, eos pads.
    examples : sequence of Example
    max_length : int
        Longest row, >= 2.

    Returns
    -------
    dict of str to torch.Tensor

    Raises
    ------
    ValueError
        When ``examples`` is empty, ``max_length`` is not an int >= 2, a prompt (with the
        separator) fills ``max_length``, or the tokenizer has no eos token.

    Examples
    --------
    >>> from matroidomp.bench.data import Example
    >>> examples = [Example("What is 12 + 3?", "15", "math/add"), Example("Rings of CCO?", "0", "chem/rings")]
    >>> tokenizer = train_tokenizer([t for e in examples for t in (e.prompt, e.answer)], vocab_size=300)
    >>> batch = encode_examples(tokenizer, examples, max_length=32)
    >>> sorted(batch), batch["input_ids"].shape == batch["answer_mask"].shape
    (['answer_mask', 'attention_mask', 'input_ids'], True)
    >>> tokenizer.decode(batch["input_ids"][0][batch["answer_mask"][0].bool()])  # '1', '5', eos
    '15<eos>'
    >>> encode_examples(tokenizer, examples, max_length=5)
    Traceback (most recent call last):
    ...
    ValueError: example 0 (math/add: 'What is 12 + 3?') has ... prompt+separator tokens; max_length 5 leaves no room for an answer token
    """
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
    """Prompts ``prompt · SEPARATOR``, left-padded for batched greedy decoding.

    ``input_ids``, ``attention_mask`` (long, n × T); the same length limit as
    :func:`encode_examples`.

    Parameters
    ----------
    tokenizer : transformers tokenizer
        With an eos token; without a pad token, eos pads.
    examples : sequence of Example
    max_length : int
        Every prompt must be shorter (room for one answer token), >= 2.

    Returns
    -------
    dict of str to torch.Tensor

    Raises
    ------
    ValueError
        As :func:`encode_examples`.

    Examples
    --------
    >>> from matroidomp.bench.data import Example
    >>> examples = [Example("What is 12 + 3?", "15", "math/add"), Example("Rings of CCO?", "0", "chem/rings")]
    >>> tokenizer = train_tokenizer([t for e in examples for t in (e.prompt, e.answer)], vocab_size=300)
    >>> prompts = encode_prompts(tokenizer, examples, max_length=32)
    >>> sorted(prompts), bool(prompts["attention_mask"][:, -1].all())  # every row ends at the right
    (['attention_mask', 'input_ids'], True)
    """
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
    """The answer text of each generated row: its tokens before the first eos, decoded, stripped.

    Parameters
    ----------
    tokenizer : transformers tokenizer
        With an eos token.
    generated_ids : torch.Tensor or sequence of sequences of int
        The generated continuation only (without the prompt columns), one row per example.

    Returns
    -------
    list of str
        Decoded without special tokens.

    Raises
    ------
    ValueError
        When ``generated_ids`` is not 2-D, or the tokenizer has no eos token.

    Examples
    --------
    >>> tokenizer = train_tokenizer(["What is 12 + 3?", "15"], vocab_size=300)
    >>> fifteen = tokenizer("15", add_special_tokens=False)["input_ids"]
    >>> decode_answers(tokenizer, [fifteen + [tokenizer.eos_token_id, 7], fifteen])
    ['15', '15']
    """
    eos, _ = _eos_pad(tokenizer)
    rows = generated_ids.tolist() if isinstance(generated_ids, torch.Tensor) else [list(r) for r in generated_ids]
    answers = []
    for row in rows:
        if not isinstance(row, list):
            raise ValueError("generated_ids must be 2-D (one row of token ids per example)")
        cut = row.index(eos) if eos in row else len(row)
        answers.append(tokenizer.decode(row[:cut], skip_special_tokens=True).strip())
    return answers


def unigram_answer_losses(tokenizer, train: Sequence[Example], test: Sequence[Example], max_length: int, *,
                          smoothing: float = 1.0) -> dict[str, float]:
    """Per domain, the held-out loss of a unigram model of its answers: the floor a competent model beats.

    The loss is that of the benchmark's evaluation — per example the mean over its answer tokens
    (answer and eos, as :func:`encode_examples` marks them) of −log p(token), averaged over the
    domain's test examples — with p the domain's answer-token frequencies on ``train``,
    add-``smoothing`` over the tokenizer's vocabulary (so unseen tokens cost log-vocabulary at
    most). A model whose held-out loss on a domain is not well below this value has learnt
    nothing about the domain beyond which tokens its answers use.

    Parameters
    ----------
    tokenizer : transformers tokenizer
    train, test : sequence of Example
        The splits the frequencies are counted on and the loss is measured on.
    max_length : int
        Token limit of a row (as in :func:`encode_examples`).
    smoothing : float, default 1.0
        Additive (Laplace) smoothing α > 0: p(v) = (count(v) + α) / (total + α·V).

    Returns
    -------
    dict of str to float
        {domain: loss} for the domains with test examples, in sorted order.

    Raises
    ------
    ValueError
        When ``smoothing`` is not positive, or a test domain has no training examples.

    Examples
    --------
    >>> from matroidomp.bench.data import Example
    >>> tokenizer = train_tokenizer(["1 + 1 = 2", "a b c"], vocab_size=300)
    >>> train = [Example("1 + 1", "2", "math"), Example("1 + 3", "4", "math")]
    >>> losses = unigram_answer_losses(tokenizer, train, [Example("2 + 2", "4", "math")], 32)
    >>> sorted(losses), 0 < losses["math"] < 6  # about log 2 + smoothing: '4' and eos are frequent
    (['math'], True)
    """
    if not smoothing > 0:
        raise ValueError(f"smoothing must be positive, got {smoothing!r}")
    vocab = len(tokenizer)

    def answer_tokens(examples):
        rows = encode_examples(tokenizer, examples, max_length)
        targets = (rows["answer_mask"][:, 1:] * rows["attention_mask"][:, 1:]).bool()
        return [row[1:][mask].tolist() for row, mask in zip(rows["input_ids"], targets)]

    def by_domain(examples):
        return {d: [e for e in examples if e.domain == d] for d in sorted({e.domain for e in examples})}

    train_by, out = by_domain(train), {}
    for domain, examples in by_domain(test).items():
        if domain not in train_by:
            raise ValueError(f"domain {domain!r} has test examples but no training examples to count")
        counts, total = {}, 0
        for tokens in answer_tokens(train_by[domain]):
            for t in tokens:
                counts[t] = counts.get(t, 0) + 1
            total += len(tokens)
        log_norm = math.log(total + smoothing * vocab)
        losses = [sum(log_norm - math.log(counts.get(t, 0) + smoothing) for t in tokens) / len(tokens)
                  for tokens in answer_tokens(examples)]
        out[domain] = sum(losses) / len(losses)
    return out


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
    """Token ids of each text, without special tokens."""
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def _eos_pad(tokenizer) -> tuple[int, int]:
    """(eos id, pad id); a tokenizer without a pad token pads with eos (padding is masked out)."""
    if tokenizer.eos_token_id is None:
        raise ValueError("tokenizer has no eos token: answers need one to end")
    pad = tokenizer.pad_token_id
    return tokenizer.eos_token_id, tokenizer.eos_token_id if pad is None else pad
