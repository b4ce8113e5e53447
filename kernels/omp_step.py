"""Fused OMP step as numba kernels (CPU): one pass computes ρ, the feasibility mask and the arg-max.

Same contract as :mod:`matroidomp.kernels.reference` (see there for the math)::

    ρ = c − rowsᵀw   or   ρ_i = c_i − s·⟨g_i, U[b_i]⟩;   best = argmax_{feasible i} score_i

Each pass walks the pool in chunks: a chunk's correlations are accumulated in the dtype of w / U
(float32 for float16/float32 data, float64 for float64), subtracted from c in ρ's dtype, masked
and folded into the chunk's best without a data-dependent branch per element (ties → lowest
index); chunk winners are reduced in index order, so the result does not depend on the
chunking. Once the work (n·p or n·d multiply-adds) reaches :data:`PARALLEL_MIN_WORK` and there
are two chunks or more, the chunks run on all numba threads (``prange``, a static split); below
it one serial pass avoids the thread wake-up, which costs more than the work on small pools.

The dot products are compiled with reassociation allowed, so they vectorise. The d-space pass
reads G one row after the other: one sequential stream per thread is what the hardware
prefetchers serve best (two or four interleaved rows with their own accumulators measured 1.4×
slower single-threaded on the 2-core development machine; the pass is memory bound, within a
few per cent of one numpy ``G @ v``). The Gram pass adds four rows of Q[S, :] per vectorised
sweep into an accumulator of at most :data:`GRAM_CHUNK` entries, allocated once per call (per
thread in parallel): no scratch of O(n) besides ρ. Results differ from numpy's BLAS by float32
rounding only.

Entry points callable from other numba code (they pick serial or parallel execution themselves
and write ρ into a preallocated array; ``c`` and ``rho`` may be the same array)::

    gram_step_into(rows, w, c, codes, remaining, selected, absolute, tol, rho) -> best
    factor_step_into(G, U, blocks, c, scale, codes, remaining, selected, absolute, tol, rho) -> best
    shortlist_into(score, codes, remaining, selected, out) -> size   (sorted indices in out[:size])

The Python wrappers :func:`gram_step` and :func:`factor_step` validate and convert their inputs
and run the same compiled drivers with the module's tuning constants as they are at the call.
The shortlist of the randomized rule is one scan keeping a bounded heap per domain, O(n log k).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Multiply-adds (n·p or n·d) from which a step runs its chunks on all threads.
PARALLEL_MIN_WORK = 1 << 19
#: Pool elements per chunk: Gram path (columns: the accumulator row stays in L1/L2) and d-space
#: path (rows of G: 256 rows of d = 1,024 float32 are 1 MB).
GRAM_CHUNK = 2048
FACTOR_CHUNK = 256

_FAST = {"reassoc", "contract"}


@njit(cache=True, inline="always")
def _fold(k, r, codes, remaining, selected, absolute, tol, best, top):
    """Fold element k with ρ_k = r into a chunk's running (best, top).

    score = |r| or r, 0 within tol_k. Among feasible elements a strictly larger score wins, so
    ties keep the lowest index; the first feasible element is taken whatever its score, with a
    NaN score counted as −inf, so that a NaN never blocks a later element and the winner does
    not depend on the chunking (lowest index of the largest non-NaN feasible score, else the
    first feasible element). The mask is a select, not a branch: the only branches left are
    taken when the running best changes. Callers index arrays sliced to their chunk with k ≥ 0
    from range(m), so that numba emits no negative-index wrap-around checks."""
    s = abs(r) if absolute else r
    if abs(s) <= tol[k]:
        s = 0.0 * s
    ok = (remaining[np.uint64(codes[k])] > 0) & (not selected[k])  # codes ≥ 0: no wrap-around check
    masked = s if ok else -np.inf
    if masked > top:
        return k, masked
    if best < 0 and ok:
        return k, (masked if masked == masked else -np.inf)
    return best, top


@njit(cache=True, inline="always")
def _better(best, top, b, s):
    """Fold a later chunk's (b, s) into (best, top): a strictly larger score wins (ties keep the lower index)."""
    if b >= 0 and (best < 0 or s > top):
        return b, s
    return best, top


