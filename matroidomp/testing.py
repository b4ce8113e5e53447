"""Property tests of approximation guarantees: hypothesis strategies and :func:`assert_guarantee`.

A solver with a proven factor α promises f(S) ≥ α·OPT (or E[f(S)] ≥ α·OPT for a randomized
one), OPT = max f over the independent sets of the constraint. :func:`assert_guarantee` checks
that promise on one small instance against OPT by brute force
(:func:`matroidomp.bounds.brute_force_opt`, every basis enumerated); the strategies draw such
instances — partition matroids, the package's monotone submodular functions (facility location,
feature-based, coverage, graph cut, saturated coverage, sum redundancy, log-determinant, the
targeted FLMI, FLCG and GCMI, and their mixtures; :data:`SET_FUNCTION_KINDS`), quadratic
utilities and gradient pools with the hard cases (duplicated, antipodal and wildly scaled rows,
n > d, rank-deficient) — so that hypothesis searches for a counterexample::

    @given(testing.instances())
    def test_my_solver(instance):
        testing.assert_guarantee(my_solver, *instance, bound=0.5)

This module needs ``hypothesis`` (``pip install "matroidomp[testing]"``); the rest of the
package does not.

Examples
--------
>>> import matroidomp as mo
>>> from matroidomp import testing
>>> f = mo.FacilityLocation([[1.0, 0.0, 1.0], [1e-3, 1.0, 0.0]])
>>> m = mo.PartitionMatroid([0, 0, 1], {0: 1, 1: 1})
>>> value, opt = testing.assert_guarantee(mo.greedy, f, m, bound=0.5)  # greedy: ½ under a matroid
>>> round(value, 4), opt
(1.001, 2.0)
"""

from __future__ import annotations

import math
import numbers

import numpy as np

try:
    from hypothesis import strategies as st
except ImportError as exc:
    raise ImportError('matroidomp.testing needs hypothesis: pip install "matroidomp[testing]"') from exc

from ._logdet import LogDeterminant
from ._matroid import PartitionMatroid
from ._mixture import Mixture
from ._objectives import QuadraticUtility
from ._pairwise import GraphCut, SaturatedCoverage, SumRedundancy
from ._submodular import Coverage, FacilityLocation, FeatureBased
from ._targeted import (FacilityLocationConditionalGain, FacilityLocationMutualInformation,
                        GraphCutMutualInformation)
from .bounds import brute_force_opt

__all__ = [
    "POOL_KINDS",
    "SET_FUNCTION_KINDS",
    "assert_guarantee",
    "gradient_pools",
    "hoeffding_tolerance",
    "instances",
    "partition_matroids",
    "quadratic_utilities",
    "random_gradient_pool",
    "random_partition_matroid",
    "random_set_function",
    "set_functions",
]

#: Kinds of :func:`random_set_function`: facility location, feature-based (√ and log1p),
#: weighted coverage, a modular function (coverage of disjoint items), graph cut, saturated
#: coverage, sum redundancy, log-determinant, the targeted FLMI, FLCG and GCMI, and a mixture of
#: two of the others — each in its monotone submodular regime.
SET_FUNCTION_KINDS = ("facility", "feature_sqrt", "feature_log1p", "coverage", "modular", "graph_cut",
                      "saturated_coverage", "sum_redundancy", "log_determinant", "flmi", "flcg", "gcmi",
                      "mixture")
#: Kinds of :func:`random_gradient_pool`.
POOL_KINDS = ("gaussian", "duplicated", "antipodal", "wild_scale", "tall", "rank_deficient")
# The least (n, d) each kind needs: a pair of rows, d < n, rank < min(n, d).
_POOL_MIN = {"gaussian": (1, 1), "wild_scale": (1, 1), "duplicated": (2, 1), "antipodal": (2, 1),
             "tall": (2, 1), "rank_deficient": (2, 2)}


# --------------------------------------------------------------------------- seeded builders
_SYMMETRIC = ("graph_cut", "saturated_coverage", "sum_redundancy")


