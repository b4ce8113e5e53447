"""Nonnegative quadratic programs by the Lawson–Hanson active-set method, exact on singular Q.

    maximise  cᵀw − ½ wᵀ(Q + ρI)w   subject to  w ≥ 0

with Q symmetric positive semi-definite (possibly singular) and ridge ρ ≥ 0. NNLS,
min ‖Aw − b‖² + λ‖w‖² over w ≥ 0, is the case Q = AᵀA, c = Aᵀb, ρ = λ. The method keeps a
passive set P (the free, positive coordinates) whose block Q_PP stays nonsingular, solves the
unconstrained system on P by an incrementally updated Cholesky factor (O(|P|²) per added
coordinate), and backtracks along the segment to the new solution when a coordinate would turn
negative (Lawson & Hanson 1974, ch. 23; Bro & De Jong 1997). A coordinate that is linearly
dependent on P enters by a degenerate step along the null direction it spans with P, and a null
direction v ≥ 0 with cᵀv > 0 proves the supremum is +∞ (see
:mod:`matroidomp.kernels.active_set`). The result is the exact optimum (KKT: w ≥ 0,
g = c − Qw ≤ tol, wᵢgᵢ = 0) or status ``'unbounded'`` with the ray — never a finite value
called converged when the supremum is infinite.

Tolerances are per coordinate and scale-invariant: coordinate i satisfies its KKT condition when
g_i ≤ τ·√Q_ii·σ with σ = max_j |c_j|/√Q_jj (over Q_jj > 0), so rescaling a column (a gradient
10⁵× larger than the others) changes neither the answer nor when the solver stops.

:class:`ActiveSetNNQP` supports a growing universe of coordinates with warm start, which is what
OMP needs: each step adds one coordinate and re-solves from the previous optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from ._array import NUMPY, detect
from ._matrix_checks import check_psd as _check_psd_matrix
from ._validation import (
    as_float_array,
    check_length,
    check_nonnegative_int,
    check_nonnegative_scalar,
    check_symmetric,
    input_eps,
    to_numpy,
)
from .kernels.active_set import DEPENDENCE_TOL, active_set_solve, add_coordinate, append_column, quadratic_value
from .kernels.batched_nnqp import batched_active_set
from .kernels.status import ASYMMETRIC, CONVERGED, INDEFINITE, NAMES, UNBOUNDED

#: Relative KKT tolerance τ of :func:`nnqp`, :func:`nnls` and :func:`nnqp_batched` for float64
#: input; input of lower precision gets eps^(2/3) of its dtype (see :func:`input_tolerances`).
DEFAULT_RTOL = 1e-10


def input_tolerances(eps: float) -> tuple[float, float]:
    """(τ, dependence tolerance) for data whose entries carry relative rounding ``eps``.

    float64 input: τ = 1e-10 and a Schur complement ≤ 1e-10·Q_jj is dependence. Rounded input
    (float32, float16, bfloat16) is exact only to its precision: τ = eps^(2/3) (a component of c
    outside range(Q) at rounding level is not a ray) and dependence up to 64·eps·Q_jj (a null
    direction perturbed by rounding is still null), so the answer does not hinge on noise.
    """
    return max(DEFAULT_RTOL, eps ** (2 / 3)), max(DEPENDENCE_TOL, 64 * eps)


@dataclass(frozen=True)
class NNQPResult:
    """Solution of an NNQP/NNLS (what :func:`nnqp` and :func:`nnls` return).

    Parameters
    ----------
    w : array
        The maximiser (status ``'converged'``), or the last feasible iterate.
    objective : float
        The maximised utility cᵀw − ½wᵀ(Q + ρI)w (for NNLS ½(‖b‖² − ‖Aw − b‖² − λ‖w‖²));
        ``inf`` when the problem is unbounded.
    status : str
        ``'converged'``, ``'max_iter'`` (``w`` is the last feasible iterate) or
        ``'unbounded'`` (the supremum is +∞; see ``ray``).
    n_iter : int
        Active-set changes made.
    ray : array or None
        For ``'unbounded'``: v ≥ 0 with max v = 1, (Q + ρI)v = 0 to rounding and cᵀv > 0, so
        the objective of w + t·v grows without bound in t. None otherwise.

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> res = mo.nnqp(np.eye(2), np.array([1.0, -1.0]))
    >>> res.converged, res.unbounded, res.w.tolist()
    (True, False, [1.0, 0.0])
    """

    w: np.ndarray
    objective: float
    status: str
    n_iter: int
    ray: np.ndarray | None = None

    @property
    def converged(self) -> bool:
        """True when ``w`` is the exact optimum."""
        return self.status == NAMES[CONVERGED]

    @property
    def unbounded(self) -> bool:
        """True when the supremum is +∞ (``ray`` proves it)."""
        return self.status == NAMES[UNBOUNDED]


def coordinate_tolerances(diag: np.ndarray, c: np.ndarray, rtol: float) -> np.ndarray:
    """Scale-invariant KKT tolerances tol_i = rtol·√Q_ii·σ, σ = max_{Q_jj > 0} |c_j|/√Q_jj.

    A coordinate with Q_ii = 0 gets tolerance 0: on a PSD matrix its column is zero, so any
    c_i > 0 is an unbounded ray e_i.
    """
    root = np.sqrt(np.maximum(diag, 0.0))
    live = root > 0
    sigma = float(np.max(np.abs(c[live]) / root[live])) if live.any() else 0.0
    return rtol * root * sigma


class ActiveSetNNQP:
    """Warm-started active-set NNQP over a universe that grows one coordinate at a time.

    Memory is preallocated for ``capacity`` coordinates: Q, the Cholesky factor of Q_PP, c, the
    per-coordinate tolerances, w and the passive list; the iterations run in the numba kernel
    :func:`matroidomp.kernels.active_set.active_set_solve`.
    """

    def __init__(self, capacity: int, dep_tol: float = DEPENDENCE_TOL):
        self.capacity = int(capacity)
        self.dep_tol = float(dep_tol)
        self.Q = np.zeros((capacity, capacity))
        self.L = np.zeros((capacity, capacity))
        self.c = np.zeros(capacity)
        self.tol = np.zeros(capacity)
        self.w = np.zeros(capacity)
        self.ray = np.zeros(capacity)
        self.perm = np.zeros(capacity, dtype=np.int64)
        self.m = 0  # universe size
        self.p = 0  # passive-set size: perm[:p]

    def extend(self, q_col: np.ndarray, c_j: float, tol_j: float) -> None:
        """Add coordinate m with Q[:m+1, m] = q_col (its diagonal last), linear term c_j and
        KKT tolerance tol_j."""
        m = self.m
        self.Q[m, : m + 1] = q_col
        self.Q[: m + 1, m] = q_col
        self.c[m] = c_j
        self.tol[m] = tol_j
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
            if append_column(self.Q, self.L, self.perm, self.p, j, self.dep_tol):
                self.p += 1
            else:
                self.w[j] = 0.0

    def solve(self, max_iter: int, optimal_on_passive: bool = False) -> tuple[int, int]:
        """Run the active-set iterations from the current feasible w; return (status code, n_iter).

        w must be ≥ 0 and zero outside the passive set; unless ``optimal_on_passive`` says it
        already is, a first pass moves it to the optimum on the passive set (backtracking keeps
        it feasible), so any warm start works. Q must be positive semi-definite (callers check).
        On UNBOUNDED ``self.ray[:m]`` holds the certificate.
        """
        code, n_iter, self.p = active_set_solve(self.Q, self.c, self.m, self.w, self.perm, self.p, self.L,
                                                self.tol, self.dep_tol, int(max_iter), bool(optimal_on_passive),
                                                self.ray)
        return int(code), int(n_iter)

    def add(self, q_col: np.ndarray, c_j: float, tol_j: float, max_iter: int,
            cap: float = np.inf) -> tuple[int, int]:
        """Extend by one coordinate and re-solve from the current optimum (OMP's refit); see
        :func:`matroidomp.kernels.active_set.add_coordinate`. When the extended problem is
        unbounded (or its optimum exceeds ``cap``), or cannot be resolved, the coordinate is taken
        out again and the solver is left exactly as before. Returns (status code, n_iter)."""
        code, n_iter, self.m, self.p = add_coordinate(
            self.Q, self.L, self.c, self.tol, self.w, self.ray, self.perm, self.m, self.p,
            np.ascontiguousarray(q_col, dtype=np.float64), float(c_j), float(tol_j), self.dep_tol, int(max_iter),
            float(cap))
        return int(code), int(n_iter)


def check_psd(Q: np.ndarray, name: str, rel_tol: float) -> None:
    """Raise unless the host matrix Q + δI has a Cholesky factor, δ = 10·n·rel_tol·max|Q_ii|
    (see :func:`matroidomp._matrix_checks.check_psd`)."""
    _check_psd_matrix(Q, name, rel_tol, NUMPY)


def nnqp(Q, c, *, ridge: float = 0.0, w0=None, max_iter: int | None = None, tol: float | None = None) -> NNQPResult:
    """Solve max cᵀw − ½wᵀ(Q + ridge·I)w over w ≥ 0 exactly, or prove the supremum is +∞.

    Lawson–Hanson active set with a nonsingular passive block and degenerate steps along null
    directions of singular Q; O(n² + Σ|P|²) per iteration with the incremental Cholesky factor.

    Parameters
    ----------
    Q : (n, n) array
        Symmetric positive semi-definite (possibly singular). Checked: symmetry, and a shifted
        Cholesky factorisation for PSD (O(n³/3)).
    c : (n,) array
    ridge : float, default 0
        Added to the diagonal.
    w0 : (n,) array, optional
        Nonnegative warm start; its positive entries seed the passive set.
    max_iter : int, optional
        Active-set changes allowed (default 3n + 10); past it ``status='max_iter'``.
    tol : float, optional
        Relative KKT tolerance τ: coordinate i is optimal when its gradient (c − Qw)_i ≤
        τ·√Q_ii·max_j |c_j|/√Q_jj — invariant to rescaling any column. Default 1e-10 for float64
        input, eps^(2/3) of the dtype for float32/float16/bfloat16 (whose rounding makes
        smaller gradients noise); columns count as dependent below 64·eps relative then.

    Returns
    -------
    NNQPResult
        ``w`` (in the framework and on the device of ``Q``, ``c`` and ``w0``), ``objective``
        (``inf`` when unbounded), ``status`` (``'converged'``, ``'max_iter'`` or
        ``'unbounded'``), ``n_iter`` and, when unbounded, the certificate ``ray``.

    Raises
    ------
    ValueError
        Q not square, symmetric or PSD; lengths that disagree; NaN/Inf entries; a negative
        ridge, tolerance or warm start.

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> res = mo.nnqp(np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([2.0, -1.0]))
    >>> res.w, res.objective, res.status
    (array([1., 0.]), 1.0, 'converged')

    A singular Q whose null direction v = (1, 1) has cᵀv > 0: the supremum is +∞.

    >>> res = mo.nnqp(np.array([[1.0, -1.0], [-1.0, 1.0]]), np.array([1.0, 1.0]))
    >>> res.status, res.objective, res.ray
    ('unbounded', inf, array([1., 1.]))
    """
    arrays = detect(Q=Q, c=c, w0=w0)
    rel = input_eps(Q)
    default_rtol, dep_tol = input_tolerances(max(rel, input_eps(c)))
    Qa = as_float_array(Q, "Q", 2, dtype=np.float64)
    check_symmetric(Qa, "Q")
    ca = as_float_array(c, "c", 1, dtype=np.float64)
    n = Qa.shape[0]
    check_length(ca, n, "c", "Q's size")
    ridge = check_nonnegative_scalar(ridge, "ridge")
    Qr = Qa + ridge * np.eye(n) if ridge else Qa
    check_psd(Qr, "Q", rel)
    rtol = default_rtol if tol is None else check_nonnegative_scalar(tol, "tol")
    max_iter = 3 * n + 10 if max_iter is None else check_nonnegative_int(max_iter, "max_iter")

    solver = ActiveSetNNQP(n, dep_tol)
    solver.Q[:n, :n] = Qr
    solver.c[:n] = ca
    solver.tol[:n] = coordinate_tolerances(Qr.diagonal(), ca, rtol)
    solver.m = n
    if w0 is not None:
        w_start = as_float_array(w0, "w0", 1, dtype=np.float64)
        check_length(w_start, n, "w0", "Q's size")
        if np.any(w_start < 0):
            raise ValueError("w0: warm start must be nonnegative")
        solver.warm_start(w_start)
    code, n_iter = solver.solve(max_iter)
    return arrays.fields(_result(solver, n, code, n_iter), "w", "ray")


def _result(solver: ActiveSetNNQP, n: int, code: int, n_iter: int) -> NNQPResult:
    unbounded = code == UNBOUNDED
    return NNQPResult(w=solver.w[:n].copy(), objective=np.inf if unbounded else solver.objective(),
                      status=NAMES[code], n_iter=n_iter, ray=solver.ray[:n].copy() if unbounded else None)


def nnls(A, b, *, lam: float = 0.0, max_iter: int | None = None, tol: float | None = None) -> NNQPResult:
    """Nonnegative (ridge) least squares: argmin ‖Aw − b‖² + lam‖w‖² over w ≥ 0.

    Solved as the NNQP with Q = AᵀA + lam·I, c = Aᵀb (float64), then refined once on the final
    passive set P by the corrected semi-normal equations (Björck 1987): with the residual
    r = b − A_P w_P formed from A itself, w_P += (Q_PP)⁻¹(A_Pᵀr − lam·w_P). The Gram form alone
    squares the condition number; one refinement step brings the error back to the order of a
    QR solve for all but nearly singular A, at O(d|P|) instead of a QR's O(d|P|²). Rank-deficient
    A (duplicated or dependent columns) is handled exactly: the objective is bounded by ½‖b‖².

    Parameters
    ----------
    A : (d, n) array
    b : (d,) array
    lam : float, default 0
        Ridge.
    max_iter, tol
        As in :func:`nnqp` (``tol`` is relative: column i is optimal when
        a_iᵀ(b − Aw) − lam·w_i ≤ tol·‖a_i‖·max_j |a_jᵀb|/‖a_j‖ for λ = 0).

    Returns
    -------
    NNQPResult
        ``w`` in the framework and on the device of ``A`` and ``b``; ``objective`` is
        ½(‖b‖² − ‖Aw − b‖² − lam‖w‖²).

    Raises
    ------
    ValueError
        Shapes that disagree, NaN/Inf entries, a negative ``lam``.

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> A = np.array([[1.0, 1.0], [0.0, 1.0], [0.0, 0.0]])
    >>> mo.nnls(A, np.array([1.0, -1.0, 0.0])).w
    array([1., 0.])
    """
    arrays = detect(A=A, b=b)
    return arrays.fields(_nnls(A, b, lam, max_iter, tol), "w", "ray")


def _nnls(A, b, lam, max_iter, tol) -> NNQPResult:
    """:func:`nnls` on host arrays."""
    Aa = as_float_array(A, "A", 2, dtype=np.float64)
    ba = as_float_array(b, "b", 1, dtype=np.float64)
    check_length(ba, Aa.shape[0], "b", "A's number of rows")
    lam = check_nonnegative_scalar(lam, "lam")
    Q = Aa.T @ Aa
    c = Aa.T @ ba
    if tol is None:
        tol = input_tolerances(max(input_eps(A), input_eps(b)))[0]
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
    if not obj >= res.objective:  # the refinement is a polish, never a regression
        return res
    return NNQPResult(w=w, objective=obj, status=res.status, n_iter=res.n_iter)


@dataclass(frozen=True)
class BatchedNNQPResult:
    """Solutions of B independent NNQPs (what :func:`nnqp_batched` returns).

    Parameters
    ----------
    w : (B, k) array
    objective : (B,) array
        Maximised utilities (``inf`` for unbounded problems).
    status : (B,) numpy array of str
        ``'converged'``, ``'max_iter'`` or ``'unbounded'`` per problem.
    n_iter : (B,) numpy int array
    ray : (B, k) array
        The certificate of every unbounded problem (zero rows elsewhere).

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> res = mo.nnqp_batched(np.stack([np.eye(2), np.zeros((2, 2))]), np.ones((2, 2)))
    >>> res.converged.tolist(), res.unbounded.tolist()
    ([True, False], [False, True])
    """

    w: np.ndarray
    objective: np.ndarray
    status: np.ndarray
    n_iter: np.ndarray
    ray: np.ndarray

    @property
    def converged(self) -> np.ndarray:
        """Boolean (B,): which problems were solved exactly."""
        return self.status == NAMES[CONVERGED]

    @property
    def unbounded(self) -> np.ndarray:
        """Boolean (B,): which problems have supremum +∞."""
        return self.status == NAMES[UNBOUNDED]


def nnqp_batched(Q, c, *, ridge: float = 0.0, max_iter: int | None = None, tol: float | None = None) -> BatchedNNQPResult:
    """Solve max c_bᵀw − ½wᵀ(Q_b + ridge·I)w over w ≥ 0 for every b: Q (B × k × k), c (B × k).

    Each problem is the active-set solve of :func:`nnqp` from w = 0 (numba, problems in parallel:
    :mod:`matroidomp.kernels.batched_nnqp`), exact on singular Q_b; a problem that hits
    ``max_iter`` (default 3k + 10) reports ``'max_iter'`` and an unbounded one ``'unbounded'``
    (with its ``ray``) in ``status`` instead of raising.

    Parameters
    ----------
    Q : (B, k, k) array
        Every Q_b symmetric positive semi-definite: the kernel checks each as :func:`nnqp` does
        (symmetry, shifted Cholesky) and the first offender is named.
    c : (B, k) array
    ridge : float, default 0
    max_iter : int, optional
    tol : float, optional
        Relative, per problem, as in :func:`nnqp`.

    Returns
    -------
    BatchedNNQPResult
        ``w``, ``objective`` and ``ray`` in the framework and on the device of ``Q`` and ``c``
        (``status`` and ``n_iter`` are numpy).

    Raises
    ------
    ValueError
        Shapes that disagree, NaN/Inf entries, an asymmetric or indefinite Q_b (named).

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> Q = np.stack([np.eye(2), np.array([[1.0, -1.0], [-1.0, 1.0]])])
    >>> res = mo.nnqp_batched(Q, np.array([[1.0, -1.0], [1.0, 1.0]]))
    >>> res.status.tolist(), res.objective.tolist()
    (['converged', 'unbounded'], [0.5, inf])
    """
    arrays = detect(Q=Q, c=c)
    rel = input_eps(Q)
    default_rtol, dep_tol = input_tolerances(max(rel, input_eps(c)))
    Qa = as_float_array(Q, "Q", 3, dtype=np.float64)
    ca = as_float_array(c, "c", 2, dtype=np.float64)
    B, k = ca.shape
    if Qa.shape != (B, k, k):
        raise ValueError(f"Q: expected shape ({B}, {k}, {k}) to match c's {ca.shape}, got {Qa.shape}")
    ridge = check_nonnegative_scalar(ridge, "ridge")
    if ridge:
        Qa = Qa + ridge * np.eye(k)
    rtol = default_rtol if tol is None else check_nonnegative_scalar(tol, "tol")
    tols = np.empty((B, k))
    diag = np.diagonal(Qa, axis1=1, axis2=2)
    for b in range(B):
        tols[b] = coordinate_tolerances(diag[b], ca[b], rtol)
    max_iter = 3 * k + 10 if max_iter is None else check_nonnegative_int(max_iter, "max_iter")
    w, objective, codes, n_iter, rays = batched_active_set(np.ascontiguousarray(Qa), ca, tols, max_iter, rel,
                                                           dep_tol)
    asym = np.flatnonzero(codes == ASYMMETRIC)  # nnqp's checks, run in the kernel: the first offender is named
    if asym.size:
        check_symmetric(Qa[asym[0]], f"Q[{asym[0]}]")  # raises, with the measured asymmetry
    indefinite = np.flatnonzero(codes == INDEFINITE)
    if indefinite.size:
        raise ValueError(f"Q[{indefinite[0]}]: matrix is not positive semi-definite")
    status = np.asarray(NAMES)[codes]
    return arrays.fields(BatchedNNQPResult(w=w, objective=objective, status=status, n_iter=n_iter, ray=rays),
                         "w", "objective", "ray")
