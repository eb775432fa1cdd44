"""The compile pipeline and `CompiledModel`, the user-facing result."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RaspCompileError, RaspLoadError
from ..ir.evaluate import Input, check_no_nul, tokenize
from ..ir.graph import build_graph, topological_exprs
from ..ir.sops import RASPExpr, SOp
from .allocate import Allocation, allocate_layers, free_points
from .assemble import assemble
from .blocks import Blocks, lower
from .continuous import TOLERANCE
from .encoding import encode_ids, encode_padded, padded_batches, run_with_cache
from .estimate import (
    DEFAULT_MAX_PARAMS,
    DTYPES,
    WorkEstimate,
    check_fits_memory,
    check_max_len,
    check_precision,
    check_size,
    check_value_set_memory,
    estimate_size,
)
from .layout import BOS, ONE, Space, assign_layout, reused_dims
from .mlps import cleaning_mlp
from .valueset import infer_value_sets
from .vocab import OpenVocab, with_unk


@dataclass
class Stages:
    """Every stage's output, kept for summaries and debugging (absent on loaded models)."""

    blocks: Blocks
    allocation: Allocation
    seconds: float


try:  # torch is an optional extra; without it only the planner (`plan_layers`) is usable
    from torch.nn import Module as _TorchModule
except ImportError:  # pragma: no cover - exercised only without the torch extra
    _TorchModule = object  # type: ignore[assignment,misc]


