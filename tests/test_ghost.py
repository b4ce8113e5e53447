"""Ghost inner products (``ghost_gram``) against the materialised path: per_example_gradients, then
G Gᵀ, G ā and the row norms, on tiny Qwen2 and Llama with right padding and prompt masks; the token
bookkeeping (padding and prompt tokens carry no δ where they should not); the cost rule; errors."""

import importlib.util
import types

import pytest

if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
    pytest.skip("needs torch and transformers", allow_module_level=True)

import torch
from lm_cases import VOCAB, answer_batch, tiny_qwen2
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM

from matroidomp.torch import GhostGram, ghost_gram, ghost_is_cheaper, last_layer_linears, per_example_gradients
from matroidomp.torch._ghost import _tokens
from matroidomp.torch._per_example import forward_backward, select_linears

KEYS = ("input_ids", "attention_mask", "answer_mask")


def tiny(kind):
    if kind == "qwen2":
        return tiny_qwen2().eval()  # q, k, v with biases
    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2, vocab_size=VOCAB,
                                        attn_implementation="eager")).eval()


def pool_and_anchors():
    """7 pool rows of 3 domains and 3 anchors: lengths 9–12 (right padding), prompts of 4–6 tokens."""
    pool = answer_batch([0, 1, 2, 0, 1, 2, 0], seed=3)
    anchors = answer_batch([2, 0, 1], seed=4)
    assert (pool["attention_mask"] == 0).any() and (pool["answer_mask"][:, :4] == 0).all()
    return pool, anchors


def materialised(model, pool, anchors, names, normalize):
    G = per_example_gradients(model, *(pool[k] for k in KEYS), names, normalize=normalize).double()
    A = per_example_gradients(model, *(anchors[k] for k in KEYS), names, normalize=normalize).double()
    return G @ G.T, G @ A.mean(dim=0)


def close(actual, expected, rtol=1e-5):
    """Relative to the largest entry (float32 gradients: entries near 0 have no relative accuracy)."""
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=rtol * float(expected.abs().max()))


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("kind", ["qwen2", "llama"])
def test_matches_materialised_gradients(kind, normalize):
    model = tiny(kind)
    names = last_layer_linears(model, 2)
    assert len(names) == 12
    pool, anchors = pool_and_anchors()
    ghost = ghost_gram(model, *(pool[k] for k in KEYS), names, anchors=anchors, chunk_size=3,
                       normalize=normalize)
    K, c = materialised(model, pool, anchors, names, normalize)
    assert isinstance(ghost, GhostGram)
    assert ghost.K.dtype == ghost.c.dtype == ghost.sq_norms.dtype == torch.float64
    assert ghost.K.shape == (7, 7) and ghost.c.shape == ghost.sq_norms.shape == (7,)
    close(ghost.K, K)
    close(ghost.c, c)
    raw = per_example_gradients(model, *(pool[k] for k in KEYS), names).double()
    close(ghost.sq_norms, (raw * raw).sum(dim=1))
    torch.testing.assert_close(ghost.K, ghost.K.T, rtol=0, atol=0)
    if normalize:
        torch.testing.assert_close(ghost.K.diagonal(), torch.ones(7, dtype=torch.float64))


def test_biases_are_columns():
    """Qwen2's q_proj has a bias: K of q_proj is that of its weight and bias columns together."""
    model = tiny("qwen2")
    pool, _ = pool_and_anchors()
    names = ["model.layers.1.self_attn.q_proj"]
    G = per_example_gradients(model, *(pool[k] for k in KEYS), names).double()
    assert G.shape[1] == 32 * 32 + 32
    close(ghost_gram(model, *(pool[k] for k in KEYS), names).K, G @ G.T)
    weights_only = G[:, :32 * 32]
    assert not torch.allclose(weights_only @ weights_only.T, G @ G.T, rtol=1e-3)


def test_chunk_size_and_anchors_do_not_change_K():
    model = tiny("qwen2")
    names = last_layer_linears(model, 1)
    pool, anchors = pool_and_anchors()
    whole = ghost_gram(model, *(pool[k] for k in KEYS), names, chunk_size=7)
    single = ghost_gram(model, *(pool[k] for k in KEYS), names, anchors=anchors, chunk_size=1)
    assert whole.c is None and single.c is not None
    close(single.K, whole.K)
    close(single.sq_norms, whole.sq_norms)


