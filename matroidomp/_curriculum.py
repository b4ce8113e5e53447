"""Curriculum budgets: per-domain budgets that move with each domain's utility gain across steps.

The PartitionSel authors' ``curricullum`` option (``curr_budget`` in their ``subsel.py``, the gain
bookkeeping in ``subsel_utils.py``) replaces the per-domain budgets of every step by

    k_d = clip( k/C − (k/λ)·z_d , 0, n_d ),   z = (γ − mean γ) / std γ   (z = 0 when std γ = 0),

rounded to the nearest integer and then corrected one slot at a time, at random, until Σ k_d = k.
C is the number of training domains (all of them, present in the pool or not), n_d the pool
count of domain d, and γ_d the domain's *gain*: an exponential moving average of the relative
change of its utility from one step to the next,

    γ_d ← β·(U_d − U_d^prev)/|U_d^prev| + (1 − β)·γ_d     (the relative change is 0 while U_d^prev = 0),

where U_d is the Taylor utility of the step's selection (its indices and weights w) measured
against the validation anchors of domain d alone (:func:`domain_utilities`). With λ > 0, the
authors' sign and default (λ = 0.5, β = 0.9), budget moves *away* from domains whose utility is
rising fastest and *toward* domains whose gain is below average; λ < 0 moves it toward the
domains with more gain. With all gains equal the budgets are the equal split k/C.

Everything here is a pure function of its arguments; the state across steps (γ, U^prev) belongs
to the training loop:

    gain, previous = {d: 0.0 for d in train_domains}, {}
    every step:
        budgets = curriculum_budgets(pool_domains, gain, k, lam=0.5, seed=rng)
        result = select(..., budgets=budgets)
        current = domain_utilities(G, anchors, anchor_domains, lr, result.indices, result.weights)
        gain = curriculum_gain(gain, previous, current, beta=0.9)
        previous = {**previous, **current}
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._array import detect, to_host
from ._matroid import _check_total, _counts_by_domain, _label_key, encode_labels
from ._objectives import QuadraticUtility
from ._validation import make_rng


def _gain_table(gain, name: str) -> dict:
    """``gain`` as {label: float}, every value finite."""
    if not isinstance(gain, Mapping):
        raise TypeError(f"{name}: expected a mapping {{domain: value}}, got {type(gain).__name__}")
    out = {}
    for key, value in gain.items():
        try:
            v = float(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name}[{key!r}]: expected a number, got {value!r}") from exc
        if not np.isfinite(v):
            raise ValueError(f"{name}[{key!r}]: {v} is not finite")
        out[_label_key(key)] = v
    return out


def curriculum_budgets(labels, gain: Mapping, k: int, *, lam: float = 0.5, seed=None) -> dict:
    """The authors' curriculum budgets: k_d = clip(k/C − (k/λ)·z_d, 0, n_d), rounded, adjusted to Σ k_d = k.

    z is the standardised gain over the C domains (z_d = (γ_d − mean γ)/std γ, population std,
    z = 0 when every gain is equal); the C domains are those of ``gain`` together with those of
    the pool (a pool domain missing from ``gain`` counts with γ_d = 0, a domain of ``gain`` absent
    from the pool has n_d = 0). After clipping to [0, n_d] and rounding half to even, slots are
    added (to a domain drawn uniformly among those below n_d) or removed (from one drawn uniformly
    among those above 0) one at a time until the budgets sum to k — the authors' random correction.
    The incoming budgets of the step play no part (the base is the equal split k/C).

    Parameters
    ----------
    labels : (n,) labels
        Domain of every pool example.
    gain : mapping
        {domain: γ_d} from :func:`curriculum_gain` (all zeros at the first step).
    k : int
        Examples to select, 0 ≤ k ≤ n.
    lam : float, default 0.5
        λ ≠ 0 (the authors' default 0.5). Smaller |λ| moves more budget; λ > 0 moves it toward
        domains of below-average gain (the authors' sign), λ < 0 toward above-average gain.
    seed : int, Generator or None
        Randomness of the correction step.

    Returns
    -------
    dict
        {domain: k_d} over the pool's domains (in domain order), summing to k, each k_d ≤ n_d: a
        ``budgets`` mapping for :func:`matroidomp.make_matroid`, :func:`matroidomp.baselines.select`
        or ``PartitionSelector.budgets``.

    Raises
    ------
    ValueError
        λ zero or not finite, a gain that is NaN or infinite, k out of range.
    TypeError
        ``gain`` that is not a mapping of numbers, k that is not an int.

    Examples
    --------
    Three domains of 10, k = 6, λ = 6: z = (1.22, 0, −1.22), so k_d = rint(2 − z_d) = (1, 2, 3).

    >>> labels = ["a"] * 10 + ["b"] * 10 + ["c"] * 10
    >>> curriculum_budgets(labels, {"a": 0.3, "b": 0.1, "c": -0.1}, 6, lam=6.0)
    {'a': 1, 'b': 2, 'c': 3}
    >>> curriculum_budgets(labels, {"a": 0.0, "b": 0.0, "c": 0.0}, 6)  # equal gains: k/C each
    {'a': 2, 'b': 2, 'c': 2}
    """
    lam = float(lam)
    if not np.isfinite(lam) or lam == 0:
        raise ValueError(f"lam: expected a finite nonzero number, got {lam}")
    table = _gain_table(gain, "gain")
    domains, sizes = _counts_by_domain(labels)
    k = _check_total(k, int(sizes.sum()))
    pool_keys = [_label_key(d) for d in domains]
    universe = pool_keys + [key for key in table if key not in set(pool_keys)]
    C = len(universe)
    if C == 0:
        return {}
    g = np.array([table.get(key, 0.0) for key in universe], dtype=np.float64)
    cap = np.zeros(C, dtype=np.int64)
    cap[: len(pool_keys)] = sizes
    std = float(np.std(g))
    z = (g - g.mean()) / std if np.ptp(g) > 0 and std > 0 else np.zeros(C)  # equal gains: z = 0 exactly
    raw = k / C - (k / lam) * z
    budgets = np.rint(np.clip(raw, 0.0, cap.astype(np.float64))).astype(np.int64)
    rng = make_rng(seed)
    diff = k - int(budgets.sum())
    while diff != 0:
        open_ = np.flatnonzero(budgets < cap) if diff > 0 else np.flatnonzero(budgets > 0)
        d = int(rng.choice(open_))  # never empty: 0 <= k <= n = Σ cap
        budgets[d] += 1 if diff > 0 else -1
        diff += -1 if diff > 0 else 1
    return {key: int(b) for key, b in zip(pool_keys, budgets[: len(pool_keys)])}


def curriculum_gain(gain: Mapping, previous: Mapping, current: Mapping, *, beta: float = 0.9) -> dict:
    """One step of the authors' gain average: γ_d ← β·(U_d − U_d^prev)/|U_d^prev| + (1 − β)·γ_d.

    For every domain of ``current`` (the domains with validation anchors this step); the relative
    change is 0 while U_d^prev is 0 or unknown (the first step). A domain of ``gain`` without a
    current utility keeps its γ_d: no new evidence about it this step. (The authors update every
    domain every step, and score a domain without anchors by the self terms of the utility alone;
    we leave it unchanged.)

    Parameters
    ----------
    gain : mapping
        {domain: γ_d} of the previous step (zeros at the start).
    previous : mapping
        {domain: U_d} of the last step that measured d (empty at the start).
    current : mapping
        {domain: U_d} of this step (:func:`domain_utilities`).
    beta : float, default 0.9
        Weight of the newest relative change, 0 ≤ β ≤ 1 (the authors' 0.9).

    Returns
    -------
    dict
        The new {domain: γ_d}, over the domains of ``gain`` and ``current``.

    Raises
    ------
    ValueError
        β outside [0, 1], a NaN or infinite value.
    TypeError
        Arguments that are not mappings of numbers.

    Examples
    --------
    >>> g = curriculum_gain({"a": 0.0, "b": 0.5}, {"a": 2.0}, {"a": 3.0, "b": 1.0})
    >>> {d: round(v, 6) for d, v in g.items()}  # a: 0.9·0.5; b: no previous U, 0.1·0.5
    {'a': 0.45, 'b': 0.05}
    """
    beta = float(beta)
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta: expected a number in [0, 1], got {beta}")
    g, prev, cur = _gain_table(gain, "gain"), _gain_table(previous, "previous"), _gain_table(current, "current")
    out = dict(g)
    for key, u in cur.items():
        p = prev.get(key, 0.0)
        rel = 0.0 if p == 0 else (u - p) / abs(p)
        out[key] = beta * rel + (1.0 - beta) * g.get(key, 0.0)
    return out


def domain_utilities(G, anchors, anchor_domains, lr: float, indices, weights, *, normalize: bool = True) -> dict:
    """U_p = c_pᵀw − ½wᵀQw for every validation domain p: the selection's weights on p's own target.

    c_p and Q are those of :meth:`QuadraticUtility.taylor` with the anchors of domain p alone
    (their mean as the target), at the fixed weights w of the selection (not re-optimised): how
    well the step's update serves domain p. Only the |S| selected rows of G are read.

    Parameters
    ----------
    G : (n, d) array
        The pool's gradient rows (numpy, torch or cupy).
    anchors : (m, d) array
        Validation gradients.
    anchor_domains : (m,) labels
        Domain of every anchor.
    lr : float
        η, as for the selection's utility.
    indices, weights : sequences of length |S|
        The selection (``SelectionResult.indices`` and ``.weights``).
    normalize : bool, default True
        As for :meth:`QuadraticUtility.taylor` (``False`` for rows normalised already).

    Returns
    -------
    dict
        {domain: U_p} over the anchors' domains, in domain order.

    Raises
    ------
    ValueError
        Lengths that disagree, and everything :meth:`QuadraticUtility.taylor` refuses.

    Examples
    --------
    >>> import numpy as np
    >>> G = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> u = domain_utilities(G, A, ["x", "y"], 1.0, [0], [1.0])  # w = 1 on g_0 = e_1
    >>> u  # x: ⟨e_1, e_1⟩ + ½ − ½;  y: 0 + ½ − ½
    {'x': 1.0, 'y': 0.0}
    """
    idx = np.asarray(to_host(indices), dtype=np.int64).reshape(-1)
    w = np.asarray(to_host(weights), dtype=np.float64).reshape(-1)
    if w.shape != idx.shape:
        raise ValueError(f"weights: {w.shape[0]} weights for {idx.shape[0]} indices")
    domains, codes = encode_labels(anchor_domains)
    m = int(anchors.shape[0]) if hasattr(anchors, "shape") and len(anchors.shape) == 2 else -1
    if codes.shape[0] != m:
        raise ValueError(f"anchor_domains: {codes.shape[0]} labels for anchors of shape "
                         f"{tuple(getattr(anchors, 'shape', ()))} (expected one label per row)")
    backend = detect(G=G, anchors=anchors)
    rows = G[backend.asarray(idx, "int64")] if not backend.is_numpy else np.asarray(G)[idx]
    out = {}
    for p, d in enumerate(domains):
        sel = np.flatnonzero(codes == p)
        A_p = anchors[backend.asarray(sel, "int64")] if not backend.is_numpy else np.asarray(anchors)[sel]
        u = QuadraticUtility.taylor(rows, A_p, lr, normalize=normalize)
        Q = u.q_columns(np.arange(idx.size))
        out[_label_key(d)] = float(u.c_host(np.arange(idx.size)) @ w - 0.5 * w @ Q @ w)
    return out


class Curriculum:
    """The curriculum's state across training steps: the gains γ, the last utilities U^prev, λ, β.

    :meth:`budgets` gives a step's budgets (:func:`curriculum_budgets`) and :meth:`update` folds
    the step's selection into the gains (:func:`domain_utilities`, :func:`curriculum_gain`).
    ``PartitionSelector(..., curriculum=Curriculum(domains))`` calls both every step.

    Parameters
    ----------
    domains : sequence of labels
        The C training domains (all of them, whether in a step's pool or not).
    lam : float, default 0.5
        λ of :func:`curriculum_budgets` (the authors' default and sign).
    beta : float, default 0.9
        β of :func:`curriculum_gain`.
    seed : int, Generator or None
        Randomness of the budgets' rounding correction.

    Raises
    ------
    ValueError
        No domains, or what :func:`curriculum_budgets` and :func:`curriculum_gain` refuse.

    Examples
    --------
    >>> import numpy as np
    >>> cur = Curriculum(["x", "y"], seed=0)
    >>> labels = np.array(["x"] * 6 + ["y"] * 6)
    >>> cur.budgets(labels, 4)  # all gains 0: the equal split
    {'x': 2, 'y': 2}
    >>> G, A = np.eye(12)[:, :4] + 0.1, np.eye(4)[:2] + 0.1
    >>> _ = cur.update(G, A, ["x", "y"], 1.0, [0, 6], [1.0, 0.5])  # first step: no change yet
    >>> cur.gain
    {'x': 0.0, 'y': 0.0}
    """

    def __init__(self, domains, *, lam: float = 0.5, beta: float = 0.9, seed=None):
        labels, _ = encode_labels(domains)
        if len(labels) == 0:
            raise ValueError("domains: the curriculum needs at least one training domain")
        self.gain = {_label_key(d): 0.0 for d in labels}
        self.previous: dict = {}
        self.lam, self.beta, self.rng = lam, beta, make_rng(seed)

    def budgets(self, labels, k: int) -> dict:
        """This step's budgets {domain: k_d} of the pool ``labels`` (:func:`curriculum_budgets`)."""
        return curriculum_budgets(labels, self.gain, k, lam=self.lam, seed=self.rng)

    def update(self, G, anchors, anchor_domains, lr: float, indices, weights, *, normalize: bool = True) -> dict:
        """Fold one step's selection into the gains; returns its utilities {domain: U_d}
        (:func:`domain_utilities`, then :func:`curriculum_gain`)."""
        current = domain_utilities(G, anchors, anchor_domains, lr, indices, weights, normalize=normalize)
        self.gain = curriculum_gain(self.gain, self.previous, current, beta=self.beta)
        self.previous = {**self.previous, **current}
        return current