def _symmetric(n: int, rng: np.random.Generator, ties: bool) -> np.ndarray:
    """A random symmetric n × n similarity s ≥ 0 (small integers with ``ties``)."""
    s = rng.integers(0, 4, (n, n)).astype(float) if ties else rng.random((n, n)) * (rng.random((n, n)) < 0.7)
    return np.triu(s) + np.triu(s, 1).T


def _draw(kind: str, n: int, rng: np.random.Generator, ties: bool) -> dict:
    """The arrays and parameters of a random function of ``kind`` over n candidates, before any tie."""
    m = int(rng.integers(1, 9))
    if kind == "modular":
        w = rng.integers(1, 4, n).astype(float) if ties else rng.random(n) * 3
        return {"A": np.eye(n, dtype=bool), "w": w}
    if kind == "coverage":
        w = rng.integers(1, 4, m).astype(float) if ties else rng.random(m) * 3
        return {"A": rng.random((m, n)) < 0.35, "w": w}
    if kind in ("facility", "flmi", "flcg"):
        data = {"sim": rng.integers(0, 4, (m, n)).astype(float) if ties else rng.random((m, n))}
        if kind == "flmi":
            q = int(rng.integers(1, 4))
            data["query_sim"] = rng.integers(0, 4, (m, q)).astype(float) if ties else rng.random((m, q))
            data["eta"] = float(rng.uniform(0.25, 2.0))
        elif kind == "flcg":
            p = int(rng.integers(0, 4))
            data["private_sim"] = rng.integers(0, 4, (m, p)).astype(float) if ties else rng.random((m, p))
            data["nu"] = float(rng.choice([0.0, 1.0, rng.uniform(0, 1.5)]))
        return data
    if kind.startswith("feature"):
        return {"X": rng.integers(0, 3, (n, m)).astype(float) if ties else rng.random((n, m)) * (rng.random((n, m)) < 0.6)}
    if kind in _SYMMETRIC:
        data = {"sim": _symmetric(n, rng, ties)}
        if kind == "graph_cut":
            data["lam"] = float(rng.choice([0.0, 0.5, rng.uniform(0, 0.5)]))
        elif kind == "saturated_coverage":
            data["alpha"] = float(1.0 - rng.random())  # in (0, 1]
        return data
    if kind == "log_determinant":
        X = rng.integers(-2, 3, (n, m)).astype(float) if ties else rng.standard_normal((n, m))
        G = X @ X.T
        return {"L": (G + G.T) / 2, "regularization": float(rng.uniform(1.0, 2.0))}
    if kind == "gcmi":
        q = int(rng.integers(1, 4))
        return {"query_sim": rng.integers(0, 4, (n, q)).astype(float) if ties else rng.random((n, q))}
    # mixture: two distinct other kinds over the same n, weights w ≥ 0
    others = [k for k in SET_FUNCTION_KINDS if k != "mixture"]
    kinds = tuple(str(k) for k in rng.choice(others, 2, replace=False))
    return {"kinds": kinds, "parts": [_draw(k, n, rng, ties) for k in kinds], "weights": rng.random(2) * 2}


def _tie(kind: str, data: dict, src: int, dst: int) -> None:
    """Make candidate dst a copy of candidate src in ``data`` (swapping them leaves f unchanged)."""
    if kind == "mixture":
        for k, part in zip(data["kinds"], data["parts"]):
            _tie(k, part, src, dst)
    elif kind.startswith("feature"):
        data["X"][dst] = data["X"][src]
    elif kind == "modular":
        data["w"][dst] = data["w"][src]
    elif kind == "gcmi":
        data["query_sim"][dst] = data["query_sim"][src]
    elif kind in _SYMMETRIC or kind == "log_determinant":
        s = data["L" if kind == "log_determinant" else "sim"]
        # Row and column dst copy src, the 2 × 2 block {src, dst}² all s_src,src: symmetric, and for
        # L the Gram matrix of the feature rows with row dst replaced by row src.
        s[dst], s[:, dst] = s[src], s[src]
        s[dst, dst] = s[src, dst] = s[dst, src] = s[src, src]
    else:
        key = "A" if kind == "coverage" else "sim"
        data[key][:, dst] = data[key][:, src]


