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

Every solution must match scipy's on A to 1e-6 relative (‖w − w_A‖ ≤ 1e-6 ‖w_A‖). Run

    pytest benchmarks/test_bench_nnls.py       # pytest-benchmark tables, one group per k
    python benchmarks/test_bench_nnls.py       # one table: times, ratios, agreement
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, partial

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize

import matroidomp
from problems import SIZES, best_time, problem

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
    report()
