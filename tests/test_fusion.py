"""Fusion budget: a fused map too large for one MLP materialises the sub-expression that
shrinks it most. Regression: the cached leaves of a fused tree went stale while candidates
were tried, so nothing was materialised and translate's `french_here` became one MLP of
72,829 units (67M parameters) instead of reading `negated_object` and `possessive_her`."""

import pytest

pytest.importorskip("torch")

import rasp  # noqa: E402
from rasp.eval import compile_for, read_corpus  # noqa: E402


def test_translate_materialises_what_shrinks_its_widest_map():
    prog = rasp.load("programs/translate.rasp")
    model, _ = compile_for(prog, read_corpus("programs/corpora/en_fr.tsv"))
    by_sop = {mlp.expr.name: mlp for mlp in model.stages.blocks.mlps if not mlp.expr.name.startswith("clean")}
    here = by_sop["french_here"]
    read = {space.name for space in here.w_in}
    assert {"negated_object", "possessive_her"} <= read
    assert here.w_out.shape[0] < 10_000  # one unit per reachable input combination
