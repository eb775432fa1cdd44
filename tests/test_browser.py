"""The viewer page in a real browser: headless Chromium loads it, runs its scripts, and the
rendered DOM (layers, heatmaps, token labels, residual tables, output) must agree with the
interpreter. Skipped, with the reason, where no Chromium is installed."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

import rasp
from rasp.ir.evaluate import evaluate_trace

pytest.importorskip("torch")

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
BROWSER = next((b for b in BROWSERS if shutil.which(b)), None)

pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no headless Chromium found (apt-get install chromium; `make setup` tries it)"
)


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None]):
        self.tag, self.attrs, self.children, self.text_parts = tag, attrs, [], []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(self.text_parts) + "".join(c.text() for c in self.children if c.tag != "title")

    def own_text(self) -> str:
        return "".join(self.text_parts)

    def find(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        found = []
        for c in self.children:
            if (tag is None or c.tag == tag) and (cls is None or cls in c.classes):
                found.append(c)
            found += c.find(tag, cls)
        return found


class Tree(HTMLParser):
    VOID = {"meta", "br", "img", "input", "link", "hr", "stop"}

    def __init__(self, markup: str):
        super().__init__()
        self.root = Node("#root", {})
        self.stack = [self.root]
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        self.stack[-1].text_parts.append(data)


def rendered(page: Path, tmp_path: Path) -> Node:
    """The DOM after the page's scripts ran."""
    result = subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return Tree(result.stdout).root


def short(label: str) -> str:
    """Axis labels longer than 12 characters are cut (the full label is on hover)."""
    return label if len(label) <= 12 else label[:11] + "\u2026"


def show(v) -> str:
    import json

    return v if isinstance(v, str) else json.dumps(v)


@pytest.mark.parametrize(
    "program, vocab, raw",
    [
        ("sort", "e,h,l,o", "hello"),
        # word tokens, one of them hostile markup that must show as text
        ("sentiment", "the,</script><b>x</b>,was,not,good,bad", ["the", "</script><b>x</b>", "was", "not", "good"]),
    ],
)
def test_rendered_page_agrees_with_the_interpreter(program, vocab, raw, tmp_path):
    from rasp.cli import main

    path = PROGRAMS / f"{program}.rasp"
    page = tmp_path / "page.html"
    flags = ["--words", "--input", " ".join(raw)] if isinstance(raw, list) else ["--input", raw]
    assert main(["view", str(path), "--vocab", vocab, "--max-len", str(len(raw)), *flags, "-o", str(page)]) == 0
    dom = rendered(page, tmp_path)
    body = dom.find("body")[0]
    assert body.attrs.get("data-rendered") == "yes"

    prog = rasp.load(path)
    values = evaluate_trace(prog.output, raw)
    # A name two s-ops share (a library function's local and a program's variable) is
    # ambiguous on the page; every other named s-op must agree.
    shared = {n for n, k in Counter(e.name for e in values).items() if k > 1}
    truth = {e.name: v for e, v in values.items() if e.name in prog and e.name not in shared}
    labels = ["BOS", *raw]
    n = len(raw)

    # the output, and the check banner
    assert [s.text() for s in dom.find("span", "out-value")] == [show(v) for v in prog(raw)]
    assert "agrees with the interpreter" in dom.find("div", "banner")[-1].text()

    # layers: embedding, then attention and MLP per layer; one shown at a time; a tab each
    sections = dom.find("section", "layer")
    names = [s.attrs["data-name"] for s in sections]
    layers = prog.layers().layers
    assert names[0] == "embedding" and len(names) >= 1 + 2 * layers
    assert sum("hidden" not in s.attrs for s in sections) == 1
    assert [b.text() for b in dom.find("button", "step-tab")] == names

    heads_seen = 0
    for section in sections:
        for fig in section.find("figure", "head"):
            heads_seen += 1
            svg = fig.find("svg")[0]
            cells = svg.find("rect", "cell")
            assert len(cells) == (n + 1) ** 2
            assert [t.own_text() for t in svg.find("text", "qlabel")] == [short(str(x)) for x in labels]
            assert [t.own_text() for t in svg.find("text", "klabel")] == [t.own_text() for t in svg.find("text", "qlabel")]
            assert svg.find("g", "colour-scale")
            assert all(c.find("title") for c in cells)  # the exact weight on hover
            sop = fig.attrs["data-sop"]
            assert sop, "every head is named after the s-op it computes"
            expr = prog[sop] if sop in prog else None
            selector = getattr(expr, "selector", None)
            if selector is not None and type(expr).__name__ == "Aggregate":
                matrix = evaluate_trace(prog.output, raw)[selector]
                weights = {(int(c.attrs["data-q"]), int(c.attrs["data-k"])): float(c.attrs["data-weight"]) for c in cells}
                for q, row in enumerate(matrix):
                    if sum(row) == 1:
                        assert weights[(q + 1, 1 + row.index(True))] > 0.99
        # the residual table: every named s-op's decoded values are the interpreter's
        for row in section.find("tr"):
            name = row.attrs.get("data-sop")
            if name in truth:
                cells = row.find("td", "value")
                assert [c.text() for c in cells] == [show(v) for v in truth[name]], (section.attrs["data-name"], name)
                assert all("residual coordinates" in c.attrs["title"] for c in cells)
    assert heads_seen >= layers

    # the source: statements link to the layer computing them
    links = dom.find("a", "src-link")
    assert links and all(0 < int(a.attrs["data-layer"]) < len(sections) for a in links)
    output_line = next(line for line in dom.find("div", "src-line") if line.own_text().split("=")[0].strip() == prog.output_name)
    assert output_line.find("a", "src-link")
