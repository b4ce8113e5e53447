"""The fine-tuning benchmark end to end on a user JSONL: tiny model, a few steps, two methods."""

import json
import random

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("matplotlib")

from matroidomp import proportional_budgets  # noqa: E402
from matroidomp.bench import cli  # noqa: E402
from matroidomp.bench.runner import read_records  # noqa: E402

DOMAINS = {"math/add": 130, "math/double": 90, "text/reverse": 80, "text/upper": 70}  # 16 validation + 32 test + 8 pretrain each


def make_jsonl(path, seed=0):
    rng = random.Random(seed)
    lines = []
    for domain, n in DOMAINS.items():
        seen = set()
        while len(seen) < n:
            a, b = rng.randrange(100), rng.randrange(100)
            word = "".join(rng.choice("abcdefg") for _ in range(rng.randrange(3, 7)))
            prompt, answer = {
                "math/add": (f"What is {a} + {b}?", str(a + b)),
                "math/double": (f"Double {a}.", str(2 * a)),
                "text/reverse": (f"Reverse {word}.", word[::-1]),
                "text/upper": (f"Uppercase {word}.", word.upper()),
            }[domain]
            if prompt not in seen:
                seen.add(prompt)
                lines.append(json.dumps({"prompt": prompt, "answer": answer, "domain": domain}))
    path.write_text("\n".join(lines) + "\n")


