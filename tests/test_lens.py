"""Export to TransformerLens (a TransformerBridge with TL 4, a HookedTransformer with TL 3):
the exported model gives the compiled model's logits and attention patterns.

TransformerLens is an optional extra, too big for every `make test`; `.ci/run` installs it
and runs this file in a step of its own.
"""

import pytest

import rasp

pytest.importorskip("torch")
transformer_lens = pytest.importorskip("transformer_lens")

from rasp.compiler.lens import transformer_lens_major  # noqa: E402

PROGRAMS = {
    # name: (vocab, max_len, causal) -- attention only, MLPs, several heads per layer, causal masking
    "reverse": ("abc", 6, False),
    "sort_tokens": ("abc", 6, False),
    "dyck1": ("()", 8, False),
}


@pytest.fixture(scope="module")
def stdlib():
    return rasp.from_source("x = 1;")


def _inputs(vocab: str, max_len: int) -> list[str]:
    import random

    rng = random.Random(11)
    return ["".join(rng.choice(vocab) for _ in range(rng.randint(1, max_len))) for _ in range(6)]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_export_matches_logits_and_attention_patterns(stdlib, name):
    import torch

    vocab, max_len, causal = PROGRAMS[name]
    model = rasp.compile(stdlib[name], vocab=vocab, max_len=max_len, causal=causal)
    lens = model.to_transformer_lens()
    expected = "TransformerBridge" if transformer_lens_major() >= 4 else "HookedTransformer"
    assert type(lens).__name__ == expected
    for raw in _inputs(vocab, max_len):
        ids = model.encode([raw])
        ours = model.run_with_cache(raw)
        logits, cache = lens.run_with_cache(ids)
        assert torch.allclose(logits, ours["output"], atol=1e-9), raw
        # every activation under the same hook name: embeddings, residual snapshots, q/k/v/z,
        # patterns, attention and MLP outputs, MLP units
        for key in [k for k in ours if k != "output"]:
            # layers with fewer heads or units than the widest are padded with silent ones in
            # TransformerLens, which sizes every layer alike: compare the model's own
            theirs = _own_part(cache[key], ours[key], key)
            if key.endswith("attn.hook_q") and transformer_lens_major() >= 4:
                theirs = theirs / model.module.cfg.d_head**0.5  # TL 4 always scales: the export carries it in W_Q
            assert torch.allclose(theirs, ours[key], atol=1e-9), (raw, key)


def _own_part(theirs, ours, key: str):
    """TransformerLens's activation cut to the heads (or MLP units) the model has."""
    if key.endswith("attn.hook_pattern"):
        return theirs[:, : ours.shape[1]]
    if key.split(".")[-1] in ("hook_q", "hook_k", "hook_v", "hook_z"):
        return theirs[:, :, : ours.shape[2]]
    if key.endswith(("mlp.hook_pre", "mlp.hook_post")):
        return theirs[..., : ours.shape[-1]]
    return theirs


def test_causal_model_exports_with_its_mask(stdlib):
    import torch

    prog = rasp.from_source("x = aggregate(select(indices, indices, <=), indicator(tokens == \"a\"));")
    model = rasp.compile(prog, vocab="ab", max_len=5, causal=True)
    lens = model.to_transformer_lens()
    for raw in ["abba", "b", "aabab"]:
        ids = model.encode([raw])
        logits, cache = lens.run_with_cache(ids)
        pattern = cache["blocks.0.attn.hook_pattern"]
        n = ids.shape[1]
        assert torch.all(pattern[..., torch.ones(n, n, dtype=torch.bool).triu(1)] == 0)
        assert torch.allclose(logits, model.module(ids), atol=1e-9)


def test_trained_model_with_layer_norms_and_biases_exports_with_its_logits():
    import torch

    from rasp.train.loop import train

    prog = rasp.from_source("x = aggregate(select(indices, indices - 1, ==), tokens, \"a\");")
    result = train(prog.sop(), list("abc"), 5, steps=3, d_model=16, d_mlp=32, batch=16, held_out=50,
                   train_size=200, eval_every=10)
    model = result.model
    assert model.module.cfg.biases and model.module.cfg.normalization == "LN"
    with torch.no_grad():  # biases start at zero: make them count
        for name, p in model.module.named_parameters():
            if name.split(".")[-1].startswith("b_"):
                p.copy_(torch.randn_like(p) * 0.3)
    lens = model.to_transformer_lens()
    for raw in _inputs("abc", 5):
        ids = model.encode([raw])
        ours = model.run_with_cache(raw)
        logits, cache = lens.run_with_cache(ids)
        assert torch.allclose(logits.to(ours["output"].dtype), ours["output"], atol=1e-5), raw
        assert torch.allclose(cache["blocks.0.attn.hook_pattern"].to(torch.float64),
                              ours["blocks.0.attn.hook_pattern"].to(torch.float64), atol=1e-5), raw
