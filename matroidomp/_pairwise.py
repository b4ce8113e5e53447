"""Set functions of a symmetric pairwise similarity, with memoised incremental gains.

- :class:`GraphCut`           f(S) = Σ_{i ∈ V, j ∈ S} s_ij − λ Σ_{i, j ∈ S} s_ij   state: 2 Σ_{k ∈ S} s_kj per j
- :class:`SaturatedCoverage`  f(S) = Σ_{i ∈ V} min(Σ_{j ∈ S} s_ij, α Σ_{k ∈ V} s_ik)  state: capped sums per i
- :class:`SumRedundancy`      f(S) = M |S| − Σ_{i, j ∈ S} s_ij, M = 2 max_j Σ_i s_ij    state: as graph cut

The similarity is a symmetric n × n matrix s ≥ 0 over the ground set, dense or scipy.sparse;
a sparse one gives bitwise the gains of its dense array, so every solver selects the same
elements from both. The numba kernels are in :mod:`matroidomp.kernels.pairwise_gains`.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import scipy.sparse as sp

from ._setfunction import GainState, SetFunction
from ._submodular import _candidate_major, similarity_matrix
from ._validation import as_float_array, check_finite
from .kernels.pairwise_gains import (
    csr_column_sums,
    gc_add_csr,
    gc_add_dense,
    gc_gains,
    sc_add_csr,
    sc_add_dense,
    sc_csr_gains,
    sc_gains,
    symmetric_nonnegative_column_sums,
)


def _symmetric_similarity(similarity, need: str):
    """A validated symmetric n x n similarity s >= 0 and its column sums r_j = Σ_i s_ij (float64).

    The similarity comes back as a C-contiguous float32/float64 array, or a canonical scipy.sparse
    CSC matrix (as symmetric, also the CSR of s). ``need`` says why the function needs s >= 0;
    errors name ``similarity`` and the first bad entry. Dense: one fused pass
    (:func:`~matroidomp.kernels.pairwise_gains.symmetric_nonnegative_column_sums`) checks and sums;
    only a matrix that fails it is examined again, for the message.
    """
    if sp.issparse(similarity):
        A = _candidate_major(similarity, need)
    else:
        A = as_float_array(similarity, "similarity", 2, finite=False)  # the fused pass checks it
    shape = A.shape
    if shape[0] != shape[1]:
        raise ValueError(f"similarity: expected a square n x n matrix over the ground set, got shape {shape}")
    if sp.issparse(A):
        diff = sp.coo_matrix(A != A.T)
        if diff.nnz:
            _asymmetric(A, int(diff.row[0]), int(diff.col[0]))
        return A, csr_column_sums(A.data, A.indices, A.indptr, shape[0])
    r = np.zeros(shape[0], dtype=np.float64)
    if not symmetric_nonnegative_column_sums(A, r):
        check_finite(A, "similarity")
        flat = int(np.argmin(A))
        if A.flat[flat] < 0:
            i, j = np.unravel_index(flat, A.shape)
            raise ValueError(f"similarity: entry ({i}, {j}) is {A.flat[flat]:.6g} < 0; {need}")
        _asymmetric(A, *(int(x[0]) for x in np.nonzero(A != A.T)))
    return A, r


def _asymmetric(A, i: int, j: int):
    raise ValueError(
        f"similarity: expected a symmetric matrix, but entry ({i}, {j}) is {A[i, j]:.6g} and ({j}, {i}) is "
        f"{A[j, i]:.6g}; symmetrise it, e.g. (S + S.T) / 2"
    )


def _check_weight(value, name: str, *, positive: bool = False) -> float:
    """``value`` as a float; raise, naming it, unless it is a finite real number >= 0 (> 0 if ``positive``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__}")
    value = float(value)
    if not (math.isfinite(value) and (value > 0 if positive else value >= 0)):
        raise ValueError(f"{name}: expected a finite number {'>' if positive else '>='} 0, got {value}")
    return value


