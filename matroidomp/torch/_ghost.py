"""Ghost inner products: K = G Gᵀ, G·ā and the row norms of per-example gradients, without G.

For a Linear y = W x + b called on the tokens t of example i (inputs x_it, output gradients
δ_it = ∂ℓ_i/∂y_it), the example's gradient is ∂ℓ_i/∂W = Σ_t δ_it x_itᵀ and ∂ℓ_i/∂b = Σ_t δ_it, so

    ⟨g_i, g_j⟩ = Σ_modules [ Σ_{t,s} (δ_it·δ_js)(x_it·x_js) + (Σ_t δ_it)·(Σ_s δ_js) ],
    ⟨g_i, ā⟩   = Σ_modules [ Σ_t δ_itᵀ Ā x_it + (Σ_t δ_it)·b̄ ],

with (Ā, b̄) the anchors' mean gradient of the module (the "ghost inner product" of GREATS, Wang
et al. 2024). The per-token (x, δ) of every example are kept — n·T·(in + out) floats per module
instead of the n·in·out of the gradients — and K is formed by blocks of rows: for row blocks I, J
the token Gram matrices (δ_I δ_Jᵀ) ⊙ (x_I x_Jᵀ), (|I|·T × |J|·T), summed over token pairs. Tokens
whose δ is exactly zero contribute nothing and are dropped before the products: right padding
always (causal attention: no real token sees it, and its own prediction is not in the loss), and
for position-wise layers at the top of the model (the last MLP) every token but those predicting
an answer token. Prompt tokens are kept where they matter (attention layers, lower layers).

Precision: the token products are float32 GEMMs (as the materialised path's gradients are), their
sums over token pairs and modules are accumulated in float64; K, c and the norms are float64.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ._per_example import check_batch, forward_backward, linear_params, select_linears

_KEYS = ("input_ids", "attention_mask", "answer_mask")


@dataclass(frozen=True)
class GhostGram:
    """Inner products of per-example gradients computed by :func:`ghost_gram`.

    Parameters
    ----------
    K : torch.Tensor of float64, shape (n, n)
        The Gram matrix G Gᵀ of the pool's gradient rows (of the unit-norm rows with
        ``normalize=True``).
    c : torch.Tensor of float64, shape (n,), or None
        G ā, ā the mean of the anchors' gradient rows (each row and ā's rows unit-norm with
        ``normalize=True``); None without anchors.
    sq_norms : torch.Tensor of float64, shape (n,)
        ‖g_i‖², the diagonal of G Gᵀ before any normalisation.

    Examples
    --------
    >>> import torch
    >>> g = GhostGram(K=torch.eye(2, dtype=torch.float64), c=None, sq_norms=torch.ones(2))
    >>> g.K.shape, g.c
    (torch.Size([2, 2]), None)
    """

    K: torch.Tensor
    c: torch.Tensor | None
    sq_norms: torch.Tensor


def ghost_gram(
    model: nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    answer_mask: torch.Tensor,
    modules: Sequence[str],
    *,
    anchors: Mapping[str, torch.Tensor] | None = None,
    chunk_size: int = 8,
    normalize: bool = False,
) -> GhostGram:
    """K = G Gᵀ (and G ā, ‖g_i‖²) of the rows of :func:`per_example_gradients`, without forming G.

    For a Linear layer ⟨g_i, g_j⟩ = Σ_{t,s} (δ_it·δ_js)(x_it·x_js) + (Σ_t δ_it)·(Σ_s δ_js), x the
    layer's inputs and δ the gradients of ℓ_i w.r.t. its outputs at tokens t (module docstring);
    ⟨g_i, ā⟩ = Σ_t δ_itᵀ Ā x_it + (Σ_t δ_it)·b̄. The columns are those of
    ``per_example_gradients(model, input_ids, attention_mask, answer_mask, modules)``: weights,
    then biases, of ``modules``, summed over repeated calls of a module. Memory: the float32
    (x, δ) of every token, n·T·Σ(in + out)·4 bytes, instead of n·Σ in·out·4 bytes for G; time
    about n²T²Σ(in + out)/2 multiply-adds instead of about nTΣ in·out + n²Σ in·out/2 (see
    :func:`ghost_is_cheaper`). The model's train/eval mode and ``requires_grad`` flags are left as
    they are.

    Parameters
    ----------
    model : torch.nn.Module
        A causal language model called as ``model(input_ids=..., attention_mask=...)`` and
        returning ``.logits``; no layer may couple rows of a batch.
    input_ids, attention_mask, answer_mask : torch.Tensor of shape (n, T)
        The pool, as for :func:`per_example_gradients`; moved to the device of the selected weights.
    modules : sequence of str
        Names of ``nn.Linear`` modules (see :func:`last_layer_linears`).
    anchors : dict of str to torch.Tensor, optional
        A batch (``input_ids``, ``attention_mask``, ``answer_mask``, each m × T') of anchor
        (validation) examples: ``c`` = G ā with ā the mean of their gradient rows.
    chunk_size : int, default 8
        Rows per forward/backward pass, and rows per block of K.
    normalize : bool, default False
        Return K and c of unit-norm rows, K_ij / (‖g_i‖‖g_j‖) and c_i / ‖g_i‖, with ā the mean of
        the unit-norm anchor rows: what :class:`PartitionSelector` gets from
        ``per_example_gradients(..., normalize=True)`` on pool and anchors.

    Returns
    -------
    GhostGram
        ``K`` (n × n), ``c`` (n,) or None, ``sq_norms`` (n,): float64, on the device of the
        selected weights.

    Raises
    ------
    ValueError
        When ``modules`` is empty or names a module that is missing, not an ``nn.Linear``, not
        called in the forward pass or without effect on the loss; when a batch's masks differ in
        shape from its ``input_ids``, it is empty or not 2-D, or a row has no answer token after
        the first position; when ``anchors`` lacks a key; when ``chunk_size`` is below 1.

    Examples
    --------
    >>> import torch, transformers
    >>> from matroidomp.torch import per_example_gradients
    >>> _ = torch.manual_seed(0)
    >>> model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(
    ...     hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
    ...     num_key_value_heads=1, vocab_size=50))  # a tiny random Qwen2, built offline
    >>> ids = torch.randint(0, 50, (5, 6), generator=torch.Generator().manual_seed(0))
    >>> attention = torch.ones_like(ids)
    >>> answer = torch.zeros_like(ids)
    >>> answer[:, 3:] = 1  # the last three tokens of each row are the answer
    >>> val = {"input_ids": ids[:2], "attention_mask": attention[:2], "answer_mask": answer[:2]}
    >>> names = ["model.layers.1.self_attn.q_proj", "model.layers.1.mlp.down_proj"]
    >>> ghost = ghost_gram(model, ids, attention, answer, names, anchors=val, chunk_size=2)
    >>> ghost.K.shape, ghost.K.dtype, ghost.c.shape
    (torch.Size([5, 5]), torch.float64, torch.Size([5]))

    The same numbers as the materialised gradients (here 16·16 + 16 + 32·16 columns):

    >>> G = per_example_gradients(model, ids, attention, answer, names).double()
    >>> A = per_example_gradients(model, **val, modules=names).double()
    >>> G.shape[1], torch.allclose(ghost.K, G @ G.T), torch.allclose(ghost.c, G @ A.mean(0))
    (784, True, True)
    >>> torch.allclose(ghost.sq_norms, (G * G).sum(1))
    True
    """
    linears = select_linears(model, modules)
    pool = check_batch(input_ids, attention_mask, answer_mask)
    if anchors is not None:
        missing = [k for k in _KEYS if k not in anchors]
        if missing:
            raise ValueError(f"anchors lacks {missing}: it needs {list(_KEYS)}")
        anchors = check_batch(*(anchors[k] for k in _KEYS))
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")

    params = [p for m in linears.values() for p in linear_params(m)]
    device = params[0].device
    flags = {p: p.requires_grad for p in model.parameters()}
    try:
        for p in model.parameters():
            p.requires_grad_(False)
        for p in params:
            p.requires_grad_(True)
        tokens = _tokens(model, linears, *(t.to(device) for t in pool), chunk_size)
        anchor_tokens = None if anchors is None else _tokens(
            model, linears, *(t.to(device) for t in anchors), chunk_size)
    finally:
        for p, flag in flags.items():
            p.requires_grad_(flag)

    with torch.no_grad():
        K = _gram(tokens, chunk_size)
        sq_norms = K.diagonal().clone()
        c = None
        if anchor_tokens is not None:
            m = anchor_tokens[0][0].shape[0]
            weights = torch.full((m,), 1.0 / m, dtype=torch.float64, device=device)
            if normalize:
                weights = weights / _sq_norms(anchor_tokens).sqrt().clamp_min(torch.finfo(torch.float64).tiny)
            c = _anchor_products(tokens, anchor_tokens, weights, chunk_size)
        if normalize:
            norms = sq_norms.sqrt().clamp_min(torch.finfo(torch.float64).tiny)
            K = K / (norms[:, None] * norms[None, :])
            c = None if c is None else c / norms
    return GhostGram(K=K, c=c, sq_norms=sq_norms)


def ghost_is_cheaper(
    model: nn.Module,
    modules: Sequence[str],
    seq_len: int,
    n: int,
    *,
    anchors: bool = True,
    memory_bytes: int | None = None,
) -> bool:
    """Whether :func:`ghost_gram` should cost less than ``per_example_gradients`` + G Gᵀ.

    Counted in multiply-adds, per module of ``in`` inputs and ``out`` outputs, for a pool of n
    rows of T = ``seq_len`` tokens (each module called once per forward):

    - ghost: n(n+1)/2 · T²(in + out) for K, plus n·T·in·out for c = G ā (``anchors``);
    - materialised: n·T·in·out to form G, n(n+1)/2 · in·out for G Gᵀ, plus n·in·out for G ā.

    With anchors the ghost path wins when T²(in + out) < in·out·(1 + 2/(n+1)): per pair,
    T²(in + out) against in·out; without anchors, forming G adds 2T/(n+1) to the right side. The
    forward and backward passes are the same for both and are not counted; the anchors' own
    gradients (m ≪ n rows) neither. Memory held across the pool, in bytes: ghost
    4·n·T·Σ(in + out), materialised 4·n·Σ(in·out + out·[bias]). With ``memory_bytes``, a path that
    does not fit loses when the other fits; otherwise the multiply-adds decide. T should be the
    number of tokens that carry gradient (the padded length is an upper bound). The rule counts
    arithmetic only: on a CPU the materialised path of large layers is bound by memory traffic,
    and measured slower than predicted (the guide's "Ghost inner products" section).

    Parameters
    ----------
    model : torch.nn.Module
        The model whose ``modules`` are looked up.
    modules : sequence of str
        Names of ``nn.Linear`` modules, as for :func:`ghost_gram`.
    seq_len : int
        T, tokens per example.
    n : int
        Rows in the pool.
    anchors : bool, default True
        Whether G ā is wanted too.
    memory_bytes : int, optional
        Memory available for the pool's gradients (or tokens).

    Returns
    -------
    bool
        True when the ghost path is predicted cheaper.

    Raises
    ------
    ValueError
        As :func:`select_linears` for ``modules``; when ``seq_len`` or ``n`` is below 1.

    Examples
    --------
    >>> from torch import nn
    >>> model = nn.ModuleDict({"wide": nn.Linear(4096, 4096), "mid": nn.Linear(512, 512)})
    >>> ghost_is_cheaper(model, ["wide"], seq_len=32, n=128)   # 32² · 8192 < 4096²
    True
    >>> ghost_is_cheaper(model, ["mid"], seq_len=32, n=128)    # 32² · 1024 > 512²
    False
    >>> ghost_is_cheaper(model, ["mid"], seq_len=32, n=128, memory_bytes=64 * 2**20)  # G: 134 MB
    True
    """
    linears = select_linears(model, modules)
    if seq_len < 1 or n < 1:
        raise ValueError(f"seq_len and n must be >= 1, got {seq_len} and {n}")
    ghost, materialised, ghost_bytes, materialised_bytes = _costs(linears.values(), seq_len, n, anchors)
    if memory_bytes is not None and (ghost_bytes <= memory_bytes) != (materialised_bytes <= memory_bytes):
        return ghost_bytes <= memory_bytes
    return ghost < materialised


def _costs(linears, seq_len, n, anchors) -> tuple[float, float, int, int]:
    """(ghost, materialised) multiply-adds and (ghost, materialised) bytes of :func:`ghost_is_cheaper`."""
    pairs = n * (n + 1) / 2
    ghost = materialised = ghost_bytes = materialised_bytes = 0
    for linear in linears:
        fan_in, fan_out = linear.in_features, linear.out_features
        ghost += pairs * seq_len**2 * (fan_in + fan_out) + anchors * n * seq_len * fan_in * fan_out
        materialised += (n * seq_len + pairs + anchors * n) * fan_in * fan_out
        ghost_bytes += 4 * n * seq_len * (fan_in + fan_out)
        materialised_bytes += 4 * n * (fan_in * fan_out + (linear.bias is not None) * fan_out)
    return ghost, materialised, ghost_bytes, materialised_bytes


def _tokens(model, linears, ids, attn, answer, chunk_size) -> list[tuple[torch.Tensor, torch.Tensor, bool]]:
    """Per module: (X, Δ, has bias) with X (n × T_m × in) the inputs and Δ (n × T_m × out) the
    output gradients of every token of every call that has a nonzero δ (zero-padded per row to
    T_m, the largest count), float32."""
    names = list(linears)
    chunks = {name: [] for name in names}
    for start in range(0, ids.shape[0], chunk_size):
        sl = slice(start, start + chunk_size)
        calls, grads = forward_backward(model, linears, ids[sl], attn[sl], answer[sl])
        i = 0
        for name in names:
            xs, ds = [], []
            for x, y in calls[name]:
                dy = grads[i]
                i += 1
                if dy is not None:
                    xs.append(x.float().reshape(x.shape[0], -1, x.shape[-1]))
                    ds.append(dy.float().reshape(dy.shape[0], -1, dy.shape[-1]))
            if not ds:
                raise ValueError(f"module {name!r} does not affect the loss")
            chunks[name].append(_live(torch.cat(xs, dim=1), torch.cat(ds, dim=1)))
    out = []
    for name in names:
        width = max(d.shape[1] for _, d in chunks[name])
        x = torch.cat([nn.functional.pad(x, (0, 0, 0, width - x.shape[1])) for x, _ in chunks[name]])
        d = torch.cat([nn.functional.pad(d, (0, 0, 0, width - d.shape[1])) for _, d in chunks[name]])
        chunks[name] = None
        out.append((x, d, linears[name].bias is not None))
    return out


def _live(x, d):
    """(x, d) restricted to the tokens whose δ is not all zero, moved to the front of each row
    (in order) and cut at the largest count; the rest of a shorter row is tokens with δ = 0."""
    live = d.abs().amax(dim=2) > 0
    width = max(int(live.sum(dim=1).max()), 1)
    if width == d.shape[1]:
        return x, d
    order = torch.argsort((~live).to(torch.uint8), dim=1, stable=True)[:, :width, None]
    return x.gather(1, order.expand(-1, -1, x.shape[2])), d.gather(1, order.expand(-1, -1, d.shape[2]))


def _gram(tokens, block) -> torch.Tensor:
    """K = Σ_modules ghost products, by blocks of ``block`` rows (lower triangle, then mirrored)."""
    x0 = tokens[0][0]
    n = x0.shape[0]
    K = torch.zeros(n, n, dtype=torch.float64, device=x0.device)
    for i in range(0, n, block):
        rows = slice(i, i + block)
        for j in range(0, i + 1, block):
            cols = slice(j, j + block)
            for x, d, _ in tokens:
                K[rows, cols] += _pair_products(x[rows], d[rows], x[cols], d[cols])
    for _, d, bias in tokens:
        if bias:
            b = d.sum(dim=1, dtype=torch.float64)
            K += b @ b.T
    return K.tril() + K.tril(-1).T


def _pair_products(xi, di, xj, dj) -> torch.Tensor:
    """Σ_{t,s} (δ_it·δ_js)(x_it·x_js) for rows i of (xi, di) and j of (xj, dj): float32 token
    Gram matrices, float64 sums."""
    products = (di.flatten(0, 1) @ dj.flatten(0, 1).T).mul_(xi.flatten(0, 1) @ xj.flatten(0, 1).T)
    products = products.view(di.shape[0], di.shape[1], dj.shape[0], dj.shape[1])
    return products.sum(dim=(1, 3), dtype=torch.float64)


def _sq_norms(tokens) -> torch.Tensor:
    """‖g_i‖² of every row: the diagonal of :func:`_gram` alone (batched over rows)."""
    total = 0
    for x, d, bias in tokens:
        total = total + (torch.bmm(d, d.transpose(1, 2)) * torch.bmm(x, x.transpose(1, 2))).sum(
            dim=(1, 2), dtype=torch.float64)
        if bias:
            total = total + d.sum(dim=1, dtype=torch.float64).square().sum(dim=1)
    return total


def _anchor_products(tokens, anchor_tokens, weights, block) -> torch.Tensor:
    """c_i = Σ_modules Σ_t δ_itᵀ Ā x_it + (Σ_t δ_it)·b̄, with (Ā, b̄) = Σ_a w_a g_a of the module."""
    n = tokens[0][0].shape[0]
    c = torch.zeros(n, dtype=torch.float64, device=weights.device)
    for (x, d, bias), (xa, da, _) in zip(tokens, anchor_tokens):
        weighted = da.double() * weights[:, None, None]
        mean_w = (weighted.flatten(0, 1).T @ xa.double().flatten(0, 1)).float()  # Ā: out × in
        for i in range(0, n, block):
            rows = slice(i, i + block)
            c[rows] += (d[rows] * (x[rows] @ mean_w.T)).sum(dim=(1, 2), dtype=torch.float64)
        if bias:
            c += d.sum(dim=1, dtype=torch.float64) @ weighted.sum(dim=(0, 1))
    return c