# ----------------------------------------------------------------------------- Gram path
@njit(cache=True, fastmath=_FAST)
def _gram_accumulate(rows, w, lo, hi, acc):
    """acc[:hi − lo] = rows[:, lo:hi]ᵀw (p ≥ 1) in acc's dtype, four rows per vectorised sweep:
    a quarter of the accumulator loads and stores of a row-by-row axpy."""
    m = hi - lo
    p = rows.shape[0]
    t = p % 4  # the first sweep takes the p mod 4 leftover rows and initialises acc
    if t == 0:
        r0, r1, r2, r3 = rows[0, lo:hi], rows[1, lo:hi], rows[2, lo:hi], rows[3, lo:hi]
        w0, w1, w2, w3 = w[0], w[1], w[2], w[3]
        for i in range(m):
            acc[i] = (r0[i] * w0 + r1[i] * w1) + (r2[i] * w2 + r3[i] * w3)
        t = 4
    elif t == 1:
        r0, w0 = rows[0, lo:hi], w[0]
        for i in range(m):
            acc[i] = r0[i] * w0
    elif t == 2:
        r0, r1, w0, w1 = rows[0, lo:hi], rows[1, lo:hi], w[0], w[1]
        for i in range(m):
            acc[i] = r0[i] * w0 + r1[i] * w1
    else:
        r0, r1, r2, w0, w1, w2 = rows[0, lo:hi], rows[1, lo:hi], rows[2, lo:hi], w[0], w[1], w[2]
        for i in range(m):
            acc[i] = (r0[i] * w0 + r1[i] * w1) + r2[i] * w2
    while t < p:
        r0, r1, r2, r3 = rows[t, lo:hi], rows[t + 1, lo:hi], rows[t + 2, lo:hi], rows[t + 3, lo:hi]
        w0, w1, w2, w3 = w[t], w[t + 1], w[t + 2], w[t + 3]
        for i in range(m):
            acc[i] += (r0[i] * w0 + r1[i] * w1) + (r2[i] * w2 + r3[i] * w3)
        t += 4


@njit(cache=True)
def _gram_fold(c, acc, codes, remaining, selected, absolute, tol, lo, hi, rho):
    """ρ[lo:hi] = c[lo:hi] − acc[:hi − lo] and the chunk's (best, score)."""
    m = hi - lo
    c, codes, selected, tol, rho = c[lo:hi], codes[lo:hi], selected[lo:hi], tol[lo:hi], rho[lo:hi]
    best = -1
    top = -np.inf
    for k in range(m):
        r = c[k] - acc[k]
        rho[k] = r
        best, top = _fold(k, r, codes, remaining, selected, absolute, tol, best, top)
    return (best + lo if best >= 0 else best), top


@njit(cache=True)
def _copy_fold(c, codes, remaining, selected, absolute, tol, lo, hi, rho):
    """ρ[lo:hi] = c[lo:hi] (a step with p = 0: only the mask changed) and the chunk's (best, score)."""
    m = hi - lo
    c, codes, selected, tol, rho = c[lo:hi], codes[lo:hi], selected[lo:hi], tol[lo:hi], rho[lo:hi]
    best = -1
    top = -np.inf
    for k in range(m):
        r = c[k]
        rho[k] = r
        best, top = _fold(k, r, codes, remaining, selected, absolute, tol, best, top)
    return (best + lo if best >= 0 else best), top


@njit(cache=True, inline="always")
def _gram_cols(rows, w, c, codes, remaining, selected, absolute, tol, lo, hi, rho, acc):
    """ρ[lo:hi] = c − rowsᵀw and the chunk's (best, score); best = −1 if none is feasible.

    ``acc`` (at least hi − lo entries, w's dtype) is scratch. With p = 0, ρ = c."""
    if rows.shape[0] == 0:
        return _copy_fold(c, codes, remaining, selected, absolute, tol, lo, hi, rho)
    _gram_accumulate(rows, w, lo, hi, acc)
    return _gram_fold(c, acc, codes, remaining, selected, absolute, tol, lo, hi, rho)


