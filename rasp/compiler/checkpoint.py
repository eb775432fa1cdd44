"""One self-describing model file: safetensors, with the model's description in its header.

The header's metadata holds `rasp.format` (a version), `rasp.meta` (JSON: the kind of
model, its config, vocabulary, residual layout, ...) and `rasp.sha256`, a hash over the
metadata and every tensor's name, dtype, shape and bytes. A file whose parts do not match
(weights edited, metadata edited, truncated) is refused; nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import RaspLoadError
from ..files import check_output, write_atomic

FORMAT = "rasp-model/1"
MAX_MODEL_BYTES = 4 << 30


def _digest(meta_json: str, tensors: dict[str, Any]) -> str:
    import torch

    h = hashlib.sha256(FORMAT.encode())
    h.update(meta_json.encode())
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"\0{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_checkpoint(path: str | Path, tensors: dict[str, Any], meta: dict[str, Any], force: bool = False) -> Path:
    """Write `tensors` (name -> torch tensor) and `meta` (JSON-able) to one .safetensors file."""
    from safetensors.torch import save

    path = check_output(path, force=force)
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    meta_json = json.dumps(meta, sort_keys=True)
    header = {"rasp.format": FORMAT, "rasp.meta": meta_json, "rasp.sha256": _digest(meta_json, tensors)}
    return write_atomic(path, save(tensors, metadata=header))


def load_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tensors, meta) from a file written by `save_checkpoint`, after checking its hash."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    try:
        if not path.is_file():
            raise RaspLoadError(f"cannot load a model from {path}: no such file")
        if path.stat().st_size > MAX_MODEL_BYTES:
            raise RaspLoadError(f"{path} is larger than {MAX_MODEL_BYTES >> 30} GiB; not a rasp model")
        data = path.read_bytes()
    except OSError as e:
        raise RaspLoadError(f"cannot load a model from {path}: {e.strerror or e}") from None
    try:
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + header_len]).get("__metadata__") or {}
        tensors = load(data)
    except (SafetensorError, ValueError, UnicodeDecodeError, AttributeError, OverflowError) as e:
        raise RaspLoadError(f"{path} is not a rasp model file (not valid safetensors: {e})") from None
    if header.get("rasp.format") != FORMAT:
        found = header.get("rasp.format", "none")
        raise RaspLoadError(f"{path} is not a rasp model of format {FORMAT} (found format: {found})")
    meta_json = header.get("rasp.meta", "")
    if _digest(meta_json, tensors) != header.get("rasp.sha256"):
        raise RaspLoadError(f"{path} has been modified or corrupted: its weights and metadata do not match its hash")
    return tensors, json.loads(meta_json)
