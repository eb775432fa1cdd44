"""Export to TransformerLens: our parameters already have its names and shapes.

Needs a TransformerLens with `HookedTransformer` (it was removed in 4.0; 3.x
works). The exported model has no layer norm, no attention scaling, no biases
but the MLP's, float64 weights, and no BOS of its own: feed it the ids from
`CompiledModel.encode` (BOS = 0 first), as for the compiled module.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..errors import RaspCompileError


def to_transformer_lens(model: Any) -> Any:
    """A `HookedTransformer` computing the same outputs (token ids with BOS = 0 first)."""
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from transformer_lens import HookedTransformer, HookedTransformerConfig
    except ImportError as err:
        raise RaspCompileError(
            f"exporting to TransformerLens needs its HookedTransformer: {err}",
            hint="pip install 'transformer-lens<4'",
        ) from None

    cfg = model.module.cfg
    ours = model.module.state_dict()
    attn_only = all(not ours[f"blocks.{i}.mlp.W_out"].any() for i in range(cfg.n_layers))
    lens_cfg = HookedTransformerConfig(
        n_layers=cfg.n_layers,
        d_model=cfg.d_model,
        n_ctx=cfg.n_ctx,
        d_head=cfg.d_head,
        n_heads=cfg.n_heads,
        d_mlp=None if attn_only else cfg.d_mlp,
        d_vocab=cfg.d_vocab,
        d_vocab_out=cfg.d_out,
        act_fn="relu",
        attn_only=attn_only,
        normalization_type=cfg.normalization,  # trained models: "LN", the same pre-LayerNorm
        attention_dir="causal" if cfg.causal else "bidirectional",
        use_attn_scale=cfg.attn_scale,
        positional_embedding_type="standard",
        default_prepend_bos=False,
        device="cpu",
        dtype=torch.float64,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        lens = HookedTransformer(lens_cfg, move_to_device=False)
    # Start from the lens's own state (its masks and constants), then set every parameter.
    state = dict(lens.state_dict())
    mapped = {"embed.W_E": ours["W_E"], "pos_embed.W_pos": ours["W_pos"], "unembed.W_U": ours["W_U"]}
    for i in range(cfg.n_layers):
        for name in ("W_Q", "W_K", "W_V", "W_O"):
            mapped[f"blocks.{i}.attn.{name}"] = ours[f"blocks.{i}.attn.{name}"]
        if not attn_only:
            for name in ("W_in", "b_in", "W_out", "b_out"):
                mapped[f"blocks.{i}.mlp.{name}"] = ours[f"blocks.{i}.mlp.{name}"]
        # Trained models' optional parameters already carry TransformerLens's names.
        extra = [f"blocks.{i}.attn.{b}" for b in ("b_Q", "b_K", "b_V", "b_O")]
        extra += [f"blocks.{i}.{ln}.{p}" for ln in ("ln1",) + (() if attn_only else ("ln2",)) for p in "wb"]
        mapped.update({k: ours[k] for k in extra if k in ours})
    mapped.update({k: ours[k] for k in ("ln_final.w", "ln_final.b") if k in ours})
    if "b_U" in ours:
        mapped["unembed.b_U"] = ours["b_U"]
    unknown = sorted(set(mapped) - set(state))
    if unknown:
        raise RaspCompileError(f"this TransformerLens names its parameters differently: {unknown[:4]}")
    for key, value in state.items():
        if key in mapped:
            state[key] = mapped[key].detach().cpu().to(torch.float64)
        elif torch.is_floating_point(value) and key.split(".")[-1].startswith(("W_", "b_")):
            state[key] = torch.zeros_like(value)  # biases we do not use
    lens.load_state_dict(state, strict=True)
    return lens if model.device.type == "cpu" else lens.to(model.device)
