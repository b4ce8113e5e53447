"""OMP and PartitionSel on a row-chunked dask array: one distributed pass over G per step.

The client runs the single-machine loop (:func:`matroidomp._omp.reference_loop`: the same
stopping rules, horizon, skip rule for unbounded elements, exact NNQP / least-squares refit and
random stream); the workers run its n-sized work on their chunks of G
(:class:`~matroidomp.distributed._steps.DaskSteps`). Both therefore select what
:func:`matroidomp.omp` and :func:`matroidomp.partitionsel` select on the same data — the same
indices, the weights to rounding (tested to 1e-10) — whatever the chunking; from an initial set
A (``initial=``) too, whose elements the loop's first |A| steps add in order (its ``forced``).
"""

from __future__ import annotations

import functools

import dask.array as da
import numpy as np

from .._matroid import PartitionMatroid, check_initial, make_matroid
from .._objectives import QuadraticUtility
from .._progress import check_progress, make_progress
from .._omp import ON_NO_GAIN, Scales, loop_tolerances, reference_loop, rng_key, selection_result
from .._result import SelectionResult
from ._cluster import client_for, n_workers_of
from ._pool import ChunkedPool, check_pool
from ._steps import DaskSteps


def _host(x):
    """A small argument (target, anchors, labels) on the client: a dask array is computed."""
    return np.asarray(x.compute()) if isinstance(x, da.Array) else x


def _solve(G, make, matroid: PartitionMatroid, *, nonneg: bool, block_diagonal: bool, randomized: bool, seed,
           on_no_gain: str, tol, initial, client, n_workers, verbose, callback, desc: str) -> SelectionResult:
    """OMP on the utility ``make`` builds chunk by chunk (the shared body of :func:`omp` and
    :func:`partitionsel`), its first steps adding ``initial``; every argument is checked before a
    cluster starts."""
    if on_no_gain not in ON_NO_GAIN:
        raise ValueError(f"on_no_gain: expected one of {ON_NO_GAIN}, got {on_no_gain!r}")
    forced = check_initial(initial, matroid)
    check_progress(verbose, callback)
    probe = make(np.zeros((0, int(G.shape[1])), dtype=G.dtype))  # checks b / anchors / lr on the client
    eps, rtol, refit_rtol, dep_tol = loop_tolerances(probe.factor, tol, exact=True)
    key = rng_key(randomized, seed)
    store = np.float64 if probe.factor.dtype == np.float64 else np.float32
    with client_for(client, n_workers) as cl:
        pool = ChunkedPool(G, make, matroid.codes, block_diagonal, not nonneg, cl)
        scales = Scales(None, pool.sigma, pool.gain, rtol, eps, refit_rtol)
        op = DaskSteps(pool, make, matroid.rank, probe.scale, probe.ridge, store,
                       matroid.codes if block_diagonal else None, matroid.n_domains if block_diagonal else 1)
        report = make_progress(verbose, callback, matroid.rank, desc, initial=forced.size)
        try:
            res = reference_loop(nonneg, matroid, op, randomized, key, on_no_gain, scales, dep_tol, forced=forced,
                                 report=report)
        finally:
            if report is not None:
                report.close()
        info = {"gram": False, "tol": rtol, "backend": "dask", "chunks": pool.n_chunks, "workers": n_workers_of(cl),
                "passes": pool.passes}
    return selection_result(matroid, res, info)