@njit(cache=True, parallel=True)
def _gram_parallel(rows, w, c, codes, remaining, selected, absolute, tol, rho, chunk):
    """:func:`_gram_cols` over all chunks on all threads, then the index-ordered reduction."""
    n = c.shape[0]
    n_chunks = (n + chunk - 1) // chunk
    bests = np.empty(n_chunks, dtype=np.int64)
    tops = np.empty(n_chunks, dtype=np.float64)
    for t in prange(n_chunks):
        acc = np.empty(chunk, dtype=w.dtype)  # hoisted by numba: one per thread and call
        lo = t * chunk
        bests[t], tops[t] = _gram_cols(rows, w, c, codes, remaining, selected, absolute, tol, lo,
                                       min(n, lo + chunk), rho, acc)
    return _reduce(bests, tops)


@njit(cache=True)
def _gram_run(rows, w, c, codes, remaining, selected, absolute, tol, rho, min_work, chunk):
    """The Gram step with explicit tuning: parallel from ``min_work`` multiply-adds and two chunks."""
    n = c.shape[0]
    chunk = max(chunk, 1)
    if rows.shape[0] > 0 and rows.shape[0] * n >= min_work and n > chunk:
        return _gram_parallel(rows, w, c, codes, remaining, selected, absolute, tol, rho, chunk)
    if rows.shape[0] == 0:
        best, _ = _copy_fold(c, codes, remaining, selected, absolute, tol, 0, n, rho)
        return best
    acc = np.empty(min(chunk, n), dtype=w.dtype)
    best = -1
    top = -np.inf
    for lo in range(0, n, chunk):
        b, s = _gram_cols(rows, w, c, codes, remaining, selected, absolute, tol, lo, min(n, lo + chunk), rho, acc)
        best, top = _better(best, top, b, s)
    return best


@njit(cache=True)
def gram_step_into(rows, w, c, codes, remaining, selected, absolute, tol, rho):
    """ρ = c − rowsᵀw written into ``rho``; returns the feasible arg-max: :func:`gram_step` for numba code.

    No checks and no allocation of O(n); callable from other ``@njit`` functions (a compiled OMP
    loop). Serial below :data:`PARALLEL_MIN_WORK` multiply-adds, chunks on all threads above
    (the module constants as they were when this function was compiled).

    Parameters
    ----------
    rows : numpy.ndarray of float32 or float64, shape (p, n), C-contiguous
        Q[S, :]; p may be 0 (then ρ = c).
    w : numpy.ndarray, shape (p,)
        The weights in the accumulation dtype: float32 for float32 rows, float64 for float64.
    c : numpy.ndarray of float64, shape (n,)
    codes : numpy.ndarray of int64, shape (n,)
        Domain codes in [0, D).
    remaining : numpy.ndarray of int64, shape (D,)
    selected : numpy.ndarray of bool, shape (n,)
    absolute : bool
    tol : numpy.ndarray of float64, shape (n,)
    rho : numpy.ndarray of float64, shape (n,)
        Output; may be ``c`` itself.

    Returns
    -------
    int
        The feasible element of largest score (ties: lowest index), −1 if none is feasible.

    Examples
    --------
    >>> import numpy as np
    >>> rows = np.array([[2.0, 1.0, 0.0]])  # Q[S, :] for S = {0}
    >>> c, rho = np.array([1.0, 1.0, 0.2]), np.empty(3)
    >>> codes, remaining = np.array([0, 0, 1]), np.array([1, 1])
    >>> gram_step_into(rows, np.array([0.5]), c, codes, remaining, np.array([True, False, False]),
    ...                False, np.zeros(3), rho), rho.tolist()
    (1, [0.0, 0.5, 0.2])
    """
    return _gram_run(rows, w, c, codes, remaining, selected, absolute, tol, rho, PARALLEL_MIN_WORK, GRAM_CHUNK)


