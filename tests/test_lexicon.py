"""Declared lexicons (issue 18, item 18): a program that says which words it knows warns,
in `rasp run`, `rasp eval` and the Python API, on input words outside them."""

from __future__ import annotations

from pathlib import Path

import pytest

import rasp
from rasp.cli.app import main
from rasp.errors import RaspTypeError

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"

SOURCE = '''
known = {"the": "D", "cat": "N", "sleeps": "V"};
declare_lexicon(known, ["a"]);
cat = map(lambda w: known[w] if w in known else "?", tokens);
'''


def test_unknown_words_are_the_tokens_outside_the_declaration():
    prog = rasp.from_source(SOURCE)
    assert prog.lexicon.words == {"the", "cat", "sleeps", "a"}
    assert prog.unknown_words(["the", "dog", "eats.", "dog", "a"]) == ["dog", "eats."]
    assert prog.unknown_words(["a", "cat", "sleeps"]) == []
    [warning] = prog.input_warnings(["the", "dog", "eats."])
    assert "2 words outside the lexicon" in warning.message and "'dog', 'eats.'" in warning.message
    assert warning.pos.line == 3  # points at the declaration
    assert prog.input_warnings(["the", "cat"]) == []


def test_a_program_without_a_declaration_never_warns():
    prog = rasp.from_source("x = tokens;")
    assert prog.lexicon is None
    assert prog.unknown_words(["anything", "at", "all"]) == [] and prog.input_warnings(["x"]) == []


def test_declarations_take_words_lists_and_dicts_only():
    with pytest.raises(RaspTypeError, match="declare_lexicon"):
        rasp.from_source("declare_lexicon([indices]);")
    prog = rasp.from_source('declare_lexicon("a", ["b"]); declare_lexicon({"c": 1}); x = tokens;')
    assert prog.lexicon.words == {"a", "b", "c"}


def test_translate_warns_on_an_untranslated_word(capsys):
    assert main(["run", str(PROGRAMS / "translate.rasp"), "--words", "--input", "the cat eats."]) == 0
    captured = capsys.readouterr()
    assert "eats." in captured.out  # passed through untranslated, as before
    assert "warning: the input has 1 word outside the lexicon" in captured.err and "'eats.'" in captured.err
    assert main(["run", str(PROGRAMS / "translate.rasp"), "--words", "--input", "the cat sleeps"]) == 0
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("program,sentence,unknown", [
    ("grammaticality", "the unicorn sleeps", "unicorn"),
    ("sentiment", "a great zorblax", "zorblax"),
])
def test_the_language_programs_declare_their_lexicons(program, sentence, unknown):
    prog = rasp.load(PROGRAMS / f"{program}.rasp")
    assert unknown in prog.unknown_words(sentence.split())


def test_eval_counts_the_unknown_words_of_a_corpus(tmp_path, capsys):
    corpus = tmp_path / "c.tsv"
    corpus.write_text("the cat sleeps\tle chat dort\nthe gnu sleeps\tle gnu dort\nthe gnu eats.\tle gnu eats.\n")
    main(["eval", str(PROGRAMS / "translate.rasp"), str(corpus), "--show", "0"])
    err = capsys.readouterr().err
    assert "2 distinct words of the 3 inputs are outside the lexicon" in err
    assert "'gnu' (2)" in err and "'eats.' (1)" in err
