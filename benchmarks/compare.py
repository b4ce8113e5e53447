"""Shared timing of selection methods against a reference library, in one run.

:func:`alternate` times every method once per repeat, in turn, so that a change of machine load
hits all methods alike, and keeps every time (a range over repeats, never a single best);
:func:`ratio_range` is the range of the per-repeat ratios of two methods; :func:`span` prints a
range. Used by the ``report()`` of test_bench_pairwise.py, test_bench_logdet.py and
test_bench_targeted.py, by bench_estimator.py and by toolkit_table.py.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np


def alternate(methods: dict[str, Callable[[], object]], repeats: int,
              warmup: dict[str, Callable[[], object]] | None = None):
    """Time ``methods`` in alternation, ``repeats`` rounds; return (times per method, last result per method).

    ``warmup[name]()`` runs once before the first round (numba compilation, caches), untimed.
    Results are converted with ``numpy.asarray`` so selections can be compared.
    """
    for name, fn in (warmup or {}).items():
        if name in methods:
            fn()
    times = {name: [] for name in methods}
    results = {}
    for _ in range(repeats):
        for name, fn in methods.items():
            start = time.perf_counter()
            out = fn()
            times[name].append(time.perf_counter() - start)
            results[name] = np.asarray(out)
    return times, results


def ratio_range(times: dict[str, list[float]], numerator: str, denominator: str) -> tuple[float, float]:
    """(min, max) over the repeats of times[numerator][r] / times[denominator][r]."""
    ratios = np.asarray(times[numerator]) / np.asarray(times[denominator])
    return float(ratios.min()), float(ratios.max())


def first_difference(f, ours, theirs) -> str:
    """Where two greedy selections of the set function ``f`` first differ, and whether that is an exact tie.

    'same order', or 'step t (an exact tie)' when the two picks at step t have bitwise equal gains
    in ``f`` after the common prefix (either is a correct greedy choice), else 'step t (not a tie)'.
    """
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if ours.shape == theirs.shape and np.array_equal(ours, theirs):
        return "same order"
    size = min(len(ours), len(theirs))
    differ = np.flatnonzero(ours[:size] != theirs[:size])
    if not differ.size:
        return f"same order for {size} steps, then {len(ours)} vs {len(theirs)} picks"
    step = int(differ[0])
    state = f.new_state()
    for j in ours[:step]:
        state.add(int(j))
    a, b = state.gains(np.array([ours[step], theirs[step]], dtype=np.int64))
    return f"step {step + 1} ({'an exact tie' if a == b else 'not a tie'})"


def summary(times: dict, picks: dict, f, reference: str) -> dict:
    """The comparison of one function: times, ratio ranges reference / ours (lazy, naive), agreement.

    ``times`` and ``picks`` come from :func:`alternate` with the methods ``ours``, ``ours_naive``,
    ``<reference>_lazy`` and ``<reference>_naive``; picks are compared with the reference's naive
    greedy, and ``value_ratio`` is f(ours) / f(theirs) by our set function ``f``.
    """
    theirs = picks[f"{reference}_naive"]
    return {
        "times": times,
        "lazy": ratio_range(times, f"{reference}_lazy", "ours"),
        "naive": ratio_range(times, f"{reference}_naive", "ours_naive"),
        "agreement": first_difference(f, picks["ours"], theirs),
        "value_ratio": f(picks["ours"]) / f(theirs),
    }


def summary_line(name: str, r: dict, reference: str) -> str:
    """One line of a report: our and the reference's times, the ratio ranges and the agreement."""
    t = r["times"]
    return (f"{name:<19} ours lazy {span(t['ours'])}  naive {span(t['ours_naive'])}  "
            f"{reference} lazy {span(t[reference + '_lazy'])}  naive {span(t[reference + '_naive'])}  "
            f"ratio lazy {span(r['lazy'], 1)}  naive {span(r['naive'], 1)}  picks: {r['agreement']}  "
            f"f(ours)/f(theirs) {r['value_ratio']:.6f}")


def span(values, digits: int = 3) -> str:
    """'lo–hi' of a sequence (one value when all are equal at that precision)."""
    lo, hi = f"{min(values):.{digits}f}", f"{max(values):.{digits}f}"
    return lo if lo == hi else f"{lo}–{hi}"
