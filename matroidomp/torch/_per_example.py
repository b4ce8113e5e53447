"""Per-example gradients of a causal language model w.r.t. the weights of chosen nn.Linear modules.

Loss of example b (tokens x_1..x_T, answer mask m_t, attention mask a_t):

    ℓ_b = (1 / N_b) Σ_{t ≥ 2} m_t a_t · (−log p(x_t | x_<t)),   N_b = Σ_{t ≥ 2} m_t a_t,

the mean NLL over answer tokens (PartitionSel's per-sequence loss). One forward and one backward
of L = Σ_b ℓ_b over a chunk of the pool give, for a Linear y = W a + c with input activations
A_b (T × in) and output gradients dY_b = ∂L/∂Y_b (T × out), every example's gradient at once:

    ∂ℓ_b/∂W = Σ_t dY_b[t]ᵀ A_b[t]   (out × in),    ∂ℓ_b/∂c = Σ_t dY_b[t],

because ℓ_b depends only on row b of the chunk (no batch-coupling layers in a causal LM).
Forward hooks keep A and Y; ``torch.autograd.grad(L, Y)`` returns dY without forming the summed
weight gradients. Only the selected weights require grad during the call, so autograd stops at
the earliest selected layer.

Optional random projection (Johnson–Lindenstrauss): g ↦ Rᵀ g / √p with R ∈ {±1}^{D × p}, never
stored whole. R is produced in row blocks, in a fixed order, from one ``torch.Generator`` seeded
with ``seed`` on the model's device: each row of a block takes ⌈p / 64⌉ uniform 64-bit words, and
bit j of the row's bytes (little-endian) gives the sign of column j (bit 1 ↦ +1, 0 ↦ −1) — one
draw per 64 signs, unpacked by a 256 × 8 lookup table. So R depends on (seed, device's generator
kind, column layout D, p, block_size) and not on chunk_size or the buffering below. Gradient rows
of successive chunks are buffered up to ``buffer_bytes`` and projected together, so R is
generated once per buffer rather than once per chunk. Inner products are preserved in
expectation with standard deviation at most √2 ‖g_i‖ ‖g_j‖ / √p.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import torch
from torch import nn

from ._preconditioner import AdamDirections

DEFAULT_KINDS = ("q_proj", "k_proj", "v_proj", "gate_proj", "up_proj", "down_proj")

_LAYER = re.compile(r"(?:^|\.)layers\.(\d+)\.")


def select_linears(model: nn.Module, names: Sequence[str]) -> dict[str, nn.Linear]:
    """The nn.Linear modules of ``model`` with the given full names, in the given order.

    Parameters
    ----------
    model : torch.nn.Module
        Any model; names are those of ``model.named_modules()``.
    names : sequence of str
        Full module names, e.g. ``'model.layers.1.mlp.down_proj'``.

    Returns
    -------
    dict of str to torch.nn.Linear
        In the order of ``names``.

    Raises
    ------
    ValueError
        When ``names`` is empty, a name is not a module of ``model``, or names a module that is
        not an ``nn.Linear``.

    Examples
    --------
    >>> import torch, transformers
    >>> _ = torch.manual_seed(0)
    >>> model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(
    ...     hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
    ...     num_key_value_heads=1, vocab_size=50))  # a tiny random Qwen2, built offline
    >>> select_linears(model, ["model.layers.1.mlp.down_proj"])
    {'model.layers.1.mlp.down_proj': Linear(in_features=32, out_features=16, bias=False)}
    >>> select_linears(model, ["model.norm"])
    Traceback (most recent call last):
    ...
    ValueError: module 'model.norm' is a Qwen2RMSNorm, not an nn.Linear
    """
    if len(names) == 0:
        raise ValueError("no modules selected: the parameter set is empty")
    modules = dict(model.named_modules())
    selected = {}
    for name in names:
        if name not in modules:
            raise ValueError(f"model has no module named {name!r}")
        if not isinstance(modules[name], nn.Linear):
            raise ValueError(f"module {name!r} is a {type(modules[name]).__name__}, not an nn.Linear")
        selected[name] = modules[name]
    return selected


def last_layer_linears(model: nn.Module, last: int, kinds: Sequence[str] = DEFAULT_KINDS) -> list[str]:
    """Names of the nn.Linear modules of the given ``kinds`` inside the last ``last`` decoder layers.

    The authors' parameter set: q, k, v, gate, up and down projections of the last layers only.
    A module qualifies when its name ends in ``.<kind>`` (for peft adapters e.g.
    ``q_proj.lora_A.default``) and contains ``.layers.<i>.`` with i among the ``last`` largest
    layer indices.

    Parameters
    ----------
    model : torch.nn.Module
        A decoder model whose blocks are named ``….layers.<i>.…`` (Qwen2, Llama, ...).
    last : int
        Number of decoder layers, counted from the top.
    kinds : sequence of str, default :data:`DEFAULT_KINDS`
        Name suffixes: ``q_proj, k_proj, v_proj, gate_proj, up_proj, down_proj``.

    Returns
    -------
    list of str
        Module names in module order.

    Raises
    ------
    ValueError
        When no ``nn.Linear`` of those kinds lies inside a ``.layers.<i>.`` block.

    Examples
    --------
    >>> import torch, transformers
    >>> _ = torch.manual_seed(0)
    >>> model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(
    ...     hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
    ...     num_key_value_heads=1, vocab_size=50))  # a tiny random Qwen2, built offline
    >>> last_layer_linears(model, 1)  # doctest: +NORMALIZE_WHITESPACE
    ['model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.k_proj',
     'model.layers.1.self_attn.v_proj', 'model.layers.1.mlp.gate_proj',
     'model.layers.1.mlp.up_proj', 'model.layers.1.mlp.down_proj']
    >>> last_layer_linears(model, 2, kinds=("down_proj",))
    ['model.layers.0.mlp.down_proj', 'model.layers.1.mlp.down_proj']
    """
    found = []
    for name, module in model.named_modules():
        layer = _LAYER.search(name)
        if isinstance(module, nn.Linear) and layer and any(name.endswith("." + k) for k in kinds):
            found.append((int(layer.group(1)), name))
    if not found:
        raise ValueError(f"no nn.Linear named *.{{{', '.join(kinds)}}} inside a '.layers.<i>.' block")
    top = max(i for i, _ in found)
    return [name for i, name in found if i > top - last]


def per_example_gradients(
    model: nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    answer_mask: torch.Tensor,
    modules: Sequence[str],
    *,
    chunk_size: int = 8,
    projection_dim: int | None = None,
    seed: int = 0,
    normalize: bool = False,
    block_size: int = 1 << 24,
    buffer_bytes: int = 1 << 30,
    preconditioner: torch.optim.Optimizer | None = None,
) -> torch.Tensor:
    """Per-example gradients g_b = ∇_θ ℓ_b of the mean answer-token NLL, float32, one row per example.

    ℓ_b is the mean over the answer tokens of row b of −log p(x_t | x_<t) (module docstring); θ
    the weights (then biases) of ``modules``. One batched forward and backward per chunk of
    ``chunk_size`` rows, with hooks: cost about that of one training step on the pool.

    ``input_ids``, ``attention_mask`` and ``answer_mask`` are (n × T); ``answer_mask[b, t] = 1``
    marks token t as part of the answer (its prediction is in the loss); the first token is never
    predicted. Columns are the flattened weight (then bias) gradients of ``modules`` in the given
    order, so D = Σ (out·in + out); with ``projection_dim`` = p the rows are projected to p dims
    (seeded, same projection for every chunk), and with ``normalize`` scaled to unit L2 norm.
    The model's train/eval mode is left as is (dropout makes gradients random), and so are the
    ``requires_grad`` flags of its parameters.

    Parameters
    ----------
    model : torch.nn.Module
        A causal language model called as ``model(input_ids=..., attention_mask=...)`` and
        returning ``.logits`` (Hugging Face convention); no layer may couple rows of a batch.
    input_ids, attention_mask, answer_mask : torch.Tensor of shape (n, T)
        Token ids, attention mask (1 on real tokens) and answer mask (1 on the tokens whose
        prediction is in the loss); moved to the device of the selected weights.
    modules : sequence of str
        Names of ``nn.Linear`` modules (see :func:`last_layer_linears`, :func:`select_linears`).
    chunk_size : int, default 8
        Rows per forward/backward pass (memory against speed).
    projection_dim : int, optional
        p: project every row with a seeded Rademacher matrix R ∈ {±1}^{D × p}, g ↦ Rᵀg / √p.
    seed : int, default 0
        Seed of the projection (the same seed gives the same R on the same device kind).
    normalize : bool, default False
        Scale every row to unit L2 norm (after the projection).
    block_size : int, default 2**24
        Bound on the entries of the projection block drawn at once (block_size // p rows of R).
    buffer_bytes : int, default 2**30
        Bound on the float32 gradient rows (n_buf × D) held before they are projected together
        (at least one chunk); projection memory is about buffer_bytes + 4·block_size + 4·n·p
        bytes.
    preconditioner : torch.optim.Optimizer, optional
        An Adam or AdamW optimizer holding the selected weights: rows are then the Adam update
        directions Γ(g_b) = m̂_b / (√v̂_b + ε) the example alone would cause from the optimizer's
        current state (m_b = β₁m + (1 − β₁)g_b, v_b = β₂v + (1 − β₂)g_b², bias-corrected at the
        next step count), before projection and normalisation. A weight the optimizer has no
        state for yet (before its first step) keeps its raw gradient.

    Returns
    -------
    torch.Tensor of float32, shape (n, D) or (n, p)
        On the device of the selected weights.

    Raises
    ------
    ValueError
        When ``modules`` is empty or names a module that is missing, not an ``nn.Linear``, not
        called in the forward pass or without effect on the loss; when the masks' shapes differ
        from ``input_ids``, the batch is empty or not 2-D, a row has no answer token after the
        first position; or when ``chunk_size``, ``projection_dim``, ``block_size`` or
        ``buffer_bytes`` is below 1; when ``preconditioner`` is not Adam-type or does not hold
        every selected weight.
    TypeError
        When ``preconditioner`` is not an optimizer.

    Examples
    --------
    >>> import torch, transformers
    >>> _ = torch.manual_seed(0)
    >>> model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(
    ...     hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
    ...     num_key_value_heads=1, vocab_size=50))  # a tiny random Qwen2, built offline
    >>> ids = torch.randint(0, 50, (3, 6), generator=torch.Generator().manual_seed(0))
    >>> attention = torch.ones_like(ids)
    >>> answer = torch.zeros_like(ids)
    >>> answer[:, 3:] = 1  # the last three tokens of each row are the answer
    >>> G = per_example_gradients(model, ids, attention, answer, ["model.layers.1.mlp.down_proj"])
    >>> G.shape, G.dtype  # D = 16 · 32 weights of down_proj
    (torch.Size([3, 512]), torch.float32)
    >>> P = per_example_gradients(model, ids, attention, answer, ["model.layers.1.mlp.down_proj"],
    ...                           projection_dim=8, normalize=True)
    >>> P.shape, P.norm(dim=1).round(decimals=4).tolist()
    (torch.Size([3, 8]), [1.0, 1.0, 1.0])

    A row equals the gradient of that example's loss alone:

    >>> from matroidomp.torch import mean_answer_loss
    >>> loss = mean_answer_loss(model, {"input_ids": ids[:1], "attention_mask": attention[:1],
    ...                                 "answer_mask": answer[:1]})
    >>> loss.backward()
    >>> torch.allclose(G[0], model.model.layers[1].mlp.down_proj.weight.grad.flatten(), atol=1e-6)
    True

    Adam update directions instead of gradients (the raw gradient until the optimizer has state):

    >>> opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    >>> down = ["model.layers.1.mlp.down_proj"]
    >>> torch.equal(per_example_gradients(model, ids, attention, answer, down, preconditioner=opt), G)
    True
    >>> opt.step()  # the gradient of example 0 from above: now m, v and the step count exist
    >>> D = per_example_gradients(model, ids, attention, answer, down, preconditioner=opt)
    >>> bool(D.isfinite().all()), torch.equal(D, G)
    (True, False)
    """
    linears = select_linears(model, modules)
    ids, attn, answer = check_batch(input_ids, attention_mask, answer_mask)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if projection_dim is not None and projection_dim < 1:
        raise ValueError(f"projection_dim must be >= 1, got {projection_dim}")
    if block_size < 1 or buffer_bytes < 1:
        raise ValueError(f"block_size and buffer_bytes must be >= 1, got {block_size} and {buffer_bytes}")

    params = [p for m in linears.values() for p in linear_params(m)]
    directions = None if preconditioner is None else AdamDirections(preconditioner, params)
    device = params[0].device
    ids, attn, answer = ids.to(device), attn.to(device), answer.to(device)
    flags = {p: p.requires_grad for p in model.parameters()}
    rows, buffered = [], []
    try:
        for p in model.parameters():
            p.requires_grad_(False)
        for p in params:
            p.requires_grad_(True)
        for start in range(0, ids.shape[0], chunk_size):
            sl = slice(start, start + chunk_size)
            blocks = _chunk_gradients(model, linears, ids[sl], attn[sl], answer[sl])
            if directions is not None:
                blocks = directions.apply(blocks)
            if projection_dim is None:
                rows.append(torch.cat(blocks, dim=1))
                continue
            buffered.append(blocks)
            held = sum(b.numel() for chunk in buffered for b in chunk) * 4
            if start + chunk_size >= ids.shape[0] or held + held // len(buffered) > buffer_bytes:
                rows.append(_project(buffered, projection_dim, seed, block_size, device))
                buffered = []
    finally:
        for p, flag in flags.items():
            p.requires_grad_(flag)
    out = torch.cat(rows)
    return unit_rows(out) if normalize else out


def unit_rows(G: torch.Tensor) -> torch.Tensor:
    """G with every row scaled to unit L2 norm (a zero row stays zero).

    Parameters
    ----------
    G : torch.Tensor of shape (n, d)

    Returns
    -------
    torch.Tensor
        G_i / ‖G_i‖, same dtype and device.

    Examples
    --------
    >>> unit_rows(torch.tensor([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    return G / G.norm(dim=1, keepdim=True).clamp_min(torch.finfo(G.dtype).tiny)


def linear_params(linear: nn.Linear) -> list[torch.Tensor]:
    """The parameters whose gradients form a linear layer's columns: the weight, then the bias.

    Parameters
    ----------
    linear : torch.nn.Linear

    Returns
    -------
    list of torch.Tensor
        ``[weight]`` or ``[weight, bias]``.

    Examples
    --------
    >>> [tuple(p.shape) for p in linear_params(nn.Linear(3, 2))]
    [(2, 3), (2,)]
    """
    return [linear.weight] if linear.bias is None else [linear.weight, linear.bias]


def check_batch(input_ids, attention_mask, answer_mask):
    """A batch of the loss's three tensors, checked: 2-D, one shape, an answer token in every row.

    Parameters
    ----------
    input_ids, attention_mask, answer_mask : array-like of shape (n, T)

    Returns
    -------
    tuple of torch.Tensor
        ``(ids, attention, answer)`` on ``input_ids``' device.

    Raises
    ------
    ValueError
        A batch that is not 2-D or empty, masks of another shape, a row without an answer token
        after the first position (its loss would be 0/0).

    Examples
    --------
    >>> ids, attn, answer = check_batch([[5, 6, 7]], [[1, 1, 1]], [[0, 1, 1]])
    >>> ids.shape
    torch.Size([1, 3])
    >>> check_batch([[5, 6, 7]], [[1, 1, 1]], [[1, 0, 0]])
    Traceback (most recent call last):
    ...
    ValueError: rows [0] have no answer tokens (after the first position) to put in the loss
    """
    ids = torch.as_tensor(input_ids)
    if ids.ndim != 2:
        raise ValueError(f"input_ids must be (n, T), got shape {tuple(ids.shape)}")
    if ids.shape[0] == 0:
        raise ValueError("empty batch: input_ids has no rows")
    attn = torch.as_tensor(attention_mask, device=ids.device)
    answer = torch.as_tensor(answer_mask, device=ids.device)
    for name, mask in (("attention_mask", attn), ("answer_mask", answer)):
        if mask.shape != ids.shape:
            raise ValueError(f"{name} has shape {tuple(mask.shape)}, input_ids {tuple(ids.shape)}")
    counts = (answer[:, 1:].bool() & attn[:, 1:].bool()).sum(dim=1)
    empty = torch.nonzero(counts == 0).flatten().tolist()
    if empty:
        raise ValueError(f"rows {empty} have no answer tokens (after the first position) to put in the loss")
    return ids, attn, answer


def _chunk_gradients(model, linears, ids, attn, answer) -> list[torch.Tensor]:
    """Per-example gradient blocks (b × out·in, then b × out) of one chunk, in module order."""
    calls, grads = forward_backward(model, linears, ids, attn, answer)
    with torch.no_grad():
        return _assemble(linears, calls, grads)


def forward_backward(model: nn.Module, linears: dict, ids, attn, answer) -> tuple[dict, tuple]:
    """One forward and backward of Σ_b ℓ_b over a chunk, with hooks on ``linears``.

    Forward hooks record every call's (input, output) of each module; ``torch.autograd.grad``
    then gives ∂(Σ_b ℓ_b)/∂output of every call — what both the materialised gradients
    (:func:`per_example_gradients`) and the ghost inner products (:func:`ghost_gram
    <matroidomp.torch.ghost_gram>`) are built from. Columns after the last attended token are
    cut first (a causal model's earlier positions cannot depend on them).

    Parameters
    ----------
    model : torch.nn.Module
    linears : dict of str to nn.Linear
        From :func:`select_linears`; their weights must require grad.
    ids, attn, answer : torch.Tensor of shape (b, T)
        A chunk checked by :func:`check_batch`.

    Returns
    -------
    calls : dict of str to list of (torch.Tensor, torch.Tensor)
        Per module, every call's (detached input, output), in call order.
    grads : tuple of torch.Tensor or None
        ∂(Σ_b ℓ_b)/∂output of each call, in module then call order (None without effect).

    Raises
    ------
    ValueError
        A module not called in the forward pass; modules that do not affect the loss.

    Examples
    --------
    >>> import torch, transformers
    >>> _ = torch.manual_seed(0)
    >>> model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(
    ...     hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
    ...     num_key_value_heads=1, vocab_size=50))
    >>> linears = select_linears(model, ["model.layers.0.mlp.down_proj"])
    >>> _ = [p.requires_grad_(True) for p in model.parameters()]
    >>> ids = torch.randint(0, 50, (2, 5))
    >>> calls, grads = forward_backward(model, linears, ids, torch.ones_like(ids), torch.ones_like(ids))
    >>> len(calls["model.layers.0.mlp.down_proj"]), grads[0].shape  # one call; (b, T, out)
    (1, torch.Size([2, 5, 16]))
    """
    keep = int(torch.nonzero(attn.bool().any(dim=0)).max()) + 1
    ids, attn, answer = ids[:, :keep], attn[:, :keep], answer[:, :keep]
    calls = {name: [] for name in linears}
    handles = [
        m.register_forward_hook(lambda _m, inp, out, name=name: calls[name].append((inp[0].detach(), out)))
        for name, m in linears.items()
    ]
    try:
        with torch.enable_grad():
            logits = model(input_ids=ids, attention_mask=attn).logits
            loss = sum_of_mean_nll(logits, ids, attn, answer)
    finally:
        for h in handles:
            h.remove()
    unused = [name for name in linears if not calls[name]]
    if unused:
        raise ValueError(f"modules {unused} were not called in the forward pass")
    if not loss.requires_grad:
        raise ValueError(f"modules {list(linears)} do not affect the loss")
    outputs = [out for name in linears for _, out in calls[name]]
    return calls, torch.autograd.grad(loss, outputs, allow_unused=True)


def _assemble(linears, calls, grads) -> list[torch.Tensor]:
    """Σ over a module's calls of einsum('bto,bti->boi', dY, A) (weight) and Σ_t dY (bias)."""
    blocks, i = [], 0
    for name, linear in linears.items():
        gw = gb = None
        for a, _ in calls[name]:
            dy = grads[i]
            i += 1
            if dy is None:
                continue
            a = a.float().reshape(a.shape[0], -1, a.shape[-1])
            dy = dy.float().reshape(dy.shape[0], -1, dy.shape[-1])
            w = torch.einsum("bto,bti->boi", dy, a).flatten(1)
            b = dy.sum(dim=1)
            gw, gb = (w, b) if gw is None else (gw + w, gb + b)
        if gw is None:
            raise ValueError(f"module {name!r} does not affect the loss")
        blocks.append(gw)
        if linear.bias is not None:
            blocks.append(gb)
    return blocks


def sum_of_mean_nll(logits, ids, attn, answer) -> torch.Tensor:
    """Σ_b ℓ_b, ℓ_b the mean NLL over the answer tokens of row b (token t predicted from t − 1).

    Parameters
    ----------
    logits : (n, T, V) tensor
    ids, attn, answer : (n, T) tensors
        Token ids, attention mask and answer mask.

    Returns
    -------
    torch.Tensor
        A scalar (differentiable): the sum of the per-example losses whose gradients the selector
        matches.

    Examples
    --------
    >>> import torch
    >>> logits = torch.zeros(1, 3, 4)  # uniform predictions: every token costs log 4
    >>> ids = torch.tensor([[0, 1, 2]])
    >>> round(float(sum_of_mean_nll(logits, ids, torch.ones(1, 3), torch.ones(1, 3))), 4)
    1.3863
    """
    target = (answer[:, 1:].bool() & attn[:, 1:].bool()).float()
    nll = nn.functional.cross_entropy(
        logits[:, :-1].float().transpose(1, 2), ids[:, 1:], reduction="none"
    )
    return ((nll * target).sum(dim=1) / target.sum(dim=1)).sum()


def _project(chunks, p, seed, block_size, device) -> torch.Tensor:
    """Σ over coordinate blocks of g_block @ R_block / √p for the rows of all ``chunks`` (lists of
    per-module gradient blocks), R_block Rademacher, drawn once, in a fixed order."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    table = _SIGNS.to(device)
    out = torch.zeros(sum(c[0].shape[0] for c in chunks), p, dtype=torch.float32, device=device)
    rows = max(1, block_size // p)
    for m in range(len(chunks[0])):
        for start in range(0, chunks[0][m].shape[1], rows):
            part = torch.cat([c[m][:, start : start + rows] for c in chunks])
            out.addmm_(part, _rademacher(part.shape[1], p, gen, table))
    return out / math.sqrt(p)


# _SIGNS[v, j] = +1 if bit j of the byte v is set, else −1.
_SIGNS = ((torch.arange(256)[:, None] >> torch.arange(8)) & 1).float().mul_(2).sub_(1)


def _rademacher(rows: int, p: int, gen: torch.Generator, table: torch.Tensor) -> torch.Tensor:
    """A rows × p matrix of ±1 from rows × ⌈p / 64⌉ random 64-bit words, bit j of a row's bytes
    giving column j (one generator draw per 64 signs)."""
    words = torch.empty(rows, -(-p // 64), dtype=torch.int64, device=table.device)
    words.random_(-(1 << 63), None, generator=gen)  # all 2^64 values equally likely
    bits = words.view(torch.uint8).reshape(-1).int()
    return table.index_select(0, bits).reshape(rows, -1)[:, :p]