def omp(G, b, matroid: PartitionMatroid, *, lam: float = 0.0, nonneg: bool = True, randomized: bool = False,
        seed=None, on_no_gain: str = "stop", tol: float | None = None, initial=None, client=None, n_workers: int = 2,
        verbose: bool = False, callback=None) -> SelectionResult:
    """Gradient-matching OMP on a row-chunked dask array: what :func:`matroidomp.omp` selects, with
    one distributed pass over G per step.

    Maximises ½‖b‖² − ½ min_w (‖G_Sᵀw − b‖² + λ‖w‖²) under the partition matroid, exactly as
    :func:`matroidomp.omp` on ``G.compute()`` does in d-space (same indices, weights to rounding,
    same ``stop_reason`` and ``skipped_unbounded``; the guarantees of :mod:`matroidomp.bounds`).
    Each step reads every chunk of G once where it lives: ρ_i = c_i − ⟨g_i, G_Sᵀw⟩ and the feasible
    arg-max per chunk, reduced on the client; the selected rows (|S| × d) come to the client, where
    the weights are refitted exactly. Cost per step: one read of G (n·d, on the workers) plus
    O(n) on the chunks' kept terms; client memory O(n) for the domain codes plus O(rank·d).

    Parameters
    ----------
    G : dask.array.Array (n, d)
        Per-example gradients, rows = candidates, chunked along rows (chunks of any sizes; column
        chunks are merged). Read once per step and never held whole: keep it on disk (zarr,
        ``.npy`` through ``da.from_npy_stack``) or ``client.persist`` it when the cluster has the
        memory.
    b : (d,) array
        Target gradient (numpy, or a dask array, computed once on the client).
    matroid : PartitionMatroid
        Per-domain budgets over the n rows.
    lam, nonneg, randomized, seed, on_no_gain, tol
        As in :func:`matroidomp.omp` (``seed``: the randomized rule's draws are the same).
    initial : sequence of int, optional
        Rows A the selection starts from, as in :func:`matroidomp.omp`: the first |A| steps add
        them in the given order whatever their ρ and without a random draw (the randomized rule's
        stream starts after them), each refitted exactly, counted against the budgets; OMP then
        maximises the contracted utility g(T) = F(A ∪ T) − F(A) under the budgets left, and its
        guarantees hold for g. ``indices``, ``history`` and ``counts`` include A; no callback or
        progress tick for A's elements.
    client : distributed.Client, optional
        Run on this client's cluster (used as it is, not closed). Default: a
        :class:`distributed.LocalCluster` of ``n_workers`` processes on this machine, started for
        the call and closed when it returns or raises.
    n_workers : int, default 2
        Workers of the embedded cluster.
    verbose, callback
        As in :func:`matroidomp.omp`: a tqdm bar with the objective, and/or
        ``callback(step, index, objective)`` after each selection (False stops the run with the
        selection so far, ``stop_reason='stopped_by_callback'``).

    Returns
    -------
    SelectionResult
        numpy ``indices`` and ``weights``; ``info`` as :func:`matroidomp.solve_omp`'s with
        ``backend='dask'``, ``chunks``, ``workers`` and ``passes`` (reads of G, set-up included).

    Raises
    ------
    TypeError
        G not a dask array, ``client`` not a :class:`distributed.Client`, ``verbose`` not a bool or
        ``callback`` not callable.
    ValueError
        G not 2-D or of unknown chunk sizes, a matroid of another size, b of the wrong length, a
        NaN/Inf or overflowing row (named by its global index), a negative λ; ``initial`` invalid
        (as in :func:`matroidomp.omp`: also TypeError) or holding an element that makes F
        unbounded (or that the float64 refit cannot resolve).
    RuntimeError
        Workers died beyond Dask's retries (no partial selection is returned).

    Examples
    --------
    >>> import numpy as np, dask.array as da, matroidomp as mo
    >>> from distributed import Client
    >>> from matroidomp.distributed import omp
    >>> G = np.random.default_rng(0).standard_normal((60, 8))
    >>> m = mo.PartitionMatroid([0] * 30 + [1] * 30, {0: 2, 1: 2})
    >>> with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0") as client:
    ...     res = omp(da.from_array(G, chunks=(25, 8)), G[:3].sum(0), m, client=client)
    >>> one = mo.omp(G, G[:3].sum(0), m)
    >>> res.indices.tolist() == one.indices.tolist(), bool(np.allclose(res.weights, one.weights, atol=1e-10))
    (True, True)
    >>> with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0") as client:
    ...     res = omp(da.from_array(G, chunks=(25, 8)), G[:3].sum(0), m, initial=[40], client=client)
    >>> res.indices.tolist()[0], res.counts  # row 40 first, then OMP under the budgets left
    (40, {0: 2, 1: 2})
    """
    G = check_pool(G)
    if not isinstance(matroid, PartitionMatroid):
        raise TypeError(f"matroid: expected a PartitionMatroid, got {type(matroid).__name__}")
    if matroid.n != int(G.shape[0]):
        raise ValueError(f"matroid has {matroid.n} elements but the pool has {int(G.shape[0])}")
    make = functools.partial(QuadraticUtility.gradient_matching, b=_host(b), lam=lam, nonneg=nonneg)
    return _solve(G, make, matroid, nonneg=nonneg, block_diagonal=False, randomized=randomized, seed=seed,
                  on_no_gain=on_no_gain, tol=tol, initial=initial, client=client, n_workers=n_workers,
                  verbose=verbose, callback=callback, desc="omp (dask)")


