"""The metadata schema of model files: what `rasp.meta` may hold, checked before anything is
built from it (a file's checksum shows it is intact, not that its writer meant well).

Each kind of model has a table, field name -> `Field(check, required)`. A check takes the
value and returns what is wrong with it (a short phrase) or None. Fields not in a table
are ignored (a newer writer may add them). To add a field: add a row to `COMMON`,
`COMPILED` or `TRAINED`, built from the checks below (or a new one); `relations` holds
the checks that compare fields with each other.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import RaspLoadError

Check = Callable[[Any], "str | None"]

# Sanity bounds; memory is checked separately, against the tensors in the file.
MAX_DIM = 1 << 31
MAX_LAYERS = 100_000
MAX_ITEMS = 10_000_000  # list lengths (a vocabulary, a space's values)
MAX_TEXT = 100_000  # characters in one string
MAX_DEPTH = 8  # nesting of free-form JSON (a trained model's `info`)


@dataclass(frozen=True)
class Field:
    check: Check
    required: bool = True


def integer(lo: int = 0, hi: int = MAX_DIM) -> Check:
    def check(v: Any) -> str | None:
        if isinstance(v, bool) or not isinstance(v, int):
            return f"is {_kind(v)}, not a whole number"
        return None if lo <= v <= hi else f"is {_short(v)}, outside {lo:,}..{hi:,}"

    return check


def number(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return f"is {_kind(v)}, not a number"
    return None if math.isfinite(v) else "is not finite"


def boolean(v: Any) -> str | None:
    return None if isinstance(v, bool) else f"is {_kind(v)}, not true or false"


def text(v: Any) -> str | None:
    if not isinstance(v, str):
        return f"is {_kind(v)}, not a string"
    return None if len(v) <= MAX_TEXT else f"is a string of {len(v):,} characters"


def one_of(*choices: Any) -> Check:
    def check(v: Any) -> str | None:
        return None if any(v == c and type(v) is type(c) for c in choices) else \
            f"is {_short(v)}, not one of {', '.join(map(repr, choices))}"

    return check


def optional(inner: Check) -> Check:
    return lambda v: None if v is None else inner(v)


def token(v: Any) -> str | None:
    """One token or value: a string, a bool, a whole number or a finite number."""
    if isinstance(v, str):
        return text(v)
    if isinstance(v, (bool, int)):
        return None
    if isinstance(v, float):
        return number(v)
    return f"is {_kind(v)}, not a token (string or number)"


def list_of(item: Check, max_items: int = MAX_ITEMS) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, list):
            return f"is {_kind(v)}, not a list"
        if len(v) > max_items:
            return f"has {len(v):,} items, over {max_items:,}"
        for i, x in enumerate(v):
            problem = item(x)
            if problem:
                return f"[{i}]{_joined(problem)}"
        return None

    return check


def mapping(value: Check) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, dict):
            return f"is {_kind(v)}, not an object"
        for k, x in v.items():
            problem = text(k) or value(x)
            if problem:
                return f"[{_short(k)}]{_joined(problem)}"
        return None

    return check


def record(fields: dict[str, Field]) -> Check:
    """An object with these fields (each checked; required ones present)."""
    def check(v: Any) -> str | None:
        if not isinstance(v, dict):
            return f"is {_kind(v)}, not an object"
        for name, f in fields.items():
            if name not in v:
                if f.required:
                    return f"has no '{name}'"
                continue
            problem = f.check(v[name])
            if problem:
                return f".{name}{_joined(problem)}"
        return None

    return check


def plain_json(v: Any, depth: int = 0) -> str | None:
    """Free-form JSON, nested at most MAX_DEPTH deep."""
    if depth > MAX_DEPTH:
        return f"is nested over {MAX_DEPTH} deep"
    if v is None or isinstance(v, (bool, int)):
        return None
    if isinstance(v, (float, str)):
        return token(v)
    items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else None
    if items is None:
        return f"is {_kind(v)}"
    for _, x in items:
        problem = plain_json(x, depth + 1)
        if problem:
            return problem
    return None


MODEL_CONFIG = {
    "n_layers": Field(integer(0, MAX_LAYERS)),
    "d_model": Field(integer(1)),
    "n_heads": Field(integer(0)),
    "d_head": Field(integer(0)),
    "d_mlp": Field(integer(0)),
    "d_vocab": Field(integer(1)),
    "n_ctx": Field(integer(1)),
    "d_out": Field(integer(0)),
    "causal": Field(boolean, required=False),
    "normalization": Field(optional(one_of("LN")), required=False),
    "attn_scale": Field(boolean, required=False),
    "biases": Field(boolean, required=False),
    "layer_heads": Field(optional(list_of(integer(0), MAX_LAYERS)), required=False),
    "layer_mlps": Field(optional(list_of(integer(0), MAX_LAYERS)), required=False),
}

SPACE = {
    "name": Field(text),
    "values": Field(list_of(token)),
    "categorical": Field(boolean),
    "dims": Field(list_of(integer(0))),
}

COMPONENT = {
    "kind": Field(one_of("attention", "mlp")),
    "layer": Field(integer(0, MAX_LAYERS)),
    "head": Field(optional(integer(0)), required=False),
    "sop": Field(text),
    "space": Field(text),
    "cleanup": Field(boolean, required=False),
    "file": Field(optional(text), required=False),
    "line": Field(optional(integer(0)), required=False),
    "op": Field(optional(text), required=False),
    "selector": Field(optional(text), required=False),
}

COMMON = {
    "kind": Field(one_of("compiled", "trained")),
    "model": Field(record(MODEL_CONFIG)),
    "vocab": Field(list_of(token)),
    "max_len": Field(integer(1)),
    "causal": Field(boolean),
}

COMPILED = {
    **COMMON,
    "dtype": Field(one_of("float64", "float32", "float16", "bfloat16"), required=False),
    "output": Field(text),
    "spaces": Field(list_of(record(SPACE))),
    "labels": Field(list_of(text), required=False),
    "alive_until": Field(mapping(integer(0)), required=False),
    "components": Field(list_of(record(COMPONENT)), required=False),
}

TRAINED = {
    **COMMON,
    "outputs": Field(list_of(token)),
    "no_pos": Field(boolean, required=False),
    "numeric_output": Field(boolean, required=False),
    "output_scale": Field(number, required=False),
    "bos": Field(boolean, required=False),
    "sop": Field(optional(text), required=False),
    "info": Field(plain_json, required=False),
}

KINDS = {"compiled": COMPILED, "trained": TRAINED}


def relations(meta: dict[str, Any]) -> str | None:
    """Checks across fields: per-layer lists as long as the layers, the output among the
    spaces, every space's dimensions inside d_model and as many as it is wide."""
    cfg = meta["model"]
    for name in ("layer_heads", "layer_mlps"):
        if cfg.get(name) is not None and len(cfg[name]) != cfg["n_layers"]:
            return f"model.{name} lists {len(cfg[name]):,} layers, not n_layers = {cfg['n_layers']:,}"
    if len(meta["vocab"]) + 1 > cfg["d_vocab"]:
        return f"the vocabulary has {len(meta['vocab']):,} tokens, more than model.d_vocab allows"
    if meta["max_len"] > cfg["n_ctx"]:
        return f"max_len {meta['max_len']:,} is longer than the model's context (n_ctx {cfg['n_ctx']:,})"
    if meta["kind"] == "compiled":
        names = set()
        for s in meta["spaces"]:
            width = len(s["values"]) if s["categorical"] else 1
            if len(s["dims"]) != width or any(d >= cfg["d_model"] for d in s["dims"]):
                return f"space '{_short(s['name'])}' has dimensions that do not fit its values and d_model"
            names.add(s["name"])
        if meta["output"] not in names:
            return f"the output '{_short(meta['output'])}' is none of the model's spaces"
    elif meta["kind"] == "trained" and len(meta["outputs"]) < 1:
        return "the output vocabulary is empty"
    return None


def validate(meta: Any, path: str) -> dict[str, Any]:
    """`meta` if it fits its kind's table and the relations, else a short RaspLoadError."""
    if not isinstance(meta, dict):
        raise RaspLoadError(f"{path}: the model description is {_kind(meta)}, not an object")
    table = KINDS.get(meta.get("kind"))
    if table is None:
        raise RaspLoadError(f"{path} holds a model of unknown kind {_short(meta.get('kind'))}")
    problem = record(table)(meta) or relations(meta)
    if problem:
        raise RaspLoadError(f"{path}: the model description is invalid: {problem.lstrip('.')}")
    return meta


def _joined(problem: str) -> str:
    """A nested field's problem after its parent's name: `model.d_mlp is ...`, `vocab[0] is ...`."""
    return problem if problem.startswith((".", "[")) else " " + problem


def _kind(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), "a number" if isinstance(v, (int, float)) else type(v).__name__)


def _short(v: Any, width: int = 40) -> str:
    text = repr(v) if not isinstance(v, int) or isinstance(v, bool) or abs(v) < 10**30 else f"a {len(str(abs(v)))}-digit number"
    return text if len(text) <= width else text[: width - 3] + "..."
