"""Greedy and stochastic greedy maximisation of a set function under a partition matroid.

Greedy starts from S = empty (or a given feasible ``initial`` set A, which then solves the
contracted problem g(T) = f(A + T) - f(A) under the budgets left) and repeatedly adds the feasible element of largest marginal gain

    j* = argmax { f(S + j) - f(S) :  j not in S,  |S ∩ domain(j)| < k_domain(j) },

ties broken by the lowest index. For monotone submodular f it returns at least 1/2 of the optimum
over the matroid (Fisher, Nemhauser & Wolsey 1978) and at least 1 - 1/e of it under a single
cardinality constraint |S| <= k (Nemhauser, Wolsey & Fisher 1978).

Knapsack. With costs c_j > 0 and a budget B instead of a matroid, greedy is cost-benefit greedy:
it adds the element of largest ratio (f(S + j) - f(S)) / c_j among those with c(S) + c_j <= B,
and returns the better of that path and the best single element of cost <= B; for monotone
submodular f that is at least ½(1 - 1/e) OPT over {S : c(S) <= B} (Khuller, Moss & Naor 1999;
Krause & Guestrin 2005). A matroid together with a knapsack is refused: no bound is claimed.

Stopping. Greedy runs until S is a basis (every budget filled, stop reason ``'rank_reached'``),
and stops early only when every feasible gain is strictly negative (``'no_positive_gain'``), which
a monotone f never produces. An element of zero gain is still added: for monotone f it cannot
lower f, the guarantees hold for the basis, and callers asking for k_d items per domain get
exactly k_d. Trailing zero gains are visible in ``result.gains`` should one want to drop them.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from ._validation import make_rng
from ._matroid import PartitionMatroid, check_initial
from ._progress import make_progress
from ._result import STOP_CALLBACK, STOP_NO_GAIN, STOP_RANK, SelectionResult
from ._setfunction import GainState, SetFunction

#: Largest batch of stale bounds lazy greedy re-evaluates at once.
_MAX_BATCH = 64

#: Stop reason of knapsack greedy: no element left fits the remaining budget.
STOP_BUDGET = "budget_spent"


def _check_problem(f, matroid) -> PartitionMatroid:
    """The matroid (an int k made a cardinality matroid) after checking ``f`` against it."""
    if not isinstance(f, SetFunction):
        raise TypeError(
            f"f: expected a SetFunction, got {type(f).__name__}; wrap a plain callable "
            "fn(list_of_indices) -> float with CallableSetFunction(fn, n)"
        )
    if isinstance(matroid, (int, np.integer)) and not isinstance(matroid, (bool, np.bool_)):
        matroid = PartitionMatroid.cardinality(f.n, int(matroid))
    if not isinstance(matroid, PartitionMatroid):
        raise TypeError(f"matroid: expected a PartitionMatroid or an int k, got {type(matroid).__name__}")
    if f.n != matroid.n:
        raise ValueError(f"f has a ground set of {f.n} elements but the matroid has {matroid.n}")
    return matroid


def _check_knapsack(f, matroid, costs, budget, initial):
    """(costs as float64, budget as float) after checking them; (None, None) without costs."""
    if costs is None and budget is None:
        if matroid is None:
            raise TypeError("matroid: required (a PartitionMatroid or an int k) unless costs= and budget= are given")
        return None, None
    if costs is None or budget is None:
        raise ValueError("costs and budget: give both (a knapsack constraint sum(costs[S]) <= budget) or neither")
    if matroid is not None:
        raise ValueError(
            "matroid: not combinable with costs= here; cost-benefit greedy's 1/2 (1 - 1/e) is proven for a "
            "knapsack alone (Krause & Guestrin 2005), and we claim no bound for it under a matroid and a "
            "knapsack together; pass matroid=None")
    if initial is not None:
        raise ValueError("initial: not supported with costs= (the best-singleton comparison assumes S starts empty)")
    c = np.asarray(costs)
    if c.dtype == np.bool_ or not (np.issubdtype(c.dtype, np.integer) or np.issubdtype(c.dtype, np.floating)):
        raise TypeError(f"costs: expected real numbers, got dtype {c.dtype}")
    if c.shape != (f.n,):
        raise ValueError(f"costs: expected shape ({f.n},), one cost per element, got {c.shape}")
    c = c.astype(np.float64)
    bad = ~(np.isfinite(c) & (c > 0))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(f"costs: the cost of element {j} is {c[j]}; costs must be finite and > 0")
    if isinstance(budget, (bool, np.bool_)) or not isinstance(budget, (int, float, np.integer, np.floating)):
        raise TypeError(f"budget: expected a positive number, got {budget!r}")
    if not (math.isfinite(budget) and budget > 0):
        raise ValueError(f"budget: expected a finite number > 0, got {budget!r}")
    return c, float(budget)


def _gains(state: GainState, cand: np.ndarray) -> np.ndarray:
    """Gains of ``cand``, checked to be one finite float per candidate."""
    g = np.asarray(state.gains(cand), dtype=np.float64)
    if g.shape != cand.shape:
        raise ValueError(f"f: gains() returned shape {g.shape} for {cand.shape[0]} candidates")
    bad = ~np.isfinite(g)
    if bad.any():
        t = int(np.flatnonzero(bad)[0])
        raise ValueError(f"f: the marginal gain of element {int(cand[t])} is {g[t]}; gains must be finite")
    return g


class _Path:
    """The growing selection: state, membership, per-domain counts, history."""

    def __init__(self, f: SetFunction, matroid: PartitionMatroid, initial: np.ndarray, report=None):
        self.matroid = matroid
        self.report = None  # no reporting while the initial set goes in
        self.state = f.new_state()
        self.selected = np.zeros(matroid.n, dtype=bool)
        self.counts = np.zeros(matroid.n_domains, dtype=np.int64)
        self.indices: list[int] = []
        self.history: list[float] = []
        self.evaluations = 0
        self.spent = 0.0  # knapsack: the cost of S
        for j in initial.tolist():
            self.add(j)
        self.report = report  # a Progress (its step count starting at |initial|), or None

    def gains(self, cand: np.ndarray) -> np.ndarray:
        """Gains of ``cand`` at the current S, counted in ``evaluations``."""
        self.evaluations += int(cand.shape[0])
        return _gains(self.state, cand)

    def feasible(self) -> np.ndarray:
        """Indices of the elements that can still be added."""
        return np.flatnonzero(self.matroid.feasible_mask(self.counts, self.selected))

    def full(self, j: int) -> bool:
        """Whether j's domain has no budget left."""
        d = self.matroid.codes[j]
        return bool(self.counts[d] >= self.matroid.budgets[d])

    def add(self, j: int) -> bool:
        """Add j to S: state, membership, counts, history; False when the callback stops the run."""
        self.state.add(j)
        self.selected[j] = True
        self.counts[self.matroid.codes[j]] += 1
        self.indices.append(j)
        self.history.append(float(self.state.value))
        return self.report is None or self.report.step(j, self.history[-1])

    def result(self, stop_reason: str, **info) -> SelectionResult:
        """The :class:`SelectionResult` of the path so far (closes the progress bar)."""
        if self.report is not None:
            self.report.close()
        idx = np.asarray(self.indices, dtype=np.int64)
        return SelectionResult(
            indices=idx,
            weights=np.ones(idx.shape[0], dtype=np.float64),
            objective=float(self.state.value),
            history=np.asarray(self.history, dtype=np.float64),
            counts=self.matroid.count_dict(idx),
            stop_reason=stop_reason,
            info={"gain_evaluations": self.evaluations, **info},
        )


