"""GPU benchmarks: fused OMP step bandwidth, batched NNQP, end-to-end OMP, and the torch adapter's
selection step in a LoRA training loop on the device.

Run on a CUDA machine (``benchmarks/gpu_check.sh`` does setup and tests first)::

    python benchmarks/gpu_report.py --out DIR          # writes DIR/gpu_report.json, prints tables

or on a CPU as a smoke test of the code paths (tiny sizes, Triton interpreter; no GPU numbers)::

    python benchmarks/gpu_report.py --smoke            # writes ./gpu_out/gpu_report_smoke.json

The JSON is rewritten after every section, so a run cut short keeps what finished. Sections run in
the order (a), (b), (d), (c) — the training-loop numbers before the long end-to-end instances —
and stop starting new work once ``--deadline-s`` (from the start of the script) is near.

Sections
--------
(a) Fused OMP step (``kernels/triton_omp_step.py``), timed with ``triton.testing.do_bench``
    (median). Effective bandwidth = bytes the step must move once / time, where bytes = the data
    read once (G, n × d, for the d-space path; the |S| stored rows, p × n, for the Gram path)
    + the residual direction / weights + the n-vectors (c fp32, codes int32, selected uint8 and
    the per-element tolerances fp32 read, ρ fp32 written) + the per-program partial maxima.
    The tolerances are one precomputed fp32 vector, as the OMP loop passes them.
    Reported against the datasheet peak (H200: 4.8 TB/s HBM3e, ../.library H200.md) and against
    a device-to-device copy measured in the same run. Sizes n·d ≥ 10⁸: d-space n = 200,000,
    d = 1,024 (bf16 and fp32); Gram p = 512 rows, n = 200,000. A torch composition of the same
    step (matvec, mask, argmax) is timed beside it, and the kernel's ρ and arg-max are checked.
(b) Batched NNQP (``kernels/triton_nnqp.batched_nnqp``), B = 256 problems of k = 32 and 64 of
    k = 128, against (i) solving them one by one with a torch active set (Lawson–Hanson on the
    Gram form, fp32 on the device) and (ii) the kernel's own projected coordinate descent
    written in torch, vectorised over the batch; plus the host numba ``nnqp_batched`` (float64).
    All use the kernel's per-coordinate KKT tolerances (``triton_nnqp.coordinate_tolerances``).
    Agreement with the float64 reference ``matroidomp.nnqp_batched``: max |w − w_ref| / max|w_ref|
    and the relative objective gap; the kernel's statuses (converged / unbounded) are counted.
(c) End to end: ``matroidomp.omp`` on CUDA torch tensors (backend 'auto' → torch ops with the
    Triton step, refit on the host) against numpy arrays on the CPU (numba) at the solver-core
    sizes of ``problems.SIZES`` and the large-pool instance of ``test_bench_large_pool.py``: time
    and whether the selections agree.
(d) The selection step of a training loop on the device: a Qwen2 built offline from a config
    (default hidden 512, 8 layers, 8 heads, 2 KV heads, intermediate 2048, vocab 8192, bf16 weights,
    sdpa attention) with peft LoRA adapters (r = 16, alpha 32, fp32, on q,k,v,gate,up,down of the
    last 3 layers; random A and B so that both carry gradient), a pool of 256 right-padded rows of
    up to 256 tokens in 4 domains (50/25/15/10 %; rows sorted by length as the fine-tuning
    benchmark draws them, integer domain labels on the device), 4 anchors, k = 32 (proportional
    budgets), for the methods partitionsel, gradmatch and random; every size is an ``--lm-*``
    option. Per step, each part timed with CUDA
    synchronisation around it: per-example gradients of the LoRA weights (pool and anchors in one
    ``per_example_gradients`` call, normalised rows, as ``PartitionSelector`` computes them),
    selection (``select_on_gradients``: the Taylor utility on the device, ``baselines.select``,
    the conflicts from Q_SS — what ``PartitionSelector.select`` times as ``select_seconds``) and one AdamW step on the
    32 selected (``mean_answer_loss``, backward, step); and the whole ``PartitionSelector.select``
    call as users make it. Median and range over ``--lm-steps`` steps (10) after one warm-up step,
    fewer when a method's steps pass ``--budget-s``.
    Host↔device transfers per selection step (training step excluded): ``torch.profiler`` with
    CPU and CUDA activities over one step's gradients, its selection, and one
    ``PartitionSelector.select`` call; the GPU memcpy events (``Memcpy HtoD`` / ``DtoH`` /
    ``DtoD``) of the exported trace are counted with their ``bytes``, and the host's
    ``cuda*Synchronize`` calls beside them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import traceback

T_START = time.perf_counter()  # the deadline counts from here (before the heavy imports)
SMOKE = "--smoke" in sys.argv
if SMOKE:  # the interpreter is chosen when triton is first imported: set it before any import
    os.environ["TRITON_INTERPRET"] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import triton  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import matroidomp  # noqa: E402
from matroidomp.kernels import triton_nnqp, triton_omp_step  # noqa: E402

#: H200 HBM3e datasheet bandwidth (../.library/device/H200.md: "141 GB of HBM3e at 4.8 TB/s").
PEAK_GBPS = {"NVIDIA H200": 4800.0}
LAM = 0.01
#: Bytes per candidate besides the data: c fp32, codes int32, selected uint8, tol fp32 read; ρ fp32 written.
N_VECTOR_BYTES = 4 + 4 + 1 + 4 + 4


# ----------------------------------------------------------------------------- timing
def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_ms(fn, device, smoke_reps=2):
    """Median milliseconds of fn(): do_bench on CUDA; best of a few wall-clock runs otherwise."""
    if device.type == "cuda":
        return float(triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median"))
    fn()
    best = math.inf
    for _ in range(smoke_reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def wall_s(fn, device, repeats=1):
    """Best wall-clock seconds of fn() over ``repeats`` runs (device synchronised)."""
    best, out = math.inf, None
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        out = fn()
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return best, out


def copy_gbps(device, nbytes):
    """Device-to-device copy bandwidth (bytes read + written) for an nbytes buffer."""
    src = torch.empty(nbytes // 4, dtype=torch.float32, device=device).fill_(1.0)
    dst = torch.empty_like(src)
    ms = bench_ms(lambda: dst.copy_(src), device)
    del src, dst
    return 2 * nbytes / (ms * 1e-3) / 1e9


# ----------------------------------------------------------------------------- (a) fused step
def _step_inputs(n, n_domains, device, gen):
    c = torch.randn(n, generator=gen, device=device)
    codes = torch.randint(0, n_domains, (n,), generator=gen, device=device, dtype=torch.int32)
    remaining = torch.full((n_domains,), 5, dtype=torch.int32, device=device)
    remaining[0] = 0  # one exhausted domain
    selected = torch.rand(n, generator=gen, device=device) < 0.01
    tol = torch.full((n,), 1e-6, dtype=torch.float32, device=device)  # per-element allowance, as the loop passes it
    return c, codes, remaining, selected, tol


def _torch_best(rho, codes, remaining, selected):
    feasible = ~selected & (remaining[codes.long()] > 0)
    masked = torch.where(feasible, rho, torch.tensor(float("-inf"), device=rho.device))
    return int(torch.argmax(masked)) if bool(feasible.any()) else -1


def bench_step(device, smoke, peak):
    gen = torch.Generator(device=device).manual_seed(0)
    n_domains = 16
    if smoke:
        dspace = [(300, 40, torch.bfloat16), (300, 40, torch.float32)]
        gram = [(7, 300, torch.float32), (7, 300, torch.bfloat16)]
        configs = [(64, 128), (32, 64)]
        gram_configs = [(256, 16)]
    else:
        dspace = [(200_000, 1024, torch.bfloat16), (200_000, 1024, torch.float32),
                  (1_000_000, 1024, torch.bfloat16)]
        gram = [(512, 200_000, torch.float32), (512, 200_000, torch.bfloat16)]
        configs = [(64, 128), (32, 128), (128, 64), (32, 256), (16, 512), (128, 128)]
        gram_configs = [(256, 16), (512, 16), (256, 32), (1024, 8)]
    rows_out = []

    def record(path, shape, dtype, cfg, ms, nbytes, extra):
        gbps = nbytes / (ms * 1e-3) / 1e9
        row = {"path": path, "shape": shape, "dtype": str(dtype).replace("torch.", ""),
               "block": list(cfg), "ms": ms, "bytes": nbytes, "GBps": gbps,
               "pct_peak": None if peak is None else 100 * gbps / peak, **extra}
        rows_out.append(row)
        return row

    for n, d, dtype in dspace:
        G = torch.randn(n, d, generator=gen, device=device).to(dtype)
        u = torch.randn(1, d, generator=gen, device=device)  # the operator passes U in fp32
        c, codes, remaining, selected, tol = _step_inputs(n, n_domains, device, gen)
        scale = 1.0
        ref = c - scale * (G.float() @ u[0])
        ref_best = _torch_best(ref, codes, remaining, selected)
        for bn, bd in configs:
            fn = lambda: triton_omp_step.factor_step(G, u, None, c, scale, codes, remaining, selected,  # noqa: E731
                                                     False, tol, block_n=bn, block_d=bd)
            rho, best = fn()
            err = float((rho - ref).abs().max() / ref.abs().max())
            ms = bench_ms(fn, device)
            nbytes = G.numel() * G.element_size() + u.numel() * 4 + n * N_VECTOR_BYTES + 2 * 8 * triton.cdiv(n, bn)
            record("d-space", [n, d], dtype, (bn, bd), ms, nbytes,
                   {"rho_max_rel_err": err, "best_ok": int(best) == ref_best})
        uu = u[0].to(dtype)  # torch composition at the data's dtype
        tfn = lambda: _torch_best(c - scale * (G @ uu).float(), codes, remaining, selected)  # noqa: E731
        record("d-space torch (mv+mask+argmax, syncs)", [n, d], dtype, ("-", "-"), bench_ms(tfn, device),
               G.numel() * G.element_size() + n * 13, {})  # c, codes, selected read, ρ written
        del G

    for p, n, dtype in gram:
        R = torch.randn(p, n, generator=gen, device=device).to(dtype)
        w = torch.randn(p, generator=gen, device=device)
        c, codes, remaining, selected, tol = _step_inputs(n, n_domains, device, gen)
        ref = c - R.float().T @ w
        ref_best = _torch_best(ref, codes, remaining, selected)
        for bn, bp in gram_configs:
            fn = lambda: triton_omp_step.gram_step(R, w, c, codes, remaining, selected, False, tol,  # noqa: E731
                                                   block_n=bn, block_p=bp)
            rho, best = fn()
            err = float((rho - ref).abs().max() / ref.abs().max())
            ms = bench_ms(fn, device)
            nbytes = R.numel() * R.element_size() + p * 4 + n * N_VECTOR_BYTES + 2 * 8 * triton.cdiv(n, bn)
            record("Gram", [p, n], dtype, (bn, bp), ms, nbytes,
                   {"rho_max_rel_err": err, "best_ok": int(best) == ref_best})
        wr = w.to(dtype)
        tfn = lambda: _torch_best(c - (wr @ R).float(), codes, remaining, selected)  # noqa: E731
        record("Gram torch (mv+mask+argmax, syncs)", [p, n], dtype, ("-", "-"), bench_ms(tfn, device),
               R.numel() * R.element_size() + n * 13, {})
        del R
    return rows_out


# ----------------------------------------------------------------------------- (b) batched NNQP
def nnqp_problems(B, k, device, seed):
    """Q_b = A_bᵀA_b (A_b 2k × k Gaussian / √(2k)), c_b = A_bᵀy_b: NNLS in Gram form, fp32."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    A = torch.randn(B, 2 * k, k, generator=g, dtype=torch.float64) / math.sqrt(2 * k)
    y = torch.randn(B, 2 * k, generator=g, dtype=torch.float64)
    Q = A.transpose(1, 2) @ A
    c = (A.transpose(1, 2) @ y[..., None])[..., 0]
    return Q.float().to(device), c.float().to(device), Q.numpy(), c.numpy()


