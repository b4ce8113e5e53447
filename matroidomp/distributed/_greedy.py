"""Two-round distributed greedy under a partition matroid: GreeDi and RandGreeDi.

    round 1: split the ground set V into m parts V_1..V_m (RandGreeDi: every element to a
             uniformly random part, Barbosa, Ene, Nguyễn & Ward 2015; GreeDi: m contiguous
             blocks, Mirzasoleiman, Karbasi, Sarkar & Krause 2013); on each part, on a worker,
             S_i = greedy(f restricted to V_i, the matroid restricted to V_i)
    round 2: on one worker, T = greedy(f restricted to ∪ S_i, the matroid restricted to it)
    return the best of T, S_1, ..., S_m (ties: T, then the lowest part)

From an initial set A (``initial=``) the same two rounds run on the contracted function
g(T) = f(A ∪ T) − f(A) under the budgets left: V ∖ A is split, every part's ground set is
A ∪ V_i and its greedy starts from A, the merged round's greedy runs on A ∪ (∪ S_i) from A, and
all the candidates compared contain A. The factor below then holds for g (r the rank left).

Only the m solutions (≤ rank elements each) travel between the rounds. The factor is
:func:`matroidomp.bounds.distributed_greedy_guarantee`: for monotone submodular f, max(α/m, 1/r)
for any partition, and α/2 in expectation over RandGreeDi's random partition (α = 1 − 1/e under
|S| ≤ k, ½ under a partition matroid; r the rank).
"""

from __future__ import annotations

import numbers

import numpy as np

from .._greedy import greedy as central_greedy
from .._matroid import PartitionMatroid, check_initial
from .._result import STOP_RANK, SelectionResult
from .._setfunction import SetFunction
from .._validation import make_rng
from ._cluster import check_n_workers, client_for, gather, n_workers_of


def _restricted(f_factory, indices: np.ndarray) -> SetFunction:
    """``f_factory(indices)``, checked to be a SetFunction over len(indices) elements."""
    f = f_factory(indices)
    if not isinstance(f, SetFunction):
        raise TypeError(f"f_factory returned {type(f).__name__} for {indices.shape[0]} indices; expected a "
                        "SetFunction (wrap a plain callable with CallableSetFunction)")
    if f.n != indices.shape[0]:
        raise ValueError(f"f_factory returned a function over {f.n} elements for {indices.shape[0]} indices; "
                         "element t of the function must be indices[t]")
    return f


def _restricted_matroid(codes: np.ndarray, budgets: np.ndarray) -> PartitionMatroid:
    """The partition matroid restricted to elements of the given domain codes."""
    present = np.unique(codes)
    return PartitionMatroid(codes, {int(d): int(budgets[d]) for d in present}, clip_to_size=True)


def _restricted_greedy(indices: np.ndarray, codes: np.ndarray, f_factory, budgets: np.ndarray, lazy: bool | None,
                       initial: np.ndarray):
    """(f restricted to ``indices``, :func:`matroidomp.greedy` on it from the global ``initial``
    set, which ``indices`` (sorted) holds)."""
    f = _restricted(f_factory, indices)
    start = np.searchsorted(indices, initial)
    return f, central_greedy(f, _restricted_matroid(codes, budgets), lazy=lazy, initial=start)


def part_greedy(indices: np.ndarray, codes: np.ndarray, f_factory, budgets: np.ndarray, lazy: bool | None,
                initial: np.ndarray):
    """Round 1 on one part (``indices`` sorted, holding the initial set A): (its greedy solution
    from A in global indices and selection order, A first; its stop reason; its gain evaluations)."""
    if not indices.shape[0]:
        return indices, STOP_RANK, 0
    _, res = _restricted_greedy(indices, codes, f_factory, budgets, lazy, initial)
    return indices[res.indices], res.stop_reason, int(res.info["gain_evaluations"])


