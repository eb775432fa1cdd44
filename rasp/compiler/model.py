"""The compiled transformer: a plain torch module, nanoGPT-style.

Parameters use TransformerLens's names and shapes (W_E, W_pos, W_Q[h, d_model,
d_head], ..., W_U), so exporting to a HookedTransformer is a renaming. There is
no layer norm and no 1/sqrt(d_head) scaling: the compiler sets the weights.
Trained models (`rasp train`) reuse this module with the optional pre-LayerNorm,
attention scaling and biases switched on; the defaults leave compiled models unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass
class ModelConfig:
    n_layers: int
    d_model: int
    n_heads: int
    d_head: int
    d_mlp: int
    d_vocab: int  # vocabulary plus BOS (id 0)
    n_ctx: int  # max_len plus BOS
    d_out: int
    causal: bool = False
    # Options for trained models (rasp.train); compiled models keep these defaults.
    normalization: str | None = None  # "LN": pre-LayerNorm before each sublayer and the unembedding
    attn_scale: bool = False  # divide attention scores by sqrt(d_head)
    biases: bool = False  # attention and unembedding biases (b_Q, b_K, b_V, b_O, b_U)
    # Compiled models size each layer to its own heads and MLP units (n_heads and d_mlp are
    # then the largest); None: every layer has n_heads heads and d_mlp units.
    layer_heads: list[int] | None = None
    layer_mlps: list[int] | None = None

    def heads_at(self, layer: int) -> int:
        return self.n_heads if self.layer_heads is None else self.layer_heads[layer]

    def mlp_at(self, layer: int) -> int:
        return self.d_mlp if self.layer_mlps is None else self.layer_mlps[layer]

    def to_dict(self) -> dict:
        return asdict(self)


class LayerNorm(nn.Module):
    """LayerNorm with TransformerLens's parameter names (w, b)."""

    def __init__(self, d_model: int):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d_model))
        self.b = nn.Parameter(torch.zeros(d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x - x.mean(dim=-1, keepdim=True)
        return x / (x.pow(2).mean(dim=-1, keepdim=True) + 1e-5).sqrt() * self.w + self.b


def _norm(cfg: ModelConfig) -> nn.Module:
    return LayerNorm(cfg.d_model) if cfg.normalization == "LN" else nn.Identity()


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig, n_heads: int):
        super().__init__()
        self.causal = cfg.causal
        self.scale = cfg.d_head**-0.5 if cfg.attn_scale else 1.0
        shape = (n_heads, cfg.d_model, cfg.d_head)
        self.W_Q = nn.Parameter(torch.zeros(shape))
        self.W_K = nn.Parameter(torch.zeros(shape))
        self.W_V = nn.Parameter(torch.zeros(shape))
        self.W_O = nn.Parameter(torch.zeros(n_heads, cfg.d_head, cfg.d_model))
        if cfg.biases:
            for name in ("b_Q", "b_K", "b_V"):
                setattr(self, name, nn.Parameter(torch.zeros(cfg.n_heads, cfg.d_head)))
            self.b_O = nn.Parameter(torch.zeros(cfg.d_model))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        q = torch.einsum("bpd,hde->bhpe", x, self.W_Q)
        k = torch.einsum("bpd,hde->bhpe", x, self.W_K)
        v = torch.einsum("bpd,hde->bhpe", x, self.W_V)
        if hasattr(self, "b_Q"):
            q, k, v = q + self.b_Q[:, None], k + self.b_K[:, None], v + self.b_V[:, None]
        scores = (q @ k.transpose(-1, -2)) * self.scale
        if self.causal:
            n = x.shape[1]
            future = torch.ones(n, n, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(future, float("-inf"))
        pattern = scores.softmax(dim=-1)
        out = torch.einsum("bhpe,hed->bpd", pattern @ v, self.W_O)
        return (out + self.b_O if hasattr(self, "b_O") else out), pattern


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig, d_mlp: int):
        super().__init__()
        self.W_in = nn.Parameter(torch.zeros(cfg.d_model, d_mlp))
        self.b_in = nn.Parameter(torch.zeros(d_mlp))
        self.W_out = nn.Parameter(torch.zeros(d_mlp, cfg.d_model))
        self.b_out = nn.Parameter(torch.zeros(cfg.d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.W_in + self.b_in) @ self.W_out + self.b_out


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, layer: int):
        super().__init__()
        self.attn = Attention(cfg, cfg.heads_at(layer))
        self.mlp = MLP(cfg, cfg.mlp_at(layer))
        if cfg.normalization:
            self.ln1, self.ln2 = _norm(cfg), _norm(cfg)


class Transformer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.W_E = nn.Parameter(torch.zeros(cfg.d_vocab, cfg.d_model))
        self.W_pos = nn.Parameter(torch.zeros(cfg.n_ctx, cfg.d_model))
        self.blocks = nn.ModuleList(Block(cfg, i) for i in range(cfg.n_layers))
        self.W_U = nn.Parameter(torch.zeros(cfg.d_model, cfg.d_out))
        if cfg.normalization:
            self.ln_final = _norm(cfg)
        if cfg.biases:
            self.b_U = nn.Parameter(torch.zeros(cfg.d_out))

    def forward(self, ids: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        """ids: (batch, positions) with BOS (id 0) first; returns (batch, positions, d_out).

        Pass a dict as `cache` to collect activations under TransformerLens's hook names:
        `hook_embed`, `hook_pos_embed`, `blocks.{i}.hook_resid_pre`, `blocks.{i}.attn.hook_pattern`,
        `blocks.{i}.hook_resid_mid`, `blocks.{i}.hook_resid_post` (i from 0). The embedding is
        always cached as `blocks.0.hook_resid_pre`, also in a model with no layers.
        """
        tok, pos = self.W_E[ids], self.W_pos[: ids.shape[1]]
        x = tok + pos
        if cache is not None:
            cache["hook_embed"], cache["hook_pos_embed"] = tok, pos.expand_as(tok)
            cache["blocks.0.hook_resid_pre"] = x
        for i, block in enumerate(self.blocks):
            if cache is not None:
                cache[f"blocks.{i}.hook_resid_pre"] = x
            out, pattern = block.attn(block.ln1(x) if self.cfg.normalization else x)
            x = x + out
            if cache is not None:
                cache[f"blocks.{i}.attn.hook_pattern"], cache[f"blocks.{i}.hook_resid_mid"] = pattern, x
            x = x + block.mlp(block.ln2(x) if self.cfg.normalization else x)
            if cache is not None:
                cache[f"blocks.{i}.hook_resid_post"] = x
        if self.cfg.normalization:
            x = self.ln_final(x)
        return x @ self.W_U + self.b_U if self.cfg.biases else x @ self.W_U


def state_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The name and shape of every tensor of a model of `cfg`, allocating nothing."""
    with torch.device("meta"):
        return {name: tuple(t.shape) for name, t in Transformer(cfg).state_dict().items()}


def module_from_state(cfg: ModelConfig, state: dict[str, torch.Tensor], dtype: torch.dtype) -> Transformer:
    """A model of `cfg` holding `state` (shapes already checked): built on the meta device and
    given the tensors themselves, so the weights are never allocated twice."""
    with torch.device("meta"):
        module = Transformer(cfg)
    module.load_state_dict(state, assign=True)
    return module.to(dtype)


def uniform_state(module: Transformer) -> dict[str, torch.Tensor]:
    """The module's parameters with every layer zero-padded to n_heads heads and d_mlp
    units: the shapes of tools that size all layers alike (TransformerLens)."""
    cfg = module.cfg
    state = {k: v.detach() for k, v in module.state_dict().items()}
    for i in range(cfg.n_layers):
        b = f"blocks.{i}"
        for name in ("W_Q", "W_K", "W_V", "W_O"):
            w = state[f"{b}.attn.{name}"]
            state[f"{b}.attn.{name}"] = torch.cat([w, w.new_zeros(cfg.n_heads - w.shape[0], *w.shape[1:])])
        w_in, b_in, w_out = (state[f"{b}.mlp.{n}"] for n in ("W_in", "b_in", "W_out"))
        pad = cfg.d_mlp - w_in.shape[1]
        state[f"{b}.mlp.W_in"] = torch.cat([w_in, w_in.new_zeros(w_in.shape[0], pad)], dim=1)
        state[f"{b}.mlp.b_in"] = torch.cat([b_in, b_in.new_zeros(pad)])
        state[f"{b}.mlp.W_out"] = torch.cat([w_out, w_out.new_zeros(pad, w_out.shape[1])])
    return state