def torch_active_set(Q, c, ridge, tol, max_iter):
    """One problem by Lawson–Hanson on the Gram form (max cᵀw − ½wᵀ(Q + ridge·I)w, w ≥ 0) in torch;
    ``tol`` (k,) the per-coordinate KKT tolerances of the kernel (an index enters while g_j > tol_j)."""
    k = c.shape[0]
    Qr = Q + ridge * torch.eye(k, dtype=Q.dtype, device=Q.device)
    w = torch.zeros_like(c)
    passive = torch.zeros(k, dtype=torch.bool, device=c.device)
    g = c.clone()
    for _ in range(max_iter):
        cand = torch.where(passive, torch.full_like(g, -math.inf), g - tol)
        j = int(torch.argmax(cand))
        if float(cand[j]) <= 0.0:
            break
        passive[j] = True
        for _ in range(k + 1):
            idx = torch.nonzero(passive).flatten()
            z = torch.linalg.solve(Qr[idx][:, idx], c[idx])
            if bool((z > 0).all()):
                w = torch.zeros_like(w)
                w[idx] = z
                break
            wi = w[idx]
            neg = z <= 0
            ratios = torch.where(neg, wi / (wi - z), torch.full_like(z, math.inf))
            alpha = ratios.min()
            wi = wi + alpha * (z - wi)
            wi[neg & (ratios == alpha)] = 0.0
            wi = wi.clamp_min(0.0)
            w = torch.zeros_like(w)
            w[idx] = wi
            passive[idx[wi <= 0]] = False
        g = c - Qr @ w
    return w


