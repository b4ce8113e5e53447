"""Distributed OMP on a gradient pool kept on disk: time per step, reads, worker memory (issue 12.3).

The pool is n × d float32 (default 2·10⁶ × 256 = 2 GB), written once as an ``.npy`` stack
(``dask.array.to_npy_stack``, one file per row chunk) by a child process and read back with
``dask.array.from_npy_stack(mmap_mode='r')``: every worker maps the chunks it reads, the client
never loads G (its own peak RSS is reported). For 1 and 2 worker processes (one thread each) on
this machine it measures

* read: one plain pass over G (the float32 sum of every chunk, which touches every byte);
* step: the time of one OMP step of :func:`matroidomp.distributed.omp` (gradient matching,
  4 domains, proportional budgets), as (T(k) − T(1)) / (k − 1) with T(k) the whole call for rank
  k on a running cluster (each step = one pass over G for ρ and the per-chunk arg-max, the tie
  rule's reduction, one row fetched, the refit on the client);
* setup: T(1) (the pass building the per-chunk utility terms, the first pick);
* the peak RSS of every worker process (VmHWM) after the runs, and its RSS when idle at start
  (the imports).

A smaller pool (default 2·10⁵ rows, the first rows of the same stack) is run the same way and
side by side with the single-machine path (:func:`matroidomp.omp` on the rows in memory, d-space,
``NUMBA_NUM_THREADS`` as set, 1 by default), and the two selections are compared.

The machine has 2 cores shared with other work: keep ``--steps`` small (default 4) and read the
ranges over ``--repeats`` runs. Run::

    python benchmarks/dask_scale.py                    # n = 2e6 and 2e5, d = 256, workers 1 and 2
    python benchmarks/dask_scale.py --n 400000 --small-n 100000 --repeats 2   # quicker

It prints markdown tables (and with ``--out`` writes the numbers as JSON, atomically). Nothing
is asserted but the equality of the small pool's selections.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __name__ == "__main__":  # one numba thread in the client and its workers; set before numba loads,
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # and never when imported (by the test suite)

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import span  # noqa: E402

import matroidomp as mo  # noqa: E402
from matroidomp._io import replace_text  # noqa: E402
from matroidomp.distributed import omp  # noqa: E402

DOMAIN_SHARES = (0.5, 0.25, 0.15, 0.10)


def prepare(path: Path, n: int, d: int, rows: int, seed: int) -> None:
    """Write the pool as an .npy stack, chunk by chunk (never whole in memory)."""
    info = path / "info"
    if info.exists():
        G = da.from_npy_stack(str(path), mmap_mode="r")
        if G.shape == (n, d) and G.chunks[0][0] == min(rows, n):
            return
    rng = da.random.default_rng(seed)
    G = rng.standard_normal((n, d), chunks=(rows, d), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(path.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    with dask.config.set(scheduler="threads", num_workers=2):
        da.to_npy_stack(str(staging), G, axis=0)
    shutil.rmtree(path, ignore_errors=True)
    os.replace(staging, path)  # a complete stack or none


def domain_labels(n: int) -> np.ndarray:
    """4 contiguous domains with the shares DOMAIN_SHARES."""
    edges = np.round(np.cumsum((0,) + DOMAIN_SHARES) * n).astype(int)
    return np.repeat(np.arange(len(DOMAIN_SHARES)), np.diff(edges))


def target(G_head: np.ndarray) -> np.ndarray:
    """b: the mean of 8 pool rows plus a little noise."""
    return G_head[:8].astype(np.float64).mean(axis=0) + 0.05 * np.random.default_rng(1).standard_normal(G_head.shape[1])


def peak_rss_mb(field: str = "VmHWM") -> float:
    """This process's peak resident set (VmHWM; ``'VmRSS'``: the current one), MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def one_read(client, G) -> float:
    return timed(lambda: client.compute(G.sum(dtype=np.float32)).result())[0]


def distributed_runs(client, G, b, make_m, steps: int, repeats: int) -> dict:
    """Per repeat: the read, T(1) and T(steps); the step time (T(k) − T(1)) / (k − 1)."""
    out = {"read": [], "setup": [], "step": [], "passes": None, "indices": None}
    omp(G, b, make_m(steps), client=client)  # warm-up: imports and compilation on the workers
    for _ in range(repeats):
        out["read"].append(one_read(client, G))
        t1, _ = timed(lambda: omp(G, b, make_m(1), client=client))
        tk, res = timed(lambda: omp(G, b, make_m(steps), client=client))
        out["setup"].append(t1)
        out["step"].append((tk - t1) / (steps - 1))
        out["passes"], out["indices"] = res.info["passes"], res.indices.tolist()
    return out


def single_runs(G_mem, b, make_m, steps: int, repeats: int) -> dict:
    out = {"step": [], "setup": [], "indices": None}
    mo.omp(G_mem, b, make_m(1))  # compile once
    for _ in range(repeats):
        t1, _ = timed(lambda: mo.omp(G_mem, b, make_m(1)))
        tk, res = timed(lambda: mo.omp(G_mem, b, make_m(steps)))
        assert not res.info["gram"]
        out["setup"].append(t1)
        out["step"].append((tk - t1) / (steps - 1))
        out["indices"] = res.indices.tolist()
    return out




