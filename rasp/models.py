"""Load any saved model file, whatever made it: the file's metadata says its kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import RaspLoadError


def load_any(path: str | Path) -> Any:
    """A `CompiledModel` for a compiled model, a trained model for one made by `rasp train`."""
    from .compiler.checkpoint import load_checkpoint
    from .compiler.compiled import model_from_checkpoint

    tensors, meta = load_checkpoint(path)
    kind = meta.get("kind")
    if kind == "compiled":
        return model_from_checkpoint(path, tensors, meta)
    if kind == "trained":
        from .train.model import trained_from_checkpoint

        return trained_from_checkpoint(path, tensors, meta)
    raise RaspLoadError(f"{path} holds a model of unknown kind {kind!r}")
