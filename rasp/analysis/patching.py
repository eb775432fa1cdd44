"""Activation patching of a model between paired runs: the model side of an interchange
intervention.

A `Site` names an activation with its TransformerLens hook name (`blocks.0.attn.hook_z[1]`:
head 1's output; `blocks.1.hook_mlp_out`; `blocks.0.hook_resid_post`), optionally a part of
it: fixed dimensions (where a compiled model stores an s-op) or a learned subspace (`das`,
see `das.py`). `Patcher` runs the sources once, keeps every activation, and runs each base
with the site's activation at the pair's positions taken from its source (a source
position may differ from the base position it goes to; BOS is never patched).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ir.evaluate import Input, tokenize
from ..ir.intervene import Positions, source_positions
from .subject import Subject


@dataclass(frozen=True)
class Site:
    hook: str
    head: int | None = None  # attn.hook_z: that head's output only
    dims: tuple[int, ...] | None = None  # those residual dimensions only (a compiled model's layout)
    rank: int | None = None  # a learned subspace of this rank (distributed alignment search)
    label: str = ""  # what `dims` hold, for the name

    @property
    def name(self) -> str:
        if self.head is not None:
            return f"{self.hook}[{self.head}]"
        if self.dims is not None:
            return f"{self.hook}[{self.label}]"
        if self.rank is not None:
            return f"{self.hook}[das {self.rank}]"
        return self.hook

    @property
    def kind(self) -> str:
        if self.head is not None:
            return "head"
        if self.dims is not None:
            return "compiled"
        if self.rank is not None:
            return "das"
        return {"hook_mlp_out": "mlp", "hook_attn_out": "attention"}.get(self.hook.split(".")[-1], "residual")


def component_sites(subject: Subject) -> list[Site]:
    """Each head's output, each layer's attention output (when it has several heads), each
    MLP's output, and the whole residual stream at every residual site."""
    sites: list[Site] = []
    for i in range(subject.n_layers):
        heads = subject.heads(i)
        sites += [Site(f"blocks.{i}.attn.hook_z", head=h) for h in range(heads)]
        if heads > 1:
            sites.append(Site(f"blocks.{i}.hook_attn_out"))
        if subject.module.blocks[i].mlp.W_in.shape[1]:
            sites.append(Site(f"blocks.{i}.hook_mlp_out"))
    return sites + [Site(s) for s in subject.residual_sites()]


@dataclass
class Pairs:
    bases: list[Input]
    sources: list[Input]
    positions: list[Positions]  # per pair: (base position, source position) pairs, or None (all)

    def __len__(self) -> int:
        return len(self.bases)


