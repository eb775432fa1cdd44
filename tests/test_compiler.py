"""Compiler behaviour on hand-built IR programs: the cases Tracr gets wrong, errors,
the model API, saving, and the CLI."""

import itertools
import json
from pathlib import Path

import pytest

from rasp.compiler import compile_program, load_model
from rasp.compiler.verify import causal_reference, exhaustive_inputs, random_inputs, verify
from rasp.errors import RaspCompileError
from rasp.ir.evaluate import evaluate
from rasp.ir.sops import (
    Aggregate,
    Comparison,
    Constant,
    Indices,
    Length,
    Map,
    Select,
    SelectorOr,
    SelectorWidth,
    SequenceMap,
    Tokens,
)

torch = pytest.importorskip("torch")

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"

TOKENS = Tokens("str")
INDICES = Indices()
LEQ, EQ, LT = Comparison.LEQ, Comparison.EQ, Comparison.LT


def prefix(sop, default=None):
    return Aggregate(selector=Select(keys=INDICES, queries=INDICES, predicate=LEQ), sop=sop, default=default)


def check(sop, vocab="abc", max_len=5, exhaustive=5, causal=False):
    model = compile_program(sop, list(vocab), max_len, causal=causal)
    report = verify(model, list(exhaustive_inputs(list(vocab), exhaustive)))
    assert report.ok, report.mismatches[:3]
    return model


def test_categorical_aggregate_of_several_equal_values():
    # Every position selects all positions holding its own token: several equal values.
    same = Select(keys=TOKENS, queries=TOKENS, predicate=EQ)
    check(Aggregate(selector=same, sop=TOKENS))


def test_categorical_aggregate_with_default():
    previous = Select(keys=Map(fn=lambda i: i + 1, inner=INDICES), queries=INDICES, predicate=EQ)
    sop = Aggregate(selector=previous, sop=TOKENS, default="_")
    model = check(sop)
    assert model.run("abc") == ["_", "a", "b"]


def test_negative_numeric_map_outputs():
    step = Map(fn=lambda t: {"a": 1, "b": -1, "c": 0}[t], inner=TOKENS)
    depth = SequenceMap(fn=lambda i, m: round((i + 1) * m) - 3, inputs=(INDICES, prefix(step)))
    model = check(depth)
    assert model.run("bbb") == [-4, -5, -6]  # hand-checked


def test_means_over_k_of_n():
    is_a = Map(fn=lambda t: 1 if t == "a" else 0, inner=TOKENS)
    model = check(prefix(is_a), max_len=7, exhaustive=6)
    assert model.run("abaab") == pytest.approx([1, 1 / 2, 2 / 3, 3 / 4, 3 / 5])


def test_mean_of_full_sequence_is_exact_at_length_64():
    is_a = Map(fn=lambda t: 1 if t == "a" else 0, inner=TOKENS)
    full = Select(keys=Constant(1), queries=Constant(1), predicate=EQ)
    frac = Aggregate(selector=full, sop=is_a)
    model = compile_program(frac, list("ab"), 64)
    report = verify(model, random_inputs(list("ab"), 64, 200, min_len=40))
    assert report.ok, report.mismatches[:1]


@pytest.mark.parametrize("kind", ["width", "length"])
def test_selector_width_and_length_long_sequences(kind):
    width = SelectorWidth(selector=Select(keys=TOKENS, queries=TOKENS, predicate=LT))
    sop = width if kind == "width" else Length()
    model = compile_program(sop, list("abc"), 64)
    assert verify(model, random_inputs(list("abc"), 64, 100, min_len=50)).ok


def test_fused_map_chain_is_one_mlp():
    # over the tokens alone, the innermost map is a token feature (the embedding computes it);
    # the maps of that feature read its dimensions, fused into one MLP
    chain = Map(fn=lambda x: x * 2, inner=Map(fn=lambda t: ord(t), inner=TOKENS))
    chain = Map(fn=lambda x: x % 7, inner=chain)
    model = check(chain)
    assert model.summary()["layers"] == 1 and model.summary()["heads"] == [0]
    assert [c["sop"] for c in model.components if not c["cleanup"]] == [chain.name]
    # over tokens and positions, one MLP
    mixed = SequenceMap(fn=lambda t, i: ord(t) * 2 + i, inputs=(TOKENS, INDICES))
    model = check(Map(fn=lambda x: x % 7, inner=Map(fn=lambda x: x + 1, inner=mixed)))
    assert model.summary()["layers"] == 1
    assert model.summary()["heads"] == [0]


