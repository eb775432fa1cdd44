"""The compiler at scale (small sizes here; bench/bench_scale.py goes to max_len 256):
widths linear in max_len and vocabulary, a size limit checked before building,
other dtypes only where exact, and the interpreter's cached plans."""

from __future__ import annotations

import subprocess
import sys

import pytest
from scale_programs import word_program

import rasp
import rasp.ir.evaluate as ev
from rasp.compiler import compile_program, load_model
from rasp.compiler.verify import default_inputs, random_inputs, verify
from rasp.errors import RaspCompileError, RaspInputError

REVERSE = "opp = length - indices - 1; out = aggregate(select(indices, opp, ==), tokens);"


def _exact(model, vocab, n_random=300, exhaustive=2_000):
    report = verify(model, default_inputs(vocab, model.max_len, exhaustive, n_random))
    assert report.checked > 0 and report.ok, report.mismatches[:3]


@pytest.fixture
def numeric_selects(monkeypatch):
    """Numeric selects from small sizes on (by default they start where tables get wide,
    max_len ~64 for reverse), so that tests stay fast."""
    import rasp.compiler.blocks as blocks

    monkeypatch.setattr(blocks, "NUMERIC_SELECT_MIN", 0)
    monkeypatch.setattr(blocks, "NUMERIC_SELECT_FACTOR", 1)


def test_reverse_width_grows_linearly_with_max_len(numeric_selects):
    prog = rasp.from_source(REVERSE)
    small = compile_program(prog, "abc", 24)
    large = compile_program(prog, "abc", 48)
    _exact(large, list("abc"))
    # a table over (length, index) pairs would grow 4x; these widths grow about 2x
    assert max(large.summary()["mlp_hidden"]) < 3 * max(small.summary()["mlp_hidden"])
    assert large.summary()["d_model"] < 3 * small.summary()["d_model"]
    assert max(large.summary()["mlp_hidden"]) < 8 * 48


def test_reverse_reads_positions_as_numbers_in_three_layers(numeric_selects):
    # `length - indices - 1` is one sum of one-leaf functions: fused into the MLP that decodes
    # length, it reads positions as one number, so no max_len-wide one-hot code is left in
    # the residual; the paper's 2 layers plus one for computing length
    model = compile_program(rasp.from_source(REVERSE), "abc", 48)
    s = model.summary()
    assert s["layers"] == 3 and s["heads"] == [1, 0, 1]
    assert s["d_model"] < 48 and "indices" in model.spaces and not model.spaces["indices"].categorical
    _exact(model, list("abc"))


def test_layers_are_sized_to_their_own_heads_and_units(tmp_path, numeric_selects):
    model = compile_program(rasp.from_source(REVERSE), "abc", 24)
    blocks = model.module.blocks
    assert [b.attn.W_Q.shape[0] for b in blocks] == [1, 0, 1]  # no padding head in the middle layer
    assert blocks[2].mlp.W_in.shape[1] == 0 and blocks[0].mlp.W_in.shape[1] > 0
    total = sum(p.numel() for p in model.module.parameters())
    assert model.summary()["params"] == total
    model.save(tmp_path / "r.safetensors")
    loaded = load_model(tmp_path / "r.safetensors")
    assert [b.attn.W_Q.shape[0] for b in loaded.module.blocks] == [1, 0, 1]
    assert loaded.run("abcab") == ["b", "a", "c", "b", "a"]
    cache = loaded.run_with_cache("abc")
    assert tuple(cache["blocks.1.attn.hook_pattern"].shape) == (1, 0, 4, 4)


def test_uniform_state_pads_every_layer_to_the_same_shapes():
    from rasp.compiler.model import uniform_state

    model = compile_program(rasp.from_source(REVERSE), "abc", 24)
    cfg, state = model.module.cfg, uniform_state(model.module)
    for i in range(cfg.n_layers):
        assert state[f"blocks.{i}.attn.W_Q"].shape == (cfg.n_heads, cfg.d_model, cfg.d_head)
        assert state[f"blocks.{i}.mlp.W_in"].shape == (cfg.d_model, cfg.d_mlp)
    own = model.module.state_dict()
    w = own["blocks.0.mlp.W_in"]
    assert (state["blocks.0.mlp.W_in"][:, : w.shape[1]] == w).all() and not state["blocks.0.mlp.W_in"][:, w.shape[1]:].any()


def test_precision_bounds_count_one_coordinate_per_one_hot_space_alive_at_each_sublayer():
    # dyck2 at max_len 64 reuses a one-hot code's dimensions for a square up to 4,096 later on;
    # counting every owner of a dimension at once, and every one-hot coordinate at once,
    # made scores look 1.6e9 large and refused float32
    import numpy as np

    from rasp.compiler.layout import ONE, Space, assign_layout

    code = Space("code", ("a", "b", "c"), categorical=True)
    square = Space("square", (0, 4096), categorical=False)
    layout = assign_layout([ONE, code, square], {ONE: 0, code: 0, square: 4}, {code: 2})
    assert set(layout.dims[square]) <= set(layout.dims[code])  # the square took the code's dimensions
    w = np.zeros((layout.d_model, 1))
    w[layout.dims[code], 0] = [5.0, 7.0, 3.0]
    assert layout.largest(w, 1)[0] == 7.0  # one-hot: one coordinate at a time, not 15
    assert layout.largest(w, 5)[0] == w[layout.dims[square][0], 0] * 4096  # later a dimension holds the square
    assert layout.alive(3) == [ONE]  # the code is dead, the square not yet written


