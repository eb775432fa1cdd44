"""Distributed alignment search (Geiger, Wu et al. 2023), a small torch version: learn a
rank-k subspace of a residual site such that patching only that subspace from the source
run gives the program's counterfactual output.

The subspace is the row space of R (k x d_model, orthonormal rows, kept orthonormal by
torch's orthogonal parametrisation); the patched activation is x + (s - x) R^T R, which
changes x only inside the subspace. R is trained with Adam on the cross-entropy of the
counterfactual outputs over training pairs, the model's own weights frozen; its interchange
accuracy is then measured on other (held-out) pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .patching import Patcher, Site

STEPS = 150
LR = 0.01


def train_rotation(patcher: Patcher, site: Site, targets: Sequence[np.ndarray | None], steps: int = STEPS,
                   lr: float = LR, seed: int = 0):
    """R (rank x d_model) for `site` (a residual hook with `rank`), trained on the pairs of
    `patcher` towards `targets` (per pair, the counterfactual output as logit columns;
    None: no counterfactual)."""
    import torch
    import torch.nn.functional as F
    from torch import nn
    from torch.nn.utils.parametrizations import orthogonal

    module = patcher.subject.module
    dtype = next(module.parameters()).dtype
    torch.manual_seed(seed)
    layer = orthogonal(nn.Linear(module.cfg.d_model, site.rank, bias=False).to(dtype))
    groups = []  # (group, rows with a counterfactual, their targets)
    for g, idx in enumerate(patcher.groups):
        keep = [r for r, i in enumerate(idx) if targets[idx[r]] is not None]
        if keep and any((targets[idx[r]] >= 0).any() for r in keep):
            groups.append((g, keep, torch.as_tensor(np.stack([targets[idx[r]] for r in keep]))))
    if not groups:
        return layer.weight.detach()
    frozen = [p for p in module.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    try:
        opt = torch.optim.Adam(layer.parameters(), lr=lr)
        for step in range(steps):
            g, keep, target = groups[step % len(groups)]
            logits = patcher.logits(site, g, layer.weight)[keep]
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1).to(logits.device),
                                   ignore_index=-1)
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        for p in frozen:
            p.requires_grad_(True)
    return layer.weight.detach()
