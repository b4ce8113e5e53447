"""Heterogeneous instruction data for the fine-tuning benchmark: math and chemistry domains.

An example is a triple (prompt, answer, domain); a domain is named ``<family>/<task>``. Every
domain d is split four ways, disjoint by prompt:

    validation (v per domain, the selection anchors) | test (t, held out) | pretrain (p, warm-up)
    | train (n_d, the selection pool; imbalanced across domains)

Built-in domains (:data:`DOMAINS`, families grouped; generators in :mod:`.tasks`):

* ``math/*`` — `mathematics-dataset` modules at the easiest entropy level (level 0 of 10):
  arithmetic add_or_sub, algebra linear_1d, numbers div_remainder and gcd, comparison pair,
  polynomials evaluate;
* ``chem/*`` — molecules of rdkit's bundled ``NCI/first_5K.smi`` (single fragment, parsed,
  unique by canonical SMILES), ground truth computed by rdkit: molecular formula, ring count,
  hydrogen-bond donors, and the canonical SMILES of a randomised SMILES (molecules whose
  canonical SMILES has at most 30 characters);
* ``text/*`` — string manipulation of random words: reverse, sort the letters;
* ``math/arithmetic-reversed`` — arithmetic prompts answered with the digits reversed: the same
  prompts as ``math/arithmetic`` under another convention (not in the default mix; the stress
  configuration pairs the two).

Randomness: domain d of seed s is generated from its own seed sha256(f"{s}:{d}"). The
mathematics-dataset modules draw from Python's global ``random`` and numpy's global RNG; the
builder seeds both for each math domain and restores their previous states afterwards, so a
build leaves global RNG state unchanged.

Caching: :func:`build_tasks` writes ``<cache_dir>/<key>/{train,validation,test,pretrain}.jsonl``
(one ``{"prompt", "answer", "domain"}`` object a line) and ``meta.json`` (config, format
version, generator versions); ``key`` hashes those, and a later build with the same key reads
the files instead of generating.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import itertools
import json
import os
import random
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .tasks import CHEM_TASKS, CONVENTION_TASKS, MATH_MODULES, STRING_TASKS, nci_molecules, sampler

FORMAT_VERSION = 2  # 2: math variable letters independent of the hash seed (tasks._pop_in_sorted_order)
SPLITS = ("train", "validation", "test", "pretrain")

DOMAINS = (*MATH_MODULES, *CONVENTION_TASKS, *CHEM_TASKS, *STRING_TASKS)
DEFAULT_TRAIN_SIZES = {**{d: 900 for d in MATH_MODULES}, **{d: 150 for d in CHEM_TASKS}}
_GENERATORS = ("mathematics-dataset", "sympy", "rdkit")
JSONL_MAX_CHARS = 20_000
"""Default bound of :func:`load_jsonl` on len(prompt) + len(answer) of a line: the benchmark cuts
sequences to ``max_length`` tokens (96 by default) anyway, and tokenizer training time grows
roughly quadratically with the length of a text without whitespace (a 5 MB line took more than
300 s; 20,000 characters take 0.1 s)."""


def check_int(name: str, value, *, minimum: int | None) -> None:
    """Check one integer setting of a benchmark configuration.

    Parameters
    ----------
    name : str
        The setting's name, quoted in the error.
    value : object
    minimum : int or None
        The smallest allowed value (None: no bound).

    Raises
    ------
    TypeError
        ``value`` is not an int (a bool is refused too).
    ValueError
        ``value`` is below ``minimum``.

    Examples
    --------
    >>> check_int("steps", 10, minimum=1)
    >>> check_int("steps", 0, minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: steps must be at least 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


@dataclass(frozen=True)
class Example:
    """One instruction example: the model reads ``prompt`` and is trained to write ``answer``.

    Parameters
    ----------
    prompt : str
        The question.
    answer : str
        The reference answer (the tokens in the loss, and the exact-match target).
    domain : str
        ``'<family>/<task>'``, e.g. ``'math/gcd'``; the family is the part before ``/``.

    Examples
    --------
    >>> e = Example("What is 2 + 3?", "5", "math/arithmetic")
    >>> e.answer, family_of(e.domain)
    ('5', 'math')
    """

    prompt: str
    answer: str
    domain: str


@dataclass(frozen=True)
class DataConfig:
    """What :func:`build_tasks` generates: which domains, how many examples of each split, the seed.

    ``train_sizes`` maps each domain to build (a subset of :data:`DOMAINS`) to its number of
    training-pool examples; by default 900 per math domain and 150 per chemistry domain (6,000 in
    all, math : chemistry = 9 : 1 per domain). Every built domain also gets
    ``validation_per_domain``, ``test_per_domain`` and ``pretrain_per_domain`` examples. Examples
    with len(prompt) + len(answer) > ``max_chars`` are dropped (and replaced) while generating.

    Parameters
    ----------
    seed : int, default 0
        Domain d is generated from sha256(f"{seed}:{d}").
    train_sizes : mapping of str to int, default :data:`DEFAULT_TRAIN_SIZES`
        Training-pool size of every domain to build (each >= 1).
    validation_per_domain : int, default 16
        Anchors per domain (>= 1).
    test_per_domain : int, default 64
        Held-out examples per domain (>= 1).
    pretrain_per_domain : int, default 200
        Warm-up examples per domain (>= 0).
    max_chars : int, default 128
        Longest len(prompt) + len(answer) kept (>= 1).

    Raises
    ------
    TypeError
        When a count or the seed is not an int.
    ValueError
        When ``train_sizes`` is empty or not a mapping, names an unknown domain, or a count is
        below its minimum.

    Examples
    --------
    >>> config = DataConfig(train_sizes={"math/gcd": 3, "math/arithmetic": 2}, validation_per_domain=1,
    ...                     test_per_domain=1, pretrain_per_domain=0)
    >>> config.domains, config.per_domain("math/gcd")
    (('math/arithmetic', 'math/gcd'), 5)
    >>> DataConfig(train_sizes={"math/gcd": 0})
    Traceback (most recent call last):
    ...
    ValueError: train_sizes['math/gcd'] must be at least 1, got 0
    """

    seed: int = 0
    train_sizes: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_TRAIN_SIZES), hash=False)
    validation_per_domain: int = 16
    test_per_domain: int = 64
    pretrain_per_domain: int = 200
    max_chars: int = 128

    def __post_init__(self):
        """Check every field (see the class docstring)."""
        check_int("seed", self.seed, minimum=None)
        if not isinstance(self.train_sizes, Mapping) or len(self.train_sizes) == 0:
            raise ValueError("train_sizes must be a non-empty mapping from domain name to training-pool size")
        for domain, size in self.train_sizes.items():
            if domain not in DOMAINS:
                raise ValueError(f"train_sizes names unknown domain {domain!r}; known domains: {', '.join(DOMAINS)}")
            check_int(f"train_sizes[{domain!r}]", size, minimum=1)
        check_int("validation_per_domain", self.validation_per_domain, minimum=1)
        check_int("test_per_domain", self.test_per_domain, minimum=1)
        check_int("pretrain_per_domain", self.pretrain_per_domain, minimum=0)
        check_int("max_chars", self.max_chars, minimum=1)

    @property
    def domains(self) -> tuple[str, ...]:
        """The built domains, in :data:`DOMAINS` order (a tuple of str)."""
        return tuple(d for d in DOMAINS if d in self.train_sizes)

    def per_domain(self, domain: str) -> int:
        """Examples domain ``domain`` needs over all four splits.

        Parameters
        ----------
        domain : str
            A key of ``train_sizes``.

        Returns
        -------
        int
            train + validation + test + pretrain.

        Raises
        ------
        KeyError
            When ``domain`` is not built.
        """
        return (self.train_sizes[domain] + self.validation_per_domain + self.test_per_domain
                + self.pretrain_per_domain)


