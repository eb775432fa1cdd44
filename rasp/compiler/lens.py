"""Export to TransformerLens: a `TransformerBridge` with TL 4, a `HookedTransformer` with TL 3.

Both are written from the module's config (`model.cfg`) and state dict alone, so any model
in our format exports (compiled, or trained, with or without layer norm). TransformerLens's
own warnings are left alone. The exported model has no attention scaling of its own (the
compiler sets the scores), float64 weights, and no BOS of its own: feed it the ids from
`CompiledModel.encode` (BOS = 0 first), as for the compiled module.

Name mapping (ours = TL 3's names; TL 4's native model stores torch Linear layers):

    W_E, W_pos                  -> tok_embed.weight, pos.weight
    blocks.i.attn.W_Q/W_K/W_V   -> layers.i.attn.q/k/v.weight  (heads flattened, transposed)
    blocks.i.attn.W_O           -> layers.i.attn.o.weight
    blocks.i.mlp.W_in/b_in      -> layers.i.mlp.fc_in.weight/bias
    blocks.i.mlp.W_out/b_out    -> layers.i.mlp.fc_out.weight/bias
    blocks.i.ln1/ln2.w/b        -> layers.i.ln1/ln2.weight/bias
    ln_final.w/b                -> ln_out.weight/bias
    W_U                         -> head.weight
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import RaspCompileError, RaspDependencyError
from .model import uniform_state


def transformer_lens_major() -> int:
    """The installed TransformerLens's major version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return int(version("transformer-lens").split(".")[0])
    except PackageNotFoundError:
        raise RaspDependencyError("exporting needs TransformerLens: pip install 'rasp[lens]'") from None


def to_transformer_lens(model: Any) -> Any:
    """A TransformerLens model computing the same outputs (token ids with BOS = 0 first)."""
    module = model.module if hasattr(model, "module") else model
    lens = _to_bridge(module) if transformer_lens_major() >= 4 else _to_hooked(module)
    device = next(module.parameters()).device
    return lens if device.type == "cpu" else lens.to(device)


def _norm_type(module: Any) -> str | None:
    """'LN' when the module has layer norms (pre-LN blocks and a final one), else None."""
    state = module.state_dict()
    return "LN" if any(k.startswith("ln_final.") or ".ln1." in k for k in state) else None


def _attn_only(module: Any) -> bool:
    state = module.state_dict()
    return all(not state[f"blocks.{i}.mlp.W_out"].any() for i in range(module.cfg.n_layers))


def _lens_config(module: Any) -> dict[str, Any]:
    """The config fields TL 3 and TL 4 share, from our module's config."""
    import torch

    cfg = module.cfg
    attn_only = _attn_only(module)
    return dict(
        n_layers=cfg.n_layers, d_model=cfg.d_model, n_ctx=cfg.n_ctx, d_head=cfg.d_head, n_heads=cfg.n_heads,
        d_mlp=None if attn_only else cfg.d_mlp, d_vocab=cfg.d_vocab, d_vocab_out=cfg.d_out, act_fn="relu",
        attn_only=attn_only, normalization_type=_norm_type(module),
        attention_dir="causal" if cfg.causal else "bidirectional", positional_embedding_type="standard",
        default_prepend_bos=False, device="cpu", dtype=torch.float64,
    )


# --- TransformerLens 4: TransformerBridge over its native model ---------------------------------


