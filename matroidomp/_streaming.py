"""Streaming selection: one pass over the elements, in chunks, with memory independent of n.

Two algorithms for a monotone submodular f with f(∅) = 0, fed by :meth:`partial_fit` one chunk at
a time (any order, any chunk sizes; :meth:`fit` consumes an iterable such as a generator):

* :class:`SieveStreaming` — |S| ≤ k, f(S) ≥ (½ − ε)·OPT (Badanidiyuru, Mirzasoleiman, Karbasi &
  Krause, KDD 2014), O(k log(k)/ε) elements held, O(log(k)/ε) gains per element;
* :class:`MatroidStreaming` — a partition matroid |S ∩ domain d| ≤ k_d, f(S) ≥ ¼·OPT (the swap
  algorithm of Chakrabarti & Kale, Math. Programming 2015), at most r = Σ k_d elements held,
  one gain per element.

What a stream delivers. The function decides:

* a :class:`~matroidomp.SetFunction` f (ground set {0, ..., n−1}): each chunk is an array of
  ground-set indices. f holds its own data (e.g. an n × n similarity), the algorithm only indices.
* a :class:`~matroidomp.RowFunction` f (:class:`~matroidomp.FeatureBasedRows`,
  :class:`~matroidomp.FacilityLocationRows`, or your own): each chunk is a (b, dim) array of
  feature rows, e.g. read from a memory-mapped file or a database cursor; f turns it once into
  what its gains read (a b × m similarity block against a sample), and nothing of size n is ever
  held — the corpus-scale path. Elements are named by ``ids`` (default: their position in the
  stream, 0, 1, 2, ...).

Exactness. Within a chunk every element is decided in stream order against the set as it is at
that moment, exactly as one-at-a-time processing does: gains are evaluated in blocks that double
while nothing is accepted and restart at one element after an acceptance, so at most twice as
many gains as elements are computed and any chunking gives the same selection (for row functions
whose :meth:`~matroidomp.RowFunction.prepare` is exact row by row; the BLAS product of
:class:`~matroidomp.FacilityLocationRows` may differ in the last bits with the chunk size).

Repeated elements (the same index or id again) are allowed: an element that a set already holds is
skipped by that set (never selected twice), any other arrival is considered afresh. A stream with
repeats is a stream over the same ground set and both guarantees hold for it (each proof needs only
the first arrival of every optimal element). Remembering every element seen, to drop repeats
instead, would take memory proportional to n.

Starting from a set A (``initial=``, fixed at construction; :meth:`fit` restarts from it). Both
algorithms then run unchanged on the contracted function g(T) = f(A ∪ T) − f(A) — monotone
submodular with g(∅) = 0 when f is monotone submodular — under the budgets left: every set starts
holding A (so an element of A arriving in the stream is skipped, the rule for repeats),
thresholds and swap weights are gains over A, and the guarantees hold for g against
OPT_g = max over feasible T of f(A ∪ T) − f(A) (T of elements read, |T| ≤ k − |A| for
:class:`SieveStreaming`, |T ∩ d| ≤ k_d − |A ∩ d| for :class:`MatroidStreaming`). The result's
``indices`` begin with A in the order given, ``history`` with f of A's prefixes, ``counts`` and
``objective`` include A; when A fills the budgets the result is A with ``'rank_reached'``. For a
SetFunction A is ground-set indices; for a RowFunction A is feature rows, named by
``initial_ids`` (give them the ids they have in the stream, so that the stream skips them).

Progress: ``verbose=True`` shows a tqdm bar counting the elements read, with the current objective;
``callback(step, index, objective)`` is called after every chunk with ``step`` the number of
elements read so far, ``index`` the last one's id and ``objective`` the current result's F(S).
Returning False stops the stream: :meth:`fit` reads no further chunk, :meth:`partial_fit` then
raises, and :meth:`result` reports ``stop_reason='stopped_by_callback'``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ._matroid import PartitionMatroid, check_initial, check_initial_counts
from ._progress import check_progress, make_progress
from ._result import STOP_CALLBACK, STOP_RANK, STOP_STREAM, SelectionResult
from ._rowfunctions import RowFunction
from ._setfunction import SetFunction
from ._validation import check_indices, check_nonnegative_int, to_numpy


# --------------------------------------------------------------------------- chunks
class _Chunk:
    """One chunk as the algorithms see it: the elements' ids, what the gains read, and the source kind."""

    def __init__(self, ids: np.ndarray, data: np.ndarray, rows: bool):
        self.ids = ids
        self.data = data
        self.rows = rows

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def gains(self, state, lo: int, hi: int, skip: np.ndarray | None) -> np.ndarray:
        """Gains of positions lo..hi−1 at ``state``; −inf where ``skip`` (elements the set holds).

        Index chunks ask the state for the distinct, sorted indices not skipped (the
        :class:`~matroidomp.GainState` contract); row chunks evaluate the block and mask it.
        """
        if self.rows:
            g = _checked(state.gains(self.data[lo:hi]), hi - lo, self.ids[lo:hi])
            if skip is not None:
                g[skip] = -np.inf
            return g
        idx = self.ids[lo:hi]
        g = np.full(hi - lo, -np.inf)
        live = np.arange(hi - lo) if skip is None else np.flatnonzero(~skip)
        if live.size:
            uniq, inverse = np.unique(idx[live], return_inverse=True)
            g[live] = _checked(state.gains(uniq), uniq.shape[0], uniq)[inverse.reshape(-1)]
        return g

    def item(self, t: int):
        """What a state's ``add`` takes for position t: the index, or the prepared row."""
        return self.data[t] if self.rows else int(self.ids[t])


