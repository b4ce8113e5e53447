"""Partition matroids and the rules that set their per-domain budgets.

A partition matroid over n elements with domain labels p_i and budgets k_d has as independent
sets exactly the S with |S ∩ {i : p_i = d}| <= k_d for every domain d. A cardinality constraint
|S| <= k is the one-domain case. Its rank is sum_d min(k_d, n_d).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from functools import partial

import numpy as np

from ._validation import check_indices, check_nonnegative_int, to_numpy


def encode_labels(labels) -> tuple[np.ndarray, np.ndarray]:
    """(domains, codes): the sorted distinct labels and each element's index into them.

    Parameters
    ----------
    labels : (n,) sequence or array
        ints or strings (one kind; mixed kinds, None and non-whole floats are refused).

    Returns
    -------
    domains : (D,) numpy array
    codes : (n,) int64 numpy array

    Raises
    ------
    TypeError, ValueError
        Mixed or unsupported label types, missing labels, not 1-D.

    Examples
    --------
    >>> domains, codes = encode_labels(["math", "chem", "math"])
    >>> domains.tolist(), codes.tolist()
    (['chem', 'math'], [1, 0, 1])
    """
    arr = _label_array(labels)
    if arr.ndim != 1:
        raise ValueError(f"labels: expected a 1-D array of domain ids, got shape {arr.shape}")
    if arr.dtype == object:
        arr = _typed_labels(arr)
    if arr.dtype.kind == "f":
        arr = _whole_number_labels(arr)
    if arr.dtype.kind not in "iuUSb":
        raise TypeError(f"labels: expected ints or strings, got dtype {arr.dtype}")
    domains, codes = np.unique(arr, return_inverse=True)
    return domains, codes.astype(np.int64).reshape(-1)


def _device_labels(labels):
    """(domains, device codes, sizes) for labels given as a torch or cupy array, computed on its
    device (only the D distinct labels and their counts come to the host); None otherwise.

    Lists and numpy arrays return None: :func:`encode_labels` reads them. Float labels must be
    whole numbers, as there.
    """
    framework = type(labels).__module__.split(".")[0]
    if framework not in ("torch", "cupy"):
        return None
    if framework == "torch":
        import torch

        if labels.dim() != 1:
            raise ValueError(f"labels: expected a 1-D array of domain ids, got shape {tuple(labels.shape)}")
        if labels.is_floating_point():
            if not bool(torch.isfinite(labels).all()) or not bool((labels == torch.round(labels)).all()):
                raise ValueError("labels: float labels must be finite whole numbers (use ints or strings)")
            labels = labels.to(torch.int64)
        values, inverse = torch.unique(labels, sorted=True, return_inverse=True)
        sizes = torch.bincount(inverse, minlength=values.numel())
        return values.cpu().numpy(), inverse.to(torch.int64), sizes.cpu().numpy().astype(np.int64)
    import cupy

    if labels.ndim != 1:
        raise ValueError(f"labels: expected a 1-D array of domain ids, got shape {labels.shape}")
    values, inverse = cupy.unique(labels, return_inverse=True)
    sizes = cupy.bincount(inverse, minlength=values.size)
    return values.get(), inverse.astype(cupy.int64).reshape(-1), sizes.get().astype(np.int64)


def _label_array(labels) -> np.ndarray:
    """Arrays and tensors as numpy arrays; any other sequence as an object array.

    A list goes through an object array so that its elements are checked before numpy converts
    them: ``np.asarray([1, '1'])`` would already hold two equal strings.
    """
    if isinstance(labels, np.ndarray) or type(labels).__module__.split(".")[0] in ("torch", "cupy"):
        return to_numpy(labels, "labels")
    return np.asarray(labels, dtype=object)


def _label_kind(kind: type) -> str | None:
    """'number', 'str' or 'bytes' (kinds of label that may not mix), None for anything else."""
    if issubclass(kind, str):
        return "str"
    if issubclass(kind, bytes):
        return "bytes"
    if issubclass(kind, (numbers.Real, np.number, np.bool_)) and not issubclass(kind, np.complexfloating):
        return "number"
    return None


def _typed_labels(items: np.ndarray) -> np.ndarray:
    """A 1-D object array of labels as an int, float, bool or string array.

    Raises ValueError at the first missing label (None) and TypeError at the first label of an
    unsupported type or when kinds are mixed, e.g. ints and strings (naming one element of each).
    """
    values = items.tolist()
    kinds = {t: _label_kind(t) for t in set(map(type, values))}
    if type(None) in kinds:
        i = values.index(None)
        raise ValueError(f"labels: entry {i} is None; every element needs a domain label")
    if None in kinds.values():
        unknown = next(i for i, x in enumerate(values) if kinds[type(x)] is None)
        raise TypeError(
            f"labels: entry {unknown} has type {type(values[unknown]).__name__}; expected ints or strings"
        )
    if len(set(kinds.values())) > 1:
        first = {}
        for i, x in enumerate(values):
            first.setdefault(kinds[type(x)], i)
        i, j = sorted(first.values())
        raise TypeError(
            f"labels: entry {i} is {_typed_repr(values[i])} but entry {j} is {_typed_repr(values[j])}; "
            "labels must be all numbers, all str or all bytes (convert them to one type first)"
        )
    return np.array(values) if values else np.zeros(0, dtype=np.int64)


def _typed_repr(x) -> str:
    """'int 1', "str '1'", 'int64 2': a label's type and value for error messages."""
    return f"{type(x).__name__} {(x.item() if isinstance(x, np.generic) else x)!r}"


