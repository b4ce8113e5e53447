"""Orthogonal matching pursuit under a partition matroid, with exact nonnegative weights.

For a utility F(S) = max{cᵀw − ½wᵀQw : w ≥ 0, supp w ⊆ S} (see :mod:`matroidomp.objectives`)::

    S = ∅, w = 0
    repeat rank(M) times:
        ρ = c − Q[:, S] w_S                       residual correlation (n-vector)
        j = argmax ρ_j over feasible j            j ∉ S and its domain has budget left
        S ← S ∪ {j};  w_S ← exact NNQP optimum on S (active set, warm-started)

Batch-OMP style: ρ comes from the stored rows Q[S, :] (Gram path, O(n|S|) a step) or from
G and the d-space residual G_Sᵀw (O(nd) a step); the small system is never rebuilt — one
Cholesky row is appended per step (O(|S|²)). With ``nonneg=False`` the weights are plain
least squares and the pick is argmax |ρ_j| (classic OMP; equals scikit-learn's
``orthogonal_mp_gram`` with one domain, λ = 0).

``randomized=True`` is the residual random greedy rule (Chen, Feldman & Karbasi 2018) as the
PartitionSel authors use it: shortlist, in each domain d, its top rem_d feasible elements by ρ
(rem_d = remaining budget) and pick one uniformly at random.

Guarantees (proofs in docs/theory.md, factors in :mod:`matroidomp.bounds`): with α the
restricted eigenvalue ratio and γ, γ_DR the submodularity ratios, deterministic OMP reaches
max(α_r γ_DR/(1 + α_r γ_DR), α_r/r)·OPT under a matroid of rank r (usually α_r/r: γ_DR is 0 on
most nonnegative instances) and 1 − e^{−α₂ₖ} under |S| ≤ k; the randomized rule reaches the
constant factor ℓ_r(α, γ) of :func:`matroidomp.bounds.residual_random_greedy_guarantee` in
expectation.

When no feasible element has ρ_j > tol_j (a scale-invariant tolerance, see :func:`solve_omp`),
no element can raise F (F(S+j) − F(S) ≤ ρ_j⁺²/(2λ_min)). ``on_no_gain='stop'`` (default) ends
there; ``on_no_gain='fill'`` fills the remaining budgets with the best remaining elements at
weight 0, which training loops that need exactly k examples want. An element whose addition
would make F unbounded is never selected (see :func:`solve_omp`).
"""

from __future__ import annotations

import numpy as np

from ._backend import detect
from ._validation import check_nonnegative_scalar, make_rng
from .kernels import omp_step, reference
from .kernels.active_set import DEPENDENCE_TOL
from .kernels.cholesky import cholesky_append, cholesky_solve
from .kernels.status import CONVERGED, MAX_ITER, UNBOUNDED
from .matroid import PartitionMatroid
from ._nnqp import ActiveSetNNQP, input_tolerances
from .objectives import QuadraticUtility
from .result import STOP_NO_GAIN, STOP_RANK, STOP_UNBOUNDED_LEFT, SelectionResult

_ON_NO_GAIN = ("stop", "fill")
#: The Gram path is chosen when n <= this many times the number of steps (see _use_gram).
_GRAM_STEPS_FACTOR = 16
_GRAM_MAX_BYTES = 2 << 30
_BACKENDS = ("auto", "numpy", "numba", "triton")


def _operator(u: QuadraticUtility, gram_path: bool, capacity: int, codes: np.ndarray, backend: str, device):
    """The step operator: host numpy (``'numpy'`` reference or ``'numba'`` = ``'auto'`` fused
    kernels) or, for ``'triton'``, torch tensors on ``device`` (default CUDA)."""
    if not isinstance(backend, str) or backend not in _BACKENDS:
        raise ValueError(f"backend: expected one of {_BACKENDS}, got {backend!r}")
    if backend == "triton":
        try:
            from ._omp_device import TritonOperator  # torch and triton are optional dependencies
        except ImportError as exc:
            raise ImportError("backend 'triton' (what 'auto' picks for CUDA tensors) needs torch and triton: "
                              "install matroidomp[triton], or pass backend='numba' to select on the host") from exc
        return TritonOperator(u, gram_path, capacity, codes, "cuda" if device is None else device)
    kernels = reference if backend == "numpy" else omp_step
    return (_GramOperator if gram_path else _FactorOperator)(u, capacity, kernels, codes)