def _build(kind: str, data: dict):
    if kind == "facility":
        return FacilityLocation(data["sim"])
    if kind in ("coverage", "modular"):
        return Coverage(data["A"], data["w"])
    if kind.startswith("feature"):
        return FeatureBased(data["X"], concave=kind.split("_")[1])
    if kind == "graph_cut":
        return GraphCut(data["sim"], lam=data["lam"])
    if kind == "saturated_coverage":
        return SaturatedCoverage(data["sim"], alpha=data["alpha"])
    if kind == "sum_redundancy":
        return SumRedundancy(data["sim"])
    if kind == "log_determinant":
        return LogDeterminant(data["L"], regularization=data["regularization"])
    if kind == "flmi":
        return FacilityLocationMutualInformation(data["sim"], data["query_sim"], eta=data["eta"])
    if kind == "flcg":
        return FacilityLocationConditionalGain(data["sim"], data["private_sim"], nu=data["nu"])
    if kind == "gcmi":
        return GraphCutMutualInformation(data["query_sim"])
    return Mixture([_build(k, part) for k, part in zip(data["kinds"], data["parts"])], data["weights"])


def random_set_function(kind: str, n: int, rng: np.random.Generator, *, ties: bool = False):
    """A random monotone submodular function of the package over n candidates, and its data.

    Every kind is drawn where it is normalised, monotone and submodular (greedy's 1 − 1/e and ½
    apply); m ∈ [1, 8] points, features or items, q ∈ [1, 3] query and p ∈ [0, 3] private items:

    * ``facility``: f(S) = Σ_i max_{j∈S} sim_ij, sim ∈ [0, 1)^{m×n};
    * ``feature_sqrt`` / ``feature_log1p``: f(S) = Σ_u φ(Σ_{j∈S} x_ju) on sparse X ≥ 0 (n × m);
    * ``coverage``: the weight of the items (rows of a random incidence A) covered by S;
    * ``modular``: f(S) = Σ_{j∈S} w_j (coverage of disjoint items);
    * ``graph_cut``: f(S) = Σ_{i∈V, j∈S} s_ij − λ Σ_{i, j∈S} s_ij, symmetric s ≥ 0 (n × n),
      λ ∈ {0, ½} or uniform in [0, ½] (:class:`~matroidomp.GraphCut`);
    * ``saturated_coverage``: f(S) = Σ_i min(Σ_{j∈S} s_ij, α Σ_k s_ik), α ∈ (0, 1];
    * ``sum_redundancy``: f(S) = M |S| − Σ_{i, j∈S} s_ij, M = 2 max_j Σ_i s_ij;
    * ``log_determinant``: f(S) = log det(L_S + λ I), L = X Xᵀ (X n × m Gaussian), λ ∈ [1, 2];
    * ``flmi``: f(S) = Σ_i min(max_{j∈S} s_ij, η max_q t_iq), s m × n, t m × q, η ∈ [¼, 2];
    * ``flcg``: f(S) = Σ_i max(max_{j∈S} s_ij − ν max_p t_ip, 0), t m × p (max over no column:
      0), ν ∈ {0, 1} or uniform in [0, 1.5];
    * ``gcmi``: f(S) = Σ_{j∈S} Σ_q t_jq, t n × q;
    * ``mixture``: f(S) = w_1 f_1(S) + w_2 f_2(S), two distinct other kinds, w ∈ [0, 2)².

    Parameters
    ----------
    kind : str
        One of :data:`SET_FUNCTION_KINDS`.
    n : int
        Number of candidates (≥ 1).
    rng : numpy.random.Generator
        Source of every draw.
    ties : bool, default False
        Draw small integers and, when n ≥ 2, make one candidate a copy of another (for a
        symmetric s or L its row and column): equal gains from every set holding neither.

    Returns
    -------
    (SetFunction, dict)
        The function and what it was built from (for an independent reference implementation):
        ``{"sim"}`` (facility), ``{"X"}`` (feature), ``{"A", "w"}`` (coverage, modular),
        ``{"sim", "lam"}``, ``{"sim", "alpha"}``, ``{"sim"}`` (the symmetric n × n kinds),
        ``{"L", "regularization"}``, ``{"sim", "query_sim", "eta"}``,
        ``{"sim", "private_sim", "nu"}``, ``{"query_sim"}`` (gcmi), and for a mixture
        ``{"kinds", "parts", "weights"}`` with one such dict per part.

    Raises
    ------
    ValueError
        If ``kind`` is unknown or n < 1.

    Examples
    --------
    >>> import numpy as np
    >>> f, data = random_set_function("modular", 3, np.random.default_rng(0))
    >>> bool(np.isclose(f([0, 2]), data["w"][0] + data["w"][2]))
    True
    >>> f, data = random_set_function("graph_cut", 4, np.random.default_rng(0))
    >>> s, S = data["sim"], [1, 3]
    >>> bool(np.isclose(f(S), s[:, S].sum() - data["lam"] * s[np.ix_(S, S)].sum()))
    True
    """
    if kind not in SET_FUNCTION_KINDS:
        raise ValueError(f"kind: expected one of {SET_FUNCTION_KINDS}, got {kind!r}")
    if n < 1:
        raise ValueError(f"n: expected at least 1 candidate, got {n}")
    data = _draw(kind, n, rng, ties)
    if ties and n > 1:
        src, dst = rng.choice(n, 2, replace=False)
        _tie(kind, data, int(src), int(dst))
    return _build(kind, data), data