def _whole_number_labels(arr: np.ndarray) -> np.ndarray:
    """Float labels as int64; raise at the first one that is not a finite whole number in int64 range."""
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(arr) | (arr != np.round(arr)) | (np.abs(arr) >= 2.0**63)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"labels: float labels must be finite whole numbers (use ints or strings); entry {i} is {arr[i]}"
        )
    return arr.astype(np.int64)


def _budget_array(budgets, domains: np.ndarray) -> np.ndarray:
    """Budgets aligned with ``domains`` from a mapping, a sequence or a single int."""
    if isinstance(budgets, Mapping):
        known = {d.item() if hasattr(d, "item") else d: i for i, d in enumerate(domains)}
        out = np.full(len(domains), -1, dtype=np.int64)
        for key, value in budgets.items():
            k = key.item() if hasattr(key, "item") else key
            if k not in known:
                raise ValueError(
                    f"budgets: domain {key!r} does not occur in labels (domains are {domains.tolist()})"
                )
            out[known[k]] = _as_budget(value, f"budgets[{key!r}]")
        missing = [domains[i].item() for i in np.flatnonzero(out < 0)]
        if missing:
            raise ValueError(f"budgets: no budget given for domain(s) {missing}; give 0 explicitly to exclude one")
        return out
    arr = to_numpy(budgets, "budgets")
    if arr.ndim == 0:
        if len(domains) != 1:
            raise ValueError(
                f"budgets: a single int needs a single domain, labels have {len(domains)}; "
                "pass a mapping or use PartitionMatroid.cardinality"
            )
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.shape[0] != len(domains):
        raise ValueError(f"budgets: expected {len(domains)} budgets (one per domain), got shape {arr.shape}")
    return np.array([_as_budget(v, f"budgets[{i}]") for i, v in enumerate(arr.tolist())], dtype=np.int64)


