"""The benchmark's data builder (math + chemistry), JSONL loader, tokenizer and encodings."""

import json
import math
import random
import re

import numpy as np
import pytest
import sympy
import torch

pytest.importorskip("mathematics_dataset")
pytest.importorskip("rdkit")

from rdkit import Chem  # noqa: E402
from rdkit.Chem import rdMolDescriptors  # noqa: E402

from matroidomp.bench import data  # noqa: E402
from matroidomp.bench.data import DOMAINS, SPLITS, DataConfig, Example, build_tasks, load_jsonl  # noqa: E402

SIZES = {d: (12 if d.startswith("math/") else 4) for d in DOMAINS}
SMALL = DataConfig(seed=3, train_sizes=SIZES, validation_per_domain=2, test_per_domain=3, pretrain_per_domain=2)


@pytest.fixture(scope="module")
def small():
    return build_tasks(SMALL)


def all_examples(tasks):
    return [e for name in SPLITS for e in getattr(tasks, name)]


def test_domains_in_grouped_families(small):
    assert small.domains == DOMAINS and len(DOMAINS) >= 8
    families = [small.family(d) for d in small.domains]
    assert sorted(set(families)) == ["chem", "math", "text"]
    assert families == sorted(families, key=families.index)  # each family contiguous
    with pytest.raises(ValueError, match="unknown domain 'bio/x'"):
        small.family("bio/x")


def test_split_sizes_follow_config_and_are_imbalanced(small):
    for name, per in [("validation", 2), ("test", 3), ("pretrain", 2)]:
        assert {d: len(v) for d, v in small.by_domain(name).items()} == {d: per for d in DOMAINS}
    assert {d: len(v) for d, v in small.by_domain("train").items()} == SIZES
    default = DataConfig().train_sizes
    assert 5000 <= sum(default.values()) <= 7000
    assert min(v for d, v in default.items() if d.startswith("math/")) > 3 * max(
        v for d, v in default.items() if d.startswith("chem/"))


def test_splits_disjoint_and_bounded(small):
    prompts = [e.prompt for e in all_examples(small)]
    assert len(prompts) == len(set(prompts))
    assert all(len(e.prompt) + len(e.answer) <= SMALL.max_chars for e in all_examples(small))
    assert all(e.prompt.strip() and e.answer.strip() for e in all_examples(small))


def test_same_seed_same_data_and_global_rng_untouched(small):
    random.seed(11)
    np.random.seed(11)
    before = (random.random(), np.random.rand())
    random.seed(11)
    np.random.seed(11)
    again = build_tasks(SMALL)
    assert (random.random(), np.random.rand()) == before
    assert again == small


def test_other_seed_other_data(small):
    other = build_tasks(DataConfig(seed=4, train_sizes=SIZES, validation_per_domain=2, test_per_domain=3,
                                   pretrain_per_domain=2))
    for name in SPLITS:
        assert getattr(other, name) != getattr(small, name)
    assert len(set(e.prompt for e in other.test) & set(e.prompt for e in small.test)) < len(small.test) // 2


CHEM = {
    "chem/formula": (r"What is the molecular formula of (\S+)\?", rdMolDescriptors.CalcMolFormula),
    "chem/rings": (r"How many rings does (\S+) have\?", lambda m: str(rdMolDescriptors.CalcNumRings(m))),
    "chem/donors": (r"How many hydrogen-bond donors does (\S+) have\?", lambda m: str(rdMolDescriptors.CalcNumHBD(m))),
    "chem/canonical": (r"Write the canonical SMILES of (\S+)\.", Chem.MolToSmiles),
}


def test_chemistry_answers_match_rdkit(small):
    checked = 0
    for e in all_examples(small):
        if e.domain in CHEM:
            pattern, truth = CHEM[e.domain]
            smiles = re.fullmatch(pattern, e.prompt).group(1)
            assert truth(Chem.MolFromSmiles(smiles)) == e.answer, e
            checked += 1
    assert checked == 4 * (4 + 2 + 3 + 2)


def test_math_answers_parse_and_recompute(small):
    for e in all_examples(small):
        if e.domain.startswith("math/"):
            assert sympy.sympify(e.answer) is not None, e
            numbers = [int(x) for x in re.findall(r"-?\d+", e.prompt)]
            if e.domain == "math/gcd":
                assert int(e.answer) == math.gcd(*numbers[-2:]), e
            if e.domain == "math/remainder":
                assert int(e.answer) == numbers[-2] % numbers[-1], e
            if e.domain == "math/algebra":
                equation, var = re.fullmatch(r"Solve (.+) for (\w)\.", e.prompt).groups()
                lhs, rhs = equation.split(" = ")
                assert sympy.solve(sympy.sympify(f"({lhs}) - ({rhs})"), sympy.Symbol(var)) == [int(e.answer)], e


