"""Interchange intervention accuracy (IIA): does the model compute s-op X where we think?

For a (base, source) pair and a position pair (p, q), the program's counterfactual is its
output on the base with X at position p taken from the source's position q
(`rasp.ir.intervene`); the model's is its output on the base with one site's activation at
p taken from the source run at q (`patching.py`). A site's IIA for X is the share of pairs
on which the two agree at every position (pairs whose intervened program fails are left
out). Candidate sites: every head's output, every layer's attention and MLP output, the
whole residual stream at every residual site, a learned low-rank subspace of it (`das.py`),
and, in a compiled model, the dimensions where the compiler wrote X.

`changed` is the share of pairs where the counterfactual differs from the base's own
output: where it is low, doing nothing already scores well, so compare against it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .das import STEPS, train_rotation
from .highlevel import HighLevel
from .patching import Pairs, Patcher, Site, component_sites, interchange_accuracy
from .subject import Subject

# Among sites of equal IIA, the more specific one is the answer.
SPECIFICITY = {"compiled": 0, "head": 1, "mlp": 2, "attention": 3, "das": 4, "residual": 5}


@dataclass
class Alignment:
    sop: str
    site: str
    kind: str  # head, mlp, attention, residual, das or compiled
    iia: float
    changed: float  # share of pairs where the intervention changes the program's output
    pairs: int = 0  # pairs scored: those whose intervened program has an output

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def das_rank(values: list[list[Any]], d_model: int) -> int:
    """A subspace as wide as a one-hot code of the s-op's values needs (values - 1), at most
    16 and half the residual width."""
    distinct = {repr(v) for row in values for v in row}
    return max(1, min(len(distinct) - 1, 16, d_model // 2))


def targets(subject: Subject, rows: Sequence[list[Any] | None]) -> list[np.ndarray | None]:
    """Counterfactual outputs as logit columns; None where there is none, or where it holds a
    value the model has no output for (an aggregate's default where a swap left nothing
    selected, say): such a pair cannot be scored."""
    out: list[np.ndarray | None] = []
    for r in rows:
        ids = None if r is None else subject.target_ids([r], len(r))[0]
        out.append(None if ids is None or (ids < 0).any() else ids)
    return out


def align(subject: Subject, high: HighLevel, pairs: Pairs, train_pairs: Pairs | None,
          names: Sequence[str] | None = None, rank: int | None = None, das_steps: int = STEPS,
          step: Callable[[str], None] = lambda what: None) -> list[Alignment]:
    """IIA of every variable (or those in `names`) at every candidate site. DAS subspaces
    are trained on `train_pairs` (None: no DAS)."""
    chosen = high.chosen(names, every=True)
    patcher = Patcher(subject, pairs)
    own = targets(subject, _outputs(high, pairs.bases))
    cf = {v.name: targets(subject, high.counterfactuals(v.name, pairs.bases, pairs.sources, pairs.positions))
          for v in chosen}
    fixed = component_sites(subject)
    predicted = {}
    for site in fixed:
        predicted[site] = patcher.predictions(site)
        step(site.name)
    train = Patcher(subject, train_pairs) if train_pairs is not None and len(train_pairs) else None
    values = high.values(pairs.bases) if train is not None else {}
    results = []
    for v in chosen:
        t = cf[v.name]
        changed = float(np.mean([not np.array_equal(a, b) for a, b in zip(t, own) if a is not None] or [0.0]))
        scored = sum(a is not None for a in t)
        for site in fixed:
            results.append(Alignment(v.name, site.name, site.kind, interchange_accuracy(predicted[site], t), changed, scored))
        where = subject.compiled_site(v.name, high.descendants(v.name))
        if where is not None:
            site = Site(where[0], dims=tuple(where[1]), label=v.name)
            results.append(Alignment(v.name, site.name, site.kind,
                                     interchange_accuracy(patcher.predictions(site), t), changed, scored))
        if train is not None:
            train_t = targets(subject, high.counterfactuals(v.name, train_pairs.bases, train_pairs.sources,
                                                            train_pairs.positions))
            k = rank or das_rank(values[v.name], subject.module.cfg.d_model)
            for hook in subject.residual_sites():
                site = Site(hook, rank=k)
                rotation = train_rotation(train, site, train_t, steps=das_steps)
                results.append(Alignment(v.name, site.name, site.kind,
                                         interchange_accuracy(patcher.predictions(site, rotation), t), changed, scored))
                step(f"{v.name} at {site.name}")
    return results


def _outputs(high: HighLevel, inputs: Sequence[Any]) -> list[list[Any] | None]:
    """The program's own output on each input (None where it fails)."""
    from ..errors import RaspError
    from ..ir.evaluate import evaluate, evaluate_batch

    try:
        return evaluate_batch(high.output, inputs)
    except RaspError:
        out: list[list[Any] | None] = []
        for x in inputs:
            try:
                out.append(evaluate(high.output, x))
            except RaspError:
                out.append(None)
        return out


def best(results: Sequence[Alignment]) -> dict[str, dict[str, Any]]:
    """Per s-op, the site with the highest IIA (ties: the most specific, then the earliest)."""
    out: dict[str, dict[str, Any]] = {}
    order = {r.site: i for i, r in enumerate(results)}
    for sop in dict.fromkeys(r.sop for r in results):
        mine = [r for r in results if r.sop == sop]
        top = min(mine, key=lambda r: (-round(r.iia, 9), SPECIFICITY[r.kind], order[r.site]))
        out[sop] = {"site": top.site, "iia": top.iia, "kind": top.kind, "changed": top.changed, "pairs": top.pairs}
    return out


def count_steps(subject: Subject, n_variables: int, das: bool) -> int:
    """How many progress steps `align` reports."""
    return len(component_sites(subject)) + (n_variables * len(subject.residual_sites()) if das else 0)
