"""Heatmaps of probe scores and interchange accuracies (s-op x site), as PNG files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

SHORT = {"hook_resid_pre": "pre", "hook_resid_mid": "mid", "hook_resid_post": "post", "hook_mlp_out": "mlp",
         "hook_attn_out": "attn", "attn.hook_z": "head"}


def short_site(site: str) -> str:
    """`blocks.1.hook_resid_mid` -> `L1 mid`, `blocks.0.attn.hook_z[2]` -> `L0 head 2`,
    `blocks.0.hook_resid_pre[tokens]` -> `embed [tokens]`."""
    hook, _, part = site.partition("[")
    part = part[:-1] if part.endswith("]") else part
    rest = ""
    if hook == "blocks.0.hook_resid_pre":
        short = "embed"
    elif hook.startswith("blocks.") and hook.count(".") >= 2:
        _, layer, rest = hook.split(".", 2)
        short = f"L{layer} {SHORT.get(rest, rest)}"
    else:
        short = hook
    if not part:
        return short
    return f"{short} {part}" if rest == "attn.hook_z" else f"{short} [{part}]"


def iia_matrix(results: Sequence, names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """IIA (s-op x site) from `align`'s results; DAS subspaces of any rank share a column
    per residual site, the compiled sites (one per s-op) are left out."""
    import re

    column = {r.site: re.sub(r"\[das \d+\]", "[das]", r.site) for r in results}
    sites = list(dict.fromkeys(column[r.site] for r in results if r.kind != "compiled"))
    cell = {(r.sop, column[r.site]): r.iia for r in results}
    return np.array([[cell.get((n, s), np.nan) for s in sites] for n in names]), sites


def heatmap(scores: np.ndarray, rows: Sequence[str], cols: Sequence[str], path: str | Path, title: str,
            label: str, force: bool = False) -> Path:
    """One coloured cell per (row, column), 0 to 1, each cell written in."""
    from matplotlib.figure import Figure

    from ..train.plot import _save

    fig = Figure(figsize=(1.2 + 0.75 * len(cols), 1.2 + 0.42 * len(rows)), layout="tight")
    ax = fig.add_subplot()
    image = ax.imshow(scores, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), [short_site(c) for c in cols], rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), [r if len(r) <= 28 else r[:25] + "..." for r in rows])
    for i in range(len(rows)):
        for j in range(len(cols)):
            v = scores[i, j]
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="black" if v > 0.6 else "white")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, label=label, shrink=0.8)
    return _save(fig, path, force)