def test_cache_round_trip_reads_files(small, tmp_path, monkeypatch):
    first = build_tasks(SMALL, cache_dir=tmp_path)
    assert first == small
    (folder,) = tmp_path.iterdir()
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["format_version"] == data.FORMAT_VERSION and meta["config"]["seed"] == 3
    lines = (folder / "test.jsonl").read_text().splitlines()
    assert [Example(**json.loads(line)) for line in lines] == list(small.test)

    def no_generation(config):
        raise AssertionError("generated instead of reading the cache")

    monkeypatch.setattr(data, "_generate", no_generation)
    assert build_tasks(SMALL, cache_dir=tmp_path) == small
    other = DataConfig(seed=4, train_sizes=SIZES, validation_per_domain=2, test_per_domain=3, pretrain_per_domain=2)
    with pytest.raises(AssertionError, match="generated instead"):
        build_tasks(other, cache_dir=tmp_path)


def test_too_strict_max_chars_is_a_clear_error():
    with pytest.raises(ValueError, match="domain 'chem/formula': only 0 distinct examples of at most 30 characters"):
        build_tasks(DataConfig(train_sizes={"chem/formula": 1}, max_chars=30))


@pytest.mark.parametrize("kwargs, message", [
    ({"train_sizes": {"bio/protein": 5}}, "unknown domain 'bio/protein'"),
    ({"train_sizes": {}}, "non-empty mapping"),
    ({"train_sizes": {"math/gcd": 0}}, r"train_sizes\['math/gcd'\] must be at least 1"),
    ({"validation_per_domain": 0}, "validation_per_domain must be at least 1"),
    ({"pretrain_per_domain": -1}, "pretrain_per_domain must be at least 0"),
    ({"seed": True}, "seed must be an int"),
    ({"max_chars": 1.5}, "max_chars must be an int"),
])
def test_bad_config(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        DataConfig(**kwargs)


def write_lines(path, records):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


def user_records():
    return [{"prompt": f"{d} question {i}", "answer": f"{i}", "domain": d}
            for d in ("zoo/b", "alpha/x", "zoo/a") for i in range(10)]


def test_jsonl_happy_path(tmp_path):
    records = user_records()
    records.insert(3, dict(records[0]))  # exact repeat: kept once
    path = write_lines(tmp_path / "mine.jsonl", records[:5] + [""] + records[5:])
    tasks = load_jsonl(path, seed=1, validation_per_domain=2, test_per_domain=3, pretrain_per_domain=1)
    assert tasks.domains == ("alpha/x", "zoo/a", "zoo/b")
    assert tasks.family("zoo/a") == "zoo"
    for name, per in [("validation", 2), ("test", 3), ("pretrain", 1), ("train", 4)]:
        assert [len(v) for v in tasks.by_domain(name).values()] == [per] * 3
    prompts = [e.prompt for e in all_examples(tasks)]
    assert sorted(prompts) == sorted(r["prompt"] for r in user_records())
    assert load_jsonl(path, seed=1, validation_per_domain=2, test_per_domain=3, pretrain_per_domain=1) == tasks
    assert load_jsonl(path, seed=2, validation_per_domain=2, test_per_domain=3, pretrain_per_domain=1) != tasks


@pytest.mark.parametrize("bad, message", [
    ("{not json", "line 3 is not valid JSON"),
    ("[1, 2]", "line 3 is a JSON list, not an object"),
    ({"prompt": "p", "answer": "a"}, "line 3 has no 'domain' key"),
    ({"prompt": "p", "answer": 4, "domain": "d"}, "line 3: 'answer' is a int, not a string"),
    ({"prompt": "  ", "answer": "a", "domain": "d"}, "line 3: 'prompt' is empty"),
    ({"prompt": "alpha/x question 0", "answer": "7", "domain": "alpha/x"},
     "line 3 repeats the prompt of line 1 with a different answer"),
])
def test_jsonl_bad_lines(tmp_path, bad, message):
    records = [user_records()[10], user_records()[11], bad] + user_records()
    path = write_lines(tmp_path / "bad.jsonl", records)
    with pytest.raises(ValueError, match=re.escape(message)):
        load_jsonl(path, validation_per_domain=2, test_per_domain=3)


def test_jsonl_overlong_line_is_a_clear_error(tmp_path):
    """A 5 MB line without whitespace took tokenizer training > 300 s: prompt + answer is bounded."""
    records = user_records()
    records.insert(2, {"prompt": "x" * data.JSONL_MAX_CHARS, "answer": "7", "domain": "alpha/x"})
    path = write_lines(tmp_path / "long.jsonl", records)
    with pytest.raises(ValueError, match=rf"long.jsonl: line 3: prompt and answer have {data.JSONL_MAX_CHARS + 1} "
                                         rf"characters together, more than max_chars = {data.JSONL_MAX_CHARS}"):
        load_jsonl(path, validation_per_domain=2, test_per_domain=3)
    tasks = load_jsonl(path, validation_per_domain=2, test_per_domain=3, max_chars=data.JSONL_MAX_CHARS + 1)
    assert len(tasks.by_domain("train")["alpha/x"]) == 11 - 2 - 3


def test_jsonl_not_utf8_names_line_and_byte(tmp_path):
    good = "".join(json.dumps(r) + "\n" for r in user_records()[:2]).encode()
    bad = '{"prompt": "café", "answer": "1", "domain": "zoo/a"}\n'.encode("latin-1")
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(good + bad)
    offset = len(good) + bad.index(b"\xe9")
    with pytest.raises(ValueError, match=rf"latin1.jsonl: line 3 is not valid UTF-8 \(invalid continuation byte at "
                                         rf"byte offset {offset} of the file\)"):
        load_jsonl(path)


def test_jsonl_too_few_and_empty(tmp_path):
    path = write_lines(tmp_path / "few.jsonl", user_records())
    with pytest.raises(ValueError, match="domain 'alpha/x' has 10 distinct examples; it needs more than 10"):
        load_jsonl(path, validation_per_domain=4, test_per_domain=6)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="no examples"):
        load_jsonl(empty)


