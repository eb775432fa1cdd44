"""Compiler capabilities for real-valued word programs (VADER-like): token features in the
embedding, continuous numbers with fitted pieces and an error bound, value sets that count a
shared input once, single-key lookups, and exact pieces for a running value."""

import random

import numpy as np
import pytest

import rasp
from rasp.compiler import compile_program, load_model
from rasp.compiler.pieces import exact_knots, fitted_knots
from rasp.compiler.valueset import infer_value_sets
from rasp.compiler.verify import random_inputs, verify
from rasp.errors import RaspCompileError
from rasp.ir.graph import build_graph, topological_exprs

torch = pytest.importorskip("torch")

BOOSTERS = {"very": 0.293, "really": 0.293, "slightly": -0.293}
NEGATIONS = ["not", "never", "no"]


def core_source(n_words: int, seed: int = 0) -> tuple[str, list[str]]:
    """A VADER-like core: lexicon valences, boosters 1-3 words back with decay, negation
    3 words back, a sum as a mean times the length, compound = s / sqrt(s^2 + 15)."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(n_words)]
    lexicon = {w: rng.choice([-1, 1]) * rng.randint(1, 39) / 10 for w in words[: n_words // 2]}
    entries = ", ".join(f'"{w}": {v}' for w, v in lexicon.items())
    boosters = ", ".join(f'"{w}": {v}' for w, v in BOOSTERS.items())
    source = f"""
