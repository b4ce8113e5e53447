"""Selection methods on one utility: PartitionSel and the baselines it is compared with.

Every method picks k of the n pool examples for the same Taylor (or any quadratic) utility

    F(S) = max_{w ≥ 0, supp w ⊆ S} cᵀw − ½ wᵀQw

and comes back as one :class:`~matroidomp.SelectionResult` whose ``objective`` and ``weights``
are F(S) and its optimum on that same utility, so methods compare directly. They live here once,
for the torch selector (:class:`matroidomp.torch.PartitionSelector`), the solver demo
(:mod:`matroidomp.demo`) and the fine-tuning benchmark (:mod:`matroidomp.bench`).

============================  ==========================================================================
``partitionsel``              the paper's algorithm: residual random greedy under the per-domain
                              budgets (uniform pick among each domain's top rem_d by ρ, exact refit)
``partitionsel-omp``          deterministic OMP (arg-max of ρ) under the same budgets
``gradmatch``                 GradMatch: OMP under |S| ≤ k, domains ignored (Killamsetty et al. 2021)
``gradmatch-per-domain``      OMP inside every domain with its budget, each matching the full target
                              (Q with cross-domain entries 0: the independent per-domain runs, in one)
``iwd``                       the authors' "independent within domain" baseline: their randomized
                              rule on that block-diagonal Q
``greats``                    GREATS (Wang et al. 2024): greedy on u_i = (c_i − ½Q_ii) − Σ_{j∈S} Q_ij,
                              the first-order gain minus pairwise interactions (η s_i − η²Σ K_ij)
``gradnorm``                  the k largest per-example gradient norms ‖g_i‖, domains ignored (as in the
                              authors' default, non-domain-wise run); ties broken at random
``facloc``                    CoLM-style facility location on the gradients inside every domain d: greedy
                              max of Σ_{i∈d} max_{j∈S_d} (1 + cos(g_i, g_j))/2 with |S_d| ≤ k_d
``random``                    k uniformly at random
``stratified-random``         k_d uniformly inside every domain d
``full``                      the whole pool
============================  ==========================================================================

OMP methods fill exactly their budgets (zero-weight examples once nothing improves the match);
an example that would make F unbounded is never selected (see :func:`matroidomp.solve_omp`).
Randomness comes from the ``seed`` argument (an int or a numpy Generator).

Methods that use the per-domain budgets (``partitionsel``, ``partitionsel-omp``,
``gradmatch-per-domain``, ``iwd``, ``facloc``, ``stratified-random``) take the authors'
``minority_full`` option: the listed domains are taken whole and the rule splits the rest (see
:func:`matroidomp.make_matroid`); the others (``gradmatch``, ``greats``, ``gradnorm``, ``random``)
ignore domains, as in the authors' code.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ._array import to_host
from ._greedy import greedy
from ._objectives import QuadraticUtility
from ._omp import solve_omp
from ._validation import check_nonnegative_int, make_rng
from ._matroid import PartitionMatroid, make_matroid
from ._result import STOP_RANK, SelectionResult
from ._submodular import FacilityLocation

METHODS = ("partitionsel", "partitionsel-omp", "gradmatch", "gradmatch-per-domain", "iwd", "greats", "gradnorm",
           "facloc", "random", "stratified-random", "full")
#: Methods whose selection is an OMP run on the utility (their result carries F directly).
OMP_METHODS = ("partitionsel", "partitionsel-omp", "gradmatch")


def select(method: str, utility: QuadraticUtility, domains, k: int, *, budgets="proportional", seed=None,
           backend: str = "auto", minority_full=None) -> SelectionResult:
    """Select k examples by ``method`` and score the selection exactly on ``utility``.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    utility : QuadraticUtility
        The utility every method is scored by (its arrays stay on their device).
    domains : (n,) labels
        Domain of every example (ints or strings; a tensor of ints on the device stays there).
    k : int
        Examples to select (``full`` selects all n).
    budgets : 'proportional', 'proportional-authors', 'equal' or mapping
        Per-domain budgets for the methods that use domains.
    seed : int, Generator or None
        Randomness of the randomized rule and the random baselines.
    backend : str
        The OMP backend (see :func:`matroidomp.solve_omp`).
    minority_full : collection of labels, optional
        Domains taken whole by the methods that use budgets (the authors' ``minority_full`` with
        their ``minority_classes``; see :func:`matroidomp.make_matroid`). Off by default.

    Returns
    -------
    SelectionResult
        ``indices`` (host int64, selection order), ``weights`` and ``objective`` = F(S) and its
        optimum on ``utility`` (``objective`` is inf, ``weights`` zeros, when F(S) is unbounded —
        possible only for methods that ignore the utility), ``counts`` per domain.

    Raises
    ------
    ValueError
        An unknown method, k out of range, budgets that do not fit, domains taken whole that
        hold more than k examples.

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> from matroidomp import baselines
    >>> rng = np.random.default_rng(0)
    >>> G = rng.standard_normal((30, 8))
    >>> u = mo.QuadraticUtility.taylor(G, G[:2], lr=0.1)
    >>> domains = np.repeat([0, 1], [20, 10])
    >>> ps = baselines.select("partitionsel", u, domains, 6, seed=0)
    >>> rnd = baselines.select("stratified-random", u, domains, 6, seed=0)
    >>> ps.counts == rnd.counts == {0: 4, 1: 2}, ps.objective > rnd.objective
    (True, True)
    >>> baselines.select("facloc", u, domains, 6).counts
    {0: 4, 1: 2}
    >>> baselines.select("partitionsel", u, domains, 12, minority_full=[1], seed=0).counts  # domain 1 whole
    {0: 2, 1: 10}
    """
    if method not in METHODS:
        raise ValueError(f"method: unknown {method!r}; use one of {METHODS}")
    if not isinstance(utility, QuadraticUtility):
        raise TypeError(f"utility: expected a QuadraticUtility, got {type(utility).__name__}")
    n = utility.n
    k = check_nonnegative_int(k, "k")
    if k > n:
        raise ValueError(f"k: cannot select {k} examples from a pool of {n}")
    rng = make_rng(seed)
    matroid = make_matroid(domains, budgets, n if method == "full" else k,  # also what counts are per domain of
                           minority_full=minority_full)
    if matroid.n != n:
        raise ValueError(f"domains: {matroid.n} labels for a pool of {n} examples")
    if method == "full":
        return _scored(utility, np.arange(n), matroid, "full")
    if method == "random":
        return _scored(utility, rng.choice(n, size=k, replace=False), matroid, method)
    if method == "gradmatch":
        res = solve_omp(utility, PartitionMatroid.cardinality(n, k), on_no_gain="fill", backend=backend)
        return dataclasses.replace(res, counts=matroid.count_dict(res.indices))
    if method in ("partitionsel", "partitionsel-omp"):
        return solve_omp(utility, matroid, randomized=method == "partitionsel", seed=rng, on_no_gain="fill",
                         backend=backend)
    if method in ("gradmatch-per-domain", "iwd"):
        res = solve_omp(utility.block_diagonal(matroid.codes), matroid, randomized=method == "iwd", seed=rng,
                        on_no_gain="fill", backend=backend)
        return _scored(utility, res.indices, matroid, method, res.info)
    if method == "stratified-random":
        parts = [rng.choice(np.flatnonzero(matroid.codes == d), size=int(k_d), replace=False)
                 for d, k_d in enumerate(matroid.budgets) if k_d]
        return _scored(utility, np.concatenate(parts) if parts else np.zeros(0, np.int64), matroid, method)
    if method == "gradnorm":
        return _scored(utility, gradnorm(utility, k, seed=rng), matroid, method)
    if method == "facloc":
        return _scored(utility, facloc(utility, matroid), matroid, method)
    return _scored(utility, greats(utility, k), matroid, method)


def conflicting_pairs_of(utility: QuadraticUtility, indices) -> int:
    """#{i < j in S : Q_ij < 0} from the |S| × |S| block of Q (the utility already checked G).

    For the Taylor and GradMatch utilities Q_ij = scale·s_i s_j⟨g_i, g_j⟩ off the diagonal
    (scale, s > 0), so this counts the conflicting gradient pairs of :func:`matroidomp.conflicting_pairs`
    without another pass over G; block-diagonal utilities count within blocks only.

    Parameters
    ----------
    utility : QuadraticUtility
    indices : sequence of int

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> G = np.array([[1.0, 0.0], [-1.0, 0.5], [0.0, 1.0]])
    >>> conflicting_pairs_of(mo.QuadraticUtility.gradient_matching(G, np.ones(2)), [0, 1, 2])
    1
    """
    idx = np.unique(np.asarray(to_host(indices), dtype=np.int64).reshape(-1))
    if idx.size < 2:
        return 0
    Q = utility.q_columns(idx)
    return int(np.count_nonzero(np.triu(Q < 0, k=1)))


def greats(utility: QuadraticUtility, k: int) -> np.ndarray:
    """GREATS: k greedy picks of max u_i, u_i = (c_i − ½Q_ii) − Σ_{j∈S} Q_ij (on the utility's device).

    For the Taylor utility c_i − ½Q_ii = η⟨g_i, ā⟩ and Q_ij = η²⟨g_i, g_j⟩: the first-order
    gain of example i minus its interactions with those already picked (Wang et al. 2024). One
    row of Q per pick: O(nd) (d-space) or O(n) (Gram).

    Parameters
    ----------
    utility : QuadraticUtility
    k : int

    Returns
    -------
    (k,) int64 numpy array
        Picks in order.

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> u = mo.QuadraticUtility.from_gram(np.eye(3), np.array([3.0, 2.0, 1.0]))
    >>> greats(u, 2).tolist()
    [0, 1]
    """
    xp = utility.backend.xp
    score = utility.c - 0.5 * utility.diagonal()
    picked = []
    neg_inf = -float("inf")
    for _ in range(k):
        j = int(xp.argmax(score))
        picked.append(j)
        score = score - utility.q_row(j)
        score[j] = neg_inf
    return np.asarray(picked, dtype=np.int64)


def gradnorm(utility: QuadraticUtility, k: int, *, seed=None) -> np.ndarray:
    """The k examples of largest gradient norm ‖g_i‖ (on the utility's device), ties at random.

    The norm is that of the raw rows: 1/s_i when the utility L2-normalised them (its row scale
    s), else read from Q's diagonal, Q_ii = scale·‖g_i‖² + ridge, which ranks the rows alike.
    Domains are ignored, as in the authors' default (non-domain-wise) run, where it is a top-k of
    diag(GGᵀ). Their rows are L2-normalised before that, so every norm is 1 and the top-k keeps
    the first k of the pool; here equal norms are ordered by a uniformly random permutation
    instead (``seed``), so gradient norm on normalised rows is uniform random selection: give
    it rows that keep their norms (e.g. ``PartitionSelector(normalize=False)``) to rank by them.

    Parameters
    ----------
    utility : QuadraticUtility
    k : int
        0 ≤ k ≤ n.
    seed : int, Generator or None
        Order among equal norms.

    Returns
    -------
    (k,) int64 numpy array
        Indices by decreasing norm.

    Raises
    ------
    ValueError
        k out of range.

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> G = np.array([[3.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    >>> u = mo.QuadraticUtility.taylor(G, G[:1], lr=0.1)  # normalised rows: the norms are 3, 1, 2.83
    >>> gradnorm(u, 2).tolist()
    [0, 2]
    """
    k = check_nonnegative_int(k, "k")
    if k > utility.n:
        raise ValueError(f"k: cannot select {k} examples from a pool of {utility.n}")
    b = utility.backend
    xp = b.xp
    rng = make_rng(seed)
    score = (1.0 / utility.row_scale) if utility.row_scale is not None else utility.diagonal()
    perm = rng.permutation(utility.n)
    shuffled = xp.take(score, b.asarray(perm, "int64"), axis=0)
    order = xp.argsort(-shuffled, stable=True)[:k]  # only k indices leave the device
    return perm[np.asarray(to_host(order), dtype=np.int64).reshape(-1)]


def facloc(utility: QuadraticUtility, matroid: PartitionMatroid) -> np.ndarray:
    """CoLM-style facility location on the gradients, inside every domain under its budget k_d.

    In each domain d, greedy (lazy, :func:`matroidomp.greedy` on :class:`matroidomp.FacilityLocation`)
    maximises f_d(S) = Σ_{i∈d} max_{j∈S} σ_ij over S ⊆ d with |S| ≤ k_d, where
    σ_ij = (1 + cos(g_i, g_j))/2 and cos is read from Q (cos_ij = K_ij/√(K_ii K_jj) with
    K = (Q − ridge·I)/scale, so η drops out; a zero row has cosine 0 with every row). This is
    the authors' domain-wise facility location (their ``facility_location`` on the train-train
    Gram of L2-normalised gradients with the domain as both candidates and points to cover);
    the shift of cos to [0, 1] changes no greedy choice. Their non-domain-wise run instead covers
    the validation anchors (similarity train × anchors) with k picks from the whole pool; here
    the budgets hold, as the comparison with PartitionSel needs. Only each domain's n_d × n_d
    block of Q comes to the host.

    Parameters
    ----------
    utility : QuadraticUtility
    matroid : PartitionMatroid
        Domains and budgets over the utility's n examples.

    Returns
    -------
    int64 numpy array
        The selection, domain by domain, each in greedy order; k_d from every domain.

    Raises
    ------
    ValueError
        A matroid over a different number of examples.

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> G = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [1.0, 0.1], [0.1, 1.0]])
    >>> u = mo.QuadraticUtility.taylor(G, G[:1], lr=0.1)
    >>> m = mo.PartitionMatroid([0, 0, 0, 1, 1], {0: 2, 1: 1})
    >>> facloc(u, m).tolist()  # domain 0 covers its two directions; domain 1: a tie, the lower index
    [1, 2, 3]
    """
    if matroid.n != utility.n:
        raise ValueError(f"matroid: {matroid.n} elements for a pool of {utility.n} examples")
    scale = utility.scale if utility.scale > 0 else 1.0
    picked = []
    for d, k_d in enumerate(matroid.budgets):
        if not k_d:
            continue
        idx = np.flatnonzero(matroid.codes == d)
        K = utility.q_columns(idx)
        K[np.diag_indices_from(K)] -= utility.ridge
        K /= scale
        norms = np.sqrt(np.clip(np.diagonal(K), 0.0, None))
        norms[norms == 0] = 1.0  # a zero row: cosine 0 with every row
        cos = np.clip(K / norms[:, None] / norms[None, :], -1.0, 1.0)
        sim = 0.5 * (1.0 + cos)
        sim = 0.5 * (sim + sim.T)  # exactly symmetric
        res = greedy(FacilityLocation(sim), int(k_d))
        picked.append(idx[res.indices])
    return np.concatenate(picked) if picked else np.zeros(0, np.int64)


def _scored(utility: QuadraticUtility, indices, matroid: PartitionMatroid, method: str,
            info: dict | None = None) -> SelectionResult:
    """A result for indices chosen without the utility: F(S) and w_S from one exact solve."""
    idx = np.asarray(to_host(indices), dtype=np.int64).reshape(-1)
    objective, w = utility.solve(idx)
    if not np.isfinite(objective):
        w = np.zeros(idx.size)
    return SelectionResult(indices=idx, weights=np.asarray(w, dtype=np.float64), objective=float(objective),
                           history=np.zeros(0), counts=matroid.count_dict(idx), stop_reason=STOP_RANK,
                           info={"method": method, **(info or {})})
