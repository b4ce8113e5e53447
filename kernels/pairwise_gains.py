"""Gain kernels of the pairwise-similarity functions (numba, CPU) behind :mod:`matroidomp._pairwise`.

The functions are defined on a symmetric similarity s ≥ 0 over the ground set V = {0, …, n−1}
and keep, per candidate j, one running sum over the selected set S:

    function     gain Δ(j | S)                           state                        one gain   add
    graph cut    r_j − λ (s_jj + c_j)                    c_j = 2 Σ_{k ∈ S} s_kj         O(1)       O(n)
    saturated    Σ_i min(s_ij, m_i − c_i)                c_i = min(m_i, Σ_{k ∈ S} s_ik)  O(n)       O(n)
      coverage

with r_j = Σ_{i ∈ V} s_ij and the caps m_i = α r_i; sparse: O(deg j) for both. A sparse similarity (CSR, rows in increasing order) gives bitwise the
numbers of its dense array: its sums skip only terms that are +0.0, which leave a float64 sum
unchanged, and run in the same order.

Public names (``matroidomp._pairwise`` imports them):

- :func:`dense_column_sums`, :func:`csr_column_sums`: r_j = Σ_i s_ij in float64, i increasing;
  :func:`symmetric_nonnegative_column_sums`: the dense sums and the symmetry / s ≥ 0 check in one pass;
- graph cut: :func:`gc_gains` (a batch), :func:`gc_add_dense`, :func:`gc_add_csr`
  (c ← c + 2 s_k·);
- saturated coverage: :func:`sc_gain` (dense row), :func:`sc_csr_gain` (stored entries),
  :func:`sc_gains_serial`, :func:`sc_gains_parallel`, :func:`sc_gains` (dense batches),
  :func:`sc_csr_gains_serial`, :func:`sc_csr_gains_parallel`, :func:`sc_csr_gains` (sparse
  batches; serial and parallel from one source, as in :mod:`~matroidomp.kernels.submodular_gains`),
  :func:`sc_add_dense`, :func:`sc_add_csr` (c ← min(m, c + s_·k)).

Reproducible gains. A gain is a fixed expression of (r_j, s_jj, c_j), bitwise the same alone or
in a batch. c_j only grows (a sum of terms ≥ 0, each rounding monotone), so λ (s_jj + c_j) never
decreases and the *computed* gain r_j − λ (s_jj + c_j) never increases as S grows; lazy greedy
relies on exactly this to select the same set as naive greedy. Saturated coverage: each term
min(s_ij, m_i − c_i) is non-increasing in c_i under rounding, c_i only grows, and the terms are
summed in index order, so its computed gains never increase either.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .submodular_gains import _batched, _variant


@njit(cache=True)
def dense_column_sums(sim):
    """r_j = Σ_i s_ij of a dense (m, n) matrix, accumulated in float64 with i increasing. O(m n).

    Parameters
    ----------
    sim : numpy.ndarray of shape (m, n), float32 or float64

    Returns
    -------
    numpy.ndarray of shape (n,), float64

    Examples
    --------
    >>> import numpy as np
    >>> dense_column_sums(np.array([[1.0, 0.5], [0.5, 2.0]])).tolist()
    [1.5, 2.5]
    """
    m, n = sim.shape
    r = np.zeros(n, dtype=np.float64)
    for i in range(m):
        for j in range(n):
            r[j] += np.float64(sim[i, j])
    return r


@njit(cache=True)
def symmetric_nonnegative_column_sums(sim, r):
    """One blocked pass over a dense n × n s: r_j = Σ_i s_ij, and whether s is finite, exactly symmetric and ≥ 0.

    r (float64, zeros on entry) receives bitwise :func:`dense_column_sums` (for every j the terms
    arrive with i increasing). Per band of 64 rows: the sums over those rows, then the checks on
    the 64 × 64 tile pairs (i, j), (j, i) on and above the diagonal, while the band is in cache,
    without branches. About half the time of a separate minimum, symmetry test and sums. O(n²).

    Parameters
    ----------
    sim : numpy.ndarray of shape (n, n), float32 or float64
    r : numpy.ndarray of shape (n,), float64
        Zeros; overwritten by the column sums.

    Returns
    -------
    bool
        True iff s_ij is finite, s_ij == s_ji and s_ij >= 0 for every i, j.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.zeros(2)
    >>> symmetric_nonnegative_column_sums(np.array([[1.0, 0.5], [0.5, 2.0]]), r), r.tolist()
    (True, [1.5, 2.5])
    >>> symmetric_nonnegative_column_sums(np.array([[1.0, 0.5], [0.4, 2.0]]), np.zeros(2))
    False
    """
    n = sim.shape[0]
    block = 64
    bad = False
    for i0 in range(0, n, block):
        i1 = min(i0 + block, n)
        for i in range(i0, i1):  # the sums: whole rows, contiguous
            for j in range(n):
                r[j] += np.float64(sim[i, j])
        for j0 in range(i0, n, block):  # the checks: tile pairs on and above the diagonal cover every entry
            j1 = min(j0 + block, n)
            for i in range(i0, i1):
                for j in range(j0, j1):
                    v, w = sim[i, j], sim[j, i]
                    bad |= (v < 0) | (w < 0) | (v != w) | (v - v != 0)  # v - v: NaN for NaN and ±inf
    return not bad


@njit(cache=True)
def csr_column_sums(data, indices, indptr, n):
    """r_j = Σ_i s_ij of a CSR (m, n) matrix over its stored entries, in float64, i increasing. O(nnz + n).

    Bitwise :func:`dense_column_sums` of the dense array (the skipped terms are +0.0).

    Parameters
    ----------
    data : numpy.ndarray of shape (nnz,), float32 or float64
    indices : numpy.ndarray of shape (nnz,), integer
        Column of each stored entry.
    indptr : numpy.ndarray of shape (m + 1,), integer
        Row pointers.
    n : int
        Number of columns.

    Returns
    -------
    numpy.ndarray of shape (n,), float64

    Examples
    --------
    >>> import numpy as np
    >>> csr_column_sums(np.array([1.0, 0.5, 2.0]), np.array([0, 1, 1]), np.array([0, 2, 3]), 2).tolist()
    [1.0, 2.5]
    """
    r = np.zeros(n, dtype=np.float64)
    for i in range(indptr.shape[0] - 1):
        for t in range(indptr[i], indptr[i + 1]):
            r[indices[t]] += np.float64(data[t])
    return r


@njit(cache=True)
def gc_gains(r, d, c, lam, cand, out):
    """Graph-cut gains of a batch: out_t = r_j − λ (d_j + c_j) for j = cand_t. O(b).

    Parameters
    ----------
    r : numpy.ndarray of shape (n,), float64
        r_j = Σ_i s_ij.
    d : numpy.ndarray of shape (n,), float64
        d_j = s_jj.
    c : numpy.ndarray of shape (n,), float64
        c_j = 2 Σ_{k ∈ S} s_kj.
    lam : float
        λ ≥ 0.
    cand : numpy.ndarray of shape (b,), int64
        The candidates.
    out : numpy.ndarray of shape (b,), float64
        Receives the gains.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.empty(2)
    >>> gc_gains(np.array([3.0, 2.0]), np.array([1.0, 1.0]), np.array([0.0, 1.0]), 0.5, np.array([1, 0]), out)
    >>> out.tolist()  # 2 - 0.5 (1 + 1), 3 - 0.5 (1 + 0)
    [1.0, 2.5]
    """
    for t in range(cand.shape[0]):
        j = cand[t]
        out[t] = r[j] - lam * (d[j] + c[j])


@njit(cache=True)
def gc_add_dense(row, c):
    """Add candidate k to the graph-cut state from its dense row: c_j ← c_j + 2 s_kj. O(n).

    Parameters
    ----------
    row : numpy.ndarray of shape (n,), float32 or float64
        s_k·, the similarities of the added candidate.
    c : numpy.ndarray of shape (n,), float64
        Updated in place.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([0.0, 1.0])
    >>> gc_add_dense(np.array([0.25, 0.5]), c)
    >>> c.tolist()
    [0.5, 2.0]
    """
    for j in range(row.shape[0]):
        c[j] += 2.0 * np.float64(row[j])


@njit(cache=True)
def gc_add_csr(vals, cols, c):
    """Add candidate k to the graph-cut state from its stored similarities: c_j ← c_j + 2 s_kj. O(deg k).

    Bitwise :func:`gc_add_dense` on the dense row (c_j + 0.0 = c_j).

    Parameters
    ----------
    vals : numpy.ndarray of shape (deg k,), float32 or float64
        The stored similarities of the added candidate.
    cols : numpy.ndarray of shape (deg k,), integer
        Their columns.
    c : numpy.ndarray of shape (n,), float64
        Updated in place.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([0.0, 1.0, 0.0])
    >>> gc_add_csr(np.array([0.5]), np.array([1]), c)
    >>> c.tolist()
    [0.0, 2.0, 0.0]
    """
    for t in range(cols.shape[0]):
        c[cols[t]] += 2.0 * np.float64(vals[t])


# --------------------------------------------------------------------------- saturated coverage
@njit(cache=True)
def sc_gain(row, cur, cap):
    """Saturated-coverage gain of one candidate: Σ_i min(s_i, m_i − c_i), i increasing. O(n).

    Parameters
    ----------
    row : numpy.ndarray of shape (n,), float32 or float64
        s_·j ≥ 0: the similarities of the candidate (its row of the symmetric similarity).
    cur : numpy.ndarray of shape (n,), float64
        c_i = min(m_i, Σ_{k ∈ S} s_ik), the current coverage of every point.
    cap : numpy.ndarray of shape (n,), float64
        m_i, the saturation level of every point.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> sc_gain(np.array([1.0, 0.5]), np.array([0.5, 0.0]), np.array([1.0, 1.0]))  # 0.5 + 0.5
    1.0
    """
    g = 0.0
    for i in range(row.shape[0]):
        g += min(np.float64(row[i]), cap[i] - cur[i])
    return g


@njit(cache=True)
def sc_csr_gain(vals, points, cur, cap):
    """Saturated-coverage gain of one candidate from its stored similarities, points increasing. O(deg j).

    Bitwise :func:`sc_gain` of the dense row: a similarity 0 contributes min(0, m_i − c_i) = +0.0,
    which leaves the sum unchanged.

    Parameters
    ----------
    vals : numpy.ndarray of shape (deg j,), float32 or float64
        The stored similarities of the candidate.
    points : numpy.ndarray of shape (deg j,), integer
        Their points, strictly increasing.
    cur, cap : numpy.ndarray of shape (n,), float64
        c and m as in :func:`sc_gain`.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> sc_csr_gain(np.array([1.0]), np.array([0]), np.array([0.5, 0.0]), np.array([1.0, 1.0]))
    0.5
    """
    g = 0.0
    for t in range(points.shape[0]):
        i = points[t]
        g += min(np.float64(vals[t]), cap[i] - cur[i])
    return g


def _make_sc_gains(parallel: bool):
    """The dense saturated-coverage batch loop, compiled serial or parallel."""
    def sc_gains(sim, cur, cap, cand, out):
        """Saturated-coverage gains of a batch: out_t = Σ_i min(s_{i, cand_t}, m_i − c_i).

        {how}. O(b n) for b candidates.

        Parameters
        ----------
        sim : numpy.ndarray of shape (n, n), float32 or float64
            The symmetric similarity (row j holds s_·j).
        cur, cap : numpy.ndarray of shape (n,), float64
            c and m as in :func:`sc_gain`.
        cand : numpy.ndarray of shape (b,), int64
            The candidates.
        out : numpy.ndarray of shape (b,), float64
            Receives the gains (each one as :func:`sc_gain` computes it).

        Examples
        --------
        >>> import numpy as np
        >>> sim, out = np.array([[1.0, 0.5], [0.5, 1.0]]), np.empty(2)
        >>> sc_gains_serial(sim, np.array([0.5, 0.0]), np.array([1.0, 1.0]), np.array([0, 1]), out)
        >>> out.tolist()
        [1.0, 1.5]
        >>> sc_gains_parallel(sim, np.zeros(2), np.array([1.0, 1.0]), np.array([1, 0]), out)
        >>> out.tolist()
        [1.5, 1.5]
        """
        for t in prange(cand.shape[0]):
            out[t] = sc_gain(sim[cand[t]], cur, cap)
    return _variant(sc_gains, parallel)


sc_gains_serial = _make_sc_gains(parallel=False)
"""Saturated-coverage gains of a dense batch into ``out``, serially (see :func:`sc_gains`)."""
sc_gains_parallel = _make_sc_gains(parallel=True)
"""Saturated-coverage gains of a dense batch into ``out``, in parallel (the same numbers)."""


def sc_gains(sim, cur, cap, candidates):
    """Saturated-coverage gains of a dense batch; the parallel variant from
    :data:`~matroidomp.kernels.submodular_gains.PARALLEL_MIN` candidates (the same numbers). O(b n).

    Parameters
    ----------
    sim : numpy.ndarray of shape (n, n), float32 or float64
        The symmetric similarity.
    cur, cap : numpy.ndarray of shape (n,), float64
        c and m as in :func:`sc_gain`.
    candidates : array-like of shape (b,), integer

    Returns
    -------
    numpy.ndarray of shape (b,), float64

    Examples
    --------
    >>> import numpy as np
    >>> sc_gains(np.array([[1.0, 0.5], [0.5, 1.0]]), np.zeros(2), np.array([0.75, 0.75]), [0, 1]).tolist()
    [1.25, 1.25]
    """
    return _batched(sc_gains_serial, sc_gains_parallel, candidates, sim, cur, cap)


def _make_sc_csr_gains(parallel: bool):
    """The sparse saturated-coverage batch loop, compiled serial or parallel."""
    def sc_csr_gains(data, indices, indptr, cur, cap, cand, out):
        """Sparse saturated-coverage gains of a batch: out_t = Σ_{i stored} min(s_{i, cand_t}, m_i − c_i).

        {how}. O(Σ_t deg cand_t).

        Parameters
        ----------
        data, indices, indptr : numpy.ndarray
            The symmetric similarity as CSR (row j: candidate j's stored similarities, columns
            strictly increasing).
        cur, cap : numpy.ndarray of shape (n,), float64
            c and m as in :func:`sc_gain`.
        cand : numpy.ndarray of shape (b,), int64
            The candidates.
        out : numpy.ndarray of shape (b,), float64
            Receives the gains (each one as :func:`sc_csr_gain` computes it).

        Examples
        --------
        >>> import numpy as np
        >>> data, indices, indptr = np.array([1.0, 0.5, 0.5, 1.0]), np.array([0, 1, 0, 1]), np.array([0, 2, 4])
        >>> out = np.empty(2)
        >>> sc_csr_gains_serial(data, indices, indptr, np.array([0.5, 0.0]), np.ones(2), np.array([0, 1]), out)
        >>> out.tolist()
        [1.0, 1.5]
        >>> sc_csr_gains_parallel(data, indices, indptr, np.zeros(2), np.ones(2), np.array([1]), out[:1])
        >>> out.tolist()  # out[0] <- the gain of candidate 1 at c = 0
        [1.5, 1.5]
        """
        for t in prange(cand.shape[0]):
            j = cand[t]
            out[t] = sc_csr_gain(data[indptr[j]:indptr[j + 1]], indices[indptr[j]:indptr[j + 1]], cur, cap)
    return _variant(sc_csr_gains, parallel)


sc_csr_gains_serial = _make_sc_csr_gains(parallel=False)
"""Sparse saturated-coverage gains of a batch into ``out``, serially (see :func:`sc_csr_gains`)."""
sc_csr_gains_parallel = _make_sc_csr_gains(parallel=True)
"""Sparse saturated-coverage gains of a batch into ``out``, in parallel (the same numbers)."""


def sc_csr_gains(data, indices, indptr, cur, cap, candidates):
    """Sparse saturated-coverage gains of a batch, bitwise :func:`sc_gains` of the dense matrix. O(Σ_j deg j).

    Parameters
    ----------
    data, indices, indptr : numpy.ndarray
        The symmetric similarity as CSR.
    cur, cap : numpy.ndarray of shape (n,), float64
        c and m as in :func:`sc_gain`.
    candidates : array-like of shape (b,), integer

    Returns
    -------
    numpy.ndarray of shape (b,), float64

    Examples
    --------
    >>> import numpy as np
    >>> data, indices, indptr = np.array([1.0, 0.5, 0.5, 1.0]), np.array([0, 1, 0, 1]), np.array([0, 2, 4])
    >>> sc_csr_gains(data, indices, indptr, np.zeros(2), np.array([0.75, 0.75]), [0, 1]).tolist()
    [1.25, 1.25]
    """
    return _batched(sc_csr_gains_serial, sc_csr_gains_parallel, candidates, data, indices, indptr, cur, cap)


@njit(cache=True)
def sc_add_dense(row, cur, cap):
    """Add candidate k to the saturated-coverage state: c_i ← min(m_i, c_i + s_ik). O(n).

    Parameters
    ----------
    row : numpy.ndarray of shape (n,), float32 or float64
        s_·k, the similarities of the added candidate.
    cur : numpy.ndarray of shape (n,), float64
        c, updated in place.
    cap : numpy.ndarray of shape (n,), float64
        m.

    Examples
    --------
    >>> import numpy as np
    >>> cur = np.array([0.5, 0.0])
    >>> sc_add_dense(np.array([1.0, 0.5]), cur, np.array([1.0, 1.0]))
    >>> cur.tolist()
    [1.0, 0.5]
    """
    for i in range(row.shape[0]):
        cur[i] = min(cap[i], cur[i] + np.float64(row[i]))


@njit(cache=True)
def sc_add_csr(vals, points, cur, cap):
    """Add candidate k to the saturated-coverage state from its stored similarities. O(deg k).

    Bitwise :func:`sc_add_dense` on the dense row (min(m_i, c_i + 0) = c_i as c_i ≤ m_i).

    Parameters
    ----------
    vals : numpy.ndarray of shape (deg k,), float32 or float64
    points : numpy.ndarray of shape (deg k,), integer
    cur : numpy.ndarray of shape (n,), float64
        c, updated in place.
    cap : numpy.ndarray of shape (n,), float64
        m.

    Examples
    --------
    >>> import numpy as np
    >>> cur = np.array([0.5, 0.0])
    >>> sc_add_csr(np.array([1.0]), np.array([0]), cur, np.array([1.0, 1.0]))
    >>> cur.tolist()
    [1.0, 0.0]
    """
    for t in range(points.shape[0]):
        i = points[t]
        cur[i] = min(cap[i], cur[i] + np.float64(vals[t]))
