"""``python -m matroidomp.bench`` — run the heterogeneous fine-tuning benchmark and report it.

    python -m matroidomp.bench demo                       # random, gradmatch, partitionsel; 1 seed; ~5 min
    python -m matroidomp.bench run --out results/full.jsonl --report docs/results.md
    python -m matroidomp.bench report --results results/full.jsonl --report docs/results.md

``run`` is resumable: run it again with the same ``--out`` and it skips finished runs. Data,
tokenizer-independent task files and the pretrained start model are cached in ``--cache-dir``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import shlex
import sys
import time
from pathlib import Path

import numba
import torch
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from ..torch._selector import METHODS
from .data import DEFAULT_TRAIN_SIZES, DataConfig, build_tasks, load_jsonl
from .model import load_local_model, pretrained_model
from .report import comparison_table, results_table, summarize, write_report
from .runner import BenchConfig, ResultsFile, Workload, read_records, read_results, sweep
from .text import train_tokenizer

DEMO_METHODS = ("random", "gradmatch", "partitionsel")
PRETRAINED_LR = 2e-5  # default peak lr with --model (3e-3 wrecks a pretrained model in one step)
FULL_TRAIN_SIZES = {**DEFAULT_TRAIN_SIZES, "text/sort": 150}
"""The full preset's mix: the default math and chemistry domains plus a string-manipulation
minority (sort a word's letters), 6,150 training examples in 11 domains. ``text/reverse`` is left
out: the tiny model stays at its unigram level there (0.96 after 2,000 pretraining steps,
docs/results/model-capacity.txt), so no selection could matter on it."""
COMPETENT_START = dict(pretrain_steps=2000, lr=1e-3)
"""The full preset's start model: the tiny Qwen2 (hidden 64, 4 layers) pretrained 2,000 steps on
600 examples per domain, where its held-out loss has flattened below the unigram baseline on every
domain of the mix (``benchmarks/model_capacity.py``, docs/results.md). The pool keeps the
authors' ratio 8 : 1 at 128 → 16 (256 → 32 costs 3.7 min per 100-step run on one core here).
Fine-tuning peaks at lr 1e-3, a third of the pretraining peak: at 3e-3 the held-out loss of
every method first rose by 0.2 and ended above the start model's; at 1e-3 random selection
ends where it started (seed 0: 1.396 → 1.400) and at 3e-4 it barely moves (→ 1.381)."""
PRESETS = {
    "full": BenchConfig(data=DataConfig(train_sizes=FULL_TRAIN_SIZES, pretrain_per_domain=600), **COMPETENT_START),
    "demo": BenchConfig(data=DataConfig(test_per_domain=32), steps=60),
    # the benchmark before issue 11 (the 10-domain mix, 100 pretraining steps, lr 3e-3): the runs
    # of docs/results/weak-start-{a,b}.jsonl and adam-directions.jsonl
    "weak-start": BenchConfig(),
    # the full mix plus a minority answering math/arithmetic's prompts with the digits reversed:
    # two domains that pull in opposite directions (issue 11's stress configuration)
    "stress": BenchConfig(data=DataConfig(train_sizes={**FULL_TRAIN_SIZES, "math/arithmetic-reversed": 150},
                                          pretrain_per_domain=600), **COMPETENT_START),
}


def build_workload(config: BenchConfig, cache_dir: Path, *, progress: bool = True) -> Workload:
    """The :class:`~matroidomp.bench.runner.Workload` of ``config``: tasks, tokenizer, start model, encoded splits, start scores.

    Tasks are built (:func:`~matroidomp.bench.data.build_tasks`, cached) or read from the user's
    JSONL (``config.data_file``); the tokenizer is trained on every split and the start model is
    the tiny Qwen2 pretrained on the pretraining split (cached), or the local model of
    ``config.model_path`` with its own tokenizer.

    Parameters
    ----------
    config : BenchConfig
    cache_dir : Path
        Where built tasks and pretrained models are cached.
    progress : bool, default True
        Print what was built and show a pretraining progress bar.

    Returns
    -------
    Workload

    Raises
    ------
    ValueError
        When the data cannot be built or read (see :func:`~matroidomp.bench.data.load_jsonl`),
        or the pool is larger than the training split.
    FileNotFoundError
        When ``config.model_path`` is not a directory.

    Examples
    --------
    Two domains of a JSONL file, the tiny model without pretraining:

    >>> import json, os, tempfile
    >>> from matroidomp.bench.data import DataConfig
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "mine.jsonl")
    >>> with open(path, "w") as f:
    ...     for i in range(6):
    ...         _ = f.write(json.dumps({"prompt": f"{i} + {i} =", "answer": str(2 * i), "domain": "math/add"}) + "\\n")
    ...         _ = f.write(json.dumps({"prompt": f"Spell {i}", "answer": "x" * (i + 1), "domain": "text/spell"}) + "\\n")
    >>> config = BenchConfig(data=DataConfig(validation_per_domain=1, test_per_domain=1), batch=2,
    ...                      buffer=2, pretrain_steps=0, vocab_size=300, data_file=path)
    >>> work = build_workload(config, Path(folder), progress=False)
    >>> len(work.labels), sorted(work.initial_scores)
    (8, ['math/add', 'text/spell'])
    """
    start = time.perf_counter()
    if config.data_file:
        pretrain = 0 if config.model_path or not config.pretrain_steps else config.data.pretrain_per_domain
        tasks = load_jsonl(config.data_file, seed=config.data.seed, validation_per_domain=config.data.validation_per_domain,
                           test_per_domain=config.data.test_per_domain, pretrain_per_domain=pretrain)
    else:
        tasks = build_tasks(config.data, cache_dir=cache_dir)
    _say(progress, f"data: {len(tasks.train)} train / {len(tasks.validation)} validation / {len(tasks.test)} test / "
                   f"{len(tasks.pretrain)} pretrain examples in {len(tasks.domains)} domains "
                   f"({time.perf_counter() - start:.1f} s)")
    if config.model_path:
        model, tokenizer = load_local_model(config.model_path, config.gguf_file)
    else:
        texts = [t for split in (tasks.pretrain, tasks.train, tasks.validation, tasks.test) for e in split
                 for t in (e.prompt, e.answer)]
        tokenizer = train_tokenizer(texts, config.vocab_size)
        bar = tqdm(total=config.pretrain_steps, desc="pretraining", unit="step", disable=not progress)
        model, losses = pretrained_model(tokenizer, tasks.pretrain, steps=config.pretrain_steps, cache_dir=cache_dir,
                                         seed=config.data.seed, max_length=config.max_length, progress=bar)
        bar.close()
        if losses:
            _say(progress, f"pretrained {config.pretrain_steps} steps: loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    start = time.perf_counter()
    work = Workload.prepare(config, tasks, tokenizer, model)
    _say(progress, f"start model scored on {len(tasks.test)} test examples ({time.perf_counter() - start:.1f} s)")
    return work


def main(argv: list[str] | None = None) -> int:
    """``python -m matroidomp.bench``: the ``run``, ``demo`` and ``report`` commands; returns the exit status.

    ``run`` and ``demo`` set the thread counts (torch, numba, BLAS), build the workload, run every
    (method, seed) not yet in ``--out`` and write the report; ``report`` writes the report of
    existing results files. ``--help`` lists the options (see also ``docs/api.md``).

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success.

    Raises
    ------
    SystemExit
        With status 2 for invalid arguments (argparse prints the error to stderr), before
        anything runs.
    ValueError
        When ``--out`` holds another configuration, or the results files of ``report`` differ.

    Examples
    --------
    >>> main(["run", "--steps", "0"])  # a nonsense count stops before anything runs
    Traceback (most recent call last):
    ...
    SystemExit: 2
    """
    args = _parser().parse_args(argv)
    if args.command == "report":
        records = read_results(args.results)
        notes = Path(args.notes).read_text() if args.notes else ""
        _write(records, args.report, "python -m matroidomp.bench " + " ".join(map(shlex.quote, sys.argv[1:] if argv is None else argv)),
               notes)
        return 0
    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    threadpool_limits(args.threads)  # numpy's BLAS (the Gram GEMM) and OpenMP pools
    preset = "demo" if args.command == "demo" else args.preset
    config = PRESETS[preset]
    overrides = {key: getattr(args, key) for key in ("steps", "batch", "buffer", "lr", "budgets", "projection_dim",
                                                      "pretrain_steps", "data_file", "model_path", "gguf_file",
                                                      "grad_layers", "lora_r", "lora_alpha")
                 if getattr(args, key) is not None}
    if args.model_path and args.lr is None:  # the presets' lr is for the tiny model trained from scratch
        overrides["lr"] = PRETRAINED_LR
    if args.adam_directions:
        overrides["adam_directions"] = True
    config = dataclasses.replace(config, **overrides)
    if args.pretrain_per_domain is not None:
        config = dataclasses.replace(config, data=dataclasses.replace(config.data, pretrain_per_domain=args.pretrain_per_domain))
    methods = args.methods or (DEMO_METHODS if preset == "demo" else METHODS)
    seeds = args.seeds if args.seeds is not None else ([0] if preset == "demo" else [0, 1, 2, 3, 4])
    out = Path(args.out or f"bench-{preset}/results.jsonl")
    report = Path(args.report or out.with_suffix(".md"))
    results = ResultsFile(out, config)
    work = build_workload(config, Path(args.cache_dir), progress=not args.quiet)
    ran = sweep(methods, seeds, work, results, progress=not args.quiet)
    _say(not args.quiet, f"ran {len(ran)} runs ({len(results.done)} done in {out})")
    command = "python -m matroidomp.bench " + " ".join(map(shlex.quote, sys.argv[1:] if argv is None else argv))
    _write(read_records(out), report, command)
    return 0


def _write(records, report: Path, command: str, notes: str = "") -> None:
    """Write the report of ``records`` and print its two main tables."""
    summary = summarize(records)
    path = write_report(records, report, Path(report).with_suffix("").as_posix() + "_figures", command=command,
                        notes=notes)
    print(results_table(summary))
    print()
    print(comparison_table(summary))
    print(f"\nreport: {path}")


def _parser() -> argparse.ArgumentParser:
    """The command-line parser of ``python -m matroidomp.bench``."""
    parser = argparse.ArgumentParser(prog="python -m matroidomp.bench", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "demo"):
        p = sub.add_parser(name, help="fine-tune with every method and seed, then report" if name == "run"
                           else "the README demo: random, gradmatch, partitionsel, 1 seed, reduced steps")
        if name == "run":
            p.add_argument("--preset", choices=sorted(PRESETS), default="full")
        p.add_argument("--methods", nargs="+", choices=METHODS, help="default: all (run) or random gradmatch partitionsel (demo)")
        p.add_argument("--seeds", nargs="+", type=_at_least(0), help="default: 0 1 2 3 4 (run) or 0 (demo)")
        p.add_argument("--steps", type=_at_least(1))
        p.add_argument("--batch", type=_at_least(1), help="examples trained on per step")
        p.add_argument("--buffer", type=_at_least(1), help="pool = batch · buffer")
        p.add_argument("--lr", type=_positive_float, help=f"peak learning rate (default 3e-3; {PRETRAINED_LR:g} with --model)")
        p.add_argument("--budgets", choices=("proportional", "equal"))
        p.add_argument("--projection-dim", type=_at_least(1), dest="projection_dim")
        p.add_argument("--adam-directions", action="store_true", dest="adam_directions",
                       help="select on the pool's AdamW update directions instead of raw gradients")
        p.add_argument("--grad-layers", type=_at_least(1), dest="grad_layers",
                       help="decoder layers (from the top) whose linears span the gradients (default 2)")
        p.add_argument("--lora-r", type=_at_least(1), dest="lora_r",
                       help="fine-tune LoRA adapters of this rank (q,k,v,gate,up,down; needs peft) instead of all weights")
        p.add_argument("--lora-alpha", type=_positive_float, dest="lora_alpha", help="LoRA alpha (default 32)")
        p.add_argument("--pretrain-steps", type=_at_least(0), dest="pretrain_steps", help="0: fine-tune the random init")
        p.add_argument("--pretrain-per-domain", type=_at_least(0), dest="pretrain_per_domain",
                       help="examples per domain held out for pretraining (default 200)")
        p.add_argument("--out", help="results JSONL (resumable; default bench-<preset>/results.jsonl)")
        p.add_argument("--report", help="markdown report (default: next to --out); figures go to <report>_figures/")
        p.add_argument("--cache-dir", default=".cache/matroidomp-bench")
        p.add_argument("--data", dest="data_file", help="your own JSONL (prompt, answer, domain) instead of the built tasks")
        p.add_argument("--model", dest="model_path", help="a local Hugging Face model directory instead of the tiny Qwen2")
        p.add_argument("--gguf-file", dest="gguf_file", help="GGUF file inside --model (e.g. SmolLM2-135M)")
        p.add_argument("--threads", type=_at_least(1), default=1,
                       help="torch, numba and BLAS threads (default 1: on a shared or 2-core machine more "
                            "threads oversubscribe the cores; two runs side by side with the default BLAS "
                            "pool were 5-10x slower per step than one alone)")
        p.add_argument("--quiet", action="store_true", help="no progress bars")
    p = sub.add_parser("report", help="tables and plots from a results file")
    p.add_argument("--results", required=True, nargs="+", help="one or more results files of one configuration")
    p.add_argument("--report", required=True)
    p.add_argument("--notes", help="a markdown file put at the top of the report (setup, interpretation)")
    return parser


def _at_least(minimum: int):
    """An argparse type: an int ≥ ``minimum``; argparse names the option in the error and exits 2,
    before anything runs (a nonsense count otherwise fails deep in a sweep or reports NaN)."""
    def parse(text: str) -> int:
        """The int in ``text``, checked against the minimum."""
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _positive_float(text: str) -> float:
    """An argparse type: a finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def _say(enabled: bool, message: str) -> None:
    """Print ``message`` (flushed) when ``enabled``."""
    if enabled:
        print(message, flush=True)
