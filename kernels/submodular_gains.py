"""Gain kernels of the classic submodular functions (numba, CPU) behind :mod:`matroidomp._submodular`.

Each function keeps one statistic of the selected set S (its *state*) that makes a marginal gain
Δ(j | S) = f(S + j) − f(S) cheap. The data are stored candidate-major (row j belongs to
candidate j), so a gain reads one contiguous row:

    function            gain Δ(j | S)                state                           one gain
    facility location   Σ_i max(0, s_ij − c_i)       c_i = max_{k ∈ S} s_ik (0: ∅)   O(m)
      sparse (CSR)      the same over stored s_ij    the same c                      O(deg j)
    feature-based       Σ_u φ(a_u + x_ju) − φ(a_u)   a_u = Σ_{k ∈ S} x_ku            O(U)
    coverage            Σ_{i ∈ A_j, i ∉ A_S} w_i     covered mask of A_S             O(deg j)

with φ = √ or log1p, A_j the items candidate j covers and A_S those S covers. A batch of b
candidates costs b gains; adding j to a state costs one gain and returns f(S + j) (the sparse
facility location returns the gain instead: its state never touches the m points all at once).

Public names (``matroidomp._submodular`` imports them):

- facility location: :func:`fl_gain` (one candidate), :func:`fl_gains_serial`,
  :func:`fl_gains_parallel` (a batch into ``out``), :func:`fl_gains` (a batch, the variant picked
  by size), :func:`fl_add` (c ← max(c, s_·j));
- sparse facility location, on the similarity as CSR over candidates (candidate j's stored
  points and similarities): :func:`fl_csr_gain`, :func:`fl_csr_gains_serial`,
  :func:`fl_csr_gains_parallel`, :func:`fl_csr_gains`, :func:`fl_csr_add`; a gain costs
  O(deg j) and is bitwise the dense gain of the same matrix;
- feature-based: :func:`fb_gain`, :func:`fb_gains_serial`, :func:`fb_gains_parallel`,
  :func:`fb_gains`, :func:`fb_add` (a ← a + x_j), with :data:`CONCAVE` naming the codes of φ;
- coverage: :func:`cov_gain`, :func:`cov_gains_serial`, :func:`cov_gains_parallel`,
  :func:`cov_gains`, :func:`cov_add` (mark the items of j covered);
- similarity matrices: :func:`is_symmetric` (exact A = Aᵀ, O(n²), early exit),
  :func:`cosine_to_similarity` (s = max((1 + g)/2, 0)) and :func:`gram_to_sq_distance`
  (d_ij = max(‖x_i‖² + ‖x_j‖² − 2g_ij, 0)), both in place on the upper triangle, O(n²), parallel
  over rows;
- :data:`PARALLEL_MIN`: batches at least this large run on the parallel variant.

Reproducible gains. The gain of candidate j is one float64 reduction over its row in a fixed
order, so it is bitwise the same whether computed alone or in a batch, serially or in parallel.
Every term of that reduction is a monotone function of the state under IEEE round-to-nearest
(max(s_ij − c_i, 0) with c_i only growing; φ(a + x) − φ(a) written as x / (√(a + x) + √a) and
log1p(x / (1 + a)), non-increasing in a), and a fixed-order sum is monotone in its terms, so
the *computed* gains never increase as S grows. Lazy greedy relies on exactly this to select
the same set as naive greedy.

One source for each serial/parallel pair. The batch loop of every function is written once, in
a factory, with ``prange``; the factory compiles it with ``parallel=False`` (``prange`` then
behaves as ``range``) or ``parallel=True``. numba's on-disk cache keys a function by its
qualified name, the line of its definition, its bytecode and its closure, which are identical
for the two variants of one factory; so each variant is renamed (``fl_gains_serial``,
``fl_gains_parallel``, ...) before it is compiled and gets its own cache file.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

PARALLEL_MIN = 1024
"""Batches of at least this many candidates run on the parallel variant (the same numbers)."""

CONCAVE = {"sqrt": 0, "log1p": 1}
"""The codes of the concave functions φ of the feature-based kernels (their ``kind`` argument)."""

_VARIANTS = {
    False: ("serial", "One candidate after the other on the calling thread"),
    True: ("parallel", "Candidates spread over numba's threads (``prange``), the same numbers as "
                       "the serial variant"),
}


def _variant(py_func, parallel: bool):
    """Compile the batch loop ``py_func`` as its serial or parallel variant under its own name.

    The name (``<name>_serial`` or ``<name>_parallel``) keeps the two variants apart in numba's
    cache, which would otherwise give both the same key (see the module docstring); ``{how}``
    in the docstring says which variant this is.
    """
    # Without the rename both variants share one index file and one key, and the variant
    # compiled second silently loads the first one's machine code, even in the same process
    # (checked with numba 0.68: a parallel variant then ran serially). The tests check that each
    # variant has its own entry and that only the parallel entries hold threaded code.
    suffix, how = _VARIANTS[parallel]
    py_func.__name__ = py_func.__qualname__ = f"{py_func.__name__}_{suffix}"
    py_func.__doc__ = py_func.__doc__.replace("{how}", how)
    return njit(cache=True, parallel=parallel)(py_func)


def _batched(serial, parallel, candidates, *data) -> np.ndarray:
    """Gains of ``candidates`` by ``kernel(*data, cand, out)``; the parallel variant only for
    batches large enough to pay for its threads (the same numbers either way)."""
    cand = np.ascontiguousarray(candidates, dtype=np.int64)
    out = np.empty(cand.shape[0], dtype=np.float64)
    (parallel if cand.shape[0] >= PARALLEL_MIN else serial)(*data, cand, out)
    return out


# --------------------------------------------------------------------------- facility location
@njit(cache=True)
def fl_gain(row, cur):
    """Facility-location gain of one candidate: Σ_i max(0, s_i − c_i).

    Eight fixed interleaved partial sums (i mod 8), then a fixed tree: eight independent chains
    hide the latency of floating-point addition, and the order is fixed, so the result depends on
    nothing but (row, cur). O(m).

    Parameters
    ----------
    row : numpy.ndarray of shape (m,), float32 or float64
        s_·j: the similarities of the candidate to the m points.
    cur : numpy.ndarray of shape (m,), float64
        c: the current best similarity of every point (0 for S = ∅).

    Returns
    -------
    float
        The gain, accumulated in float64.

    Examples
    --------
    >>> import numpy as np
    >>> fl_gain(np.array([1.0, 0.25, 0.5]), np.array([0.5, 0.5, 0.5]))
    0.5
    """
    m = row.shape[0]
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    top = m - m % 8
    for i in range(0, top, 8):
        a0 += max(np.float64(row[i]) - cur[i], 0.0)
        a1 += max(np.float64(row[i + 1]) - cur[i + 1], 0.0)
        a2 += max(np.float64(row[i + 2]) - cur[i + 2], 0.0)
        a3 += max(np.float64(row[i + 3]) - cur[i + 3], 0.0)
        a4 += max(np.float64(row[i + 4]) - cur[i + 4], 0.0)
        a5 += max(np.float64(row[i + 5]) - cur[i + 5], 0.0)
        a6 += max(np.float64(row[i + 6]) - cur[i + 6], 0.0)
        a7 += max(np.float64(row[i + 7]) - cur[i + 7], 0.0)
    for i in range(top, m):
        a0 += max(np.float64(row[i]) - cur[i], 0.0)
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))


def _make_fl_gains(parallel: bool):
    """The facility-location batch loop, compiled serial or parallel."""
    def fl_gains(sim_t, cur, cand, out):
        """Facility-location gains of a batch: out_t = Σ_i max(0, s_{i, cand_t} − c_i).

        {how}. O(b m) for b candidates.

        Parameters
        ----------
        sim_t : numpy.ndarray of shape (n, m), float32 or float64
            The similarity candidate-major: row j holds s_·j.
        cur : numpy.ndarray of shape (m,), float64
            c: the current best similarity of every point.
        cand : numpy.ndarray of shape (b,), int64
            The candidates.
        out : numpy.ndarray of shape (b,), float64
            Receives the gains (each one as :func:`fl_gain` computes it).

        Examples
        --------
        >>> import numpy as np
        >>> sim_t = np.array([[1.0, 0.25, 0.5], [0.25, 1.0, 0.5]])  # 2 candidates, 3 points
        >>> out = np.empty(2)
        >>> fl_gains_serial(sim_t, np.array([1.0, 0.25, 0.5]), np.array([1, 0]), out)
        >>> out.tolist()
        [0.75, 0.0]
        >>> fl_gains_parallel(sim_t, np.zeros(3), np.array([0, 1]), out)
        >>> out.tolist()
        [1.75, 1.75]
        """
        for t in prange(cand.shape[0]):
            out[t] = fl_gain(sim_t[cand[t]], cur)
    return _variant(fl_gains, parallel)


fl_gains_serial = _make_fl_gains(parallel=False)
"""Facility-location gains of a batch into ``out``, serially (see :func:`fl_gains`)."""
fl_gains_parallel = _make_fl_gains(parallel=True)
"""Facility-location gains of a batch into ``out``, in parallel (the same numbers)."""


def fl_gains(sim_t, cur, candidates):
    """Facility-location gains of a batch: Σ_i max(0, s_ij − c_i) for every candidate j.

    Runs :func:`fl_gains_parallel` for at least :data:`PARALLEL_MIN` candidates and
    :func:`fl_gains_serial` below; both give the same numbers. O(b m).

    Parameters
    ----------
    sim_t : numpy.ndarray of shape (n, m), float32 or float64
        The similarity candidate-major: row j holds s_·j.
    cur : numpy.ndarray of shape (m,), float64
        c: the current best similarity of every point.
    candidates : array-like of shape (b,), integer
        The candidates.

    Returns
    -------
    numpy.ndarray of shape (b,), float64

    Examples
    --------
    >>> import numpy as np
    >>> sim_t = np.array([[1.0, 0.25, 0.5], [0.25, 1.0, 0.5]])
    >>> fl_gains(sim_t, np.array([1.0, 0.25, 0.5]), [0, 1]).tolist()
    [0.0, 0.75]
    """
    return _batched(fl_gains_serial, fl_gains_parallel, candidates, sim_t, cur)


@njit(cache=True)
def fl_add(row, cur):
    """Add a candidate to the facility-location state: c ← max(c, s_·j); returns Σ_i c_i.

    The sum runs in index order, O(m).

    Parameters
    ----------
    row : numpy.ndarray of shape (m,), float32 or float64
        s_·j: the similarities of the added candidate.
    cur : numpy.ndarray of shape (m,), float64
        c, updated in place.

    Returns
    -------
    float
        f(S + j) = Σ_i c_i after the update.

    Examples
    --------
    >>> import numpy as np
    >>> cur = np.array([1.0, 0.25, 0.5])
    >>> fl_add(np.array([0.25, 1.0, 0.5]), cur)
    2.5
    >>> cur.tolist()
    [1.0, 1.0, 0.5]
    """
    total = 0.0
    for i in range(row.shape[0]):
        v = np.float64(row[i])
        if v > cur[i]:
            cur[i] = v
        total += cur[i]
    return total


# --------------------------------------------------------------------------- sparse facility location
@njit(cache=True)
def fl_csr_gain(vals, points, cur):
    """Facility-location gain of one candidate from its stored similarities: Σ_t max(0, v_t − c_{p_t}).

    The candidate's row of the candidate-major CSR: the points p_t (strictly increasing) it has a
    stored similarity v_t with; every other point has similarity 0 and contributes
    max(0 − c_i, 0) = 0. Each term goes into the partial sum :func:`fl_gain` gives point p_t
    (p mod 8, the tail of m mod 8 points into the first), in increasing p, and the same tree adds
    them: a dense gain's extra terms are all +0.0, which leave a partial sum unchanged, so the
    result is bitwise the one :func:`fl_gain` computes on the dense row. O(deg j).

    Parameters
    ----------
    vals : numpy.ndarray of shape (deg j,), float32 or float64
        v: the stored similarities s_{p_t, j} ≥ 0.
    points : numpy.ndarray of shape (deg j,), int32 or int64
        p: their points, strictly increasing.
    cur : numpy.ndarray of shape (m,), float64
        c: the current best similarity of every point (0 for S = ∅).

    Returns
    -------
    float
        The gain, accumulated in float64.

    Examples
    --------
    >>> import numpy as np
    >>> cur = np.array([0.5, 0.5, 0.5])
    >>> fl_csr_gain(np.array([1.0, 0.5]), np.array([0, 2]), cur)  # dense row [1.0, 0.0, 0.5]
    0.5
    >>> fl_csr_gain(np.array([1.0, 0.5]), np.array([0, 2]), cur) == fl_gain(np.array([1.0, 0.0, 0.5]), cur)
    True
    """
    m = cur.shape[0]
    top = m - m % 8
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    for t in range(points.shape[0]):
        i = points[t]
        g = max(np.float64(vals[t]) - cur[i], 0.0)
        r = i & 7 if i < top else 0
        if r == 0:
            a0 += g
        elif r == 1:
            a1 += g
        elif r == 2:
            a2 += g
        elif r == 3:
            a3 += g
        elif r == 4:
            a4 += g
        elif r == 5:
            a5 += g
        elif r == 6:
            a6 += g
        else:
            a7 += g
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))


def _make_fl_csr_gains(parallel: bool):
    """The sparse facility-location batch loop, compiled serial or parallel."""
    def fl_csr_gains(data, indices, indptr, cur, cand, out):
        """Sparse facility-location gains of a batch: out_t = Σ_{i stored for cand_t} max(0, s_{i, cand_t} − c_i).

        {how}. O(Σ_t deg cand_t).

        Parameters
        ----------
        data : numpy.ndarray of shape (nnz,), float32 or float64
            CSR over candidates (the CSC of the (m, n) similarity): candidate j's similarities
            are ``data[indptr[j]:indptr[j + 1]]``.
        indices : numpy.ndarray of shape (nnz,), int32 or int64
            Their points, strictly increasing within each candidate.
        indptr : numpy.ndarray of shape (n + 1,), int32 or int64
            The row pointers.
        cur : numpy.ndarray of shape (m,), float64
            c: the current best similarity of every point.
        cand : numpy.ndarray of shape (b,), int64
            The candidates.
        out : numpy.ndarray of shape (b,), float64
            Receives the gains (each one as :func:`fl_csr_gain` computes it).

        Examples
        --------
        >>> import numpy as np
        >>> data, indices, indptr = np.array([1.0, 0.5, 1.0]), np.array([0, 2, 1]), np.array([0, 2, 3])
        >>> out = np.empty(2)
        >>> fl_csr_gains_serial(data, indices, indptr, np.array([0.5, 0.5, 0.5]), np.array([1, 0]), out)
        >>> out.tolist()
        [0.5, 0.5]
        >>> fl_csr_gains_parallel(data, indices, indptr, np.zeros(3), np.array([0, 1]), out)
        >>> out.tolist()
        [1.5, 1.0]
        """
        for t in prange(cand.shape[0]):
            j = cand[t]
            out[t] = fl_csr_gain(data[indptr[j]:indptr[j + 1]], indices[indptr[j]:indptr[j + 1]], cur)
    return _variant(fl_csr_gains, parallel)


fl_csr_gains_serial = _make_fl_csr_gains(parallel=False)
"""Sparse facility-location gains of a batch into ``out``, serially (see :func:`fl_csr_gains`)."""
fl_csr_gains_parallel = _make_fl_csr_gains(parallel=True)
"""Sparse facility-location gains of a batch into ``out``, in parallel (the same numbers)."""


def fl_csr_gains(data, indices, indptr, cur, candidates):
    """Sparse facility-location gains of a batch: Σ_{i stored for j} max(0, s_ij − c_i) for every candidate j.

    Runs :func:`fl_csr_gains_parallel` for at least :data:`PARALLEL_MIN` candidates and
    :func:`fl_csr_gains_serial` below; both give the same numbers, bitwise those of
    :func:`fl_gains` on the dense similarity. O(Σ_j deg j).

    Parameters
    ----------
    data, indices, indptr : numpy.ndarray
        The similarity as CSR over candidates (see :func:`fl_csr_gains_serial`).
    cur : numpy.ndarray of shape (m,), float64
        c: the current best similarity of every point.
    candidates : array-like of shape (b,), integer
        The candidates.

    Returns
    -------
    numpy.ndarray of shape (b,), float64

    Examples
    --------
    >>> import numpy as np
    >>> data, indices, indptr = np.array([1.0, 0.5, 1.0]), np.array([0, 2, 1]), np.array([0, 2, 3])
    >>> fl_csr_gains(data, indices, indptr, np.array([1.0, 0.25, 0.0]), [0, 1]).tolist()
    [0.5, 0.75]
    """
    return _batched(fl_csr_gains_serial, fl_csr_gains_parallel, candidates, data, indices, indptr, cur)


@njit(cache=True)
def fl_csr_add(vals, points, cur):
    """Add a candidate to the facility-location state from its stored similarities: c_p ← max(c_p, v).

    Returns the candidate's gain before the update, as :func:`fl_csr_gain` computes it
    (f(S + j) − f(S)); points without a stored similarity keep their c. O(deg j).

    Parameters
    ----------
    vals : numpy.ndarray of shape (deg j,), float32 or float64
        The stored similarities of the added candidate.
    points : numpy.ndarray of shape (deg j,), int32 or int64
        Their points, strictly increasing.
    cur : numpy.ndarray of shape (m,), float64
        c, updated in place.

    Returns
    -------
    float
        The gain of the candidate at the state before the update.

    Examples
    --------
    >>> import numpy as np
    >>> cur = np.array([1.0, 0.25, 0.5])
    >>> fl_csr_add(np.array([1.0, 0.5]), np.array([1, 2]), cur)
    0.75
    >>> cur.tolist()
    [1.0, 1.0, 0.5]
    """
    g = fl_csr_gain(vals, points, cur)
    for t in range(points.shape[0]):
        v = np.float64(vals[t])
        if v > cur[points[t]]:
            cur[points[t]] = v
    return g


# --------------------------------------------------------------------------- similarity matrices
@njit(cache=True)
def is_symmetric(a):
    """Exact test a = aᵀ of a square matrix.

    Compares the upper triangle with the lower one in 64 × 64 tiles (cache friendly), stopping at
    the first difference. O(n²).

    Parameters
    ----------
    a : numpy.ndarray of shape (n, n)

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> is_symmetric(np.array([[1.0, 2.0], [2.0, 1.0]])), is_symmetric(np.array([[1.0, 2.0], [3.0, 1.0]]))
    (True, False)
    """
    n = a.shape[0]
    for bi in range(0, n, 64):
        for bj in range(bi, n, 64):
            for i in range(bi, min(bi + 64, n)):
                for j in range(max(bj, i + 1), min(bj + 64, n)):
                    if a[i, j] != a[j, i]:
                        return False
    return True


@njit(cache=True, parallel=True)
def cosine_to_similarity(g):
    """In place, cosines to similarities: s_ij = s_ji = max((1 + g_ij) / 2, 0).

    Reads the upper triangle of ``g`` (the lower one is overwritten), so the result is exactly
    symmetric. O(n²), rows in parallel.

    Parameters
    ----------
    g : numpy.ndarray of shape (n, n), float32 or float64
        Cosines g_ij (upper triangle), overwritten by the similarities.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.array([[1.0, -1.0], [0.0, 1.0]])
    >>> cosine_to_similarity(g)
    >>> g.tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    n = g.shape[0]
    for i in prange(n):
        for j in range(i, n):
            s = max((1.0 + g[i, j]) * 0.5, 0.0)
            g[i, j] = s
            g[j, i] = s


