"""The `rasp` command: REPL (no arguments), run, check, layers, draw, compile, verify, show-model."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from ..errors import RaspError, RaspInputError, RaspValueError, missing_package
from .args import add_input_args, add_out_arg, add_sop_arg, load_program, parse_vocab, read_input


def cmd_run(args: argparse.Namespace) -> int:
    from ..view.display import format_selector, format_sequence

    prog = load_program(args.file)
    raw = read_input(args)
    name = args.sop or prog.output_name
    values = prog(raw, name)
    for w in prog.input_warnings(raw):
        print(w.format(), file=sys.stderr)
    if args.json:
        print(to_json({"output": values, "name": name}))
    elif values and isinstance(values[0], list):
        print(f"{name}({json.dumps(raw)}) =")
        print(format_selector(values, list(raw)))
    else:
        print(f"{name}({json.dumps(raw)}) = {format_sequence(values)}")
    return 0


def to_json(value: Any) -> str:
    """Strict JSON: a value that is not finite is an error, never the invalid token NaN."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        raise RaspValueError("the result holds a number that is not finite, which JSON cannot represent") from None


def cmd_check(args: argparse.Namespace) -> int:
    from ..files import read_text
    from ..language.parser import parse

    for f in args.files:
        module = parse(read_text(f, "program"), f)
        for w in module.warnings:
            print(w.format(), file=sys.stderr)
        print(f"{f}: ok ({len(module.statements)} statements)")
    return 0


def cmd_layers(args: argparse.Namespace) -> int:
    prog = load_program(args.file)
    report = prog.layers(args.sop)
    name = args.sop or prog.output_name
    if args.json:
        print(to_json({"name": name, "layers": report.layers, "heads": report.heads,
                       "heads_per_layer": report.heads_per_layer}))
    else:
        print(f"{name}: {report}")
    return 0


def cmd_draw(args: argparse.Namespace) -> int:
    from ..view.draw import draw_expr

    compile_for = {}
    if (args.vocab is None) != (args.max_len is None):
        raise RaspInputError("give --vocab and --max-len together (to show the compiled model's heads)")
    if args.vocab is not None:
        compile_for = {"vocab": parse_vocab(args.vocab), "max_len": args.max_len}
    prog = load_program(args.file)
    raw = read_input(args)
    draw_expr(prog.sop(args.sop), raw, args.out, force=args.force, sources=(args.file,), **compile_for)
    print(f"wrote {args.out}")
    return 0


def cmd_repl(args: argparse.Namespace) -> int:
    from .repl import main as repl_main

    return repl_main()


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="rasp",
        description="The RASP language: a REPL, an interpreter, and a compiler to exact transformer weights. "
        "With no command, starts the REPL.",
    )
    parser.add_argument("--version", action="version", version=f"rasp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="run a .rasp file on an input and print its output")
    p.add_argument("file", help="a .rasp program")
    add_input_args(p)
    add_sop_arg(p, "print")
    p.add_argument("--json", action="store_true", help='print one JSON object {"output": [...], "name": ...}')
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="parse .rasp files and report syntax errors without running")
    p.add_argument("files", nargs="+", metavar="FILE", help=".rasp files to check")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("layers", help="layers and heads a program needs (RASP paper counting)")
    p.add_argument("file", help="a .rasp program")
    add_sop_arg(p, "analyse")
    p.add_argument("--json", action="store_true", help="print one JSON object with layers and heads per layer")
    p.set_defaults(func=cmd_layers)

    p = sub.add_parser("draw", help="render the computation graph with example values (graphviz)")
    p.add_argument("file", help="a .rasp program")
    add_input_args(p)
    add_sop_arg(p, "draw")
    add_out_arg(p, "graph.svg", "the picture to write: .svg, .png, .pdf, or .dot for Graphviz text")
    p.add_argument("--vocab", help="with --max-len: label layers with the compiled model's head counts")
    p.add_argument("--max-len", type=int, metavar="N", help="with --vocab: the longest input compiled for")
    p.set_defaults(func=cmd_draw)

    p = sub.add_parser("repl", help="start the interactive REPL (the default)")
    p.set_defaults(func=cmd_repl)

    # Each command group registers its subcommands; a new group adds its module here.
    from . import compile as compile_commands
    from . import eval as eval_commands
    from . import train as train_commands
    from . import view as view_commands

    for group in (compile_commands, view_commands, eval_commands, train_commands):
        group.register(sub)
    return parser




def run_guarded(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    from ..files import protect_inputs

    try:
        with protect_inputs():  # no output replaces a file the command has read
            return func(args)
    except RaspError as e:
        print(e.format(), file=sys.stderr)
        return 1
    except ModuleNotFoundError as e:
        error = missing_package(e)
        if error is None:
            raise
        print(error.format(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        return run_guarded(cmd_repl, args)
    return run_guarded(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
