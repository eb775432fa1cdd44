"""A model's run on one input, layer by layer: what the residual stream holds after the
embedding and after every attention and MLP sublayer (decoded into named s-ops), what each
head attends to and which s-op it computes, and the output — with every decoded value
checked against the interpreter when the program is known.

Works from `run_with_cache` alone: a model without residual `spaces` (a trained one) still
gets its attention patterns and output; decoding goes through `CompiledModel.read`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ir.evaluate import Input, evaluate_trace, tokenize

BOS_LABEL = "BOS"
# How notebooks show a Trace: set by `rasp.view.page`, which imports this module.
html_renderer: Callable[[Trace], str] | None = None
HIDDEN_SPACES = {"one", "bos"}  # constant bookkeeping, the same on every input


@dataclass
class Mismatch:
    sop: str
    position: int
    interpreter: Any
    model: Any


@dataclass
class Head:
    head: int
    sop: str | None  # the s-op this head computes (None: an unnamed head of a trained model)
    selector: str | None
    op: str | None  # aggregate, selector_width or length (None when unknown)
    pattern: list[list[float]]  # (1 + n) x (1 + n), query by key; row/column 0 is BOS


@dataclass
class Layer:
    name: str  # "embedding", "layer 1 attention", "layer 1 mlp", ...
    values: dict[str, list[Any]]  # decoded s-ops held in the residual, one value per position
    raw: dict[str, list[list[float]]] = field(default_factory=dict)  # their coordinates
    attention: list[Head] = field(default_factory=list)
    computes: list[str] = field(default_factory=list)  # s-ops this sublayer writes
    mismatches: list[Mismatch] = field(default_factory=list)


@dataclass(repr=False)
class Trace:
    input: list[Any]
    output: list[Any]
    layers: list[Layer]
    expected: list[Any] | None = None  # the interpreter's output, when the program is known

    def __repr__(self) -> str:
        heads = sum(len(layer.attention) for layer in self.layers)
        check = "" if self.expected is None else f", {len(self.mismatches)} mismatches with the interpreter"
        return (
            f"<Trace of {_short_list(self.input)}: output {_short_list(self.output)}, "
            f"{count_sublayers(self)} sublayers, {heads} heads{check}>"
        )

    def _repr_html_(self) -> str | None:
        """Jupyter: the `rasp view` page, inline (`rasp.view.page.inline_html`)."""
        return None if html_renderer is None else html_renderer(self)

    @property
    def mismatches(self) -> list[tuple[str, Mismatch]]:
        return [(layer.name, m) for layer in self.layers for m in layer.mismatches]

    def to_dict(self, raw: bool = False) -> dict[str, Any]:
        """The `rasp trace --json` object (see the README); `raw` adds residual coordinates."""
        layers = []
        for layer in self.layers:
            entry: dict[str, Any] = {
                "name": layer.name,
                "values": {k: [_plain(v) for v in vs] for k, vs in layer.values.items()},
                "attention": [
                    {"head": h.head, "sop": h.sop, "selector": h.selector, "op": h.op, "pattern": h.pattern}
                    for h in layer.attention
                ],
                "computes": layer.computes,
                "mismatches": [
                    {"sop": m.sop, "position": m.position, "interpreter": _plain(m.interpreter), "model": _plain(m.model)}
                    for m in layer.mismatches
                ],
            }
            if raw:
                entry["raw"] = layer.raw
            layers.append(entry)
        return {
            "input": [_plain(t) for t in self.input],
            "output": [_plain(v) for v in self.output],
            "expected": None if self.expected is None else [_plain(v) for v in self.expected],
            "layers": layers,
        }


def trace(model: Any, raw: Input, program: Any = None) -> Trace:
    """Run `model` on `raw` and read every sublayer. `program` (an s-op; by default the one
    the model was compiled from) gives the interpreter values to check against. Tokens are
    read as the model reads them (`VocabIndex`: 1 is the vocabulary's "1")."""
    if hasattr(model, "tokens"):  # a text split by the model's tokenizer, when it has one
        raw = model.tokens(raw)
    vocab = getattr(model, "vocab", None)
    if vocab:
        from ..compiler.encoding import VocabIndex

        raw = VocabIndex(vocab).tokens(raw)
    tokens = tokenize(raw)
    cache = model.run_with_cache(raw)
    n_layers = count_layers(cache)
    components = getattr(model, "components", None) or []
    sop = program if program is not None else getattr(model, "program", None)
    truth = _interpreter_values(model, sop, raw)

    snapshots = [("embedding", "blocks.0.hook_resid_pre", 0)]
    for i in range(n_layers):
        snapshots.append((f"layer {i + 1} attention", f"blocks.{i}.hook_resid_mid", 2 * i + 1))
        snapshots.append((f"layer {i + 1} mlp", f"blocks.{i}.hook_resid_post", 2 * i + 2))
    written = _written_at(model, components)
    layers = []
    for name, key, sub in snapshots:
        layer = Layer(name, {})
        for space in _alive(model, written, sub):
            layer.values[space] = model.read(cache, space, key)
            coords = cache[key][0, 1:].double().cpu().numpy()[:, model.dims[space]]
            layer.raw[space] = np.round(coords, 4).tolist()
            layer.mismatches += _compare(space, layer.values[space], truth.get(space))
        layer.computes = [s for s, at in written.items() if at == sub and sub > 0 and s not in HIDDEN_SPACES]
        if sub % 2 == 1:
            layer.attention = _heads(cache, sub // 2, components)
        layers.append(layer)
    output = model.run(raw) if hasattr(model, "run") else _argmax_output(cache)
    expected = truth.get(_output_name(model)) if sop is not None else None
    return Trace(list(tokens), list(output), layers, expected)


def count_sublayers(t: Trace) -> int:
    return sum(1 for layer in t.layers if layer.name != "embedding")


def _short_list(values: list[Any], limit: int = 8) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"


def count_layers(cache: dict[str, Any]) -> int:
    return sum(1 for k in cache if k.endswith(".hook_resid_post"))


def _written_at(model: Any, components: list[dict[str, Any]]) -> dict[str, int]:
    """The sublayer writing each residual space (0: the embedding), in stream order."""
    spaces = getattr(model, "spaces", None) or {}
    written = {name: 0 for name in spaces}
    for c in components:
        if not c.get("cleanup") and c["space"] in written:
            written[c["space"]] = 2 * c["layer"] - (1 if c["kind"] == "attention" else 0)
    return written


def _alive(model: Any, written: dict[str, int], sub: int) -> list[str]:
    """Spaces holding their value right after sublayer `sub` (dimensions are reused once dead)."""
    alive_until = getattr(model, "alive_until", {}) or {}
    return [
        name for name, at in written.items()
        if name not in HIDDEN_SPACES and at <= sub and sub <= alive_until.get(name, 1 << 30)
    ]


def _heads(cache: dict[str, Any], layer: int, components: list[dict[str, Any]]) -> list[Head]:
    """The heads of one layer, padding heads (no s-op, all weight on one key) left out."""
    pattern = cache[f"blocks.{layer}.attn.hook_pattern"][0].double().cpu().numpy()
    named = {c["head"]: c for c in components if c["layer"] == layer + 1 and c["kind"] == "attention"}
    heads = []
    for h in range(pattern.shape[0]):
        c = named.get(h)
        if c is None and components:
            continue  # the compiler names every head it uses; the rest are padding
        matrix = np.round(pattern[h], 4).tolist()
        c = c or {}
        heads.append(Head(h, c.get("sop"), c.get("selector"), c.get("op"), matrix))
    return heads


def _interpreter_values(model: Any, sop: Any, raw: Input) -> dict[str, list[Any]]:
    """The interpreter's value of every s-op the residual holds, by residual space name."""
    spaces = getattr(model, "spaces", None)
    if sop is None or not spaces:
        return {}
    rebuilt: dict[int, Any] = {}
    if getattr(model, "causal", False):  # the interpreter's program, masked as the model is
        from ..compiler.verify import causal_reference

        sop = causal_reference(sop, rebuilt)
    by_expr = evaluate_trace(sop, raw)
    by_id = {e.id: v for e, v in by_expr.items()}
    by_id.update({old: by_id[e.id] for old, e in rebuilt.items() if e.id in by_id})
    values = {}
    for name, space in spaces.items():
        expr = getattr(space, "expr", None)
        if expr is not None and expr.id in by_id:  # width-head scratch spaces have no expr
            values[name] = by_id[expr.id]
    out = getattr(model, "output", None)
    if out is not None:
        values.setdefault(out.name, by_id.get(sop.id))
    return values


def _output_name(model: Any) -> str | None:
    out = getattr(model, "output", None)
    return getattr(out, "name", None)


def _compare(name: str, got: list[Any], want: list[Any] | None) -> list[Mismatch]:
    if want is None:
        return []
    from ..compiler.verify import same

    return [Mismatch(name, i, w, g) for i, (g, w) in enumerate(zip(got, want)) if not same([w], [g])]


def _argmax_output(cache: dict[str, Any]) -> list[int]:
    return cache["output"][0, 1:].argmax(dim=-1).tolist()


def _plain(v: Any) -> Any:
    """A JSON value: numpy scalars become Python numbers, whole floats stay floats."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return round(v, 6)
    return v


def token_labels(tokens: list[Any]) -> list[str]:
    """Axis labels of an attention pattern: BOS, then the tokens."""
    return [BOS_LABEL] + [str(t) for t in tokens]
