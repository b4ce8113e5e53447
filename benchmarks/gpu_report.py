"""GPU benchmarks of the Triton kernels: fused OMP step bandwidth, batched NNQP, end-to-end OMP.

Run on a CUDA machine (``benchmarks/gpu_check.sh`` does setup and tests first)::

    python benchmarks/gpu_report.py --out DIR          # writes DIR/gpu_report.json, prints tables

or on a CPU as a smoke test of the code paths (tiny sizes, Triton interpreter; no GPU numbers)::

    python benchmarks/gpu_report.py --smoke            # writes ./gpu_out/gpu_report_smoke.json

Sections
--------
(a) Fused OMP step (``kernels/triton_omp_step.py``), timed with ``triton.testing.do_bench``
    (median). Effective bandwidth = bytes the step must move once / time, where bytes = the data
    read once (G, n × d, for the d-space path; the |S| stored rows, p × n, for the Gram path)
    + the residual direction / weights + the n-vectors (c fp32 read, codes int32 read, selected
    uint8 read, ρ fp32 written; blocks int32 read where used) + the per-program partial maxima.
    Reported against the datasheet peak (H200: 4.8 TB/s HBM3e, ../.library H200.md) and against
    a device-to-device copy measured in the same run. Sizes n·d ≥ 10⁸: d-space n = 200,000,
    d = 1,024 (bf16 and fp32); Gram p = 512 rows, n = 200,000. A torch composition of the same
    step (matvec, mask, argmax) is timed beside it, and the kernel's ρ and arg-max are checked.
(b) Batched NNQP (``kernels/triton_nnqp.batched_nnqp``), B = 256 problems of k = 32 and 64 of
    k = 128, against (i) solving them one by one with a torch active-set (Lawson–Hanson on the
    Gram form, fp32 on the device) and (ii) the kernel's own projected coordinate descent
    written in torch, vectorised over the batch; plus the host numba ``nnqp_batched`` (float64).
    Agreement with the float64 reference ``matroidomp.nnqp_batched``: max |w − w_ref| / max|w_ref|
    and the relative objective gap.
(c) End to end: ``matroidomp.omp`` on CUDA torch tensors (backend 'auto' → Triton step) against
    numpy arrays on the CPU (numba) at the solver-core sizes of ``problems.SIZES`` and the
    large-pool instance of ``test_bench_large_pool.py``: time and whether the selections agree.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

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
    return c, codes, remaining, selected


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
        c, codes, remaining, selected = _step_inputs(n, n_domains, device, gen)
        scale = 1.0
        ref = c - scale * (G.float() @ u[0])
        ref_best = _torch_best(ref, codes, remaining, selected)
        for bn, bd in configs:
            fn = lambda: triton_omp_step.factor_step(G, u, None, c, scale, codes, remaining, selected,  # noqa: E731
                                                     block_n=bn, block_d=bd)
            rho, best = fn()
            err = float((rho - ref).abs().max() / ref.abs().max())
            ms = bench_ms(fn, device)
            nbytes = G.numel() * G.element_size() + u.numel() * 4 + n * (4 + 4 + 1 + 4) + 2 * 8 * triton.cdiv(n, bn)
            record("d-space", [n, d], dtype, (bn, bd), ms, nbytes,
                   {"rho_max_rel_err": err, "best_ok": int(best) == ref_best})
        uu = u[0].to(dtype)  # torch composition at the data's dtype
        tfn = lambda: _torch_best(c - scale * (G @ uu).float(), codes, remaining, selected)  # noqa: E731
        record("d-space torch (mv+mask+argmax, syncs)", [n, d], dtype, ("-", "-"), bench_ms(tfn, device),
               G.numel() * G.element_size() + n * 13, {})
        del G

    for p, n, dtype in gram:
        R = torch.randn(p, n, generator=gen, device=device).to(dtype)
        w = torch.randn(p, generator=gen, device=device)
        c, codes, remaining, selected = _step_inputs(n, n_domains, device, gen)
        ref = c - R.float().T @ w
        ref_best = _torch_best(ref, codes, remaining, selected)
        for bn, bp in gram_configs:
            fn = lambda: triton_omp_step.gram_step(R, w, c, codes, remaining, selected,  # noqa: E731
                                                   block_n=bn, block_p=bp)
            rho, best = fn()
            err = float((rho - ref).abs().max() / ref.abs().max())
            ms = bench_ms(fn, device)
            nbytes = R.numel() * R.element_size() + p * 4 + n * (4 + 4 + 1 + 4) + 2 * 8 * triton.cdiv(n, bn)
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


def kkt_tol(Q, c, ridge, rtol):
    """The kernel's stopping tolerance: rtol·max(max|c_b|, max diag Q_b + ridge)."""
    return rtol * torch.maximum(c.abs().amax(-1), Q.diagonal(dim1=-2, dim2=-1).abs().amax(-1) + ridge)