class _HostSteps:
    """What a step does besides ρ, shared by the host operators: the selection mask (S, the
    excluded elements and the matroid's codes), the exact columns of the refit's system, the
    masked arg-max of an unchanged ρ, ρ_j, the randomized rule's pick.

    Columns Q[S + j, j] are computed in float64 from the rows of G when the utility has G (so
    the small system is exact even when K was formed in float32), else read from K.
    """

    def __init__(self, u: QuadraticUtility, capacity: int, kernels, codes: np.ndarray, dtype):
        self.u = u
        self.c = u.c
        self.kernels = kernels
        self.codes = codes
        self.dtype = dtype
        self.selected = np.zeros(u.n, dtype=bool)  # selected or excluded: never a candidate again
        self.sel: list[int] = []
        self.sel_rows = None if u.factor is None else np.empty((capacity, u.factor.shape[1]), dtype=u.factor.dtype)

    def column(self, j: int) -> np.ndarray:
        """Q[S + j, j] in float64 (diagonal last); j is staged in slot |S| until :meth:`commit`."""
        u, p = self.u, len(self.sel)
        if self.sel_rows is not None:
            self.sel_rows[p] = u.scaled_rows(j)
            col = self.kernels.matvec(self.sel_rows[: p + 1], self.sel_rows[p]) * u.scale
        else:
            col = u.gram[self.sel + [j], j].astype(np.float64) * u.scale
        if u.blocks is not None:
            col *= u.blocks[self.sel + [j]] == u.blocks[j]
        col[-1] += u.ridge
        return col

    def commit(self, j: int) -> None:
        """Add the staged j to S."""
        self.sel.append(j)
        self.selected[j] = True

    def exclude(self, j: int) -> None:
        """Never consider j again (it would make F unbounded)."""
        self.selected[j] = True

    def tolerances(self, root: np.ndarray, factor: float) -> np.ndarray:
        """The step kernels' per-element tolerances √Q_ii·factor (one buffer, rewritten)."""
        if not hasattr(self, "_tol"):
            self._tol = np.empty(root.shape[0])
        return np.multiply(root, factor, out=self._tol)

    def masked_best(self, rho, remaining, absolute: bool, tol) -> int:
        """The feasible arg-max of an unchanged ρ under the current mask (a p = 0 step)."""
        empty = np.empty((0, self.u.n), dtype=self.dtype)
        return self.kernels.gram_step(empty, np.empty(0, dtype=self.dtype), rho, self.codes, remaining,
                                      self.selected, absolute, tol)[1]

    @staticmethod
    def value(rho, j: int) -> float:
        return float(rho[j])

    def random_pick(self, rho, remaining, absolute: bool, tol, rng) -> int:
        """Residual random greedy: a uniform pick among every domain's top rem_d feasible scores."""
        score = reference.feasible_scores(rho, absolute, tol)
        pool = self.kernels.shortlist(score, self.codes, remaining, self.selected)
        return int(pool[rng.integers(pool.size)])


class _GramOperator(_HostSteps):
    """ρ from stored rows of Q = scale·K (∘ block mask) + ridge·I: O(n|S|) per step."""

    def __init__(self, u: QuadraticUtility, capacity: int, kernels, codes: np.ndarray):
        super().__init__(u, capacity, kernels, codes, u.gram.dtype)
        self.rows = np.empty((capacity, u.n), dtype=u.gram.dtype)

    def column(self, j: int) -> np.ndarray:
        """Also stage row Q[j, :] for the steps."""
        u, row = self.u, self.rows[len(self.sel)]
        np.multiply(u.gram[j], u.scale, out=row)
        if u.blocks is not None:
            row *= u.blocks == u.blocks[j]
        row[j] += u.ridge
        return super().column(j)

    def step(self, w: np.ndarray, remaining, absolute: bool, tol):
        """Fused (ρ, best): ρ = c − Q[:, S]w and the feasible arg-max of the score."""
        p = len(self.sel)
        return self.kernels.gram_step(self.rows[:p], w[:p].astype(self.rows.dtype), self.u.c, self.codes,
                                      remaining, self.selected, absolute, tol)


