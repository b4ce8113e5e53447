"""Greedy and stochastic greedy maximisation of a set function under a partition matroid.

Greedy starts from S = empty (or a given feasible ``initial`` set A, which then solves the
contracted problem g(T) = f(A + T) - f(A) under the budgets left) and repeatedly adds the feasible element of largest marginal gain

    j* = argmax { f(S + j) - f(S) :  j not in S,  |S ∩ domain(j)| < k_domain(j) },

ties broken by the lowest index. For monotone submodular f it returns at least 1/2 of the optimum
over the matroid (Fisher, Nemhauser & Wolsey 1978) and at least 1 - 1/e of it under a single
cardinality constraint |S| <= k (Nemhauser, Wolsey & Fisher 1978).

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
from ._matroid import PartitionMatroid
from ._progress import make_progress
from ._result import STOP_CALLBACK, STOP_NO_GAIN, STOP_RANK, SelectionResult
from ._setfunction import GainState, SetFunction

#: Largest batch of stale bounds lazy greedy re-evaluates at once.
_MAX_BATCH = 64


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


def _check_initial(initial, matroid: PartitionMatroid) -> np.ndarray:
    """``initial`` as int64 indices, checked: 1-D integers in range, no repeats, within every budget."""
    if initial is None:
        return np.zeros(0, dtype=np.int64)
    arr = np.asarray(initial)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.ndim != 1:
        raise ValueError(f"initial: expected a 1-D sequence of indices, got shape {arr.shape}")
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"initial: expected integer indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    out = (arr < 0) | (arr >= matroid.n)
    if out.any():
        raise ValueError(f"initial: index {int(arr[out][0])} is out of range for a ground set of {matroid.n} elements")
    uniq, seen = np.unique(arr, return_counts=True)
    if (seen > 1).any():
        raise ValueError(f"initial: index {int(uniq[seen > 1][0])} appears more than once")
    over = np.flatnonzero(matroid.counts(arr) > matroid.budgets)
    if over.size:
        d = int(over[0])
        label = matroid.domains[d]
        label = label.item() if isinstance(label, np.generic) else label
        raise ValueError(f"initial: {int(matroid.counts(arr)[d])} elements of domain {label!r} "
                         f"exceed its budget of {int(matroid.budgets[d])}; the initial set is infeasible")
    return arr


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


def greedy(f: SetFunction, matroid, *, lazy: bool = True, initial=None, verbose: bool = False,
           callback=None) -> SelectionResult:
    """Greedy maximisation of ``f`` under a partition matroid: f(S) >= OPT / 2 for monotone submodular f.

    Starting from S = ``initial`` (empty by default), adds the feasible element of largest marginal gain
    f(S + j) - f(S) (ties: lowest index) until S is a basis. Guarantee for monotone submodular
    f: f(S) >= OPT / 2 under a partition matroid (Fisher, Nemhauser & Wolsey 1978),
    f(S) >= (1 - 1/e) OPT under |S| <= k (Nemhauser, Wolsey & Fisher 1978).

    Parameters
    ----------
    f : SetFunction
        The function, on ground set {0, ..., n-1}; wrap plain callables with
        :class:`CallableSetFunction`.
    matroid : PartitionMatroid or int
        Per-domain budgets; an int k means the cardinality constraint |S| <= k.
    lazy : bool, default True
        Minoux's lazy evaluation: a heap of stale gains, which by submodularity are upper bounds;
        only entries at the top are re-evaluated (in batches that double while the top stays
        stale) until the top is exact, which makes it the argmax. Selects exactly the set naive
        greedy selects whenever f's computed gains never increase as S grows (true for the
        functions of :mod:`matroidomp._submodular`); use ``lazy=False`` for a non-submodular f.
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
        ``info['gain_evaluations']`` counts marginal-gain evaluations.

    Raises
    ------
    TypeError
        When ``f`` is not a :class:`SetFunction` (e.g. a plain callable) or ``matroid`` is
        neither a :class:`PartitionMatroid` nor an int; ``initial`` not integer; ``verbose`` not
        a bool or ``callback`` not callable.
    ValueError
        When ``f`` and the matroid have ground sets of different sizes, a gain that ``f``
        returns is not finite or has the wrong shape, or ``initial`` has an index out of range,
        a repeated index, or more elements of a domain than its budget (the domain is named).

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
    """
    matroid = _check_problem(f, matroid)
    start = _check_initial(initial, matroid)
    path = _Path(f, matroid, start, make_progress(verbose, callback, matroid.rank, "greedy", initial=start.size))
    if lazy:
        return _lazy(path)
    while len(path.indices) < matroid.rank:
        cand = path.feasible()
        g = path.gains(cand)
        best = int(np.argmax(g))  # first maximum: the lowest index, as cand is increasing
        if g[best] < 0:
            return path.result(STOP_NO_GAIN)
        if not path.add(int(cand[best])):
            return path.result(STOP_CALLBACK)
    return path.result(STOP_RANK)


def _lazy(path: _Path) -> SelectionResult:
    """Lazy (Minoux) greedy on ``path``: the selection of naive greedy, fewer gain evaluations."""
    rank = path.matroid.rank
    if len(path.indices) >= rank:
        return path.result(STOP_RANK)
    everyone = np.flatnonzero(~path.selected).astype(np.int64)  # all but the initial set
    heap = list(zip((-path.gains(everyone)).tolist(), everyone.tolist()))
    heapq.heapify(heap)
    fresh_at = np.zeros(path.matroid.n, dtype=np.int64)  # step at which each bound was computed
    step = 0
    batch = 1
    while len(path.indices) < rank:
        neg_bound, j = heap[0]
        if path.full(j):
            heapq.heappop(heap)  # budgets only fill up: j can never become feasible again
            continue
        if fresh_at[j] == step:
            # The top (-g, j) is exact at the current S and precedes every other entry (-b, i):
            # g > b, or g == b and j < i. Each b bounds i's current gain from above, so every i
            # has a smaller gain, or the same gain and a larger index: naive greedy picks j too.
            if neg_bound > 0:
                return path.result(STOP_NO_GAIN)
            heapq.heappop(heap)
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
            if not path.full(i):
                stale.append(i)
        cand = np.array(stale, dtype=np.int64)
        fresh_at[cand] = step
        for g, i in zip(path.gains(cand).tolist(), stale):
            heapq.heappush(heap, (-g, i))
        batch = min(2 * batch, _MAX_BATCH)
    return path.result(STOP_RANK)


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
    start = _check_initial(initial, matroid)
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
