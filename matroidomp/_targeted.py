"""Targeted set functions: mutual information with a query set Q, conditional gain given a private set P.

submodlib's definitions, on an (m, n) similarity s between m points and the n candidates (the
ground set; m = n with the same items is the usual case) and an (m, |Q|) or (m, |P|) similarity t
between the points and the query or private items:

- :class:`FacilityLocationMutualInformation`  f(A) = Σ_i min(max_{j ∈ A} s_ij, η max_{q ∈ Q} t_iq)
- :class:`FacilityLocationConditionalGain`    f(A) = Σ_i max(max_{j ∈ A} s_ij − ν max_{p ∈ P} t_ip, 0)
- :class:`GraphCutMutualInformation`          f(A) = Σ_{j ∈ A} Σ_{q ∈ Q} t_jq

The first two are facility locations on a transformed similarity,
min(max_j s_ij, c) = max_j min(s_ij, c) and max(max_j s_ij − c, 0) = max_j max(s_ij − c, 0)
for a per-point constant c ≥ 0, so they reuse :class:`~matroidomp.FacilityLocation`'s numba
kernels (dense and sparse, lazy greedy == naive greedy bitwise) on s'_ij = min(s_ij, η q_i) and
s'_ij = max(s_ij − ν p_i, 0); the transform is computed once and is the only copy. Graph-cut
mutual information is modular.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._pairwise import _check_weight
from ._knn import _unit_rows
from ._setfunction import GainState, SetFunction
from ._submodular import FacilityLocation, _candidate_major, _dense, similarity_matrix, _squared_distances
from ._validation import as_float_array
from .kernels.pairwise_gains import csr_column_sums, dense_column_sums

_METRICS = ("cosine", "euclidean")


def _nonnegative(matrix, name: str, need: str):
    """A validated 2-D matrix t >= 0: a C-contiguous float32/float64 array, or canonical scipy.sparse CSC.

    Errors name the argument ``name`` and the first bad entry, and say ``need``.
    """
    if sp.issparse(matrix):
        return _candidate_major(matrix, need, name)
    A = as_float_array(matrix, name, 2)
    if A.size:
        flat = int(np.argmin(A))
        if A.flat[flat] < 0:
            i, j = np.unravel_index(flat, A.shape)
            raise ValueError(f"{name}: entry ({i}, {j}) is {A.flat[flat]:.6g} < 0; {need}")
    return A


def _row_max(t) -> np.ndarray:
    """max_q t_iq per row of a validated t >= 0 (0 for a row without columns or stored entries), float64."""
    m, q = t.shape
    if q == 0:
        return np.zeros(m, dtype=np.float64)
    if sp.issparse(t):
        return np.asarray(t.max(axis=1).toarray(), dtype=np.float64).ravel()
    return t.max(axis=1).astype(np.float64)


def _check_rows(t, m: int, name: str, against: str) -> None:
    if t.shape[0] != m:
        raise ValueError(
            f"{name}: expected one row per point, {m} rows (the rows of {against}), got shape {t.shape}"
        )


def _check_metric(metric) -> None:
    if metric not in _METRICS:
        raise ValueError(f"metric: expected 'cosine' or 'euclidean', got {metric!r}")


def _features(X, Y, name: str):
    """X (n, d) and Y (r, d) as finite float arrays of one dtype (float32 only if both are)."""
    X = as_float_array(_dense(X, "X"), "X", 2)
    Y = as_float_array(_dense(Y, name), name, 2)
    if Y.shape[1] != X.shape[1]:
        raise ValueError(
            f"{name}: expected rows of width {X.shape[1]} (the width of X, one feature space), "
            f"got shape {Y.shape}"
        )
    if X.dtype != Y.dtype:
        X, Y = X.astype(np.float64), Y.astype(np.float64)
    return X, Y


def _cross_cosine(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """(1 + cos(x_i, y_j)) / 2, clipped at 0, computed as :func:`~matroidomp.similarity_matrix` does."""
    g = (_unit_rows(X) @ _unit_rows(Y).T).astype(np.float64)
    return np.maximum((1.0 + g) * 0.5, 0.0).astype(X.dtype)


def _cross_sq_distances(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """||x_i - y_j||^2 from one cross Gram matrix, clipped at 0, computed as :func:`_squared_distances` does."""
    sx = np.einsum("ij,ij->i", X, X)
    sy = np.einsum("ij,ij->i", Y, Y)
    g = (X @ Y.T).astype(np.float64)
    return np.maximum((sx[:, None] + sy[None, :]).astype(np.float64) - 2.0 * g, 0.0).astype(X.dtype)


def feature_similarities(X, Y, metric: str = "cosine", *, name: str = "query", ground: bool = True):
    """The similarities of a targeted function from features: among the rows of X, and from X to the rows of Y.

    The conventions of :func:`~matroidomp.similarity_matrix` on one scale: ``'cosine'``
    s = (1 + cos) / 2; ``'euclidean'`` s = D − squared distance, with one D, the largest squared
    distance over every pair computed (X × X and X × Y, or X × Y alone when ``ground`` is False).

    Parameters
    ----------
    X : array-like of shape (n, d)
        The ground set, one item per row.
    Y : array-like of shape (r, d)
        The query or private items, in the feature space of X.
    metric : {'cosine', 'euclidean'}, default 'cosine'
    name : str, default 'query'
        The argument ``Y`` came in as, for error messages.
    ground : bool, default True
        Also return the n × n similarity among the rows of X.

    Returns
    -------
    S : numpy.ndarray of shape (n, n) or None
        Among the rows of X (None when ``ground`` is False); exactly symmetric.
    T : numpy.ndarray of shape (n, r)
        From the rows of X to the rows of Y. float32 when X and Y are, float64 otherwise.

    Raises
    ------
    TypeError
        When ``X`` or ``Y`` is a scipy.sparse matrix or not a real numeric array.
    ValueError
        When ``X`` or ``Y`` is not 2-D or has a non-finite entry, their widths differ, or
        ``metric`` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [2.0]])
    >>> S, T = feature_similarities(X, np.array([[3.0]]), "euclidean")  # D = 9, from (0, 3)
    >>> S.tolist(), T.tolist()
    ([[9.0, 5.0], [5.0, 9.0]], [[0.0], [8.0]])
    """
    _check_metric(metric)
    X, Y = _features(X, Y, name)
    if metric == "cosine":
        return (similarity_matrix(X, "cosine") if ground else None), _cross_cosine(X, Y)
    T = _cross_sq_distances(X, Y)
    S = _squared_distances(X) if ground else None
    top = max(T.max() if T.size else 0, S.max() if ground and S.size else 0)
    top = np.asarray(top, dtype=T.dtype)
    np.subtract(top, T, out=T)
    if ground:
        np.subtract(top, S, out=S)
    return S, T


def _transformed_facility_location(similarity, level: np.ndarray, transform: str) -> FacilityLocation:
    """The facility location on s'_ij = min(s_ij, c_i) ('clip') or max(s_ij − c_i, 0) ('shift').

    ``similarity`` is validated ((m, n) array or canonical CSC, >= 0); ``level`` the float64 c_i
    >= 0 per point. 'clip' keeps the dtype (min is exact); 'shift' is stored in float64 (the
    difference of two float32 values is exact there). The input is never modified.
    """
    if sp.issparse(similarity):
        A = similarity
        rows = A.indices
        if transform == "clip":
            data = np.minimum(A.data, level[rows].astype(A.dtype))
        else:
            data = np.maximum(A.data.astype(np.float64) - level[rows], 0.0)
        csc = sp.csc_matrix((data, A.indices.copy(), A.indptr.copy()), shape=A.shape)
        csc.has_canonical_format = True  # same pattern as A, which is canonical
        return FacilityLocation._from_store(csc=csc)
    m, n = similarity.shape
    if transform == "clip":
        sim_t = np.empty((n, m), dtype=similarity.dtype)
        np.minimum(similarity.T, level.astype(similarity.dtype)[None, :], out=sim_t)
    else:
        sim_t = np.empty((n, m), dtype=np.float64)
        np.subtract(similarity.T, level[None, :], out=sim_t)
        np.maximum(sim_t, 0.0, out=sim_t)
    return FacilityLocation._from_store(sim_t=sim_t)


class FacilityLocationMutualInformation(SetFunction):
    """Facility-location mutual information with a query set: f(A) = Σ_i min(max_{j ∈ A} s_ij, η max_{q ∈ Q} t_iq).

    Each point i is covered by its most similar selected candidate, but only up to η times its
    similarity to the nearest query: A is rewarded for representing the part of the data that
    the query set Q is about, and no longer for covering a point once its query level is
    reached (submodlib's ``FacilityLocationMutualInformationFunction``, FLMI, with
    ``magnificationEta`` = η; its ``data_sijs`` is ``similarity`` and its ``query_sijs`` is
    ``query_similarity``). Since min(max_j s_ij, c_i) = max_j min(s_ij, c_i), f is the facility
    location on s'_ij = min(s_ij, η max_q t_iq): normalised, monotone and submodular for s, t ≥ 0,
    and a gain is Σ_i max(s'_ij − c_i, 0) with c_i the current max of s'_i over A.

    Parameters
    ----------
    similarity : array-like or scipy.sparse matrix of shape (m, n)
        s_ij >= 0, finite: how well candidate j represents point i (rows: the points to cover,
        columns: the ground set; usually m = n, the same items). float32 is kept; gains
        accumulate in float64. scipy.sparse (any format): unstored entries are 0, duplicates
        summed; the clipped copy keeps its pattern.
    query_similarity : array-like or scipy.sparse matrix of shape (m, |Q|)
        t_iq >= 0, finite: how similar point i is to query item q; at least one column.
    eta : float, default 1.0
        η > 0, the query-relevance magnification (larger: the query level is reached later,
        favouring query relevance over query coverage).

    Raises
    ------
    TypeError
        When a matrix is not of a real numeric dtype, or ``eta`` is not a real number.
    ValueError
        When a matrix is not 2-D or has a negative or non-finite entry, ``query_similarity``
        has a different number of rows than ``similarity`` or no column, or ``eta`` is not a
        finite number > 0.

    Notes
    -----
    Building costs O(m |Q| + m n) (O(nnz) sparse) and one copy of the similarity, clipped. Then
    as :class:`~matroidomp.FacilityLocation`: a gain O(m) dense, O(deg j) sparse, bitwise the same
    from a sparse matrix as from its dense array, and lazy greedy selects what naive greedy
    selects. Greedy's guarantees (1 − 1/e under |A| ≤ k, 1/2 under a matroid) hold.

    Examples
    --------
    >>> import numpy as np
    >>> import matroidomp as mo
    >>> s = np.array([[1.0, 0.8, 0.1], [0.8, 1.0, 0.2], [0.1, 0.2, 1.0]])
    >>> t = np.array([[0.9], [0.6], [0.1]])  # the query resembles item 0
    >>> f = FacilityLocationMutualInformation(s, t)
    >>> round(f([0]), 6), round(f([2]), 6)  # min(1, .9) + min(.8, .6) + min(.1, .1);  .1 + .2 + min(1, .1)
    (1.6, 0.4)
    >>> mo.greedy(f, 1).indices.tolist()
    [0]
    """

    def __init__(self, similarity, query_similarity, eta: float = 1.0):
        self.eta = _check_weight(eta, "eta", positive=True)
        S = _nonnegative(similarity, "similarity", "facility-location mutual information needs s_ij >= 0")
        T = _nonnegative(query_similarity, "query_similarity", "facility-location mutual information needs t_iq >= 0")
        _check_rows(T, S.shape[0], "query_similarity", "similarity")
        if T.shape[1] == 0:
            raise ValueError(
                "query_similarity: no query columns; the mutual information with an empty query set is 0 for every subset"
            )
        self.m, self.n = (int(d) for d in S.shape)
        self.query_level = self.eta * _row_max(T)
        self._fl = _transformed_facility_location(S, self.query_level, "clip")

    @classmethod
    def from_features(cls, X, query, metric: str = "cosine", eta: float = 1.0) -> "FacilityLocationMutualInformation":
        """FLMI over the rows of ``X`` with queries ``query``, similarities by :func:`feature_similarities`.

        Dense n × n and n × |Q| similarities on one scale (cosine: (1 + cos) / 2; euclidean: one
        D − squared distance over both), the conventions of
        :meth:`FacilityLocation.from_features <matroidomp.FacilityLocation.from_features>`.
        O((n + |Q|) n d) time, O(n² + n |Q|) memory.

        Parameters
        ----------
        X : array-like of shape (n, d)
            The ground set, one item per row, real and finite.
        query : array-like of shape (|Q|, d)
            The query items, in the feature space of X; at least one.
        metric : {'cosine', 'euclidean'}, default 'cosine'
        eta : float, default 1.0
            η > 0.

        Returns
        -------
        FacilityLocationMutualInformation

        Raises
        ------
        TypeError
            When ``X`` or ``query`` is a scipy.sparse matrix or not a real numeric array.
        ValueError
            When ``X`` or ``query`` is not 2-D or has a non-finite entry, their widths differ,
            ``query`` has no row, or ``metric`` or ``eta`` is invalid.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
        >>> f = FacilityLocationMutualInformation.from_features(X, query=np.array([[1.0, 0.1]]))
        >>> f.n, [round(f([j]), 3) for j in range(3)]  # the item nearest the query wins
        (3, [1.498, 1.052, 0.502])
        """
        S, T = feature_similarities(X, query, metric, name="query")
        return cls(S, T, eta=eta)

    def new_state(self) -> GainState:
        """A fresh gain state at A = empty."""
        return self._fl.new_state()


class FacilityLocationConditionalGain(SetFunction):
    """Facility-location conditional gain given a private set: f(A) = Σ_i max(max_{j ∈ A} s_ij − ν max_{p ∈ P} t_ip, 0).

    The facility-location gain of A on top of the private set P, f(A) = FL(A ∪ P) − FL(P) when
    ν = 1: points already represented by P count only for the similarity A adds beyond it, so
    A avoids what P covers (submodlib's ``FacilityLocationConditionalGainFunction``, FLCG, with
    ``privacyHardness`` = ν; its ``data_sijs`` is ``similarity`` and its ``private_sijs`` is
    ``private_similarity``). Since max(max_j s_ij − c_i, 0) = max_j max(s_ij − c_i, 0), f is the
    facility location on s'_ij = max(s_ij − ν max_p t_ip, 0): normalised, monotone and
    submodular for s, t ≥ 0 and every ν ≥ 0 (ν = 0 or an empty P: plain facility location).

    Parameters
    ----------
    similarity : array-like or scipy.sparse matrix of shape (m, n)
        s_ij >= 0, finite (rows: the points to cover, columns: the ground set; usually m = n).
        scipy.sparse (any format): unstored entries are 0, duplicates summed.
    private_similarity : array-like or scipy.sparse matrix of shape (m, |P|)
        t_ip >= 0, finite: how similar point i is to private item p; |P| = 0 allowed.
    nu : float, default 1.0
        ν >= 0, the privacy hardness (larger: stay further from P).

    Raises
    ------
    TypeError
        When a matrix is not of a real numeric dtype, or ``nu`` is not a real number.
    ValueError
        When a matrix is not 2-D or has a negative or non-finite entry,
        ``private_similarity`` has a different number of rows than ``similarity``, or ``nu`` is
        negative or not finite.

    Notes
    -----
    The shifted copy is stored in float64 (the shift of float32 input is then exact), same
    pattern for a sparse similarity. Building costs O(m |P| + m n) (O(nnz) sparse); then as
    :class:`~matroidomp.FacilityLocation`: a gain O(m) dense, O(deg j) sparse, sparse gains
    bitwise the dense ones, lazy greedy selects what naive greedy selects, greedy's 1 − 1/e
    (|A| ≤ k) and 1/2 (matroid) hold.

    Examples
    --------
    >>> import numpy as np
    >>> import matroidomp as mo
    >>> s = np.array([[1.0, 0.8, 0.1], [0.8, 1.0, 0.2], [0.1, 0.2, 1.0]])
    >>> t = np.array([[0.9], [0.7], [0.0]])  # a private item like items 0 and 1
    >>> f = FacilityLocationConditionalGain(s, t)
    >>> round(f([0]), 6), round(f([2]), 6)  # .1 + .1 + .1;  0 + 0 + 1
    (0.3, 1.0)
    >>> mo.greedy(f, 1).indices.tolist()
    [2]
    """

    def __init__(self, similarity, private_similarity, nu: float = 1.0):
        self.nu = _check_weight(nu, "nu")
        S = _nonnegative(similarity, "similarity", "facility-location conditional gain needs s_ij >= 0")
        T = _nonnegative(private_similarity, "private_similarity", "facility-location conditional gain needs t_ip >= 0")
        _check_rows(T, S.shape[0], "private_similarity", "similarity")
        self.m, self.n = (int(d) for d in S.shape)
        self.private_level = self.nu * _row_max(T)
        self._fl = _transformed_facility_location(S, self.private_level, "shift")

    @classmethod
    def from_features(cls, X, private, metric: str = "cosine", nu: float = 1.0) -> "FacilityLocationConditionalGain":
        """FLCG over the rows of ``X`` given private items ``private``, similarities by :func:`feature_similarities`.

        Dense n × n and n × |P| similarities on one scale, the conventions of
        :meth:`FacilityLocation.from_features <matroidomp.FacilityLocation.from_features>`.
        O((n + |P|) n d) time, O(n² + n |P|) memory.

        Parameters
        ----------
        X : array-like of shape (n, d)
            The ground set, one item per row, real and finite.
        private : array-like of shape (|P|, d)
            The private items, in the feature space of X.
        metric : {'cosine', 'euclidean'}, default 'cosine'
        nu : float, default 1.0
            ν >= 0.

        Returns
        -------
        FacilityLocationConditionalGain

        Raises
        ------
        TypeError
            When ``X`` or ``private`` is a scipy.sparse matrix or not a real numeric array.
        ValueError
            When ``X`` or ``private`` is not 2-D or has a non-finite entry, their widths differ,
            or ``metric`` or ``nu`` is invalid.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
        >>> f = FacilityLocationConditionalGain.from_features(X, private=np.array([[-1.0, 0.0]]))
        >>> [round(f([j]), 3) for j in range(3)]  # item 2 is the private item: worth nothing
        [1.0, 1.0, 0.0]
        """
        S, T = feature_similarities(X, private, metric, name="private")
        return cls(S, T, nu=nu)

    def new_state(self) -> GainState:
        """A fresh gain state at A = empty."""
        return self._fl.new_state()


class _ModularState(GainState):
    """Gain state of a modular function: the gains never change."""

    def __init__(self, weights: np.ndarray):
        self._w = weights
        self.value = 0.0

    def gains(self, candidates: np.ndarray) -> np.ndarray:
        return self._w[candidates]

    def add(self, j: int) -> None:
        self.value += float(self._w[j])


class GraphCutMutualInformation(SetFunction):
    """Graph-cut mutual information with a query set: f(A) = Σ_{j ∈ A} Σ_{q ∈ Q} t_jq (modular).

    The pure query-relevance end of the targeted family: each candidate is worth its total
    similarity to the query set, whatever else is selected. This is the value submodlib's
    ``GraphCutMutualInformationFunction`` (GCMI) evaluates; the mutual information
    I(A; Q) = 2λ Σ_{j ∈ A} Σ_{q ∈ Q} t_jq of :class:`~matroidomp.GraphCut` with penalty λ is 2λ
    times it (the same selections). Modular with weights ≥ 0, hence monotone and submodular,
    and greedy is *optimal* under |A| ≤ k and under every matroid (Rado–Edmonds).

    Parameters
    ----------
    query_similarity : array-like or scipy.sparse matrix of shape (n, |Q|)
        t_jq >= 0, finite: how similar candidate j is to query item q; at least one column.
        The weights w_j = Σ_q t_jq are summed in float64, q increasing (bitwise the same from a
        scipy.sparse matrix as from its dense array).

    Attributes
    ----------
    weights : numpy.ndarray of shape (n,)
        w_j = Σ_q t_jq, the gain of j.

    Raises
    ------
    TypeError
        When ``query_similarity`` is not of a real numeric dtype.
    ValueError
        When ``query_similarity`` is not 2-D, has a negative or non-finite entry, or no column.

    Notes
    -----
    Building costs O(n |Q|) (O(nnz) sparse), memory O(n); a gain and ``add`` O(1).

    Examples
    --------
    >>> import numpy as np
    >>> import matroidomp as mo
    >>> f = GraphCutMutualInformation(np.array([[0.9, 0.1], [0.2, 0.2], [0.5, 0.6]]))
    >>> f.weights.tolist(), round(f([0, 2]), 6)
    ([1.0, 0.4, 1.1], 2.1)
    >>> mo.greedy(f, 2).indices.tolist()
    [2, 0]
    """

    def __init__(self, query_similarity):
        T = _nonnegative(query_similarity, "query_similarity", "graph-cut mutual information needs t_jq >= 0")
        if T.shape[1] == 0:
            raise ValueError(
                "query_similarity: no query columns; the mutual information with an empty query set is 0 for every subset"
            )
        self.n = int(T.shape[0])
        if sp.issparse(T):  # the CSC of (n, |Q|) is the CSR of its (|Q|, n) transpose
            self.weights = csr_column_sums(T.data, T.indices, T.indptr, self.n)
        else:
            self.weights = dense_column_sums(T.T)

    @classmethod
    def from_features(cls, X, query, metric: str = "cosine") -> "GraphCutMutualInformation":
        """GCMI over the rows of ``X`` with queries ``query``, the n × |Q| similarity of :func:`feature_similarities`.

        Cosine: (1 + cos) / 2; euclidean: D − squared distance with D the largest over the
        n × |Q| pairs. O(n |Q| d) time, O(n |Q|) memory (no n × n matrix).

        Parameters
        ----------
        X : array-like of shape (n, d)
            The ground set, one item per row, real and finite.
        query : array-like of shape (|Q|, d)
            The query items, in the feature space of X; at least one.
        metric : {'cosine', 'euclidean'}, default 'cosine'

        Returns
        -------
        GraphCutMutualInformation

        Raises
        ------
        TypeError
            When ``X`` or ``query`` is a scipy.sparse matrix or not a real numeric array.
        ValueError
            When ``X`` or ``query`` is not 2-D or has a non-finite entry, their widths differ,
            ``query`` has no row, or ``metric`` is unknown.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
        >>> GraphCutMutualInformation.from_features(X, np.array([[1.0, 0.0], [0.0, 1.0]])).weights.tolist()
        [1.5, 1.5, 0.5]
        """
        _, T = feature_similarities(X, query, metric, name="query", ground=False)
        return cls(T)

    def new_state(self) -> GainState:
        """A fresh gain state at A = empty."""
        return _ModularState(self.weights)
