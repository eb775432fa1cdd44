"""Honest fine-tuning (issue 18, items 8 and 9): `--steps` runs every step unless
`--early-stop`, the kept weights (last or best) are named, the report says how far each
weight matrix moved and how the heads compare with the compiled ones, and the loss curve
is named after the model file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import rasp  # noqa: E402
from rasp.cli.app import main  # noqa: E402
from rasp.cli.train import loss_curve_path  # noqa: E402
from rasp.errors import RaspInputError  # noqa: E402
from rasp.train.loop import TrainOptions, evaluate, fit, prepare, train  # noqa: E402

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"
SMALL = dict(d_model=16, d_mlp=32, batch=32, held_out=200, train_size=1000, eval_every=10)


def sop(name: str):
    return rasp.load(PROGRAMS / f"{name}.rasp").sop()


def test_compiled_start_runs_every_step_asked_for():
    # validation accuracy is 1.0 from step 0: only --early-stop may cut the run short
    result = train(sop("hist"), list("abc"), 4, steps=30, init="compiled", held_out=200, eval_every=10)
    assert result.history[0]["accuracy"] == 1.0
    assert result.steps == 30 and len(result.history) == 31
    assert result.kept == "last" and result.kept_step == 30
    stopped = train(sop("hist"), list("abc"), 4, steps=30, init="compiled", held_out=200, eval_every=10,
                    early_stop=True)
    assert stopped.steps == 10  # the first check


def test_weight_change_is_the_relative_frobenius_distance_per_matrix():
    setup = prepare(sop("shift"), list("abc"), 4, False, TrainOptions(steps=8, lr=3e-3, **SMALL))
    before = {k: v.detach().clone() for k, v in setup.model.module.state_dict().items()}
    result = fit(setup, progress=False)
    after = setup.model.module.state_dict()
    for name, change in result.weight_change.items():
        base = before[name].double().norm()
        if base == 0:
            assert change is None or change == 0.0
        else:
            assert change == pytest.approx(float((after[name].double() - before[name].double()).norm() / base))
    assert any(v for v in result.weight_change.values())
    summary = result.summary()
    assert summary["max_weight_change"] == max(v for v in result.weight_change.values() if v is not None)


def test_fine_tuned_heads_are_compared_with_their_own_compiled_heads():
    result = train(sop("sort"), list("abc"), 4, steps=5, init="compiled", held_out=200, eval_every=5)
    heads = result.summary()["head_similarity"]
    assert [h["compiled_head"] for h in heads] == [h["trained"] for h in heads]
    assert len(heads) == 3 and all(h["similarity"] > 0.999 for h in heads)
    moved = [v for v in result.weight_change.values() if v is not None]
    assert max(moved) < 1e-3  # plain SGD at 1e-5 barely moves an exact model


@pytest.mark.parametrize("keep", ["last", "best"])
def test_the_kept_weights_are_the_ones_reported(keep):
    setup = prepare(sop("shift"), list("ab"), 4, False, TrainOptions(steps=40, lr=3e-3, keep=keep, seed=2, **SMALL))
    result = fit(setup, progress=False)
    checked = {h["step"]: h["accuracy"] for h in result.history if "accuracy" in h}
    assert result.kept == keep
    assert evaluate(setup.model, setup.validation)[0] == pytest.approx(result.kept_validation)
    if keep == "last":
        assert result.kept_step == 40 and result.kept_validation == checked[40]
    else:
        assert result.kept_validation == max(checked.values())
        assert checked[result.kept_step] == result.kept_validation


def test_bad_keep_is_a_clean_error():
    with pytest.raises(RaspInputError, match="--keep"):
        prepare(sop("shift"), list("ab"), 3, False, TrainOptions(steps=1, keep="first", **SMALL))


def test_loss_curve_is_named_after_the_whole_model_name():
    assert loss_curve_path(Path("out/a.x.safetensors")) == Path("out/a.x.loss.png")
    assert loss_curve_path(Path("a.y.safetensors")) == Path("a.y.loss.png")
    assert loss_curve_path(Path("m.safetensors")) == Path("m.loss.png")
    assert loss_curve_path(Path("model.bin")) == Path("model.loss.png")


def test_two_runs_with_different_outputs_keep_both_curves(tmp_path, capsys):
    base = ["train", str(PROGRAMS / "hist.rasp"), "--vocab", "abc", "--max-len", "4", "--steps", "3",
            "--d-model", "16", "--batch", "16"]
    assert main([*base, "-o", str(tmp_path / "a.x.safetensors")]) == 0
    text = capsys.readouterr().out
    assert "last weights, step 3" in text and "weights moved" in text and "similarity" in text
    assert main([*base, "--keep", "best", "-o", str(tmp_path / "a.y.safetensors"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["kept"] == "best" and summary["steps"] == 3
    assert set(summary) >= {"weight_change", "max_weight_change", "head_similarity", "mean_head_similarity"}
    assert summary["head_similarity"][0]["compiled"] == "hist"
    for name in ("a.x.loss.png", "a.y.loss.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
