"""Distributed selection on 2 gloo processes on CPU (loopback).

Same pool on every rank (``PartitionSelector.select``): the ranks gather the same gradients and
return the same selection as one process; pool of 31 rows, so the last shard is padded and trimmed.
Data-parallel training (``selective_step``, ``PartitionSelTrainer``): each rank has its own pool; the
step of the DDP-wrapped model equals one process's step on the selection from the joined pools."""

import importlib.util
import multiprocessing
import os
import socket
from datetime import timedelta

import pytest

if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
    pytest.skip("needs torch and transformers", allow_module_level=True)

import numpy as np
import torch
import torch.distributed as dist
from lm_cases import answer_batch, tiny_qwen2
from torch.nn.parallel import DistributedDataParallel

from matroidomp.torch import (PartitionSelector, Selection, last_layer_linears, mean_answer_loss,
                              selective_step)

K, N, WORLD, TIMEOUT = 8, 31, 2, 60
METHODS = ("partitionsel", "partitionsel-omp")


DOMAINS = torch.tensor([0] * 15 + [1] * 10 + [2] * 6)
POOL = answer_batch(DOMAINS, 1)
VALID = answer_batch([0, 1, 2, 2], 2)

# Data-parallel: rank 0 holds 16 examples of T = 12, rank 1 another 16 cut to T = 10 (padded back to 12
# when gathered); string domain labels, mostly "math" on rank 0 and "chem" on rank 1; k = 4 per rank.
NAMES = np.array(["math", "chem", "code"])
LOCAL_CODES = (torch.tensor([0] * 10 + [1] * 3 + [2] * 3), torch.tensor([1] * 9 + [0] * 4 + [2] * 3))
K_RANK, LR = 4, 0.5


def local_pool(rank):
    b = answer_batch(LOCAL_CODES[rank], 5 + rank)
    if rank == 1:
        b = {key: v[:, :10] for key, v in b.items()}
        b["attention_mask"][:, 9:] = 0  # at most 9 real tokens, so row and padding stay consistent
        b["answer_mask"][:, 9:] = 0
    return b, NAMES[LOCAL_CODES[rank].numpy()].tolist()


def joined_pool():
    """The two local pools as one process sees them: rank 0's rows, then rank 1's, padded to T = 12."""
    parts = [local_pool(rank) for rank in range(WORLD)]
    pool = {key: torch.cat([torch.nn.functional.pad(b[key], (0, 12 - b[key].shape[1])) for b, _ in parts])
            for key in parts[0][0]}
    return pool, parts[0][1] + parts[1][1]


def parameters(model):
    return {k: v.detach().numpy().copy() for k, v in model.named_parameters()}


def run(method):
    """Gradients of the pool, one selection and the row counts of each gradient call, as plain data
    (the same code on every rank). No torch tensor goes through the queue: torch shares its storage
    by file descriptor, which the parent can fail to fetch once the worker has exited."""
    model = tiny_qwen2()
    s = PartitionSelector(model, last_layer_linears(model, 1), method=method, k=K, projection_dim=64, seed=3)
    rows, local = [], s._local_gradients
    s._local_gradients = lambda *bs, **kw: (rows.append([len(b["input_ids"]) for b in bs if b is not None]),
                                             local(*bs, **kw))[1]
    sel = s.select(POOL, DOMAINS, VALID, lr=1e-3)
    return s.gradients(POOL).numpy().copy(), sel.indices.tolist(), sel.counts, sel.objective, rows


def mismatch(rank):
    """The message a rank gets when the other rank passes a different pool."""
    model = tiny_qwen2()
    s = PartitionSelector(model, last_layer_linears(model, 1), k=K)
    pool = {key: v.roll(rank, 0) for key, v in POOL.items()}
    try:
        s.select(pool, DOMAINS.roll(rank, 0), VALID, lr=1e-3)
    except ValueError as exc:
        return str(exc)


def ddp_step(rank):
    """One selective_step of a DDP-wrapped model (SGD) on this rank's own pool: the global selection,
    the row counts of each gradient call, the parameters after the step."""
    model = tiny_qwen2()
    selector = PartitionSelector(model, last_layer_linears(model, 1), k=K_RANK, projection_dim=64, seed=3)
    rows, local = [], selector._local_gradients
    selector._local_gradients = lambda *bs, **kw: (rows.append([len(b["input_ids"]) for b in bs if b is not None]),
                                                   local(*bs, **kw))[1]
    batches, select = [], selector.select_distributed
    selector.select_distributed = lambda *a, **kw: (lambda out: (batches.append(out[1]), out)[1])(select(*a, **kw))
    ddp = DistributedDataParallel(model)
    pool, domains = local_pool(rank)
    _, sel = selective_step(selector, ddp, torch.optim.SGD(ddp.parameters(), lr=LR), pool, domains, VALID)
    return sel.indices.tolist(), sel.counts, rows, parameters(model), batches[0]["input_ids"].numpy().copy()


def one_process_step():
    """The reference: select 2·k from the joined pool in one process, one SGD step on all of it."""
    model = tiny_qwen2()
    pool, domains = joined_pool()
    selector = PartitionSelector(model, last_layer_linears(model, 1), k=K_RANK * WORLD, projection_dim=64, seed=3)
    sel = selector.select(pool, domains, VALID, lr=LR)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    mean_answer_loss(model, {key: v[sel.indices] for key, v in pool.items()}).backward()
    opt.step()
    return sel.indices.tolist(), sel.counts, parameters(model)


class Examples(torch.utils.data.Dataset):
    """64 examples of domains i mod 3 (field ``domain``)."""

    def __init__(self):
        domain = torch.arange(64) % 3
        self.b = {**answer_batch(domain, 3), "domain": domain}

    def __len__(self):
        return 64

    def __getitem__(self, i):
        return {key: v[i] for key, v in self.b.items()}


