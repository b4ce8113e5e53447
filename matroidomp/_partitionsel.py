"""PartitionSel in one call: Taylor gradient matching under per-domain budgets."""

from __future__ import annotations

import numpy as np

from ._array import detect, host_views
from ._matroid import make_matroid
from ._objectives import QuadraticUtility
from ._omp import resolve_backend, solve_omp
from ._result import SelectionResult


def partitionsel(G, domains, k: int, *, anchors, lr: float, budgets="proportional", normalize: bool = True,
                 randomized: bool = True, block_diagonal: bool = False, seed=None, on_no_gain: str = "fill",
                 precompute="auto", tol: float | None = None, backend: str = "auto", verbose: bool = False,
                 callback=None, initial=None) -> SelectionResult:
    """Select k of the n pool examples whose gradients best match the validation gradient.

    Maximises the PartitionSel Taylor utility

        F(S) = max_{w ≥ 0, supp w ⊆ S} cᵀw − ½ wᵀQw,   c = η G ā + ½η² diag(GGᵀ),  Q = η² GGᵀ

    (ā the mean of the validation ``anchors``, η = ``lr``) subject to |S ∩ domain d| ≤ k_d.
    By default this is the paper's algorithm, the residual random greedy rule (Chen, Feldman &
    Karbasi 2018; what the authors' code runs): each step shortlists, in every domain d, its top
    rem_d feasible examples by residual correlation ρ = c − Qw, picks one uniformly at random and
    refits w exactly. Its guarantee, (1 + 1/(αγ))⁻² of OPT in expectation, is a constant factor
    (:mod:`matroidomp.bounds`); the deterministic arg-max (``randomized=False``) has only α/r
    under a matroid. Cost: one GEMM (or one pass over G per step) plus O(k·n) per step.

    Parameters
    ----------
    G : (n, d) array
        Per-example gradients (numpy, torch or cupy; float16/bfloat16 are upcast to float32).
    domains : (n,) sequence
        Domain label of every example (ints or strings, one kind).
    k : int
        Total number of examples to select (``initial`` included).
    anchors : (m, d) or (d,) array
        Validation gradients; their mean is the target ā.
    lr : float
        Learning rate η (floored at 1e-12, as in the authors' code).
    budgets : 'proportional', 'proportional-authors', 'equal', mapping or PartitionMatroid
        Per-domain budgets k_d (see :func:`matroidomp.make_matroid`).
    normalize : bool, default True
        L2-normalise every gradient and anchor (the authors' default: diag(GGᵀ) = 1).
    randomized : bool, default True
        The authors' residual random greedy rule; False is deterministic OMP (arg-max of ρ).
    block_diagonal : bool, default False
        Drop cross-domain coupling (the IWD baseline).
    seed : int, Generator or None
        Randomness of the randomized rule.
    on_no_gain : {'fill', 'stop'}, default 'fill'
        'fill' returns the budgeted number of examples, filling with zero-weight examples once
        no example improves the match; 'stop' returns fewer.
    precompute, tol, backend
        As in :func:`matroidomp.solve_omp`.
    verbose : bool, default False
        A tqdm progress bar over the k selections, F(S) in its postfix.
    callback : callable, optional
        ``callback(step, index, objective)`` after each selection; False stops the run (see
        :func:`matroidomp.solve_omp`).
    initial : sequence of int, optional
        Pool rows (distinct, within the budgets that split k) the selection starts from: they
        come first in the given order, whatever their correlation and without a random draw, and
        count against their domains' budgets; the rule then maximises F(A ∪ T) − F(A) with
        rem_d the budget left in domain d (see :func:`matroidomp.solve_omp`).

    Returns
    -------
    SelectionResult
        ``indices``, ``weights`` (the NNQP coefficients, which the authors use only inside
        selection) in the framework and on the device of ``G``; ``objective`` = F(S) exactly;
        ``counts`` per domain. Examples whose addition would make F unbounded (0 in the conic
        hull of the selected gradients: duplicated or antipodal gradients, projections with
        p < k) are skipped and counted in ``info['n_skipped_unbounded']`` (one in ``initial``
        raises ValueError); if only such examples remain, fewer than k come back with
        ``stop_reason='only_unbounded_left'``.

    Raises
    ------
    ValueError, TypeError
        Bad shapes, non-finite gradients, zero rows with ``normalize``, labels that disagree with
        G, impossible budgets, a negative learning rate, arrays of two frameworks or devices, an
        ``initial`` out of range, repeated, over a budget or whose gradients make F unbounded.

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> rng = np.random.default_rng(0)
    >>> G = rng.standard_normal((40, 16))
    >>> domains = np.repeat(["math", "chem"], [30, 10])
    >>> sel = mo.partitionsel(G, domains, 8, anchors=G[:2], lr=1e-3, seed=0)
    >>> sel.counts, len(sel)
    ({'chem': 2, 'math': 6}, 8)
    >>> bool(np.isclose(sel.objective, mo.QuadraticUtility.taylor(G, G[:2], 1e-3).value(sel.indices)))
    True
    >>> mo.partitionsel(G, domains, 8, anchors=G[:2], lr=1e-3, seed=0, initial=[35, 3]).indices[:2].tolist()
    [35, 3]
    """
    arrays = detect(G=G, anchors=anchors)
    shape = tuple(G.shape) if hasattr(G, "shape") else np.shape(G)
    if len(shape) != 2:
        raise ValueError(f"G: expected a 2-D array (one gradient per row), got shape {shape}")
    matroid = make_matroid(domains, budgets, k)
    if matroid.n != shape[0]:
        raise ValueError(f"domains: {matroid.n} labels for a pool of {shape[0]} gradients")
    G, anchors = host_views(resolve_backend(backend, arrays), arrays, G, anchors)
    utility = QuadraticUtility.taylor(G, anchors, lr, normalize=normalize,
                                      domains=matroid.codes if block_diagonal else None)
    return arrays.selection(solve_omp(utility, matroid, randomized=randomized, seed=seed, on_no_gain=on_no_gain,
                                      precompute=precompute, tol=tol, backend=backend, verbose=verbose,
                                      callback=callback, initial=initial))
