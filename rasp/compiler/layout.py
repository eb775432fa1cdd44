"""Residual spaces and their layout: the one place that encodes and decodes the residual stream.

A categorical s-op owns one dimension per value (one-hot); a numerical s-op owns
one dimension holding the number. Two special spaces exist everywhere: `one`
(1 at every position) and `bos` (1 at the compiler's beginning-of-sequence
position 0 only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ir.sops import RASPExpr
from .valueset import is_number


@dataclass(eq=False)
class Space:
    """The residual subspace holding one s-op (or a compiler scratch value)."""

    name: str
    values: tuple  # categorical: one dimension per value; numerical: the values it can hold
    categorical: bool
    per_position: tuple[frozenset, ...] = ()  # values it can hold at each query position
    expr: RASPExpr | None = None
    # a continuous number: `values` are the ends of its interval, and it holds any number between
    continuous: bool = False
    error: float = 0.0  # a bound on |held value - the interpreter's value| (continuous numbers only)

    __hash__ = object.__hash__

    @property
    def width(self) -> int:
        return len(self.values) if self.categorical else 1

    @property
    def labels(self) -> list[str]:
        if self.categorical:
            return [f"{self.name}:{v!r}" for v in self.values]
        return [self.name]

    def index(self, value: Any) -> int | None:
        for i, v in enumerate(self.values):
            if v == value and isinstance(v, str) == isinstance(value, str):
                return i
        return None

    def encode(self, value: Any) -> np.ndarray:
        """The vector this space holds for `value` (zeros for a value it cannot hold)."""
        if not self.categorical:
            return np.array([float(value)])
        vec = np.zeros(self.width)
        i = self.index(value)
        if i is not None:
            vec[i] = 1.0
        return vec

    def readout(self) -> np.ndarray:
        """Weights that read the numeric value of this space linearly."""
        if not self.categorical:
            return np.ones(1)
        if not all(is_number(v) or isinstance(v, bool) for v in self.values):
            raise ValueError(f"space {self.name} holds non-numbers")
        return np.array([float(v) for v in self.values])

    def decode(self, vectors: np.ndarray) -> list[Any]:
        """Values from an array (..., width) of this space's coordinates."""
        if self.categorical:
            return [self.values[i] for i in np.asarray(vectors).argmax(axis=-1).ravel()]
        if self.continuous:
            return np.asarray(vectors, dtype=np.float64).ravel().tolist()
        grid = np.array([float(v) for v in self.values])
        flat = np.asarray(vectors, dtype=np.float64).ravel()
        nearest = np.abs(flat[:, None] - grid[None, :]).argmin(axis=1)
        return [self.values[i] for i in nearest]


ONE = Space("one", (1,), categorical=False)
BOS = Space("bos", (0, 1), categorical=False)


@dataclass
class ResidualLayout:
    """Which residual dimensions each space occupies."""

    dims: dict[Space, np.ndarray] = field(default_factory=dict)
    d_model: int = 0
    written: dict[Space, int] = field(default_factory=dict)  # sublayer writing each space (0 = embedding)
    freed: dict[Space, int] = field(default_factory=dict)  # the MLP sublayer zeroing a dead space (its last reader)

    def alive(self, sublayer: int) -> list[Space]:
        """The spaces a sublayer can read: written before it and not yet dead."""
        return [s for s in self.dims if self.written.get(s, 0) < sublayer <= self.freed.get(s, 1 << 30)]

    def largest(self, weights: np.ndarray, sublayer: int, bos: np.ndarray | None = None) -> np.ndarray:
        """For each column of `weights` (d_model, ...), the largest sum of |weight * coordinate|
        over the residual of any position but BOS when `sublayer` reads it (a one-hot space
        holds one coordinate at a time, a numerical one at most its largest value); given
        BOS's residual there, `bos`, over BOS's too."""
        w = np.abs(weights)
        total = np.zeros(w.shape[1:])
        for space in self.alive(sublayer):
            if space is BOS:
                continue  # 0 except at BOS, whose residual is known exactly
            block = w[self.dims[space]]
            total += block.max(axis=0) if space.categorical else block[0] * max(abs(float(v)) for v in space.values)
        return total if bos is None else np.maximum(total, np.abs(bos) @ w)

    def terms(self, weights: np.ndarray, sublayer: int) -> int:
        """The most nonzero products a column of `weights` adds up at `sublayer` (one per space)."""
        nonzero = np.abs(weights) > 0
        counts = sum(nonzero[self.dims[s]].any(axis=0).astype(int) for s in self.alive(sublayer))
        return int(np.max(counts, initial=0))

    @property
    def spaces(self) -> list[Space]:
        return list(self.dims)

    def labels(self) -> list[str]:
        """One label per residual dimension (a reused dimension lists every owner)."""
        names: list[list[str]] = [[] for _ in range(self.d_model)]
        for space, dims in self.dims.items():
            for d, label in zip(dims, space.labels):
                names[d].append(label)
        return [" | ".join(n) for n in names]

    def read(self, residual: Any, space: Space) -> list[list[Any]]:
        """Decode `space` from residual activations (batch, positions, d_model)."""
        arr = np.asarray(residual.detach().cpu() if hasattr(residual, "detach") else residual)
        coords = arr[..., self.dims[space]]
        batch, n = coords.shape[:2]
        flat = space.decode(coords.reshape(batch * n, -1))
        return [flat[b * n : (b + 1) * n] for b in range(batch)]


def assign_layout(spaces: list[Space], written: dict[Space, int], freed: dict[Space, int]) -> ResidualLayout:
    """Give every space its dimensions, reusing those of spaces freed before it is written.

    `written[s]` is the sublayer writing s (0 = embedding); `freed[s]` the first
    sublayer at which s's dimensions hold zeros again (absent: never freed).
    """
    layout = ResidualLayout(written=dict(written), freed=dict(freed))
    released: set[Space] = set()
    free: list[int] = []
    for space in sorted(spaces, key=lambda s: written[s]):
        for old in list(layout.dims):
            if old not in released and freed.get(old, 1 << 30) <= written[space]:
                released.add(old)
                free.extend(int(d) for d in layout.dims[old])
        free.sort()
        take, free = free[: space.width], free[space.width :]
        extra = list(range(layout.d_model, layout.d_model + space.width - len(take)))
        layout.d_model += len(extra)
        layout.dims[space] = np.array(take + extra, dtype=np.int64)
    return layout


def reused_dims(layout: ResidualLayout, written: dict[Space, int], freed: dict[Space, int]) -> dict[Space, list[int]]:
    """For each freed space, which of its coordinates a later space takes over (and so must be zeroed)."""
    owners: dict[int, list[Space]] = {}
    for space, dims in layout.dims.items():
        for d in dims:
            owners.setdefault(int(d), []).append(space)
    out: dict[Space, list[int]] = {}
    for space, dims in layout.dims.items():
        if space not in freed:
            continue
        taken = [
            i
            for i, d in enumerate(dims)
            if any(other is not space and written[other] >= freed[space] for other in owners[int(d)])
        ]
        if taken:
            out[space] = taken
    return out
