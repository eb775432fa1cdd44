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
    # layer number (1-based) -> one entry per head: the names of the attention s-ops it
    # computes (several when aggregates share a selector), so len() is the head count
    per_layer: dict[int, list[list[str]]] = field(default_factory=dict)
    heads_per_layer: dict[int, int] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"{self.layers} {_plural(self.layers, 'layer')}, {self.heads} {_plural(self.heads, 'head')} (max per layer)"]
        for layer in sorted(self.per_layer):
            heads = self.per_layer[layer]
            shown = "; ".join(" & ".join(names) for names in heads)
            lines.append(f"  layer {layer}: {len(heads)} {_plural(len(heads), 'head')}: {shown}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<LayerReport: {self.layers} {_plural(self.layers, 'layer')}, {self.heads} {_plural(self.heads, 'head')} (max per layer)>"

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(
            f"<tr><td>{layer}</td><td>{len(heads)}</td><td>{escape('; '.join(' & '.join(n) for n in heads))}</td></tr>"
            for layer, heads in sorted(self.per_layer.items())
        )
        return (
            f"<p>{self.layers} {_plural(self.layers, 'layer')}, {self.heads} {_plural(self.heads, 'head')} (max per layer)</p>"
            f"<table><tr><th>layer</th><th>heads</th><th>s-ops</th></tr>{rows}</table>"
        )


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


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
    # layer -> selector key -> names of the s-ops that head computes (dict: ordered, unique)
    heads: dict[int, dict[tuple, dict[str, None]]] = {}
    for expr in topological_exprs(graph):
        if is_attention(expr):
            layer = depth[expr.id]
            key = _LENGTH_HEAD if isinstance(expr, Length) else selector_key(_selector_of(expr))
            heads.setdefault(layer, {}).setdefault(key, {})[expr.name] = None
    layers = max(depth.values(), default=0)
    counts = {layer: len(keys) for layer, keys in heads.items()}
    return LayerReport(
        layers=layers,
        heads=max(counts.values(), default=0),
        per_layer={k: [list(names) for names in heads[k].values()] for k in sorted(heads)},
        heads_per_layer=counts,
    )


def _selector_of(expr: RASPExpr) -> Selector:
    assert isinstance(expr, (Aggregate, SelectorWidth))
    return expr.selector
