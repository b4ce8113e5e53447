"""Which approximate-nearest-neighbour library builds the kNN graph of ``FacilityLocation.from_features``.

The candidates are pynndescent, faiss-cpu and hnswlib. Each one, in a fresh process, builds the
all-points graph of (k + 1) neighbours (self included) of n points in 32 dimensions, on one
thread, and reports:

- ``build_s``     index construction plus the all-points query (what ``from_features`` pays),
  and ``build_cpu_s`` its CPU seconds (steadier than wall time on a shared machine);
- ``recall``      recall@k against the exact neighbours of 1,000 random query points (numpy);
- ``rss_mb``      the process's peak resident memory (``resource.getrusage``), and
  ``base_rss_mb`` the peak before the library is imported (Python, numpy and the data);
- ``warmup_s``    a first build on 1,000 points (pynndescent compiles its numba code there).

Data: a Gaussian mixture, 1,000 centres N(0, I) in dimension 32, each point its centre plus
N(0, 0.5² I) (``mixture``), float32. Settings: hnswlib and faiss HNSW with M = 16,
ef_construction = 100, ef_search = 64; pynndescent's defaults (n_neighbors = k + 1).

Run (one line of JSON per library and n; about 15 minutes with n = 10^6)::

    NUMBA_NUM_THREADS=1 python benchmarks/ann_choice.py 100000 1000000
    NUMBA_NUM_THREADS=1 python benchmarks/ann_choice.py 1000000 --libs hnswlib-ef40,faiss-ef40,pynndescent-2k
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np

DIM, K, QUERIES = 32, 10, 1000
LIBRARIES = ("hnswlib", "faiss", "pynndescent")


def mixture(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    """n points of a 1,000-centre Gaussian mixture in ``dim`` dimensions, float32."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((1000, dim)).astype(np.float32)
    X = centres[rng.integers(0, 1000, n)]
    X += 0.5 * rng.standard_normal((n, dim), dtype=np.float32)
    return X


def build(lib: str, X: np.ndarray, k: int) -> np.ndarray:
    """(n, k + 1) neighbour indices of every row of X (itself included when the index finds it).

    Variants: ``hnswlib-ef40`` and ``faiss-ef40`` build with ef_construction = 40; ``pynndescent-2k`` searches
    2 (k + 1) neighbours and keeps the first k + 1.
    """
    n, d = X.shape
    if lib.startswith("hnswlib"):
        import hnswlib
        index = hnswlib.Index(space="l2", dim=d)
        index.init_index(max_elements=n, M=16, ef_construction=40 if lib.endswith("ef40") else 100, random_seed=0)
        index.add_items(X, num_threads=1)
        index.set_ef(64)
        labels, _ = index.knn_query(X, k=k + 1, num_threads=1)
        return labels.astype(np.int64)
    if lib.startswith("faiss"):
        import faiss
        faiss.omp_set_num_threads(1)
        index = faiss.IndexHNSWFlat(d, 16)
        index.hnsw.efConstruction = 40 if lib.endswith("ef40") else 100
        index.add(X)
        index.hnsw.efSearch = 64
        _, labels = index.search(X, k + 1)
        return labels.astype(np.int64)
    if lib.startswith("pynndescent"):
        from pynndescent import NNDescent
        r = 2 * (k + 1) if lib.endswith("2k") else k + 1
        index = NNDescent(X, n_neighbors=r, metric="euclidean", random_state=0, n_jobs=1)
        return index.neighbor_graph[0][:, :k + 1].astype(np.int64)
    raise ValueError(lib)


def exact(X: np.ndarray, queries: np.ndarray, k: int) -> list[set]:
    """The k nearest other points of each query, by brute force in float64 (chunks of X)."""
    Q = X[queries].astype(np.float64)
    best = np.full((len(queries), k + 1), np.inf)
    idx = np.zeros((len(queries), k + 1), dtype=np.int64)
    qq = (Q * Q).sum(1)
    for start in range(0, X.shape[0], 100_000):
        B = X[start:start + 100_000].astype(np.float64)
        d2 = qq[:, None] + (B * B).sum(1)[None, :] - 2 * Q @ B.T
        for r, q in enumerate(queries):
            if start <= q < start + B.shape[0]:
                d2[r, q - start] = np.inf  # not itself
        cand_d = np.concatenate([best, d2], axis=1)
        cand_i = np.concatenate([idx, np.arange(start, start + B.shape[0])[None, :].repeat(len(queries), 0)], axis=1)
        top = np.argpartition(cand_d, k, axis=1)[:, :k + 1]
        best = np.take_along_axis(cand_d, top, 1)
        idx = np.take_along_axis(cand_i, top, 1)
    order = np.argsort(best, axis=1)[:, :k]
    return [set(row) for row in np.take_along_axis(idx, order, 1).tolist()]


def _cpu_s() -> float:
    """CPU seconds of this process (user + system): less sensitive than wall time to the other
    processes of a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one(lib: str, n: int) -> dict:
    """Measure ``lib`` at size n in this process (call it in a fresh one)."""
    X = mixture(n)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    build(lib, mixture(1000, seed=1), K)
    warm = time.perf_counter() - t
    t, cpu = time.perf_counter(), _cpu_s()
    labels = build(lib, X, K)
    build_s, build_cpu = time.perf_counter() - t, _cpu_s() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queries = np.random.default_rng(1).choice(n, QUERIES, replace=False)
    truth = exact(X, queries, K)
    hits = sum(len(truth[r] & (set(labels[q].tolist()) - {int(q)})) for r, q in enumerate(queries))
    return {"lib": lib, "n": n, "build_s": round(build_s, 2), "build_cpu_s": round(build_cpu, 2),
            "warmup_s": round(warm, 2),
            "recall": round(hits / (K * QUERIES), 4), "rss_mb": round(rss), "base_rss_mb": round(base)}


if __name__ == "__main__":
    if sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2], int(sys.argv[3]))), flush=True)
    else:
        libs = sys.argv[sys.argv.index("--libs") + 1].split(",") if "--libs" in sys.argv else LIBRARIES
        sizes = sys.argv[1:sys.argv.index("--libs")] if "--libs" in sys.argv else sys.argv[1:]
        for n in map(int, sizes):
            for lib in libs:
                proc = subprocess.run([sys.executable, __file__, "--one", lib, str(n)], capture_output=True, text=True)
                print(proc.stdout.strip() or proc.stderr[-2000:], flush=True)
