"""Tables and plots from a sweep's JSONL records (see :mod:`matroidomp.bench.runner`).

Per method, over seeds (mean ± sample standard deviation): each domain's held-out loss and
exact-match accuracy at the last step, their macro averages over domains and over each family
(the part of a domain name before ``/``), conflicting pairs per selected batch, and seconds per
step in gradients, selection and training. Against each baseline b, PartitionSel's paired
difference Δ = x_partitionsel − x_b over the seeds both ran (same seed ⇒ same pools and anchors),
with a paired t-test: "exceeds seed noise" means p < 0.05 (needs ≥ 2 seeds; with 3 seeds only a
difference several times its seed-to-seed spread passes); the tables say whether it still holds
after Holm's correction for comparing PartitionSel with every baseline of the table.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from ..torch._selector import METHODS

REFERENCE = "partitionsel"
TIMES = ("grad_seconds", "select_seconds", "train_seconds")


@dataclass
class Summary:
    """The finished runs of a sweep, per method, seed and domain (built by :func:`summarize`).

    Parameters
    ----------
    methods : list of str
        In :data:`matroidomp.torch._selector.METHODS` order.
    domains : list of str
        Sorted.
    final : dict
        ``final[method][seed][domain] = {"loss", "accuracy"}`` at each run's last evaluation.
    curves : dict
        ``curves[method][domain][metric]`` = (steps, seeds × steps array) over the evaluations
        every seed has.
    steps : dict
        ``steps[method][key]`` = per seed, the mean over steps of a step record's field (``conflicting_pairs``,
        ``conflict_rate``, ``loss``) or the median (the three times).
    minority : list of str, default []
        The minority domains: those whose share of the drawn pools is below the uniform share
        1/D (from the step records' ``pool_counts``; [] when the records have none).

    Examples
    --------
    >>> def records():  # two methods x two seeds, one evaluation each, on two domains
    ...     out = [{"type": "config", "config": "abc", "settings": {"steps": 1, "data": {"seed": 0}}}]
    ...     for method, acc in (("random", 0.2), ("partitionsel", 0.3)):
    ...         for seed in (0, 1):
    ...             run = {"method": method, "seed": seed}
    ...             a = acc + seed * (0.1 if method == "random" else 0.05)
    ...             scores = {"math/a": {"loss": 2 - a, "accuracy": a},
    ...                       "chem/b": {"loss": 1.5 - a, "accuracy": a / 2}}
    ...             out += [{"type": "eval", **run, "step": 1, "scores": scores},
    ...                     {"type": "step", **run, "step": 1, "loss": 1.0, "conflicting_pairs": 2,
    ...                      "conflict_rate": 0.1, "grad_seconds": 0.2, "select_seconds": 0.01,
    ...                      "train_seconds": 0.1},
    ...                     {"type": "done", **run, "steps": 1}]
    ...     return out
    >>> summary = summarize(records())
    >>> summary.methods, summary.domains
    (['partitionsel', 'random'], ['chem/b', 'math/a'])
    >>> {seed: round(v, 4) for seed, v in summary.macro("partitionsel", "accuracy").items()}
    {0: 0.225, 1: 0.2625}
    >>> summary.families()
    {'chem': ['chem/b'], 'math': ['math/a']}
    >>> summary.minority  # these records have no pool counts
    []
    """

    methods: list[str]
    domains: list[str]
    final: dict
    curves: dict
    steps: dict
    minority: list = field(default_factory=list)

    def macro(self, method: str, metric: str, domains: Sequence[str] | None = None) -> dict[int, float]:
        """{seed: mean of ``metric`` over ``domains`` (default all)} at the last evaluation.

        Parameters
        ----------
        method : str
        metric : {'loss', 'accuracy'}
        domains : sequence of str, optional

        Returns
        -------
        dict of int to float
        """
        domains = self.domains if domains is None else domains
        return {seed: float(np.mean([s[d][metric] for d in domains])) for seed, s in self.final[method].items()}

    def families(self) -> dict[str, list[str]]:
        """{family: its domains} when the domains span more than one family, else {}."""
        groups = defaultdict(list)
        for d in self.domains:
            groups[d.split("/")[0]].append(d)
        return dict(groups) if len(groups) > 1 else {}


def summarize(records: Sequence[dict]) -> Summary:
    """Collect the finished runs of ``records`` into a :class:`Summary` (runs without a ``done`` record are ignored).

    Parameters
    ----------
    records : sequence of dict
        The records of one configuration (:func:`~matroidomp.bench.runner.read_results`).

    Returns
    -------
    Summary

    Raises
    ------
    ValueError
        When no run is finished.

    Examples
    --------
    >>> def records():  # two methods x two seeds, one evaluation each, on two domains
    ...     out = [{"type": "config", "config": "abc", "settings": {"steps": 1, "data": {"seed": 0}}}]
    ...     for method, acc in (("random", 0.2), ("partitionsel", 0.3)):
    ...         for seed in (0, 1):
    ...             run = {"method": method, "seed": seed}
    ...             a = acc + seed * (0.1 if method == "random" else 0.05)
    ...             scores = {"math/a": {"loss": 2 - a, "accuracy": a},
    ...                       "chem/b": {"loss": 1.5 - a, "accuracy": a / 2}}
    ...             out += [{"type": "eval", **run, "step": 1, "scores": scores},
    ...                     {"type": "step", **run, "step": 1, "loss": 1.0, "conflicting_pairs": 2,
    ...                      "conflict_rate": 0.1, "grad_seconds": 0.2, "select_seconds": 0.01,
    ...                      "train_seconds": 0.1},
    ...                     {"type": "done", **run, "steps": 1}]
    ...     return out
    >>> summary = summarize(records())
    >>> sorted(summary.final["random"]), summary.steps["random"]["conflicting_pairs"]
    ([0, 1], [2.0, 2.0])
    >>> summarize([{"type": "config"}])
    Traceback (most recent call last):
    ...
    ValueError: no finished run in the records
    """
    done = {(r["method"], r["seed"]) for r in records if r["type"] == "done"}
    if not done:
        raise ValueError("no finished run in the records")
    methods = sorted({m for m, _ in done}, key=_method_order)
    evals = defaultdict(dict)
    steps = defaultdict(lambda: defaultdict(list))
    for r in records:
        run = (r.get("method"), r.get("seed"))
        if run not in done:
            continue
        if r["type"] == "eval":
            evals[run][r["step"]] = r["scores"]
        elif r["type"] == "step":
            steps[run][r["step"]] = r
    domains = sorted({d for scores in evals.values() for s in scores.values() for d in s})
    final = defaultdict(dict)
    curves = defaultdict(lambda: defaultdict(dict))
    for method in methods:
        seeds = sorted(s for m, s in done if m == method)
        for seed in seeds:
            final[method][seed] = evals[(method, seed)][max(evals[(method, seed)])]
        grid = sorted(set.intersection(*(set(evals[(method, s)]) for s in seeds)))
        for d in domains:
            for metric in ("loss", "accuracy"):
                curves[method][d][metric] = (np.array(grid), np.array(
                    [[evals[(method, s)][t][d][metric] for t in grid] for s in seeds]))
    per_step = {}
    for method in methods:
        runs = [steps[(method, s)] for s in sorted(final[method])]
        # counts: mean over steps; times: median over steps (steady state: the first step of a process
        # also pays one-off costs — numba compilation, allocator warm-up — that a mean would spread)
        per_step[method] = {key: [float((np.median if key in TIMES else np.mean)([rec[key] for rec in run.values()]))
                                  for run in runs]
                            for key in ("conflicting_pairs", "conflict_rate", "loss", *TIMES)}
    return Summary(methods, domains, dict(final), curves, per_step, _minority(steps.values(), domains))


def _minority(runs, domains: Sequence[str]) -> list[str]:
    """The domains whose share of all drawn pools (step records' ``pool_counts``) is below 1/D."""
    drawn = defaultdict(int)
    for run in runs:
        for record in run.values():
            for d, c in record.get("pool_counts", {}).items():
                drawn[d] += c
    total = sum(drawn.values())
    if not total:
        return []
    return [d for d in domains if drawn[d] / total < 1 / len(domains)]


def compare(summary: Summary, metric: str, reference: str = REFERENCE,
            domains: Sequence[str] | None = None) -> list[dict]:
    """Paired differences Δ = reference − baseline of the macro ``metric`` over seeds, with a paired t-test.

    Parameters
    ----------
    summary : Summary
    metric : {'loss', 'accuracy'}
    reference : str, default 'partitionsel'
    domains : sequence of str, optional
        Average over these domains only (default all; e.g. ``summary.minority``).

    Returns
    -------
    list of dict
        Per baseline: ``baseline``, ``seeds`` (shared), ``mean`` and ``std`` of Δ, the p-value
        ``p`` (NaN with fewer than two seeds), ``p_holm`` (Holm's step-down adjustment over the
        baselines with a p-value) and ``exceeds_noise`` (p < 0.05); [] when the
        reference was not run.

    Examples
    --------
    >>> def records():  # two methods x two seeds, one evaluation each, on two domains
    ...     out = [{"type": "config", "config": "abc", "settings": {"steps": 1, "data": {"seed": 0}}}]
    ...     for method, acc in (("random", 0.2), ("partitionsel", 0.3)):
    ...         for seed in (0, 1):
    ...             run = {"method": method, "seed": seed}
    ...             a = acc + seed * (0.1 if method == "random" else 0.05)
    ...             scores = {"math/a": {"loss": 2 - a, "accuracy": a},
    ...                       "chem/b": {"loss": 1.5 - a, "accuracy": a / 2}}
    ...             out += [{"type": "eval", **run, "step": 1, "scores": scores},
    ...                     {"type": "step", **run, "step": 1, "loss": 1.0, "conflicting_pairs": 2,
    ...                      "conflict_rate": 0.1, "grad_seconds": 0.2, "select_seconds": 0.01,
    ...                      "train_seconds": 0.1},
    ...                     {"type": "done", **run, "steps": 1}]
    ...     return out
    >>> summary = summarize(records())
    >>> [(row["baseline"], row["seeds"], round(row["mean"], 4), round(row["p"], 3))
    ...  for row in compare(summary, "accuracy")]
    [('random', 2, 0.0562, 0.205)]
    """
    if reference not in summary.methods:
        return []
    ref = summary.macro(reference, metric, domains)
    rows = []
    for method in summary.methods:
        if method == reference:
            continue
        other = summary.macro(method, metric, domains)
        seeds = sorted(set(ref) & set(other))
        diff = np.array([ref[s] - other[s] for s in seeds])
        p = float(stats.ttest_rel([ref[s] for s in seeds], [other[s] for s in seeds]).pvalue) if len(seeds) >= 2 else float("nan")
        rows.append({"baseline": method, "seeds": len(seeds), "mean": float(diff.mean()) if seeds else float("nan"),
                     "std": float(diff.std(ddof=1)) if len(seeds) >= 2 else float("nan"), "p": p,
                     "exceeds_noise": bool(p < 0.05) if not np.isnan(p) else False})
    for row, adjusted in zip(rows, holm([row["p"] for row in rows])):
        row["p_holm"] = adjusted
    return rows


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control over m tests); NaN stays NaN.

    Sorted ascending, p_(i) becomes max over j ≤ i of min(1, (m − j + 1)·p_(j)), m = the number of
    non-NaN p-values.

    Parameters
    ----------
    p_values : sequence of float

    Returns
    -------
    list of float
        In the order of ``p_values``.

    Examples
    --------
    >>> [round(p, 3) for p in holm([0.01, 0.04, 0.03, float("nan")])]
    [0.03, 0.06, 0.06, nan]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


def results_table(summary: Summary) -> str:
    """Markdown: one row per method — macro accuracy and loss (and per family and over the minority
    domains), conflicting pairs per selected batch and their share of all pairs of the batch,
    seconds per step.

    Parameters
    ----------
    summary : Summary

    Returns
    -------
    str
        A markdown table; cells are mean ± sd over seeds.

    Examples
    --------
    >>> def records():  # two methods x two seeds, one evaluation each, on two domains
    ...     out = [{"type": "config", "config": "abc", "settings": {"steps": 1, "data": {"seed": 0}}}]
    ...     for method, acc in (("random", 0.2), ("partitionsel", 0.3)):
    ...         for seed in (0, 1):
    ...             run = {"method": method, "seed": seed}
    ...             a = acc + seed * (0.1 if method == "random" else 0.05)
    ...             scores = {"math/a": {"loss": 2 - a, "accuracy": a},
    ...                       "chem/b": {"loss": 1.5 - a, "accuracy": a / 2}}
    ...             out += [{"type": "eval", **run, "step": 1, "scores": scores},
    ...                     {"type": "step", **run, "step": 1, "loss": 1.0, "conflicting_pairs": 2,
    ...                      "conflict_rate": 0.1, "grad_seconds": 0.2, "select_seconds": 0.01,
    ...                      "train_seconds": 0.1},
    ...                     {"type": "done", **run, "steps": 1}]
    ...     return out
    >>> summary = summarize(records())
    >>> print(results_table(summary))
    | method | seeds | accuracy (all) | loss (all) | ...
    | --- | --- | ...
    | partitionsel | 2 | 0.244 ± 0.027 | 1.425 ± 0.035 | ...
    | random | 2 | 0.188 ± 0.053 | 1.500 ± 0.071 | ...
    """
    families = summary.families()
    if summary.minority:
        families["minority"] = summary.minority
    head = ["method", "seeds", "accuracy (all)", "loss (all)"]
    head += [f"accuracy ({f})" for f in families] + [f"loss ({f})" for f in families]
    head += ["conflicting pairs / batch", "conflict rate", "s/step grad (median)", "s/step select (median)", "s/step train (median)"]
    lines = [_row(head), _row(["---"] * len(head))]
    for m in summary.methods:
        cells = [m, str(len(summary.final[m])), _pm(summary.macro(m, "accuracy"), 3), _pm(summary.macro(m, "loss"), 3)]
        cells += [_pm(summary.macro(m, "accuracy", ds), 3) for ds in families.values()]
        cells += [_pm(summary.macro(m, "loss", ds), 3) for ds in families.values()]
        st = summary.steps[m]
        cells += [_pm(st["conflicting_pairs"], 1), _pm(st["conflict_rate"], 3)] + [f"{np.mean(st[t]):.3f}" for t in TIMES]
        lines.append(_row(cells))
    return "\n".join(lines)


def domain_table(summary: Summary, metric: str) -> str:
    """Markdown: methods × domains, ``metric`` at the last step, mean ± sd over seeds.

    Parameters
    ----------
    summary : Summary
    metric : {'loss', 'accuracy'}

    Returns
    -------
    str

    Examples
    --------
    >>> def records():  # two methods x two seeds, one evaluation each, on two domains
    ...     out = [{"type": "config", "config": "abc", "settings": {"steps": 1, "data": {"seed": 0}}}]
    ...     for method, acc in (("random", 0.2), ("partitionsel", 0.3)):
    ...         for seed in (0, 1):
    ...             run = {"method": method, "seed": seed}
    ...             a = acc + seed * (0.1 if method == "random" else 0.05)
    ...             scores = {"math/a": {"loss": 2 - a, "accuracy": a},
    ...                       "chem/b": {"loss": 1.5 - a, "accuracy": a / 2}}
    ...             out += [{"type": "eval", **run, "step": 1, "scores": scores},
    ...                     {"type": "step", **run, "step": 1, "loss": 1.0, "conflicting_pairs": 2,
    ...                      "conflict_rate": 0.1, "grad_seconds": 0.2, "select_seconds": 0.01,
    ...                      "train_seconds": 0.1},
    ...                     {"type": "done", **run, "steps": 1}]
    ...     return out
    >>> summary = summarize(records())
    >>> print(domain_table(summary, "accuracy"))
    | method | chem/b | math/a |
    | --- | --- | --- |
    | partitionsel | 0.162 ± 0.018 | 0.325 ± 0.035 |
    | random | 0.125 ± 0.035 | 0.250 ± 0.071 |
    """
    lines = [_row(["method", *summary.domains]), _row(["---"] * (len(summary.domains) + 1))]
    for m in summary.methods:
        lines.append(_row([m, *(_pm({s: v[d][metric] for s, v in summary.final[m].items()}, 3) for d in summary.domains)]))
    return "\n".join(lines)


def competence_table(records: Sequence[dict], summary: Summary) -> str:
    """Markdown: per domain, the unigram baseline's held-out loss, the start model's and the runs' at
    the last step (mean over every method and seed) — is the model competent on the domain?

    Empty when the records carry no ``unigram_loss`` (results files of earlier versions).

    Parameters
    ----------
    records : sequence of dict
    summary : Summary
        :func:`summarize` of ``records``.

    Returns
    -------
    str

    Examples
    --------
    >>> def records():
    ...     out = [{"type": "config", "config": "abc", "settings": {"steps": 1, "data": {"seed": 0}}}]
    ...     for seed in (0, 1):
    ...         run = {"method": "random", "seed": seed}
    ...         start = {"math/a": {"loss": 2.0, "accuracy": 0.0, "unigram_loss": 2.5}}
    ...         out += [{"type": "eval", **run, "step": 0, "scores": start},
    ...                 {"type": "eval", **run, "step": 1, "scores": {"math/a": {"loss": 1.0 + seed, "accuracy": 0.5}}},
    ...                 {"type": "step", **run, "step": 1, "loss": 1.0, "conflicting_pairs": 0,
    ...                  "conflict_rate": 0.0, "grad_seconds": 0.2, "select_seconds": 0.01, "train_seconds": 0.1},
    ...                 {"type": "done", **run, "steps": 1}]
    ...     return out
    >>> print(competence_table(records(), summarize(records())))
    | domain | unigram loss | start model | start / unigram | last step (all runs) | last / unigram |
    | --- | --- | --- | --- | --- | --- |
    | math/a | 2.500 | 2.000 | 0.80 | 1.500 | 0.60 |
    """
    start = next((r["scores"] for r in records if r["type"] == "eval" and r.get("step") == 0
                  and any("unigram_loss" in v for v in r["scores"].values())), None)
    if start is None:
        return ""
    lines = [_row(["domain", "unigram loss", "start model", "start / unigram", "last step (all runs)",
                   "last / unigram"]), _row(["---"] * 6)]
    for d in summary.domains:
        if "unigram_loss" not in start.get(d, {}):
            continue
        uni, first = start[d]["unigram_loss"], start[d]["loss"]
        last = float(np.mean([v[d]["loss"] for m in summary.methods for v in summary.final[m].values()]))
        lines.append(_row([d, f"{uni:.3f}", f"{first:.3f}", f"{first / uni:.2f}", f"{last:.3f}", f"{last / uni:.2f}"]))
    return "\n".join(lines)


def comparison_table(summary: Summary, domains: Sequence[str] | None = None) -> str:
    """Markdown: PartitionSel − baseline (macro accuracy, macro loss), paired over seeds (:func:`compare`).

    Parameters
    ----------
    summary : Summary
    domains : sequence of str, optional
        Average over these domains only (default all; e.g. ``summary.minority``).

    Returns
    -------
    str
        The table, or a one-line note when PartitionSel or every baseline is missing.

    Examples
    --------
    >>> def records():  # two methods x two seeds, one evaluation each, on two domains
    ...     out = [{"type": "config", "config": "abc", "settings": {"steps": 1, "data": {"seed": 0}}}]
    ...     for method, acc in (("random", 0.2), ("partitionsel", 0.3)):
    ...         for seed in (0, 1):
    ...             run = {"method": method, "seed": seed}
    ...             a = acc + seed * (0.1 if method == "random" else 0.05)
    ...             scores = {"math/a": {"loss": 2 - a, "accuracy": a},
    ...                       "chem/b": {"loss": 1.5 - a, "accuracy": a / 2}}
    ...             out += [{"type": "eval", **run, "step": 1, "scores": scores},
    ...                     {"type": "step", **run, "step": 1, "loss": 1.0, "conflicting_pairs": 2,
    ...                      "conflict_rate": 0.1, "grad_seconds": 0.2, "select_seconds": 0.01,
    ...                      "train_seconds": 0.1},
    ...                     {"type": "done", **run, "steps": 1}]
    ...     return out
    >>> summary = summarize(records())
    >>> print(comparison_table(summary))
    | baseline | seeds | Δ accuracy | p | exceeds seed noise | Δ loss | p | exceeds seed noise |
    | --- | --- | --- | --- | --- | --- | --- | --- |
    | random | 2 | +0.056 ± 0.027 | 0.205 | no | -0.075 ± 0.035 | 0.205 | no |
    """
    if REFERENCE not in summary.methods:
        return f"({REFERENCE} was not run)"
    acc, loss = compare(summary, "accuracy", domains=domains), compare(summary, "loss", domains=domains)
    if not acc:
        return f"(no baseline was run beside {REFERENCE})"
    lines = [_row(["baseline", "seeds", "Δ accuracy", "p", "exceeds seed noise", "Δ loss", "p", "exceeds seed noise"]),
             _row(["---"] * 8)]
    for a, l in zip(acc, loss):
        lines.append(_row([a["baseline"], str(a["seeds"]), _diff(a), _p(a["p"]), _yes(a), _diff(l), _p(l["p"]), _yes(l)]))
    return "\n".join(lines)


def plot(summary: Summary, out_dir: str | Path) -> list[Path]:
    """PNG figures: held-out loss and accuracy vs step per domain (mean ± sd band), the share of
    conflicting pairs in the selected batch per method (comparable across batch sizes, e.g. with
    ``full``), seconds per step per method. Returns their paths.

    Parameters
    ----------
    summary : Summary
    out_dir : str or Path
        Created if missing; drawn with matplotlib's Agg backend (no display).

    Returns
    -------
    list of Path
        ``loss_by_domain.png``, ``accuracy_by_domain.png``, ``conflicts_and_time.png``.

    Examples
    --------
    >>> def records():  # two methods x two seeds, one evaluation each, on two domains
    ...     out = [{"type": "config", "config": "abc", "settings": {"steps": 1, "data": {"seed": 0}}}]
    ...     for method, acc in (("random", 0.2), ("partitionsel", 0.3)):
    ...         for seed in (0, 1):
    ...             run = {"method": method, "seed": seed}
    ...             a = acc + seed * (0.1 if method == "random" else 0.05)
    ...             scores = {"math/a": {"loss": 2 - a, "accuracy": a},
    ...                       "chem/b": {"loss": 1.5 - a, "accuracy": a / 2}}
    ...             out += [{"type": "eval", **run, "step": 1, "scores": scores},
    ...                     {"type": "step", **run, "step": 1, "loss": 1.0, "conflicting_pairs": 2,
    ...                      "conflict_rate": 0.1, "grad_seconds": 0.2, "select_seconds": 0.01,
    ...                      "train_seconds": 0.1},
    ...                     {"type": "done", **run, "steps": 1}]
    ...     return out
    >>> summary = summarize(records())
    >>> import tempfile
    >>> [path.name for path in plot(summary, tempfile.mkdtemp())]
    ['loss_by_domain.png', 'accuracy_by_domain.png', 'conflicts_and_time.png']
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    cmap, size = (plt.get_cmap("tab10"), 10) if len(summary.methods) <= 10 else (plt.get_cmap("tab20"), 20)
    colors = {m: cmap(i % size) for i, m in enumerate(summary.methods)}
    for metric in ("loss", "accuracy"):
        cols = min(4, len(summary.domains))
        rows = -(-len(summary.domains) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False, sharex=True)
        for ax, d in zip(axes.flat, summary.domains):
            for m in summary.methods:
                x, y = summary.curves[m][d][metric]
                mean, sd = y.mean(axis=0), (y.std(axis=0, ddof=1) if y.shape[0] > 1 else np.zeros(y.shape[1]))
                lw = 2.2 if m == REFERENCE else 1.2
                ax.plot(x, mean, color=colors[m], label=m, linewidth=lw)
                ax.fill_between(x, mean - sd, mean + sd, color=colors[m], alpha=0.12)
            ax.set_title(d, fontsize=9)
            ax.tick_params(labelsize=7)
        spare = list(axes.flat[len(summary.domains):])
        for ax in spare:
            ax.axis("off")
        fig.supxlabel("step")
        fig.supylabel(f"held-out {metric}")
        handles, labels = axes.flat[0].get_legend_handles_labels()
        if spare:  # the legend in the empty panels
            spare[0].legend(handles, labels, loc="center left" if len(spare) > 1 else "center", fontsize=9,
                            ncol=2 if len(spare) > 1 else 1)
            fig.tight_layout()
        else:
            fig.legend(handles, labels, loc="lower center", ncol=min(5, len(labels)), fontsize=8)
            fig.tight_layout(rect=(0, 0.08, 1, 1))
        paths.append(out_dir / f"{metric}_by_domain.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
    x = np.arange(len(summary.methods))
    rates = [summary.steps[m]["conflict_rate"] for m in summary.methods]
    left.bar(x, [np.mean(p) for p in rates], yerr=[np.std(p, ddof=1) if len(p) > 1 else 0 for p in rates],
             color=[colors[m] for m in summary.methods])
    left.set_xticks(x, summary.methods, rotation=40, ha="right", fontsize=8)
    left.set_ylabel("conflicting pairs / all pairs of the batch")
    bottom = np.zeros(len(summary.methods))
    for key, label in zip(TIMES, ("gradients", "selection", "training")):
        height = np.array([np.mean(summary.steps[m][key]) for m in summary.methods])
        right.bar(x, height, bottom=bottom, label=label)
        bottom += height
    right.set_xticks(x, summary.methods, rotation=40, ha="right", fontsize=8)
    right.set_ylabel("seconds per step")
    right.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out_dir / "conflicts_and_time.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def settings_table(records: Sequence[dict]) -> str:
    """Markdown: the sweep's settings from the records' ``config`` header ('' when there is none).

    Parameters
    ----------
    records : sequence of dict

    Returns
    -------
    str
        Nested settings are flattened to ``outer.inner``.

    Examples
    --------
    >>> def records():  # two methods x two seeds, one evaluation each, on two domains
    ...     out = [{"type": "config", "config": "abc", "settings": {"steps": 1, "data": {"seed": 0}}}]
    ...     for method, acc in (("random", 0.2), ("partitionsel", 0.3)):
    ...         for seed in (0, 1):
    ...             run = {"method": method, "seed": seed}
    ...             a = acc + seed * (0.1 if method == "random" else 0.05)
    ...             scores = {"math/a": {"loss": 2 - a, "accuracy": a},
    ...                       "chem/b": {"loss": 1.5 - a, "accuracy": a / 2}}
    ...             out += [{"type": "eval", **run, "step": 1, "scores": scores},
    ...                     {"type": "step", **run, "step": 1, "loss": 1.0, "conflicting_pairs": 2,
    ...                      "conflict_rate": 0.1, "grad_seconds": 0.2, "select_seconds": 0.01,
    ...                      "train_seconds": 0.1},
    ...                     {"type": "done", **run, "steps": 1}]
    ...     return out
    >>> print(settings_table(records()))
    Configuration `abc`:
    <BLANKLINE>
    | setting | value |
    | --- | --- |
    | `steps` | `1` |
    | `data.seed` | `0` |
    <BLANKLINE>
    """
    header = next((r for r in records if r["type"] == "config"), None)
    if header is None:
        return ""
    flat = {}
    for key, value in header["settings"].items():
        for name, v in (value.items() if isinstance(value, dict) else [(None, value)]):
            flat[f"{key}.{name}" if name else key] = v
    lines = [_row(["setting", "value"]), _row(["---", "---"])]
    lines += [_row([f"`{k}`", f"`{json.dumps(v)}`"]) for k, v in flat.items()]
    return f"Configuration `{header['config']}`:\n\n" + "\n".join(lines) + "\n"


def write_report(records: Sequence[dict], markdown: str | Path, figures: str | Path, *, command: str,
                 notes: str = "") -> Path:
    """Write the markdown report: ``notes``, the tables, the figures (linked relatively), the settings and the command.

    ``markdown``: ``notes`` (free text), the tables, the figures (written to ``figures``, linked
    relatively), the settings and the command that produced the records.

    Parameters
    ----------
    records : sequence of dict
        The records of one configuration.
    markdown : str or Path
        The report file (its folder is created).
    figures : str or Path
        The folder of the PNG figures (:func:`plot`).
    command : str
        The command that produced the records, quoted in the report.
    notes : str, default ''
        Markdown put at the top.

    Returns
    -------
    Path
        ``markdown``.

    Raises
    ------
    ValueError
        When no run in ``records`` is finished.

    Examples
    --------
    >>> def records():  # two methods x two seeds, one evaluation each, on two domains
    ...     out = [{"type": "config", "config": "abc", "settings": {"steps": 1, "data": {"seed": 0}}}]
    ...     for method, acc in (("random", 0.2), ("partitionsel", 0.3)):
    ...         for seed in (0, 1):
    ...             run = {"method": method, "seed": seed}
    ...             a = acc + seed * (0.1 if method == "random" else 0.05)
    ...             scores = {"math/a": {"loss": 2 - a, "accuracy": a},
    ...                       "chem/b": {"loss": 1.5 - a, "accuracy": a / 2}}
    ...             out += [{"type": "eval", **run, "step": 1, "scores": scores},
    ...                     {"type": "step", **run, "step": 1, "loss": 1.0, "conflicting_pairs": 2,
    ...                      "conflict_rate": 0.1, "grad_seconds": 0.2, "select_seconds": 0.01,
    ...                      "train_seconds": 0.1},
    ...                     {"type": "done", **run, "steps": 1}]
    ...     return out
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = write_report(records(), os.path.join(folder, "results.md"), os.path.join(folder, "figures"),
    ...                     command="python -m matroidomp.bench report")
    >>> path.read_text().splitlines()[0]
    '# Heterogeneous fine-tuning benchmark'
    >>> sorted(os.listdir(os.path.join(folder, "figures")))
    ['accuracy_by_domain.png', 'conflicts_and_time.png', 'loss_by_domain.png']
    """
    summary = summarize(records)
    markdown = Path(markdown)
    paths = plot(summary, figures)
    links = "\n".join(f"![{p.stem}]({os.path.relpath(p, markdown.parent)})" for p in paths)
    text = f"""# Heterogeneous fine-tuning benchmark

Produced by

```bash
{command}
```

{notes}
## Macro averages at the last step (mean ± sd over seeds)

{results_table(summary)}

## PartitionSel against each baseline (paired over seeds)

{comparison_table(summary)}
{_minority_section(summary)}
## Held-out exact-match accuracy per domain at the last step

{domain_table(summary, "accuracy")}

## Held-out loss per domain at the last step

{domain_table(summary, "loss")}
{_competence_section(records, summary)}
## Figures

{links}

## Settings

{settings_table(records)}"""
    markdown.parent.mkdir(parents=True, exist_ok=True)
    markdown.write_text(text)
    return markdown


def _minority_section(summary) -> str:
    return f"""
## PartitionSel against each baseline on the minority domains (paired over seeds)

Minority domains: those drawn less often than 1/{len(summary.domains)} of the pool ({", ".join(summary.minority)}).

{comparison_table(summary, summary.minority)}
""" if summary.minority else ""


def _competence_section(records, summary) -> str:
    table = competence_table(records, summary)
    return f"""
## The model against a unigram baseline (held-out loss per domain)

A domain's unigram loss is that of its answer-token frequencies on the training split
(add-one smoothing, `matroidomp.bench.text.unigram_answer_losses`): a ratio well below 1
means the model knows more about the domain than which tokens its answers use.

{table}
""" if table else ""


def _method_order(method: str) -> tuple:
    """Sort key: the position in METHODS, then the name."""
    return (METHODS.index(method) if method in METHODS else len(METHODS), method)


def _pm(values, digits: int) -> str:
    """'mean ± sd' of the values (a dict's values or a sequence), just the mean for one value."""
    v = np.array(list(values.values()) if isinstance(values, dict) else values, dtype=float)
    if v.size > 1:
        return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"
    return f"{v.mean():.{digits}f}"


def _diff(row: dict) -> str:
    """A comparison row's signed mean difference, ± its sd when there is one."""
    if np.isnan(row["std"]):
        return f"{row['mean']:+.3f}"
    return f"{row['mean']:+.3f} ± {row['std']:.3f}"


def _p(p: float) -> str:
    """A p-value with three decimals ('< 0.001' below that), '–' for NaN."""
    if np.isnan(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _yes(row: dict) -> str:
    """'yes' (also after Holm's correction), 'yes, uncorrected' or 'no' for a comparison row's
    exceeds_noise, '– (one seed)' without a p-value."""
    if np.isnan(row["p"]):
        return "– (one seed)"
    if not row["exceeds_noise"]:
        return "no"
    return "yes" if row["p_holm"] < 0.05 else "yes, uncorrected"


def _row(cells) -> str:
    """One markdown table row."""
    return "| " + " | ".join(cells) + " |"
