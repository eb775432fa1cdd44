"""Assembly: blocks placed in layers and residual dimensions become weight matrices.

Position 0 is the compiler's BOS. Its residual is the same on every input
(BOS only ever attends to itself), so the assembler tracks it exactly and each
head cancels whatever BOS holds in the spaces it reads: keys see BOS at a fixed
score and values see BOS as the head's default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ir.evaluate import _convert_tokens, token_array
from ..ir.sops import RASPExpr, Tokens
from .allocate import Allocation
from .blocks import Blocks, Head
from .layout import BOS, ONE, ResidualLayout
from .mlps import MLP
from .valueset import evaluate_over, map_sources

# Score of one satisfied atom. Unselected keys trail by SCALE, BOS by SCALE/2:
# their softmax weights, e^-50 and below, vanish next to float64 precision.
SCALE = 100.0


@dataclass
class Weights:
    """Every parameter as a float64 array, in TransformerLens's shapes."""

    W_E: np.ndarray
    W_pos: np.ndarray
    W_Q: list[np.ndarray]
    W_K: list[np.ndarray]
    W_V: list[np.ndarray]
    W_O: list[np.ndarray]
    W_in: list[np.ndarray]
    b_in: list[np.ndarray]
    W_out: list[np.ndarray]
    W_U: np.ndarray
    # BOS's residual where each layer's attention and MLP read it (the same on every input)
    bos_attn: list[np.ndarray] = field(default_factory=list)
    bos_mlp: list[np.ndarray] = field(default_factory=list)


def embeddings(blocks: Blocks, layout: ResidualLayout, vocab: list[Any], max_len: int) -> tuple[np.ndarray, np.ndarray]:
    d = layout.d_model
    w_e = np.zeros((len(vocab) + 1, d))
    w_e[0, layout.dims[BOS]] = 1
    w_e[:, layout.dims[ONE]] = 1
    for space in blocks.tokens:
        if space in blocks.features:  # a map of the tokens: its value for each vocabulary token
            converted = token_features(blocks.features[space], vocab)
        elif isinstance(space.expr, Tokens):
            converted = _convert_tokens(token_array([vocab]), space.expr)[0].tolist()
        else:  # a constant
            converted = [space.values[0]] * len(vocab)
        for i, value in enumerate(converted, start=1):
            if value is not None:  # None: the map raises on this token (so does the interpreter)
                w_e[i, layout.dims[space]] += space.encode(value)
    w_pos = np.zeros((max_len + 1, d))
    for space in blocks.positions:
        for p in range(max_len):  # indices, or a function of them (their squares)
            (value,) = space.per_position[p]
            w_pos[p + 1, layout.dims[space]] += space.encode(value)
    return w_e, w_pos


def token_features(expr: RASPExpr, vocab: list[Any]) -> list[Any]:
    """An element-wise map of the tokens alone, at every vocabulary token."""
    sources = map_sources(expr)
    converted = {s.id: _convert_tokens(token_array([vocab]), s)[0].tolist() for s in sources if isinstance(s, Tokens)}
    constants = {s.id: s.value for s in sources if not isinstance(s, Tokens)}
    return [evaluate_over(expr, {**constants, **{k: v[i] for k, v in converted.items()}}) for i in range(len(vocab))]


def qk_matrix(head: Head, layout: ResidualLayout, bos: np.ndarray, sublayer: int) -> np.ndarray:
    """The bilinear score form x_query @ W @ x_key of a head in `sublayer`, BOS corrections included."""
    d = layout.d_model
    w = np.zeros((d, d))
    for atom in head.atoms:
        rows = layout.dims[atom.query or ONE]
        cols = layout.dims[atom.key or ONE]
        w[np.ix_(rows, cols)] += SCALE * atom.table
    bound = float(layout.largest(bos @ w, sublayer))  # how much BOS's own content could score a real key
    b, one = layout.dims[BOS][0], layout.dims[ONE][0]
    w[:, b] -= w @ bos  # cancel what BOS's content would score ...
    n = sum(atom.count for atom in head.atoms)
    w[one, b] += SCALE * (n if head.bos_selected else n - 0.5)  # ... and score it on purpose
    w[b, b] += SCALE * (n + 2) + bound  # BOS as a query attends only to itself
    return w