def random_partition_matroid(n: int, rng: np.random.Generator) -> PartitionMatroid:
    """Random labels over 1–3 domains, each budget uniform in [0, domain size].

    Parameters
    ----------
    n : int
        Ground-set size (≥ 0).
    rng : numpy.random.Generator
        Source of every draw.

    Returns
    -------
    PartitionMatroid

    Examples
    --------
    >>> import numpy as np
    >>> random_partition_matroid(5, np.random.default_rng(0)).n
    5
    """
    labels = rng.integers(0, int(rng.integers(1, 4)), n)
    domains, sizes = np.unique(labels, return_counts=True)
    budgets = {int(d): int(rng.integers(0, s + 1)) for d, s in zip(domains, sizes)}
    return PartitionMatroid(labels, budgets)


def random_gradient_pool(kind: str, n: int, d: int, rng: np.random.Generator, *, n_domains: int = 2,
                         n_anchors: int = 2):
    """(G, domains, anchors): n gradients in R^d with domain labels and validation anchors.

    ``gaussian``: i.i.d. N(0, 1) rows; ``duplicated`` / ``antipodal``: one row repeated or
    negated (exact ties, singular Gram matrix); ``wild_scale``: rows scaled by 10^U(−4, 4);
    ``tall``: d < n (at most n − 1 columns); ``rank_deficient``: G = B·C of rank < min(n, d).

    Parameters
    ----------
    kind : str
        One of :data:`POOL_KINDS`.
    n, d : int
        Rows and columns (≥ 1); ``duplicated``, ``antipodal`` and ``tall`` need n ≥ 2,
        ``rank_deficient`` n, d ≥ 2; ``tall`` lowers d below n.
    rng : numpy.random.Generator
        Source of every draw.
    n_domains : int, default 2
        Labels are drawn from 0 … n_domains − 1.
    n_anchors : int, default 2
        Rows of ``anchors`` (i.i.d. N(0, 1)).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        G (n × d float64, finite), domains (n int64), anchors (n_anchors × d float64).

    Raises
    ------
    ValueError
        If ``kind`` is unknown or n, d are below what it needs.

    Examples
    --------
    >>> import numpy as np
    >>> G, domains, anchors = random_gradient_pool("antipodal", 4, 3, np.random.default_rng(0))
    >>> G.shape, domains.shape, anchors.shape
    ((4, 3), (4,), (2, 3))
    >>> bool(np.any(np.all(np.isclose(G[:, None] + G[None], 0), axis=2)))  # an antipodal pair
    True
    """
    if kind not in POOL_KINDS:
        raise ValueError(f"kind: expected one of {POOL_KINDS}, got {kind!r}")
    low_n, low_d = _POOL_MIN[kind]
    if n < low_n or d < low_d:
        raise ValueError(f"n, d: kind {kind!r} needs n >= {low_n} rows and d >= {low_d} columns, got n={n}, d={d}")
    if kind == "tall":
        d = min(d, n - 1)
    if kind == "rank_deficient":
        r = int(rng.integers(1, max(min(n, d), 2)))
        G = rng.standard_normal((n, r)) @ rng.standard_normal((r, d))
    else:
        G = rng.standard_normal((n, d))
    if kind in ("duplicated", "antipodal"):
        i, j = rng.choice(n, 2, replace=False)
        G[j] = G[i] if kind == "duplicated" else -G[i]
    if kind == "wild_scale":
        G *= 10.0 ** rng.uniform(-4, 4, size=(n, 1))
    domains = rng.integers(0, n_domains, n)
    return G, domains, rng.standard_normal((n_anchors, d))


