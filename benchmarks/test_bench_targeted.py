"""Benchmark: the targeted functions (FLMI, FLCG, GCMI) — ours against submodlib's.

One problem: n = 2,000 Gaussian points in 32 dimensions and 20 query (or private) points drawn
around two of them; the similarities of :func:`matroidomp.feature_similarities` ((1 + cos) / 2) as
float32 (submodlib stores its kernels in float32); k = 100. Each timing includes building the
function from the precomputed kernels (numba compilation excluded by a warm-up on a small
instance):

- ``ours``            ``greedy(f, k)``: lazy greedy;
- ``ours_naive``      ``greedy(f, k, lazy=False)``;
- ``submodlib_lazy``  ``<F>Function(n, ..., data_sijs=S, query_sijs=T).maximize(k, 'LazyGreedy')``;
- ``submodlib_naive`` the same with ``'NaiveGreedy'``;

with f one of ``FacilityLocationMutualInformation(S, T)`` (η = 1), ``FacilityLocationConditionalGain(S, T)``
(ν = 1) and ``GraphCutMutualInformation(T)``. FLMI and FLCG have exact ties by construction (a
point's query level reached by several candidates; gains of 0 once everything near the query is
covered), which the libraries break differently (submodlib in hash-set order, we by the lowest
index): so the report gives both whether the selections are the same in order and the ratio of
the values f(ours) / f(theirs). Selections are recorded, never asserted here
(tests/test_targeted.py asserts agreement up to ties); times are never asserted. submodlib is
optional (``pip install submodlib-py``). Run

    NUMBA_NUM_THREADS=1 pytest benchmarks/test_bench_targeted.py     # pytest-benchmark table
    NUMBA_NUM_THREADS=1 python benchmarks/test_bench_targeted.py     # times over repeats and ratios
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import alternate, span, summary, summary_line  # noqa: E402

from matroidomp import (  # noqa: E402
    FacilityLocationConditionalGain,
    FacilityLocationMutualInformation,
    GraphCutMutualInformation,
    feature_similarities,
    greedy,
)

try:
    import submodlib
except ImportError:  # pragma: no cover - depends on the environment
    submodlib = None

N, DIM, QUERIES, K, REPEATS = 2_000, 32, 20, 100, 3
#: Warm-up size: above the 1024 candidates from which gain batches run in parallel, so both
#: variants are compiled (or loaded from numba\'s cache) before the first timed round.
WARMUP_N = 1_100
FUNCTIONS = ("flmi", "flcg", "gcmi")
METHODS = ("ours", "ours_naive", "submodlib_lazy", "submodlib_naive")


@lru_cache(maxsize=3)
def kernels(n: int = N) -> tuple[np.ndarray, np.ndarray]:
    """(S, T): the n x n ground similarity and the n x QUERIES query similarity, float32."""
    rng = np.random.default_rng(2025)
    X = rng.standard_normal((n, DIM)).astype(np.float32)
    Q = X[rng.choice(n, 2, replace=False)].repeat(QUERIES // 2, axis=0)
    Q = Q + 0.5 * rng.standard_normal(Q.shape).astype(np.float32)
    return feature_similarities(X, Q, "cosine")


def ours_function(function: str, S: np.ndarray, T: np.ndarray):
    if function == "flmi":
        return FacilityLocationMutualInformation(S, T, eta=1.0)
    if function == "flcg":
        return FacilityLocationConditionalGain(S, T, nu=1.0)
    return GraphCutMutualInformation(T)


def theirs_function(function: str, S: np.ndarray, T: np.ndarray):
    n, q = T.shape
    if function == "flmi":
        return submodlib.FacilityLocationMutualInformationFunction(n=n, num_queries=q, data_sijs=S, query_sijs=T,
                                                                    magnificationEta=1.0)
    if function == "flcg":
        return submodlib.FacilityLocationConditionalGainFunction(n=n, num_privates=q, data_sijs=S, private_sijs=T,
                                                                  privacyHardness=1.0)
    return submodlib.GraphCutMutualInformationFunction(n=n, num_queries=q, query_sijs=T)


def run(function: str, method: str, S: np.ndarray, T: np.ndarray, k: int) -> np.ndarray:
    if method.startswith("ours"):
        return greedy(ours_function(function, S, T), k, lazy=method == "ours").indices
    optimizer = "LazyGreedy" if method == "submodlib_lazy" else "NaiveGreedy"
    out = theirs_function(function, S, T).maximize(budget=k, optimizer=optimizer, stopIfZeroGain=False,
                                                   stopIfNegativeGain=False, verbose=False, show_progress=False)
    return np.array([i for i, _ in out])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_targeted_greedy(benchmark, function, method):
    if method.startswith("submodlib") and submodlib is None:
        pytest.skip("submodlib is not installed (pip install submodlib-py)")
    run(function, method, *kernels(WARMUP_N), 10)  # compile
    S, T = kernels()
    benchmark.group = f"{function} n={N} |Q|={QUERIES} k={K}"
    selected = benchmark.pedantic(run, args=(function, method, S, T, K), rounds=REPEATS, warmup_rounds=0,
                                  iterations=1)
    assert len(selected) == K
    if method != "ours":
        benchmark.extra_info["same_order_as_ours"] = bool(np.array_equal(selected, run(function, "ours", S, T, K)))


def measure(function: str, repeats: int = REPEATS) -> dict:
    """Times of every method in alternation, the ratios submodlib / ours and the agreement, for one function."""
    S, T = kernels()
    small = kernels(WARMUP_N)
    methods = {m: (lambda m=m: run(function, m, S, T, K)) for m in METHODS}

    def build_only():  # submodlib's constructor alone: its conversion of the kernels to nested lists
        theirs_function(function, S, T)
        return np.empty(0)

    methods["submodlib_build"] = build_only
    warmup = {m: (lambda m=m: run(function, m, *small, 10)) for m in METHODS}
    times, picks = alternate(methods, repeats, warmup)
    return summary(times, picks, ours_function(function, S, T), "submodlib")


def report(repeats: int = REPEATS) -> None:
    print(f"n={N}, d={DIM}, |Q|={QUERIES}, k={K}, float32 cosine kernels, eta = nu = 1; {repeats} repeats in "
          "alternation [s]; picks compared with submodlib's naive greedy")
    for function in FUNCTIONS:
        r = measure(function, repeats)
        print(summary_line(function, r, "submodlib") + f"  (submodlib's constructor alone {span(r['times']['submodlib_build'])})")

if __name__ == "__main__":
    if submodlib is None:
        raise SystemExit("submodlib is not installed (pip install submodlib-py)")
    report()
