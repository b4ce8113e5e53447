"""Benchmark: nonnegative least squares, ours (active set on the Gram form) against scipy.

Instance for each k in {32, 128, 512}: A = G_Sᵀ (d × k) with S the first k candidates of the
benchmark problem of that k (the pool is shuffled, so S mixes domains), target b; the problem

    min ‖A w − b‖²  over w ≥ 0     ⇔     max cᵀw − ½ wᵀQ w  over w ≥ 0,   Q = AᵀA, c = Aᵀb.

Methods, all in float64:

- ``ours_nnqp``         ``matroidomp.nnqp(Q, c)`` on the k × k Gram form (Q, c given);
- ``ours_nnls``         ``matroidomp.nnls(A, b)`` (forms Q itself, then polishes by QR);
- ``scipy_nnls_A``      ``scipy.optimize.nnls(A, b)`` on the d × k matrix;
- ``scipy_nnls_chol``   scipy on the equivalent k × k system: Q = RᵀR (R upper Cholesky),
                        ‖Aw − b‖² = ‖Rw − R⁻ᵀc‖² + const, so ``nnls(R, R⁻ᵀc)`` (R included).

Every solution must match scipy's on A to 1e-6 relative (‖w − w_A‖ ≤ 1e-6 ‖w_A‖).

Batched NNQP, B problems of size k (B, k ∈ {(256, 32), (64, 128)}): problem b is the Gram form
Q_b = G_{S_b} G_{S_b}ᵀ + λI, c_b = G_{S_b} b of k random candidates S_b of the benchmark problem
of that k (float64; several OMP supports at once). Methods:

- ``batched``           ``matroidomp.nnqp_batched(Q, c, ridge=λ)`` (input checks + numba kernel);
- ``batched_kernel``    the numba kernel alone (``kernels.batched_nnqp.batched_active_set``: the
                        per-problem symmetry and PSD checks and the solves, no Python-side checks);
- ``one_by_one``        ``matroidomp.nnqp`` on each problem in a Python loop.

All three must give the same weights (same kernel, same tolerance). Run

    pytest benchmarks/test_bench_nnls.py       # pytest-benchmark tables, one group per k / batch
    python benchmarks/test_bench_nnls.py       # the tables: times, ratios, agreement
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache, partial

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize

import matroidomp
from matroidomp._nnqp import coordinate_tolerances, input_tolerances
from matroidomp.kernels.batched_nnqp import batched_active_set
from problems import LAM, SIZES, best_time, problem

KS = tuple(k for _, _, k in SIZES)
RTOL = 1e-6


@dataclass(frozen=True)
class NNLSInstance:
    A: np.ndarray
    b: np.ndarray
    Q: np.ndarray
    c: np.ndarray

    def __str__(self) -> str:
        return f"d={self.A.shape[0]} k={self.A.shape[1]}"


@lru_cache(maxsize=None)
def instance(k: int) -> NNLSInstance:
    """A = G_Sᵀ for the first k candidates of the benchmark problem with that k."""
    p = problem(*next(s for s in SIZES if s[2] == k))
    A = p.G[:k].T.astype(np.float64)
    b = p.b.astype(np.float64)
    return NNLSInstance(A=A, b=b, Q=A.T @ A, c=A.T @ b)


def _ours_nnqp(x: NNLSInstance) -> np.ndarray:
    return matroidomp.nnqp(x.Q, x.c).w


def _ours_nnls(x: NNLSInstance) -> np.ndarray:
    return matroidomp.nnls(x.A, x.b).w


def _scipy_nnls_A(x: NNLSInstance) -> np.ndarray:
    return scipy.optimize.nnls(x.A, x.b)[0]


def _scipy_nnls_chol(x: NNLSInstance) -> np.ndarray:
    R = scipy.linalg.cholesky(x.Q, lower=False)
    return scipy.optimize.nnls(R, scipy.linalg.solve_triangular(R, x.c, trans="T"))[0]


METHODS = {
    "ours_nnqp": _ours_nnqp,
    "ours_nnls": _ours_nnls,
    "scipy_nnls_A": _scipy_nnls_A,
    "scipy_nnls_chol": _scipy_nnls_chol,
}
ROUNDS, WARMUP = 5, 1


def relative_error(w: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(w - ref) / np.linalg.norm(ref))


@lru_cache(maxsize=None)
def reference(k: int) -> np.ndarray:
    """scipy's solution on A, the agreement reference."""
    return _scipy_nnls_A(instance(k))


