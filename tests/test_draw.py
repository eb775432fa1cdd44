"""`rasp draw`: the computation graph grouped by layer, with example values."""

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


def test_selector_rows_mark_attended_keys():
    prog = rasp.from_source("s = select(indices, indices, <);\nx = aggregate(s, indices, 0);\n")
    dot = to_dot(prog.output, "abc")
    # query 0 attends to nothing, query 2 attends to keys 0 and 1
    assert "· · ·" in dot
    assert "■ ■ ·" in dot


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