def partitionsel(G, domains, k: int, *, anchors, lr: float, budgets="proportional", normalize: bool = True,
                 randomized: bool = True, block_diagonal: bool = False, seed=None, on_no_gain: str = "fill",
                 tol: float | None = None, initial=None, client=None, n_workers: int = 2, verbose: bool = False,
                 callback=None) -> SelectionResult:
    """PartitionSel on a row-chunked dask array: what :func:`matroidomp.partitionsel` selects, with
    one distributed pass over G per step.

    Maximises the Taylor utility F(S) = max_{w ≥ 0} cᵀw − ½wᵀQw, c = η G ā + ½η² diag(GGᵀ),
    Q = η² GGᵀ (rows L2-normalised by default), under |S ∩ domain d| ≤ k_d, by the residual random
    greedy rule (default) or deterministic OMP — the same loop, draws and refits as
    :func:`matroidomp.partitionsel`, with the n-sized work on the chunks of G (see :func:`omp`).

    Parameters
    ----------
    G : dask.array.Array (n, d)
        Per-example gradients, chunked along rows (see :func:`omp`).
    domains : (n,) labels
        Domain of every row (numpy, a list, or a dask array, computed once on the client).
    k : int
        Total number to select.
    anchors : (m, d) or (d,) array
        Validation gradients (numpy, or a dask array, computed once on the client).
    lr : float
        η (floored at 1e-12).
    budgets, normalize, randomized, block_diagonal, seed, on_no_gain, tol
        As in :func:`matroidomp.partitionsel`; the same ``seed`` gives the same draws.
    initial : sequence of int, optional
        Rows the selection starts from, added first (see :func:`omp`); they count against the
        budgets that ``budgets`` and ``k`` set.
    client, n_workers, verbose, callback
        As in :func:`omp`.

    Returns
    -------
    SelectionResult
        As :func:`omp`.

    Raises
    ------
    TypeError, ValueError, RuntimeError
        As :func:`omp`; ``domains`` of another length than G's rows, impossible budgets, a zero
        row with ``normalize`` (named by its global index), a negative ``lr``.

    Examples
    --------
    >>> import numpy as np, dask.array as da, matroidomp as mo
    >>> from distributed import Client
    >>> from matroidomp.distributed import partitionsel
    >>> rng = np.random.default_rng(1)
    >>> G = rng.standard_normal((90, 16)).astype(np.float32)
    >>> domains = np.repeat(["math", "chem"], [60, 30])
    >>> with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0") as client:
    ...     res = partitionsel(da.from_array(G, chunks=(40, 16)), domains, 6, anchors=G[:2], lr=1e-3, seed=0,
    ...                        client=client)
    >>> one = mo.partitionsel(G, domains, 6, anchors=G[:2], lr=1e-3, seed=0)
    >>> res.indices.tolist() == one.indices.tolist(), res.counts
    (True, {'chem': 2, 'math': 4})
    """
    G = check_pool(G)
    matroid = make_matroid(_host(domains), budgets, k)
    if matroid.n != int(G.shape[0]):
        raise ValueError(f"domains: {matroid.n} labels for a pool of {int(G.shape[0])} gradients")
    make = functools.partial(QuadraticUtility.taylor, anchors=_host(anchors), lr=lr, normalize=normalize)
    return _solve(G, make, matroid, nonneg=True, block_diagonal=block_diagonal, randomized=randomized, seed=seed,
                  on_no_gain=on_no_gain, tol=tol, initial=initial, client=client, n_workers=n_workers,
                  verbose=verbose, callback=callback, desc="partitionsel (dask)")
