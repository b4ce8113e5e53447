"""Benchmark: lazy greedy facility location — ours against apricot and submodlib.

One problem, shared by every library: n = 10,000 Gaussian points in 64 dimensions, similarity
s_ij = (1 + cos(x_i, x_j)) / 2 (nonnegative, float32, 400 MB, built once by
``matroidomp._submodular.similarity_matrix``), k = 500. Timed, each from that precomputed matrix
(so every method pays its own input checks and conversions; numba compilation is excluded by a
warm-up on a small matrix):

- ``ours_1domain``    ``greedy(FacilityLocation(S), k)``: lazy greedy under |S| <= k;
- ``ours_4domains``   the same under a 4-domain partition matroid (domain sizes about
                      50/25/15/10 %, budgets by ``proportional_budgets``);
- ``apricot``         ``FacilityLocationSelection(k, metric='precomputed', optimizer='lazy')``;
- ``submodlib``       ``FacilityLocationFunction(n, mode='dense', sijs=S, separate_rep=False)``
                      maximised with ``'LazyGreedy'``.

apricot and submodlib have no matroid constraint, so only the one-domain selection is compared
with theirs (``extra_info``: identical order, overlap, first differing step, objective). That
lazy greedy selects exactly what naive greedy selects is asserted on a smaller instance
(n = 2,000, k = 100, both constraints): naive greedy at full size makes ~5 million gain
evaluations of 10,000 terms each. Times are never asserted. Run

    pytest benchmarks/test_bench_greedy.py        # pytest-benchmark table
    python benchmarks/test_bench_greedy.py        # times, ratios ours / reference, agreement
"""

from __future__ import annotations

import time
from functools import lru_cache

import numpy as np
import pytest

from matroidomp import PartitionMatroid, proportional_budgets
from matroidomp import greedy
from matroidomp._submodular import FacilityLocation, similarity_matrix

try:
    from apricot import FacilityLocationSelection
except ImportError:  # pragma: no cover - depends on the environment
    FacilityLocationSelection = None
try:
    from submodlib import FacilityLocationFunction
except ImportError:  # pragma: no cover - depends on the environment
    FacilityLocationFunction = None

N, DIM, K = 10_000, 64, 500
DOMAIN_SHARES = (0.50, 0.25, 0.15, 0.10)
#: Timed rounds per method (submodlib takes several times longer than the others).
ROUNDS = {"ours_1domain": 3, "ours_4domains": 3, "apricot": 3, "submodlib": 1}
MISSING = {
    "apricot": FacilityLocationSelection is None,
    "submodlib": FacilityLocationFunction is None,
}


@lru_cache(maxsize=3)
def problem(n: int = N, k: int = K):
    """(similarity, one-domain matroid, 4-domain matroid) for n points, k selections."""
    rng = np.random.default_rng(2024)
    sim = similarity_matrix(rng.standard_normal((n, DIM)).astype(np.float32), "cosine")
    labels = rng.choice(len(DOMAIN_SHARES), size=n, p=DOMAIN_SHARES)
    return sim, PartitionMatroid.cardinality(n, k), PartitionMatroid(labels, proportional_budgets(labels, k))


def ours(sim, matroid) -> np.ndarray:
    return greedy(FacilityLocation(sim), matroid).indices


def apricot(sim, k: int) -> np.ndarray:
    return FacilityLocationSelection(k, metric="precomputed", optimizer="lazy", verbose=False).fit(sim).ranking


def submodlib(sim, k: int) -> np.ndarray:
    f = FacilityLocationFunction(n=sim.shape[0], mode="dense", sijs=sim, separate_rep=False)
    chosen = f.maximize(budget=k, optimizer="LazyGreedy", show_progress=False)
    return np.array([j for j, _ in chosen], dtype=np.int64)


def run(method: str, sim, one: PartitionMatroid, four: PartitionMatroid) -> np.ndarray:
    """The selection of ``method`` (what is timed: the similarity is already built)."""
    if method == "ours_1domain":
        return ours(sim, one)
    if method == "ours_4domains":
        return ours(sim, four)
    return {"apricot": apricot, "submodlib": submodlib}[method](sim, one.rank)


def warm_up(method: str) -> None:
    """Compile numba kernels (ours, apricot) on a small instance."""
    run(method, *problem(300, 10))


def agreement(ref: np.ndarray, mine: np.ndarray, f: FacilityLocation) -> dict:
    differ = np.flatnonzero(ref != mine)
    return {
        "same_order": bool(differ.size == 0),
        "overlap": int(np.intersect1d(ref, mine).size),
        "first_difference": int(differ[0]) if differ.size else None,
        "objective": f(ref),
        "objective_ours": f(mine),
    }


@pytest.mark.parametrize("method", list(ROUNDS))
def test_facility_location_lazy_greedy(benchmark, method):
    if MISSING.get(method):
        pytest.skip(f"{method} is not installed (pip install apricot-select / submodlib-py)")
    warm_up(method)
    sim, one, four = problem()
    benchmark.group = f"facility location n={N} d={DIM} k={K}"
    selected = benchmark.pedantic(
        run, args=(method, sim, one, four), rounds=ROUNDS[method], warmup_rounds=0, iterations=1
    )
    matroid = four if method == "ours_4domains" else one
    assert matroid.is_independent(selected) and len(selected) == matroid.rank
    if method in ("apricot", "submodlib"):
        benchmark.extra_info.update(agreement(selected, ours(sim, one), FacilityLocation(sim)))


@pytest.mark.parametrize("domains", [1, 4])
def test_lazy_equals_naive_on_a_smaller_instance(domains):
    sim, one, four = problem(2_000, 100)
    f = FacilityLocation(sim)
    matroid = one if domains == 1 else four
    lazy, naive = greedy(f, matroid), greedy(f, matroid, lazy=False)
    assert np.array_equal(lazy.indices, naive.indices)
    assert lazy.info["gain_evaluations"] < naive.info["gain_evaluations"]


def report() -> None:
    """Best-of-rounds times, ratios ours / reference and selection agreement, in one run."""
    times, picks = {}, {}
    for method, rounds in ROUNDS.items():
        if MISSING.get(method):
            print(f"{method}: not installed, skipped")
            continue
        warm_up(method)
        sim, one, four = problem()
        best = float("inf")
        for _ in range(rounds):
            t0 = time.perf_counter()
            picks[method] = run(method, sim, one, four)
            best = min(best, time.perf_counter() - t0)
        times[method] = best
    print(f"facility location, n={N}, d={DIM}, k={K}, float32 similarity; best of rounds")
    print(f"{'method':<15}{'rounds':>7}{'time [s]':>10}{'ours_1domain / it':>19}")
    for method, t in times.items():
        print(f"{method:<15}{ROUNDS[method]:>7}{t:>10.3f}{times['ours_1domain'] / t:>19.3f}")
    sim, one, four = problem()
    f = FacilityLocation(sim)
    for method in ("apricot", "submodlib"):
        if method in picks:
            print(method, "vs ours (one domain):", agreement(picks[method], picks["ours_1domain"], f))
    lazy = greedy(f, four)
    print("4 domains: budgets", four.budgets.tolist(), "counts", lazy.counts,
          "gain evaluations", lazy.info["gain_evaluations"])


if __name__ == "__main__":
    report()