def greedy(f: SetFunction, matroid=None, *, costs=None, budget=None, lazy: bool | None = None, initial=None,
           verbose: bool = False, callback=None) -> SelectionResult:
    """Greedy maximisation of ``f`` under a partition matroid or a knapsack: f(S) >= OPT / 2, or ½(1 - 1/e) OPT.

    Starting from S = ``initial`` (empty by default), adds the feasible element of largest marginal gain
    f(S + j) - f(S) (ties: lowest index) until S is a basis. Guarantee for monotone submodular
    f: f(S) >= OPT / 2 under a partition matroid (Fisher, Nemhauser & Wolsey 1978),
    f(S) >= (1 - 1/e) OPT under |S| <= k (Nemhauser, Wolsey & Fisher 1978).

    Knapsack (``costs`` and ``budget`` instead of ``matroid``): cost-benefit greedy adds the
    element of largest (f(S + j) - f(S)) / c_j among those that still fit (c(S) + c_j <= B;
    ties: lowest index) until none fits, then returns the better of that set and the best
    single element of cost <= B (ties: the cost-benefit set). For monotone submodular f,
    f(S) >= ½(1 - 1/e) OPT over {S : c(S) <= B} (Khuller, Moss & Naor 1999; Krause & Guestrin
    2005; :func:`matroidomp.bounds.knapsack_greedy_guarantee`).

    Parameters
    ----------
    f : SetFunction
        The function, on ground set {0, ..., n-1}; wrap plain callables with
        :class:`CallableSetFunction`.
    matroid : PartitionMatroid or int, optional
        Per-domain budgets; an int k means the cardinality constraint |S| <= k. Required unless
        ``costs`` and ``budget`` are given, and not combinable with them.
    costs : array_like of float, shape (n,), optional
        Knapsack costs c_j, finite and > 0; give together with ``budget``.
    budget : float, optional
        Knapsack budget B > 0: the selection satisfies sum(costs[S]) <= B.
    lazy : bool or None, default None
        None: lazy, unless ``f.lazy_greedy_pays`` is False — graph cut, sum redundancy,
        log-determinant and mixtures of only these, whose O(1) gains every pick changes, so that
        one batch of every gain beats the heap's per-entry work; for them both select the same
        set, so the default changes only the time. True: Minoux's lazy evaluation, a heap of
        stale gains, which by submodularity are upper bounds; only entries at the top are re-evaluated (in batches that double while the top stays
        stale) until the top is exact, which makes it the argmax. Selects exactly the set naive
        greedy selects whenever f's computed gains never increase as S grows (true for the
        functions of :mod:`matroidomp._submodular`); use ``lazy=False`` for a non-submodular f.
        With costs the heap holds ratios gain / c_j: with fixed c_j > 0 a ratio never increases
        when its gain does not, so the same argument gives naive's selection; an element that no
        longer fits never fits again (the spent cost only grows) and leaves the heap.
    initial : sequence of int, optional
        Elements S starts from (apricot's ``initial_subset``), counted against the budgets; greedy
        then maximises the contracted problem g(T) = f(A + T) - f(A) over the remaining budgets.
        They come first in ``indices``, in the order given, and ``history`` starts with f after
        each of them (no gain evaluation, no callback or progress tick for them).
    verbose : bool, default False
        Show a tqdm progress bar (stderr), one tick per selected element, f(S) in its postfix.
    callback : callable, optional
        ``callback(step, index, objective)`` after each selection (``step`` = |S|, ``index`` the
        element added, ``objective`` = f(S) = ``history[step - 1]``); returning False stops the
        run with the selection so far (see :mod:`matroidomp._progress`).

    Returns
    -------
    SelectionResult
        Indices in selection order, unit weights, f after each step in ``history``;
        ``stop_reason`` ``'rank_reached'`` (a basis), ``'no_positive_gain'`` (every feasible
        gain negative, never for monotone f) or ``'stopped_by_callback'``;
        ``info['gain_evaluations']`` counts marginal-gain evaluations. With costs, the stop
        reason is ``'budget_spent'`` (nothing more fits), ``info['picked']`` is
        ``'cost_benefit'`` or ``'singleton'`` (which set is returned) and ``info['cost']`` is
        c(S); a callback that stops the run gets the cost-benefit path so far (no singleton
        comparison), and the callback sees the cost-benefit path even when the singleton wins.

    Raises
    ------
    TypeError
        When ``f`` is not a :class:`SetFunction` (e.g. a plain callable) or ``matroid`` is
        neither a :class:`PartitionMatroid` nor an int (or missing without costs); ``initial``
        not integer; ``costs`` not real or ``budget`` not a number; ``lazy`` not a bool or None;
        ``verbose`` not a bool or ``callback`` not callable.
    ValueError
        When ``f`` and the matroid have ground sets of different sizes, a gain that ``f``
        returns is not finite or has the wrong shape, or ``initial`` has an index out of range,
        a repeated index, or more elements of a domain than its budget (the domain is named);
        ``costs`` of the wrong shape or with a cost that is not finite and > 0, ``budget`` not
        finite and > 0, only one of them given, or given with a matroid or ``initial``.

    Notes
    -----
    With r = matroid rank: naive greedy makes O(r n) gain evaluations; lazy greedy makes n at
    the start plus its re-evaluations, data dependent: a few per step on clustered data, a
    sizeable fraction of n on flat similarities (worst case the same O(r n)).

    Examples
    --------
    Five points, one representative from each of two domains:

    >>> import numpy as np
    >>> import matroidomp as mo
    >>> X = np.array([[1.0, 0.0], [0.8, 0.3], [0.0, 1.0], [0.3, 0.8], [0.2, 1.0]])
    >>> f = mo.FacilityLocation.from_features(X)
    >>> m = mo.PartitionMatroid(["a", "a", "b", "b", "b"], {"a": 1, "b": 1})
    >>> res = mo.greedy(f, m)
    >>> res.indices.tolist(), res.counts, res.stop_reason
    ([3, 0], {'a': 1, 'b': 1}, 'rank_reached')
    >>> res.history.round(4).tolist()  # f after each step
    [4.466, 4.9298]
    >>> mo.greedy(f, m, lazy=False).indices.tolist()  # naive greedy: the same set
    [3, 0]
    >>> mo.greedy(f, 1).indices.tolist()  # an int k: |S| <= k
    [3]
    >>> mo.greedy(f, m, callback=lambda step, index, objective: step < 1).stop_reason  # stop after one
    'stopped_by_callback'
    >>> mo.greedy(f, m, initial=[1]).indices.tolist()  # start from {1}: it comes first
    [1, 4]

    A knapsack: costs per element and a budget, no matroid:

    >>> res = mo.greedy(f, costs=[1.0, 1.0, 3.0, 1.0, 1.0], budget=2.0)
    >>> res.indices.tolist(), res.info["cost"], res.info["picked"], res.stop_reason
    ([3, 0], 2.0, 'cost_benefit', 'budget_spent')
    """
    cost, cap = _check_knapsack(f, matroid, costs, budget, initial)
    if lazy is None:
        lazy = bool(getattr(f, "lazy_greedy_pays", True))
    elif not isinstance(lazy, (bool, np.bool_)):
        raise TypeError(f"lazy: expected True, False or None, got {lazy!r}")
    if cost is None:
        matroid = _check_problem(f, matroid)
        start = check_initial(initial, matroid)
        path = _Path(f, matroid, start, make_progress(verbose, callback, matroid.rank, "greedy", initial=start.size))
        return _run(path, np.ones(matroid.n), math.inf, STOP_RANK, lazy)
    free = _check_problem(f, f.n)  # no matroid: |S| <= n
    path = _Path(f, free, np.zeros(0, dtype=np.int64), make_progress(verbose, callback, None, "greedy"))
    res = _run(path, cost, cap, STOP_BUDGET, lazy)
    if res.stop_reason == STOP_CALLBACK:
        return res
    # The best affordable singleton, when it beats the cost-benefit path.
    fits = np.flatnonzero(cost <= cap)
    alone = _gains(f.new_state(), fits) if fits.size else np.zeros(0)
    evaluations = res.info["gain_evaluations"] + int(fits.size)
    if fits.size and alone.max() > res.objective:
        single = _Path(f, free, fits[int(np.argmax(alone))][None])
        res = single.result(STOP_BUDGET)
        picked = "singleton"
    else:
        picked = "cost_benefit"
    res.info.update(gain_evaluations=evaluations, picked=picked, cost=float(cost[res.indices].sum()))
    return res