def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2_000_000)
    p.add_argument("--small-n", type=int, default=200_000)
    p.add_argument("--d", type=int, default=256)
    p.add_argument("--rows", type=int, default=65_536, help="rows per chunk (64 MB at d = 256)")
    p.add_argument("--steps", type=int, default=4, help="rank k of the timed runs (>= 2)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workers", default="1,2")
    p.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "matroidomp_dask_scale"))
    p.add_argument("--out", help="write the numbers as JSON here (atomically)")
    p.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    path = Path(args.dir) / f"G_{args.n}x{args.d}"
    if args.prepare_only:
        prepare(path, args.n, args.d, args.rows, seed=0)
        return
    t_prep = time.perf_counter()  # in a child process: this process's peak RSS is the runs' alone
    subprocess.run([sys.executable, __file__, "--prepare-only", "--n", str(args.n), "--d", str(args.d),
                    "--rows", str(args.rows), "--dir", args.dir], check=True)
    t_prep = time.perf_counter() - t_prep
    G_all = da.from_npy_stack(str(path), mmap_mode="r")
    head = np.load(path / "0.npy", mmap_mode="r")
    sizes = {"large": args.n, "small": min(args.small_n, args.n)}
    results = {"n": args.n, "small_n": sizes["small"], "d": args.d, "rows_per_chunk": args.rows,
               "steps": args.steps, "repeats": args.repeats, "prepare_s": t_prep,
               "numba_threads": os.environ["NUMBA_NUM_THREADS"], "runs": {}}
    b = target(head)
    makers = {name: (lambda k, labels=domain_labels(n): mo.make_matroid(labels, "proportional", k))
              for name, n in sizes.items()}
    for w in [int(x) for x in args.workers.split(",")]:
        with LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=":0",
                          env={"NUMBA_NUM_THREADS": "1"}) as cluster, \
                Client(cluster) as client:
            results["runs"][f"worker_idle_rss/{w}"] = sorted(client.run(peak_rss_mb, "VmRSS").values())
            for name, n in sizes.items():
                G = G_all[:n]
                res = distributed_runs(client, G, b, makers[name], args.steps, args.repeats)
                results["runs"][f"{name}/{w}"] = res
            rss = client.run(peak_rss_mb)
            results["runs"][f"worker_rss/{w}"] = sorted(rss.values())
    results["client_peak_rss_mb"] = peak_rss_mb()  # before the small pool is loaded for one machine
    G_small = np.array(G_all[: sizes["small"]])
    results["runs"]["small/single"] = single_runs(G_small, b, makers["small"], args.steps, args.repeats)
    same = results["runs"]["small/single"]["indices"] == results["runs"]["small/1"]["indices"]
    results["small_same_selection"] = same
    report(results, [int(x) for x in args.workers.split(",")])
    if args.out:
        replace_text(args.out, json.dumps(results, indent=1))
    if not same:
        raise SystemExit("the distributed and single-machine selections differ on the small pool")


def report(r: dict, workers: list) -> None:
    gb = r["n"] * r["d"] * 4 / 1e9
    print(f"\nn = {r['n']:,} × d = {r['d']} float32 ({gb:.2f} GB on disk, .npy stack of {r['rows_per_chunk']:,}-row "
          f"chunks), k = {r['steps']}, {r['repeats']} repeats (min–max); NUMBA_NUM_THREADS={r['numba_threads']}\n")
    print("| pool | workers | one read (s) | OMP step (s) | step / read | setup T(1) (s) | peak RSS per worker (MB) |")
    print("|---|---|---|---|---|---|---|")
    for name, n in (("large", r["n"]), ("small", r["small_n"])):
        for w in workers:
            x = r["runs"][f"{name}/{w}"]
            ratio = [s / t for s, t in zip(x["step"], x["read"])]
            rss = "—" if name != "large" else ", ".join(
                f"{v:.0f} (idle {i:.0f})" for v, i in zip(r["runs"][f"worker_rss/{w}"], r["runs"][f"worker_idle_rss/{w}"]))
            print(f"| {n:,} | {w} | {span(x['read'], 2)} | {span(x['step'], 2)} | {span(ratio, 2)} | {span(x['setup'], 2)} | {rss} |")
        if name == "small":
            x = r["runs"]["small/single"]
            print(f"| {n:,} | one machine (matroidomp.omp, in memory) | — | {span(x['step'], 2)} | — | "
                  f"{span(x['setup'], 2)} | — |")
    print(f"\nclient peak RSS during the distributed runs: {r['client_peak_rss_mb']:.0f} MB (G is "
          f"{r['n'] * r['d'] * 4 / 1e6:.0f} MB); same selection on the small pool, distributed and one machine: "
          f"{r['small_same_selection']}")


if __name__ == "__main__":
    main()