@njit(cache=True, parallel=True)
def gram_to_sq_distance(g, sq):
    """In place, Gram matrix to squared distances: d_ij = d_ji = max(sq_i + sq_j − 2 g_ij, 0), d_ii = 0.

    Reads the upper triangle of ``g`` (the lower one is overwritten), so the result is exactly
    symmetric. O(n²), rows in parallel.

    Parameters
    ----------
    g : numpy.ndarray of shape (n, n), float32 or float64
        g_ij = ⟨x_i, x_j⟩ (upper triangle), overwritten by the squared distances.
    sq : numpy.ndarray of shape (n,)
        sq_i = ‖x_i‖², a copy of the diagonal of ``g`` (not a view of it).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> g = X @ X.T
    >>> gram_to_sq_distance(g, np.diagonal(g).copy())
    >>> g.tolist()
    [[0.0, 5.0], [5.0, 0.0]]
    """
    n = g.shape[0]
    for i in prange(n):
        g[i, i] = 0.0
        for j in range(i + 1, n):
            d = max((sq[i] + sq[j]) - 2.0 * g[i, j], 0.0)
            g[i, j] = d
            g[j, i] = d


# --------------------------------------------------------------------------- feature based
@njit(cache=True)
def _fb_term(x, a, kind):
    """φ(a + x) − φ(a), written so that it is non-increasing in a under IEEE rounding."""
    if x <= 0.0:
        return 0.0
    if kind == 0:
        return x / (np.sqrt(a + x) + np.sqrt(a))
    return np.log1p(x / (1.0 + a))


