"""Nonnegative quadratic programs by the Lawson–Hanson active-set method.

    minimise  ½ wᵀ(Q + ρI)w − cᵀw   subject to  w ≥ 0

with Q symmetric positive semi-definite and ridge ρ ≥ 0. NNLS, min ‖Aw − b‖² + λ‖w‖² over w ≥ 0,
is the case Q = AᵀA, c = Aᵀb, ρ = λ. The method keeps a passive set P (the free, positive
coordinates), solves the unconstrained system on P by an incrementally updated Cholesky factor
(O(|P|²) per added coordinate), and backtracks along the segment to the new solution when a
coordinate would turn negative (Lawson & Hanson 1974, ch. 23; Bro & De Jong 1997). It terminates
in finitely many steps at the exact optimum (KKT: w ≥ 0, g = c − Qw ≤ tol, wᵢgᵢ = 0).

:class:`ActiveSetNNQP` supports a growing universe of coordinates with warm start, which is what
OMP needs: each step adds one coordinate and re-solves from the previous optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.linalg.lapack import dpotrf

from ._backend import detect
from ._validation import (
    as_float_array,
    check_length,
    check_nonnegative_int,
    check_nonnegative_scalar,
    check_symmetric,
    to_numpy,
)
from .kernels.active_set import CONVERGED as KERNEL_CONVERGED
from .kernels.active_set import active_set_solve, quadratic_value
from .kernels.active_set import _append as factor_append
from .kernels.batched_nnqp import ASYMMETRIC, INDEFINITE, batched_active_set

CONVERGED = "converged"
MAX_ITER = "max_iter"

@dataclass(frozen=True)
class NNQPResult:
    """Solution of an NNQP/NNLS.

    ``w`` the minimiser; ``objective`` the maximised utility cᵀw − ½wᵀ(Q + ρI)w (for NNLS this
    equals ½(‖b‖² − ‖Aw − b‖² − λ‖w‖²)); ``status`` ``'converged'`` or ``'max_iter'`` (then ``w``
    is the last feasible iterate); ``n_iter`` the number of active-set changes.
    """

    w: np.ndarray
    objective: float
    status: str
    n_iter: int

    @property
    def converged(self) -> bool:
        return self.status == CONVERGED


class ActiveSetNNQP:
    """Warm-started active-set NNQP over a universe that grows one coordinate at a time.

    Memory is preallocated for ``capacity`` coordinates: Q, the Cholesky factor of Q_PP, c, w
    and the passive list; the iterations run in the numba kernel
    :func:`matroidomp.kernels.active_set.active_set_solve`.
    """

    def __init__(self, capacity: int, tol: float):
        self.capacity = int(capacity)
        self.tol = float(tol)
        self.Q = np.zeros((capacity, capacity))
        self.L = np.zeros((capacity, capacity))
        self.c = np.zeros(capacity)
        self.w = np.zeros(capacity)
        self.perm = np.zeros(capacity, dtype=np.int64)
        self.m = 0  # universe size
        self.p = 0  # passive-set size: perm[:p]

    def extend(self, q_col: np.ndarray, c_j: float) -> None:
        """Add coordinate m with Q[:m+1, m] = q_col (its diagonal last) and linear term c_j."""
        m = self.m
        self.Q[m, : m + 1] = q_col
        self.Q[: m + 1, m] = q_col
        self.c[m] = c_j
        self.w[m] = 0.0
        self.m = m + 1

    def objective(self) -> float:
        """cᵀw − ½wᵀQw at the current w."""
        return float(quadratic_value(self.Q, self.c, self.w, self.m))

    def warm_start(self, w0: np.ndarray) -> None:
        """Start from a nonnegative w0: factor its support, dropping dependent coordinates."""
        self.w[: self.m] = w0
        self.p = 0
        for j in np.flatnonzero(w0 > 0):
            if factor_append(self.Q, self.L, self.perm, self.p, j):
                self.perm[self.p] = j
                self.p += 1
            else:
                self.w[j] = 0.0

    def solve(self, max_iter: int, optimal_on_passive: bool = False) -> tuple[str, int]:
        """Run the active-set iterations from the current feasible w; return (status, n_iter).

        w must be ≥ 0 and zero outside the passive set; unless ``optimal_on_passive`` says it
        already is, a first pass moves it to the optimum on the passive set (backtracking keeps
        it feasible), so any warm start works. Q must be positive semi-definite (callers check).
        """
        code, n_iter, self.p = active_set_solve(self.Q, self.c, self.m, self.w, self.perm, self.p, self.L,
                                                self.tol, int(max_iter), bool(optimal_on_passive))
        return (CONVERGED if code == KERNEL_CONVERGED else MAX_ITER), int(n_iter)


def _default_tol(diag_scale: float, c: np.ndarray) -> float:
    """1e-10 × max(|c|, max|Q_ii|)."""
    scale = max(float(np.abs(c).max()) if c.size else 0.0, diag_scale)
    return 1e-10 * max(scale, 1e-300)


def _check_psd(Q: np.ndarray, diag_scale: float, name: str, rel_tol: float) -> None:
    """Raise unless Q + δI has a Cholesky factor, δ = 10·n·rel_tol·max|Q_ii| (O(n³/3) in LAPACK).

    A PSD matrix has eigenvalues ≥ −(rounding), which the shift δ covers; an eigenvalue below
    −δ makes the factorisation fail. ``rel_tol`` is the relative rounding of the input (a Gram
    matrix given in half precision is PSD only up to eps(float16)).
    """
    n = Q.shape[0]
    if n == 0:
        return
    delta = 10 * n * rel_tol * max(diag_scale, 1e-300)
    shifted = Q.copy()
    shifted.flat[:: n + 1] += delta
    _, info = dpotrf(shifted, lower=0, overwrite_a=1, clean=0)  # symmetric: C order is fine
    if info > 0:
        raise ValueError(f"{name}: matrix is not positive semi-definite")


def nnqp(Q, c, *, ridge: float = 0.0, w0=None, max_iter: int | None = None, tol: float | None = None) -> NNQPResult:
    """Solve max cᵀw − ½wᵀ(Q + ridge·I)w over w ≥ 0 exactly (active set, warm-startable).

    Parameters
    ----------
    Q : (n, n) symmetric positive semi-definite array.
    c : (n,) array.
    ridge : float >= 0, added to the diagonal.
    w0 : optional (n,) nonnegative warm start; its positive entries seed the passive set.
    max_iter : active-set changes allowed (default 3n + 10); past it ``status='max_iter'``.
    tol : KKT tolerance on the gradient (default 1e-10 × max(|c|, diag Q)).

    Complexity: O(n² + Σ|P|²) per iteration with the incremental Cholesky factor.
    ``w`` comes back in the framework and on the device of ``Q``, ``c`` and ``w0``.
    """
    arrays = detect(Q=Q, c=c, w0=w0)
    Q = to_numpy(Q, "Q")
    Qa = as_float_array(Q, "Q", 2, dtype=np.float64)
    check_symmetric(Qa, "Q")
    ca = as_float_array(c, "c", 1, dtype=np.float64)
    n = Qa.shape[0]
    check_length(ca, n, "c", "Q's size")
    ridge = check_nonnegative_scalar(ridge, "ridge")
    Qr = Qa + ridge * np.eye(n) if ridge else Qa
    diag_scale = float(np.abs(Qr.diagonal()).max()) if n else 0.0
    _check_psd(Qr, diag_scale, "Q", float(np.finfo(Q.dtype).eps if Q.dtype.kind == "f" else np.finfo(np.float64).eps))
    tol = _default_tol(diag_scale, ca) if tol is None else check_nonnegative_scalar(tol, "tol")
    max_iter = 3 * n + 10 if max_iter is None else check_nonnegative_int(max_iter, "max_iter")

    solver = ActiveSetNNQP(n, tol)
    solver.Q[:n, :n] = Qr
    solver.c[:n] = ca
    solver.m = n
    if w0 is not None:
        w_start = as_float_array(w0, "w0", 1, dtype=np.float64)
        check_length(w_start, n, "w0", "Q's size")
        if np.any(w_start < 0):
            raise ValueError("w0: warm start must be nonnegative")
        solver.warm_start(w_start)
    status, n_iter = solver.solve(max_iter)
    w = solver.w[:n].copy()
    return arrays.fields(NNQPResult(w=w, objective=solver.objective(), status=status, n_iter=n_iter), "w")


def nnls(A, b, *, lam: float = 0.0, max_iter: int | None = None, tol: float | None = None) -> NNQPResult:
    """Nonnegative (ridge) least squares: argmin ‖Aw − b‖² + lam‖w‖² over w ≥ 0.

    Solved as the NNQP with Q = AᵀA + lam·I, c = Aᵀb (float64), then refined once on the final
    passive set P by the corrected semi-normal equations (Björck 1987): with the residual
    r = b − A_P w_P formed from A itself, w_P += (Q_PP)⁻¹(A_Pᵀr − lam·w_P). The Gram form alone
    squares the condition number; one refinement step brings the error back to the order of a
    QR solve for all but nearly singular A, at O(d|P|) instead of a QR's O(d|P|²).
    ``w`` comes back in the framework and on the device of ``A`` and ``b``.
    """
    arrays = detect(A=A, b=b)
    return arrays.fields(_nnls(A, b, lam, max_iter, tol), "w")


def _nnls(A, b, lam, max_iter, tol) -> NNQPResult:
    """:func:`nnls` on host arrays."""
    Aa = as_float_array(A, "A", 2, dtype=np.float64)
    ba = as_float_array(b, "b", 1, dtype=np.float64)
    check_length(ba, Aa.shape[0], "b", "A's number of rows")
    lam = check_nonnegative_scalar(lam, "lam")
    Q = Aa.T @ Aa
    c = Aa.T @ ba
    res = nnqp(Q, c, ridge=lam, max_iter=max_iter, tol=tol)
    P = np.flatnonzero(res.w > 0)
    if not (res.converged and P.size):
        return res
    AP = Aa[:, P]
    wP = res.w[P]
    QP = Q[np.ix_(P, P)]
    QP[np.diag_indices(P.size)] += lam
    try:
        factor = cho_factor(QP, check_finite=False)
    except np.linalg.LinAlgError:
        return res
    refined = wP + cho_solve(factor, AP.T @ (ba - AP @ wP) - lam * wP, check_finite=False)
    if not np.all(refined > 0):
        return res
    w = np.zeros_like(res.w)
    w[P] = refined
    obj = float(c @ w - 0.5 * w @ (Q @ w) - 0.5 * lam * w @ w)
    return NNQPResult(w=w, objective=obj, status=res.status, n_iter=res.n_iter)


@dataclass(frozen=True)
class BatchedNNQPResult:
    """Solutions of B independent NNQPs: ``w`` (B × k), ``objective`` (B,) the maximised
    utilities, ``status`` (B,) strings ``'converged'``/``'max_iter'``, ``n_iter`` (B,)."""

    w: np.ndarray
    objective: np.ndarray
    status: np.ndarray
    n_iter: np.ndarray

    @property
    def converged(self) -> np.ndarray:
        return self.status == CONVERGED


def nnqp_batched(Q, c, *, ridge: float = 0.0, max_iter: int | None = None, tol: float | None = None) -> BatchedNNQPResult:
    """Solve max c_bᵀw − ½wᵀ(Q_b + ridge·I)w over w ≥ 0 for every b: Q (B × k × k), c (B × k).

    Each problem is the active-set solve of :func:`nnqp` from w = 0 (numba, problems in parallel:
    :mod:`matroidomp.kernels.batched_nnqp`); a problem that hits ``max_iter`` (default 3k + 10)
    reports ``'max_iter'`` in ``status`` instead of raising. ``tol`` defaults per problem to
    1e-10 × max(|c_b|, diag Q_b). Every Q_b must be symmetric positive semi-definite: the kernel
    checks each as :func:`nnqp` does (symmetry, shifted Cholesky) and the first offender is named.
    ``w`` and ``objective`` come back in the framework and on the device of ``Q`` and ``c``
    (``status`` and ``n_iter`` are numpy).
    """
    arrays = detect(Q=Q, c=c)
    Q = to_numpy(Q, "Q")
    Qa = as_float_array(Q, "Q", 3, dtype=np.float64)
    ca = as_float_array(c, "c", 2, dtype=np.float64)
    B, k = ca.shape
    if Qa.shape != (B, k, k):
        raise ValueError(f"Q: expected shape ({B}, {k}, {k}) to match c's {ca.shape}, got {Qa.shape}")
    ridge = check_nonnegative_scalar(ridge, "ridge")
    if ridge:
        Qa = Qa + ridge * np.eye(k)
    rel = float(np.finfo(Q.dtype).eps) if Q.dtype.kind == "f" else float(np.finfo(np.float64).eps)
    if tol is None:
        diag = np.abs(np.diagonal(Qa, axis1=1, axis2=2)).max(axis=1, initial=0.0)
        tols = 1e-10 * np.maximum(np.maximum(np.abs(ca).max(axis=1, initial=0.0), diag), 1e-300)
    else:
        tols = np.full(B, check_nonnegative_scalar(tol, "tol"))
    max_iter = 3 * k + 10 if max_iter is None else check_nonnegative_int(max_iter, "max_iter")
    w, objective, codes, n_iter = batched_active_set(np.ascontiguousarray(Qa), ca, tols, max_iter, rel)
    asym = np.flatnonzero(codes == ASYMMETRIC)  # nnqp's checks, run in the kernel: the first offender is named
    if asym.size:
        check_symmetric(Qa[asym[0]], f"Q[{asym[0]}]")  # raises, with the measured asymmetry
    indefinite = np.flatnonzero(codes == INDEFINITE)
    if indefinite.size:
        raise ValueError(f"Q[{indefinite[0]}]: matrix is not positive semi-definite")
    status = np.where(codes == KERNEL_CONVERGED, CONVERGED, MAX_ITER)
    return arrays.fields(BatchedNNQPResult(w=w, objective=objective, status=status, n_iter=n_iter),
                         "w", "objective")