ARGS = ["--preset", "demo", "--steps", "3", "--batch", "4", "--buffer", "4", "--pretrain-steps", "4", "--pretrain-per-domain", "8", "--quiet"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    make_jsonl(tmp / "data.jsonl")
    out = tmp / "results.jsonl"
    argv = ["run", "--data", str(tmp / "data.jsonl"), "--methods", "random", "partitionsel", "--seeds", "0",
            "--out", str(out), "--cache-dir", str(tmp / "cache"), *ARGS]
    assert cli.main(argv) == 0
    return tmp, out, argv


def test_run_writes_records_for_every_step_and_evaluation(finished):
    _, out, _ = finished
    header, *records = read_records(out)
    assert header["type"] == "config" and header["settings"]["steps"] == 3
    for method in ("random", "partitionsel"):
        mine = [r for r in records if r["method"] == method]
        steps = [r for r in mine if r["type"] == "step"]
        assert [r["step"] for r in steps] == [1, 2, 3]
        for r in steps:
            assert sum(r["counts"].values()) == 4
            assert np.isfinite(r["loss"]) and r["grad_seconds"] > 0 and r["conflicting_pairs"] >= 0
        evals = [r for r in mine if r["type"] == "eval"]
        assert [r["step"] for r in evals] == [0, 3]
        for r in evals:
            assert set(r["scores"]) == set(DOMAINS)
            assert all(0 <= s["accuracy"] <= 1 and s["loss"] > 0 for s in r["scores"].values())
        assert mine[-1]["type"] == "done"
    # same start model for both methods; their pools are the same but the selections differ in general
    first = {r["method"]: r["scores"] for r in records if r["type"] == "eval" and r["step"] == 0}
    assert first["random"] == first["partitionsel"]


def test_partitionsel_keeps_proportional_budgets(finished):
    _, out, _ = finished
    steps = [r for r in read_records(out) if r["type"] == "step" and r["method"] == "partitionsel"]
    for r in steps:
        pool = [d for d, c in r["pool_counts"].items() for _ in range(c)]
        assert sum(r["pool_counts"].values()) == 16
        assert {d: c for d, c in r["counts"].items() if c} == {d: c for d, c in proportional_budgets(pool, 4).items() if c}


def test_report_is_written(finished):
    tmp, out, _ = finished
    report = out.with_suffix(".md")
    text = report.read_text()
    assert "python -m matroidomp.bench run" in text and "partitionsel" in text and "`steps` | `3`" in text
    assert (tmp / "results_figures" / "accuracy_by_domain.png").exists()


def test_start_model_is_scored_against_a_unigram_baseline(finished):
    """Step-0 scores carry each domain's unigram loss (recomputed here by hand) and the report
    compares the model with it."""
    import math
    from collections import Counter

    from matroidomp.bench.data import load_jsonl
    from matroidomp.bench.text import encode_examples

    tmp, out, _ = finished
    _, *records = read_records(out)
    start = next(r["scores"] for r in records if r["type"] == "eval" and r["step"] == 0)
    assert set(start) == set(DOMAINS) and all(v["unigram_loss"] > 0 for v in start.values())
    assert "## The model against a unigram baseline" in out.with_suffix(".md").read_text()
    from matroidomp.bench.cli import PRESETS
    from matroidomp.bench.text import train_tokenizer

    data = PRESETS["demo"].data
    tasks = load_jsonl(tmp / "data.jsonl", seed=data.seed, validation_per_domain=data.validation_per_domain,
                       test_per_domain=data.test_per_domain, pretrain_per_domain=8)
    tokenizer = train_tokenizer([t for split in (tasks.pretrain, tasks.train, tasks.validation, tasks.test)
                                 for e in split for t in (e.prompt, e.answer)], PRESETS["demo"].vocab_size)
    domain = "text/reverse"

    def targets(examples):
        rows = encode_examples(tokenizer, [e for e in examples if e.domain == domain], 96)
        mask = (rows["answer_mask"][:, 1:] * rows["attention_mask"][:, 1:]).bool()
        return [r[1:][m].tolist() for r, m in zip(rows["input_ids"], mask)]

    counts = Counter(t for row in targets(tasks.train) for t in row)
    total, vocab = sum(counts.values()), len(tokenizer)
    expected = sum(sum(math.log((total + vocab) / (counts[t] + 1)) for t in row) / len(row)
                   for row in targets(tasks.test)) / len(targets(tasks.test))
    assert start[domain]["unigram_loss"] == pytest.approx(expected, rel=1e-9)


def test_rerun_resumes_without_running_again(finished, capsys):
    _, out, argv = finished
    before = out.read_text()
    assert cli.main(argv) == 0
    assert out.read_text() == before
    assert "ran 0 runs" not in capsys.readouterr().out  # --quiet: nothing but the tables
    assert cli.main([*argv[:-1]]) == 0  # without --quiet it says so
    assert "ran 0 runs" in capsys.readouterr().out


def test_changed_configuration_needs_a_new_file(finished):
    _, _, argv = finished
    with pytest.raises(ValueError, match="another configuration"):
        cli.main([*argv, "--lr", "0.5"])


def test_unknown_method_is_rejected(tmp_path):
    with pytest.raises(SystemExit):
        cli.main(["run", "--methods", "nonsense"])


@pytest.mark.parametrize("option, value, message", [
    ("--steps", "0", "must be at least 1, got 0"),
    ("--steps", "-1", "must be at least 1, got -1"),
    ("--steps", "1.5", "not an integer: '1.5'"),
    ("--batch", "0", "must be at least 1, got 0"),
    ("--buffer", "0", "must be at least 1, got 0"),
    ("--seeds", "-1", "must be at least 0, got -1"),
    ("--pretrain-steps", "-5", "must be at least 0, got -5"),
    ("--pretrain-per-domain", "-1", "must be at least 0, got -1"),
    ("--projection-dim", "0", "must be at least 1, got 0"),
    ("--threads", "0", "must be at least 1, got 0"),
    ("--lr", "0", "must be a positive finite number, got 0"),
    ("--lr", "-0.001", "must be a positive finite number, got -0.001"),
    ("--lr", "nan", "must be a positive finite number, got nan"),
])
def test_nonsense_numbers_exit_2_before_anything_runs(tmp_path, capsys, option, value, message):
    out = tmp_path / "r.jsonl"
    with pytest.raises(SystemExit) as exit:
        cli.main(["run", "--data", str(tmp_path / "data.jsonl"), "--out", str(out), "--quiet", option, value])
    assert exit.value.code == 2
    assert f"argument {option}: {message}" in capsys.readouterr().err
    assert not out.exists()


def test_local_model_directory(tmp_path):
    """--model: any local Hugging Face directory (here a tiny Qwen2 and its tokenizer saved to disk)
    replaces the built-in model; nothing is pretrained and no pretraining split is held out."""
    from matroidomp.bench.data import load_jsonl
    from matroidomp.bench.model import tiny_model
    from matroidomp.bench.text import train_tokenizer

    make_jsonl(tmp_path / "data.jsonl")
    tasks = load_jsonl(tmp_path / "data.jsonl", validation_per_domain=16, test_per_domain=32)
    tokenizer = train_tokenizer([t for e in tasks.train + tasks.validation + tasks.test for t in (e.prompt, e.answer)], 300)
    tiny_model(tokenizer, seed=1, num_hidden_layers=2).save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    out = tmp_path / "results.jsonl"
    assert cli.main(["run", "--preset", "demo", "--data", str(tmp_path / "data.jsonl"), "--model", str(tmp_path / "model"),
                     "--methods", "partitionsel", "--seeds", "0", "--steps", "2", "--batch", "4", "--buffer", "4",
                     "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--quiet"]) == 0
    header, *records = read_records(out)
    assert header["settings"]["lr"] == cli.PRETRAINED_LR  # a pretrained model gets the small default lr
    steps = [r for r in records if r["type"] == "step"]
    assert [r["step"] for r in steps] == [1, 2] and all(sum(r["counts"].values()) == 4 for r in steps)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").glob("model-*"))


def test_missing_model_directory_is_a_clear_error(tmp_path):
    make_jsonl(tmp_path / "data.jsonl")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        cli.main(["run", "--preset", "demo", "--data", str(tmp_path / "data.jsonl"), "--model", str(tmp_path / "nope"),
                  "--out", str(tmp_path / "r.jsonl"), "--quiet"])


def test_adam_directions_option(finished, monkeypatch):
    """--adam-directions: the runs select with the loop's AdamW state, under a key of their own;
    without it the settings (and the keys of older results files) are unchanged."""
    import dataclasses

    from matroidomp.bench import runner
    from matroidomp.bench.runner import BenchConfig

    assert "adam_directions" not in BenchConfig().settings()
    assert BenchConfig(adam_directions=True).key() != BenchConfig().key()
    legacy = {k: v for k, v in dataclasses.asdict(BenchConfig()).items()
              if k not in ("adam_directions", "lora_r", "lora_alpha")}
    assert BenchConfig().key() == runner._key(legacy)
    with pytest.raises(TypeError, match="adam_directions must be a bool"):
        BenchConfig(adam_directions="yes")

    seen = []
    original = runner.selective_step

    def spy(*args, preconditioner=None, **kw):
        seen.append(preconditioner)
        return original(*args, preconditioner=preconditioner, **kw)

    monkeypatch.setattr(runner, "selective_step", spy)
    tmp, _, argv = finished
    out = tmp / "adam.jsonl"
    argv = [a if a != str(tmp / "results.jsonl") else str(out) for a in argv]
    assert cli.main([*argv, "--adam-directions"]) == 0
    header, *records = read_records(out)
    assert header["settings"]["adam_directions"] is True
    assert seen and set(seen) == {"optimizer"}
    assert all(sum(r["counts"].values()) == 4 for r in records if r["type"] == "step")


def test_lora_runs_train_the_adapters_only(tmp_path, monkeypatch):
    """--lora-r: peft adapters on q,k,v,gate,up,down, base weights frozen, gradients of the
    adapters of the last --grad-layers layers; the option enters the key."""
    from matroidomp.bench import runner
    from matroidomp.bench.runner import BenchConfig

    assert BenchConfig(lora_r=4).key() != BenchConfig().key() != BenchConfig(lora_alpha=96.0).key()
    with pytest.raises(ValueError, match="lora_alpha must be a positive finite number"):
        BenchConfig(lora_r=4, lora_alpha=0.0)
    seen = []
    original = runner.PartitionSelector

    def spy(model, modules, **kw):
        seen.append((model, list(modules)))
        return original(model, modules, **kw)

    monkeypatch.setattr(runner, "PartitionSelector", spy)
    make_jsonl(tmp_path / "data.jsonl")
    out = tmp_path / "lora.jsonl"
    assert cli.main(["run", "--data", str(tmp_path / "data.jsonl"), "--methods", "partitionsel", "--seeds", "0",
                     "--out", str(out), "--cache-dir", str(tmp_path / "cache"), *ARGS,
                     "--lora-r", "2", "--grad-layers", "1"]) == 0
    header, *records = read_records(out)
    assert header["settings"]["lora_r"] == 2 and header["settings"]["grad_layers"] == 1
    model, modules = seen[0]
    assert modules and all(".lora_A." in m or ".lora_B." in m for m in modules)
    assert len({m.split(".layers.")[1].split(".")[0] for m in modules}) == 1  # one layer, the last
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert all(sum(r["counts"].values()) == 4 for r in records if r["type"] == "step")
