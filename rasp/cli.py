"""The `rasp` command: REPL (no arguments), run, check, layers, draw, compile, verify, show-model."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from .errors import RaspError, RaspInputError


def _read_input(args: argparse.Namespace) -> Any:
    if args.input_json is not None:
        try:
            value = json.loads(args.input_json)
        except json.JSONDecodeError as e:
            raise RaspInputError(f"--input-json is not valid JSON: {e.msg} (column {e.colno})") from None
        if not isinstance(value, (list, str)):
            raise RaspInputError("--input-json must be a JSON list of tokens or a string")
        return value
    if args.input is None:
        raise RaspInputError("no input given: use --input TEXT or --input-json '[...]'")
    return args.input.split() if args.words else args.input


def _add_input_args(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument("--input", "-i", help="input text, one token per character (see --words)")
    p.add_argument("--input-json", help="input as a JSON list of tokens, e.g. '[1, 2, 3]'")
    p.add_argument("--words", action="store_true", help="split --input on whitespace into word tokens")


def cmd_run(args: argparse.Namespace) -> int:
    from .display import format_selector, format_sequence
    from .program import load

    prog = load(args.file)
    raw = _read_input(args)
    name = args.output or prog.output_name
    values = prog(raw, name)
    if args.json:
        print(json.dumps({"output": values, "name": name}))
    elif values and isinstance(values[0], list):
        print(f"{name}({json.dumps(raw)}) =")
        print(format_selector(values, list(raw)))
    else:
        print(f"{name}({json.dumps(raw)}) = {format_sequence(values)}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .parser import parse

    for f in args.files:
        try:
            source = Path(f).read_text()
        except OSError as e:
            raise RaspInputError(f"cannot read {f}: {e.strerror or e}") from None
        module = parse(source, f)
        print(f"{f}: ok ({len(module.statements)} statements)")
    return 0


def cmd_layers(args: argparse.Namespace) -> int:
    from .program import load

    prog = load(args.file)
    report = prog.layers(args.output)
    name = args.output or prog.output_name
    if args.json:
        print(json.dumps({"name": name, "layers": report.layers, "heads": report.heads,
                          "heads_per_layer": report.heads_per_layer}))
    else:
        print(f"{name}: {report}")
    return 0


def cmd_draw(args: argparse.Namespace) -> int:
    from .draw import draw_file

    draw_file(args.file, _read_input(args), args.out, output=args.output)
    print(f"wrote {args.out}")
    return 0


def cmd_repl(args: argparse.Namespace) -> int:
    from .repl import main as repl_main

    return repl_main()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rasp",
        description="The RASP language: a REPL, an interpreter, and a compiler to exact transformer weights. "
        "With no command, starts the REPL.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="run a .rasp file on an input and print its output")
    p.add_argument("file")
    _add_input_args(p)
    p.add_argument("--output", "-n", help="name of the s-op to print (default: the last one assigned)")
    p.add_argument("--json", action="store_true", help='print one JSON object {"output": [...], "name": ...}')
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="parse .rasp files and report syntax errors without running")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("layers", help="layers and heads a program needs (RASP paper counting)")
    p.add_argument("file")
    p.add_argument("--output", "-n", help="s-op to analyse (default: the last one assigned)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_layers)

    p = sub.add_parser("draw", help="render the computation graph with example values (graphviz)")
    p.add_argument("file")
    _add_input_args(p)
    p.add_argument("--output", "-n", help="s-op to draw (default: the last one assigned)")
    p.add_argument("-o", "--out", default="graph.svg", help="output file (.svg, .png, .pdf or .dot)")
    p.set_defaults(func=cmd_draw)

    p = sub.add_parser("repl", help="start the interactive REPL (the default)")
    p.set_defaults(func=cmd_repl)

    try:
        from .compiler.commands import register
    except ImportError:
        pass
    else:
        register(sub)
    return parser


# Optional dependencies and the pip extra that installs each.
_OPTIONAL_PACKAGES = {"torch": "torch", "matplotlib": "draw", "transformer_lens": "lens"}


def run_guarded(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return func(args)
    except RaspError as e:
        print(e.format(), file=sys.stderr)
        return 1
    except ModuleNotFoundError as e:
        extra = _OPTIONAL_PACKAGES.get((e.name or "").split(".")[0])
        if extra is None:
            raise
        print(f"error: this command needs the '{e.name}' package: pip install 'rasp[{extra}]'", file=sys.stderr)
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