def _checked(g, size: int, ids: np.ndarray) -> np.ndarray:
    """Gains as a float64 array of ``size`` finite numbers; raise naming the first bad element."""
    g = np.array(g, dtype=np.float64).reshape(-1)
    if g.shape[0] != size:
        raise ValueError(f"f: gains() returned {g.shape[0]} values for {size} elements")
    bad = ~np.isfinite(g)
    if bad.any():
        t = int(np.flatnonzero(bad)[0])
        raise ValueError(f"f: the marginal gain of element {int(ids[t])} is {g[t]}; gains must be finite")
    return g


class _Source:
    """How chunks reach f: ground-set indices of a SetFunction, or feature rows of a RowFunction."""

    def __init__(self, f):
        if isinstance(f, SetFunction):
            self.rows = False
        elif isinstance(f, RowFunction):
            self.rows = True
        else:
            raise TypeError(
                f"f: expected a SetFunction (chunks of ground-set indices) or a RowFunction (chunks of "
                f"feature rows), got {type(f).__name__}; wrap a plain callable with CallableSetFunction(fn, n)"
            )
        self.f = f
        self.read = 0  # elements read so far (the default ids of row chunks)

    def chunk(self, chunk, ids) -> _Chunk:
        """Validate one chunk (and its ids) and prepare it; ``read`` grows only once the caller
        has validated the rest (labels) too."""
        if not self.rows:
            if ids is not None:
                raise ValueError("ids: a chunk of ground-set indices names its elements itself; "
                                 "ids are for chunks of feature rows (a RowFunction)")
            arr = to_numpy(chunk, "chunk")
            if arr.ndim > 1:
                raise ValueError(f"chunk: expected a 1-D array of ground-set indices, got shape {arr.shape}")
            idx = check_indices(arr, self.f.n, "chunk")
            return _Chunk(idx, idx, rows=False)
        data = self.f.prepare(chunk)
        b = int(data.shape[0])
        if ids is None:
            names = np.arange(self.read, self.read + b, dtype=np.int64)
        else:
            names = _check_ids(ids, b, "ids", "a chunk")
        return _Chunk(names, data, rows=True)


def _check_ids(ids, b: int, name: str, what: str) -> np.ndarray:
    """The ids of ``b`` rows as int64: 1-D integers, one per row."""
    names = to_numpy(ids, name)
    if names.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {names.shape}")
    if names.size and names.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integers, got dtype {names.dtype}")
    if names.shape[0] != b:
        raise ValueError(f"{name}: {names.shape[0]} ids for {what} of {b} rows")
    return names.astype(np.int64)


def _initial_chunk(source: _Source, initial, initial_ids, ground) -> _Chunk:
    """The initial set A as a chunk: ground-set indices checked by :func:`check_initial` against
    the matroid ``ground()`` (a SetFunction), or a RowFunction's rows, prepared, with their
    distinct ids (checked against ``ground()`` when it gives the ids' domains, else None).
    ``ground`` is called only for a nonempty A: an n-element matroid costs O(n) to build."""
    if not source.rows and initial_ids is not None:
        raise ValueError("initial_ids: ground-set indices name the initial elements themselves; "
                         "initial_ids are for initial feature rows (a RowFunction)")
    if initial is None or to_numpy(initial, "initial").size == 0:
        ids = np.zeros(0, dtype=np.int64) if initial_ids is None else _check_ids(initial_ids, 0, "initial_ids",
                                                                                "an initial set")
        return _Chunk(ids, ids, rows=source.rows)
    if not source.rows:
        idx = check_initial(initial, ground())
        return _Chunk(idx, idx, rows=False)
    try:
        data = source.f.prepare(initial)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"initial: the initial rows are invalid: {exc}") from exc
    if initial_ids is None:
        raise ValueError("initial_ids: initial feature rows need their ids, the names they take in the result "
                         "(e.g. their row numbers in the corpus, as the stream's ids, so that a stream "
                         "that carries them again skips them)")
    ids = _check_ids(initial_ids, int(data.shape[0]), "initial_ids", "an initial set")
    matroid = ground()
    if matroid is not None:
        check_initial(ids, matroid)
    else:
        uniq, seen = np.unique(ids, return_counts=True)
        if (seen > 1).any():
            raise ValueError(f"initial_ids: id {int(uniq[seen > 1][0])} appears more than once")
    return _Chunk(ids, data, rows=True)


