"""Export to TransformerLens: our parameters already have its names and shapes."""

from __future__ import annotations

from typing import Any


def to_transformer_lens(model: Any) -> Any:
    """A `HookedTransformer` computing the same outputs (token ids with BOS = 0 first)."""
    import torch
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    cfg = model.module.cfg
    lens_cfg = HookedTransformerConfig(
        n_layers=cfg.n_layers,
        d_model=cfg.d_model,
        n_ctx=cfg.n_ctx,
        d_head=cfg.d_head,
        n_heads=cfg.n_heads,
        d_mlp=cfg.d_mlp,
        d_vocab=cfg.d_vocab,
        d_vocab_out=cfg.d_out,
        act_fn="relu",
        normalization_type=None,
        attention_dir="causal" if cfg.causal else "bidirectional",
        use_attn_scale=False,
        positional_embedding_type="standard",
        default_prepend_bos=False,
        dtype=torch.float64,
    )
    lens = HookedTransformer(lens_cfg)
    ours = model.module.state_dict()
    state = {
        "embed.W_E": ours["W_E"],
        "pos_embed.W_pos": ours["W_pos"],
        "unembed.W_U": ours["W_U"],
        "unembed.b_U": torch.zeros(cfg.d_out, dtype=torch.float64),
    }
    for i in range(cfg.n_layers):
        for name in ("W_Q", "W_K", "W_V", "W_O"):
            state[f"blocks.{i}.attn.{name}"] = ours[f"blocks.{i}.attn.{name}"]
        for name in ("b_Q", "b_K", "b_V"):
            state[f"blocks.{i}.attn.{name}"] = torch.zeros(cfg.n_heads, cfg.d_head, dtype=torch.float64)
        state[f"blocks.{i}.attn.b_O"] = torch.zeros(cfg.d_model, dtype=torch.float64)
        for name in ("W_in", "b_in", "W_out", "b_out"):
            state[f"blocks.{i}.mlp.{name}"] = ours[f"blocks.{i}.mlp.{name}"]
    lens.load_state_dict(state, strict=False)
    return lens.to(model.device)