def test_map_of_tokens_folds_into_attention():
    # shift: `indices + 1` folds into the query/key table; no MLP needed.
    previous = Select(keys=Map(fn=lambda i: i + 1, inner=INDICES), queries=INDICES, predicate=EQ)
    model = check(Aggregate(selector=previous, sop=TOKENS, default="_"))
    assert model.summary()["layers"] == 1 and model.summary()["mlp_hidden"] == [0]


def test_causal_model_masks_attention():
    # Reverse needs the future: with causal=True the model computes the causally
    # masked program instead, which differs from the plain one.
    opposite = SequenceMap(fn=lambda n, i: n - i - 1, inputs=(Length(), INDICES))
    reverse = Aggregate(selector=Select(keys=INDICES, queries=opposite, predicate=EQ), sop=TOKENS, default="_")
    model = check(reverse, causal=True)
    assert model.run("abc") == evaluate(causal_reference(reverse), "abc") == ["a", "a", "a"]
    # Changing a later token never changes an earlier output.
    ids = model.encode(["abca"])
    base = model(ids)
    ids[0, -1] = 2
    assert torch.equal(model(ids)[:, :-1], base[:, :-1])


def test_or_of_different_sops_in_selector_width():
    goes_before = SelectorOr(
        left=Select(keys=TOKENS, queries=TOKENS, predicate=LT),
        right=Select(keys=INDICES, queries=INDICES, predicate=LT),
    )
    check(SelectorWidth(selector=goes_before))


def test_aggregate_over_or_of_different_sops_is_a_compile_error():
    either = SelectorOr(
        left=Select(keys=TOKENS, queries=TOKENS, predicate=LT),
        right=Select(keys=INDICES, queries=INDICES, predicate=LT),
    )
    sop = Aggregate(selector=either, sop=Map(fn=lambda t: 1, inner=TOKENS)).named("mixed")
    with pytest.raises(RaspCompileError, match="mixed"):
        compile_program(sop, list("abc"), 4)


def test_value_set_too_large_is_a_compile_error():
    code = Map(fn=lambda t: ord(t) * 1.37, inner=TOKENS)
    mean_of_means = prefix(prefix(code)).named("nested_mean")
    # too many means to list: a continuous number, fine for arithmetic, but no decision
    # (a category) can be computed from it exactly
    label = Map(fn=lambda m: "high" if m > 130 else "low", inner=mean_of_means)
    with pytest.raises(RaspCompileError, match="nested_mean"):
        compile_program(label, list("abcdefghij"), 40)


def test_program_object_and_cached_residual():
    import rasp

    prog = rasp.from_source("opp = length - indices - 1;\nrev = aggregate(select(indices, opp, ==), tokens);")
    model = compile_program(prog, list("abc"), 6)
    assert model.run("abcc") == ["c", "c", "b", "a"]
    cache = model.run_with_cache("abcc")
    assert model.read(cache, "opp") == [3, 2, 1, 0]
    assert model.read(cache, "rev") == ["c", "c", "b", "a"]
    assert "blocks.0.attn.hook_pattern" in cache