def trainer_worker(rank, port, queue):
    """PartitionSelTrainer on 2 processes (the Trainer sets up gloo from the environment): 2 steps
    on pools of 16 per rank, k = 4 per rank; per step the local pool, the selection and the batch
    trained on, then the logs and parameters."""
    from transformers import TrainingArguments

    from matroidomp.torch import PartitionSelTrainer

    try:
        os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD), MASTER_ADDR="127.0.0.1",
                          MASTER_PORT=str(port))
        args = TrainingArguments(output_dir=os.path.join(os.environ["TRAINER_DIR"], str(rank)), use_cpu=True,
                                 ddp_backend="gloo", ddp_timeout=TIMEOUT, per_device_train_batch_size=16,
                                 max_steps=2, learning_rate=1e-2, logging_steps=1, save_strategy="no",
                                 report_to=[], remove_unused_columns=False, dataloader_drop_last=True)
        model = tiny_qwen2()
        selector = PartitionSelector(model, last_layer_linears(model, 1), k=K_RANK, projection_dim=64)
        steps, select = [], selector.select_distributed
        selector.select_distributed = lambda pool, *a, **kw: (lambda out: (steps.append(
            (pool["input_ids"].numpy().copy(), out[0].indices.tolist(), out[1]["input_ids"].numpy().copy())), out)[1])(
            select(pool, *a, **kw))
        t = PartitionSelTrainer(model=model, args=args, train_dataset=Examples(), selector=selector, buffer=4,
                                validation_dataset_or_batch=VALID)
        t.train()
        logs = [entry for entry in t.state.log_history if "loss" in entry]
        queue.put((rank, (steps, logs, parameters(model), t.args.world_size)))
        dist.destroy_process_group()
    except BaseException as exc:  # report instead of leaving the parent waiting
        queue.put((rank, repr(exc)))


def _holds_tensor(obj):
    if isinstance(obj, torch.Tensor):
        return True
    if isinstance(obj, dict):
        return any(_holds_tensor(v) for v in obj.values())
    return isinstance(obj, (list, tuple)) and any(_holds_tensor(v) for v in obj)


def worker(task, rank, port, queue):
    try:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD,
                                timeout=timedelta(seconds=TIMEOUT))
        try:
            result = task(rank)
            assert not _holds_tensor(result), "send numpy or lists: torch storage shared by fd can vanish"
            queue.put((rank, result))
        finally:
            dist.destroy_process_group()
    except BaseException as exc:  # report instead of leaving the parent waiting
        queue.put((rank, repr(exc)))


def same_pool(rank):
    return {method: run(method) for method in METHODS}, mismatch(rank)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(target, *args):
    """Run target(*args, rank, port, queue) on WORLD spawned processes; {rank: what it put}."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=target, args=(*args, rank, port, queue), daemon=True) for rank in range(WORLD)]
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
    return results


def test_two_gloo_ranks_gather_the_gradients_and_agree_with_one_process():
    expected = {method: run(method) for method in METHODS}
    results = spawn(worker, same_pool)
    for rank in range(WORLD):
        selections, message = results[rank]
        for method in METHODS:
            G, indices, counts, objective, rows = selections[method]
            G1, indices1, counts1, objective1, rows1 = expected[method]
            # select: pool shard of ⌈31 / 2⌉ rows and all 4 anchors in one call; gradients: the shard
            assert rows1 == [[N, 4], [N]] and rows == [[16, 4], [16]]
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


def test_ddp_selective_step_on_different_pools_equals_one_process_step_on_the_selection():
    indices1, counts1, params1 = one_process_step()
    assert min(indices1) < 16 <= max(indices1)  # the selection draws on both ranks' pools
    results = spawn(worker, ddp_step)
    pool, _ = joined_pool()
    for rank in range(WORLD):
        indices, counts, rows, params, trained = results[rank]
        assert indices == indices1 and counts == counts1 and sum(counts.values()) == K_RANK * WORLD
        assert rows == [[16, 4]]  # this rank's own 16 pool rows and the 4 anchors, in one call
        np.testing.assert_array_equal(trained, pool["input_ids"][indices1[rank * K_RANK:(rank + 1) * K_RANK]])
        for name, value in params1.items():
            np.testing.assert_array_equal(params[name], results[0][3][name])
            np.testing.assert_allclose(params[name], value, atol=1e-6, rtol=0)
    moved = [name for name, value in params1.items() if not np.array_equal(value, parameters(tiny_qwen2())[name])]
    assert moved  # the step changed the model


def test_ddp_trainer_selects_globally_and_trains_each_rank_on_its_shard(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINER_DIR", str(tmp_path))
    results = spawn(trainer_worker)
    steps0, logs0, params0, world = results[0]
    assert world == WORLD and len(steps0) == 2 and len(logs0) == 2
    for rank in range(WORLD):
        steps, logs, params, _ = results[rank]
        for entry in logs:
            assert sum(entry[f"sel/count_{d}"] for d in range(3)) == K_RANK * WORLD
        for name, value in params0.items():
            np.testing.assert_array_equal(params[name], value)
        for step, (local, indices, trained) in enumerate(steps):
            assert indices == steps0[step][1]  # the same global selection of 8 on every rank
            pool = np.concatenate([results[r][0][step][0] for r in range(WORLD)])
            np.testing.assert_array_equal(trained, pool[indices[rank * K_RANK:(rank + 1) * K_RANK]])
    assert not np.array_equal(steps0[0][0], results[1][0][0][0])  # the ranks' pools differ
    assert not np.array_equal(params0["model.layers.1.mlp.up_proj.weight"],
                              parameters(tiny_qwen2())["model.layers.1.mlp.up_proj.weight"])
