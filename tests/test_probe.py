"""Linear probes: exact (1.0) on a compiled model wherever it holds an s-op, at chance
where it cannot be read (positions at the embedding of a model without positions)."""

import json

import numpy as np
import pytest

import rasp

pytest.importorskip("torch")


def test_least_squares_probes_score_what_is_linear_and_not_what_is_not():
    from rasp.analysis.probe import fit_probe

    rng = np.random.default_rng(0)
    x, x_test = rng.normal(size=(300, 5)), rng.normal(size=(100, 5))
    w = np.array([1.0, -2.0, 0.5, 0.0, 3.0])
    score, baseline = fit_probe(x, list(x @ w), x_test, list(x_test @ w), "numerical")
    assert score == pytest.approx(1.0) and baseline == 0.0
    noise, _ = fit_probe(x, list(rng.normal(size=300)), x_test, list(rng.normal(size=100)), "numerical")
    assert 0.0 <= noise < 0.1  # R² clipped at 0
    labels = ["a" if v > 0 else "b" for v in x @ w]
    test_labels = ["a" if v > 0 else "b" for v in x_test @ w]
    accuracy, base = fit_probe(x, labels, x_test, test_labels, "categorical")
    assert accuracy > 0.9 and 0.5 <= base < accuracy
    # a value the training side never saw is never predicted
    assert fit_probe(x, labels, x_test[:3], ["c"] * 3, "categorical")[0] == 0.0


def _probes(program, vocab, max_len=6, causal=False, no_pos=False, reuse=False):
    from rasp.analysis.highlevel import high_level
    from rasp.analysis.probe import probe_all
    from rasp.analysis.subject import Subject
    from rasp.train import data as D

    prog = rasp.load(f"programs/{program}.rasp")
    model = rasp.compile(prog, vocab=vocab, max_len=max_len, causal=causal, no_pos=no_pos, reuse=reuse)
    rng = np.random.default_rng(0)
    train = D.sample_split(rng, list(vocab), max_len, 300, "uniform", False)
    test = D.sample_split(rng, list(vocab), max_len, 150, "uniform", True)
    subject = Subject.of(model)
    return subject, probe_all(subject, high_level(prog.output, causal), train, test)


@pytest.mark.parametrize("program,vocab,causal,no_pos", [
    ("reverse", "abc", False, False),
    ("sort", "abcd", False, False),
    ("hist", "abc", False, False),
    ("dyck1", "()a", False, False),
    ("most_frequent", "abc", False, False),
    ("prev_token", "abcd", True, True),
])
def test_every_s_op_probes_exactly_from_the_layer_that_writes_it(program, vocab, causal, no_pos):
    subject, probes = _probes(program, vocab, causal=causal, no_pos=no_pos)
    sites = subject.residual_sites()
    checked = 0
    for p in probes:
        where = subject.compiled_site(p.sop)
        if where is None:
            continue
        # without reuse every s-op stays where it was written, to the end
        if sites.index(p.site) >= sites.index(where[0]):
            assert p.score == 1.0, (p.sop, p.site)
            checked += 1
    assert checked >= 3


def test_with_reuse_an_s_op_probes_exactly_while_it_is_held():
    subject, probes = _probes("sort", "abcd", reuse=True)
    for p in probes:
        if p.site in subject.alive(p.sop):
            assert p.score == 1.0, (p.sop, p.site)


def test_positions_cannot_be_read_from_the_embedding_of_a_model_without_them():
    subject, probes = _probes("prev_token", "abcd", causal=True, no_pos=True)
    indices = {p.site: p for p in probes if p.sop == "indices"}
    assert indices["blocks.0.hook_resid_pre"].score < 0.5  # tokens only: about chance
    assert indices["blocks.0.hook_resid_pre"].score <= indices["blocks.0.hook_resid_pre"].baseline + 0.1
    assert indices["blocks.0.hook_resid_post"].score == 1.0  # after the width head and its MLP


def test_cli_probe_json_and_heatmap(tmp_path, capsys):
    from rasp.cli.app import main

    path = tmp_path / "hist.safetensors"
    rasp.compile(rasp.load("programs/hist.rasp"), vocab="abc", max_len=5).save(path)
    png = tmp_path / "probe.png"
    assert main(["probe", "programs/hist.rasp", str(path), "--inputs", "100", "--json", "-o", str(png)]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["sites"] == ["blocks.0.hook_resid_pre", "blocks.0.hook_resid_mid", "blocks.0.hook_resid_post"]
    scores = {(p["sop"], p["site"]): p["score"] for p in out["probes"]}
    assert scores["hist", "blocks.0.hook_resid_post"] == 1.0 and scores["hist", "blocks.0.hook_resid_pre"] < 0.9
    assert {p["kind"] for p in out["probes"]} <= {"categorical", "numerical"}
    assert png.stat().st_size > 1000
    assert main(["probe", "programs/hist.rasp", str(path), "--sop", "nothing"]) == 1
    assert "no s-op called" in capsys.readouterr().err