def _to_bridge(module: Any) -> Any:
    import torch
    from transformer_lens import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    cfg = module.cfg
    fields = _lens_config(module)
    attn_only = fields["attn_only"]
    fields["d_mlp"] = cfg.d_mlp  # the native model sizes its MLPs even when unused
    lens_cfg = TransformerBridgeConfig(**fields)
    bridge = TransformerBridge.boot_native(lens_cfg, device="cpu", dtype=torch.float64)
    ours = {k: v.cpu().to(torch.float64) for k, v in uniform_state(module).items()}
    # The native attention divides scores by sqrt(d_head); a compiled model's are unscaled,
    # so its queries carry that factor.
    scale = 1.0 if cfg.attn_scale else math.sqrt(cfg.d_head)

    def flat_in(w: torch.Tensor) -> torch.Tensor:  # (heads, d_model, d_head) -> (heads*d_head, d_model)
        return w.permute(0, 2, 1).reshape(-1, w.shape[1])

    # The bridge wraps each native module; its keys without the wrapper segments are the
    # native model's own parameter names, which `load_state_dict` accepts.
    native = {k.replace("._original_component", ""): v for k, v in bridge.original_model.state_dict().items()}
    state: dict[str, torch.Tensor] = {
        "tok_embed.weight": ours["W_E"],
        "pos.weight": ours["W_pos"],
        "head.weight": ours["W_U"].T,
    }
    for i in range(cfg.n_layers):
        p, b = f"layers.{i}", f"blocks.{i}"
        state[f"{p}.attn.q.weight"] = flat_in(ours[f"{b}.attn.W_Q"]) * scale
        state[f"{p}.attn.k.weight"] = flat_in(ours[f"{b}.attn.W_K"])
        state[f"{p}.attn.v.weight"] = flat_in(ours[f"{b}.attn.W_V"])
        state[f"{p}.attn.o.weight"] = ours[f"{b}.attn.W_O"].reshape(-1, cfg.d_model).T
        if cfg.biases:  # trained models
            state[f"{p}.attn.q.bias"] = ours[f"{b}.attn.b_Q"].reshape(-1) * scale
            state[f"{p}.attn.k.bias"] = ours[f"{b}.attn.b_K"].reshape(-1)
            state[f"{p}.attn.v.bias"] = ours[f"{b}.attn.b_V"].reshape(-1)
            state[f"{p}.attn.o.bias"] = ours[f"{b}.attn.b_O"]
        if not attn_only:
            state[f"{p}.mlp.fc_in.weight"] = ours[f"{b}.mlp.W_in"].T
            state[f"{p}.mlp.fc_in.bias"] = ours[f"{b}.mlp.b_in"]
            state[f"{p}.mlp.fc_out.weight"] = ours[f"{b}.mlp.W_out"].T
            state[f"{p}.mlp.fc_out.bias"] = ours[f"{b}.mlp.b_out"]
        for ln in ("ln1", "ln2"):
            for ours_name, native_name in (("w", "weight"), ("b", "bias")):
                if f"{b}.{ln}.{ours_name}" in ours:
                    state[f"{p}.{ln}.{native_name}"] = ours[f"{b}.{ln}.{ours_name}"]
    for ours_name, native_name in (("w", "weight"), ("b", "bias")):
        if f"ln_final.{ours_name}" in ours:
            state[f"ln_out.{native_name}"] = ours[f"ln_final.{ours_name}"]
    if cfg.biases:
        state["head.bias"] = ours["b_U"]
    unknown = sorted(set(state) - set(native))
    if unknown:
        raise RaspCompileError(f"this TransformerLens names its native parameters differently: {unknown[:4]}")
    for key, value in state.items():
        if value.shape != native[key].shape:
            raise RaspCompileError(f"shape mismatch exporting {key}: {tuple(value.shape)} vs {tuple(native[key].shape)}")
    with torch.no_grad():  # parameters we do not set (biases) are zero; aliases share storage
        for param in bridge.original_model.parameters():
            param.zero_()
    result = bridge.load_state_dict({k: v.contiguous() for k, v in state.items()}, strict=False)
    if getattr(result, "unexpected_keys", None):
        raise RaspCompileError(f"TransformerLens did not take the parameters {result.unexpected_keys[:4]}")
    return bridge


# --- TransformerLens 3: HookedTransformer (our names are its names) ---------------------------


def _to_hooked(module: Any) -> Any:
    import torch
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    ours = uniform_state(module)
    fields = _lens_config(module)
    attn_only = fields["attn_only"]
    lens_cfg = HookedTransformerConfig(use_attn_scale=module.cfg.attn_scale, **fields)
    lens = HookedTransformer(lens_cfg, move_to_device=False)
    # Start from the lens's own state (its masks and constants), then set every parameter.
    state = dict(lens.state_dict())
    mapped = {"embed.W_E": ours["W_E"], "pos_embed.W_pos": ours["W_pos"], "unembed.W_U": ours["W_U"]}
    if "b_U" in ours:  # trained models; their attention biases have TransformerLens's names already
        mapped["unembed.b_U"] = ours["b_U"]
    for key, value in ours.items():
        if key.startswith("blocks.") and (not attn_only or ".mlp." not in key):
            mapped[key] = value
        elif key.startswith("ln_final."):
            mapped[key] = value
    unknown = sorted(set(mapped) - set(state))
    if unknown:
        raise RaspCompileError(f"this TransformerLens names its parameters differently: {unknown[:4]}")
    for key, value in state.items():
        if key in mapped:
            state[key] = mapped[key].detach().cpu().to(torch.float64)
        elif torch.is_floating_point(value) and key.split(".")[-1].startswith(("W_", "b_")):
            state[key] = torch.zeros_like(value)  # biases we do not use
    lens.load_state_dict(state, strict=True)
    return lens
