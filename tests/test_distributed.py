"""Distributed selection: 2 gloo processes on CPU (loopback) gather the same gradients and return
the same selection as one process. Pool of 31 rows, so the last shard is padded and trimmed."""

import importlib.util
import multiprocessing
import socket
from datetime import timedelta

import pytest

if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
    pytest.skip("needs torch and transformers", allow_module_level=True)

import numpy as np
import torch
import torch.distributed as dist
from lm_cases import answer_batch, tiny_qwen2

from matroidomp.torch import PartitionSelector, Selection, last_layer_linears

K, N, WORLD, TIMEOUT = 8, 31, 2, 60
METHODS = ("partitionsel", "partitionsel-rrg")


DOMAINS = torch.tensor([0] * 15 + [1] * 10 + [2] * 6)
POOL = answer_batch(DOMAINS, 1)
VALID = answer_batch([0, 1, 2, 2], 2)


def run(method):
    """Gradients of the pool, one selection and the row counts of each gradient call, as plain data
    (the same code on every rank)."""
    model = tiny_qwen2()
    s = PartitionSelector(model, last_layer_linears(model, 1), method=method, k=K, projection_dim=64, seed=3)
    rows, local = [], s._local_gradients
    s._local_gradients = lambda b: (rows.append(len(b["input_ids"])), local(b))[1]
    sel = s.select(POOL, DOMAINS, VALID, lr=1e-3)
    return s.gradients(POOL), sel.indices.tolist(), sel.counts, sel.objective, rows


def mismatch(rank):
    """The message a rank gets when the other rank passes a different pool."""
    model = tiny_qwen2()
    s = PartitionSelector(model, last_layer_linears(model, 1), k=K)
    pool = {key: v.roll(rank, 0) for key, v in POOL.items()}
    try:
        s.select(pool, DOMAINS.roll(rank, 0), VALID, lr=1e-3)
    except ValueError as exc:
        return str(exc)


def worker(rank, port, queue):
    try:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD,
                                timeout=timedelta(seconds=TIMEOUT))
        try:
            queue.put((rank, ({method: run(method) for method in METHODS}, mismatch(rank))))
        finally:
            dist.destroy_process_group()
    except BaseException as exc:  # report instead of leaving the parent waiting
        queue.put((rank, repr(exc)))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_gloo_ranks_gather_the_gradients_and_agree_with_one_process():
    expected = {method: run(method) for method in METHODS}
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=worker, args=(rank, port, queue), daemon=True) for rank in range(WORLD)]
    for p in procs:
        p.start()
    try:
        results = dict(queue.get(timeout=2 * TIMEOUT) for _ in range(WORLD))
    finally:
        for p in procs:
            p.join(timeout=TIMEOUT)
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0] * WORLD
    for rank in range(WORLD):
        assert not isinstance(results[rank], str), f"rank {rank}: {results[rank]}"
        selections, message = results[rank]
        for method in METHODS:
            G, indices, counts, objective, rows = selections[method]
            G1, indices1, counts1, objective1, rows1 = expected[method]
            assert rows1 == [N, 4, N] and rows == [16, 4, 16]  # pool shards of ⌈31 / 2⌉, full anchors
            np.testing.assert_allclose(G, G1, atol=1e-5)
            assert indices == indices1 and counts == counts1
            assert objective == pytest.approx(objective1, abs=1e-5)
        assert message is not None and "same pool on every rank" in message


def test_shard_splits_the_selection_into_contiguous_parts():
    sel = Selection("partitionsel", torch.arange(10, 15), torch.ones(5), {}, 1.0, 0, 0.0, 0.0)
    parts = [sel.shard(rank, 2).tolist() for rank in range(2)]
    assert parts == [[10, 11, 12], [13, 14]]
    with pytest.raises(ValueError, match=r"rank must be in \[0, 2\)"):
        sel.shard(2, 2)