class CompiledModel(_TorchModule):
    """A compiled program: a `torch.nn.Module` (`parameters()`, `eval()`, `state_dict()`,
    `to(device)`, calling it on token ids) wrapping the plain `Transformer` in `.module`,
    with the residual layout that decodes its activations back into the program's s-ops."""

    def __init__(
        self,
        module: Any,  # rasp.compiler.model.Transformer
        spaces: dict[str, Space],  # by name, every space of the residual stream
        dims: dict[str, np.ndarray],  # by name, the residual dimensions of each space
        output: Space,
        vocab: list[Any],
        max_len: int,
        causal: bool = False,
        program: SOp | None = None,  # what the weights compute (with --no-pos: positions from the mask)
        stages: Stages | None = None,
        labels: list[str] | None = None,
        # by name, for spaces whose dimensions are reused: the last sublayer after which they still hold their value
        alive_until: dict[str, int] | None = None,
        # which head or MLP computes which s-op, per layer (see `components`); saved with the model
        components: list[dict[str, Any]] | None = None,
        # the user's program, which verification runs (on each prefix for a causal model); None: `program`
        reference: SOp | None = None,
        # the registered tokenizer (rasp.text) that splits a text input, saved with the model;
        # None: a string is one token per character, as for the interpreter
        tokenizer: str | None = None,
        # a bound on |output - the interpreter's output| where the output is a continuous number
        # (fitted pieces, see `continuous.py`); 0 for an exact model
        error_bound: float = 0.0,
        # the unknown token of an open vocabulary (see `vocab.py`): unseen tokens map onto it or a shape
        unk: str | None = None,
        # thresholds where a fitted map jumps (`x + p if x > 0 else x - p`): exact there and from
        # pieces.JUMP_MARGIN away; [{"sop", "input", "at"}]
        jumps: list[dict[str, Any]] | None = None,
    ):
        super().__init__()
        self.module = module
        self.spaces = spaces
        self.dims = dims
        self.output = output
        self.vocab = vocab
        self.max_len = max_len
        self.causal = causal
        self.program = program
        self.stages = stages
        self.labels = labels if labels is not None else []
        self.alive_until = alive_until if alive_until is not None else {}
        self.components = components if components is not None else []
        self.reference = reference
        self.tokenizer = tokenizer
        self.error_bound = error_bound
        self.unk = unk
        self.jumps = jumps if jumps is not None else []
        self._open: OpenVocab | None = None

    def map_tokens(self, raw: Input) -> list[Any]:
        """The tokens the model reads for `raw`: unseen tokens mapped (with `unk`), others as they are."""
        tokens = tokenize(self.tokens(raw))
        if self.unk is None:
            return tokens
        if self._open is None:
            self._open = OpenVocab(self.vocab, self.unk)
        return self._open.map_all(tokens)

    # -- running -----------------------------------------------------------------------------

    @property
    def device(self):
        return next(self.module.parameters()).device

    def tokens(self, raw: Input) -> Input:
        """The tokens of an input: a text split by the model's tokenizer, when it has one."""
        if self.tokenizer is not None and isinstance(raw, str):
            from ..text import tokenize

            return tokenize(raw, self.tokenizer)
        return raw

    def encode(self, inputs: Iterable[Input]) -> Any:
        """Token ids (batch, 1 + length) with BOS first, for inputs of one length."""
        return encode_ids(self.vocab, self.max_len, [self.map_tokens(raw) for raw in inputs], self.device)

    def forward(self, ids: Any) -> Any:
        """Raw output (batch, 1 + length, output width) for token ids from `encode`."""
        return self.module(ids)

    def run(self, raw: Input) -> list[Any]:
        """Decoded outputs for one input, BOS stripped: equal to the interpreter's."""
        return self.run_batch([raw])[0]

    def run_batch(self, inputs: Iterable[Input], batch_size: int = 4096) -> list[list[Any]]:
        """Decoded outputs for many inputs; inputs of different lengths share padded batches
        (`padded_batches`), padding masked out of attention."""
        import torch

        inputs = [self.map_tokens(raw) for raw in inputs]
        results: list[list[Any]] = [[] for _ in inputs]
        with torch.no_grad():
            for idx in padded_batches(inputs, batch_size):
                ids, mask = encode_padded(self.vocab, self.max_len, [inputs[i] for i in idx], self.device)
                same_length = bool(mask.all())
                out = self.module(ids, key_mask=None if same_length else mask)[:, 1:]
                decoded = self.output.decode(out.double().cpu().numpy().reshape(-1, self.output.width))
                n = out.shape[1]
                lengths = mask[:, 1:].sum(dim=1).tolist()
                for j, i in enumerate(idx):
                    results[i] = decoded[j * n : j * n + lengths[j]]
        return results

    def run_with_cache(self, raw: Input) -> dict[str, Any]:
        """Activations by TransformerLens hook name (`blocks.0.hook_resid_pre`, the embedding;
        `blocks.{i}.attn.hook_q/k/v/z/pattern`, `blocks.{i}.hook_attn_out`, `blocks.{i}.hook_resid_mid`,
        `blocks.{i}.mlp.hook_pre/post`, `blocks.{i}.hook_mlp_out`, `blocks.{i}.hook_resid_post`;
        see `model.Transformer.forward`) and the raw `output`."""
        return run_with_cache(self.module, self.encode([raw]))

    def read(self, cache: dict[str, Any], name: str, snapshot: str | None = None) -> list[Any]:
        """Decode s-op `name` from a cache (by default, the final residual), BOS stripped."""
        if name not in self.spaces:
            known = ", ".join(sorted(self.spaces))
            raise RaspCompileError(f"no s-op named '{name}' lives in the residual stream (it has: {known})")
        if snapshot is None and name in self.alive_until:
            snapshot = _snapshot(self.alive_until[name])
        key = snapshot or _snapshot(2 * self.module.cfg.n_layers)
        resid = cache[key][0, 1:].double().cpu().numpy()
        return self.spaces[name].decode(resid[:, self.dims[name]])

    # -- reporting -----------------------------------------------------------------------------

    def trace(self, raw: Input) -> Any:
        """The run on `raw`, layer by layer, checked against the interpreter
        (`rasp.view.trace.Trace`; in a notebook it displays as the viewer)."""
        from ..view.trace import trace

        return trace(self, raw)

    def __repr__(self) -> str:
        cfg = self.module.cfg
        params = sum(p.numel() for p in self.module.parameters())
        vocab = ", ".join(map(repr, self.vocab[:6])) + (", ..." if len(self.vocab) > 6 else "")
        return (
            f"<CompiledModel {self.output.name}: {cfg.n_layers} {'layer' if cfg.n_layers == 1 else 'layers'}, "
            f"d_model {cfg.d_model}, {params:,} parameters, vocab [{vocab}] ({len(self.vocab)} tokens), "
            f"max_len {self.max_len}{', causal' if self.causal else ''}>"
        )

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(
            f"<tr><td>{escape(name)}</td><td>{escape(where)}</td><td>{escape(kind)}</td></tr>"
            for name, where, kind in self.placement()
        )
        return (
            f"<p>{escape(repr(self))}</p><table><tr><th>s-op</th><th>computed in</th>"
            f"<th>encoding</th></tr>{rows}</table>"
        )

    def summary(self) -> dict[str, Any]:
        cfg = self.module.cfg
        heads = [int((blk.attn.W_O.abs().sum(dim=(1, 2)) > 0).sum()) for blk in self.module.blocks]
        hidden = [int((blk.mlp.W_out.abs().sum(dim=1) > 0).sum()) for blk in self.module.blocks]
        return {
            "layers": cfg.n_layers,
            "heads": heads,
            "d_model": cfg.d_model,
            "mlp_hidden": hidden,
            "params": sum(p.numel() for p in self.module.parameters()),
            "error_bound": self.error_bound,
            "jumps": self.jumps,
        }

    def placement(self) -> list[tuple[str, str, str]]:
        """(s-op, where it is computed, encoding) for every space, in stream order. Read from
        `components`, which saved models keep, so a loaded model reports what a fresh one does."""
        where = {name: "embedding" for name in self.spaces}
        for c in self.components:
            if not c.get("cleanup") and c.get("space") in where:
                where[c["space"]] = f"layer {c['layer']} {'attn' if c['kind'] == 'attention' else 'mlp'}"
        rows = []
        for name, space in self.spaces.items():
            kind = f"categorical ({space.width})" if space.categorical else "numerical"
            rows.append((name, where[name], kind))
        return rows

    # -- saving ------------------------------------------------------------------------------------

    def save(self, path: str | Path, force: bool = False) -> Path:
        """One .safetensors file: the weights, with the config and residual layout in its
        header and a hash over both (see `checkpoint.py`). Refuses to replace an existing
        file unless `force`."""
        from .checkpoint import save_checkpoint

        meta = {
            "kind": "compiled",
            "model": self.module.cfg.to_dict(),
            "vocab": self.vocab,
            "max_len": self.max_len,
            "causal": self.causal,
            "dtype": str(next(self.module.parameters()).dtype).removeprefix("torch."),
            "output": self.output.name,
            "spaces": [
                {"name": n, "values": list(s.values), "categorical": s.categorical, "dims": self.dims[n].tolist()}
                for n, s in self.spaces.items()
            ],
            "labels": self.labels,
            "alive_until": self.alive_until,
            "components": self.components,
            "error_bound": self.error_bound,
            "unk": self.unk,
            "jumps": self.jumps,
            "shapes": OpenVocab(self.vocab, self.unk).shape_tokens() if self.unk is not None else [],
            "continuous": [n for n, s in self.spaces.items() if s.continuous],
        }
        if self.tokenizer is not None:
            meta["tokenizer"] = self.tokenizer
        return save_checkpoint(path, self.module.state_dict(), meta, force=force)

    def to_transformer_lens(self) -> Any:
        from .lens import to_transformer_lens

        return to_transformer_lens(self)


