"""What a training run will cost, said before it is paid: the memory of the model, its
optimiser state and one batch's activations, estimated from the shapes before anything is
allocated; and the time, measured over the first steps and extrapolated to --steps.

A run whose memory estimate does not fit the machine is refused with the estimate. A run
expected to take longer than LONG_RUN_S is refused unless a --time-limit bounds it (then it
stops at the limit and keeps the best weights so far).
"""

from __future__ import annotations

import time
from typing import Any

from ..compiler.estimate import duration
from ..errors import RaspInputError
from ..memory import check_fits

LONG_RUN_S = 3600.0
WARMUP_STEPS = 5  # steps timed before the estimate (the first ones also warm up caches)


def parameter_count(cfg: Any) -> int:
    """The parameters of a trained model of `cfg` (rasp.compiler.model.Transformer, every
    layer alike, with LayerNorm and biases): the same count the module will have."""
    d, h, e, m = cfg.d_model, cfg.n_heads, cfg.d_head, cfg.d_mlp
    attention = 4 * h * d * e + 3 * h * e + d
    mlp = 2 * d * m + m + d
    norms = 4 * d
    return cfg.n_layers * (attention + mlp + norms) + (cfg.d_vocab + cfg.n_ctx) * d + d * cfg.d_out + cfg.d_out + 2 * d


def training_bytes(cfg: Any, batch: int, itemsize: int) -> int:
    """Peak memory: weights, gradients, two optimiser moments and the best-so-far copy (5x
    the parameters), and the activations autograd keeps for one batch of full-length inputs
    (per position and layer: a dozen residual-wide vectors, the MLP's hidden units twice,
    and each head's scores and pattern)."""
    n = cfg.n_ctx
    per_position = cfg.n_layers * (12 * cfg.d_model + 2 * cfg.d_mlp + 2 * cfg.n_heads * n) + 2 * cfg.d_out
    return itemsize * (5 * parameter_count(cfg) + batch * n * per_position)


def check_training_memory(cfg: Any, batch: int, itemsize: int) -> None:
    check_fits(
        training_bytes(cfg, batch, itemsize),
        f"training {cfg.n_layers:,} layers of width {cfg.d_model:,} (MLP {cfg.d_mlp:,}, "
        f"{parameter_count(cfg):,} parameters) on batches of {batch:,}",
        hint="use fewer --layers, a smaller --d-model, --d-mlp or --batch",
    )


class StepClock:
    """Times the first steps, then says (once) how long the run may take, refuses a run
    over LONG_RUN_S without a time limit, and tells the loop when the limit is reached."""

    def __init__(self, steps: int, time_limit: float | None, say: Any = None):
        self.steps, self.time_limit, self.say = steps, time_limit, say
        self.start = time.perf_counter()
        self.estimated: float | None = None

    def tick(self, step: int) -> None:
        if self.estimated is None and step >= min(WARMUP_STEPS, self.steps):
            per_step = (time.perf_counter() - self.start) / step
            self.estimated = per_step * self.steps
            if self.estimated > LONG_RUN_S and self.time_limit is None:
                raise RaspInputError(
                    f"{self.steps:,} steps would take about {duration(self.estimated)} "
                    f"({per_step * 1000:,.1f} ms a step here) if the target is not reached first",
                    hint="give fewer --steps, or --time-limit MINUTES to stop at that time with the best weights so far",
                )
            if self.say and self.estimated > 10:
                bound = f", stopping after {duration(self.time_limit)}" if self.time_limit else ""
                self.say(f"training: up to {self.steps:,} steps, about {duration(self.estimated)} "
                         f"({per_step * 1000:,.1f} ms a step){bound}; it stops early at the target accuracy")

    def out_of_time(self) -> bool:
        return self.time_limit is not None and time.perf_counter() - self.start >= self.time_limit


# Seconds per compared input and position: sampling from one side of the split, and the
# attention patterns of both models (about 1 ms an input of 4 tokens, measured).
COMPARE_S = 0.25e-3


def check_compare(samples: int, models: list[Any], say: Any = None) -> None:
    """Refuse a `rasp compare` whose inputs and attention patterns (kept for every head of
    both models) cannot fit, or would take over LONG_RUN_S; say the time when it is long."""
    n_ctx = max(m.module.cfg.n_ctx for m in models)
    heads = sum(m.module.cfg.heads_at(i) for m in models for i in range(m.module.cfg.n_layers))
    check_fits(samples * (8 * n_ctx * n_ctx * max(heads, 1) + 100 + 16 * n_ctx),
               f"comparing {heads} heads on {samples:,} inputs", hint="give fewer --samples")
    seconds = samples * n_ctx * COMPARE_S
    if seconds > LONG_RUN_S:
        raise RaspInputError(f"comparing on {samples:,} inputs would take about {duration(seconds)}",
                             hint="give fewer --samples (a few thousand inputs already measure similarity well)")
    if say and seconds > 10:
        say(f"comparing on {samples:,} inputs: about {duration(seconds)}")