# ----------------------------------------------------------------------------- d-space path
@njit(cache=True, fastmath=_FAST)
def _factor_rows(G, U, blocks, c, scale, codes, remaining, selected, absolute, tol, lo, hi, rho):
    """ρ_i = c_i − scale·⟨g_i, U[blocks_i]⟩ for i in [lo, hi) and the chunk's (best, score)."""
    zero = U.dtype.type(0) * G.dtype.type(0)  # the accumulation dtype: that of the products
    m = hi - lo
    G, blocks, c, codes = G[lo:hi], blocks[lo:hi], c[lo:hi], codes[lo:hi]
    selected, tol, rho = selected[lo:hi], tol[lo:hi], rho[lo:hi]
    best = -1
    top = -np.inf
    for i in range(m):
        g = G[i]
        u = U[blocks[i]]
        acc = zero
        for j in range(g.shape[0]):
            acc += g[j] * u[j]
        r = c[i] - scale * acc
        rho[i] = r
        best, top = _fold(i, r, codes, remaining, selected, absolute, tol, best, top)
    return (best + lo if best >= 0 else best), top


@njit(cache=True, parallel=True)
def _factor_parallel(G, U, blocks, c, scale, codes, remaining, selected, absolute, tol, rho, chunk):
    """:func:`_factor_rows` over all chunks on all threads, then the index-ordered reduction."""
    n = c.shape[0]
    n_chunks = (n + chunk - 1) // chunk
    bests = np.empty(n_chunks, dtype=np.int64)
    tops = np.empty(n_chunks, dtype=np.float64)
    for t in prange(n_chunks):
        lo = t * chunk
        bests[t], tops[t] = _factor_rows(G, U, blocks, c, scale, codes, remaining, selected, absolute, tol,
                                         lo, min(n, lo + chunk), rho)
    return _reduce(bests, tops)


@njit(cache=True)
def _factor_run(G, U, blocks, c, scale, codes, remaining, selected, absolute, tol, rho, min_work, chunk):
    """The d-space step with explicit tuning: parallel from ``min_work`` multiply-adds and two chunks."""
    n = c.shape[0]
    chunk = max(chunk, 1)
    if n * G.shape[1] >= min_work and n > chunk:
        return _factor_parallel(G, U, blocks, c, scale, codes, remaining, selected, absolute, tol, rho, chunk)
    best, _ = _factor_rows(G, U, blocks, c, scale, codes, remaining, selected, absolute, tol, 0, n, rho)
    return best


@njit(cache=True)
def factor_step_into(G, U, blocks, c, scale, codes, remaining, selected, absolute, tol, rho):
    """ρ_i = c_i − scale·⟨g_i, U[blocks_i]⟩ written into ``rho``; returns the feasible arg-max:
    :func:`factor_step` for numba code.

    No checks and no allocation of O(n); callable from other ``@njit`` functions. One pass over
    G, serial below :data:`PARALLEL_MIN_WORK` multiply-adds, chunks of :data:`FACTOR_CHUNK` rows
    on all threads above.

    Parameters
    ----------
    G : numpy.ndarray of float32 or float64, shape (n, d), C-contiguous
    U : numpy.ndarray, shape (B, d)
        Residual directions in the accumulation dtype (float32 for float32 G, float64 for float64).
    blocks : numpy.ndarray of int64, shape (n,)
        The direction of every element, in [0, B).
    c : numpy.ndarray of float64, shape (n,)
    scale : float
    codes : numpy.ndarray of int64, shape (n,)
    remaining : numpy.ndarray of int64, shape (D,)
    selected : numpy.ndarray of bool, shape (n,)
    absolute : bool
    tol : numpy.ndarray of float64, shape (n,)
    rho : numpy.ndarray of float64, shape (n,)
        Output; may be ``c`` itself.

    Returns
    -------
    int
        The feasible element of largest score (ties: lowest index), −1 if none is feasible.

    Examples
    --------
    >>> import numpy as np
    >>> G = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> rho = np.empty(3)
    >>> factor_step_into(G, np.array([[0.5, 0.25]]), np.zeros(3, dtype=np.int64), np.array([1.0, 1.0, 0.2]),
    ...                  2.0, np.array([0, 0, 1]), np.array([1, 1]), np.zeros(3, dtype=bool), False,
    ...                  np.zeros(3), rho), rho.tolist()
    (1, [0.0, 0.5, -1.3])
    """
    return _factor_run(G, U, blocks, c, scale, codes, remaining, selected, absolute, tol, rho,
                       PARALLEL_MIN_WORK, FACTOR_CHUNK)