valence = lookup({{{entries}}}, tokens, 0);
scalar = lookup({{{boosters}}}, tokens, 0);
negation = tokens in [{", ".join(chr(34) + w + chr(34) for w in NEGATIONS)}];
def back(x, k, d) {{ return aggregate(select(indices, indices - k, ==), x, d); }}
def step(v, b) {{ return v + b if v > 0 else (v - b if v < 0 else v); }}
v1 = step(valence, back(scalar, 1, 0));
v2 = step(v1, back(scalar, 2, 0) * 0.95);
v3 = step(v2, back(scalar, 3, 0) * 0.9);
negated = back(negation, 1, False) or back(negation, 2, False) or back(negation, 3, False);
v = v3 * (-0.74 if negated else 1);
s = aggregate(select(1, 1, ==), v) * length;
compound = s / ((s * s + 15) ^ 0.5);
"""
    return source, words + list(BOOSTERS) + NEGATIONS


def value_sets(prog, vocab, max_len):
    order = topological_exprs(build_graph(prog.output))
    return infer_value_sets(order, vocab, max_len), {e.name: e for e in order}


def test_fitted_pieces_meet_their_bound_on_a_dense_grid():
    f = lambda s: s / np.sqrt(s * s + 15)  # noqa: E731
    knots = fitted_knots(f, -200.0, 200.0, 1e-6)
    xs = np.linspace(-200, 200, 400_001)
    dense = float(np.abs(knots(xs) - f(xs)).max())
    assert 0 < knots.error <= 1e-6 and dense <= 1.01 * knots.error
    kink = fitted_knots(lambda x: abs(x - 0.3), -2.0, 3.0, 1e-8)
    assert len(kink.x) < 80 and float(np.abs(kink(xs / 100) - np.abs(xs / 100 - 0.3)).max()) < 1e-8


def test_exact_pieces_through_points_need_knots_only_where_the_line_breaks():
    xs = sorted({round(x, 2) for x in np.random.default_rng(1).uniform(-4, 4, 3000).tolist()} | {0.0})
    ys = [x + 0.293 * np.sign(x) for x in xs]  # a booster: a jump across the gap around 0
    knots = exact_knots(xs, ys)
    assert len(knots.x) <= 4 and np.abs(knots(np.array(xs)) - ys).max() < 1e-12


def test_shared_input_is_counted_once():
    src = 'v = lookup({"a": 1.5, "b": -2.0, "c": 0.5}, tokens, 0) * (indices + 1);\n' \
          'n = tokens == "d";\nout = v * (-0.74 if n else 1) + v;'
    prog = rasp.from_source(src)
    vs, by_name = value_sets(prog, list("abcd"), 6)
    # v and n both depend on the token: (token, index) combinations, not |v| x |n|
    exact = {v * (-0.74 if t == "d" else 1) + v for t in "abcd" for i in range(6)
             for v in [{"a": 1.5, "b": -2.0, "c": 0.5}.get(t, 0) * (i + 1)]}
    assert set(vs.values(by_name["out"])) == {round(x, 12) for x in exact} or len(vs.values(by_name["out"])) == len(exact)


def test_single_known_position_is_a_lookup_not_an_average():
    src = 'x = lookup({"a": 1.25, "b": -0.5, "c": 3.0}, tokens, 0);\nlast = aggregate(select(indices, length - 1, ==), x);'
    prog = rasp.from_source(src)
    vs, by_name = value_sets(prog, list("abc"), 12)
    # the selected value or (the analysis cannot rule it out) the default: never a mean
    assert set(vs.values(by_name["last"])) <= {1.25, -0.5, 3.0, 0}
    model = compile_program(prog, list("abc"), 12)
    assert verify(model, random_inputs(list("abc"), 12, 200)).ok


def test_token_features_cost_embedding_rows_not_residual_width():
    words = [f"w{i}" for i in range(40_000)]
    rng = random.Random(3)
    lexicon = {w: rng.randint(-40, 40) / 10 for w in words[::2]}
    entries = ", ".join(f'"{w}": {v}' for w, v in lexicon.items())
    prog = rasp.from_source(f"valence = lookup({{{entries}}}, tokens, 0);\n"
                            "prev = aggregate(select(indices, indices - 1, ==), valence, 0);\nout = valence + prev;")
    model = compile_program(prog, words, 8)
    summary = model.summary()
    assert summary["d_model"] < 40 and "tokens_str" not in model.spaces
    assert model.module.W_E.shape[0] == len(words) + 1
    assert verify(model, random_inputs(words, 8, 300, seed=2)).ok


def test_vader_like_core_compiles_within_its_bound(tmp_path):
    source, vocab = core_source(60)
    prog = rasp.from_source(source)
    model = compile_program(prog, vocab, 24)
    assert 0 < model.error_bound < 1e-5
    assert model.spaces["compound"].continuous and "tokens_str" not in model.spaces
    report = verify(model, random_inputs(vocab, 24, 300, seed=5))
    assert report.ok and report.checked == 300 and report.max_error <= model.error_bound
    sentence = ["very", "w1", "not", "w3", "w0", "slightly", "w2"]
    assert abs(model.run(sentence)[-1] - prog(sentence)[-1]) <= model.error_bound
    loaded = load_model(model.save(tmp_path / "core.safetensors"))
    assert loaded.error_bound == model.error_bound
    assert loaded.run(sentence) == model.run(sentence)


def test_running_value_steps_are_small_exact_mlps():
    source, vocab = core_source(400)
    prog = rasp.from_source(source.split("s = aggregate")[0] + "out = v;")
    model = compile_program(prog, vocab, 12)
    assert model.error_bound == 0  # every step exact: no continuous number
    vs, _ = value_sets(prog, vocab, 12)
    # a staircase would need two units per value of v; the pieces need a few per gate case
    assert sum(model.summary()["mlp_hidden"]) < len(vs.values(prog.output)) / 2
    assert verify(model, random_inputs(vocab, 12, 300, seed=6)).ok


def test_non_linear_map_of_two_continuous_numbers_is_a_clear_error():
    first = ", ".join(f'"t{i}": {i * 0.37 + 0.011 * i * i}' for i in range(30))
    second = ", ".join(f'"t{i}": {i * 0.53 - 0.017 * i * i}' for i in range(30))
    src = (f"a = aggregate(select(1, 1, ==), lookup({{{first}}}, tokens, 0));\n"
           f"b = aggregate(select(indices, indices, <=), lookup({{{second}}}, tokens, 0));\nout = a * b;")
    prog = rasp.from_source(src)
    with pytest.raises(RaspCompileError, match="several continuous numbers"):
        compile_program(prog, [f"t{i}" for i in range(30)], 40)
