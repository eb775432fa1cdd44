"""Issue 18, items 1-5: every label is the source expression or the user's name (constants
kept, no internal ids, one head per listed entry); a loaded model places s-ops as a fresh
one does; show-model says what leftover dimensions hold; one token rule; T/F booleans."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import rasp
from rasp.cli import main
from rasp.view.show import _final_residual, residual_groups
from rasp.view.trace import trace

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"
# What an internal name looks like: a node type and its id (selectorand_252, map_17).
INTERNAL = re.compile(r"\b(?:select|selectorand|selectoror|selectornot|aggregate|map|sequencemap|selectorwidth)_\d+\b")


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _labels_of(model) -> list[str]:
    """Every name a viewer shows for a model: heads' s-ops and selectors, residual spaces."""
    names = [c["sop"] for c in model.components] + [c["selector"] for c in model.components if c["selector"]]
    return names + list(model.spaces)


def test_constants_stay_in_labels():
    prog = rasp.from_source(
        'prev = aggregate(select(indices, indices - 1, ==), tokens, "_");\n'
        'back = aggregate(select(indices, length - (indices + 1), ==), tokens, "_");\n'
        "scaled = 2 * indices + 1;\n"
    )
    assert prog["prev"].selector.name == "select(indices, indices - 1, ==)"
    assert prog["back"].selector.name == "select(indices, length - (indices + 1), ==)"
    assert prog["scaled"].inner.name == "2 * indices" and prog["scaled"].name == "scaled"
    model = rasp.compile(prog, vocab="abc", max_len=4, output="prev")
    selectors = [h.selector for layer in trace(model, "abc").layers for h in layer.attention if h.selector]
    assert "select(indices, indices - 1, ==)" in selectors


def test_labels_follow_source_syntax():
    prog = rasp.from_source(
        'a = aggregate(select(indices, indices, ==) and select(tokens, "x", ==), indices);\n'
        "b = not (tokens == \"x\");\n"
        "c = 1 if tokens == \"x\" else 0;\n"
        'd = tokens in ["x", "y"];\n'
        "e = map(lambda t: t + \"!\", tokens);\n"
    )
    assert prog["a"].selector.name == 'select(indices, indices, ==) and select(tokens_str, "x", ==)'
    assert prog["b"].inner.name == 'tokens_str == "x"'
    assert prog["c"].describe() == '1 if tokens_str == "x" else 0'
    assert prog["d"].describe() == 'tokens_str in ["x", "y"]'
    assert prog["e"].describe() == "map(lambda t: ..., tokens_str)"


def test_long_labels_are_shortened_not_replaced_by_ids():
    terms = " and ".join(f"select(tokens, \"{c}\", !=)" for c in "abcdefghij")
    prog = rasp.from_source(f"x = aggregate({terms}, indices);")
    name = prog["x"].selector.name
    assert not INTERNAL.search(name) and name.startswith('select(tokens_str, "a", !=)') and " ... " in name


def test_locals_of_two_calls_get_different_labels():
    prog = rasp.from_source(
        "def shifted(seq, n) { prev = aggregate(select(indices, indices - n, ==), seq, \"_\"); return prev; }\n"
        "def marked(seq) { where = seq == \"a\"; return aggregate(select(where, True, ==), indices, 0); }\n"
        "one = shifted(tokens, 1);\n"
        "two = shifted(tokens, 2);\n"
        "m1 = marked(tokens);\n"
        "m2 = marked(one);\n"
    )
    assert prog["one"].name == "one" and prog["two"].name == "two"
    assert prog["m1"].selector.keys.name == "m1.where" and prog["m2"].selector.keys.name == "m2.where"
    # an unnamed call is labelled by its call, arguments included; a lambda's by its expression
    lam = rasp.from_source('y = aggregate(select(indices, (lambda a: a - 1)(indices), ==), tokens, "_");')["y"]
    assert lam.selector.name == "select(indices, indices - 1, ==)"
    unnamed = rasp.from_source("x = count(tokens, \"a\") + count(tokens, \"b\");")["x"]
    assert [s.name for s in unnamed.inputs] == ['count(tokens_str, "a")', 'count(tokens_str, "b")']


@pytest.mark.parametrize("name", sorted(p.name for p in PROGRAMS.glob("*.rasp")))
def test_layer_reports_list_one_entry_per_head_and_no_internal_names(capsys, name):
    code, out, _ = cli(capsys, "layers", PROGRAMS / name, "--json")
    assert code == 0
    report = json.loads(out)
    listed = [n for heads in report["head_sops"].values() for names in heads for n in names]
    for layer, heads in report["head_sops"].items():
        assert len(heads) == report["heads_per_layer"][layer]
    assert len(listed) == len(set(listed)), f"a name is listed twice: {listed}"
    assert not [n for n in listed if INTERNAL.search(n)]
    code, text, _ = cli(capsys, "layers", PROGRAMS / name)
    for line in text.splitlines()[1:]:
        count = int(re.search(r"layer \d+: (\d+) heads?:", line).group(1))
        assert count == len(line.split(": ", 2)[2].split("; "))


