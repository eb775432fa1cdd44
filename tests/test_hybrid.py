"""Programming plus learning (issue 21): noise on compiled weights, learning only the
lexicon (the token embedding) with the program frozen, and reading weight changes back
as proposed lexicon entries and head rules. Tiny programs and corpora made here, labelled
by the interpreter of a program that knows the whole lexicon."""

from __future__ import annotations

import json
import random

import pytest

torch = pytest.importorskip("torch")

import rasp  # noqa: E402
from rasp.cli.app import main  # noqa: E402
from rasp.compiler import compile_program  # noqa: E402
from rasp.errors import RaspInputError  # noqa: E402
from rasp.eval import parse_corpus  # noqa: E402
from rasp.train.data import corpus_rows  # noqa: E402
from rasp.train.lexicon import decode_features, lexicon_sop, token_features  # noqa: E402
from rasp.train.loop import TrainOptions, fit, prepare  # noqa: E402
from rasp.train.noise import add_noise, nonzero_rms  # noqa: E402

# A numeric program: each word's valence from the lexicon, the running mean at every
# position (a numeric output scores smoothly, so gradients reach the embedding).
RULES = """
valence = lookup(LEXICON, tokens, 0);
mean = aggregate(select(indices, indices, <=), valence);
"""
FULL = 'LEXICON = {"good": 2, "ok": 1, "bad": -2, "meh": -1, "fine": 1, "poor": -1};' + RULES
HALF = 'LEXICON = {"good": 2, "ok": 1, "bad": -2, "meh": -1};' + RULES  # "fine" and "poor" hidden
WORDS = ["good", "ok", "bad", "meh", "fine", "poor", "the", "film"]
MAX_LEN = 4


def number_text(v) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def corpus_text(seed: int = 0, n: int = 300) -> str:
    """Inputs and the full program's running means (one per word)."""
    full = rasp.from_source(FULL)
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, MAX_LEN))]
        lines.append(" ".join(words) + "\t" + " ".join(number_text(v) for v in full(words)))
    return "\n".join(lines) + "\n"


def corpus():
    return corpus_rows(parse_corpus(corpus_text()), "<tiny>")


def half_setup(**options):
    o = TrainOptions(init="compiled", batch=32, eval_every=20, **options)
    return prepare(rasp.from_source(HALF).sop(), WORDS, MAX_LEN, False, o, corpus())


# -- 1. noise --------------------------------------------------------------------------------

def test_nonzero_rms_ignores_the_zeros():
    t = torch.tensor([[0.0, 3.0], [0.0, -4.0]])
    assert nonzero_rms(t) == pytest.approx((12.5) ** 0.5)
    assert nonzero_rms(torch.zeros(3)) == 0.0


def test_noise_is_relative_to_each_tensors_nonzero_rms_and_seeded():
    compiled = compile_program(rasp.load("programs/hist.rasp").sop(), list("abcd"), 6)
    base = {k: v.clone() for k, v in compiled.module.state_dict().items()}
    import copy

    a, b, c = (copy.deepcopy(compiled.module) for _ in range(3))
    stds = add_noise(a, 0.1, seed=1)
    add_noise(b, 0.1, seed=1)
    add_noise(c, 0.1, seed=2)
    for name, p in a.named_parameters():
        scale = nonzero_rms(base[name])
        assert stds[name] == pytest.approx(0.1 * scale)
        moved = p.detach() - base[name]
        if scale == 0:
            assert not moved.any()  # an all-zero tensor has no scale and gets no noise
        elif moved.numel() > 500:
            assert float(moved.double().std()) == pytest.approx(0.1 * scale, rel=0.2)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert any(not torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values()))


def test_noise_needs_a_compiled_start_and_a_sane_sigma():
    with pytest.raises(RaspInputError, match="--init compiled"):
        prepare(rasp.from_source(HALF).sop(), WORDS, MAX_LEN, False, TrainOptions(noise=0.1), corpus())
    with pytest.raises(RaspInputError, match="--noise"):
        half_setup(noise=-1.0)


def test_noise_perturbs_the_start_that_training_begins_from():
    exact = half_setup(steps=0)
    noisy = half_setup(steps=0, noise=0.05)
    assert noisy.noise_std and max(noisy.noise_std.values()) > 0
    w0 = exact.model.module.W_E.detach()
    assert not torch.equal(w0, noisy.model.module.W_E.detach())
    assert torch.equal(w0, half_setup(steps=0).model.module.W_E.detach())  # no noise: exact weights


# -- 2. lexicon learning -----------------------------------------------------------------------