def torch_batched_pcd(Q, c, ridge, tol, max_sweeps, budget_s):
    """The kernel's projected coordinate descent (same update; the same per-coordinate KKT test, on the
    running gradient — the kernel confirms it on a fresh one), vectorised over B; ``tol`` (B × k)."""
    B, k = c.shape
    w = torch.zeros_like(c)
    g = c.clone()
    diag = Q.diagonal(dim1=1, dim2=2) + ridge
    sweeps, t0, done = 0, time.perf_counter(), False
    while sweeps < max_sweeps:
        for i in range(k):
            wi = w[:, i]
            new = torch.clamp_min(wi + g[:, i] / diag[:, i], 0.0)
            step = new - wi
            w[:, i] = new
            g -= step[:, None] * Q[:, i, :]
            g[:, i] -= ridge * step
        sweeps += 1
        viol = torch.where(w > 0, g.abs(), g.clamp_min(0.0))
        if bool((viol <= tol).all()):
            done = True
            break
        if time.perf_counter() - t0 > budget_s:
            break
    return w, sweeps, done


def objective(Q64, c64, w, ridge):
    w = np.asarray(w, dtype=np.float64)
    return c64 @ w - 0.5 * (w @ Q64 @ w + ridge * w @ w)


def agreement(w, w_ref, Q64, c64, ridge):
    w = np.asarray(w, dtype=np.float64)
    err = float(np.max(np.abs(w - w_ref)) / max(np.max(np.abs(w_ref)), 1e-300))
    f = np.array([objective(Q64[b], c64[b], w[b], ridge) for b in range(len(w))])
    f_ref = np.array([objective(Q64[b], c64[b], w_ref[b], ridge) for b in range(len(w))])
    gap = float(np.max((f_ref - f) / np.maximum(np.abs(f_ref), 1e-300)))
    return err, gap


