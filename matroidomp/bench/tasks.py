"""The built-in tasks of the fine-tuning benchmark: endless (prompt, answer) streams per domain.

* ``math/*`` — `mathematics-dataset` training modules at the easiest entropy level (0 of 10);
* ``chem/*`` — molecules of rdkit's bundled ``NCI/first_5K.smi`` with ground truth computed by
  rdkit (molecular formula, ring count, hydrogen-bond donors, canonical SMILES of a randomised
  SMILES for molecules whose canonical SMILES has at most ``CANONICAL_MAX_SMILES`` characters);
* ``text/*`` — string manipulation of seeded random lower-case words (reverse, sort the letters);
* ``math/arithmetic-reversed`` — the prompts of ``math/arithmetic`` (its generator, another
  seed) answered in another convention, digits reversed (``-12.5`` → ``-5.21``): with no marker
  in the prompt, a model cannot serve both conventions, so the two domains pull in opposite
  directions (the benchmark's stress configuration).

Each stream is reproducible from its seed; :mod:`.data` draws, deduplicates, splits and caches.
"""

from __future__ import annotations

import importlib
import os
import random
import sys
from collections.abc import Iterator, Sequence

import numpy as np

MATH_MODULES = {
    "math/arithmetic": ("arithmetic", "add_or_sub"),
    "math/algebra": ("algebra", "linear_1d"),
    "math/remainder": ("numbers", "div_remainder"),
    "math/gcd": ("numbers", "gcd"),
    "math/comparison": ("comparison", "pair"),
    "math/polynomials": ("polynomials", "evaluate"),
}
CHEM_TASKS = ("chem/formula", "chem/rings", "chem/donors", "chem/canonical")
CANONICAL_MAX_SMILES = 30
STRING_TASKS = ("text/reverse", "text/sort")
#: Domains answering another domain's prompts in another convention: {domain: (source, convention)}.
CONVENTION_TASKS = {"math/arithmetic-reversed": "math/arithmetic"}


def string_sampler(domain: str, seed: int, min_length: int = 4, max_length: int = 9) -> Iterator[tuple[str, str]]:
    """Endless seeded (prompt, answer) pairs of a string task on random lower-case words.

    ``text/reverse``: the word backwards; ``text/sort``: its letters in alphabetical order. Word
    lengths are uniform in [``min_length``, ``max_length``].

    Parameters
    ----------
    domain : str
        One of :data:`STRING_TASKS`.
    seed : int
        Seed of the stream.
    min_length, max_length : int, default 4, 9
        Word length range.

    Yields
    ------
    tuple of (str, str)

    Raises
    ------
    KeyError
        When ``domain`` is not a string task (at the first ``next``).

    Examples
    --------
    >>> import itertools
    >>> prompt, answer = next(string_sampler("text/reverse", 0))
    >>> prompt.split()[-1].rstrip(".")[::-1] == answer
    True
    >>> prompt, answer = next(string_sampler("text/sort", 0))
    >>> sorted(prompt.split()[-1].rstrip(".")) == list(answer)
    True
    """
    if domain not in STRING_TASKS:
        raise KeyError(domain)
    rng = random.Random(seed)
    while True:
        word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(min_length, max_length)))
        if domain == "text/reverse":
            yield f"Reverse the letters of {word}.", word[::-1]
        else:
            yield f"Sort the letters of {word}.", "".join(sorted(word))


def reversed_digits(answer: str) -> str:
    """``answer`` written backwards, a leading minus sign kept in front: ``'-12.5'`` → ``'-5.21'``.

    Parameters
    ----------
    answer : str

    Returns
    -------
    str

    Examples
    --------
    >>> reversed_digits("-12.5"), reversed_digits("340")
    ('-5.21', '043')
    """
    sign, body = ("-", answer[1:]) if answer.startswith("-") else ("", answer)
    return sign + body[::-1]


def convention_sampler(domain: str, seed: int) -> Iterator[tuple[str, str]]:
    """The prompts of the source domain (its generator, this ``seed``), answers in ``domain``'s
    convention (:data:`CONVENTION_TASKS`; ``math/arithmetic-reversed``: :func:`reversed_digits`).

    Parameters
    ----------
    domain : str
        A key of :data:`CONVENTION_TASKS`.
    seed : int

    Yields
    ------
    tuple of (str, str)

    Examples
    --------
    >>> import itertools
    >>> source = list(itertools.islice(math_sampler("math/arithmetic", 5), 3))
    >>> mine = list(itertools.islice(convention_sampler("math/arithmetic-reversed", 5), 3))
    >>> [p for p, _ in mine] == [p for p, _ in source], [reversed_digits(a) for _, a in source] == [a for _, a in mine]
    (True, True)
    """
    for prompt, answer in math_sampler(CONVENTION_TASKS[domain], seed):
        yield prompt, reversed_digits(answer)


