"""A scikit-learn style estimator over the submodular toolkit: ``SubsetSelector(...).fit(X).ranking_``.

:class:`SubsetSelector` builds a set function from the rows of ``X`` (facility location, feature
based, coverage, graph cut, saturated coverage, sum redundancy, log-determinant, or a targeted
function of a query or private set), with the function's own parameters from ``function_params``,
maximises it with greedy, lazy greedy or stochastic greedy under |S| <= k or a partition matroid
(optionally from rows already selected, ``initial_subset``) or with cost-benefit greedy under a
knapsack (``fit(X, sample_cost=c)``), and keeps the selection in apricot's terms (``ranking_``,
``gains_``, ``subset_``). It needs scikit-learn (extra ``sklearn``, also in ``dev`` and ``bench``)
for :class:`sklearn.base.BaseEstimator` (``get_params``/``set_params``/``clone``) and
:class:`sklearn.exceptions.NotFittedError`; ``matroidomp.SubsetSelector`` imports this module on
first use, so the rest of the package does not need scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ._array import detect, is_array, to_host
from ._greedy import greedy, stochastic_greedy
from ._matroid import PartitionMatroid, check_initial, make_matroid
from ._logdet import LogDeterminant
from ._pairwise import GraphCut, SaturatedCoverage, SumRedundancy
from ._submodular import Coverage, FacilityLocation, FeatureBased
from ._targeted import FacilityLocationConditionalGain, FacilityLocationMutualInformation, GraphCutMutualInformation
from ._validation import as_float_array

#: The optimizers by name: lazy and naive greedy, stochastic greedy.
_OPTIMIZERS = ("lazy", "naive", "stochastic")
_METRICS = ("cosine", "euclidean")


def _facility_location(X: np.ndarray, est: "SubsetSelector"):
    return FacilityLocation.from_features(X, est.metric, est.n_neighbors, seed=est.random_state)


def _feature_based(X: np.ndarray, est: "SubsetSelector", **params):
    if X.size and X.min() < 0:
        i = int(np.flatnonzero((X < 0).any(axis=1))[0])
        raise ValueError(f"X: row {i} has a negative entry; function='feature-based' needs X >= 0")
    return FeatureBased(X, **params)


def _coverage(X, est: "SubsetSelector"):
    values = X.data if sp.issparse(X) else X
    bad = np.flatnonzero((values != 0) & (values != 1))
    if bad.size:
        raise ValueError(
            "X: function='coverage' reads X as a 0/1 incidence (X[j, u] = 1: row j covers feature u), "
            f"but it holds the value {values.flat[bad[0]]!r}"
        )
    return Coverage(X.T)


def _from_features(cls):
    """Builder of ``cls.from_features(X, metric=metric, **function_params)``."""
    def build(X: np.ndarray, est: "SubsetSelector", **params):
        return cls.from_features(X, metric=est.metric, **params)
    return build


class _Function(NamedTuple):
    """How ``fit`` builds one function: ``build(X, estimator, **function_params) -> SetFunction``,
    whether it reads a scipy.sparse X as is (the others get X densified), the ``function_params``
    keys it accepts and those it requires."""

    build: Callable
    keeps_sparse: bool = False
    keys: tuple = ()
    required: tuple = ()


#: The ``function_params`` keys that hold items in the feature space of X, one per row (brought to
#: the host as X is): what they are, and whether their function needs at least one row.
_ITEM_KEYS = {"query": ("the query items, at least one", True), "private": ("the private items, possibly none", False)}

_FUNCTIONS = {
    "facility-location": _Function(_facility_location),
    "feature-based": _Function(_feature_based, keys=("concave",)),
    "coverage": _Function(_coverage, keeps_sparse=True),
    "graph-cut": _Function(_from_features(GraphCut), keys=("lam",)),
    "saturated-coverage": _Function(_from_features(SaturatedCoverage), keys=("alpha",)),
    "sum-redundancy": _Function(_from_features(SumRedundancy)),
    "log-determinant": _Function(_from_features(LogDeterminant), keys=("regularization",)),
    "facility-location-mutual-information": _Function(
        _from_features(FacilityLocationMutualInformation), keys=("query", "eta"), required=("query",)),
    "facility-location-conditional-gain": _Function(
        _from_features(FacilityLocationConditionalGain), keys=("private", "nu"), required=("private",)),
    "graph-cut-mutual-information": _Function(
        _from_features(GraphCutMutualInformation), keys=("query",), required=("query",)),
}


def _host_items(value):
    """Items in the feature space of X on the host as X is read: torch/cupy via :func:`to_host`,
    scipy.sparse densified; anything else as given (the function's class validates it)."""
    if sp.issparse(value):
        return value.toarray()
    return to_host(value) if is_array(value) else value


def _function_params(function: str, params) -> dict:
    """``function_params`` checked against the keys ``function`` accepts and requires, items on the host."""
    spec = _FUNCTIONS[function]
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise TypeError(
            f"function_params: expected None or a dict of keyword arguments for function={function!r}, "
            f"got {type(params).__name__}"
        )
    accepted = ", ".join(repr(key) for key in spec.keys) or "none (pass None or {})"
    for key in params:
        if key not in spec.keys:
            raise ValueError(f"function_params: function={function!r} takes no key {key!r}; its keys: {accepted}")
    params = {key: _host_items(value) if key in _ITEM_KEYS else value for key, value in params.items()}
    for key in spec.required:
        what, nonempty = _ITEM_KEYS[key]
        if key not in params or (nonempty and _no_rows(params[key])):
            raise ValueError(
                f"function_params: {function!r} needs a {key!r} array ({what}, one per row in the feature "
                f"space of X): function_params={{{key!r}: ...}}; "
                + ("got none" if key not in params else "got one with no rows")
            )
    return params


def _no_rows(value) -> bool:
    """Whether ``value`` is an array or a list with no rows (other values are left to the function's checks)."""
    shape = getattr(value, "shape", None)
    if shape is not None:
        return len(shape) > 0 and shape[0] == 0
    return isinstance(value, (list, tuple)) and len(value) == 0


def _host_matrix(X, keep_sparse: bool):
    """X as a finite 2-D float numpy array, or a finite CSR matrix when ``keep_sparse``.

    torch and cupy arrays come to the host with :func:`matroidomp._array.to_host` (a CPU tensor
    is read in place); a scipy.sparse X is densified unless ``keep_sparse``.
    """
    if sp.issparse(X):
        if X.ndim != 2:
            raise ValueError(f"X: expected a 2-D matrix, got shape {X.shape}")
        if X.dtype.kind not in "fiub":
            raise TypeError(f"X: expected a real numeric sparse matrix, got dtype {X.dtype}")
        if not keep_sparse:
            return as_float_array(X.toarray(), "X", 2)
        A = sp.csr_matrix(X, dtype=np.float64)
        A.sum_duplicates()
        bad = np.flatnonzero(~np.isfinite(A.data))
        if bad.size:
            rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))[bad]
            raise ValueError(f"X: {np.unique(rows).size} row(s) contain NaN or Inf, first is row {int(rows[0])}")
        return A
    return as_float_array(to_host(X) if is_array(X) else X, "X", 2)


