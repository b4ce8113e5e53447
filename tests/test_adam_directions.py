"""Adam update directions as training rows: the formula on torch.func per-example gradients, the
raw-gradient fallback before the optimizer's first step, AMSGrad, the selector (pool rows Adam,
anchors raw, one projection), the training loops' option, bad input."""

import importlib.util

import pytest

if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
    pytest.skip("needs torch and transformers", allow_module_level=True)

import torch
from lm_cases import answer_batch, tiny_qwen2
from test_per_example_grads import batch, reference, tiny

from matroidomp.torch import PartitionSelector, last_layer_linears, mean_answer_loss, per_example_gradients


def _stepped(model, optimizer_cls=torch.optim.AdamW, steps=2, **kw):
    """``model``'s optimizer after ``steps`` steps on the mean loss of a small batch."""
    opt = optimizer_cls(model.parameters(), lr=1e-3, **kw)
    ids, attn, answer = batch(n=4, seed=7)
    for _ in range(steps):
        opt.zero_grad()
        mean_answer_loss(model, {"input_ids": ids, "attention_mask": attn, "answer_mask": answer}).backward()
        opt.step()
    return opt


def _formula(model, names, opt, G):
    """Γ(g) = m̂/(√v̂ + ε) per parameter block of G's columns, written out from the optimizer's state."""
    modules = dict(model.named_modules())
    out, col = [], 0
    group = opt.param_groups[0]
    (b1, b2), eps = group["betas"], group["eps"]
    for name in names:
        for _, p in modules[name].named_parameters():
            g = G[:, col:col + p.numel()].double()
            col += p.numel()
            state = opt.state[p]
            t = float(state["step"]) + 1
            m = b1 * state["exp_avg"].double().flatten() + (1 - b1) * g
            v = b2 * state["exp_avg_sq"].double().flatten() + (1 - b2) * g ** 2
            if group["amsgrad"]:
                v = torch.maximum(v, state["max_exp_avg_sq"].double().flatten())
            out.append((m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + eps))
    return torch.cat(out, dim=1)


@pytest.mark.parametrize("kind", ["qwen2", "llama"])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_rows_are_the_adam_directions_of_the_torch_func_gradients(kind, amsgrad):
    model = tiny(kind)
    names = last_layer_linears(model, 1)
    opt = _stepped(model, amsgrad=amsgrad)
    ids, attn, answer = batch()
    D = per_example_gradients(model, ids, attn, answer, names, chunk_size=2, preconditioner=opt)
    G = per_example_gradients(model, ids, attn, answer, names, chunk_size=2)
    # the gradients are torch.func's; Γ is then compared on the same float32 gradients, since where
    # v is tiny Γ amplifies the 1e-7 float32 differences of two gradient computations (to ~1e-3)
    torch.testing.assert_close(G, reference(model, names, ids, attn, answer), atol=1e-5, rtol=1e-4)
    expected = _formula(model, names, opt, G)
    assert D.dtype == torch.float32 and D.shape == expected.shape
    torch.testing.assert_close(D.double(), expected, atol=1e-5, rtol=1e-5)
    # Adam directions are not the gradients (different geometry): the test is not vacuous
    assert not torch.allclose(D, G, atol=1e-3)


def test_the_adam_step_of_one_example_is_minus_lr_times_its_row():
    """The row is the step AdamW takes on that example alone (weight decay 0): θ' − θ = −η Γ(g)."""
    model = tiny("qwen2")
    names = ["model.layers.1.mlp.down_proj"]
    opt = _stepped(model, weight_decay=0.0)
    ids, attn, answer = batch(n=1, seed=3)
    row = per_example_gradients(model, ids, attn, answer, names, preconditioner=opt)[0]
    weight = dict(model.named_modules())[names[0]].weight
    before = weight.detach().clone()
    opt.zero_grad()
    mean_answer_loss(model, {"input_ids": ids, "attention_mask": attn, "answer_mask": answer}).backward()
    opt.step()
    torch.testing.assert_close((weight.detach() - before).flatten(), -1e-3 * row, atol=1e-8, rtol=1e-4)