class _FactorOperator(_HostSteps):
    """ρ in d-space, Q never formed: ρ = c − scale·S G(G_Sᵀw) − ridge·w, one pass over G.

    The stored rows are those of SG (S = diag(row_scale), or I): U = Σ_{j ∈ S} w_j s_j g_j, and
    ρ_i = c_i − scale·s_i⟨g_i, U⟩. With block-diagonal coupling every block (domain) b has its own
    residual direction U_b = Σ_{j ∈ S, b_j = b} w_j s_j g_j and ρ_i = c_i − scale·s_i⟨g_i, U_{b_i}⟩
    (still one pass over G). With a row scale the step kernel returns the unscaled correlations
    ⟨g_i, U_{b_i}⟩ (its c = 0) and the arg-max is the mask pass over ρ: two O(n) passes more.
    """

    def __init__(self, u: QuadraticUtility, capacity: int, kernels, codes: np.ndarray):
        super().__init__(u, capacity, kernels, codes, u.factor.dtype)
        self.zeros = None if u.row_scale is None else np.zeros(u.n)
        if u.blocks is None:
            self.n_blocks, self.block_codes = 1, np.zeros(u.n, dtype=np.int64)
        else:
            self.n_blocks = int(u.blocks.max()) + 1 if u.n else 1
            self.block_codes = u.blocks.astype(np.int64, copy=False)

    def step(self, w: np.ndarray, remaining, absolute: bool, tol):
        """Fused (ρ, best) in one pass over G; the ridge term touches selected (infeasible) rows only."""
        u, p = self.u, len(self.sel)
        wp = w[:p].astype(self.sel_rows.dtype)
        if u.blocks is None:
            U = self.kernels.rmatvec(self.sel_rows[:p], wp)[None, :]
        else:
            U = np.zeros((self.n_blocks, self.sel_rows.shape[1]), dtype=self.sel_rows.dtype)
            np.add.at(U, self.block_codes[self.sel], wp[:, None] * self.sel_rows[:p])
        if u.row_scale is None:
            rho, best = self.kernels.factor_step(u.factor, U, self.block_codes, u.c, u.scale, self.codes,
                                                 remaining, self.selected, absolute, tol)
            rho[self.sel] -= u.ridge * w[:p]
            return rho, best
        corr, _ = self.kernels.factor_step(u.factor, U, self.block_codes, self.zeros, -1.0, self.codes,
                                           remaining, self.selected, absolute, tol)  # corr = ⟨g_i, U_{b_i}⟩
        corr *= u.row_scale
        corr *= u.scale
        rho = np.subtract(u.c, corr, out=corr)
        rho[self.sel] -= u.ridge * w[:p]
        return rho, self.masked_best(rho, remaining, absolute, tol)


def _use_gram(u: QuadraticUtility, steps: int, precompute) -> bool:
    """Gram path if K is given or forced; 'auto': n <= 16·steps and K fits in 2 GiB.

    Forming K costs 2n²d flops at GEMM speed; the d-space path reads G once per step
    (memory bound, roughly 25× slower per flop here), so K pays off when n ≲ 25·steps.
    """
    auto = isinstance(precompute, str) and precompute == "auto"
    if not auto and not isinstance(precompute, (bool, np.bool_)):
        raise ValueError(f"precompute: expected 'auto', True or False, got {precompute!r}")
    if u.gram is not None:
        return True
    if auto:
        return u.n <= _GRAM_STEPS_FACTOR * max(steps, 1) and u.n * u.n * u.factor.itemsize <= _GRAM_MAX_BYTES
    return bool(precompute)


