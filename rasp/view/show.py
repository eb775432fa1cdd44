"""Pictures of a compiled model: attention patterns per layer and the residual stream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import RaspInputError
from ..files import check_output, write_atomic


def show_model(model: Any, raw: Any, out: str | Path, force: bool = False) -> Path:
    """Save the picture to `out` (atomically; an existing file only with `force`)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cache = model.run_with_cache(raw)
    tokens = ["BOS"] + [str(t) for t in (list(raw) if isinstance(raw, str) else raw)]
    n_layers = model.module.cfg.n_layers
    heads = [k for k in cache if k.endswith(".hook_pattern")]
    n_heads = max((int((cache[k][0].abs().sum(dim=(1, 2)) > 0).sum()) for k in heads), default=0)
    cols = max(n_heads, 1)
    fig, axes = plt.subplots(n_layers + 1, cols, figsize=(3.2 * cols + 4, 3.2 * (n_layers + 1)), squeeze=False)
    for layer in range(n_layers):
        pattern = cache[f"blocks.{layer}.attn.hook_pattern"][0].cpu().numpy()
        for h in range(cols):
            ax = axes[layer][h]
            if h < pattern.shape[0]:
                ax.imshow(pattern[h], vmin=0, vmax=1, cmap="Blues")
                ax.set_title(f"layer {layer + 1} head {h}", fontsize=8)
                ax.set_xticks(range(len(tokens)), tokens, fontsize=6, rotation=90)
                ax.set_yticks(range(len(tokens)), tokens, fontsize=6)
            else:
                ax.axis("off")
    final = f"blocks.{n_layers - 1}.hook_resid_post" if n_layers else "blocks.0.hook_resid_pre"
    resid = cache[final][0].cpu().numpy()
    ax = axes[n_layers][0]
    for a in axes[n_layers][1:]:
        a.axis("off")
    ax.imshow(np.asarray(resid).T, aspect="auto", cmap="RdBu", vmin=-1, vmax=1)
    ax.set_title("final residual stream", fontsize=8)
    ax.set_xticks(range(len(tokens)), tokens, fontsize=6, rotation=90)
    ax.set_yticks(range(len(model.labels)), model.labels, fontsize=5)
    fig.tight_layout()
    out = check_output(out, force)
    fmt = out.suffix.lstrip(".").lower() or "png"
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, dpi=120, format=fmt)
    except ValueError as e:  # matplotlib names the formats it knows
        raise RaspInputError(f"cannot save a picture as {out.name}: {e}") from None
    finally:
        plt.close(fig)
    return write_atomic(out, buffer.getvalue())
