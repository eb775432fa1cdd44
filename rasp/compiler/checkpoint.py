"""One self-describing model file: safetensors, with the model's description in its header.

The header's metadata holds `rasp.format` (a version), `rasp.meta` (JSON: the kind of
model, its config, vocabulary, residual layout, ...) and `rasp.sha256`, a hash over the
metadata and every tensor's name, dtype, shape and bytes. A file whose parts do not match
(weights edited, metadata edited, truncated) is refused; nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from ..errors import RaspLoadError
from ..files import check_output, note_input, write_atomic
from ..memory import check_fits
from .schema import validate

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
    """(tensors, meta) from a file written by `save_checkpoint`. Checked in order, each before
    anything larger is read or allocated: the file's size, its safetensors header (the
    library reads the 8-byte length and the header alone), the format, the metadata against
    the schema (`schema.py`), the declared shapes against the tensors in the file and the
    memory they need; then the tensors are read and the hash compared."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    try:
        if not path.is_file():
            raise RaspLoadError(f"cannot load a model from {path}: no such file")
        if path.stat().st_size > MAX_MODEL_BYTES:
            raise RaspLoadError(f"{path} is larger than {MAX_MODEL_BYTES >> 30} GiB; not a rasp model")
        note_input(path)
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
            meta = _read_meta(path, header)
            shapes = {name: (f.get_slice(name).get_dtype(), tuple(f.get_slice(name).get_shape())) for name in f.keys()}
            check_shapes(path, meta, shapes)
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except OSError as e:
        raise RaspLoadError(f"cannot load a model from {path}: {e.strerror or e}") from None
    except (SafetensorError, ValueError, UnicodeDecodeError, OverflowError) as e:
        raise RaspLoadError(f"{path} is not a rasp model file (not valid safetensors: {_first_line(e)})") from None
    if _digest(header.get("rasp.meta", ""), tensors) != header.get("rasp.sha256"):
        raise RaspLoadError(f"{path} has been modified or corrupted: its weights and metadata do not match its hash")
    return tensors, meta


def _read_meta(path: Path, header: dict[str, str]) -> dict[str, Any]:
    if header.get("rasp.format") != FORMAT:
        found = str(header.get("rasp.format", "none"))[:40]
        raise RaspLoadError(f"{path} is not a rasp model of format {FORMAT} (found format: {found})")
    try:
        meta = json.loads(header.get("rasp.meta", ""))
    except (ValueError, RecursionError):  # not JSON, numbers past Python's digit limit, nesting
        raise RaspLoadError(f"{path}: the model description is not valid JSON") from None
    return validate(meta, str(path))


# safetensors' dtype names, and their sizes in bytes
ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}


def check_shapes(path: Path, meta: dict[str, Any], shapes: dict[str, tuple[str, tuple[int, ...]]]) -> None:
    """The tensors the description implies (names and shapes, built on torch's meta device:
    nothing allocated) must be exactly those in the file, in one float dtype, and fit in memory."""
    from .model import ModelConfig, state_shapes

    cfg = meta["model"]
    layers = {name.split(".")[1] for name in shapes if name.startswith("blocks.")}
    if len(layers) != cfg["n_layers"]:
        raise RaspLoadError(f"{path}: the description declares {cfg['n_layers']:,} layers; "
                            f"the file holds weights for {len(layers):,}")
    dtypes = {dtype for dtype, _ in shapes.values()}
    if len(dtypes) > 1 or not dtypes <= set(ITEMSIZE):
        raise RaspLoadError(f"{path}: the weights must share one float dtype (found {', '.join(sorted(dtypes))})")
    expected = state_shapes(ModelConfig(**cfg))
    problems = [f"{name} is missing" for name in expected if name not in shapes]
    problems += [f"{name} is not part of the model" for name in shapes if name not in expected]
    problems += [f"{name} is {_dims(shapes[name][1])} in the file, {_dims(shape)} by the description"
                 for name, shape in expected.items() if name in shapes and shapes[name][1] != shape]
    if problems:
        more = f" (and {len(problems) - 3:,} more)" if len(problems) > 3 else ""
        raise RaspLoadError(f"{path}: the description does not fit the weights: {'; '.join(problems[:3])}{more}")
    total = sum(math.prod(shape) * ITEMSIZE[dtype] for dtype, shape in shapes.values())
    check_fits(2 * total, f"loading {path}", error=RaspLoadError)  # the tensors, and one copy while hashing or converting


def _dims(shape: tuple[int, ...]) -> str:
    return " x ".join(f"{n:,}" for n in shape) or "a scalar"


def _first_line(e: Exception) -> str:
    return str(e).splitlines()[0][:200] if str(e) else type(e).__name__