@dataclass(frozen=True)
class TaskData:
    """The four splits (train, validation, test, pretrain) of :class:`Example` and the domains.

    Within each split the examples are grouped by domain in ``domains`` order (shuffle before
    sampling minibatches); domains are ordered with families grouped.

    Parameters
    ----------
    train, validation, test, pretrain : tuple of Example
        The selection pool, the anchors, the held-out set and the warm-up set.
    domains : tuple of str
        Every domain, in order.

    Examples
    --------
    >>> data = TaskData(train=(Example("1+1", "2", "math/add"), Example("C?", "1", "chem/rings")),
    ...                 validation=(), test=(), pretrain=(), domains=("math/add", "chem/rings"))
    >>> {d: len(v) for d, v in data.by_domain("train").items()}
    {'math/add': 1, 'chem/rings': 1}
    >>> data.family("chem/rings")
    'chem'
    """

    train: tuple[Example, ...]
    validation: tuple[Example, ...]
    test: tuple[Example, ...]
    pretrain: tuple[Example, ...]
    domains: tuple[str, ...]

    def family(self, domain: str) -> str:
        """The family of ``domain``: its name up to the first '/' (the whole name if none).

        Parameters
        ----------
        domain : str
            One of ``domains``.

        Returns
        -------
        str

        Raises
        ------
        ValueError
            When ``domain`` is not one of ``domains``.
        """
        if domain not in self.domains:
            raise ValueError(f"unknown domain {domain!r}; domains: {', '.join(self.domains)}")
        return family_of(domain)

    def by_domain(self, split: str | Sequence[Example]) -> dict[str, list[Example]]:
        """Examples of ``split`` per domain, keyed in ``domains`` order; a domain without examples maps to [].

        Parameters
        ----------
        split : str or sequence of Example
            A split name from :data:`SPLITS`, or any examples of these domains.

        Returns
        -------
        dict of str to list of Example

        Raises
        ------
        ValueError
            When ``split`` is an unknown name, or an example's domain is not one of ``domains``.
        """
        if isinstance(split, str):
            if split not in SPLITS:
                raise ValueError(f"unknown split {split!r}; splits: {', '.join(SPLITS)}")
            split = getattr(self, split)
        groups = {d: [] for d in self.domains}
        for example in split:
            if example.domain not in groups:
                raise ValueError(f"example of unknown domain {example.domain!r}: {example.prompt!r}")
            groups[example.domain].append(example)
        return groups