@njit(cache=True)
def _reduce(bests, tops):
    """Winner over chunks in index order: strictly larger score wins, so ties keep the lowest index."""
    best = -1
    top = -np.inf
    for t in range(bests.shape[0]):
        best, top = _better(best, top, bests[t], tops[t])
    return best


# ----------------------------------------------------------------------------- shortlist
@njit(cache=True, inline="always")
def _worse(score, a, b):
    """Element a ranks below b: lower score, or an equal score and a higher index."""
    return score[a] < score[b] or (score[a] == score[b] and a > b)


@njit(cache=True)
def _sift_down(score, heap, lo, size, t):
    """Restore the min-heap (worst on top) of one domain's slice below position t."""
    while True:
        worst = t
        for child in (2 * t + 1, 2 * t + 2):
            if child < size and _worse(score, heap[lo + child], heap[lo + worst]):
                worst = child
        if worst == t:
            return
        heap[lo + t], heap[lo + worst] = heap[lo + worst], heap[lo + t]
        t = worst


@njit(cache=True)
def shortlist_into(score, codes, remaining, selected, out):
    """The shortlist of :func:`shortlist` written sorted into ``out[:size]``; returns ``size``.

    For numba code: one scan with a bounded heap per domain (its worst kept element on top),
    O(n log k); ties go to the lowest index.

    Parameters
    ----------
    score : numpy.ndarray of float, shape (n,)
    codes : numpy.ndarray of int64, shape (n,)
    remaining : numpy.ndarray of int64, shape (D,)
    selected : numpy.ndarray of bool, shape (n,)
    out : numpy.ndarray of int64
        Room for min(n, Σ max(remaining, 0)) indices.

    Returns
    -------
    int
        The number of shortlisted elements.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.empty(5, dtype=np.int64)
    >>> size = shortlist_into(np.array([0.3, 0.9, 0.1, 0.5, 0.7]), np.array([0, 0, 0, 1, 1]), np.array([2, 1]),
    ...                       np.zeros(5, dtype=bool), out)
    >>> out[:size].tolist()
    [0, 1, 4]
    """
    n_domains = remaining.shape[0]
    start = np.zeros(n_domains + 1, dtype=np.int64)
    for d in range(n_domains):
        start[d + 1] = start[d] + max(remaining[d], 0)
    heap = np.empty(start[n_domains], dtype=np.int64)
    size = np.zeros(n_domains, dtype=np.int64)
    for i in range(score.shape[0]):
        d = codes[i]
        if selected[i] or remaining[d] <= 0:
            continue
        lo = start[d]
        if size[d] < remaining[d]:  # not full: sift the new element up
            t = size[d]
            heap[lo + t] = i
            size[d] += 1
            while t > 0:
                parent = (t - 1) // 2
                if not _worse(score, heap[lo + t], heap[lo + parent]):
                    break
                heap[lo + t], heap[lo + parent] = heap[lo + parent], heap[lo + t]
                t = parent
        elif _worse(score, heap[lo], i):  # beats the worst kept element
            heap[lo] = i
            _sift_down(score, heap, lo, size[d], 0)
    q = 0
    for d in range(n_domains):
        for t in range(size[d]):
            out[q] = heap[start[d] + t]
            q += 1
    out[:q].sort()
    return q


@njit(cache=True)
def _shortlist(score, codes, remaining, selected):
    """:func:`shortlist_into` into a fresh array of the shortlist's size."""
    room = 0
    for d in range(remaining.shape[0]):
        room += max(remaining[d], 0)
    out = np.empty(min(room, score.shape[0]), dtype=np.int64)
    return out[: shortlist_into(score, codes, remaining, selected, out)].copy()


@njit(cache=True, fastmath=_FAST)
def _matvec(A, x, out):
    """out = A x, accumulated in float64."""
    for i in range(A.shape[0]):
        acc = 0.0
        for j in range(A.shape[1]):
            acc += np.float64(A[i, j]) * np.float64(x[j])  # float32 products are exact in float64
        out[i] = acc


