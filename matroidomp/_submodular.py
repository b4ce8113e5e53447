"""Classic monotone submodular functions with memoised incremental gains.

Each class is a :class:`~matroidomp._setfunction.SetFunction` whose gain state keeps the one
statistic that makes a marginal gain cheap:

- :class:`FacilityLocation`  f(S) = sum_i max_{j in S} s_ij       state: current max per point
- :class:`FeatureBased`      f(S) = sum_u phi(sum_{j in S} x_ju)   state: feature sums
- :class:`Coverage`          f(S) = sum_i w_i [S covers item i]    state: covered mask

All three are normalised (f(empty) = 0), monotone and submodular.

Reproducible gains. The data are stored candidate-major, so the gain of candidate j is one
float64 reduction over a contiguous row in a fixed order: it is bitwise the same whether
computed alone or in a batch, serially or in parallel. Moreover every term of that reduction is
a monotone function of the state under IEEE round-to-nearest (e.g. the facility location term
max(s_ij - c_i, 0) with c_i only growing), and a fixed-order sum is monotone in its terms, so the
*computed* gains never increase as S grows. Lazy greedy relies on exactly this to select the
same set as naive greedy.

A scipy.sparse similarity is stored as CSR over candidates (the CSC of the (m, n) matrix): a gain
then reads only candidate j's stored points, and is bitwise the dense gain of the same matrix
(``fl_csr_gain``), so greedy selects from it exactly what it selects from ``S.toarray()``.

The numba kernels behind the gain states (gains, batches serial and parallel, adds, the
similarity conversions) are in :mod:`matroidomp.kernels.submodular_gains`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._validation import as_float_array, check_length, to_numpy
from .kernels.submodular_gains import (
    CONCAVE,
    PARALLEL_MIN,
    cosine_to_similarity,
    cov_add,
    cov_gain,
    cov_gains,
    fb_add,
    fb_gains,
    fl_add,
    fl_csr_add,
    fl_csr_gains,
    fl_gains,
    gram_to_sq_distance,
    is_symmetric,
)
from ._knn import _unit_rows, knn_similarity
from ._setfunction import GainState, SetFunction

#: Batches at least this large are evaluated by the parallel kernel (same per-candidate code);
#: the kernels' :data:`~matroidomp.kernels.submodular_gains.PARALLEL_MIN`, under its old name.
_PARALLEL_MIN = PARALLEL_MIN


# --------------------------------------------------------------------------- facility location
def similarity_matrix(X, metric: str = "cosine", n_neighbors=None, *, seed=None):
    """Nonnegative similarity between the rows of ``X``: dense n x n (one GEMM, 2 n^2 d flops) or k-nearest-neighbour sparse.

    ``'cosine'``:    s_ij = (1 + cos(x_i, x_j)) / 2 in [0, 1] (a zero row has cosine 0 with all).
    ``'euclidean'``: s_ij = max_kl ||x_k - x_l||^2 - ||x_i - x_j||^2 (apricot's conversion).

    With ``n_neighbors=k`` only s_ii and the s_ij of the k nearest neighbours j of each point i
    are stored (a scipy.sparse CSR matrix, n (k + 1) entries; exact neighbours up to 4096 points,
    pynndescent's approximate ones above; ``matroidomp._knn.knn_similarity`` states the
    conventions and costs); the max of ``'euclidean'`` then runs over the stored pairs. With
    k = n - 1 it equals the dense matrix.

    Parameters
    ----------
    X : array-like of shape (n, d)
        One item per row, real and finite (numpy, torch or cupy; dense only).
    metric : {'cosine', 'euclidean'}, default 'cosine'
    n_neighbors : int or None, default None
        None: the dense matrix; an int k in [1, n - 1]: the sparse kNN similarity.
    seed : None, int or numpy.random.Generator
        The randomness of the approximate neighbour search (``n_neighbors`` given, n > 4096).

    Returns
    -------
    numpy.ndarray or scipy.sparse.csr_matrix of shape (n, n)
        float32 for float32 input, float64 otherwise. Dense: exactly symmetric, one n x n array
        is allocated. Sparse: row i holds point i's neighbours (not symmetric in general).

    Raises
    ------
    TypeError
        When ``X`` is a scipy.sparse matrix or not a real numeric array, or ``n_neighbors`` is
        not an int.
    ValueError
        When ``X`` is not 2-D or has a non-finite entry, ``metric`` is unknown, or
        ``n_neighbors`` is outside [1, n - 1].
    ImportError
        When ``n_neighbors`` is given, n > 4096 and pynndescent (extra ``ann``) is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 0.0]])
    >>> similarity_matrix(X).tolist()
    [[1.0, 0.5, 0.0], [0.5, 1.0, 0.5], [0.0, 0.5, 1.0]]
    >>> similarity_matrix(X, "euclidean").tolist()  # 5 (the largest) - squared distance
    [[5.0, 0.0, 1.0], [0.0, 5.0, 0.0], [1.0, 0.0, 5.0]]
    >>> similarity_matrix(X, n_neighbors=2).toarray().tolist()  # every pair: the dense matrix
    [[1.0, 0.5, 0.0], [0.5, 1.0, 0.5], [0.0, 0.5, 1.0]]
    """
    X = _dense(X, "X")
    if n_neighbors is not None:
        return knn_similarity(X, n_neighbors, metric, seed=seed)
    X = as_float_array(X, "X", 2)
    if metric == "cosine":
        Xn = _unit_rows(X)
        S = Xn @ Xn.T
        cosine_to_similarity(S)
        return S
    if metric == "euclidean":
        S = _squared_distances(X)
        top = S.max() if S.size else 0
        np.subtract(top, S, out=S)
        return S
    raise ValueError(f"metric: expected 'cosine' or 'euclidean', got {metric!r}")


def _squared_distances(X: np.ndarray) -> np.ndarray:
    """||x_i - x_j||^2 between the rows of a validated float array, from one Gram matrix; exactly symmetric, zero diagonal."""
    S = X @ X.T
    gram_to_sq_distance(S, np.diagonal(S).copy())
    return S


def _dense(x, name: str):
    """Refuse a scipy.sparse matrix (the dense kernels would see an object array); pass others on."""
    if sp.issparse(x):
        raise TypeError(
            f"{name}: scipy.sparse matrices are not supported yet; pass a dense array, "
            f"e.g. {name}.toarray()"
        )
    return x


def _candidate_major(
    similarity, need: str = "facility location needs s_ij >= 0 to be monotone", name: str = "similarity"
) -> sp.csc_matrix:
    """A scipy.sparse (m, n) similarity as canonical CSC (CSR over candidates), float32 or float64.

    Converted once (the input is never modified: a non-canonical one is copied before its
    duplicates are summed); a negative or non-finite stored entry raises, naming the argument
    ``name``, the entry and ``need`` (why the caller's function needs s_ij >= 0).
    """
    if len(similarity.shape) != 2:
        raise ValueError(f"{name}: expected a 2-D matrix, got shape {similarity.shape}")
    if similarity.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected a real numeric sparse matrix, got dtype {similarity.dtype}")
    A = sp.csc_matrix(similarity)
    if not A.has_canonical_format:
        A = A.copy()
        A.sum_duplicates()
    dtype = np.float32 if A.dtype in (np.float16, np.float32) else np.float64
    if A.dtype != dtype:
        A = A.astype(dtype)
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~(A.data >= 0) | ~np.isfinite(A.data))
    if bad.size:
        p = int(bad[0])
        j = int(np.searchsorted(A.indptr, p, side="right")) - 1
        i, v = int(A.indices[p]), A.data[p]
        why = "not finite" if not np.isfinite(v) else f"< 0; {need}"
        raise ValueError(f"{name}: stored entry ({i}, {j}) is {v:.6g}, {why} ({bad.size} such entries)")
    return A


class _FacilityLocationState(GainState):
    """Gain state of :class:`FacilityLocation`: the current max similarity c_i of every point."""
    def __init__(self, sim_t: np.ndarray):
        self._sim_t = sim_t
        self._cur = np.zeros(sim_t.shape[1], dtype=np.float64)
        self.value = 0.0

    def gains(self, candidates: np.ndarray) -> np.ndarray:
        return fl_gains(self._sim_t, self._cur, candidates)

    def add(self, j: int) -> None:
        self.value = float(fl_add(self._sim_t[j], self._cur))


class _SparseFacilityLocationState(GainState):
    """Gain state of a sparse :class:`FacilityLocation`: c_i as above; ``add`` costs O(deg j)."""
    def __init__(self, csc: sp.csc_matrix):
        self._data, self._indices, self._indptr = csc.data, csc.indices, csc.indptr
        self._cur = np.zeros(csc.shape[0], dtype=np.float64)
        self.value = 0.0

    def gains(self, candidates: np.ndarray) -> np.ndarray:
        return fl_csr_gains(self._data, self._indices, self._indptr, self._cur, candidates)

    def add(self, j: int) -> None:
        lo, hi = self._indptr[j], self._indptr[j + 1]
        self.value += fl_csr_add(self._data[lo:hi], self._indices[lo:hi], self._cur)


class FacilityLocation(SetFunction):
    """Facility location: f(S) = sum_i max_{j in S} s_ij, f(empty) = 0; a gain costs O(m).

    Every point i is represented by its most similar selected candidate. With s_ij >= 0 this is
    monotone and submodular; a negative similarity would make the empty maximum (0) exceed some
    singleton and break monotonicity, so it is rejected.

    Parameters
    ----------
    similarity : array-like or scipy.sparse matrix of shape (m, n)
        s_ij >= 0, finite: how well candidate j represents point i. Rows are the m points to
        cover, columns the n candidates (the ground set); m = n with the same items is the usual
        case. float32 input is kept as float32 (half the memory); gains accumulate in float64.
        Dense: stored candidate-major; a symmetric matrix is used as is (no copy, so do not
        modify it afterwards), any other one is transposed once. scipy.sparse (any format):
        converted once to CSR over candidates (a CSC input in canonical form is used as is);
        entries not stored, and stored zeros, are s_ij = 0, duplicate entries are summed.

    Raises
    ------
    TypeError
        When ``similarity`` is not of a real numeric dtype.
    ValueError
        When ``similarity`` is not 2-D, or has a negative or non-finite (stored) entry.

    Notes
    -----
    Dense: a gain costs O(m), a batch of b candidates O(b m) (parallel over candidates), ``add``
    O(m); memory: the similarity plus O(m) per state. Sparse: a gain and ``add`` cost O(deg j),
    the stored entries of candidate j's column; memory O(nnz + n + m). A sparse S gives bitwise
    the gains of ``S.toarray()``, so every solver selects the same elements from both; f(S)
    accumulates the gains (equal to the dense value up to rounding).

    Examples
    --------
    >>> f = FacilityLocation(np.array([[1.0, 0.2], [0.3, 0.9], [0.5, 0.5]]))
    >>> round(f([0]), 6), round(f([0, 1]), 6)
    (1.8, 2.4)
    >>> import scipy.sparse as sp
    >>> g = FacilityLocation(sp.csr_matrix([[1.0, 0.2], [0.3, 0.9], [0.5, 0.0]]))
    >>> round(g([0]), 6), round(g([1]), 6), round(g([0, 1]), 6)
    (1.8, 1.1, 2.4)
    """

    def __init__(self, similarity):
        if sp.issparse(similarity):
            self._csc = _candidate_major(similarity)
            self._sim_t = None
            self.m, self.n = (int(s) for s in self._csc.shape)
            return
        self._csc = None
        sim = as_float_array(similarity, "similarity", 2)
        if sim.size:
            flat = int(np.argmin(sim))
            if sim.flat[flat] < 0:
                i, j = np.unravel_index(flat, sim.shape)
                raise ValueError(
                    f"similarity: entry ({i}, {j}) is {sim.flat[flat]:.6g} < 0; facility location "
                    "needs s_ij >= 0 to be monotone (shift or clip it, e.g. similarity_matrix)"
                )
        self.m, self.n = (int(s) for s in sim.shape)
        square_symmetric = self.m == self.n and is_symmetric(sim)
        self._sim_t = sim if square_symmetric else np.ascontiguousarray(sim.T)

    @classmethod
    def from_features(cls, X, metric: str = "cosine", n_neighbors=None, *, seed=None) -> "FacilityLocation":
        """Facility location over the rows of ``X`` with :func:`similarity_matrix`: dense n x n, or sparse kNN.

        Dense (``n_neighbors=None``): n^2 similarities, O(n^2) memory. Sparse (``n_neighbors=k``):
        point i is represented only by itself and its k nearest neighbours (exact up to 4096
        points, pynndescent's approximate search above); memory O(n k), a gain O(deg j).

        Parameters
        ----------
        X : array-like of shape (n, d)
            One item per row; the items are both the points to cover and the candidates.
        metric : {'cosine', 'euclidean'}, default 'cosine'
            See :func:`similarity_matrix`.
        n_neighbors : int or None, default None
            None: the dense similarity; an int k in [1, n - 1]: the kNN similarity.
        seed : None, int or numpy.random.Generator
            The randomness of the approximate neighbour search (n > 4096).

        Returns
        -------
        FacilityLocation

        Raises
        ------
        TypeError
            When ``X`` is a scipy.sparse matrix or not a real numeric array, or ``n_neighbors``
            is not an int.
        ValueError
            When ``X`` is not 2-D or has a non-finite entry, ``metric`` is unknown, or
            ``n_neighbors`` is outside [1, n - 1].

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
        >>> f = FacilityLocation.from_features(X)
        >>> f.n, f([0]), f([0, 2])
        (3, 1.5, 2.5)
        >>> Y = np.array([[0.0], [1.0], [3.0], [7.0]])  # each point: itself + 1 nearest neighbour
        >>> g = FacilityLocation.from_features(Y, "euclidean", n_neighbors=1)
        >>> g([1]), g([1, 3])  # point 1 represents 0, itself and 2; point 3 only itself
        (43.0, 59.0)
        """
        return cls(similarity_matrix(X, metric, n_neighbors, seed=seed))

    @classmethod
    def _from_store(cls, sim_t=None, csc=None) -> "FacilityLocation":
        """A facility location over an already validated store, as :meth:`__init__` keeps it.

        Exactly one of ``sim_t`` (dense, candidate-major: a C-contiguous (n, m) float array with
        sim_t[j, i] = s_ij >= 0) and ``csc`` (a canonical scipy.sparse CSC (m, n) matrix with
        stored entries >= 0). Used by functions that are a facility location on a transformed
        similarity (:mod:`matroidomp._targeted`), so the transform is the only copy.
        """
        f = cls.__new__(cls)
        f._sim_t, f._csc = sim_t, csc
        f.n, f.m = (int(s) for s in sim_t.shape) if csc is None else (int(csc.shape[1]), int(csc.shape[0]))
        return f

    def new_state(self) -> GainState:
        """A fresh gain state at S = empty."""
        if self._csc is not None:
            return _SparseFacilityLocationState(self._csc)
        return _FacilityLocationState(self._sim_t)


# --------------------------------------------------------------------------- feature based
_CONCAVE = CONCAVE


class _FeatureBasedState(GainState):
    """Gain state of :class:`FeatureBased`: the feature sums of S."""
    def __init__(self, X: np.ndarray, kind: int):
        self._X = X
        self._kind = kind
        self._acc = np.zeros(X.shape[1], dtype=np.float64)
        self.value = 0.0

    def gains(self, candidates: np.ndarray) -> np.ndarray:
        return fb_gains(self._X, self._acc, self._kind, candidates)

    def add(self, j: int) -> None:
        self.value = float(fb_add(self._X[j], self._acc, self._kind))


def _check_feature_sums(X: np.ndarray) -> None:
    """Raise when a column sum of X (nonnegative) may overflow float64.

    Every feature sum sum_{j in S} x_ju is at most the column sum, and a sum of m nonnegative
    terms in any order is within a factor (1 + m eps) of any other order, so finite column sums
    with that margin keep every accumulator, value and gain finite.
    """
    with np.errstate(over="ignore"):
        bound = X.sum(axis=0, dtype=np.float64) * (1.0 + X.shape[0] * np.finfo(np.float64).eps)
    over = np.flatnonzero(~np.isfinite(bound))
    if over.size:
        raise ValueError(
            f"features: the sum of column {int(over[0])} over the candidates overflows float64 "
            f"({over.size} column(s)); rescale X, e.g. divide it by its maximum"
        )


class FeatureBased(SetFunction):
    """Feature-based function: f(S) = sum_u phi(sum_{j in S} x_ju), x >= 0, phi concave; a gain costs O(U).

    Rewards covering many features while each feature saturates (diminishing returns through the
    concave phi, phi(0) = 0), so it is monotone and submodular.

    Parameters
    ----------
    features : array-like of shape (n, U)
        Row j: the nonnegative, finite feature vector of candidate j (counts, tf-idf, ...).
        Dense only for now; every column sum must fit in float64.
    concave : {'sqrt', 'log1p'}, default 'sqrt'
        phi(a) = sqrt(a) or log(1 + a).

    Raises
    ------
    TypeError
        When ``features`` is a scipy.sparse matrix (not supported yet: pass
        ``features.toarray()``) or not a real numeric array.
    ValueError
        When ``features`` is not 2-D, has a negative or non-finite entry, or a feature summed
        over the candidates overflows float64 (rescale it); or ``concave`` is unknown.

    Notes
    -----
    A gain costs O(U), ``add`` O(U).

    Examples
    --------
    >>> f = FeatureBased(np.array([[4.0, 0.0], [0.0, 9.0], [5.0, 0.0]]))
    >>> f([0]), f([0, 1]), f([0, 2])
    (2.0, 5.0, 3.0)
    """

    def __init__(self, features, concave: str = "sqrt"):
        if concave not in _CONCAVE:
            raise ValueError(f"concave: expected one of {sorted(_CONCAVE)}, got {concave!r}")
        X = as_float_array(_dense(features, "features"), "features", 2)
        if X.size and X.min() < 0:
            i = int(np.flatnonzero((X < 0).any(axis=1))[0])
            raise ValueError(f"features: row {i} has a negative entry; feature-based functions need x >= 0")
        _check_feature_sums(X)
        self._X = X
        self._kind = _CONCAVE[concave]
        self.concave = concave
        self.n = int(X.shape[0])

    def new_state(self) -> GainState:
        """A fresh gain state at S = empty."""
        return _FeatureBasedState(self._X, self._kind)


# --------------------------------------------------------------------------- coverage
def _incidence_csc(incidence) -> sp.csc_matrix:
    """Validate a 0/1 (m, n) incidence matrix; return it as CSC with sorted indices."""
    if sp.issparse(incidence):
        A = sp.csc_matrix(incidence)
        if A.dtype.kind not in "biuf":
            raise TypeError(f"incidence: expected a boolean or 0/1 numeric matrix, got dtype {A.dtype}")
        A.sum_duplicates()
        A.eliminate_zeros()
        if A.data.size and not np.all(A.data == 1):
            raise ValueError("incidence: entries must be 0 or 1 (or boolean)")
    else:
        arr = to_numpy(incidence, "incidence")
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise TypeError(f"incidence: expected a boolean or 0/1 numeric array, got dtype {arr.dtype}")
        if arr.ndim != 2:
            raise ValueError(f"incidence: expected a 2-D array, got shape {arr.shape}")
        if arr.dtype.kind != "b" and not np.all((arr == 0) | (arr == 1)):
            raise ValueError("incidence: entries must be 0 or 1 (or boolean)")
        A = sp.csc_matrix(arr != 0)
    A.sort_indices()
    return A


class _CoverageState(GainState):
    """Gain state of :class:`Coverage`: the covered mask."""
    def __init__(self, indptr, indices, w):
        self._indptr = indptr
        self._indices = indices
        self._w = w
        self._covered = np.zeros(w.shape[0], dtype=np.bool_)
        self.value = 0.0

    def gains(self, candidates: np.ndarray) -> np.ndarray:
        return cov_gains(self._indptr, self._indices, self._covered, self._w, candidates)

    def add(self, j: int) -> None:
        items = self._indices[self._indptr[j] : self._indptr[j + 1]]
        self.value += cov_gain(items, self._covered, self._w)
        cov_add(items, self._covered)


class Coverage(SetFunction):
    """Weighted coverage: f(S) = sum_i w_i [some j in S covers item i]; a gain costs O(deg j).

    Monotone and submodular for w >= 0 (facility location with the 0/1 similarity s = A).

    Parameters
    ----------
    incidence : array-like or scipy.sparse matrix of shape (m, n), boolean or 0/1
        A_ij = 1 when candidate j covers item i (rows are items, columns candidates, as the
        similarity of :class:`FacilityLocation`; coverage is facility location with s = A).
    weights : array-like of shape (m,), optional
        w_i >= 0, finite; default all ones (f counts covered items).

    Raises
    ------
    TypeError
        When ``incidence`` is neither boolean nor numeric, or ``weights`` is not a real numeric
        array.
    ValueError
        When ``incidence`` is not 2-D or has an entry other than 0 and 1, or ``weights`` has
        the wrong length, a negative or a non-finite entry.

    Notes
    -----
    Stored as CSC (candidate-major). A gain costs O(deg j), ``add`` O(deg j).

    Examples
    --------
    Three items, three candidates; candidate 2 covers items 1 and 2:

    >>> import numpy as np
    >>> import matroidomp as mo
    >>> A = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1]])
    >>> f = Coverage(A, weights=[1.0, 2.0, 4.0])
    >>> f([2]), f([0, 2]), f([0, 1, 2])
    (6.0, 7.0, 7.0)
    >>> mo.greedy(f, 2).indices.tolist()
    [2, 0]
    """

    def __init__(self, incidence, weights=None):
        A = _incidence_csc(incidence)
        self.m, self.n = (int(s) for s in A.shape)
        if weights is None:
            w = np.ones(self.m, dtype=np.float64)
        else:
            w = as_float_array(weights, "weights", 1, dtype=np.float64)
            check_length(w, self.m, "weights", "the number of items (rows of incidence)")
            if w.size and w.min() < 0:
                raise ValueError(f"weights: entry {int(np.argmin(w))} is negative; coverage needs w >= 0")
        self._w = w
        self._indptr = A.indptr.astype(np.int64)
        self._indices = A.indices.astype(np.int64)

    def new_state(self) -> GainState:
        """A fresh gain state at S = empty."""
        return _CoverageState(self._indptr, self._indices, self._w)
