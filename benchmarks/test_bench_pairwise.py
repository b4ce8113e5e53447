"""Benchmark: facility location, graph cut, saturated coverage, sum redundancy and a mixture — ours against apricot.

One problem: n = 3,000 Gaussian points in 32 dimensions, s_ij = (1 + cos(x_i, x_j)) / 2 as
float64 (apricot's kernels take float64), its diagonal raised by a random 0-0.01 so that no
first step ties (sum redundancy's first gains are −s_jj), k = 100. Each function is maximised
from that precomputed matrix (numba compilation excluded by a warm-up on a small instance):

- ``ours``          ``greedy(f, k)``: lazy greedy;
- ``ours_naive``    ``greedy(f, k, lazy=False)``: every gain each step (one batched kernel call; the
                    same selection; for O(1) gains it beats the lazy heap's Python overhead);
- ``apricot_lazy``  ``<Function>Selection(k, metric='precomputed', optimizer='lazy')``;
- ``apricot_naive`` the same with ``optimizer='naive'``.

with f one of ``FacilityLocation(S)``, ``GraphCut(S, lam=0.5)`` (apricot ``alpha=2``), ``SaturatedCoverage(S, 0.1)``,
``SumRedundancy(S)`` and ``Mixture([FacilityLocation(S), GraphCut(S, 0.5)], [1, 0.5])`` (apricot
weights [1, 0.25]). Whether apricot selects what we select is recorded (``extra_info``; the
report names the first step where the orders differ and whether it is an exact tie), never
asserted here (tests/test_pairwise.py and tests/test_mixture.py assert it on small instances);
times are never asserted. Run

    NUMBA_NUM_THREADS=1 pytest benchmarks/test_bench_pairwise.py     # pytest-benchmark table
    NUMBA_NUM_THREADS=1 python benchmarks/test_bench_pairwise.py     # times over repeats and ratios
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import alternate, summary, summary_line  # noqa: E402

from matroidomp import FacilityLocation, GraphCut, Mixture, SaturatedCoverage, SumRedundancy, greedy  # noqa: E402
from matroidomp import similarity_matrix  # noqa: E402

try:
    import apricot
except ImportError:  # pragma: no cover - depends on the environment
    apricot = None

N, DIM, K, ROUNDS = 3_000, 32, 100, 3
#: Warm-up size: above the 1024 candidates from which gain batches run in parallel, so both
#: variants are compiled (or loaded from numba\'s cache) before the first timed round.
WARMUP_N = 1_100
REFERENCE = "apricot"
FUNCTIONS = ("facility_location", "graph_cut", "saturated_coverage", "sum_redundancy", "mixture")
METHODS = ("ours", "ours_naive", "apricot_lazy", "apricot_naive")


@lru_cache(maxsize=3)
def similarity(n: int = N) -> np.ndarray:
    rng = np.random.default_rng(2025)
    s = similarity_matrix(rng.standard_normal((n, DIM)), "cosine")
    s[np.diag_indices(n)] += rng.random(n) * 0.01
    return s


def ours_function(function: str, s: np.ndarray):
    return {
        "facility_location": lambda: FacilityLocation(s),
        "graph_cut": lambda: GraphCut(s, lam=0.5),
        "saturated_coverage": lambda: SaturatedCoverage(s, alpha=0.1),
        "sum_redundancy": lambda: SumRedundancy(s),
        "mixture": lambda: Mixture([FacilityLocation(s), GraphCut(s, lam=0.5)], [1.0, 0.5]),
    }[function]()


def ours(function: str, s: np.ndarray, k: int, lazy: bool = True) -> np.ndarray:
    return greedy(ours_function(function, s), k, lazy=lazy).indices


def theirs(function: str, s: np.ndarray, k: int, optimizer: str) -> np.ndarray:
    kw = {"metric": "precomputed", "optimizer": optimizer}
    if function == "facility_location":
        sel = apricot.FacilityLocationSelection(k, **kw)
    elif function == "graph_cut":
        sel = apricot.GraphCutSelection(k, alpha=2.0, **kw)
    elif function == "saturated_coverage":
        sel = apricot.SaturatedCoverageSelection(k, alpha=0.1, **kw)
    elif function == "sum_redundancy":
        sel = apricot.SumRedundancySelection(k, **kw)
    else:
        parts = [apricot.FacilityLocationSelection(k, metric="precomputed"),
                 apricot.GraphCutSelection(k, metric="precomputed", alpha=2.0)]
        sel = apricot.MixtureSelection(k, parts, weights=np.array([1.0, 0.25]), optimizer=optimizer)
    return np.asarray(sel.fit(s).ranking)


def run(function: str, method: str, s: np.ndarray, k: int) -> np.ndarray:
    if method.startswith("ours"):
        return ours(function, s, k, lazy=method == "ours")
    return theirs(function, s, k, method.split("_")[1])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_pairwise_greedy(benchmark, function, method):
    if method.startswith("apricot") and apricot is None:
        pytest.skip("apricot is not installed (pip install apricot-select, extra 'bench')")
    run(function, method, similarity(WARMUP_N), 10)  # compile
    s = similarity()
    benchmark.group = f"{function} n={N} k={K}"
    selected = benchmark.pedantic(run, args=(function, method, s, K), rounds=ROUNDS, warmup_rounds=0, iterations=1)
    assert len(selected) == K
    if method != "ours":
        benchmark.extra_info["same_order_as_ours"] = bool(np.array_equal(selected, ours(function, s, K)))


def measure(function: str, repeats: int = ROUNDS) -> dict:
    """Times of every method in alternation, the ratios apricot / ours and the agreement, for one function."""
    s, small = similarity(), similarity(WARMUP_N)
    methods = {m: (lambda m=m: run(function, m, s, K)) for m in METHODS}
    warmup = {m: (lambda m=m: run(function, m, small, 10)) for m in METHODS}
    times, picks = alternate(methods, repeats, warmup)
    return summary(times, picks, ours_function(function, s), "apricot")


def report(repeats: int = ROUNDS) -> None:
    """Times over repeats in alternation, ratios apricot / ours (lazy / lazy, naive / naive) and
    selection agreement, in one run."""
    print(f"n={N}, d={DIM}, k={K}, float64 cosine similarity; {repeats} repeats in alternation [s]; "
          "picks compared with apricot's naive greedy")
    for function in FUNCTIONS:
        print(summary_line(function, measure(function, repeats), "apricot"))

if __name__ == "__main__":
    if apricot is None:
        raise SystemExit("apricot is not installed (pip install apricot-select, extra 'bench')")
    report()
