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
import time

import numpy as np

import matroidomp as mo

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
        for fn in run.values():  # warm-up: compilation (serial and parallel gain batches, from 1024 up)
            fn(X[:min(args.n, 1500)])
        times = {name: [] for name in run}
        rankings = {}
        for _ in range(args.repeats):
            for name, fn in run.items():
                start = time.perf_counter()
                rankings[name] = np.asarray(fn(X)).tolist()
                times[name].append(time.perf_counter() - start)
        print(f"{function}: n = {args.n}, d = {args.d}, k = {args.k}, {args.repeats} repeats")
        for name, ts in times.items():
            ratio = np.array(ts) / np.array(times["direct"])
            same = rankings[name] == rankings["direct"]
            print(f"  {name:9s} {min(ts):7.3f}-{max(ts):7.3f} s   / direct {ratio.min():5.2f}-{ratio.max():5.2f}"
                  f"   same ranking as direct: {same}")


if __name__ == "__main__":
    main()
