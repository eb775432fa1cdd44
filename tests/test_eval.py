"""`rasp eval`: reading corpora (line numbers, malformed lines, held-out part), scoring by
the interpreter and by the compiled model, --classify, --json, and the shipped corpora."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import rasp
from rasp.cli import main
from rasp.errors import RaspInputError
from rasp.eval import interpreter_runner, parse_corpus, read_corpus, score

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO / "programs" / "corpora"

# Marks every "x" as the filler and reverses the rest: "a x b" -> "b _ a" -> output "b a".
DROP_X = 'out = aggregate(select(indices, length - indices - 1, ==), tokens);\nshown = "_" if out == "x" else out;\n'
# Labels a sentence by its last word.
LAST = 'label = "yes" if tokens[-1] == "a" else "no";\n'


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def random_sentences(seed, n=60):
    """Sentences of a, b, x with at least one a or b (an expected column is never empty)."""
    rng = random.Random(seed)
    return [[rng.choice("abx") for _ in range(rng.randint(0, 5))] + [rng.choice("ab")] for _ in range(n)]


def reversed_without_x(words):
    return [w for w in reversed(words) if w != "x"]


# -- reading -----------------------------------------------------------------------------------


def test_parse_skips_comments_and_blanks_and_keeps_line_numbers():
    text = "# a corpus\n\na b\tb a\n  \n# note\nc\td\n# held-out part\ne f\tg\n"
    examples = parse_corpus(text)
    assert [(e.line, e.words, e.expected, e.held_out) for e in examples] == [
        (3, ("a", "b"), ("b", "a"), False),
        (6, ("c",), ("d",), False),
        (8, ("e", "f"), ("g",), True),
    ]


@pytest.mark.parametrize("line,fragment", [
    ("a b c", "no TAB"),
    ("a\tb\tc", "2 TABs"),
    ("a  b\tc", "empty token"),
    ("\tc", "input is empty"),
    ("a b\t", "expected output is empty"),
])
def test_malformed_line_names_its_number(tmp_path, line, fragment):
    path = write(tmp_path, "c.tsv", f"# header\nx\ty\n{line}\nz\tw\n")
    with pytest.raises(RaspInputError) as info:
        read_corpus(path)
    assert info.value.pos.line == 3
    assert fragment in info.value.message
    assert str(path) in info.value.format()


def test_classify_needs_one_label(tmp_path):
    path = write(tmp_path, "c.tsv", "a b\tyes\na\tyes no\n")
    assert len(read_corpus(path)) == 2
    with pytest.raises(RaspInputError) as info:
        read_corpus(path, classify=True)
    assert info.value.pos.line == 2


def test_empty_corpus(tmp_path):
    with pytest.raises(RaspInputError) as info:
        read_corpus(write(tmp_path, "c.tsv", "# only a comment\n\n"))
    assert "no examples" in info.value.message


# -- scoring -----------------------------------------------------------------------------------


def test_sequence_scoring_drops_the_filler_and_lists_failures():
    prog = rasp.from_source(DROP_X)
    sentences = random_sentences(1)
    wrong = set(range(0, len(sentences), 7))
    lines = []
    for i, words in enumerate(sentences):
        expected = reversed_without_x(words)
        if i in wrong:
            expected = [*expected, "a"]
        lines.append(" ".join(words) + "\t" + " ".join(expected))
    examples = parse_corpus("\n".join(lines))
    result = score(interpreter_runner(prog), examples)
    assert result.total.n == len(sentences)
    assert result.total.correct == len(sentences) - len(wrong)
    assert [f.example.line - 1 for f in result.failures] == sorted(wrong)
    for f in result.failures:
        assert list(f.got) == [w for w in reversed(f.example.words) if w != "x"]
    assert result.held_out is None


def test_classify_scores_the_last_position_and_splits_held_out():
    prog = rasp.from_source(LAST)
    sentences = random_sentences(2)
    half = len(sentences) // 2
    lines = [" ".join(s) + "\t" + ("yes" if s[-1] == "a" else "no") for s in sentences]
    lines[half + 1] = lines[half + 1].replace("\tyes", "\tmaybe").replace("\tno", "\tmaybe")
    lines.insert(half, "# held-out")
    result = score(interpreter_runner(prog), parse_corpus("\n".join(lines)), classify=True)
    assert (result.total.n, result.total.correct) == (len(sentences), len(sentences) - 1)
    assert (result.held_in.n, result.held_in.correct) == (half, half)
    assert (result.held_out.n, result.held_out.correct) == (len(sentences) - half, len(sentences) - half - 1)
    assert result.to_json()["held_out"]["accuracy"] == pytest.approx(1 - 1 / (len(sentences) - half))


def test_a_program_error_names_the_input(tmp_path):
    prog = rasp.from_source('out = {"a": "b"}[tokens];')
    with pytest.raises(rasp.RaspError) as info:
        score(interpreter_runner(prog), parse_corpus("a a\tb b\na c\tb b\n"))
    assert "'a c'" in info.value.message


# -- the command ---------------------------------------------------------------------------------


@pytest.fixture
def drop_x(tmp_path):
    prog = write(tmp_path, "drop_x.rasp", DROP_X)
    lines = [" ".join(s) + "\t" + " ".join(reversed_without_x(s)) for s in random_sentences(3, 30)]
    lines.insert(20, "# held-out")
    lines.append("a b\tb b")  # one failure, held out
    return prog, write(tmp_path, "drop_x.tsv", "\n".join(lines) + "\n")


def test_cli_json_is_the_last_line(capsys, drop_x):
    prog, corpus = drop_x
    code, out, err = cli(capsys, "eval", prog, corpus, "--json")
    assert code == 0 and err == ""
    report = json.loads(out.strip().splitlines()[-1])
    assert (report["n"], report["correct"]) == (31, 30)
    assert report["accuracy"] == pytest.approx(30 / 31)
    assert report["before_held_out"] == {"n": 20, "correct": 20, "accuracy": 1.0}
    assert report["held_out"]["correct"] == 10
    assert "line 32: a b" in out and "expected: b b" in out and "got:      b a" in out


def test_cli_classify(capsys, tmp_path):
    prog = write(tmp_path, "last.rasp", LAST)
    corpus = write(tmp_path, "c.tsv", "b a\tyes\na b\tno\na b\tyes\n")
    code, out, _ = cli(capsys, "eval", prog, corpus, "--classify", "--json")
    assert code == 0
    assert json.loads(out.strip().splitlines()[-1])["correct"] == 2
    assert "line 3: a b" in out


def test_cli_malformed_line_is_an_error_not_a_traceback(capsys, tmp_path):
    prog = write(tmp_path, "last.rasp", LAST)
    corpus = write(tmp_path, "c.tsv", "b a\tyes\n\na b no\n")
    code, out, err = cli(capsys, "eval", prog, corpus)
    assert code == 1
    assert "c.tsv:3:1" in err and "malformed" in err and "Traceback" not in err


def test_cli_missing_corpus(capsys, tmp_path):
    prog = write(tmp_path, "last.rasp", LAST)
    code, _, err = cli(capsys, "eval", prog, tmp_path / "nope.tsv")
    assert code == 1 and "nope.tsv" in err


def test_cli_compiled_matches_interpreter_and_reports_size(capsys, drop_x):
    pytest.importorskip("torch")
    prog, corpus = drop_x
    code, out, _ = cli(capsys, "eval", prog, corpus, "--compiled", "--json")
    assert code == 0
    report = json.loads(out.strip().splitlines()[-1])
    assert (report["n"], report["correct"]) == (31, 30)
    # the vocabulary is the corpus's input words: the filler is an output, not an input
    assert report["vocab"] == 3 and report["max_len"] == 6
    for key in ("compile_seconds", "layers", "heads", "d_model", "params"):
        assert report[key] > 0


def test_cli_saved_model_names_a_missing_word(capsys, tmp_path):
    pytest.importorskip("torch")
    prog = rasp.from_source(LAST)
    path = tmp_path / "last.safetensors"
    rasp.compile(prog, vocab=["a", "b"], max_len=4).save(path)
    ok = write(tmp_path, "ok.tsv", "b a\tyes\na b\tno\n")
    code, out, _ = cli(capsys, "eval", path, ok, "--classify", "--json")
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["correct"] == 2
    bad = write(tmp_path, "bad.tsv", "b a\tyes\na zebra\tno\n")
    code, _, err = cli(capsys, "eval", path, bad, "--classify")
    assert code == 1
    assert "'zebra'" in err and "bad.tsv:2" in err


# -- the shipped corpora -------------------------------------------------------------------------

# corpus stem -> (program, classify)
CORPUS_PROGRAMS = {"en_fr": ("translate", False), "grammaticality": ("grammaticality", True),
                   "sentiment": ("sentiment", True)}


def test_every_corpus_has_a_program():
    assert {p.stem for p in CORPORA.glob("*.tsv")} <= set(CORPUS_PROGRAMS)


@pytest.mark.parametrize("stem", sorted(CORPUS_PROGRAMS))
def test_corpus_scores_one_with_the_interpreter(stem):
    corpus = CORPORA / f"{stem}.tsv"
    if not corpus.exists():
        pytest.skip(f"{corpus.name} is not in this checkout")
    name, classify = CORPUS_PROGRAMS[stem]
    examples = read_corpus(corpus, classify)
    result = score(interpreter_runner(rasp.load(REPO / "programs" / f"{name}.rasp")), examples, classify)
    assert result.failures == []
    assert result.total.accuracy == 1.0