def _rows(X, indices: np.ndarray):
    """``X[indices]`` in X's own kind: numpy, scipy.sparse (CSR), or a torch/cupy array on its device."""
    if sp.issparse(X):
        return X.tocsr()[indices]
    if is_array(X):
        return X[detect(X=X).asarray(indices, "int64")]
    return np.asarray(X)[indices]


def _check_k(k, n: int) -> int:
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k: expected an int, got {k!r}")
    if k < 1:
        raise ValueError(f"k: expected an int >= 1, got {k}")
    if k > n:
        raise ValueError(f"k = {k} exceeds the number of rows of X ({n})")
    return int(k)


def _check_budget(k) -> float:
    """``k`` read as the knapsack budget B of ``fit(X, sample_cost=...)``: a finite number > 0."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, float, np.integer, np.floating)):
        raise TypeError(f"k: with sample_cost, k is the knapsack budget (in cost units): expected a number, got {k!r}")
    if not (np.isfinite(k) and k > 0):
        raise ValueError(f"k: with sample_cost, k is the knapsack budget (in cost units): expected a finite "
                         f"number > 0, got {k!r}")
    return float(k)


def _sample_cost(sample_cost, n: int) -> np.ndarray:
    """``sample_cost`` as float64 on the host: one finite cost > 0 per row of X."""
    c = to_host(sample_cost) if is_array(sample_cost) else np.asarray(sample_cost)
    if c.dtype == np.bool_ or not (np.issubdtype(c.dtype, np.integer) or np.issubdtype(c.dtype, np.floating)):
        raise TypeError(f"sample_cost: expected real numbers, got dtype {c.dtype}")
    if c.shape != (n,):
        raise ValueError(f"sample_cost: expected one cost per row of X, shape ({n},), got shape {c.shape}")
    c = c.astype(np.float64)
    bad = np.flatnonzero(~(np.isfinite(c) & (c > 0)))
    if bad.size:
        raise ValueError(f"sample_cost: the cost of row {int(bad[0])} is {c[bad[0]]}; costs must be finite and > 0")
    return c


def _knapsack_refusals(est: "SubsetSelector") -> None:
    """The options greedy does not combine with a knapsack, refused by name."""
    if est.optimizer == "stochastic":
        raise ValueError("sample_cost: optimizer='stochastic' has no knapsack version here; use 'lazy' or 'naive' "
                         "(cost-benefit greedy)")
    if est.constraint is not None:
        raise ValueError(
            "sample_cost: not combinable with a constraint; cost-benefit greedy's 1/2 (1 - 1/e) OPT is proven for a "
            "knapsack alone, and no bound is claimed for a partition matroid and a knapsack together")
    if est.initial_subset is not None:
        raise ValueError(
            "sample_cost: not combinable with initial_subset; the guarantee compares the cost-benefit path with "
            "the best single row, which assumes the selection starts empty")


def _initial_rows(initial_subset, matroid: PartitionMatroid) -> np.ndarray:
    """``initial_subset`` as int64 row indices, checked by :func:`greedy`'s own rules against ``matroid``
    (1-D integers, in range, no repeats, within every budget), its errors naming ``initial_subset``."""
    if initial_subset is None:
        return np.zeros(0, dtype=np.int64)
    idx = to_host(initial_subset) if is_array(initial_subset) else np.asarray(initial_subset)
    if idx.ndim == 2:
        raise ValueError(
            f"initial_subset: expected row indices of X (a 1-D array of ints), got a 2-D array of shape {idx.shape}; "
            "apricot's initial subset of examples given as a feature matrix is not supported: pass the indices "
            "of those rows in X")
    if idx.dtype == np.bool_:
        raise TypeError("initial_subset: expected row indices of X, got a boolean mask; pass np.flatnonzero(mask)")
    try:
        return check_initial(idx, matroid)
    except (TypeError, ValueError) as err:
        message = str(err).removeprefix("initial").replace(f"a ground set of {matroid.n} elements",
                                                           f"the {matroid.n} rows of X")
        raise type(err)("initial_subset" + message) from None


def _labels(y, n: int, what: str):
    if y is None:
        raise ValueError(f"constraint: {what} needs the domain of every row: pass the labels as y, fit(X, y)")
    labels = to_host(y) if is_array(y) else np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(f"y: expected one label per row of X, a 1-D array, got shape {labels.shape}")
    if labels.shape[0] != n:
        raise ValueError(f"y: {labels.shape[0]} labels for the {n} rows of X")
    return labels


def _matroid(constraint, y, k: int, n: int, m: int = 0) -> PartitionMatroid:
    """The partition matroid of ``constraint`` (see :class:`SubsetSelector`) for k new rows after m
    initial ones: its rank must be k + m, the initial rows counting against their domains' budgets."""
    total = k + m
    if constraint is None:
        return PartitionMatroid.cardinality(n, total)
    if isinstance(constraint, PartitionMatroid):
        if constraint.n != n:
            raise ValueError(f"constraint: the matroid has {constraint.n} elements but X has {n} rows")
        matroid = constraint
    elif isinstance(constraint, Mapping):
        matroid = PartitionMatroid(_labels(y, n, "a {domain: budget} mapping"), dict(constraint))
    elif isinstance(constraint, str):
        matroid = make_matroid(_labels(y, n, f"the budget rule {constraint!r}"), constraint, total)
    else:
        raise TypeError(
            "constraint: expected None, a PartitionMatroid, a {domain: budget} mapping or a budget rule "
            f"name ('proportional', 'proportional-authors', 'equal'), got {type(constraint).__name__} "
            "(labels per row go in y)"
        )
    if matroid.rank != total:
        if m and matroid.rank <= m:
            raise ValueError(
                f"constraint: its budgets select {matroid.rank} rows, which the {m} rows of initial_subset "
                "already fill: no room for k >= 1 new rows")
        if m:
            raise ValueError(
                f"constraint: its budgets select {matroid.rank} rows, the {m} of initial_subset included, but "
                f"k + len(initial_subset) = {total}; set k={matroid.rank - m}")
        raise ValueError(f"constraint: its budgets select {matroid.rank} rows but k = {k}; set k={matroid.rank}")
    return matroid


