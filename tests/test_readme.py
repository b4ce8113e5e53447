"""The README's Python examples run as written (with the few names they take as given defined)."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def block_using(name):
    blocks = [b for b in python_blocks() if name in b]
    assert len(blocks) == 1, f"expected one README python block using {name!r}, found {len(blocks)}"
    return blocks[0]


def test_readme_has_the_four_examples():
    assert len(python_blocks()) == 4


def test_usage_example_runs(capsys):
    exec(compile(block_using("mo.partitionsel("), "README usage", "exec"), {})
    assert capsys.readouterr().out.strip()


def test_submodular_example_runs():
    rng = np.random.default_rng(0)
    scope = {"X": rng.standard_normal((60, 5)), "labels": np.repeat(["a", "b", "c"], [30, 20, 10])}
    exec("import matroidomp as mo\n" + block_using("FacilityLocation"), scope)
    assert len(scope["res"].indices) == 50


def test_training_loop_example_runs():
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from lm_cases import answer_batch, tiny_qwen2

    model = tiny_qwen2()
    domains = np.repeat([0, 1, 2], [20, 8, 4])
    scope = {"model": model, "pool": answer_batch(domains, seed=0), "domains": domains,
             "validation": answer_batch([0, 1, 2, 0], seed=1),
             "optimizer": torch.optim.AdamW(model.parameters(), lr=1e-3)}
    before = [p.detach().clone() for p in model.parameters()]
    exec(compile(block_using("PartitionSelector("), "README training loop", "exec"), scope)
    assert len(scope["sel"].indices) == 16 and sum(scope["sel"].counts.values()) == 16
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters()))  # the step trained


def test_scale_out_example_runs(tmp_path):
    """The Dask example on an .npy stack (an embedded local cluster): the one-machine selection."""
    import dask.array as da

    import matroidomp as mo

    G = np.random.default_rng(0).standard_normal((2000, 64)).astype(np.float32)
    da.to_npy_stack(str(tmp_path / "grads"), da.from_array(G, chunks=(500, 64)))
    scope = {"path": str(tmp_path / "grads"), "domains": np.repeat(["a", "b"], [1500, 500]), "anchors": G[:4]}
    exec(compile(block_using("from_npy_stack"), "README scale-out", "exec"), scope)
    one = mo.partitionsel(G, scope["domains"], 32, anchors=G[:4], lr=2e-4, seed=0)
    assert scope["sel"].indices.tolist() == one.indices.tolist()
