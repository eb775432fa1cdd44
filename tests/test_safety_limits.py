"""Issues 22.12-22.14 and 23.6, 23.9: work estimated before it is done. Training's memory
(model, optimiser, batch) and time, compiling's value-set memory, inference and lowering
work and smallest model, and compare's samples: refused up front with the estimate when
they cannot fit or would take hours."""

from __future__ import annotations

import time

import pytest

import rasp
from rasp.cli import main
from rasp.compiler import estimate
from rasp.compiler.valueset import _SumSets, infer_value_sets
from rasp.errors import RaspCompileError, RaspInputError
from rasp.ir.graph import build_graph, topological_exprs
from rasp.train import budget

pytest.importorskip("torch")

REVERSE = 'x = aggregate(select(indices, length - indices - 1, ==), tokens, "_");\n'
MEAN_OF_LAST = 'x = aggregate(select(indices, length - 1, ==), indices * indicator(tokens == "a"));\n'
SORT = "x = sort(tokens, tokens);\n"


def cli(capsys, *argv) -> tuple[int, str]:
    start = time.perf_counter()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err, time.perf_counter() - start


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, text in (("rev.rasp", REVERSE), ("last.rasp", MEAN_OF_LAST), ("sort.rasp", SORT)):
        (tmp_path / name).write_text(text)
    return tmp_path


# --- 22.12: train --------------------------------------------------------------------------------


@pytest.mark.parametrize("flag, value", [("--batch", 1_000_000), ("--layers", 100_000), ("--d-model", 100_000),
                                         ("--d-mlp", 100_000_000)])
def test_train_refuses_what_cannot_fit_before_allocating(capsys, work, flag, value):
    code, text, seconds = cli(capsys, "train", "rev.rasp", "--vocab", "abc", "--max-len", "4", flag, value, "--steps", "1")
    assert code == 1 and "memory" in text and "GB" in text, text
    assert seconds < 60
    assert not list(work.glob("*.safetensors"))


@pytest.mark.parametrize("layers, d_model, heads, d_mlp", [(2, 64, 1, 256), (3, 48, 4, 100), (1, 8, 2, 1)])
def test_the_parameter_estimate_is_the_modules_count(layers, d_model, heads, d_mlp):
    from rasp.compiler.model import ModelConfig
    from rasp.train.model import new_module

    cfg = ModelConfig(layers, d_model, heads, d_model // heads, d_mlp, 9, 11, 7, normalization="LN",
                      attn_scale=True, biases=True)
    assert budget.parameter_count(cfg) == sum(p.numel() for p in new_module(cfg, 0).parameters())


def test_a_run_expected_to_take_hours_is_refused_after_its_first_steps(monkeypatch):
    from rasp.train.loop import train

    monkeypatch.setattr(budget, "LONG_RUN_S", 0.001)
    prog = rasp.from_source(REVERSE)
    with pytest.raises(RaspInputError, match="10,000,000 steps would take about"):
        train(prog.sop("x"), list("ab"), 3, steps=10_000_000, batch=4, d_model=8, held_out=20, train_size=50)


def test_a_time_limit_bounds_an_unreachable_target():
    from rasp.train.loop import train

    prog = rasp.from_source(REVERSE)
    start = time.perf_counter()
    result = train(prog.sop("x"), list("ab"), 3, steps=10_000_000, batch=4, d_model=8, held_out=20,
                   train_size=50, target=1.0, time_limit=1.0, eval_every=10_000_000)
    assert time.perf_counter() - start < 60
    assert result.model.info["time_limited"] and 0 < result.steps < 10_000_000


# --- 22.13 / 23.6: max_len against memory, draw's guard ------------------------------------------------


def test_compile_refuses_value_sets_that_cannot_fit_even_when_allowed_large(capsys, work):
    code, text, seconds = cli(capsys, "compile", "rev.rasp", "--vocab", "ab", "--max-len", "100000", "--allow-large")
    assert code == 1 and "memory" in text and "100,000" in text
    assert seconds < 30


@pytest.mark.parametrize("max_len, needle", [("100000", "over the limit"), ("0", "at least 1")])
def test_draw_has_the_max_len_guard(capsys, work, max_len, needle):
    code, text, seconds = cli(capsys, "draw", "rev.rasp", "--input", "ab", "--vocab", "ab", "--max-len", max_len,
                              "-o", "g.dot")
    assert code == 1 and needle in text and seconds < 30
    assert not (work / "g.dot").exists()


# --- 22.14 / 23.9: estimates before enumerating --------------------------------------------------------


def _chars(n: int) -> str:
    return "".join(chr(0x4E00 + i) for i in range(n))