def bench_nnqp(device, smoke, budget_s, clock):
    cases = [(6, 5), (3, 9)] if smoke else [(256, 32), (64, 128)]
    ridge, rtol = LAM, 1e-5
    out = []
    for B, k in cases:
        if clock.left() < 2 * budget_s + 15:  # the two torch baselines may take budget_s each
            out.append({"B": B, "k": k, "note": f"skipped: {clock.left():.0f} s left before the deadline"})
            continue
        Q, c, Q64, c64 = nnqp_problems(B, k, device, seed=B * 1000 + k)
        ref = matroidomp.nnqp_batched(Q64, c64, ridge=ridge)
        w_ref = np.asarray(ref.w)
        row = {"B": B, "k": k}
        # Triton kernel
        res = triton_nnqp.batched_nnqp(Q, c, ridge=ridge, rtol=rtol)
        row["triton_ms"] = bench_ms(lambda: triton_nnqp.batched_nnqp(Q, c, ridge=ridge, rtol=rtol), device)
        row["triton_converged"] = int((res.status == triton_nnqp.CONVERGED).sum())
        row["triton_unbounded"] = int((res.status == triton_nnqp.UNBOUNDED).sum())
        row["triton_max_sweeps"] = int(res.n_sweeps.max())
        row["triton_max_violation_over_tol"] = float(res.violation.max())
        row["triton_w_rel_err"], row["triton_obj_gap"] = agreement(res.w.cpu().numpy(), w_ref, Q64, c64, ridge)
        # host numba, float64 (same data)
        row["numba_host_ms"] = 1e3 * wall_s(lambda: matroidomp.nnqp_batched(Q64, c64, ridge=ridge),
                                            torch.device("cpu"), repeats=3)[0]
        # torch, one problem at a time (active set), within a time budget; extrapolated past it
        tol = triton_nnqp.coordinate_tolerances(Q, c, ridge, rtol)
        torch_active_set(Q[0], c[0], ridge, tol[0], 3 * k + 10)  # warm-up (cusolver handles, caches)
        sync(device)
        ws, t0 = [], time.perf_counter()
        for b in range(B):
            ws.append(torch_active_set(Q[b], c[b], ridge, tol[b], 3 * k + 10))
            if time.perf_counter() - t0 > budget_s:
                break
        sync(device)
        elapsed = time.perf_counter() - t0
        m = len(ws)
        row["torch_one_by_one_ms"] = 1e3 * elapsed * B / m
        row["torch_one_by_one_solved"] = m
        row["torch_one_by_one_extrapolated"] = m < B
        wt = torch.stack(ws).cpu().numpy()
        row["torch_one_by_one_w_rel_err"], row["torch_one_by_one_obj_gap"] = agreement(
            wt, w_ref[:m], Q64[:m], c64[:m], ridge)
        # torch, the kernel's coordinate descent vectorised over the batch
        sync(device)
        t0 = time.perf_counter()
        wb, sweeps, done = torch_batched_pcd(Q, c, ridge, tol, 1000, budget_s)
        sync(device)
        row["torch_batched_pcd_ms"] = 1e3 * (time.perf_counter() - t0)
        row["torch_batched_pcd_sweeps"] = sweeps
        row["torch_batched_pcd_converged"] = done
        row["torch_batched_pcd_w_rel_err"], row["torch_batched_pcd_obj_gap"] = agreement(
            wb.cpu().numpy(), w_ref, Q64, c64, ridge)
        row["speedup_vs_torch_one_by_one"] = row["torch_one_by_one_ms"] / row["triton_ms"]
        row["speedup_vs_torch_batched_pcd"] = row["torch_batched_pcd_ms"] / row["triton_ms"]
        out.append(row)
    return out


# ----------------------------------------------------------------------------- (c) end to end
#: Seconds the large-pool instance needs at most (numba on the host twice, the device twice); it is
#: skipped, and says so, when fewer are left before the deadline.
LARGE_POOL_MIN_S = 90.0


def bench_omp(device, smoke, large_pool, clock):
    import problems

    sizes = [(64, 32, 8), (96, 16, 12)] if smoke else list(problems.SIZES)
    backend = "triton" if device.type != "cuda" else "auto"  # CPU tensors reach Triton only if asked
    out = []
    for n, d, k in sizes:
        if clock.left() < 20:
            out.append({"instance": f"{n},{d},{k}", "note": f"skipped: {clock.left():.0f} s left before the deadline"})
            continue
        P = problems.problem(n, d, k)
        out.append(_omp_row(f"{n},{d},{k}", P.G, P.b, P.matroid, device, backend, repeats=1 if smoke else 3))
    if smoke:  # the d-space operator too
        P = problems.problem(96, 16, 12)
        out.append(_omp_row("96,16,12 (d-space)", P.G, P.b, P.matroid, device, backend, repeats=1,
                            precompute=False))
    if large_pool and not smoke:
        import test_bench_large_pool as lp

        name = f"{lp.N},{lp.D},{lp.K} (16 domains, d-space)"
        if clock.left() < LARGE_POOL_MIN_S:
            out.append({"instance": name, "note": f"skipped: {clock.left():.0f} s left before the deadline"})
        else:
            G, b, M = lp.instance()
            out.append(_omp_row(name, G, b, M, device, backend, repeats=1, precompute=False))
    return out


def _omp_row(name, G, b, M, device, backend, repeats, precompute="auto"):
    kw = {"lam": LAM, "precompute": precompute}
    matroidomp.omp(G, b, M, **kw)  # numba compile / warm caches
    t_cpu, r_cpu = wall_s(lambda: matroidomp.omp(G, b, M, **kw), torch.device("cpu"), repeats)
    Gt, bt = torch.from_numpy(G).to(device), torch.from_numpy(b).to(device)
    matroidomp.omp(Gt, bt, M, backend=backend, **kw)  # Triton compile
    t_dev, r_dev = wall_s(lambda: matroidomp.omp(Gt, bt, M, backend=backend, **kw), device, repeats)
    idx_cpu, idx_dev = np.asarray(r_cpu.indices), _host(r_dev.indices)
    same = idx_cpu.shape == idx_dev.shape and bool(np.all(idx_cpu == idx_dev))
    wrel = None
    if same and idx_cpu.size:
        w_cpu, w_dev = np.asarray(r_cpu.weights), _host(r_dev.weights)
        wrel = float(np.max(np.abs(w_cpu - w_dev)) / max(np.max(np.abs(w_cpu)), 1e-300))
    return {"instance": name, "selected_cpu": int(idx_cpu.size), "selected_dev": int(idx_dev.size),
            "numba_cpu_s": t_cpu, "device_s": t_dev, "device_backend": r_dev.info.get("backend"),
            "gram_path": r_dev.info.get("gram"), "same_indices": same, "weights_max_rel_diff": wrel,
            "objective_cpu": float(r_cpu.objective), "objective_dev": float(r_dev.objective),
            "speedup": t_cpu / t_dev}


def _host(x):
    """A result array as numpy (results come back in the input's framework: torch for tensors)."""
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