def torch_active_set(Q, c, ridge, tol, max_iter):
    """One problem by Lawson–Hanson on the Gram form (max cᵀw − ½wᵀ(Q + ridge·I)w, w ≥ 0) in torch."""
    k = c.shape[0]
    Qr = Q + ridge * torch.eye(k, dtype=Q.dtype, device=Q.device)
    w = torch.zeros_like(c)
    passive = torch.zeros(k, dtype=torch.bool, device=c.device)
    g = c.clone()
    for _ in range(max_iter):
        cand = torch.where(passive, torch.full_like(g, -math.inf), g)
        j = int(torch.argmax(cand))
        if float(cand[j]) <= float(tol):
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
    """The kernel's projected coordinate descent (same update, same KKT test), vectorised over B."""
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
        viol = torch.where(w > 0, g.abs(), g.clamp_min(0.0)).amax(1)
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


def bench_nnqp(device, smoke, budget_s):
    cases = [(6, 5), (3, 9)] if smoke else [(256, 32), (64, 128)]
    ridge, rtol = LAM, 1e-5
    out = []
    for B, k in cases:
        Q, c, Q64, c64 = nnqp_problems(B, k, device, seed=B * 1000 + k)
        ref = matroidomp.nnqp_batched(Q64, c64, ridge=ridge)
        w_ref = np.asarray(ref.w)
        row = {"B": B, "k": k}
        # Triton kernel
        res = triton_nnqp.batched_nnqp(Q, c, ridge=ridge, rtol=rtol)
        row["triton_ms"] = bench_ms(lambda: triton_nnqp.batched_nnqp(Q, c, ridge=ridge, rtol=rtol), device)
        row["triton_converged"] = int((res.status == triton_nnqp.CONVERGED).sum())
        row["triton_max_sweeps"] = int(res.n_sweeps.max())
        row["triton_w_rel_err"], row["triton_obj_gap"] = agreement(res.w.cpu().numpy(), w_ref, Q64, c64, ridge)
        # host numba, float64 (same data)
        row["numba_host_ms"] = 1e3 * wall_s(lambda: matroidomp.nnqp_batched(Q64, c64, ridge=ridge),
                                            torch.device("cpu"), repeats=3)[0]
        # torch, one problem at a time (active set), within a time budget; extrapolated past it
        tol = kkt_tol(Q, c, ridge, rtol)
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
def bench_omp(device, smoke, large_pool):
    import problems

    sizes = [(64, 32, 8), (96, 16, 12)] if smoke else list(problems.SIZES)
    backend = "triton" if device.type != "cuda" else "auto"  # CPU tensors reach Triton only if asked
    out = []
    for n, d, k in sizes:
        P = problems.problem(n, d, k)
        out.append(_omp_row(f"{n},{d},{k}", P.G, P.b, P.matroid, device, backend, repeats=1 if smoke else 3))
    if smoke:  # the d-space operator too
        P = problems.problem(96, 16, 12)
        out.append(_omp_row("96,16,12 (d-space)", P.G, P.b, P.matroid, device, backend, repeats=1,
                            precompute=False))
    if large_pool and not smoke:
        import test_bench_large_pool as lp

        G, b, M = lp.instance()
        out.append(_omp_row(f"{lp.N},{lp.D},{lp.K} (16 domains, d-space)", G, b, M, device, backend,
                            repeats=1, precompute=False))
    return out


def _omp_row(name, G, b, M, device, backend, repeats, precompute="auto"):
    kw = {"lam": LAM, "precompute": precompute}
    matroidomp.omp(G, b, M, **kw)  # numba compile / warm caches
    t_cpu, r_cpu = wall_s(lambda: matroidomp.omp(G, b, M, **kw), torch.device("cpu"), repeats)
    Gt, bt = torch.from_numpy(G).to(device), torch.from_numpy(b).to(device)
    matroidomp.omp(Gt, bt, M, backend=backend, **kw)  # Triton compile
    t_dev, r_dev = wall_s(lambda: matroidomp.omp(Gt, bt, M, backend=backend, **kw), device, repeats)
    idx_cpu, idx_dev = np.asarray(r_cpu.indices), r_dev.indices.cpu().numpy()
    same = idx_cpu.shape == idx_dev.shape and bool(np.all(idx_cpu == idx_dev))
    wrel = None
    if same and idx_cpu.size:
        w_cpu, w_dev = np.asarray(r_cpu.weights), r_dev.weights.cpu().numpy()
        wrel = float(np.max(np.abs(w_cpu - w_dev)) / max(np.max(np.abs(w_cpu)), 1e-300))
    return {"instance": name, "selected_cpu": int(idx_cpu.size), "selected_dev": int(idx_dev.size),
            "numba_cpu_s": t_cpu, "device_s": t_dev, "device_backend": r_dev.info.get("backend"),
            "gram_path": r_dev.info.get("gram"), "same_indices": same, "weights_max_rel_diff": wrel,
            "objective_cpu": float(r_cpu.objective), "objective_dev": float(r_dev.objective),
            "speedup": t_cpu / t_dev}