def merged_round(union: np.ndarray, codes: np.ndarray, f_factory, budgets: np.ndarray, lazy: bool | None,
                 solutions: list, initial: np.ndarray):
    """Round 2: greedy on the union from the initial set A, and every candidate's value path on the
    union's function.

    Returns (candidates, histories, stop reasons, gain evaluations) with the merged solution T
    first, then the parts' solutions; every history is f along the candidate's selection order
    (A first in every one).
    """
    f, res = _restricted_greedy(union, codes, f_factory, budgets, lazy, initial)
    candidates, histories, stops = [union[res.indices]], [res.history], [res.stop_reason]
    for part, stop in solutions:
        state, path = f.new_state(), []
        for t in np.searchsorted(union, part):
            state.add(int(t))
            path.append(float(state.value))
        candidates.append(part)
        histories.append(np.asarray(path, dtype=np.float64))
        stops.append(stop)
    return candidates, histories, stops, int(res.info["gain_evaluations"])


def _parts(n: int, parts: int, randomized: bool, seed, initial: np.ndarray) -> list[np.ndarray]:
    """The parts' ground sets: V_i ∪ A (sorted), with V_1..V_m the partition of V ∖ A that a
    partition of {0..n−1} — uniform random parts, or contiguous blocks of near-equal size — induces
    (the same draws with and without A)."""
    assign = make_rng(seed).integers(0, parts, size=n) if randomized else np.arange(n) * parts // max(n, 1)
    assign[initial] = -1
    return [np.union1d(np.flatnonzero(assign == i), initial).astype(np.int64) for i in range(parts)]


