"""SubsetSelector: the same selections as the solvers called directly, gains against independent numpy
references of the functions, scikit-learn's estimator conventions, input kinds, budgets, bad input."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_dont_overwrite_parameters,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

import matroidomp as mo

RNG = np.random.default_rng(42)
X_DENSE = RNG.random((60, 6))                                   # nonnegative: every function but coverage
X_BINARY = (RNG.random((60, 25)) < 0.15).astype(np.float64)     # 0/1 incidence for coverage
LABELS = np.array(["a"] * 30 + ["b"] * 20 + ["c"] * 10)


def _data(function):
    return X_BINARY if function == "coverage" else X_DENSE


def _direct_function(function, X):
    if function == "facility-location":
        return mo.FacilityLocation.from_features(X)
    if function == "feature-based":
        return mo.FeatureBased(X)
    return mo.Coverage(X.T)


# ----------------------------------------------------------------------------- numpy references
def _reference_value(function, X, S):
    """f(S) computed from its definition in numpy, independent of the package's kernels."""
    S = list(S)
    if not S:
        return 0.0
    if function == "facility-location":
        unit = X / np.linalg.norm(X, axis=1, keepdims=True)
        sim = (1 + unit @ unit.T) / 2
        return float(sim[:, S].max(axis=1).sum())
    if function == "feature-based":
        return float(np.sqrt(X[S].sum(axis=0)).sum())
    return float(X[S].any(axis=0).sum())


FUNCTIONS = ["facility-location", "feature-based", "coverage"]


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("optimizer", ["lazy", "naive", "stochastic"])
def test_same_selection_as_the_solver_called_directly(function, optimizer):
    X = _data(function)
    sel = mo.SubsetSelector(function, k=8, optimizer=optimizer, random_state=3, epsilon=0.2).fit(X)
    f = _direct_function(function, X)
    if optimizer == "stochastic":
        direct = mo.stochastic_greedy(f, 8, epsilon=0.2, seed=3)
    else:
        direct = mo.greedy(f, 8, lazy=optimizer == "lazy")
    assert sel.ranking_.tolist() == direct.indices.tolist()
    assert sel.ranking_.dtype == np.int64 and sel.gains_.dtype == np.float64
    np.testing.assert_array_equal(sel.gains_, direct.gains)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_gains_are_the_marginal_gains_of_the_function(function):
    X = _data(function)
    sel = mo.SubsetSelector(function, k=10).fit(X)
    values = [_reference_value(function, X, sel.ranking_[:t]) for t in range(11)]
    np.testing.assert_allclose(sel.gains_, np.diff(values), rtol=1e-9, atol=1e-9)
    assert sel.gains_.sum() == pytest.approx(_reference_value(function, X, sel.ranking_), rel=1e-12)
    # greedy takes the best gain each step: no single row beats the first pick
    best = max(_reference_value(function, X, [j]) for j in range(X.shape[0]))
    assert sel.gains_[0] == pytest.approx(best, rel=1e-12)
    assert np.all(np.diff(sel.gains_) <= 1e-12)  # submodular: greedy's gains never increase


SIMILARITY_FUNCTIONS = {"graph-cut": "GraphCut", "saturated-coverage": "SaturatedCoverage",
                        "sum-redundancy": "SumRedundancy", "log-determinant": "LogDeterminant"}


@pytest.mark.parametrize("function", sorted(SIMILARITY_FUNCTIONS))
@pytest.mark.parametrize("optimizer", ["lazy", "stochastic"])
def test_similarity_functions_select_what_their_class_selects(function, optimizer):
    X = RNG.standard_normal((50, 4))
    sel = mo.SubsetSelector(function, k=7, optimizer=optimizer, random_state=1).fit(X)
    f = getattr(mo, SIMILARITY_FUNCTIONS[function]).from_features(X, "cosine")
    direct = mo.stochastic_greedy(f, 7, seed=1) if optimizer == "stochastic" else mo.greedy(f, 7)
    assert sel.ranking_.tolist() == direct.indices.tolist()
    np.testing.assert_array_equal(sel.gains_, direct.gains)
    assert type(sel.function_).__name__ == SIMILARITY_FUNCTIONS[function]


def test_log_determinant_refuses_the_euclidean_metric():
    with pytest.raises(ValueError, match="only 'cosine'"):
        mo.SubsetSelector("log-determinant", k=3, metric="euclidean").fit(RNG.standard_normal((10, 3)))


def test_euclidean_metric_and_sparse_neighbours_reach_facility_location():
    sel = mo.SubsetSelector(k=5, metric="euclidean", n_neighbors=7).fit(X_DENSE)
    f = mo.FacilityLocation.from_features(X_DENSE, "euclidean", n_neighbors=7)
    assert sel.ranking_.tolist() == mo.greedy(f, 5).indices.tolist()


def test_subset_transform_and_fit_transform_are_the_ranked_rows():
    sel = mo.SubsetSelector(k=7)
    out = sel.fit_transform(X_DENSE)
    np.testing.assert_array_equal(out, X_DENSE[sel.ranking_])
    np.testing.assert_array_equal(sel.subset_, X_DENSE[sel.ranking_])
    np.testing.assert_array_equal(sel.transform(X_DENSE), out)
    aligned = np.arange(X_DENSE.size, dtype=float).reshape(X_DENSE.shape)  # same shape, other data
    np.testing.assert_array_equal(sel.transform(aligned), aligned[sel.ranking_])
    assert sel.n_features_in_ == 6 and len(sel.result_) == 7


