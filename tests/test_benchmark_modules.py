"""Every benchmark module imports against the current package (they run outside ``testpaths``,
so a renamed helper would otherwise break them unnoticed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
MODULES = sorted(p for p in BENCHMARKS.glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_benchmark_module_imports(path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the modules import their sibling `problems`
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    try:
        spec.loader.exec_module(module)
    except pytest.skip.Exception as exc:  # an optional dependency the module itself skips without
        pytest.skip(f"{path.name}: {exc}")
    assert module.__doc__, f"{path.name} has no docstring saying what it measures"
