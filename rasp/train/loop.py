"""Training a transformer of the compiled shape on a RASP program's task.

`prepare` checks everything and builds the data and the model before any training
(bad options, programs the compiler rejects under `--init compiled`, vocabularies too
big: errors, not a crash minutes in); `fit` trains with AdamW on the cross-entropy of
the labelled positions (the rate decaying on a cosine to a tenth), shows a progress bar,
and runs every step asked for, stopping early only when asked (`early_stop`: once a
validation set drawn from the training side of the split reaches the target accuracy).
The result keeps the last weights, or the ones that did best on validation (`keep="best"`),
and says which, how far each weight matrix moved from where it started, and how similar
the heads' attention is to the compiled model's. The same seed gives the same data, the
same initial weights and the same batches.

Random starts train in float32, starts from compiled weights in float64: the compiled
weights are exact only at that precision (attention scores 100 apart), so a float32
copy would not score exactly 1.0 at step 0.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import RaspCompileError, RaspError, RaspInputError
from ..ir.sops import SOp
from . import data as D
from .budget import StepClock, check_training_memory
from .model import SHARPNESS, TrainedModel, new_module


@dataclass
class TrainOptions:
    layers: int | None = None  # default: what the compiler needs for the program
    heads: int | None = None  # default: the compiled model's most heads in a layer
    d_model: int = 64
    d_mlp: int | None = None  # default: 4 * d_model
    steps: int = 2000
    batch: int = 128
    lr: float | None = None  # default: 1e-3 (AdamW) from random weights, 1e-5 (SGD) from compiled ones
    seed: int = 0
    init: str = "random"  # or "compiled"
    no_pos: bool = False
    bos: bool = True
    early_stop: bool = False  # stop once validation accuracy reaches `target`
    target: float = 1.0
    keep: str = "last"  # the weights kept: "last", or "best" on validation
    eval_every: int = 50
    data: str = "auto"
    min_len: int = 1  # shortest sampled input (max_len: fixed-length inputs)
    train_size: int = 20_000
    held_out: int = 1_000
    device: str = "cpu"
    time_limit: float | None = None  # seconds; None: none (then a run expected over budget.LONG_RUN_S is refused)


@dataclass
class Setup:
    """Everything training needs, built and checked before the first step."""

    model: TrainedModel
    train: D.Batches
    validation: D.Batches
    held_out: D.Batches
    options: TrainOptions
    distribution: str
    compiled: Any = None  # the compiled model of the task (None: the compiler rejects the program)


@dataclass
class TrainResult:
    model: TrainedModel
    accuracy: float  # held-out, whole sequences right
    token_accuracy: float  # held-out, labelled positions right
    initial_accuracy: float
    initial_token_accuracy: float
    steps: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)  # step, loss (and accuracy)
    kept: str = "last"  # which weights the model holds: "last" or "best"
    kept_step: int = 0  # the step those weights come from
    kept_validation: float = 0.0  # their validation accuracy
    # How far each weight matrix moved: |W - W0| / |W0| (Frobenius norms); None where W0 = 0.
    weight_change: dict[str, float | None] = field(default_factory=dict)
    # Each compiled head's attention against the trained model's (see rasp.train.compare).
    heads: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        cfg = self.model.module.cfg
        moved = [v for v in self.weight_change.values() if v is not None]
        sims = [h["similarity"] for h in self.heads]
        return {
            "accuracy": self.accuracy,
            "token_accuracy": self.token_accuracy,
            "layers": cfg.n_layers,
            "heads": cfg.n_heads,
            "steps": self.steps,
            "seconds": round(self.seconds, 3),
            "params": sum(p.numel() for p in self.model.module.parameters()),
            "kept": self.kept,
            "kept_step": self.kept_step,
            "kept_validation_accuracy": self.kept_validation,
            "weight_change": self.weight_change,
            "max_weight_change": max(moved, default=0.0),
            "head_similarity": self.heads,
            "mean_head_similarity": sum(sims) / len(sims) if sims else None,
        }


def check_options(o: TrainOptions) -> None:
    if o.init not in ("random", "compiled"):
        raise RaspInputError(f"--init must be random or compiled, not {o.init!r}")
    for name in ("layers", "heads", "d_model", "d_mlp"):
        value = getattr(o, name)
        if value is not None and value < 1:
            raise RaspInputError(f"--{name.replace('_', '-')} must be at least 1, not {value}")
    if o.init == "compiled" and any(v is not None for v in (o.layers, o.heads, o.d_mlp)):
        raise RaspInputError("--init compiled takes the compiled model's layers, heads and sizes; "
                             "drop --layers, --heads and --d-mlp")
    if o.steps < 0 or o.batch < 1 or o.eval_every < 1:
        raise RaspInputError("--steps must be 0 or more and --batch at least 1")
    if o.lr is None:
        o.lr = 1e-5 if o.init == "compiled" else 1e-3
    if not (o.lr > 0 and np.isfinite(o.lr)):
        raise RaspInputError(f"--lr must be a positive number, not {o.lr}")
    if not 0 < o.target <= 1:
        raise RaspInputError(f"--target must be in (0, 1], not {o.target}")
    if o.keep not in ("last", "best"):
        raise RaspInputError(f"--keep must be last or best, not {o.keep!r}")
    if o.time_limit is not None and not (o.time_limit > 0 and np.isfinite(o.time_limit)):
        raise RaspInputError(f"--time-limit must be a positive number of minutes, not {o.time_limit / 60:g}")
    if o.train_size < 1 or o.held_out < 1:
        raise RaspInputError("the training and held-out sets need at least one input each")


def prepare(sop: SOp, vocab: list[Any], max_len: int, causal: bool, options: TrainOptions,
            corpus: list[tuple[list[str], list[str], bool]] | None = None) -> Setup:
    """Check the options, size the model from the compiler, and sample and label the data."""
    import torch

    from ..compiler import compile_program
    from ..compiler.verify import causal_reference

    o = options
    check_options(o)
    if o.no_pos and not causal:
        raise RaspInputError("--no-pos needs --causal: without positions or a mask, order is unknowable")
    if not o.bos and (o.init == "compiled" or o.no_pos):
        raise RaspInputError("a model without BOS cannot start from compiled weights or go without positions: "
                             "both need BOS")
    if o.init == "random" and o.heads and o.d_model % o.heads:
        raise RaspInputError(f"--d-model {o.d_model} must be a multiple of --heads {o.heads}")
    D.check_sizes(vocab, max_len)
    if not 1 <= o.min_len <= max_len:
        raise RaspInputError(f"--min-len must be between 1 and --max-len {max_len}, not {o.min_len}")
    torch.manual_seed(o.seed)
    try:
        compiled = compile_program(sop, vocab, max_len, causal=causal, no_pos=o.no_pos)
    except RaspError as err:  # the compiler's own errors, or the program's on some input
        if o.init == "compiled":
            raise RaspCompileError(f"--init compiled needs a compilable program: {err.message}",
                                   pos=err.pos, hint=err.hint) from None
        compiled = None
    outputs = compiled.output.values if compiled else _output_values(sop, vocab, max_len, causal)
    D.check_sizes(vocab, max_len, outputs)
    model = _build_model(compiled, sop, vocab, max_len, causal, outputs, o).to(o.device)
    reference = causal_reference(sop) if causal else sop
    rng = np.random.default_rng(o.seed)
    distribution = "corpus" if corpus else D.resolve_distribution(o.data, vocab)

    def batches(held_out: bool, count: int) -> D.Batches:
        if corpus:
            rows = [(x, y) for x, y, held in corpus if held == held_out]
            inputs, labels = [x for x, _ in rows], [D.corpus_labels(y, outputs) for _, y in rows]
        else:
            inputs = D.sample_split(rng, vocab, max_len, count, distribution, held_out, o.min_len)
            labels = D.label(reference, inputs)
        return D.make_batches(inputs, labels, model.encode, outputs)

    train = batches(False, min(o.train_size, max(o.steps * o.batch, 1000)))
    held = batches(True, o.held_out)
    if corpus:
        validation = train
    else:
        validation = batches(False, min(500, o.held_out))
    if not len(train) or not len(held):
        raise RaspInputError("too few inputs to train on and to hold out: give a bigger corpus, "
                             "--vocab or --max-len")
    return Setup(model, train, validation, held, o, distribution, compiled)


def _output_values(sop: SOp, vocab: list[Any], max_len: int, causal: bool) -> tuple:
    from ..compiler.valueset import infer_value_sets
    from ..ir.graph import build_graph, topological_exprs

    order = topological_exprs(build_graph(sop))
    return infer_value_sets(order, vocab, max_len, causal).values(sop)


def _build_model(compiled: Any, sop: SOp, vocab: list[Any], max_len: int, causal: bool,
                 outputs: tuple, o: TrainOptions) -> TrainedModel:
    import copy

    from ..compiler.model import ModelConfig

    info = {"init": o.init, "seed": o.seed, "data": o.data}
    if o.init == "compiled":
        check_training_memory(compiled.module.cfg, o.batch, 8)
        module = copy.deepcopy(compiled.module).cpu()
        numeric = not compiled.output.categorical
    else:
        if compiled is not None:
            layers, heads = compiled.module.cfg.n_layers, max(compiled.summary()["heads"], default=1)
        else:
            report = sop_layers(sop)
            layers, heads = report.layers + (1 if o.no_pos else 0), report.heads
        layers, heads = o.layers or max(layers, 1), o.heads or max(heads, 1)
        if o.d_model % heads:
            raise RaspInputError(f"--d-model {o.d_model} must be a multiple of the {heads} heads")
        cfg = ModelConfig(
            n_layers=layers, d_model=o.d_model, n_heads=heads, d_head=o.d_model // heads,
            d_mlp=o.d_mlp or 4 * o.d_model, d_vocab=len(vocab) + 1, n_ctx=max_len + 1,
            d_out=len(outputs), causal=causal, normalization="LN", attn_scale=True, biases=True,
        )
        check_training_memory(cfg, o.batch, 4)
        module = new_module(cfg, o.seed)
        numeric = False
    if o.no_pos:
        module.W_pos.data.zero_()
        module.W_pos.requires_grad_(False)
    scale = SHARPNESS if o.init == "compiled" else 1.0
    return TrainedModel(module, list(vocab), max_len, tuple(outputs), causal, o.no_pos, numeric, scale,
                        o.bos, sop.name, info)


def sop_layers(sop: SOp):
    from ..ir.analysis import analyse

    return analyse(sop)


def evaluate(model: TrainedModel, batches: D.Batches) -> tuple[float, float]:
    """(whole-sequence accuracy, token accuracy) over the labelled positions."""
    import torch

    right_seqs = total_seqs = right_tokens = total_tokens = 0
    with torch.no_grad():
        for n, ids in batches.ids.items():
            for start in range(0, len(ids), 2048):
                part = slice(start, start + 2048)
                pred = model.logits(model.module(ids[part])).argmax(-1)
                mask = batches.mask[n][part]
                hit = (pred == batches.targets[n][part]) | ~mask
                right_seqs += int(hit.all(dim=1).sum())
                total_seqs += len(pred)
                right_tokens += int((hit & mask).sum())
                total_tokens += int(mask.sum())
    return right_seqs / max(total_seqs, 1), right_tokens / max(total_tokens, 1)


def fit(setup: Setup, progress: bool = True) -> TrainResult:
    import torch

    # These matrices are tiny: on a CPU, threads cost more in synchronisation than they
    # save (20 steps took 8 s on one thread, 41 s on two, on a busy 2-core machine).
    threads = torch.get_num_threads()
    if setup.options.device == "cpu":
        torch.set_num_threads(1)
    try:
        return _fit(setup, progress)
    finally:
        torch.set_num_threads(threads)


def _fit(setup: Setup, progress: bool) -> TrainResult:
    import torch
    import torch.nn.functional as F

    o, model = setup.options, setup.model
    module = model.module
    start = time.perf_counter()
    torch.manual_seed(o.seed)
    gen = torch.Generator().manual_seed(o.seed)
    init_acc, init_tok = evaluate(model, setup.held_out)
    # Every training input as (its length, its row in that length's tensors).
    lengths = torch.tensor([n for n in sorted(setup.train.ids) for _ in range(len(setup.train.ids[n]))])
    rows_of = torch.cat([torch.arange(len(setup.train.ids[n])) for n in sorted(setup.train.ids)])
    params = [p for p in module.parameters() if p.requires_grad]
    if o.init == "compiled":
        # Plain SGD from compiled weights: an exact model's gradients all but vanish, and
        # Adam's per-weight normalisation would blow them up into full-size steps on every
        # weight, breaking the compiled thresholds (sort fell to 0.1 accuracy in 25 steps at
        # lr 1e-5; SGD at 1e-4 or with momentum also broke it, SGD at 1e-5 kept 1.0).
        # No weight decay either: it would shrink the exact attention scores.
        opt = torch.optim.SGD(params, lr=o.lr)
    else:
        opt = torch.optim.AdamW(params, lr=o.lr, weight_decay=0.01)
    # Cosine decay to a tenth of the rate by the last step: at a constant 1e-3 the late
    # steps kept knocking a learned model off (previous-token validation accuracy swung
    # between 0.55 and 0.98 from step 300 to 1,000).
    steps = max(o.steps, 1)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.1 + 0.45 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    history: list[dict[str, float]] = []
    val_acc, _ = evaluate(model, setup.validation)
    history.append({"step": 0, "loss": float("nan"), "accuracy": val_acc})
    start_state = _snapshot(module)
    # The weights that scored best on validation so far (kept with keep="best").
    best = (val_acc, 0, start_state if o.keep == "best" else None)
    step = 0
    bar = _Bar(o.steps, progress)
    clock = StepClock(o.steps, o.time_limit, say=bar.say if progress else None)
    with bar:
        # Early stopping (only when asked) waits for the first check, so a compiled start
        # is fine-tuned too.
        while (step < o.steps and not (o.early_stop and step >= o.eval_every and val_acc >= o.target)
               and not clock.out_of_time()):
            step += 1
            # A batch of mixed lengths, run one length at a time: batches of a single length
            # pull the weights towards that length's solution in turn.
            picked = torch.randint(0, len(rows_of), (o.batch,), generator=gen)
            total, count = 0.0, 0
            for n in torch.unique(lengths[picked]).tolist():
                rows = rows_of[picked[lengths[picked] == n]]
                mask = setup.train.mask[n][rows]
                logits = model.logits(module(setup.train.ids[n][rows]))
                total = total + F.cross_entropy(logits[mask], setup.train.targets[n][rows][mask], reduction="sum")
                count += int(mask.sum())
            loss = total / max(count, 1)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            schedule.step()
            entry = {"step": step, "loss": loss.item()}
            if step % o.eval_every == 0 or step == o.steps:
                val_acc, _ = evaluate(model, setup.validation)
                entry["accuracy"] = val_acc
                if o.keep == "best" and val_acc > best[0]:
                    best = (val_acc, step, _snapshot(module))
            history.append(entry)
            bar.update(step, entry["loss"], val_acc)
            clock.tick(step)
    kept_step, kept_val = step, val_acc
    if o.keep == "best" and best[0] > val_acc:
        kept_val, kept_step = best[0], best[1]
        module.load_state_dict(best[2])
    acc, tok = evaluate(model, setup.held_out)
    seconds = time.perf_counter() - start
    model.info.update(steps=step, accuracy=acc, token_accuracy=tok, initial_accuracy=init_acc,
                      distribution=setup.distribution, kept=o.keep, kept_step=kept_step,
                      time_limited=clock.out_of_time() and step < o.steps)
    return TrainResult(model, acc, tok, init_acc, init_tok, step, seconds, history, kept=o.keep,
                       kept_step=kept_step, kept_validation=kept_val,
                       weight_change=weight_change(start_state, module),
                       heads=_head_similarity(setup))


def weight_change(before: dict[str, Any], module: Any) -> dict[str, float | None]:
    """|W - W0| / |W0| per weight matrix (Frobenius norms); None for one that started at 0."""
    out: dict[str, float | None] = {}
    for name, after in module.state_dict().items():
        start = before[name].double()
        base = float(start.norm())
        moved = float((after.detach().double().cpu() - start.cpu()).norm())
        out[name] = moved / base if base > 0 else (None if moved else 0.0)
    return out


def _head_similarity(setup: Setup) -> list[dict[str, Any]]:
    """Each compiled head against the trained model: with compiled starting weights, the same
    head (has fine-tuning kept what it did?); otherwise the most similar trained head."""
    from .compare import match_heads, same_heads

    model = setup.model
    if setup.compiled is None or not model.bos:
        return []
    inputs = setup.held_out.inputs[:200]
    match = same_heads if setup.options.init == "compiled" else match_heads
    return [m.to_dict() for m in match(setup.compiled, model, inputs)]


def _snapshot(module: Any) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


class _Bar:
    """A rich progress bar showing the loss and the validation accuracy (or nothing)."""

    def __init__(self, total: int, show: bool):
        self.total, self.show = total, show and total > 0

    def __enter__(self) -> _Bar:
        if self.show:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.progress = Progress(
                TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.4f}  accuracy {task.fields[acc]:.3f}"),
                TimeElapsedColumn(), transient=True,
            )
            self.progress.__enter__()
            self.task = self.progress.add_task("train", total=self.total, loss=float("nan"), acc=0.0)
        return self

    def say(self, text: str) -> None:
        """A line above the bar (on stderr when there is no bar)."""
        if self.show:
            self.progress.console.print(text, highlight=False)
        else:
            import sys

            print(text, file=sys.stderr)

    def update(self, step: int, loss: float, acc: float) -> None:
        if self.show:
            self.progress.update(self.task, completed=step, loss=loss, acc=acc)

    def __exit__(self, *exc: Any) -> None:
        if self.show:
            self.progress.__exit__(*exc)


def train(sop: SOp, vocab: list[Any], max_len: int, causal: bool = False, progress: bool = False,
          corpus: list[tuple[list[str], list[str], bool]] | None = None, **options: Any) -> TrainResult:
    """Train a transformer on `sop`'s task: the Python API of `rasp train`."""
    return fit(prepare(sop, list(vocab), max_len, causal, TrainOptions(**options), corpus), progress)