# ----------------------------------------------------------------------------- input kinds
@pytest.mark.parametrize("function", FUNCTIONS)
def test_numpy_sparse_torch_and_list_inputs_select_the_same_rows(function):
    X = _data(function)
    expected = mo.SubsetSelector(function, k=6).fit(X).ranking_.tolist()
    for kind in (sp.csr_matrix(X), sp.coo_matrix(X), sp.csr_array(X), torch.from_numpy(X), X.tolist()):
        sel = mo.SubsetSelector(function, k=6).fit(kind)
        assert sel.ranking_.tolist() == expected, type(kind)
    sel = mo.SubsetSelector(function, k=6).fit(torch.from_numpy(X))
    assert isinstance(sel.subset_, torch.Tensor)
    torch.testing.assert_close(sel.transform(torch.from_numpy(X)), torch.from_numpy(X[expected]))
    sparse_rows = mo.SubsetSelector(function, k=6).fit_transform(sp.coo_matrix(X))
    assert sp.issparse(sparse_rows)
    np.testing.assert_array_equal(sparse_rows.toarray(), X[expected])


def test_float32_torch_matches_float32_numpy():
    X = X_DENSE.astype(np.float32)
    a = mo.SubsetSelector(k=6).fit(X).ranking_.tolist()
    assert mo.SubsetSelector(k=6).fit(torch.from_numpy(X)).ranking_.tolist() == a


# ----------------------------------------------------------------------------- constraints
def _domain_counts(ranking):
    return {d: int((LABELS[ranking] == d).sum()) for d in ("a", "b", "c")}


@pytest.mark.parametrize("optimizer", ["lazy", "naive", "stochastic"])
def test_mapping_budgets_with_labels_in_y(optimizer):
    budgets = {"a": 2, "b": 1, "c": 4}
    sel = mo.SubsetSelector(k=7, constraint=budgets, optimizer=optimizer, random_state=0).fit(X_DENSE, LABELS)
    assert _domain_counts(sel.ranking_) == budgets
    f, m = mo.FacilityLocation.from_features(X_DENSE), mo.PartitionMatroid(LABELS, budgets)
    direct = mo.stochastic_greedy(f, m, seed=0) if optimizer == "stochastic" else mo.greedy(f, m)
    assert sel.ranking_.tolist() == direct.indices.tolist()


def test_matroid_and_rule_constraints():
    m = mo.PartitionMatroid(LABELS, {"a": 0, "b": 3, "c": 2})
    sel = mo.SubsetSelector("feature-based", k=5, constraint=m).fit(X_DENSE)  # y not needed
    assert _domain_counts(sel.ranking_) == {"a": 0, "b": 3, "c": 2}
    sel = mo.SubsetSelector(k=6, constraint="proportional").fit(X_DENSE, list(LABELS))
    assert _domain_counts(sel.ranking_) == {"a": 3, "b": 2, "c": 1}
    codes = torch.tensor(np.unique(LABELS, return_inverse=True)[1])
    sel = mo.SubsetSelector(k=6, constraint="equal").fit(X_DENSE, codes)
    assert _domain_counts(sel.ranking_) == {"a": 2, "b": 2, "c": 2}


# ----------------------------------------------------------------------------- scikit-learn conventions
def test_clone_get_params_set_params_round_trip():
    m = mo.PartitionMatroid(LABELS, {"a": 1, "b": 1, "c": 1})
    sel = mo.SubsetSelector("feature-based", k=3, optimizer="stochastic", constraint=m, random_state=5, epsilon=0.3)
    params = sel.get_params()
    assert params == {"function": "feature-based", "k": 3, "optimizer": "stochastic", "constraint": m,
                      "metric": "cosine", "n_neighbors": None, "random_state": 5, "epsilon": 0.3,
                      "function_params": None, "initial_subset": None}
    twin = clone(sel.fit(X_DENSE))
    assert not hasattr(twin, "ranking_")
    assert twin.get_params()["k"] == 3 and twin.get_params()["constraint"] is not m
    assert twin.fit(X_DENSE).ranking_.tolist() == sel.ranking_.tolist()
    assert mo.SubsetSelector(**params).fit(X_DENSE).ranking_.tolist() == sel.ranking_.tolist()
    twin.set_params(k=2, constraint=None, function="coverage")
    assert twin.get_params()["k"] == 2 and len(twin.fit(X_BINARY).ranking_) == 2
    with pytest.raises(ValueError, match="Invalid parameter"):
        twin.set_params(n_samples=3)


@pytest.mark.parametrize("check", [check_no_attributes_set_in_init, check_parameters_default_constructible,
                                   check_get_params_invariance, check_set_params, check_dont_overwrite_parameters])
def test_sklearn_estimator_checks(check):
    check("SubsetSelector", mo.SubsetSelector(k=3))


def test_transform_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        mo.SubsetSelector().transform(X_DENSE)


