"""BLiMP agreement: the blimp tokenizer, reading and scoring minimal pairs (`rasp eval --pairs`),
and programs/agreement.rasp on a shipped sample, on words no lexicon has, and compiled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import rasp
from rasp.errors import RaspInputError
from rasp.eval import parse_pairs
from rasp.pairs import score_pairs
from rasp.text import get_tokenizer, tokenize

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "blimp" / "agreement_sample.jsonl"
PROGRAM = ROOT / "programs" / "agreement.rasp"


# -- tokenizer ---------------------------------------------------------------------------------


def test_blimp_tokenizer_lowercases_splits_final_punctuation_keeps_contractions():
    assert tokenize("Katherine can't help herself.", "blimp") == ["katherine", "can't", "help", "herself", "."]
    assert tokenize('"No!" said the well-known girl\'s (dog).', "blimp") == [
        '"', "no", "!", '"', "said", "the", "well-known", "girl's", "(", "dog", ")", "."]
    assert tokenize("  The  boys   haven't left  ", "blimp") == ["the", "boys", "haven't", "left"]


def test_blimp_tokenizer_is_registered_with_a_description():
    tok = get_tokenizer("blimp")
    assert "contractions" in tok.description


# -- reading and scoring pairs -----------------------------------------------------------------


def _line(good: str, bad: str, uid: str = "p") -> str:
    return json.dumps({"sentence_good": good, "sentence_bad": bad, "UID": uid})


def test_parse_pairs_reads_blimp_lines_and_names_bad_ones():
    split = get_tokenizer("blimp")
    pairs = parse_pairs(_line("The cat is.", "The cat are.") + "\n\n" + _line("A b.", "A c.", "q"), "x.jsonl", split)
    assert [p.line for p in pairs] == [1, 3]
    assert pairs[0].good == ("the", "cat", "is", ".") and pairs[1].uid == "q"
    with pytest.raises(RaspInputError, match="not JSON") as err:
        parse_pairs(_line("a", "b") + "\n{oops", "x.jsonl", split)
    assert err.value.pos.line == 2
    with pytest.raises(RaspInputError, match="sentence_good and sentence_bad"):
        parse_pairs(json.dumps({"sentence_good": "a"}), "x.jsonl", split)
    with pytest.raises(RaspInputError, match="no pairs"):
        parse_pairs("\n", "x.jsonl", split)


def test_score_pairs_needs_both_labels_right():
    split = get_tokenizer("blimp")
    pairs = parse_pairs("\n".join([_line("ok one.", "bad one."), _line("ok two.", "ok bad."),
                                   _line("bad good.", "bad bad.")]), "x", split)

    def run(batch):  # "bad" when the sentence's first word is "bad"
        return [["bad" if words[0] == "bad" else "good"] * len(words) for words in batch]

    result = score_pairs(run, [("x", pairs)])
    f = result.files[0]
    assert (f.n, f.correct, f.good_correct, f.bad_correct) == (3, 1, 2, 2)
    assert [(x.pair.line, x.got_good, x.got_bad) for x in f.failures] == [(2, "good", "good"), (3, "bad", "bad")]
    j = result.to_json()
    assert j["accuracy"] == pytest.approx(1 / 3) and j["files"][0]["file"] == "x"


def test_cli_eval_pairs_json_per_file(tmp_path):
    program = tmp_path / "p.rasp"
    program.write_text('label = map(lambda w: "bad" if w == "himself" else "good", tokens);\n'
                       'out = aggregate(select(indices, length - 1, ==), label);\n')
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(_line("Mary saw herself.", "Mary saw himself.") + "\n")
    b.write_text(_line("He saw himself.", "He saw herself.") + "\n")
    proc = subprocess.run([sys.executable, "-m", "rasp", "eval", str(program), str(a), str(b), "--pairs", "--json"],
                          capture_output=True, text=True, check=True)
    # The label is read at the last position, "." : the program's word-level label is not there.
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(out) >= {"n", "correct", "accuracy", "good_accuracy", "bad_accuracy", "files"}
    assert out["n"] == 2 and [f["n"] for f in out["files"]] == [1, 1]
    assert "pair accuracy" in proc.stdout


def test_cli_eval_pairs_rejects_several_tsv_corpora(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rasp", "eval", str(PROGRAM), "a.tsv", "b.tsv"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "--pairs" in proc.stderr and "Traceback" not in proc.stderr


# -- programs/agreement.rasp -------------------------------------------------------------------


@pytest.fixture(scope="module")
def agreement():
    return rasp.load(PROGRAM)


def _labels(program, sentences):
    split = get_tokenizer("blimp")
    return [out[-1] for out in program.batch([split(s) for s in sentences])]


def test_agreement_on_the_shipped_sample(agreement):
    pairs = parse_pairs(SAMPLE.read_text(), str(SAMPLE), get_tokenizer("blimp"))
    result = score_pairs(lambda batch: agreement.batch(batch), [("sample", pairs)])
    assert result.total.n == 48
    assert result.total.correct >= 46  # BLiMP itself has a few pairs whose "good" sentence is not


def test_agreement_phenomena_on_sentences_of_our_own(agreement):
    good = ["These mice are sleeping.", "That child has left.", "The niece of the senators is here.",
            "The boys that the girl likes are tall.", "Those cacti haven't grown.", "This old sheep runs.",
            "Mary hurt herself.", "The senators praised themselves.", "The book about dogs doesn't sell.",
            "John descends those stairs."]
    bad = ["These mouse are sleeping.", "That children has left.", "The niece of the senators are here.",
           "The boys that the girl likes is tall.", "Those cactus haven't grown.", "Mary hurt himself.",
           "The senators praised himself.", "The book about dogs don't sell.", "John descend those stairs.",
           "This old mice runs."]
    assert _labels(agreement, good) == ["good"] * len(good)
    assert _labels(agreement, bad) == ["bad"] * len(bad)


def test_agreement_falls_back_to_morphology_for_unknown_words(agreement):
    # Nonce nouns and verbs no lexicon has: "-s" is plural for a noun, third person for a verb.
    good = ["These blickets are red.", "This blicket is red.", "The wug dax of the feps is here.",
            "Mary zorps the wugs.", "The wugs zorp."]
    bad = ["This blickets are red.", "These blicket is red.", "The wugs is here.", "The wug are here.",
           "The wugs zorps."]
    assert _labels(agreement, good) == ["good"] * len(good)
    assert _labels(agreement, bad) == ["bad"] * len(bad)


def test_agreement_compiles_and_matches_the_interpreter(agreement):
    pytest.importorskip("torch")
    from rasp.compiler import compile_program

    sentences = ["These mice are here.", "These mouse are here.", "The boy of the girls is here.",
                 "The boy of the girls are here.", "Mary hurt herself.", "Mary hurt himself."]
    split = get_tokenizer("blimp")
    inputs = [split(s) for s in sentences]
    vocab = list(dict.fromkeys(w for words in inputs for w in words))
    model = compile_program(agreement, vocab, max(len(x) for x in inputs))
    assert [out[-1] for out in model.run_batch(inputs)] == ["good", "bad"] * 3