def test_learning_the_hidden_words_keeps_everything_else_and_recovers_their_sign():
    setup = half_setup(steps=150, learn="lexicon", learn_words=["fine", "poor"])
    before = {k: v.clone() for k, v in setup.model.module.state_dict().items()}
    result = fit(setup, progress=False)
    after = result.model.module.state_dict()
    for name in before:
        if name != "W_E":
            assert torch.equal(before[name], after[name]), name  # the program is frozen
    rows = setup.learned_rows
    assert sorted(setup.model.vocab[r - 1] for r in rows) == ["fine", "poor"]
    others = [i for i in range(before["W_E"].shape[0]) if i not in rows]
    assert torch.equal(before["W_E"][others], after["W_E"][others])
    assert not torch.equal(before["W_E"][rows], after["W_E"][rows])
    assert result.initial_accuracy < 0.5 and result.accuracy == 1.0
    sop = rasp.from_source(HALF).sop()
    learned = decode_features(setup.compiled, result.model.module, ["fine", "poor"], lexicon_sop(sop, None))
    assert learned == pytest.approx({"fine": 1.0, "poor": -1.0}, abs=0.05)  # the hidden entries


def test_decoding_the_compiled_weights_gives_the_programs_own_lexicon():
    sop = rasp.from_source(FULL).sop()
    compiled = compile_program(sop, WORDS, MAX_LEN)
    feature = lexicon_sop(sop, None)
    assert feature.name == "valence"
    values = decode_features(compiled, compiled.module, WORDS, feature)
    expected = {w: rasp.from_source(FULL)([w], "valence")[0] for w in WORDS}
    assert values == pytest.approx(expected, abs=1e-9)


def test_the_lexicon_sop_is_named_when_several_features_read_the_tokens():
    sop = rasp.from_source('a = lookup({"x": 1}, tokens, 0); b = lookup({"y": 2}, tokens, 0); c = a + b;').sop()
    assert [f.name for f in token_features(sop)] == ["a", "b", "c"]
    with pytest.raises(RaspInputError, match="--lexicon-sop"):
        lexicon_sop(sop, None)
    assert lexicon_sop(sop, "b").name == "b"
    with pytest.raises(RaspInputError, match="not a token feature"):
        lexicon_sop(sop, "nope")


def test_learn_lexicon_needs_a_compiled_start_and_words_in_the_vocabulary():
    with pytest.raises(RaspInputError, match="--init compiled"):
        prepare(rasp.from_source(HALF).sop(), WORDS, MAX_LEN, False, TrainOptions(learn="lexicon"), corpus())
    with pytest.raises(RaspInputError, match="vocabulary"):
        half_setup(learn="lexicon", learn_words=["zebra"])
    with pytest.raises(RaspInputError, match="--learn lexicon"):
        half_setup(learn_words=["fine"])


# -- the CLI, and 3. the report after full fine-tuning ------------------------------------------

