"""Per-example gradients of tiny causal LMs: hook path vs torch.func (vmap of grad), projection, errors."""

import importlib.util
import math

import pytest

if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
    pytest.skip("needs torch and transformers", allow_module_level=True)

import torch
from torch.func import functional_call, grad, vmap
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

from matroidomp.torch import last_layer_linears, per_example_gradients, select_linears
from matroidomp.torch._per_example import _project

VOCAB = 101
SHAPE = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, vocab_size=VOCAB, attn_implementation="eager")


def tiny(kind):
    torch.manual_seed(0)
    if kind == "qwen2":
        return Qwen2ForCausalLM(Qwen2Config(**SHAPE)).eval()
    return LlamaForCausalLM(LlamaConfig(**SHAPE)).eval()


def batch(n=5, T=12, seed=1):
    """Random tokens, right padding to T, answer = second half of each sequence."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, VOCAB, (n, T), generator=g)
    lengths = torch.randint(4, T + 1, (n,), generator=g)
    lengths[0] = T
    pos = torch.arange(T)[None]
    attn = (pos < lengths[:, None]).long()
    answer = (pos >= lengths[:, None] // 2).long() * attn
    return ids, attn, answer


def reference(model, names, ids, attn, answer):
    """torch.func: vmap over rows of grad of the row's mean answer NLL, each row with its padding."""
    modules = dict(model.named_modules())
    keys = [f"{n}.{k}" for n in names for k, _ in modules[n].named_parameters()]
    params = {k: v.detach() for k, v in model.named_parameters() if k in keys}

    def loss(p, i, a, s):
        logits = functional_call(model, p, (), {"input_ids": i[None], "attention_mask": a[None]}).logits[0]
        target = (s[1:] * a[1:]).float()
        nll = torch.nn.functional.cross_entropy(logits[:-1], i[1:], reduction="none")
        return (nll * target).sum() / target.sum()

    g = vmap(grad(loss), in_dims=(None, 0, 0, 0))(params, ids, attn, answer)
    return torch.cat([g[k].reshape(ids.shape[0], -1) for k in keys], dim=1)


@pytest.mark.parametrize("kind", ["qwen2", "llama"])
def test_matches_torch_func(kind):
    model = tiny(kind)
    names = last_layer_linears(model, 1) + ["model.layers.0.self_attn.o_proj"]
    ids, attn, answer = batch()
    G = per_example_gradients(model, ids, attn, answer, names, chunk_size=2)
    R = reference(model, names, ids, attn, answer)
    assert G.dtype == torch.float32 and G.shape == R.shape and not G.requires_grad
    torch.testing.assert_close(G, R, atol=1e-5, rtol=1e-4)


@pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")
def test_lora_adapters_match_torch_func():
    peft = pytest.importorskip("peft", reason="needs peft")
    model = tiny("qwen2")
    config = peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, init_lora_weights=False,
                             target_modules=["q_proj", "v_proj", "up_proj"], layers_to_transform=[1])
    model = peft.get_peft_model(model, config).eval()
    names = last_layer_linears(model, 1, kinds=("lora_A.default", "lora_B.default"))
    assert len(names) == 6
    ids, attn, answer = batch(n=4)
    G = per_example_gradients(model, ids, attn, answer, names, chunk_size=3)
    torch.testing.assert_close(G, reference(model, names, ids, attn, answer), atol=1e-5, rtol=1e-4)


def test_leaves_model_untouched():
    model = tiny("llama")
    model.model.embed_tokens.weight.requires_grad_(False)
    flags = {k: p.requires_grad for k, p in model.named_parameters()}
    ids, attn, answer = batch()
    with torch.no_grad():  # the call enables grad itself
        G = per_example_gradients(model, ids, attn, answer, last_layer_linears(model, 1))
    assert G.abs().sum() > 0
    assert {k: p.requires_grad for k, p in model.named_parameters()} == flags
    assert all(p.grad is None for p in model.parameters())


def test_chunking_and_normalisation():
    model = tiny("qwen2")
    names = last_layer_linears(model, 2)
    ids, attn, answer = batch(n=7)
    whole = per_example_gradients(model, ids, attn, answer, names, chunk_size=7)
    torch.testing.assert_close(per_example_gradients(model, ids, attn, answer, names, chunk_size=3), whole,
                               atol=1e-6, rtol=1e-5)
    unit = per_example_gradients(model, ids, attn, answer, names, normalize=True)
    torch.testing.assert_close(unit, whole / whole.norm(dim=1, keepdim=True))