class _PairPenaltyState(GainState):
    """Gain state of :class:`_PairPenalty`: c_j = 2 Σ_{k ∈ S} s_kj for every j."""

    def __init__(self, f: "_PairPenalty"):
        self._f = f
        self._c = np.zeros(f.n, dtype=np.float64)
        self.value = 0.0

    def gains(self, candidates: np.ndarray) -> np.ndarray:
        f = self._f
        cand = np.ascontiguousarray(candidates, dtype=np.int64)
        out = np.empty(cand.shape[0], dtype=np.float64)
        gc_gains(f._r, f._d, self._c, f.lam, cand, out)
        return out

    def add(self, j: int) -> None:
        self.value += float(self.gains(np.array([j]))[0])
        f = self._f
        if f._sim is not None:
            gc_add_dense(f._sim[j], self._c)
        else:
            lo, hi = f._csc.indptr[j], f._csc.indptr[j + 1]
            gc_add_csr(f._csc.data[lo:hi], f._csc.indices[lo:hi], self._c)


class _PairPenalty(SetFunction):
    """f(S) = Σ_{j ∈ S} r_j − λ Σ_{i, j ∈ S} s_ij on a symmetric s ≥ 0; gain r_j − λ (s_jj + c_j).

    The store and the gain state shared by :class:`GraphCut` (r_j = Σ_i s_ij) and
    :class:`SumRedundancy` (r_j = one constant, λ = 1). Subclasses call :meth:`_store` and set
    ``lam`` and ``_r``. Gains cost O(1) and every pick lowers all of them: greedy's default is naive.
    """

    lazy_greedy_pays = False

    def _store(self, similarity, need: str) -> np.ndarray:
        """Validate and keep the similarity (dense or CSC) and its diagonal; return r_j = Σ_i s_ij."""
        A, r = _symmetric_similarity(similarity, need)
        self.n = int(A.shape[0])
        if sp.issparse(A):
            self._sim, self._csc = None, A
            self._d = np.asarray(A.diagonal(), dtype=np.float64)
        else:
            self._sim, self._csc = A, None
            self._d = np.diagonal(A).astype(np.float64)
        return r

    def new_state(self) -> GainState:
        """A fresh gain state at S = empty."""
        return _PairPenaltyState(self)


