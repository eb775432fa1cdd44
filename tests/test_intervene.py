"""Interchange interventions: the interpreter's counterfactuals (`Program.intervene`), and
interchange intervention accuracy, exact (1.0) at the sites where a compiled model writes
each s-op."""

import json

import numpy as np
import pytest

import rasp
from rasp.errors import RaspInputError

REVERSE = rasp.load("programs/reverse.rasp")


def test_intervening_on_the_output_or_on_every_token_gives_the_source_run():
    assert REVERSE.intervene("abcd", "dcab", "reverse") == list("bacd")
    assert REVERSE.intervene("abcd", "dcab", "tokens") == REVERSE("dcab")


def test_intervening_at_one_position_recomputes_only_what_reads_it():
    base, source = "abcde", "xyz"
    # opp_index at base position 1 takes the source's value at position 0 (length 3: 3 - 0 - 1 = 2)
    got = REVERSE.intervene(base, source, "opp_index", positions=[(1, 0)])
    expected = REVERSE(base)
    expected[1] = base[2]
    assert got == expected
    # tokens at position 0 from the source's position 2: the last output reads position 0
    got = REVERSE.intervene(base, source, "tokens", positions=[(0, 2)])
    assert got == list("edcbz")
    # length at position 4 from a source of length 3: opp_index there is 3 - 4 - 1 = -2, nothing is
    # selected, and the default 0 cannot stand among strings
    with pytest.raises(rasp.RaspError):
        REVERSE.intervene(base, source, "length", positions=[(4, 0)])


def test_a_batch_agrees_with_single_interventions_and_skips_failing_pairs():
    rng = np.random.default_rng(3)
    bases = ["".join(rng.choice(list("abc"), rng.integers(1, 6))) for _ in range(40)]
    sources = ["".join(rng.choice(list("abc"), rng.integers(1, 6))) for _ in range(40)]
    positions = [[(int(rng.integers(len(b))), int(rng.integers(len(s))))] for b, s in zip(bases, sources)]
    batch = REVERSE.intervene_batch(bases, sources, "opp_index", positions, skip_errors=True)
    for b, s, pos, got in zip(bases, sources, positions, batch):
        try:
            single = REVERSE.intervene(b, s, "opp_index", pos)
        except rasp.RaspError:
            single = None
        assert got == single
    assert any(g is None for g in batch) and any(g is not None for g in batch)


def test_inner_s_ops_are_found_by_name_and_mistakes_are_errors():
    prog = rasp.load("programs/prev_token.rasp")
    # the query `indices - 1`, unnamed: its derived name
    name = next(e.name for e in rasp.ir.evaluate.plan(prog.output) if e.name not in ("prev", "indices", "tokens_str")
                and isinstance(e, rasp.ir.sops.SOp) and not isinstance(e, rasp.ir.sops.Constant))
    assert prog.intervene("abcd", "abcd", name, positions=[(3, 0)]) == ["_", "a", "b", "_"]
    with pytest.raises(RaspInputError, match="no s-op called"):
        prog.intervene("ab", "ba", "nothing")
    with pytest.raises(RaspInputError, match="one length"):
        prog.intervene("ab", "bab", "prev")
    with pytest.raises(RaspInputError, match="outside"):
        prog.intervene("ab", "ba", "prev", positions=[(2, 0)])


def test_the_causal_reading_is_intervened_on_under_a_mask():
    from rasp.analysis.highlevel import high_level

    prog = rasp.from_source('x = aggregate(select(indices, length - 1, ==), tokens, "_");')
    # base position 0 takes `length` from position 3 of a 4-token source: 4 in both readings,
    # so it selects position 3, which the base lacks; elsewhere `length` is the base's own,
    # which is the prefix's length under a mask (each position reads itself)
    assert high_level(prog.output, causal=True).counterfactuals("length", ["abc"], ["abcd"], [[(0, 3)]])[0] == ["_", "b", "c"]
    assert high_level(prog.output).counterfactuals("length", ["abc"], ["abcd"], [[(0, 3)]])[0] == ["_", "c", "c"]


def _align(program, vocab, max_len, mode, causal=False, no_pos=False, count=150):
    from rasp.analysis.highlevel import high_level
    from rasp.analysis.intervene import align
    from rasp.analysis.patching import sample_pairs
    from rasp.analysis.subject import Subject

    prog = rasp.load(f"programs/{program}.rasp")
    model = rasp.compile(prog, vocab=vocab, max_len=max_len, causal=causal, no_pos=no_pos)
    pairs = sample_pairs(np.random.default_rng(0), list(vocab), max_len, count, "uniform", mode)
    return align(Subject.of(model), high_level(prog.output, causal), pairs, None)


