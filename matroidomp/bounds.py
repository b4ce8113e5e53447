"""Submodularity ratios by brute force, and each solver's proven approximation factor.

F is a monotone set function with F(∅) = 0, Δ(v | A) = F(A + v) − F(A) its marginal gain, OPT
the maximum of F over the independent sets of a partition matroid of rank r (for a cardinality
constraint |S| ≤ k, r = k). The full statements and proofs are in ``docs/theory.md`` §4.

Ratios (all restricted to the set sizes the proofs below use):

* submodularity ratio (Das & Kempe 2011), over |L| ≤ r − 1, 2 ≤ |S| ≤ r, S ∩ L = ∅:
      γ = min Σ_{v∈S} Δ(v | L) / Δ(S | L)
* diminishing-returns ratio (the "generic submodularity ratio" of Gong et al. 2019), over
  A ⊆ B, |A| ≤ r − 1, |B| ≤ 2r − 1, v ∉ B:
      γ_DR = min Δ(v | A) / Δ(v | B)
  Both are 1 for submodular F. With these ranges γ_DR ≤ γ (telescope Δ(S | L) over S and
  bound each term with A = L); if γ also ranged over |L| = r this would fail (a 5-element
  instance with λ = 0.5, r = 2, unconstrained weights has γ = 0.944 over |L| ≤ 2 and γ_DR = 1).
* restricted eigenvalue ratio of a quadratic utility F(S) = max{cᵀw − ½wᵀQw : w ≥ 0, supp w ⊆ S}:
      α_s = min_{|T| ≤ s} λ_min(Q_TT) / max_j Q_jj
  With ρ = c − Qw the residual correlation at the optimum w on S,
      ρ_j⁺²/(2Q_jj) ≤ Δ(j | S) ≤ ρ_j⁺²/(2λ_min(Q_{S+j}))      (ρ⁺ → |ρ| for signed weights),
  so OMP's pick (the feasible j of largest ρ_j) gains at least α times the best feasible gain.

Guarantees (E[·] over the randomized rule's draws):

=================================  ==========================================  =================
solver and constraint              factor of OPT                               source
=================================  ==========================================  =================
greedy, submodular F, matroid      ½                                           Fisher et al.
                                                                               1978
greedy, monotone F, matroid        γ_DR / (1 + γ_DR)                           Gong et al. 2019
greedy, submodular F, |S| ≤ k      1 − 1/e                                     Nemhauser et al.
                                                                               1978
greedy, monotone F, |S| ≤ k        1 − e^{−γ}                                  Das & Kempe 2011
stochastic greedy, |S| ≤ k         1 − 1/e − ε in expectation                  Mirzasoleiman
                                                                               et al. 2015
two-round greedy, m parts, any     max(α/m, 1/r), α = greedy's factor above    this package
partition (GreeDi)
two-round greedy, random           α/2 in expectation: (1 − 1/e)/2 under       Barbosa et al.
partition (RandGreeDi)             |S| ≤ k, ¼ under a matroid                  2015
OMP, |S| ≤ k                       1 − e^{−α₂ₖ}                                this package
OMP, partition matroid             max(α_r γ_DR / (1 + α_r γ_DR), α_r / r)     this package
OMP randomized, partition matroid  ℓ_r(α_r, γ) in expectation (below)          this package
sieve-streaming, |S| ≤ k           ½ − ε, one pass, O(k log(k)/ε) elements     Badanidiyuru
                                                                               et al. 2014
swap streaming, matroid            ¼, one pass, r elements                     Chakrabarti &
                                                                               Kale 2015
cost-benefit greedy + best         ½(1 − 1/e), knapsack c(S) ≤ B alone          Khuller et al.
singleton, submodular F                                                        1999; Krause &
                                                                               Guestrin 2005
=================================  ==========================================  =================

The deterministic matroid factor is usually vacuous: for nonnegative weights γ_DR is 0 on most
instances (an element with ρ_j ≤ 0 gains nothing alone but can gain beside others), which
leaves α_r / r (medians 0.02–0.22 of OPT on the rank-3 test families of docs/theory.md §4.5),
while OMP itself typically reaches OPT. The randomized rule (Chen, Feldman & Karbasi 2018,
ranked by ρ instead of by gain) needs only γ, which is positive on such instances, and carries a
factor that does not decay like 1/r.

Theorem (randomized rule). In every domain shortlist its top rem_d feasible elements by ρ
(rem_d = its remaining budget, or fewer if the domain runs out) and add one shortlisted
element uniformly at random; repeat r times. Then E[F(S)] ≥ ℓ_r·OPT with ℓ_0 = 0 and, for
i = 1, …, r, m = r − i + 1, γ_1 = 1, γ_l = γ (l ≥ 2),

    P_i = 1 − Π_{l=i}^{r} (1 − γ_l / l),
    ℓ_i = max(ℓ_{i−1},  ℓ_{i−1} + (α_r γ_m / m)·(P_i − ℓ_{i−1})).

Proof sketch (full proof in docs/theory.md). Keep a set O_{i−1} ⊆ OPT, disjoint from S_{i−1},
with as many elements in each domain as the shortlist M_i (start with O_0 = OPT); pair M_i with
O_{i−1} by a domain-preserving bijection h that fixes M_i ∩ O_{i−1}, and drop h(u_i) when u_i
is picked. (1) Gain: M_i maximises Σ ρ⁺² over such sets, so
E[Δ(u_i | S_{i−1})] = (1/m)Σ_{M_i}Δ ≥ (α_r/m)Σ_{O_{i−1}}Δ(o | S_{i−1})
≥ (α_r γ_m/m)(F(S_{i−1} ∪ O_{i−1}) − F(S_{i−1})) ≥ (α_r γ_m/m)(F(O_{i−1}) − F(S_{i−1})).
(2) Survivors: h(u_i) is uniform over O_{i−1}, so O_{i−1} is a uniformly random
(r − i + 1)-subset of OPT; adding the elements of OPT in uniformly random order and applying γ
at each step gives E[F(O_{i−1})] ≥ P_i·OPT. Combining (1) and (2) gives the recursion; both of its
maps are nondecreasing in ℓ_{i−1}, so ℓ_i·OPT ≤ E[F(S_i)] by induction. Chen et al. prove
(1 + 1/γ)⁻² for picks uniform over a max-weight base by gains (α = 1); ℓ_r is proven here
directly and is the factor this package asserts (for α = 1 it is above (1 + 1/γ)⁻² on a
grid of γ ∈ [0.01, 1], r ≤ 1000; ℓ_r(1, 1) falls from 1 at r = 1 to about 1/e).

Both OMP variants keep their factors when they stop early: OMP stops when no feasible element
has ρ_j > tol_j, and with ρ_j ≤ 0 for every feasible j no independent extension of S gains
anything (upper bound above); the factors are stated for tol = 0 (a tolerance τ changes the
value by at most r·max τ_j²/(2λ_min) per run).

Brute force: every function here enumerates sets and refuses, with a ValueError, any instance
that needs more than :data:`MAX_ENUMERATION` sets or set pairs (tables are indexed by bitmask:
n ≤ :data:`MAX_ELEMENTS`).

Examples
--------
>>> import numpy as np, matroidomp as mo
>>> from matroidomp import bounds
>>> u = mo.QuadraticUtility.gradient_matching(np.eye(3), np.array([3.0, 1.0, 2.0]))
>>> round(bounds.restricted_eigenvalue_ratio(u, 2), 6)  # orthogonal gradients: α = 1
1.0
>>> round(bounds.omp_cardinality_guarantee(1.0), 4)
0.6321
"""

