"""`rasp draw`: the computation graph grouped by layer, with example values."""

import re
import shutil
import subprocess
import sys

import pytest

import rasp
from rasp.errors import RaspError
from rasp.view.draw import draw_expr, to_dot

SORT_SOURCE = "def f(s) { return sort(s, s); }\nsorted = f(tokens);\n"


def test_dot_groups_nodes_by_layer_and_shows_values():
    prog = rasp.from_source(SORT_SOURCE)
    dot = to_dot(prog.output, "hello")
    # sort needs two attention layers: selector_width, then the aggregate.
    assert "layer 1 attention (1 head)" in dot
    assert "layer 2 attention (1 head)" in dot
    assert "layer 3" not in dot
    # the example values of the output, e h l l o, appear as table cells in order
    assert "<td>e</td><td>h</td><td>l</td><td>l</td><td>o</td>" in dot
    # target = selector_width(...) on "hello" is 1 0 2 3 4 (hand-checked)
    assert "<td>1</td><td>0</td><td>2</td><td>3</td><td>4</td>" in dot


def _selector_rows(dot: str) -> list[list[str]]:
    """The cells of each selector-matrix row in DOT text: query label, then one cell per key."""
    rows = re.findall(r"<tr>((?:<td[^>]*>[^<]*</td>)+)</tr>", dot)
    return [re.findall(r"<td[^>]*>([^<]*)</td>", r) for r in rows]


def test_selector_matrix_has_query_and_key_labels():
    prog = rasp.from_source("s = select(indices, indices, <);\nx = aggregate(s, indices, 0);\n")
    rows = _selector_rows(to_dot(prog.output, "xyz"))
    # header: the corner, then the keys; then one row per query: its token, then the cells
    assert ["q \\ k", "x", "y", "z"] in rows
    assert ["x", "·", "·", "·"] in rows   # query 0 selects no key
    assert ["z", "■", "■", "·"] in rows   # query 2 selects keys 0 and 1


def test_labels_have_no_internal_ids():
    # unnamed selector combinations used to show as selectorand_165
    src = "x = aggregate(select(indices, indices, <) and select(tokens, tokens, ==), indices, 0);"
    dot = to_dot(rasp.from_source(src).output, "abab")
    assert not re.search(r"[a-z]+_\d+", re.sub(r"tokens_str|cluster_\d+", "", dot))
    assert "<b>and</b>" in dot


def test_a_selector_written_twice_is_drawn_once():
    src = "a = aggregate(select(tokens, tokens, ==), indices);\nb = selector_width(select(tokens, tokens, ==));\nx = a + b;"
    dot = to_dot(rasp.from_source(src).output, "abca")
    assert dot.count("<b>select(key == query)</b>") == 1
    assert len(re.findall(r"n\d+ -> n\d+", dot)) == len(set(re.findall(r"n\d+ -> n\d+", dot)))


@pytest.mark.parametrize("name", ["sort_tokens", "reverse", "hist2", "sort_by_most_freq_nobos"])
def test_head_counts_agree_with_the_compiled_model(name):
    pytest.importorskip("torch")
    sop = rasp.from_source("x = 1;")[name]
    model = rasp.compile(sop, vocab="abc", max_len=5)
    dot = to_dot(sop, "abc", vocab=list("abc"), max_len=5)
    drawn = {int(layer): int(n) for layer, n in re.findall(r"layer (\d+) attention \((\d+) heads?\)", dot)}
    compiled = {i + 1: h for i, h in enumerate(model.summary()["heads"]) if h}
    assert drawn == compiled


def test_dot_file_written_without_graphviz(tmp_path):
    prog = rasp.from_source(SORT_SOURCE)
    out = draw_expr(prog.output, "ab", tmp_path / "g.dot")
    assert out.read_text().startswith("digraph rasp {")


def test_unknown_format_is_a_clean_error(tmp_path):
    prog = rasp.from_source(SORT_SOURCE)
    with pytest.raises(RaspError, match="cannot draw"):
        draw_expr(prog.output, "ab", tmp_path / "g.xyz")


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz not installed")
def test_cli_draw_renders_svg(tmp_path):
    src = tmp_path / "s.rasp"
    src.write_text(SORT_SOURCE)
    out = tmp_path / "graph.svg"
    proc = subprocess.run(
        [sys.executable, "-m", "rasp", "draw", str(src), "--input", "hello", "-o", str(out)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert "sorted" in out.read_text()

