"""The fine-tuning benchmark's results file and report, on synthetic records with known answers."""

import numpy as np
import pytest
from scipy import stats

pytest.importorskip("transformers")
pytest.importorskip("matplotlib")

from matroidomp.bench.report import (  # noqa: E402
    compare, comparison_table, domain_table, results_table, settings_table, summarize, write_report)
from matroidomp.bench.runner import BenchConfig, ResultsFile, read_records  # noqa: E402

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
    assert "yes" in comparison_table(summarize(synthetic_records()))


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