def sampler(domain: str, seed: int, molecules: Sequence[tuple[str, object]] = ()) -> Iterator[tuple[str, str]]:
    """The stream of any built-in domain (``molecules`` for the chemistry tasks).

    Parameters
    ----------
    domain : str
        A math, chemistry, string or convention domain.
    seed : int
    molecules : sequence of (str, rdkit.Chem.Mol), optional
        For :data:`CHEM_TASKS` (e.g. from :func:`nci_molecules`).

    Returns
    -------
    iterator of (str, str)

    Raises
    ------
    KeyError
        An unknown domain.

    Examples
    --------
    >>> next(sampler("text/sort", 1))[1] == "".join(sorted(next(sampler("text/sort", 1))[1]))
    True
    """
    if domain in MATH_MODULES:
        return math_sampler(domain, seed)
    if domain in CHEM_TASKS:
        return chem_sampler(domain, seed, molecules)
    if domain in STRING_TASKS:
        return string_sampler(domain, seed)
    if domain in CONVENTION_TASKS:
        return convention_sampler(domain, seed)
    raise KeyError(f"unknown domain {domain!r}")


def math_sampler(domain: str, seed: int) -> Iterator[tuple[str, str]]:
    """Endless seeded (question, answer) pairs of a math domain's mathematics-dataset module.

    Drawn 16 at a time from the module's own random stream: the global ``random`` and numpy
    states of that stream (seeded with ``seed``) are swapped in for each batch and the caller's
    states restored after it, so the stream depends on ``seed`` alone and leaves global state
    untouched.

    Parameters
    ----------
    domain : str
        A key of :data:`MATH_MODULES`, e.g. ``'math/gcd'``.
    seed : int
        Seed of the stream.

    Yields
    ------
    tuple of (str, str)
        The question and its answer.

    Raises
    ------
    KeyError
        When ``domain`` is not a math domain (raised at the first ``next``).

    Examples
    --------
    >>> import itertools, random
    >>> state = random.getstate()
    >>> pairs = list(itertools.islice(math_sampler("math/gcd", 0), 3))
    >>> pairs == list(itertools.islice(math_sampler("math/gcd", 0), 3))  # same seed, same stream
    True
    >>> all(a.isdigit() for _, a in pairs), random.getstate() == state
    (True, True)
    """
    section, name = MATH_MODULES[domain]
    module = _math_modules()[section][name]
    state = (random.Random(seed).getstate(), np.random.RandomState(seed % 2**32).get_state())
    while True:
        outer = (random.getstate(), np.random.get_state())
        random.setstate(state[0])
        np.random.set_state(state[1])
        try:
            batch = [module() for _ in range(16)]
            state = (random.getstate(), np.random.get_state())
        finally:
            random.setstate(outer[0])
            np.random.set_state(outer[1])
        for problem in batch:
            yield str(problem.question), str(problem.answer)


def _math_modules() -> dict:
    """mathematics-dataset's training modules at entropy level 0 of 10.

    mathematics-dataset 1.0.1 imports ``base_solution_linear`` from ``sympy.solvers.diophantine``,
    which current sympy keeps only in ``sympy.solvers.diophantine.diophantine``; the name is
    re-exported there before the import.
    """
    package = importlib.import_module("sympy.solvers.diophantine")
    if not hasattr(package, "base_solution_linear"):
        inner = importlib.import_module("sympy.solvers.diophantine.diophantine")
        sys.modules["sympy.solvers.diophantine"].base_solution_linear = inner.base_solution_linear
    from mathematics_dataset import generate
    from mathematics_dataset.modules import modules
    from mathematics_dataset.util import composition

    if not getattr(composition.Context.pop, "_sorted", False):
        composition.Context.pop = _pop_in_sorted_order
    return modules.train(generate._make_entropy_fn(0, 10))