@njit(cache=True, fastmath=_FAST)
def _rmatvec(A, w, out):
    """out = Aᵀw in out's dtype."""
    out[:] = 0
    for t in range(A.shape[0]):
        wt = w[t]
        for j in range(A.shape[1]):
            out[j] += A[t, j] * wt


# ----------------------------------------------------------------------------- wrappers
def _accumulation(*arrays: np.ndarray) -> np.dtype:
    """float64 if any input is float64, else float32 (:func:`~matroidomp.kernels.reference.accumulation_dtype`)."""
    return np.dtype(np.float64) if any(a.dtype == np.float64 for a in arrays) else np.dtype(np.float32)


def _as_float(x: np.ndarray, name: str, ndim: int) -> np.ndarray:
    """``x`` as a contiguous float32/float64 array of ``ndim`` dimensions (float16 widened)."""
    x = np.asarray(x)
    if x.ndim != ndim or x.dtype.kind != "f":
        raise ValueError(f"{name}: expected a {ndim}-D float array, got {x.dtype} of shape {x.shape}")
    return np.ascontiguousarray(x, dtype=np.float32 if x.dtype.itemsize < 4 else x.dtype)


def tolerances(tol, n: int) -> np.ndarray:
    """The per-element tolerances as a contiguous float64 (n,) array (a scalar is broadcast).

    Parameters
    ----------
    tol : float or array-like of shape (n,)
    n : int

    Returns
    -------
    numpy.ndarray of float64, shape (n,)

    Raises
    ------
    ValueError
        When ``tol`` is an array of another shape.

    Examples
    --------
    >>> tolerances(1e-9, 3).tolist()
    [1e-09, 1e-09, 1e-09]
    """
    tol = np.asarray(tol, dtype=np.float64)
    if tol.ndim == 0:
        return np.full(n, float(tol))
    if tol.shape != (n,):
        raise ValueError(f"tol: expected a scalar or ({n},) tolerances, got shape {tol.shape}")
    return np.ascontiguousarray(tol)


def _matroid_inputs(n: int, codes, remaining, selected):
    """(codes, remaining, selected) as contiguous int64/int64/bool arrays, shapes and codes checked."""
    codes = np.ascontiguousarray(codes, dtype=np.int64)
    remaining = np.ascontiguousarray(remaining, dtype=np.int64)
    selected = np.ascontiguousarray(selected, dtype=np.bool_)
    if codes.shape != (n,) or selected.shape != (n,) or remaining.ndim != 1:
        raise ValueError(f"codes and selected must have shape ({n},) and remaining be 1-D; got "
                         f"{codes.shape}, {selected.shape}, {remaining.shape}")
    if n and (codes.min() < 0 or codes.max() >= remaining.shape[0]):
        raise ValueError(f"codes: domain codes must lie in [0, {remaining.shape[0]})")
    return codes, remaining, selected


