"""Submodularity ratios by brute force, and each solver's proven approximation factor.

For a monotone set function f with f(∅) = 0 and marginal gains Δ(v | A) = f(A + v) − f(A):

* submodularity ratio (Das & Kempe 2011), over |L| ≤ r, |S| ≤ r, S ∩ L = ∅:
      γ = min Σ_{v∈S} Δ(v | L) / Δ(S | L)
* diminishing-returns ratio (the "generic submodularity ratio", Gong et al. 2019), over
  A ⊆ B, |A| ≤ r − 1, |B| ≤ 2r − 1, v ∉ B:
      γ_DR = min Δ(v | A) / Δ(v | B)
  Both equal 1 for submodular f and γ_DR ≤ γ.
* restricted eigenvalue ratio of a quadratic utility (Q = its matrix):
      α = min_{|T| ≤ r} λ_min(Q_TT) / max_j Q_jj
  OMP picks by residual correlation ρ, not by gain; since ρ_j⁺²/(2Q_jj) ≤ Δ(j | S) ≤ ρ_j⁺²/(2λ_min),
  its pick has at least α times the best feasible gain (an α-approximate greedy step). Written
  α_s for sets of size s.

Guarantees (OPT = max over independent sets; r = rank of the partition matroid):

================================  ==================================================================
greedy, submodular f, matroid     ½ (Fisher, Nemhauser & Wolsey 1978); γ_DR/(1+γ_DR) in general
greedy, submodular, cardinality   1 − 1/e (Nemhauser, Wolsey & Fisher 1978); 1 − e^{−γ} in general
                                  (Das & Kempe 2011)
stochastic greedy, cardinality    1 − 1/e − ε in expectation (Mirzasoleiman et al. 2015)
OMP, cardinality k                1 − e^{−α₂ₖ}  (α₂ₖ: α over |T| ≤ 2k; cf. Elenberg et al. 2018)
OMP, matroid                      max(α_r γ_DR / (1 + α_r γ_DR),  α_r / r)
residual random greedy, matroid   (1 + 1/(α_r γ))⁻² in expectation (Chen, Feldman & Karbasi 2018
                                  for α = 1; α enters their max-weight-base step, and applying it
                                  to γ throughout only lowers the bound)
================================  ==================================================================

Proofs of the OMP lines (φ(w) = cᵀw − ½wᵀQw, w the exact optimum on S, ρ = c − Qw):
* Δ(j | S) ≥ ρ_j⁺²/(2Q_jj) (a line search along e_j), and for any set T outside S,
  F(S ∪ T) − F(S) ≤ Σ_{j∈T} ρ_j⁺² / (2λ_min(Q_{S∪T})) (strong concavity plus the KKT conditions
  at w). With nonneg=False replace ρ⁺ by |ρ|.
* Cardinality: F(O) − F(S_{i−1}) ≤ k·max_o ρ_o⁺²/(2m) ≤ (k/α₂ₖ)·Δ_i, hence 1 − (1 − α₂ₖ/k)^k.
* Matroid, first term: pair each o_i of an optimal basis with the pick s_i of its domain (o_i was
  feasible at step i); with O_{<t} the earlier optimal elements,
  F(O) − F(S) ≤ Σ_t Δ(o_t | S ∪ O_{<t}) ≤ (1/γ_DR) Σ_t Δ(o_t | S_{i(t)−1}) ≤ F(S)/(α_r γ_DR).
* Matroid, second term: F(S) ≥ Δ_1 ≥ max_o c_o⁺²/(2M) ≥ (α_r/r)·F(O).
Early stopping keeps every bound: when no feasible ρ is positive all remaining gains are 0.
For nonnegative weights γ_DR is often 0 (an element with ρ ≤ 0 gains nothing alone but can gain
with others), and then the α_r/r term is what remains.

Brute force costs O(3ⁿ) set pairs: keep n ≤ 10.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np

from .matroid import PartitionMatroid
from .objectives import QuadraticUtility


def _popcount(x: int) -> int:
    return bin(x).count("1")


def subset_values(f, n: int, max_size: int) -> np.ndarray:
    """f on every subset of size ≤ max_size, as an array indexed by bitmask (NaN elsewhere)."""
    if n > 20:
        raise ValueError(f"brute force over {n} elements is not feasible (n <= 20)")
    values = np.full(1 << n, np.nan)
    for size in range(min(max_size, n) + 1):
        for combo in combinations(range(n), size):
            values[sum(1 << i for i in combo)] = f(list(combo))
    return values


def brute_force_opt(f, matroid: PartitionMatroid) -> tuple[float, tuple]:
    """(OPT, argmax) of f over all bases of the matroid (f monotone: bases suffice)."""
    best, arg = -np.inf, ()
    for basis in matroid.bases():
        v = f(list(basis))
        if v > best:
            best, arg = v, basis
    return float(best), arg


def _gains(values: np.ndarray, n: int, mask: int) -> np.ndarray:
    """Δ(v | mask) for every v (NaN for v in mask or subsets not tabulated)."""
    out = np.full(n, np.nan)
    for v in range(n):
        if not mask >> v & 1:
            out[v] = values[mask | (1 << v)] - values[mask]
    return out


def submodularity_ratio(f, n: int, r: int, *, values: np.ndarray | None = None, atol: float = 1e-12) -> float:
    """Das–Kempe γ over |L| ≤ r, |S| ≤ r (pairs with Δ(S | L) ≤ atol are skipped)."""
    values = subset_values(f, n, 2 * r) if values is None else values
    gamma = 1.0
    full = (1 << n) - 1
    for L in range(1 << n):
        if _popcount(L) > r:
            continue
        g = _gains(values, n, L)
        rest = full & ~L
        S = rest
        while S:
            size = _popcount(S)
            if 2 <= size <= r:
                joint = values[L | S] - values[L]
                if joint > atol:
                    members = [v for v in range(n) if S >> v & 1]
                    gamma = min(gamma, max(float(np.sum(g[members])), 0.0) / joint)
            S = (S - 1) & rest
    return gamma


def diminishing_returns_ratio(f, n: int, r: int, *, values: np.ndarray | None = None, atol: float = 1e-12) -> float:
    """γ_DR = min Δ(v | A)/Δ(v | B) over A ⊆ B, |A| ≤ r − 1, |B| ≤ 2r − 1, Δ(v | B) > atol."""
    values = subset_values(f, n, 2 * r) if values is None else values
    gamma = 1.0
    for B in range(1 << n):
        if _popcount(B) > 2 * r - 1:
            continue
        gB = _gains(values, n, B)
        live = np.flatnonzero(gB > atol)
        if live.size == 0:
            continue
        A = B
        while True:
            if _popcount(A) <= r - 1:
                gA = _gains(values, n, A)
                gamma = min(gamma, float(np.min(np.maximum(gA[live], 0.0) / gB[live])))
            if A == 0:
                break
            A = (A - 1) & B
    return gamma


def restricted_eigenvalue_ratio(utility: QuadraticUtility, r: int) -> float:
    """α = min_{|T| = min(r, n)} λ_min(Q_TT) / max_j Q_jj (interlacing: smaller T only helps)."""
    n = utility.n
    diag = np.array([utility.q_columns([j])[0, 0] for j in range(n)])
    top = float(np.max(diag)) if n else 0.0
    if top <= 0:
        return 0.0
    size = min(r, n)
    lam_min = min(float(np.linalg.eigvalsh(utility.q_columns(list(T)))[0]) for T in combinations(range(n), size))
    return max(lam_min, 0.0) / top


def greedy_guarantee(*, cardinality: bool = False, gamma: float = 1.0) -> float:
    """Greedy: ½ (matroid) or 1 − 1/e (cardinality) for submodular f; γ/(1+γ), 1 − e^{−γ} otherwise."""
    return 1.0 - math.exp(-gamma) if cardinality else gamma / (1.0 + gamma)


def stochastic_greedy_guarantee(epsilon: float) -> float:
    """Stochastic greedy under cardinality, in expectation: 1 − 1/e − ε."""
    return 1.0 - 1.0 / math.e - epsilon


def omp_cardinality_guarantee(alpha_2k: float) -> float:
    """OMP under |S| ≤ k: 1 − e^{−α₂ₖ} with α₂ₖ = restricted_eigenvalue_ratio(u, 2k)."""
    return 1.0 - math.exp(-alpha_2k)


def omp_matroid_guarantee(alpha_r: float, gamma_dr: float, rank: int) -> float:
    """OMP under a partition matroid of rank r: max(α_r γ_DR/(1 + α_r γ_DR), α_r / r)."""
    x = alpha_r * gamma_dr
    return max(x / (1.0 + x), alpha_r / max(rank, 1))


def residual_random_greedy_guarantee(alpha: float, gamma: float) -> float:
    """Residual random greedy ranked by ρ, in expectation: (1 + 1/(αγ))⁻²  (0 if αγ = 0)."""
    x = alpha * gamma
    return 0.0 if x <= 0 else (1.0 + 1.0 / x) ** -2
