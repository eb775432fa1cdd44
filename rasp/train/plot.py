"""Pictures for training: the loss curve and matched attention heads, as PNG files.

matplotlib's object API (a `Figure` rendered by its Agg canvas): no pyplot, no global
backend switch, so nothing changes for a notebook that imports this.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..files import check_output, write_atomic


def _save(fig: Any, path: str | Path, force: bool) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = check_output(path, force)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return write_atomic(path, buf.getvalue())


def loss_curve(history: list[dict[str, float]], path: str | Path, force: bool = False, title: str = "") -> Path:
    """Training loss per step (log scale) and validation accuracy where it was measured."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.5), layout="tight")
    ax = fig.add_subplot()
    import numpy as np

    steps = [h["step"] for h in history if h["step"] > 0]
    losses = np.array([h["loss"] for h in history if h["step"] > 0])
    ax.plot(steps, losses, lw=0.5, color="tab:blue", alpha=0.35)
    # The raw loss of small batches is noisy; the running mean shows the trend.
    window = max(1, min(25, len(losses) // 10))
    if len(losses) >= window > 1:
        mean = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], mean, lw=1.5, color="tab:blue")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss", color="tab:blue")
    acc = ax.twinx()
    checked = [h for h in history if "accuracy" in h]
    acc.plot([h["step"] for h in checked], [h["accuracy"] for h in checked], "o-", ms=3, color="tab:orange")
    acc.set_ylim(0, 1.02)
    acc.set_ylabel("validation accuracy", color="tab:orange")
    ax.set_title(title, fontsize=9)
    return _save(fig, path, force)


def matched_heads(matches: list[Any], compiled: Any, trained: Any, raw: list[Any], path: str | Path,
                  force: bool = False) -> Path:
    """One row per compiled head: its attention on `raw` beside the matched trained head's."""
    from matplotlib.figure import Figure

    from .compare import patterns

    ours, theirs = patterns(compiled, [raw]), patterns(trained, [raw])
    ticks = ["BOS"] + [str(t) for t in raw]
    rows = max(len(matches), 1)
    fig = Figure(figsize=(7, 3.2 * rows), layout="tight")
    axes = fig.subplots(rows, 2, squeeze=False)
    for row, m in zip(axes, matches):
        for ax, pats, at, title in (
            (row[0], ours, m.compiled_head, f"compiled: {m.compiled}"),
            (row[1], theirs, m.trained_head, f"trained layer {m.trained_head[0] + 1} head {m.trained_head[1]} "
                                             f"(similarity {m.similarity:.2f})"),
        ):
            ax.imshow(pats[at][0][0], vmin=0, vmax=1, cmap="Blues")
            ax.set_title(title, fontsize=8)
            ax.set_xticks(range(len(ticks)), ticks, fontsize=6, rotation=90)
            ax.set_yticks(range(len(ticks)), ticks, fontsize=6)
    return _save(fig, path, force)
