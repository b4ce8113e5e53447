"""PartitionSel against the usual baselines on synthetic heterogeneous gradients.

Run ``python -m matroidomp.demo`` (``--help`` for the options). The pool holds n per-example
gradients from four domains of imbalanced sizes (50/25/15/10 %); k of them are selected to match
a validation target built from anchors of every domain. Every method is scored by the same
quantity: the PartitionSel Taylor utility

    F(S) = max_{w ≥ 0, supp w ⊆ S} cᵀw − ½ wᵀQw,   c = η G ā + ½η² diag(GGᵀ),  Q = η² GGᵀ

evaluated exactly on the selection (``QuadraticUtility.taylor(...).value(indices)``).

Gradient model (unit rows, float32, seeded). A shared direction m₀ and one direction u_d per
domain give the domain means μ_d = normalise(√s·m₀ + √(1 − s)·u_d); each domain has 12 "topic"
directions v_{d,t}, and a gradient of domain d is

    g_i = normalise(√ρ·μ_d + √σ·(±v_{d,t(i)}) + √(1 − ρ − σ)·ε_i),   ε_i ~ N(0, I/dim),

with a random topic t(i) and a random sign (30 % negative: those examples pull against their
positive siblings, the conflicting pairs, and against the target). The validation anchors, two
per domain, carry μ_d and a positive mix of their domain's topics; those of the two minority
domains also carry two of their domain's topics with extra weight. Matching the target
therefore needs the few minority examples on those topics (about 1 in 12 of a domain that is
itself 10-15 % of the pool), which random selection rarely finds.

Methods: PartitionSel (the paper's algorithm: residual random greedy under proportional budgets,
seeded), uniform random, stratified random (proportional budgets, random inside each domain),
per-domain OMP (independent nonnegative OMP inside each domain with its budget, each matching
the full target), domain-agnostic OMP (one cardinality constraint k) and PartitionSel's
deterministic variant (arg-max OMP under the same budgets). All OMP variants fill their budgets
(``on_no_gain='fill'``), so every method selects exactly k examples.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from . import baselines
from ._matroid import PartitionMatroid, proportional_budgets
from ._metrics import conflicting_pairs
from ._objectives import QuadraticUtility
from ._partitionsel import partitionsel

#: Pool share of each domain (the two smallest carry the target-relevant directions).
DOMAIN_SHARES = (0.50, 0.25, 0.15, 0.10)
DEFAULTS = dict(n=1024, d=2048, k=128, seed=0, lr=2e-4)

METHODS = (
    "PartitionSel",
    "random",
    "stratified random",
    "per-domain OMP",
    "domain-agnostic OMP",
    "PartitionSel deterministic OMP",
)

_WITHIN = 0.3  # ρ: weight of the domain mean
_SHARED = 0.3  # s: weight of the shared direction in a domain mean
_TOPIC = 0.4  # σ: weight of an example's topic direction
_N_TOPICS = 12  # topic directions per domain
_NEGATIVE = 0.3  # share of examples carrying their topic with the opposite sign
_ANCHORS_PER_DOMAIN = 2
_ANCHOR_ALL_TOPICS = 0.3  # weight of the (positive) mix of all of its domain's topics in an anchor
_ANCHOR_TOPICS = 2  # topics of each minority domain that the validation target needs most
_ANCHOR_TOPIC = 0.3  # their extra weight in a minority anchor


def _unit_rows(X: np.ndarray) -> np.ndarray:
    """Rows of ``X`` scaled to unit L2 norm."""
    return X / np.linalg.norm(X, axis=-1, keepdims=True)


def make_data(n: int, d: int, seed: int):
    """Seeded pool ``(G, labels, anchors)``: n unit gradients g_i in R^d from four imbalanced domains.

    The gradient model of the module docstring: domain shares 50/25/15/10 % (:data:`DOMAIN_SHARES`),
    12 topic directions per domain, 30 % of the examples carrying their topic with a negative
    sign, and two validation anchors per domain.

    Parameters
    ----------
    n : int
        Pool size (at least 40 keeps every domain populated).
    d : int
        Gradient dimension.
    seed : int
        Seed of the only random generator used.

    Returns
    -------
    G : numpy.ndarray of float32, shape (n, d)
        Unit-norm rows.
    labels : numpy.ndarray of int64, shape (n,)
        Domain 0..3 of each row, in random order.
    anchors : numpy.ndarray of float32, shape (8, d)
        Unit-norm validation gradients, two per domain.

    Examples
    --------
    >>> G, labels, anchors = make_data(40, 16, seed=0)
    >>> G.shape, G.dtype.name, anchors.shape
    ((40, 16), 'float32', (8, 16))
    >>> np.bincount(labels).tolist()
    [20, 10, 6, 4]
    >>> bool(np.allclose(np.linalg.norm(G, axis=1), 1, atol=1e-6))
    True
    """
    rng = np.random.default_rng(seed)
    shares = np.asarray(DOMAIN_SHARES)
    n_dom = shares.size
    sizes = np.floor(shares * n).astype(np.int64)
    sizes[0] += n - int(sizes.sum())
    labels = rng.permutation(np.repeat(np.arange(n_dom), sizes))

    dirs = _unit_rows(rng.standard_normal((1 + n_dom + n_dom * _N_TOPICS, d)))
    shared, own = dirs[0], dirs[1:1 + n_dom]
    topics = dirs[1 + n_dom:].reshape(n_dom, _N_TOPICS, d)
    means = _unit_rows(np.sqrt(_SHARED) * shared + np.sqrt(1 - _SHARED) * own)

    def noise(m: int) -> np.ndarray:
        """m rows of N(0, I/d) noise."""
        return rng.standard_normal((m, d)) / np.sqrt(d)

    signs = np.where(rng.random(n) < _NEGATIVE, -1.0, 1.0)
    topic = topics[labels, rng.integers(0, _N_TOPICS, n)]
    G = np.sqrt(_WITHIN) * means[labels] + np.sqrt(_TOPIC) * signs[:, None] * topic
    G += np.sqrt(1 - _WITHIN - _TOPIC) * noise(n)

    anchor_domains = np.repeat(np.arange(n_dom), _ANCHORS_PER_DOMAIN)
    minority = np.isin(anchor_domains, np.argsort(shares)[:2])  # the two smallest domains
    mix = topics[anchor_domains].sum(axis=1) / np.sqrt(_N_TOPICS)
    needed = topics[anchor_domains, :_ANCHOR_TOPICS].sum(axis=1) / np.sqrt(_ANCHOR_TOPICS)
    weight = np.where(minority, _ANCHOR_TOPIC, 0.0)[:, None]
    anchors = np.sqrt(_WITHIN) * means[anchor_domains] + np.sqrt(_ANCHOR_ALL_TOPICS) * mix
    anchors += np.sqrt(weight) * needed + np.sqrt(1 - _WITHIN - _ANCHOR_ALL_TOPICS - weight) * noise(anchor_domains.size)
    return _unit_rows(G).astype(np.float32), labels, _unit_rows(anchors).astype(np.float32)


# ----------------------------------------------------------------------------- methods


#: The demo's rows and the :mod:`matroidomp.baselines` method each one runs (with its own seed stream).
BASELINES = dict(zip(METHODS, ("partitionsel", "random", "stratified-random", "gradmatch-per-domain", "gradmatch",
                               "partitionsel-omp")))


def run(n: int, d: int, k: int, seed: int = 0, lr: float = 2e-4) -> tuple[list[dict], dict]:
    """Run every method of :data:`METHODS` on one seeded instance and score F(S) exactly; return (rows, info).

    Parameters
    ----------
    n, d, k : int
        Pool size, gradient dimension and number of examples selected (0 <= k <= n).
    seed : int, default 0
        Seed of the data and of the randomized methods.
    lr : float, default 2e-4
        Learning rate η of the Taylor utility.

    Returns
    -------
    rows : list of dict
        One per method, in :data:`METHODS` order: ``method``, ``indices``, ``objective``
        (F(S), exact), ``counts`` ({domain: count}), ``conflicting_pairs`` and ``time_s``
        (selection wall time, utility construction included).
    info : dict
        ``budgets`` and ``sizes`` ({domain: k_d} and {domain: n_d}).

    Raises
    ------
    ValueError
        When k > n or a domain is empty (n too small).

    Examples
    --------
    >>> rows, info = run(40, 16, 8)
    >>> info["budgets"], info["sizes"]
    ({0: 4, 1: 2, 2: 1, 3: 1}, {0: 20, 1: 10, 2: 6, 3: 4})
    >>> [(r["method"], r["counts"][3]) for r in rows[:2]]
    [('PartitionSel', 1), ('random', 0)]
    >>> all(sum(r["counts"].values()) == 8 for r in rows)  # every method selects exactly k
    True
    >>> rows[0]["counts"] == info["budgets"]  # PartitionSel meets every budget exactly
    True
    """
    G, labels, anchors = make_data(n, d, seed)
    budgets = proportional_budgets(labels, k)
    # warm up (numba kernels load from cache on first use) so that no method pays for it
    partitionsel(G[:8], np.zeros(8, dtype=np.int64), 2, anchors=anchors, lr=lr, budgets={0: 2})
    matroid = PartitionMatroid(labels, budgets)
    rows = []
    for i, method in enumerate(METHODS):
        t0 = time.perf_counter()
        utility = QuadraticUtility.taylor(G, anchors, lr)  # each method pays for its utility
        res = baselines.select(BASELINES[method], utility, labels, k, budgets=budgets,
                               seed=np.random.default_rng([seed, i + 1]))
        elapsed = time.perf_counter() - t0
        rows.append(dict(method=method, indices=res.indices, objective=res.objective, counts=res.counts,
                         conflicting_pairs=conflicting_pairs(G, res.indices), time_s=elapsed))
    sizes = {dom.item(): int(s) for dom, s in zip(matroid.domains, matroid.sizes)}
    return rows, dict(budgets=budgets, sizes=sizes)


def format_table(rows: list[dict], budgets: dict) -> str:
    """The result table as text: one line per method (F(S), F / best, counts, conflicts, time).

    Parameters
    ----------
    rows : list of dict
        The rows of :func:`run`.
    budgets : dict
        ``{domain: k_d}``: the column order of the counts.

    Returns
    -------
    str

    Examples
    --------
    >>> rows = [dict(method="PartitionSel", objective=2.0, counts={0: 2, 1: 1}, conflicting_pairs=0,
    ...              time_s=0.0012),
    ...         dict(method="random", objective=1.5, counts={0: 2, 1: 1}, conflicting_pairs=1, time_s=0.0001)]
    >>> print(format_table(rows, {0: 2, 1: 1}))
    method             F(S)  F/best          counts 0/1  conflicts      time
    ------------------------------------------------------------------------
    PartitionSel     2.0000   1.000                 2/1          0     1.2ms
    random           1.5000   0.750                 2/1          1     0.1ms
    """
    doms = list(budgets)
    count_head = "counts " + "/".join(str(dom) for dom in doms)
    width = max(len(r["method"]) for r in rows)
    best = max(r["objective"] for r in rows)
    lines = [f"{'method':<{width}}  {'F(S)':>9}  {'F/best':>6}  {count_head:>18}  {'conflicts':>9}  {'time':>8}"]
    lines.append("-" * len(lines[0]))
    for r in rows:
        counts = "/".join(str(r["counts"][dom]) for dom in doms)
        rel = f"{r['objective'] / best:.3f}" if best > 0 else "-"
        lines.append(f"{r['method']:<{width}}  {r['objective']:>9.4f}  {rel:>6}  {counts:>18}  "
                     f"{r['conflicting_pairs']:>9d}  {1e3 * r['time_s']:>6.1f}ms")
    return "\n".join(lines)


def main(argv=None) -> list[dict]:
    """``python -m matroidomp.demo``: parse options, run every method, print the table; return the rows.

    Parameters
    ----------
    argv : list of str, optional
        Command-line options (default: ``sys.argv[1:]``): ``--n``, ``--d``, ``--k``, ``--seed``,
        ``--lr``.

    Returns
    -------
    list of dict
        The rows of :func:`run`.

    Raises
    ------
    SystemExit
        With status 2 for invalid options (n < 40, d < 1, k outside [0, n], lr < 0 or not
        finite), after argparse prints the error.

    Examples
    --------
    >>> rows = main(["--n", "40", "--d", "16", "--k", "8"])
    pool n=40 (domain sizes {0: 20, 1: 10, 2: 6, 3: 4}), d=16, k=8, proportional budgets ...
    ...
    PartitionSel  ...
    """
    parser = argparse.ArgumentParser(prog="python -m matroidomp.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=DEFAULTS["n"], help="pool size (default %(default)s)")
    parser.add_argument("--d", type=int, default=DEFAULTS["d"], help="gradient dimension (default %(default)s)")
    parser.add_argument("--k", type=int, default=DEFAULTS["k"], help="examples to select (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="seed (default %(default)s)")
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"], help="learning rate η (default %(default)s)")
    args = parser.parse_args(argv)
    if args.n < len(DOMAIN_SHARES) * 10:
        parser.error(f"--n must be at least {len(DOMAIN_SHARES) * 10} so that every domain is populated")
    if args.d < 1:
        parser.error("--d must be >= 1")
    if not 0 <= args.k <= args.n:
        parser.error("--k must be between 0 and --n")
    if not (np.isfinite(args.lr) and args.lr >= 0):
        parser.error("--lr must be a finite number >= 0")

    rows, info = run(args.n, args.d, args.k, args.seed, args.lr)
    budgets = info["budgets"]
    print(f"pool n={args.n} (domain sizes {info['sizes']}), d={args.d}, k={args.k}, "
          f"proportional budgets {budgets}, lr={args.lr:g}, seed={args.seed}")
    print("F(S): PartitionSel's Taylor utility, evaluated exactly on every selection (higher is better)\n")
    print(format_table(rows, budgets))
    return rows


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