def test_padding_and_prompt_tokens_carry_no_gradient():
    """δ is exactly 0 on right padding for every module; for the last layer's down_proj (position-wise,
    at the top) it is 0 everywhere but on the tokens that predict an answer token, so only those are
    kept; attention projections keep the prompt tokens."""
    model = tiny("qwen2")
    pool, _ = pool_and_anchors()
    ids, attn, answer = (pool[k] for k in KEYS)
    names = ["model.layers.1.self_attn.k_proj", "model.layers.1.mlp.down_proj"]
    linears = select_linears(model, names)
    _, grads = forward_backward(model, linears, ids, attn, answer)
    padding = attn[:, : grads[0].shape[1]] == 0
    assert padding.any()
    for dy in grads:
        assert (dy[padding] == 0).all()
    targets = (answer[:, 1:] * attn[:, 1:]).sum(dim=1)  # tokens predicting an answer token, per row
    k_proj, down = _tokens(model, linears, ids, attn, answer, chunk_size=3)
    assert down[1].shape[1] == int(targets.max())
    assert k_proj[1].shape[1] == int((attn.sum(dim=1) - 1).max())  # every real token but the last one


class Twice(nn.Module):
    """A toy causal LM (position-wise) that calls ``shared`` twice and ``unused`` without using it."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.embed, self.shared, self.unused = nn.Embedding(VOCAB, 8), nn.Linear(8, 8), nn.Linear(8, 8)
        self.head = nn.Linear(8, VOCAB)

    def forward(self, input_ids, attention_mask):
        h = self.embed(input_ids)
        self.unused(h)
        h = self.shared(torch.tanh(self.shared(h)))
        return types.SimpleNamespace(logits=self.head(h))


def test_module_called_twice_sums_its_calls():
    model = Twice()
    pool, anchors = pool_and_anchors()
    names = ["shared", "head"]
    ghost = ghost_gram(model, *(pool[k] for k in KEYS), names, anchors=anchors, chunk_size=2)
    K, c = materialised(model, pool, anchors, names, normalize=False)
    close(ghost.K, K)
    close(ghost.c, c)
    with pytest.raises(ValueError, match="'unused' does not affect the loss"):
        ghost_gram(model, *(pool[k] for k in KEYS), ["head", "unused"])
    with pytest.raises(ValueError, match=r"\['unused'\] do not affect the loss"):
        ghost_gram(model, *(pool[k] for k in KEYS), ["unused"])


def test_bad_input():
    model = tiny("qwen2")
    pool, anchors = pool_and_anchors()
    ids, attn, answer = (pool[k] for k in KEYS)
    with pytest.raises(ValueError, match="'model.norm' is a Qwen2RMSNorm, not an nn.Linear"):
        ghost_gram(model, ids, attn, answer, ["model.layers.1.mlp.down_proj", "model.norm"])
    with pytest.raises(ValueError, match="no module named 'nope'"):
        ghost_gram(model, ids, attn, answer, ["nope"])
    with pytest.raises(ValueError, match="modules selected"):
        ghost_gram(model, ids, attn, answer, [])
    with pytest.raises(ValueError, match="answer_mask has shape"):
        ghost_gram(model, ids, attn, answer[:, :-1], ["lm_head"])
    with pytest.raises(ValueError, match=r"rows \[1\] have no answer tokens"):
        ghost_gram(model, ids, attn, answer.index_fill(0, torch.tensor([1]), 0), ["lm_head"])
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        ghost_gram(model, ids, attn, answer, ["lm_head"], chunk_size=0)
    with pytest.raises(ValueError, match=r"anchors lacks \['answer_mask'\]"):
        ghost_gram(model, ids, attn, answer, ["lm_head"],
                   anchors={k: anchors[k] for k in KEYS[:2]})
    with pytest.raises(ValueError, match="input_ids must be"):
        ghost_gram(model, ids, attn, answer, ["lm_head"], anchors={k: anchors[k][0] for k in KEYS})


def test_model_state_is_left_as_it_was():
    model = tiny("qwen2")
    model.model.layers[0].mlp.up_proj.weight.requires_grad_(False)
    flags = {name: p.requires_grad for name, p in model.named_parameters()}
    pool, _ = pool_and_anchors()
    ghost_gram(model, *(pool[k] for k in KEYS), ["model.layers.0.mlp.up_proj"])
    assert {name: p.requires_grad for name, p in model.named_parameters()} == flags
    assert all(p.grad is None for p in model.parameters())
    assert not model.training


def test_ghost_is_cheaper_follows_the_counts():
    model = nn.ModuleDict({"square": nn.Linear(256, 256), "tall": nn.Linear(64, 1024, bias=False)})
    # with anchors: T²(in + out) < in·out·(1 + 2/(n+1)), i.e. T² < 128 · 1.03 at n = 64
    assert ghost_is_cheaper(model, ["square"], seq_len=11, n=64)  # 121 < 132
    assert not ghost_is_cheaper(model, ["square"], seq_len=12, n=64)  # 144 > 132
    # at n = 8: T² < 128 · 11/9 = 156 with anchors; without, forming G (n·T·in·out) tips it
    assert not ghost_is_cheaper(model, ["square"], seq_len=13, n=8)  # 169 > 156
    assert ghost_is_cheaper(model, ["square"], seq_len=13, n=8, anchors=False)
    # memory: G of "tall" is 4·n·65536 bytes, its tokens 4·n·T·1088
    assert not ghost_is_cheaper(model, ["tall"], seq_len=16, n=100)
    assert ghost_is_cheaper(model, ["tall"], seq_len=16, n=100, memory_bytes=4 * 100 * 65536 - 1)
    assert not ghost_is_cheaper(model, ["tall"], seq_len=16, n=100, memory_bytes=100)  # nothing fits
    with pytest.raises(ValueError, match="seq_len and n must be >= 1"):
        ghost_is_cheaper(model, ["square"], seq_len=0, n=8)
    with pytest.raises(ValueError, match="not an nn.Linear"):
        ghost_is_cheaper(nn.ModuleDict({"norm": nn.LayerNorm(4)}), ["norm"], seq_len=4, n=8)


# ----------------------------------------------------------------------------- the selector's ghost mode
def test_selector_ghost_mode_selects_what_the_materialised_path_selects(monkeypatch):
    from matroidomp.torch import PartitionSelector, _selector

    domains = torch.tensor([0] * 14 + [1] * 10 + [2] * 8)
    pool, valid = answer_batch(domains, 1), answer_batch([0, 1, 2, 2], 2)
    model = tiny_qwen2()
    names = last_layer_linears(model, 1)
    for method in ("partitionsel-omp", "partitionsel", "gradmatch", "iwd", "greats", "facloc"):
        ghost = PartitionSelector(model, names, method=method, k=8, seed=5, gradient_mode="ghost")
        dense = PartitionSelector(model, names, method=method, k=8, seed=5, gradient_mode="materialize")
        a, b = ghost.select(pool, domains, valid, lr=1e-3), dense.select(pool, domains, valid, lr=1e-3)
        assert a.indices.tolist() == b.indices.tolist(), method
        torch.testing.assert_close(a.weights, b.weights, rtol=1e-4, atol=1e-6)
        assert a.objective == pytest.approx(b.objective, rel=1e-5) and a.conflicting_pairs == b.conflicting_pairs
    calls = []
    monkeypatch.setattr(_selector, "ghost_gram", lambda *a, **kw: calls.append(1) or ghost_gram(*a, **kw))
    PartitionSelector(model, names, k=8).select(pool, domains, valid, lr=1e-3)
    assert not calls  # 'auto': the tiny model's short rows are cheaper materialised (the cost rule)
    monkeypatch.setattr(_selector, "ghost_is_cheaper", lambda *a, **kw: True)
    PartitionSelector(model, names, k=8).select(pool, domains, valid, lr=1e-3)
    assert calls == [1]  # 'auto' follows the rule
    PartitionSelector(model, names, k=8, projection_dim=16).select(pool, domains, valid, lr=1e-3)
    assert calls == [1]  # ... unless something needs the rows


def test_selector_ghost_mode_refuses_what_needs_the_rows():
    from matroidomp.torch import PartitionSelector

    model = tiny_qwen2()
    names = last_layer_linears(model, 1)
    with pytest.raises(ValueError, match="unknown 'sparse'"):
        PartitionSelector(model, names, k=4, gradient_mode="sparse")
    for kw, what in (({"projection_dim": 8}, "projection_dim"), ({"method": "gradnorm"}, "gradnorm"),
                     ({"source_balanced_anchors": True}, "source_balanced_anchors")):
        with pytest.raises(ValueError, match=f"cannot run with .*{what}"):
            PartitionSelector(model, names, k=4, gradient_mode="ghost", **kw)