# --------------------------------------------------------------------------- a growing set
class _Set:
    """A set grown by a streaming algorithm: f's state, the ids in arrival order, the prefix values
    f(first t elements), and — when the set may lose elements — the items to rebuild the state."""

    def __init__(self, f, keep_items: bool):
        self.f = f
        self.state = f.new_state()
        self.ids: list[int] = []
        self.history: list[float] = []
        self.items: list | None = [] if keep_items else None
        self.block = 1  # the next gain block's size (see _scan)

    def holds(self, ids: np.ndarray) -> np.ndarray | None:
        """Which of ``ids`` the set holds (None: none of them)."""
        if not self.ids:
            return None
        mask = np.isin(ids, np.asarray(self.ids, dtype=np.int64))
        return mask if mask.any() else None

    def add(self, chunk: _Chunk, t: int) -> None:
        item = chunk.item(t)
        self.state.add(item)
        self.ids.append(int(chunk.ids[t]))
        self.history.append(float(self.state.value))
        if self.items is not None:
            self.items.append(item.copy() if chunk.rows else item)

    def remove(self, position: int) -> None:
        """Drop the element at ``position`` (arrival order) and rebuild the state: |S| adds."""
        del self.ids[position]
        del self.items[position]
        self.state = self.f.new_state()
        self.history = []
        for item in self.items:
            self.state.add(item)
            self.history.append(float(self.state.value))

    @property
    def value(self) -> float:
        return float(self.state.value)


def _scan(chunk: _Chunk, S: _Set, lo: int, hi: int, thresholds, accept) -> int:
    """Decide positions lo..hi−1 of ``chunk`` for ``S`` in stream order; return the gains computed.

    An element is accepted when its gain at the current S is ≥ its threshold
    (``thresholds(lo, hi)`` → scalar or per-position array, None once S takes nothing more);
    ``accept(t, gain)`` changes S. Gains are evaluated in blocks that double while nothing is
    accepted and restart at one element after an acceptance (S changed, later gains are stale):
    at most 2·(hi − lo) gains, O(log) calls between acceptances.
    """
    evaluated = 0
    pos = lo
    while pos < hi:
        end = min(pos + S.block, hi)
        thr = thresholds(pos, end)
        if thr is None:
            break
        skip = S.holds(chunk.ids[pos:end])
        g = chunk.gains(S.state, pos, end, skip)
        evaluated += (end - pos) - (0 if skip is None else int(skip.sum()))
        hits = np.flatnonzero(g >= thr)
        if hits.size:
            t = pos + int(hits[0])
            accept(t, float(g[hits[0]]))
            pos, S.block = t + 1, 1
        else:
            pos, S.block = end, 2 * S.block
    return evaluated


# --------------------------------------------------------------------------- common interface
class _Stream:
    """``partial_fit`` / ``fit`` / ``result`` and the progress reporting shared by both algorithms."""

    _desc = "stream"

    def __init__(self, f, verbose: bool, callback, initial: _Chunk):
        self._f = f
        self._verbose = verbose
        self._callback = callback
        check_progress(verbose, callback)
        self._report = None
        self._initial = initial  # A, which every set starts from
        self._reset()

    def _new_set(self, keep_items: bool) -> _Set:
        """A set holding A: f's state after A's elements, its ids and prefix values."""
        S = _Set(self._f, keep_items)
        for t in range(len(self._initial)):
            S.add(self._initial, t)
        return S

    def _reset(self) -> None:
        self._source = _Source(self._f)
        self._evaluations = 0
        self._stopped = False
        self._close_report()

    def _close_report(self) -> None:
        if self._report is not None:
            self._report.close()
        self._report = None

    def _start(self, chunk, ids) -> _Chunk:
        if self._stopped:
            raise RuntimeError("the callback stopped this stream; call result(), or fit() to start a new one")
        return self._source.chunk(chunk, ids)

    def _reported(self, chunk: _Chunk) -> None:
        """Count one processed chunk as read and report it; the callback may stop the stream."""
        self._source.read += len(chunk)
        if not len(chunk):
            return
        if self._report is None:
            self._report = make_progress(self._verbose, self._callback, None, self._desc, "elem",
                                         initial=self._source.read - len(chunk))
            if self._report is None:
                return
        if not self._report.advance(len(chunk), int(chunk.ids[-1]), self._objective()):
            self._stopped = True

    def fit(self, chunks):
        """Start afresh and read every chunk of ``chunks`` (until the callback stops the stream).

        Parameters
        ----------
        chunks : iterable
            Chunks as :meth:`partial_fit` takes them; a tuple is unpacked into its positional
            arguments (e.g. ``(rows, labels)`` or ``(rows, labels, ids)``). A generator is read
            lazily, one chunk in memory at a time.

        Returns
        -------
        self
        """
        self._reset()
        for item in chunks:
            if isinstance(item, tuple):
                self.partial_fit(*item)
            else:
                self.partial_fit(item)
            if self._stopped:
                break
        self._close_report()
        return self

    @property
    def stopped(self) -> bool:
        """Whether the callback stopped the stream."""
        return self._stopped

    def _result(self, S: _Set, full: bool, counts: dict, info: dict) -> SelectionResult:
        self._close_report()
        idx = np.asarray(S.ids, dtype=np.int64)
        history = np.asarray(S.history, dtype=np.float64)
        stop = STOP_CALLBACK if self._stopped else (STOP_RANK if full else STOP_STREAM)
        return SelectionResult(
            indices=idx,
            weights=np.ones(idx.shape[0], dtype=np.float64),
            objective=float(history[-1]) if history.size else 0.0,
            history=history,
            counts=counts,
            stop_reason=stop,
            info={"n_read": self._source.read, "gain_evaluations": self._evaluations, **info},
        )