class _LeastSquaresFit:
    """Unconstrained weights (``nonneg=False``) by an incremental Cholesky factor of the
    independent part of S; a dependent element joins at weight 0 when that keeps F bounded."""

    def __init__(self, capacity: int, dep_tol: float):
        self.dep_tol = dep_tol
        self.L = np.zeros((capacity, capacity))
        self.Q = np.zeros((capacity, capacity))
        self.pos: list[int] = []  # positions (in selection order) held in the factor
        self.c = np.zeros(capacity)
        self.w = np.zeros(capacity)
        self.m = 0

    def add(self, q_col: np.ndarray, c_j: float, tol_j: float, max_iter: int, cap: float) -> tuple[int, int]:
        """Add the next element; UNBOUNDED (and nothing added) when it is dependent on S with
        |ρ_j| > tol_j, since then F grows without bound along its null direction, or when F
        would exceed ``cap``."""
        q = q_col[self.pos] if self.pos else np.zeros(0)
        if not cholesky_append(self.L, len(self.pos), q, q_col[-1], self.dep_tol):
            if abs(c_j - float(q_col[:-1] @ self.w[: self.m])) > tol_j:
                return UNBOUNDED, 0
            self._store(q_col, c_j)
            return CONVERGED, 0
        z = cholesky_solve(self.L, np.append(self.c[self.pos], c_j), len(self.pos) + 1)
        if not 0.5 * float(np.append(self.c[self.pos], c_j) @ z) <= cap:
            return UNBOUNDED, 0  # the factor's new row is ignored: only len(pos) rows are read
        self._store(q_col, c_j)
        self.pos.append(self.m - 1)
        self.w[: self.m] = 0.0
        self.w[self.pos] = z
        return CONVERGED, 1

    def _store(self, q_col: np.ndarray, c_j: float) -> None:
        m = self.m
        self.Q[m, : m + 1] = q_col
        self.Q[: m + 1, m] = q_col
        self.c[m] = c_j
        self.w[m] = 0.0
        self.m = m + 1

    def objective(self) -> float:
        return 0.5 * float(self.c[: self.m] @ self.w[: self.m])


#: F(S) above this multiple of the best single element's utility max_j (c_j⁺)²/(2Q_jj) counts as
#: unbounded. In the units where every Q_jj = 1 the optimum is w = Q_SS⁻¹c_S, so F that large
#: means Q_SS has an eigenvalue near 10⁻⁶ of its diagonal: the selected gradients nearly cancel
#: (0 is almost in their conic hull), the weights are ~10⁶ times their natural size, and past it
#: the float64 refit would lose more digits than the KKT tolerances allow.
HORIZON = 1e6
#: Rounding allowance of a correlation, in units of eps(data)·√Q_ii·Σ_j √Q_jj|w_j| (see solve_omp).
NOISE = 4.0


def _refit(fit, q_col: np.ndarray, c_j: float, tol_j: float, cap: float) -> tuple[int, int]:
    """Add one element to the fit: (CONVERGED, iterations) with the exact optimum on S + j, or
    UNBOUNDED / MAX_ITER with the fit unchanged (F(S + j) is +∞ or beyond ``cap``, or could not
    be resolved in float64)."""
    return fit.add(q_col, c_j, tol_j, max_iter=3 * (fit.m + 1) + 10, cap=cap)


