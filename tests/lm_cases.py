"""Shared offline language-model fixtures for the torch adapter tests."""

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

VOCAB = 101


def tiny_qwen2():
    """A 2-layer Qwen2 with random weights, seeded, built without any download."""
    torch.manual_seed(0)
    return Qwen2ForCausalLM(Qwen2Config(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2, vocab_size=VOCAB,
                                        attn_implementation="eager"))


def answer_batch(domains, seed):
    """Per example of domain d: a random prompt of length 4–6, then an answer repeating token 10·(d + 1),
    right-padded to 12 tokens; returns input_ids, attention_mask and answer_mask."""
    domains = torch.as_tensor(domains)
    g = torch.Generator().manual_seed(seed)
    n, T = len(domains), 12
    ids = torch.randint(0, VOCAB, (n, T), generator=g)
    prompt = torch.randint(4, 7, (n,), generator=g)
    length = torch.randint(9, T + 1, (n,), generator=g)
    pos = torch.arange(T)[None]
    attn = (pos < length[:, None]).long()
    answer = (pos >= prompt[:, None]).long() * attn
    ids = torch.where(answer.bool(), 10 * (domains[:, None] + 1), ids)
    return {"input_ids": ids, "attention_mask": attn, "answer_mask": answer}