def test_parameters_are_validated_in_fit_not_init():
    sel = mo.SubsetSelector(function="nope", k=-1, optimizer="nope", metric="nope")
    assert sel.k == -1
    with pytest.raises(ValueError, match="function"):
        sel.fit(X_DENSE)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("params, error, message", [
    ({"k": 0}, ValueError, r"k: expected an int >= 1, got 0"),
    ({"k": 61}, ValueError, r"k = 61 exceeds the number of rows of X \(60\)"),
    ({"k": 2.5}, TypeError, r"k: expected an int"),
    ({"k": True}, TypeError, r"k: expected an int"),
    ({"function": "graph_cut"}, ValueError, r"function: expected one of .*'graph_cut'"),
    ({"optimizer": "greedi"}, ValueError, r"optimizer: expected one of .*'greedi'"),
    ({"metric": "manhattan"}, ValueError, r"metric: expected one of .*'manhattan'"),
    ({"function": "feature-based", "n_neighbors": 5}, ValueError, r"n_neighbors: only function='facility-location'"),
    ({"random_state": np.random.RandomState(0)}, TypeError, r"random_state: expected None, an int"),
    ({"optimizer": "stochastic", "epsilon": 1.5}, ValueError, r"epsilon"),
    ({"constraint": list(LABELS)}, TypeError, r"constraint: expected None, a PartitionMatroid.*labels per row go in y"),
    ({"constraint": {"a": 1, "b": 1}}, ValueError, r"constraint: a \{domain: budget\} mapping needs .* pass the labels as y"),
    ({"constraint": "proportional"}, ValueError, r"constraint: the budget rule 'proportional' needs"),
    ({"constraint": mo.PartitionMatroid.cardinality(59, 10)}, ValueError, r"the matroid has 59 elements but X has 60 rows"),
    ({"k": 10, "constraint": mo.PartitionMatroid(LABELS, {"a": 1, "b": 1, "c": 1})}, ValueError,
     r"its budgets select 3 rows but k = 10; set k=3"),
])
def test_bad_parameters_raise_clear_errors(params, error, message):
    with pytest.raises(error, match=message):
        mo.SubsetSelector(**params).fit(X_DENSE)


def test_bad_labels_raise_clear_errors():
    with pytest.raises(ValueError, match=r"y: 59 labels for the 60 rows of X"):
        mo.SubsetSelector(k=2, constraint={"a": 1, "b": 1}).fit(X_DENSE, LABELS[:59])
    with pytest.raises(ValueError, match=r"y: expected one label per row of X, a 1-D array, got shape \(\)"):
        mo.SubsetSelector(k=2, constraint={"a": 1, "b": 1}).fit(X_DENSE, "a")
    with pytest.raises(ValueError, match=r"budgets: domain 'c' has budget 11 but only 10"):
        mo.SubsetSelector(k=12, constraint={"a": 1, "b": 0, "c": 11}).fit(X_DENSE, LABELS)
    with pytest.raises(ValueError, match=r"budgets: no budget given for domain\(s\) \['b'\]"):
        mo.SubsetSelector(k=2, constraint={"a": 1, "c": 1}).fit(X_DENSE, LABELS)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_nan_rows_are_named(function):
    X = _data(function).copy()
    X[[4, 9], 1] = np.nan
    for kind in (X, sp.csr_matrix(X), torch.from_numpy(X)):
        with pytest.raises(ValueError, match=r"X: 2 row\(s\) contain NaN or Inf, first is row 4"):
            mo.SubsetSelector(function, k=3).fit(kind)


def test_data_that_does_not_suit_the_function():
    with pytest.raises(ValueError, match=r"X: row 3 has a negative entry; function='feature-based' needs X >= 0"):
        mo.SubsetSelector("feature-based", k=2).fit(X_DENSE - (np.arange(60) == 3)[:, None])
    for kind in (X_DENSE, sp.csr_matrix(X_DENSE)):
        with pytest.raises(ValueError, match=r"X: function='coverage' reads X as a 0/1 incidence"):
            mo.SubsetSelector("coverage", k=2).fit(kind)
    with pytest.raises(ValueError, match=r"X: expected a 2-D array, got shape \(60,\)"):
        mo.SubsetSelector(k=2).fit(X_DENSE[:, 0])
    with pytest.raises(TypeError, match=r"X: expected a real numeric array"):
        mo.SubsetSelector(k=2).fit(np.array([["a", "b"], ["c", "d"]]))


def test_transform_checks_the_fitted_shape():
    sel = mo.SubsetSelector(k=3).fit(X_DENSE)
    with pytest.raises(ValueError, match=r"X has 5 features but the selector was fitted on 6"):
        sel.transform(X_DENSE[:, :5])
    with pytest.raises(ValueError, match=r"X has 59 rows but the selector was fitted on 60"):
        sel.transform(X_DENSE[:59])
    with pytest.raises(ValueError, match=r"X: expected a 2-D array, got shape \(60,\)"):
        sel.transform(X_DENSE[:, 0])


# ----------------------------------------------------------------------------- function_params
PARAM_RNG = np.random.default_rng(7)
X_SIGNED = PARAM_RNG.standard_normal((50, 4))
QUERY = X_SIGNED[[3, 17]] + 0.05 * PARAM_RNG.standard_normal((2, 4))   # two items near rows 3 and 17
PRIVATE = X_SIGNED[[5, 8, 40]]

X_SKEWED = np.exp(3 * X_SIGNED)                                          # >= 0, for feature based