@njit(cache=True)
def fb_gain(row, acc, kind):
    """Feature-based gain of one candidate: Σ_u φ(a_u + x_u) − φ(a_u).

    Each term is computed as x / (√(a + x) + √a) (φ = √) or log1p(x / (1 + a)) (φ = log1p),
    non-increasing in a under rounding; summed in index order. O(U).

    Parameters
    ----------
    row : numpy.ndarray of shape (U,), float32 or float64
        x_j ≥ 0: the features of the candidate.
    acc : numpy.ndarray of shape (U,), float64
        a: the feature sums of S.
    kind : int
        φ: 0 for √, 1 for log1p (:data:`CONCAVE`).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> fb_gain(np.array([5.0, 0.0]), np.array([4.0, 9.0]), CONCAVE["sqrt"])  # √9 − √4
    1.0
    """
    g = 0.0
    for u in range(row.shape[0]):
        g += _fb_term(np.float64(row[u]), acc[u], kind)
    return g


def _make_fb_gains(parallel: bool):
    """The feature-based batch loop, compiled serial or parallel."""
    def fb_gains(X, acc, kind, cand, out):
        """Feature-based gains of a batch: out_t = Σ_u φ(a_u + x_{cand_t, u}) − φ(a_u).

        {how}. O(b U) for b candidates.

        Parameters
        ----------
        X : numpy.ndarray of shape (n, U), float32 or float64
            Row j: the features x_j ≥ 0 of candidate j.
        acc : numpy.ndarray of shape (U,), float64
            a: the feature sums of S.
        kind : int
            φ: 0 for √, 1 for log1p (:data:`CONCAVE`).
        cand : numpy.ndarray of shape (b,), int64
            The candidates.
        out : numpy.ndarray of shape (b,), float64
            Receives the gains (each one as :func:`fb_gain` computes it).

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[5.0, 0.0], [0.0, 9.0], [12.0, 0.0]])
        >>> acc = np.array([4.0, 0.0])  # S's feature sums; phi = sqrt (kind 0)
        >>> out = np.empty(3)
        >>> fb_gains_serial(X, acc, 0, np.array([0, 1, 2]), out)
        >>> out.tolist()  # sqrt(9) - 2, sqrt(9) - 0, sqrt(16) - 2
        [1.0, 3.0, 2.0]
        >>> fb_gains_parallel(X, acc, 0, np.array([2, 0, 1]), out)
        >>> out.tolist()
        [2.0, 1.0, 3.0]
        """
        for t in prange(cand.shape[0]):
            out[t] = fb_gain(X[cand[t]], acc, kind)
    return _variant(fb_gains, parallel)


