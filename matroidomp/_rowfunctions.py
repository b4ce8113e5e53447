"""Set functions of elements given by their feature rows: what a stream of a corpus evaluates.

A :class:`~matroidomp.SetFunction` has a ground set {0, ..., n−1} and holds the data of all n
elements (the n × n similarity of a facility location, the n × U features of a feature-based
function). A corpus of 10⁸ examples does not fit that. A :class:`RowFunction` instead values a set
of elements from their feature rows x_j ∈ R^dim,

    f(S) = Φ({x_j : j ∈ S}),   f(∅) = 0,

and never sees the pool: a stream hands it one chunk of rows at a time, :meth:`RowFunction.prepare`
turns the chunk once into the per-element data its gains read, and a :class:`RowState` keeps only
the statistic of S that makes a gain cheap. Memory: the chunk's prepared rows, plus one state per
set the algorithm grows — independent of n.

- :class:`FeatureBasedRows`     f(S) = Σ_u φ(Σ_{j∈S} x_ju), x ≥ 0     state: dim feature sums
- :class:`FacilityLocationRows` f(S) = Σ_{i=1}^m max_{j∈S} s(p_i, x_j) over a fixed sample of m
  points p_i (exemplar-based clustering on an evaluation sample, as in Badanidiyuru et al. 2014)
                                                                      state: m current maxima

Both are monotone and submodular and compute exactly the numbers of their ground-set twins:
``FeatureBasedRows(U)`` on rows X[S] equals ``FeatureBased(X)`` on S, and
``FacilityLocationRows(P)`` on X[S] equals ``FacilityLocation(P.similarity(X))`` on S (the gain
kernels of :mod:`matroidomp.kernels.submodular_gains`, float64 accumulation). The streaming classes
(:class:`~matroidomp.SieveStreaming`, :class:`~matroidomp.MatroidStreaming`) accept either kind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ._validation import as_float_array, check_nonnegative_int
from .kernels.submodular_gains import CONCAVE, fb_add, fb_gains, fl_add, fl_gains


class RowState(ABC):
    """The current set S of a :class:`RowFunction`: the statistic that makes gains cheap.

    Starts at S = ∅ (``value`` = 0). :meth:`gains` returns f(S + x) − f(S) for a block of
    prepared rows (from :meth:`RowFunction.prepare`), :meth:`add` moves S to S + x.

    Examples
    --------
    A modular function f(S) = Σ_{j∈S} x_j0 on 1-feature rows:

    >>> import numpy as np
    >>> class SumState(RowState):
    ...     def __init__(self):
    ...         self.value = 0.0
    ...     def gains(self, rows):
    ...         return rows[:, 0].astype(float)
    ...     def add(self, row):
    ...         self.value += float(row[0])
    >>> s = SumState()
    >>> s.add(np.array([2.0]))
    >>> s.gains(np.array([[1.0], [3.0]])).tolist(), s.value
    ([1.0, 3.0], 2.0)
    """

    #: f(S) for the current S.
    value: float = 0.0

    @abstractmethod
    def gains(self, rows: np.ndarray) -> np.ndarray:
        """Marginal gains f(S + x_t) − f(S) of each prepared row x_t of ``rows``.

        Each row's gain must not depend on the other rows of the block.

        Parameters
        ----------
        rows : numpy.ndarray, shape (b, width)
            Prepared rows (:meth:`RowFunction.prepare`).

        Returns
        -------
        numpy.ndarray of float64, shape (b,)
        """

    @abstractmethod
    def add(self, row: np.ndarray) -> None:
        """Add the element of the prepared ``row`` to S and update ``value``.

        Parameters
        ----------
        row : numpy.ndarray, shape (width,)
        """


class RowFunction(ABC):
    """A set function of elements given by feature rows of length ``dim``, with f(∅) = 0.

    Subclasses set ``dim``, implement :meth:`new_state` and, when the gains read something other
    than the rows themselves, :meth:`prepare`. Calling the function on an array of rows evaluates
    f of that set of rows.

    Examples
    --------
    >>> import numpy as np
    >>> f = FeatureBasedRows(2)
    >>> f(np.array([[4.0, 0.0], [0.0, 9.0]]))  # √4 + √9
    5.0
    """

    #: Number of features of every row.
    dim: int

    def prepare(self, X) -> np.ndarray:
        """The per-element data the gains read, computed once per chunk: by default the rows,
        validated (2-D, ``dim`` columns, finite) as float32 or float64.

        Parameters
        ----------
        X : array-like of shape (b, dim)
            One element per row.

        Returns
        -------
        numpy.ndarray of shape (b, width)

        Raises
        ------
        TypeError
            When ``X`` is not a real numeric array.
        ValueError
            When ``X`` is not 2-D, has the wrong number of columns or a non-finite entry.
        """
        return self._rows(X)

    def _rows(self, X) -> np.ndarray:
        X = as_float_array(X, "X", 2)
        if X.shape[1] != self.dim:
            raise ValueError(f"X: expected rows of {self.dim} features, got shape {X.shape}")
        return X

    @abstractmethod
    def new_state(self) -> RowState:
        """A fresh :class:`RowState` at S = ∅.

        Returns
        -------
        RowState
        """

    def __call__(self, X) -> float:
        """f of the set of rows ``X`` (one element per row).

        Parameters
        ----------
        X : array-like of shape (b, dim)

        Returns
        -------
        float
        """
        rows = self.prepare(X)
        state = self.new_state()
        for t in range(rows.shape[0]):
            state.add(rows[t])
        return float(state.value)


# --------------------------------------------------------------------------- feature based
class _FeatureBasedRowsState(RowState):
    """The feature sums a_u = Σ_{j∈S} x_ju."""

    def __init__(self, dim: int, kind: int):
        self._acc = np.zeros(dim, dtype=np.float64)
        self._kind = kind
        self.value = 0.0

    def gains(self, rows: np.ndarray) -> np.ndarray:
        return fb_gains(rows, self._acc, self._kind, np.arange(rows.shape[0], dtype=np.int64))

    def add(self, row: np.ndarray) -> None:
        self.value = float(fb_add(row, self._acc, self._kind))


class FeatureBasedRows(RowFunction):
    """Feature-based function of rows: f(S) = Σ_u φ(Σ_{j∈S} x_ju), x ≥ 0, φ concave; a gain costs O(dim).

    The streaming twin of :class:`~matroidomp.FeatureBased`: the same numbers, without holding the
    n × dim features (monotone and submodular).

    Parameters
    ----------
    dim : int
        Number of features of every row (≥ 1).
    concave : {'sqrt', 'log1p'}, default 'sqrt'
        φ(a) = √a or log(1 + a).

    Raises
    ------
    TypeError
        When ``dim`` is not an int.
    ValueError
        When ``dim`` < 1 or ``concave`` is unknown; at :meth:`prepare`, rows with a negative or
        non-finite entry or the wrong width.

    Notes
    -----
    A state holds dim float64 sums; a gain costs O(dim).

    Examples
    --------
    >>> import numpy as np
    >>> import matroidomp as mo
    >>> X = np.array([[4.0, 0.0], [0.0, 9.0], [5.0, 0.0]])
    >>> f = FeatureBasedRows(2)
    >>> f(X[[0, 2]]) == mo.FeatureBased(X)([0, 2])
    True
    """

    def __init__(self, dim: int, concave: str = "sqrt"):
        if concave not in CONCAVE:
            raise ValueError(f"concave: expected one of {sorted(CONCAVE)}, got {concave!r}")
        self.dim = check_nonnegative_int(dim, "dim")
        if self.dim < 1:
            raise ValueError(f"dim: expected an int >= 1, got {self.dim}")
        self.concave = concave
        self._kind = CONCAVE[concave]

    def prepare(self, X) -> np.ndarray:
        """The rows themselves, validated (nonnegative, finite, ``dim`` columns).

        Parameters
        ----------
        X : array-like of shape (b, dim)

        Returns
        -------
        numpy.ndarray of shape (b, dim), float32 or float64

        Raises
        ------
        TypeError, ValueError
            As :meth:`RowFunction.prepare`, and for a negative entry (naming its row).
        """
        X = self._rows(X)
        if X.size and X.min() < 0:
            i = int(np.flatnonzero((X < 0).any(axis=1))[0])
            raise ValueError(f"X: row {i} has a negative entry; feature-based functions need x >= 0")
        return X

    def new_state(self) -> RowState:
        """A fresh state at S = ∅ (dim zero sums)."""
        return _FeatureBasedRowsState(self.dim, self._kind)


# --------------------------------------------------------------------------- facility location
class _FacilityLocationRowsState(RowState):
    """The current best similarity c_i of every sample point."""

    def __init__(self, m: int):
        self._cur = np.zeros(m, dtype=np.float64)
        self.value = 0.0

    def gains(self, rows: np.ndarray) -> np.ndarray:
        return fl_gains(rows, self._cur, np.arange(rows.shape[0], dtype=np.int64))

    def add(self, row: np.ndarray) -> None:
        self.value = float(fl_add(row, self._cur))


def _unit_rows(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit norm; a zero row stays zero (cosine 0 with everything)."""
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    norms[norms == 0] = 1
    return X / norms[:, None]