def gram_step(rows, w, c, codes, remaining, selected, absolute=False, tol=0.0):
    """(ρ, best) with ρ = c − rowsᵀw and best the feasible arg-max: one fused O(pn) pass (numba).

    One step of OMP on the Gram path: ρ = c − Q[:, S] w_S from the |S| = p rows Q[S, :], then
    the partition-matroid mask and the lowest-index arg-max of the score (module docstring).

    Parameters
    ----------
    rows : array-like of float, shape (p, n)
        Q[S, :], float16/32/64 (float32 accumulation below float64).
    w : array-like of float, shape (p,)
        The weights w_S.
    c : array-like of float, shape (n,)
    codes : array-like of int, shape (n,)
        Domain code of every element, in [0, len(remaining)).
    remaining : array-like of int, shape (D,)
        Budget left in every domain (k_d − |S ∩ domain d|).
    selected : array-like of bool, shape (n,)
        Membership of S.
    absolute : bool, default False
        Rank by |ρ| (OMP without sign constraints) instead of ρ.
    tol : float or array-like of shape (n,), default 0.0
        Scores with |score_i| <= tol_i count as 0 (rounding noise).

    Returns
    -------
    rho : numpy.ndarray, shape (n,)
        The residual correlations.
    best : int
        The feasible element of largest score (ties: lowest index); −1 if none is feasible.

    Raises
    ------
    ValueError
        When an array has the wrong number of dimensions, a non-float dtype or a shape that does
        not match the others, or a code (or block) is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> Q = np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 1.0]])
    >>> c = np.array([1.0, 1.0, 0.2])
    >>> codes, selected = np.array([0, 0, 1]), np.array([True, False, False])  # S = {0}
    >>> rho, best = gram_step(Q[[0]], np.array([0.5]), c, codes, np.array([1, 1]), selected)
    >>> rho.tolist(), best  # ρ = c − Q[:, S] w
    ([0.0, 0.5, 0.2], 1)
    >>> gram_step(Q[[0]], np.array([0.5]), c, codes, np.array([0, 1]), selected)[1]  # domain 0 full
    2
    """
    rows = _as_float(rows, "rows", 2)
    c = _as_float(c, "c", 1)
    p, n = rows.shape
    if np.shape(w) != (p,) or c.shape != (n,):
        raise ValueError(f"w must have shape ({p},) and c ({n},); got {np.shape(w)}, {c.shape}")
    acc = _accumulation(rows, _as_float(w, "w", 1))
    w = np.ascontiguousarray(w, dtype=acc)
    codes, remaining, selected = _matroid_inputs(n, codes, remaining, selected)
    rho = np.empty(n, dtype=np.result_type(c, acc))
    best = _gram_run(rows, w, c, codes, remaining, selected, bool(absolute), tolerances(tol, n), rho,
                     PARALLEL_MIN_WORK, GRAM_CHUNK)  # gram_step_into, with the constants as they are now
    return rho, int(best)


def factor_step(G, U, blocks, c, scale, codes, remaining, selected, absolute=False, tol=0.0):
    """(ρ, best) with ρ_i = c_i − scale·⟨g_i, U[blocks_i]⟩: one fused O(nd) pass over G (numba).

    One step of OMP in d-space (never n × n): ρ_i = c_i − scale·⟨g_i, U[blocks_i]⟩, one
    residual direction per block (one block, or one per domain for the block-diagonal IWD
    utility), then the mask and the arg-max as :func:`gram_step`.

    Parameters
    ----------
    G : array-like of float, shape (n, d)
        The rows g_i.
    U : array-like of float, shape (B, d)
        Residual directions (B >= 1).
    blocks : array-like of int, shape (n,)
        The direction of every element, in [0, B).
    c : array-like of float, shape (n,)
    scale : float
        s (η² for the Taylor utility, 1 for gradient matching).
    codes : array-like of int, shape (n,)
        Domain code of every element, in [0, len(remaining)).
    remaining : array-like of int, shape (D,)
        Budget left in every domain (k_d − |S ∩ domain d|).
    selected : array-like of bool, shape (n,)
        Membership of S.
    absolute : bool, default False
        Rank by |ρ| (OMP without sign constraints) instead of ρ.
    tol : float or array-like of shape (n,), default 0.0
        Scores with |score_i| <= tol_i count as 0 (rounding noise).

    Returns
    -------
    rho : numpy.ndarray, shape (n,)
    best : int
        −1 if nothing is feasible.

    Raises
    ------
    ValueError
        When an array has the wrong number of dimensions, a non-float dtype or a shape that does
        not match the others, or a code (or block) is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> G = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> U = np.array([[0.5, 0.25]])  # one residual direction, for every element (blocks = 0)
    >>> rho, best = factor_step(G, U, np.zeros(3, dtype=np.int64), np.array([1.0, 1.0, 0.2]), 2.0,
    ...                         np.array([0, 0, 1]), np.array([1, 1]), np.zeros(3, dtype=bool))
    >>> rho.tolist(), best  # ρ_i = c_i − 2⟨g_i, u⟩
    ([0.0, 0.5, -1.3], 1)
    """
    G = _as_float(G, "G", 2)
    U = _as_float(U, "U", 2)
    c = _as_float(c, "c", 1)
    n, d = G.shape
    if U.shape[1] != d or U.shape[0] < 1 or c.shape != (n,):
        raise ValueError(f"U must have shape (B ≥ 1, {d}) and c ({n},); got {U.shape}, {c.shape}")
    acc = _accumulation(G, U)
    U = np.ascontiguousarray(U, dtype=acc)
    blocks = np.ascontiguousarray(blocks, dtype=np.int64)
    if blocks.shape != (n,) or (n and (blocks.min() < 0 or blocks.max() >= U.shape[0])):
        raise ValueError(f"blocks: expected ({n},) codes in [0, {U.shape[0]}), got shape {blocks.shape}")
    codes, remaining, selected = _matroid_inputs(n, codes, remaining, selected)
    out = np.result_type(c, acc)
    rho = np.empty(n, dtype=out)
    best = _factor_run(G, U, blocks, c, out.type(scale), codes, remaining, selected, bool(absolute),
                       tolerances(tol, n), rho, PARALLEL_MIN_WORK, FACTOR_CHUNK)  # factor_step_into, as for gram_step
    return rho, int(best)


