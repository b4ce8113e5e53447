"""Benchmark: the torch adapter's selection step on a small Qwen2 on CPU (issue 4, "Benchmark").

Config (built offline, random init, fp32, eager attention): Qwen2 hidden 128, 4 layers, 4 heads,
2 KV heads, intermediate 256, vocab 512. Pool of 256 sequences of length 64 (right padding, real
length 40–64, prompt then answer), domains 50/25/15/10 %, validation 4 anchors, select k = 32;
gradients w.r.t. q,k,v,gate,up,down of the last 2 layers (``last_layer_linears(model, 2)``,
weights and biases), chunk size 16, without projection and with p = 1024.

Measured in one run:

- ``select``: one ``PartitionSelector.select`` (method ``partitionsel``), split into its
  ``grad_seconds`` (pool + anchors per-example gradients) and ``select_seconds`` (utility + OMP);
- ``train_step``: one plain step (forward + backward + AdamW over all parameters) on the 32
  selected examples;
- ``hooks`` vs ``vmap`` vs ``loop``: ``per_example_gradients`` (one batched forward/backward per
  chunk with hooks) against ``torch.func.vmap(grad(functional_call))`` over the same pool and
  chunks, and against the per-example loop many users write (each example alone, trimmed to its
  length, ``torch.autograd.grad`` of its loss w.r.t. the selected parameters), no projection; all
  must agree to atol 1e-4. ``floor``: the same chunked forward and backward (autograd.grad w.r.t.
  the selected parameters) giving only the chunk's summed gradient — what any batched
  per-example method must at least spend.

Times are best of ``REPEATS`` (the four per-example paths run round-robin) and never asserted. Run

    pytest benchmarks/test_bench_selector.py     # pytest-benchmark tables
    python benchmarks/test_bench_selector.py     # one markdown table
"""

from __future__ import annotations

import time

import pytest
import torch

torch_func = pytest.importorskip("torch.func")
transformers = pytest.importorskip("transformers")

from matroidomp.torch import PartitionSelector, last_layer_linears, per_example_gradients  # noqa: E402
from matroidomp.torch._per_example import _params, sum_of_mean_nll, select_linears  # noqa: E402
from matroidomp.torch._training import mean_answer_loss  # noqa: E402

N, T, K, ANCHORS, CHUNK, VOCAB, LAST, P = 256, 64, 32, 4, 16, 512, 2, 1024
SHARES = (0.50, 0.25, 0.15, 0.10)
KEYS = ("input_ids", "attention_mask", "answer_mask")
REPEATS = 3


def make_model():
    torch.manual_seed(0)
    cfg = transformers.Qwen2Config(hidden_size=128, intermediate_size=256, num_hidden_layers=4,
                                   num_attention_heads=4, num_key_value_heads=2, vocab_size=VOCAB,
                                   attn_implementation="eager")
    return transformers.Qwen2ForCausalLM(cfg).eval()