class GraphCut(_PairPenalty):
    """Graph cut: f(S) = Σ_{i ∈ V, j ∈ S} s_ij − λ Σ_{i ∈ S, j ∈ S} s_ij; a gain costs O(1), ``add`` O(n).

    Rewards elements similar to the whole ground set V (representativeness) and, through λ,
    penalises similarity inside S (diversity). The second sum runs over ordered pairs and
    includes i = j, as submodlib's ``GraphCutFunction(lambdaVal=λ)``; apricot's
    ``GraphCutSelection(alpha=α)`` is 1/λ times this function, so greedy selects the same
    elements (up to ties) with α = 1/λ. The gain of j is

        Δ(j | S) = Σ_{i ∈ V} s_ij − λ (s_jj + 2 Σ_{k ∈ S} s_kj).

    For s ≥ 0 it is submodular for every λ ≥ 0 and monotone for λ ≤ 1/2 (then
    Σ_i s_ij ≥ s_jj + Σ_{k ∈ S} s_kj bounds the penalty); for λ > 1/2 gains may turn negative,
    greedy then stops early (``'no_positive_gain'``) and its guarantees do not apply.

    Parameters
    ----------
    similarity : array-like or scipy.sparse matrix of shape (n, n)
        Symmetric, s_ij >= 0, finite, over the ground set. float32 input is kept as float32;
        sums accumulate in float64. Dense: used as is (no copy of a C-contiguous float array,
        so do not modify it afterwards). scipy.sparse (any format): converted once to canonical
        CSC; entries not stored are 0, duplicates are summed.
    lam : float, default 0.5
        λ >= 0, the weight of the redundancy penalty; the default is the largest monotone one
        (submodlib's default is 1).

    Raises
    ------
    TypeError
        When ``similarity`` is not of a real numeric dtype, or ``lam`` is not a real number.
    ValueError
        When ``similarity`` is not square, not symmetric, or has a negative or non-finite
        entry; or ``lam`` is negative or not finite.

    Notes
    -----
    r_j = Σ_i s_ij is computed once (O(n²) dense, O(nnz) sparse). A gain costs O(1); ``add``
    O(n) dense, O(deg j) sparse; memory O(n) per state. f(S) accumulates the gains.

    Examples
    --------
    >>> import numpy as np
    >>> import matroidomp as mo
    >>> s = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.2], [0.1, 0.2, 1.0]])
    >>> f = GraphCut(s, lam=0.5)
    >>> round(f([1]), 6), round(f([0, 1]), 6)  # 2.1 - 0.5 * 1;  (2.0 + 2.1) - 0.5 * (1 + 1 + 2 * 0.9)
    (1.6, 2.2)
    >>> mo.greedy(f, 2).indices.tolist()
    [1, 0]
    >>> mo.greedy(GraphCut(s, lam=0.5), 2).indices.tolist() == mo.greedy(GraphCut(s, lam=0.5), 2, lazy=False).indices.tolist()
    True
    """

    def __init__(self, similarity, lam: float = 0.5):
        self.lam = _check_weight(lam, "lam")
        self._r = self._store(similarity, "graph cut needs s_ij >= 0 to be submodular")

    @classmethod
    def from_features(cls, X, metric: str = "cosine", lam: float = 0.5) -> "GraphCut":
        """Graph cut over the rows of ``X`` with the dense similarity of :func:`~matroidomp.similarity_matrix`.

        The same conventions as :meth:`FacilityLocation.from_features
        <matroidomp.FacilityLocation.from_features>` (cosine: (1 + cos) / 2; euclidean: the
        largest squared distance minus the squared distance, apricot's conversion). O(n² d)
        time, O(n²) memory.

        Parameters
        ----------
        X : array-like of shape (n, d)
            One item per row, real and finite.
        metric : {'cosine', 'euclidean'}, default 'cosine'
        lam : float, default 0.5
            λ >= 0.

        Returns
        -------
        GraphCut

        Raises
        ------
        TypeError
            When ``X`` is a scipy.sparse matrix or not a real numeric array.
        ValueError
            When ``X`` is not 2-D or has a non-finite entry, or ``metric`` or ``lam`` is invalid.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
        >>> f = GraphCut.from_features(X, lam=0.25)
        >>> f.n, f([1])  # (0.5 + 1 + 0.5) - 0.25 * 1
        (3, 1.75)
        """
        return cls(similarity_matrix(X, metric), lam=lam)


class _SaturatedCoverageState(GainState):
    """Gain state of :class:`SaturatedCoverage`: c_i = min(m_i, Σ_{k ∈ S} s_ik) for every point i."""

    def __init__(self, f: "SaturatedCoverage"):
        self._f = f
        self._c = np.zeros(f.n, dtype=np.float64)
        self.value = 0.0

    def gains(self, candidates: np.ndarray) -> np.ndarray:
        f = self._f
        if f._sim is not None:
            return sc_gains(f._sim, self._c, f._cap, candidates)
        A = f._csc
        return sc_csr_gains(A.data, A.indices, A.indptr, self._c, f._cap, candidates)

    def add(self, j: int) -> None:
        self.value += float(self.gains(np.array([j]))[0])
        f = self._f
        if f._sim is not None:
            sc_add_dense(f._sim[j], self._c, f._cap)
        else:
            lo, hi = f._csc.indptr[j], f._csc.indptr[j + 1]
            sc_add_csr(f._csc.data[lo:hi], f._csc.indices[lo:hi], self._c, f._cap)


