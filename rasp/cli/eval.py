"""`rasp eval PROGRAM CORPUS.tsv`: accuracy of a program (or its compiled transformer) on a corpus."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ..errors import RaspInputError
from .args import add_sop_arg, add_tokenizer_arg, corpus_columns, non_negative_int

PAIRS_TOKENIZER = "blimp"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("eval", help="score a program on a corpus of input<TAB>expected lines, "
                              "or on minimal pairs (--pairs)")
    p.add_argument("program", help="a .rasp program (or a compiled .safetensors model)")
    p.add_argument("corpus", nargs="+",
                   help="a .tsv corpus: input<TAB>expected, tokens separated by single spaces; with --pairs, "
                   "one or more .jsonl files of minimal pairs")
    p.add_argument("--classify", action="store_true",
                   help="the expected column is one label, compared with the output at the last position")
    p.add_argument("--numeric", action="store_true",
                   help="the expected column is a number, compared with the output at the last position")
    p.add_argument("--tolerance", type=float, default=None, metavar="T",
                   help="with --numeric: the largest difference that counts as right (default 1e-4)")
    p.add_argument("--columns", type=corpus_columns, metavar="IN,EXPECTED",
                   help="the TAB-separated fields (1-based) holding the input and the expected output, "
                   "e.g. 3,2 for id<TAB>rating<TAB>text (default: the only two)")
    add_tokenizer_arg(p, "split the input column (raw text) with this tokenizer; a saved model's own by default; "
                      f"with --pairs, how sentences are split (default {PAIRS_TOKENIZER})")
    p.add_argument("--pairs", action="store_true",
                   help="the files hold minimal pairs, one JSON object a line with sentence_good and sentence_bad "
                   "(BLiMP's format); a pair is right when the label at the last position is 'good' for the "
                   "good sentence and 'bad' for the bad one")
    p.add_argument("--compiled", action="store_true",
                   help="compile the program for the corpus's words and score the transformer")
    add_sop_arg(p, "score")
    p.add_argument("--json", action="store_true", help='last line: {"n": ..., "correct": ..., "accuracy": ...}')
    p.add_argument("--show", type=non_negative_int, default=20, metavar="K", help="list at most K failures (default 20)")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    import rasp

    from .. import eval as corpus_eval

    if args.pairs:
        return _eval_pairs(args)
    if len(args.corpus) != 1:
        raise RaspInputError(f"rasp eval takes one corpus, got {len(args.corpus)} files",
                             hint="several files at once are for minimal pairs (--pairs)")
    args.corpus = args.corpus[0]
    if args.numeric and args.classify:
        raise RaspInputError("give --numeric or --classify, not both")
    if args.tolerance is not None and (not args.numeric or not args.tolerance >= 0):
        raise RaspInputError("--tolerance needs --numeric and a number of 0 or more")
    model = None
    if args.program.endswith(".safetensors"):  # a saved model: its vocabulary is fixed
        model = rasp.load_model(args.program)
    tokenizer = args.tokenizer or getattr(model, "tokenizer", None)
    layout = corpus_eval.Layout(args.columns, tokenizer, args.classify, args.numeric)
    examples = corpus_eval.read_corpus(args.corpus, args.classify, layout)
    model_info: dict[str, Any] = {}
    if model is not None:
        corpus_eval.check_vocab(model, examples, args.corpus)
        run = model.run_batch
    else:
        prog = rasp.load(args.program)
        warning = corpus_eval.lexicon_warning(prog, examples)
        if warning:
            print(warning.format(), file=sys.stderr)
        if args.compiled:
            model, model_info = corpus_eval.compile_for(prog, examples, args.sop, tokenizer)
            run = model.run_batch
        else:
            run = corpus_eval.interpreter_runner(prog, args.sop)
    tolerance = None
    if args.numeric:
        tolerance = corpus_eval.DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance
    result = _score_with_progress(corpus_eval, run, examples, args.classify, tolerance)
    result.model = model_info
    _report(result, args)
    return 0


def _eval_pairs(args: argparse.Namespace) -> int:
    import rasp

    from .. import eval as corpus_eval
    from .. import pairs as minimal_pairs
    from ..text import get_tokenizer

    split = get_tokenizer(args.tokenizer or PAIRS_TOKENIZER)
    files = [(path, corpus_eval.read_pairs(path, split)) for path in args.corpus]
    model_info: dict[str, Any] = {}
    if args.program.endswith(".safetensors"):  # a saved model: its vocabulary is fixed
        model = rasp.load_model(args.program)
        for path, pairs in files:
            corpus_eval.check_vocab(model, minimal_pairs.pair_examples(pairs), path)
        run = model.run_batch
    elif args.compiled:
        inputs = minimal_pairs.all_inputs(files)
        model, model_info = corpus_eval.compile_for_inputs(rasp.load(args.program), inputs, args.sop)
        run = model.run_batch
    else:
        run = corpus_eval.interpreter_runner(rasp.load(args.program), args.sop)
    total = 2 * sum(len(pairs) for _, pairs in files)
    result = _with_progress(total, lambda advance: minimal_pairs.score_pairs(run, files, on_progress=advance))
    result.model = model_info
    for line in minimal_pairs.report_lines(result, args.show):
        print(line)
    _print_model(model_info)
    if args.json:
        print(json.dumps(result.to_json()))
    return 0


def _score_with_progress(corpus_eval: Any, run: Any, examples: list, classify: bool, tolerance: float | None) -> Any:
    """Score, with a progress bar on a terminal once a run takes more than a second."""
    return _with_progress(len(examples), lambda advance: corpus_eval.score(
        run, examples, classify, on_progress=advance, tolerance=tolerance))


def _with_progress(total: int, work: Any) -> Any:
    """`work(advance)`, with a progress bar on a terminal once it takes more than a second."""
    if not sys.stderr.isatty():
        return work(None)
    from rich.console import Console
    from rich.progress import Progress

    start = time.perf_counter()
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("scoring", total=total, visible=False)

        def advance(n: int) -> None:
            progress.update(task, advance=n, visible=time.perf_counter() - start > 1.0)

        return work(advance)


def _report(result: Any, args: argparse.Namespace) -> None:
    shown = result.failures[: max(args.show, 0)]
    for f in shown:
        ex = f.example
        print(f"line {ex.line}: {' '.join(ex.words)}\n  expected: {' '.join(ex.expected)}\n  got:      {' '.join(f.got)}")
    if len(result.failures) > len(shown):
        print(f"... and {len(result.failures) - len(shown)} more failures")
    t = result.total
    if result.max_abs_error is not None:
        r = "undefined" if result.pearson is None else f"{result.pearson:.4f}"
        print(f"within {args.tolerance if args.tolerance is not None else 1e-4:g}: {t.accuracy:.4f} ({t.correct}/{t.n}); "
              f"max abs error {result.max_abs_error:.3g}; pearson r {r}")
    else:
        print(f"accuracy {t.accuracy:.3f} ({t.correct}/{t.n})")
    if result.held_out is not None:
        h, o = result.held_in, result.held_out
        print(f"  before held-out {h.accuracy:.3f} ({h.correct}/{h.n}); held-out {o.accuracy:.3f} ({o.correct}/{o.n})")
    _print_model(result.model)
    if args.json:
        print(json.dumps(result.to_json()))


def _print_model(m: dict[str, Any]) -> None:
    if m:
        print(f"compiled in {m['compile_seconds']:.2f}s: vocab {m['vocab']}, max_len {m['max_len']}, "
              f"layers {m['layers']}, heads {m['heads']}, d_model {m['d_model']}, parameters {m['params']:,}")