def _as_budget(value, name: str) -> int:
    """``value`` as a nonnegative int budget; TypeError for non-integers, ValueError below 0."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected an int budget, got {value!r}")
    try:
        v = int(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(f"{name}: expected an int budget, got {value!r}") from exc
    if v != value:
        raise TypeError(f"{name}: expected an int budget, got {value!r}")
    if v < 0:
        raise ValueError(f"{name}: budget must be >= 0, got {v}")
    return v


class PartitionMatroid:
    """Partition matroid: S is independent iff |S ∩ {i : p_i = d}| <= k_d for every domain d.

    Parameters
    ----------
    labels : array-like of shape (n,)
        Domain id p_i of every element: ints (Python, numpy, or a torch int tensor), whole-number
        floats, bools, or strings. Labels of different kinds are never merged: a sequence that
        mixes numbers and strings (``[1, '1']``) is refused rather than read as one domain.
    budgets : mapping, sequence or int
        ``{domain: k_d}``, a sequence aligned with :attr:`domains` (sorted unique labels), or a
        single int when there is one domain.
    clip_to_size : bool, default False
        A budget above its domain's size raises by default (a user asking for 10 items of a
        domain with 5 usually has a bug); with ``True`` it is allowed and the domain simply fills.

    Raises
    ------
    TypeError
        When ``labels`` mixes numbers and strings (naming one entry of each), holds objects that
        are neither (e.g. complex numbers), or a budget is not an int.
    ValueError
        When a label is missing (None or NaN, naming its position), a float label is not a whole
        number, ``labels`` is not 1-D, or the budgets do not match the domains.

    Examples
    --------
    >>> m = PartitionMatroid(["math", "chem", "math", "code"], {"math": 1, "chem": 1, "code": 0})
    >>> m.domains.tolist(), m.budgets.tolist(), m.rank
    (['chem', 'code', 'math'], [1, 0, 1], 2)
    >>> m.is_independent([0, 1]), m.is_independent([0, 2])
    (True, False)
    >>> PartitionMatroid([1, 1, "1"], {1: 2, "1": 1})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: labels: entry 0 is int 1 but entry 2 is str '1'; labels must be all numbers, ...
    """

    def __init__(self, labels, budgets, *, clip_to_size: bool = False):
        on_device = _device_labels(labels)
        if on_device is None:
            self.domains, self._codes = encode_labels(labels)
            self._device_codes = None
            self.sizes = np.bincount(self._codes, minlength=len(self.domains)).astype(np.int64)
        else:  # a tensor of labels on a device: codes stay there, only the D domains come back
            self.domains, self._device_codes, self.sizes = on_device
            self._codes = None
        self.budgets = _budget_array(budgets, self.domains)
        over = np.flatnonzero(self.budgets > self.sizes)
        if over.size and not clip_to_size:
            d = over[0]
            raise ValueError(
                f"budgets: domain {self.domains[d].item()!r} has budget {self.budgets[d]} "
                f"but only {self.sizes[d]} element(s); lower it or pass clip_to_size=True"
            )

    @classmethod
    def cardinality(cls, n: int, k: int) -> "PartitionMatroid":
        """The uniform matroid |S| <= k over n elements (one domain, labelled 0).

        Parameters
        ----------
        n : int
            Ground-set size, >= 0.
        k : int
            Budget, 0 <= k <= n.

        Returns
        -------
        PartitionMatroid

        Raises
        ------
        TypeError
            When ``n`` or ``k`` is not an int.
        ValueError
            When ``n`` or ``k`` is negative, or k > n.

        Examples
        --------
        >>> m = PartitionMatroid.cardinality(5, 2)
        >>> m.rank, m.count_dict([0, 3])
        (2, {0: 2})
        """
        n = check_nonnegative_int(n, "n")
        k = _as_budget(k, "k")
        return cls(np.zeros(n, dtype=np.int64), {0: k} if n else {})

    @property
    def codes(self) -> np.ndarray:
        """Domain index of every element (host int64; labels given as a device tensor are copied
        to the host once, on first use — the device solvers use :meth:`codes_on` instead)."""
        if self._codes is None:
            from ._array import to_host

            self._codes = np.ascontiguousarray(to_host(self._device_codes), dtype=np.int64)
        return self._codes

    def codes_on(self, backend):
        """The codes as an int64 array of ``backend`` (a :class:`matroidomp._array.Backend`): the
        labels' own device array when they came as one there, else a host-to-device copy."""
        import array_api_compat

        dev = self._device_codes
        if dev is not None and array_api_compat.array_namespace(dev) is backend.xp and \
                array_api_compat.device(dev) == backend.device:
            return dev
        return backend.asarray(np.ascontiguousarray(self.codes, dtype=np.int64), "int64")

    def domain_of(self, j: int) -> int:
        """The domain index of element j (one number, wherever the codes live)."""
        return int(self._codes[j] if self._codes is not None else self._device_codes[j])

    @property
    def n(self) -> int:
        """Number of ground-set elements."""
        codes = self._codes if self._codes is not None else self._device_codes
        return int(codes.shape[0])

    @property
    def n_domains(self) -> int:
        """Number of domains (distinct labels)."""
        return int(self.domains.shape[0])

    @property
    def rank(self) -> int:
        """Size of every maximal independent set: sum_d min(k_d, n_d)."""
        return int(np.minimum(self.budgets, self.sizes).sum())

    def counts(self, indices) -> np.ndarray:
        """Per-domain counts c_d = |{t : p_{indices[t]} = d}| (aligned with :attr:`domains`).

        Parameters
        ----------
        indices : array-like of int
            Element indices in [0, n), any shape (flattened). A repeated index counts each time.

        Returns
        -------
        numpy.ndarray of int64, shape (n_domains,)

        Raises
        ------
        TypeError
            When ``indices`` are not integers.
        ValueError
            When an index is negative or >= n (naming it).

        Examples
        --------
        >>> m = PartitionMatroid(["b", "a", "b"], {"a": 1, "b": 1})
        >>> m.counts([0, 2]).tolist()
        [0, 2]
        >>> m.counts([-1])
        Traceback (most recent call last):
        ...
        ValueError: indices: index -1 is out of range for a pool of 3
        """
        idx = check_indices(indices, self.n)
        if self._codes is None:  # a few device lookups, not an n-sized copy
            return np.bincount([self.domain_of(int(i)) for i in idx], minlength=self.n_domains).astype(np.int64)
        return np.bincount(self._codes[idx], minlength=self.n_domains).astype(np.int64)

    def count_dict(self, indices) -> dict:
        """``{domain d: c_d}`` with c_d the number of ``indices`` in domain d, as :meth:`counts`.

        Parameters
        ----------
        indices : array-like of int
            Element indices in [0, n); a repeated index counts each time.

        Returns
        -------
        dict
            Every domain (as a Python int or str) to its count (a Python int), in domain order.

        Raises
        ------
        TypeError
            When ``indices`` are not integers.
        ValueError
            When an index is negative or >= n (naming it).

        Examples
        --------
        >>> PartitionMatroid([0, 0, 1], {0: 2, 1: 1}).count_dict([1, 2])
        {0: 1, 1: 1}
        """
        return {d.item(): int(c) for d, c in zip(self.domains, self.counts(indices))}

    def feasible_mask(self, counts: np.ndarray, selected: np.ndarray | None = None) -> np.ndarray:
        """Boolean mask of elements that can be added given per-domain ``counts``: O(n).

        An element is feasible when its domain has spare budget and (if ``selected`` is given)
        it is not selected yet.

        Parameters
        ----------
        counts : numpy.ndarray of int, shape (n_domains,)
            Elements selected so far per domain (aligned with :attr:`domains`).
        selected : numpy.ndarray of bool, shape (n,), optional
            Membership of the current selection.

        Returns
        -------
        numpy.ndarray of bool, shape (n,)

        Examples
        --------
        >>> import numpy as np
        >>> m = PartitionMatroid(["a", "a", "b"], {"a": 1, "b": 1})
        >>> m.feasible_mask(np.array([1, 0])).tolist()
        [False, False, True]
        >>> m.feasible_mask(np.array([0, 0]), np.array([True, False, False])).tolist()
        [False, True, True]
        """
        mask = (self.budgets > counts)[self.codes]
        if selected is not None:
            mask &= ~selected
        return mask

    def is_independent(self, indices) -> bool:
        """True when ``indices`` has no repeats, is in range, and respects every budget.

        Parameters
        ----------
        indices : array-like of int
            A candidate set S.

        Returns
        -------
        bool
            Whether S is independent: |S ∩ domain d| <= k_d for every d (an out-of-range or
            repeated index gives False rather than an error).

        Examples
        --------
        >>> m = PartitionMatroid([0, 0, 1], {0: 1, 1: 1})
        >>> m.is_independent([0, 2]), m.is_independent([0, 1]), m.is_independent([0, 0])
        (True, False, False)
        """
        idx = to_numpy(indices, "indices").astype(np.int64, copy=False).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n):
            return False
        if np.unique(idx).size != idx.size:
            return False
        return bool(np.all(self.counts(idx) <= self.budgets))

    def independent_sets(self, max_size: int | None = None):
        """Yield every independent set as a sorted tuple (brute force over all subsets; n <= ~20 only).

        Parameters
        ----------
        max_size : int, optional
            Largest set size to enumerate (default: the rank).

        Yields
        ------
        tuple of int
            By increasing size, then lexicographically.

        Examples
        --------
        >>> list(PartitionMatroid([0, 0, 1], {0: 1, 1: 1}).independent_sets())
        [(), (0,), (1,), (2,), (0, 2), (1, 2)]
        """
        from itertools import combinations

        top = self.rank if max_size is None else min(max_size, self.rank)
        for size in range(top + 1):
            for combo in combinations(range(self.n), size):
                if np.all(self.counts(combo) <= self.budgets):
                    yield combo

    def bases(self):
        """Yield every basis (maximal independent set, of size :attr:`rank`) as a sorted tuple (brute force).

        Yields
        ------
        tuple of int

        Examples
        --------
        >>> list(PartitionMatroid([0, 0, 1], {0: 1, 1: 1}).bases())
        [(0, 2), (1, 2)]
        """
        r = self.rank
        for combo in self.independent_sets(r):
            if len(combo) == r:
                yield combo

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{d.item()!r}: {k}/{s}" for d, k, s in zip(self.domains, self.budgets, self.sizes)
        )
        return f"PartitionMatroid(n={self.n}, budgets/sizes={{{parts}}})"