class FacilityLocationRows(RowFunction):
    """Facility location on a sample: f(S) = Σ_{i=1}^m max_{j∈S} s(p_i, x_j), s = (1 + cos)/2; a gain costs O(m).

    Every one of m fixed points p_i (a random sample of the corpus, or cluster centres) is
    represented by its most similar selected element. Monotone and submodular (s ≥ 0). The
    streaming twin of :class:`~matroidomp.FacilityLocation` with the m × n similarity
    :meth:`similarity` — which a stream never forms: each chunk's b × m block is computed once
    (one GEMM, 2·b·m·dim flops) by :meth:`prepare`.

    Parameters
    ----------
    points : array-like of shape (m, dim)
        The points to represent; real and finite (zero rows have cosine 0 with everything).
    metric : {'cosine'}, default 'cosine'
        s(p, x) = max((1 + cos(p, x)) / 2, 0) ∈ [0, 1], as :func:`~matroidomp.similarity_matrix`.

    Raises
    ------
    TypeError
        When ``points`` is not a real numeric array.
    ValueError
        When ``points`` is not 2-D, is empty or has a non-finite entry, or ``metric`` is unknown;
        at :meth:`prepare`, rows of the wrong width or with a non-finite entry.

    Notes
    -----
    A state holds m float64 maxima; a gain costs O(m). float32 points and rows give float32
    similarities (gains still accumulate in float64). The similarity of a row is computed by a
    BLAS product of its chunk, whose last bits may depend on the chunk's size.

    Examples
    --------
    >>> import numpy as np
    >>> import matroidomp as mo
    >>> P = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    >>> X = np.array([[1.0, 0.1], [0.0, -2.0], [-1.0, 1.0]])
    >>> f = FacilityLocationRows(P)
    >>> round(f(X[[0, 2]]), 6) == round(mo.FacilityLocation(f.similarity(X))([0, 2]), 6)
    True
    """

    def __init__(self, points, metric: str = "cosine"):
        if metric != "cosine":
            raise ValueError(f"metric: expected 'cosine', got {metric!r}")
        P = as_float_array(points, "points", 2)
        if P.shape[0] == 0 or P.shape[1] == 0:
            raise ValueError(f"points: expected at least one point with at least one feature, got shape {P.shape}")
        self.metric = metric
        self.m, self.dim = (int(s) for s in P.shape)
        self._unit_t = np.ascontiguousarray(_unit_rows(P).T)  # (dim, m)

    def similarity(self, X) -> np.ndarray:
        """The m × b similarity s(p_i, x_j) of the points with the rows of ``X`` (for a ground-set
        :class:`~matroidomp.FacilityLocation` of the same function).

        Parameters
        ----------
        X : array-like of shape (b, dim)

        Returns
        -------
        numpy.ndarray of shape (m, b)
        """
        return np.ascontiguousarray(self.prepare(X).T)

    def prepare(self, X) -> np.ndarray:
        """The b × m similarities of the rows of ``X`` with the points (candidate-major).

        Parameters
        ----------
        X : array-like of shape (b, dim)

        Returns
        -------
        numpy.ndarray of shape (b, m), float32 when both ``X`` and the points are float32

        Raises
        ------
        TypeError, ValueError
            As :meth:`RowFunction.prepare`.
        """
        X = self._rows(X)
        S = _unit_rows(X) @ self._unit_t
        S += 1
        S *= 0.5
        np.maximum(S, 0, out=S)
        return S

    def new_state(self) -> RowState:
        """A fresh state at S = ∅ (m zero maxima)."""
        return _FacilityLocationRowsState(self.m)