class SaturatedCoverage(SetFunction):
    """Saturated coverage: f(S) = Σ_{i ∈ V} min(Σ_{j ∈ S} s_ij, α Σ_{k ∈ V} s_ik); a gain costs O(n).

    Every point i of the ground set is covered by the total similarity of S to it, up to the
    saturation level m_i = α r_i, a fraction α of its similarity to the whole ground set
    (r_i = Σ_k s_ik). This is apricot's ``SaturatedCoverageSelection(alpha=α)``, and greedy
    selects what its naive greedy selects. The gain of j is Δ(j | S) = Σ_i min(s_ij, m_i − c_i)
    with c_i = min(m_i, Σ_{k ∈ S} s_ik). For s ≥ 0 it is monotone and submodular (a concave
    function of a modular one per point); α ≥ 1 never saturates (f is then modular).

    Parameters
    ----------
    similarity : array-like or scipy.sparse matrix of shape (n, n)
        Symmetric, s_ij >= 0, finite, over the ground set; float32 is kept, sums accumulate in
        float64. Stored as :class:`GraphCut` stores it.
    alpha : float, default 0.1
        α > 0, the saturation fraction (apricot's default).

    Raises
    ------
    TypeError
        When ``similarity`` is not of a real numeric dtype, or ``alpha`` is not a real number.
    ValueError
        When ``similarity`` is not square, not symmetric, or has a negative or non-finite
        entry; or ``alpha`` is not a finite number > 0.

    Notes
    -----
    A gain and ``add`` cost O(n) dense, O(deg j) sparse (bitwise the dense gains); batches of
    1024 or more candidates run in parallel. Memory: the similarity plus O(n) per state. f(S)
    accumulates the gains.

    Examples
    --------
    >>> import numpy as np
    >>> import matroidomp as mo
    >>> s = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.2], [0.1, 0.2, 1.0]])
    >>> f = SaturatedCoverage(s, alpha=0.5)  # caps m = 0.5 * (2.0, 2.1, 1.3)
    >>> round(f([0]), 6), round(f([0, 2]), 6)  # min(1, 1) + min(.9, 1.05) + min(.1, .65);  then + 0 + .15 + .55
    (2.0, 2.7)
    >>> mo.greedy(f, 2).indices.tolist()
    [1, 2]
    """

    def __init__(self, similarity, alpha: float = 0.1):
        self.alpha = _check_weight(alpha, "alpha", positive=True)
        A, r = _symmetric_similarity(similarity, "saturated coverage needs s_ij >= 0 to be monotone and submodular")
        self.n = int(A.shape[0])
        self._sim, self._csc = (None, A) if sp.issparse(A) else (A, None)
        self._cap = self.alpha * r

    @classmethod
    def from_features(cls, X, metric: str = "cosine", alpha: float = 0.1) -> "SaturatedCoverage":
        """Saturated coverage over the rows of ``X`` with the dense :func:`~matroidomp.similarity_matrix`.

        The similarity conventions of :meth:`FacilityLocation.from_features
        <matroidomp.FacilityLocation.from_features>`. O(n² d) time, O(n²) memory.

        Parameters
        ----------
        X : array-like of shape (n, d)
            One item per row, real and finite.
        metric : {'cosine', 'euclidean'}, default 'cosine'
        alpha : float, default 0.1
            α > 0.

        Returns
        -------
        SaturatedCoverage

        Raises
        ------
        TypeError
            When ``X`` is a scipy.sparse matrix or not a real numeric array.
        ValueError
            When ``X`` is not 2-D or has a non-finite entry, or ``metric`` or ``alpha`` is invalid.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])  # similarities (1 + cos) / 2
        >>> f = SaturatedCoverage.from_features(X, alpha=1.0)  # never saturates: modular
        >>> f.n, f([1]), f([0, 1])
        (3, 2.0, 3.5)
        """
        return cls(similarity_matrix(X, metric), alpha=alpha)

    def new_state(self) -> GainState:
        """A fresh gain state at S = empty."""
        return _SaturatedCoverageState(self)