def test_projection_preserves_inner_products():
    """Johnson–Lindenstrauss: ⟨Pg_i, Pg_j⟩ − ⟨g_i, g_j⟩ has mean 0 and standard deviation at most
    √2‖g_i‖‖g_j‖/√p; we allow 4‖g_i‖‖g_j‖/√p (p = 2048, D = 2112)."""
    model = tiny("qwen2")
    names = ["model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.k_proj", "model.layers.1.self_attn.v_proj"]
    ids, attn, answer = batch(n=6)
    G = per_example_gradients(model, ids, attn, answer, names)
    assert G.shape[1] == 2112
    p = 2048
    P = per_example_gradients(model, ids, attn, answer, names, projection_dim=p, seed=3, chunk_size=4,
                              block_size=p * 100)
    assert P.shape == (6, p)
    norms = G.norm(dim=1)
    err = (P @ P.T - G @ G.T).abs()
    assert (err <= 4 * torch.outer(norms, norms) / math.sqrt(p)).all()
    # The same R for every chunk and every call with the same seed; another seed, another R.
    again = per_example_gradients(model, ids, attn, answer, names, projection_dim=p, seed=3, chunk_size=6,
                                  block_size=p * 100)
    torch.testing.assert_close(again, P, atol=1e-5, rtol=1e-5)
    other = per_example_gradients(model, ids, attn, answer, names, projection_dim=p, seed=4, block_size=p * 100)
    assert not torch.allclose(other, P)


def test_projection_is_one_rademacher_matrix_whatever_the_chunking():
    """P = G R / √p for one R ∈ {±1}^{D × p} fixed by the seed: the same for chunk size 1 with every
    chunk projected on its own (buffer of 1 byte), for buffers of two chunks and for one buffer;
    R read off by projecting the identity has balanced, nearly orthogonal columns (p = 100, not a
    multiple of the 64 signs per draw; R drawn in blocks of 30 rows)."""
    model = tiny("qwen2")
    names = ["model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.k_proj", "model.layers.1.self_attn.v_proj"]
    ids, attn, answer = batch(n=6)
    p, block = 100, 3000
    G = per_example_gradients(model, ids, attn, answer, names)
    runs = [per_example_gradients(model, ids, attn, answer, names, projection_dim=p, seed=7, chunk_size=c,
                                  block_size=block, buffer_bytes=b)
            for c, b in ((1, 1), (2, 2 * 2 * 4 * G.shape[1]), (6, 1 << 30))]
    sizes = [n for m in select_linears(model, names).values() for n in (m.weight.numel(), m.bias.numel())]
    identity = torch.eye(G.shape[1]).split(sizes, dim=1)
    R = _project([list(identity)], p, 7, block, torch.device("cpu")) * math.sqrt(p)
    assert set(R.unique().tolist()) == {-1.0, 1.0}
    D = G.shape[1]
    assert R.mean(dim=0).abs().max() <= 5 / math.sqrt(D)
    assert (R.T @ R / D - torch.eye(p)).abs().max() <= 6 / math.sqrt(D)
    for P in runs:
        torch.testing.assert_close(P, G @ R / math.sqrt(p), atol=1e-5, rtol=1e-4)


def test_bad_input():
    model = tiny("qwen2")
    ids, attn, answer = batch()
    names = last_layer_linears(model, 1)
    with pytest.raises(ValueError, match="no nn.Linear named"):
        last_layer_linears(model, 1, kinds=("lora_A.default",))
    with pytest.raises(ValueError, match="parameter set is empty"):
        per_example_gradients(model, ids, attn, answer, [])
    with pytest.raises(ValueError, match="no module named 'model.layers.9.mlp'"):
        select_linears(model, ["model.layers.9.mlp"])
    with pytest.raises(ValueError, match="not an nn.Linear"):
        select_linears(model, ["model.layers.1.mlp"])
    no_answer = answer.clone()
    no_answer[2] = 0
    no_answer[4, 1:] = 0  # the first token is never predicted
    with pytest.raises(ValueError, match=r"rows \[2, 4\] have no answer tokens"):
        per_example_gradients(model, ids, attn, no_answer, names)
    with pytest.raises(ValueError, match="empty batch"):
        per_example_gradients(model, ids[:0], attn[:0], answer[:0], names)
    with pytest.raises(ValueError, match="attention_mask has shape"):
        per_example_gradients(model, ids, attn[:, :-1], answer, names)
    with pytest.raises(ValueError, match="buffer_bytes must be >= 1"):
        per_example_gradients(model, ids, attn, answer, names, projection_dim=8, buffer_bytes=0)