from __future__ import annotations

import math
import numbers
from itertools import combinations, product

import numpy as np

from ._matroid import PartitionMatroid
from ._objectives import QuadraticUtility

#: Most sets (or set pairs, or eigenvalue problems) a brute-force function will enumerate.
MAX_ENUMERATION = 10**6
#: Most ground-set elements of a bitmask-indexed table of values (2**20 entries, 8 MiB).
MAX_ELEMENTS = 20

__all__ = [
    "MAX_ELEMENTS",
    "MAX_ENUMERATION",
    "brute_force_opt",
    "diminishing_returns_ratio",
    "distributed_greedy_guarantee",
    "greedy_guarantee",
    "matroid_streaming_guarantee",
    "omp_cardinality_guarantee",
    "omp_matroid_guarantee",
    "residual_random_greedy_guarantee",
    "restricted_eigenvalue_ratio",
    "sieve_streaming_guarantee",
    "stochastic_greedy_guarantee",
    "subset_values",
    "submodularity_ratio",
]


# --------------------------------------------------------------------------- argument checks
def _int_at_least(value, name: str, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int >= {low}, got {value!r}")
    v = int(value)
    if v < low:
        raise ValueError(f"{name}: expected an int >= {low}, got {v}")
    return v


def _in_unit_interval(value, name: str, *, open_right: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number in [0, 1{')' if open_right else ']'}, got {value!r}")
    v = float(value)
    ok = 0.0 <= v < 1.0 if open_right else 0.0 <= v <= 1.0
    if not ok:  # also refuses NaN
        raise ValueError(f"{name}: expected a value in [0, 1{')' if open_right else ']'}, got {value!r}")
    return v


def _refuse_large(count: int, what: str, hint: str) -> None:
    if count > MAX_ENUMERATION:
        raise ValueError(
            f"{what}: brute force would enumerate {count:,} {hint}, more than "
            f"MAX_ENUMERATION = {MAX_ENUMERATION:,}; use a smaller instance"
        )


def _check_table(values, n: int) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (1 << n,):
        raise ValueError(f"values: expected a table of 2**n = {1 << n} entries (from subset_values), "
                         f"got shape {values.shape}")
    return values


def _popcount(x: int) -> int:
    return bin(x).count("1")


# --------------------------------------------------------------------------- brute force
def subset_values(f, n: int, max_size: int) -> np.ndarray:
    """f on every subset of size ≤ ``max_size``, as an array indexed by bitmask.

    Entry ``mask`` holds f({i : bit i of mask is set}); entries of larger subsets are NaN. This is
    the table :func:`submodularity_ratio` and :func:`diminishing_returns_ratio` read.

    Parameters
    ----------
    f : callable
        ``f(list_of_indices) -> float`` (a :class:`~matroidomp.SetFunction` or a plain function).
    n : int
        Ground-set size, at most :data:`MAX_ELEMENTS`.
    max_size : int
        Largest subset size to evaluate (≥ 0).

    Returns
    -------
    numpy.ndarray of shape (2**n,)
        float64 values, NaN above ``max_size``.

    Raises
    ------
    ValueError
        If n > :data:`MAX_ELEMENTS`, or the number of subsets Σ_{s ≤ max_size} C(n, s) exceeds
        :data:`MAX_ENUMERATION`; if n or max_size is negative.

    Examples
    --------
    >>> import numpy as np
    >>> v = subset_values(lambda S: float(len(S)), 3, 2)
    >>> float(v[0b011]), float(v[0b100]), bool(np.isnan(v[0b111]))
    (2.0, 1.0, True)
    """
    n = _int_at_least(n, "n", 0)
    max_size = _int_at_least(max_size, "max_size", 0)
    if n > MAX_ELEMENTS:
        raise ValueError(f"n: a table over {n} elements has 2**{n} entries; brute force needs "
                         f"n <= MAX_ELEMENTS = {MAX_ELEMENTS}")
    top = min(max_size, n)
    _refuse_large(sum(math.comb(n, s) for s in range(top + 1)), "subset_values", "subsets")
    values = np.full(1 << n, np.nan)
    for size in range(top + 1):
        for combo in combinations(range(n), size):
            values[sum(1 << i for i in combo)] = f(list(combo))
    return values


def _bases(matroid: PartitionMatroid):
    """Every basis as a sorted tuple: a product of per-domain combinations."""
    per_domain = []
    for d in range(len(matroid.budgets)):
        members = np.flatnonzero(matroid.codes == d).tolist()
        per_domain.append(combinations(members, min(int(matroid.budgets[d]), len(members))))
    for parts in product(*per_domain):
        yield tuple(sorted(i for part in parts for i in part))


def brute_force_opt(f, matroid: PartitionMatroid) -> tuple[float, tuple]:
    """(OPT, argmax): the maximum of a monotone f over the bases of a partition matroid.

    For monotone f some basis (maximal independent set) is optimal, so only the
    Π_d C(n_d, min(k_d, n_d)) bases are evaluated. Ties go to the lexicographically smallest
    basis.

    Parameters
    ----------
    f : callable
        ``f(list_of_indices) -> float``, monotone.
    matroid : PartitionMatroid
        The constraint.

    Returns
    -------
    (float, tuple of int)
        OPT and a basis attaining it (sorted indices).

    Raises
    ------
    TypeError
        If ``matroid`` is not a :class:`~matroidomp.PartitionMatroid`.
    ValueError
        If the number of bases exceeds :data:`MAX_ENUMERATION` (e.g. n = 40, r = 20 in one
        domain: C(40, 20) ≈ 1.4·10¹¹).

    Examples
    --------
    >>> import matroidomp as mo
    >>> m = mo.PartitionMatroid([0, 0, 1, 1], {0: 1, 1: 1})
    >>> brute_force_opt(lambda S: float(sum(S)), m)
    (4.0, (1, 3))
    """
    if not isinstance(matroid, PartitionMatroid):
        raise TypeError(f"matroid: expected a PartitionMatroid, got {type(matroid).__name__}")
    count = 1
    for d in range(len(matroid.budgets)):
        size = int(matroid.sizes[d])
        count *= math.comb(size, min(int(matroid.budgets[d]), size))
    _refuse_large(count, "brute_force_opt", "bases")
    best, arg = -np.inf, ()
    for basis in _bases(matroid):
        v = float(f(list(basis)))
        if v > best or (v == best and basis < arg):
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
    """Das–Kempe submodularity ratio γ = min Σ_{v∈S} Δ(v | L) / Δ(S | L), restricted to rank r.

    The minimum runs over disjoint L, S with |L| ≤ r − 1 and 2 ≤ |S| ≤ r (|S| = 1 gives 1), the
    sizes the greedy, stochastic greedy and randomized-rule proofs use; pairs with
    Δ(S | L) ≤ ``atol`` are skipped and negative sums count as 0. γ = 1 for submodular f, and
    γ ≥ γ_DR (:func:`diminishing_returns_ratio` with the same r). Das & Kempe (2011),
    "Submodular meets spectral".

    Parameters
    ----------
    f : callable
        ``f(list_of_indices) -> float``; not called when ``values`` is given.
    n : int
        Ground-set size.
    r : int
        Rank (≥ 1).
    values : numpy.ndarray, optional
        :func:`subset_values` table of f up to size 2r − 1 (computed when omitted).
    atol : float, default 1e-12
        Joint gains at or below this are treated as zero.

    Returns
    -------
    float
        γ in [0, 1].

    Raises
    ------
    ValueError
        If r < 1, the table has the wrong length, or the number of (L, S) pairs enumerated,
        Σ_{l ≤ r−1} C(n, l)·2^{n−l}, exceeds :data:`MAX_ENUMERATION`.

    Examples
    --------
    A modular function has γ = 1; f(S) = |S|² has Σ Δ(v | ∅) / Δ(S | ∅) = 2/4 at |S| = 2:

    >>> submodularity_ratio(lambda S: float(len(S)), 4, 2)
    1.0
    >>> submodularity_ratio(lambda S: float(len(S)) ** 2, 4, 2)
    0.5
    """
    n = _int_at_least(n, "n", 0)
    r = _int_at_least(r, "r", 1)
    _refuse_large(sum(math.comb(n, l) << (n - l) for l in range(min(r - 1, n) + 1)),
                  "submodularity_ratio", "set pairs")
    values = subset_values(f, n, 2 * r - 1) if values is None else _check_table(values, n)
    gamma = 1.0
    full = (1 << n) - 1
    for L in range(1 << n):
        if _popcount(L) > r - 1:
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
    return float(gamma)


def diminishing_returns_ratio(f, n: int, r: int, *, values: np.ndarray | None = None, atol: float = 1e-12) -> float:
    """Diminishing-returns ratio γ_DR = min Δ(v | A) / Δ(v | B), restricted to rank r.

    The minimum runs over A ⊆ B, |A| ≤ r − 1, |B| ≤ 2r − 1, v ∉ B with Δ(v | B) > ``atol``
    (negative Δ(v | A) counts as 0): the sizes the deterministic matroid proofs use. This is the
    "generic submodularity ratio" of Gong, Nong, Liu & Fang (2019), for which greedy under a
    matroid gets γ_DR/(1 + γ_DR). γ_DR = 1 for submodular f and γ_DR ≤ γ; for the quadratic
    utility with nonnegative weights it is 0 on most instances.

    Parameters
    ----------
    f : callable
        ``f(list_of_indices) -> float``; not called when ``values`` is given.
    n : int
        Ground-set size.
    r : int
        Rank (≥ 1).
    values : numpy.ndarray, optional
        :func:`subset_values` table of f up to size 2r (computed when omitted).
    atol : float, default 1e-12
        Gains Δ(v | B) at or below this are skipped.

    Returns
    -------
    float
        γ_DR in [0, 1].

    Raises
    ------
    ValueError
        If r < 1, the table has the wrong length, or the number of (A, B) pairs enumerated,
        Σ_{b ≤ 2r−1} C(n, b)·2^b, exceeds :data:`MAX_ENUMERATION`.

    Examples
    --------
    >>> diminishing_returns_ratio(lambda S: float(len(S)), 4, 2)
    1.0
    >>> round(diminishing_returns_ratio(lambda S: float(len(S)) ** 2, 4, 2), 6)  # 1/7: A = ∅, |B| = 3
    0.142857
    """
    n = _int_at_least(n, "n", 0)
    r = _int_at_least(r, "r", 1)
    _refuse_large(sum(math.comb(n, b) << b for b in range(min(2 * r - 1, n) + 1)),
                  "diminishing_returns_ratio", "set pairs")
    values = subset_values(f, n, 2 * r) if values is None else _check_table(values, n)
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
    return float(gamma)


def restricted_eigenvalue_ratio(utility: QuadraticUtility, r: int) -> float:
    """α_r = min_{|T| ≤ r} λ_min(Q_TT) / max_j Q_jj of a quadratic utility, by enumeration.

    By eigenvalue interlacing the minimum is attained at |T| = min(r, n), so only those
    C(n, min(r, n)) blocks are enumerated. α_r is the fraction of the best feasible gain that
    OMP's pick by residual correlation is guaranteed (ρ_j⁺²/(2Q_jj) ≤ Δ(j | S) ≤
    ρ_j⁺²/(2λ_min)); cf. the restricted strong convexity of Elenberg et al. (2018).

    Parameters
    ----------
    utility : QuadraticUtility
        Q is read through ``utility.q_columns``.
    r : int
        Largest set size (≥ 1): r for the matroid bounds, 2k for OMP under |S| ≤ k.

    Returns
    -------
    float
        α_r in [0, 1] (0 when Q is singular on some |T| ≤ r, or Q = 0).

    Raises
    ------
    ValueError
        If r < 1 or C(n, min(r, n)) exceeds :data:`MAX_ENUMERATION` (n = 60, r = 10 would need
        7.5·10¹⁰ eigenvalue problems).

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> u = mo.QuadraticUtility.gradient_matching(np.eye(3), np.ones(3), lam=1.0)
    >>> restricted_eigenvalue_ratio(u, 2)
    1.0
    >>> G = np.array([[1.0, 0.0], [0.6, 0.8]])  # unit rows, cos = 0.6
    >>> round(restricted_eigenvalue_ratio(mo.QuadraticUtility.gradient_matching(G, np.ones(2)), 2), 6)
    0.4
    """
    if not isinstance(utility, QuadraticUtility):
        raise TypeError(f"utility: expected a QuadraticUtility, got {type(utility).__name__}")
    r = _int_at_least(r, "r", 1)
    n = utility.n
    size = min(r, n)
    _refuse_large(math.comb(n, size), "restricted_eigenvalue_ratio", f"blocks Q_TT of size {size}")
    diag = np.array([utility.q_columns([j])[0, 0] for j in range(n)])
    top = float(np.max(diag)) if n else 0.0
    if top <= 0:
        return 0.0
    lam_min = min(float(np.linalg.eigvalsh(utility.q_columns(list(T)))[0]) for T in combinations(range(n), size))
    return min(max(lam_min, 0.0) / top, 1.0)


# --------------------------------------------------------------------------- guarantees
def greedy_guarantee(*, cardinality: bool = False, gamma: float = 1.0) -> float:
    """Greedy's factor of OPT: γ_DR/(1 + γ_DR) under a matroid, 1 − e^{−γ} under |S| ≤ k.

    Matroid: ½ for submodular f (Fisher, Nemhauser & Wolsey 1978) and γ_DR/(1 + γ_DR) with the
    diminishing-returns ("generic submodularity") ratio in general (Gong, Nong, Liu & Fang
    2019). The Das–Kempe γ does not give a matroid bound for greedy; pass γ_DR here.
    Cardinality: 1 − 1/e for submodular f (Nemhauser, Wolsey & Fisher 1978), 1 − e^{−γ} with
    the Das–Kempe submodularity ratio γ in general (Das & Kempe 2011).

    Parameters
    ----------
    cardinality : bool, default False
        The constraint |S| ≤ k instead of a partition matroid.
    gamma : float in [0, 1], default 1.0
        γ_DR (:func:`diminishing_returns_ratio`) for a matroid, γ (:func:`submodularity_ratio`)
        for a cardinality constraint; 1 for submodular f.

    Returns
    -------
    float
        The factor, in [0, 1 − 1/e] (cardinality) or [0, ½] (matroid).

    Raises
    ------
    ValueError
        If gamma is not in [0, 1].

    Examples
    --------
    >>> greedy_guarantee()
    0.5
    >>> round(greedy_guarantee(cardinality=True), 4)
    0.6321
    >>> greedy_guarantee(gamma=0.0)
    0.0
    """
    gamma = _in_unit_interval(gamma, "gamma")
    return 1.0 - math.exp(-gamma) if cardinality else gamma / (1.0 + gamma)


def stochastic_greedy_guarantee(epsilon: float) -> float:
    """Stochastic greedy under |S| ≤ k, in expectation: max(0, 1 − 1/e − ε).

    Each step samples (n/k)·log(1/ε) candidates (Mirzasoleiman et al. 2015, "Lazier than lazy
    greedy"); f monotone submodular.

    Parameters
    ----------
    epsilon : float in [0, 1)
        The sampling parameter; ε = 0 is the limit of greedy itself.

    Returns
    -------
    float
        The factor of OPT; 0 (vacuous) for ε ≥ 1 − 1/e.

    Raises
    ------
    ValueError
        If epsilon is not in [0, 1).

    Examples
    --------
    >>> round(stochastic_greedy_guarantee(0.1), 4)
    0.5321
    >>> stochastic_greedy_guarantee(0.9)
    0.0
    """
    epsilon = _in_unit_interval(epsilon, "epsilon", open_right=True)
    return max(0.0, 1.0 - 1.0 / math.e - epsilon)


def sieve_streaming_guarantee(epsilon: float) -> float:
    """Sieve-streaming under |S| ≤ k, f monotone submodular: max(0, ½ − ε).

    One pass, thresholds (1 + ε)^i in [m, 2km] (m the largest singleton read), O(k log(k)/ε)
    elements held (Badanidiyuru, Mirzasoleiman, Karbasi & Krause 2014;
    :class:`~matroidomp.SieveStreaming`). The proof gives (1 − ε)/2; ½ − ε is the stated factor.

    Parameters
    ----------
    epsilon : float in [0, 1)
        The grid's accuracy.

    Returns
    -------
    float
        The factor of OPT; 0 (vacuous) for ε ≥ ½.

    Raises
    ------
    ValueError
        If epsilon is not in [0, 1).

    Examples
    --------
    >>> sieve_streaming_guarantee(0.1)
    0.4
    """
    epsilon = _in_unit_interval(epsilon, "epsilon", open_right=True)
    return max(0.0, 0.5 - epsilon)


def matroid_streaming_guarantee() -> float:
    """The swap streaming algorithm under a matroid (a partition matroid here): ¼.

    Chakrabarti & Kale (2015) with β = 1: an arriving element replaces the lightest conflicting
    one when its gain is at least twice that one's weight (:class:`~matroidomp.MatroidStreaming`,
    whose docstring has the proof for partition matroids); f monotone submodular.

    Returns
    -------
    float
        0.25.

    Examples
    --------
    >>> matroid_streaming_guarantee()
    0.25
    """
    return 0.25


def knapsack_greedy_guarantee() -> float:
    """Cost-benefit greedy plus the best singleton under a knapsack c(S) ≤ B: ½(1 − 1/e).

    :func:`~matroidomp.greedy` with ``costs`` and ``budget``: the better of the ratio-greedy
    path (largest gain / cost among the elements that still fit) and the best affordable single
    element, for monotone submodular F (Khuller, Moss & Naor 1999 for coverage; Krause &
    Guestrin 2005 for submodular F). No factor is claimed under a matroid and a knapsack
    together, which :func:`~matroidomp.greedy` refuses.

    Returns
    -------
    float
        ½(1 − 1/e) ≈ 0.316.

    Examples
    --------
    >>> round(knapsack_greedy_guarantee(), 4)
    0.3161
    """
    return 0.5 * (1.0 - math.exp(-1.0))


def distributed_greedy_guarantee(parts: int, rank: int, *, cardinality: bool = False,
                                 randomized: bool = True) -> float:
    """Two-round distributed greedy's factor of OPT (:func:`matroidomp.distributed.greedy`), f monotone submodular.

    The algorithm: greedy on each of m parts V_i of the ground set, greedy on the union of the m
    solutions, the best of the merged and the part solutions. α = greedy's factor: 1 − 1/e under
    |S| ≤ k, ½ under a partition matroid; r = the rank.

    * Any partition (GreeDi, Mirzasoleiman et al. 2013; and every single run of RandGreeDi):
      max(α/m, 1/r). Proof: with O optimal and f(∅) = 0, submodularity gives
      f(O) ≤ Σ_i f(O ∩ V_i), and O ∩ V_i is independent in V_i, so some part's greedy has
      f(S_i) ≥ α·f(O ∩ V_i) ≥ (α/m)·f(O); and f(O) ≤ Σ_{o∈O} f({o}) ≤ r·f({e*}) for the best
      singleton e*, which the greedy of e*'s part picks first or beats. (For the merged solution
      alone under |S| ≤ k, Mirzasoleiman et al. prove (1 − 1/e)²/min(m, k), which this bound
      exceeds.)
    * Uniformly random partition (RandGreeDi), in expectation over the partition:
      αβ/(α + β) with α for round 1 and β for round 2 (Barbosa, Ene, Nguyễn & Ward 2015, "The
      power of randomization: distributed submodular maximization on massive datasets", ICML),
      here β = α, so α/2: (1 − 1/e)/2 ≈ 0.316 under |S| ≤ k and ¼ under a matroid. Each run also
      meets the worst-case bound, so the larger of the two is returned.

    Parameters
    ----------
    parts : int
        m ≥ 1.
    rank : int
        r ≥ 1 (k under |S| ≤ k).
    cardinality : bool, default False
        |S| ≤ k instead of a partition matroid.
    randomized : bool, default True
        The expected factor of RandGreeDi (False: the worst case over partitions).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        parts or rank below 1.

    Examples
    --------
    >>> round(distributed_greedy_guarantee(4, 100, cardinality=True), 4)  # (1 - 1/e) / 2
    0.3161
    >>> distributed_greedy_guarantee(4, 100), distributed_greedy_guarantee(4, 100, randomized=False)
    (0.25, 0.125)
    >>> distributed_greedy_guarantee(1, 10)  # one part: greedy itself
    0.5
    """
    m = _int_at_least(parts, "parts", 1)
    r = _int_at_least(rank, "rank", 1)
    alpha = greedy_guarantee(cardinality=cardinality)
    worst = max(alpha / m, 1.0 / r)
    return max(worst, alpha / 2) if randomized else worst


def omp_cardinality_guarantee(alpha_2k: float) -> float:
    """OMP under |S| ≤ k: F(S) ≥ (1 − e^{−α₂ₖ})·OPT, α₂ₖ = restricted_eigenvalue_ratio(u, 2k).

    Proof (docs/theory.md §4): at step i, OPT − F(S_{i−1}) ≤ Σ_{o∈O} ρ_o⁺²/(2λ_min) over
    |O ∪ S_{i−1}| ≤ 2k − 1 ≤ k·max ρ⁺²/(2λ_min) ≤ (k/α₂ₖ)·Δ_i, so
    F(S_k) ≥ (1 − (1 − α₂ₖ/k)^k)·OPT; the argument of Elenberg et al. (2018).

    Parameters
    ----------
    alpha_2k : float in [0, 1]
        The restricted eigenvalue ratio over sets of size ≤ 2k.

    Returns
    -------
    float
        The factor of OPT.

    Raises
    ------
    ValueError
        If alpha_2k is not in [0, 1].

    Examples
    --------
    >>> round(omp_cardinality_guarantee(1.0), 4)
    0.6321
    """
    alpha_2k = _in_unit_interval(alpha_2k, "alpha_2k")
    return 1.0 - math.exp(-alpha_2k)


def omp_matroid_guarantee(alpha_r: float, gamma_dr: float, rank: int) -> float:
    """Deterministic OMP under a partition matroid: max(α_r γ_DR/(1 + α_r γ_DR), α_r / r).

    First term: pair each optimal element with the pick of its domain it was feasible against;
    each pick gains ≥ α_r times its partner's gain, and γ_DR moves the partners' gains from
    S ∪ O_{<t} down to the earlier S_{i−1}. Second term: the first pick alone gains ≥ α_r/r of
    OPT. Proofs in docs/theory.md §4. For nonnegative weights γ_DR is 0 on most instances, so
    the factor is usually α_r / r: a few percent to a fifth of OPT, while OMP typically reaches
    OPT. It is vacuous there; the randomized rule (:func:`residual_random_greedy_guarantee`)
    carries a factor that does not decay like 1/r.

    Parameters
    ----------
    alpha_r : float in [0, 1]
        :func:`restricted_eigenvalue_ratio` with r.
    gamma_dr : float in [0, 1]
        :func:`diminishing_returns_ratio` with r.
    rank : int
        Matroid rank r ≥ 1.

    Returns
    -------
    float
        The factor of OPT.

    Raises
    ------
    ValueError
        If alpha_r or gamma_dr is not in [0, 1], or rank < 1.

    Examples
    --------
    >>> omp_matroid_guarantee(1.0, 1.0, 3)
    0.5
    >>> round(omp_matroid_guarantee(0.6, 0.0, 3), 12)  # the usual case: γ_DR = 0, α_r / r
    0.2
    """
    alpha_r = _in_unit_interval(alpha_r, "alpha_r")
    gamma_dr = _in_unit_interval(gamma_dr, "gamma_dr")
    rank = _int_at_least(rank, "rank", 1)
    x = alpha_r * gamma_dr
    return max(x / (1.0 + x), alpha_r / rank)


def residual_random_greedy_guarantee(alpha: float, gamma: float, rank: int) -> float:
    """The randomized rule's factor ℓ_r(α, γ): E[F(S)] ≥ ℓ_r·OPT under a partition matroid.

    The rule: in each domain shortlist its top rem_d feasible elements by residual correlation
    ρ and add one shortlisted element uniformly at random (residual random greedy of Chen,
    Feldman & Karbasi 2018, ranked by ρ instead of by marginal gain). This package's theorem
    (module docstring; proof in docs/theory.md §4): ℓ_0 = 0 and for i = 1, …, r, with
    m = r − i + 1, γ_1 = 1 and γ_l = γ for l ≥ 2,

        P_i = 1 − Π_{l=i}^{r} (1 − γ_l / l),
        ℓ_i = max(ℓ_{i−1}, ℓ_{i−1} + (α γ_m / m)(P_i − ℓ_{i−1})).

    ℓ_1 = α for r = 1; ℓ_r(1, 1) falls from 1 (r = 1) to about 1/e as r grows. Chen et al.'s
    (1 + 1/γ)⁻² is proven for max-weight bases by gain (α = 1); it is not what this returns.

    Parameters
    ----------
    alpha : float in [0, 1]
        :func:`restricted_eigenvalue_ratio` with r (1 when the rule ranks by exact gains).
    gamma : float in [0, 1]
        :func:`submodularity_ratio` with r.
    rank : int
        Matroid rank r ≥ 1.

    Returns
    -------
    float
        ℓ_r in [0, 1].

    Raises
    ------
    ValueError
        If alpha or gamma is not in [0, 1], or rank < 1.

    Examples
    --------
    >>> residual_random_greedy_guarantee(0.5, 0.3, 1)
    0.5
    >>> residual_random_greedy_guarantee(1.0, 1.0, 2)
    0.5
    >>> round(residual_random_greedy_guarantee(1.0, 1.0, 1000), 3)
    0.368
    >>> round(residual_random_greedy_guarantee(0.7, 0.9, 3), 3)
    0.338
    """
    alpha = _in_unit_interval(alpha, "alpha")
    gamma = _in_unit_interval(gamma, "gamma")
    r = _int_at_least(rank, "rank", 1)

    def g(size: int) -> float:
        return 1.0 if size == 1 else gamma

    # tail[i] = Π_{l=i}^{r} (1 − γ_l / l); the l = 1 factor is 0, so P_1 = 1.
    tail = [1.0] * (r + 2)
    for l in range(r, 0, -1):
        tail[l] = tail[l + 1] * (1.0 - g(l) / l)
    ell = 0.0
    for i in range(1, r + 1):
        m = r - i + 1
        step = alpha * g(m) / m
        ell = max(ell, ell + step * ((1.0 - tail[i]) - ell))
    return min(max(ell, 0.0), 1.0)