#: function -> (function_params, metric, the class called directly with them, its data)
WITH_PARAMS = {
    "graph-cut": ({"lam": 0.0}, "cosine", lambda X, m, p: mo.GraphCut.from_features(X, m, **p), X_SIGNED),
    "saturated-coverage": ({"alpha": 0.3}, "cosine", lambda X, m, p: mo.SaturatedCoverage.from_features(X, m, **p),
                           X_SIGNED),
    "log-determinant": ({"regularization": 0.5}, "cosine",
                        lambda X, m, p: mo.LogDeterminant.from_features(X, m, **p), X_SIGNED),
    "feature-based": ({"concave": "log1p"}, "cosine", lambda X, m, p: mo.FeatureBased(X, **p), X_SKEWED),
    "facility-location-mutual-information": (
        {"query": QUERY, "eta": 2.0}, "euclidean",
        lambda X, m, p: mo.FacilityLocationMutualInformation.from_features(X, p["query"], m, eta=p["eta"]), X_SIGNED),
    "facility-location-conditional-gain": (
        {"private": PRIVATE, "nu": 2.0}, "cosine",
        lambda X, m, p: mo.FacilityLocationConditionalGain.from_features(X, p["private"], m, nu=p["nu"]), X_SIGNED),
    "graph-cut-mutual-information": (
        {"query": QUERY}, "cosine", lambda X, m, p: mo.GraphCutMutualInformation.from_features(X, p["query"], m),
        X_SIGNED),
}


@pytest.mark.parametrize("function", sorted(WITH_PARAMS))
def test_function_params_select_what_the_class_selects_with_them(function):
    params, metric, direct_function, X = WITH_PARAMS[function]
    sel = mo.SubsetSelector(function, k=6, metric=metric, function_params=params).fit(X)
    direct = mo.greedy(direct_function(X, metric, params), 6)
    assert sel.ranking_.tolist() == direct.indices.tolist()
    np.testing.assert_array_equal(sel.gains_, direct.gains)
    assert np.all(sel.gains_ > 0)  # a selection the function tells apart, not ties at zero
    items = {key: value for key, value in params.items() if key in ("query", "private")}
    if items != params:  # the values reached the class: its defaults select other rows
        defaults = mo.SubsetSelector(function, k=6, metric=metric, function_params=items).fit(X)
        assert defaults.ranking_.tolist() != sel.ranking_.tolist()
        for key, value in params.items():
            if key not in items:
                assert getattr(sel.function_, key) == value


@pytest.mark.parametrize("function, default, other", [
    ("graph-cut", {"lam": 0.5}, {"lam": 0.0}),
    ("saturated-coverage", {"alpha": 0.1}, {"alpha": 1.0}),
    ("facility-location-mutual-information", {"query": QUERY, "eta": 1.0}, {"query": QUERY, "eta": 2.0}),
    ("facility-location-conditional-gain", {"private": PRIVATE, "nu": 0.0}, {"private": PRIVATE, "nu": 1.0}),
    ("graph-cut-mutual-information", {"query": QUERY}, {"query": -QUERY}),
])
def test_function_params_change_the_selection(function, default, other):
    sel = mo.SubsetSelector(function, k=6)
    picked = sel.set_params(function_params=default).fit(X_SIGNED).ranking_.tolist()
    assert sel.set_params(function_params=other).fit(X_SIGNED).ranking_.tolist() != picked


def test_defaults_are_none_or_an_empty_dict():
    for function in ("graph-cut", "facility-location", "coverage", "sum-redundancy"):
        X = _data(function)
        expected = mo.SubsetSelector(function, k=5).fit(X).ranking_.tolist()
        assert mo.SubsetSelector(function, k=5, function_params={}).fit(X).ranking_.tolist() == expected
    lam = mo.SubsetSelector("graph-cut", k=5, function_params={"lam": 0.5}).fit(X_DENSE).ranking_.tolist()
    assert lam == mo.SubsetSelector("graph-cut", k=5).fit(X_DENSE).ranking_.tolist()


def test_query_items_as_torch_lists_and_sparse_select_the_same_rows():
    params = {"eta": 0.5}
    expected = mo.SubsetSelector("facility-location-mutual-information", k=5,
                                 function_params={"query": QUERY, **params}).fit(X_SIGNED).ranking_.tolist()
    assert expected == mo.greedy(mo.FacilityLocationMutualInformation.from_features(X_SIGNED, QUERY, eta=0.5),
                                 5).indices.tolist()
    for kind in (torch.from_numpy(QUERY), QUERY.tolist(), sp.csr_matrix(QUERY)):
        sel = mo.SubsetSelector("facility-location-mutual-information", k=5, function_params={"query": kind, **params})
        assert sel.fit(torch.from_numpy(X_SIGNED)).ranking_.tolist() == expected, type(kind)
    X32, Q32 = X_SIGNED.astype(np.float32), QUERY.astype(np.float32)
    sel = mo.SubsetSelector("graph-cut-mutual-information", k=5, function_params={"query": torch.from_numpy(Q32)})
    direct = mo.greedy(mo.GraphCutMutualInformation.from_features(X32, Q32), 5)
    assert sel.fit(torch.from_numpy(X32)).ranking_.tolist() == direct.indices.tolist()
    sel = mo.SubsetSelector("facility-location-conditional-gain", k=5,
                            function_params={"private": torch.from_numpy(PRIVATE), "nu": 1.5})
    direct = mo.greedy(mo.FacilityLocationConditionalGain.from_features(X_SIGNED, PRIVATE, nu=1.5), 5)
    assert sel.fit(X_SIGNED).ranking_.tolist() == direct.indices.tolist()