def _snapshot(sublayer: int) -> str:
    """The `run_with_cache` key of the residual right after `sublayer`."""
    if sublayer == 0:
        return "blocks.0.hook_resid_pre"
    layer = (sublayer - 1) // 2
    return f"blocks.{layer}.hook_resid_{'mid' if sublayer % 2 else 'post'}"


def load_model(path: str | Path) -> CompiledModel:
    """A model saved by `CompiledModel.save`, checked against its hash."""
    from .checkpoint import load_checkpoint

    tensors, meta = load_checkpoint(path)
    if meta.get("kind") != "compiled":
        raise RaspLoadError(f"{path} holds a {meta.get('kind', 'unknown')} model, not a compiled one")
    return model_from_checkpoint(path, tensors, meta)


def model_from_checkpoint(path: str | Path, tensors: dict[str, Any], meta: dict[str, Any]) -> CompiledModel:
    """The `CompiledModel` of a checked checkpoint's tensors and metadata."""
    from .model import ModelConfig, module_from_state

    try:
        import torch

        module = module_from_state(ModelConfig(**meta["model"]), tensors, getattr(torch, meta.get("dtype", "float64")))
        continuous = set(meta.get("continuous", []))
        spaces = {s["name"]: Space(s["name"], tuple(s["values"]), s["categorical"], continuous=s["name"] in continuous)
                  for s in meta["spaces"]}
        dims = {s["name"]: np.array(s["dims"], dtype=np.int64) for s in meta["spaces"]}
        return CompiledModel(
            module, spaces, dims, spaces[meta["output"]], meta["vocab"], meta["max_len"],
            meta["causal"], labels=meta.get("labels", []), alive_until=meta.get("alive_until", {}),
            components=meta.get("components", []), tokenizer=meta.get("tokenizer"),
            error_bound=float(meta.get("error_bound", 0.0)), unk=meta.get("unk"), jumps=meta.get("jumps", []),
        ).eval()
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise RaspLoadError(f"{path}: the model description does not fit its weights ({e})") from None


