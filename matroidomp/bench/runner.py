"""Fine-tuning runs: one (method, seed) = ``steps`` selective training steps from the same start.

Step t of seed s draws a pool P_t of ``batch · buffer`` training examples uniformly without
replacement (ordered by token length, so that gradient chunks hold similar lengths) and
``anchors`` validation examples, both from generators seeded by s alone — every method of a
seed sees the same pools and anchors — then calls
:func:`matroidomp.torch.selective_step`: select ``batch`` of P_t with the method (η = the scheduled
learning rate, gradients of the last ``grad_layers`` decoder layers' q,k,v,gate,up,down), one AdamW
step on the mean answer-token loss of the selection. Every ``eval_every`` steps (and at 0 and the
end) each domain's held-out test set is scored: mean answer-token loss and exact-match accuracy of
greedy decoding.

Results go to a JSONL file, one record per line: ``step`` (training loss, selected and pool counts
per domain, objective, conflicting pairs, seconds in gradients / selection / training), ``eval``
(per-domain loss and accuracy) and ``done`` for every finished run. A sweep skips runs already done in its
file and drops the records of an unfinished one before rerunning it, so an interrupted sweep
resumes where it stopped; every record carries the sweep's configuration key, and a file written
with another configuration is refused. The key covers the settings and, with ``data_file``, the
sha256 of the data file's bytes (editing the data makes a new configuration).

A finished run is never lost to a failed write: each record is appended, flushed and fsync'ed on
its own, and the file is rewritten (on resume) only through a temporary file in the same folder
that replaces it once complete. A last line cut by a crash or a full disk is dropped with a
warning when the file is read.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import numbers
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import transformers
from tqdm.auto import tqdm

from .._io import replace_text
from ..torch import PartitionSelector, last_layer_linears
from ..torch._per_example import DEFAULT_KINDS
from ..torch._selector import METHODS
from ..torch._training import mean_answer_loss, selective_step
from .data import DataConfig, Example, TaskData, check_int
from .model import with_lora
from .text import decode_answers, encode_examples, encode_prompts, unigram_answer_losses


@dataclass(frozen=True)
class BenchConfig:
    """Everything a sweep depends on besides the methods and seeds (frozen; its :meth:`key` names the results).

    ``batch`` examples are trained on per step out of a pool of ``batch · buffer``; ``lr`` peaks after
    a 3 % linear warm-up and decays linearly to 0 at ``steps`` (the authors' schedule);
    ``pretrain_steps`` warm-up steps of the tiny model on the pretraining split (ignored for a
    local ``--model``); ``budgets``: the selector's per-domain budget rule; ``data_file``: the
    user's JSONL instead of the built tasks; ``model_path`` (and ``gguf_file``): a local Hugging
    Face model instead of the tiny Qwen2.

    Counts must be at least 1 (``pretrain_steps`` at least 0) and ``lr`` positive: nonsense values
    are refused here rather than failing (or reporting NaN) in the middle of a sweep.

    Fields added after the first results files (``adam_directions``, ``lora_r``, ``lora_alpha``)
    enter the settings, and the key, only when they differ from their defaults, so older files
    keep their keys.

    Parameters
    ----------
    data : DataConfig, default DataConfig()
        The built tasks (ignored but for its counts and seed with ``data_file``).
    steps : int, default 100
        Training steps per run.
    batch : int, default 16
        Examples trained on per step (the selector's k).
    buffer : int, default 8
        Pool size over batch size.
    lr : float, default 3e-3
        Peak learning rate (AdamW).
    anchors : int, default 8
        Validation anchors per step.
    eval_every : int, default 20
        Steps between held-out evaluations.
    grad_layers : int, default 2
        Decoder layers (from the top) whose q, k, v, gate, up, down weights span the gradients.
    projection_dim : int, optional
        Random projection of the per-example gradients.
    budgets : str, default 'proportional'
        The budget rule (``'proportional'`` or ``'equal'``).
    max_length : int, default 96
        Token limit of a row.
    pretrain_steps : int, default 100
        Warm-up steps of the tiny model.
    vocab_size : int, default 1024
        Tokenizer size.
    data_file : str, optional
        The user's JSONL instead of the built tasks.
    model_path : str, optional
        A local Hugging Face model directory instead of the tiny Qwen2.
    gguf_file : str, optional
        A GGUF file inside ``model_path``.
    adam_directions : bool, default False
        Select on the pool examples' AdamW update directions (``preconditioner="optimizer"`` of
        :func:`~matroidomp.torch.selective_step`) instead of their raw gradients.
    lora_r : int, optional
        Fine-tune peft LoRA adapters of rank r on q, k, v, gate, up, down of every layer (the
        base weights frozen) instead of all weights; the gradients are then those of the adapters
        (A and B) of the last ``grad_layers`` layers, as in the authors' setting.
    lora_alpha : float, default 32
        LoRA's α (scale α/r); used with ``lora_r``.

    Raises
    ------
    TypeError
        When ``data`` is not a :class:`DataConfig` or a count is not an int.
    ValueError
        When a count is below its minimum, or ``lr`` is not a positive finite number.

    Examples
    --------
    >>> config = BenchConfig(steps=10, batch=4)
    >>> config.batch * config.buffer, len(config.key())  # the pool; a 12-hex-digit key
    (32, 12)
    >>> config.key() == BenchConfig(steps=10, batch=4).key() != BenchConfig(steps=11, batch=4).key()
    True
    >>> BenchConfig(lr=0.0)
    Traceback (most recent call last):
    ...
    ValueError: lr must be a positive finite number, got 0.0
    """

    data: DataConfig = field(default_factory=DataConfig)
    steps: int = 100
    batch: int = 16
    buffer: int = 8
    lr: float = 3e-3
    anchors: int = 8
    eval_every: int = 20
    grad_layers: int = 2
    projection_dim: int | None = None
    budgets: str = "proportional"
    max_length: int = 96
    pretrain_steps: int = 100
    vocab_size: int = 1024
    data_file: str | None = None
    model_path: str | None = None
    gguf_file: str | None = None
    adam_directions: bool = False
    lora_r: int | None = None
    lora_alpha: float = 32.0

    def __post_init__(self):
        """Check every field (see the class docstring)."""
        if not isinstance(self.data, DataConfig):
            raise TypeError(f"data must be a DataConfig, got {type(self.data).__name__}")
        for name in ("steps", "batch", "buffer", "anchors", "eval_every", "grad_layers"):
            check_int(name, getattr(self, name), minimum=1)
        check_int("pretrain_steps", self.pretrain_steps, minimum=0)
        if self.lora_r is not None:
            check_int("lora_r", self.lora_r, minimum=1)
        if (isinstance(self.lora_alpha, bool) or not isinstance(self.lora_alpha, numbers.Real)
                or not (math.isfinite(self.lora_alpha) and self.lora_alpha > 0)):
            raise ValueError(f"lora_alpha must be a positive finite number, got {self.lora_alpha!r}")
        if not isinstance(self.adam_directions, bool):
            raise TypeError(f"adam_directions must be a bool, got {type(self.adam_directions).__name__}")
        if self.projection_dim is not None:
            check_int("projection_dim", self.projection_dim, minimum=1)
        if (isinstance(self.lr, bool) or not isinstance(self.lr, numbers.Real)
                or not (math.isfinite(self.lr) and self.lr > 0)):
            raise ValueError(f"lr must be a positive finite number, got {self.lr!r}")

    def settings(self) -> dict:
        """The fields as a dict, plus ``data_sha256`` (the data file's content hash) with ``data_file``.

        Returns
        -------
        dict
            JSON-serialisable; ``data`` as a nested dict.

        Raises
        ------
        OSError
            When ``data_file`` is set but cannot be read.
        """
        settings = dataclasses.asdict(self)
        for name, default in _LATER_FIELDS.items():  # the keys of results files older than these fields
            if settings[name] == default:
                del settings[name]
        if self.data_file:
            settings["data_sha256"] = file_sha256(self.data_file)
        return settings

    def key(self) -> str:
        """A short hash of :meth:`settings` (records of different configurations, or of different
        contents of the data file, never mix).

        Returns
        -------
        str
            12 hex digits of the sha256 of the settings as sorted JSON.
        """
        return _key(self.settings())


#: Fields added after the first results files, with their defaults (left out of the settings there).
_LATER_FIELDS = {"adam_directions": False, "lora_r": None, "lora_alpha": 32.0}


def _key(settings: dict) -> str:
    """The configuration key: 12 hex digits of the sha256 of ``settings`` as sorted JSON."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]


def file_sha256(path: str | Path, block: int = 1 << 20) -> str:
    """The sha256 hex digest of the bytes of ``path``, read ``block`` bytes at a time (constant memory).

    Parameters
    ----------
    path : str or Path
    block : int, default 2**20
        Bytes read at a time.

    Returns
    -------
    str
        64 hex digits.

    Raises
    ------
    OSError
        When the file cannot be read.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "empty.jsonl")
    >>> open(path, "w").close()
    >>> file_sha256(path)
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            digest.update(chunk)
    return digest.hexdigest()


class ResultsFile:
    """The JSONL results file of one sweep configuration: resumable, crash-safe, refusing other configurations.

    The first record is a ``config`` header with the full settings (added to a file that lacks
    it). Opening an existing file keeps its finished runs (``done``) and drops the records of an
    unfinished one (rewritten atomically); see the module docstring.

    Parameters
    ----------
    path : str or Path
        The file (created with its folder when missing).
    config : BenchConfig
        The sweep's configuration.

    Attributes
    ----------
    done : set of (str, int)
        The finished (method, seed) runs.
    key : str
        The configuration key every appended record carries.

    Raises
    ------
    ValueError
        When the file holds records of another configuration, or a malformed line that is not
        its last.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "results.jsonl")
    >>> config = BenchConfig(steps=1)
    >>> results = ResultsFile(path, config)
    >>> results.append({"type": "done", "method": "random", "seed": 0, "steps": 1})
    >>> ResultsFile(path, config).done  # reopened: the finished run is known
    {('random', 0)}
    >>> ResultsFile(path, BenchConfig(steps=2))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ... holds results of another configuration (...); write to a new --out file
    """

    def __init__(self, path: str | Path, config: BenchConfig):
        settings = config.settings()  # hashes the data file once
        self.path, self.key = Path(path), _key(settings)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        records, whole = _read(self.path) if self.path.exists() else ([], True)
        other = {r.get("config") for r in records} - {self.key}
        if other:
            raise ValueError(f"{self.path} holds results of another configuration ({sorted(map(str, other))}, "
                             f"this one is {self.key}); write to a new --out file")
        runs = [r for r in records if r["type"] != "config"]
        self.done = {(r["method"], r["seed"]) for r in runs if r["type"] == "done"}
        kept = [r for r in runs if (r["method"], r["seed"]) in self.done]  # drops an interrupted run
        header = {"type": "config", "config": self.key, "settings": settings}
        if records[:1] != [header] or len(kept) != len(runs) or not whole:
            replace_text(self.path, "".join(json.dumps(r) + "\n" for r in [header, *kept]))

    def append(self, record: dict) -> None:
        """Add ``record`` as one line, flushed and fsync'ed: a crash or a failed write can cut only
        this line, never the earlier ones (a cut last line is dropped when the file is read).

        Parameters
        ----------
        record : dict
            JSON-serialisable; stored with the configuration key added as ``config``.
        """
        with self.path.open("a") as f:
            f.write(json.dumps({**record, "config": self.key}) + "\n")
            f.flush()
            os.fsync(f.fileno())


def read_records(path: str | Path) -> list[dict]:
    """All records of a results file, header first; a last line cut by a crash is dropped with a warning.

    A last line without its newline that is no JSON record (a write cut by a crash or a full
    disk) is dropped with a warning; a malformed line anywhere else is an error naming its line.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    list of dict

    Raises
    ------
    ValueError
        When a line other than the last is not a JSON record.
    OSError
        When the file cannot be read.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "results.jsonl")
    >>> ResultsFile(path, BenchConfig(steps=1)).append({"type": "done", "method": "random", "seed": 0})
    >>> [r["type"] for r in read_records(path)]
    ['config', 'done']
    """
    return _read(Path(path))[0]


def read_results(paths: Sequence[str | Path]) -> list[dict]:
    """The records of one or more results files of one configuration, concatenated.

    Files whose records carry different configuration keys are refused (their runs are not seeds
    of one sweep).

    Parameters
    ----------
    paths : sequence of str or Path

    Returns
    -------
    list of dict

    Raises
    ------
    ValueError
        When the files hold different configurations (naming both), or a malformed line.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> a, b = os.path.join(folder, "a.jsonl"), os.path.join(folder, "b.jsonl")
    >>> ResultsFile(a, BenchConfig(steps=1)).append({"type": "done", "method": "random", "seed": 0})
    >>> ResultsFile(b, BenchConfig(steps=1)).append({"type": "done", "method": "random", "seed": 1})
    >>> [r.get("seed") for r in read_results([a, b])]
    [None, 0, None, 1]
    >>> c = os.path.join(folder, "c.jsonl")
    >>> ResultsFile(c, BenchConfig(steps=2)).append({"type": "done", "method": "random", "seed": 0})
    >>> read_results([a, c])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ... holds results of configuration ... of configuration ...; report each configuration on its own
    """
    records, first = [], None  # first: (file, key) of the first record
    for path in paths:
        for record in read_records(path):
            key = record.get("config")
            if first is None:
                first = (path, key)
            elif key != first[1]:
                raise ValueError(f"{first[0]} holds results of configuration {first[1]} but {path} of "
                                 f"configuration {key}; report each configuration on its own")
            records.append(record)
    return records


def _read(path: Path) -> tuple[list[dict], bool]:
    """(the records of :func:`read_records`, whether the file ends with a whole line)."""
    text = path.read_text()
    lines = text.split("\n")  # the last item is the text after the last newline ('' if none)
    records = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as err:
                if number < len(lines):
                    raise ValueError(f"{path}:{number}: not a JSON record ({err.msg})") from None
                warnings.warn(f"{path}:{number}: dropped the incomplete last line (a write cut short by a crash "
                              f"or a full disk)", stacklevel=3)
    return records, not lines[-1]


class TestSets:
    """Per-domain held-out sets, encoded once: teacher-forced rows for the loss, left-padded prompts
    for greedy decoding, and the reference answers.

    Parameters
    ----------
    tokenizer : transformers tokenizer
    examples : sequence of Example
        The test split.
    domains : sequence of str
        The domains to score (those without examples are left out).
    max_length : int
        Token limit of a row.

    Raises
    ------
    ValueError
        When ``examples`` is empty or an example cannot be encoded.

    Examples
    --------
    >>> from matroidomp.bench.data import Example, TaskData
    >>> from matroidomp.bench.model import tiny_model
    >>> from matroidomp.bench.text import train_tokenizer
    >>> def example(domain, i):
    ...     return Example(f"{domain} {i} + {i} =", str(2 * i), domain)
    >>> data = TaskData(train=tuple(example(d, i) for d in ("math/a", "chem/b") for i in range(4)),
    ...                 validation=(example("math/a", 7), example("chem/b", 8)),
    ...                 test=(example("math/a", 9), example("chem/b", 9)), pretrain=(),
    ...                 domains=("math/a", "chem/b"))
    >>> tokenizer = train_tokenizer([t for e in data.train + data.validation + data.test
    ...                              for t in (e.prompt, e.answer)], vocab_size=300)
    >>> model = tiny_model(tokenizer, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
    ...                    num_attention_heads=2, num_key_value_heads=1)
    >>> config = BenchConfig(steps=1, batch=2, buffer=2, anchors=1, grad_layers=1, pretrain_steps=0)
    >>> tests = TestSets(tokenizer, data.test, data.domains, max_length=32)
    >>> scores = tests.evaluate(model)
    >>> sorted(scores), sorted(scores["math/a"])
    (['chem/b', 'math/a'], ['accuracy', 'loss'])
    >>> scores["math/a"]["accuracy"]  # a random model answers nothing right
    0.0
    """

    def __init__(self, tokenizer, examples: Sequence[Example], domains: Sequence[str], max_length: int):
        self.tokenizer = tokenizer
        self.sets = {}
        for domain in domains:
            rows = [e for e in examples if e.domain == domain]
            if rows:
                self.sets[domain] = (encode_examples(tokenizer, rows, max_length),
                                     encode_prompts(tokenizer, rows, max_length), [e.answer for e in rows])
        longest = max(len(tokenizer(e.answer, add_special_tokens=False)["input_ids"]) for e in examples)
        self.max_new_tokens = longest + 2

    @torch.no_grad()
    def evaluate(self, model, chunk: int = 256) -> dict[str, dict[str, float]]:
        """{domain: {"loss": mean answer-token NLL, "accuracy": exact-match rate of greedy answers}}.

        Parameters
        ----------
        model : transformers causal LM
            Evaluated in eval mode; its train/eval mode is restored afterwards.
        chunk : int, default 256
            Examples per forward pass and per ``generate`` call.

        Returns
        -------
        dict of str to dict of str to float
        """
        was_training = model.training
        model.eval()
        scores = {}
        for domain, (rows, prompts, answers) in self.sets.items():
            n, loss, hits = len(answers), 0.0, 0
            for start in range(0, n, chunk):
                part = slice(start, start + chunk)
                loss += mean_answer_loss(model, {k: v[part] for k, v in rows.items()}).item() * len(answers[part])
                out = model.generate(input_ids=prompts["input_ids"][part], attention_mask=prompts["attention_mask"][part],
                                     max_new_tokens=self.max_new_tokens, do_sample=False,
                                     pad_token_id=self.tokenizer.pad_token_id, eos_token_id=self.tokenizer.eos_token_id)
                guesses = decode_answers(self.tokenizer, out[:, prompts["input_ids"].shape[1]:])
                hits += sum(g == a for g, a in zip(guesses, answers[part]))
            scores[domain] = {"loss": loss / n, "accuracy": hits / n}
        model.train(was_training)
        return scores


@dataclass
class Workload:
    """What every run of a sweep shares: the start model, the encoded training split (with domain
    labels and token lengths) and validation split, the test sets and the start model's scores.

    Build it with :meth:`prepare`.

    Parameters
    ----------
    config : BenchConfig
    model : transformers causal LM
        The start model (each run trains a deep copy).
    train : dict of str to torch.Tensor
        The encoded training split (:func:`~matroidomp.bench.text.encode_examples`).
    labels : numpy.ndarray of str
        The domain of every training example.
    lengths : numpy.ndarray of int
        The token length of every training example.
    validation : dict of str to torch.Tensor
        The encoded validation split (the anchors are drawn from it).
    tests : TestSets
    initial_scores : dict
        :meth:`TestSets.evaluate` of the start model, with each domain's ``unigram_loss``
        (:func:`~matroidomp.bench.text.unigram_answer_losses`) beside its loss.

    Examples
    --------
    >>> from matroidomp.bench.data import Example, TaskData
    >>> from matroidomp.bench.model import tiny_model
    >>> from matroidomp.bench.text import train_tokenizer
    >>> def example(domain, i):
    ...     return Example(f"{domain} {i} + {i} =", str(2 * i), domain)
    >>> data = TaskData(train=tuple(example(d, i) for d in ("math/a", "chem/b") for i in range(4)),
    ...                 validation=(example("math/a", 7), example("chem/b", 8)),
    ...                 test=(example("math/a", 9), example("chem/b", 9)), pretrain=(),
    ...                 domains=("math/a", "chem/b"))
    >>> tokenizer = train_tokenizer([t for e in data.train + data.validation + data.test
    ...                              for t in (e.prompt, e.answer)], vocab_size=300)
    >>> model = tiny_model(tokenizer, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
    ...                    num_attention_heads=2, num_key_value_heads=1)
    >>> config = BenchConfig(steps=1, batch=2, buffer=2, anchors=1, grad_layers=1, pretrain_steps=0)
    >>> work = Workload.prepare(config, data, tokenizer, model)
    >>> work.labels.tolist(), sorted(work.initial_scores)
    (['math/a', 'math/a', 'math/a', 'math/a', 'chem/b', 'chem/b', 'chem/b', 'chem/b'], ['chem/b', 'math/a'])
    """

    config: BenchConfig
    model: object
    train: dict
    labels: np.ndarray
    lengths: np.ndarray
    validation: dict
    tests: TestSets
    initial_scores: dict

    @classmethod
    def prepare(cls, config: BenchConfig, tasks: TaskData, tokenizer, model) -> Workload:
        """Encode the splits of ``tasks`` and score ``model`` on the test sets.

        Parameters
        ----------
        config : BenchConfig
        tasks : TaskData
        tokenizer : transformers tokenizer
        model : transformers causal LM

        Returns
        -------
        Workload

        Raises
        ------
        ValueError
            When the pool (batch · buffer) is larger than the training split, the validation
            split is empty, or an example cannot be encoded.
        """
        pool_size = config.batch * config.buffer
        if pool_size > len(tasks.train):
            raise ValueError(f"pool of batch · buffer = {pool_size} is larger than the training split "
                             f"({len(tasks.train)} examples)")
        if not tasks.validation:
            raise ValueError("the validation split is empty: the anchors are drawn from it")
        tests = TestSets(tokenizer, tasks.test, tasks.domains, config.max_length)
        train = encode_examples(tokenizer, tasks.train, config.max_length)
        initial = tests.evaluate(model)
        unigram = unigram_answer_losses(tokenizer, tasks.train, tasks.test, config.max_length)
        for domain, scores in initial.items():  # the floor a competent start model beats (the report's check)
            scores["unigram_loss"] = unigram[domain]
        return cls(config, model, train, np.array([e.domain for e in tasks.train]),
                   train["attention_mask"].sum(dim=1).numpy(),
                   encode_examples(tokenizer, tasks.validation, config.max_length), tests, initial)


def run(method: str, seed: int, work: Workload, emit: Callable[[dict], None], *, progress=None) -> None:
    """One fine-tuning run of ``method`` with ``seed`` from a copy of the workload's start model;
    every record goes to ``emit``, the ``done`` record last.

    ``steps`` calls of :func:`matroidomp.torch.selective_step` on seeded pools and anchors (the
    same for every method of a seed), AdamW with linear warm-up and decay; ``eval`` records at
    step 0, every ``eval_every`` steps and at the end.

    Parameters
    ----------
    method : str
        One of :data:`matroidomp.torch._selector.METHODS`.
    seed : int
        Seed of the pools, anchors and the selector.
    work : Workload
    emit : callable
        Called with every record (a dict with ``type`` 'eval', 'step' or 'done').
    progress : tqdm bar, optional
        Updated once per step.

    Raises
    ------
    ValueError
        When ``method`` is unknown.

    Examples
    --------
    >>> from matroidomp.bench.data import Example, TaskData
    >>> from matroidomp.bench.model import tiny_model
    >>> from matroidomp.bench.text import train_tokenizer
    >>> def example(domain, i):
    ...     return Example(f"{domain} {i} + {i} =", str(2 * i), domain)
    >>> data = TaskData(train=tuple(example(d, i) for d in ("math/a", "chem/b") for i in range(4)),
    ...                 validation=(example("math/a", 7), example("chem/b", 8)),
    ...                 test=(example("math/a", 9), example("chem/b", 9)), pretrain=(),
    ...                 domains=("math/a", "chem/b"))
    >>> tokenizer = train_tokenizer([t for e in data.train + data.validation + data.test
    ...                              for t in (e.prompt, e.answer)], vocab_size=300)
    >>> model = tiny_model(tokenizer, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
    ...                    num_attention_heads=2, num_key_value_heads=1)
    >>> config = BenchConfig(steps=1, batch=2, buffer=2, anchors=1, grad_layers=1, pretrain_steps=0)
    >>> work = Workload.prepare(config, data, tokenizer, model)
    >>> records = []
    >>> run("partitionsel", 0, work, records.append)
    >>> [r["type"] for r in records], records[1]["counts"]  # one step: 1 example of each domain
    (['eval', 'step', 'eval', 'done'], {'chem/b': 1, 'math/a': 1})
    """
    if method not in METHODS:
        raise ValueError(f"method: unknown {method!r}; use one of {METHODS}")
    config = work.config
    model, kinds = copy.deepcopy(work.model), DEFAULT_KINDS
    if config.lora_r is not None:
        model, kinds = with_lora(model, config.lora_r, config.lora_alpha)
    model.train()
    draws = np.random.default_rng([seed, 0])
    selector = PartitionSelector(model, last_layer_linears(model, config.grad_layers, kinds), method=method,
                                 k=config.batch, budgets=config.budgets, projection_dim=config.projection_dim,
                                 normalize=True, seed=seed, chunk_size=16)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr,
                                  weight_decay=0.0)
    scheduler = transformers.get_linear_schedule_with_warmup(
        optimizer, max(1, round(0.03 * config.steps)), config.steps)
    tag = {"method": method, "seed": seed}
    emit({"type": "eval", **tag, "step": 0, "scores": work.initial_scores})
    n_train, n_validation = len(work.labels), work.validation["input_ids"].shape[0]
    for step in range(1, config.steps + 1):
        rows = draws.choice(n_train, size=config.batch * config.buffer, replace=False)
        rows = rows[np.argsort(work.lengths[rows], kind="stable")]  # similar lengths share a gradient chunk
        anchors = draws.choice(n_validation, size=min(config.anchors, n_validation), replace=False)
        lr = optimizer.param_groups[0]["lr"]
        start = time.perf_counter()
        loss, sel = selective_step(selector, model, optimizer, _rows(work.train, rows), work.labels[rows],
                                   _rows(work.validation, anchors), scheduler=scheduler,
                                   preconditioner="optimizer" if config.adam_directions else None)
        seconds = time.perf_counter() - start
        size = len(sel.indices)
        domains, sizes = np.unique(work.labels[rows], return_counts=True)
        emit({"type": "step", **tag, "step": step, "lr": lr, "loss": loss, "counts": sel.counts,
              "pool_counts": {str(d): int(c) for d, c in zip(domains, sizes)},
              "objective": sel.objective, "conflicting_pairs": sel.conflicting_pairs,
              "conflict_rate": sel.conflicting_pairs / max(1, size * (size - 1) // 2),
              "grad_seconds": sel.grad_seconds, "select_seconds": sel.select_seconds,
              "train_seconds": seconds - sel.grad_seconds - sel.select_seconds})
        if step % config.eval_every == 0 or step == config.steps:
            emit({"type": "eval", **tag, "step": step, "scores": work.tests.evaluate(model)})
        if progress is not None:
            progress.update(1)
            progress.set_postfix(method=method, seed=seed, loss=f"{loss:.3f}")
    emit({"type": "done", **tag, "steps": config.steps})


def sweep(methods: Sequence[str], seeds: Sequence[int], work: Workload, results: ResultsFile, *,
          progress: bool = True) -> list[tuple[str, int]]:
    """Run every (method, seed) not yet done in ``results``, seed-major; returns the runs it ran.

    Parameters
    ----------
    methods : sequence of str
        Selection methods (:data:`matroidomp.torch._selector.METHODS`).
    seeds : sequence of int
        Seeds, each >= 0.
    work : Workload
    results : ResultsFile
        Records are appended to it; finished runs are skipped.
    progress : bool, default True
        A tqdm bar over all steps.

    Returns
    -------
    list of (str, int)
        The (method, seed) runs run now.

    Raises
    ------
    ValueError
        When a method is unknown or a seed negative.
    TypeError
        When a seed is not an int.

    Examples
    --------
    >>> from matroidomp.bench.data import Example, TaskData
    >>> from matroidomp.bench.model import tiny_model
    >>> from matroidomp.bench.text import train_tokenizer
    >>> def example(domain, i):
    ...     return Example(f"{domain} {i} + {i} =", str(2 * i), domain)
    >>> data = TaskData(train=tuple(example(d, i) for d in ("math/a", "chem/b") for i in range(4)),
    ...                 validation=(example("math/a", 7), example("chem/b", 8)),
    ...                 test=(example("math/a", 9), example("chem/b", 9)), pretrain=(),
    ...                 domains=("math/a", "chem/b"))
    >>> tokenizer = train_tokenizer([t for e in data.train + data.validation + data.test
    ...                              for t in (e.prompt, e.answer)], vocab_size=300)
    >>> model = tiny_model(tokenizer, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
    ...                    num_attention_heads=2, num_key_value_heads=1)
    >>> config = BenchConfig(steps=1, batch=2, buffer=2, anchors=1, grad_layers=1, pretrain_steps=0)
    >>> import os, tempfile
    >>> results = ResultsFile(os.path.join(tempfile.mkdtemp(), "results.jsonl"), config)
    >>> work = Workload.prepare(config, data, tokenizer, model)
    >>> sweep(["random"], [0], work, results, progress=False)
    [('random', 0)]
    >>> sweep(["random"], [0], work, results, progress=False)  # already done: nothing to run
    []
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"methods: unknown {unknown}; use some of {METHODS}")
    for seed in seeds:
        check_int("seed", seed, minimum=0)
    todo = [(m, s) for s in seeds for m in methods if (m, s) not in results.done]
    bar = tqdm(total=len(todo) * work.config.steps, desc="fine-tuning", unit="step", disable=not progress)
    for method, seed in todo:
        run(method, seed, work, results.append, progress=bar)
        results.done.add((method, seed))
    bar.close()
    return todo


def _rows(batch: dict, rows) -> dict:
    """Rows of a right-padded batch, trimmed to their longest attended length."""
    rows = torch.as_tensor(rows)
    part = {key: value[rows] for key, value in batch.items()}
    keep = int(part["attention_mask"].sum(dim=1).max())
    return {key: value[:, :keep] for key, value in part.items()}