def test_clone_and_get_params_keep_function_params():
    params = {"query": QUERY.copy(), "eta": 0.3}
    sel = mo.SubsetSelector("facility-location-mutual-information", k=4, function_params=params)
    assert sel.get_params()["function_params"] is params
    twin = clone(sel)
    copied = twin.get_params()["function_params"]
    assert copied is not params and copied["query"] is not params["query"]
    assert copied.keys() == params.keys() and copied["eta"] == 0.3
    np.testing.assert_array_equal(copied["query"], params["query"])
    assert twin.fit(X_SIGNED).ranking_.tolist() == sel.fit(X_SIGNED).ranking_.tolist()
    assert mo.SubsetSelector(**sel.get_params()).fit(X_SIGNED).ranking_.tolist() == sel.ranking_.tolist()
    assert sel.function_params is params and params.keys() == {"query", "eta"}  # fit does not rewrite it
    twin.set_params(function="graph-cut", function_params={"lam": 0.0})
    assert twin.fit(X_SIGNED).function_.lam == 0.0


def test_function_params_are_validated_in_fit_not_init():
    sel = mo.SubsetSelector("graph-cut", function_params=["lam", 1])
    assert sel.function_params == ["lam", 1]
    with pytest.raises(TypeError, match="function_params"):
        sel.fit(X_DENSE)


@pytest.mark.parametrize("function, params, error, message", [
    ("graph-cut", ["lam", 0.1], TypeError,
     r"function_params: expected None or a dict of keyword arguments for function='graph-cut', got list"),
    ("graph-cut", "lam=0.1", TypeError, r"function_params: expected None or a dict .* got str"),
    ("graph-cut", {"alpha": 0.1}, ValueError, r"function_params: function='graph-cut' takes no key 'alpha'; "
                                              r"its keys: 'lam'$"),
    ("facility-location-mutual-information", {"query": QUERY, "nu": 1.0}, ValueError,
     r"takes no key 'nu'; its keys: 'query', 'eta'$"),
    ("facility-location", {"n_neighbors": 5}, ValueError,
     r"function='facility-location' takes no key 'n_neighbors'; its keys: none"),
    ("coverage", {"weights": None}, ValueError, r"function='coverage' takes no key 'weights'; its keys: none"),
    ("facility-location-mutual-information", None, ValueError,
     r"function_params: 'facility-location-mutual-information' needs a 'query' array .*; got none"),
    ("facility-location-mutual-information", {"eta": 2.0}, ValueError, r"needs a 'query' array"),
    ("graph-cut-mutual-information", {}, ValueError, r"'graph-cut-mutual-information' needs a 'query' array"),
    ("facility-location-conditional-gain", {"nu": 1.0}, ValueError,
     r"'facility-location-conditional-gain' needs a 'private' array"),
    ("facility-location-mutual-information", {"query": QUERY[:0]}, ValueError,
     r"needs a 'query' array \(the query items, at least one, .*; got one with no rows"),
    ("graph-cut-mutual-information", {"query": []}, ValueError, r"got one with no rows"),
    # values: the function's class names them
    ("graph-cut", {"lam": -1.0}, ValueError, r"lam: expected a finite number >= 0, got -1.0"),
    ("graph-cut", {"lam": "big"}, TypeError, r"lam: expected a real number, got str"),
    ("saturated-coverage", {"alpha": 0}, ValueError, r"alpha: expected a finite number > 0"),
    ("log-determinant", {"regularization": 0.0}, ValueError, r"regularization: expected a finite number > 0"),
    ("feature-based", {"concave": "log"}, ValueError, r"concave: expected one of \['log1p', 'sqrt'\], got 'log'"),
    ("facility-location-mutual-information", {"query": QUERY, "eta": 0.0}, ValueError, r"eta: expected a finite"),
    ("facility-location-conditional-gain", {"private": PRIVATE, "nu": -1.0}, ValueError, r"nu: expected a finite"),
    ("facility-location-mutual-information", {"query": QUERY[:, :3]}, ValueError,
     r"query: expected rows of width 4 \(the width of X"),
    ("graph-cut-mutual-information", {"query": QUERY[0]}, ValueError, r"query: expected a 2-D array"),
    ("facility-location-conditional-gain", {"private": [[np.nan] * 4]}, ValueError, r"private: .*(NaN|finite)"),
])
def test_bad_function_params_raise_clear_errors(function, params, error, message):
    X = X_DENSE[:, :4] if function == "feature-based" else X_SIGNED
    with pytest.raises(error, match=message):
        mo.SubsetSelector(function, k=3, function_params=params).fit(X)


def test_a_private_set_may_be_empty():
    sel = mo.SubsetSelector("facility-location-conditional-gain", k=5, function_params={"private": PRIVATE[:0]})
    plain = mo.greedy(mo.FacilityLocation.from_features(X_SIGNED), 5)  # FLCG with P empty is facility location
    assert sel.fit(X_SIGNED).ranking_.tolist() == plain.indices.tolist()


# ----------------------------------------------------------------------------- the optional dependency
def test_importing_matroidomp_does_not_import_sklearn():
    code = "import sys, matroidomp; assert 'sklearn' not in sys.modules; matroidomp.SubsetSelector; " \
           "assert 'sklearn' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_sklearn_is_a_clear_import_error(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a))
    with pytest.raises(ImportError, match=r"SubsetSelector needs scikit-learn: pip install 'matroidomp\[sklearn\]'"):
        mo.__getattr__("SubsetSelector")
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        mo.nothing


# ----------------------------------------------------------------------------- against apricot
@pytest.mark.parametrize("function, optimizer", [("facility-location", "lazy"), ("facility-location", "naive"),
                                                 ("feature-based", "lazy"), ("feature-based", "naive")])