def test_cli_proposes_a_lexicon_file_in_the_programs_format(tmp_path, capsys):
    prog = tmp_path / "half.rasp"
    prog.write_text(HALF)
    data = tmp_path / "tiny.tsv"
    data.write_text(corpus_text())
    words = tmp_path / "words.txt"
    words.write_text("fine\npoor\n")
    out = tmp_path / "lexicon.tsv"
    assert main(["train", str(prog), "--corpus", str(data), "--init", "compiled", "--learn", "lexicon",
                 "--learn-words", str(words), "--steps", "150", "--batch", "32", "--propose", str(out),
                 "--out", str(tmp_path / "m.safetensors"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["learn"] == "lexicon" and summary["proposal"]["lexicon_sop"] == "valence"
    lines = [line.split("\t") for line in out.read_text().splitlines()]
    assert [w for w, _ in lines] == ["fine", "poor"]
    values = {w: float(v) for w, v in lines}
    assert values == pytest.approx({"fine": 1.0, "poor": -1.0}, abs=0.05)
    # the proposal, pasted back into the program, is a program again: rounded to the
    # lexicon's precision it is the full program
    table = ", ".join(f'"{w}": {round(v)}' for w, v in [("good", 2), ("ok", 1), ("bad", -2), ("meh", -1),
                                                       *values.items()])
    learned = rasp.from_source(f"LEXICON = {{{table}}};" + RULES)
    assert learned(["poor", "film", "fine"]) == rasp.from_source(FULL)(["poor", "film", "fine"])


@pytest.mark.xfail(strict=True, reason="open (issue 21): since lexicon lookups became token features computed "
                   "by the embedding (issue 17's compiler), --propose after full fine-tuning reads no change of "
                   "W_E back as lexicon entries, and this head's query/key scores get no gradient")
def test_cli_report_after_fine_tuning_names_heads_by_their_sop(tmp_path, capsys):
    prog = tmp_path / "half.rasp"
    prog.write_text(HALF)
    data = tmp_path / "tiny.tsv"
    data.write_text(corpus_text())
    report = tmp_path / "changes.report"
    assert main(["train", str(prog), "--corpus", str(data), "--init", "compiled", "--noise", "0.01",
                 "--lr", "1e-3", "--steps", "40", "--batch", "32", "--propose", str(report),
                 "--out", str(tmp_path / "m.safetensors")]) == 0
    text = report.read_text()
    assert "## lexicon:" in text and "valence[" in text
    assert "(mean, selector select(indices, indices, <=))" in text, text
    assert " attends to " in text and "## MLPs" in text
    capsys.readouterr()
    assert main(["train", str(prog), "--corpus", str(data), "--propose", str(tmp_path / "x.report"),
                 "--out", str(tmp_path / "n.safetensors")]) != 0
    assert "--init compiled" in capsys.readouterr().err
    assert not (tmp_path / "n.safetensors").exists()


# -- 4. SIIT (needs the interchange interventions of rasp.analysis, issue 20) ------------------

def test_siit_aligns_compiled_heads_and_raises_iia_on_reverse():
    pytest.importorskip("rasp.analysis.patching")
    from rasp.train.siit import align, siit_fit

    sop = rasp.load("programs/reverse.rasp").sop()
    options = TrainOptions(steps=120, batch=32, d_model=32, held_out=100, train_size=500, seed=0)
    setup = prepare(sop, list("abc"), 4, False, options)
    alignment = align(setup.compiled, setup.model.module, ["opp_index", "reverse", "length"])
    assert "reverse" in alignment.aligned and alignment.aligned["reverse"].hook.endswith("attn.hook_z")
    result = siit_fit(setup, sop, False, eval_pairs=60)
    assert set(result.iia_after) == set(alignment.aligned)
    assert result.iia_after["reverse"] > result.iia_before["reverse"]
    assert result.accuracy_after > result.accuracy_before
    with pytest.raises(RaspInputError, match="random weights"):
        siit_fit(prepare(sop, list("abc"), 4, False, TrainOptions(init="compiled", steps=1)), sop, False)


def test_cli_siit_reports_iia_before_and_after(tmp_path, capsys):
    pytest.importorskip("rasp.analysis.patching")
    assert main(["train", "programs/reverse.rasp", "--vocab", "abc", "--max-len", "3", "--siit", "--steps", "5",
                 "--batch", "16", "--d-model", "16", "--out", str(tmp_path / "s.safetensors"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["siit"] and summary["steps"] == 5
    assert set(summary["iia"]) == set(summary["iia_before"]) and "reverse" in summary["iia"]
    assert (tmp_path / "s.safetensors").exists()
    capsys.readouterr()
    assert main(["train", "programs/reverse.rasp", "--vocab", "abc", "--max-len", "3", "--siit", "--init",
                 "compiled", "--out", str(tmp_path / "t.safetensors")]) != 0
    assert "random weights" in capsys.readouterr().err


def test_noise_before_lexicon_learning_does_not_widen_the_word_dimensions():
    setup = half_setup(steps=5, learn="lexicon", learn_words=["fine"], noise=0.05)
    exact = setup.compiled.module.W_E.detach()[1:]
    word_dims = exact.max(dim=0).values != exact.min(dim=0).values
    before = setup.model.module.W_E.detach().clone()
    fit(setup, progress=False)
    moved = (setup.model.module.W_E.detach() - before) != 0
    assert moved.any() and not moved[:, ~word_dims].any()


def test_cli_reads_a_raw_text_corpus_the_way_rasp_eval_does(tmp_path, capsys):
    # VADER's rated data sets' layout: id<TAB>rating<TAB>raw text (double spaces too), one rating per text
    prog = tmp_path / "half.rasp"
    prog.write_text(HALF)
    full = rasp.from_source(FULL)
    rng = random.Random(1)
    lines = []
    for i in range(300):
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, MAX_LEN))]
        lines.append(f"{i}\t{number_text(full(words)[-1])}\t{'  '.join(words) if i % 7 == 0 else ' '.join(words)}")
    data = tmp_path / "rated.txt"
    data.write_text("\n".join(lines) + "\n")
    words = tmp_path / "words.txt"
    words.write_text("fine\npoor\n")
    out = tmp_path / "lexicon.tsv"
    code = main(["train", str(prog), "--corpus", str(data), "--columns", "3,2", "--tokenizer", "words",
                 "--init", "compiled", "--learn", "lexicon", "--learn-words", str(words), "--steps", "150",
                 "--batch", "32", "--propose", str(out), "--out", str(tmp_path / "m.safetensors"), "--json"])
    assert code == 0, capsys.readouterr().err
    values = {w: float(v) for w, v in (line.split("\t") for line in out.read_text().splitlines())}
    assert values == pytest.approx({"fine": 1.0, "poor": -1.0}, abs=0.1)
    capsys.readouterr()
    assert main(["train", str(prog), "--vocab", "a,b", "--max-len", "2", "--tokenizer", "words",
                 "--out", str(tmp_path / "n.safetensors")]) != 0
    assert "give --corpus" in capsys.readouterr().err