def require_sop(expr: Any) -> SOp:
    """`expr`, the s-op a model is to compute; a selector is no model's output."""
    if isinstance(expr, SOp):
        return expr
    name = getattr(expr, "name", "it")
    raise RaspCompileError(
        f"'{name}' is a selector, not an s-op: a model computes an s-op",
        pos=getattr(expr, "pos", None),
        hint=f"name an s-op that uses it, such as aggregate({name}, tokens)",
    )


def plan_layers(
    sop: SOp, vocab: Iterable[Any], max_len: int, causal: bool = False,
    phase: Callable[[str], None] = lambda name: None, max_params: int | None = DEFAULT_MAX_PARAMS,
    tolerance: float = TOLERANCE,
) -> tuple[Blocks, Allocation]:
    """The compiler's heads and MLPs and the layer each goes in (no torch needed). Each stage's
    memory and time are estimated before it runs (`estimate.WorkEstimate`); what cannot fit
    is refused, and so is what would take hours unless `max_params` is None (allowed large)."""
    require_sop(sop)
    if max_len < 1:
        raise RaspCompileError("max_len must be at least 1")
    check_value_set_memory(max_len)
    order = topological_exprs(build_graph(sop))
    phase("value sets")
    work = WorkEstimate(max_len, causal, len(vocab), max_params, phase=phase)
    value_sets = infer_value_sets(order, vocab, max_len, causal, before=work.before)
    phase("blocks" + work.before_lowering(sop, order, value_sets))
    blocks = lower(sop, value_sets, causal, tolerance)
    phase("layout")
    return blocks, allocate_layers(blocks)


def heads_per_layer(sop: SOp, vocab: Iterable[Any], max_len: int, causal: bool = False) -> list[int]:
    """How many attention heads the compiled model has in each layer."""
    check_max_len(max_len)
    return [len(heads) for heads in plan_layers(sop, _vocab(vocab), max_len, causal)[1].heads]