# ---- tokenizer and tensor formats ----------------------------------------------------------

from matroidomp.bench.text import (  # noqa: E402
    SEPARATOR, decode_answers, encode_examples, encode_prompts, train_tokenizer)


@pytest.fixture(scope="module")
def tokenizer(small):
    return train_tokenizer((t for e in all_examples(small) for t in (e.prompt, e.answer)), vocab_size=400)


def ids(tokenizer, text):
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def test_tokenizer_round_trips_every_domain(small, tokenizer):
    texts = [t for e in all_examples(small) for t in (e.prompt, e.answer)]
    texts += ["  two  spaces, a\ttab and ünïcode ", "C[C@@H](N)C(=O)O", "-0.000123 1/299", SEPARATOR]
    for text in texts:
        assert tokenizer.decode(ids(tokenizer, text)) == text
    assert {e.domain for e in all_examples(small)} == set(DOMAINS)
    assert len(tokenizer) <= 400
    assert tokenizer.pad_token_id == 0 and tokenizer.eos_token_id == 1
    for token_id in range(len(tokenizer)):
        piece = tokenizer.decode([token_id])
        assert not any(c.isdigit() for c in piece) or (len(piece) == 1 and piece.isdigit()), piece


def test_tokenizer_vocab_size_too_small():
    with pytest.raises(ValueError, match="vocab_size must be at least 258"):
        train_tokenizer(["abc"], vocab_size=100)


def test_encode_examples_masks(small, tokenizer):
    examples = small.validation
    batch = encode_examples(tokenizer, examples, max_length=128)
    sep = ids(tokenizer, SEPARATOR)
    rows = [(ids(tokenizer, e.prompt) + sep, ids(tokenizer, e.answer) + [tokenizer.eos_token_id]) for e in examples]
    width = max(len(p) + len(a) for p, a in rows)
    assert all(v.shape == (len(examples), width) and v.dtype == torch.long for v in batch.values())
    for i, (p, a) in enumerate(rows):
        n = len(p) + len(a)
        assert batch["input_ids"][i, :n].tolist() == p + a
        assert batch["input_ids"][i, n:].tolist() == [tokenizer.pad_token_id] * (width - n)
        assert batch["attention_mask"][i].tolist() == [1] * n + [0] * (width - n)
        assert batch["answer_mask"][i].tolist() == [0] * len(p) + [1] * len(a) + [0] * (width - n)
        answer = batch["input_ids"][i][batch["answer_mask"][i].bool()].tolist()
        assert decode_answers(tokenizer, [answer]) == [examples[i].answer]


def test_encode_examples_length_limit(small, tokenizer):
    example = max(small.validation, key=lambda e: len(ids(tokenizer, e.answer)))
    prompt = len(ids(tokenizer, example.prompt) + ids(tokenizer, SEPARATOR))
    batch = encode_examples(tokenizer, [example], max_length=prompt + 1)
    assert batch["input_ids"].shape == (1, prompt + 1)
    assert batch["answer_mask"][0].tolist() == [0] * prompt + [1]
    assert batch["input_ids"][0, -1] == ids(tokenizer, example.answer)[0]
    for encode in (encode_examples, encode_prompts):
        with pytest.raises(ValueError, match=rf"example 1 \({example.domain}: .* leaves no room for an answer token"):
            encode(tokenizer, [small.test[0], example], max_length=prompt)
    with pytest.raises(ValueError, match="no examples"):
        encode_examples(tokenizer, [], max_length=32)


