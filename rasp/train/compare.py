"""Which trained attention head does what a compiled head does?

For every compiled head (named by the s-op it computes), the trained head whose attention
patterns are most similar on a sample of inputs. Similarity of two heads is

    1 - mean total-variation distance between their attention rows,

a number in [0, 1]: the mean over inputs and query positions (BOS's own row left out, it
sees only itself under a causal mask) of 1 - (1/2) * sum_k |a[q, k] - b[q, k]|. It is
1 exactly when the two heads attend identically, and 0 when they never attend to the same
positions. Both models see the same inputs with BOS at position 0, so BOS columns (where
compiled heads put their "nothing selected" weight) are compared too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Head = tuple[int, int]  # (layer, head), from 0


@dataclass
class HeadMatch:
    compiled: str  # the s-op the compiled head computes
    compiled_head: Head
    trained_head: Head
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        layer, head = self.trained_head
        return {
            "compiled": self.compiled,
            "compiled_head": f"layer {self.compiled_head[0] + 1} head {self.compiled_head[1]}",
            "trained": f"layer {layer + 1} head {head}",
            "similarity": self.similarity,
        }


def compiled_heads(compiled: Any) -> list[tuple[Head, str]]:
    """The heads a compiled model uses, with the s-op each computes."""
    return [
        ((layer, h), head.expr.name)
        for layer, heads in enumerate(compiled.stages.allocation.heads)
        for h, head in enumerate(heads)
    ]


def patterns(model: Any, inputs: list[list[Any]]) -> dict[Head, list[np.ndarray]]:
    """Attention patterns (input, query, key) of every head, one array per input length."""
    import torch

    from ..compiler.encoding import groups_by_length

    out: dict[Head, list[np.ndarray]] = {}
    with torch.no_grad():
        for idx in groups_by_length(inputs, 1024):
            cache: dict[str, Any] = {}
            model.module(model.encode([inputs[i] for i in idx]), cache=cache)
            for layer in range(model.module.cfg.n_layers):
                pattern = cache[f"blocks.{layer}.attn.hook_pattern"].double().cpu().numpy()
                for h in range(pattern.shape[1]):
                    out.setdefault((layer, h), []).append(pattern[:, h])
    return out


def similarity(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """1 - mean total-variation distance between the rows of two heads' patterns."""
    distances = [0.5 * np.abs(x[:, 1:] - y[:, 1:]).sum(axis=-1).ravel() for x, y in zip(a, b)]
    return float(np.clip(1.0 - np.concatenate(distances).mean(), 0.0, 1.0))


def match_heads(compiled: Any, other: Any, inputs: list[list[Any]]) -> list[HeadMatch]:
    """For each compiled head, the most similar head of `other` (ties: the first)."""
    if not getattr(other, "bos", True):
        from ..errors import RaspInputError

        raise RaspInputError("this model was trained without BOS; its heads cannot be matched to compiled ones")
    ours, theirs = patterns(compiled, inputs), patterns(other, inputs)
    matches = []
    for at, name in compiled_heads(compiled):
        scores = {head: similarity(ours[at], pats) for head, pats in theirs.items()}
        best = max(scores, key=lambda h: scores[h]) if scores else (0, 0)
        matches.append(HeadMatch(name, at, best, scores.get(best, 0.0)))
    return matches


def same_heads(compiled: Any, other: Any, inputs: list[list[Any]]) -> list[HeadMatch]:
    """Each compiled head against the head at the same place in `other` (a model fine-tuned
    from the compiled weights, whose heads started out identical)."""
    ours, theirs = patterns(compiled, inputs), patterns(other, inputs)
    return [HeadMatch(name, at, at, similarity(ours[at], theirs[at])) for at, name in compiled_heads(compiled)]


def summarize(matches: list[HeadMatch]) -> dict[str, Any]:
    sims = [m.similarity for m in matches]
    return {
        "heads": [m.to_dict() for m in matches],
        "best_similarity": max(sims, default=0.0),
        "mean_similarity": float(np.mean(sims)) if sims else 0.0,
    }
