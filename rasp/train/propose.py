"""Reading weight changes back as proposed rules (`rasp train --init compiled --propose`).

The third of the seed write-up's three ways: train from the compiled weights, then say
what changed in the program's own terms, where the compiled layout gives terms:

- lexicon entries: every vocabulary word's value of every token feature (a lookup of the
  tokens) decoded, with the compiled residual layout, under the compiled and the trained
  weights; the words whose value changed are proposed entries;
- heads: each compiled head is named by the s-op it computes. Its query-key form
  W_Q W_K^T, read in the residual basis, has a row per query feature and a column per key
  feature (the layout's labels, `role:neg`); the entries that moved most say which query
  features now attend to which key features more (or less) than the program says;
- MLPs, and the rest: how far each moved (|W - W0| / |W0|), named by the s-op.

The reading is exact for the embedding and for each head's score form; it is only a
reading, since a trained model may also move information between residual dimensions
the layout assigns to other s-ops.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..files import write_atomic
from ..ir.evaluate import evaluate_batch, native
from ..ir.sops import SOp
from .lexicon import decode_features, token_features

TOP_ENTRIES = 5  # query-key entries listed per head
MIN_CHANGE = 1e-3  # relative to the head's largest compiled score entry; smaller is no change


def lexicon_changes(compiled: Any, sop: SOp, module: Any) -> list[tuple[str, Any, Any, Any]]:
    """(feature, word, program's value, trained value) for every entry that changed by more
    than MIN_CHANGE of the feature's range; numbers by the size of the change, largest first."""
    changes = []
    seen = set()
    for feature in token_features(sop):
        if feature.name in seen:
            continue
        seen.add(feature.name)
        before = dict(zip(compiled.vocab, (native(v[0]) for v in evaluate_batch(feature, [[w] for w in compiled.vocab]))))
        after = decode_features(compiled, module, compiled.vocab, feature)
        numbers = [float(v) for v in before.values() if _is_number(v)]
        scale = max(numbers, default=0.0) - min(numbers, default=0.0) or 1.0
        found = [(feature.name, w, before[w], after[w]) for w in compiled.vocab
                 if not _same(before[w], after[w], MIN_CHANGE * scale)]
        found.sort(key=lambda c: -abs(float(c[3]) - float(c[2])) if _is_number(c[2]) and _is_number(c[3]) else 0.0)
        changes += found
    return changes


def head_changes(compiled: Any, module: Any) -> list[dict[str, Any]]:
    """Per compiled head: its s-op and the query-key entries that moved most."""
    labels = compiled.labels or [f"d{i}" for i in range(compiled.module.cfg.d_model)]
    rows = []
    for comp in compiled.components:
        if comp["kind"] != "attention" or comp["cleanup"]:
            continue
        layer, head = comp["layer"] - 1, comp["head"]
        before = _qk(compiled.module, layer, head)
        after = _qk(module, layer, head)
        scale = float(np.abs(before).max()) or 1.0
        delta = after - before
        order = np.argsort(-np.abs(delta), axis=None)[:TOP_ENTRIES]
        entries = []
        for flat in order:
            q, k = np.unravel_index(flat, delta.shape)
            if abs(delta[q, k]) < MIN_CHANGE * scale:
                break
            entries.append({"query": labels[q], "key": labels[k], "before": float(before[q, k]),
                            "after": float(after[q, k])})
        rows.append({"layer": comp["layer"], "head": head, "sop": comp["sop"], "selector": comp["selector"],
                     "relative_change": float(np.linalg.norm(delta) / (np.linalg.norm(before) or 1.0)),
                     "entries": entries})
    return rows


def mlp_changes(compiled: Any, module: Any) -> list[dict[str, Any]]:
    """Per layer with compiled MLPs: the s-ops they compute and how far W_in and W_out moved."""
    rows = []
    for layer in range(compiled.module.cfg.n_layers):
        sops = [c["sop"] for c in compiled.components if c["kind"] == "mlp" and c["layer"] == layer + 1
                and not c["cleanup"]]
        if not sops:
            continue
        moved = {}
        for name in ("W_in", "W_out"):
            w0 = getattr(compiled.module.blocks[layer].mlp, name).detach().double().cpu()
            w1 = getattr(module.blocks[layer].mlp, name).detach().double().cpu()
            moved[name] = float((w1 - w0).norm() / (w0.norm() or 1.0))
        rows.append({"layer": layer + 1, "sops": sops, **moved})
    return rows


def report(compiled: Any, sop: SOp, module: Any) -> str:
    """The readable report of what training changed."""
    lines = [f"# proposed changes to {sop.name}: the trained weights read in the program's terms", ""]
    lexicon = lexicon_changes(compiled, sop, module)
    lines.append(f"## lexicon: {len(lexicon)} entries changed")
    for feature, word, before, after in lexicon:
        lines.append(f"{feature}[{word}]: {_text(before)} -> {_text(after)}")
    lines += ["", "## heads: query feature -> key feature, score before -> after"]
    for h in head_changes(compiled, module):
        lines.append(f"layer {h['layer']} head {h['head']} ({h['sop']}, selector {h['selector']}): "
                     f"score form moved {h['relative_change']:.3g}")
        for e in h["entries"]:
            verb = "more" if e["after"] > e["before"] else "less"
            lines.append(f"  {e['query']} attends to {e['key']} {verb}: {e['before']:.4g} -> {e['after']:.4g}")
        if not h["entries"]:
            lines.append("  no entry moved")
    lines += ["", "## MLPs: |W - W0| / |W0|"]
    for m in mlp_changes(compiled, module):
        lines.append(f"layer {m['layer']} ({', '.join(m['sops'])}): W_in {m['W_in']:.3g}, W_out {m['W_out']:.3g}")
    return "\n".join(lines) + "\n"


def write_report(path: Any, compiled: Any, sop: SOp, module: Any) -> str:
    text = report(compiled, sop, module)
    write_atomic(path, text)
    return text


def _qk(module: Any, layer: int, head: int) -> np.ndarray:
    attn = module.blocks[layer].attn
    wq = attn.W_Q[head].detach().double().cpu().numpy()
    wk = attn.W_K[head].detach().double().cpu().numpy()
    return wq @ wk.T


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _same(a: Any, b: Any, tolerance: float) -> bool:
    if _is_number(a) and _is_number(b):
        return abs(float(a) - float(b)) <= tolerance
    return a == b


def _text(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