def ov_matrix(head: Head, layout: ResidualLayout, bos: np.ndarray) -> np.ndarray:
    """(d_model, out width): the value each key contributes; BOS contributes bos_value."""
    w = np.zeros((layout.d_model, head.out.width))
    if head.value is not None:
        w[layout.dims[head.value]] += head.ov
    w[layout.dims[ONE][0]] += head.ov_bias
    w[layout.dims[BOS][0]] += head.bos_value - bos @ w
    return w


def assemble(blocks: Blocks, alloc: Allocation, layout: ResidualLayout, vocab: list[Any], max_len: int) -> Weights:
    d = layout.d_model
    w_e, w_pos = embeddings(blocks, layout, vocab, max_len)
    bos = w_e[0] + w_pos[0]
    layers = []
    bos_attn, bos_mlp = [], []
    for layer, (heads, mlps) in enumerate(zip(alloc.heads, alloc.mlps)):
        bos_attn.append(bos)
        qks, ovs = [], []
        for head in heads:
            qks.append(qk_matrix(head, layout, bos, 2 * layer + 1))
            ovs.append(ov_matrix(head, layout, bos))
        for head, ov in zip(heads, ovs):
            bos = bos.copy()
            bos[layout.dims[head.out]] += bos @ ov  # BOS attends to itself alone
        bos_mlp.append(bos)
        w_in, b_in, w_out = _stack_mlps(mlps, layout)
        bos = bos + np.maximum(bos @ w_in + b_in, 0) @ w_out
        layers.append((heads, qks, ovs, w_in, b_in, w_out))
    d_head = max(
        [1]
        + [len(_query_dims(q)) for _, qks, *_ in layers for q in qks]
        + [h.out.width for heads in alloc.heads for h in heads]
    )
    weights = Weights(w_e, w_pos, [], [], [], [], [], [], [], np.zeros((d, blocks.output.width)), bos_attn, bos_mlp)
    for heads, qks, ovs, w_in, b_in, w_out in layers:  # each layer sized to its own heads and units
        wq, wk, wv = (np.zeros((len(heads), d, d_head)) for _ in range(3))
        wo = np.zeros((len(heads), d_head, d))
        for h, (head, q, ov) in enumerate(zip(heads, qks, ovs)):
            rows = _query_dims(q)
            wq[h, rows, np.arange(len(rows))] = 1
            wk[h, :, : len(rows)] = q[rows].T
            wv[h, :, : head.out.width] = ov
            wo[h, np.arange(head.out.width), layout.dims[head.out]] = 1
        weights.W_Q.append(wq)
        weights.W_K.append(wk)
        weights.W_V.append(wv)
        weights.W_O.append(wo)
        weights.W_in.append(w_in)
        weights.b_in.append(b_in)
        weights.W_out.append(w_out)
    weights.W_U[layout.dims[blocks.output], np.arange(blocks.output.width)] = 1
    return weights


def _query_dims(w: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.abs(w).sum(axis=1) > 0)


def _stack_mlps(mlps: list[MLP], layout: ResidualLayout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All MLPs of one layer side by side as one hidden layer."""
    d = layout.d_model
    w_in = np.zeros((d, 0))
    b_in = np.zeros(0)
    w_out = np.zeros((0, d))
    for mlp in mlps:
        block_in = np.zeros((d, mlp.hidden))
        bias = np.zeros(mlp.hidden)
        for space, w in mlp.w_in.items():
            if space is ONE:
                bias += w[:, 0]
            else:
                block_in[layout.dims[space]] += w.T
        block_out = np.zeros((mlp.hidden, d))
        block_out[:, layout.dims[mlp.out]] = mlp.w_out
        w_in = np.hstack([w_in, block_in])
        b_in = np.concatenate([b_in, bias])
        w_out = np.vstack([w_out, block_out])
    return w_in, b_in, w_out