def _check_k(k) -> int:
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k: expected an int >= 1, got {k!r}")
    if k < 1:
        raise ValueError(f"k: expected an int >= 1, got {k}")
    return int(k)


def _check_epsilon(epsilon) -> float:
    if isinstance(epsilon, (bool, np.bool_)) or not isinstance(epsilon, (int, float, np.integer, np.floating)):
        raise TypeError(f"epsilon: expected a float in (0, 1), got {epsilon!r}")
    if not 0 < epsilon < 1:
        raise ValueError(f"epsilon: expected a value in (0, 1), got {epsilon!r}")
    return float(epsilon)


# --------------------------------------------------------------------------- sieve-streaming
class SieveStreaming(_Stream):
    """Sieve-streaming under |S| ≤ k: f(S) ≥ (½ − ε)·OPT for monotone submodular f, in one pass.

    Badanidiyuru, Mirzasoleiman, Karbasi & Krause, "Streaming submodular maximization: massive
    data summarization on the fly", KDD 2014 (Algorithm 3, thresholds instantiated lazily). With m
    the largest singleton value f({e}) read so far, one *sieve* S_v is kept for every threshold
    v = (1 + ε)^i in [m, 2km]; an arriving e joins every sieve with |S_v| < k and

        f(S_v + e) − f(S_v) ≥ (v/2 − f(S_v)) / (k − |S_v|).

    A sieve is created when 2km first reaches its v (every earlier element had
    f({e}) < v/(2k), below its first threshold, so starting empty then is exact) and dropped when m
    passes v. :meth:`result` is the best sieve. Guarantee: some v lies within a factor 1 + ε of
    OPT, and its sieve gets f ≥ min(v/2, OPT − v/2) ≥ (1 − ε)/2·OPT ≥ (½ − ε)·OPT.

    Parameters
    ----------
    f : SetFunction or RowFunction
        Monotone submodular with f(∅) = 0. A SetFunction is fed ground-set indices, a
        RowFunction feature rows (see the module docstring).
    k : int
        Budget, ≥ 1.
    epsilon : float in (0, 1), default 0.1
        Accuracy of the threshold grid: O(log(2k)/ε) sieves.
    initial : array-like, optional
        The set A every sieve starts from (apricot's ``initial_subset``), |A| ≤ k: distinct
        ground-set indices for a SetFunction, an (|A|, dim) array of feature rows for a
        RowFunction. The sieves then run on g(T) = f(A ∪ T) − f(A) with budget k − |A| (the
        threshold grid from g's singletons m = max g({e}), v in [m, 2(k − |A|)m]), and
        g(T) ≥ (½ − ε)·max{g(T') : |T'| ≤ k − |A|}. None or empty: start from ∅.
    initial_ids : array-like of int, optional
        RowFunction only, required with initial rows: their distinct ids (the names they take
        in the result; an element of the stream with one of them is skipped).
    verbose : bool, default False
        tqdm bar over the elements read, the current f(S) in its postfix.
    callback : callable, optional
        ``callback(step, index, objective)`` after each chunk (elements read, the last id, the
        current f(S)); False stops the stream.

    Raises
    ------
    TypeError
        ``f`` of another type, ``k`` or ``epsilon`` not a number, ``verbose`` not a bool or
        ``callback`` not callable; ``initial`` indices not integers, ``initial_ids`` not
        integers, initial rows not a real numeric array.
    ValueError
        ``k`` < 1, ``epsilon`` ≤ 0 or ≥ 1; ``initial`` not 1-D, with an index out of range or
        repeated, or more than k elements; initial rows of the wrong shape or values, without
        ``initial_ids``, with ids of the wrong length or repeated; ``initial_ids`` with a
        SetFunction. At :meth:`partial_fit`, indices out of range or rows of the wrong shape
        (see there).

    Notes
    -----
    Memory: at most (log(2k)/log(1 + ε) + 1)·k element ids plus one state of f per sieve (m
    floats for :class:`~matroidomp.FacilityLocationRows`, dim for
    :class:`~matroidomp.FeatureBasedRows`) — independent of n. Gains: one singleton and at most
    two per live sieve per element, O(log(k)/ε).

    Examples
    --------
    >>> import numpy as np
    >>> import matroidomp as mo
    >>> X = np.random.default_rng(0).random((1000, 8))
    >>> f = mo.FeatureBased(X)
    >>> sieve = mo.SieveStreaming(f, 5, epsilon=0.1)
    >>> for chunk in np.array_split(np.arange(1000), 10):  # ground-set indices, chunk by chunk
    ...     _ = sieve.partial_fit(chunk)
    >>> res = sieve.result()
    >>> len(res), res.stop_reason
    (5, 'rank_reached')
    >>> bool(res.objective >= (0.5 - 0.1) * mo.greedy(f, 5).objective)
    True
    >>> mo.SieveStreaming(f, 5, initial=[7, 3]).fit([np.arange(1000)]).result().indices[:2].tolist()  # A first
    [7, 3]

    The same function on feature rows that arrive from elsewhere (here a generator):

    >>> rows = mo.SieveStreaming(mo.FeatureBasedRows(8), 5).fit(X[i:i + 100] for i in range(0, 1000, 100))
    >>> rows.result().indices.tolist() == res.indices.tolist()
    True
    """

    _desc = "sieve-streaming"

    def __init__(self, f, k: int, *, epsilon: float = 0.1, initial=None, initial_ids=None, verbose: bool = False,
                 callback=None):
        self.k = _check_k(k)
        self.epsilon = _check_epsilon(epsilon)
        self._log_step = math.log1p(self.epsilon)
        source = _Source(f)
        A = _initial_chunk(source, initial, initial_ids,
                           lambda: None if source.rows else PartitionMatroid.cardinality(f.n, min(self.k, f.n)))
        if source.rows:
            check_initial_counts(np.array([len(A)]), np.array([self.k]), [0])
        self._a = len(A)
        self._k_left = self.k - self._a  # the budget of the contracted problem
        super().__init__(f, verbose, callback, A)

    def _reset(self) -> None:
        super()._reset()
        self._base = self._new_set(keep_items=False)  # A, never grown: singleton values g({e})
        self._f_initial = self._base.value if self._a else 0.0  # f(A)
        self._m = 0.0
        self._sieves: dict[int, _Set] = {}  # exponent i -> S_v, v = (1 + ε)^i

    def _bounds(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exponents i with m ≤ (1 + ε)^i ≤ 2km, as [lo, hi]; none where m ≤ 0 (there lo = hi =
        the smallest int64, so that lo and hi stay nondecreasing along a stream)."""
        lo = np.full(m.shape, np.iinfo(np.int64).min)
        hi = lo.copy()
        pos = m > 0
        logm = np.log(m[pos])
        lo[pos] = np.ceil(logm / self._log_step).astype(np.int64)
        hi[pos] = np.floor((logm + math.log(2 * self._k_left)) / self._log_step).astype(np.int64)
        return lo, hi

    def partial_fit(self, chunk, ids=None) -> "SieveStreaming":
        """Read one chunk of elements, in order.

        Parameters
        ----------
        chunk : array-like
            Ground-set indices (int, 1-D, in [0, f.n)) for a SetFunction; a (b, dim) array of
            feature rows for a RowFunction.
        ids : array-like of int, optional
            Row chunks only: the elements' ids (default: their positions in the stream).

        Returns
        -------
        self

        Raises
        ------
        TypeError
            Non-integer indices or ids; rows that are not a real numeric array.
        ValueError
            An index out of range or a 2-D index array; rows of the wrong shape, with a
            non-finite or (feature-based) negative entry; ids of the wrong length, or ids with
            index chunks.
        RuntimeError
            When the callback has stopped the stream.
        """
        chunk = self._start(chunk, ids)
        b = len(chunk)
        if b and self._k_left:
            skip = self._base.holds(chunk.ids)  # elements of A: every sieve holds them
            self._evaluations += b - (0 if skip is None else int(skip.sum()))
            singles = chunk.gains(self._base.state, 0, b, skip)
            m = np.maximum.accumulate(np.maximum(singles, self._m))
            lo, hi = self._bounds(m)
            live = np.flatnonzero(m > 0)
            # sieves are created in increasing i; an i below the largest one that does not exist
            # was passed over by m and never lives
            start_new = (max(self._sieves) + 1) if self._sieves else (int(lo[live[0]]) if live.size else 0)
            top = int(hi[-1]) if live.size else -1
            for i in sorted(self._sieves) + list(range(start_new, top + 1)):
                first = int(np.searchsorted(hi, i, "left"))  # alive from the first t with hi_t ≥ i
                last = int(np.searchsorted(lo, i, "right"))  # until the first t with lo_t > i
                S = self._sieves.get(i)
                if first < last:
                    if S is None:
                        S = self._sieves[i] = self._new_set(keep_items=False)
                    self._evaluations += self._sieve_scan(chunk, S, math.exp(i * self._log_step), first, last)
                if S is not None and last < b:
                    del self._sieves[i]
            self._m = float(m[-1])
        self._reported(chunk)
        return self

    def _sieve_scan(self, chunk: _Chunk, S: _Set, v: float, lo: int, hi: int) -> int:
        """The sieve rule on the contracted problem: g(S) = f(S) − f(A), |S \\ A| ≤ k − |A|."""
        k, a, base = self._k_left, self._a, self._f_initial

        def threshold(pos, end):
            picked = len(S.ids) - a
            if picked >= k:
                return None
            return (v / 2 - (S.value - base)) / (k - picked)

        return _scan(chunk, S, lo, hi, threshold, lambda t, g: S.add(chunk, t))

    def _best(self) -> tuple[int | None, _Set | None]:
        """The sieve of largest value among those that took an element (None: none did)."""
        best, arg = None, None
        for i in sorted(self._sieves):
            S = self._sieves[i]
            if len(S.ids) > self._a and (best is None or S.value > best.value):
                best, arg = S, i
        return arg, best

    def _objective(self) -> float:
        best = self._best()[1]
        return self._f_initial if best is None else best.value

    def result(self) -> SelectionResult:
        """The best sieve so far (closes the progress bar; reading may go on).

        Returns
        -------
        SelectionResult
            ``indices`` the selected ids in arrival order, unit ``weights``, ``history`` the
            values f(first t elements), ``counts`` ``{0: |S|}``; ``stop_reason``
            ``'rank_reached'`` (|S| = k), ``'stream_end'`` or ``'stopped_by_callback'``;
            ``info``: ``n_read``, ``gain_evaluations``, ``n_sieves``, ``stored_elements`` (ids
            held over all sieves), ``threshold`` (v of the returned sieve) and ``max_singleton`` m.
            From an initial set A: S begins with A (A alone when no sieve took an element),
            ``threshold`` and ``max_singleton`` are on g's scale (gains over A).
        """
        i, S = self._best()
        S = self._base if S is None else S
        n = len(S.ids)
        return self._result(S, n == self.k, {0: n}, {
            "n_sieves": len(self._sieves),
            "stored_elements": sum(len(s.ids) for s in self._sieves.values()),
            "threshold": None if i is None else math.exp(i * self._log_step),
            "max_singleton": self._m,
            "epsilon": self.epsilon,
        })


# --------------------------------------------------------------------------- matroid streaming
class MatroidStreaming(_Stream):
    """Streaming under a partition matroid by swaps: f(S) ≥ ¼·OPT for monotone submodular f.

    Chakrabarti & Kale, "Submodular maximization meets streaming: matchings, matroids, and
    more", Math. Programming 154 (2015), with β = 1. Every element s of S carries the weight
    w(s) = f(S' + s) − f(S'), its gain at arrival (S' the set then), fixed afterwards. An arriving
    e ∉ S has weight w(e) = f(S + e) − f(S), and:

    * if its domain d has room (|S ∩ d| < k_d): S ← S + e;
    * else, with c the lightest element of S ∩ d (ties: the earliest), if w(e) ≥ 2·w(c):
      S ← S − c + e (the state of f is rebuilt from the |S| elements kept);
    * else e is dropped. Domains with k_d = 0 take nothing.

    Guarantee, for any matroid and in particular a partition matroid: f(S) ≥ OPT/4. Proof for the
    partition matroid (U = every element ever accepted): (i) f(S) ≥ w(S), since the elements of
    S older than s were in S when s arrived; (ii) the weights killed along a chain of swaps at
    least halve, so w(U) ≤ 2·w(S) and f(U) ≤ w(U) (w(u) ≥ f's gain of u over the older part of
    U); (iii) an optimal element o ∉ U met its domain full, with gain < 2·(lightest weight
    there), and the lightest weight of a full domain never decreases, so Σ_o f_U(o) ≤ 2·w(S).
    Hence OPT ≤ f(U) + Σ_o f_U(o) ≤ 4·w(S) ≤ 4·f(S).

    Parameters
    ----------
    f : SetFunction or RowFunction
        Monotone submodular with f(∅) = 0.
    budgets : PartitionMatroid or mapping
        A :class:`~matroidomp.PartitionMatroid` over f's ground set (every element's domain is
        known from its index or id), or ``{domain: k_d}``, in which case every chunk comes with
        its elements' domain labels.
    initial : array-like, optional
        The set A that S starts from, within every budget: ground-set indices for a SetFunction,
        feature rows for a RowFunction (as in :class:`SieveStreaming`). A counts against the
        budgets and is never swapped out; the swaps run on g(T) = f(A ∪ T) − f(A) under the
        budgets left k_d − |A ∩ d| (weights are gains over A), and
        g(T) ≥ ¼·max{g(T') : |T' ∩ d| ≤ k_d − |A ∩ d| for every d}. None or empty: start from ∅.
    initial_labels : array-like of shape (|A|,), optional
        A's domains; required with a budgets mapping and a nonempty A, refused with a matroid
        (which gives them).
    initial_ids : array-like of int, optional
        RowFunction only, required with initial rows: their distinct ids (with a matroid they
        index its ground set).
    verbose, callback
        As in :class:`SieveStreaming`.

    Raises
    ------
    TypeError
        ``f`` or ``budgets`` of another type, a budget that is not an int, ``verbose`` not a
        bool or ``callback`` not callable; ``initial`` or ``initial_ids`` as in
        :class:`SieveStreaming`.
    ValueError
        A negative budget, a matroid over another ground set than a SetFunction f, an empty
        mapping; ``initial`` as in :class:`SieveStreaming`, or with more elements of a domain
        than its budget; ``initial_labels`` missing with a mapping, given with a matroid, of
        the wrong length or of a domain without a budget. At :meth:`partial_fit`, labels of a
        domain without a budget (see there).

    Notes
    -----
    Memory: r = Σ k_d elements (ids, weights, and for a RowFunction their prepared rows, to
    rebuild f's state after a swap) and one state of f — independent of n. Gains: at most two
    per element; a swap costs |S| additions to rebuild the state.

    Examples
    --------
    >>> import numpy as np
    >>> import matroidomp as mo
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((600, 6))
    >>> labels = rng.choice(["a", "b", "c"], 600)
    >>> stream = mo.MatroidStreaming(mo.FeatureBasedRows(6), {"a": 2, "b": 1, "c": 1})
    >>> for i in range(0, 600, 200):  # rows and their labels, chunk by chunk
    ...     _ = stream.partial_fit(X[i:i + 200], labels[i:i + 200])
    >>> res = stream.result()
    >>> res.counts, res.stop_reason
    ({'a': 2, 'b': 1, 'c': 1}, 'rank_reached')
    >>> m = mo.PartitionMatroid(labels, {"a": 2, "b": 1, "c": 1})
    >>> bool(res.objective >= 0.25 * mo.greedy(mo.FeatureBased(X), m).objective)
    True
    >>> start = mo.MatroidStreaming(mo.FeatureBasedRows(6), m, initial=X[[5, 9]], initial_ids=[5, 9])
    >>> start.partial_fit(X).result().indices[:2].tolist()  # rows 5 and 9 first, skipped when read
    [5, 9]
    """

    _desc = "matroid-streaming"

    def __init__(self, f, budgets, *, initial=None, initial_labels=None, initial_ids=None, verbose: bool = False,
                 callback=None):
        if isinstance(budgets, PartitionMatroid):
            if isinstance(f, SetFunction) and f.n != budgets.n:
                raise ValueError(f"f has a ground set of {f.n} elements but the matroid has {budgets.n}")
            self._matroid = budgets
            self._domains = [d.item() if hasattr(d, "item") else d for d in budgets.domains]
            self._budgets = budgets.budgets.astype(np.int64)
            self._caps = np.minimum(budgets.budgets, budgets.sizes).astype(np.int64)
        elif isinstance(budgets, Mapping):
            if not budgets:
                raise ValueError("budgets: expected at least one {domain: k_d}")
            self._matroid = None
            self._domains = [d.item() if hasattr(d, "item") else d for d in budgets]
            self._budgets = np.array([check_nonnegative_int(budgets[d], f"budgets[{d!r}]") for d in budgets],
                                     dtype=np.int64)
            self._caps = self._budgets
        else:
            raise TypeError(f"budgets: expected a PartitionMatroid or a mapping {{domain: k_d}}, "
                            f"got {type(budgets).__name__}")
        self._code = {d: c for c, d in enumerate(self._domains)}
        source = _Source(f)
        A = _initial_chunk(source, initial, initial_ids, lambda: (
            self._matroid if self._matroid is not None or source.rows
            else PartitionMatroid.cardinality(f.n, f.n)))  # indices in range, distinct; budgets by label below
        if self._matroid is not None:
            if initial_labels is not None:
                raise ValueError("initial_labels: the matroid gives every element's domain; pass initial_labels "
                                 "only with a budgets mapping")
            initial_codes = self._matroid.codes[A.ids]
        else:
            if initial_labels is None and len(A):
                raise ValueError("initial_labels: with a budgets mapping the initial elements need their domain "
                                 "labels")
            initial_codes = self._label_codes([] if initial_labels is None else initial_labels, A.ids,
                                           "initial_labels", "an initial set")
        initial_counts = np.bincount(initial_codes, minlength=len(self._domains))
        check_initial_counts(initial_counts, self._budgets, self._domains)  # labelled A: not checked yet
        # budgets left to the contracted problem: its domains with none take nothing
        self._left = self._budgets - initial_counts
        super().__init__(f, verbose, callback, A)

    def _reset(self) -> None:
        super()._reset()
        self._S = self._new_set(keep_items=True)
        self._weights: list[float] = []  # of the elements picked after A (A's are never swapped out)
        self._codes: list[int] = []
        self._counts = self._budgets - self._left
        self._swaps = 0
        self._thr = None  # per-domain thresholds, recomputed after a change

    def _chunk_codes(self, chunk: _Chunk, labels) -> np.ndarray:
        """The domain code of every element of the chunk."""
        if self._matroid is not None:
            if labels is not None:
                raise ValueError("labels: the matroid gives every element's domain; pass labels only "
                                 "with a budgets mapping")
            if chunk.rows:
                check_indices(chunk.ids, self._matroid.n, "ids")
            return self._matroid.codes[chunk.ids]
        if labels is None:
            raise ValueError("labels: with a budgets mapping every chunk needs its elements' domain labels")
        return self._label_codes(labels, chunk.ids, "labels", "a chunk")

    def _label_codes(self, labels, ids: np.ndarray, name: str, what: str) -> np.ndarray:
        """The domain codes of elements ``ids`` from their labels (argument ``name``)."""
        values = to_numpy(labels, name).reshape(-1).tolist()
        if len(values) != len(ids):
            raise ValueError(f"{name}: {len(values)} labels for {what} of {len(ids)} elements")
        codes = np.empty(len(values), dtype=np.int64)
        for t, label in enumerate(values):
            code = self._code.get(label)
            if code is None:
                raise ValueError(f"{name}: element {int(ids[t])} has domain {label!r}, which has no budget "
                                 f"(budgets cover {self._domains}; give 0 to exclude a domain)")
            codes[t] = code
        return codes

    def partial_fit(self, chunk, labels=None, ids=None) -> "MatroidStreaming":
        """Read one chunk of elements, in order.

        Parameters
        ----------
        chunk : array-like
            Ground-set indices for a SetFunction; a (b, dim) array of feature rows for a
            RowFunction.
        labels : array-like of shape (b,), optional
            The elements' domains; required with a budgets mapping, refused with a matroid.
        ids : array-like of int, optional
            Row chunks only: the elements' ids (default: their positions in the stream); with a
            matroid they index its ground set.

        Returns
        -------
        self

        Raises
        ------
        TypeError, ValueError
            As :meth:`SieveStreaming.partial_fit`; and labels that are missing, of the wrong
            length or of a domain without a budget, or given with a matroid.
        RuntimeError
            When the callback has stopped the stream.
        """
        chunk = self._start(chunk, ids)
        codes = self._chunk_codes(chunk, labels)
        if len(chunk):
            self._evaluations += _scan(chunk, self._S, 0, len(chunk), lambda lo, hi: self._thresholds()[codes[lo:hi]],
                                       lambda t, g: self._accept(chunk, t, int(codes[t]), g))
        self._reported(chunk)
        return self

    def _thresholds(self) -> np.ndarray:
        """Per domain, the weight an element needs: 0 with room, 2·(lightest) when full, inf for k_d = 0."""
        if self._thr is not None:
            return self._thr
        thr = np.zeros(len(self._domains))
        thr[self._left == 0] = np.inf
        full = (self._counts >= self._budgets) & (self._left > 0)
        for d in np.flatnonzero(full):
            thr[d] = 2 * min(w for w, c in zip(self._weights, self._codes) if c == d)
        self._thr = thr
        return thr

    def _accept(self, chunk: _Chunk, t: int, d: int, gain: float) -> None:
        if self._counts[d] >= self._budgets[d]:
            members = [p for p, c in enumerate(self._codes) if c == d]
            victim = min(members, key=lambda p: (self._weights[p], p))
            del self._weights[victim], self._codes[victim]
            self._S.remove(len(self._initial) + victim)
            self._counts[d] -= 1
            self._swaps += 1
        self._S.add(chunk, t)
        self._weights.append(gain)
        self._codes.append(d)
        self._counts[d] += 1
        self._thr = None

    def _objective(self) -> float:
        return self._S.value

    def result(self) -> SelectionResult:
        """The current set S (closes the progress bar; reading may go on).

        Returns
        -------
        SelectionResult
            ``indices`` the ids in arrival order, unit ``weights``, ``history`` the values
            f(first t elements), ``counts`` ``{domain: |S ∩ d|}``; ``stop_reason``
            ``'rank_reached'`` (every budget filled, up to a matroid's domain sizes),
            ``'stream_end'`` or ``'stopped_by_callback'``; ``info``: ``n_read``,
            ``gain_evaluations``, ``n_swaps``, ``swap_weights`` (each element's weight w).
            From an initial set A: S begins with A, and ``swap_weights`` are those of the
            elements after A.
        """
        counts = {d: int(c) for d, c in zip(self._domains, self._counts)}
        full = bool(np.all(self._counts >= self._caps))
        return self._result(self._S, full, counts, {
            "n_swaps": self._swaps,
            "swap_weights": np.asarray(self._weights, dtype=np.float64),
        })