# ----------------------------------------------------------------------------- report
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes under TRITON_INTERPRET=1 on CPU tensors")
    ap.add_argument("--out", default=os.environ.get("OUT") or "gpu_out", help="folder for the JSON")
    ap.add_argument("--sections", default="step,nnqp,omp", help="comma list of step, nnqp, omp")
    ap.add_argument("--budget-s", type=float, default=10.0,
                    help="time budget of each torch baseline per NNQP case (one-by-one is extrapolated past it)")
    ap.add_argument("--no-large-pool", action="store_true", help="skip the n = 100,000 end-to-end instance")
    args = ap.parse_args(argv)
    sections = set(args.sections.split(","))

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
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if args.smoke:
        print("SMOKE TEST: tiny sizes, Triton interpreter on CPU tensors. Times and bandwidths below "
              "measure the interpreter, NOT a GPU; they only show that the code paths run.")
    print(json.dumps(meta))
    if cuda:
        meta["copy_GBps_measured"] = copy_gbps(device, 2 << 30)
        print(f"device-to-device copy (2 GiB, read + write): {meta['copy_GBps_measured']:.0f} GB/s; "
              f"datasheet peak {peak} GB/s")
    result = {"meta": meta}
    t0 = time.perf_counter()
    if "step" in sections:
        rows = bench_step(device, args.smoke, peak)
        result["step"] = rows
        copy = meta.get("copy_GBps_measured")
        table(rows, [("path", "path"), ("shape", lambda r: "×".join(map(str, r["shape"]))), ("dtype", "dtype"),
                     ("block", lambda r: "×".join(map(str, r["block"]))), ("ms", "ms"), ("GB/s", "GBps"),
                     ("% datasheet peak", "pct_peak"),
                     ("% measured copy", lambda r: fmt(100 * r["GBps"] / copy) if copy else "-"),
                     ("ρ max rel err", "rho_max_rel_err"), ("arg-max = torch", "best_ok")],
              "(a) fused OMP step" + (" [SMOKE: interpreter, not GPU numbers]" if args.smoke else ""))
        print(f"[step section {time.perf_counter() - t0:.1f} s]")
    if "nnqp" in sections:
        t1 = time.perf_counter()
        rows = bench_nnqp(device, args.smoke, args.budget_s)
        result["nnqp"] = rows
        table(rows, [("B", "B"), ("k", "k"), ("triton ms", "triton_ms"), ("converged", "triton_converged"),
                     ("sweeps (max)", "triton_max_sweeps"), ("torch 1-by-1 ms", "torch_one_by_one_ms"),
                     ("1-by-1 extrapolated", "torch_one_by_one_extrapolated"),
                     ("torch batched PCD ms", "torch_batched_pcd_ms"), ("numba host f64 ms", "numba_host_ms"),
                     ("× vs 1-by-1", "speedup_vs_torch_one_by_one"),
                     ("× vs batched PCD", "speedup_vs_torch_batched_pcd"),
                     ("triton w rel err", "triton_w_rel_err"), ("triton obj gap", "triton_obj_gap"),
                     ("1-by-1 w rel err", "torch_one_by_one_w_rel_err"),
                     ("PCD w rel err", "torch_batched_pcd_w_rel_err")],
              "(b) batched NNQP (errors against float64 matroidomp.nnqp_batched)"
              + (" [SMOKE]" if args.smoke else ""))
        print(f"[nnqp section {time.perf_counter() - t1:.1f} s]")
    if "omp" in sections:
        t1 = time.perf_counter()
        rows = bench_omp(device, args.smoke, not args.no_large_pool)
        result["omp"] = rows
        table(rows, [("n,d,k", "instance"), ("numba CPU s", "numba_cpu_s"),
                     ("device s", "device_s"), ("device backend", "device_backend"), ("Gram path", "gram_path"),
                     ("CPU / device", "speedup"), ("|S|", "selected_cpu"), ("same indices", "same_indices"),
                     ("w max rel diff", "weights_max_rel_diff")],
              "(c) end-to-end matroidomp.omp: CUDA tensors vs numpy (numba) on the host"
              + (" [SMOKE: torch CPU tensors through the interpreter]" if args.smoke else ""))
        print(f"[omp section {time.perf_counter() - t1:.1f} s]")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "gpu_report_smoke.json" if args.smoke else "gpu_report.json")
    with open(path, "w") as fh:
        json.dump(result, fh, indent=1, default=str)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