def family_of(domain: str) -> str:
    """The family of a domain name: ``family/task`` ↦ ``family``; a name without '/' is its own family.

    Parameters
    ----------
    domain : str

    Returns
    -------
    str

    Examples
    --------
    >>> family_of("chem/rings"), family_of("plain")
    ('chem', 'plain')
    """
    return domain.split("/", 1)[0]


def build_tasks(config: DataConfig = DataConfig(), cache_dir: str | Path | None = None) -> TaskData:
    """The built-in math and chemistry data of ``config``: generated, or read from ``cache_dir``.

    Read from ``cache_dir`` when a build with the same config and generator versions
    (mathematics-dataset, sympy, rdkit) is stored there, otherwise generated (and stored,
    atomically: a folder renamed into place). Deterministic given the config and those versions;
    the global ``random`` and numpy states are left as they were.

    Parameters
    ----------
    config : DataConfig, default DataConfig()
        The domains, sizes and seed (the default: 10 domains, 6,000 training examples).
    cache_dir : str or Path, optional
        Where builds are cached (``<cache_dir>/<key>/``); None generates without caching.

    Returns
    -------
    TaskData

    Raises
    ------
    TypeError
        When ``config`` is not a :class:`DataConfig`.
    ValueError
        When a domain cannot supply enough distinct examples of at most ``max_chars``
        characters.

    Examples
    --------
    >>> config = DataConfig(train_sizes={"math/gcd": 3, "math/arithmetic": 2}, validation_per_domain=1,
    ...                     test_per_domain=1, pretrain_per_domain=0)
    >>> data = build_tasks(config)
    >>> data.domains, len(data.train), len(data.validation), len(data.test)
    (('math/arithmetic', 'math/gcd'), 5, 2, 2)
    >>> [e.domain for e in data.train]
    ['math/arithmetic', 'math/arithmetic', 'math/gcd', 'math/gcd', 'math/gcd']
    >>> import tempfile
    >>> cache = tempfile.mkdtemp()
    >>> build_tasks(config, cache) == build_tasks(config, cache) == data  # generated, then read back
    True
    """
    if not isinstance(config, DataConfig):
        raise TypeError(f"config must be a DataConfig, got {type(config).__name__}")
    if cache_dir is None:
        return _generate(config)
    meta = _meta(config)
    key = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:16]
    target = Path(cache_dir) / key
    if (target / "meta.json").exists() and json.loads((target / "meta.json").read_text()) == meta:
        return _read_splits(target, config.domains)
    data = _generate(config)
    _write_splits(data, meta, target)
    return data


