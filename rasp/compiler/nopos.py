"""Compiling without positional embeddings (`--no-pos`): positions from the causal mask.

Under a causal mask, query position p sees keys 0..p, so the width of a select that is
always true is p + 1 at every position, whatever the tokens. The compiler already
computes `selector_width` exactly through attention to BOS, so rewriting every
`indices` as `selector_width(select(tokens, tokens, true)) - 1` leaves no s-op for the
position embedding to carry: it compiles to zeros and the model reads position from
the mask alone (one attention layer earlier than `indices`).
"""

from __future__ import annotations

from ..errors import RaspCompileError
from ..ir.graph import rewrite
from ..ir.sops import Comparison, Indices, Map, RASPExpr, Select, SelectorWidth, SOp, Tokens


def without_positions(sop: SOp, causal: bool) -> SOp:
    """`sop` with every `indices` derived from causal attention (needs `causal`)."""
    if not causal:
        raise RaspCompileError(
            "--no-pos needs --causal: without positional embeddings and without a causal mask, "
            "attention is blind to order, so a position is unknowable",
            hint="add --causal (the model then derives each position from how many keys it can see)",
        )
    everything = Select(keys=Tokens(), queries=Tokens(), predicate=Comparison.TRUE).named("all_true")
    seen = SelectorWidth(selector=everything).named("causal_width")
    indices = Map(fn=_minus_one, inner=seen, description="minus one").named("indices")

    def replace(expr: RASPExpr, rebuilt: RASPExpr) -> RASPExpr:
        return indices if isinstance(expr, Indices) else rebuilt

    return rewrite(sop, replace)  # type: ignore[return-value]


def _minus_one(width: int) -> int:
    return width - 1
