"""The model side of the analysis: one view of a compiled or a trained model.

Both are `rasp.compiler.model.Transformer`s; this gives them one way to be run with a
cache or with patches (TransformerLens hook names), to score the program's output values
(logits over the output vocabulary, BOS stripped) and to name their residual sites.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ir.evaluate import Input
from ..train.data import _native

SHARPNESS = 10.0  # a compiled model's output scores, scaled as a compiled start's (rasp.train.model)


@dataclass
class Subject:
    model: Any  # CompiledModel or TrainedModel
    offset: int  # 1 when BOS comes first
    outputs: tuple  # output value i is logit column i
    numeric: bool  # one output unit holding a number

    @classmethod
    def of(cls, model: Any) -> Subject:
        if hasattr(model, "spaces"):  # compiled
            return cls(model, 1, tuple(model.output.values), not model.output.categorical)
        return cls(model, 1 if model.bos else 0, tuple(model.outputs), model.numeric_output)

    @property
    def module(self) -> Any:
        return self.model.module

    @property
    def compiled(self) -> bool:
        return hasattr(self.model, "spaces")

    @property
    def n_layers(self) -> int:
        return self.module.cfg.n_layers

    @property
    def causal(self) -> bool:
        return bool(self.model.causal)

    @property
    def no_pos(self) -> bool:
        if hasattr(self.model, "no_pos"):
            return bool(self.model.no_pos)
        return self.causal and not bool(self.module.W_pos.detach().abs().sum())  # compiled: W_pos all zero

    def heads(self, layer: int) -> int:
        return self.module.blocks[layer].attn.W_Q.shape[0]

    def encode(self, inputs: Sequence[Input]) -> Any:
        return self.model.encode(list(inputs))

    def run(self, ids: Any, cache: dict | None = None, patch: dict | None = None) -> Any:
        return self.module(ids, cache=cache, patch=patch)

    def logits(self, raw: Any) -> Any:
        """Scores (batch, positions, len(outputs)) over the output values, BOS stripped."""
        if not self.compiled:
            return self.model.logits(raw)
        import torch

        out = raw[:, 1:]
        if self.numeric:
            grid = torch.tensor([float(v) for v in self.outputs], dtype=out.dtype, device=out.device)
            return -SHARPNESS * (out[..., :1] - grid) ** 2
        return SHARPNESS * out

    def target_ids(self, rows: Sequence[Sequence[Any] | None], n: int) -> np.ndarray:
        """Output values as logit columns (batch, n): -1 for a value the model cannot output
        (or a missing row)."""
        from ..compiler.encoding import token_key

        index = {token_key(v): i for i, v in enumerate(self.outputs)}
        grid = np.array([float(v) for v in self.outputs]) if self.numeric else None
        out = np.full((len(rows), n), -1, dtype=np.int64)
        for r, row in enumerate(rows):
            if row is None:
                continue
            for p, v in enumerate(row):
                if grid is not None:
                    k = int(np.abs(grid - float(v)).argmin())
                    out[r, p] = k if abs(grid[k] - float(v)) < 1e-6 else -1
                else:
                    out[r, p] = index.get(token_key(_native(v)), -1)
        return out

    def residual_sites(self) -> list[str]:
        """The embedding, then the residual after each attention and each MLP sublayer."""
        sites = ["blocks.0.hook_resid_pre"]
        for i in range(self.n_layers):
            sites += [f"blocks.{i}.hook_resid_mid", f"blocks.{i}.hook_resid_post"]
        return sites

    def compiled_site(self, name: str, descendants: Sequence[str] = ()) -> tuple[str, list[int]] | None:
        """Where a compiled model writes s-op `name`: the residual right after the sublayer
        that writes it, and the dimensions it is written to (every copy the compiler made
        there: a categorical and a numerical one, say), with those of the s-ops computed from
        it that the same sublayer writes: the compiler computes `indices - 1` beside
        `indices`, from what `indices` is computed from, so patching `indices` alone there
        would leave it unchanged. None: not a compiled model, or no space of that name."""
        if not self.compiled:
            return None
        copies = self._copies(name)
        if not copies:
            return None
        first = min(_written_at(self.model.components, s) for s in copies)
        patched = [s for n in (name, *descendants) for s in self._copies(n)
                   if _written_at(self.model.components, s) == first]
        dims = sorted({int(d) for s in patched for d in self.model.dims[s]})
        return residual_site(first), dims

    def _copies(self, name: str) -> list[str]:
        return copies(self.model.dims, name)

    def alive(self, name: str) -> list[str]:
        """The residual sites where a compiled model holds s-op `name` (some copy of it)."""
        if not self.compiled:
            return []
        sites = self.residual_sites()
        copies = self._copies(name)
        held = set()
        for s in copies:
            last = self.model.alive_until.get(s, len(sites) - 1)
            held |= set(range(_written_at(self.model.components, s), last + 1))
        return [site for i, site in enumerate(sites) if i in held]


def copies(spaces: Any, name: str) -> list[str]:
    """The names of a compiled model's spaces holding s-op `name`: the compiler names a second
    encoding `name#cat` or `name#num`, and a second s-op of one name `name'`."""
    return [s for s in spaces if re.fullmatch(re.escape(name) + r"(#cat|#num)?'*", s)]


def _written_at(components: list[dict[str, Any]], space: str) -> int:
    """The sublayer (0: the embedding, 2L - 1: layer L's attention, 2L: its MLP) writing `space`."""
    for c in components:
        if c["space"] == space and not c["cleanup"]:
            return 2 * c["layer"] - (1 if c["kind"] == "attention" else 0)
    return 0


def residual_site(sublayer: int) -> str:
    if sublayer == 0:
        return "blocks.0.hook_resid_pre"
    return f"blocks.{(sublayer - 1) // 2}.hook_resid_{'mid' if sublayer % 2 else 'post'}"