def test_translate_heads_match_their_count(capsys):
    code, out, _ = cli(capsys, "layers", PROGRAMS / "translate.rasp")
    first = next(line for line in out.splitlines() if "layer 1:" in line)
    count = int(re.search(r"(\d+) heads", first).group(1))
    entries = first.split(": ", 2)[2].split("; ")
    assert len(entries) == count and len(set(entries)) == count


@pytest.mark.parametrize("name, vocab, max_len", [("sort_by_most_freq.rasp", "abc", 5), ("dyck1.rasp", "()", 6)])
def test_compiled_and_traced_labels_have_no_internal_names(capsys, name, vocab, max_len):
    model = rasp.compile(rasp.load(PROGRAMS / name), vocab=vocab, max_len=max_len)
    assert not [n for n in _labels_of(model) if INTERNAL.search(n)]
    code, out, _ = cli(capsys, "trace", PROGRAMS / name, "--vocab", ",".join(vocab), "--max-len", max_len,
                       "--input", vocab[:2] * 2, "--json")
    assert code == 0 and not INTERNAL.search(out)


def test_loaded_model_reports_the_placement_of_a_fresh_one(tmp_path):
    model = rasp.compile(rasp.load(PROGRAMS / "sort.rasp"), vocab="abcd", max_len=5)
    written = model.stages.allocation.written  # the compiler's own record of where each space is written
    for name, where, _ in model.placement():
        sub = written.get(model.spaces[name])
        expected = "embedding" if not sub else f"layer {(sub + 1) // 2} {'attn' if sub % 2 else 'mlp'}"
        assert where == expected, name
    assert any(where != "embedding" for _, where, _ in model.placement())
    path = model.save(tmp_path / "sort.safetensors")
    assert rasp.load_model(path).placement() == model.placement()


def test_show_model_says_what_leftover_dimensions_hold():
    model = rasp.compile(rasp.load(PROGRAMS / "dyck1.rasp"), vocab="()", max_len=6)
    raw = "(())"
    final = _final_residual(model, raw)
    rows, groups = residual_groups(model, trace(model, raw), final)
    assert sorted(rows) == list(range(final.shape[1]))
    stale = [g for g in groups if g[0].endswith("(stale)")]
    assert stale, "dyck1 reuses dimensions: some dead s-op's values are still there"
    for label, start, end in groups:
        block = final[:, rows[start:end]]
        if label == "free":
            assert np.abs(block).max() == 0
        if label.endswith("(stale)"):
            assert np.abs(block).max() > 0 and label.removesuffix(" (stale)") in model.spaces


def test_one_token_rule_for_the_api_and_the_cli(capsys, tmp_path):
    prog = rasp.from_source("y = tokens_int + 1;")
    model = rasp.compile(prog, vocab=[1, 2, 10], max_len=4)
    assert model.run(["1", "10"]) == model.run([1, 10]) == prog([1, 10])
    with pytest.raises(rasp.RaspError, match="not in the model's vocabulary"):
        model.run(["11"])
    src = tmp_path / "inc.rasp"
    src.write_text("y = tokens_int + 1;\n")
    out = tmp_path / "inc.safetensors"
    assert cli(capsys, "compile", src, "--vocab", "1,2,10", "--max-len", 4, "-o", out)[0] == 0
    code, text, err = cli(capsys, "trace", out, "--input-json", "[1, 10, 2]", "--json")
    assert code == 0, err
    assert json.loads(text)["output"] == [2, 11, 3]
    code, text, err = cli(capsys, "trace", src, "--vocab", "1,2,10", "--max-len", 4, "--input-json", "[1, 10, 2]", "--json")
    result = json.loads(text)
    assert code == 0 and result["output"] == result["expected"] == [2, 11, 3]
    code, _, err = cli(capsys, "trace", out, "--input-json", "[1, 11]")
    assert code == 1 and "not in the model's vocabulary" in err


def test_booleans_print_one_way_for_people_and_as_json_for_machines(capsys, tmp_path):
    src = tmp_path / "b.rasp"
    src.write_text('b = tokens == "a";\n')
    code, out, _ = cli(capsys, "run", src, "--input", "ab")
    assert out.strip() == 'b("ab") = [T, F] (bools)'
    code, out, _ = cli(capsys, "trace", src, "--vocab", "a,b", "--max-len", 3, "--input", "ab")
    assert "output: T F" in out and "True" not in out and "False" not in out
    code, out, _ = cli(capsys, "trace", src, "--vocab", "a,b", "--max-len", 3, "--input", "ab", "--json")
    assert json.loads(out)["output"] == [True, False]
    code, out, _ = cli(capsys, "run", src, "--input", "ab", "--json")
    assert json.loads(out)["output"] == [True, False]
