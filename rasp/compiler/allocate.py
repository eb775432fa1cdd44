"""Layer allocation: place every head and MLP at the earliest sublayer its inputs allow.

Sublayers are numbered 0 (embeddings), then 2L-1 (attention of layer L) and
2L (MLP of layer L). As-soon-as-possible placement gives the minimum depth:
an MLP right after the attention that feeds it shares that attention's layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .blocks import Blocks, Head
from .layout import Space
from .mlps import MLP


@dataclass
class Allocation:
    n_layers: int
    heads: list[list[Head]]  # per layer
    mlps: list[list[MLP]]  # per layer
    written: dict[Space, int]  # sublayer writing each space (0 = embedding)
    last_read: dict[Space, int]  # last sublayer reading each space
    cleanups: list[MLP] = field(default_factory=list)  # MLPs zeroing dead spaces whose dims are reused


def allocate_layers(blocks: Blocks) -> Allocation:
    producer: dict[Space, Head | MLP] = {b.out: b for b in [*blocks.heads, *blocks.mlps]}
    written: dict[Space, int] = {s: 0 for s in [*blocks.tokens, *blocks.positions]}
    placed: dict[int, int] = {}

    def place(block: Head | MLP) -> int:
        if id(block) not in placed:
            ready = max((written_at(s) for s in block.reads), default=0)
            attention = isinstance(block, Head)
            sub = ready + 1
            if (sub % 2 == 1) != attention:
                sub += 1
            placed[id(block)] = sub
            written[block.out] = sub
        return placed[id(block)]

    def written_at(space: Space) -> int:
        if space not in written:
            place(producer[space])
        return written[space]

    for block in [*blocks.heads, *blocks.mlps]:
        place(block)
    deepest = max(placed.values(), default=0)
    n_layers = (deepest + 1) // 2
    heads: list[list[Head]] = [[] for _ in range(n_layers)]
    mlps: list[list[MLP]] = [[] for _ in range(n_layers)]
    last_read: dict[Space, int] = {}
    for block in [*blocks.heads, *blocks.mlps]:
        sub = placed[id(block)]
        (heads if isinstance(block, Head) else mlps)[(sub - 1) // 2].append(block)
        for s in block.reads:
            last_read[s] = max(last_read.get(s, 0), sub)
    return Allocation(n_layers, heads, mlps, written, last_read)


def free_points(alloc: Allocation, keep: set[Space]) -> dict[Space, int]:
    """For each dead space, the MLP sublayer that can zero it (after its last read).

    A space read last by attention is cleaned by the MLP of the same layer. The
    dimensions can then be taken by a space written at that sublayer or later:
    an MLP in the same layer adds its output as the cleaning subtracts the old
    value. Spaces in `keep` (the output, `one`, `bos`) stay alive.
    """
    freed = {}
    for space, last in alloc.last_read.items():
        if space not in keep:
            freed[space] = last + (last % 2)
    return freed
