"""Conventions of the ecosystem (issue 12): --version, clean errors for missing extras,
one input convention for every command, and no import cycles in the package."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

import rasp
from rasp.cli.app import build_parser, main
from rasp.errors import RaspDependencyError

REPO = Path(__file__).resolve().parent.parent


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"rasp {rasp.__version__}"


def test_python_m_rasp_version():
    proc = subprocess.run([sys.executable, "-m", "rasp", "--version"], capture_output=True, text=True,
                          cwd=REPO, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == f"rasp {rasp.__version__}"


def test_compile_without_torch_is_the_cli_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails as if absent
    prog = rasp.from_source("x = aggregate(select(indices, indices, ==), tokens);")
    with pytest.raises(RaspDependencyError) as err:
        rasp.compile(prog, vocab="ab", max_len=4)
    src = tmp_path / "p.rasp"
    src.write_text("x = aggregate(select(indices, indices, ==), tokens);\n")
    assert main(["compile", str(src), "--vocab", "a,b", "--max-len", "4", "-o", str(tmp_path / "m.safetensors")]) == 1
    printed = capsys.readouterr().err.strip()
    assert printed == err.value.format()
    assert "pip install 'rasp[torch]'" in printed


@pytest.mark.parametrize("command", [["run", "f.rasp"], ["draw", "f.rasp"], ["show-model", "m.safetensors"]])
def test_every_command_takes_input_one_way(command):
    parser = build_parser()
    for flags, attr, value in [(["--input", "ab"], "input", "ab"), (["--input-json", "[1]"], "input_json", "[1]"),
                               (["-i", "ab", "--words"], "words", True)]:
        args = parser.parse_args(command + flags)
        assert getattr(args, attr) == value


def test_sop_and_out_flags_do_not_clash():
    args = build_parser().parse_args(["draw", "f.rasp", "--input", "a", "--output", "x", "-o", "g.svg"])
    assert args.sop == "x" and args.out == "g.svg"


def _imports() -> nx.DiGraph:
    """Module -> rasp module it imports, anywhere in the file (function-level imports too)."""
    root = REPO / "rasp"
    graph = nx.DiGraph()
    for path in root.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = ".".join(parts[:-1])
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                candidates = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                candidates = [node.module or ""]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            for c in candidates:
                is_module = (REPO / (c.replace(".", "/") + ".py")).exists() or (REPO / c.replace(".", "/")).is_dir()
                # a package's __init__ re-exporting its own modules is not a cycle between stages
                if c.startswith("rasp") and is_module and c != module and not c.startswith(module + "."):
                    graph.add_edge(module, c)
    return graph


def test_no_import_cycles():
    graph = _imports()
    cycles = [c for c in nx.simple_cycles(graph) if "rasp" not in c]
    assert cycles == []
    # the two cycles issue 12 names are gone for good
    assert not graph.has_edge("rasp.ir.sops", "rasp.view.display")
    assert not graph.has_edge("rasp.language.operators", "rasp.language.interpreter")