def load_jsonl(
    path: str | Path,
    *,
    seed: int = 0,
    validation_per_domain: int = 16,
    test_per_domain: int = 64,
    pretrain_per_domain: int = 0,
    max_chars: int = JSONL_MAX_CHARS,
) -> TaskData:
    """The user's own data from a JSONL file of ``{"prompt", "answer", "domain"}`` lines, split per domain.

    One JSON object a line (UTF-8) with non-empty string fields ``prompt``, ``answer`` and
    ``domain`` (blank lines skipped, other keys ignored), len(prompt) + len(answer) at most
    ``max_chars`` (default :data:`JSONL_MAX_CHARS`).

    A repeated prompt with the same answer is kept once; with a different answer it is an error.
    Each domain's examples are shuffled with its seed sha256(f"{seed}:{domain}") and split
    validation | test | pretrain | train (the rest, at least one). Domains are sorted by
    (family, name).

    Parameters
    ----------
    path : str or Path
        The JSONL file.
    seed : int, default 0
        Seed of the per-domain shuffles.
    validation_per_domain : int, default 16
        Anchors per domain (>= 1).
    test_per_domain : int, default 64
        Held-out examples per domain (>= 1).
    pretrain_per_domain : int, default 0
        Warm-up examples per domain (>= 0).
    max_chars : int, default :data:`JSONL_MAX_CHARS`
        Longest len(prompt) + len(answer) accepted (>= 1).

    Returns
    -------
    TaskData

    Raises
    ------
    TypeError
        When a count or the seed is not an int.
    ValueError
        When a count is below its minimum; when a line is not valid UTF-8 or JSON, not an
        object, lacks a field, has a non-string or empty field or is longer than ``max_chars``
        (the message names the line); when a prompt repeats with another answer; when the file
        has no examples, or a domain has too few to fill the held-out splits and one training
        example.
    OSError
        When the file cannot be read.

    Examples
    --------
    >>> import json, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "mine.jsonl")
    >>> with open(path, "w") as f:
    ...     for i in range(6):
    ...         _ = f.write(json.dumps({"prompt": f"{i} + {i} =", "answer": str(2 * i), "domain": "math/add"}) + "\\n")
    ...         _ = f.write(json.dumps({"prompt": f"Spell {i}", "answer": "x" * (i + 1), "domain": "text/spell"}) + "\\n")
    >>> data = load_jsonl(path, validation_per_domain=1, test_per_domain=2)
    >>> data.domains, len(data.train), len(data.validation), len(data.test), len(data.pretrain)
    (('math/add', 'text/spell'), 6, 2, 4, 0)
    >>> load_jsonl(path, test_per_domain=5)
    Traceback (most recent call last):
    ...
    ValueError: ...: domain 'math/add' has 6 distinct examples; it needs more than 21 (16 validation + 5 test + 0 pretrain, and at least one for training)
    """
    check_int("seed", seed, minimum=None)
    check_int("validation_per_domain", validation_per_domain, minimum=1)
    check_int("test_per_domain", test_per_domain, minimum=1)
    check_int("pretrain_per_domain", pretrain_per_domain, minimum=0)
    check_int("max_chars", max_chars, minimum=1)
    groups: dict[str, list[Example]] = {}
    seen: dict[str, tuple[int, str]] = {}
    for number, example in _parse_jsonl(Path(path), max_chars):
        if example.prompt in seen:
            first, answer = seen[example.prompt]
            if answer != example.answer:
                raise ValueError(f"{path}: line {number} repeats the prompt of line {first} with a different answer")
            continue
        seen[example.prompt] = (number, example.answer)
        groups.setdefault(example.domain, []).append(example)
    if not groups:
        raise ValueError(f"{path}: no examples")
    held = validation_per_domain + test_per_domain + pretrain_per_domain
    domains = tuple(sorted(groups, key=lambda d: (family_of(d), d)))
    splits = {name: [] for name in SPLITS}
    for domain in domains:
        examples = groups[domain]
        if len(examples) <= held:
            raise ValueError(f"{path}: domain {domain!r} has {len(examples)} distinct examples; it needs more than "
                             f"{held} ({validation_per_domain} validation + {test_per_domain} test + "
                             f"{pretrain_per_domain} pretrain, and at least one for training)")
        random.Random(_domain_seed(seed, domain)).shuffle(examples)
        for name, part in zip(SPLITS, _split(examples, validation_per_domain, test_per_domain, pretrain_per_domain)):
            splits[name].extend(part)
    return TaskData(**{name: tuple(splits[name]) for name in SPLITS}, domains=domains)


