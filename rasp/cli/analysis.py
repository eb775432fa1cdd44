"""`rasp probe` and `rasp intervene`: is the model running my program?"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import RaspInputError
from ..files import check_output
from .args import add_out_arg, load_program, positive_int

PROBE_HELP = """\
For every s-op of the program and every residual site (TransformerLens names:
blocks.0.hook_resid_pre is the embedding, then blocks.L.hook_resid_mid after layer L's
attention and blocks.L.hook_resid_post after its MLP), fit a linear probe from the residual
at each position to the s-op's value there, on inputs from the training side of the split,
and score it on held-out inputs: accuracy for categorical s-ops (least squares onto one-hot
codes), R² clipped to [0, 1] for numerical ones. On a compiled model every s-op probes at
1.0 wherever the compiler holds it."""

INTERVENE_HELP = """\
Interchange interventions. For (base, source) input pairs, the program's counterfactual
output is its output on the base with one s-op's value at a base position taken from the
source (at a random source position with --positions any, the same one with same, every
position with all); the model's is its output on the base with one site's activation at
that position taken from the source run. A site's IIA for an s-op is the share of pairs on
which the two agree at every position. Sites: each head's output (blocks.L.attn.hook_z[H]),
each attention and MLP output, the whole residual stream at each residual site, a learned
low-rank subspace of it ([das K], distributed alignment search) and, in a compiled model,
the dimensions the compiler wrote the s-op to. 'changed' is the share of pairs whose
counterfactual differs from the base's own output (what a site doing nothing would miss)."""


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="the .rasp program")
    p.add_argument("model", help="a model file from `rasp compile` or `rasp train`")
    p.add_argument("--sop", action="append", metavar="NAME",
                   help="an s-op to analyse (repeatable; default: every named s-op, with tokens, indices, length)")
    p.add_argument("--all-sops", action="store_true", help="every s-op, the program's inner expressions too")
    p.add_argument("--output", metavar="NAME", help="the program's output s-op (default: the model's, or the last assigned)")
    p.add_argument("--data", default="auto", choices=("auto", "uniform", "skewed", "brackets"),
                   help="input distribution, as in `rasp train` (default auto)")
    p.add_argument("--min-len", type=positive_int, default=1, help="shortest sampled input (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampled inputs")
    p.add_argument("--json", action="store_true", help="print one JSON object (no progress bar)")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("probe", help="linear probes of every s-op at every residual site",
                              description=PROBE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(p)
    p.add_argument("--inputs", type=positive_int, default=500,
                   help="inputs to fit the probes on (default 500; half as many held out to score them)")
    add_out_arg(p, None, "a PNG heatmap of the scores (s-op x site)")
    p.set_defaults(func=cmd_probe)

    p = subparsers.add_parser("intervene", help="interchange intervention accuracy of every s-op at every site",
                              description=INTERVENE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(p)
    p.add_argument("--pairs", type=positive_int, default=200,
                   help="held-out (base, source) pairs to score on (default 200; as many training pairs for DAS)")
    p.add_argument("--positions", choices=("any", "same", "all"), default="any",
                   help="which positions are swapped (default any: one base position takes a random source position)")
    p.add_argument("--das-rank", type=positive_int, help="rank of the DAS subspaces (default: the s-op's values - 1, at most 16)")
    p.add_argument("--das-steps", type=int, default=150, help="training steps per DAS subspace (default 150; 0: no DAS)")
    add_out_arg(p, None, "a PNG heatmap of the IIA (s-op x site)")
    p.set_defaults(func=cmd_intervene)


def _setup(args: argparse.Namespace) -> tuple[Any, Any, Any, list[str], str]:
    """The model, its view, the program's variables, the chosen names and the distribution."""
    from ..analysis.highlevel import high_level
    from ..analysis.subject import Subject
    from ..models import load_any
    from ..train import data as D

    model = load_any(args.model)
    subject = Subject.of(model)
    prog = load_program(args.file)
    sop = prog.sop(args.output or getattr(model, "sop", None))
    high = high_level(sop, subject.causal)
    names = [v.name for v in high.chosen(args.sop, args.all_sops)]
    if args.min_len > model.max_len:
        raise RaspInputError(f"--min-len {args.min_len} is longer than the model's max length {model.max_len}")
    return subject, high, sop, names, D.resolve_distribution(args.data, model.vocab)


def _progress(total: int, show: bool, what: str):
    from contextlib import nullcontext

    if not show:
        return nullcontext(lambda *a: None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    class Bar:
        def __enter__(self):
            self.progress = Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                     TextColumn("{task.description}"), transient=True)
            self.progress.__enter__()
            task = self.progress.add_task("", total=total)
            return lambda label="": self.progress.update(task, advance=1, description=str(label))

        def __exit__(self, *exc):
            self.progress.__exit__(*exc)

    return Bar()


def cmd_probe(args: argparse.Namespace) -> int:
    import numpy as np

    from ..analysis.probe import probe_all
    from ..train import data as D

    png = check_output(args.out, args.force, [args.file, args.model]) if args.out else None
    subject, high, sop, names, dist = _setup(args)
    model = subject.model
    rng = np.random.default_rng(args.seed)
    train = D.sample_split(rng, model.vocab, model.max_len, args.inputs, dist, False, args.min_len)
    test = D.sample_split(rng, model.vocab, model.max_len, max(args.inputs // 2, 1), dist, True, args.min_len)
    if not train or not test:
        raise RaspInputError("too few distinct inputs to fit and score probes: give a bigger --vocab or --max-len")
    reference = None if subject.compiled else _reference(sop, model, subject)
    sites = subject.residual_sites()
    with _progress(len(names) * len(sites), not args.json, "probing") as step:
        probes = probe_all(subject, high, train, test, names, reference, step)
    if png:
        from ..analysis.plot import heatmap

        scores = np.array([[p.score for p in probes if p.sop == n] for n in names])
        heatmap(scores, names, sites, png, f"linear probes: {args.model}", "accuracy / R²", args.force)
    if args.json:
        print(json.dumps({"probes": [p.to_dict() for p in probes], "sites": sites}))
        return 0
    from rich.console import Console
    from rich.table import Table

    from ..analysis.plot import short_site

    table = Table(title=f"linear probes ({len(train)} inputs, scored on {len(test)} held out)")
    table.add_column("s-op")
    table.add_column("kind")
    for s in sites:
        table.add_column(short_site(s), justify="right")
    for n in names:
        mine = [p for p in probes if p.sop == n]
        table.add_row(n, mine[0].kind[:3] + f" (base {mine[0].baseline:.2f})", *[f"{p.score:.2f}" for p in mine])
    Console().print(table)
    if png:
        print(f"wrote {png}")
    return 0


def _reference(sop: Any, model: Any, subject: Any) -> Any:
    """The compiled model of the program, for the s-ops' encodings (None if it does not compile)."""
    from ..compiler import compile_program
    from ..errors import RaspError

    try:
        return compile_program(sop, model.vocab, model.max_len, causal=subject.causal, no_pos=subject.no_pos)
    except RaspError:
        return None


def cmd_intervene(args: argparse.Namespace) -> int:
    import numpy as np

    from ..analysis.intervene import align, best, count_steps
    from ..analysis.patching import sample_pairs

    png = check_output(args.out, args.force, [args.file, args.model]) if args.out else None
    if args.das_steps < 0:
        raise RaspInputError("--das-steps must be 0 or more")
    subject, high, sop, names, dist = _setup(args)
    model = subject.model
    rng = np.random.default_rng(args.seed)
    pairs = sample_pairs(rng, model.vocab, model.max_len, args.pairs, dist, args.positions, True, args.min_len)
    train = sample_pairs(rng, model.vocab, model.max_len, args.pairs, dist, args.positions, False, args.min_len) \
        if args.das_steps else None
    if not len(pairs):
        raise RaspInputError("too few distinct inputs to pair: give a bigger --vocab or --max-len")
    with _progress(count_steps(subject, len(names), train is not None), not args.json, "intervening") as step:
        results = align(subject, high, pairs, train, names, args.das_rank, args.das_steps, step)
    top = best(results)
    if png:
        from ..analysis.plot import heatmap, iia_matrix

        scores, sites = iia_matrix(results, names)
        heatmap(scores, names, sites, png, f"interchange intervention accuracy: {args.model}", "IIA", args.force)
    if args.json:
        print(json.dumps({"variables": [r.to_dict() for r in results], "best": top, "pairs": len(pairs)}))
        return 0
    from rich.console import Console
    from rich.table import Table

    from ..analysis.plot import short_site

    table = Table(title=f"interchange interventions ({len(pairs)} pairs, positions {args.positions})")
    for col in ("s-op", "best site", "IIA", "changed", "pairs", "next best"):
        table.add_column(col)
    for n in names:
        mine = sorted((r for r in results if r.sop == n), key=lambda r: -r.iia)
        others = [f"{short_site(r.site)} {r.iia:.2f}" for r in mine if r.site != top[n]["site"]][:2]
        table.add_row(n, short_site(top[n]["site"]), f"{top[n]['iia']:.3f}", f"{top[n]['changed']:.2f}",
                      str(top[n]["pairs"]), "; ".join(others))
    Console().print(table)
    if png:
        print(f"wrote {png}")
    return 0
