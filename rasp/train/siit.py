"""Strict interchange intervention training (`rasp train --siit`): SIIT, after InterpBench
(Gupta et al., 2024), with the RASP program as the high-level causal model.

The model has the compiled model's shape and starts from random weights. Each s-op that a
compiled head or MLP computes is aligned with the same place in the trained model: a
compiled head (layer l, head h) with the trained head (l, h) (its output, `hook_z`); the
MLPs of layer l with layer l's MLP units, split evenly among the s-ops they compute
(`hook_post`). Every step adds, on the same-length (base, source) pairs of a batch:

- behaviour: cross-entropy of the base's own output (the program's, from the interpreter);
- IIT: for one aligned s-op X (picked at random), the model is run on the base with X's
  site taken from the source run, and trained towards the program's counterfactual: its
  output on the base with X taken from the source (`rasp.ir.intervene`);
- strictness: one site aligned with nothing (a spare head, spare MLP units), patched from
  the source likewise, and trained towards the base's own output: what the program does
  not name must not matter.

So the model is pushed to compute each s-op where the alignment puts it, on purpose. The
report is the interchange intervention accuracy (IIA, `rasp.analysis`) of each s-op at its
site on held-out pairs, and held-out accuracy, before and after.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import RaspInputError
from ..ir.sops import SOp


@dataclass
class Alignment:
    aligned: dict[str, Any]  # s-op name -> its Site in the trained model
    spare: list[Any]  # sites aligned with no s-op


@dataclass
class SiitResult:
    model: Any  # TrainedModel
    steps: int
    seconds: float
    accuracy_before: float
    accuracy_after: float
    iia_before: dict[str, float]
    iia_after: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        after = list(self.iia_after.values())
        return {"siit": True, "steps": self.steps, "seconds": round(self.seconds, 3),
                "accuracy_before": self.accuracy_before, "accuracy": self.accuracy_after,
                "iia_before": self.iia_before, "iia": self.iia_after,
                "min_iia": min(after) if after else None}


def align(compiled: Any, module: Any, names: Sequence[str]) -> Alignment:
    """The sites of the trained model (of the compiled shape) aligned with the s-ops that
    compiled heads and MLPs compute (those among `names`, the program's variables)."""
    from ..analysis.patching import Site

    known = set(names)
    aligned: dict[str, Any] = {}
    used_heads: set[tuple[int, int]] = set()
    mlp_sops: dict[int, list[str]] = {}
    for c in compiled.components:
        if c["cleanup"] or c["sop"] not in known or c["sop"] in aligned:
            continue
        layer = c["layer"] - 1
        if c["kind"] == "attention":
            if c["head"] < module.blocks[layer].attn.W_Q.shape[0]:
                aligned[c["sop"]] = Site(f"blocks.{layer}.attn.hook_z", head=c["head"])
                used_heads.add((layer, c["head"]))
        else:
            mlp_sops.setdefault(layer, []).append(c["sop"])
    spare = []
    for layer, block in enumerate(module.blocks):
        spare += [Site(f"blocks.{layer}.attn.hook_z", head=h) for h in range(block.attn.W_Q.shape[0])
                  if (layer, h) not in used_heads]
        units = block.mlp.W_in.shape[1]
        sops = mlp_sops.get(layer, [])
        if not sops:
            if units:
                spare.append(Site(f"blocks.{layer}.hook_mlp_out"))
            continue
        cuts = np.linspace(0, units, len(sops) + 1).astype(int)
        for sop, a, b in zip(sops, cuts[:-1], cuts[1:]):
            if b > a:
                aligned[sop] = Site(f"blocks.{layer}.mlp.hook_post", dims=tuple(range(a, b)), label=sop)
    if not aligned:
        raise RaspInputError("--siit: no s-op of the program is computed by a compiled head or MLP, "
                             "so there is nothing to align")
    return Alignment(aligned, spare)


def iia(subject: Any, high: Any, alignment: Alignment, pairs: Any) -> dict[str, float]:
    """Each aligned s-op's interchange intervention accuracy at its site."""
    from ..analysis.intervene import targets
    from ..analysis.patching import Patcher, interchange_accuracy

    patcher = Patcher(subject, pairs)
    out = {}
    for name, site in alignment.aligned.items():
        cf = targets(subject, high.counterfactuals(name, pairs.bases, pairs.sources, pairs.positions))
        out[name] = interchange_accuracy(patcher.predictions(site), cf)
    return out


def siit_fit(setup: Any, sop: SOp, causal: bool, eval_pairs: int = 200, progress: bool = False) -> SiitResult:
    """Train `setup.model` (random weights, the compiled shape) with SIIT."""
    import torch

    from ..analysis.highlevel import high_level
    from ..analysis.patching import sample_pairs
    from ..analysis.subject import Subject
    from .loop import evaluate

    o = setup.options
    if setup.compiled is None:
        raise RaspInputError("--siit aligns the program's s-ops with the compiled model's heads and MLPs: "
                             "it needs a program the compiler takes")
    if setup.distribution == "corpus":
        raise RaspInputError("--siit samples its (base, source) pairs from --vocab and --max-len: drop --corpus")
    if o.init != "random" or not setup.model.bos:
        raise RaspInputError("--siit trains from random weights with BOS (drop --init compiled and --no-bos)")
    model, module = setup.model, setup.model.module
    high = high_level(sop, causal)
    alignment = align(setup.compiled, module, [v.name for v in high.variables])
    subject = Subject.of(model)
    vocab, max_len = model.vocab, model.max_len
    rng = np.random.default_rng(o.seed + 1)
    held_pairs = sample_pairs(np.random.default_rng(o.seed + 2), vocab, max_len, eval_pairs,
                              setup.distribution, mode="all", held_out=True, min_len=o.min_len)
    start = time.perf_counter()
    acc_before, _ = evaluate(model, setup.held_out)
    iia_before = iia(subject, high, alignment, held_pairs)
    torch.manual_seed(o.seed)
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=o.lr, weight_decay=0.01)
    names = list(alignment.aligned)
    history = []
    threads = torch.get_num_threads()
    if o.device == "cpu":
        torch.set_num_threads(1)
    try:
        for step in range(1, o.steps + 1):
            pairs = sample_pairs(rng, vocab, max_len, o.batch, setup.distribution, mode="all", held_out=False,
                                 min_len=o.min_len)
            name = names[int(rng.integers(len(names)))]
            spare = alignment.spare[int(rng.integers(len(alignment.spare)))] if alignment.spare else None
            loss = _step_loss(subject, high, alignment.aligned[name], name, spare, pairs)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            history.append({"step": step, "loss": loss.item()})
    finally:
        torch.set_num_threads(threads)
    acc_after, _ = evaluate(model, setup.held_out)
    iia_after = iia(subject, high, alignment, held_pairs)
    model.info.update(siit=True, steps=o.steps, accuracy=acc_after, iia=iia_after)
    return SiitResult(model, o.steps, time.perf_counter() - start, acc_before, acc_after, iia_before,
                      iia_after, history)