def matvec(A, x):
    """A x in float64 for the small (|S| × d) products of a step, serial: BLAS threads would
    contend with the threads of the parallel kernels (a wake-up costs milliseconds when loaded).

    Parameters
    ----------
    A : array-like of float, shape (m, d)
    x : array-like of float, shape (d,)
        Cast to A's dtype (float32 products are exact in float64).

    Returns
    -------
    numpy.ndarray of float64, shape (m,)

    Raises
    ------
    ValueError
        When ``A`` is not a 2-D float array or ``x`` not a 1-D one.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=np.float32)
    >>> matvec(A, np.array([1.0, 2.0], dtype=np.float32)).tolist()
    [1.0, 2.0, 3.0]
    """
    A = _as_float(A, "A", 2)
    out = np.empty(A.shape[0])
    _matvec(A, np.ascontiguousarray(_as_float(x, "x", 1), dtype=A.dtype), out)
    return out


def rmatvec(A, w):
    """Aᵀw (serial, see :func:`matvec`): the residual direction Σ_t w_t a_t.

    Parameters
    ----------
    A : array-like of float, shape (m, d)
    w : array-like of float, shape (m,)

    Returns
    -------
    numpy.ndarray, shape (d,)
        float32, or float64 when either input is float64.

    Raises
    ------
    ValueError
        When ``A`` is not a 2-D float array or ``w`` not a 1-D one.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> rmatvec(A, np.array([1.0, 1.0, 1.0])).tolist()  # Σ_t w_t a_t
    [2.0, 2.0]
    """
    A = _as_float(A, "A", 2)
    acc = _accumulation(A, _as_float(w, "w", 1))
    out = np.empty(A.shape[1], dtype=acc)
    _rmatvec(A, np.ascontiguousarray(w, dtype=acc), out)
    return out


def shortlist(score, codes, remaining, selected):
    """The residual random greedy shortlist: per domain d its top remaining[d] feasible elements by score.

    One scan with a bounded heap per domain, O(n log k); ties go to the lowest index.

    Parameters
    ----------
    score : array-like of float, shape (n,)
    codes : array-like of int, shape (n,)
    remaining : array-like of int, shape (D,)
    selected : array-like of bool, shape (n,)

    Returns
    -------
    numpy.ndarray of int64
        Sorted indices (at most sum(remaining)).

    Raises
    ------
    ValueError
        When ``score`` is not a 1-D float array, or the shapes or codes do not match.

    Examples
    --------
    >>> import numpy as np
    >>> score = np.array([0.3, 0.9, 0.1, 0.5, 0.7])
    >>> shortlist(score, np.array([0, 0, 0, 1, 1]), np.array([2, 1]), np.zeros(5, dtype=bool)).tolist()
    [0, 1, 4]
    """
    score = _as_float(score, "score", 1)
    codes, remaining, selected = _matroid_inputs(score.shape[0], codes, remaining, selected)
    return _shortlist(score, codes, remaining, selected)