def test_encode_prompts_left_padded(small, tokenizer):
    examples = small.test[:2] + small.test[-2:]
    batch = encode_prompts(tokenizer, examples, max_length=128)
    rows = [ids(tokenizer, e.prompt) + ids(tokenizer, SEPARATOR) for e in examples]
    width = max(map(len, rows))
    assert batch["input_ids"].shape == (4, width) and len({len(r) for r in rows}) > 1
    for i, row in enumerate(rows):
        assert batch["input_ids"][i].tolist() == [tokenizer.pad_token_id] * (width - len(row)) + row
        assert batch["attention_mask"][i].tolist() == [0] * (width - len(row)) + [1] * len(row)


def test_decode_answers_stops_at_eos(tokenizer):
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    first, second = ids(tokenizer, "C6H6"), ids(tokenizer, " -42 ")
    generated = torch.tensor([first + [eos] + second, second + [eos, pad, pad, pad, pad][:len(first) + 1]])
    assert decode_answers(tokenizer, generated) == ["C6H6", "-42"]
    assert decode_answers(tokenizer, [second]) == ["-42"]  # no eos: the whole row


def test_string_and_convention_domains(small):
    """text/*: the answers are the word reversed / its letters sorted; math/arithmetic-reversed:
    arithmetic prompts of the same form, answers with the digits reversed (a conflicting convention)."""
    from matroidomp.bench.tasks import reversed_digits

    by = {d: [e for e in all_examples(small) if e.domain == d] for d in small.domains}
    for e in by["text/reverse"]:
        assert e.answer == re.search(r"of (\w+)\.$", e.prompt).group(1)[::-1]
    for e in by["text/sort"]:
        assert e.answer == "".join(sorted(re.search(r"of (\w+)\.$", e.prompt).group(1)))
    import itertools

    from matroidomp.bench.tasks import math_sampler

    # the same generator as math/arithmetic (the domain's own seed): every prompt is one of its
    # prompts, and the answer is its answer with the digits reversed
    source = dict(itertools.islice(math_sampler("math/arithmetic", data._domain_seed(SMALL.seed,
                                                                                    "math/arithmetic-reversed")), 2000))
    reversed_examples = by["math/arithmetic-reversed"]
    assert reversed_examples
    for e in reversed_examples:
        assert e.answer == reversed_digits(source[e.prompt]), e
    assert reversed_digits(reversed_digits("-120.5")) == "-120.5"


def test_default_mix_and_the_stress_preset():
    from matroidomp.bench.cli import PRESETS
    from matroidomp.bench.tasks import CHEM_TASKS, MATH_MODULES

    assert DataConfig().domains == (*MATH_MODULES, *CHEM_TASKS)  # the default mix (and its cache key) as before
    full, stress = PRESETS["full"].data, PRESETS["stress"].data
    assert full.domains == (*MATH_MODULES, *CHEM_TASKS, "text/sort")
    assert stress.domains == (*MATH_MODULES, "math/arithmetic-reversed", *CHEM_TASKS, "text/sort")
    assert stress.train_sizes["math/arithmetic-reversed"] == 150
    # the stress preset is the full one plus the reversed minority: same start model settings and pool
    assert {**full.train_sizes, "math/arithmetic-reversed": 150} == dict(stress.train_sizes)
    for name in ("full", "stress"):
        config = PRESETS[name]
        assert (config.batch * config.buffer, config.batch, config.pretrain_steps, config.data.pretrain_per_domain) \
            == (128, 16, 2000, 600)  # the authors' pool ratio 8 : 1
        assert config.lr == 1e-3
    # the benchmark before issue 11 keeps its configuration key: the recorded runs stay reproducible
    assert PRESETS["weak-start"].key() == "fc1a84a6254a"  # docs/results/weak-start-{a,b}.jsonl


def test_math_streams_do_not_depend_on_the_hash_seed():
    """mathematics-dataset picks variable letters from a set; the streams must not follow
    Python's per-process string hash seed (they did: 'f' in one process, 's' in the next)."""
    import subprocess
    import sys

    code = ("import itertools; from matroidomp.bench.tasks import math_sampler; "
            "print(list(itertools.islice(math_sampler('math/algebra', 7), 6)))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "PYTHONHASHSEED": str(h)}).stdout for h in (1, 2, 3)}
    assert len(outs) == 1
