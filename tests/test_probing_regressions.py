"""Regressions from probing the public API with unusual input: each test failed before its fix."""

import numpy as np
import pytest

import matroidomp as mo
from matroidomp import CallableSetFunction, greedy
from matroidomp import QuadraticUtility

# ----------------------------------------------------------------------------- CallableSetFunction


def _returns_none(S):
    return None


def _returns_array(S):
    return np.ones(len(S))


def test_callable_returning_none_names_the_function():
    """Regression: float(None) raised a bare TypeError that did not say which function."""
    with pytest.raises(TypeError, match=r"fn '_returns_none' returned None for S = \[\]; expected a real number"):
        CallableSetFunction(_returns_none, 3)


def test_callable_returning_an_array_names_the_function_and_the_set():
    f = CallableSetFunction(lambda S: 0.0 if not S else np.ones(len(S)), 3)  # fine on the empty set
    with pytest.raises(TypeError, match=r"fn '<lambda>' returned ndarray of shape \(1,\) for S = \[0\]"):
        greedy(f, 2)
    with pytest.raises(TypeError, match=r"fn '_returns_array' returned ndarray of shape \(0,\) for S = \[\]"):
        CallableSetFunction(_returns_array, 3)


@pytest.mark.parametrize("bad", ["1.0", [1.0], 1 + 0j, np.complex128(2.0)])
def test_callable_returning_a_non_real_value_is_a_type_error(bad):
    with pytest.raises(TypeError, match="fn .* expected a real number"):
        CallableSetFunction(lambda S: bad, 2)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -np.inf, np.float32("nan")])
def test_callable_returning_nan_or_inf_names_the_function_and_the_set(bad):
    def utility(S):
        return bad if 1 in S else float(len(S))

    f = CallableSetFunction(utility, 3)
    state = f.new_state()
    state.add(0)
    with pytest.raises(ValueError, match=r"fn 'utility' returned .* for S = \[0, 1\]; a set function must be finite"):
        state.gains(np.array([2, 1]))
    with pytest.raises(ValueError, match=r"fn 'utility' returned .* for S = \[0, 1\]"):
        state.add(1)


def test_callable_may_return_numpy_and_torch_scalars():
    values = [np.float32(1.5), np.int64(2), np.array(0.25), True]
    for v in values:
        f = CallableSetFunction(lambda S, v=v: v if S else 0, 2)
        assert f([0]) == float(v)
    torch = pytest.importorskip("torch")
    f = CallableSetFunction(lambda S: torch.tensor(float(len(S))), 3)
    assert greedy(f, 2).objective == 2.0


# ----------------------------------------------------------------------------- conflicting_pairs


def test_conflicting_pairs_reads_indices_as_a_set():
    """Regression: a repeated index counted its conflicts twice."""
    G = np.array([[1.0, 0.0], [-1.0, 0.1], [0.0, 1.0]])
    assert mo.conflicting_pairs(G, [0, 1]) == 1
    assert mo.conflicting_pairs(G, [0, 1, 1]) == 1
    assert mo.conflicting_pairs(G, [1, 0, 1, 0, 2]) == mo.conflicting_pairs(G, [0, 1, 2]) == 1
    assert mo.conflicting_pairs(G, [1, 1]) == 0


# ----------------------------------------------------------------------------- labels at every caller


def test_every_label_entry_point_refuses_mixed_labels():
    """encode_labels serves matroids, budgets, domain_coverage and block-diagonal utilities."""
    mixed = [1, 1, "1", "1"]
    G = np.eye(4)
    calls = [
        lambda: mo.make_matroid(mixed, "proportional", 2),
        lambda: mo.equal_budgets(mixed, 2),
        lambda: mo.domain_coverage(mixed, [0]),
        lambda: QuadraticUtility.taylor(G, G[0], 0.1, domains=mixed),
    ]
    for call in calls:
        with pytest.raises(TypeError, match="entry 0 is int 1 but entry 2 is str '1'"):
            call()
    with pytest.raises(ValueError, match="entry 1 is None"):
        mo.domain_coverage(["a", None], [0])


def test_label_callers_keep_working_with_their_usual_inputs():
    torch = pytest.importorskip("torch")
    labels = ["math", "chem", "math", "code"]
    assert mo.domain_coverage(labels, [0, 1]) == {"chem": 1.0, "code": 0.0, "math": 0.5}
    assert mo.domain_coverage(torch.tensor([0, 1, 0, 2]), torch.tensor([0])) == {0: 0.5, 1: 0.0, 2: 0.0}
    G = np.random.default_rng(0).standard_normal((4, 3))
    for domains in (labels, np.array(labels), np.array(labels, dtype=object), torch.tensor([0, 1, 0, 2])):
        res = mo.partitionsel(G, domains, 2, anchors=G[0], lr=0.1, block_diagonal=True)
        assert sum(res.counts.values()) == 2
    from matroidomp import baselines

    u = mo.QuadraticUtility.taylor(G, G[0], 0.1)
    assert baselines.select("full", u, np.array(labels), 4).counts == {"chem": 1, "code": 1, "math": 2}
