"""Seeded benchmark instances (gradients from four domains, a validation target) and the timing rule.

Model. Four domains with pool shares 50/25/15/10 %. A shared direction m₀ and per-domain
directions u_d (independent standard Gaussians, normalised) give domain means

    μ_d = normalise(√s · m₀ + √(1 − s) · u_d),

and each candidate of domain d has gradient

    g_i = normalise(√ρ · μ_d + √(1 − ρ) · ε_i),    ε_i ~ N(0, I_d / d),

so two gradients of one domain have cosine ≈ ρ and of two domains ≈ ρ·s (defaults ρ = 0.25,
s = 0.3): gradients of one domain correlate, as LLM per-example gradients do. The target b is the
normalised mean of 4 validation anchors drawn the same way (their domains drawn with the pool
shares). G is float32, as users hold it; budgets follow the authors' proportional rule.

The selection utility is F(S) = max{cᵀw − ½wᵀQw : w ≥ 0, supp w ⊆ S} with c = G b and
Q = G Gᵀ + λI (GradMatch ridge form, λ = 0.01).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

import matroidomp

#: Benchmark sizes (n candidates, d gradient dims, k selected).
SIZES = ((256, 8192, 32), (1024, 8192, 128), (4096, 4096, 512))
#: Pool share of each of the four domains.
DOMAIN_SHARES = (0.50, 0.25, 0.15, 0.10)
#: Ridge λ of the GradMatch utility.
LAM = 0.01
N_ANCHORS = 4


@dataclass(frozen=True)
class Problem:
    """One instance: float32 gradients ``G`` (n × d), unit target ``b``, domain labels, budgets."""

    G: np.ndarray
    b: np.ndarray
    labels: np.ndarray
    k: int
    lam: float
    seed: int

    @property
    def n(self) -> int:
        return int(self.G.shape[0])

    @property
    def d(self) -> int:
        return int(self.G.shape[1])

    @cached_property
    def matroid(self) -> matroidomp.PartitionMatroid:
        return matroidomp.PartitionMatroid(self.labels, matroidomp.proportional_budgets(self.labels, self.k))

    @cached_property
    def c(self) -> np.ndarray:
        """c = G b in float64: the linear term every method is scored on."""
        return self.G.astype(np.float64) @ self.b.astype(np.float64)

    @cached_property
    def Q(self) -> np.ndarray:
        """Q = G Gᵀ + λI in float64: the quadratic term every method is scored on."""
        G64 = self.G.astype(np.float64)
        Q = G64 @ G64.T
        Q[np.diag_indices_from(Q)] += self.lam
        return Q

    def __str__(self) -> str:
        return f"n={self.n} d={self.d} k={self.k}"


def _unit_rows(X: np.ndarray) -> np.ndarray:
    return X / np.linalg.norm(X, axis=-1, keepdims=True)


def _domain_sizes(n: int) -> np.ndarray:
    sizes = np.floor(np.asarray(DOMAIN_SHARES) * n).astype(np.int64)
    sizes[0] += n - sizes.sum()
    return sizes


def _draw(rng: np.random.Generator, means: np.ndarray, domains: np.ndarray, within: float) -> np.ndarray:
    """Unit rows √ρ·μ_{p_i} + √(1−ρ)·ε_i in float32 (ε_i ~ N(0, I/d))."""
    d = means.shape[1]
    noise = rng.standard_normal((domains.shape[0], d), dtype=np.float32)
    noise *= np.float32(np.sqrt((1.0 - within) / d))
    noise += np.float32(np.sqrt(within)) * means[domains]
    return _unit_rows(noise)


def make_problem(
    n: int,
    d: int,
    k: int,
    *,
    seed: int = 0,
    lam: float = LAM,
    within: float = 0.25,
    shared: float = 0.3,
) -> Problem:
    """Draw one instance (see the module docstring for the model); same seed, same instance."""
    rng = np.random.default_rng(seed)
    shares = np.asarray(DOMAIN_SHARES)
    directions = _unit_rows(rng.standard_normal((len(shares) + 1, d)))
    means = _unit_rows(np.sqrt(shared) * directions[0] + np.sqrt(1.0 - shared) * directions[1:])
    means = means.astype(np.float32)
    labels = rng.permutation(np.repeat(np.arange(len(shares)), _domain_sizes(n)))
    G = _draw(rng, means, labels, within)
    anchors = _draw(rng, means, rng.choice(len(shares), size=N_ANCHORS, p=shares), within)
    b = _unit_rows(anchors.mean(axis=0))
    return Problem(G=G, b=b, labels=labels, k=k, lam=lam, seed=seed)


@lru_cache(maxsize=None)
def problem(n: int, d: int, k: int, seed: int = 0) -> Problem:
    """Cached :func:`make_problem` for the benchmark sizes (one draw per size and seed)."""
    return make_problem(n, d, k, seed=seed)


def best_time(fn, repeats: int):
    """Run ``fn()`` ``repeats`` times; return (fastest wall time in seconds, last result)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out
