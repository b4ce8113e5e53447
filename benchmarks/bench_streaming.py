"""Benchmark: streaming selection against lazy greedy on facility location over an evaluation sample.

One problem per n: n points in 16 dimensions (float32, a mixture of 50 Gaussian clusters), the
function f(S) = Σ_{i=1}^m max_{j∈S} (1 + cos(p_i, x_j))/2 over m = 500 points p_i sampled from
the data (:class:`matroidomp.FacilityLocationRows`), k = 100. Side by side, in one run:

- ``greedy``       lazy greedy on ``FacilityLocation(f.similarity(X))``: the m × n similarity
                   (float32) is formed first, then greedy; the time includes forming it;
- ``sieve``        :class:`matroidomp.SieveStreaming` (ε = 0.1) fed the rows in chunks of 10,000
                   (each chunk's b × m similarity block formed on arrival), |S| ≤ k;
- ``greedy_4dom`` and ``swap``: the same under a 4-domain partition matroid (domain shares
                   50/25/15/10 %, proportional budgets summing to k) — lazy greedy and
                   :class:`matroidomp.MatroidStreaming`.

Reported: the objective ratio streaming / greedy (the same function, so the ratio is exact; the
guarantees are ½ − ε and ¼ of OPT, greedy's are 1 − 1/e and ½), time per element (µs), and peak
memory allocated above the data during the run (tracemalloc, which numpy reports to; a separate
run from the timed ones), together with the elements the streaming algorithm holds. Times are
never asserted. Run

    NUMBA_NUM_THREADS=1 python benchmarks/bench_streaming.py [--n 20000 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

import matroidomp as mo

DIM, M, K, EPSILON, CHUNK = 16, 500, 100, 0.1, 10_000
SHARES = (0.50, 0.25, 0.15, 0.10)


def problem(n: int, seed: int = 0):
    """(X, f, labels, budgets) for n points."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((50, DIM)) * 3
    X = (centers[rng.integers(0, 50, n)] + rng.standard_normal((n, DIM))).astype(np.float32)
    f = mo.FacilityLocationRows(X[rng.choice(n, M, replace=False)])
    labels = rng.choice(len(SHARES), size=n, p=SHARES)
    return X, f, labels, mo.proportional_budgets(labels, K)


def run_greedy(X, f, labels, budgets):
    """Both greedy runs on one ground-set function (for the memory measurement)."""
    g = mo.FacilityLocation(f.similarity(X))
    return mo.greedy(g, K), mo.greedy(g, mo.PartitionMatroid(labels, budgets))


def run_sieve(X, f):
    sieve = mo.SieveStreaming(f, K, epsilon=EPSILON)
    for i in range(0, X.shape[0], CHUNK):
        sieve.partial_fit(X[i:i + CHUNK])
    return sieve.result()


def run_swap(X, f, labels, budgets):
    swap = mo.MatroidStreaming(f, budgets)
    for i in range(0, X.shape[0], CHUNK):
        swap.partial_fit(X[i:i + CHUNK], labels[i:i + CHUNK])
    return swap.result()


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def peak_mb(fn, *args) -> float:
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure(n: int, repeats: int) -> dict:
    X, f, labels, budgets = problem(n)
    matroid = mo.PartitionMatroid(labels, budgets)
    out = {"n": n, "similarity_s": [], "greedy_s": [], "greedy_4dom_s": [], "sieve_s": [], "swap_s": []}
    for _ in range(repeats):
        g, t_sim = timed(lambda: mo.FacilityLocation(f.similarity(X)))
        card, t_g = timed(mo.greedy, g, K)
        part, t_p = timed(mo.greedy, g, matroid)
        del g
        sieve, t_s = timed(run_sieve, X, f)
        swap, t_w = timed(run_swap, X, f, labels, budgets)
        for key, t in zip(("similarity_s", "greedy_s", "greedy_4dom_s", "sieve_s", "swap_s"), (t_sim, t_g, t_p, t_s, t_w)):
            out[key].append(t)
    out.update(
        sieve_ratio=sieve.objective / card.objective,
        swap_ratio=swap.objective / part.objective,
        sieve_held=sieve.info["stored_elements"],
        sieve_sieves=sieve.info["n_sieves"],
        sieve_gains=sieve.info["gain_evaluations"] / n,
        swap_held=len(swap),
        swap_swaps=swap.info["n_swaps"],
        greedy_mb=peak_mb(run_greedy, X, f, labels, budgets),
        sieve_mb=peak_mb(run_sieve, X, f),
        swap_mb=peak_mb(run_swap, X, f, labels, budgets),
        feasible=bool(matroid.is_independent(swap.indices)) and len(sieve) <= K,
    )
    return out


def span(values, scale: float = 1.0) -> str:
    lo, hi = min(values) * scale, max(values) * scale
    return f"{lo:.3g}" if np.isclose(lo, hi, rtol=0.005) else f"{lo:.3g}–{hi:.3g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    mo.SieveStreaming(mo.FacilityLocationRows(np.ones((2, 2))), 1).partial_fit(np.ones((3, 2)))  # compile
    mo.greedy(mo.FacilityLocation(np.ones((2, 3))), 1)
    print(f"m = {M}, dim = {DIM}, k = {K}, epsilon = {EPSILON}, chunk = {CHUNK}; ranges over {args.repeats} runs")
    print("| n | f(sieve) / f(greedy) | f(swap) / f(greedy), 4 domains | µs per element: m × n similarity "
          "| greedy | greedy, 4 domains | sieve | swap | peak MB: greedy (both) | sieve | swap "
          "| held: sieve (sieves) | swap | sieve gains per element |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in args.n:
        r = measure(n, args.repeats)
        us = 1e6 / n
        print(f"| {n:,} | {r['sieve_ratio']:.4f} | {r['swap_ratio']:.4f} | {span(r['similarity_s'], us)} "
              f"| {span(r['greedy_s'], us)} | {span(r['greedy_4dom_s'], us)} "
              f"| {span(r['sieve_s'], us)} | {span(r['swap_s'], us)} | {r['greedy_mb']:.0f} | {r['sieve_mb']:.0f} "
              f"| {r['swap_mb']:.0f} | {r['sieve_held']} ({r['sieve_sieves']}) | {r['swap_held']} "
              f"| {r['sieve_gains']:.1f} |", flush=True)
        assert r["feasible"]


if __name__ == "__main__":
    main()