def compile_program(
    program: Any,
    vocab: Iterable[Any],
    max_len: int,
    causal: bool = False,
    output: str | None = None,
    device: str | None = None,
    reuse: bool = True,
    no_pos: bool = False,
    dtype: str = "float64",
    max_params: int | None = DEFAULT_MAX_PARAMS,
    on_phase: Callable[[str], None] | None = None,
    tokenizer: str | None = None,
    tolerance: float = TOLERANCE,
    unk: str | None = None,
) -> CompiledModel:
    """Compile an s-op (or a `rasp.Program`'s output) into an exact torch transformer.

    The model adds its own BOS at position 0; `run` strips it. Weights are in
    `dtype` (float64 by default; float32, float16 and bfloat16 only where the
    precision check shows they stay exact). With `reuse`, an s-op's residual
    dimensions go to a later s-op once nothing reads it any more: the MLP after
    its last read zeroes it first (narrower d_model, a few more MLP units). With
    `no_pos` (needs `causal`) positions come from the causal mask and the position
    embedding is zero (see `nopos.py`). Models estimated above `max_params`
    parameters are refused before any weight is allocated (None: no limit).
    `on_phase` is told each stage's name. `tokenizer` names the registered tokenizer
    (rasp.text) that splits the model's text inputs; the model file records it.
    Functions of continuous numbers (means of
    real numbers that cannot be enumerated) are fitted within `tolerance` (times
    max(1, |value|)); the model's `error_bound` says how far its output may then be
    from the interpreter's. With `unk`, the vocabulary is open: tokens outside it map to
    `unk` (added to the vocabulary if missing) or to a shape around it (see `vocab.py`).
    """
    import networkx as nx

    from ..deep import call_deep

    sop = require_sop(program if isinstance(program, RASPExpr) else program.sop(output))
    depth = nx.dag_longest_path_length(build_graph(sop))  # the compiler's walks recurse this deep
    return call_deep(lambda: _compile(sop, vocab, max_len, causal, device, reuse, no_pos, dtype, max_params, on_phase,
                                      tokenizer, tolerance, unk), depth, "compile")


def _compile(
    sop: SOp, vocab: Iterable[Any], max_len: int, causal: bool, device: str | None, reuse: bool, no_pos: bool,
    dtype: str, max_params: int | None, on_phase: Callable[[str], None] | None, tokenizer: str | None,
    tolerance: float, unk: str | None,
) -> CompiledModel:
    import torch

    from .model import ModelConfig, Transformer

    start = time.perf_counter()
    phase = on_phase or (lambda name: None)
    if dtype not in DTYPES:
        raise RaspCompileError(f"unknown dtype '{dtype}'; choose one of {', '.join(DTYPES)}")
    if tokenizer is not None:
        from ..text import get_tokenizer

        get_tokenizer(tokenizer)  # an unknown name fails before any work
    reference = sop
    if no_pos:
        from .nopos import without_positions

        sop = without_positions(sop, causal)
    vocab = with_unk(_vocab(vocab), unk)
    if max_params is not None:
        check_max_len(max_len)
    blocks, allocation = plan_layers(sop, vocab, max_len, causal, phase, max_params, tolerance)
    spaces = list(dict.fromkeys([*blocks.tokens, *blocks.positions, *allocation.written]))
    written = {ONE: 0, BOS: 0, **allocation.written}
    freed = free_points(allocation, keep={ONE, BOS, blocks.output}) if reuse else {}
    layout = assign_layout([ONE, BOS, *spaces], written, freed)
    alive_until = {}
    for space, coords in reused_dims(layout, written, freed).items():
        cleanup = cleaning_mlp(space, coords)
        allocation.mlps[freed[space] // 2 - 1].append(cleanup)
        allocation.cleanups.append(cleanup)
        alive_until[space] = freed[space] - 1
    estimate = estimate_size(blocks, allocation, layout.d_model, len(vocab), max_len, DTYPES[dtype])
    check_size(estimate, max_params)
    check_fits_memory(estimate)
    phase("assembly")
    weights = assemble(blocks, allocation, layout, vocab, max_len)
    check_precision(weights, layout, dtype)
    cfg = ModelConfig(
        n_layers=allocation.n_layers,
        d_model=layout.d_model,
        n_heads=max([1, *(w.shape[0] for w in weights.W_Q)]),
        d_head=weights.W_Q[0].shape[2] if weights.W_Q else 1,
        d_mlp=max([1, *(w.shape[1] for w in weights.W_in)]),
        layer_heads=[w.shape[0] for w in weights.W_Q],
        layer_mlps=[w.shape[1] for w in weights.W_in],
        d_vocab=len(vocab) + 1,
        n_ctx=max_len + 1,
        d_out=blocks.output.width,
        causal=causal,
    )
    module = Transformer(cfg).to(getattr(torch, dtype))
    state = {"W_E": weights.W_E, "W_pos": weights.W_pos, "W_U": weights.W_U}
    for i in range(cfg.n_layers):
        for name in ("W_Q", "W_K", "W_V", "W_O"):
            state[f"blocks.{i}.attn.{name}"] = getattr(weights, name)[i]
        state[f"blocks.{i}.mlp.W_in"] = weights.W_in[i]
        state[f"blocks.{i}.mlp.b_in"] = weights.b_in[i]
        state[f"blocks.{i}.mlp.W_out"] = weights.W_out[i]
        state[f"blocks.{i}.mlp.b_out"] = np.zeros(cfg.d_model)
    module.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in state.items()})
    del weights, state
    if device:
        module.to(device)
    names = _unique_names(layout.spaces)
    model = CompiledModel(
        module,
        spaces={names[s]: s for s in layout.spaces},
        dims={names[s]: layout.dims[s] for s in layout.spaces},
        output=blocks.output,
        vocab=vocab,
        max_len=max_len,
        causal=causal,
        program=sop,
        reference=reference,
        labels=layout.labels(),
        alive_until={names[s]: sub for s, sub in alive_until.items()},
        components=components(allocation, names),
        tokenizer=tokenizer,
        error_bound=blocks.output.error,
        unk=unk,
        jumps=blocks.jumps,
    )
    model.stages = Stages(blocks, allocation, time.perf_counter() - start)
    return model.eval()


