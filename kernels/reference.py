"""Reference of the fused OMP step under a partition matroid, for arrays of any namespace.

The contract every step kernel meets (numba :mod:`matroidomp.kernels.omp_step`, Triton
:mod:`matroidomp.kernels.triton_omp_step`), written once against array-api-compat so that it is
also the step of the device path: numpy, torch (CPU or CUDA) and cupy arrays run it where they
live. One OMP step, with S the selected set and w its weights::

    ρ = c − Q[:, S] w                       Gram path:   rows = Q[S, :]  (p × n)
    ρ_i = c_i − s·⟨g_i, U[b_i]⟩              d-space:     U (B × d), one residual direction per block
    score = |ρ| if absolute else ρ;  scores with |score_i| ≤ tol_i count as 0 (rounding noise;
                                     tol is a scalar or one tolerance per element)
    feasible_i = not selected_i and remaining[codes_i] > 0
    best = argmax of score over feasible i  (ties → lowest index; −1 if nothing is feasible)

:func:`settle_ties` is the rule OMP applies on top of every kernel's arg-max: the lowest-index
feasible element whose score is within the best's rounding allowance tol_best of the maximum
(duplicated gradients differ in the last bits of ρ from one backend's summation order to another's).
Its pieces — :func:`masked_scores`, :func:`first_at_least`, and for the shortlist
:func:`shortlist_cuts` and :func:`tolerant_members` — are public so that a pool split into row
chunks (:mod:`matroidomp.distributed`) applies the same rules chunk by chunk and reduces them.

Accumulation is float32 for float16/bfloat16/float32 inputs and float64 for float64 inputs; ρ
has the dtype of c combined with the accumulation dtype (the scale multiplies in that dtype).
:func:`shortlist` is the candidate set of the residual random greedy rule: in every domain d its
top remaining[d] feasible elements by score. :func:`matvec` (float64, a column of the refit's
system) and :func:`rmatvec` (the residual direction G_Sᵀw) are the small (|S| × d) products of a
d-space step. Every function returns arrays of its inputs' namespace on their device; ``best``
is a Python int (one scalar leaves the device).
"""

from __future__ import annotations

import array_api_compat


def _xp(*arrays):
    return array_api_compat.array_namespace(*arrays)


def _is_float64(x) -> bool:
    return str(x.dtype).split(".")[-1] == "float64"


def _as(xp, x, dtype):
    """``x`` in ``dtype`` without a copy when it already is (array API ``astype`` copies by default)."""
    return x if x.dtype == dtype else xp.astype(x, dtype)


#: Row blocks of about this many entries bound the scratch of a half-precision product.
_BLOCK_ENTRIES = 1 << 22


