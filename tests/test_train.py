"""Learned versus compiled: training, fine-tuning from compiled weights, head matching, --no-pos.

Every training here runs a few steps on tiny models; the long runs are in bench/table1.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import rasp  # noqa: E402
from rasp.cli.app import main  # noqa: E402
from rasp.compiler.verify import default_inputs, verify  # noqa: E402
from rasp.errors import RaspError, RaspInputError  # noqa: E402
from rasp.train import data as D  # noqa: E402
from rasp.train.loop import TrainOptions, fit, prepare, train  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "programs"
SMALL = dict(d_model=16, d_mlp=32, batch=32, held_out=200, train_size=1000, eval_every=10)


def sop(name: str):
    return rasp.load(PROGRAMS / f"{name}.rasp").sop()


def test_loss_goes_down():
    result = train(sop("shift"), list("abc"), 5, steps=80, seed=1, lr=3e-3, **{**SMALL, "eval_every": 1000})
    losses = [h["loss"] for h in result.history[1:]]
    assert len(losses) == 80
    assert sum(losses[-10:]) / 10 < 0.7 * sum(losses[:10]) / 10


@pytest.mark.parametrize("name,vocab", [("hist", list("abcd")), ("dyck1", ["(", ")", "a"]), ("reverse", list("abc"))])
def test_compiled_start_scores_one_at_step_zero_and_stays(name, vocab):
    result = train(sop(name), vocab, 5, steps=10, init="compiled", held_out=300, eval_every=5)
    assert result.initial_accuracy == 1.0
    assert result.history[0]["accuracy"] == 1.0
    assert result.steps >= 5  # a compiled start is fine-tuned, not stopped at once
    assert result.accuracy >= 0.99


def test_same_seed_same_result_and_other_seed_differs():
    def weights(seed):
        r = train(sop("shift"), list("abc"), 4, steps=15, seed=seed, **SMALL)
        return r, {k: v.clone() for k, v in r.model.module.state_dict().items()}

    (r1, w1), (r2, w2), (_, w3) = weights(3), weights(3), weights(4)
    assert [h["loss"] for h in r1.history[1:]] == [h["loss"] for h in r2.history[1:]]
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    assert not all(torch.equal(w1[k], w3[k]) for k in w1)


def test_training_and_held_out_inputs_are_disjoint():
    setup = prepare(sop("hist"), list("abc"), 4, False, TrainOptions(steps=1, **SMALL))
    train_set = {tuple(x) for x in setup.train.inputs} | {tuple(x) for x in setup.validation.inputs}
    held = {tuple(x) for x in setup.held_out.inputs}
    assert held and train_set and not (held & train_set)
    assert all(D.in_held_out(x) for x in held) and not any(D.in_held_out(x) for x in train_set)


def test_bracket_and_skewed_data_are_not_degenerate():
    import numpy as np

    rng = np.random.default_rng(0)
    dyck = sop("dyck1")
    walks = D.sample_inputs(rng, ["(", ")", "a"], 10, 400, D.resolve_distribution("auto", ["(", ")", "a"]))
    finals = [ys[-1] for ys in D.label(dyck, walks)]
    assert min(finals.count(v) for v in "TPF") > 0.1 * len(finals)
    skewed = D.sample_inputs(rng, list("abcdefgh"), 10, 400, "skewed")
    uniform = D.sample_inputs(rng, list("abcdefgh"), 10, 400, "uniform")
    top = lambda xs: sum(max(x.count(t) for t in x) / len(x) for x in xs) / len(xs)  # noqa: E731
    assert top(skewed) > top(uniform) + 0.1


def test_bracket_walk_makes_failed_then_recovered_prefixes_common():
    """The prefixes that need Dyck-1's second layer: failed earlier, yet back at depth 0 or
    above (same counts as a prefix that never failed), and not by a leading closer."""
    import numpy as np

    walks = D.sample_inputs(np.random.default_rng(1), ["(", ")", "a"], 10, 1000, "brackets")

    def recovers(x):
        depth, failed = 0, False
        for t in x:
            depth += (t == "(") - (t == ")")
            failed = failed or depth < 0
            if failed and depth >= 0 and x[0] != ")":
                return True
        return False

    assert sum(map(recovers, walks)) > 0.2 * len(walks)
    assert sum(x[0] == ")" for x in walks) < 0.15 * len(walks)  # not mostly failed at once


def test_trained_model_saves_loads_and_reads_like_a_compiled_one(tmp_path):
    result = train(sop("shift"), list("abc"), 4, steps=5, **SMALL)
    path = result.model.save(tmp_path / "m.safetensors")
    loaded = rasp.load_model(path)
    assert type(loaded).__name__ == "TrainedModel"
    inputs = ["abc", "a", "cab", "bbbb"]
    assert loaded.run_batch(inputs) == result.model.run_batch(inputs)
    cache = loaded.run_with_cache("abc")
    for key in ("hook_embed", "hook_pos_embed", "blocks.0.hook_resid_pre", "blocks.0.attn.hook_pattern",
                "blocks.0.hook_resid_mid", "blocks.0.hook_resid_post", "output"):
        assert key in cache
    assert cache["blocks.0.attn.hook_pattern"].shape == (1, loaded.module.cfg.n_heads, 4, 4)
    assert loaded.read(cache) == loaded.run("abc")
    assert loaded.summary()["params"] == sum(p.numel() for p in result.model.module.parameters())
    with pytest.raises(RaspError, match="modified or corrupted"):
        data = bytearray(path.read_bytes())
        data[-3] ^= 0xFF
        (tmp_path / "bad.safetensors").write_bytes(bytes(data))
        rasp.load_model(tmp_path / "bad.safetensors")


def test_no_pos_compile_is_exact_and_has_no_position_embedding():
    prog = rasp.load(PROGRAMS / "prev_token.rasp")
    model = rasp.compile(prog, vocab="abcd", max_len=6, causal=True, no_pos=True)
    assert not model.module.W_pos.abs().sum()
    report = verify(model, default_inputs(model.vocab, 6, 3000, 300), sop=_causal(prog.sop()))
    assert report.checked > 1000 and report.ok
    with pytest.raises(RaspError, match="needs --causal"):
        rasp.compile(prog, vocab="abcd", max_len=6, no_pos=True)


def test_no_pos_compile_verifies_against_the_users_program_through_the_cli(tmp_path, capsys):
    # the weights compute positions from the mask; verification must run the program as
    # written on each prefix, not the rewritten one (whose positions, read without the mask,
    # are all length - 1)
    out = tmp_path / "prev.safetensors"
    code = main(["compile", str(PROGRAMS / "prev_token.rasp"), "--vocab", "a,b,c,d", "--max-len", "8",
                 "--causal", "--no-pos", "--json", "-o", str(out)])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and summary["mismatches"] == 0 and summary["verified_inputs"] > 1000 and out.exists()


def _causal(s):
    from rasp.compiler.verify import causal_reference

    return causal_reference(s)


def test_compare_compiled_model_with_itself_gives_similarity_one(tmp_path, capsys):
    out = tmp_path / "sort.safetensors"
    assert main(["compile", str(PROGRAMS / "sort.rasp"), "--vocab", "abc", "--max-len", "4", "-o", str(out), "--json"]) == 0
    capsys.readouterr()
    png = tmp_path / "cmp.png"
    assert main(["compare", str(PROGRAMS / "sort.rasp"), str(out), "--json", "--samples", "40", "-o", str(png)]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(report["heads"]) == 3
    assert report["best_similarity"] == 1.0 and report["mean_similarity"] == 1.0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_compare_a_trained_model_and_train_cli_json(tmp_path, capsys):
    out = tmp_path / "hist.safetensors"
    args = ["train", str(PROGRAMS / "hist.rasp"), "--vocab", "abc", "--max-len", "4", "--steps", "5",
            "--d-model", "16", "--batch", "16", "-o", str(out), "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(summary) >= {"accuracy", "token_accuracy", "layers", "heads", "steps", "seconds", "params"}
    assert summary["layers"] == 1 and summary["steps"] == 5
    assert (tmp_path / "hist.loss.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["compare", str(PROGRAMS / "hist.rasp"), str(out), "--json", "--samples", "30"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [h["compiled"] for h in report["heads"]] == ["hist"]
    assert 0.0 <= report["heads"][0]["similarity"] < 1.0
    assert main(args) == 1  # no clobbering without --force
    assert "exists" in capsys.readouterr().err


def test_fine_tune_on_a_corpus_from_compiled_weights(tmp_path, capsys):
    lines = ["# words<TAB>label", "the film was good\tpos", "the film was bad\tneg", "not good\tneg",
             "not bad\tpos", "a great fun film\tpos", "awful and boring\tneg", "i love it\tpos",
             "i hate it\tneg", "sad film\tneg", "happy day\tpos", "it was not terrible\tpos", "terrible\tneg"]
    corpus = tmp_path / "c.tsv"
    corpus.write_text(("\n".join(lines) + "\n") * 3)
    out = tmp_path / "s.safetensors"
    assert main(["train", str(PROGRAMS / "sentiment.rasp"), "--corpus", str(corpus), "--init", "compiled",
                 "--steps", "5", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["initial_accuracy"] == 1.0  # the program agrees with this corpus


@pytest.mark.parametrize("extra,message", [
    (["--layers", "0"], "at least 1"),
    (["--no-pos"], "needs --causal"),
    (["--init", "compiled", "--layers", "2"], "compiled model's layers"),
    (["--lr", "-1"], "positive"),
    (["--d-model", "10", "--heads", "3"], "multiple"),
    (["--min-len", "5"], "--min-len must be between 1 and --max-len 4"),
])
def test_bad_options_are_clean_errors_before_training(tmp_path, capsys, extra, message):
    out = tmp_path / "m.safetensors"
    code = main(["train", str(PROGRAMS / "reverse.rasp"), "--vocab", "abc", "--max-len", "4", "-o", str(out), *extra])
    err = capsys.readouterr().err
    assert code == 1 and message in err and "Traceback" not in err
    assert not out.exists()


def test_bad_programs_vocabularies_and_corpora_are_clean_errors(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    bad = tmp_path / "mean.rasp"
    bad.write_text('m = aggregate(select(indices, indices, <), tokens);\n')  # fails where nothing is selected
    assert main(["train", str(bad), "--vocab", "abc", "--max-len", "4", "--init", "compiled", "-o", str(out)]) == 1
    assert "error: aggregate 'm'" in capsys.readouterr().err  # found while labelling, before training
    huge = ",".join(f"t{i}" for i in range(D.MAX_VOCAB + 1))
    assert main(["train", str(PROGRAMS / "hist.rasp"), "--vocab", huge, "--max-len", "4", "-o", str(out)]) == 1
    assert "too big" in capsys.readouterr().err
    corpus = tmp_path / "c.tsv"
    corpus.write_text("good film pos\n")
    assert main(["train", str(PROGRAMS / "sentiment.rasp"), "--corpus", str(corpus), "-o", str(out)]) == 1
    assert "TAB" in capsys.readouterr().err
    assert not out.exists()


def test_compiled_models_are_unchanged_by_the_training_options():
    prog = rasp.load(PROGRAMS / "sort.rasp")
    model = rasp.compile(prog, vocab="abc", max_len=4)
    cfg = model.module.cfg
    assert cfg.normalization is None and not cfg.attn_scale and not cfg.biases
    assert not any(".ln" in k or k.split(".")[-1].startswith("b_") and "mlp" not in k
                   for k in model.module.state_dict())
    assert model.run("cab") == prog("cab")


def test_fit_reports_held_out_accuracy_of_its_model():
    setup = prepare(sop("shift"), list("ab"), 3, False, TrainOptions(steps=3, **SMALL))
    result = fit(setup, progress=False)
    held = setup.held_out.inputs
    expected = rasp.evaluate_batch(sop("shift"), held)
    got = result.model.run_batch(held)
    assert result.accuracy == pytest.approx(sum(g == e for g, e in zip(got, expected)) / len(held))


def test_corpus_rows_use_the_eval_reader_and_its_held_out_section():
    from rasp.eval import parse_corpus

    text = "a b\tx y\nb\tz\n# held-out: never trained on\nb a\tx\n"
    rows = D.corpus_rows(parse_corpus(text, "c.tsv"), "c.tsv")
    assert rows == [(["a", "b"], ["x", "y"], False), (["b"], ["z"], False), (["b", "a"], ["x"], True)]
    unmarked = D.corpus_rows(parse_corpus("a b\tx y\n", "c.tsv"), "c.tsv")
    assert unmarked[0][2] == D.in_held_out(["a", "b"])  # no section: the hash decides
    with pytest.raises(RaspInputError, match="c.tsv:1: the expected output has 2 tokens for an input of 3"):
        D.corpus_rows(parse_corpus("a b c\tx y\n", "c.tsv"), "c.tsv")


def test_min_len_fixes_the_length_of_sampled_inputs():
    import numpy as np

    rng = np.random.default_rng(0)
    fixed = D.sample_split(rng, list("abc"), 6, 50, "uniform", held_out=False, min_len=6)
    assert len(fixed) == 50 and {len(x) for x in fixed} == {6}
    assert len({len(x) for x in D.sample_inputs(rng, list("abc"), 6, 200, "uniform")}) == 6
