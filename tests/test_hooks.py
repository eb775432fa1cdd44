"""TransformerLens hook names in `run_with_cache` and activation patching (issue 18 item 7):
q, k, v, z, the attention and MLP outputs and the MLP units, for compiled and trained models."""

import pytest

import rasp

torch = pytest.importorskip("torch")

HOOKS = ["attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_z", "attn.hook_pattern", "hook_attn_out",
         "hook_resid_pre", "hook_resid_mid", "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out", "hook_resid_post"]


@pytest.fixture(scope="module")
def compiled():
    return rasp.compile(rasp.load("programs/sort.rasp"), vocab="abc", max_len=5)


@pytest.fixture(scope="module")
def trained():
    from rasp.train.loop import train

    prog = rasp.from_source('x = aggregate(select(indices, indices - 1, ==), tokens, "a");')
    model = train(prog.sop(), list("abc"), 5, steps=2, d_model=16, heads=2, batch=8, held_out=20,
                  train_size=50, eval_every=10).model
    with torch.no_grad():  # biases start at zero: make them count
        for name, p in model.module.named_parameters():
            if name.split(".")[-1].startswith("b_"):
                p.copy_(torch.randn_like(p) * 0.3)
    return model


def _check_consistent(model, raw):
    """Every hook holds what the forward pass computes from the ones before it."""
    cache = model.run_with_cache(raw)
    cfg = model.module.cfg
    n = len(raw) + 1
    for i, block in enumerate(model.module.blocks):
        b = f"blocks.{i}"
        for name in HOOKS:
            assert f"{b}.{name}" in cache, name
        heads = block.attn.W_Q.shape[0]
        for name in ("q", "k", "v", "z"):
            assert cache[f"{b}.attn.hook_{name}"].shape == (1, n, heads, cfg.d_head)
        z, pattern, v = cache[f"{b}.attn.hook_z"], cache[f"{b}.attn.hook_pattern"], cache[f"{b}.attn.hook_v"]
        assert torch.allclose(z, torch.einsum("bhqk,bkhe->bqhe", pattern, v))
        out = torch.einsum("bqhe,hed->bqd", z, block.attn.W_O) + getattr(block.attn, "b_O", 0)
        assert torch.allclose(cache[f"{b}.hook_attn_out"], out)
        assert torch.allclose(cache[f"{b}.hook_resid_mid"], cache[f"{b}.hook_resid_pre"] + out)
        pre, post = cache[f"{b}.mlp.hook_pre"], cache[f"{b}.mlp.hook_post"]
        assert pre.shape == (1, n, block.mlp.W_in.shape[1])
        assert torch.allclose(post, torch.relu(pre))
        assert torch.allclose(cache[f"{b}.hook_mlp_out"], post @ block.mlp.W_out + block.mlp.b_out)
        assert torch.allclose(cache[f"{b}.hook_resid_post"], cache[f"{b}.hook_resid_mid"] + cache[f"{b}.hook_mlp_out"])


def test_compiled_model_caches_every_hook(compiled):
    _check_consistent(compiled, "cab")


def test_trained_model_caches_every_hook(trained):
    _check_consistent(trained, "abca")


def test_patching_a_hook_changes_the_run_and_an_identity_patch_does_not(compiled):
    ids = compiled.encode(["cab"])
    plain = compiled.module(ids)
    same = compiled.module(ids, patch={"blocks.1.attn.hook_z": lambda z: z})
    assert torch.equal(plain, same)
    cache = {}
    silenced = compiled.module(ids, cache=cache, patch={"blocks.1.attn.hook_z": torch.zeros_like})
    assert not torch.allclose(plain, silenced)
    assert torch.count_nonzero(cache["blocks.1.attn.hook_z"]) == 0  # the cache holds the patched value
    # the head writes sort's output: without it the model no longer sorts
    assert compiled.output.decode(silenced[0, 1:].detach().numpy()) != ["a", "b", "c"]
