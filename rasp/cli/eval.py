"""`rasp eval PROGRAM CORPUS.tsv`: accuracy of a program (or its compiled transformer) on a corpus."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from .args import add_sop_arg, non_negative_int


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("eval", help="score a program on a corpus of input<TAB>expected lines")
    p.add_argument("program", help="a .rasp program (or a compiled .safetensors model)")
    p.add_argument("corpus", help="a .tsv corpus: input<TAB>expected, tokens separated by single spaces")
    p.add_argument("--classify", action="store_true",
                   help="the expected column is one label, compared with the output at the last position")
    p.add_argument("--compiled", action="store_true",
                   help="compile the program for the corpus's words and score the transformer")
    add_sop_arg(p, "score")
    p.add_argument("--json", action="store_true", help='last line: {"n": ..., "correct": ..., "accuracy": ...}')
    p.add_argument("--show", type=non_negative_int, default=20, metavar="K", help="list at most K failures (default 20)")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    import rasp

    from .. import eval as corpus_eval

    examples = corpus_eval.read_corpus(args.corpus, args.classify)
    model_info: dict[str, Any] = {}
    if args.program.endswith(".safetensors"):  # a saved model: its vocabulary is fixed
        model = rasp.load_model(args.program)
        corpus_eval.check_vocab(model, examples, args.corpus)
        run = model.run_batch
    else:
        prog = rasp.load(args.program)
        warning = corpus_eval.lexicon_warning(prog, examples)
        if warning:
            print(warning.format(), file=sys.stderr)
        if args.compiled:
            model, model_info = corpus_eval.compile_for(prog, examples, args.sop)
            run = model.run_batch
        else:
            run = corpus_eval.interpreter_runner(prog, args.sop)
    result = _score_with_progress(corpus_eval, run, examples, args.classify)
    result.model = model_info
    _report(result, args)
    return 0


def _score_with_progress(corpus_eval: Any, run: Any, examples: list, classify: bool) -> Any:
    """Score, with a progress bar on a terminal once a run takes more than a second."""
    if not sys.stderr.isatty():
        return corpus_eval.score(run, examples, classify)
    from rich.console import Console
    from rich.progress import Progress

    start = time.perf_counter()
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("scoring", total=len(examples), visible=False)

        def advance(n: int) -> None:
            progress.update(task, advance=n, visible=time.perf_counter() - start > 1.0)

        return corpus_eval.score(run, examples, classify, on_progress=advance)


def _report(result: Any, args: argparse.Namespace) -> None:
    shown = result.failures[: max(args.show, 0)]
    for f in shown:
        ex = f.example
        print(f"line {ex.line}: {' '.join(ex.words)}\n  expected: {' '.join(ex.expected)}\n  got:      {' '.join(f.got)}")
    if len(result.failures) > len(shown):
        print(f"... and {len(result.failures) - len(shown)} more failures")
    t = result.total
    print(f"accuracy {t.accuracy:.3f} ({t.correct}/{t.n})")
    if result.held_out is not None:
        h, o = result.held_in, result.held_out
        print(f"  before held-out {h.accuracy:.3f} ({h.correct}/{h.n}); held-out {o.accuracy:.3f} ({o.correct}/{o.n})")
    if result.model:
        m = result.model
        print(f"compiled in {m['compile_seconds']:.2f}s: vocab {m['vocab']}, max_len {m['max_len']}, "
              f"layers {m['layers']}, heads {m['heads']}, d_model {m['d_model']}, parameters {m['params']:,}")
    if args.json:
        print(json.dumps(result.to_json()))