# ----------------------------------------------------------------------------- (d) LM selection step
LORA_KINDS = ("q_proj", "k_proj", "v_proj", "gate_proj", "up_proj", "down_proj")
LM_METHODS = ("partitionsel", "gradmatch", "random")
LM_SHARES = (0.50, 0.25, 0.15, 0.10)
LM_KEYS = ("input_ids", "attention_mask", "answer_mask")
#: (d) on the GPU; ``--lm-<name>`` overrides any of them. ``steps`` timed steps per method after one
#: warm-up step, fewer when a method's steps pass ``--budget-s``.
LM_GPU = dict(hidden=512, layers=8, heads=8, kv_heads=2, intermediate=2048, vocab=8192, seq=256, pool=256, k=32,
              anchors=4, chunk=32, lora_r=16, lora_alpha=32, lora_layers=3, steps=10, dtype="bfloat16", lr=1e-4)
#: (d) in the smoke test: the same code at toy sizes.
LM_SMOKE = dict(LM_GPU, hidden=32, layers=4, heads=4, kv_heads=2, intermediate=64, vocab=128, seq=24, pool=32, k=8,
                chunk=8, steps=2)


def lm_batch(n, T, vocab, domains, seed):
    """n right-padded rows of T tokens: real length T/2..T, a prompt of T/8..T/4 tokens, then the
    answer, every third answer token the domain's own token (so domains differ in gradient)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, vocab, (n, T), generator=g)
    length = torch.randint(T // 2, T + 1, (n,), generator=g)
    prompt = torch.randint(max(1, T // 8), max(2, T // 4) + 1, (n,), generator=g)
    pos = torch.arange(T)[None]
    attn = (pos < length[:, None]).long()
    answer = ((pos >= prompt[:, None]) & (pos < length[:, None])).long()
    token = (10 * (domains[:, None].long() + 1)) % vocab
    ids = torch.where(answer.bool() & ((pos - prompt[:, None]) % 3 == 0), token, ids) * attn
    return {"input_ids": ids, "attention_mask": attn, "answer_mask": answer}


def build_lm(cfg, device):
    """(model, LoRA module names, sizes): a Qwen2 from a config with peft LoRA on the last layers."""
    import warnings

    import peft
    import transformers

    from matroidomp.torch import last_layer_linears

    config = transformers.Qwen2Config(
        hidden_size=cfg["hidden"], intermediate_size=cfg["intermediate"], num_hidden_layers=cfg["layers"],
        num_attention_heads=cfg["heads"], num_key_value_heads=cfg["kv_heads"], vocab_size=cfg["vocab"],
        max_position_embeddings=max(cfg["seq"], 32), tie_word_embeddings=True, attn_implementation="sdpa")
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        model = transformers.Qwen2ForCausalLM(config).to(device=device, dtype=getattr(torch, cfg["dtype"]))
        first = cfg["layers"] - cfg["lora_layers"]
        lora = peft.LoraConfig(r=cfg["lora_r"], lora_alpha=cfg["lora_alpha"], lora_dropout=0.0,
                               target_modules=list(LORA_KINDS), layers_to_transform=list(range(first, cfg["layers"])),
                               init_lora_weights=False)  # random B too: A's gradients are 0 while B = 0
        model = peft.get_peft_model(model, lora)
    model.train()
    names = last_layer_linears(model, cfg["lora_layers"],
                               kinds=tuple(f"{k}.lora_{ab}.default" for k in LORA_KINDS for ab in "AB"))
    lora_params = [p for p in model.parameters() if p.requires_grad]
    info = {"parameters": sum(p.numel() for p in model.parameters()),
            "lora_parameters": sum(p.numel() for p in lora_params),
            "lora_dtype": str(lora_params[0].dtype).replace("torch.", ""),
            "lora_modules": len(names), "transformers": transformers.__version__, "peft": peft.__version__}
    return model, names, lora_params, info


def _timed(fn, device):
    """(seconds, fn()) with the device synchronised before and after."""
    sync(device)
    t0 = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - t0, out


def count_transfers(fn, device):
    """(counts, fn()): fn run once under torch.profiler (CPU + CUDA activities); from the exported
    trace, the GPU memcpy events by direction (count and bytes), the kernels, and the host's
    cuda*Synchronize calls (the one that closes the measurement not counted)."""
    import tempfile

    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    sync(device)
    with profile(activities=activities) as prof:
        out = fn()
        sync(device)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "trace.json")
        prof.export_chrome_trace(path)
        with open(path) as fh:
            trace = json.load(fh)
    events = trace.get("traceEvents", []) if isinstance(trace, dict) else trace
    stats = {"HtoD_count": 0, "HtoD_bytes": 0, "DtoH_count": 0, "DtoH_bytes": 0, "DtoD_count": 0, "DtoD_bytes": 0,
             "other_memcpy_count": 0, "host_syncs": 0, "kernels": 0, "trace_events": len(events)}
    for e in events:
        if not isinstance(e, dict) or e.get("ph") != "X":
            continue
        name, cat = str(e.get("name", "")), str(e.get("cat", "")).lower()
        if name.startswith("Memcpy") or cat in ("gpu_memcpy", "memcpy"):
            kind = next((k for k in ("HtoD", "DtoH", "DtoD") if k in name), None)
            nbytes = int((e.get("args") or {}).get("bytes", 0) or 0)
            if kind is None:
                stats["other_memcpy_count"] += 1
            else:
                stats[f"{kind}_count"] += 1
                stats[f"{kind}_bytes"] += nbytes
        elif cat == "cuda_runtime" and "Synchronize" in name:
            stats["host_syncs"] += 1
        elif cat == "kernel":
            stats["kernels"] += 1
    if device.type == "cuda":
        stats["host_syncs"] = max(stats["host_syncs"] - 1, 0)
        # no kernel in the trace means CUPTI recorded no device activity: the counts would be void
        stats["device_activity_seen"] = stats["kernels"] > 0
    return stats, out


def _spread(xs):
    xs = sorted(xs)
    return {"median": float(np.median(xs)), "min": xs[0], "max": xs[-1], "n": len(xs)} if xs else None


def bench_lm(device, smoke, cfg, budget_s, clock):
    """Section (d); returns {"config", "model", "methods": [...], "transfers": [...]}."""
    from matroidomp.torch import PartitionSelector, mean_answer_loss, per_example_gradients
    from matroidomp.torch._selector import select_on_gradients

    t_build = time.perf_counter()
    model, names, lora_params, info = build_lm(cfg, device)
    n, k, T = cfg["pool"], cfg["k"], cfg["seq"]
    counts = [round(s * n) for s in LM_SHARES]
    counts[0] += n - sum(counts)
    domain_cpu = torch.cat([torch.full((c,), d) for d, c in enumerate(counts)])
    pool = lm_batch(n, T, cfg["vocab"], domain_cpu, seed=1)
    order = torch.argsort(pool["attention_mask"].sum(1), stable=True)  # similar lengths share a chunk, as the bench runner does
    pool = {key: v[order].to(device) for key, v in pool.items()}
    domains = domain_cpu[order].to(device)  # integer labels on the device: they stay there
    val = {key: v.to(device) for key, v in lm_batch(cfg["anchors"], T, cfg["vocab"],
                                                     torch.arange(cfg["anchors"]) % len(LM_SHARES), seed=2).items()}
    optimizer = torch.optim.AdamW(lora_params, lr=cfg["lr"])
    backend = "auto" if device.type == "cuda" else "triton"  # CPU tensors reach the device path only if asked
    lr, chunk = cfg["lr"], cfg["chunk"]
    info["build_s"] = time.perf_counter() - t_build

    def gradients():
        joined = [torch.cat([pool[key], val[key]]) for key in LM_KEYS]  # one call for pool and anchors
        rows = per_example_gradients(model, *joined, names, chunk_size=chunk)  # raw: the utility normalises
        return rows[:n], rows[n:]

    def selection(method, rng, G, A):  # what PartitionSelector.select times as select_seconds
        res, pairs = select_on_gradients(G, A, lr, domains, k, method=method, budgets="proportional", seed=rng,
                                         backend=backend, normalize=True)
        return torch.as_tensor(res.indices, dtype=torch.long, device=device), res, pairs

    def train(idx):
        batch = {key: pool[key][idx] for key in LM_KEYS}
        optimizer.zero_grad(set_to_none=True)
        loss = mean_answer_loss(model, batch)
        loss.backward()
        optimizer.step()
        return loss

    rows, transfers = [], []
    for method in LM_METHODS:
        if clock.left() < 15:
            rows.append({"method": method, "note": f"skipped: {clock.left():.0f} s left before the deadline"})
            continue
        try:
            rng = np.random.default_rng(0)
            selector = PartitionSelector(model, names, method=method, k=k, chunk_size=chunk, seed=0, backend=backend)
            t = {key: [] for key in ("gradients", "selection", "train", "adapter", "adapter_grad", "adapter_select",
                                     "selection_over_train", "selection_step_over_train")}
            started, last = time.perf_counter(), None
            for step in range(cfg["steps"] + 1):  # step 0 warms up (Triton compile, cuBLAS handles, allocator)
                tg, (G, A) = _timed(gradients, device)
                ts, (idx, res, pairs) = _timed(lambda: selection(method, rng, G, A), device)
                d = G.shape[1]
                del G, A
                tt, loss = _timed(lambda: train(idx), device)
                ta, sel = _timed(lambda: selector.select(pool, domains, val, lr), device)
                last = (res, pairs, float(loss.detach()), sel, d)
                if step == 0:
                    continue
                for key, x in (("gradients", tg), ("selection", ts), ("train", tt), ("adapter", ta),
                               ("adapter_grad", sel.grad_seconds), ("adapter_select", sel.select_seconds),
                               ("selection_over_train", ts / tt), ("selection_step_over_train", (tg + ts) / tt)):
                    t[key].append(x)
                if step >= 2 and (time.perf_counter() - started > budget_s or clock.left() < 20):
                    break
            res, pairs, loss, sel, d = last
            row = {"method": method, "steps": len(t["train"]), "n": n, "d": d, "k": k,
                   "solver_backend": res.info.get("backend"), "gram_path": res.info.get("gram"),
                   "selected": int(len(res.indices)), "objective": float(res.objective), "conflicting_pairs": pairs,
                   "loss": loss, "counts": {str(key): int(v) for key, v in res.counts.items()},
                   **{f"{key}_s": _spread(v) for key, v in t.items() if not key.endswith("_train")},
                   **{key: _spread(v) for key, v in t.items() if key.endswith("_train")},
                   "per_step": t}
            rows.append(row)
        except Exception:  # noqa: BLE001 - keep the other methods
            rows.append({"method": method, "note": "FAILED (traceback in the JSON)",
                         "error": traceback.format_exc()})
            print(rows[-1]["error"], flush=True)
            continue
        # host <-> device transfers of one selection step (after the warm-up; training step excluded)
        try:
            tr_g, (G, A) = count_transfers(gradients, device)
            tr_s, _ = count_transfers(lambda: selection(method, rng, G, A), device)
            del G, A
            tr_a, _ = count_transfers(lambda: selector.select(pool, domains, val, lr), device)
            for part, st in (("gradients", tr_g), ("selection", tr_s), ("PartitionSelector.select", tr_a)):
                transfers.append({"method": method, "part": part, **st})
        except Exception as exc:  # noqa: BLE001 - the profiler is optional; keep the timings
            transfers.append({"method": method, "part": "profiler failed", "error": f"{type(exc).__name__}: {exc}"})
    return {"config": cfg, "model": info, "methods": rows, "transfers": transfers}


def _ms(key):
    """Table cell: median [min–max] of a spread in seconds, as milliseconds."""
    def cell(r):
        v = r.get(key)
        if not v:
            return "-"
        return f"{1e3 * v['median']:.1f} [{1e3 * v['min']:.1f}–{1e3 * v['max']:.1f}]"
    return cell


def _ratio(key):
    def cell(r):
        v = r.get(key)
        return "-" if not v else f"{v['median']:.3g} [{v['min']:.3g}–{v['max']:.3g}]"
    return cell


def _bytes(kind):
    def cell(r):
        return "-" if f"{kind}_count" not in r else f"{r[f'{kind}_bytes']:,} B in {r[f'{kind}_count']}"
    return cell


# ----------------------------------------------------------------------------- report
class Clock:
    """Seconds left before ``deadline_s`` after the script started (T_START)."""

    def __init__(self, deadline_s):
        self.deadline_s = deadline_s

    def elapsed(self):
        return time.perf_counter() - T_START

    def left(self):
        return self.deadline_s - self.elapsed()


def fmt(x, nd=3):
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.{nd}g}" if abs(x) < 1e-2 or abs(x) >= 1e5 else f"{x:.{nd}f}"
    return str(x)


def table(rows, cols, title):
    print(f"\n## {title}\n")
    print("| " + " | ".join(h for h, _ in cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(fmt(r.get(key)) if not callable(key) else key(r) for _, key in cols) + " |")
    notes = [f"{r.get('instance') or r.get('method') or r.get('B')}: {r['note']}" for r in rows if r.get("note")]
    for note in notes:
        print(f"- {note}")


def lm_args(ap):
    for key, value in LM_GPU.items():
        kind = str if isinstance(value, str) else float if isinstance(value, float) else int
        ap.add_argument(f"--lm-{key.replace('_', '-')}", dest=f"lm_{key}", type=kind, default=None,
                        help=f"(d) {key} (GPU default {value}, smoke {LM_SMOKE[key]})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes under TRITON_INTERPRET=1 on CPU tensors")
    ap.add_argument("--out", default=os.environ.get("OUT") or "gpu_out", help="folder for the JSON")
    ap.add_argument("--sections", default="step,nnqp,lm,omp", help="comma list of step, nnqp, lm, omp")
    ap.add_argument("--budget-s", type=float, default=10.0,
                    help="time budget of each torch baseline per NNQP case (one-by-one is extrapolated past it) "
                         "and of each method's timed steps in (d)")
    ap.add_argument("--deadline-s", type=float, default=225.0,
                    help="seconds from the start after which no new case starts (gpu_check.sh cuts at 240)")
    ap.add_argument("--no-large-pool", action="store_true", help="skip the n = 100,000 end-to-end instance")
    lm_args(ap)
    args = ap.parse_args(argv)
    sections = set(args.sections.split(","))
    clock = Clock(args.deadline_s)

    cuda = torch.cuda.is_available() and not args.smoke
    if not cuda and not args.smoke:
        sys.exit("no CUDA device: run with --smoke for a CPU check of the code paths")
    if args.smoke and not triton_omp_step.INTERPRETED:
        sys.exit("--smoke needs the Triton interpreter (TRITON_INTERPRET=1 before triton is imported)")
    device = torch.device("cuda" if cuda else "cpu")
    name = torch.cuda.get_device_name(0) if cuda else "CPU (Triton interpreter)"
    peak = PEAK_GBPS.get(name) if cuda else None
    meta = {"smoke": args.smoke, "device": name, "peak_GBps_datasheet": peak,
            "torch": torch.__version__, "torch_cuda": torch.version.cuda, "triton": triton.__version__,
            "numpy": np.__version__, "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "deadline_s": args.deadline_s, "budget_s": args.budget_s,
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if args.smoke:
        # one torch thread: on a shared 2-core machine torch's thread pool, oversubscribed, made the
        # toy model's steps up to 100x slower (the smoke test checks code paths, not speed)
        torch.set_num_threads(1)
        print("SMOKE TEST: tiny sizes, Triton interpreter on CPU tensors. Times and bandwidths below "
              "measure the interpreter, NOT a GPU; they only show that the code paths run.")
    print(json.dumps(meta))
    result = {"meta": meta}
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "gpu_report_smoke.json" if args.smoke else "gpu_report.json")

    def save(section, t1):
        meta.setdefault("section_seconds", {})[section] = time.perf_counter() - t1
        with open(path, "w") as fh:
            json.dump(result, fh, indent=1, default=str)
        print(f"[{section} section {time.perf_counter() - t1:.1f} s; {clock.elapsed():.0f} s since start; "
              f"JSON updated]", flush=True)

    if cuda:
        meta["copy_GBps_measured"] = copy_gbps(device, 2 << 30)
        print(f"device-to-device copy (2 GiB, read + write): {meta['copy_GBps_measured']:.0f} GB/s; "
              f"datasheet peak {peak} GB/s")
    tag = " [SMOKE: interpreter, not GPU numbers]" if args.smoke else ""

    def report_step():
        rows = bench_step(device, args.smoke, peak)
        result["step"] = rows
        copy = meta.get("copy_GBps_measured")
        table(rows, [("path", "path"), ("shape", lambda r: "×".join(map(str, r["shape"]))), ("dtype", "dtype"),
                     ("block", lambda r: "×".join(map(str, r["block"]))), ("ms", "ms"), ("GB/s", "GBps"),
                     ("% datasheet peak", "pct_peak"),
                     ("% measured copy", lambda r: fmt(100 * r["GBps"] / copy) if copy else "-"),
                     ("ρ max rel err", "rho_max_rel_err"), ("arg-max = torch", "best_ok")],
              "(a) fused OMP step" + tag)

    def report_nnqp():
        rows = bench_nnqp(device, args.smoke, args.budget_s, clock)
        result["nnqp"] = rows
        table(rows, [("B", "B"), ("k", "k"), ("triton ms", "triton_ms"), ("converged", "triton_converged"),
                     ("unbounded", "triton_unbounded"), ("sweeps (max)", "triton_max_sweeps"),
                     ("torch 1-by-1 ms", "torch_one_by_one_ms"),
                     ("1-by-1 extrapolated", "torch_one_by_one_extrapolated"),
                     ("torch batched PCD ms", "torch_batched_pcd_ms"), ("numba host f64 ms", "numba_host_ms"),
                     ("× vs 1-by-1", "speedup_vs_torch_one_by_one"),
                     ("× vs batched PCD", "speedup_vs_torch_batched_pcd"),
                     ("triton w rel err", "triton_w_rel_err"), ("triton obj gap", "triton_obj_gap"),
                     ("1-by-1 w rel err", "torch_one_by_one_w_rel_err"),
                     ("PCD w rel err", "torch_batched_pcd_w_rel_err")],
              "(b) batched NNQP (errors against float64 matroidomp.nnqp_batched)" + tag)

    def report_lm():
        cfg = dict(LM_SMOKE if args.smoke else LM_GPU)
        cfg.update({key: getattr(args, f"lm_{key}") for key in LM_GPU if getattr(args, f"lm_{key}") is not None})
        result["lm"] = {"config": cfg}
        try:
            import peft  # noqa: F401
            import transformers  # noqa: F401
        except ImportError as exc:
            result["lm"]["error"] = f"needs transformers and peft: {exc}"
            print(f"\n## (d) selection step in a LoRA training loop: SKIPPED ({result['lm']['error']})")
            return
        lm = bench_lm(device, args.smoke, cfg, args.budget_s, clock)
        result["lm"] = lm
        mi = lm["model"]
        print(f"\n(d) Qwen2 hidden {cfg['hidden']}, {cfg['layers']} layers, {cfg['heads']} heads "
              f"({cfg['kv_heads']} KV), intermediate {cfg['intermediate']}, vocab {cfg['vocab']}, "
              f"{cfg['dtype']}: {mi['parameters']:,} parameters; LoRA r {cfg['lora_r']} alpha {cfg['lora_alpha']} "
              f"({mi['lora_dtype']}) on {mi['lora_modules']} modules of the last {cfg['lora_layers']} layers: "
              f"{mi['lora_parameters']:,} parameters = d; pool {cfg['pool']} × {cfg['seq']} tokens, "
              f"{cfg['anchors']} anchors, k {cfg['k']}, chunk {cfg['chunk']}; transformers {mi['transformers']}, "
              f"peft {mi['peft']}")
        table(lm["methods"], [("method", "method"), ("steps", "steps"), ("solver", "solver_backend"),
                              ("Gram path", "gram_path"),
                              ("gradients ms", _ms("gradients_s")), ("selection ms", _ms("selection_s")),
                              ("train step ms", _ms("train_s")),
                              ("selection / train", _ratio("selection_over_train")),
                              ("(gradients + selection) / train", _ratio("selection_step_over_train")),
                              ("PartitionSelector.select ms", _ms("adapter_s")),
                              ("its select_seconds ms", _ms("adapter_select_s")), ("F(S)", "objective")],
              "(d) selection step of a LoRA training loop on the device: median [min–max] per step" + tag)
        k2 = 8 * cfg["k"] ** 2
        table(lm["transfers"], [("method", "method"), ("part", "part"), ("HtoD", _bytes("HtoD")),
                                ("DtoH", _bytes("DtoH")), ("DtoD", _bytes("DtoD")),
                                ("host syncs", "host_syncs"), ("kernels", "kernels"),
                                ("device activity traced", "device_activity_seen"), ("error", "error")],
              f"(d) host↔device transfers in one selection step (torch.profiler; training step excluded; "
              f"k² float64 = {k2:,} B)" + tag)
        return [r["method"] for r in lm["methods"] if "error" in r]

    def report_omp():
        rows = bench_omp(device, args.smoke, not args.no_large_pool, clock)
        result["omp"] = rows
        table(rows, [("n,d,k", "instance"), ("numba CPU s", "numba_cpu_s"),
                     ("device s", "device_s"), ("device backend", "device_backend"), ("Gram path", "gram_path"),
                     ("CPU / device", "speedup"), ("|S|", "selected_cpu"), ("same indices", "same_indices"),
                     ("w max rel diff", "weights_max_rel_diff")],
              "(c) end-to-end matroidomp.omp: CUDA tensors vs numpy (numba) on the host"
              + (" [SMOKE: torch CPU tensors through the interpreter]" if args.smoke else ""))

    # (d) before (c): the training-loop numbers first, the long end-to-end instances last
    failed = []
    for section, run in (("step", report_step), ("nnqp", report_nnqp), ("lm", report_lm), ("omp", report_omp)):
        if section not in sections:
            continue
        t1 = time.perf_counter()
        try:
            bad = run()
            if bad:
                failed.append(f"{section} ({', '.join(bad)})")
        except Exception:  # noqa: BLE001 - one failed section must not cost the others (one GPU run)
            error = traceback.format_exc()
            result[section] = {"error": error, "partial": result.get(section)}
            failed.append(section)
            print(f"\n## section {section} FAILED\n\n{error}", flush=True)
            if cuda:
                torch.cuda.empty_cache()
        save(section, t1)
    print(f"\nwrote {path} ({clock.elapsed():.0f} s since start)")
    if failed:
        sys.exit(f"sections failed: {', '.join(failed)} (tracebacks above and in the JSON)")


if __name__ == "__main__":
    main()