def _run(path: _Path, cost: np.ndarray, cap: float, done: str, lazy: bool) -> SelectionResult:
    """Greedy on ``path`` by the ratio gain / cost among affordable elements (cost ones, cap inf: plain greedy).

    ``done`` is the stop reason once nothing more can be added. Dividing by a cost of 1.0 is
    exact, so plain greedy ranks by the gains themselves.
    """
    if lazy:
        return _lazy(path, cost, cap, done)
    while len(path.indices) < path.matroid.rank:
        cand = path.feasible()
        cand = cand[path.spent + cost[cand] <= cap]
        if cand.size == 0:
            return path.result(done)
        g = path.gains(cand) / cost[cand]
        best = int(np.argmax(g))  # first maximum: the lowest index, as cand is increasing
        if g[best] < 0:
            return path.result(STOP_NO_GAIN)
        j = int(cand[best])
        path.spent += float(cost[j])
        if not path.add(j):
            return path.result(STOP_CALLBACK)
    return path.result(done)


def _lazy(path: _Path, cost: np.ndarray, cap: float, done: str) -> SelectionResult:
    """Lazy (Minoux) greedy on ``path``: the selection of naive greedy, fewer gain evaluations.

    The heap holds stale ratios gain / cost; with costs fixed and positive they bound the current
    ratios from above exactly as stale gains bound current gains.
    """
    rank = path.matroid.rank
    if len(path.indices) >= rank:
        return path.result(done)

    def unusable(i: int) -> bool:
        # Budgets only fill up and the spent cost only grows: such an i never becomes usable.
        return path.full(i) or path.spent + cost[i] > cap

    everyone = np.flatnonzero(~path.selected).astype(np.int64)  # all but the initial set
    heap = list(zip((-(path.gains(everyone) / cost[everyone])).tolist(), everyone.tolist()))
    heapq.heapify(heap)
    fresh_at = np.zeros(path.matroid.n, dtype=np.int64)  # step at which each bound was computed
    step = 0
    batch = 1
    while len(path.indices) < rank:
        if not heap:
            return path.result(done)
        neg_bound, j = heap[0]
        if unusable(j):
            heapq.heappop(heap)
            continue
        if fresh_at[j] == step:
            # The top (-g, j) is exact at the current S and precedes every other entry (-b, i):
            # g > b, or g == b and j < i. Each b bounds i's current gain from above, so every i
            # has a smaller gain, or the same gain and a larger index: naive greedy picks j too.
            if neg_bound > 0:
                return path.result(STOP_NO_GAIN)
            heapq.heappop(heap)
            path.spent += float(cost[j])
            if not path.add(j):
                return path.result(STOP_CALLBACK)
            step += 1
            batch = 1
            continue
        # Re-evaluate the top stale entries together, doubling the batch each time the top is
        # still stale within a step (fewer calls; exactness only needs bounds to stay >= gains).
        stale = []
        while heap and len(stale) < batch:
            i = heap[0][1]
            if fresh_at[i] == step:
                break
            heapq.heappop(heap)
            if not unusable(i):
                stale.append(i)
        cand = np.array(stale, dtype=np.int64)
        fresh_at[cand] = step
        for g, i in zip((path.gains(cand) / cost[cand]).tolist(), stale):
            heapq.heappush(heap, (-g, i))
        batch = min(2 * batch, _MAX_BATCH)
    return path.result(done)


