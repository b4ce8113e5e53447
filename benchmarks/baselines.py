"""Reference selection algorithms, re-implemented from their published descriptions.

Both maximise, under a partition matroid, the utility

    F(S) = max { cᵀw − ½ wᵀQw : w ≥ 0, supp w ⊆ S },    c = G b,  Q = G Gᵀ + λI,

the way existing code does it, so that :mod:`matroidomp` can be timed and scored against them.
:func:`utility` scores any selection exactly, so every method is compared on the same number.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize

import matroidomp


def utility(c: np.ndarray, Q: np.ndarray, indices) -> float:
    """Exact F(S) = max{c_Sᵀw − ½wᵀQ_SS w : w ≥ 0}, solved by :func:`matroidomp.nnqp`."""
    S = np.asarray(indices, dtype=np.int64)
    if S.size == 0:
        return 0.0
    cS, QS = c[S], Q[np.ix_(S, S)]
    w = matroidomp.nnqp(QS, cS).w
    return float(cS @ w - 0.5 * w @ QS @ w)


def resolving_omp(G: np.ndarray, b: np.ndarray, matroid, lam: float, *, nonneg: bool = True):
    """GradMatch/CORDS-style OMP in d-space that re-solves the selected system every step.

    Each step forms the residual r = b − G_Sᵀw, the correlations ρ = G r (on unselected items
    this is exactly c − Q_{:,S} w), and adds the feasible item (domain budget left, not yet
    selected) with the largest ρ_j — largest |ρ_j| when ``nonneg`` is off. It then solves, from
    scratch, the ridge least squares min ‖G_Sᵀw − b‖² + λ‖w‖² over w ≥ 0 (scipy's Lawson–Hanson
    ``nnls`` on the stacked system [G_Sᵀ; √λ I] w ≈ [b; 0]; ``lstsq`` when ``nonneg`` is off).
    Runs until every budget is filled, as GradMatch does; each re-solve costs O(d·|S|²) or more.

    Returns ``(indices, weights)`` in selection order.
    """
    n, d = G.shape
    b64 = np.asarray(b, dtype=np.float64)
    target = np.concatenate([b64, np.zeros(matroid.rank)])
    selected = np.zeros(n, dtype=bool)
    counts = np.zeros(matroid.n_domains, dtype=np.int64)
    S: list[int] = []
    w = np.zeros(0)
    r = b64.astype(G.dtype)
    for _ in range(matroid.rank):
        rho = G @ r
        score = rho if nonneg else np.abs(rho)
        score = np.where(matroid.feasible_mask(counts, selected), score, -np.inf)
        j = int(np.argmax(score))
        S.append(j)
        selected[j] = True
        counts[matroid.codes[j]] += 1
        s = len(S)
        A = np.empty((d + s, s))
        A[:d] = G[S].T
        A[d:] = np.sqrt(lam) * np.eye(s)
        if nonneg:
            w, _ = scipy.optimize.nnls(A, target[: d + s])
        else:
            w = np.linalg.lstsq(A, target[: d + s], rcond=None)[0]
        r = (b64 - A[:d] @ w).astype(G.dtype)
    return np.asarray(S, dtype=np.int64), w


def _fista_refit(cS: np.ndarray, QS: np.ndarray, w0: np.ndarray, n_iter: int) -> np.ndarray:
    """Accelerated projected gradient ascent on cᵀw − ½wᵀQw over w ≥ 0, step 1/L.

    L = max_i Σ_j |Q_ij| (Gershgorin) bounds the largest eigenvalue of Q; FISTA momentum
    (t_{k+1} = (1 + √(1 + 4t_k²))/2) on the extrapolated point, projection = clip at 0.
    """
    L = float(np.abs(QS).sum(axis=1).max())
    w, y, t = w0, w0, 1.0
    for _ in range(n_iter):
        w_next = np.maximum(y + (cS - QS @ y) / L, 0.0)
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        y = w_next + ((t - 1.0) / t_next) * (w_next - w)
        w, t = w_next, t_next
    return w


def _fista_refit_full(c: np.ndarray, Q: np.ndarray, support: np.ndarray, w0: np.ndarray, n_iter: int,
                      L: float) -> np.ndarray:
    """The same iteration as the authors' code runs it: n-dimensional gradients c − Q y, then
    projection onto {w ≥ 0, w = 0 off the support} (an n × n matvec per iteration, in Q's
    dtype, float32 like the authors' interaction matrix)."""
    c = c.astype(Q.dtype)
    w = np.where(support, np.maximum(w0, 0.0), 0.0).astype(Q.dtype)
    y, t = w, 1.0
    for _ in range(n_iter):
        w_next = np.where(support, np.maximum(y + (c - Q @ y) / L, 0.0), 0.0)
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        y = w_next + ((t - 1.0) / t_next) * (w_next - w)
        w, t = w_next, t_next
    return w


def authors_rrg(c: np.ndarray, Q: np.ndarray, matroid, seed, n_iter: int = 128, full_dimension: bool = False):
    """PartitionSel's selection: residual random greedy with an approximate FISTA refit.

    Each step: ρ = c − Q_{:,S} w_S; in every domain with rem_d > 0 budget left, shortlist its
    rem_d feasible items of largest ρ; add one item drawn uniformly from the union of the
    shortlists (Chen, Feldman & Karbasi 2018); then refit w on S with ``n_iter`` iterations of
    :func:`_fista_refit` from a uniform random start in [0, 1)^|S|, as the authors' code does.
    Always fills every budget. ``full_dimension=True`` runs each refit as the authors' code
    does (:func:`_fista_refit_full`, n-vectors masked to the support); the default restricts it
    to the support, the same iterates at |S|²/n² of the cost — a stronger baseline.

    Returns ``(indices, weights)`` in selection order.
    """
    rng = np.random.default_rng(seed)
    n = c.shape[0]
    selected = np.zeros(n, dtype=bool)
    counts = np.zeros(matroid.n_domains, dtype=np.int64)
    S: list[int] = []
    w = np.zeros(0)
    for _ in range(matroid.rank):
        rho = c - Q[:, S] @ w
        feasible = matroid.feasible_mask(counts, selected)
        shortlist = []
        for dom in np.flatnonzero(matroid.budgets > counts):
            items = np.flatnonzero(feasible & (matroid.codes == dom))
            rem = min(int(matroid.budgets[dom] - counts[dom]), items.size)
            if rem:
                shortlist.append(items[np.argpartition(-rho[items], rem - 1)[:rem]])
        j = int(rng.choice(np.concatenate(shortlist)))
        S.append(j)
        selected[j] = True
        counts[matroid.codes[j]] += 1
        QS = Q[np.ix_(S, S)]
        start = rng.uniform(size=len(S))
        if full_dimension:
            w0 = np.zeros(n)
            w0[S] = start
            w = _fista_refit_full(c, Q, selected, w0, n_iter, float(np.abs(QS).sum(axis=1).max()))[S]
            w = w.astype(np.float64)
        else:
            w = _fista_refit(c[S], QS, start, n_iter)
    return np.asarray(S, dtype=np.int64), w
