"""Size and precision checks made before any weight matrix is allocated.

The size estimate comes from the blocks, their layer allocation and the
residual layout (all cheap: no matrix of d_model width exists yet), so a
program that would need gigabytes is refused with its numbers instead of
filling memory. The precision check decides whether a dtype keeps the model
exact: attention scores must stay far from the softmax margins and every
hard (step) unit of an MLP far from its threshold, given the dtype's rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import RaspCompileError
from .allocate import Allocation
from .assemble import SCALE, Weights
from .blocks import Blocks, Head
from .layout import ONE, ResidualLayout

# Beyond this many parameters `compile_program` refuses unless told otherwise (about 0.4 GB of
# float64 weights, a few GB at peak while assembling).
# Weights live three times while compiling (numpy, torch, module): 150M float64 is ~3.6 GB,
# room for word-level programs with a few hundred words (translate.rasp: 49M at 95 words).
DEFAULT_MAX_PARAMS = 150_000_000
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


def check_fits_memory(estimate: SizeEstimate) -> None:
    """Refuse a model whose estimated peak while compiling exceeds the machine's free memory,
    whatever the parameter limit (--allow-large cannot make room)."""
    from ..memory import check_fits

    check_fits(estimate.peak_bytes, f"this model ({estimate.describe()})",
               hint="compile with a smaller --max-len or --vocab", error=RaspCompileError)


def check_size(estimate: SizeEstimate, max_params: int | None, at_least: bool = False) -> None:
    if max_params is not None and estimate.params > max_params:
        described = (f"d_model {estimate.d_model:,} or more, {estimate.params:,} parameters or more "
                     f"(known before building it)") if at_least else estimate.describe()
        raise RaspCompileError(
            f"this model would be too large: {described} (the limit is {max_params:,} parameters)",
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


# --- before enumerating: memory, time and size from the value sets known so far ----------------------

# Value-set inference keeps per (query, key) position pair a selector state, its running
# counts and numpy temporaries: 10,000 positions took 15 GB, so about this many bytes a pair.
PAIR_BYTES = 200
# A compile estimated to take longer than this is refused up front (unless allowed).
SLOW_COMPILE_S = 3600.0
# Seconds per unit of work, measured on a busy 2-core machine (order of magnitude only):
COMPARISON_S = 0.5e-6  # one predicate call while tabulating a selector
CALL_S = 1.0e-6  # one call of a map's function on a combination of values
SUM_S = 0.2e-6  # one sum while enumerating an aggregate's means
PAIR_S = 1.0e-6  # one (query value, key value, position) the blocks tabulate for a head or MLP


def check_value_set_memory(max_len: int) -> None:
    """Refuse a max_len whose value sets alone cannot fit in memory (even when allowed large)."""
    from ..memory import check_fits

    pairs = max_len * max_len
    check_fits(pairs * PAIR_BYTES, f"compiling for max_len {max_len:,} ({pairs:,} query-key position pairs)",
               hint="compile for a smaller --max-len", error=RaspCompileError)


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:,.0f} minutes"
    return f"{seconds / 3600:,.1f} hours"


class WorkEstimate:
    """Estimates each step of value-set inference before it runs (called with the sets known
    so far), then the lowering's work once all sets are known, and all along the smallest
    model the sets allow; refuses a model that cannot fit or is over `max_params`, and a
    step estimated over SLOW_COMPILE_S unless `max_params` is None (allowed large); says an
    estimate over a few seconds through `phase`.

    The time estimates are upper bounds of the enumeration's work (memoisation can make it
    much less), so a refusal names --allow-large as the way past it.
    """

    def __init__(self, max_len: int, causal: bool, vocab_size: int, max_params: int | None, phase: Any = None):
        self.n, self.causal, self.vocab_size, self.max_params = max_len, causal, vocab_size, max_params
        self.phase = phase or (lambda name: None)
        self.seconds = 0.0
        self.widest = 0  # the most values of an s-op holding strings (so one-hot) seen so far
        self.seen: set[int] = set()

    def before(self, expr: Any, sets: dict[int, tuple], selections: dict[int, np.ndarray]) -> None:
        """Called by `infer_value_sets` before it infers `expr`."""
        from ..ir.sops import Aggregate, Map, Select, SequenceMap

        self._check_widths({c.id: sets[c.id] for c in expr.children if c.id in sets})
        if isinstance(expr, Select):
            keys = len(frozenset().union(*sets[expr.keys.id]))
            queries = len(frozenset().union(*sets[expr.queries.id]))
            cost = keys * queries * COMPARISON_S
        elif isinstance(expr, (Map, SequenceMap)):
            cost = combinations([sets[c.id] for c in expr.children]) * CALL_S
        elif isinstance(expr, Aggregate):
            cost = mean_sums(selections[expr.selector.id], sets[expr.sop.id], self.causal) * SUM_S
        else:
            return
        self._spend(cost, f"value sets of '{expr.name}'")

    def before_lowering(self, output: Any, order: list[Any], value_sets: Any) -> str:
        """The blocks tabulate each head's query values against its key values at every
        position, and each MLP's input combinations: estimate that before building them.
        Returns the estimate for the progress display ('' when it is short)."""
        from ..ir.sops import Map, Select, SequenceMap

        self._check_widths(value_sets.per_position, len(value_sets.values(output)))
        work = 0
        for expr in order:
            if isinstance(expr, Select):  # each side's values at each position against all of the other's
                keys, queries = (value_sets.per_position[e.id] for e in (expr.keys, expr.queries))
                work += sum(map(len, queries)) * len(frozenset().union(*keys))
                work += sum(map(len, keys)) * len(frozenset().union(*queries))
            elif isinstance(expr, (Map, SequenceMap)):
                work += combinations([value_sets.per_position[c.id] for c in expr.children])
        seconds = work * PAIR_S
        self._spend(seconds, "the heads and MLPs", show=False)
        return f" (estimated up to {duration(seconds)})" if seconds > 5 else ""

    def _check_widths(self, sets: dict[int, tuple], output_width: int = 0) -> None:
        """An s-op holding strings is one-hot, so d_model is at least its number of values
        (+ `one` and `bos`), and the embeddings and unembedding hold at least
        (vocab + max_len + 2 + output width) * d_model parameters."""
        for key, per_position in sets.items():
            if key not in self.seen:
                self.seen.add(key)
                union = frozenset().union(*per_position)
                if any(isinstance(v, str) for v in union):
                    self.widest = max(self.widest, len(union))
        if not self.widest:
            return
        from ..memory import check_fits

        d_model = self.widest + 2
        params = (self.vocab_size + 1 + self.n + 1 + output_width) * d_model
        smallest = SizeEstimate(0, d_model, 0, 0, [], params, params * (2 * 8 + 8))
        check_size(smallest, self.max_params, at_least=True)
        check_fits(smallest.peak_bytes, f"a model of d_model {d_model:,} or more ({params:,} parameters or more)",
                   hint="compile with a smaller --vocab", error=RaspCompileError)

    def _spend(self, cost: float, what: str, show: bool = True) -> None:
        self.seconds += cost
        if cost > SLOW_COMPILE_S and self.max_params is not None:
            raise RaspCompileError(
                f"compiling would take roughly {duration(cost)} or more for {what} alone "
                f"(estimated before enumerating them)",
                hint="compile with a smaller --vocab or --max-len, or pass --allow-large to try anyway",
            )
        if cost > 5 and show:
            self.phase(f"{what} (estimated up to {duration(cost)})")


def combinations(child_sets: list[tuple]) -> int:
    """The input combinations an element-wise map is evaluated on: per distinct tuple of
    per-position sets, the product of their sizes (as `_elementwise` enumerates them)."""
    seen = set(zip(*child_sets))
    return sum(int(np.prod([len(s) for s in key], dtype=np.float64)) for key in seen)


def mean_sums(states: np.ndarray, value_sets: tuple, causal: bool) -> float:
    """An estimate (from above) of the sums a numeric aggregate enumerates for its means,
    following `valueset._aggregate`: per query position and length, `e` values from the pool
    of the MAYBE keys' values, one step per value, each step adding the pool to the sums so
    far; chains are shared between positions and lengths with the same pool (memoised there
    too). A step holds at most MAX_VALUES sums, at most the multisets of e pool values, and
    for whole numbers of span s at most e * s + 1. Zero when no mean is enumerated."""
    from .valueset import ALWAYS, MAX_VALUES, MAYBE, NEVER, is_number

    union = frozenset().union(*value_sets)
    if not union or not all(is_number(v) for v in union):
        return 0.0
    n = states.shape[0]
    if causal:
        states = np.where(np.tri(n, dtype=bool), states, NEVER)
    if int((states > NEVER).sum(axis=1).max()) <= 1:
        return 0.0
    whole = all(isinstance(v, int) for v in union)
    span = (max(union) - min(union)) if whole else None
    longest: dict[tuple, int] = {}  # per pool (and ALWAYS count): the longest chain built so far
    total = 0.0
    for p in range(n):
        row = states[p]
        pool_ids: set[int] = set()
        pool, size, always, e = frozenset(), 0, 0, 0
        for length in range(1, n + 1):
            k = length - 1
            if row[k] == ALWAYS:
                always += 1
            elif row[k] == MAYBE:
                e += 1
                if id(value_sets[k]) not in pool_ids:
                    pool_ids.add(id(value_sets[k]))
                    pool, size = frozenset(pool_ids), min(size + len(value_sets[k]), len(union))
            if length <= p or e == 0 or size < 2:
                continue
            key = (pool, always)
            done = longest.get(key, 0)
            if e > done:  # steps done+1..e, each at most as big as the last
                sums = min(MAX_VALUES, _multisets(size, e - 1), (e - 1) * span + 1 if whole else MAX_VALUES)
                total += (e - done) * sums * size
                longest[key] = e
    return total


def _multisets(m: int, k: int) -> float:
    """How many multisets of k items from m kinds: C(m + k - 1, k), as a float (may be huge)."""
    if k == 0:
        return 1.0
    log = math.lgamma(m + k) - math.lgamma(k + 1) - math.lgamma(m)
    return math.exp(min(log, 700.0))
