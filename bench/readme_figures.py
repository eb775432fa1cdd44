"""The README's figures, computed from the code as it is now and checked against the README.

    .venv/bin/python bench/readme_figures.py           # the quick figures (seconds)
    .venv/bin/python bench/readme_figures.py --all     # and the compiled language programs (minutes)
    .venv/bin/python bench/readme_figures.py --update  # write the computed figures into README.md

Each figure is a piece of README text (found by a pattern) and the code that produces it
now: the script prints both and exits 1 when one differs, so a change to the compiler or
the stdlib that moves a figure shows up. tests/test_readme_figures.py checks the quick
ones. Times are left out: they depend on the machine and are measured by the other benches.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
sys.path.insert(0, str(ROOT))


@dataclass
class Figure:
    name: str
    pattern: str  # a regex over README.md; group 1 is the figure's text
    compute: Callable[[], str]
    slow: bool = False

    def find(self, text: str) -> re.Match[str]:
        match = re.search(self.pattern, text)
        if match is None:
            raise LookupError(f"README.md no longer has the text of figure {self.name!r} ({self.pattern})")
        return match


def _cli_json(args: list[str]) -> dict:
    from rasp.cli.app import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if main(args) != 0:
            raise RuntimeError(f"rasp {' '.join(args)} failed")
    return json.loads(out.getvalue().strip().splitlines()[-1])


def reverse_compiled() -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        s = _cli_json(["compile", str(ROOT / "programs" / "reverse.rasp"), "--vocab", "a,b,c", "--max-len", "8",
                       "-o", str(Path(tmp) / "reverse.safetensors"), "--json"])
    return f"layers {s['layers']}, d_model {s['d_model']}, parameters {s['params']:,}; verified on {s['verified_inputs']} inputs"


def paper_count(name: str) -> Callable[[], str]:
    def compute() -> str:
        import rasp

        report = rasp.from_source(f"x = {name};").layers()
        layers, heads = report.layers, report.heads
        return f"{layers} layer{'s' if layers != 1 else ''}, {heads} head{'s' if heads != 1 else ''}"

    return compute


def translate_paper_count() -> str:
    import rasp

    report = rasp.load(ROOT / "programs" / "translate.rasp").layers()
    return f"{report.layers} layers, at most {report.heads} heads"


def compiled_for_corpus(program: str, corpus: str, classify: bool) -> Callable[[], str]:
    """The size of a language program compiled for its corpus's words (`rasp eval --compiled`)."""

    def compute() -> str:
        import rasp
        from rasp.eval import compile_for, read_corpus

        examples = read_corpus(ROOT / "programs" / "corpora" / corpus, classify)
        _, info = compile_for(rasp.load(ROOT / "programs" / f"{program}.rasp"), examples)
        return (f"{info['vocab']} | {info['max_len']} | {info['layers']} | {info['heads']} | {info['d_model']} "
                f"| {info['params']:,}")

    return compute


def eval_line(program: str, corpus: str) -> Callable[[], str]:
    def compute() -> str:
        cells = compiled_for_corpus(program, corpus, True)().split(" | ")
        vocab, max_len, layers, heads, d_model, params = cells
        return f"vocab {vocab}, max_len {max_len}, layers {layers}, heads {heads}, d_model {d_model}, parameters {params}"

    return compute


def conformance_cases() -> str:
    sys.path.insert(0, str(ROOT / "tests"))
    import test_conformance_ref

    return str(len(test_conformance_ref.CASES))


def _stdlib_row(label: str) -> str:
    return re.escape(label) + r" \|[^|\n]*— (\d+ layers?, \d+ heads?)"


FIGURES = [
    Figure("reverse compiled for a,b,c and max_len 8", r"\n(layers \d+, d_model \d+, parameters [\d,]+; verified on \d+ inputs)",
           reverse_compiled),
    Figure("stdlib reverse", _stdlib_row("| `reverse`, `make_reverse(seq)`"), paper_count("reverse")),
    Figure("stdlib hist", _stdlib_row("| `hist`, `hist_nobos`, `make_hist(seq)`"), paper_count("hist")),
    Figure("stdlib sort_tokens", _stdlib_row("| `sort_tokens`"), paper_count("sort_tokens")),
    Figure("stdlib sort_by_most_freq_nobos", _stdlib_row("| `sort_by_most_freq_nobos`, `make_sort_by_most_freq(seq, filler, max_len)`"),
           paper_count("sort_by_most_freq_nobos")),
    Figure("stdlib dyck1", _stdlib_row("| `dyck1`, `dyck1_ptf`, `make_dyck1(seq)`"), paper_count("dyck1")),
    Figure("reference-style programs checked", r"`tests/test_conformance_ref\.py` holds (\d+) reference-style programs",
           conformance_cases),
    Figure("translate, the paper's counting", r"The paper's counting \(`rasp layers`\) gives (\d+ layers, at most \d+ heads)",
           translate_paper_count),
    Figure("translate compiled for en_fr.tsv", r"\| translate \| en_fr\.tsv \(202 pairs\) \| ([\d |,]+?) \| [\d.]+ s",
           compiled_for_corpus("translate", "en_fr.tsv", False), slow=True),
    Figure("grammaticality compiled for its corpus", r"\| grammaticality \| grammaticality\.tsv \([^)]*\) \| ([\d |,]+?) \| [\d.]+ s",
           compiled_for_corpus("grammaticality", "grammaticality.tsv", True), slow=True),
    Figure("sentiment compiled for its corpus", r"\| sentiment \| sentiment\.tsv \([^)]*\) \| ([\d |,]+?) \| [\d.]+ s",
           compiled_for_corpus("sentiment", "sentiment.tsv", True), slow=True),
    Figure("rasp eval grammaticality --compiled", r"compiled in [\d.]+s: (vocab \d+, max_len \d+, layers \d+, heads \d+, d_model \d+, parameters [\d,]+)",
           eval_line("grammaticality", "grammaticality.tsv"), slow=True),
]


def check(figures: list[Figure], text: str) -> list[tuple[Figure, str, str]]:
    """(figure, README's text, computed text) for every figure."""
    return [(f, f.find(text).group(1), f.compute()) for f in figures]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true", help="also the slow figures (compiled language programs)")
    parser.add_argument("--update", action="store_true", help="write the computed figures into README.md")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    figures = [f for f in FIGURES if args.all or not f.slow]
    stale = 0
    for figure, written, computed in check(figures, text):
        same = written == computed
        stale += not same
        print(f"{'ok   ' if same else 'STALE'} {figure.name}: {computed}" + ("" if same else f"  (README: {written})"))
        if not same and args.update:
            match = figure.find(text)
            text = text[: match.start(1)] + computed + text[match.end(1) :]
    if args.update and stale:
        README.write_text(text, encoding="utf-8")
        print(f"updated {stale} figure(s) in README.md")
        return 0
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