fb_gains_serial = _make_fb_gains(parallel=False)
"""Feature-based gains of a batch into ``out``, serially (see :func:`fb_gains`)."""
fb_gains_parallel = _make_fb_gains(parallel=True)
"""Feature-based gains of a batch into ``out``, in parallel (the same numbers)."""


def fb_gains(X, acc, kind, candidates):
    """Feature-based gains of a batch: Σ_u φ(a_u + x_ju) − φ(a_u) for every candidate j.

    Runs :func:`fb_gains_parallel` for at least :data:`PARALLEL_MIN` candidates and
    :func:`fb_gains_serial` below; both give the same numbers. O(b U).

    Parameters
    ----------
    X : numpy.ndarray of shape (n, U), float32 or float64
        Row j: the features x_j ≥ 0 of candidate j.
    acc : numpy.ndarray of shape (U,), float64
        a: the feature sums of S.
    kind : int
        φ: 0 for √, 1 for log1p (:data:`CONCAVE`).
    candidates : array-like of shape (b,), integer
        The candidates.

    Returns
    -------
    numpy.ndarray of shape (b,), float64

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[4.0, 0.0], [0.0, 9.0], [5.0, 0.0]])
    >>> fb_gains(X, np.zeros(2), CONCAVE["sqrt"], [0, 1, 2]).round(6).tolist()
    [2.0, 3.0, 2.236068]
    """
    return _batched(fb_gains_serial, fb_gains_parallel, candidates, X, acc, kind)


