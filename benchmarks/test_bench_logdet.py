"""Benchmark: LogDeterminant greedy — ours against submodlib's ``LogDeterminantFunction``.

One problem: n = 2,000 Gaussian points in 32 dimensions, L_ij = (1 + cos(x_i, x_j)) / 2 as
float32 (submodlib stores its kernel in float32), its diagonal raised by distinct multiples of
0.01 / n so that no first step ties (random raises collide in float32; still PSD), λ = 1, k = 100. Each timing includes building the function from
the precomputed matrix (numba compilation excluded by a warm-up on a small instance):

- ``ours``            ``greedy(LogDeterminant(L, 1.0), k)``: lazy greedy, with the O(n³) PSD check;
- ``ours_unchecked``  the same with ``check_psd=False``;
- ``ours_naive``      ``greedy(LogDeterminant(L, 1.0, check_psd=False), k, lazy=False)``;
- ``submodlib_lazy``  ``LogDeterminantFunction(n, 'dense', lambdaVal=1, sijs=L).maximize(k, 'LazyGreedy')``;
- ``submodlib_naive`` the same with ``'NaiveGreedy'``.

Whether submodlib selects what we select is recorded, never asserted here
(tests/test_logdet.py asserts it on a small instance); times are never asserted. submodlib is
optional (``pip install submodlib-py``). Run

    NUMBA_NUM_THREADS=1 pytest benchmarks/test_bench_logdet.py     # pytest-benchmark table
    NUMBA_NUM_THREADS=1 python benchmarks/test_bench_logdet.py     # times over repeats and ratios
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import alternate, ratio_range, span, summary  # noqa: E402

from matroidomp import LogDeterminant, greedy, similarity_matrix  # noqa: E402

try:
    import submodlib
except ImportError:  # pragma: no cover - depends on the environment
    submodlib = None

N, DIM, K, ROUNDS = 2_000, 32, 100, 3
#: Warm-up size: above the 1024 candidates from which gain batches run in parallel, so both
#: variants are compiled (or loaded from numba\'s cache) before the first timed round.
WARMUP_N = 1_100
REFERENCE = "submodlib"
FUNCTIONS = ("log_determinant",)
METHODS = ("ours", "ours_unchecked", "ours_naive", "submodlib_lazy", "submodlib_naive")


@lru_cache(maxsize=3)
def kernel(n: int = N) -> np.ndarray:
    rng = np.random.default_rng(2025)
    L = similarity_matrix(rng.standard_normal((n, DIM)).astype(np.float32), "cosine")
    L[np.diag_indices(n)] += (rng.permutation(n) * (0.01 / n)).astype(np.float32)  # distinct in float32
    return L


def run(method: str, L: np.ndarray, k: int) -> np.ndarray:
    if method.startswith("ours"):
        f = LogDeterminant(L, 1.0, check_psd=method == "ours")
        return greedy(f, k, lazy=method != "ours_naive").indices
    f = submodlib.LogDeterminantFunction(n=L.shape[0], mode="dense", lambdaVal=1.0, sijs=L)
    optimizer = "LazyGreedy" if method == "submodlib_lazy" else "NaiveGreedy"
    out = f.maximize(budget=k, optimizer=optimizer, stopIfZeroGain=False, stopIfNegativeGain=False,
                     verbose=False, show_progress=False)
    return np.array([i for i, _ in out])


@pytest.mark.parametrize("method", METHODS)
def test_logdet_greedy(benchmark, method):
    if method.startswith("submodlib") and submodlib is None:
        pytest.skip("submodlib is not installed (pip install submodlib-py)")
    run(method, kernel(WARMUP_N), 10)  # compile
    L = kernel()
    benchmark.group = f"log-determinant n={N} k={K}"
    selected = benchmark.pedantic(run, args=(method, L, K), rounds=ROUNDS, warmup_rounds=0, iterations=1)
    assert len(selected) == K
    if method != "ours":
        benchmark.extra_info["same_order_as_ours"] = bool(np.array_equal(selected, run("ours", L, K)))


def measure(function: str = "log_determinant", repeats: int = ROUNDS) -> dict:
    """Times of every method in alternation, the ratios submodlib / ours and the agreement."""
    L, small = kernel(), kernel(WARMUP_N)
    methods = {m: (lambda m=m: run(m, L, K)) for m in METHODS}
    warmup = {m: (lambda m=m: run(m, small, 10)) for m in METHODS}
    times, picks = alternate(methods, repeats, warmup)
    r = summary(times, picks, LogDeterminant(L, 1.0, check_psd=False), "submodlib")
    r["lazy_unchecked"] = ratio_range(times, "submodlib_lazy", "ours_unchecked")
    return r


def report(repeats: int = ROUNDS) -> None:
    """Times over repeats in alternation, ratios submodlib / ours and selection agreement, in one run."""
    print(f"n={N}, d={DIM}, k={K}, float32 cosine kernel, lambda = 1; {repeats} repeats in alternation [s]")
    r = measure(repeats=repeats)
    t = r["times"]
    print(f"ours lazy {span(t['ours'])} (unchecked {span(t['ours_unchecked'])})  naive {span(t['ours_naive'])}  "
          f"submodlib lazy {span(t['submodlib_lazy'])}  naive {span(t['submodlib_naive'])}")
    print(f"ratio submodlib lazy / ours lazy (checked) {span(r['lazy'], 1)}, (unchecked) "
          f"{span(r['lazy_unchecked'], 1)}; naive / naive {span(r['naive'], 1)}; picks: {r['agreement']}")

if __name__ == "__main__":
    if submodlib is None:
        raise SystemExit("submodlib is not installed (pip install submodlib-py)")
    report()