def _step_loss(subject: Any, high: Any, site: Any, name: str, spare: Any, pairs: Any) -> Any:
    """Behaviour + IIT (at `name`'s site) + strictness (at the `spare` site), averaged over
    the labelled positions of each."""
    import torch
    import torch.nn.functional as F

    from ..analysis.intervene import targets
    from ..analysis.patching import Patcher

    patcher = Patcher(subject, pairs)
    own = targets(subject, high.values(pairs.bases)[_output_name(high)])
    cf = targets(subject, high.counterfactuals(name, pairs.bases, pairs.sources, pairs.positions))
    total = torch.zeros((), dtype=next(subject.module.parameters()).dtype)
    for g, idx in enumerate(patcher.groups):
        ids = patcher.ids[g]
        runs = [(subject.logits(subject.run(ids)), own)]
        runs.append((patcher.logits(site, g), cf))
        if spare is not None:
            runs.append((patcher.logits(spare, g), own))
        for logits, wanted in runs:
            rows = [wanted[i] if wanted[i] is not None else np.full(logits.shape[1], -1) for i in idx]
            t = torch.as_tensor(np.stack(rows), device=logits.device)
            mask = t >= 0
            if mask.any():
                total = total + F.cross_entropy(logits[mask], t[mask]) * len(idx) / len(pairs)
    return total


def _output_name(high: Any) -> str:
    for v in high.variables:
        if v.node is high.output:
            return v.name
    raise RaspInputError("the program's output is not among its variables")
