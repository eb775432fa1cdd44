"""Linear probes: which s-op can be read linearly from which residual site?

For every variable of the program (its s-ops) and every residual site (the embedding
`blocks.0.hook_resid_pre`, then `blocks.L.hook_resid_mid` and `blocks.L.hook_resid_post`),
a linear map from the residual vector at each position (BOS left out) to the s-op's value
there, fitted by least squares on inputs from the training side of the split and scored on
held-out ones. Categorical s-ops: least squares onto one-hot targets, the prediction is the
largest score, and the score is accuracy (the baseline: always the most common value).
Numerical s-ops: least squares onto the number, scored by R² clipped to [0, 1] (baseline 0).
A compiled model writes each s-op as a one-hot code or a number in its own dimensions, so
every s-op probes at 1.0 wherever it is held.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..compiler.encoding import groups_by_length, token_key
from ..ir.evaluate import Input
from .highlevel import HighLevel
from .subject import Subject, copies


@dataclass
class Probe:
    sop: str
    site: str
    score: float
    kind: str  # "categorical" (accuracy) or "numerical" (R²)
    baseline: float  # the score of always guessing the most common value (0 for R²)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def residuals(subject: Subject, inputs: Sequence[Input], sites: Sequence[str]) -> tuple[list[int], dict[str, np.ndarray]]:
    """The inputs in the order their positions are stacked, and per site the residual at
    every position (positions, d_model), BOS left out."""
    import torch

    order: list[int] = []
    stacks: dict[str, list[np.ndarray]] = {s: [] for s in sites}
    with torch.no_grad():
        for idx in groups_by_length(inputs, 512):
            cache: dict[str, Any] = {}
            subject.run(subject.encode([inputs[i] for i in idx]), cache=cache)
            order += idx
            for s in sites:
                x = cache[s][:, subject.offset:].double().cpu().numpy()
                stacks[s].append(x.reshape(-1, x.shape[-1]))
    return order, {s: np.concatenate(v) for s, v in stacks.items()}


def stacked(values: list[list[Any]], order: list[int]) -> list[Any]:
    return [v for i in order for v in values[i]]


def fit_probe(x: np.ndarray, y: list[Any], x_test: np.ndarray, y_test: list[Any], kind: str) -> tuple[float, float]:
    """(score, baseline) of a least-squares linear probe fitted on (x, y), scored on the test set."""
    a, a_test = _with_bias(x), _with_bias(x_test)
    if kind == "numerical":
        t, t_test = np.asarray(y, dtype=np.float64), np.asarray(y_test, dtype=np.float64)
        w = np.linalg.lstsq(a, t, rcond=None)[0]
        residual = float(((a_test @ w - t_test) ** 2).sum())
        total = float(((t_test - t_test.mean()) ** 2).sum())
        if total < 1e-12:  # a constant: right when the probe is
            return (1.0 if residual < 1e-6 * len(t_test) else 0.0), 0.0
        return float(np.clip(1.0 - residual / total, 0.0, 1.0)), 0.0
    classes = sorted({token_key(v) for v in y}, key=repr)
    index = {c: i for i, c in enumerate(classes)}
    codes = np.array([index[token_key(v)] for v in y])
    w = np.linalg.lstsq(a, np.eye(len(classes))[codes], rcond=None)[0]
    predicted = (a_test @ w).argmax(axis=1)
    truth = np.array([index.get(token_key(v), -1) for v in y_test])
    _, counts = np.unique(truth, return_counts=True)
    return float((predicted == truth).mean()), float(counts.max() / len(truth))


def _with_bias(x: np.ndarray) -> np.ndarray:
    return np.concatenate([x, np.ones((len(x), 1))], axis=1)


def kinds(high: HighLevel, subject: Subject, reference: Any, values: dict[str, list[list[Any]]]) -> dict[str, str]:
    """Each variable's probe kind: as the compiled model (`reference`, or the subject when
    it is compiled) encodes it, one-hot codes categorical and numbers numerical; for an
    s-op the compiler holds nowhere, numerical when its values are non-integral numbers."""
    spaces = subject.model.spaces if subject.compiled else getattr(reference, "spaces", {})
    out = {}
    for v in high.variables:
        held = [spaces[n] for n in copies(spaces, v.name)]
        if held:
            out[v.name] = "categorical" if any(s.categorical for s in held) else "numerical"
            continue
        flat = [x for row in values[v.name] for x in row]
        numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in flat)
        out[v.name] = "numerical" if numbers and any(float(x) != int(x) for x in flat) else "categorical"
    return out


def probe_all(subject: Subject, high: HighLevel, train: Sequence[Input], test: Sequence[Input],
              names: Sequence[str] | None = None, reference: Any = None,
              step: Callable[[], None] = lambda: None) -> list[Probe]:
    """A probe for every variable (or those in `names`) at every residual site."""
    sites = subject.residual_sites()
    chosen = high.chosen(names, every=True)
    values, test_values = high.values(train), high.values(test)
    kind = kinds(high, subject, reference, values)
    order, feats = residuals(subject, train, sites)
    test_order, test_feats = residuals(subject, test, sites)
    probes = []
    for v in chosen:
        y, y_test = stacked(values[v.name], order), stacked(test_values[v.name], test_order)
        for s in sites:
            score, baseline = fit_probe(feats[s], y, test_feats[s], y_test, kind[v.name])
            probes.append(Probe(v.name, s, score, kind[v.name], baseline))
            step()
    return probes