def make_batch(n, seed, domains=None):
    """Right-padded rows: real length 40–64, prompt of 8–24 tokens, then the answer."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, VOCAB, (n, T), generator=g)
    attn = torch.zeros(n, T, dtype=torch.long)
    answer = torch.zeros(n, T, dtype=torch.long)
    for i in range(n):
        length = int(torch.randint(40, T + 1, (1,), generator=g))
        prompt = int(torch.randint(8, 25, (1,), generator=g))
        attn[i, :length] = 1
        answer[i, prompt:length] = 1
        ids[i, length:] = 0
        if domains is not None:  # a domain-specific answer token pattern
            ids[i, prompt:length:3] = 10 * (int(domains[i]) + 1)
    return {"input_ids": ids, "attention_mask": attn, "answer_mask": answer}


def make_domains():
    counts = [round(s * N) for s in SHARES]
    counts[0] += N - sum(counts)
    return torch.cat([torch.full((c,), d) for d, c in enumerate(counts)])


def vmap_gradients(model, batch, modules, chunk_size=CHUNK):
    """torch.func reference: vmap(grad(functional_call)) per chunk, columns as per_example_gradients."""
    linears = select_linears(model, modules)
    names = [f"{m}.{p}" for m, lin in linears.items() for p in (("weight",) if lin.bias is None else ("weight", "bias"))]
    all_params = dict(model.named_parameters())
    params = {k: all_params[k].detach() for k in names}
    frozen = {k: v.detach() for k, v in all_params.items() if k not in params}

    def loss(p, ids, attn, answer):
        out = torch.func.functional_call(model, (p, frozen), (),
                                         {"input_ids": ids[None], "attention_mask": attn[None]})
        return sum_of_mean_nll(out.logits, ids[None], attn[None], answer[None])

    per_example = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0, 0))
    rows = []
    for start in range(0, batch["input_ids"].shape[0], chunk_size):
        sl = slice(start, start + chunk_size)
        g = per_example(params, batch["input_ids"][sl], batch["attention_mask"][sl], batch["answer_mask"][sl])
        rows.append(torch.cat([g[k].flatten(1) for k in names], dim=1))
    return torch.cat(rows)


def loop_gradients(model, batch, modules):
    """The per-example loop: each example alone (its padding cut off), torch.autograd.grad of its
    mean answer NLL w.r.t. the selected weights and biases (autograd stops at the earliest of them)."""
    params = [p for lin in select_linears(model, modules).values() for p in _params(lin)]
    rows = []
    for i in range(batch["input_ids"].shape[0]):
        length = int(batch["attention_mask"][i].sum())
        ids, attn, answer = (batch[key][i : i + 1, :length] for key in KEYS)
        loss = sum_of_mean_nll(model(input_ids=ids, attention_mask=attn).logits, ids, attn, answer)
        rows.append(torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)]))
    return torch.stack(rows)


def summed_gradients(model, batch, modules, chunk_size=CHUNK):
    """The floor: per chunk one forward and autograd.grad of Σ_b ℓ_b w.r.t. the selected parameters."""
    params = [p for lin in select_linears(model, modules).values() for p in _params(lin)]
    for start in range(0, batch["input_ids"].shape[0], chunk_size):
        ids, attn, answer = (batch[key][start : start + chunk_size] for key in KEYS)
        loss = sum_of_mean_nll(model(input_ids=ids, attention_mask=attn).logits, ids, attn, answer)
        torch.autograd.grad(loss, params)


def hook_gradients(model, batch, modules, chunk_size=CHUNK):
    return per_example_gradients(model, batch["input_ids"], batch["attention_mask"], batch["answer_mask"],
                                 modules, chunk_size=chunk_size)


def train_step(model, optimizer, batch):
    optimizer.zero_grad()
    loss = mean_answer_loss(model, batch)
    loss.backward()
    optimizer.step()
    return loss.item()


class Setup:
    def __init__(self):
        self.model = make_model()
        self.modules = last_layer_linears(self.model, LAST)
        self.domains = make_domains()
        self.pool = make_batch(N, 1, self.domains)
        self.validation = make_batch(ANCHORS, 2, torch.arange(ANCHORS))
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-4)

    def selector(self, p):
        return PartitionSelector(self.model, self.modules, method="partitionsel", k=K, projection_dim=p,
                                 chunk_size=CHUNK, seed=0)

    def selected(self, sel):
        return {key: v[sel.indices] for key, v in self.pool.items()}


@pytest.fixture(scope="module")
def setup():
    return Setup()


@pytest.mark.parametrize("p", [None, P], ids=["no-projection", f"p{P}"])
def test_select_step(benchmark, setup, p):
    benchmark.group = "selection step"
    selector = setup.selector(p)
    sel = benchmark.pedantic(selector.select, args=(setup.pool, setup.domains, setup.validation, 1e-4),
                             rounds=1, iterations=1)
    assert sel.indices.numel() == K
    benchmark.extra_info.update(grad_seconds=sel.grad_seconds, select_seconds=sel.select_seconds,
                                counts={str(k): int(v) for k, v in sel.counts.items()})


def test_train_step(benchmark, setup):
    benchmark.group = "selection step"
    sel = setup.selector(None).select(setup.pool, setup.domains, setup.validation, 1e-4)
    batch = setup.selected(sel)
    benchmark.pedantic(train_step, args=(setup.model, setup.optimizer, batch), rounds=3, iterations=1)


PATHS = {"hooks": hook_gradients, "vmap": vmap_gradients, "loop": loop_gradients}


@pytest.mark.parametrize("path", list(PATHS))
def test_per_example(benchmark, setup, path):
    benchmark.group = "per-example gradients"
    benchmark.pedantic(PATHS[path], args=(setup.model, setup.pool, setup.modules), rounds=1, iterations=1)


def test_hooks_match_vmap_and_loop(setup):
    sub = {k: v[:2 * CHUNK] for k, v in setup.pool.items()}
    hooks = hook_gradients(setup.model, sub, setup.modules)
    for reference in (vmap_gradients, loop_gradients):
        torch.testing.assert_close(hooks, reference(setup.model, sub, setup.modules), atol=1e-4, rtol=0)


def interleaved(fns, repeats=REPEATS):
    """Best time and last result of each of ``fns``, run round-robin ``repeats`` times (so that load
    from other jobs on a shared machine hits all of them alike)."""
    times, outs = [[] for _ in fns], [None] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            outs[i] = fn()
            times[i].append(time.perf_counter() - start)
    return [(min(t), out) for t, out in zip(times, outs)]


def best(fn, repeats=REPEATS):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main():
    s = Setup()
    d = sum(lin.weight.numel() + (0 if lin.bias is None else lin.bias.numel())
            for lin in select_linears(s.model, s.modules).values())
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, threads {torch.get_num_threads()}; "
          f"pool {N}×{T}, k {K}, anchors {ANCHORS}, chunk {CHUNK}, {len(s.modules)} linears, d = {d}")
    print("| measurement | seconds | vs train step |")
    print("|---|---:|---:|")
    sel_none = s.selector(None).select(s.pool, s.domains, s.validation, 1e-4)  # warm-up
    batch = s.selected(sel_none)
    train_step(s.model, s.optimizer, batch)
    t_train, _ = best(lambda: train_step(s.model, s.optimizer, batch))
    rows = []
    for p in (None, P):
        sels = [s.selector(p).select(s.pool, s.domains, s.validation, 1e-4) for _ in range(REPEATS)]
        sel = min(sels, key=lambda x: x.grad_seconds + x.select_seconds)
        tag = "no projection" if p is None else f"p = {p}"
        rows += [(f"select ({tag}): gradients", sel.grad_seconds),
                 (f"select ({tag}): solver", sel.select_seconds),
                 (f"select ({tag}): total", sel.grad_seconds + sel.select_seconds)]
        print(f"  [{tag}] counts {sel.counts}, objective {sel.objective:.3e}", flush=True)
    rows.append(("plain train step on the 32 selected (fwd+bwd+AdamW)", t_train))
    for fn in PATHS.values():  # warm-up
        fn(s.model, {k: v[:CHUNK] for k, v in s.pool.items()}, s.modules)
    paths = {**PATHS, "floor": summed_gradients}
    (t_hooks, g_hooks), (t_vmap, g_vmap), (t_loop, g_loop), (t_floor, _) = interleaved(
        [lambda fn=fn: fn(s.model, s.pool, s.modules) for fn in paths.values()])
    errs = {name: (g_hooks - g).abs().max().item() for name, g in (("vmap", g_vmap), ("loop", g_loop))}
    rows += [("per-example grads, hooks (pool 256, no projection)", t_hooks),
             ("per-example grads, torch.func vmap (same chunks)", t_vmap),
             ("per-example grads, loop of autograd.grad (one example at a time)", t_loop),
             ("floor: same chunks, forward + backward of the summed loss only", t_floor)]
    for name, t in rows:
        print(f"| {name} | {t:.3f} | {t / t_train:.1f}× |")
    print(f"\nvmap / hooks = {t_vmap / t_hooks:.2f}×, loop / hooks = {t_loop / t_hooks:.2f}× (target ≥ 5×); "
          + ", ".join(f"max |hooks − {name}| = {e:.2e} ({'agree' if e <= 1e-4 else 'DISAGREE'} at atol 1e-4)"
                      for name, e in errs.items()))


if __name__ == "__main__":
    main()
