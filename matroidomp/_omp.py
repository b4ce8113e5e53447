"""Orthogonal matching pursuit under a partition matroid, with exact nonnegative weights.

For a utility F(S) = max{cᵀw − ½wᵀQw : w ≥ 0, supp w ⊆ S} (see :mod:`matroidomp._objectives`)::

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
(rem_d = remaining budget) and pick one uniformly at random — the t-th draw is
:func:`matroidomp.kernels.omp_loop.uniform_index` of one key taken from the caller's Generator,
so every backend draws the same sequence.

Where it runs. The n-sized work — c, K, ρ, the mask and arg-max, the shortlist — stays in the
namespace and on the device of the utility's arrays. On host arrays (numpy, CPU tensors viewed in
place) the default ``'numba'`` backend runs the whole loop compiled
(:mod:`matroidomp.kernels.omp_loop`, no Python between steps); ``'numpy'`` is the reference
loop below with :mod:`matroidomp.kernels.reference` steps. On torch (CPU or CUDA) and cupy the
same reference loop runs with the arrays' own operations, and with the Triton fused step on CUDA
(``'auto'``/``'torch'``) or on request (``'triton'``). The NNQP refit always runs on the host on
the |S| × |S| system: per step |S| weights go to the device and the new column Q[S, j]
(|S| + 1 numbers), the arg-max and its ρ come back — O(|S|) numbers, never an n-sized array.

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
would make F unbounded is never selected (see :func:`solve_omp`; one in ``initial`` raises).

``initial=A`` makes the first |A| steps add A's elements in order, whatever their ρ and without
a draw; the loop then goes on from S = A under the budgets left (see :func:`solve_omp`).
"""

from __future__ import annotations

import importlib

import array_api_compat
import numpy as np

from ._array import Backend, detect, dtype_name, float_eps, host_views, is_low_precision, to_host
from ._nnqp import DEFAULT_RTOL, ActiveSetNNQP, input_tolerances
from ._objectives import QuadraticUtility
from ._validation import check_nonnegative_scalar, make_rng
from .kernels import omp_loop, reference
from .kernels.active_set import DEPENDENCE_TOL
from .kernels.cholesky import cholesky_append, cholesky_solve
from .kernels.status import CONVERGED, MAX_ITER, UNBOUNDED
from ._matroid import PartitionMatroid, check_initial
from ._progress import make_progress
from ._result import STOP_CALLBACK, STOP_NO_GAIN, STOP_RANK, STOP_UNBOUNDED_LEFT, SelectionResult

ON_NO_GAIN = ("stop", "fill")
#: The Gram path is chosen when n <= this many times the number of steps (see _use_gram).
_GRAM_STEPS_FACTOR = 16
_GRAM_MAX_BYTES = 2 << 30
BACKENDS = ("auto", "numba", "numpy", "torch", "cupy", "triton")
#: F(S) above this multiple of the best single element's utility max_j (c_j⁺)²/(2Q_jj) counts as
#: unbounded. In the units where every Q_jj = 1 the optimum is w = Q_SS⁻¹c_S, so F that large
#: means Q_SS has an eigenvalue near 10⁻⁶ of its diagonal: the selected gradients nearly cancel
#: (0 is almost in their conic hull), the weights are ~10⁶ times their natural size, and past it
#: the float64 refit would lose more digits than the KKT tolerances allow.
HORIZON = 1e6
#: Rounding allowance of a correlation, in units of eps(data)·√(|S| + 1)·√Q_ii·Σ_j √Q_jj|w_j|: the
#: typical error of a sum of |S| rounded terms grows like √|S| (see solve_omp).
NOISE = 4.0
#: On the Gram path the refit's columns are computed exactly (float64 products of the rows of G,
#: O(|S|·d) a step) when d ≤ this many times n: then they cost at most a few steps' O(|S|·n), and
#: that is the regime (|S| near d) where the rounding of K could decide the weights; with d ≫ n
#: they are read from K (O(|S|) a step).
EXACT_COLUMNS_DIM_FACTOR = 4


def _exact_columns(u: QuadraticUtility, gram_path: bool) -> bool:
    """Whether the refit's columns come from G in float64 (always in d-space; see above)."""
    if u.factor is None:
        return False
    return not gram_path or int(u.factor.shape[1]) <= EXACT_COLUMNS_DIM_FACTOR * u.n
_STOPS = {omp_loop.STOP_RANK: STOP_RANK, omp_loop.STOP_NO_GAIN: STOP_NO_GAIN,
          omp_loop.STOP_UNBOUNDED_LEFT: STOP_UNBOUNDED_LEFT, omp_loop.STOP_CALLBACK: STOP_CALLBACK}