@pytest.mark.parametrize("program,vocab,mode,causal,no_pos", [
    ("reverse", "abc", "same", False, False),
    ("sort", "abcd", "any", False, False),
    ("hist", "abc", "any", False, False),
    ("most_frequent", "abc", "any", False, False),
    ("prev_token", "abcd", "any", True, True),
    ("dyck1", "()a", "same", False, False),
    ("dyck1", "()a", "same", True, False),
])
def test_a_compiled_model_is_exact_at_the_sites_it_writes_each_s_op(program, vocab, mode, causal, no_pos):
    pytest.importorskip("torch")
    results = _align(program, vocab, 6, mode, causal, no_pos)
    compiled = [r for r in results if r.kind == "compiled"]
    assert len(compiled) >= 2
    for r in compiled:
        assert r.iia == 1.0, (r.sop, r.site)
    # and a site that does nothing is wrong wherever the intervention changes the output
    output = results[-1].sop
    unrelated = [r for r in results if r.sop == output and r.site == "blocks.0.hook_resid_pre"][0]
    assert unrelated.iia < 1.0 and unrelated.changed > 0


def test_the_attention_head_that_computes_an_aggregate_is_its_site():
    pytest.importorskip("torch")
    from rasp.analysis.intervene import best

    top = best(_align("reverse", "abc", 6, "any"))
    assert top["reverse"]["iia"] == 1.0
    results = _align("reverse", "abc", 6, "any")
    head = [r for r in results if r.sop == "reverse" and r.site == "blocks.1.attn.hook_z[0]"][0]
    assert head.iia == 1.0
    first = [r for r in results if r.sop == "reverse" and r.site == "blocks.0.attn.hook_z[0]"][0]
    assert first.iia < 0.9


def test_distributed_alignment_search_learns_a_subspace_that_carries_the_s_op():
    pytest.importorskip("torch")
    from rasp.analysis.das import train_rotation
    from rasp.analysis.highlevel import high_level
    from rasp.analysis.intervene import targets
    from rasp.analysis.patching import Patcher, Site, interchange_accuracy, sample_pairs
    from rasp.analysis.subject import Subject

    # After reverse's last head its output is read linearly by the unembedding, so gradients
    # reach the rotation (through a compiled MLP's steps or a hard head they all but vanish).
    model = rasp.compile(REVERSE, vocab="abc", max_len=5)
    subject, high = Subject.of(model), high_level(REVERSE.output)
    rng = np.random.default_rng(1)
    train, test = (sample_pairs(rng, list("abc"), 5, 150, "uniform", "any", held) for held in (False, True))
    site = Site("blocks.1.hook_resid_mid", rank=2)  # 3 one-hot values: 2 dimensions of difference
    patch_train, patch_test = Patcher(subject, train), Patcher(subject, test)
    train_cf = targets(subject, high.counterfactuals("reverse", train.bases, train.sources, train.positions))
    cf = targets(subject, high.counterfactuals("reverse", test.bases, test.sources, test.positions))
    untrained = train_rotation(patch_train, site, train_cf, steps=0)
    learned = train_rotation(patch_train, site, train_cf, steps=150)
    before = interchange_accuracy(patch_test.predictions(site, untrained), cf)
    after = interchange_accuracy(patch_test.predictions(site, learned), cf)
    assert after > 0.95 and after > before + 0.2
    assert torch_allclose_orthonormal(learned)


def torch_allclose_orthonormal(r) -> bool:
    import torch

    return bool(torch.allclose(r @ r.T, torch.eye(r.shape[0], dtype=r.dtype), atol=1e-6))


def test_cli_on_a_compiled_and_a_trained_causal_no_pos_model(tmp_path, capsys):
    pytest.importorskip("torch")
    from rasp.cli.app import main
    from rasp.train.loop import train

    compiled = tmp_path / "rev.safetensors"
    rasp.compile(REVERSE, vocab="abc", max_len=5).save(compiled)
    assert main(["intervene", "programs/reverse.rasp", str(compiled), "--pairs", "60", "--das-steps", "0",
                 "--json", "-o", str(tmp_path / "iia.png")]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"sop", "site", "iia"} <= set(out["variables"][0])
    assert out["best"]["opp_index"] == {**out["best"]["opp_index"], "iia": 1.0}
    assert (tmp_path / "iia.png").stat().st_size > 1000

    prev = rasp.load("programs/prev_token.rasp")
    model = train(prev.sop(), list("abc"), 4, causal=True, no_pos=True, steps=2, d_model=16, batch=8,
                  held_out=20, train_size=50, eval_every=10).model
    path = tmp_path / "prev.trained.safetensors"
    model.save(path)
    assert main(["intervene", "programs/prev_token.rasp", str(path), "--pairs", "20", "--das-steps", "3",
                 "--sop", "prev", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    sites = {v["site"] for v in out["variables"]}
    assert "blocks.1.attn.hook_z[0]" in sites and any("[das" in s for s in sites)
    assert set(out["best"]) == {"prev"}
    assert main(["intervene", "programs/prev_token.rasp", str(path), "--sop", "nothing"]) == 1