@njit(cache=True)
def fb_add(row, acc, kind):
    """Add a candidate to the feature-based state: a ← a + x_j; returns Σ_u φ(a_u).

    O(U), summed in index order.

    Parameters
    ----------
    row : numpy.ndarray of shape (U,), float32 or float64
        x_j: the features of the added candidate.
    acc : numpy.ndarray of shape (U,), float64
        a, updated in place.
    kind : int
        φ: 0 for √, 1 for log1p (:data:`CONCAVE`).

    Returns
    -------
    float
        f(S + j) = Σ_u φ(a_u) after the update.

    Examples
    --------
    >>> import numpy as np
    >>> acc = np.array([4.0, 0.0])
    >>> fb_add(np.array([5.0, 9.0]), acc, CONCAVE["sqrt"]), acc.tolist()
    (6.0, [9.0, 9.0])
    """
    total = 0.0
    for u in range(row.shape[0]):
        acc[u] += np.float64(row[u])
        total += np.sqrt(acc[u]) if kind == 0 else np.log1p(acc[u])
    return total


# --------------------------------------------------------------------------- coverage
@njit(cache=True)
def cov_gain(items, covered, w):
    """Coverage gain of one candidate: Σ_{i ∈ items, not covered_i} w_i.

    Summed in the order of ``items``, O(deg j).

    Parameters
    ----------
    items : numpy.ndarray of shape (deg j,), int64
        The items the candidate covers.
    covered : numpy.ndarray of shape (m,), bool
        The items S covers.
    w : numpy.ndarray of shape (m,), float64
        The item weights.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> cov_gain(np.array([0, 2]), np.array([True, False, False]), np.array([1.0, 2.0, 4.0]))
    4.0
    """
    g = 0.0
    for t in range(items.shape[0]):
        i = items[t]
        if not covered[i]:
            g += w[i]
    return g


