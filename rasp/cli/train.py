"""`rasp train` and `rasp compare`: learned versus compiled transformers."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import RaspInputError
from ..files import SOURCE_SUFFIXES, check_output
from .args import (
    add_out_arg,
    add_program_args,
    add_sop_arg,
    add_tokenizer_arg,
    corpus_columns,
    parse_vocab,
    seed_int,
)

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
    p.add_argument("--noise", type=float, default=0.0, metavar="SIGMA",
                   help="with --init compiled: add Gaussian noise to every weight tensor W, standard deviation "
                   "SIGMA times the RMS of W's nonzero entries (all-zero tensors get none), seeded by --seed")
    p.add_argument("--learn", choices=("all", "lexicon"), default="all",
                   help="what learns: every weight (default), or (with --init compiled) only the token "
                   "embedding, the program's weights frozen")
    p.add_argument("--learn-words", metavar="FILE",
                   help="with --learn lexicon: only these words' embedding rows learn (one word a line; a "
                   "word<TAB>value lexicon file serves too)")
    p.add_argument("--lexicon-sop", metavar="NAME",
                   help="the token feature (a lookup of the tokens) that --propose writes as the lexicon "
                   "(default: the only one that reads the tokens)")
    p.add_argument("--propose", metavar="FILE",
                   help="with --init compiled: read the changes back into the program. With --learn lexicon, "
                   "FILE is a word<TAB>value lexicon of the learned words (all words without --learn-words); "
                   "otherwise a text report: changed lexicon entries, per head (named by its s-op) which "
                   "query features attend to which key features more or less, how far each MLP moved")
    p.add_argument("--siit", action="store_true",
                   help="strict interchange intervention training (InterpBench): from random weights of the "
                   "compiled shape, each s-op of a compiled head or MLP aligned with the same head or MLP units, "
                   "trained on behaviour, on the program's counterfactuals when that site is patched from another "
                   "input, and on unchanged output when a spare site is; reports each s-op's IIA and the accuracy "
                   "before and after")
    p.add_argument("--no-pos", action="store_true", help="no positional embeddings (needs --causal)")
    p.add_argument("--no-bos", dest="bos", action="store_false",
                   help="no BOS token: the model sees the tokens alone (as in the RASP paper's no-BOS runs)")
    p.add_argument("--seed", type=seed_int, default=0,
                   help="seed of the data, the weights and the batches (0 to 2**64 - 1)")
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
    p.add_argument("--columns", type=corpus_columns, metavar="IN,EXPECTED",
                   help="with --corpus: the TAB-separated fields (1-based) holding the input and the label, "
                   "as in `rasp eval` (default: the only two)")
    add_tokenizer_arg(p, "with --corpus: split the input column (raw text) with this tokenizer, as `rasp eval` does")
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
    add_sop_arg(p, "compile and match the model's heads to")
    p.add_argument("--samples", type=int, default=200, help="inputs to compare the heads on (default 200)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: heads [{compiled, trained, similarity}], best_similarity, "
                   "mean_similarity")
    add_out_arg(p, None, "a PNG of the matched heads side by side")
    p.set_defaults(func=cmd_compare)


def cmd_train(args: argparse.Namespace) -> int:
    import rasp

    from ..compiler.compiled import require_sop
    from ..eval import Layout, corpus_vocab, read_corpus
    from ..train.data import corpus_rows
    from ..train.lexicon import lexicon_sop, read_words
    from ..train.loop import TrainOptions, fit, prepare
    from ..train.plot import loss_curve

    inputs = [args.file] + ([args.corpus] if args.corpus else [])
    default = f"{Path(args.file).stem}.trained.safetensors"
    out = check_output(default if args.out is None else args.out, args.force, inputs)
    curve = check_output(loss_curve_path(out), args.force, inputs)
    if args.propose and args.init != "compiled":
        raise RaspInputError("--propose reads changes against the compiled weights: it needs --init compiled")
    proposal = check_output(args.propose, args.force, inputs) if args.propose else None
    learn_words = read_words(args.learn_words) if args.learn_words else None
    if (args.columns or args.tokenizer) and not args.corpus:
        raise RaspInputError("--columns and --tokenizer say how to read --corpus: give --corpus")
    layout = Layout(args.columns, args.tokenizer)
    examples = read_corpus(args.corpus, layout=layout) if args.corpus else None
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
        noise=args.noise, learn=args.learn, learn_words=learn_words,
    )
    prog = rasp.load(args.file)
    sop = require_sop(prog.sop(args.sop))
    setup = prepare(sop, vocab, max_len, args.causal, options, corpus)
    if args.siit:
        return _train_siit(args, setup, sop, out, curve)
    feature = lexicon_sop(sop, args.lexicon_sop) if proposal and args.learn == "lexicon" else None
    result = fit(setup, progress=not args.json)
    result.model.save(out, force=args.force)
    loss_curve(result.history, curve, force=args.force, title=f"{Path(args.file).stem}: {setup.distribution} data")
    summary = result.summary()
    summary["initial_accuracy"] = result.initial_accuracy
    summary["init"] = args.init
    summary["noise"] = args.noise
    summary["learn"] = args.learn
    if proposal:
        summary["proposal"] = _write_proposal(proposal, setup, sop, result, feature)
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
        if proposal:
            print(f"proposed {s['proposal']['what']} in {proposal}")
    else:
        print(json.dumps(summary))
    return 0


def _train_siit(args: argparse.Namespace, setup: Any, sop: Any, out: Path, curve: Path) -> int:
    from ..train.plot import loss_curve
    from ..train.siit import siit_fit

    if args.propose or args.learn != "all" or args.noise:
        raise RaspInputError("--siit trains from random weights: drop --propose, --learn and --noise")
    result = siit_fit(setup, sop, args.causal)
    result.model.save(out, force=args.force)
    loss_curve(result.history, curve, force=args.force, title=f"{Path(args.file).stem}: SIIT")
    s = result.summary()
    if args.json:
        print(json.dumps(s))
        return 0
    print(f"SIIT: {s['steps']} steps in {s['seconds']:.1f}s; held-out accuracy {s['accuracy_before']:.4f} before, "
          f"{s['accuracy']:.4f} after")
    for name, value in s["iia"].items():
        print(f"  IIA of {name} at its site: {s['iia_before'][name]:.3f} before, {value:.3f} after")
    print(f"saved {out} and {curve}")
    return 0


def _write_proposal(path: Path, setup: Any, sop: Any, result: Any, feature: Any) -> dict[str, Any]:
    """Write --propose: the learned lexicon, or the report of a full fine-tuning."""
    from ..train.lexicon import decode_features, write_lexicon
    from ..train.propose import write_report

    module = result.model.module
    if feature is None:
        write_report(path, setup.compiled, sop, module)
        return {"file": str(path), "what": "changes"}
    vocab = setup.compiled.vocab
    words = [vocab[r - 1] for r in setup.learned_rows]
    values = decode_features(setup.compiled, module, words, feature)
    write_lexicon(path, values)
    return {"file": str(path), "what": f"{feature.name} of {len(values)} words", "lexicon_sop": feature.name,
            "lexicon": {str(k): v for k, v in values.items()}}


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

    if Path(args.model).suffix.lower() in SOURCE_SUFFIXES:
        raise RaspInputError(
            f"{args.model} is not a model file: the second argument is a .safetensors model written by "
            "`rasp train` (or `rasp compile`), the first the .rasp program",
            hint=f"e.g. rasp compare {args.file} {Path(args.file).stem}.trained.safetensors",
        )
    if args.out is not None and Path(args.out).suffix.lower() != ".png":
        raise RaspInputError(f"compare -o writes a PNG picture: give a name ending in .png, not {args.out!r}")
    png = check_output(args.out, args.force, [args.file, args.model]) if args.out is not None else None
    if args.samples < 1:
        raise RaspInputError("--samples must be at least 1")
    model = load_any(args.model)
    no_pos = getattr(model, "no_pos", None)
    if no_pos is None:  # a compiled file: it has no positions exactly when W_pos is zero
        no_pos = model.causal and not bool(model.module.W_pos.detach().abs().sum())
    prog = rasp.load(args.file)
    sop_name = args.sop or prog.output_name  # the program given, never a name the model recorded
    _check_same_task(model, args.model, sop_name, f"{args.file}'s " + ("--sop" if args.sop else "output"))
    compiled = compile_program(prog.sop(sop_name), model.vocab, model.max_len, causal=model.causal, no_pos=no_pos)
    _check_same_outputs(model, compiled, args.model, sop_name, args.file)
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


def _check_same_task(model: Any, model_file: str, sop_name: str, which: str) -> None:
    """A model records the s-op it computes: comparing it with another s-op's heads would
    report heads of the wrong program as if they were this one's."""
    made_for = getattr(model, "sop", None) or getattr(getattr(model, "output", None), "name", None)
    if made_for is not None and made_for != sop_name:
        raise RaspInputError(
            f"{model_file} was made for the s-op '{made_for}', not for '{sop_name}' ({which}): "
            "it was trained for another program, so its heads cannot be compared with this one's",
            hint=f"compare it with the program it was trained on (or pass --sop {made_for} if this file "
            "defines that same s-op)",
        )


def _check_same_outputs(model: Any, compiled: Any, model_file: str, sop_name: str, program_file: str) -> None:
    """Same name, other program: a trained model's output units are the values its
    program's output could take, so a program whose output takes other values is another."""
    outputs = getattr(model, "outputs", None)  # a trained model's output units
    if outputs is None and hasattr(model, "output"):  # a compiled model's output space
        outputs = model.output.values
    if outputs is None or getattr(model, "numeric_output", False):
        return

    def typed(values: Any) -> set:
        return {(type(v).__name__, v) for v in values}

    if typed(outputs) != typed(compiled.output.values):
        raise RaspInputError(
            f"{model_file} was trained for another program: its '{sop_name}' takes other values "
            f"than {program_file}'s",
        )


def _device(choice: str) -> str:
    import torch

    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise RaspInputError("--device cuda: torch sees no CUDA device here")
    return choice