def test_same_ranking_and_gains_as_apricot(function, optimizer):
    apricot = pytest.importorskip("apricot", reason="apricot-select (extras bench and dev) is the reference")
    if function == "facility-location":  # apricot's 'euclidean' is our conversion; its 'cosine' is not
        theirs = apricot.FacilityLocationSelection(12, metric="euclidean", optimizer=optimizer)
        ours = mo.SubsetSelector(k=12, metric="euclidean", optimizer=optimizer)
    else:
        theirs = apricot.FeatureBasedSelection(12, concave_func="sqrt", optimizer=optimizer)
        ours = mo.SubsetSelector("feature-based", k=12, optimizer=optimizer)
    theirs.fit(X_DENSE)
    ours.fit(X_DENSE)
    assert ours.ranking_.tolist() == np.asarray(theirs.ranking).tolist()
    np.testing.assert_allclose(ours.gains_, theirs.gains, rtol=1e-9)


# ----------------------------------------------------------------------------- initial_subset
INITIAL = [5, 17, 33]


@pytest.mark.parametrize("optimizer", ["lazy", "naive", "stochastic"])
def test_initial_subset_is_greedys_initial_and_only_new_rows_are_ranked(optimizer):
    sel = mo.SubsetSelector(k=8, optimizer=optimizer, random_state=2, initial_subset=INITIAL).fit(X_DENSE)
    f = mo.FacilityLocation.from_features(X_DENSE)
    if optimizer == "stochastic":
        direct = mo.stochastic_greedy(f, 11, seed=2, initial=INITIAL)
    else:
        direct = mo.greedy(f, 11, lazy=optimizer == "lazy", initial=INITIAL)
    assert direct.indices[:3].tolist() == INITIAL
    assert sel.result_.indices.tolist() == direct.indices.tolist()   # the whole selection, initial first
    assert sel.ranking_.tolist() == direct.indices[3:].tolist()      # k = 8 new rows
    assert sel.ranking_.dtype == np.int64 and not set(INITIAL) & set(sel.ranking_.tolist())
    np.testing.assert_array_equal(sel.gains_, direct.gains[3:])
    # gains are relative to the initial rows: they add up to f(all) - f(initial)
    assert sel.gains_.sum() == pytest.approx(f(direct.indices) - f(INITIAL), rel=1e-12)
    np.testing.assert_array_equal(sel.subset_, X_DENSE[sel.ranking_])
    np.testing.assert_array_equal(sel.transform(X_DENSE), X_DENSE[sel.ranking_])
    plain = mo.SubsetSelector(k=8, optimizer=optimizer, random_state=2).fit(X_DENSE)
    assert plain.ranking_.tolist() != sel.ranking_.tolist()  # the initial rows changed the picks


def test_initial_subset_kinds_and_empty():
    expected = mo.SubsetSelector(k=4, initial_subset=INITIAL).fit(X_DENSE).ranking_.tolist()
    for kind in (np.array(INITIAL, dtype=np.int32), tuple(INITIAL), torch.tensor(INITIAL)):
        assert mo.SubsetSelector(k=4, initial_subset=kind).fit(X_DENSE).ranking_.tolist() == expected, type(kind)
    plain = mo.SubsetSelector(k=4).fit(X_DENSE).ranking_.tolist()
    assert mo.SubsetSelector(k=4, initial_subset=[]).fit(X_DENSE).ranking_.tolist() == plain


@pytest.mark.parametrize("function, optimizer", [("facility-location", "lazy"), ("facility-location", "naive"),
                                                 ("feature-based", "lazy"), ("feature-based", "naive")])
def test_initial_subset_same_ranking_and_gains_as_apricot(function, optimizer):
    apricot = pytest.importorskip("apricot", reason="apricot-select (extras bench and dev) is the reference")
    if function == "facility-location":
        theirs = apricot.FacilityLocationSelection(8, metric="euclidean", optimizer=optimizer,
                                                   initial_subset=INITIAL)
        ours = mo.SubsetSelector(k=8, metric="euclidean", optimizer=optimizer, initial_subset=INITIAL)
    else:
        theirs = apricot.FeatureBasedSelection(8, concave_func="sqrt", optimizer=optimizer, initial_subset=INITIAL)
        ours = mo.SubsetSelector("feature-based", k=8, optimizer=optimizer, initial_subset=INITIAL)
    theirs.fit(X_DENSE)
    ours.fit(X_DENSE)
    assert ours.ranking_.tolist() == np.asarray(theirs.ranking).tolist()
    np.testing.assert_allclose(ours.gains_, theirs.gains, rtol=1e-9)


@pytest.mark.parametrize("optimizer", ["lazy", "stochastic"])
def test_initial_rows_count_against_their_domains_budgets(optimizer):
    budgets = {"a": 2, "b": 1, "c": 4}                  # 7 rows in all; rows 0 and 1 are two of domain 'a'
    sel = mo.SubsetSelector(k=5, constraint=budgets, initial_subset=[0, 1], optimizer=optimizer,
                            random_state=0).fit(X_DENSE, LABELS)
    assert sel.result_.counts == budgets and _domain_counts(sel.ranking_) == {"a": 0, "b": 1, "c": 4}
    f, m = mo.FacilityLocation.from_features(X_DENSE), mo.PartitionMatroid(LABELS, budgets)
    direct = (mo.stochastic_greedy(f, m, seed=0, initial=[0, 1]) if optimizer == "stochastic"
              else mo.greedy(f, m, initial=[0, 1]))
    assert sel.ranking_.tolist() == direct.indices[2:].tolist()
    # a budget rule splits k + len(initial_subset) = 6 rows over the domains
    sel = mo.SubsetSelector(k=4, constraint="proportional", initial_subset=[0, 1]).fit(X_DENSE, LABELS)
    assert sel.result_.counts == {"a": 3, "b": 2, "c": 1} and _domain_counts(sel.ranking_) == {"a": 1, "b": 2, "c": 1}
    direct = mo.greedy(f, mo.make_matroid(LABELS, "proportional", 6), initial=[0, 1])
    assert sel.ranking_.tolist() == direct.indices[2:].tolist()