@pytest.mark.parametrize("k", KS, ids=lambda k: f"k{k}")
@pytest.mark.parametrize("method", list(METHODS))
def test_nnls(benchmark, method, k):
    x = instance(k)
    benchmark.group = f"nnls {x}"
    w = benchmark.pedantic(METHODS[method], args=(x,), rounds=ROUNDS, warmup_rounds=WARMUP, iterations=1)
    err = relative_error(w, reference(k))
    benchmark.extra_info["n_positive"] = int(np.count_nonzero(w > 0))
    benchmark.extra_info["rel_error_vs_scipy_A"] = err
    assert np.all(w >= 0)
    assert err <= RTOL


BATCHES = ((256, 32), (64, 128))


@lru_cache(maxsize=None)
def batch(B: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(Q, c): B Gram-form problems on k random candidates each of the benchmark problem of that k."""
    p = problem(*next(s for s in SIZES if s[2] == k))
    rng = np.random.default_rng(B * k)
    G = p.G.astype(np.float64)
    S = np.stack([rng.choice(G.shape[0], k, replace=False) for _ in range(B)])
    Q = np.einsum("bid,bjd->bij", G[S], G[S]) + LAM * np.eye(k)
    return Q, G[S] @ p.b.astype(np.float64)


def _batched(Q, c):
    return matroidomp.nnqp_batched(Q, c).w


def _batched_kernel(Q, c):
    eps = float(np.finfo(np.float64).eps)
    rtol, dep_tol = input_tolerances(eps)  # what nnqp_batched passes the kernel for float64 input
    tols = np.stack([coordinate_tolerances(np.diagonal(q), cb, rtol) for q, cb in zip(Q, c)])
    return batched_active_set(Q, c, tols, 3 * c.shape[1] + 10, eps, dep_tol)[0]


def _one_by_one(Q, c):
    return np.stack([matroidomp.nnqp(q, cb).w for q, cb in zip(Q, c)])


BATCH_METHODS = {"batched": _batched, "batched_kernel": _batched_kernel, "one_by_one": _one_by_one}


@pytest.mark.parametrize("shape", BATCHES, ids=lambda s: f"B{s[0]}-k{s[1]}")
@pytest.mark.parametrize("method", list(BATCH_METHODS))
def test_nnqp_batched(benchmark, method, shape):
    Q, c = batch(*shape)
    benchmark.group = f"nnqp batched B={shape[0]} k={shape[1]}"
    w = benchmark.pedantic(BATCH_METHODS[method], args=(Q, c), rounds=ROUNDS, warmup_rounds=WARMUP, iterations=1)
    np.testing.assert_array_equal(w, _one_by_one(Q, c))


def report_batched(rounds: int = 20) -> None:
    """Per method (interleaved round by round): best wall time and median CPU time (all threads), ms."""
    print(f"{'B':>5}{'k':>5}{'method':>16}{'wall [ms]':>11}{'CPU [ms]':>10}{'wall / kernel':>15}")
    for B, k in BATCHES:
        Q, c = batch(B, k)
        ref = _one_by_one(Q, c)
        wall = {method: [] for method in BATCH_METHODS}
        cpu = {method: [] for method in BATCH_METHODS}
        for _ in range(rounds):
            for method, fn in BATCH_METHODS.items():
                t0, c0 = time.perf_counter(), time.process_time()
                w = fn(Q, c)
                wall[method].append(time.perf_counter() - t0)
                cpu[method].append(time.process_time() - c0)
                assert np.array_equal(w, ref), method
        kernel = min(wall["batched_kernel"])
        for method in BATCH_METHODS:
            print(f"{B:>5}{k:>5}{method:>16}{min(wall[method]) * 1e3:>11.3f}{np.median(cpu[method]) * 1e3:>10.3f}"
                  f"{min(wall[method]) / kernel:>15.2f}")


def report() -> None:
    """Time every method per k (best of ROUNDS, methods interleaved) and print times, agreement."""
    print(f"{'k':>5}{'method':>17}{'time [ms]':>12}{'/ ours_nnqp':>13}{'#w>0':>7}{'rel err vs A':>15}")
    for k in KS:
        x = instance(k)
        times = dict.fromkeys(METHODS, float("inf"))
        solutions = {method: fn(x) for method, fn in METHODS.items()}
        for _ in range(ROUNDS):
            for method, fn in METHODS.items():
                t, solutions[method] = best_time(partial(fn, x), 1)
                times[method] = min(times[method], t)
        for method, w in solutions.items():
            print(f"{k:>5}{method:>17}{times[method] * 1e3:>12.3f}{times[method] / times['ours_nnqp']:>13.2f}"
                  f"{np.count_nonzero(w > 0):>7}{relative_error(w, reference(k)):>15.2e}")


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["batched"]:  # python test_bench_nnls.py batched: the batched table only
        report_batched()
    else:
        report()
        report_batched()
