"""Noise on compiled weights (`rasp train --init compiled --noise SIGMA`).

Compiled weights are exact and highly symmetric: many units are copies of one another,
most entries are zero, and an exact model's gradients all but vanish. A little Gaussian
noise breaks those symmetries before training (the first of the seed write-up's three
ways to combine programming and learning).

The noise is relative to each weight tensor's own scale: every entry of a tensor W
(zeros included) gets N(0, (SIGMA * s_W)^2), where s_W is the root mean square of W's
NONZERO entries. The scale of the nonzero entries, not of all entries, because a
compiled matrix is mostly zeros: its plain RMS would shrink with the model's width and
say little about the sizes its computation relies on. A tensor that is all zeros (the
position embedding of a `--no-pos` model, unused biases) has no scale and gets no noise.
Per-head tensors (W_Q of shape heads x d_model x d_head) count as one tensor.
"""

from __future__ import annotations

from typing import Any

NOISE_SEED_OFFSET = 7919  # the noise's generator: --seed plus this, apart from the data's


def nonzero_rms(tensor: Any) -> float:
    """The root mean square of the nonzero entries (0.0 for an all-zero tensor)."""
    values = tensor.detach()
    nonzero = values[values != 0]
    return float(nonzero.double().pow(2).mean().sqrt()) if nonzero.numel() else 0.0


def add_noise(module: Any, sigma: float, seed: int) -> dict[str, float]:
    """Add the noise to every trainable tensor of `module` in place; returns each tensor's
    noise standard deviation (SIGMA * s_W) by name."""
    import torch

    gen = torch.Generator().manual_seed(seed + NOISE_SEED_OFFSET)
    stds: dict[str, float] = {}
    with torch.no_grad():
        for name, p in module.named_parameters():
            if not p.requires_grad:
                continue
            std = sigma * nonzero_rms(p)
            stds[name] = std
            if std > 0:
                noise = torch.randn(p.shape, generator=gen, dtype=torch.float64) * std
                p.add_(noise.to(device=p.device, dtype=p.dtype))
    return stds