@pytest.mark.parametrize("params, error, message", [
    ({"initial_subset": [3, 60]}, ValueError, r"^initial_subset: index 60 is out of range for the 60 rows of X"),
    ({"initial_subset": [-1]}, ValueError, r"^initial_subset: index -1 is out of range"),
    ({"initial_subset": [4, 9, 4]}, ValueError, r"^initial_subset: index 4 appears more than once"),
    ({"initial_subset": [1.0, 2.0]}, TypeError, r"^initial_subset: expected integer indices, got dtype float64"),
    ({"initial_subset": np.arange(60) < 3}, TypeError, r"^initial_subset: .*boolean mask; pass np.flatnonzero"),
    ({"initial_subset": X_DENSE[:3]}, ValueError,
     r"^initial_subset: expected row indices of X .* shape \(3, 6\); apricot's initial subset of examples given as a "
     r"feature matrix is not supported"),
    ({"k": 58, "initial_subset": INITIAL}, ValueError,
     r"^initial_subset: k \+ len\(initial_subset\) = 58 \+ 3 = 61 exceeds the number of rows of X \(60\)"),
    ({"k": 7, "initial_subset": [0, 1], "constraint": mo.PartitionMatroid(LABELS, {"a": 2, "b": 1, "c": 4})},
     ValueError, r"its budgets select 7 rows, the 2 of initial_subset included, but k \+ len\(initial_subset\) = 9; "
                 r"set k=5"),
    ({"k": 1, "initial_subset": [0, 1, 2], "constraint": mo.PartitionMatroid(LABELS, {"a": 1, "b": 1, "c": 1})},
     ValueError, r"its budgets select 3 rows, which the 3 rows of initial_subset already fill"),
    ({"k": 1, "initial_subset": [0, 1], "constraint": mo.PartitionMatroid(LABELS, {"a": 1, "b": 1, "c": 1})},
     ValueError, r"^initial_subset: 2 elements of domain 'a' exceed its budget of 1; the initial set is infeasible"),
])
def test_bad_initial_subset_raises_clear_errors(params, error, message):
    with pytest.raises(error, match=message):
        mo.SubsetSelector(**params).fit(X_DENSE)


def test_initial_subset_is_kept_as_given_and_cloned():
    initial = [0, 1]
    sel = mo.SubsetSelector(k=3, initial_subset=initial)
    assert sel.get_params()["initial_subset"] is initial
    twin = clone(sel)
    assert twin.initial_subset == initial and twin.initial_subset is not initial
    assert twin.fit(X_DENSE).ranking_.tolist() == sel.fit(X_DENSE).ranking_.tolist()
    assert sel.initial_subset is initial and initial == [0, 1]  # fit does not rewrite it
    assert mo.SubsetSelector(**sel.get_params()).fit(X_DENSE).ranking_.tolist() == sel.ranking_.tolist()
    assert mo.SubsetSelector(k=3, initial_subset=[[0.5]] * 2).initial_subset == [[0.5]] * 2  # checked in fit only


# ----------------------------------------------------------------------------- sample_cost (knapsack)
COSTS = np.random.default_rng(1).uniform(0.5, 3.0, 60)


@pytest.mark.parametrize("function", ["facility-location", "feature-based"])
@pytest.mark.parametrize("optimizer", ["lazy", "naive"])
@pytest.mark.parametrize("budget", [6, 4.5])
def test_sample_cost_is_greedys_knapsack_with_k_the_budget(function, optimizer, budget):
    sel = mo.SubsetSelector(function, k=budget, optimizer=optimizer).fit(X_DENSE, sample_cost=COSTS)
    direct = mo.greedy(_direct_function(function, X_DENSE), costs=COSTS, budget=budget, lazy=optimizer == "lazy")
    assert sel.ranking_.tolist() == direct.indices.tolist() and sel.ranking_.dtype == np.int64
    np.testing.assert_array_equal(sel.gains_, direct.gains)
    assert COSTS[sel.ranking_].sum() <= budget and sel.result_.info["cost"] == pytest.approx(COSTS[sel.ranking_].sum())
    np.testing.assert_array_equal(sel.transform(X_DENSE), X_DENSE[sel.ranking_])
    np.testing.assert_array_equal(sel.subset_, X_DENSE[sel.ranking_])
    unit = mo.SubsetSelector(function, k=int(budget), optimizer=optimizer).fit(X_DENSE)
    assert sel.ranking_.tolist() != unit.ranking_[:len(sel.ranking_)].tolist()  # the costs changed the picks


