"""The compile pipeline and `CompiledModel`, the user-facing result."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RaspCompileError, RaspLoadError
from ..ir.evaluate import Input
from ..ir.graph import build_graph, topological_exprs
from ..ir.sops import SOp
from .allocate import Allocation, allocate_layers, free_points
from .assemble import assemble
from .blocks import Blocks, lower
from .encoding import encode_ids, run_grouped, run_with_cache
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


@dataclass
class Stages:
    """Every stage's output, kept for summaries and debugging (absent on loaded models)."""

    blocks: Blocks
    allocation: Allocation
    seconds: float


@dataclass
class CompiledModel:
    module: Any  # rasp.compiler.model.Transformer
    spaces: dict[str, Space]  # by name, every space of the residual stream
    dims: dict[str, np.ndarray]  # by name, the residual dimensions of each space
    output: Space
    vocab: list[Any]
    max_len: int
    causal: bool = False
    program: SOp | None = None  # what the weights compute (with --no-pos: positions from the mask)
    stages: Stages | None = None
    labels: list[str] = field(default_factory=list)
    # by name, for spaces whose dimensions are reused: the last sublayer after which they still hold their value
    alive_until: dict[str, int] = field(default_factory=dict)
    # which head or MLP computes which s-op, per layer (see `components`); saved with the model
    components: list[dict[str, Any]] = field(default_factory=list)
    # the user's program, which verification runs (on each prefix for a causal model); None: `program`
    reference: SOp | None = None

    # -- running -----------------------------------------------------------------------------

    @property
    def device(self):
        return next(self.module.parameters()).device

    def to(self, device: Any) -> CompiledModel:
        self.module.to(device)
        return self

    def encode(self, inputs: Iterable[Input]) -> Any:
        """Token ids (batch, 1 + length) with BOS first, for inputs of one length."""
        return encode_ids(self.vocab, self.max_len, list(inputs), self.device)

    def __call__(self, ids: Any) -> Any:
        """Raw output (batch, 1 + length, output width) for token ids from `encode`."""
        return self.module(ids)

    def run(self, raw: Input) -> list[Any]:
        """Decoded outputs for one input, BOS stripped: equal to the interpreter's."""
        return self.run_batch([raw])[0]

    def run_batch(self, inputs: Iterable[Input], batch_size: int = 4096) -> list[list[Any]]:
        def decode(group: list[Input]) -> list[list[Any]]:
            out = self.module(self.encode(group))[:, 1:]
            decoded = self.output.decode(out.double().cpu().numpy().reshape(-1, self.output.width))
            n = out.shape[1]
            return [decoded[j * n : (j + 1) * n] for j in range(len(group))]

        return run_grouped(list(inputs), batch_size, decode)

    def run_with_cache(self, raw: Input) -> dict[str, Any]:
        """Activations by TransformerLens hook name (`blocks.0.hook_resid_pre`, the embedding;
        `blocks.{i}.attn.hook_pattern`, `blocks.{i}.hook_resid_mid`, `blocks.{i}.hook_resid_post`)
        and the raw `output`."""
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
        }

    def placement(self) -> list[tuple[str, str, str]]:
        """(s-op, where it is computed, encoding) for every space, in stream order."""
        rows = []
        written = self.stages.allocation.written if self.stages else {}
        for name, space in self.spaces.items():
            sub = written.get(space)
            where = "embedding" if sub is None else ("embedding" if sub == 0 else f"layer {(sub + 1) // 2} {'attn' if sub % 2 else 'mlp'}")
            kind = f"categorical ({space.width})" if space.categorical else "numerical"
            rows.append((name, where, kind))
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
        }
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
        spaces = {s["name"]: Space(s["name"], tuple(s["values"]), s["categorical"]) for s in meta["spaces"]}
        dims = {s["name"]: np.array(s["dims"], dtype=np.int64) for s in meta["spaces"]}
        return CompiledModel(
            module, spaces, dims, spaces[meta["output"]], meta["vocab"], meta["max_len"],
            meta["causal"], labels=meta.get("labels", []), alive_until=meta.get("alive_until", {}),
            components=meta.get("components", []),
        )
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise RaspLoadError(f"{path}: the model description does not fit its weights ({e})") from None


def plan_layers(
    sop: SOp, vocab: Iterable[Any], max_len: int, causal: bool = False,
    phase: Callable[[str], None] = lambda name: None, max_params: int | None = DEFAULT_MAX_PARAMS,
) -> tuple[Blocks, Allocation]:
    """The compiler's heads and MLPs and the layer each goes in (no torch needed). Each stage's
    memory and time are estimated before it runs (`estimate.WorkEstimate`); what cannot fit
    is refused, and so is what would take hours unless `max_params` is None (allowed large)."""
    if max_len < 1:
        raise RaspCompileError("max_len must be at least 1")
    check_value_set_memory(max_len)
    order = topological_exprs(build_graph(sop))
    phase("value sets")
    work = WorkEstimate(max_len, causal, len(vocab), max_params, phase=phase)
    value_sets = infer_value_sets(order, vocab, max_len, causal, before=work.before)
    phase("blocks" + work.before_lowering(sop, order, value_sets))
    blocks = lower(sop, value_sets, causal)
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
    `on_phase` is told each stage's name.
    """
    import torch

    from .model import ModelConfig, Transformer

    start = time.perf_counter()
    phase = on_phase or (lambda name: None)
    if dtype not in DTYPES:
        raise RaspCompileError(f"unknown dtype '{dtype}'; choose one of {', '.join(DTYPES)}")
    sop = program if isinstance(program, SOp) else program.sop(output)
    reference = sop
    if no_pos:
        from .nopos import without_positions

        sop = without_positions(sop, causal)
    vocab = _vocab(vocab)
    if max_params is not None:
        check_max_len(max_len)
    blocks, allocation = plan_layers(sop, vocab, max_len, causal, phase, max_params)
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
    )
    model.stages = Stages(blocks, allocation, time.perf_counter() - start)
    return model


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
    without commas is one token per character."""
    return text.split(",") if "," in text else list(text)


def _vocab(vocab: Iterable[Any]) -> list[Any]:
    items = split_vocab(vocab) if isinstance(vocab, str) else list(vocab)
    items = list(dict.fromkeys(items))
    if not items:
        raise RaspCompileError("the vocabulary is empty")
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
