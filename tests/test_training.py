"""Selection in the loop on a tiny Qwen2: the plain-PyTorch helper lowers the pool loss, the
Hugging Face Trainer subclass trains on the selection and logs its statistics, bad input."""

import importlib.util

import pytest

if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
    pytest.skip("needs torch and transformers", allow_module_level=True)

import torch
from lm_cases import answer_batch, tiny_qwen2
from transformers import TrainingArguments, default_data_collator

from matroidomp.torch import (PartitionSelector, PartitionSelTrainer, last_layer_linears, mean_answer_loss,
                              selective_step)

BATCH, BUFFER = 4, 4


def batch(n, seed):
    """n examples of domains i mod 3, with their ``domain`` labels."""
    domain = torch.arange(n) % 3
    return {**answer_batch(domain, seed), "domain": domain}


class Examples(torch.utils.data.Dataset):
    def __init__(self, b):
        self.b = b

    def __len__(self):
        return len(self.b["input_ids"])

    def __getitem__(self, i):
        return {key: v[i] for key, v in self.b.items()}


def test_selective_step_lowers_the_pool_loss():
    model = tiny_qwen2()
    pool, valid = batch(32, 1), batch(4, 2)
    selector = PartitionSelector(model, last_layer_linears(model, 1), k=8, projection_dim=64)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1 - t / 8)
    with torch.no_grad():
        before = mean_answer_loss(model, pool).item()
    for step in range(4):
        loss, sel = selective_step(selector, model, opt, pool, pool["domain"], valid, scheduler=scheduler)
        assert len(sel.indices) == 8 and sel.counts == {0: 3, 1: 3, 2: 2}
        assert opt.param_groups[0]["lr"] == pytest.approx(1e-2 * (1 - (step + 1) / 8))
    with torch.no_grad():
        assert mean_answer_loss(model, pool).item() < before


def trainer(tmp_path, data, **kw):
    model = tiny_qwen2()
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=BATCH * BUFFER, max_steps=3,
                             learning_rate=1e-2, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True,
                             remove_unused_columns=False, dataloader_drop_last=True)
    selector = PartitionSelector(model, last_layer_linears(model, 1), k=BATCH, projection_dim=64)
    return PartitionSelTrainer(model=model, args=args, train_dataset=Examples(data), selector=selector,
                               buffer=BUFFER, **kw)


def test_trainer_selects_trains_and_logs_selection_statistics(tmp_path):
    t = trainer(tmp_path, batch(48, 3), validation_dataset_or_batch=Examples(batch(12, 4)), anchors=3)
    t.train()
    logs = [entry for entry in t.state.log_history if "loss" in entry]
    assert t.state.global_step == 3 and len(logs) == 3
    for entry in logs:
        assert sum(entry[f"sel/count_{d}"] for d in range(3)) == BATCH
        assert entry["sel/objective"] > 0 and entry["sel/conflicting_pairs"] >= 0
        assert entry["sel/grad_seconds"] > 0 and entry["sel/select_seconds"] > 0
        assert entry["loss"] > 0


def test_trainer_bad_input(tmp_path):
    data = batch(16, 5)
    del data["domain"]
    t = trainer(tmp_path, data, validation_dataset_or_batch=batch(4, 6))
    with pytest.raises(ValueError, match="no 'domain' field"):
        t.train()
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=BATCH * BUFFER, report_to=[],
                             use_cpu=True, remove_unused_columns=False)
    model = tiny_qwen2()
    with pytest.raises(ValueError, match="k = per_device_train_batch_size // buffer = 4, got k = 8"):
        PartitionSelTrainer(model=model, args=args, selector=PartitionSelector(model, ["lm_head"], k=8),
                            validation_dataset_or_batch=batch(4, 6), buffer=BUFFER)


def test_trainer_says_the_default_collator_drops_string_domains(tmp_path):
    data = batch(48, 7)
    data["domain"] = [f"domain/{d}" for d in data["domain"].tolist()]  # string labels, as in most datasets
    t = trainer(tmp_path, data, validation_dataset_or_batch=batch(4, 8))
    with pytest.raises(ValueError, match=r"no 'domain' field .* or the data collator dropped it \(the default "
                                         r"collator, default_data_collator, drops string fields.*"
                                         r"remove_unused_columns=False.*data_collator="):
        t.train()

    def keep_domain(rows):  # the collator the message suggests
        return {**default_data_collator(rows), "domain": [r["domain"] for r in rows]}

    t = trainer(tmp_path, data, validation_dataset_or_batch=batch(4, 8), data_collator=keep_domain)
    t.train()
    logs = [entry for entry in t.state.log_history if "loss" in entry]
    assert t.state.global_step == 3 and all(sum(e[f"sel/count_domain/{d}"] for d in range(3)) == BATCH for e in logs)
