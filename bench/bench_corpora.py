"""The natural-language programs on their corpora, compiled: compile time, model size,
and accuracy (whole corpus and held-out part) by the interpreter and by the transformer.

    .venv/bin/python bench/bench_corpora.py [--device cuda] [grammaticality sentiment ...]

Prints a markdown table (the README's). Compiling grammaticality takes about a minute on
two CPU cores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_eval import CORPUS_PROGRAMS  # noqa: E402

import rasp  # noqa: E402
from rasp.eval import compile_for, interpreter_runner, read_corpus, score  # noqa: E402


def accuracy(result) -> str:
    text = f"{result.total.accuracy:.3f} ({result.total.correct}/{result.total.n})"
    if result.held_out is not None:
        text += f", held-out {result.held_out.accuracy:.3f} ({result.held_out.correct}/{result.held_out.n})"
    return text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpora", nargs="*", help="corpus stems (default: every corpus with a program)")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    print("| program | corpus | vocab | max_len | layers | heads | d_model | parameters | compile s "
          "| interpreter | compiled |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for stem in args.corpora or sorted(CORPUS_PROGRAMS):
        corpus = ROOT / "programs" / "corpora" / f"{stem}.tsv"
        if not corpus.exists():
            continue
        name, classify = CORPUS_PROGRAMS[stem]
        prog = rasp.load(ROOT / "programs" / f"{name}.rasp")
        examples = read_corpus(corpus, classify)
        by_interpreter = score(interpreter_runner(prog), examples, classify)
        model, info = compile_for(prog, examples)
        if args.device:
            model.to(args.device)
        by_model = score(model.run_batch, examples, classify)
        print(f"| {name} | {corpus.name} ({len(examples)}) | {info['vocab']} | {info['max_len']} | {info['layers']} "
              f"| {info['heads']} | {info['d_model']} | {info['params']:,} | {info['compile_seconds']:.1f} "
              f"| {accuracy(by_interpreter)} | {accuracy(by_model)} |", flush=True)


if __name__ == "__main__":
    main()
