"""Pictures of a model on one input: every head's attention pattern (named after the s-op it
computes; padding heads left out) and the final residual stream with its dimensions grouped
by s-op, each with a colour bar. Uses matplotlib's object API only (no pyplot, no backend
switch), so notebooks get a `Figure` back and the rest of the process is untouched."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RaspInputError
from ..files import check_output, write_atomic
from .trace import count_layers, token_labels, trace

MAX_COLUMNS = 4
LABEL_INCHES = 0.14  # height of one 7-point tick label


def model_figure(model: Any, raw: Any) -> Any:
    """A `matplotlib.figure.Figure` of `model` run on `raw`; a notebook shows it as a PNG
    without `%matplotlib inline` (it has its own `_repr_png_`)."""
    Figure = notebook_figure_class()
    t = trace(model, raw)
    labels = token_labels(t.input)
    heads = [(layer.name.removesuffix(" attention"), h) for layer in t.layers for h in layer.attention]
    cols = min(MAX_COLUMNS, max(1, len(heads)))
    head_rows = math.ceil(len(heads) / cols)
    final = _final_residual(model, raw)
    rows, groups = residual_groups(model, t, final)
    resid_height = max(3.0, 0.3 * len(groups) + 0.01 * len(rows))
    cell = 0.25 * len(labels) + 1.2
    fig = Figure(figsize=(max(cell * cols + 1.5, 7.0), cell * head_rows + resid_height + 0.5), layout="constrained")
    grid = fig.add_gridspec(head_rows + 1, cols, height_ratios=[cell] * head_rows + [resid_height])

    head_axes, image = [], None
    for i, (where, h) in enumerate(heads):
        ax = fig.add_subplot(grid[i // cols, i % cols])
        image = ax.imshow(np.asarray(h.pattern), vmin=0, vmax=1, cmap="Blues")
        name = f"{h.sop} = {h.op}" if h.sop else "(unnamed)"
        ax.set_title(f"{where} head {h.head}\n{name}", fontsize=8)
        ax.set_xticks(range(len(labels)), labels, fontsize=7, rotation=90)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_xlabel("key", fontsize=7)
        ax.set_ylabel("query", fontsize=7)
        head_axes.append(ax)
    if image is not None:
        fig.colorbar(image, ax=head_axes, label="attention weight", shrink=0.8)

    ax = fig.add_subplot(grid[head_rows, :])
    matrix = final[:, rows].T
    bound = max(1.0, float(np.abs(matrix).max()) if matrix.size else 1.0)
    shown = ax.imshow(matrix, aspect="auto", cmap="RdBu_r", vmin=-bound, vmax=bound, interpolation="nearest")
    ax.set_title("final residual stream (dimensions grouped by s-op)", fontsize=9)
    ax.set_xticks(range(len(labels)), labels, fontsize=7, rotation=90)
    if groups:
        spacing = len(rows) * LABEL_INCHES / resid_height  # rows one label needs
        ticks = _group_ticks(groups, spacing)
        ax.set_yticks([c for c, _ in ticks], [text for _, text in ticks], fontsize=7)
        for _, start, _end in groups[1:]:
            ax.axhline(start - 0.5, color="#444", linewidth=0.6)
    else:
        ax.set_ylabel("residual dimension", fontsize=7)
    fig.colorbar(shown, ax=ax, label="activation")
    return fig


_FIGURE_CLASS: Any = None


def notebook_figure_class() -> Any:
    """A `Figure` subclass that Jupyter displays as a PNG by itself (IPython only registers a
    display for figures when a pyplot backend such as `%matplotlib inline` is active)."""
    global _FIGURE_CLASS
    if _FIGURE_CLASS is None:
        import io

        from matplotlib.figure import Figure

        class NotebookFigure(Figure):
            def _repr_png_(self) -> bytes:
                buffer = io.BytesIO()
                self.savefig(buffer, dpi=100, format="png")
                return buffer.getvalue()

        _FIGURE_CLASS = NotebookFigure
    return _FIGURE_CLASS


def show_model(model: Any, raw: Any, out: str | Path, force: bool = False) -> Path:
    """Save `model_figure` to `out` (.png, .svg, .pdf): atomically, and over an existing
    file only with `force`."""
    import io

    out = check_output(out, force)
    buffer = io.BytesIO()
    try:
        model_figure(model, raw).savefig(buffer, dpi=120, format=out.suffix.lstrip(".").lower() or "png")
    except ValueError as e:  # matplotlib names the formats it knows
        raise RaspInputError(f"cannot save a picture as {out.name}: {e}") from None
    return write_atomic(out, buffer.getvalue())


def _group_ticks(groups: list[tuple[str, int, int]], spacing: float) -> list[tuple[float, str]]:
    """One tick per group at its centre; groups too thin to hold a label share one with their
    neighbours ("a + b (2)"), so labels never overlap however wide d_model is."""
    ticks: list[tuple[float, str]] = []
    run: list[tuple[str, int, int]] = []
    for group in groups:
        run.append(group)
        start, end = run[0][1], run[-1][2]
        if end - start >= spacing or group is groups[-1]:
            names = " + ".join(_short(name) for name, _, _ in run)
            ticks.append(((start + end - 1) / 2, f"{names} ({end - start})"))
            run = []
    return ticks


def _short(name: str, limit: int = 24) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "\u2026"


def _final_residual(model: Any, raw: Any) -> np.ndarray:
    cache = model.run_with_cache(raw)
    layers = count_layers(cache)
    key = f"blocks.{layers - 1}.hook_resid_post" if layers else "blocks.0.hook_resid_pre"
    return cache[key][0].double().cpu().numpy()


def residual_groups(model: Any, t: Any, final: np.ndarray) -> tuple[list[int], list[tuple[str, int, int]]]:
    """Residual dimensions ordered so each live s-op's are adjacent: (row order, groups of
    (name, first row, end row)). Dimensions no live s-op holds go last: those still holding a
    dead s-op's value (its dimensions are only zeroed when a later s-op reuses them) as
    "NAME (stale)", the zero ones as "free"."""
    d_model = final.shape[1]
    dims = getattr(model, "dims", None)
    if not dims:
        return list(range(d_model)), []
    live = ["one", "bos", *t.layers[-1].values]
    rows: list[int] = []
    groups = []

    def add(label: str, mine: list[int]) -> None:
        if mine:
            groups.append((label, len(rows), len(rows) + len(mine)))
            rows.extend(mine)

    for name in live:
        add(name, [int(d) for d in dims[name] if int(d) not in rows])
    rest = [d for d in range(d_model) if d not in rows]
    stale = [d for d in rest if np.abs(final[:, d]).max() > 1e-9]
    holder = {int(d): name for name, ds in dims.items() if name not in live for d in ds}  # the last writer
    for name in dict.fromkeys(holder[d] for d in stale if d in holder):
        add(f"{name} (stale)", [d for d in stale if holder.get(d) == name])
    add("stale", [d for d in stale if d not in holder])
    add("free", [d for d in rest if d not in stale])
    return rows, groups