def solve_omp(utility: QuadraticUtility, matroid: PartitionMatroid, *, randomized: bool = False,
              seed=None, on_no_gain: str = "stop", precompute="auto", tol: float | None = None,
              backend: str = "auto", device=None) -> SelectionResult:
    """OMP on a :class:`~matroidomp.objectives.QuadraticUtility` under a partition matroid.

    Every step picks a feasible element (largest residual correlation ρ_j, or the randomized
    rule's uniform pick among each domain's top rem_d) and refits the weights exactly, so
    ``objective`` and ``history`` are F of the selected sets and ``weights`` attain them.
    An element whose addition would make F unbounded (the Taylor utility of gradients whose
    conic hull would hold 0; a dependent element with nonzero ρ when ``nonneg=False``) is not
    eligible: it is skipped for good (F stays unbounded for every superset) and counted in
    ``info['n_skipped_unbounded']``; when only such elements remain the run stops with
    ``stop_reason='only_unbounded_left'``.

    Parameters
    ----------
    utility : QuadraticUtility
        The utility F (its ``nonneg`` flag decides between NNQP and least-squares weights).
    matroid : PartitionMatroid
        The per-domain budgets; ``matroid.n`` must equal ``utility.n``.
    randomized : bool, default False
        Residual random greedy (the authors' rule) instead of the deterministic argmax.
    seed : int, Generator or None
        Used only when ``randomized``.
    on_no_gain : {'stop', 'fill'}
        What to do when no feasible element has ρ_j > tol_j (see the module docstring).
    precompute : 'auto', True or False
        Form K = GGᵀ (True) or stay in d-space (False) when the utility holds G.
    tol : float, optional
        Relative, scale-invariant gain tolerance τ: element j has no gain when
        ρ_j ≤ τ·√Q_jj·max_i |c_i|/√Q_ii, i.e. adding it alone would gain at most τ²/2 of the best
        single element's utility. Default eps(dtype)^(2/3) — about 20× the rounding noise of a
        float32 correlation over 500 selected rows; a gain below it is under eps relative to F.
        The weights are refitted to the same tolerance, so ``objective`` is exact to O(τ²).
    backend : {'auto', 'numba', 'numpy', 'triton'}
        ``'auto'`` (= ``'numba'``), ``'numba'`` (fused one-pass step kernels,
        :mod:`matroidomp.kernels.omp_step`) or ``'numpy'`` (the reference,
        :mod:`matroidomp.kernels.reference`); both pick the same elements (ties → lowest index).
        ``'triton'``: the step runs on torch tensors on ``device`` (default ``'cuda'``) through
        :mod:`matroidomp.kernels.triton_omp_step` (fp32 accumulation), the NNQP refit on the host.
    device : torch device of the ``'triton'`` step; ignored by the host backends.

    Returns
    -------
    SelectionResult
        ``stop_reason`` is ``'rank_reached'``, ``'no_positive_gain'`` or
        ``'only_unbounded_left'``; ``info`` holds ``gram`` (path), ``refit_iterations``,
        ``tol`` (τ), ``backend`` and ``n_skipped_unbounded``.

    Complexity: rank·(O(n|S|) Gram | O(nd) d-space) + O(Σ|S|²) for the Cholesky updates and
    O(|S|·d) per step for the exact column of the refit.
    """
    if not isinstance(utility, QuadraticUtility):
        raise TypeError(f"utility: expected a QuadraticUtility, got {type(utility).__name__}")
    if not isinstance(matroid, PartitionMatroid):
        raise TypeError(f"matroid: expected a PartitionMatroid, got {type(matroid).__name__}")
    if matroid.n != utility.n:
        raise ValueError(f"matroid has {matroid.n} elements but the pool has {utility.n}")
    if on_no_gain not in _ON_NO_GAIN:
        raise ValueError(f"on_no_gain: expected one of {_ON_NO_GAIN}, got {on_no_gain!r}")
    steps = matroid.rank
    gram_path = _use_gram(utility, steps, precompute)
    if gram_path and utility.gram is None:
        utility = utility.with_gram()
    op = _operator(utility, gram_path, steps, matroid.codes, backend, device)
    c = utility.c
    data_dtype = np.dtype(np.float32) if backend == "triton" else (utility.gram if gram_path else utility.factor).dtype
    eps = float(np.finfo(data_dtype).eps)
    rtol = eps ** (2 / 3) if tol is None else check_nonnegative_scalar(tol, "tol")
    root = np.sqrt(np.maximum(utility.diagonal(), 0.0))
    live = root > 0
    sigma = float(np.max(np.abs(c[live]) / root[live], initial=0.0))
    rng = make_rng(seed) if randomized else None
    absolute = not utility.nonneg

    # columns from G are exact (float64 products); columns read from a given K carry its rounding
    dep_tol = DEPENDENCE_TOL if utility.factor is not None else input_tolerances(np.finfo(utility.gram.dtype).eps)[1]
    fit = ActiveSetNNQP(steps, dep_tol) if utility.nonneg else _LeastSquaresFit(steps, dep_tol)
    gainable = np.abs(c) if absolute else np.maximum(c, 0.0)  # best single element: max c_j⁺²/(2Q_jj)
    cap = HORIZON * float(np.max(gainable[live] / root[live], initial=0.0)) ** 2 / 2
    counts = np.zeros(matroid.n_domains, dtype=np.int64)
    order: list[int] = []
    history: list[float] = []
    w = np.zeros(steps)
    objective = 0.0
    rho = op.c
    stale = False  # ρ is out of date: the weights changed since it was computed
    stop = STOP_RANK
    refit_iters = 0
    skipped: list[int] = []  # F(S + j) unbounded or beyond the horizon
    unresolved: list[int] = []  # the float64 refit could not decide
    factor = rtol * sigma  # tol_i = √Q_ii·factor
    step_tols = op.tolerances(root, factor)
    while len(order) < steps:
        remaining = matroid.budgets - counts
        if stale:
            # ρ_i = c_i − Σ_j Q_ij w_j carries rounding up to ~eps·√Q_ii·Σ_j √Q_jj|w_j|
            # (|Q_ij| ≤ √(Q_ii Q_jj)): scores under it are noise and tie, on every backend
            factor = rtol * sigma + NOISE * eps * float(root[order] @ np.abs(w[: len(order)]))
            step_tols = op.tolerances(root, factor)
            rho, best = op.step(w, remaining, absolute, step_tols)
            stale = False
        else:  # same ρ: only the mask changed
            best = op.masked_best(rho, remaining, absolute, step_tols)
        if best < 0:  # every feasible element left would make F unbounded
            stop = STOP_UNBOUNDED_LEFT
            break
        best_score = abs(op.value(rho, best)) if absolute else op.value(rho, best)
        if not best_score > root[best] * factor and on_no_gain == "stop":
            stop = STOP_NO_GAIN
            break
        j = op.random_pick(rho, remaining, absolute, step_tols, rng) if randomized else best
        p = len(order)
        code, it = _refit(fit, op.column(j), c[j], rtol * sigma * root[j], cap)
        refit_iters += it
        if code != CONVERGED:
            op.exclude(j)
            (skipped if code == UNBOUNDED else unresolved).append(j)
            continue
        op.commit(j)
        if it:
            w[: p + 1] = fit.w[: p + 1]
            objective = fit.objective()
            stale = True
        order.append(j)
        counts[matroid.codes[j]] += 1
        history.append(objective)

    p = len(order)
    idx = np.asarray(order, dtype=np.int64)
    return SelectionResult(
        indices=idx,
        weights=w[:p].copy(),
        objective=float(objective),
        history=np.asarray(history, dtype=np.float64),
        counts=matroid.count_dict(idx),
        stop_reason=stop,
        info={"gram": gram_path, "refit_iterations": refit_iters, "tol": rtol,
              "backend": "numba" if backend == "auto" else backend,
              "n_skipped_unbounded": len(skipped), "skipped_unbounded": np.asarray(skipped, dtype=np.int64),
              "n_skipped_unresolved": len(unresolved), "skipped_unresolved": np.asarray(unresolved, dtype=np.int64)},
    )