def test_before_the_first_step_rows_are_the_raw_gradients():
    model = tiny("qwen2")
    names = last_layer_linears(model, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids, attn, answer = batch()
    torch.testing.assert_close(per_example_gradients(model, ids, attn, answer, names, preconditioner=opt),
                               per_example_gradients(model, ids, attn, answer, names), atol=0, rtol=0)


def test_bad_preconditioners():
    model = tiny("qwen2")
    names = last_layer_linears(model, 1)
    ids, attn, answer = batch()
    with pytest.raises(ValueError, match="not an Adam-type optimizer"):
        per_example_gradients(model, ids, attn, answer, names, preconditioner=torch.optim.SGD(model.parameters(), 0.1))
    with pytest.raises(ValueError, match="not in the optimizer's parameter groups"):
        per_example_gradients(model, ids, attn, answer, names,
                              preconditioner=torch.optim.AdamW(model.lm_head.parameters(), lr=1e-3))
    with pytest.raises(TypeError, match="expected a torch.optim.Optimizer, got str"):
        per_example_gradients(model, ids, attn, answer, names, preconditioner="adam")
    with pytest.raises(ValueError, match="maximize=True"):
        per_example_gradients(model, ids, attn, answer, names,
                              preconditioner=torch.optim.Adam(model.parameters(), lr=1e-3, maximize=True))


DOMAINS = torch.tensor([0] * 10 + [1] * 6)


def test_selector_rows_adam_anchors_raw_one_projection():
    model = tiny_qwen2()
    names = last_layer_linears(model, 1)
    opt = _stepped(model)
    pool, valid = answer_batch(DOMAINS, 1), answer_batch([0, 1], 2)
    sel = PartitionSelector(model, names, k=4, projection_dim=32, normalize=False, preconditioner=opt)
    G, A = sel._gradients(pool, valid, opt)
    args = dict(chunk_size=8, projection_dim=32, seed=0)
    torch.testing.assert_close(G, per_example_gradients(model, *pool.values(), names, preconditioner=opt, **args))
    torch.testing.assert_close(A, per_example_gradients(model, *valid.values(), names, **args))
    adam = sel.select(pool, DOMAINS, valid, lr=1e-3)
    plain = sel.select(pool, DOMAINS, valid, lr=1e-3, preconditioner=None)  # None: the selector's own
    assert adam.counts == plain.counts == {0: 2, 1: 2}


def test_selective_step_and_trainer_take_the_loops_own_optimizer(tmp_path, monkeypatch):
    from test_training import Examples, batch as domain_batch, trainer

    from matroidomp.torch import selective_step

    seen = []
    original = PartitionSelector.select_distributed

    def spy(self, *args, preconditioner=None, **kw):
        seen.append(preconditioner)
        return original(self, *args, preconditioner=preconditioner, **kw)

    monkeypatch.setattr(PartitionSelector, "select_distributed", spy)
    model = tiny_qwen2()
    opt = _stepped(model)
    pool, valid = domain_batch(12, 1), domain_batch(3, 2)
    selector = PartitionSelector(model, last_layer_linears(model, 1), k=4)
    selective_step(selector, model, opt, pool, pool["domain"], valid, preconditioner="optimizer")
    assert seen == [opt]
    with pytest.raises(ValueError, match="expected 'optimizer', a torch.optim.Optimizer or None"):
        selective_step(selector, model, opt, pool, pool["domain"], valid, preconditioner="adam")
    t = trainer(tmp_path, domain_batch(48, 3), validation_dataset_or_batch=Examples(domain_batch(12, 4)),
                preconditioner="optimizer")
    seen.clear()
    t.train()
    assert len(seen) == 3 and all(p is t.optimizer for p in seen)