class SumRedundancy(_PairPenalty):
    """Sum redundancy, shifted to be monotone: f(S) = M |S| − Σ_{i, j ∈ S} s_ij, M = 2 max_j Σ_i s_ij.

    Penalises similarity inside S (ordered pairs, i = j included). apricot's
    ``SumRedundancySelection`` maximises g(S) = Σ_{i, j ∈ V} s_ij − Σ_{i, j ∈ S} s_ij, whose gains
    −(s_jj + 2 Σ_{k ∈ S} s_kj) are all ≤ 0: g is submodular but decreasing, and g(∅) ≠ 0. This
    class adds the same M to every gain, so f(S) = g(S) − g(∅) + M |S| is normalised (f(∅) = 0)
    and, for s ≥ 0, monotone (each gain is at least M − 2 Σ_i s_ij + s_jj ≥ 0) and submodular;
    greedy takes the argmax of the same penalties, so it selects what apricot's naive greedy
    selects. The gain of j is M − (s_jj + 2 Σ_{k ∈ S} s_kj).

    Parameters
    ----------
    similarity : array-like or scipy.sparse matrix of shape (n, n)
        Symmetric, s_ij >= 0, finite, over the ground set; float32 is kept, sums accumulate in
        float64. Stored as :class:`GraphCut` stores it.

    Attributes
    ----------
    offset : float
        M = 2 max_j Σ_i s_ij (0 for an empty ground set).

    Raises
    ------
    TypeError
        When ``similarity`` is not of a real numeric dtype.
    ValueError
        When ``similarity`` is not square, not symmetric, or has a negative or non-finite entry.

    Notes
    -----
    A gain costs O(1); ``add`` O(n) dense, O(deg j) sparse (bitwise the dense gains); memory
    O(n) per state. f(S) accumulates the gains. The value is not apricot's: subtract M |S| and
    add Σ_{i, j ∈ V} s_ij to get it.

    Examples
    --------
    >>> import numpy as np
    >>> import matroidomp as mo
    >>> s = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.2], [0.1, 0.2, 1.0]])
    >>> f = SumRedundancy(s)
    >>> round(f.offset, 6), round(f([0]), 6), round(f([0, 1]), 6)  # M = 2 * 2.1;  M - 1;  2M - (1 + 1 + 2 * 0.9)
    (4.2, 3.2, 4.6)
    >>> mo.greedy(f, 2).indices.tolist()  # the least redundant pair
    [0, 2]
    """

    def __init__(self, similarity):
        r = self._store(similarity, "sum redundancy needs s_ij >= 0 to be submodular")
        self.lam = 1.0
        self.offset = 2.0 * float(r.max()) if self.n else 0.0
        self._r = np.full(self.n, self.offset)

    @classmethod
    def from_features(cls, X, metric: str = "cosine") -> "SumRedundancy":
        """Sum redundancy over the rows of ``X`` with the dense :func:`~matroidomp.similarity_matrix`.

        The similarity conventions of :meth:`FacilityLocation.from_features
        <matroidomp.FacilityLocation.from_features>`. O(n² d) time, O(n²) memory.

        Parameters
        ----------
        X : array-like of shape (n, d)
            One item per row, real and finite.
        metric : {'cosine', 'euclidean'}, default 'cosine'

        Returns
        -------
        SumRedundancy

        Raises
        ------
        TypeError
            When ``X`` is a scipy.sparse matrix or not a real numeric array.
        ValueError
            When ``X`` is not 2-D or has a non-finite entry, or ``metric`` is unknown.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])  # similarities (1 + cos) / 2
        >>> f = SumRedundancy.from_features(X)
        >>> f.offset, f([0, 2])  # 2 * 2;  2 * 4 - (1 + 1 + 2 * 0)
        (4.0, 6.0)
        """
        return cls(similarity_matrix(X, metric))