def omp(G, b, matroid: PartitionMatroid, *, lam: float = 0.0, nonneg: bool = True, randomized: bool = False,
        seed=None, precompute="auto", on_no_gain: str = "stop", tol: float | None = None,
        backend: str = "auto") -> SelectionResult:
    """Gradient-matching OMP: pick S to maximise ½‖b‖² − ½ min_w (‖G_Sᵀw − b‖² + λ‖w‖²).

    ``G`` is (n, d) per-example gradients, ``b`` the (d,) target; weights are ≥ 0 unless
    ``nonneg=False``. ``precompute='auto'`` forms the Gram matrix when that is cheaper than n·d
    work per step (n ≤ 16·rank and K ≤ 2 GiB); otherwise OMP runs in d-space and never forms
    an n × n matrix. See :func:`solve_omp` for the other options.

    ``indices`` and ``weights`` come back in the framework and on the device of ``G`` and ``b``
    (which must agree; see :mod:`matroidomp._backend`).
    """
    arrays = detect(G=G, b=b)
    u = QuadraticUtility.gradient_matching(G, b, lam, nonneg=nonneg)
    return arrays.selection(solve_omp(u, matroid, randomized=randomized, seed=seed, on_no_gain=on_no_gain,
                                      precompute=precompute, tol=tol, backend=arrays.step_backend(backend),
                                      device=arrays.device))


def omp_gram(K, c, matroid: PartitionMatroid, *, lam: float = 0.0, nonneg: bool = True, randomized: bool = False,
             seed=None, on_no_gain: str = "stop", tol: float | None = None, backend: str = "auto",
             check_psd: bool = True) -> SelectionResult:
    """OMP on a precomputed PSD Gram matrix: maximise F(S) = max{cᵀw − ½wᵀ(K + λI)w} over S.

    With K = GGᵀ and c = Gb this is :func:`omp` without the GEMM. K is checked to be PSD (a
    Cholesky factorisation of K + δI, O(n³/3); ``check_psd=False`` skips it, see
    :meth:`QuadraticUtility.from_gram`). ``indices`` and ``weights`` come back in the framework
    and on the device of ``K`` and ``c``.
    """
    arrays = detect(K=K, c=c)
    u = QuadraticUtility.from_gram(K, c, lam, nonneg=nonneg, check_psd=check_psd)
    return arrays.selection(solve_omp(u, matroid, randomized=randomized, seed=seed, on_no_gain=on_no_gain,
                                      tol=tol, backend=arrays.step_backend(backend), device=arrays.device))