@pytest.mark.parametrize("program, vocab", [("sort.rasp", 15_000), ("rev.rasp", 20_000)])
def test_a_huge_vocabulary_is_refused_before_the_value_sets(capsys, work, program, vocab):
    code, text, seconds = cli(capsys, "compile", program, "--vocab", _chars(vocab), "--max-len", "8")
    assert code == 1 and "or more" in text and f"{vocab + 2:,}" in text, text
    assert seconds < 60


def test_an_explosive_mean_is_refused_up_front(capsys, work):
    code, text, seconds = cli(capsys, "compile", "last.rasp", "--vocab", "abc", "--max-len", "128")
    assert code == 1 and "would take roughly" in text and "hours" in text and "--allow-large" in text
    assert seconds < 60


def _sums_done(program: str, vocab: str, max_len: int) -> tuple[int, float]:
    """(the sums `_SumSets` really computes, the estimate's count) for a program's value sets."""
    sop = rasp.from_source(program).sop("x")
    order = topological_exprs(build_graph(sop))
    counted = [0]
    original = _SumSets._add

    def counting(self, a, b):
        counted[0] += len(a) * len(b)
        return original(self, a, b)

    estimated = []

    class Recording(estimate.WorkEstimate):
        def _spend(self, cost, what, show=True):
            if "value sets of 'x'" in what:
                estimated.append(cost / estimate.SUM_S)

    _SumSets._add = counting
    try:
        infer_value_sets(order, list(vocab), max_len, before=Recording(max_len, False, len(vocab), None).before)
    finally:
        _SumSets._add = original
    return counted[0], estimated[0]


@pytest.mark.parametrize("program, vocab, max_len", [
    (MEAN_OF_LAST, "abc", 10),
    (MEAN_OF_LAST, "abc", 16),
    ("x = aggregate(select(tokens, tokens, ==), tokens_int);", "0123", 6),
    ("x = aggregate(select(indices, indices, <=) and select(tokens, tokens, ==), tokens_int / 2);", "123", 6),
    ("x = aggregate(select(tokens, tokens, <), indices + 0.5);", "abc", 6),
])
def test_the_mean_estimate_bounds_the_sums_from_above(program, vocab, max_len):
    done, estimated = _sums_done(program, vocab, max_len)
    assert estimated >= done


def test_the_lowering_estimate_is_shown_and_grows_with_max_len():
    sop = rasp.from_source(SORT).sop("x")
    order = topological_exprs(build_graph(sop))
    seconds = []
    for n in (16, 32):
        work = estimate.WorkEstimate(n, False, 4, None)
        work.before_lowering(sop, order, infer_value_sets(order, list("abcd"), n))
        seconds.append(work.seconds)
    assert seconds[1] > 4 * seconds[0] > 0  # the heads tabulate (key, query, position): about n^3


def test_a_model_over_free_memory_is_refused_even_when_allowed_large(monkeypatch):
    monkeypatch.setenv("RASP_MEMORY_BYTES", str(5_000_000))  # the model needs about 9 MB while compiling
    with pytest.raises(RaspCompileError, match="memory") as info:
        rasp.compile(rasp.from_source(SORT), vocab=list(_chars(100)), max_len=8, max_params=None)
    assert "parameters" in info.value.message


def test_small_programs_still_compile_with_their_estimates():
    model = rasp.compile(rasp.from_source(SORT), vocab="dcba", max_len=5)
    assert model.run("dcba") == list("abcd")


# --- 22.14: compare --samples ------------------------------------------------------------------------


class _Cfg:
    def __init__(self, n_layers, heads, n_ctx):
        self.n_layers, self.heads, self.n_ctx = n_layers, heads, n_ctx

    def heads_at(self, layer):
        return self.heads


class _Model:
    def __init__(self, *cfg):
        self.module = type("M", (), {"cfg": _Cfg(*cfg)})()


def test_compare_refuses_hours_of_samples_and_says_long_ones():
    models = [_Model(2, 1, 5), _Model(2, 1, 5)]
    with pytest.raises(RaspInputError, match="10,000,000 inputs would take about"):
        budget.check_compare(10**7, models)
    said = []
    budget.check_compare(100_000, models, say=said.append)
    assert said and "about" in said[0]
    budget.check_compare(200, models, say=said.append)
    assert len(said) == 1


def test_compare_refuses_what_cannot_fit(monkeypatch):
    monkeypatch.setenv("RASP_MEMORY_BYTES", str(10**6))
    with pytest.raises(RaspInputError, match="memory"):
        budget.check_compare(100_000, [_Model(2, 4, 33)])


def test_a_model_over_the_parameter_limit_is_known_before_lowering():
    sop = rasp.from_source(REVERSE).sop("x")
    with pytest.raises(RaspCompileError, match="or more"):
        rasp.compile(sop, vocab=list(_chars(3000)), max_len=4, max_params=1_000_000)