def test_numeric_equality_select_keeps_defaults_where_nothing_matches(numeric_selects):
    # queries beyond the sequence select nothing and must read the default
    prog = rasp.from_source('src = length - indices + 1; out = aggregate(select(indices, src, ==), tokens, "_");')
    model = compile_program(prog, "ab", 40)
    assert any("^2" in name for name in model.spaces)  # the numeric form was chosen
    _exact(model, ["a", "b"])


def test_word_program_widths_grow_linearly_with_vocabulary():
    sizes = {}
    for n_words in (10, 20):
        source, vocab = word_program(n_words)
        model = compile_program(rasp.from_source(source), vocab, 5)
        report = verify(model, random_inputs(vocab, 5, 200, seed=n_words))
        assert report.ok, report.mismatches[:3]
        sizes[n_words] = model.summary()
    assert sizes[20]["d_model"] < 3 * sizes[10]["d_model"]
    assert max(sizes[20]["mlp_hidden"]) < 3 * max(sizes[10]["mlp_hidden"])


def test_size_limit_refuses_with_the_exact_estimate():
    prog = rasp.from_source(REVERSE)
    params = compile_program(prog, "abc", 20, max_params=None).summary()["params"]
    assert compile_program(prog, "abc", 20, max_params=params).summary()["params"] == params
    with pytest.raises(RaspCompileError) as err:
        compile_program(prog, "abc", 20, max_params=params - 1)
    assert f"{params:,} parameters" in err.value.message and "d_model" in err.value.message
    assert "--max-params" in err.value.hint


def test_cli_size_limit_and_override(tmp_path):
    cmd = [sys.executable, "-m", "rasp", "compile", "programs/reverse.rasp", "--vocab", "a,b", "--max-len", "6", "--json"]
    refused = subprocess.run(cmd + ["--max-params", "100", "-o", str(tmp_path / "a.safetensors")], capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and "too large" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "a.safetensors").exists()
    ok = subprocess.run(cmd + ["--max-params", "100", "--allow-large", "-o", str(tmp_path / "b.safetensors")], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr


def test_float32_is_verified_exact_and_saved_as_float32(tmp_path, numeric_selects):
    import torch

    prog = rasp.from_source(REVERSE)
    model = compile_program(prog, "abc", 40, dtype="float32")
    assert {p.dtype for p in model.module.parameters()} == {torch.float32}
    _exact(model, list("abc"))
    model.save(tmp_path / "r.safetensors")
    loaded = load_model(tmp_path / "r.safetensors")
    assert next(loaded.module.parameters()).dtype == torch.float32
    assert loaded.run("abcab") == ["b", "a", "c", "b", "a"]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_narrow_dtypes_are_refused_where_exactness_is_not_shown(dtype):
    with pytest.raises(RaspCompileError) as err:
        compile_program(rasp.from_source(REVERSE), "abc", 40, dtype=dtype)
    assert dtype in err.value.message and "exact" in err.value.message


def test_unknown_dtype_is_an_error():
    with pytest.raises(RaspCompileError):
        compile_program(rasp.from_source(REVERSE), "abc", 4, dtype="int8")


def test_interpreter_plan_is_built_once_and_reused():
    prog = rasp.from_source(REVERSE)
    sop = prog.sop()
    first = ev.plan(sop)
    assert ev.plan(sop) is first
    assert prog("abc") == ["c", "b", "a"] and ev.plan(sop) is first


def test_input_length_limit_can_be_raised_as_the_hint_says(monkeypatch):
    prog = rasp.from_source("x = tokens;")
    with pytest.raises(RaspInputError) as err:
        prog("a" * (ev.MAX_INPUT_LENGTH + 1))
    assert "rasp.ir.evaluate.MAX_INPUT_LENGTH" in err.value.hint
    monkeypatch.setattr(ev, "MAX_INPUT_LENGTH", ev.MAX_INPUT_LENGTH + 1)
    assert len(prog("a" * ev.MAX_INPUT_LENGTH)) == ev.MAX_INPUT_LENGTH


def test_huge_max_len_is_refused_before_any_work(tmp_path):
    from rasp.compiler.estimate import MAX_LEN_LIMIT

    prog = rasp.from_source(REVERSE)
    with pytest.raises(RaspCompileError) as err:
        compile_program(prog, "abc", 10_000)
    assert "--allow-large" in (err.value.hint or "") and "100,000,000 query-key position pairs" in err.value.message
    with pytest.raises(RaspCompileError):
        compile_program(prog, "abc", MAX_LEN_LIMIT + 1)
    out = tmp_path / "big.safetensors"
    cmd = [sys.executable, "-m", "rasp", "compile", "programs/reverse.rasp", "--vocab", "abc", "--max-len", "10000",
           "-o", str(out)]
    refused = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and "over the limit" in refused.stderr and "Traceback" not in refused.stderr
    assert not out.exists()