_OPS = {"Aggregate": "aggregate", "SelectorWidth": "selector_width", "Length": "length"}


def components(allocation: Allocation, names: dict[Space, str]) -> list[dict[str, Any]]:
    """One record per head and MLP: its layer (from 1), kind, head index, the s-op it computes
    (`sop`), the residual space it writes (`space`), its operation (`op`), its selector, its source line, and whether
    it only zeroes a dead space (`cleanup`). Kept in saved models so viewers can name heads."""
    rows = []
    for layer, (heads, mlps) in enumerate(zip(allocation.heads, allocation.mlps), start=1):
        blocks = [("attention", h, b) for h, b in enumerate(heads)] + [("mlp", None, b) for b in mlps]
        for kind, head, block in blocks:
            expr, pos = block.expr, getattr(block.expr, "pos", None)
            selector = getattr(expr, "selector", None)
            rows.append({
                "layer": layer, "kind": kind, "head": head,
                "sop": expr.name if expr is not None else names[block.out],
                "space": names[block.out],
                "op": _OPS.get(type(expr).__name__, "map"),
                "selector": selector.name if selector is not None and kind == "attention" else None,
                "file": pos.file if pos else None, "line": pos.line if pos else None,
                "cleanup": any(block is c for c in allocation.cleanups),
            })
    return rows


def split_vocab(text: str) -> list[str]:
    """The vocabulary convention of the API and the CLI: `a,b,c` is three tokens; text
    without commas is one token per character. A backslash makes the next character plain
    text: `a\\,b,c` is the two tokens `a,b` and `c`, `\\\\` is a backslash (with a
    backslash the text is always comma-separated)."""
    if "\\" not in text:
        return text.split(",") if "," in text else list(text)
    tokens, current, chars = [], [], iter(text)
    for ch in chars:
        if ch == "\\":
            current.append(next(chars, "\\"))  # a trailing backslash stands for itself
        elif ch == ",":
            tokens.append("".join(current))
            current = []
        else:
            current.append(ch)
    tokens.append("".join(current))
    return tokens


def _vocab(vocab: Iterable[Any]) -> list[Any]:
    items = split_vocab(vocab) if isinstance(vocab, str) else list(vocab)
    items = list(dict.fromkeys(items))
    if not items:
        raise RaspCompileError("the vocabulary is empty")
    check_no_nul(items, "vocabulary token", RaspCompileError)
    return items


def _unique_names(spaces: list[Space]) -> dict[Space, str]:
    names: dict[Space, str] = {}
    taken: set[str] = set()
    for s in spaces:
        name = s.name if s.categorical or s.expr is None else s.name
        if name in taken:
            name = f"{name}#{'cat' if s.categorical else 'num'}"
        while name in taken:
            name += "'"
        taken.add(name)
        names[s] = name
    return names
