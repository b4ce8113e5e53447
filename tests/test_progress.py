"""verbose= and callback= on every solver: the same selection with them on and off, the callback's
objectives are the result's history, a False stops the run with a valid partial result."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import matroidomp as mo

STOP_AT = 3


def _problem():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((60, 6))
    labels = rng.integers(0, 3, 60)
    matroid = mo.PartitionMatroid(labels, {0: 3, 1: 3, 2: 2})
    G = rng.standard_normal((60, 12))
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    b = G[:4].mean(axis=0) + 0.1 * rng.standard_normal(12)
    return X, labels, matroid, G, b


X, LABELS, MATROID, G, B = _problem()
F = mo.FacilityLocation.from_features(X)
U = mo.QuadraticUtility.gradient_matching(G, B, 0.01)
TAYLOR = mo.QuadraticUtility.taylor(G, G[:4], 0.1)
K, C = G @ G.T, G @ B

# name -> (run(**progress), the exact value of a selection)
SOLVERS = {
    "greedy": (lambda **p: mo.greedy(F, MATROID, **p), F),
    "greedy-naive": (lambda **p: mo.greedy(F, MATROID, lazy=False, **p), F),
    "stochastic_greedy": (lambda **p: mo.stochastic_greedy(F, MATROID, seed=3, **p), F),
    "omp-numba-gram": (lambda **p: mo.omp(G, B, MATROID, lam=0.01, precompute=True, **p), U.value),
    "omp-numba-dspace": (lambda **p: mo.omp(G, B, MATROID, lam=0.01, precompute=False, **p), U.value),
    "omp-numba-randomized": (lambda **p: mo.omp(G, B, MATROID, lam=0.01, randomized=True, seed=5, **p), U.value),
    "omp-numpy": (lambda **p: mo.omp(G, B, MATROID, lam=0.01, backend="numpy", **p), U.value),
    "omp-torch": (lambda **p: mo.omp(torch.from_numpy(G), torch.from_numpy(B), MATROID, lam=0.01, backend="torch", **p),
                  U.value),
    "omp-signed": (lambda **p: mo.omp(G, B, MATROID, lam=0.01, nonneg=False, **p),
                   mo.QuadraticUtility.gradient_matching(G, B, 0.01, nonneg=False).value),
    "omp_gram": (lambda **p: mo.omp_gram(K, C, MATROID, lam=0.01, **p), U.value),
    "solve_omp": (lambda **p: mo.solve_omp(U, MATROID, on_no_gain="fill", **p), U.value),
    "partitionsel": (lambda **p: mo.partitionsel(G, LABELS, 8, anchors=G[:4], lr=0.1, budgets=MATROID, seed=1, **p),
                     TAYLOR.value),
    "partitionsel-numpy": (lambda **p: mo.partitionsel(G, LABELS, 8, anchors=G[:4], lr=0.1, budgets=MATROID, seed=1,
                                                       backend="numpy", **p), TAYLOR.value),
}


def same(a, b):
    assert a.indices.tolist() == b.indices.tolist()
    assert np.array_equal(np.asarray(a.weights), np.asarray(b.weights))
    assert np.array_equal(a.history, b.history) and a.objective == b.objective
    assert a.stop_reason == b.stop_reason and a.counts == b.counts


@pytest.mark.parametrize("name", SOLVERS)
def test_progress_changes_nothing_and_the_callback_sees_the_history(name, capsys):
    run, _ = SOLVERS[name]
    plain = run()
    assert len(plain) > STOP_AT
    calls = []
    watched = run(verbose=True, callback=lambda step, index, objective: calls.append((step, index, objective)))
    same(plain, watched)
    assert [c[0] for c in calls] == list(range(1, len(plain) + 1))
    assert [c[1] for c in calls] == plain.indices.tolist()
    assert [c[2] for c in calls] == plain.history.tolist()
    assert all(type(c[0]) is int and type(c[1]) is int and type(c[2]) is float for c in calls)
    err = capsys.readouterr().err
    label = "stochastic_greedy" if name == "stochastic_greedy" else ("greedy" if "greedy" in name else "omp")
    assert label in err and f"{len(plain)}/{MATROID.rank}" in err
    assert f"objective={plain.objective:.6g}" in err


@pytest.mark.parametrize("name", SOLVERS)
def test_callback_stops_with_a_valid_partial_result(name):
    run, value = SOLVERS[name]
    full = run()
    calls = []

    def stop_at(step, index, objective):
        calls.append(step)
        return step < STOP_AT

    part = run(callback=stop_at)
    assert calls == list(range(1, STOP_AT + 1))
    assert part.stop_reason == "stopped_by_callback" and len(part) == STOP_AT
    assert part.indices.tolist() == full.indices.tolist()[:STOP_AT]
    assert part.history.tolist() == full.history.tolist()[:STOP_AT]
    assert MATROID.is_independent(part.indices) and part.counts == MATROID.count_dict(part.indices)
    assert part.objective == pytest.approx(value(np.asarray(part.indices)), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", ["greedy", "omp-numba-gram", "omp-numpy"])
def test_callback_errors_propagate(name):
    run, _ = SOLVERS[name]

    def broken(step, index, objective):
        if step == 2:
            raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        run(callback=broken)
    run()  # nothing left installed


@pytest.mark.parametrize("name", ["greedy", "stochastic_greedy", "omp-numba-gram", "partitionsel"])
def test_bad_progress_arguments(name):
    run, _ = SOLVERS[name]
    with pytest.raises(TypeError, match="verbose: expected a bool"):
        run(verbose="yes")
    with pytest.raises(TypeError, match="callback: expected a callable"):
        run(callback=42)


def test_no_tqdm_import_when_off():
    """Off by default, and then tqdm is not even imported."""
    code = ("import sys, numpy as np, matroidomp as mo\n"
            "G = np.random.default_rng(0).standard_normal((30, 5))\n"
            "m = mo.PartitionMatroid.cardinality(30, 4)\n"
            "mo.omp(G, G[0], m); mo.greedy(mo.FeatureBased(np.abs(G)), m)\n"
            "mo.SieveStreaming(mo.FeatureBasedRows(5), 3).partial_fit(np.abs(G)).result()\n"
            "print('tqdm' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
