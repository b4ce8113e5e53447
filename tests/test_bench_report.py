"""The fine-tuning benchmark's results file and report, on synthetic records with known answers."""

import contextlib
import dataclasses
import hashlib
import json
import os
import warnings

import numpy as np
import pytest
from scipy import stats

pytest.importorskip("transformers")
pytest.importorskip("matplotlib")

from matroidomp.bench.report import (  # noqa: E402
    compare, comparison_table, domain_table, results_table, settings_table, summarize, write_report)
from matroidomp.bench import cli, runner  # noqa: E402
from matroidomp.bench.runner import BenchConfig, ResultsFile, read_records, read_results  # noqa: E402

DOMAINS = ("chem/formula", "chem/rings", "math/add", "math/compare")
ACC = {"partitionsel": [0.50, 0.55, 0.52], "random": [0.40, 0.47, 0.41], "gradmatch": [0.49, 0.56, 0.50]}


def synthetic_records(acc=ACC, steps=(0, 10, 20), unfinished=("random", 9)):
    """Per method and seed: accuracy of every domain = acc[method][seed] · (step / last step) plus a
    per-domain offset, loss = 1 − accuracy; step records with conflicting pairs = seed + method index."""
    records = []
    for mi, (method, values) in enumerate(acc.items()):
        for seed, a in enumerate(values):
            for t in steps:
                scale = t / steps[-1]
                scores = {d: {"accuracy": a * scale + 0.01 * j, "loss": 1 - a * scale - 0.01 * j} for j, d in enumerate(DOMAINS)}
                records.append({"type": "eval", "method": method, "seed": seed, "step": t, "scores": scores})
            for t in range(1, steps[-1] + 1):
                records.append({"type": "step", "method": method, "seed": seed, "step": t, "loss": 1.0,
                                "conflicting_pairs": seed + mi, "conflict_rate": 0.1, "grad_seconds": 0.2,
                                "select_seconds": 0.05, "train_seconds": 0.1})
            records.append({"type": "done", "method": method, "seed": seed, "steps": steps[-1]})
    method, seed = unfinished  # a run without its done record: ignored
    records.append({"type": "eval", "method": method, "seed": seed, "step": 0,
                    "scores": {d: {"accuracy": 1.0, "loss": 0.0} for d in DOMAINS}})
    return records


def test_summary_final_scores_and_macro_averages():
    s = summarize(synthetic_records())
    assert s.methods == ["partitionsel", "gradmatch", "random"]  # the selector's METHODS order
    assert s.domains == sorted(DOMAINS)
    assert sorted(s.final["random"]) == [0, 1, 2]  # seed 9 never finished
    offset = np.mean([0.01 * j for j in range(len(DOMAINS))])
    for method, values in ACC.items():
        np.testing.assert_allclose(list(s.macro(method, "accuracy").values()), np.array(values) + offset)
        np.testing.assert_allclose(list(s.macro(method, "loss").values()), 1 - np.array(values) - offset)
    assert s.families() == {"chem": ["chem/formula", "chem/rings"], "math": ["math/add", "math/compare"]}
    steps, curve = s.curves["partitionsel"]["math/add"]["accuracy"]
    np.testing.assert_array_equal(steps, [0, 10, 20])
    np.testing.assert_allclose(curve[:, 1], np.array(ACC["partitionsel"]) / 2 + 0.02)
    assert s.steps["gradmatch"]["conflicting_pairs"] == [2.0, 3.0, 4.0]  # seed + its index in ACC


