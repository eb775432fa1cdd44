"""`TrainedModel`: a transformer of the compiled models' family (`rasp.compiler.model`)
whose weights come from gradient descent, with `CompiledModel`'s reading API.

Its output layer scores the program's output vocabulary (the compiler's value set of
the output s-op) and decodes by argmax. A model started from compiled weights scores
sharply (`output_scale`): a categorical output's one-hot units times SHARPNESS, and a
numerical output (one unit holding a number x) as -SHARPNESS * (x - v)^2 for each value
v, so argmax is the compiled model's own decoding (accuracy exactly 1.0 at step 0) and
the loss of an exact model is near zero, not that of logits one unit apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RaspLoadError
from ..ir.evaluate import Input

SHARPNESS = 10.0


@dataclass
class TrainedModel:
    module: Any  # rasp.compiler.model.Transformer
    vocab: list[Any]
    max_len: int
    outputs: tuple  # the output vocabulary: output unit i means outputs[i]
    causal: bool = False
    no_pos: bool = False  # position embeddings held at zero
    numeric_output: bool = False  # one output unit holding a number (compiled start)
    output_scale: float = 1.0  # multiplies the logits (SHARPNESS for compiled starts)
    bos: bool = True  # False: the module sees the tokens alone (the RASP paper's "no BOS" runs)
    sop: str | None = None
    info: dict[str, Any] = field(default_factory=dict)  # how it was trained (seed, steps, ...)

    # -- running -----------------------------------------------------------------------------

    @property
    def device(self):
        return next(self.module.parameters()).device

    def to(self, device: Any) -> TrainedModel:
        self.module.to(device)
        return self

    @property
    def labels(self) -> list[str]:
        """Names of the residual dimensions (learned, so only numbered)."""
        return [f"d{i}" for i in range(self.module.cfg.d_model)]

    def encode(self, inputs: Iterable[Input]) -> Any:
        """The module's input: token ids, with BOS (id 0) first unless the model has none."""
        from ..compiler.encoding import encode_ids

        ids = encode_ids(self.vocab, self.max_len, list(inputs), self.device)
        return ids if self.bos else ids[:, 1:]

    def __call__(self, ids: Any) -> Any:
        return self.module(ids)

    def logits(self, raw_out: Any) -> Any:
        """Scores over the output vocabulary (batch, positions, len(outputs)), BOS stripped."""
        import torch

        out = raw_out[:, 1:] if self.bos else raw_out
        if self.numeric_output:
            grid = torch.tensor([float(v) for v in self.outputs], dtype=out.dtype, device=out.device)
            return -self.output_scale * (out[..., :1] - grid) ** 2
        return out * self.output_scale if self.output_scale != 1.0 else out

    def run(self, raw: Input) -> list[Any]:
        return self.run_batch([raw])[0]

    def run_batch(self, inputs: Iterable[Input], batch_size: int = 4096) -> list[list[Any]]:
        from ..compiler.encoding import run_grouped

        def decode(group: list[Input]) -> list[list[Any]]:
            best = self.logits(self.module(self.encode(group))).argmax(-1).cpu().tolist()
            return [[self.outputs[k] for k in row] for row in best]

        return run_grouped(list(inputs), batch_size, decode)

    def run_with_cache(self, raw: Input) -> dict[str, Any]:
        """Activations under the same TransformerLens hook names as `CompiledModel`'s."""
        from ..compiler.encoding import run_with_cache

        return run_with_cache(self.module, self.encode([raw]))

    def read(self, cache: dict[str, Any], name: str | None = None) -> list[Any]:
        """The decoded output from a cache; a trained model names no other s-op."""
        from ..errors import RaspCompileError

        if name not in (None, self.sop):
            raise RaspCompileError(f"a trained model holds only its output '{self.sop}', not '{name}'")
        best = self.logits(cache["output"]).argmax(-1)[0].tolist()
        return [self.outputs[k] for k in best]

    def summary(self) -> dict[str, Any]:
        cfg = self.module.cfg
        return {
            "layers": cfg.n_layers,
            "heads": [cfg.n_heads] * cfg.n_layers,
            "d_model": cfg.d_model,
            "mlp_hidden": [cfg.d_mlp] * cfg.n_layers,
            "params": sum(p.numel() for p in self.module.parameters()),
        }

    # -- saving ------------------------------------------------------------------------------

    def save(self, path: str | Path, force: bool = False) -> Path:
        from ..compiler.checkpoint import save_checkpoint

        meta = {
            "kind": "trained",
            "model": self.module.cfg.to_dict(),
            "vocab": self.vocab,
            "max_len": self.max_len,
            "outputs": list(self.outputs),
            "causal": self.causal,
            "no_pos": self.no_pos,
            "numeric_output": self.numeric_output,
            "output_scale": self.output_scale,
            "bos": self.bos,
            "sop": self.sop,
            "info": self.info,
        }
        return save_checkpoint(path, self.module.state_dict(), meta, force=force)

    def to_transformer_lens(self) -> Any:
        from ..compiler.lens import to_transformer_lens

        return to_transformer_lens(self)


def new_module(cfg: Any, seed: int) -> Any:
    """A Transformer with random weights from `seed`: token and position embeddings N(0, 1)
    (as torch's nn.Embedding), every other matrix N(0, 1/fan_in), LayerNorm gains 1, biases 0.

    The scale matters at this size. With GPT-2's N(0, 0.02) everywhere, the embeddings are
    so small that the first layer's output drowns them in the residual stream, and the
    query-key products start so close to zero that attention stays uniform for hundreds of
    steps: reverse reached 0.45 held-out accuracy after 600 steps; with this scale, 0.98
    after 200 (vocab 8, lengths up to 10, d_model 64).
    """
    import math

    import torch

    from ..compiler.model import Transformer

    module = Transformer(cfg)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            last = name.split(".")[-1]
            if last == "w":
                p.fill_(1.0)
            elif last.startswith("b"):
                p.zero_()
            elif last in ("W_E", "W_pos"):
                p.copy_(torch.randn(p.shape, generator=gen))
            else:  # W_Q, W_K, W_V (.., d_model, d_head), W_O, W_in, W_out, W_U: fan_in is shape[-2]
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[-2]))
    return module


def trained_from_checkpoint(path: str | Path, tensors: dict[str, Any], meta: dict[str, Any]) -> TrainedModel:
    """The `TrainedModel` of a checked checkpoint (see `rasp.models.load_any`)."""
    from ..compiler.model import ModelConfig, module_from_state

    try:
        module = module_from_state(ModelConfig(**meta["model"]), tensors, next(iter(tensors.values())).dtype)
        return TrainedModel(
            module, meta["vocab"], meta["max_len"], tuple(meta["outputs"]), meta["causal"],
            meta.get("no_pos", False), meta.get("numeric_output", False), meta.get("output_scale", 1.0),
            meta.get("bos", True), meta.get("sop"), meta.get("info", {}),
        )
    except (KeyError, TypeError, ValueError, RuntimeError, StopIteration) as e:
        raise RaspLoadError(f"{path}: the trained model's description does not fit its weights ({e})") from None