def greedy(f_factory, matroid: PartitionMatroid, *, parts: int | None = None, randomized: bool = True, seed=None,
           lazy: bool | None = None, initial=None, client=None, n_workers: int = 2) -> SelectionResult:
    """Two-round distributed greedy (RandGreeDi, or GreeDi) of a monotone submodular f under a partition matroid.

    Round 1 runs :func:`matroidomp.greedy` on every part of a partition of the ground set, each
    on a worker; round 2 runs it on the union of their solutions; the best of the merged and the
    part solutions is returned (see the module docstring). Factor of OPT
    (:func:`matroidomp.bounds.distributed_greedy_guarantee`): max(α/m, 1/r) for any partition
    (every run), and α/2 in expectation over RandGreeDi's random partition (Barbosa et al. 2015),
    α = 1 − 1/e under |S| ≤ k and ½ under a partition matroid. Cost: each part's greedy on
    n/m elements, in parallel, then greedy on ≤ m·r elements.

    From an initial set A the rounds run on the contracted function g(T) = f(A ∪ T) − f(A)
    under the budgets left (k_d − |A ∩ d|): A is in every part's ground set and starts every
    greedy run (each part picks from the budgets left), the merged round's greedy runs on
    A ∪ (the parts' picks) from A, and every candidate compared contains A. The factor above
    holds for g: g(T) ≥ factor · max over feasible T' of g(T'), with r the rank left,
    r − |A| (g is monotone submodular when f is).

    Parameters
    ----------
    f_factory : callable
        ``f_factory(indices) -> SetFunction``: the function restricted to the elements
        ``indices`` (a sorted int64 array of global indices), whose element t is
        ``indices[t]``, so that ``f_factory(I)(T) = f(I[T])``. It runs on the workers (pickled
        with cloudpickle: close over data the workers can read — a path, a memmap, a small
        array) and must be deterministic. Exact restrictions: ``FeatureBased(X[I])``,
        ``Coverage(incidence[:, I])``, ``FacilityLocation(S[:, I])`` (every item or point still counted).
        ``FacilityLocation.from_features(X[I])`` — each part summarising only its own points, the
        GreeDi paper's local evaluation of a decomposable f — is cheaper but is not a restriction
        of one f, and the factor above is not proven for it.
    matroid : PartitionMatroid
        Per-domain budgets over the n elements (``PartitionMatroid.cardinality(n, k)`` for
        |S| ≤ k).
    parts : int, optional
        m, the number of parts (default: the number of workers).
    randomized : bool, default True
        RandGreeDi's uniformly random partition (False: GreeDi's contiguous blocks).
    seed : int, Generator or None
        The random partition's randomness.
    lazy : bool or None, default None
        :func:`matroidomp.greedy`'s ``lazy`` in both rounds (None: lazy unless the function's
        ``lazy_greedy_pays`` is False; the same selection either way).
    initial : sequence of int, optional
        The initial set A (global indices, apricot's ``initial_subset``), counted against the
        budgets; first in ``indices``, in the order given, with f after each of its elements
        first in ``history``. With ``parts=1`` the selection is that of
        ``matroidomp.greedy(f, matroid, initial=A)``.
    client : distributed.Client, optional
        Run on this client's cluster (not closed); default: a local cluster of ``n_workers``
        processes for the call.
    n_workers : int, default 2

    Returns
    -------
    SelectionResult
        The winner's indices in selection order, unit weights, ``objective`` and ``history``
        evaluated by ``f_factory(union)``; ``stop_reason`` that of the greedy run that produced
        the winner (a part's run stops at its part's rank). ``info``: ``algorithm``
        ('RandGreeDi' or 'GreeDi'), ``parts``, ``union_size``, ``winner`` ('merged' or the part's
        number), ``candidate_values`` (merged first), ``gain_evaluations`` (both rounds).

    Raises
    ------
    TypeError
        ``matroid`` not a PartitionMatroid, ``f_factory`` not callable or returning something
        else than a SetFunction, ``client`` not a Client, ``initial`` not integer.
    ValueError
        ``parts`` < 1, a function of the wrong size from ``f_factory``, ``initial`` not 1-D, with
        an index out of range or repeated, or more elements of a domain than its budget.
    RuntimeError
        Workers died beyond Dask's retries.

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> from distributed import Client
    >>> from matroidomp.distributed import greedy
    >>> X = np.random.default_rng(0).random((40, 5))
    >>> m = mo.PartitionMatroid([0] * 20 + [1] * 20, {0: 2, 1: 2})
    >>> with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0") as client:
    ...     res = greedy(lambda idx: mo.FeatureBased(X[idx]), m, parts=2, seed=0, client=client)
    >>> central = mo.greedy(mo.FeatureBased(X), m)
    >>> len(res), res.info["algorithm"], bool(res.objective >= 0.25 * central.objective)
    (4, 'RandGreeDi', True)
    >>> with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0") as client:
    ...     res = greedy(lambda idx: mo.FeatureBased(X[idx]), m, parts=2, seed=0, initial=[25, 3], client=client)
    >>> res.indices[:2].tolist(), res.counts  # A first; the parts picked from the budgets left
    ([25, 3], {0: 2, 1: 2})
    """
    if not isinstance(matroid, PartitionMatroid):
        raise TypeError(f"matroid: expected a PartitionMatroid, got {type(matroid).__name__}")
    if not callable(f_factory):
        raise TypeError(f"f_factory: expected a callable indices -> SetFunction, got {type(f_factory).__name__}")
    if parts is not None and (isinstance(parts, bool) or not isinstance(parts, numbers.Integral) or parts < 1):
        raise ValueError(f"parts: expected an int >= 1 or None, got {parts!r}")
    n_workers = check_n_workers(n_workers)
    start = check_initial(initial, matroid)
    codes, budgets = matroid.codes, matroid.budgets
    with client_for(client, n_workers) as cl:
        m = int(parts) if parts is not None else max(n_workers_of(cl), 1)
        split = _parts(matroid.n, m, randomized, seed, start)
        firsts = gather(cl, cl.map(part_greedy, split, [codes[p] for p in split], f_factory=f_factory, budgets=budgets,
                                   lazy=lazy, initial=start, pure=False))
        union = np.unique(np.concatenate([start] + [s for s, _, _ in firsts]))
        candidates, histories, stops, evals = gather(cl, cl.submit(
            merged_round, union, codes[union], f_factory, budgets, lazy, [(s, r) for s, r, _ in firsts], start,
            pure=False))
    values = [float(h[-1]) if len(h) else 0.0 for h in histories]
    win = int(np.argmax(values))  # first maximum: the merged solution, then the lowest part
    idx = np.asarray(candidates[win], dtype=np.int64)
    return SelectionResult(
        indices=idx, weights=np.ones(idx.shape[0]), objective=values[win], history=histories[win],
        counts=matroid.count_dict(idx), stop_reason=stops[win],
        info={"algorithm": "RandGreeDi" if randomized else "GreeDi", "parts": m, "union_size": int(union.shape[0]),
              "winner": "merged" if win == 0 else win - 1, "candidate_values": values,
              "gain_evaluations": evals + sum(e for _, _, e in firsts)})