def test_save_and_load(tmp_path):
    same = Select(keys=TOKENS, queries=TOKENS, predicate=EQ)
    model = compile_program(SelectorWidth(selector=same), list("abc"), 8)
    path = model.save(tmp_path / "m.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
    loaded = load_model(path)
    assert loaded.vocab == ["a", "b", "c"] and loaded.max_len == 8
    assert loaded.run("abcab") == model.run("abcab") == [2, 2, 1, 2, 2]


@pytest.mark.parametrize("name", ["reverse", "sort", "hist"])
def test_transformer_lens_export(name):
    pytest.importorskip("transformer_lens")
    import rasp

    vocab = list("abc")
    model = compile_program(rasp.load(PROGRAMS / f"{name}.rasp").output, vocab, 5)
    lens = model.to_transformer_lens()
    assert lens.cfg.dtype == torch.float64 and lens.cfg.normalization_type is None
    for n in range(1, 6):
        inputs = [list(c) for c in itertools.product(vocab, repeat=n)]
        ids = model.encode(inputs)
        with torch.no_grad():
            ours, theirs = model(ids), lens(ids)
        assert torch.allclose(theirs, ours, atol=1e-9)
        decoded = model.output.decode(theirs[:, 1:].numpy().reshape(-1, model.output.width))
        assert [decoded[i * n : (i + 1) * n] for i in range(len(inputs))] == model.run_batch(inputs)


@pytest.mark.parametrize("name, vocab", [("sort", "abc"), ("dyck1", "()a")])
def test_residual_reuse_narrows_d_model(name, vocab, tmp_path):
    import rasp

    sop = rasp.load(PROGRAMS / f"{name}.rasp").output
    wide = compile_program(sop, list(vocab), 5, reuse=False)
    narrow = check(sop, vocab=vocab, max_len=5, exhaustive=5)
    assert narrow.summary()["d_model"] < wide.summary()["d_model"]
    assert narrow.alive_until and not wide.alive_until
    # A dead s-op is still read from the last snapshot before it was zeroed, also after loading.
    narrow.save(tmp_path / "m.safetensors")
    loaded = load_model(tmp_path / "m.safetensors")
    raw = list(vocab * 2)[:5]
    wide_cache, cache = wide.run_with_cache(raw), loaded.run_with_cache(raw)
    for space in narrow.alive_until:
        assert loaded.read(cache, space) == wide.read(wide_cache, space)


def test_cli_compile_verify_show(tmp_path, capsys):
    from rasp.cli import main

    src = tmp_path / "rev.rasp"
    src.write_text("opp = length - indices - 1;\nrev = aggregate(select(indices, opp, ==), tokens);\n")
    out = tmp_path / "rev.safetensors"
    assert main(["compile", str(src), "--vocab", "a,b,c", "--max-len", "5", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["layers"] == 2 and summary["mismatches"] == 0 and summary["verified_inputs"] > 300
    wide = tmp_path / "wide.safetensors"
    assert main(["compile", str(src), "--vocab", "a,b,c", "--max-len", "5", "-o", str(wide), "--json", "--no-reuse"]) == 0
    assert json.loads(capsys.readouterr().out)["d_model"] > summary["d_model"]
    assert main(["verify", str(src), "--vocab", "a,b,c", "--max-len", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mismatches"] == 0
    png = tmp_path / "rev.png"
    assert main(["show-model", str(out), "--input", "abc", "-o", str(png)]) == 0
    assert png.stat().st_size > 1000


def test_cli_reports_compile_errors_cleanly(tmp_path, capsys):
    from rasp.cli import main

    src = tmp_path / "bad.rasp"
    src.write_text("x = aggregate(select(tokens, tokens, <) or select(indices, indices, <), indicator(tokens == \"a\"));\n")
    assert main(["compile", str(src), "--vocab", "a,b", "--max-len", "4", "-o", str(tmp_path / "b.safetensors")]) == 1
    err = capsys.readouterr().err
    assert "compile error" in err and "bad.rasp:1" in err and "Traceback" not in err


def test_mean_of_strings_is_outside_the_compilable_subset(tmp_path, capsys):
    from rasp.cli import main

    src = tmp_path / "mean.rasp"
    src.write_text("x = aggregate(select(indices, indices, <=), tokens);\n")
    out = tmp_path / "m.safetensors"
    assert main(["compile", str(src), "--vocab", "a,b", "--max-len", "4", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "mean.rasp:1:5: compile error" in err
    assert "would average several different non-numeric values" in err
    assert "Traceback" not in err
    assert not out.exists()
    # over a one-token vocabulary every average is of equal values, so it compiles
    assert main(["compile", str(src), "--vocab", "a", "--max-len", "4", "-o", str(out), "--json"]) == 0