def _parse_jsonl(path: Path, max_chars: int) -> Iterator[tuple[int, Example]]:
    """(line number, example) of every non-blank line of ``path``, each checked (see :func:`load_jsonl`)."""
    for number, line in _utf8_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: line {number} is not valid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}: line {number} is a JSON {type(record).__name__}, not an object")
        for key in ("prompt", "answer", "domain"):
            if key not in record:
                raise ValueError(f"{path}: line {number} has no {key!r} key")
            if not isinstance(record[key], str):
                raise ValueError(f"{path}: line {number}: {key!r} is a {type(record[key]).__name__}, not a string")
            if not record[key].strip():
                raise ValueError(f"{path}: line {number}: {key!r} is empty")
        size = len(record["prompt"]) + len(record["answer"])
        if size > max_chars:
            raise ValueError(f"{path}: line {number}: prompt and answer have {size} characters together, more than "
                             f"max_chars = {max_chars} (training cuts sequences to max_length tokens anyway, and "
                             f"very long texts make tokenizer training crawl)")
        yield number, Example(record["prompt"], record["answer"], record["domain"])


def _utf8_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(number, text) of each line of ``path``; bytes that are not UTF-8 are an error naming the
    line and the byte's offset in the file."""
    offset = 0
    with open(path, "rb") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(f"{path}: line {number} is not valid UTF-8 ({error.reason} at byte offset "
                                 f"{offset + error.start} of the file)") from None
            offset += len(line)
            yield number, text


def _split(examples: Sequence[Example], validation: int, test: int, pretrain: int):
    """validation | test | pretrain | train slices of ``examples``."""
    a, b, c = validation, validation + test, validation + test + pretrain
    return examples[c:], examples[:a], examples[a:b], examples[b:c]


def _generate(config: DataConfig) -> TaskData:
    """Every domain of ``config`` generated and split (the uncached path of :func:`build_tasks`)."""
    splits = {name: [] for name in SPLITS}
    seen: set[str] = set()
    molecules = tuple(nci_molecules()) if any(d in CHEM_TASKS for d in config.domains) else ()
    for domain in config.domains:
        seed = _domain_seed(config.seed, domain)
        samples = sampler(domain, seed, molecules)
        drawn = _draw(domain, samples, config.per_domain(domain), config.max_chars, seen)
        for name, part in zip(SPLITS, _split(drawn, config.validation_per_domain, config.test_per_domain,
                                             config.pretrain_per_domain)):
            splits[name].extend(part)
    return TaskData(**{name: tuple(splits[name]) for name in SPLITS}, domains=config.domains)


def _draw(domain: str, samples: Iterator[tuple[str, str]], count: int, max_chars: int, seen: set[str]) -> list[Example]:
    """The first ``count`` samples with a new prompt and at most ``max_chars`` characters, looking
    at no more than 20·count + 1000 samples."""
    drawn = []
    for prompt, answer in itertools.islice(samples, 20 * count + 1000):
        if len(prompt) + len(answer) <= max_chars and prompt not in seen:
            seen.add(prompt)
            drawn.append(Example(prompt, answer, domain))
            if len(drawn) == count:
                return drawn
    raise ValueError(f"domain {domain!r}: only {len(drawn)} distinct examples of at most {max_chars} characters "
                     f"could be drawn, {count} needed; lower its sizes or raise max_chars")


def _meta(config: DataConfig) -> dict:
    """What the cache key hashes and meta.json stores."""
    versions = {name: importlib.metadata.version(name) for name in _GENERATORS}
    settings = {f.name: getattr(config, f.name) for f in fields(config)}
    settings["train_sizes"] = dict(sorted(config.train_sizes.items()))
    return {"format_version": FORMAT_VERSION, "config": settings, "versions": versions}


def _write_splits(data: TaskData, meta: dict, target: Path) -> None:
    """The four JSONL files and meta.json, written to a temporary folder then renamed to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    try:
        for name in SPLITS:
            with open(staging / f"{name}.jsonl", "w", encoding="utf-8") as out:
                for example in getattr(data, name):
                    out.write(json.dumps(asdict(example), ensure_ascii=False) + "\n")
        (staging / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _read_splits(target: Path, domains: tuple[str, ...]) -> TaskData:
    """The four splits of a cached build in ``target``."""
    splits = {}
    for name in SPLITS:
        with open(target / f"{name}.jsonl", encoding="utf-8") as lines:
            splits[name] = tuple(Example(**json.loads(line)) for line in lines)
    return TaskData(**splits, domains=domains)


def _domain_seed(seed: int, domain: str) -> int:
    """A 63-bit seed for ``domain`` derived from ``seed``: sha256(f"{seed}:{domain}")."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{domain}".encode()).digest()[:8], "big") >> 1
