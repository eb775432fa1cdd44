"""`rasp train` and `rasp compare`: learned versus compiled transformers."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import RaspInputError
from ..files import check_output
from .args import add_out_arg, add_program_args, add_sop_arg, parse_vocab

TRAIN_HELP = """\
Train a transformer of the compiled model's shape (pre-LayerNorm, learned positional
embeddings unless --no-pos, BOS at position 0) on a RASP program's task. Inputs of
lengths 1..N (or --min-len..N) are labelled by the interpreter; about one input in five (by a hash of its
tokens) is held out and never trained on. --data picks the input distribution:
uniform tokens; skewed (each input draws its own token frequencies, so tokens repeat
and most-frequent/histogram tasks are not near-constant); brackets (a random walk over
the bracket pairs in --vocab, so Dyck prefixes are balanced, open and failed alike,
not failed almost at once as with uniform tokens; with nothing open it often plays a
stray closer and then opens again, so prefixes that failed and came back to depth 0 or
above, like "())(", are common: only a model that remembers the failure gets them right); auto (the default): brackets if the
vocabulary has a bracket pair, else half uniform, half skewed.
Layers and heads default to the compiled model's. --init compiled starts from the
compiled weights (and sizes), trained in float64, so step 0 already scores 1.0.
Runs every one of --steps (--early-stop: stop once validation accuracy reaches --target),
keeps the last weights (--keep best: the best on validation), and reports which were
kept, how far each weight matrix moved (|W - W0| / |W0|) and each compiled head's
attention similarity to the trained model's. Writes the model and a loss-curve PNG
beside it, named after the model file (m.safetensors -> m.loss.png)."""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("train", help="train a transformer of the compiled shape on a program's task",
                              description=TRAIN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_program_args(p, "learn", required=False)
    p.add_argument("--layers", type=int, help="layers (default: as many as the compiled model)")
    p.add_argument("--heads", type=int, help="heads per layer (default: the compiled model's most)")
    p.add_argument("--d-model", type=int, default=64, help="residual width (default 64)")
    p.add_argument("--d-mlp", type=int, help="MLP hidden width (default 4 * d-model)")
    p.add_argument("--steps", type=int, default=2000, help="training steps (default 2000), all of them unless --early-stop")
    p.add_argument("--batch", type=int, default=128, help="inputs per step (default 128)")
    p.add_argument("--lr", type=float,
                   help="learning rate, decaying on a cosine to a tenth (default: 1e-3 with AdamW from random weights; 1e-5 with plain SGD "
                   "from compiled weights, which larger steps or Adam break)")
    p.add_argument("--init", choices=("random", "compiled"), default="random",
                   help="random weights, or the compiled model's weights (fine-tuning)")
    p.add_argument("--no-pos", action="store_true", help="no positional embeddings (needs --causal)")
    p.add_argument("--no-bos", dest="bos", action="store_false",
                   help="no BOS token: the model sees the tokens alone (as in the RASP paper's no-BOS runs)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data, the weights and the batches")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where to train (auto: the GPU when torch sees one; the same seed gives the same "
                   "result on one device, not across devices)")
    p.add_argument("--data", default="auto", choices=("auto", "uniform", "skewed", "brackets"),
                   help="input distribution (see above)")
    p.add_argument("--min-len", type=int, default=1,
                   help="shortest sampled input (default 1; --max-len: every input as long as allowed)")
    p.add_argument("--corpus", metavar="FILE.tsv",
                   help="train on a corpus of `input<TAB>expected` lines (word tokens; the `rasp eval` "
                   "format) instead of sampled inputs; --vocab and --max-len default to the corpus's")
    p.add_argument("--early-stop", action="store_true",
                   help="stop once validation accuracy (checked every 50 steps) reaches --target")
    p.add_argument("--time-limit", type=float, metavar="MINUTES",
                   help="stop after this many minutes, keeping the weights --keep names (without it, a run "
                   "expected to take over an hour is refused after timing its first steps)")
    p.add_argument("--target", type=float, default=1.0,
                   help="the validation accuracy that --early-stop stops at (default 1.0)")
    p.add_argument("--keep", choices=("last", "best"), default="last",
                   help="the weights saved: those after the last step (default), or the best on validation")
    add_out_arg(p, None, "the model file (default: PROGRAM.trained.safetensors in the working folder)")
    p.add_argument("--json", action="store_true",
                   help='print a JSON summary as the last line: {"accuracy", "token_accuracy", "layers", '
                   '"heads", "steps", "seconds", "params", "kept", "kept_step", "weight_change", '
                   '"max_weight_change", "head_similarity", "mean_head_similarity", ...}')
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser(
        "compare", help="match a trained model's attention heads to the compiled model's",
        description="For each compiled attention head (named by its s-op), the trained head whose attention "
        "is most similar on a sample of inputs. Similarity = 1 - mean total-variation distance between "
        "attention rows, in [0, 1] (1: identical attention).",
    )
    p.add_argument("file", help="the .rasp program")
    p.add_argument("model", help="a model file written by `rasp train` (or `rasp compile`)")
    add_sop_arg(p, "compile")
    p.add_argument("--samples", type=int, default=200, help="inputs to compare the heads on (default 200)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: heads [{compiled, trained, similarity}], best_similarity, "
                   "mean_similarity")
    add_out_arg(p, None, "a PNG of the matched heads side by side")
    p.set_defaults(func=cmd_compare)


def cmd_train(args: argparse.Namespace) -> int:
    import rasp

    from ..eval import corpus_vocab, read_corpus
    from ..train.data import corpus_rows
    from ..train.loop import TrainOptions, fit, prepare
    from ..train.plot import loss_curve

    inputs = [args.file] + ([args.corpus] if args.corpus else [])
    default = f"{Path(args.file).stem}.trained.safetensors"
    out = check_output(default if args.out is None else args.out, args.force, inputs)
    curve = check_output(loss_curve_path(out), args.force, inputs)
    examples = read_corpus(args.corpus) if args.corpus else None
    if args.vocab is None and examples is None:
        raise RaspInputError("give --vocab (or --corpus, whose words are then the vocabulary)")
    corpus = corpus_rows(examples, args.corpus) if examples else None
    vocab = parse_vocab(args.vocab) if args.vocab else corpus_vocab(examples)
    max_len = args.max_len if args.max_len is not None else max(len(ex.words) for ex in examples)
    options = TrainOptions(
        layers=args.layers, heads=args.heads, d_model=args.d_model, d_mlp=args.d_mlp, steps=args.steps,
        batch=args.batch, lr=args.lr, seed=args.seed, init=args.init, no_pos=args.no_pos, bos=args.bos,
        early_stop=args.early_stop, target=args.target, keep=args.keep, data=args.data, min_len=args.min_len,
        device=_device(args.device), time_limit=None if args.time_limit is None else args.time_limit * 60,
    )
    prog = rasp.load(args.file)
    setup = prepare(prog.sop(args.sop), vocab, max_len, args.causal, options, corpus)
    result = fit(setup, progress=not args.json)
    result.model.save(out, force=args.force)
    loss_curve(result.history, curve, force=args.force, title=f"{Path(args.file).stem}: {setup.distribution} data")
    summary = result.summary()
    summary["initial_accuracy"] = result.initial_accuracy
    summary["init"] = args.init
    if not args.json:
        s = summary
        print(f"trained {s['layers']} layers x {s['heads']} heads ({s['params']:,} parameters) for "
              f"{s['steps']} steps in {s['seconds']:.1f}s on {setup.distribution} data")
        print(f"held-out accuracy: {result.initial_accuracy:.4f} before, {s['accuracy']:.4f} after "
              f"(token accuracy {s['token_accuracy']:.4f}); {len(setup.held_out)} held-out inputs")
        for line in _movement_lines(s):
            print(line)
        if result.model.info.get("time_limited"):
            print(f"stopped at the time limit of {args.time_limit:g} minutes after {s['steps']:,} steps")
        which = "last" if s["kept"] == "last" else "best-on-validation"
        print(f"saved {out} ({which} weights, step {s['kept_step']}, validation accuracy "
              f"{s['kept_validation_accuracy']:.4f}) and {curve}")
    else:
        print(json.dumps(summary))
    return 0


def loss_curve_path(model_file: Path) -> Path:
    """The loss curve beside the model, named after all of its name: a.x.safetensors and
    a.y.safetensors get a.x.loss.png and a.y.loss.png."""
    stem = model_file.name[: -len(".safetensors")] if model_file.name.endswith(".safetensors") else model_file.stem
    return model_file.with_name(stem + ".loss.png")


def _movement_lines(s: dict[str, Any]) -> list[str]:
    """How far the weights moved and how the heads compare with the compiled ones."""
    moved = sorted(((v, k) for k, v in s["weight_change"].items() if v is not None), reverse=True)
    lines = [f"weights moved (|W - W0| / |W0|): at most {s['max_weight_change']:.3g}"
             + "".join(f"; {k} {v:.3g}" for v, k in moved[:3])]
    if s["head_similarity"]:
        kind = "its own starting head" if s.get("init") == "compiled" else "the most similar trained head"
        heads = ", ".join(f"{h['compiled']} {h['similarity']:.3f}" for h in s["head_similarity"])
        lines.append(f"attention similarity of each compiled head to {kind}: {heads} "
                     f"(mean {s['mean_head_similarity']:.3f})")
    return lines


def cmd_compare(args: argparse.Namespace) -> int:
    import numpy as np

    import rasp

    from ..compiler import compile_program
    from ..models import load_any
    from ..train import data as D
    from ..train.budget import check_compare
    from ..train.compare import match_heads, summarize

    png = check_output(args.out, args.force, [args.file, args.model]) if args.out is not None else None
    if args.samples < 1:
        raise RaspInputError("--samples must be at least 1")
    model = load_any(args.model)
    no_pos = getattr(model, "no_pos", None)
    if no_pos is None:  # a compiled file: it has no positions exactly when W_pos is zero
        no_pos = model.causal and not bool(model.module.W_pos.detach().abs().sum())
    sop_name = args.sop or getattr(model, "sop", None)
    prog = rasp.load(args.file)
    compiled = compile_program(prog.sop(sop_name), model.vocab, model.max_len, causal=model.causal, no_pos=no_pos)
    check_compare(args.samples, [model, compiled], say=lambda text: print(text, file=sys.stderr))
    rng = np.random.default_rng(0)
    dist = D.resolve_distribution("auto", model.vocab)
    inputs = D.sample_split(rng, model.vocab, model.max_len, args.samples, dist, held_out=True)
    inputs = inputs or D.sample_inputs(rng, model.vocab, model.max_len, args.samples, dist)
    matches = match_heads(compiled, model, inputs)
    summary = summarize(matches)
    if png:
        from ..train.plot import matched_heads

        example = max(inputs[:50], key=len)
        matched_heads(matches, compiled, model, example, png, force=args.force)
    if args.json:
        print(json.dumps(summary))
    else:
        for m in summary["heads"]:
            print(f"{m['compiled']:>32} ({m['compiled_head']})  ->  {m['trained']}  similarity {m['similarity']:.3f}")
        print(f"best {summary['best_similarity']:.3f}, mean {summary['mean_similarity']:.3f} "
              f"over {len(inputs)} inputs" + (f"; wrote {png}" if png else ""))
    return 0


def _device(choice: str) -> str:
    import torch

    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise RaspInputError("--device cuda: torch sees no CUDA device here")
    return choice
