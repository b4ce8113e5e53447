"""Which start model can the fine-tuning benchmark use? Competence against cost, per model size.

Issue 11 asks for a base model that is competent before fine-tuning — its held-out loss falls
well below the unigram baseline on every domain — pretrained until its held-out loss flattens,
and sized to what this machine can fine-tune in the benchmark's time budget. For each size
``HxL`` (hidden H, L layers; intermediate 4H, H/16 heads, half as many KV heads, tied embeddings)
this script pretrains the benchmark's Qwen2 from scratch on the pretraining split (AdamW, batch
32, the benchmark's schedule over ``--steps``), and every ``--eval-every`` steps measures the
held-out loss per domain (teacher-forced, the benchmark's test sets) against the unigram
baseline of :func:`matroidomp.bench.text.unigram_answer_losses`. Then it times one fine-tuning
step at the authors' pool ratio (pool ``--pool`` → ``--batch``): per-example gradients of the
last 2 layers, the selection (``partitionsel``) and one AdamW step on the batch.

Run (one thread, as the benchmark runs; minutes per size on this 2-core machine)::

    python benchmarks/model_capacity.py --sizes 64x4 128x4 --steps 2000 --pretrain-per-domain 600 [--strings]

It prints one markdown table per size (the learning curve: macro loss / unigram and the worst
domain's ratio) and a summary table (parameters, pretraining seconds per step, last ratios, the
fine-tuning step's seconds and the estimated minutes of one 100-step run). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from matroidomp.bench.data import DEFAULT_TRAIN_SIZES, DataConfig, build_tasks
from matroidomp.bench.model import pretrain, tiny_model
from matroidomp.bench.text import encode_examples, train_tokenizer, unigram_answer_losses
from matroidomp.torch import PartitionSelector, last_layer_linears, mean_answer_loss


def model_sizes(spec: str) -> dict:
    """``'128x4'`` → the Qwen2 sizes of hidden 128 and 4 layers (intermediate 4H, H/16 heads)."""
    hidden, layers = (int(x) for x in spec.lower().split("x"))
    heads = max(2, hidden // 16)
    return dict(hidden_size=hidden, intermediate_size=4 * hidden, num_hidden_layers=layers,
                num_attention_heads=heads, num_key_value_heads=max(1, heads // 2))


def held_out_losses(model, tests: dict) -> dict:
    """{domain: the benchmark's held-out loss} (teacher-forced mean answer-token NLL)."""
    was = model.training
    model.eval()
    with torch.no_grad():
        out = {d: mean_answer_loss(model, rows).item() for d, rows in tests.items()}
    model.train(was)
    return out


def fine_tune_step_seconds(model, tasks, tokenizer, pool: int, batch: int, repeats: int = 3) -> dict:
    """Median seconds of one benchmark step at this pool ratio: gradients, selection, training."""
    rng = np.random.default_rng(0)
    rows = encode_examples(tokenizer, tasks.train, 96)
    labels = np.array([e.domain for e in tasks.train])
    valid = encode_examples(tokenizer, tasks.validation[:8], 96)
    selector = PartitionSelector(model, last_layer_linears(model, 2), k=batch, chunk_size=16)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times = {"grad": [], "select": [], "train": []}
    for _ in range(repeats + 1):  # the first step compiles numba's kernels: not counted
        idx = torch.as_tensor(rng.choice(len(labels), size=pool, replace=False))
        chosen_pool = {k: v[idx] for k, v in rows.items()}
        sel = selector.select(chosen_pool, labels[idx.numpy()], valid, lr=1e-4)
        start = time.perf_counter()
        optimizer.zero_grad()
        mean_answer_loss(model, {k: v[sel.indices] for k, v in chosen_pool.items()}).backward()
        optimizer.step()
        times["train"].append(time.perf_counter() - start)
        times["grad"].append(sel.grad_seconds)
        times["select"].append(sel.select_seconds)
    return {k: float(np.median(v[1:])) for k, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", default=["64x4", "128x4"], help="HxL: hidden size x layers")
    ap.add_argument("--steps", type=int, default=2000, help="pretraining steps (the schedule's length)")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--pretrain-per-domain", type=int, default=600)
    ap.add_argument("--strings", action="store_true",
                    help="add the string-manipulation domains (text/reverse 900, text/sort 150) to the mix")
    ap.add_argument("--lr", type=float, default=3e-3, help="peak pretraining learning rate")
    ap.add_argument("--pool", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache-dir", default=".cache/matroidomp-bench")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    sizes = {**DEFAULT_TRAIN_SIZES, **({"text/reverse": 900, "text/sort": 150} if args.strings else {})}
    data = DataConfig(train_sizes=sizes, pretrain_per_domain=args.pretrain_per_domain)
    tasks = build_tasks(data, cache_dir=Path(args.cache_dir))
    texts = [t for split in (tasks.pretrain, tasks.train, tasks.validation, tasks.test) for e in split
             for t in (e.prompt, e.answer)]
    tokenizer = train_tokenizer(texts, 1024)
    unigram = unigram_answer_losses(tokenizer, tasks.train, tasks.test, 96)
    tests = {d: encode_examples(tokenizer, [e for e in tasks.test if e.domain == d], 96) for d in sorted(unigram)}
    print(f"data: {len(tasks.pretrain)} pretraining examples ({args.pretrain_per_domain} per domain), "
          f"{len(tasks.test)} test; unigram losses " + ", ".join(f"{d} {u:.2f}" for d, u in unigram.items()))
    summary = []
    for spec in args.sizes:
        torch.manual_seed(0)
        model = tiny_model(tokenizer, seed=0, **model_sizes(spec))
        params = sum(p.numel() for p in model.parameters())
        curve = []

        def evaluate(step, _loss, model=model, curve=curve):
            if step % args.eval_every == 0 or step == args.steps:
                ratios = {d: v / unigram[d] for d, v in held_out_losses(model, tests).items()}
                curve.append((step, float(np.mean(list(ratios.values()))), max(ratios.items(), key=lambda kv: kv[1])))

        start = time.perf_counter()
        pretrain(model, tokenizer, tasks.pretrain, steps=args.steps, lr=args.lr, callback=evaluate)
        per_step = (time.perf_counter() - start) / args.steps  # includes the evaluations (a few %)
        print(f"\n{spec}: {params:,} parameters, {per_step:.3f} s per pretraining step\n")
        print("| step | mean loss / unigram | worst domain | its loss / unigram |\n|---:|---:|---|---:|")
        for step, mean, (domain, worst) in curve:
            print(f"| {step} | {mean:.3f} | {domain} | {worst:.3f} |")
        cost = fine_tune_step_seconds(model, tasks, tokenizer, args.pool, args.batch)
        run_minutes = 100 * sum(cost.values()) / 60
        summary.append((spec, params, per_step, curve[-1], cost, run_minutes))
    print(f"\n| size | parameters | pretrain s/step | last mean loss / unigram | worst domain (ratio) "
          f"| fine-tune step s (grad + select + train), pool {args.pool} → {args.batch} | 100-step run, min |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for spec, params, per_step, (_, mean, (domain, worst)), cost, minutes in summary:
        print(f"| {spec} | {params:,} | {per_step:.3f} | {mean:.3f} | {domain} ({worst:.2f}) "
              f"| {cost['grad']:.2f} + {cost['select']:.3f} + {cost['train']:.3f} | {minutes:.1f} |")


if __name__ == "__main__":
    main()
