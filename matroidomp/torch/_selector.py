"""The selection step of a PartitionSel training loop: pool + validation batch → a subset.

Each step the pool's per-example gradients g_i (rows of G, n × d, same projection and
normalisation as the anchors g_a of the validation batch) define the Taylor utility with η the
current learning rate:

    F(S) = max_{w ≥ 0, supp w ⊆ S} cᵀw − ½ wᵀQw,   c = η s + ½η² diag(K),  Q = η² K,
    s_i = mean_a ⟨g_i, g_a⟩,  K = GGᵀ.

Methods (all report F(S) and its weights w_S on this same utility, so they compare directly):

* ``partitionsel``: the paper's algorithm, residual random greedy under the partition matroid
  |S ∩ domain d| ≤ k_d (uniform pick among each domain's top rem_d by residual correlation,
  exact refit); ``partitionsel-omp``: the deterministic arg-max OMP under the same matroid;
  ``iwd``: Q with cross-domain entries 0.
* ``gradmatch``: OMP under |S| ≤ k (domains ignored);
  ``gradmatch-per-domain``: one OMP per domain d on its own rows, budget k_d, full target.
* ``greats``: greedy on u_i = η s_i − η² Σ_{j∈S} K_ij (modular score minus interactions).
* ``gradnorm``: the k largest gradient norms ‖g_i‖ (domains ignored; the raw norms, also with
  ``normalize=True``, which the utility applies as a row scale);
  ``facloc``: facility location on the gradients' cosine inside every domain, budget k_d (CoLM).
* ``random`` (k uniformly), ``stratified-random`` (k_d uniformly inside domain d), ``full``.

OMP methods fill exactly their budgets (zero-weight examples once nothing improves the match).
Randomness comes from one numpy Generator seeded at construction: repeated calls differ, a run
is reproducible.

Distributed (torch.distributed initialised, world size W > 1, every rank calling ``select`` with
the same pool, domains, validation batch and lr): with s = ⌈n / W⌉, rank r computes the rows
G[rs : (r+1)s] (indices past n − 1 repeat row n − 1, so every shard has s rows), the shards are
all-gathered and trimmed to G (n × d) on every rank. The validation batch is small, so every rank
computes all of A itself, in the same call as its pool rows (with a random projection, the
projection matrix is then generated once per step, see
:func:`~matroidomp.torch.per_example_gradients`). Selection then runs on identical G, A and an identically seeded
Generator (same ``seed`` on every rank), so all ranks return the same global indices;
:meth:`Selection.shard` gives each rank its part to train on.

Data-parallel training (:meth:`PartitionSelector.select_distributed`): every rank holds its own
*local* pool of n_r rows (the same n_r on every rank, token tensors right-padded, any length T_r).
The tensors are padded to T = max_r T_r and all-gathered with the domain labels into the global
pool of n = W·n_r rows (rank r's rows at [r·n_r, (r+1)·n_r)); ``select`` on it gives rank r the
shard of ⌈n / W⌉ = n_r rows that is exactly its own local pool, so each rank computes the
gradients of its own examples only. The global selection has k·W examples (``k`` counts per rank,
like a per-device batch size) and rank r trains on ``Selection.shard(r, W)`` of it, which may hold
examples from other ranks.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from .. import baselines
from .._array import detect, host_views, to_host
from .._curriculum import Curriculum
from .._omp import resolve_backend
from .._objectives import QuadraticUtility
from ._ghost import ghost_gram, ghost_is_cheaper
from ._per_example import per_example_gradients, unit_rows

METHODS = baselines.METHODS
#: How the selector computes what the utility needs of the gradients (see ``PartitionSelector``).
GRADIENT_MODES = ("auto", "materialize", "ghost")
BATCH_KEYS = ("input_ids", "attention_mask", "answer_mask")


@dataclass(frozen=True)
class Selection:
    """One selection step of :class:`PartitionSelector`.

    Parameters
    ----------
    method : str
    indices : torch.Tensor
        Long tensor of pool indices in selection order, on the pool's device.
    weights : torch.Tensor
        w_S of the Taylor utility's optimum on S (reported, not applied in training).
    counts : dict
        {domain: number selected}.
    objective : float
        F(S) on the step's Taylor utility (the same utility for every method).
    conflicting_pairs : int
        #{i < j in S : ⟨g_i, g_j⟩ < 0}.
    grad_seconds, select_seconds : float
        Wall time of the per-example gradients and of the selection.

    Examples
    --------
    >>> import torch
    >>> sel = Selection("random", torch.tensor([4, 0, 7, 2, 5]), torch.ones(5), {0: 5}, 1.0, 0, 0.1, 0.01)
    >>> sel.shard(0, 2).tolist(), sel.shard(1, 2).tolist()
    ([4, 0, 7], [2, 5])
    """

    method: str
    indices: torch.Tensor
    weights: torch.Tensor
    counts: dict
    objective: float
    conflicting_pairs: int
    grad_seconds: float
    select_seconds: float

    def shard(self, rank: int, world_size: int) -> torch.Tensor:
        """Pool indices rank ``rank`` trains on: the ``rank``-th of ``world_size`` contiguous,
        near-equal slices of ``indices`` (sizes differ by at most one; together all of them)."""
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
        return torch.tensor_split(self.indices, world_size)[rank]


class PartitionSelector:
    """Selects ``k`` (or ``round(ratio · n)``) of a pool of n examples each training step.

    Per step: per-example gradients of pool and anchors (one call, on the model's device), one
    Taylor utility on that device, one call of the method (:func:`matroidomp.baselines.select`),
    and every statistic of the step from its result — nothing n-sized leaves the device on
    ``backend='torch'`` (the default ``'auto'`` picks it for CUDA models; CPU models read the
    gradients in place with the compiled numba loop).

    Parameters
    ----------
    model : torch.nn.Module
    modules : sequence of str
        Names of the nn.Linear modules whose weights span the gradients (see
        :func:`~matroidomp.torch.last_layer_linears`).
    method : str, default 'partitionsel'
        One of :data:`METHODS` (see :mod:`matroidomp.baselines`).
    ratio, k : float or int
        Exactly one: the share or the number of pool examples to select.
    budgets : 'proportional', 'proportional-authors', 'equal' or mapping
        Per-domain budgets of the methods that use domains.
    projection_dim, chunk_size
        As in :func:`~matroidomp.torch.per_example_gradients` (one projection seed, ``seed``, for
        pool and anchors).
    normalize : bool, default True
        L2-normalise every gradient row (pool and anchors) in the utility: the authors' default,
        diag(GGᵀ) = 1. The utility applies it as a row scale, so ``gradnorm`` still sees the raw
        norms.
    seed : int, default 0
        Seed of the projection and of the methods' randomness (repeated calls differ, a run is
        reproducible).
    backend : str, default 'auto'
        The OMP backend (:func:`matroidomp.solve_omp`).
    preconditioner : torch.optim.Optimizer, optional
        An Adam/AdamW optimizer of the model: the pool rows are then the Adam update directions
        of the examples (see :func:`~matroidomp.torch.per_example_gradients`), the anchors stay raw
        gradients — the utility matches what an AdamW step on S does. ``select`` can override it
        per call.
    minority_full : collection of labels, optional
        Domains taken whole by the methods that use budgets (the authors' ``minority_full``; see
        :func:`matroidomp.make_matroid`). Off by default.
    source_balanced_anchors : bool, default False
        The authors' ``val_srcwt``: every validation domain weighs the same in the target ā (see
        :meth:`matroidomp.QuadraticUtility.taylor`); the validation batch must then carry the
        anchors' domain labels under ``"domain"`` (the key the trainer reads for the pool).
    curriculum : matroidomp.Curriculum, optional
        The authors' ``curricullum``: every step's budgets come from the curriculum's gains (and
        replace ``budgets``), and the step's selection updates them (its utility on each validation
        domain's anchors, so the validation batch must carry ``"domain"`` labels). Exclusive with
        ``minority_full``.
    gradient_mode : {'auto', 'materialize', 'ghost'}, default 'auto'
        'materialize': per-example gradient rows (:func:`~matroidomp.torch.per_example_gradients`);
        'ghost': K = GGᵀ and Gā from ghost inner products (:func:`~matroidomp.torch.ghost_gram`),
        no n × D matrix, the solver's Gram path — single process, without projection,
        preconditioner, source-balanced anchors, curriculum or ``gradnorm`` (they need the rows);
        'auto': ghost when :func:`~matroidomp.torch.ghost_is_cheaper` says so for the pool's
        length and size and none of those is in use, else materialize.

    Raises
    ------
    ValueError
        An unknown method, both or neither of ratio and k, out-of-range values.

    Examples
    --------
    >>> import torch, transformers
    >>> from matroidomp.torch import PartitionSelector, last_layer_linears
    >>> config = transformers.Qwen2Config(vocab_size=32, hidden_size=16, intermediate_size=32,
    ...     num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1)
    >>> model = transformers.Qwen2ForCausalLM(config).eval()
    >>> ids = torch.randint(0, 32, (8, 6), generator=torch.Generator().manual_seed(0))
    >>> batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "answer_mask": torch.ones_like(ids)}
    >>> selector = PartitionSelector(model, last_layer_linears(model, 1), k=4)
    >>> sel = selector.select(batch, [0, 0, 0, 0, 0, 1, 1, 1], batch, lr=1e-3)
    >>> sel.indices.shape, sel.counts
    (torch.Size([4]), {0: 2, 1: 2})
    """

    def __init__(self, model: nn.Module, modules: Sequence[str], *, method: str = "partitionsel",
                 ratio: float | None = None, k: int | None = None, budgets="proportional",
                 projection_dim: int | None = None, normalize: bool = True, seed: int = 0, chunk_size: int = 8,
                 backend: str = "auto", preconditioner: torch.optim.Optimizer | None = None,
                 minority_full=None, source_balanced_anchors: bool = False, curriculum=None,
                 gradient_mode: str = "auto"):
        if method not in METHODS:
            raise ValueError(f"method: unknown {method!r}; use one of {METHODS}")
        if (ratio is None) == (k is None):
            raise ValueError("give exactly one of ratio and k")
        if ratio is not None and not 0 < ratio <= 1:
            raise ValueError(f"ratio must be in (0, 1], got {ratio}")
        if k is not None and k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.model, self.modules, self.method = model, list(modules), method
        self.ratio, self.k, self.budgets = ratio, k, budgets
        self.projection_dim, self.normalize, self.seed, self.chunk_size = projection_dim, normalize, seed, chunk_size
        self.rng = np.random.default_rng(seed)
        self.backend = backend
        self.preconditioner = preconditioner
        self.minority_full, self.source_balanced_anchors = minority_full, bool(source_balanced_anchors)
        if curriculum is not None and not isinstance(curriculum, Curriculum):
            raise TypeError(f"curriculum: expected a matroidomp.Curriculum, got {type(curriculum).__name__}")
        if curriculum is not None and minority_full is not None:
            raise ValueError("curriculum and minority_full: give one (the curriculum sets every budget)")
        self.curriculum = curriculum
        if gradient_mode not in GRADIENT_MODES:
            raise ValueError(f"gradient_mode: unknown {gradient_mode!r}; use one of {GRADIENT_MODES}")
        self.gradient_mode = gradient_mode
        obstacle = self._ghost_obstacle(None) if gradient_mode == "ghost" else None
        if obstacle is not None:
            raise ValueError(f"gradient_mode='ghost' cannot run with {obstacle} (it needs the gradient rows); use "
                             "'materialize' or 'auto'")

    def select(self, pool: Mapping, domains, validation: Mapping, lr: float, *,
               preconditioner: torch.optim.Optimizer | None = None) -> Selection:
        """Per-example gradients of ``pool`` and ``validation`` (dicts of ``input_ids``,
        ``attention_mask``, ``answer_mask``), then the method's subset for learning rate ``lr``
        (pool rows as Adam directions of ``preconditioner``, default the selector's own).
        Under torch.distributed every rank must pass the same pool (see the module docstring)."""
        return self._select(pool, domains, validation, lr, self.k, preconditioner)

    def select_distributed(self, pool: Mapping, domains, validation: Mapping, lr: float, *,
                           preconditioner: torch.optim.Optimizer | None = None) -> tuple[Selection, dict]:
        """Data-parallel selection: ``pool`` and ``domains`` are this rank's local pool (n_r rows, the
        same n_r on every rank), ``validation``, ``lr`` and the selector's seed the same on every
        rank. Gathers the global pool of n = W·n_r rows, selects k·W of it (``k`` per rank; with
        ``ratio``, round(ratio·n)) identically on every rank, and returns (the global selection,
        indices into the gathered pool; the rows ``Selection.shard(rank, W)`` of the gathered
        ``input_ids``, ``attention_mask``, ``answer_mask`` that this rank trains on). Without
        torch.distributed (or W = 1) it is ``select`` on the local pool and the batch is the
        selection. With equal shards (always with ``k``; with ``ratio`` when round(ratio·n) is a
        multiple of W) the mean over ranks of each rank's mean loss is the mean loss over the whole
        selection."""
        _batch_rows(pool, "pool")
        if domains is None:
            raise ValueError("pool has no domain labels (domains is None)")
        rank, world = _rank_world()
        if world > 1:
            pool, domains = gather_pool(pool, domains)
        k = None if self.k is None else self.k * world
        sel = self._select(pool, domains, validation, lr, k, preconditioner)
        mine = sel.shard(rank, world)
        return sel, {key: pool[key][mine] for key in BATCH_KEYS}

    def _select(self, pool: Mapping, domains, validation: Mapping, lr: float, k: int | None,
                preconditioner=None) -> Selection:
        n = _batch_rows(pool, "pool")
        if _batch_rows(validation, "validation") == 0:
            raise ValueError("validation batch is empty: at least one anchor is needed")
        if domains is None:
            raise ValueError("pool has no domain labels (domains is None)")
        n_labels = int(domains.shape[0]) if hasattr(domains, "shape") else len(domains)
        if n_labels != n:
            raise ValueError(f"domains: {n_labels} labels for a pool of {n} examples")
        k = k if k is not None else max(1, round(self.ratio * n))
        if k > n:
            raise ValueError(f"k: cannot select {k} examples from a pool of {n}")

        for option, wanted in (("source_balanced_anchors", self.source_balanced_anchors),
                               ("curriculum", self.curriculum is not None)):
            if wanted and "domain" not in validation:
                raise ValueError(f"{option}: the validation batch needs the anchors' domain labels under 'domain'")
        preconditioner = self.preconditioner if preconditioner is None else preconditioner
        budgets = self.budgets if self.curriculum is None else self.curriculum.budgets(domains, k)
        start = time.perf_counter()
        if self._use_ghost(pool, preconditioner):
            ghost = ghost_gram(self.model, *(pool[key] for key in BATCH_KEYS), self.modules,
                               anchors={key: validation[key] for key in BATCH_KEYS}, chunk_size=self.chunk_size,
                               normalize=self.normalize)
            _synchronize(ghost.K)
            grad_seconds = time.perf_counter() - start
            start = time.perf_counter()
            utility = QuadraticUtility.taylor_from_gram(ghost.K, ghost.c, lr, check_psd=False)  # K = GGᵀ by construction
            res, pairs = select_on_utility(utility, domains, k, method=self.method, budgets=budgets, seed=self.rng,
                                           backend=self.backend, minority_full=self.minority_full)
            _synchronize(ghost.K)
        else:
            G, A = self._gradients(pool, validation, preconditioner)
            _synchronize(G)
            grad_seconds = time.perf_counter() - start
            start = time.perf_counter()
            res, pairs = select_on_gradients(
                G, A, lr, domains, k, method=self.method, budgets=budgets, seed=self.rng, backend=self.backend,
                anchor_domains=validation["domain"] if self.source_balanced_anchors else None,
                minority_full=self.minority_full, normalize=self.normalize)
            if self.curriculum is not None:
                self.curriculum.update(G, A, validation["domain"], lr, res.indices, res.weights,
                                       normalize=self.normalize)
            _synchronize(G)
        select_seconds = time.perf_counter() - start

        device = pool["input_ids"].device
        return Selection(
            method=self.method,
            indices=torch.as_tensor(res.indices, dtype=torch.long, device=device),
            weights=torch.as_tensor(res.weights, dtype=torch.float32, device=device),
            counts=res.counts,
            objective=float(res.objective),
            conflicting_pairs=pairs,
            grad_seconds=grad_seconds,
            select_seconds=select_seconds,
        )

    def _ghost_obstacle(self, preconditioner) -> str | None:
        """What in this configuration needs the gradient rows (None: the ghost path can run)."""
        for name, present in (("projection_dim", self.projection_dim is not None),
                              ("a preconditioner", preconditioner is not None or self.preconditioner is not None),
                              ("source_balanced_anchors", self.source_balanced_anchors),
                              ("a curriculum", self.curriculum is not None),
                              ("method 'gradnorm'", self.method == "gradnorm")):
            if present:
                return name
        return None

    def _use_ghost(self, pool: Mapping, preconditioner) -> bool:
        """Whether this step takes the ghost path (``gradient_mode``; 'auto' by cost)."""
        if self.gradient_mode == "materialize" or _rank_world()[1] > 1:
            if self.gradient_mode == "ghost":
                raise ValueError("gradient_mode='ghost' runs in one process only; under torch.distributed use "
                                 "'materialize' or 'auto'")
            return False
        obstacle = self._ghost_obstacle(preconditioner)
        if self.gradient_mode == "ghost":
            if obstacle is not None:
                raise ValueError(f"gradient_mode='ghost' cannot run with {obstacle}; use 'materialize' or 'auto'")
            return True
        n, T = (int(d) for d in pool["input_ids"].shape)
        return obstacle is None and ghost_is_cheaper(self.model, self.modules, T, n)

    def gradients(self, batch: Mapping) -> torch.Tensor:
        """The rows g_i of ``batch`` (n × d); under torch.distributed each rank computes its shard
        of ⌈n / W⌉ rows and the shards are all-gathered (see the module docstring); a checksum
        Σ_t (t mod 1009 + 1) · input_ids[t] (with n) gathered first rejects ranks whose pools differ.
        With the selector's ``preconditioner``, the rows are the examples' Adam directions; with
        ``normalize``, unit rows (as the utility sees them)."""
        G = self._gradients(batch, None, self.preconditioner)[0]
        return unit_rows(G) if self.normalize else G

    def _gradients(self, pool: Mapping, validation: Mapping | None,
                   preconditioner=None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(G, A): the pool rows as in :meth:`gradients` and the anchor rows, computed in the same
        call as this rank's pool rows (one pass of the projection matrix for both) — in two calls
        with the same projection when the pool rows are Adam directions and the anchors are not."""
        n = int(pool["input_ids"].shape[0])
        rank, world = _rank_world()
        if world == 1:
            rows = self._local_gradients(pool, validation, preconditioner=preconditioner)
            return rows[:n], None if validation is None else rows[n:]
        ids = torch.as_tensor(pool["input_ids"]).long().cpu().reshape(-1)
        mine = torch.stack([torch.tensor(n), (ids * (torch.arange(ids.numel()) % 1009 + 1)).sum()])
        mine = mine.to(next(self.model.parameters()).device)
        seen = [torch.empty_like(mine) for _ in range(world)]
        dist.all_gather(seen, mine)
        if any(not torch.equal(other, mine) for other in seen):
            raise ValueError("distributed selection needs the same pool on every rank (pool sizes or "
                             f"input_ids differ: (n, checksum) per rank {[o.tolist() for o in seen]})")
        size = -(-n // world)
        shard = torch.arange(rank * size, (rank + 1) * size).clamp_(max=n - 1)
        rows = self._local_gradients({key: pool[key][shard] for key in BATCH_KEYS}, validation,
                                     preconditioner=preconditioner)
        local = rows[:size].contiguous()
        shards = [torch.empty_like(local) for _ in range(world)]
        dist.all_gather(shards, local)
        return torch.cat(shards)[:n], None if validation is None else rows[size:]

    def _local_gradients(self, pool: Mapping, validation: Mapping | None, *, preconditioner=None) -> torch.Tensor:
        """Gradient rows of ``pool`` then ``validation`` (if any), stacked, from one call: the batches
        are right-padded with zeros to a common length and joined. With a preconditioner, the pool's
        rows are Adam directions and the anchors' raw gradients, from two calls (same projection)."""
        if preconditioner is not None and validation is not None:
            return torch.cat([self._local_gradients(pool, None, preconditioner=preconditioner),
                              self._local_gradients(validation, None)])
        batches = [b for b in (pool, validation) if b is not None]
        device = next(self.model.parameters()).device
        T = max(b["input_ids"].shape[1] for b in batches)
        joined = [torch.cat([nn.functional.pad(torch.as_tensor(b[key]).to(device), (0, T - b[key].shape[1]))
                             for b in batches]) for key in BATCH_KEYS]
        return per_example_gradients(
            self.model, *joined, self.modules, chunk_size=self.chunk_size,
            projection_dim=self.projection_dim, seed=self.seed, preconditioner=preconditioner)  # raw rows: the
        # utility normalises them (a row scale), so that gradient norms stay visible to the methods

def gather_pool(pool: Mapping, domains) -> tuple[dict, np.ndarray]:
    """All-gather the local pools of the W ranks into one pool of W·n_r rows (torch.distributed).

    Parameters
    ----------
    pool : mapping
        This rank's ``input_ids``, ``attention_mask``, ``answer_mask`` (n_r × T_r each, the same
        n_r on every rank); right-padded with zeros to T = max_r T_r, rank r's rows at
        [r·n_r, (r+1)·n_r).
    domains : sequence
        This rank's n_r labels (ints or strings), gathered alike (as Python objects).

    Returns
    -------
    (dict, numpy.ndarray)
        The gathered pool and labels, the same on every rank.

    Raises
    ------
    ValueError
        Local pools of different sizes, or labels that do not match the pool.

    Examples
    --------
    >>> import os, torch, torch.distributed as dist
    >>> os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="29533")
    >>> dist.init_process_group("gloo", rank=0, world_size=1)
    >>> ids = torch.ones(2, 3, dtype=torch.long)
    >>> pool, labels = gather_pool({"input_ids": ids, "attention_mask": ids, "answer_mask": ids}, ["a", "b"])
    >>> tuple(pool["input_ids"].shape), labels.tolist()
    ((2, 3), ['a', 'b'])
    >>> dist.destroy_process_group()
    """
    labels = np.asarray(to_host(domains) if hasattr(domains, "shape") else list(domains)).reshape(-1)
    n = _batch_rows(pool, "pool")
    if labels.shape[0] != n:
        raise ValueError(f"domains: {labels.shape[0]} labels for a pool of {n} examples")
    world = dist.get_world_size()
    ids = torch.as_tensor(pool["input_ids"])
    shape = torch.tensor(ids.shape, device=ids.device)
    shapes = [torch.empty_like(shape) for _ in range(world)]
    dist.all_gather(shapes, shape)
    sizes = [int(s[0]) for s in shapes]
    if len(set(sizes)) > 1:
        raise ValueError(f"data-parallel selection needs the same local pool size on every rank, got {sizes}")
    T = max(int(s[1]) for s in shapes)
    out = {}
    for key in BATCH_KEYS:
        local = torch.as_tensor(pool[key], device=ids.device)
        local = nn.functional.pad(local, (0, T - local.shape[1])).contiguous()
        parts = [torch.empty_like(local) for _ in range(world)]
        dist.all_gather(parts, local)
        out[key] = torch.cat(parts)
    gathered = [None] * world
    dist.all_gather_object(gathered, labels)
    return out, np.concatenate(gathered)


def select_on_gradients(G, A, lr: float, domains, k: int, *, method: str, budgets, seed, backend: str = "auto",
                        parts: dict | None = None, anchor_domains=None, minority_full=None, normalize: bool = False):
    """The selection proper of :meth:`PartitionSelector.select` on given gradient rows.

    One Taylor utility on the rows' device (numpy views of CPU tensors for the compiled kernels),
    one call of ``method``, the conflicting pairs from the |S| × |S| block of Q. Returns
    ``(SelectionResult, conflicting_pairs)``; with a dict ``parts``, also the synchronised wall
    time of each part, in seconds, under "utility", "method", "conflicts" (benchmarks read it).
    ``anchor_domains`` (source-balanced anchors) and ``minority_full`` pass to the utility and the
    method; ``normalize`` L2-normalises the rows inside the utility (a row scale, no copy).
    """
    clock = _PartClock(G, parts)
    arrays = detect(G=G, A=A)
    G_in, A_in = host_views(resolve_backend(backend, arrays), arrays, G, A)
    utility = QuadraticUtility.taylor(G_in, A_in, lr, normalize=normalize, anchor_domains=anchor_domains)
    clock.lap("utility")
    return select_on_utility(utility, domains, k, method=method, budgets=budgets, seed=seed, backend=backend,
                             minority_full=minority_full, clock=clock)


def select_on_utility(utility: QuadraticUtility, domains, k: int, *, method: str, budgets, seed,
                      backend: str = "auto", minority_full=None, clock=None):
    """``method`` on one utility, then the conflicting pairs of its selection from the |S| × |S|
    block of Q: ``(SelectionResult, conflicting_pairs)`` (the second half of
    :func:`select_on_gradients`, also the ghost path's)."""
    clock = clock or _PartClock(None, None)
    res = baselines.select(method, utility, domains, k, budgets=budgets, seed=seed, backend=backend,
                           minority_full=minority_full)
    clock.lap("method")
    pairs = baselines.conflicting_pairs_of(utility, res.indices)
    clock.lap("conflicts")
    return res, pairs


class _PartClock:
    """Laps of wall time into ``parts`` (no-op without it), CUDA synchronised at each lap."""

    def __init__(self, t: torch.Tensor, parts: dict | None):
        self.t, self.parts = t, parts
        self.last = time.perf_counter() if parts is not None else 0.0

    def lap(self, name: str) -> None:
        if self.parts is None:
            return
        _synchronize(self.t)
        now = time.perf_counter()
        self.parts[name] = now - self.last
        self.last = now


def _synchronize(t: torch.Tensor) -> None:
    """Wait for the device's queued work, so that a wall-clock split charges it where it ran."""
    if t.device.type == "cuda":
        torch.cuda.synchronize(t.device)


def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _batch_rows(batch: Mapping, name: str) -> int:
    missing = [key for key in BATCH_KEYS if key not in batch]
    if missing:
        raise ValueError(f"{name}: missing {missing}; expected a dict with {list(BATCH_KEYS)}")
    return int(batch["input_ids"].shape[0])
