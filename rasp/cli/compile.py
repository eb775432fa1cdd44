"""`rasp compile`, `rasp verify` and `rasp show-model`: the compiler's CLI subcommands."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..compiler.estimate import DEFAULT_MAX_PARAMS
from ..errors import RaspCompileError, RaspError, RaspInputError
from ..files import check_output
from .args import (
    add_input_args,
    add_out_arg,
    add_program_args,
    load_program,
    non_negative_int,
    parse_vocab,
    read_input,
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("compile", help="compile a .rasp program to transformer weights, verified")
    _program_args(p)
    add_out_arg(p, None, "the model file to write (default: PROGRAM.safetensors in the working folder)")
    p.add_argument("--json", action="store_true", help="print one JSON summary object instead of tables")
    p.set_defaults(func=_guarded(cmd_compile))

    p = subparsers.add_parser("verify", help="check a compiled program against the interpreter")
    _program_args(p, "verify")
    p.add_argument("--exhaustive", type=non_negative_int, default=20_000, metavar="N",
                   help="check every input of the shortest lengths, up to N inputs (default 20000)")
    p.add_argument("--samples", type=non_negative_int, default=2_000, metavar="N",
                   help="random inputs of the longer lengths (default 2000)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=_guarded(cmd_verify))

    p = subparsers.add_parser("show-model", help="plot attention patterns and the residual stream")
    p.add_argument("model", help="a .safetensors file written by `rasp compile` or `rasp train`")
    add_input_args(p)
    add_out_arg(p, "model.png", "the picture to write (.png, .svg or .pdf; default model.png)")
    p.set_defaults(func=_guarded(cmd_show_model))


def _program_args(p: argparse.ArgumentParser, what: str = "compile") -> None:
    add_program_args(p, what)
    p.add_argument(
        "--no-reuse", dest="reuse", action="store_false",
        help="give every s-op its own residual dimensions (by default dead s-ops' dimensions are reused)",
    )
    p.add_argument("--no-pos", action="store_true",
                   help="no positional embeddings: positions come from causal attention to BOS (needs --causal)")
    p.add_argument(
        "--dtype", choices=["float64", "float32", "float16", "bfloat16"], default="float64",
        help="weight and activation type; the model is checked to stay exact in it and verified in it",
    )
    p.add_argument(
        "--max-params", type=int, default=DEFAULT_MAX_PARAMS, metavar="N",
        help=f"refuse models estimated above N parameters, before building them (default {DEFAULT_MAX_PARAMS:,})",
    )
    p.add_argument("--allow-large", action="store_true", help="no limit on the model's size")


# What `_compile` reads beyond `add_program_args`: commands that compile a program without
# offering these flags (trace, view, serve) set them to these defaults.
COMPILE_DEFAULTS = dict(reuse=True, no_pos=False, dtype="float64", max_params=DEFAULT_MAX_PARAMS, allow_large=False)


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except RaspError as err:
            print(err.format(), file=sys.stderr)
            return 1

    return run


def _compile(args: argparse.Namespace):
    import torch

    from ..compiler import compile_program

    prog = load_program(args.file)
    device = "cuda" if torch.cuda.is_available() else None
    vocab = parse_vocab(args.vocab)
    options = dict(
        causal=args.causal, output=args.sop, device=device, reuse=args.reuse, no_pos=args.no_pos,
        dtype=args.dtype, max_params=None if args.allow_large else args.max_params,
    )
    if args.json:
        return compile_program(prog, vocab, args.max_len, **options)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("compiling: {task.description}"), TimeElapsedColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("starting")

        def phase(name: str) -> None:
            progress.update(task, description=name)

        return compile_program(prog, vocab, args.max_len, on_phase=phase, **options)


def _verify(model: Any, exhaustive: int, samples: int, quiet: bool):
    from ..compiler.verify import default_inputs, verify

    inputs = default_inputs(model.vocab, model.max_len, exhaustive, samples)
    start = time.perf_counter()
    if quiet:
        return verify(model, inputs), time.perf_counter() - start
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("verifying", total=len(inputs), visible=False)

        def advance(n: int) -> None:
            progress.update(task, advance=n, visible=time.perf_counter() - start > 1.0)

        report = verify(model, inputs, on_progress=advance)
    return report, time.perf_counter() - start


def _require_total(report: Any) -> None:
    """A program the interpreter rejects on some inputs (say, a mean of strings) is outside
    the compilable subset: the model would have no defined output to match there."""
    if report.first_rejection is None:
        return
    raw, err = report.first_rejection
    shown = "".join(raw) if all(isinstance(t, str) and len(t) == 1 for t in raw) else raw
    raise RaspCompileError(
        f"cannot compile: the program fails on {report.skipped} of the inputs over this vocabulary, "
        f"e.g. on {shown!r}: {err.message}",
        pos=err.pos,
        hint="a compiled model must compute the program on every input up to --max-len; "
        "restrict --vocab or make the program total",
    )


def _require_checked(report: Any) -> None:
    """A verification that compared nothing proves nothing."""
    if report.checked == 0:
        raise RaspInputError("no inputs were checked: raise --exhaustive or --samples")


def _what_was_checked(model: Any) -> str:
    if model.causal:
        return "the interpreter run on every prefix (causal: position i must equal the program's output on input[:i+1])"
    return "the interpreter"


def _print_mismatches(report: Any) -> None:
    for raw, expected, got in report.mismatches[:5]:
        print(f"mismatch on {raw!r}: interpreter {expected!r}, model {got!r}", file=sys.stderr)


def cmd_compile(args: argparse.Namespace) -> int:
    default = Path(args.file).with_suffix(".safetensors").name
    out = check_output(default if args.out is None else args.out, args.force, [args.file])
    model = _compile(args)
    report, _ = _verify(model, 20_000, 2_000, quiet=args.json)
    _require_total(report)
    if report.ok:  # a model that disagrees with the interpreter is never written
        model.save(out, force=args.force)
    summary = model.summary()
    if args.json:
        summary.update(verified_inputs=report.checked, mismatches=len(report.mismatches),
                       reference="prefixes" if model.causal else "inputs")
        print(json.dumps(summary))
    else:
        _print_summary(model, report, out)
    _print_mismatches(report)
    _blame_dtype(report, args.dtype)
    return 0 if report.ok else 1


def _blame_dtype(report: Any, dtype: str) -> None:
    if not report.ok and dtype != "float64":
        print(f"{dtype} rounding breaks this model on these inputs (the precision check before building is a "
              f"screen, verification decides): compile it in float64, the default", file=sys.stderr)


def cmd_verify(args: argparse.Namespace) -> int:
    model = _compile(args)
    report, seconds = _verify(model, args.exhaustive, args.samples, quiet=args.json)
    _require_total(report)
    _require_checked(report)
    if args.json:
        print(json.dumps({"verified_inputs": report.checked, "mismatches": len(report.mismatches), "seconds": seconds,
                          "reference": "prefixes" if model.causal else "inputs"}))
    else:
        state = "[green]ok[/]" if report.ok else f"[red]{len(report.mismatches)} mismatches[/]"
        from rich.console import Console

        Console().print(
            f"{report.checked} inputs checked against {_what_was_checked(model)} in {seconds:.2f}s: {state}",
            highlight=False,
        )
    _print_mismatches(report)
    _blame_dtype(report, args.dtype)
    return 0 if report.ok else 1


def _print_summary(model: Any, report: Any, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    s = model.summary()
    table = Table(title=f"compiled {model.output.name}")
    for col in ("layer", "heads", "MLP hidden"):
        table.add_column(col, justify="right")
    for i, (h, m) in enumerate(zip(s["heads"], s["mlp_hidden"]), start=1):
        table.add_row(str(i), str(h), str(m))
    where = Table(title="residual stream")
    for col in ("s-op", "computed in", "encoding", "dims"):
        where.add_column(col)
    for name, place, kind in model.placement():
        where.add_row(name, place, kind, str(len(model.dims[name])))
    console = Console()
    console.print(table)
    console.print(where)
    console.print(
        f"layers {s['layers']}, d_model {s['d_model']}, parameters {s['params']:,}; "
        f"verified on {report.checked} inputs against {_what_was_checked(model)}, "
        f"{len(report.mismatches)} mismatches; " + (f"saved {out}" if report.ok else "nothing saved"),
        highlight=False,
    )


def cmd_show_model(args: argparse.Namespace) -> int:
    from ..models import load_any
    from ..view.show import show_model

    check_output(args.out, args.force, [args.model])
    model = load_any(args.model)
    raw = read_input(args)
    path = show_model(model, raw, args.out, args.force)
    print(f"wrote {path}")
    return 0