def test_paired_comparison_matches_scipy():
    rows = {r["baseline"]: r for r in compare(summarize(synthetic_records()), "accuracy")}
    diff = np.subtract(ACC["partitionsel"], ACC["random"])
    assert rows["random"]["mean"] == pytest.approx(diff.mean())
    assert rows["random"]["std"] == pytest.approx(diff.std(ddof=1))
    assert rows["random"]["p"] == pytest.approx(stats.ttest_rel(ACC["partitionsel"], ACC["random"]).pvalue)
    assert rows["random"]["exceeds_noise"]  # +0.097 ± 0.006: far above the seed noise
    assert not rows["gradmatch"]["exceeds_noise"]  # +0.007 ± 0.012
    # Holm over the two baselines: the smaller p doubled, the larger kept (it is already >= that)
    small, large = sorted([rows["random"]["p"], rows["gradmatch"]["p"]])
    assert rows["random"]["p_holm"] == pytest.approx(min(1, 2 * small))
    assert rows["gradmatch"]["p_holm"] == pytest.approx(max(min(1, 2 * small), large))
    assert "yes" in comparison_table(summarize(synthetic_records()))


def test_holm_correction_can_withdraw_a_significant_difference():
    from matroidomp.bench.report import _yes, holm

    p = [0.004, 0.02, 0.03, 0.5]  # 4 baselines: only the first survives (0.016, 0.06, 0.06, 0.5)
    np.testing.assert_allclose(holm(p), [0.016, 0.06, 0.06, 0.5])
    rows = [{"p": q, "exceeds_noise": q < 0.05, "p_holm": h} for q, h in zip(p, holm(p))]
    assert [_yes(r) for r in rows] == ["yes", "yes, uncorrected", "yes, uncorrected", "no"]


def test_one_seed_reports_no_significance():
    acc = {m: v[:1] for m, v in ACC.items()}
    rows = compare(summarize(synthetic_records(acc)), "accuracy")
    assert all(np.isnan(r["p"]) and not r["exceeds_noise"] for r in rows)
    assert "one seed" in comparison_table(summarize(synthetic_records(acc)))


def test_tables_and_report_files(tmp_path):
    records = synthetic_records()
    s = summarize(records)
    table = results_table(s)
    assert table.count("\n") == 2 + len(ACC) - 1
    assert "accuracy (chem)" in table and "0.538 ± 0.025" in table  # partitionsel: mean 0.523 + 0.015 offset
    assert "math/compare" in domain_table(s, "accuracy")
    path = write_report(records, tmp_path / "results.md", tmp_path / "figs", command="python -m matroidomp.bench run")
    text = path.read_text()
    assert "python -m matroidomp.bench run" in text
    for name in ("loss_by_domain", "accuracy_by_domain", "conflicts_and_time"):
        png = tmp_path / "figs" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"(figs/{name}.png)" in text


def test_minority_domains_come_from_the_drawn_pools(tmp_path):
    records = synthetic_records()
    # math/add fills 5 of 8 pool slots, the others 1 each: shares 5/8, 1/8, 1/8, 1/8 against 1/4
    pool = {"chem/formula": 1, "chem/rings": 1, "math/add": 5, "math/compare": 1}
    for r in records:
        if r["type"] == "step":
            r["pool_counts"] = pool
    s = summarize(records)
    assert s.minority == ["chem/formula", "chem/rings", "math/compare"]
    minority = {r["baseline"]: r for r in compare(s, "loss", domains=s.minority)}
    offsets = np.mean([0.01 * j for j, d in enumerate(DOMAINS) if d in s.minority])
    ref = 1 - np.array(ACC["partitionsel"]) - offsets
    other = 1 - np.array(ACC["random"]) - offsets
    assert minority["random"]["mean"] == pytest.approx(np.mean(ref - other))
    assert "loss (minority)" in results_table(s)
    text = write_report(records, tmp_path / "r.md", tmp_path / "f", command="x").read_text()
    assert "on the minority domains" in text and "chem/formula, chem/rings, math/compare" in text
    # without pool counts (older results files) there is no minority section
    assert "on the minority domains" not in write_report(synthetic_records(), tmp_path / "s.md", tmp_path / "g",
                                                         command="x").read_text()


