"""Layer and head counts of a program, counted as in the RASP paper.

Attention s-ops (aggregate, selector_width, length) each need an attention
layer after every attention s-op they depend on; element-wise work is free
(it fits in the MLPs). Aggregates that share a selector in one layer share
a head, so `heads` is the largest number of distinct selectors in any layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .graph import build_graph, topological_exprs
from .sops import (
    Aggregate,
    Comparison,
    Constant,
    Indices,
    Length,
    RASPExpr,
    Select,
    Selector,
    SelectorWidth,
    SOp,
    Tokens,
    is_attention,
)


@dataclass
class LayerReport:
    layers: int
    heads: int
    # layer number (1-based) -> names of the attention s-ops computed there
    per_layer: dict[int, list[str]] = field(default_factory=dict)
    heads_per_layer: dict[int, int] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"{self.layers} layer{'s' if self.layers != 1 else ''}, {self.heads} head{'s' if self.heads != 1 else ''} (max per layer)"]
        for layer in sorted(self.per_layer):
            lines.append(f"  layer {layer}: {self.heads_per_layer[layer]} head(s): {', '.join(self.per_layer[layer])}")
        return "\n".join(lines)


def selector_key(sel: RASPExpr) -> tuple:
    """Structural identity of a selector, so equal selectors written twice share a head."""
    if isinstance(sel, Select):
        return ("select", sop_key(sel.keys), sop_key(sel.queries), sel.predicate)
    return (type(sel).__name__,) + tuple(selector_key(c) for c in sel.children)


def sop_key(sop: SOp) -> tuple:
    # Primitive s-ops are interchangeable whichever object represents them.
    if isinstance(sop, Indices):
        return ("indices",)
    if isinstance(sop, Length):
        return ("length",)
    if isinstance(sop, Tokens):
        return ("tokens", sop.kind)
    if isinstance(sop, Constant):
        return ("constant", type(sop.value).__name__, sop.value)
    return ("sop", sop.id)


_LENGTH_HEAD = ("select", ("indices",), ("indices",), Comparison.TRUE)


def attention_depths(graph) -> dict[int, int]:
    """For each node id, how many attention layers it sits after (its own included)."""
    depth: dict[int, int] = {}
    for expr in topological_exprs(graph):
        below = max((depth[c.id] for c in expr.children), default=0)
        depth[expr.id] = below + 1 if is_attention(expr) else below
    return depth


def analyse(output: RASPExpr) -> LayerReport:
    graph = build_graph(output)
    depth = attention_depths(graph)
    heads: dict[int, set[tuple]] = {}
    names: dict[int, list[str]] = {}
    for expr in topological_exprs(graph):
        if is_attention(expr):
            layer = depth[expr.id]
            key = _LENGTH_HEAD if isinstance(expr, Length) else selector_key(_selector_of(expr))
            if key not in heads.setdefault(layer, set()) or not isinstance(expr, Length):
                names.setdefault(layer, []).append(expr.name)
            heads[layer].add(key)
    layers = max(depth.values(), default=0)
    counts = {layer: len(keys) for layer, keys in heads.items()}
    return LayerReport(
        layers=layers,
        heads=max(counts.values(), default=0),
        per_layer={k: names[k] for k in sorted(names)},
        heads_per_layer=counts,
    )


def _selector_of(expr: RASPExpr) -> Selector:
    assert isinstance(expr, (Aggregate, SelectorWidth))
    return expr.selector