# --------------------------------------------------------------------------- strategies
def _sizes(n, max_n: int, low: int):
    return st.just(int(n)) if n is not None else st.integers(low, max_n)


@st.composite
def partition_matroids(draw, n: int | None = None, *, max_n: int = 8, max_domains: int = 3):
    """Strategy: partition matroids over n elements (drawn in [1, ``max_n``] when n is None).

    Labels in 0 … ``max_domains`` − 1, every budget in [0, domain size]; ``max_domains=1``
    gives cardinality constraints |S| ≤ k.

    Parameters
    ----------
    n : int, optional
        Ground-set size; match it to the function's (``f.n``).
    max_n : int, default 8
    max_domains : int, default 3

    Returns
    -------
    hypothesis.strategies.SearchStrategy of PartitionMatroid

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(partition_matroids(5))
    ... def check(m):
    ...     assert m.n == 5 and m.is_independent(next(iter(m.bases())))
    >>> check()
    """
    size = draw(_sizes(n, max_n, 1))
    labels = draw(st.lists(st.integers(0, max_domains - 1), min_size=size, max_size=size))
    budgets = {dom: draw(st.integers(0, labels.count(dom))) for dom in sorted(set(labels))}
    return PartitionMatroid(labels, budgets)


@st.composite
def set_functions(draw, n: int | None = None, *, max_n: int = 8, kinds=SET_FUNCTION_KINDS):
    """Strategy: the package's monotone submodular functions (:func:`random_set_function`).

    Parameters
    ----------
    n : int, optional
        Number of candidates (drawn in [1, ``max_n``] when None).
    max_n : int, default 8
    kinds : sequence of str, default :data:`SET_FUNCTION_KINDS`

    Returns
    -------
    hypothesis.strategies.SearchStrategy of SetFunction
        One of every kind of :data:`SET_FUNCTION_KINDS` (facility location, feature-based,
        coverage, graph cut, saturated coverage, sum redundancy, log-determinant, FLMI, FLCG,
        GCMI, mixtures), in its monotone submodular regime, with ties drawn half of the time.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(set_functions(4))
    ... def check(f):
    ...     assert f.n == 4 and f([0, 1]) >= f([0]) >= f([]) == 0
    >>> check()
    """
    kind = draw(st.sampled_from(tuple(kinds)))
    size = draw(_sizes(n, max_n, 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return random_set_function(kind, size, rng, ties=draw(st.booleans()))[0]


@st.composite
def gradient_pools(draw, n: int | None = None, d: int | None = None, *, max_n: int = 8, max_d: int = 8,
                   kinds=POOL_KINDS, max_domains: int = 3):
    """Strategy: (G, domains, anchors) gradient pools, hard cases included (:func:`random_gradient_pool`).

    Parameters
    ----------
    n, d : int, optional
        Rows (drawn in [1, ``max_n``]) and columns (drawn in [1, ``max_d``]), at least what the
        drawn kind needs (:func:`random_gradient_pool`); a fixed n or d leaves out the kinds it
        cannot have.
    max_n, max_d : int, default 8
    kinds : sequence of str, default :data:`POOL_KINDS`
    max_domains : int, default 3

    Returns
    -------
    hypothesis.strategies.SearchStrategy of (numpy.ndarray, numpy.ndarray, numpy.ndarray)

    Examples
    --------
    >>> import numpy as np
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(gradient_pools(5, 3))
    ... def check(pool):
    ...     G, domains, anchors = pool
    ...     assert G.shape[0] == 5 and anchors.shape[1] == G.shape[1] <= 3 and np.isfinite(G).all()
    >>> check()
    """
    usable = tuple(k for k in kinds if (n is None or n >= _POOL_MIN[k][0]) and (d is None or d >= _POOL_MIN[k][1]))
    if not usable:
        raise ValueError(f"kinds: none of {tuple(kinds)} has n={n} rows and d={d} columns")
    kind = draw(st.sampled_from(usable))
    rows = draw(_sizes(n, max(max_n, 2), _POOL_MIN[kind][0]))
    cols = draw(_sizes(d, max(max_d, 2), _POOL_MIN[kind][1]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return random_gradient_pool(kind, rows, cols, rng, n_domains=draw(st.integers(1, max_domains)),
                                n_anchors=draw(st.integers(1, 3)))


def _bounded(u: QuadraticUtility) -> bool:
    # F is monotone in S, so F(V) < ∞ bounds every F(S).
    return math.isfinite(u.value(np.arange(u.n)))


@st.composite
def _quadratic_utilities(draw, n, max_n, forms, kinds):
    G, domains, anchors = draw(gradient_pools(n, max_n=max_n, kinds=kinds))
    form = draw(st.sampled_from(tuple(forms)))
    if form == "gradmatch":
        return QuadraticUtility.gradient_matching(G, anchors.mean(axis=0), draw(st.sampled_from([0.0, 0.05, 0.5, 2.0])),
                                                  nonneg=draw(st.booleans()))
    return QuadraticUtility.taylor(G, anchors, draw(st.sampled_from([1e-3, 0.1, 1.0])),
                                   normalize=draw(st.booleans()),
                                   domains=domains if draw(st.booleans()) else None)


def quadratic_utilities(n: int | None = None, *, max_n: int = 8, forms=("gradmatch", "taylor"),
                        kinds=("gaussian", "duplicated", "wild_scale", "tall", "rank_deficient")):
    """Strategy: bounded :class:`~matroidomp.QuadraticUtility` instances on :func:`gradient_pools`.

    ``gradmatch``: :meth:`~matroidomp.QuadraticUtility.gradient_matching` with b the anchors'
    mean, λ ∈ {0, 0.05, 0.5, 2}, nonnegative or signed weights; ``taylor``:
    :meth:`~matroidomp.QuadraticUtility.taylor` (nonnegative weights, η ∈ {10⁻³, 0.1, 1},
    with or without normalisation and the per-domain block form). Only utilities with F(V) < ∞
    are drawn: a Taylor utility is unbounded when 0 is a nonnegative combination of rows
    (antipodal rows, so that kind is left out by default).

    Parameters
    ----------
    n : int, optional
        Number of candidates (drawn in [1, ``max_n``] when None).
    max_n : int, default 8
    forms : sequence of {'gradmatch', 'taylor'}
    kinds : sequence of str
        Pool kinds (:data:`POOL_KINDS`).

    Returns
    -------
    hypothesis.strategies.SearchStrategy of QuadraticUtility

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, deadline=None)
    ... @given(quadratic_utilities(4))
    ... def check(u):
    ...     assert u.n == 4 and u.value([0, 1]) >= u.value([0]) - 1e-12 >= -1e-12  # F is monotone
    >>> check()
    """
    return _quadratic_utilities(n, max_n, forms, kinds).filter(_bounded)


@st.composite
def instances(draw, functions=set_functions, *, max_n: int = 8, max_domains: int = 3):
    """Strategy: (f, matroid) pairs over the same ground set, for :func:`assert_guarantee`.

    Parameters
    ----------
    functions : callable, default :func:`set_functions`
        ``functions(n)`` returns a strategy of set functions over n candidates — e.g.
        ``lambda n: st.builds(MyFunction, ...)`` for a function of your own.
    max_n : int, default 8
    max_domains : int, default 3
        1 gives cardinality constraints.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of (SetFunction, PartitionMatroid)

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(instances())
    ... def check(instance):
    ...     f, m = instance
    ...     assert f.n == m.n
    >>> check()
    """
    n = draw(st.integers(1, max_n))
    return draw(functions(n)), draw(partition_matroids(n, max_domains=max_domains))


# --------------------------------------------------------------------------- the check
def hoeffding_tolerance(value_range: float, trials: int, confidence: float) -> float:
    """One-sided Hoeffding deviation t = R·√(ln(1/δ) / (2N)), δ = 1 − confidence.

    For N independent values in an interval of length R, P(mean ≤ E − t) ≤ exp(−2Nt²/R²) = δ.

    Parameters
    ----------
    value_range : float
        R ≥ 0.
    trials : int
        N ≥ 1.
    confidence : float
        1 − δ in (0, 1).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If R < 0 or not finite, N < 1, or confidence is outside (0, 1).

    Examples
    --------
    >>> round(hoeffding_tolerance(1.0, 400, 1 - 1e-6), 4)  # √(ln 10⁶ / 800)
    0.1314
    """
    if not (isinstance(value_range, numbers.Real) and math.isfinite(value_range) and value_range >= 0):
        raise ValueError(f"value_range: expected a finite number >= 0, got {value_range!r}")
    if isinstance(trials, bool) or not isinstance(trials, numbers.Integral) or trials < 1:
        raise ValueError(f"trials: expected an int >= 1, got {trials!r}")
    if not (isinstance(confidence, numbers.Real) and 0 < confidence < 1):
        raise ValueError(f"confidence: expected a number in (0, 1), got {confidence!r}")
    return float(value_range) * math.sqrt(math.log(1 / (1 - float(confidence))) / (2 * int(trials)))


def _indices(out) -> list:
    S = getattr(out, "indices", out)
    return [int(j) for j in np.asarray(S).ravel()]


def _describe(f, constraint) -> str:
    return f"{type(f).__name__}(n={getattr(f, 'n', '?')}) under {constraint!r}"


def assert_guarantee(solver, f, constraint, bound: float, *, trials: int | None = None, seed=None,
                     expectation: bool = False, confidence: float = 1 - 1e-6, rtol: float = 1e-9):
    """Assert f(solver(f, constraint)) ≥ bound·OPT on a small instance, OPT by brute force.

    OPT = max f over the bases of ``constraint`` (f monotone; :func:`~matroidomp.bounds.brute_force_opt`,
    Π_d C(n_d, k_d) evaluations). The value checked is f of the returned indices, not the
    objective the solver reports, and the returned set must be independent.

    * exact (default): every run satisfies f(S) ≥ bound·OPT − rtol·|OPT|;
    * ``expectation=True``: the mean of ``trials`` seeded runs satisfies
      mean ≥ bound·OPT − t − rtol·|OPT| with t = :func:`hoeffding_tolerance` (R, trials,
      confidence), R = OPT − f(∅) (every value lies in [f(∅), OPT]). A solver meeting its factor
      in expectation fails this with probability at most 1 − ``confidence``.

    Parameters
    ----------
    solver : callable
        ``solver(f, constraint)`` (``seed=None``) or ``solver(f, constraint, seed=s)``; returns a
        :class:`~matroidomp.SelectionResult` or an index array.
    f : callable
        Monotone set function, ``f(list_of_indices) -> float``.
    constraint : PartitionMatroid
    bound : float
        The factor α in [0, 1].
    trials : int, optional
        Seeded runs: default 1, or 400 with ``expectation``.
    seed : int, Generator or None
        None calls the solver once without a seed (deterministic solvers). Otherwise run i gets
        ``seed=s_i``, integers drawn from ``numpy.random.default_rng(seed)``.
    expectation : bool, default False
    confidence : float, default 1 − 10⁻⁶
        For ``expectation``.
    rtol : float, default 1e-9
        Relative floating-point slack.

    Returns
    -------
    (float, float)
        The smallest value over the runs (the mean with ``expectation``), and OPT.

    Raises
    ------
    AssertionError
        A run below the bound (its mean, with ``expectation``), an infeasible set, or a value
        above OPT (f is not monotone); the message names the instance, the value, OPT and the bound.
    ValueError
        An instance too large for brute force, sizes of f and constraint that differ, a bound
        outside [0, 1], ``expectation`` or ``trials`` > 1 without a seed.
    TypeError
        If ``constraint`` is not a PartitionMatroid.

    Examples
    --------
    Property-test greedy's ½ on random instances (three lines):

    >>> import matroidomp as mo
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, deadline=None)
    ... @given(instances())
    ... def test_greedy(instance):
    ...     assert_guarantee(mo.greedy, *instance, bound=0.5)
    >>> test_greedy()

    Stochastic greedy's 1 − 1/e − ε in expectation:

    >>> import numpy as np
    >>> f = mo.FacilityLocation(np.random.default_rng(0).random((5, 8)))
    >>> m = mo.PartitionMatroid.cardinality(8, 3)
    >>> run = lambda f, m, seed: mo.stochastic_greedy(f, m, epsilon=0.1, seed=seed)
    >>> mean, opt = assert_guarantee(run, f, m, 1 - 1 / np.e - 0.1, seed=0, expectation=True, trials=50)
    >>> bool(mean <= opt)
    True
    """
    if not isinstance(constraint, PartitionMatroid):
        raise TypeError(f"constraint: expected a PartitionMatroid, got {type(constraint).__name__}")
    if not (isinstance(bound, numbers.Real) and 0 <= bound <= 1):
        raise ValueError(f"bound: expected a factor in [0, 1], got {bound!r}")
    n = getattr(f, "n", None)
    if n is not None and int(n) != constraint.n:
        raise ValueError(f"constraint: {constraint.n} elements, but f is over n = {n}")
    trials = (400 if expectation else 1) if trials is None else trials
    if isinstance(trials, bool) or not isinstance(trials, numbers.Integral) or trials < 1:
        raise ValueError(f"trials: expected an int >= 1, got {trials!r}")
    if seed is None and (expectation or trials > 1):
        raise ValueError("seed: repeated or expectation checks run a randomized solver; give a seed")
    try:
        opt, argmax = brute_force_opt(f, constraint)
    except ValueError as err:
        raise ValueError(f"assert_guarantee: instance too large for brute force ({err})") from None
    where = _describe(f, constraint)
    slack = rtol * abs(opt)
    seeds = [None] if seed is None else np.random.default_rng(seed).integers(0, 2**63 - 1, trials).tolist()
    values = []
    for s in seeds:
        S = _indices(solver(f, constraint) if s is None else solver(f, constraint, seed=s))
        if not constraint.is_independent(S):
            raise AssertionError(f"{where}: the solver returned {S}, which is not independent")
        value = float(f(S))
        if value > opt + slack:
            raise AssertionError(f"{where}: f({S}) = {value!r} exceeds brute-force OPT = {opt!r} over the bases; "
                                 "f is not monotone")
        if not expectation and value < bound * opt - slack:
            raise AssertionError(f"{where}: f({S}) = {value!r} < bound·OPT = {bound!r}·{opt!r} = {bound * opt!r} "
                                 f"(OPT = {opt!r} at {argmax}" + (f", run seed={s})" if s is not None else ")"))
        values.append(value)
    if not expectation:
        return min(values), opt
    t = hoeffding_tolerance(max(opt - float(f([])), 0.0), trials, confidence)
    mean = float(np.mean(values))
    if mean < bound * opt - t - slack:
        raise AssertionError(f"{where}: mean f over {trials} runs = {mean!r} < bound·OPT − t = {bound!r}·{opt!r} − "
                             f"{t!r} = {bound * opt - t!r} (OPT = {opt!r} at {argmax}, Hoeffding t at confidence {confidence})")
    return mean, opt
