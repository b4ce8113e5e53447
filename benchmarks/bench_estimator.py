"""Benchmark: ``SubsetSelector.fit`` against the direct calls and against apricot's selectors, end to end.

One problem: n points uniform in [0, 1]^d (float64), k selections, lazy greedy. Timed from the
features (each method builds its own similarity or feature sums, and pays its input checks):

- ``estimator``  ``SubsetSelector(function, k=k, metric='euclidean').fit(X)``;
- ``direct``     ``greedy(FacilityLocation.from_features(X, 'euclidean'), k)`` (or ``FeatureBased(X)``):
                 the estimator's overhead is the ratio estimator / direct;
- ``apricot``    ``FacilityLocationSelection(k, metric='euclidean', optimizer='lazy')``
                 (or ``FeatureBasedSelection(k, 'sqrt')``), whose euclidean similarity is ours.

numba compilation (ours and apricot's) is excluded by a warm-up on the first 1500 rows. Each method
runs ``--repeats`` times in alternation; the script prints the range of times and of the ratios
over the repeats, and whether the rankings agree. Run

    NUMBA_NUM_THREADS=1 python benchmarks/bench_estimator.py [--n 4000] [--d 32] [--k 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import alternate, ratio_range, span  # noqa: E402

import matroidomp as mo  # noqa: E402

try:
    from apricot import FacilityLocationSelection, FeatureBasedSelection
except ImportError:  # pragma: no cover - depends on the environment
    FacilityLocationSelection = FeatureBasedSelection = None


def methods(function: str, k: int) -> dict:
    """``name -> callable(X) -> ranking`` for one function."""
    if function == "facility-location":
        direct = lambda X: mo.greedy(mo.FacilityLocation.from_features(X, "euclidean"), k).indices  # noqa: E731
        apricot = None if FacilityLocationSelection is None else \
            lambda X: FacilityLocationSelection(k, metric="euclidean", optimizer="lazy").fit(X).ranking  # noqa: E731
    else:
        direct = lambda X: mo.greedy(mo.FeatureBased(X), k).indices  # noqa: E731
        apricot = None if FeatureBasedSelection is None else \
            lambda X: FeatureBasedSelection(k, concave_func="sqrt", optimizer="lazy").fit(X).ranking  # noqa: E731
    out = {"estimator": lambda X: mo.SubsetSelector(function, k=k, metric="euclidean").fit(X).ranking_,
           "direct": direct}
    if apricot is not None:
        out["apricot"] = apricot
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--d", type=int, default=32)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    X = np.random.default_rng(0).random((args.n, args.d))
    for function in ("facility-location", "feature-based"):
        run = methods(function, args.k)
        # warm-up: compilation (serial and parallel gain batches, from 1024 up)
        warmup = {name: (lambda fn=fn: fn(X[:min(args.n, 1500)])) for name, fn in run.items()}
        times, rankings = alternate({name: (lambda fn=fn: fn(X)) for name, fn in run.items()}, args.repeats, warmup)
        print(f"{function}: n = {args.n}, d = {args.d}, k = {args.k}, {args.repeats} repeats")
        for name, ts in times.items():
            same = np.array_equal(rankings[name], rankings["direct"])
            print(f"  {name:9s} {span(ts)} s   / direct {span(ratio_range(times, name, 'direct'), 2)}"
                  f"   same ranking as direct: {same}")

if __name__ == "__main__":
    main()