def test_comparison_says_what_is_missing():
    only_reference = summarize(synthetic_records({"partitionsel": ACC["partitionsel"]}))
    assert comparison_table(only_reference) == "(no baseline was run beside partitionsel)"
    no_reference = summarize(synthetic_records({"random": ACC["random"]}, unfinished=("random", 9)))
    assert comparison_table(no_reference) == "(partitionsel was not run)"


def test_no_finished_run_is_an_error():
    with pytest.raises(ValueError, match="no finished run"):
        summarize([r for r in synthetic_records() if r["type"] != "done"])


def test_results_file_resumes_and_refuses_another_configuration(tmp_path):
    path = tmp_path / "r.jsonl"
    config_a, config_b = BenchConfig(), BenchConfig(lr=0.5)
    results = ResultsFile(path, config_a)
    results.append({"type": "eval", "method": "random", "seed": 0, "step": 0, "scores": {}})
    results.append({"type": "done", "method": "random", "seed": 0, "steps": 1})
    results.append({"type": "step", "method": "gradmatch", "seed": 0, "step": 1})  # interrupted run
    again = ResultsFile(path, config_a)
    assert again.done == {("random", 0)}
    records = read_records(path)
    assert [r["type"] for r in records] == ["config", "eval", "done"]
    assert records[0]["settings"]["lr"] == config_a.lr and all(r["config"] == config_a.key() for r in records)
    assert "`lr` | `0.003`" in settings_table(records) and "`data.test_per_domain` | `64`" in settings_table(records)
    with pytest.raises(ValueError, match="another configuration"):
        ResultsFile(path, config_b)
    path.write_text(path.read_text() + "{not json\n")
    with pytest.raises(ValueError, match=r"r.jsonl:4: not a JSON record"):
        read_records(path)


@contextlib.contextmanager
def file_size_limit(nbytes):
    """Writes past byte ``nbytes`` of any file fail with OSError (EFBIG; Python ignores SIGXFSZ),
    as on a full disk — ``ulimit -f`` for this process."""
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def finished_run(results, method="random", domains=2000):
    """Records of a finished run of ``method``, seed 0, with a large evaluation record."""
    scores = {f"domain/{i}": {"loss": 1.0, "accuracy": 0.5} for i in range(domains)}
    results.append({"type": "eval", "method": method, "seed": 0, "step": 0, "scores": scores})
    results.append({"type": "done", "method": method, "seed": 0, "steps": 1})


def test_failed_rewrite_leaves_the_results_file_intact(tmp_path):
    path = tmp_path / "r.jsonl"
    results = ResultsFile(path, BenchConfig())
    finished_run(results)
    results.append({"type": "step", "method": "gradmatch", "seed": 0, "step": 1})  # interrupted: resume rewrites
    before = path.read_bytes()
    with file_size_limit(len(before) // 2), pytest.raises(OSError):
        ResultsFile(path, BenchConfig())  # the disk fills half-way through the rewrite
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.jsonl"]  # no temporary file left behind
    assert ResultsFile(path, BenchConfig()).done == {("random", 0)}
    assert [r["type"] for r in read_records(path)] == ["config", "eval", "done"]


def test_rewrites_and_appends_are_fsynced(tmp_path, monkeypatch):
    synced = []
    fsync = os.fsync
    monkeypatch.setattr(runner.os, "fsync", lambda fd: (synced.append(os.fstat(fd).st_ino), fsync(fd)))
    path = tmp_path / "r.jsonl"
    results = ResultsFile(path, BenchConfig())  # writes the header through a temporary file
    assert synced[0] == path.stat().st_ino
    results.append({"type": "done", "method": "random", "seed": 0, "steps": 1})
    assert synced[-1] == path.stat().st_ino


def test_failed_append_keeps_the_earlier_lines_and_resume_drops_the_cut_one(tmp_path):
    path = tmp_path / "r.jsonl"
    results = ResultsFile(path, BenchConfig())
    finished_run(results, domains=2)
    before = path.read_bytes()
    with file_size_limit(len(before) + 100), pytest.raises(OSError):
        finished_run(results, "gradmatch")  # the disk fills in the middle of a record
    assert path.read_bytes().startswith(before) and len(path.read_bytes()) > len(before)
    with pytest.warns(UserWarning, match=r"r.jsonl:4: dropped the incomplete last line"):
        again = ResultsFile(path, BenchConfig())
    assert again.done == {("random", 0)}
    assert path.read_bytes() == before  # the cut line is gone: new records start on a line of their own
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [r["type"] for r in read_records(path)] == ["config", "eval", "done"]


def test_cut_last_line_is_dropped_with_a_warning_a_malformed_middle_line_is_an_error(tmp_path):
    records = synthetic_records()
    lines = [json.dumps(r) for r in records]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(lines) + "\n" + lines[0][:25])  # a crash in the middle of a write
    with pytest.warns(UserWarning, match=rf"r.jsonl:{len(lines) + 1}: dropped the incomplete last line"):
        assert read_results([path]) == records
    path.write_text("\n".join([lines[0], lines[1][:25], *lines[2:]]) + "\n")
    with pytest.raises(ValueError, match=r"r.jsonl:2: not a JSON record"):
        read_records(path)