def stochastic_greedy(f: SetFunction, matroid, *, epsilon: float = 0.1, seed=None, initial=None,
                      verbose: bool = False, callback=None) -> SelectionResult:
    """Stochastic greedy: E[f(S)] >= (1 - 1/e - epsilon) OPT under |S| <= k with O(n log(1/epsilon)) gains.

    Mirzasoleiman et al. 2015, "Lazier than lazy greedy". Each step draws
    s = ceil((n / k) log(1 / epsilon)) elements uniformly without replacement from the
    currently feasible ones (all of them when fewer), with k = matroid rank, and adds the
    sampled element of largest gain (ties: lowest index). Under |S| <= k and monotone
    submodular f, E[f(S)] >= (1 - 1/e - epsilon) OPT with O(n log(1/epsilon)) gain evaluations
    in total, independent of k. Under a general partition matroid it is a fast heuristic (no
    guarantee is claimed). It stops early only when the best *sampled* gain is negative.

    Parameters
    ----------
    f : SetFunction
        The function, on ground set {0, ..., n-1}.
    matroid : PartitionMatroid or int
        Per-domain budgets; an int k means |S| <= k.
    epsilon : float in (0, 1), default 0.1
        Accuracy: smaller means larger samples.
    seed : None, int or numpy.random.Generator
        The only source of randomness; the same seed gives the same result.
    initial : sequence of int, optional
        Elements S starts from, as in :func:`greedy` (first in ``indices``, counted against the
        budgets); s is computed from n and k as above either way.
    verbose, callback
        Progress bar and per-step callback, as in :func:`greedy`.

    Returns
    -------
    SelectionResult
        As :func:`greedy`; ``info['sample_size']`` is s, ``info['gain_evaluations']`` the
        number of gains evaluated.

    Raises
    ------
    TypeError
        When ``f`` is not a :class:`SetFunction`, ``matroid`` is neither a
        :class:`PartitionMatroid` nor an int, ``epsilon`` is not a number, ``verbose`` not a
        bool or ``callback`` not callable.
    ValueError
        When ``epsilon`` is not in (0, 1), the ground sets differ in size, a gain is not
        finite, or ``initial`` is invalid (as in :func:`greedy`).

    Examples
    --------
    >>> import numpy as np
    >>> import matroidomp as mo
    >>> X = np.random.default_rng(0).random((200, 8))
    >>> f = mo.FeatureBased(X)
    >>> res = mo.stochastic_greedy(f, 10, epsilon=0.1, seed=0)
    >>> len(res), res.info["sample_size"]
    (10, 47)
    >>> same = mo.stochastic_greedy(f, 10, epsilon=0.1, seed=0)
    >>> same.indices.tolist() == res.indices.tolist()  # same seed, same selection
    True
    >>> bool(res.objective >= 0.9 * mo.greedy(f, 10).objective)
    True
    """
    matroid = _check_problem(f, matroid)
    if isinstance(epsilon, (bool, np.bool_)) or not isinstance(epsilon, (int, float, np.integer, np.floating)):
        raise TypeError(f"epsilon: expected a float in (0, 1), got {epsilon!r}")
    if not 0 < epsilon < 1:
        raise ValueError(f"epsilon: expected a value in (0, 1), got {epsilon!r}")
    start = check_initial(initial, matroid)
    rng = make_rng(seed)
    path = _Path(f, matroid, start,
                 make_progress(verbose, callback, matroid.rank, "stochastic_greedy", initial=start.size))
    rank = matroid.rank
    if rank == 0:
        return path.result(STOP_RANK, sample_size=0)
    size = math.ceil(matroid.n / rank * math.log(1 / epsilon))
    while len(path.indices) < rank:
        cand = path.feasible()
        if cand.shape[0] > size:
            cand = np.sort(rng.choice(cand, size=size, replace=False))
        g = path.gains(cand)
        best = int(np.argmax(g))
        if g[best] < 0:
            return path.result(STOP_NO_GAIN, sample_size=size)
        if not path.add(int(cand[best])):
            return path.result(STOP_CALLBACK, sample_size=size)
    return path.result(STOP_RANK, sample_size=size)