def _counts_by_domain(labels) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique labels, the number of elements of each); device labels are counted there."""
    on_device = _device_labels(labels)
    if on_device is not None:
        return on_device[0], on_device[2]
    domains, codes = encode_labels(labels)
    return domains, np.bincount(codes, minlength=len(domains)).astype(np.int64)


def _check_total(k, n: int) -> int:
    """The total budget ``k`` as an int in [0, n]."""
    k = _as_budget(k, "k")
    if k > n:
        raise ValueError(f"k: cannot select {k} elements from a pool of {n}")
    return k


#: How :func:`proportional_budgets` computes the floors floor(n_d k / n).
_PROPORTIONAL_RULES = ("integer", "authors")


def proportional_budgets(labels, k: int, rule: str = "integer") -> dict:
    """Budgets proportional to domain sizes: k_d = floor(n_d k / n), leftovers to the smallest k_d.

    The k - sum_d floor(n_d k / n) leftover slots go round-robin over the domains ordered by
    ascending floor (ties by domain order), skipping domains already at their size n_d; the
    budgets sum to exactly k and never exceed n_d.

    Parameters
    ----------
    labels : array-like of shape (n,)
        Domain id of every pool element (as for :class:`PartitionMatroid`).
    k : int
        Total budget, 0 <= k <= n.
    rule : {'integer', 'authors'}, default 'integer'
        How the floors are computed. ``'integer'``: exactly, (n_d k) // n in integer arithmetic.
        ``'authors'``: as the PartitionSel authors' code does, floor((n_d / n) * k) in float64,
        which falls one below the exact floor when the product rounds to just under an integer
        (a few in 10,000 random pools), so a leftover slot may go to another
        domain. Where their code would then hand a full domain one slot more than its size (and
        stop on an assertion, possible only for k = n), the slot goes to the next domain in the
        same order, as with ``'integer'``.

    Returns
    -------
    dict
        ``{domain: k_d}`` in domain order, Python ints.

    Raises
    ------
    ValueError
        When k > n, k < 0, or ``rule`` is unknown.
    TypeError
        When k is not an int, or the labels are of mixed or unsupported types.

    Examples
    --------
    >>> proportional_budgets(["a"] * 6 + ["b"] * 3 + ["c"], 3)
    {'a': 1, 'b': 1, 'c': 1}
    >>> labels = [0] * 1 + [1] * 13 + [2] * 30
    >>> proportional_budgets(labels, 22)  # floors 0, 6, 15 (30 * 22 / 44 = 15 exactly)
    {0: 1, 1: 6, 2: 15}
    >>> proportional_budgets(labels, 22, rule="authors")  # (30 / 44) * 22 = 14.999... -> 14
    {0: 1, 1: 7, 2: 14}
    """
    if rule not in _PROPORTIONAL_RULES:
        raise ValueError(f"rule: expected one of {list(_PROPORTIONAL_RULES)}, got {rule!r}")
    domains, sizes = _counts_by_domain(labels)
    n = int(sizes.sum())
    k = _check_total(k, n)
    if n == 0:
        return {}
    if rule == "integer":
        floors = (sizes * k) // n
    else:
        floors = np.floor(sizes.astype(np.float64) / float(n) * float(k)).astype(np.int64)
    budgets = _hand_out_leftovers(floors, sizes, k)
    return {d.item(): int(b) for d, b in zip(domains, budgets)}


def _hand_out_leftovers(floors: np.ndarray, sizes: np.ndarray, k: int) -> np.ndarray:
    """Add one slot at a time, round-robin over ascending floors, until the budgets sum to k."""
    budgets = floors.copy()
    order = np.argsort(floors, kind="stable")
    leftover = k - int(budgets.sum())
    while leftover > 0:
        for d in order:
            if leftover == 0:
                break
            if budgets[d] < sizes[d]:
                budgets[d] += 1
                leftover -= 1
    return budgets


def equal_budgets(labels, k: int) -> dict:
    """Split k as evenly as possible over the D domains: k_d = min(floor(k / D) + extra, n_d), sum = k.

    Every domain gets floor(k / D) (or its size, if smaller); the remainder, including what
    capped domains could not take, goes one at a time to the domains with spare elements, in
    domain order. The budgets sum to exactly k.

    Parameters
    ----------
    labels : array-like of shape (n,)
        Domain id of every pool element (as for :class:`PartitionMatroid`).
    k : int
        Total budget, 0 <= k <= n.

    Returns
    -------
    dict
        ``{domain: k_d}`` in domain order, Python ints.

    Raises
    ------
    ValueError
        When k > n or k < 0, or a label is missing.
    TypeError
        When k is not an int, or the labels are of mixed or unsupported types.

    Examples
    --------
    >>> equal_budgets(["a"] * 6 + ["b"] * 3 + ["c"], 7)  # 'c' has one element: 'a' and 'b' share the rest
    {'a': 3, 'b': 3, 'c': 1}
    >>> equal_budgets([0, 0, 1, 1, 2, 2], 4)
    {0: 2, 1: 1, 2: 1}
    """
    domains, sizes = _counts_by_domain(labels)
    k = _check_total(k, int(sizes.sum()))
    budgets = np.zeros(len(domains), dtype=np.int64)
    remaining = k
    while remaining > 0:
        open_ = np.flatnonzero(budgets < sizes)
        share = max(remaining // open_.size, 1)
        for d in open_:
            add = min(share, int(sizes[d] - budgets[d]), remaining)
            budgets[d] += add
            remaining -= add
            if remaining == 0:
                break
    return {d.item(): int(b) for d, b in zip(domains, budgets)}


#: Budget rules :func:`make_matroid` accepts by name.
_BUDGET_RULES = {
    "proportional": proportional_budgets,
    "proportional-authors": partial(proportional_budgets, rule="authors"),
    "equal": equal_budgets,
}


def make_matroid(labels, budgets, k: int | None = None, *, minority_full=None) -> PartitionMatroid:
    """The partition matroid {S : |S ∩ domain d| <= k_d} with k_d from a rule, a mapping or a matroid.

    ``minority_full`` (the PartitionSel authors' ``minority_full`` with their list
    ``minority_classes``, applied as ``include_full`` when they compute the budgets) names domains
    that are taken whole: k_d = n_d for each of them present in the pool, and the rule splits the
    rest, k − Σ n_d, over the other domains alone (for ``'proportional'``:
    k_d = ⌊n_d (k − Σ n_forced) / (n − Σ n_forced)⌋ plus leftovers). Listed domains absent from
    the pool are ignored (pools vary step to step).

    Parameters
    ----------
    labels : array-like of shape (n,)
        Domain id of every element (as for :class:`PartitionMatroid`).
    budgets : str, mapping, sequence or PartitionMatroid
        A rule name (then ``k`` is required): ``'proportional'`` (:func:`proportional_budgets`
        with exact integer floors), ``'proportional-authors'`` (the same with the PartitionSel
        authors' float64 floors, ``rule='authors'``) or ``'equal'`` (:func:`equal_budgets`);
        an explicit ``{domain: k_d}`` mapping or sequence aligned with the sorted domains; or a
        ready :class:`PartitionMatroid` over the same n elements, returned as is.
    k : int, optional
        Total budget; with explicit budgets it is checked against their sum.
    minority_full : collection of labels, optional
        Domains to take whole (only with a rule name).

    Returns
    -------
    PartitionMatroid

    Raises
    ------
    ValueError
        For an unknown rule name, a rule without ``k``, budgets that do not sum to ``k``, a
        matroid over a different number of elements, ``minority_full`` with explicit budgets, or
        domains taken whole that hold more than ``k`` elements.
    TypeError
        ``minority_full`` that is not a collection of labels (a bare string or bool).

    Examples
    --------
    >>> m = make_matroid(["m"] * 6 + ["c"] * 3 + ["p"], "proportional", 5)
    >>> dict(zip(m.domains.tolist(), m.budgets.tolist()))
    {'c': 1, 'm': 3, 'p': 1}
    >>> make_matroid([0, 0, 1], {0: 1, 1: 1}, 2).rank
    2
    >>> m = make_matroid(["m"] * 6 + ["c"] * 3 + ["p"], "proportional", 5, minority_full=["c", "x"])
    >>> dict(zip(m.domains.tolist(), m.budgets.tolist()))  # 'c' whole; 2 left: 'm' 6·2//7 = 1, 'p' 0 + the leftover
    {'c': 3, 'm': 1, 'p': 1}
    """
    if minority_full is not None and not isinstance(budgets, str):
        raise ValueError("minority_full: takes domains whole under a budget rule ('proportional', ...); "
                         "with explicit budgets give those domains their size yourself")
    if isinstance(budgets, PartitionMatroid):
        if budgets.n != (int(labels.shape[0]) if hasattr(labels, "shape") else len(labels)):
            raise ValueError(f"budgets: matroid has {budgets.n} elements but labels have {len(labels)}")
        return budgets
    if isinstance(budgets, str):
        if budgets not in _BUDGET_RULES:
            raise ValueError(f"budgets: unknown rule {budgets!r}; use one of {sorted(_BUDGET_RULES)} or a mapping")
        if k is None:
            raise ValueError(f"budgets={budgets!r} needs the total k")
        if minority_full is not None:
            return PartitionMatroid(labels, _whole_domains_first(labels, _BUDGET_RULES[budgets], k, minority_full))
        return PartitionMatroid(labels, _BUDGET_RULES[budgets](labels, k))
    matroid = PartitionMatroid(labels, budgets)
    if k is not None and int(matroid.budgets.sum()) != int(k):
        raise ValueError(f"budgets sum to {int(matroid.budgets.sum())} but k = {k}")
    return matroid


def _label_key(x):
    """A label as a plain Python value (numpy scalars unwrapped) for set membership."""
    return x.item() if hasattr(x, "item") else x


def _whole_domains_first(labels, rule, k, minority_full) -> dict:
    """Budgets with the ``minority_full`` domains at their size and ``rule`` on the others."""
    if isinstance(minority_full, (str, bytes, bool, np.bool_)) or not hasattr(minority_full, "__iter__"):
        raise TypeError("minority_full: expected a collection of domain labels to take whole "
                        f"(the authors' minority_classes, e.g. [3, 5]), got {minority_full!r}")
    whole = {_label_key(x) for x in (to_numpy(minority_full, "minority_full").reshape(-1).tolist()
                                     if hasattr(minority_full, "shape") else minority_full)}
    domains, sizes = _counts_by_domain(labels)
    k = _check_total(k, int(sizes.sum()))
    keys = [_label_key(d) for d in domains]
    forced = np.array([key in whole for key in keys], dtype=bool)
    taken = int(sizes[forced].sum())
    if taken > k:
        names = [keys[i] for i in np.flatnonzero(forced)]
        raise ValueError(f"minority_full: the domains taken whole {names} hold {taken} examples, more than k = {k}")
    out = {key: int(size) for key, size, f in zip(keys, sizes, forced) if f}
    free = np.flatnonzero(~forced)
    if free.size:
        rest = np.repeat(np.arange(free.size), sizes[free])  # the other domains, in domain order
        for code, b in rule(rest, k - taken).items():
            out[keys[free[int(code)]]] = int(b)
    return {key: out[key] for key in keys}


def check_initial(initial, matroid: PartitionMatroid) -> np.ndarray:
    """A solver's ``initial`` set as int64 indices, checked against ``matroid``.

    The solvers that start from a given set A (``initial=``) count A against the budgets and
    maximise the contracted function g(T) = f(A ∪ T) − f(A) under the budgets left.

    Parameters
    ----------
    initial : None or 1-D sequence of int (numpy, list, torch or cupy)
        The distinct elements of A, in the order they enter the selection.
    matroid : PartitionMatroid

    Returns
    -------
    numpy.ndarray of int64
        A in the order given (empty for None or an empty sequence).

    Raises
    ------
    TypeError
        Non-integer (or boolean) indices.
    ValueError
        Not 1-D, an index out of range or repeated, more elements of a domain than its budget.

    Examples
    --------
    >>> m = PartitionMatroid(["a", "a", "b"], {"a": 1, "b": 1})
    >>> check_initial([2, 0], m).tolist()
    [2, 0]
    >>> check_initial([0, 1], m)
    Traceback (most recent call last):
    ...
    ValueError: initial: 2 elements of domain 'a' exceed its budget of 1; the initial set is infeasible
    """
    if initial is None:
        return np.zeros(0, dtype=np.int64)
    arr = to_numpy(initial, "initial")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.ndim != 1:
        raise ValueError(f"initial: expected a 1-D sequence of indices, got shape {arr.shape}")
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"initial: expected integer indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    out = (arr < 0) | (arr >= matroid.n)
    if out.any():
        raise ValueError(f"initial: index {int(arr[out][0])} is out of range for a ground set of {matroid.n} elements")
    uniq, seen = np.unique(arr, return_counts=True)
    if (seen > 1).any():
        raise ValueError(f"initial: index {int(uniq[seen > 1][0])} appears more than once")
    check_initial_counts(matroid.counts(arr), matroid.budgets, matroid.domains)
    return arr


def check_initial_counts(counts: np.ndarray, budgets: np.ndarray, domains) -> None:
    """Raise, naming ``initial`` and the first domain over budget, unless counts_d <= budgets_d for every d.

    The budget check of :func:`check_initial`, for callers that know an initial set's domain
    counts without a ground-set matroid (e.g. elements named by labels in a stream).

    Parameters
    ----------
    counts, budgets : numpy.ndarray of shape (D,), int
        |A ∩ d| and k_d per domain.
    domains : sequence of length D
        The domain labels, for the message.

    Raises
    ------
    ValueError
        A domain with more elements than its budget.

    Examples
    --------
    >>> check_initial_counts(np.array([1, 0]), np.array([1, 2]), ["a", "b"])
    >>> check_initial_counts(np.array([3, 0]), np.array([1, 2]), ["a", "b"])
    Traceback (most recent call last):
    ...
    ValueError: initial: 3 elements of domain 'a' exceed its budget of 1; the initial set is infeasible
    """
    over = np.flatnonzero(counts > budgets)
    if over.size:
        d = int(over[0])
        label = domains[d]
        label = label.item() if isinstance(label, np.generic) else label
        raise ValueError(f"initial: {int(counts[d])} elements of domain {label!r} "
                         f"exceed its budget of {int(budgets[d])}; the initial set is infeasible")