def sample_pairs(rng: np.random.Generator, vocab: Sequence[Any], max_len: int, count: int, distribution: str,
                 mode: str = "any", held_out: bool = True, min_len: int = 1) -> Pairs:
    """`count` (base, source) pairs from one side of the split. `mode` any: one base position
    takes one source position, both random (lengths independent); same: the same position of
    a source of the same length; all: every position of a source of the same length."""
    from ..train import data as D

    bases = D.sample_split(rng, vocab, max_len, count, distribution, held_out, min_len)
    if mode == "any":
        sources = D.sample_split(rng, vocab, max_len, len(bases), distribution, held_out, min_len)
        sources = (sources * (len(bases) // max(len(sources), 1) + 1))[: len(bases)]
    else:
        pool: dict[int, list[list[Any]]] = {}
        sources = []
        for b in bases:
            n = len(b)
            if not pool.get(n):
                pool[n] = D.sample_split(rng, vocab, n, 32, distribution, held_out, n) or [list(b)]
            sources.append(pool[n].pop())
    positions: list[Positions] = []
    for b, s in zip(bases, sources):
        if mode == "all":
            positions.append(None)
            continue
        p = int(rng.integers(len(b)))
        positions.append([(p, p if mode == "same" else int(rng.integers(len(s))))])
    return Pairs(list(bases), list(sources), positions)


class Patcher:
    """The sources' activations for a set of pairs, and patched runs of the bases."""

    def __init__(self, subject: Subject, pairs: Pairs, batch_size: int = 512):
        import torch

        self.subject, self.pairs = subject, pairs
        off = subject.offset
        self.where: list[tuple[int, int]] = [(-1, -1)] * len(pairs)  # source i: (its group, its row)
        self.caches: list[dict[str, Any]] = []
        from ..compiler.encoding import groups_by_length

        with torch.no_grad():
            for idx in groups_by_length(pairs.sources, batch_size):
                cache: dict[str, Any] = {}
                subject.run(subject.encode([pairs.sources[i] for i in idx]), cache=cache)
                for row, i in enumerate(idx):
                    self.where[i] = (len(self.caches), row)
                self.caches.append(cache)
        # Per pair, for each base position (BOS included), the source position it takes (-1: none).
        self.taken = []
        for b, s, pos in zip(pairs.bases, pairs.sources, pairs.positions):
            m = source_positions(len(tokenize(b)), len(tokenize(s)), pos)
            self.taken.append(np.concatenate([np.full(off, -1), np.where(m >= 0, m + off, -1)]))
        self.groups = list(groups_by_length(pairs.bases, batch_size))
        self.ids = [subject.encode([pairs.bases[i] for i in idx]) for idx in self.groups]

    def source(self, hook: str, idx: Sequence[int]) -> tuple[Any, Any]:
        """The sources' `hook` activations moved to the bases' positions (batch, positions,
        ...), and the mask (batch, positions) of the positions that take them."""
        import torch

        rows = []
        for i in idx:
            group, row = self.where[i]
            act = self.caches[group][hook][row]
            take = torch.as_tensor(np.maximum(self.taken[i], 0), device=act.device)
            rows.append(act[take])
        mask = torch.as_tensor(np.stack([self.taken[i] >= 0 for i in idx]), device=rows[0].device)
        return torch.stack(rows), mask

    def patch(self, site: Site, idx: Sequence[int], rotation: Any = None) -> Callable[[Any], Any]:
        """The function that patches `site` for the pairs `idx` (a base batch)."""
        import torch

        src, mask = self.source(site.hook, idx)

        def apply(x: Any) -> Any:
            m = mask.view(*mask.shape, *([1] * (x.dim() - 2)))
            if site.head is not None:
                x = x.clone()
                x[:, :, site.head] = torch.where(m[:, :, 0], src[:, :, site.head], x[:, :, site.head])
                return x
            if site.dims is not None:
                x = x.clone()
                d = list(site.dims)
                x[..., d] = torch.where(m, src[..., d], x[..., d])
                return x
            if rotation is not None:
                return x + ((src - x) @ rotation.T @ rotation) * m
            return torch.where(m, src, x)

        return apply

    def logits(self, site: Site, group: int, rotation: Any = None) -> Any:
        idx = self.groups[group]
        raw = self.subject.run(self.ids[group], patch={site.hook: self.patch(site, idx, rotation)})
        return self.subject.logits(raw)

    def predictions(self, site: Site | None, rotation: Any = None) -> list[np.ndarray]:
        """The model's output (as logit columns) on every base, patched at `site` (None: unpatched)."""
        import torch

        out: list[np.ndarray] = [None] * len(self.pairs)  # type: ignore[list-item]
        with torch.no_grad():
            for g, idx in enumerate(self.groups):
                if site is None:
                    logits = self.subject.logits(self.subject.run(self.ids[g]))
                else:
                    logits = self.logits(site, g, rotation)
                for i, row in zip(idx, logits.argmax(-1).cpu().numpy()):
                    out[i] = row
        return out


def interchange_accuracy(predicted: list[np.ndarray], targets: list[np.ndarray | None]) -> float:
    """The share of pairs (with a counterfactual) whose whole output is the counterfactual."""
    scored = [bool(np.array_equal(p, t)) for p, t in zip(predicted, targets) if t is not None]
    return float(np.mean(scored)) if scored else 0.0