def _make_cov_gains(parallel: bool):
    """The coverage batch loop, compiled serial or parallel."""
    def cov_gains(indptr, indices, covered, w, cand, out):
        """Coverage gains of a batch: out_t = Σ_{i covered by cand_t, not by S} w_i.

        {how}. O(Σ_t deg cand_t).

        Parameters
        ----------
        indptr : numpy.ndarray of shape (n + 1,), int64
            CSC column pointers of the (m, n) incidence: candidate j covers
            ``indices[indptr[j]:indptr[j + 1]]``.
        indices : numpy.ndarray of shape (nnz,), int64
            CSC row indices (the items).
        covered : numpy.ndarray of shape (m,), bool
            The items S covers.
        w : numpy.ndarray of shape (m,), float64
            The item weights.
        cand : numpy.ndarray of shape (b,), int64
            The candidates.
        out : numpy.ndarray of shape (b,), float64
            Receives the gains (each one as :func:`cov_gain` computes it).

        Examples
        --------
        >>> import numpy as np
        >>> indptr, indices = np.array([0, 1, 2, 4]), np.array([0, 1, 1, 2])  # 2 covers items 1, 2
        >>> covered, w = np.array([False, True, False]), np.array([1.0, 2.0, 4.0])
        >>> out = np.empty(3)
        >>> cov_gains_serial(indptr, indices, covered, w, np.array([0, 1, 2]), out)
        >>> out.tolist()
        [1.0, 0.0, 4.0]
        >>> cov_gains_parallel(indptr, indices, covered, w, np.array([2, 0]), out[:2])
        >>> out.tolist()
        [4.0, 1.0, 4.0]
        """
        for t in prange(cand.shape[0]):
            j = cand[t]
            out[t] = cov_gain(indices[indptr[j] : indptr[j + 1]], covered, w)
    return _variant(cov_gains, parallel)