def resolve_backend(backend: str, arrays: Backend) -> str:
    """The concrete backend for ``backend`` and the arrays' namespace/device.

    ``'auto'``: host arrays (numpy, CPU tensors) → ``'numba'``; CUDA tensors → ``'torch'`` (whose
    step is the Triton kernel on CUDA when triton is installed); cupy arrays → ``'cupy'``.
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")
    if backend != "auto":
        if backend == "cupy" and not arrays.is_cupy:
            raise ValueError("backend 'cupy' needs cupy arrays")
        return backend
    if arrays.is_host:
        return "numba"
    return "cupy" if arrays.is_cupy else "torch"


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
        itemsize = 4 if dtype_name(u.factor) in ("float16", "bfloat16", "float32") else 8
        return u.n <= _GRAM_STEPS_FACTOR * max(steps, 1) and u.n * u.n * itemsize <= _GRAM_MAX_BYTES
    return bool(precompute)


def _moved(u: QuadraticUtility, target: Backend) -> QuadraticUtility:
    """``u`` with its arrays in ``target`` (one documented copy; a no-op when already there)."""
    if u.backend.xp is target.xp and u.backend.device == target.device:
        return u
    out = object.__new__(QuadraticUtility)
    out.__dict__.update(u.__dict__)
    for name in ("c", "factor", "gram", "row_scale", "_diagonal"):
        arr = getattr(u, name)
        if arr is not None:
            host = to_host(arr)
            setattr(out, name, host if target.is_numpy else target.asarray(np.ascontiguousarray(host)))
    out.backend = target
    return out


def _host_backend(u: QuadraticUtility) -> QuadraticUtility:
    """The host view of ``u`` for the numba backend: numpy arrays (CPU tensors in place; device
    arrays copied once — ``backend='numba'`` on CUDA tensors is that one documented copy)."""
    from ._array import NUMPY

    return _moved(u, NUMPY)


def _torch_backend(u: QuadraticUtility, device) -> QuadraticUtility:
    """``u`` on torch (``device``, default: where its arrays are, or CUDA for host arrays)."""
    import torch

    if u.backend.is_torch and device is None:
        return u
    dev = torch.device(device if device is not None else ("cuda" if u.backend.is_numpy else u.backend.device))
    return _moved(u, Backend(detect(x=torch.zeros(0, device=dev)).xp, dev))


def scale_terms(xp, diagonal, c, absolute: bool):
    """(√Q_ii, σ, γ) of a block of elements: σ = max_i |c_i|/√Q_ii and γ = max_i gainable_i/√Q_ii
    over the live i (Q_ii > 0), gainable = c⁺ (|c| without nonnegativity); σ = γ = 0 for an empty
    block. The maxima of a pool are the maxima over any split of it into blocks (the distributed
    path computes them chunk by chunk). Only the two scalars come to the host.
    """
    root = xp.sqrt(xp.clip(diagonal, 0.0, None) if hasattr(xp, "clip") else diagonal)
    if not int(c.shape[0]):
        return root, 0.0, 0.0
    live = root > 0
    safe = xp.where(live, root, xp.ones_like(root))
    ratio = xp.where(live, xp.abs(c) / safe, xp.zeros_like(root))
    gain = xp.where(live, (xp.abs(c) if absolute else xp.where(c > 0, c, xp.zeros_like(c))) / safe,
                    xp.zeros_like(root))
    return root, float(xp.max(ratio)), float(xp.max(gain))


class Scales:
    """The per-element scales of the stopping rule and horizon.

    tol_i = √Q_ii·(τσ + NOISE·eps·√(|S|+1)·Σ_{j∈S} √Q_jj w_j), σ = max_i |c_i|/√Q_ii (over Q_ii > 0);
    the horizon is HORIZON·γ²/2 with γ = max_i gainable_i/√Q_ii (:func:`scale_terms`). ``root``
    (√Q_ii on the device) is None where the elements live elsewhere (the distributed path).
    """

    def __init__(self, root, sigma: float, gain: float, rtol: float, eps: float, refit_rtol: float):
        self.root = root
        self.sigma = sigma
        self.cap = HORIZON * gain**2 / 2
        self.base = rtol * sigma
        self.refit = refit_rtol * sigma
        self.noise = NOISE * eps

    @classmethod
    def of(cls, u: QuadraticUtility, rtol: float, eps: float, absolute: bool, refit_rtol: float) -> "Scales":
        """The scales of ``u``, computed on its device."""
        root, sigma, gain = scale_terms(u.backend.xp, u.diagonal(), u.c, absolute)
        return cls(root, sigma, gain, rtol, eps, refit_rtol)


def loop_tolerances(data, tol, exact: bool, single: bool = False) -> tuple[float, float, float, float]:
    """(eps, τ, refit τ, dependence tolerance) of a run on ``data`` (G or K, or an empty array of
    their dtype): eps is the data's rounding (float32's when ``single``, the Triton kernels' and
    half precision's accumulation); τ = ``tol`` or eps^(2/3). Columns computed exactly from G
    (``exact``) hold the refit to float64's KKT tolerance, columns read from K to the input's."""
    eps = 2.0**-23 if single or is_low_precision(data) else float_eps(data)
    rtol = eps ** (2 / 3) if tol is None else check_nonnegative_scalar(tol, "tol")
    refit_rtol, dep_tol = (DEFAULT_RTOL, DEPENDENCE_TOL) if exact else input_tolerances(float_eps(data))
    return eps, rtol, (min(refit_rtol, rtol) if tol is not None else refit_rtol), dep_tol


def selection_result(matroid: PartitionMatroid, res, info: dict) -> SelectionResult:
    """The :class:`SelectionResult` of an OMP loop's output ``res`` (order, weights, history,
    stop, refit iterations, skipped, unresolved), with ``info`` and the common entries added."""
    order, weights, history, stop, refits, skipped, unresolved = res
    idx = np.asarray(order, dtype=np.int64)
    return SelectionResult(
        indices=idx,
        weights=np.asarray(weights, dtype=np.float64),
        objective=float(history[-1]) if len(history) else 0.0,
        history=np.asarray(history, dtype=np.float64),
        counts=matroid.count_dict(idx),
        stop_reason=stop,
        info={**info, "refit_iterations": int(refits),
              "n_skipped_unbounded": len(skipped), "skipped_unbounded": np.asarray(skipped, dtype=np.int64),
              "n_skipped_unresolved": len(unresolved), "skipped_unresolved": np.asarray(unresolved, dtype=np.int64)},
    )


def rng_key(randomized: bool, seed) -> int:
    """The randomized rule's stream key: one 63-bit draw from the caller's Generator."""
    return int(make_rng(seed).integers(0, 2**63 - 1)) if randomized else 0


def solve_omp(utility: QuadraticUtility, matroid: PartitionMatroid, *, randomized: bool = False,
              seed=None, on_no_gain: str = "stop", precompute="auto", tol: float | None = None,
              backend: str = "auto", device=None, verbose: bool = False, callback=None,
              initial=None) -> SelectionResult:
    """OMP on a :class:`~matroidomp.QuadraticUtility` under a partition matroid.

    Every step picks a feasible element (largest residual correlation ρ_j, or the randomized
    rule's uniform pick among each domain's top rem_d) and refits the weights exactly, so
    ``objective`` and ``history`` are F of the selected sets and ``weights`` attain them.
    An element whose addition would make F unbounded (the Taylor utility of gradients whose
    conic hull would hold 0; a dependent element with nonzero ρ when ``nonneg=False``) is not
    eligible: it is skipped for good (F stays unbounded for every superset) and listed in
    ``info['skipped_unbounded']`` (an element of ``initial`` is never skipped: it raises
    ValueError); when only such elements remain the run stops with
    ``stop_reason='only_unbounded_left'``. F beyond 10⁶ times the best single element's utility
    counts as unbounded (:data:`HORIZON`; docs/theory.md §3.1).

    With ``initial=A`` the first |A| steps add A's elements in the given order, whatever their ρ
    and without a random draw, each refitted exactly (the randomized rule's stream starts after
    them); then OMP runs under the budgets left (k_d − |A ∩ d|, the randomized rule's rem_d). This
    is OMP on the contracted utility g(T) = F(A ∪ T) − F(A) (its ρ at T is F's at A ∪ T), so the
    guarantees of the module docstring hold for g, relative to max over feasible T of
    F(A ∪ T) − F(A), with the rank left (rank − |A|) and α, γ taken over supports that contain A
    (contraction keeps the submodularity ratio of a weakly submodular F from dropping).

    Parameters
    ----------
    utility : QuadraticUtility
        The utility F (its ``nonneg`` flag decides between NNQP and least-squares weights).
    matroid : PartitionMatroid
        The per-domain budgets; ``matroid.n`` must equal ``utility.n``.
    randomized : bool, default False
        Residual random greedy (the authors' rule) instead of the deterministic argmax.
    seed : int, Generator or None
        Used only when ``randomized`` (one 63-bit key is drawn from it).
    on_no_gain : {'stop', 'fill'}
        What to do when no feasible element has ρ_j > tol_j (see the module docstring).
    precompute : 'auto', True or False
        Form K = GGᵀ (True) or stay in d-space (False) when the utility holds G.
    tol : float, optional
        Relative, scale-invariant gain tolerance τ: element j has no gain when
        ρ_j ≤ √Q_jj·(τσ + 4·eps·√(|S|+1)·Σ_{i∈S}√Q_ii w_i), σ = max_i |c_i|/√Q_ii — adding it alone would
        gain at most τ²/2 of the best single element's utility, or its ρ is rounding. Default
        eps(dtype)^(2/3). The weights are refitted to τ, so ``objective`` is exact to O(τ²).
    backend : {'auto', 'numba', 'numpy', 'torch', 'cupy', 'triton'}
        ``'auto'``: ``'numba'`` for host arrays (numpy, CPU tensors read in place), ``'torch'``
        for CUDA tensors, ``'cupy'`` for cupy arrays. ``'numba'``: the compiled loop
        (:mod:`matroidomp.kernels.omp_loop`; device arrays are copied to the host once).
        ``'numpy'``: the reference loop with :mod:`matroidomp.kernels.reference` steps.
        ``'torch'``/``'cupy'``: the reference loop in the arrays' namespace on their device, with
        the Triton fused step (:mod:`matroidomp.kernels.triton_omp_step`) for CUDA tensors when
        triton is installed; ``'triton'`` forces that step (CPU tensors need TRITON_INTERPRET=1).
        All select the same elements up to rounding ties.
    device : torch device, optional
        For ``'torch'``/``'triton'`` with host arrays: where to move them (default CUDA).
    verbose : bool, default False
        Show a tqdm progress bar (stderr), one tick per selected element, F(S) in its postfix.
    callback : callable, optional
        ``callback(step, index, objective)`` after each selection (``objective`` =
        ``history[step - 1]``); returning False stops the run with the selection so far and its
        exact weights (``stop_reason='stopped_by_callback'``). On the compiled loop both are
        served from an object-mode block once per step (a few µs), and select exactly what a run
        without them selects.
    initial : sequence of int, optional
        Elements A the selection starts from (numpy, list, torch or cupy indices; distinct, within
        the budgets), added first in the given order whatever their ρ, counted against the
        budgets. An element of A may end at weight 0 (``nonneg``). None or empty: a run from ∅.
        ``indices`` begins with A, ``history`` and ``counts`` include it; no callback or progress
        tick for A's elements (the callback's first ``step`` is |A| + 1).

    Returns
    -------
    SelectionResult
        ``stop_reason`` is ``'rank_reached'``, ``'no_positive_gain'``,
        ``'only_unbounded_left'`` or ``'stopped_by_callback'``; ``info`` holds ``gram`` (path), ``refit_iterations``,
        ``tol`` (τ), ``backend``, ``skipped_unbounded``/``n_skipped_unbounded`` and
        ``skipped_unresolved``/``n_skipped_unresolved`` (refits float64 could not resolve).

    Raises
    ------
    TypeError, ValueError
        A utility or matroid of the wrong type or size, an unknown option, ``verbose`` not a bool
        or ``callback`` not callable; ``initial`` not 1-D integers, out of range, repeated or
        over a budget, or holding an element whose addition makes F unbounded (as above; it is
        never skipped) or that the float64 refit cannot resolve.

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> G = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> u = mo.QuadraticUtility.gradient_matching(G, np.array([1.0, 1.0]))
    >>> res = mo.solve_omp(u, mo.PartitionMatroid.cardinality(3, 2))
    >>> res.indices.tolist(), res.objective
    ([2], 1.0)
    >>> res = mo.solve_omp(u, mo.PartitionMatroid.cardinality(3, 2), initial=[0])  # {0} first
    >>> res.indices.tolist(), res.objective
    ([0, 1], 1.0)

    Complexity: rank·(O(n|S|) Gram | O(nd) d-space) + O(Σ|S|²) for the Cholesky updates.
    """
    if not isinstance(utility, QuadraticUtility):
        raise TypeError(f"utility: expected a QuadraticUtility, got {type(utility).__name__}")
    if not isinstance(matroid, PartitionMatroid):
        raise TypeError(f"matroid: expected a PartitionMatroid, got {type(matroid).__name__}")
    if matroid.n != utility.n:
        raise ValueError(f"matroid has {matroid.n} elements but the pool has {utility.n}")
    if on_no_gain not in ON_NO_GAIN:
        raise ValueError(f"on_no_gain: expected one of {ON_NO_GAIN}, got {on_no_gain!r}")
    forced = check_initial(initial, matroid)
    kind = resolve_backend(backend, utility.backend)
    steps = matroid.rank
    gram_path = _use_gram(utility, steps, precompute)
    if kind == "numba":
        utility = _host_backend(utility)
    elif kind in ("torch", "triton"):
        utility = _torch_backend(utility, device)
    elif kind == "numpy" and not utility.backend.is_numpy:
        utility = _host_backend(utility)
    if gram_path and utility.gram is None:
        utility = utility.with_gram()
    data = utility.gram if gram_path else utility.factor
    use_triton = kind == "triton" or (kind == "torch" and utility.backend.is_cuda and _triton_available())
    # columns from G are exact (float64 products): the refit is then held to float64's KKT
    # tolerance; columns read from K carry K's rounding and get the input's tolerances
    eps, rtol, refit_rtol, dep_tol = loop_tolerances(data, tol, _exact_columns(utility, gram_path), use_triton)
    absolute = not utility.nonneg
    scales = Scales.of(utility, rtol, eps, absolute, refit_rtol)
    key = rng_key(randomized, seed)
    report = make_progress(verbose, callback, steps, "omp", initial=forced.size)
    try:
        if kind == "numba" and utility.nonneg:
            res = _compiled(utility, matroid, gram_path, randomized, key, on_no_gain == "fill", scales, dep_tol,
                            forced, report)
        else:
            steps_op = _ArraySteps(utility, gram_path, steps, matroid, use_triton)
            res = reference_loop(utility.nonneg, matroid, steps_op, randomized, key, on_no_gain, scales, dep_tol,
                                 forced=forced, report=report)
    finally:
        if report is not None:
            report.close()
    return selection_result(matroid, res, {"gram": gram_path, "tol": rtol,
                                           "backend": "triton" if use_triton else kind})


def _triton_available() -> bool:
    try:
        importlib.import_module("matroidomp.kernels.triton_omp_step")
    except ImportError:
        return False
    return True


def _compiled(u: QuadraticUtility, matroid: PartitionMatroid, gram_path: bool, randomized: bool, key: int,
              fill: bool, scales: Scales, dep_tol: float, forced: np.ndarray, report=None):
    """Run :func:`matroidomp.kernels.omp_loop.omp_loop` on the host arrays of ``u``, its first
    steps adding ``forced`` (int64; :func:`forced_failure` when one cannot be added; ``report``: a
    :class:`~matroidomp._progress.Progress` told of every other selection)."""
    steps = matroid.rank
    data = u.gram if gram_path else u.factor
    empty = np.empty((0, 0), dtype=data.dtype)
    gram = np.ascontiguousarray(data) if gram_path else empty
    factor = np.ascontiguousarray(u.factor, dtype=data.dtype) if _exact_columns(u, gram_path) else empty
    row_scale = np.empty(0) if u.row_scale is None else np.ascontiguousarray(u.row_scale, dtype=np.float64)
    consts = np.array([u.scale, u.ridge], dtype=data.dtype)
    blocks = np.zeros(u.n, dtype=np.int64) if u.blocks is None else np.ascontiguousarray(u.blocks, dtype=np.int64)
    n_blocks = 1 if u.blocks is None or u.n == 0 else int(blocks.max()) + 1
    order = np.zeros(steps, dtype=np.int64)
    weights = np.zeros(steps)
    history = np.zeros(steps)
    skipped = np.zeros(u.n, dtype=np.int8)
    with omp_loop.reporting(None if report is None else report.step):
        m, stop, refits = omp_loop.omp_loop(
            gram, factor, row_scale, row_scale.astype(data.dtype), np.ascontiguousarray(u.c, dtype=np.float64),
            np.ascontiguousarray(scales.root, dtype=np.float64), float(u.scale), float(u.ridge), consts, blocks,
            n_blocks, np.ascontiguousarray(matroid.codes, dtype=np.int64),
            np.ascontiguousarray(matroid.budgets, dtype=np.int64), np.ascontiguousarray(forced, dtype=np.int64),
            bool(randomized), np.uint64(key), bool(fill),
            float(scales.base), float(scales.refit), float(scales.noise), float(scales.cap), float(dep_tol),
            order, weights, history, skipped, report is not None)
    if stop == omp_loop.STOP_INITIAL_FAILED:
        j = int(forced[m])
        raise forced_failure(j, UNBOUNDED if skipped[j] == 1 else MAX_ITER)
    skipped_unb = np.flatnonzero(skipped == 1)
    skipped_unres = np.flatnonzero(skipped == 2)
    return (order[:m], weights[:m], history[:m], _STOPS[int(stop)], refits,
            _in_skip_order(skipped_unb), _in_skip_order(skipped_unres))


def _in_skip_order(indices: np.ndarray) -> list[int]:
    return indices.tolist()


def residual_directions(xp, w, rows, sel_blocks, n_blocks: int, acc, **device):
    """The residual directions of a d-space step, U_b = Σ_{t: b_t = b} w_t r_t (B × d, in ``acc``).

    ``rows`` are the staged rows r_t = s_t g_t of S (|S| × d), ``w`` their weights, ``sel_blocks``
    their blocks (None when B = 1); with blocks, one (B × |S|) @ (|S| × d) product.
    """
    if n_blocks == 1:
        return xp.reshape(xp.matmul(w, xp.astype(rows, acc)), (1, -1))
    onehot = xp.astype(xp.reshape(sel_blocks, (1, -1)) == xp.reshape(xp.arange(n_blocks, **device), (-1, 1)), w.dtype)
    return xp.matmul(onehot * xp.reshape(w, (1, -1)), xp.astype(rows, acc))


def dspace_rho(factor, U, c, scale: float, row_scale, masked_argmax):
    """ρ_i = c_i − scale·s_i⟨g_i, U_{b_i}⟩ of a d-space step and its feasible arg-max (ties unsettled).

    ``factor(U, c, scale) -> (ρ, best)`` is the step kernel on the rows of G (the reference step
    or the Triton one; on a whole pool or on one chunk of it). With a row scale s it runs with
    c = 0 and scale = −1 for the raw correlations ⟨g_i, U_{b_i}⟩, and ρ is formed here in
    float64, its arg-max by ``masked_argmax(ρ)``.
    """
    if row_scale is None:
        return factor(U, c, scale)
    xp = array_api_compat.array_namespace(c)
    corr, _ = factor(U, xp.zeros_like(c), -1.0)
    rho = c - scale * row_scale * xp.astype(corr, xp.float64)
    return rho, masked_argmax(rho)


def exact_column(xp, rows, scale: float, ridge: float, sel_blocks) -> np.ndarray:
    """The refit's new column Q[S + j, j] on the host (float64, diagonal last) from the staged rows
    r_t = s_t g_t of S + j (j's last): scale·⟨r_t, r_j⟩ in float64, 0 across blocks (``sel_blocks``
    of S + j, or None), plus the ridge on the diagonal."""
    rows64 = xp.astype(rows, xp.float64)
    col = np.array(to_host(xp.matmul(rows64, rows64[-1, :])), dtype=np.float64) * scale
    if sel_blocks is not None:
        col *= sel_blocks == sel_blocks[-1]
    col[-1] += ridge
    return col


class _ArraySteps:
    """OMP's n-sized work on the utility's arrays, in their namespace and on their device.

    Gram path: the stored rows R = Q[S, :] (|S| × n); d-space: the stored rows s_j g_j (|S| × d)
    and, per step, the residual directions U_b = Σ_{j ∈ S, b_j = b} w_j s_j g_j. A step computes ρ
    (:mod:`matroidomp.kernels.reference`, or the Triton fused kernels) and the feasible arg-max;
    everything that crosses to the host is O(|S|): the new column of the refit's system, the
    arg-max and its ρ, the shortlist's size and draw.
    """

    def __init__(self, u: QuadraticUtility, gram_path: bool, capacity: int, matroid: PartitionMatroid,
                 use_triton: bool):
        b = u.backend
        xp = b.xp
        self.u, self.b, self.xp = u, b, xp
        self.gram_path = gram_path
        self.data = u.gram if gram_path else u.factor
        # staged rows round to the data's dtype (as the compiled loop's do); ρ accumulates in
        # float64 (fp32 in the Triton kernels)
        self.store = xp.float64 if dtype_name(self.data) == "float64" else xp.float32
        self.acc = xp.float32 if use_triton else xp.float64
        width = u.n if gram_path else int(self.data.shape[1])
        self.stored = xp.zeros((max(capacity, 1), width), dtype=self.store, **self._dev())
        self.exact = _exact_columns(u, gram_path)
        self.sel_rows = self.stored if not gram_path else (
            xp.zeros((max(capacity, 1), int(u.factor.shape[1])), dtype=self.store, **self._dev()) if self.exact else None)
        self.c = u.c
        self.root = xp.sqrt(xp.where(u.diagonal() > 0, u.diagonal(), xp.zeros_like(u.c)))
        self.codes = matroid.codes_on(b)
        self.selected = xp.zeros(u.n, dtype=xp.bool, **self._dev())
        self.sel: list[int] = []
        self.blocks = None if u.blocks is None else b.asarray(np.ascontiguousarray(u.blocks), "int64")
        self.n_blocks = 1 if u.blocks is None or u.n == 0 else int(u.blocks.max()) + 1
        self.use_triton = use_triton
        if use_triton:
            try:  # torch and triton are optional dependencies
                triton_omp_step = importlib.import_module("matroidomp.kernels.triton_omp_step")
            except ImportError as exc:
                raise ImportError("backend 'triton' needs torch and triton: install matroidomp[triton], or pass "
                                  "backend='torch' (torch operations) or backend='numba' (the host)") from exc
            self.tk = triton_omp_step
            self.c32 = xp.astype(u.c, xp.float32)
            self.codes32 = xp.astype(self.codes, xp.int32)
            self.blocks32 = None if self.blocks is None else xp.astype(self.blocks, xp.int32)

    def _dev(self) -> dict:
        return {} if self.b.is_numpy else {"device": self.b.device}

    def _remaining(self, remaining: np.ndarray):
        return self.b.asarray(np.asarray(remaining, dtype=np.int32 if self.use_triton else np.int64))

    def tolerances(self, factor: float):
        """The per-element tolerances √Q_ii·factor on the device."""
        tol = self.root * factor
        return self.xp.astype(tol, self.xp.float32) if self.use_triton else tol

    def root_at(self, j: int) -> float:
        return float(self.root[j])

    def c_at(self, j: int) -> float:
        return float(self.u.c[j])

    def step(self, w: np.ndarray, remaining: np.ndarray, absolute: bool, tol):
        """(ρ, best) for the current weights w_S (host, |S| numbers)."""
        xp, u, p = self.xp, self.u, len(self.sel)
        wd = self.b.asarray(np.asarray(w[:p], dtype=np.float32 if self.acc == xp.float32 else np.float64))
        rem = self._remaining(remaining)
        rows = self.stored[:p]
        if self.gram_path:
            if self.use_triton:
                rho, best = self.tk.gram_step(rows, wd, self.c32, self.codes32, rem, self.selected, absolute, tol)
                return rho, self._settle(rho, int(best), rem, absolute, tol)
            rho, best = reference.gram_step(rows, wd, u.c, self.codes, rem, self.selected, absolute, tol)
            return rho, self._settle(rho, best, rem, absolute, tol)
        sel_blocks = None if self.n_blocks == 1 else xp.take(
            self.blocks, self.b.asarray(np.asarray(self.sel, dtype=np.int64), "int64"), axis=0)
        U = residual_directions(xp, wd, rows, sel_blocks, self.n_blocks, self.acc, **self._dev())
        rem64 = self.b.asarray(np.asarray(remaining, dtype=np.int64))
        rho, best = dspace_rho(lambda V, c, scale: self._factor(V, c, scale, rem, absolute, tol), U, u.c, u.scale,
                               u.row_scale,
                               lambda r: reference.masked_argmax(r, self.codes, rem64, self.selected, absolute, tol))
        best = self._settle(rho, best, rem, absolute, tol)
        if u.ridge and p:
            sel = self.b.asarray(np.asarray(self.sel, dtype=np.int64), "int64")
            rho[sel] = rho[sel] - u.ridge * xp.astype(wd, rho.dtype)  # selected rows only: the arg-max is unaffected
        return rho, best

    def _factor(self, U, c, scale, rem, absolute, tol):
        blocks = self.blocks if self.blocks is not None else self.xp.zeros(self.u.n, dtype=self.xp.int64, **self._dev())
        if self.use_triton:
            c32 = self.xp.astype(c, self.xp.float32)
            rho, best = self.tk.factor_step(self.data, U, self.blocks32, c32, scale, self.codes32, rem, self.selected,
                                            absolute, tol)
            return rho, int(best)
        return reference.factor_step(self.data, U, blocks, c, scale, self.codes, rem, self.selected, absolute, tol)

    def _settle(self, rho, best: int, rem, absolute: bool, tol) -> int:
        """OMP's tie rule after any kernel's arg-max (:func:`matroidomp.kernels.reference.settle_ties`)."""
        codes = self.codes32 if self.use_triton else self.codes
        return reference.settle_ties(rho, best, codes, rem, self.selected, absolute, tol)

    def masked_best(self, rho, remaining, absolute: bool, tol) -> int:
        """The feasible arg-max of an unchanged ρ under the current mask, ties settled."""
        rem = self.b.asarray(np.asarray(remaining, dtype=np.int64))
        best = reference.masked_argmax(rho, self.codes, rem, self.selected, absolute, tol)
        return reference.settle_ties(rho, best, self.codes, rem, self.selected, absolute, tol)

    @staticmethod
    def value(rho, j: int) -> float:
        return float(rho[j])

    def column(self, j: int) -> np.ndarray:
        """Stage row j in slot |S|; return Q[S + j, j] on the host (float64, diagonal last)."""
        xp, u, p = self.xp, self.u, len(self.sel)
        if self.gram_path:
            row = xp.astype(self.data[j, :], self.store) * u.scale
            if self.blocks is not None:
                row = row * xp.astype(self.blocks == self.blocks[j], row.dtype)
            row[j] = row[j] + u.ridge
            self.stored[p, :] = row
            if not self.exact:
                return np.array(to_host(xp.astype(self.stored[: p + 1, j], xp.float64)), dtype=np.float64)
        self.sel_rows[p, :] = xp.astype(u.scaled_rows([j])[0, :], self.store)
        return exact_column(xp, self.sel_rows[: p + 1], u.scale, u.ridge,
                            None if u.blocks is None else u.blocks[np.asarray(self.sel + [j])])

    def commit(self, j: int) -> None:
        """Add the staged j to S."""
        self.sel.append(j)
        self.selected[j] = True

    def exclude(self, j: int) -> None:
        """Never consider j again (it would make F unbounded)."""
        self.selected[j] = True

    def random_pick(self, rho, remaining, absolute: bool, tol, key: int, draw: int) -> int:
        """Residual random greedy: the ``draw``-th uniform pick among every domain's top rem_d
        feasible scores (shortlist on the device; one size and one index come back)."""
        rem = self.b.asarray(np.asarray(remaining, dtype=np.int64))
        tol = self.xp.astype(tol, rho.dtype)
        score = reference.feasible_scores(rho, absolute, tol)
        pool = reference.tolerant_shortlist(score, self.codes, rem, self.selected, tol)
        return int(pool[omp_loop.uniform_index(np.uint64(key), draw, int(pool.shape[0]))])


class _LeastSquaresFit:
    """Unconstrained weights (``nonneg=False``) by an incremental Cholesky factor of the
    independent part of S; a dependent element joins at weight 0 when that keeps F bounded."""

    def __init__(self, capacity: int, dep_tol: float):
        self.dep_tol = dep_tol
        self.L = np.zeros((capacity, capacity))
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
            self._store(c_j)
            return CONVERGED, 0
        rhs = np.append(self.c[self.pos], c_j)
        z = cholesky_solve(self.L, rhs, len(self.pos) + 1)
        if not 0.5 * float(rhs @ z) <= cap:
            return UNBOUNDED, 0  # the factor's new row is ignored: only len(pos) rows are read
        self._store(c_j)
        self.pos.append(self.m - 1)
        self.w[: self.m] = 0.0
        self.w[self.pos] = z
        return CONVERGED, 1

    def _store(self, c_j: float) -> None:
        self.c[self.m] = c_j
        self.w[self.m] = 0.0
        self.m += 1

    def objective(self) -> float:
        return 0.5 * float(self.c[: self.m] @ self.w[: self.m])


def forced_failure(j: int, code: int) -> ValueError:
    """The error for an initial element ``j`` that the refit could not add (status ``code``)."""
    if code == UNBOUNDED:
        return ValueError(
            f"initial: adding element {j} makes F unbounded (0 in the conic hull of the selected gradients, or a "
            f"signed element dependent on the earlier ones with nonzero residual correlation; or F beyond "
            f"{HORIZON:g} times the best single element's utility): leave it out of initial")
    return ValueError(f"initial: the float64 refit could not resolve F with element {j} added (a numerically "
                      f"degenerate system): leave it out of initial")


def reference_loop(nonneg: bool, matroid: PartitionMatroid, op, randomized: bool, key: int,
                   on_no_gain: str, scales: Scales, dep_tol: float, *, forced=(), report=None):
    """The OMP loop of the module docstring, step by step (reference, device and distributed backends).

    ``op`` does the n-sized work where the pool lives: :class:`_ArraySteps` on one device,
    :class:`matroidomp.distributed._steps.DaskSteps` over the chunks of a dask array. Its
    interface: ``c`` (ρ before the first step), ``tolerances(factor)``, ``step(w, remaining,
    absolute, tol) -> (ρ, best)``, ``masked_best``, ``value(ρ, j)``, ``root_at(j)``, ``c_at(j)``,
    ``column(j)`` (stage j, return Q[S + j, j]), ``commit(j)``, ``exclude(j)`` and ``random_pick``.
    ``forced``: the elements the first steps add, in order, whatever their ρ and without a draw
    (the solvers' checked ``initial``; :func:`forced_failure` is raised when one cannot be added).
    ``report``: a :class:`~matroidomp._progress.Progress` told of every other selection; the run
    stops (``'stopped_by_callback'``) when it answers False.
    """
    forced = [int(j) for j in forced]
    steps = matroid.rank
    fit = ActiveSetNNQP(steps, dep_tol) if nonneg else _LeastSquaresFit(steps, dep_tol)
    absolute = not nonneg
    counts = np.zeros(matroid.n_domains, dtype=np.int64)
    order: list[int] = []
    root_sel: list[float] = []
    history: list[float] = []
    w = np.zeros(steps)
    objective = 0.0
    rho = op.c
    stale = False  # ρ is out of date: the weights changed since it was computed
    stop = STOP_RANK
    refits = draws = 0
    skipped: list[int] = []  # F(S + j) unbounded or beyond the horizon
    unresolved: list[int] = []  # the float64 refit could not decide
    factor = scales.base  # tol_i = √Q_ii·factor
    tol = op.tolerances(factor)
    while len(order) < steps:
        p = len(order)
        forced_step = p < len(forced)
        if forced_step:  # the initial elements first, whatever their ρ (no draw)
            j = forced[p]
        else:
            remaining = matroid.budgets - counts
            if stale:
                # ρ_i = c_i − Σ_j Q_ij w_j carries rounding up to ~eps·√Q_ii·Σ_j √Q_jj|w_j|
                # (|Q_ij| ≤ √(Q_ii Q_jj)): scores under it are noise and tie, on every backend
                factor = scales.base + scales.noise * np.sqrt(p + 1.0) * float(np.asarray(root_sel) @ np.abs(w[:p]))
                tol = op.tolerances(factor)
                rho, best = op.step(w, remaining, absolute, tol)
                stale = False
            else:  # same ρ: only the mask changed
                best = op.masked_best(rho, remaining, absolute, tol)
            if best < 0:  # every feasible element left would make F unbounded
                stop = STOP_UNBOUNDED_LEFT
                break
            best_score = abs(op.value(rho, best)) if absolute else op.value(rho, best)
            if not best_score > op.root_at(best) * factor and on_no_gain == "stop":
                stop = STOP_NO_GAIN
                break
            j = best
            if randomized:
                j = op.random_pick(rho, remaining, absolute, tol, key, draws)
                draws += 1
        root_j = op.root_at(j)
        code, it = fit.add(op.column(j), op.c_at(j), scales.refit * root_j, 3 * (p + 1) + 10, scales.cap)
        refits += it
        if code != CONVERGED:
            if forced_step:
                raise forced_failure(j, code)
            op.exclude(j)
            (skipped if code == UNBOUNDED else unresolved).append(j)
            continue
        op.commit(j)
        if it:
            w[: p + 1] = fit.w[: p + 1]
            objective = fit.objective()
            stale = True
        order.append(j)
        root_sel.append(root_j)
        counts[matroid.domain_of(j)] += 1
        history.append(objective)
        if report is not None and not forced_step and not report.step(j, objective):
            stop = STOP_CALLBACK
            break
    return order, w[: len(order)].copy(), history, stop, refits, skipped, unresolved


def omp(G, b, matroid: PartitionMatroid, *, lam: float = 0.0, nonneg: bool = True, randomized: bool = False,
        seed=None, precompute="auto", on_no_gain: str = "stop", tol: float | None = None,
        backend: str = "auto", verbose: bool = False, callback=None, initial=None) -> SelectionResult:
    """Gradient-matching OMP: pick S to maximise ½‖b‖² − ½ min_w (‖G_Sᵀw − b‖² + λ‖w‖²).

    Parameters
    ----------
    G : (n, d) array
        Per-example gradients (numpy, torch CPU/CUDA or cupy; half precision is read in float32).
    b : (d,) array
        Target gradient, same framework and device as ``G``.
    matroid : PartitionMatroid
    lam : float, default 0
        Ridge λ.
    nonneg : bool, default True
        Nonnegative weights (False: classic signed OMP).
    randomized, seed, precompute, on_no_gain, tol, backend, verbose, callback, initial
        As in :func:`solve_omp` (``initial``: rows of G the selection starts from, added first;
        OMP then maximises F(A ∪ T) − F(A) under the budgets left). ``precompute='auto'`` forms
        the Gram matrix (on G's device) when that is cheaper than n·d work per step (n ≤ 16·rank
        and K ≤ 2 GiB).

    Returns
    -------
    SelectionResult
        ``indices`` and ``weights`` in the framework and on the device of ``G`` and ``b``.

    Raises
    ------
    TypeError, ValueError
        Arrays of two frameworks or devices, bad shapes or values, a bad ``initial`` or one whose
        gradients make F unbounded (see :func:`solve_omp`).

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> G = np.eye(4)
    >>> res = mo.omp(G, np.array([4.0, 3.0, 2.0, 1.0]), mo.PartitionMatroid([0, 0, 1, 1], {0: 1, 1: 1}))
    >>> res.indices.tolist(), res.objective  # ½(4² + 2²)
    ([0, 2], 10.0)
    >>> m = mo.PartitionMatroid([0, 0, 1, 1], {0: 1, 1: 1})
    >>> mo.omp(G, np.array([4.0, 3.0, 2.0, 1.0]), m, initial=[1]).indices.tolist()  # 1 first, 0 out of budget
    [1, 2]
    """
    arrays = detect(G=G, b=b)
    G, b = host_views(resolve_backend(backend, arrays), arrays, G, b)
    u = QuadraticUtility.gradient_matching(G, b, lam, nonneg=nonneg)
    return arrays.selection(solve_omp(u, matroid, randomized=randomized, seed=seed, on_no_gain=on_no_gain,
                                      precompute=precompute, tol=tol, backend=backend, verbose=verbose,
                                      callback=callback, initial=initial))


def omp_gram(K, c, matroid: PartitionMatroid, *, lam: float = 0.0, nonneg: bool = True, randomized: bool = False,
             seed=None, on_no_gain: str = "stop", tol: float | None = None, backend: str = "auto",
             check_psd: bool = True, verbose: bool = False, callback=None, initial=None) -> SelectionResult:
    """OMP on a precomputed PSD Gram matrix: maximise F(S) = max{cᵀw − ½wᵀ(K + λI)w} over S.

    With K = GGᵀ and c = Gb this is :func:`omp` without the GEMM.

    Parameters
    ----------
    K : (n, n) array
        Symmetric PSD (checked: a Cholesky factorisation of K + δI, O(n³/3); ``check_psd=False``
        skips it, see :meth:`QuadraticUtility.from_gram`).
    c : (n,) array
    matroid : PartitionMatroid
    lam, nonneg, randomized, seed, on_no_gain, tol, backend, verbose, callback, initial
        As in :func:`omp`.
    check_psd : bool, default True

    Returns
    -------
    SelectionResult
        ``indices`` and ``weights`` in the framework and on the device of ``K`` and ``c``.

    Raises
    ------
    ValueError
        K not symmetric or not PSD, sizes that disagree, a bad ``initial`` (see :func:`solve_omp`).

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> res = mo.omp_gram(np.eye(3), np.array([1.0, 3.0, 2.0]), mo.PartitionMatroid.cardinality(3, 2))
    >>> res.indices.tolist()
    [1, 2]
    """
    arrays = detect(K=K, c=c)
    K, c = host_views(resolve_backend(backend, arrays), arrays, K, c)
    u = QuadraticUtility.from_gram(K, c, lam, nonneg=nonneg, check_psd=check_psd)
    return arrays.selection(solve_omp(u, matroid, randomized=randomized, seed=seed, on_no_gain=on_no_gain,
                                      tol=tol, backend=backend, verbose=verbose, callback=callback,
                                      initial=initial))
