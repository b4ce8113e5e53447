"""numpy reference of the fused OMP step under a partition matroid (the contract every kernel meets).

One OMP step, with S the selected set and w its weights::

    ρ = c − Q[:, S] w                       Gram path:   rows = Q[S, :]  (p × n)
    ρ_i = c_i − s·⟨g_i, U[b_i]⟩              d-space:     U (B × d), one residual direction per block
    score = |ρ| if absolute else ρ;  scores with |score_i| ≤ tol_i count as 0 (rounding noise;
                                     tol is a scalar or one tolerance per element)
    feasible_i = not selected_i and remaining[codes_i] > 0
    best = argmax of score over feasible i  (ties → lowest index; −1 if nothing is feasible)

Accumulation is float32 for float16/float32 inputs and float64 for float64 inputs; ρ has the
dtype of c combined with the accumulation dtype (the scale multiplies in that dtype). :func:`shortlist` is the candidate set of the
residual random greedy rule: in every domain d its top remaining[d] feasible elements by score.
:func:`matvec` (float64, a column of the refit's system) and :func:`rmatvec` (the residual
direction G_Sᵀw) are the small (|S| × d) products of a d-space step.
"""

from __future__ import annotations

import numpy as np


def accumulation_dtype(*arrays: np.ndarray) -> np.dtype:
    """float64 if any input is float64, else float32 (float16 and bfloat16 accumulate in float32).

    Parameters
    ----------
    *arrays : numpy.ndarray

    Returns
    -------
    numpy.dtype

    Examples
    --------
    >>> import numpy as np
    >>> accumulation_dtype(np.zeros(2, np.float16), np.zeros(2, np.float32)).name
    'float32'
    >>> accumulation_dtype(np.zeros(2, np.float32), np.zeros(2)).name
    'float64'
    """
    return np.dtype(np.float64) if any(a.dtype == np.float64 for a in arrays) else np.dtype(np.float32)


def _masked_argmax(rho, codes, remaining, selected, absolute, tol) -> int:
    """Lowest index of the largest feasible score; −1 when nothing is feasible."""
    score = feasible_scores(rho, absolute, tol)
    feasible = ~selected & (remaining[codes] > 0)
    if not feasible.any():
        return -1
    return int(np.argmax(np.where(feasible, score, -np.inf)))


def feasible_scores(rho: np.ndarray, absolute: bool = False, tol=0.0) -> np.ndarray:
    """score = |ρ| if absolute else ρ, with |score_i| ≤ tol_i set to 0 (tol scalar or (n,)).

    Parameters
    ----------
    rho : numpy.ndarray, shape (n,)
    absolute : bool, default False
    tol : float or numpy.ndarray of shape (n,), default 0.0

    Returns
    -------
    numpy.ndarray
        Of ρ's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> feasible_scores(np.array([-0.5, 1e-12, 0.3]), absolute=True, tol=1e-9).tolist()
    [0.5, 0.0, 0.3]
    """
    score = np.abs(rho) if absolute else rho
    return np.where(np.abs(score) <= tol, 0.0, score).astype(rho.dtype, copy=False)


def gram_step(rows, w, c, codes, remaining, selected, absolute=False, tol=0.0):
    """(ρ, best) with ρ = c − rowsᵀw and best the feasible arg-max: the numpy reference (one GEMV).

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
    acc = accumulation_dtype(rows, w)
    corr = rows.astype(acc, copy=False).T @ w.astype(acc, copy=False)
    rho = c - corr.astype(np.result_type(c, acc), copy=False)
    return rho, _masked_argmax(rho, codes, remaining, selected, absolute, tol)


def factor_step(G, U, blocks, c, scale, codes, remaining, selected, absolute=False, tol=0.0):
    """(ρ, best) with ρ_i = c_i − scale·⟨g_i, U[blocks_i]⟩: the numpy reference.

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
    acc = accumulation_dtype(G, U)
    proj = G.astype(acc, copy=False) @ U.astype(acc, copy=False).T
    corr = proj[np.arange(G.shape[0]), blocks]
    out = np.result_type(c, acc)
    rho = c - out.type(scale) * corr.astype(out, copy=False)
    return rho, _masked_argmax(rho, codes, remaining, selected, absolute, tol)


def matvec(A, x):
    """A x in float64 (a column of the small |S| × |S| system: products of float32 inputs are exact).

    Parameters
    ----------
    A : numpy.ndarray, shape (m, d)
    x : numpy.ndarray, shape (d,)

    Returns
    -------
    numpy.ndarray of float64, shape (m,)

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=np.float32)
    >>> matvec(A, np.array([1.0, 2.0], dtype=np.float32)).tolist()
    [1.0, 2.0, 3.0]
    """
    return A.astype(np.float64, copy=False) @ x.astype(np.float64, copy=False)


def rmatvec(A, w):
    """Aᵀw = Σ_t w_t a_t, accumulated in the accumulation dtype (:func:`accumulation_dtype`).

    Parameters
    ----------
    A : numpy.ndarray, shape (m, d)
    w : numpy.ndarray, shape (m,)

    Returns
    -------
    numpy.ndarray, shape (d,)

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> rmatvec(A, np.array([1.0, 1.0, 1.0])).tolist()  # Σ_t w_t a_t
    [2.0, 2.0]
    """
    acc = accumulation_dtype(A, w)
    return A.astype(acc, copy=False).T @ w.astype(acc, copy=False)


def shortlist(score, codes, remaining, selected):
    """The residual random greedy shortlist: per domain d its top remaining[d] feasible elements by score.

    Ties go to the lowest index; a stable sort of the feasible elements, O(n log n).

    Parameters
    ----------
    score : numpy.ndarray, shape (n,)
    codes : numpy.ndarray of int, shape (n,)
    remaining : numpy.ndarray of int, shape (D,)
    selected : numpy.ndarray of bool, shape (n,)

    Returns
    -------
    numpy.ndarray of int64
        Sorted indices.

    Examples
    --------
    >>> import numpy as np
    >>> score = np.array([0.3, 0.9, 0.1, 0.5, 0.7])
    >>> shortlist(score, np.array([0, 0, 0, 1, 1]), np.array([2, 1]), np.zeros(5, dtype=bool)).tolist()
    [0, 1, 4]
    """
    feasible = np.flatnonzero(~selected & (remaining[codes] > 0))
    order = feasible[np.argsort(-score[feasible], kind="stable")]
    rank_in_domain = np.empty(order.size, dtype=np.int64)
    dom = codes[order]
    by_domain = np.argsort(dom, kind="stable")
    sorted_dom = dom[by_domain]
    starts = np.searchsorted(sorted_dom, sorted_dom, side="left")
    rank_in_domain[by_domain] = np.arange(order.size) - starts
    return np.sort(order[rank_in_domain < remaining[dom]])