cov_gains_serial = _make_cov_gains(parallel=False)
"""Coverage gains of a batch into ``out``, serially (see :func:`cov_gains`)."""
cov_gains_parallel = _make_cov_gains(parallel=True)
"""Coverage gains of a batch into ``out``, in parallel (the same numbers)."""


def cov_gains(indptr, indices, covered, w, candidates):
    """Coverage gains of a batch: Σ_{i covered by j, not by S} w_i for every candidate j.

    Runs :func:`cov_gains_parallel` for at least :data:`PARALLEL_MIN` candidates and
    :func:`cov_gains_serial` below; both give the same numbers. O(Σ_j deg j).

    Parameters
    ----------
    indptr : numpy.ndarray of shape (n + 1,), int64
        CSC column pointers of the (m, n) incidence.
    indices : numpy.ndarray of shape (nnz,), int64
        CSC row indices (the items).
    covered : numpy.ndarray of shape (m,), bool
        The items S covers.
    w : numpy.ndarray of shape (m,), float64
        The item weights.
    candidates : array-like of shape (b,), integer
        The candidates.

    Returns
    -------
    numpy.ndarray of shape (b,), float64

    Examples
    --------
    >>> import numpy as np
    >>> indptr, indices = np.array([0, 1, 2, 4]), np.array([0, 1, 1, 2])
    >>> cov_gains(indptr, indices, np.zeros(3, dtype=bool), np.array([1.0, 2.0, 4.0]), [0, 1, 2]).tolist()
    [1.0, 2.0, 6.0]
    """
    return _batched(cov_gains_serial, cov_gains_parallel, candidates, indptr, indices, covered, w)


@njit(cache=True)
def cov_add(items, covered):
    """Add a candidate to the coverage state: covered_i ← True for its items. O(deg j).

    Parameters
    ----------
    items : numpy.ndarray of shape (deg j,), int64
        The items the added candidate covers.
    covered : numpy.ndarray of shape (m,), bool
        The items S covers, updated in place.

    Examples
    --------
    >>> import numpy as np
    >>> covered = np.zeros(3, dtype=bool)
    >>> cov_add(np.array([1, 2]), covered)
    >>> covered.tolist()
    [False, True, True]
    """
    for t in range(items.shape[0]):
        covered[items[t]] = True