def test_sample_cost_kinds_and_fit_transform():
    expected = mo.SubsetSelector(k=5).fit(X_DENSE, sample_cost=COSTS).ranking_.tolist()
    for kind in (COSTS.tolist(), torch.from_numpy(COSTS), COSTS.astype(np.float32).astype(np.float64)):
        assert mo.SubsetSelector(k=5).fit(X_DENSE, sample_cost=kind).ranking_.tolist() == expected, type(kind)
    out = mo.SubsetSelector(k=5).fit_transform(X_DENSE, sample_cost=COSTS)
    np.testing.assert_array_equal(out, X_DENSE[expected])
    sel = mo.SubsetSelector(k=5).fit(X_DENSE, sample_cost=np.ones(60))  # unit costs: k rows, plain greedy
    assert sel.ranking_.tolist() == mo.SubsetSelector(k=5).fit(X_DENSE).ranking_.tolist()


@pytest.mark.parametrize("function, optimizer", [("facility-location", "lazy"), ("facility-location", "naive"),
                                                 ("feature-based", "lazy"), ("feature-based", "naive")])
def test_sample_cost_same_ranking_and_gains_as_apricot_when_the_cost_benefit_path_wins(function, optimizer):
    """apricot's knapsack (``fit(X, sample_cost=c)``, budget ``n_samples``) is cost-benefit greedy alone: it
    adds the affordable row of largest gain / cost until none fits, with no best-single-row step. Ours
    returns the better of that path and the best affordable row (which is what gives ½(1 - 1/e) OPT), so
    the two agree exactly when the path wins (``info['picked'] == 'cost_benefit'``), as it does here."""
    apricot = pytest.importorskip("apricot", reason="apricot-select (extras bench and dev) is the reference")
    if function == "facility-location":
        theirs = apricot.FacilityLocationSelection(6, metric="euclidean", optimizer=optimizer)
        ours = mo.SubsetSelector(k=6, metric="euclidean", optimizer=optimizer)
    else:
        theirs = apricot.FeatureBasedSelection(6, concave_func="sqrt", optimizer=optimizer)
        ours = mo.SubsetSelector("feature-based", k=6, optimizer=optimizer)
    theirs.fit(X_DENSE, sample_cost=COSTS)
    ours.fit(X_DENSE, sample_cost=COSTS)
    assert ours.result_.info["picked"] == "cost_benefit"
    assert ours.ranking_.tolist() == np.asarray(theirs.ranking).tolist()
    np.testing.assert_allclose(ours.gains_, theirs.gains, rtol=1e-9)


def test_sample_cost_best_single_row_beats_apricots_path():
    """Where one expensive row is worth more than the whole cost-benefit path, apricot (no best-single-row
    step) keeps the path and ours returns that row: the selections differ, ours with the larger f."""
    apricot = pytest.importorskip("apricot", reason="apricot-select (extras bench and dev) is the reference")
    X = np.full((12, 3), 0.1)
    X[0] = 9.0                                            # f({0}) = 9, ratio 9 / 10 = 0.9
    cost = np.ones(12)
    cost[0] = 10.0                                        # cheap rows: ratio sqrt(0.1) * 3 = 0.95 > 0.9
    theirs = apricot.FeatureBasedSelection(10, concave_func="sqrt", optimizer="naive").fit(X, sample_cost=cost)
    ours = mo.SubsetSelector("feature-based", k=10, optimizer="naive").fit(X, sample_cost=cost)
    assert np.asarray(theirs.ranking).tolist() == list(range(1, 11))  # the path: f = 3
    assert ours.ranking_.tolist() == [0] and ours.result_.info["picked"] == "singleton"
    assert ours.result_.objective == pytest.approx(9.0) and np.sum(theirs.gains) == pytest.approx(3.0)


@pytest.mark.parametrize("params, cost, error, message", [
    ({"optimizer": "stochastic"}, COSTS, ValueError, r"^sample_cost: optimizer='stochastic' has no knapsack version"),
    ({"constraint": {"a": 1, "b": 1, "c": 1}, "k": 3}, COSTS, ValueError,
     r"^sample_cost: not combinable with a constraint; .* no bound is claimed"),
    ({"initial_subset": [0]}, COSTS, ValueError, r"^sample_cost: not combinable with initial_subset; .*starts empty"),
    ({"k": 0}, COSTS, ValueError, r"^k: with sample_cost, k is the knapsack budget .* > 0, got 0"),
    ({"k": float("inf")}, COSTS, ValueError, r"^k: with sample_cost, k is the knapsack budget"),
    ({"k": "5"}, COSTS, TypeError,
     r"^k: with sample_cost, k is the knapsack budget \(in cost units\): expected a number"),
    ({"k": True}, COSTS, TypeError, r"^k: with sample_cost"),
    ({"k": 5}, COSTS[:59], ValueError,
     r"^sample_cost: expected one cost per row of X, shape \(60,\), got shape \(59,\)"),
    ({"k": 5}, np.where(np.arange(60) == 7, 0.0, 1.0), ValueError,
     r"^sample_cost: the cost of row 7 is 0.0; costs must be finite and > 0"),
    ({"k": 5}, np.where(np.arange(60) == 2, np.nan, 1.0), ValueError, r"^sample_cost: the cost of row 2 is nan"),
    ({"k": 5}, ["a"] * 60, TypeError, r"^sample_cost: expected real numbers"),
    ({"k": 2.5}, None, TypeError, r"^k: expected an int, got 2.5"),  # a float k only with sample_cost
])
def test_bad_sample_cost_raises_clear_errors(params, cost, error, message):
    with pytest.raises(error, match=message):
        mo.SubsetSelector(**params).fit(X_DENSE, sample_cost=cost)
