"""PartitionSel in one call: Taylor gradient matching under per-domain budgets."""

from __future__ import annotations

from ._backend import detect
from ._validation import to_numpy
from .matroid import make_matroid
from .objectives import QuadraticUtility
from ._omp import solve_omp
from .result import SelectionResult


def partitionsel(G, domains, k: int, *, anchors, lr: float, budgets="proportional", normalize: bool = True,
                 randomized: bool = False, block_diagonal: bool = False, seed=None, on_no_gain: str = "fill",
                 precompute="auto", backend: str = "auto") -> SelectionResult:
    """Select k of the n pool examples whose gradients best match the validation gradient.

    Maximises the PartitionSel Taylor utility
        F(S) = max_{w ≥ 0, supp w ⊆ S} cᵀw − ½ wᵀQw,   c = η G ā + ½η² diag(GGᵀ),  Q = η² GGᵀ
    (ā the mean of the validation ``anchors``, η = ``lr``) subject to |S ∩ domain d| ≤ k_d, by
    nonnegative OMP. ``budgets``: ``'proportional'`` (the authors' rule), ``'equal'``, or an
    explicit ``{domain: k_d}`` summing to k. ``randomized=True`` is the authors' residual random
    greedy rule; ``block_diagonal=True`` drops cross-domain coupling (the IWD baseline).
    ``on_no_gain='fill'`` (default here) returns exactly the budgeted number of examples, filling
    with zero-weight examples once no example improves the match; ``'stop'`` returns fewer.

    Returns a :class:`SelectionResult`; its ``weights`` are the NNQP coefficients, which the
    authors use only inside selection (training uses the plain mean loss of the selection).
    ``backend``: step kernels, ``'auto'``, ``'numba'``, ``'numpy'`` or ``'triton'`` (see :func:`solve_omp`).
    ``indices`` and ``weights`` come back in the framework and on the device of ``G`` and
    ``anchors`` (which must agree; ``domains`` may be any sequence of labels).
    """
    arrays = detect(G=G, anchors=anchors)
    G = to_numpy(G, "G")
    if G.ndim != 2:
        raise ValueError(f"G: expected a 2-D array (one gradient per row), got shape {G.shape}")
    labels = to_numpy(domains, "domains")
    matroid = make_matroid(labels, budgets, k)
    if matroid.n != G.shape[0]:
        raise ValueError(f"domains: {matroid.n} labels for a pool of {G.shape[0]} gradients")
    utility = QuadraticUtility.taylor(G, anchors, lr, normalize=normalize,
                                      domains=labels if block_diagonal else None)
    return arrays.selection(solve_omp(utility, matroid, randomized=randomized, seed=seed, on_no_gain=on_no_gain,
                                      precompute=precompute, backend=arrays.step_backend(backend),
                                      device=arrays.device))
