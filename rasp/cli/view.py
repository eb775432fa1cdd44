"""`rasp trace`, `rasp view` and `rasp serve`: look inside a compiled (or saved, or trained)
model layer by layer, as text or JSON, as one HTML page, or served live."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import RaspInputError
from .args import add_input_args, add_out_arg, add_program_args, read_input
from .compile import COMPILE_DEFAULTS, _compile

MODEL_SUFFIXES = {".safetensors", ".pt"}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("trace", help="run a compiled model and show every layer, decoded and checked")
    _subject_args(p)
    add_input_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (schema in the README)")
    p.set_defaults(func=cmd_trace)

    p = subparsers.add_parser("view", help="write a self-contained HTML page stepping through the layers")
    _subject_args(p)
    add_input_args(p)
    add_out_arg(p, None, "the HTML file to write (default: PROGRAM.html in the working folder)")
    p.set_defaults(func=cmd_view)

    p = subparsers.add_parser("serve", help="serve the layer viewer on 127.0.0.1 with an input box")
    _subject_args(p)
    add_input_args(p)
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765)")
    p.set_defaults(func=cmd_serve)


def _subject_args(p: argparse.ArgumentParser) -> None:
    add_program_args(p, "trace", required=False)
    p.set_defaults(json=False, **COMPILE_DEFAULTS)  # trace adds its own --json


class Subject:
    """What is being looked at: a model, and the program source when there is one."""

    def __init__(self, args: argparse.Namespace):
        from ..files import read_text

        self.path = args.file
        self.source: str | None = None
        if Path(args.file).suffix in MODEL_SUFFIXES:
            import rasp

            self.model = rasp.load_model(args.file)
        else:
            if args.vocab is None or args.max_len is None:
                raise RaspInputError(
                    f"{args.file} is a program: give --vocab and --max-len to compile it "
                    "(or pass a saved .safetensors model)"
                )
            self.source = read_text(args.file, "program")
            self.model = _compile(args)
        self.title = f"{Path(args.file).name}" + (f" ({self.output_name})" if self.output_name else "")

    @property
    def output_name(self) -> str | None:
        return getattr(getattr(self.model, "output", None), "name", None)

    def trace(self, raw: Any):
        from ..view.trace import trace

        return trace(self.model, raw)

    def page(self, raw: Any, serve: dict[str, Any] | None = None, error: str | None = None) -> str:
        from ..view.page import render_page

        return render_page(
            self.trace(raw) if raw is not None else None, self.title, self.source, self.path,
            getattr(self.model, "components", None), serve=serve, error=error,
        )


def cmd_trace(args: argparse.Namespace) -> int:
    subject = Subject(args)
    t = subject.trace(read_input(args))
    if args.json:
        print(json.dumps(t.to_dict()))
    else:
        print(format_trace(t))
    return 1 if t.mismatches else 0


def cmd_view(args: argparse.Namespace) -> int:
    from ..files import check_output, write_atomic

    default = Path(args.file).with_suffix(".html").name
    out = check_output(default if args.out is None else args.out, args.force, [args.file])
    raw = read_input(args)
    page = Subject(args).page(raw)
    write_atomic(out, page)
    print(f"wrote {out}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ..view.serve import make_server, serve

    if not 0 <= args.port <= 65535:
        raise RaspInputError(f"--port {args.port} is not a port number (0 to 65535)")
    pages: list[Any] = []  # the port is taken first, so a busy port fails before compiling
    server = make_server(lambda text, words: pages[0](text, words), args.port)
    try:
        pages.append(page_server(Subject(args), args))
    except BaseException:
        server.server_close()
        raise
    serve(server)
    return 0


def page_server(subject: Subject, args: argparse.Namespace):
    """The `page_for(text, words)` of `rasp serve`: the page for a typed input (the command
    line's input when none is typed yet); a bad input gives the page with its error."""
    from ..errors import RaspError

    given = args.input is not None or args.input_json is not None

    def page_for(text: str | None, words: bool) -> tuple[int, str]:
        form = {"input": text or "", "words": words}
        try:
            if text is None:
                raw = read_input(args) if given else None
                form = {"input": args.input or args.input_json or "", "words": args.words}
            else:
                raw = text.split() if words else text
                if len(raw) == 0:
                    raise RaspInputError("the input is empty: type at least one token")
            return 200, subject.page(raw, serve=form)
        except RaspError as e:
            return 400, subject.page(None, serve=form, error=e.format())

    return page_for


def format_trace(t: Any) -> str:
    """The trace as text: per layer, the heads (their s-op and pattern) and the residual values."""
    from ..view.trace import token_labels

    labels = token_labels(t.input)
    lines = [f"input:  {' '.join(labels[1:])}", f"output: {' '.join(_cell(v) for v in t.output)}"]
    if t.expected is not None:
        same = [str(v) for v in t.expected] == [str(v) for v in t.output]
        lines.append(f"interpreter: {' '.join(_cell(v) for v in t.expected)}" + ("" if same else "   <- DIFFERS"))
    for layer in t.layers:
        lines.append("")
        lines.append(layer.name + (f"  (computes {', '.join(layer.computes)})" if layer.computes else ""))
        for h in layer.attention:
            what = f"{h.sop} = {h.op or ''}" + (f"({h.selector})" if h.selector else "") if h.sop else ""
            lines.append(f"  head {h.head}: {what}")
            lines += _matrix(h.pattern, labels, indent="    ")
        bad = {(m.sop, m.position): m for m in layer.mismatches}
        rows = [[name] + [_cell(v) + ("!" if (name, p) in bad else "") for p, v in enumerate(vs)]
                for name, vs in layer.values.items()]
        lines += _columns([["s-op", *labels[1:]], *rows], indent="  ") if rows else []
        for m in layer.mismatches:
            lines.append(f"  ! {m.sop}[{m.position}]: model {m.model!r}, interpreter {m.interpreter!r}")
    return "\n".join(lines)


def _cell(v: Any) -> str:
    if v == "":
        return '""'
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _matrix(pattern: list[list[float]], labels: list[str], indent: str) -> list[str]:
    rows = [["q\\k", *labels]] + [[labels[q], *(f"{w:.2f}" if w else "." for w in row)] for q, row in enumerate(pattern)]
    return _columns(rows, indent)


def _columns(rows: list[list[str]], indent: str) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
