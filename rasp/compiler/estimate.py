"""Size and precision checks made before any weight matrix is allocated.

The size estimate comes from the blocks, their layer allocation and the
residual layout (all cheap: no matrix of d_model width exists yet), so a
program that would need gigabytes is refused with its numbers instead of
filling memory. The precision check decides whether a dtype keeps the model
exact: attention scores must stay far from the softmax margins and every
hard (step) unit of an MLP far from its threshold, given the dtype's rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import RaspCompileError
from .allocate import Allocation
from .assemble import SCALE, Weights
from .blocks import Blocks, Head
from .layout import ONE, ResidualLayout
from .limits import DEFAULT_MAX_PARAMS  # noqa: F401 - the size limit, re-exported for the compiler

# Value sets are kept per (query, key) position pair, so their inference and the
# verification grow with max_len squared: past this, compiling takes many minutes and
# gigabytes before the parameter estimate can even be made (max_len 2,000 ran over
# 120 s; 10,000 took 15 GB), so it needs --allow-large.
MAX_LEN_LIMIT = 512

DTYPES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2}
# Unit roundoff of each dtype.
EPSILON = {"float64": 2.0**-53, "float32": 2.0**-24, "float16": 2.0**-11, "bfloat16": 2.0**-8}
LARGEST = {"float64": 1.7e308, "float32": 3.4e38, "float16": 65504.0, "bfloat16": 3.4e38}


@dataclass
class SizeEstimate:
    n_layers: int
    d_model: int
    n_heads: int
    d_head: int
    mlp_hidden: list[int]
    params: int
    peak_bytes: int

    def describe(self) -> str:
        return (
            f"{self.n_layers} layers, d_model {self.d_model:,}, {self.n_heads} head(s) of width {self.d_head:,}, "
            f"MLP widths {self.mlp_hidden}, {self.params:,} parameters, "
            f"about {self.peak_bytes / 1e9:.2f} GB of memory while compiling"
        )


def _query_width(head: Head) -> int:
    spaces = {a.query or ONE for a in head.atoms} | {ONE}
    return sum(s.width for s in spaces) + 1  # + the BOS coordinate


def estimate_size(blocks: Blocks, alloc: Allocation, d_model: int, vocab_size: int, max_len: int, itemsize: int = 8) -> SizeEstimate:
    """The model's shapes and parameter count, as `assemble` will make them."""
    n_heads = max((len(h) for h in alloc.heads), default=0) or 1
    d_head = max([1] + [max(_query_width(h), h.out.width) for layer in alloc.heads for h in layer])
    hidden = [sum(m.hidden for m in layer) for layer in alloc.mlps]
    layers = sum(4 * len(heads) * d_model * d_head + 2 * d_model * units + units + d_model
                 for heads, units in zip(alloc.heads, hidden))
    params = layers + (vocab_size + 1 + max_len + 1) * d_model + d_model * blocks.output.width
    # numpy float64 weights, their torch copy and the module, plus one d_model x d_model score form
    peak = params * (2 * 8 + itemsize) + 2 * 8 * d_model * d_model
    return SizeEstimate(alloc.n_layers, d_model, n_heads, d_head, hidden, int(params), int(peak))


def check_size(estimate: SizeEstimate, max_params: int | None) -> None:
    if max_params is not None and estimate.params > max_params:
        raise RaspCompileError(
            f"this model would be too large: {estimate.describe()} (the limit is {max_params:,} parameters)",
            hint="compile with a smaller --max-len or --vocab, or raise the limit with --max-params N "
            "(or --allow-large) if the machine has the memory",
        )


def check_max_len(max_len: int) -> None:
    """Refuse a max_len whose value sets alone would take minutes and gigabytes, before any work."""
    if max_len > MAX_LEN_LIMIT:
        pairs = max_len * max_len
        raise RaspCompileError(
            f"max_len {max_len:,} is over the limit of {MAX_LEN_LIMIT:,}: every selector's value sets cover "
            f"{pairs:,} query-key position pairs, and inferring them would take roughly "
            f"{pairs * 200 / 1e9:.1f} GB and many minutes before the model's size could be estimated exactly",
            hint="compile for a smaller --max-len, or pass --allow-large if the machine has the time and memory",
        )


def check_precision(weights: Weights, layout: ResidualLayout, dtype: str) -> None:
    """Refuse `dtype` where rounding would plainly break the model's decisions: a screen
    before building, not a proof; verification in the dtype is what shows exactness.

    Error model: every residual coordinate is exact up to a relative error of a
    few eps (one-hot codes and the values MLPs write are sums of few terms), and
    a dot product of k nonzero terms adds a relative error of about k * eps; so
    r = eps * (8 + 2 * k). Then an attention score, a sum of terms of total
    magnitude S, is off by at most r * S, which must stay under a quarter of the
    margin between selected and unselected keys; an MLP unit's input, of magnitude
    A, is off by at most r * A, which must stay under 1/8 (step units switch over a
    distance of 1); and each numerical value must stay closer to its true value than
    a quarter of the gap to its neighbours. S and A are bounded from the spaces a
    layer can read (`ResidualLayout.largest`: one coordinate per one-hot space, a
    number's largest value) and from BOS's exact residual.
    """
    if dtype == "float64":
        return
    eps = EPSILON[dtype]
    depth = 2 * len(weights.W_in) + 1
    problems: list[str] = []
    for space in layout.spaces:
        if not space.categorical and len(space.values) > 1:
            vals = np.array(sorted(float(v) for v in space.values))
            gap, top = float(np.diff(vals).min()), float(np.abs(vals).max())
            if top * eps * 4 * depth > gap / 4:
                problems.append(f"'{space.name}' holds values {gap:.3g} apart up to {top:.3g}")
    for layer, (wq, wk, bos) in enumerate(zip(weights.W_Q, weights.W_K, weights.bos_attn)):
        sublayer = 2 * layer + 1
        for h in range(wq.shape[0]):
            w = wq[h] @ wk[h].T  # score = x_query @ w @ x_key
            key = layout.largest(w.T, sublayer, bos)  # per query coordinate, over every key
            size = float(layout.largest(key, sublayer, bos))
            terms = layout.terms(w.T, sublayer) + layout.terms(w, sublayer) + 2
            if size > LARGEST[dtype] / 8 or size * eps * (8 + 2 * terms) > SCALE / 8:
                problems.append(f"attention scores up to {size:.3g} against a margin of {SCALE / 2:g}")
    for layer, (w_in, b_in, bos) in enumerate(zip(weights.W_in, weights.b_in, weights.bos_mlp)):
        if not w_in.shape[1]:
            continue
        sublayer = 2 * layer + 2
        units = layout.largest(w_in, sublayer, bos) + np.abs(b_in)
        size = float(units.max())
        terms = layout.terms(w_in, sublayer) + 2
        if size > LARGEST[dtype] / 8 or size * eps * (8 + 2 * terms) > 1 / 8:
            problems.append(f"MLP units with inputs up to {size:.3g} that switch over a distance of 1")
    if problems:
        raise RaspCompileError(
            f"{dtype} cannot be shown to keep this model exact: " + "; ".join(dict.fromkeys(problems[:3])),
            hint=f"use a wider dtype ({' or '.join(d for d in DTYPES if DTYPES[d] > DTYPES[dtype]) or 'none is wider'}), "
            "or a smaller --max-len",
        )