def test_key_follows_the_data_file_contents(tmp_path):
    data = tmp_path / "data.jsonl"
    data.write_text('{"prompt": "1 + 1", "answer": "2", "domain": "math/add"}\n')
    config = BenchConfig(data_file=str(data))
    key = config.key()
    ResultsFile(tmp_path / "r.jsonl", config)
    data.write_text('{"prompt": "1 + 1", "answer": "3", "domain": "math/add"}\n')
    assert config.key() != key
    assert config.settings()["data_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="another configuration"):
        ResultsFile(tmp_path / "r.jsonl", config)
    legacy = {k: v for k, v in dataclasses.asdict(BenchConfig()).items()
              if k not in ("adam_directions", "lora_r", "lora_alpha")}  # enter the settings only when set
    assert BenchConfig().settings() == legacy  # no data file: keys as before


def test_report_refuses_results_of_different_configurations(tmp_path):
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    for path, config in ((a, BenchConfig()), (b, BenchConfig(lr=0.5)), (c, BenchConfig())):
        finished_run(ResultsFile(path, config), domains=2)
    key_a, key_b = BenchConfig().key(), BenchConfig(lr=0.5).key()
    assert len(read_results([a, c])) == 2 * len(read_records(a))
    message = rf"a.jsonl holds results of configuration {key_a} but .*b.jsonl of configuration {key_b}"
    with pytest.raises(ValueError, match=message):
        read_results([a, b])
    with pytest.raises(ValueError, match=message):
        cli.main(["report", "--results", str(a), str(b), "--report", str(tmp_path / "r.md")])
    assert not (tmp_path / "r.md").exists()


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 0}, "steps must be at least 1, got 0"),
    ({"steps": -1}, "steps must be at least 1, got -1"),
    ({"batch": 0}, "batch must be at least 1"),
    ({"buffer": 0}, "buffer must be at least 1"),
    ({"anchors": 0}, "anchors must be at least 1"),
    ({"eval_every": 0}, "eval_every must be at least 1"),
    ({"grad_layers": 0}, "grad_layers must be at least 1"),
    ({"projection_dim": 0}, "projection_dim must be at least 1"),
    ({"pretrain_steps": -5}, "pretrain_steps must be at least 0, got -5"),
    ({"steps": 2.5}, "steps must be an int"),
    ({"lr": 0.0}, "lr must be a positive finite number, got 0.0"),
    ({"lr": -1e-3}, "lr must be a positive finite number"),
    ({"lr": float("nan")}, "lr must be a positive finite number, got nan"),
    ({"data": {"seed": 1}}, "data must be a DataConfig"),
])
def test_bench_config_refuses_nonsense(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        BenchConfig(**kwargs)
