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

Guarantees (see :mod:`matroidomp.bounds`): deterministic OMP reaches αγ/(1+αγ)·OPT where γ is
the diminishing-returns ratio and α = m/M the ratio of restricted eigenvalues; the randomized
rule (1 + 1/(αγ))⁻² ·OPT in expectation.

When no feasible element has positive correlation, no element can raise F
(F(S+j) − F(S) ≤ ρ_j⁺²/(2λ_min)). ``on_no_gain='stop'`` (default) ends there;
``on_no_gain='fill'`` fills the remaining budgets with the best remaining elements at weight 0,
which training loops that need exactly k examples want.
"""

from __future__ import annotations

import numpy as np

from ._backend import detect
from ._validation import check_nonnegative_scalar, make_rng
from .kernels import omp_step, reference
from .kernels.cholesky import cholesky_append, cholesky_solve
from .matroid import PartitionMatroid
from ._nnqp import ActiveSetNNQP
from .objectives import QuadraticUtility
from .result import STOP_DEPENDENT, STOP_NO_GAIN, STOP_RANK, SelectionResult

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
    """What a step does besides ρ, shared by the host operators: the selection mask (S and the
    matroid's codes), the masked arg-max of an unchanged ρ, ρ_j, the randomized rule's pick."""

    def __init__(self, u: QuadraticUtility, kernels, codes: np.ndarray, dtype):
        self.u = u
        self.c = u.c
        self.kernels = kernels
        self.codes = codes
        self.dtype = dtype
        self.selected = np.zeros(u.n, dtype=bool)
        self.sel: list[int] = []

    def _select(self, j: int) -> None:
        self.sel.append(j)
        self.selected[j] = True

    def masked_best(self, rho, remaining, absolute: bool, tol: float) -> int:
        """The feasible arg-max of an unchanged ρ under the current mask (a p = 0 step)."""
        empty = np.empty((0, self.u.n), dtype=self.dtype)
        return self.kernels.gram_step(empty, np.empty(0, dtype=self.dtype), rho, self.codes, remaining,
                                      self.selected, absolute, tol)[1]

    @staticmethod
    def value(rho, j: int) -> float:
        return float(rho[j])

    def random_pick(self, rho, remaining, absolute: bool, tol: float, rng) -> tuple[int, bool]:
        """Residual random greedy: a uniform pick among every domain's top rem_d feasible scores."""
        score = reference.feasible_scores(rho, absolute, tol)
        pool = self.kernels.shortlist(score, self.codes, remaining, self.selected)
        j = int(pool[rng.integers(pool.size)])
        return j, bool(score[j] > tol)


class _GramOperator(_HostSteps):
    """ρ from stored rows of Q = scale·K (∘ block mask) + ridge·I: O(n|S|) per step."""

    def __init__(self, u: QuadraticUtility, capacity: int, kernels, codes: np.ndarray):
        super().__init__(u, kernels, codes, u.gram.dtype)
        self.rows = np.empty((capacity, u.n), dtype=u.gram.dtype)

    def append(self, j: int) -> np.ndarray:
        """Store row Q[j, :]; return Q[S + j, j] (float64, diagonal last)."""
        u, p = self.u, len(self.sel)
        row = self.rows[p]
        np.multiply(u.gram[j], u.scale, out=row)
        if u.blocks is not None:
            row *= u.blocks == u.blocks[j]
        row[j] += u.ridge
        self._select(j)
        return self.rows[: p + 1, j].astype(np.float64)

    def step(self, w: np.ndarray, remaining, absolute: bool, tol: float):
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
        super().__init__(u, kernels, codes, u.factor.dtype)
        self.sel_rows = np.empty((capacity, u.factor.shape[1]), dtype=u.factor.dtype)
        self.zeros = None if u.row_scale is None else np.zeros(u.n)
        if u.blocks is None:
            self.n_blocks, self.block_codes = 1, np.zeros(u.n, dtype=np.int64)
        else:
            self.n_blocks = int(u.blocks.max()) + 1 if u.n else 1
            self.block_codes = u.blocks.astype(np.int64, copy=False)

    def append(self, j: int) -> np.ndarray:
        u, p = self.u, len(self.sel)
        self.sel_rows[p] = u.scaled_rows(j)
        self._select(j)
        col = self.kernels.matvec(self.sel_rows[: p + 1], self.sel_rows[p]).astype(np.float64) * u.scale
        if u.blocks is not None:
            col *= u.blocks[self.sel] == u.blocks[j]
        col[-1] += u.ridge
        return col

    def step(self, w: np.ndarray, remaining, absolute: bool, tol: float):
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
    """Unconstrained weights on the independent part of S by an incremental Cholesky factor."""

    def __init__(self, capacity: int):
        self.L = np.zeros((capacity, capacity))
        self.pos: list[int] = []  # positions (in selection order) held in the factor
        self.c = np.zeros(capacity)

    def add(self, pos: int, q_col: np.ndarray, c_j: float) -> bool:
        q = q_col[self.pos] if self.pos else np.zeros(0)
        if not cholesky_append(self.L, len(self.pos), q, q_col[pos], 1e-10):
            return False
        self.c[len(self.pos)] = c_j
        self.pos.append(pos)
        return True

    def weights(self, p: int) -> tuple[np.ndarray, float]:
        w = np.zeros(p)
        k = len(self.pos)
        if k:
            z = cholesky_solve(self.L, self.c, k)
            w[self.pos] = z
            return w, 0.5 * float(self.c[:k] @ z)
        return w, 0.0


def solve_omp(utility: QuadraticUtility, matroid: PartitionMatroid, *, randomized: bool = False,
              seed=None, on_no_gain: str = "stop", precompute="auto", tol: float | None = None,
              backend: str = "auto", device=None) -> SelectionResult:
    """OMP on a :class:`~matroidomp.objectives.QuadraticUtility` under a partition matroid.

    Parameters
    ----------
    utility : the utility F (its ``nonneg`` flag decides between NNQP and least-squares weights).
    matroid : the per-domain budgets; ``matroid.n`` must equal ``utility.n``.
    randomized : residual random greedy (authors' rule) instead of the deterministic argmax.
    seed : int, Generator or None; used only when ``randomized``.
    on_no_gain : ``'stop'`` or ``'fill'`` (see module docstring).
    precompute : ``'auto'``, True (form K = GGᵀ) or False (d-space) when the utility holds G.
    tol : correlations with |ρ| ≤ tol count as zero (no gain; ties broken by lowest index);
        default eps(dtype)^(2/3)·max|c| — about 20× the rounding noise of a float32 correlation
        over 500 selected rows, while a gain ρ²/2 below it is under eps relative to c².
        Elements added at weight 0 (fill, randomized picks) get one final joint refit, so
        ``weights`` and ``objective`` are exact for the returned set.
    backend : ``'auto'`` (= ``'numba'``), ``'numba'`` (fused one-pass step kernels,
        :mod:`matroidomp.kernels.omp_step`) or ``'numpy'`` (the reference,
        :mod:`matroidomp.kernels.reference`); both pick the same elements (ties → lowest index).
        ``'triton'``: the step runs on torch tensors on ``device`` (default ``'cuda'``) through
        :mod:`matroidomp.kernels.triton_omp_step` (fp32 accumulation; float64 data is rounded to
        float32 there), the NNQP refit on the host: per step |S| weights go to the device and
        |S| + 2 numbers come back. :func:`omp`, :func:`omp_gram` and :func:`partitionsel` choose
        it under ``'auto'`` for CUDA tensors. CPU tensors run only under ``TRITON_INTERPRET=1``.
    device : torch device of the ``'triton'`` step; ignored by the host backends.

    Complexity: rank·(O(n|S|) Gram | O(nd) d-space) + O(Σ|S|²) for the Cholesky updates.
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
    if tol is None:
        tol = np.finfo(data_dtype).eps ** (2 / 3) * max(float(np.max(np.abs(c))) if c.size else 0.0, 1e-300)
    tol = check_nonnegative_scalar(tol, "tol")
    rng = make_rng(seed) if randomized else None

    nnqp_fit = ActiveSetNNQP(steps, tol=tol) if utility.nonneg else None
    ls_fit = None if utility.nonneg else _LeastSquaresFit(steps)
    counts = np.zeros(matroid.n_domains, dtype=np.int64)
    order: list[int] = []
    history: list[float] = []
    w = np.zeros(steps)
    objective = 0.0
    absolute = not utility.nonneg
    rho = op.c
    stale = False  # ρ is out of date: the weights changed since it was computed
    stop = STOP_RANK
    refit_iters = 0
    unfitted = False  # elements added at weight 0 without a refit (fill, or a randomized pick)
    for _ in range(steps):
        remaining = matroid.budgets - counts
        if stale:
            rho, best = op.step(w, remaining, absolute, tol)
            stale = False
        else:  # same ρ: only the mask changed
            best = op.masked_best(rho, remaining, absolute, tol)
        if best < 0:
            break
        best_score = abs(op.value(rho, best)) if absolute else op.value(rho, best)
        if not best_score > tol and on_no_gain == "stop":
            stop = STOP_NO_GAIN
            break
        if randomized:
            j, gain = op.random_pick(rho, remaining, absolute, tol, rng)
        else:
            j, gain = best, best_score > tol
        p = len(order)
        q_col = op.append(j)
        if nnqp_fit is not None:
            nnqp_fit.extend(q_col, c[j])
        if gain:
            if nnqp_fit is not None:
                _, it = nnqp_fit.solve(max_iter=3 * (p + 1) + 10, optimal_on_passive=True)
                refit_iters += it
                w[: p + 1] = nnqp_fit.w[: p + 1]
                objective = nnqp_fit.objective()
            elif ls_fit.add(p, q_col, c[j]):
                w[: p + 1], objective = ls_fit.weights(p + 1)
            else:
                op.sel.pop()
                stop = STOP_DEPENDENT
                break
            stale = True
        else:
            unfitted = True
        order.append(j)
        counts[matroid.codes[j]] += 1
        history.append(objective)

    p = len(order)
    if unfitted and nnqp_fit is not None:
        # weight-0 elements were never refitted; one final solve makes w and F exact for S
        _, it = nnqp_fit.solve(max_iter=3 * p + 10, optimal_on_passive=True)
        refit_iters += it
        w[:p] = nnqp_fit.w[:p]
        objective = nnqp_fit.objective()
        history[-1] = objective
    idx = np.asarray(order, dtype=np.int64)
    return SelectionResult(
        indices=idx,
        weights=w[:p].copy(),
        objective=float(objective),
        history=np.asarray(history, dtype=np.float64),
        counts=matroid.count_dict(idx),
        stop_reason=stop,
        info={"gram": gram_path, "refit_iterations": refit_iters, "tol": tol,
              "backend": "numba" if backend == "auto" else backend},
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
             seed=None, on_no_gain: str = "stop", tol: float | None = None, backend: str = "auto") -> SelectionResult:
    """OMP on a precomputed PSD Gram matrix: maximise F(S) = max{cᵀw − ½wᵀ(K + λI)w} over S.

    With K = GGᵀ and c = Gb this is :func:`omp` without the GEMM. ``indices`` and ``weights``
    come back in the framework and on the device of ``K`` and ``c``.
    """
    arrays = detect(K=K, c=c)
    u = QuadraticUtility.from_gram(K, c, lam, nonneg=nonneg)
    return arrays.selection(solve_omp(u, matroid, randomized=randomized, seed=seed, on_no_gain=on_no_gain,
                                      tol=tol, backend=arrays.step_backend(backend), device=arrays.device))
