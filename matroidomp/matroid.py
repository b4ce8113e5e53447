"""Partition matroids and the rules that set their per-domain budgets.

A partition matroid over n elements with domain labels p_i and budgets k_d has as independent
sets exactly the S with |S ∩ {i : p_i = d}| <= k_d for every domain d. A cardinality constraint
|S| <= k is the one-domain case. Its rank is sum_d min(k_d, n_d).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._validation import check_nonnegative_int, to_numpy


def _encode_labels(labels) -> tuple[np.ndarray, np.ndarray]:
    """Return (domains, codes): sorted unique labels and each element's index into them."""
    arr = to_numpy(labels, "labels")
    if arr.ndim != 1:
        raise ValueError(f"labels: expected a 1-D array of domain ids, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError("labels: float labels must be finite whole numbers (use ints or strings)")
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iuUSbO":
        raise TypeError(f"labels: expected ints or strings, got dtype {arr.dtype}")
    if arr.dtype.kind == "O":
        arr = arr.astype(str)
    domains, codes = np.unique(arr, return_inverse=True)
    return domains, codes.astype(np.int64).reshape(-1)


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
    """Partition matroid: at most ``budgets[d]`` elements from each domain ``d``.

    Parameters
    ----------
    labels : array-like of shape (n,)
        Domain id (int or str) of every element.
    budgets : mapping, sequence or int
        ``{domain: k_d}``, a sequence aligned with :attr:`domains` (sorted unique labels), or a
        single int when there is one domain.
    clip_to_size : bool, default False
        A budget above its domain's size raises by default (a user asking for 10 items of a
        domain with 5 usually has a bug); with ``True`` it is allowed and the domain simply fills.
    """

    def __init__(self, labels, budgets, *, clip_to_size: bool = False):
        self.domains, self.codes = _encode_labels(labels)
        self.budgets = _budget_array(budgets, self.domains)
        self.sizes = np.bincount(self.codes, minlength=len(self.domains)).astype(np.int64)
        over = np.flatnonzero(self.budgets > self.sizes)
        if over.size and not clip_to_size:
            d = over[0]
            raise ValueError(
                f"budgets: domain {self.domains[d].item()!r} has budget {self.budgets[d]} "
                f"but only {self.sizes[d]} element(s); lower it or pass clip_to_size=True"
            )

    @classmethod
    def cardinality(cls, n: int, k: int) -> "PartitionMatroid":
        """The uniform matroid |S| <= k over n elements (one domain, labelled 0)."""
        n = check_nonnegative_int(n, "n")
        k = _as_budget(k, "k")
        return cls(np.zeros(n, dtype=np.int64), {0: k} if n else {})

    @property
    def n(self) -> int:
        """Number of ground-set elements."""
        return int(self.codes.shape[0])

    @property
    def n_domains(self) -> int:
        return int(self.domains.shape[0])

    @property
    def rank(self) -> int:
        """Size of every maximal independent set: sum_d min(k_d, n_d)."""
        return int(np.minimum(self.budgets, self.sizes).sum())

    def counts(self, indices) -> np.ndarray:
        """Number of elements of ``indices`` in each domain (aligned with :attr:`domains`)."""
        idx = to_numpy(indices, "indices").astype(np.int64, copy=False).reshape(-1)
        return np.bincount(self.codes[idx], minlength=self.n_domains).astype(np.int64)

    def count_dict(self, indices) -> dict:
        """``{domain: count}`` for ``indices``."""
        return {d.item(): int(c) for d, c in zip(self.domains, self.counts(indices))}

    def feasible_mask(self, counts: np.ndarray, selected: np.ndarray | None = None) -> np.ndarray:
        """Boolean mask of elements that can be added given per-domain ``counts``.

        An element is feasible when its domain has spare budget and (if ``selected`` is given)
        it is not selected yet. Vectorised: O(n).
        """
        mask = (self.budgets > counts)[self.codes]
        if selected is not None:
            mask &= ~selected
        return mask

    def is_independent(self, indices) -> bool:
        """True when ``indices`` has no repeats, is in range, and respects every budget."""
        idx = to_numpy(indices, "indices").astype(np.int64, copy=False).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n):
            return False
        if np.unique(idx).size != idx.size:
            return False
        return bool(np.all(self.counts(idx) <= self.budgets))

    def independent_sets(self, max_size: int | None = None):
        """Yield every independent set as a sorted tuple (brute force; for n <= ~20 only)."""
        from itertools import combinations

        top = self.rank if max_size is None else min(max_size, self.rank)
        for size in range(top + 1):
            for combo in combinations(range(self.n), size):
                if np.all(self.counts(combo) <= self.budgets):
                    yield combo

    def bases(self):
        """Yield every basis (maximal independent set) as a sorted tuple (brute force)."""
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
    domains, codes = _encode_labels(labels)
    return domains, np.bincount(codes, minlength=len(domains)).astype(np.int64)


def _check_total(k, n: int) -> int:
    k = _as_budget(k, "k")
    if k > n:
        raise ValueError(f"k: cannot select {k} elements from a pool of {n}")
    return k


def proportional_budgets(labels, k: int) -> dict:
    """The authors' rule: k_d = floor(n_d / n * k), leftovers to the smallest budgets.

    Leftover slots go round-robin over the domains ordered by ascending k_d (ties by domain
    order), skipping domains already at their size n_d; the budgets sum to exactly k.
    """
    domains, sizes = _counts_by_domain(labels)
    n = int(sizes.sum())
    k = _check_total(k, n)
    if n == 0:
        return {}
    budgets = (sizes * k) // n
    order = np.argsort(budgets, kind="stable")
    leftover = k - int(budgets.sum())
    while leftover > 0:
        for d in order:
            if leftover == 0:
                break
            if budgets[d] < sizes[d]:
                budgets[d] += 1
                leftover -= 1
    return {d.item(): int(b) for d, b in zip(domains, budgets)}


def equal_budgets(labels, k: int) -> dict:
    """Split k as evenly as possible over domains, capped at each domain's size.

    Every domain gets floor(k / D) (or its size, if smaller); the remainder, including what
    capped domains could not take, goes one at a time to the domains with spare elements, in
    domain order. The budgets sum to exactly k.
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


def make_matroid(labels, budgets, k: int | None = None) -> PartitionMatroid:
    """Build a matroid from a budget rule name, an explicit mapping/sequence, or a matroid.

    ``budgets`` may be ``'proportional'`` or ``'equal'`` (then ``k`` is required), an explicit
    ``{domain: k_d}`` mapping or aligned sequence, or a ready :class:`PartitionMatroid`.
    """
    if isinstance(budgets, PartitionMatroid):
        if budgets.n != len(to_numpy(labels, "labels")):
            raise ValueError(f"budgets: matroid has {budgets.n} elements but labels have {len(labels)}")
        return budgets
    if isinstance(budgets, str):
        rules = {"proportional": proportional_budgets, "equal": equal_budgets}
        if budgets not in rules:
            raise ValueError(f"budgets: unknown rule {budgets!r}; use one of {sorted(rules)} or a mapping")
        if k is None:
            raise ValueError(f"budgets={budgets!r} needs the total k")
        return PartitionMatroid(labels, rules[budgets](labels, k))
    matroid = PartitionMatroid(labels, budgets)
    if k is not None and int(matroid.budgets.sum()) != int(k):
        raise ValueError(f"budgets sum to {int(matroid.budgets.sum())} but k = {k}")
    return matroid
