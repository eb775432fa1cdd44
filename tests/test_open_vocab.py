"""Open vocabularies: --vocab-file, --unk and shapes; a saved model runs on words it never saw."""

import json
import subprocess
import sys

import pytest

import rasp
from rasp.compiler import compile_program, load_model
from rasp.compiler.vocab import OpenVocab, read_vocab_file
from rasp.errors import RaspInputError

torch = pytest.importorskip("torch")

PROGRAM = """val = lookup({"good": 2, "bad": -2, "<unk>s": 0.5, "^<unk>": 0.25, "^<unk>s": 4, "<unk>n't": -1}, tokens, 0);
out = aggregate(select(indices, indices, <=), val);
"""
VOCAB = ["good", "bad", "not", "<unk>", "^<unk>", "<unk>s", "^<unk>s", "<unk>n't", "a,b", 'say "hi"']


def test_most_specific_shape_wins():
    table = OpenVocab(VOCAB, "<unk>")
    assert table.map("good") == "good" and table.map("a,b") == "a,b"  # known tokens stay
    assert table.map("cats") == "<unk>s"
    assert table.map("^Zed") == "^<unk>"
    assert table.map("^Cats") == "^<unk>s"  # prefix and suffix: 2 literal characters beat 1
    assert table.map("isn't") == "<unk>n't"
    assert table.map("zzz") == "<unk>"
    assert table.map("s") == "<unk>" and table.map("^") == "<unk>"  # the unknown part is never empty
    assert table.shape_tokens()[0] == "<unk>n't"  # three literal characters: tried first


def test_vocab_file_keeps_commas_and_quotes(tmp_path):
    path = tmp_path / "v.vocab"
    path.write_text("\n".join(VOCAB) + "\n\ngood\r\n", encoding="utf-8")
    assert read_vocab_file(str(path)) == VOCAB
    (tmp_path / "empty.vocab").write_text("\n\n", encoding="utf-8")
    with pytest.raises(RaspInputError, match="no tokens"):
        read_vocab_file(str(tmp_path / "empty.vocab"))


def test_saved_model_maps_unseen_words(tmp_path):
    prog = rasp.from_source(PROGRAM)
    model = compile_program(prog, VOCAB, 6, unk="<unk>")
    loaded = load_model(model.save(tmp_path / "m.safetensors"))
    assert loaded.unk == "<unk>" and loaded.vocab == VOCAB
    sentence = ["good", "cats", "^Zed", "isn't", "zzz", "^Dogs"]
    mapped = loaded.map_tokens(sentence)
    assert mapped == ["good", "<unk>s", "^<unk>", "<unk>n't", "<unk>", "^<unk>s"]
    assert loaded.run(sentence) == pytest.approx(prog(mapped))
    # without --unk an unseen word is an input error, as before
    closed = compile_program(prog, VOCAB, 6)
    with pytest.raises(RaspInputError, match="not in the model's vocabulary"):
        closed.run(["zzz"])


def test_unk_is_added_when_missing():
    model = compile_program(rasp.from_source(PROGRAM), ["good", "bad"], 4, unk="<unk>")
    assert model.vocab == ["good", "bad", "<unk>"] and model.run(["good", "xyz"]) == [2, 1]


def test_cli_compile_with_vocab_file_and_eval_on_saved_model(tmp_path):
    (tmp_path / "p.rasp").write_text(PROGRAM.replace("out = aggregate(select(indices, indices, <=), val);",
                                                     'out = "pos" if aggregate(select(indices, indices, <=), val) > 0 else "neg";'),
                                     encoding="utf-8")
    (tmp_path / "v.vocab").write_text("\n".join(VOCAB), encoding="utf-8")
    out = tmp_path / "m.safetensors"
    rasp_cli = [sys.executable, "-m", "rasp"]
    done = subprocess.run([*rasp_cli, "compile", str(tmp_path / "p.rasp"), "--vocab-file", str(tmp_path / "v.vocab"),
                           "--unk", "<unk>", "--max-len", "5", "-o", str(out), "--json"],
                          check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["mismatches"] == 0
    (tmp_path / "c.tsv").write_text("good unseen\tpos\ncats isn't isn't isn't\tneg\n", encoding="utf-8")
    scored = subprocess.run([*rasp_cli, "eval", str(out), str(tmp_path / "c.tsv"), "--classify", "--json"],
                            check=False, capture_output=True, text=True, timeout=300)
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout.strip().splitlines()[-1])["accuracy"] == 1.0