def _check_random_state(random_state) -> None:
    if random_state is None or isinstance(random_state, np.random.Generator):
        return
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(random_state, (int, np.integer)):
        raise TypeError(
            f"random_state: expected None, an int or a numpy.random.Generator, got {type(random_state).__name__}"
        )


class SubsetSelector(BaseEstimator):
    """Select k representative rows of X by monotone submodular maximisation: f(S) >= (1 - 1/e) OPT under |S| <= k.

    ``fit`` builds the set function f over the rows of X, maximises it with the chosen optimizer
    under the constraint and stores the selection (apricot's selector semantics):

    - ``'facility-location'``: f(S) = sum_i max_{j in S} s_ij with s = ``similarity_matrix(X,
      metric, n_neighbors)`` (:meth:`FacilityLocation.from_features`; dense: O(n^2) memory and
      2 n^2 d flops, a gain O(n); kNN: O(n k) memory).
    - ``'feature-based'``: f(S) = sum_u sqrt(sum_{j in S} X_ju), X >= 0 (:class:`FeatureBased`;
      a gain O(d)).
    - ``'coverage'``: f(S) = #{u : X_ju = 1 for some j in S}, X a 0/1 incidence, row j the
      features it covers (:class:`Coverage` on X^T; a gain O(nnz of row j)).
    - ``'graph-cut'``, ``'saturated-coverage'``, ``'sum-redundancy'``, ``'log-determinant'``:
      :class:`GraphCut`, :class:`SaturatedCoverage`, :class:`SumRedundancy`,
      :class:`LogDeterminant` ``.from_features(X, metric, **function_params)`` (defaults λ = ½,
      α = 0.1, regularization 1; the dense n x n similarity; log-determinant takes only
      ``metric='cosine'``).
    - ``'facility-location-mutual-information'``: f(S) = sum_i min(max_{j in S} s_ij,
      η max_{q in Q} t_iq), the rows most like the query items Q
      (:meth:`FacilityLocationMutualInformation.from_features`; O(n^2 + n |Q|) memory).
    - ``'facility-location-conditional-gain'``: f(S) = sum_i max(max_{j in S} s_ij −
      ν max_{p in P} t_ip, 0), representative rows away from the private items P
      (:meth:`FacilityLocationConditionalGain.from_features`; O(n^2 + n |P|) memory).
    - ``'graph-cut-mutual-information'``: f(S) = sum_{j in S} sum_{q in Q} t_jq, modular: the rows
      most similar to the query in total (:meth:`GraphCutMutualInformation.from_features`;
      O(n |Q|) memory, greedy is optimal).

    Guarantees of the optimizers for these (monotone submodular) functions: ``'lazy'`` and
    ``'naive'`` greedy select the same set, (1 - 1/e) OPT under |S| <= k and OPT / 2 under a
    partition matroid; ``'stochastic'`` (1 - 1/e - epsilon) OPT in expectation under |S| <= k
    with O(n log(1/epsilon)) gains (a heuristic under budgets). See :func:`greedy` and
    :func:`stochastic_greedy`.

    Parameters
    ----------
    function : {'facility-location', 'feature-based', 'coverage', 'graph-cut', 'saturated-coverage', \
'sum-redundancy', 'log-determinant', 'facility-location-mutual-information', \
'facility-location-conditional-gain', 'graph-cut-mutual-information'}, default 'facility-location'
        The set function built from X.
    k : int (or float with ``sample_cost``), default 10
        Number of rows to select, 1 <= k <= n - len(``initial_subset``): the new rows, after the
        initial ones (apricot's ``n_samples``). With a partition ``constraint`` k +
        len(``initial_subset``) must equal the number of rows the budgets select (their sum,
        capped by the domain sizes): the initial rows use up their domains' budgets first, and a
        budget rule splits the total k + len(``initial_subset``). With ``fit(X,
        sample_cost=c)``, k is instead the knapsack budget B in cost units, an int or a float
        > 0 (apricot's ``n_samples`` there too): the selection satisfies sum(c[S]) <= k.
    optimizer : {'lazy', 'naive', 'stochastic'}, default 'lazy'
        Lazy (Minoux) greedy, naive greedy, or stochastic greedy (Mirzasoleiman et al. 2015).
    constraint : None, PartitionMatroid, mapping or str, default None
        None: |S| <= k. A :class:`PartitionMatroid` over the n rows (``y`` is not read). A
        ``{domain: budget}`` mapping or a budget rule name (``'proportional'``,
        ``'proportional-authors'``, ``'equal'``; :func:`make_matroid` with total k): at most
        budget rows of each domain, the domain of row i being ``y[i]`` (``fit(X, y)``).
    metric : {'cosine', 'euclidean'}, default 'cosine'
        Similarity of the similarity functions (:func:`similarity_matrix`); not read by
        ``'feature-based'`` and ``'coverage'``.
    n_neighbors : int or None, default None
        Facility location only: None for the dense similarity, an int for the sparse
        k-nearest-neighbour similarity.
    random_state : None, int or numpy.random.Generator, default None
        Seed of stochastic greedy's samples and of the approximate neighbour search
        (``n_neighbors`` with more than 4096 rows); the only source of randomness.
    epsilon : float in (0, 1), default 0.1
        Stochastic greedy's accuracy: each step samples ceil((n / k) log(1 / epsilon)) rows.
    function_params : dict or None, default None
        Keyword arguments of the function's builder (as scikit-learn's ``metric_params``); None
        or ``{}`` for its defaults. The keys per function, checked in ``fit``:

        - ``'graph-cut'``: ``lam`` (λ >= 0, default 0.5);
        - ``'saturated-coverage'``: ``alpha`` (α > 0, default 0.1);
        - ``'log-determinant'``: ``regularization`` (> 0, default 1.0);
        - ``'feature-based'``: ``concave`` (``'sqrt'``, the default, or ``'log1p'``);
        - ``'facility-location-mutual-information'``: ``query`` (required) and ``eta`` (η > 0,
          default 1.0);
        - ``'facility-location-conditional-gain'``: ``private`` (required; may have no rows)
          and ``nu`` (ν >= 0, default 1.0);
        - ``'graph-cut-mutual-information'``: ``query`` (required);
        - ``'facility-location'``, ``'sum-redundancy'``, ``'coverage'``: none.

        ``query`` (|Q|, d) and ``private`` (|P|, d) hold items in the feature space of X, one per
        row (``query`` at least one): numpy, lists, scipy.sparse (densified) or torch/cupy arrays
        (read on the host as X is). Their values are checked by the function's class.
    initial_subset : array-like of int or None, default None
        Row indices of X already selected (apricot's ``initial_subset``; its alternative, a
        matrix of examples, is refused: pass their row indices). Greedy starts from S = A, these
        rows, and maximises f(A + T) - f(A) over k new rows T (:func:`greedy`'s ``initial``);
        ``ranking_``, ``gains_`` and ``subset_`` hold the new rows only, ``result_`` all of
        them, the initial ones first. Not combinable with ``sample_cost``.

    Attributes
    ----------
    ranking_ : numpy.ndarray of int64, shape (k,)
        Selected row indices in selection order, the rows of ``initial_subset`` left out; with
        ``sample_cost``, as many rows as the budget allowed.
    gains_ : numpy.ndarray of float64, shape (k,)
        Marginal gain of each pick, f(S_t) - f(S_{t-1}) (``result_.gains`` after the initial
        rows); they sum to f(S) - f(initial rows).
    subset_ : array of shape (k, d)
        ``X[ranking_]`` in X's own kind (numpy, scipy.sparse CSR, a torch tensor on its device).
    result_ : SelectionResult
        The optimizer's result (objective, history, per-domain counts, stop reason), over the
        whole selection: the initial rows first, then ``ranking_``.
    function_ : SetFunction
        The function that was maximised (holds the similarity: O(n^2) memory when dense).
    n_features_in_ : int
        Number of columns of X at fit.

    Notes
    -----
    Inputs: numpy arrays, nested lists, scipy.sparse matrices and torch (or cupy) arrays, which
    are read on the host (:func:`matroidomp._array.to_host`: a CPU tensor in place, a device one
    copied once). A scipy.sparse X is read as features: densified for facility location and
    feature based (both store n x n or n x d dense numbers anyway, so this adds O(n d) memory),
    kept sparse for coverage. Every kind of input selects the same rows. All parameters are
    validated in ``fit``, none in ``__init__`` (scikit-learn's convention). Unlike apricot,
    ``transform`` and ``fit_transform`` return X's rows only: select labels with
    ``y[selector.ranking_]``. Needs scikit-learn (extra ``sklearn``).

    Examples
    --------
    >>> import numpy as np
    >>> import matroidomp as mo
    >>> X = np.random.default_rng(0).random((100, 5))
    >>> sel = mo.SubsetSelector("facility-location", k=5).fit(X)
    >>> sel.ranking_.tolist() == mo.greedy(mo.FacilityLocation.from_features(X), 5).indices.tolist()
    True
    >>> bool(np.isclose(sel.gains_.sum(), sel.function_(sel.ranking_)))  # gains add up to f(S)
    True
    >>> sel.transform(X).shape
    (5, 5)
    >>> y = np.repeat(["a", "b"], [70, 30])
    >>> sel = mo.SubsetSelector(k=4, constraint={"a": 1, "b": 3}, optimizer="naive").fit(X, y)
    >>> sel.result_.counts
    {'a': 1, 'b': 3}

    The function's own parameters go in ``function_params``: a graph cut with a stronger
    redundancy penalty, the rows closest to a query set:

    >>> sel = mo.SubsetSelector("graph-cut", k=5, function_params={"lam": 1.0}).fit(X)
    >>> sel.ranking_.tolist() == mo.greedy(mo.GraphCut.from_features(X, lam=1.0), 5).indices.tolist()
    True
    >>> query = X[:2] + 0.01                       # two items near rows 0 and 1
    >>> flmi = mo.SubsetSelector("facility-location-mutual-information", k=2, function_params={"query": query})
    >>> sorted(flmi.fit(X).ranking_.tolist())
    [0, 1]

    Rows already chosen (``initial_subset``): k = 3 new rows are picked to complement them, and
    only those are ranked; under a budget the initial rows count against their domains:

    >>> sel = mo.SubsetSelector(k=3, initial_subset=[0, 1]).fit(X)
    >>> sel.result_.indices[:2].tolist(), len(sel.ranking_)
    ([0, 1], 3)
    >>> f = mo.FacilityLocation.from_features(X)
    >>> sel.ranking_.tolist() == mo.greedy(f, 5, initial=[0, 1]).indices[2:].tolist()
    True
    >>> sel = mo.SubsetSelector(k=3, initial_subset=[0, 1], constraint={"a": 2, "b": 3}).fit(X, y)
    >>> sel.result_.counts                          # rows 0 and 1 filled the budget of 'a'
    {'a': 2, 'b': 3}

    A cost per row (``fit(X, sample_cost=c)``, apricot's knapsack): k is then the budget
    sum(c[S]) <= k, met by cost-benefit greedy:

    >>> cost = np.where(np.arange(100) < 50, 1.0, 2.5)
    >>> sel = mo.SubsetSelector(k=6).fit(X, sample_cost=cost)
    >>> bool(cost[sel.ranking_].sum() <= 6), sel.result_.info["picked"]
    (True, 'cost_benefit')
    >>> sel.ranking_.tolist() == mo.greedy(f, costs=cost, budget=6).indices.tolist()
    True
    """

    def __init__(self, function="facility-location", k=10, optimizer="lazy", constraint=None, metric="cosine",
                 n_neighbors=None, random_state=None, epsilon=0.1, function_params=None, initial_subset=None):
        self.function = function
        self.k = k
        self.optimizer = optimizer
        self.constraint = constraint
        self.metric = metric
        self.n_neighbors = n_neighbors
        self.random_state = random_state
        self.epsilon = epsilon
        self.function_params = function_params
        self.initial_subset = initial_subset

    def _check_params(self) -> None:
        if not isinstance(self.function, str) or self.function not in _FUNCTIONS:
            raise ValueError(f"function: expected one of {sorted(_FUNCTIONS)}, got {self.function!r}")
        if not isinstance(self.optimizer, str) or self.optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer: expected one of {list(_OPTIMIZERS)}, got {self.optimizer!r}")
        if not isinstance(self.metric, str) or self.metric not in _METRICS:
            raise ValueError(f"metric: expected one of {list(_METRICS)}, got {self.metric!r}")
        if self.n_neighbors is not None and self.function != "facility-location":
            raise ValueError(f"n_neighbors: only function='facility-location' takes it, not {self.function!r}")
        _check_random_state(self.random_state)

    def fit(self, X, y=None, sample_cost=None):
        """Select k rows of X: build f from X, maximise it under the constraint; O(k n) gains for greedy.

        With ``sample_cost`` (apricot's knapsack), select rows of total cost at most k instead:
        cost-benefit greedy, the better of its path and the best affordable single row,
        f(S) >= ½(1 - 1/e) OPT over {S : sum(c[S]) <= k} (:func:`greedy` with ``costs`` and
        ``budget``). apricot's knapsack has no best-single-row step, so it can return a worse set
        where one expensive row beats the cost-benefit path.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n, d)
            One candidate per row, real and finite (numpy, list, scipy.sparse, torch, cupy).
        y : array-like of shape (n,), optional
            Domain label of every row: read only when ``constraint`` is a mapping or a rule name.
        sample_cost : array-like of shape (n,), optional
            Cost c_j of every row, finite and > 0 (numpy, list, torch, cupy); ``k`` is then the
            budget. Only with ``optimizer`` ``'lazy'`` or ``'naive'``, no ``constraint`` and no
            ``initial_subset`` (no bound is proven for a knapsack with a matroid, and the
            best-single-row comparison assumes S starts empty).

        Returns
        -------
        SubsetSelector
            ``self``, with ``ranking_``, ``gains_``, ``subset_``, ``result_``, ``function_`` and
            ``n_features_in_`` set.

        Raises
        ------
        TypeError
            When X is not a real numeric array, ``k`` is not an int (a number with
            ``sample_cost``), ``random_state`` is not None, an int or a Generator,
            ``constraint`` is of an unsupported kind, ``function_params`` is not a mapping (or
            holds a value of the wrong type, named by the function's class),
            ``initial_subset`` is not integer (a boolean mask included) or ``sample_cost`` not
            real.
        ValueError
            When X is not 2-D or has a NaN/Inf row; ``k`` < 1 or > n; ``function``,
            ``optimizer`` or ``metric`` is unknown; ``n_neighbors`` is given for another function
            than facility location; X does not suit the function (a negative entry for
            feature-based, an entry other than 0/1 for coverage); the constraint needs ``y`` and
            it is missing or of the wrong length, or its budgets do not select k rows;
            ``epsilon`` is not in (0, 1) for the stochastic optimizer; ``function_params`` has a
            key the function does not take, misses a required ``query``/``private`` (or gives
            a ``query`` with no rows), or a value the function's class refuses (the message
            names it: ``lam``, ``eta``, ``query``, ...); ``initial_subset`` is 2-D (a feature
            matrix), has an index out of range or repeated, more rows of a domain than its
            budget, or k + len(``initial_subset``) > n (or differs from what the budgets
            select); ``sample_cost`` is not one finite cost > 0 per row, ``k`` is not > 0 with
            it, or it comes with ``optimizer='stochastic'``, a ``constraint`` or an
            ``initial_subset``.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.eye(4)[[0, 0, 1, 2, 3, 3]]          # six rows, four distinct features
        >>> SubsetSelector("coverage", k=4).fit(X).ranking_.tolist()
        [0, 2, 3, 4]
        >>> SubsetSelector("coverage", k=2, initial_subset=[0, 2]).fit(X).ranking_.tolist()  # 2 more
        [3, 4]
        >>> cost = [1.0, 1.0, 1.0, 1.0, 1.0, 2.0]
        >>> SubsetSelector("coverage", k=3.5).fit(X, sample_cost=cost).ranking_.tolist()  # cost <= 3.5
        [0, 2, 3]
        """
        self._check_params()
        spec = _FUNCTIONS[self.function]
        params = _function_params(self.function, self.function_params)
        data = _host_matrix(X, spec.keeps_sparse)
        n = int(data.shape[0])
        if sample_cost is not None:
            _knapsack_refusals(self)
            budget = _check_budget(self.k)
            costs = _sample_cost(sample_cost, n)
            f = spec.build(data, self, **params)
            result = greedy(f, costs=costs, budget=budget, lazy=self.optimizer == "lazy")
            m = 0
        else:
            k = _check_k(self.k, n)
            initial = _initial_rows(self.initial_subset, PartitionMatroid.cardinality(n, n))
            m = int(initial.size)
            if k + m > n:
                raise ValueError(
                    f"initial_subset: k + len(initial_subset) = {k} + {m} = {k + m} exceeds the number of rows of "
                    f"X ({n}); k counts the rows selected after the initial ones")
            matroid = _matroid(self.constraint, y, k, n, m)
            if self.constraint is not None:
                _initial_rows(initial, matroid)  # within every domain's budget
            f = spec.build(data, self, **params)
            if self.optimizer == "stochastic":
                result = stochastic_greedy(f, matroid, epsilon=self.epsilon, seed=self.random_state, initial=initial)
            else:
                result = greedy(f, matroid, lazy=self.optimizer == "lazy", initial=initial)
        self.function_ = f
        self.result_ = result
        self.ranking_ = np.asarray(result.indices[m:], dtype=np.int64)
        self.gains_ = result.gains[m:]
        self.n_features_in_ = int(data.shape[1])
        self._n_rows = n
        self.subset_ = _rows(X, self.ranking_)
        return self

    def transform(self, X):
        """The selected rows ``X[ranking_]``, in selection order and in X's own kind; O(k d).

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n, d)
            The fitted data, or data aligned with it: the same number of rows and columns.

        Returns
        -------
        array of shape (k, d)
            numpy for numpy or lists, scipy.sparse CSR for sparse, a tensor of X's framework on
            its device for torch/cupy.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ValueError
            When X is not 2-D or its shape differs from the fitted data's.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
        >>> sel = SubsetSelector(k=2).fit(X)
        >>> sel.transform(X).tolist()
        [[0.9, 0.1], [0.0, 1.0]]
        """
        check_is_fitted(self, "ranking_")
        shape = tuple(int(s) for s in getattr(X, "shape", np.shape(X)))
        if len(shape) != 2:
            raise ValueError(f"X: expected a 2-D array, got shape {shape}")
        if shape[1] != self.n_features_in_:
            raise ValueError(f"X has {shape[1]} features but the selector was fitted on {self.n_features_in_}")
        if shape[0] != self._n_rows:
            raise ValueError(
                f"X has {shape[0]} rows but the selector was fitted on {self._n_rows}; transform selects "
                "rows of the fitted data (or of data aligned with it)"
            )
        return _rows(X, self.ranking_)

    def fit_transform(self, X, y=None, sample_cost=None):
        """``fit(X, y, sample_cost)`` then ``transform(X)``: the k selected rows of X.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n, d)
            As in :meth:`fit`.
        y : array-like of shape (n,), optional
            As in :meth:`fit` (domain labels for a mapping or rule constraint).
        sample_cost : array-like of shape (n,), optional
            As in :meth:`fit` (a cost per row; ``k`` is then the budget).

        Returns
        -------
        array of shape (k, d)
            ``X[ranking_]`` in X's own kind (as :meth:`transform`).

        Raises
        ------
        TypeError, ValueError
            As :meth:`fit`.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[4.0, 0.0], [0.0, 9.0], [5.0, 0.0]])
        >>> SubsetSelector("feature-based", k=2).fit_transform(X).tolist()
        [[0.0, 9.0], [5.0, 0.0]]
        """
        return self.fit(X, y, sample_cost).subset_