def _matvec_blocks(xp, G, V, acc):
    """G V in the accumulation dtype: in one product when G is already of it, else by row blocks
    converted one at a time (a float16/bfloat16 G is never copied whole)."""
    if G.dtype == acc:
        return xp.matmul(G, V)
    step = max(1, _BLOCK_ENTRIES // max(int(G.shape[1]), 1))
    parts = [xp.matmul(xp.astype(G[lo:lo + step, ...], acc), V) for lo in range(0, int(G.shape[0]), step)]
    return xp.concat(parts, axis=0)


def accumulation_dtype(*arrays):
    """The dtype products accumulate in: float64 if any input is float64, else float32.

    Parameters
    ----------
    *arrays : arrays of one namespace

    Returns
    -------
    dtype
        ``xp.float64`` or ``xp.float32`` of the inputs' namespace (float16 and bfloat16
        accumulate in float32).

    Examples
    --------
    >>> import numpy as np
    >>> accumulation_dtype(np.zeros(2, np.float16), np.zeros(2, np.float32))
    <class 'numpy.float32'>
    """
    xp = _xp(*arrays)
    return xp.float64 if any(_is_float64(a) for a in arrays) else xp.float32


def feasible_scores(rho, absolute: bool = False, tol=0.0):
    """score = |ρ| if absolute else ρ, with |score_i| ≤ tol_i set to 0 (rounding noise ties).

    Parameters
    ----------
    rho : (n,) array
    absolute : bool, default False
    tol : float or (n,) array, default 0

    Returns
    -------
    (n,) array of ρ's namespace

    Examples
    --------
    >>> import numpy as np
    >>> feasible_scores(np.array([0.5, -2.0, 1e-9]), absolute=True, tol=1e-6).tolist()
    [0.5, 2.0, 0.0]
    """
    xp = _xp(rho)
    score = xp.abs(rho) if absolute else rho
    return xp.where(xp.abs(score) <= tol, xp.zeros_like(score), score)


def feasible(codes, remaining, selected):
    """feasible_i = not selected_i and remaining[codes_i] > 0.

    Parameters
    ----------
    codes : (n,) int array
        Domain of every element.
    remaining : (D,) int array
        Budget left per domain.
    selected : (n,) bool array

    Returns
    -------
    (n,) bool array

    Examples
    --------
    >>> import numpy as np
    >>> feasible(np.array([0, 0, 1]), np.array([1, 0]), np.array([True, False, False])).tolist()
    [False, True, False]
    """
    xp = _xp(codes, remaining, selected)
    return ~selected & (xp.take(remaining, codes, axis=0) > 0)


def masked_argmax(rho, codes, remaining, selected, absolute=False, tol=0.0) -> int:
    """argmax of the score of ρ over the feasible elements (ties → lowest index).

    Parameters
    ----------
    rho : (n,) array
    codes, remaining, selected
        As in :func:`feasible`.
    absolute : bool, default False
    tol : float or (n,) array, default 0

    Returns
    -------
    int
        The index, or −1 when nothing is feasible.

    Examples
    --------
    >>> import numpy as np
    >>> masked_argmax(np.array([3.0, 1.0, 3.0]), np.array([0, 1, 1]), np.array([0, 2]), np.zeros(3, bool))
    2
    """
    xp = _xp(rho)
    masked = masked_scores(rho, codes, remaining, selected, absolute, tol)
    best = int(xp.argmax(masked))
    return best if bool(masked[best] > -float("inf")) else -1


def masked_scores(rho, codes, remaining, selected, absolute=False, tol=0.0):
    """The scores of the feasible elements (:func:`feasible_scores`), −inf elsewhere: what the
    arg-max and the tie rule compare.

    Parameters
    ----------
    rho : (n,) array
    codes, remaining, selected, absolute, tol
        As in :func:`masked_argmax`.

    Returns
    -------
    (n,) array of ρ's namespace

    Examples
    --------
    >>> import numpy as np
    >>> masked_scores(np.array([3.0, 1.0]), np.array([0, 1]), np.array([0, 1]), np.zeros(2, bool)).tolist()
    [-inf, 1.0]
    """
    xp = _xp(rho)
    ok = feasible(codes, remaining, selected)
    return xp.where(ok, feasible_scores(rho, absolute, tol), xp.full_like(rho, -float("inf")))


def first_at_least(masked, floor) -> int:
    """The lowest index i with masked_i ≥ ``floor`` (−1 when there is none).

    Parameters
    ----------
    masked : (n,) array
        Masked scores (:func:`masked_scores`).
    floor : float or 0-d array

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> first_at_least(np.array([1.0, 2.5, 3.0]), 2.0), first_at_least(np.array([1.0]), 2.0)
    (1, -1)
    """
    xp = _xp(masked)
    if not int(masked.shape[0]):
        return -1
    near = masked >= floor
    i = int(xp.argmax(xp.astype(near, xp.int8)))
    return i if bool(near[i]) else -1


def settle_ties(rho, best: int, codes, remaining, selected, absolute=False, tol=0.0) -> int:
    """The lowest-index feasible i with score_i ≥ score_best − tol_best (−1 stays −1).

    Parameters
    ----------
    rho : (n,) array
    best : int
        A kernel's arg-max.
    codes, remaining, selected, absolute
        As in :func:`masked_argmax`.
    tol : (n,) array
        The per-element tolerances (the allowance is the best's).

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> rho = np.array([1.0, 2.0 - 1e-12, 2.0])
    >>> settle_ties(rho, 2, np.zeros(3, np.int64), np.array([3]), np.zeros(3, bool), tol=np.full(3, 1e-9))
    1
    """
    if best < 0:
        return best
    masked = masked_scores(rho, codes, remaining, selected, absolute, tol)
    return first_at_least(masked, masked[best] - tol[best])


def gram_step(rows, w, c, codes, remaining, selected, absolute=False, tol=0.0):
    """Gram-path step: ρ = c − rowsᵀw and its feasible arg-max.

    Parameters
    ----------
    rows : (p, n) array
        Q[S, :].
    w : (p,) array
        The weights w_S.
    c : (n,) array
    codes, remaining, selected, absolute, tol
        As in :func:`masked_argmax`.

    Returns
    -------
    rho : (n,) array
    best : int

    Examples
    --------
    >>> import numpy as np
    >>> rho, best = gram_step(np.eye(3)[:1], np.array([2.0]), np.array([3.0, 1.0, 0.5]),
    ...                       np.zeros(3, np.int64), np.array([2]), np.array([True, False, False]))
    >>> rho.tolist(), best
    ([1.0, 1.0, 0.5], 1)
    """
    xp = _xp(rows, w, c)
    acc = accumulation_dtype(rows, w)
    corr = xp.matmul(_as(xp, w, acc), _as(xp, rows, acc)) if rows.shape[0] else xp.zeros(c.shape, dtype=acc)
    out = xp.result_type(c.dtype, acc)
    rho = _as(xp, c, out) - _as(xp, corr, out)
    return rho, masked_argmax(rho, codes, remaining, selected, absolute, tol)


def factor_step(G, U, blocks, c, scale, codes, remaining, selected, absolute=False, tol=0.0):
    """d-space step: ρ_i = c_i − scale·⟨g_i, U[blocks_i]⟩ and its feasible arg-max.

    Parameters
    ----------
    G : (n, d) array
    U : (B, d) array
        One residual direction per block.
    blocks : (n,) int array
        Block of every row (all 0 when B = 1).
    c : (n,) array
    scale : float
    codes, remaining, selected, absolute, tol
        As in :func:`masked_argmax`.

    Returns
    -------
    rho : (n,) array
    best : int

    Examples
    --------
    >>> import numpy as np
    >>> rho, best = factor_step(np.eye(2), np.array([[1.0, 0.0]]), np.zeros(2, np.int64), np.ones(2), 1.0,
    ...                         np.zeros(2, np.int64), np.array([1]), np.zeros(2, bool))
    >>> rho.tolist(), best
    ([0.0, 1.0], 1)
    """
    xp = _xp(G, U, c)
    acc = accumulation_dtype(G, U)
    if U.shape[0] == 1:
        corr = _matvec_blocks(xp, G, _as(xp, U[0, :], acc), acc)
    else:
        proj = _matvec_blocks(xp, G, _as(xp, U, acc).T, acc)  # (n, B)
        rows = xp.arange(G.shape[0], device=array_api_compat.device(G))
        corr = proj[rows, blocks]
    out = xp.result_type(c.dtype, acc)
    rho = _as(xp, c, out) - scale * _as(xp, corr, out)
    return rho, masked_argmax(rho, codes, remaining, selected, absolute, tol)


def matvec(A, x):
    """A x in float64 (a column of the small |S| × |S| system: products of float32 are exact).

    Parameters
    ----------
    A : (p, d) array
    x : (d,) array

    Returns
    -------
    (p,) float64 array

    Examples
    --------
    >>> import numpy as np
    >>> matvec(np.ones((2, 3), np.float32), np.arange(3.0)).tolist()
    [3.0, 3.0]
    """
    xp = _xp(A, x)
    return xp.matmul(xp.astype(A, xp.float64), xp.astype(x, xp.float64))


def rmatvec(A, w):
    """Aᵀw = Σ_t w_t a_t (the residual direction G_Sᵀw), in the accumulation dtype.

    Parameters
    ----------
    A : (p, d) array
    w : (p,) array

    Returns
    -------
    (d,) array

    Examples
    --------
    >>> import numpy as np
    >>> rmatvec(np.eye(2), np.array([2.0, 3.0])).tolist()
    [2.0, 3.0]
    """
    xp = _xp(A, w)
    acc = accumulation_dtype(A, w)
    return xp.matmul(_as(xp, w, acc), _as(xp, A, acc))


def shortlist(score, codes, remaining, selected):
    """The residual random greedy candidates: per domain d its top remaining[d] feasible elements.

    Parameters
    ----------
    score : (n,) array
    codes, remaining, selected
        As in :func:`feasible`.

    Returns
    -------
    (m,) int array
        Sorted indices (ties in score → lowest index).

    Examples
    --------
    >>> import numpy as np
    >>> shortlist(np.array([0.1, 0.9, 0.5, 0.7]), np.array([0, 0, 1, 1]), np.array([1, 2]),
    ...           np.zeros(4, bool)).tolist()
    [1, 2, 3]
    """
    xp = _xp(score, codes, remaining)
    cand = xp.nonzero(feasible(codes, remaining, selected))[0]
    order = xp.take(cand, xp.argsort(-xp.take(score, cand, axis=0), stable=True), axis=0)
    dom = xp.take(codes, order, axis=0)
    by_domain = xp.argsort(dom, stable=True)
    sorted_dom = xp.take(dom, by_domain, axis=0)
    starts = xp.searchsorted(sorted_dom, sorted_dom, side="left")
    rank = xp.empty_like(order)
    positions = xp.arange(order.shape[0], dtype=order.dtype, device=array_api_compat.device(order))
    rank = _scatter(xp, rank, by_domain, positions - xp.astype(starts, order.dtype))
    keep = rank < xp.astype(xp.take(remaining, dom, axis=0), rank.dtype)
    return xp.sort(order[keep])


def tolerant_shortlist(score, codes, remaining, selected, tol):
    """:func:`shortlist` with near-ties at each domain's cut settled by index.

    In domain d let v_d be the score of the last element the exact shortlist keeps and τ_d its
    tolerance: the elements scoring above v_d + τ_d stay, and the remaining places go to the
    lowest-index elements scoring within [v_d − τ_d, v_d + τ_d] — so duplicated gradients, whose
    scores differ only in the last bits from one backend's summation order to another's, enter
    the randomized rule's candidate set alike on every backend.

    Parameters
    ----------
    score : (n,) array
        Scores (already zeroed below their tolerance, :func:`feasible_scores`).
    codes, remaining, selected
        As in :func:`feasible`.
    tol : (n,) array

    Returns
    -------
    (m,) int array
        Sorted indices.

    Examples
    --------
    >>> import numpy as np
    >>> score = np.array([0.5, 1.0 + 1e-12, 1.0, 1.0 - 1e-12])
    >>> tolerant_shortlist(score, np.zeros(4, np.int64), np.array([2]), np.zeros(4, bool), np.full(4, 1e-9)).tolist()
    [1, 2]
    >>> shortlist(score, np.zeros(4, np.int64), np.array([2]), np.zeros(4, bool)).tolist()
    [1, 2]
    """
    base = shortlist(score, codes, remaining, selected)
    if base.shape[0] == 0:
        return base
    return tolerant_members(score, codes, remaining, selected, shortlist_cuts(score, codes, remaining, base, tol))


def shortlist_cuts(score, codes, remaining, base, tol) -> list:
    """Each domain's cut of the shortlist ``base``: (d, v_d, τ_d) for every domain d with budget
    left and members in ``base``, v_d the score of its last kept element (lowest score; highest
    index among equals) and τ_d that element's tolerance (0-d arrays of the inputs' namespace).

    Parameters
    ----------
    score : (n,) array
    codes, remaining
        As in :func:`feasible`.
    base : (m,) int array
        A shortlist (:func:`shortlist`).
    tol : (n,) array

    Returns
    -------
    list of (int, 0-d array, 0-d array)

    Examples
    --------
    >>> import numpy as np
    >>> score = np.array([0.5, 0.9, 0.7])
    >>> [(d, float(v)) for d, v, _ in shortlist_cuts(score, np.zeros(3, np.int64), np.array([2]),
    ...                                             np.array([1, 2]), np.zeros(3))]
    [(0, 0.7)]
    """
    xp = _xp(score, codes, remaining)
    cuts = []
    base_codes = xp.take(codes, base, axis=0)
    base_scores = xp.take(score, base, axis=0)
    for d in range(int(remaining.shape[0])):
        members = base[base_codes == d]
        if int(remaining[d]) <= 0 or members.shape[0] == 0:
            continue
        member_scores = base_scores[base_codes == d]
        cut = int(xp.argmin(member_scores))  # the last kept element (lowest score; highest index among equals)
        cut_scores = member_scores == member_scores[cut]
        cut = int(xp.max(xp.where(cut_scores, members, xp.full_like(members, -1))))
        cuts.append((d, score[cut], tol[cut]))
    return cuts


def tolerant_members(score, codes, remaining, selected, cuts):
    """The tolerant shortlist of the ``cuts`` (:func:`shortlist_cuts`): in each cut domain d its
    feasible elements scoring above v_d + τ_d, then the lowest-index ones within [v_d − τ_d,
    v_d + τ_d] up to remaining[d] in all.

    Applied to any subset of the elements that holds every element scoring above v_d + τ_d and
    the first remaining[d] − (their count there) elements of the band, it returns what it
    returns on all of them — which lets a chunked pool settle its cuts chunk by chunk.

    Parameters
    ----------
    score : (n,) array
    codes, remaining, selected
        As in :func:`feasible`.
    cuts : list of (int, v, τ)

    Returns
    -------
    (m,) int array
        Sorted indices.

    Examples
    --------
    >>> import numpy as np
    >>> score = np.array([0.5, 1.0 + 1e-12, 1.0, 1.0 - 1e-12])
    >>> cuts = [(0, np.float64(1.0), np.float64(1e-9))]
    >>> tolerant_members(score, np.zeros(4, np.int64), np.array([2]), np.zeros(4, bool), cuts).tolist()
    [1, 2]
    """
    xp = _xp(score, codes, remaining)
    ok = feasible(codes, remaining, selected)
    keep = []
    for d, v, t in cuts:
        in_d = ok & (codes == d)
        above = xp.nonzero(in_d & (score > v + t))[0]
        band = xp.nonzero(in_d & (score >= v - t) & (score <= v + t))[0]
        keep.append(above)
        keep.append(band[: int(remaining[d]) - int(above.shape[0])])
    if not keep:
        return xp.nonzero(xp.zeros_like(ok))[0]
    return xp.sort(xp.concat(keep))


def _scatter(xp, out, index, values):
    """out[index] = values (array API has no in-place scatter; every namespace here supports it)."""
    out[index] = values
    return out