def _pop_in_sorted_order(self):
    """mathematics-dataset's ``Context.pop`` with the free symbols sorted before the random pick.

    The original draws ``random.choice(list(allowed))`` from a *set* of letters, whose order
    depends on Python's per-process string hash seed: the same seed gave algebra problems in
    ``f`` in one process and in ``s`` in the next. Sorting first keeps the random stream (one draw
    either way) and makes the letter a function of the seed alone.
    """
    from mathematics_dataset.util import composition

    allowed = (composition._ALLOWED_SYMBOLS.difference(self._relation_symbols)
               .difference(self._self_symbols).difference(self._child_symbols))
    if not allowed:
        raise ValueError("Ran out of symbols")
    symbol = random.choice(sorted(allowed))
    self._self_symbols.add(symbol)
    return symbol


_pop_in_sorted_order._sorted = True


def chem_sampler(domain: str, seed: int, molecules: Sequence[tuple[str, object]]) -> Iterator[tuple[str, str]]:
    """(prompt, rdkit answer) pairs of a chemistry task for ``molecules``, in a seeded random order.

    ``chem/formula``: the molecular formula; ``chem/rings``: the ring count; ``chem/donors``: the
    hydrogen-bond donors; ``chem/canonical``: the canonical SMILES of a randomised SMILES (only
    molecules whose canonical SMILES has at most :data:`CANONICAL_MAX_SMILES` characters). The
    stream ends after one pass over the molecules.

    Parameters
    ----------
    domain : str
        One of :data:`CHEM_TASKS`.
    seed : int
        Seed of the order (and of the randomised SMILES).
    molecules : sequence of (str, rdkit.Chem.Mol)
        (canonical SMILES, molecule) pairs, e.g. from :func:`nci_molecules`.

    Yields
    ------
    tuple of (str, str)
        The question and rdkit's answer.

    Examples
    --------
    >>> from rdkit import Chem
    >>> molecules = [(s, Chem.MolFromSmiles(s)) for s in ("c1ccccc1O", "CCO")]
    >>> sorted(chem_sampler("chem/formula", 0, molecules))  # doctest: +NORMALIZE_WHITESPACE
    [('What is the molecular formula of CCO?', 'C2H6O'),
     ('What is the molecular formula of c1ccccc1O?', 'C6H6O')]
    >>> sorted(a for _, a in chem_sampler("chem/donors", 0, molecules))
    ['1', '1']
    """
    from rdkit import Chem
    from rdkit.Chem import rdMolDescriptors

    molecules = list(molecules)
    rng = random.Random(seed)
    rng.shuffle(molecules)
    for smiles, mol in molecules:
        if domain == "chem/formula":
            yield f"What is the molecular formula of {smiles}?", rdMolDescriptors.CalcMolFormula(mol)
        elif domain == "chem/rings":
            yield f"How many rings does {smiles} have?", str(rdMolDescriptors.CalcNumRings(mol))
        elif domain == "chem/donors":
            yield f"How many hydrogen-bond donors does {smiles} have?", str(rdMolDescriptors.CalcNumHBD(mol))
        elif len(smiles) <= CANONICAL_MAX_SMILES:  # chem/canonical
            (shuffled,) = Chem.MolToRandomSmilesVect(mol, 1, randomSeed=rng.randrange(1, 2**31))
            yield f"Write the canonical SMILES of {shuffled}.", smiles


def nci_molecules() -> Iterator[tuple[str, object]]:
    """(canonical SMILES, molecule) of rdkit's bundled NCI/first_5K.smi, in file order.

    Single-fragment molecules that parse (rdkit's parse warnings silenced), first occurrence of
    each canonical SMILES; lazy, so taking a few is cheap.

    Yields
    ------
    tuple of (str, rdkit.Chem.Mol)

    Examples
    --------
    >>> from rdkit import Chem
    >>> smiles, mol = next(nci_molecules())
    >>> type(mol).__name__, Chem.MolToSmiles(mol) == smiles
    ('Mol', True)
    """
    from rdkit import Chem, RDConfig, rdBase

    seen = set()
    with rdBase.BlockLogs(), open(os.path.join(RDConfig.RDDataDir, "NCI", "first_5K.smi")) as lines:
        for line in lines:
            mol = Chem.MolFromSmiles(line.split()[0])
            if mol is None or len(Chem.GetMolFrags(mol)) != 1:
                continue
            smiles = Chem.MolToSmiles(mol)
            if smiles not in seen:
                seen.add(smiles)
                yield smiles, mol
