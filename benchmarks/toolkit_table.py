"""Benchmark: every submodular function of the toolkit against its reference library, in one run, as one table.

Each row is one function maximised by greedy (k = 100) from precomputed data, ours and the
reference's lazy and naive optimizers timed in alternation over ``--repeats`` rounds (compilation
excluded by warm-ups); the ratio is reference time / our time per round, given as the range over
rounds. The picks column compares our lazy greedy with the reference's naive greedy: the same
order, or the first step where they differ and whether our gains tie exactly there.

- apricot 0.6.1 (benchmarks/test_bench_pairwise.py, n = 3,000, d = 32, float64 (1 + cos) / 2):
  facility location, graph cut (λ = ½, apricot α = 2), saturated coverage (α = 0.1), sum
  redundancy, mixture (facility location + ½ graph cut); feature-based (√) on n = 3,000 uniform
  points in [0, 1]^32 (this file);
- submodlib 0.0.3 (test_bench_logdet.py and test_bench_targeted.py, n = 2,000, float32 kernels,
  timings include building the function, i.e. submodlib's conversion of the kernels to nested
  lists): log-determinant (λ = 1; one row with ``check_psd=False``, one with the default O(n³)
  PSD check, which submodlib does not make), FLMI (η = 1), FLCG (ν = 1) and GCMI with 20 query
  points.

Run

    NUMBA_NUM_THREADS=1 python benchmarks/toolkit_table.py [--repeats 3] [--out docs/results/toolkit-table.md]

``--out`` writes the markdown table atomically (``matroidomp._io.replace_text``: a temporary file,
then ``os.replace``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_bench_logdet as logdet  # noqa: E402
import test_bench_pairwise as pairwise  # noqa: E402
import test_bench_targeted as targeted  # noqa: E402
from compare import alternate, span, summary  # noqa: E402

from matroidomp import FeatureBased, greedy  # noqa: E402
from matroidomp._io import replace_text  # noqa: E402

try:
    import apricot
except ImportError:  # pragma: no cover - depends on the environment
    apricot = None

FEATURE_N, FEATURE_DIM, K = 3_000, 32, 100
WARMUP_N = pairwise.WARMUP_N


def measure_feature_based(repeats: int) -> dict:
    """Feature-based (√) on nonnegative features: ours against apricot's ``FeatureBasedSelection``."""
    X = np.random.default_rng(2025).random((FEATURE_N, FEATURE_DIM))

    def ours(Z, k, lazy):
        return greedy(FeatureBased(Z, concave="sqrt"), k, lazy=lazy).indices

    def theirs(Z, k, optimizer):
        return np.asarray(apricot.FeatureBasedSelection(k, concave_func="sqrt", optimizer=optimizer).fit(Z).ranking)

    methods = {"ours": lambda: ours(X, K, True), "ours_naive": lambda: ours(X, K, False),
               "apricot_lazy": lambda: theirs(X, K, "lazy"), "apricot_naive": lambda: theirs(X, K, "naive")}
    small = X[:WARMUP_N]
    warmup = {"ours": lambda: ours(small, 10, True), "ours_naive": lambda: ours(small, 10, False),
              "apricot_lazy": lambda: theirs(small, 10, "lazy"), "apricot_naive": lambda: theirs(small, 10, "naive")}
    times, picks = alternate(methods, repeats, warmup)
    return summary(times, picks, FeatureBased(X, concave="sqrt"), "apricot")


def rows(repeats: int):
    """(function, reference, problem, measurement) for every function whose reference is installed."""
    if apricot is not None:
        for function in pairwise.FUNCTIONS:
            yield function, "apricot", f"n={pairwise.N}", pairwise.measure(function, repeats)
        yield "feature_based", "apricot", f"n={FEATURE_N}", measure_feature_based(repeats)
    if logdet.submodlib is not None:
        r = logdet.measure(repeats=repeats)
        checked = dict(r, times=dict(r["times"]))
        r["times"]["ours"], r["lazy"] = r["times"]["ours_unchecked"], r["lazy_unchecked"]
        yield "log_determinant", "submodlib", f"n={logdet.N}", r
        yield "log_determinant (with the O(n³) PSD check)", "submodlib", f"n={logdet.N}", checked
        for function in targeted.FUNCTIONS:
            yield function, "submodlib", f"n={targeted.N}, {targeted.QUERIES} queries", targeted.measure(function, repeats)


def table(repeats: int) -> str:
    lines = [
        f"| function | reference | problem (k = {K}) | ours lazy [s] | ref. lazy [s] | ratio lazy | "
        "ours naive [s] | ref. naive [s] | ratio naive | picks vs ref. naive | f(ours) / f(ref.) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for function, reference, problem, r in rows(repeats):
        t = r["times"]
        line = (f"| {function.replace('_', ' ')} | {reference} | {problem} | {span(t['ours'])} | "
                f"{span(t[reference + '_lazy'])} | {span(r['lazy'], 1)} | {span(t['ours_naive'])} | "
                f"{span(t[reference + '_naive'])} | {span(r['naive'], 1)} | {r['agreement']} | "
                f"{r['value_ratio']:.6f} |")
        lines.append(line)
        print(line, flush=True)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if apricot is None and logdet.submodlib is None:
        raise SystemExit("neither apricot (apricot-select) nor submodlib (submodlib-py) is installed")
    text = table(args.repeats)
    if args.out is not None:
        replace_text(args.out, f"<!-- python benchmarks/toolkit_table.py --repeats {args.repeats} -->\n" + text)


if __name__ == "__main__":
    main()
