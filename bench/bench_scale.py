"""The compiler at scale: compile + verification time, peak memory, parameters and
throughput against max_len, for reverse, sort, sort_by_most_freq, dyck2 and a
synthetic word-level program (300 words), with Tracr side by side where it installs.

    .venv/bin/python bench/bench_scale.py [--programs reverse,sort] [--lengths 8,64,256]
        [--timeout 300] [--dtype float64] [--plot scale.png] [--tracr-python PATH]

Each case runs in a fresh process (so peak memory is its own) and is stopped after
--timeout seconds. Times include verification (`rasp compile` verifies every
model). On a shared machine the times are noisy: compare within one run.

Tracr runs in its own virtual environment (it needs JAX, and must not share rasp's):

    python3 -m venv tracr-venv
    tracr-venv/bin/pip install tracr-pypi jax jaxlib
    RASP_TRACR_PYTHON=tracr-venv/bin/python .venv/bin/python bench/bench_scale.py

Each Tracr case is `bench/bench_tracr.py` under that Python (its docstring says which
Tracr library program stands for each of rasp's and how correctness is checked), with the
same --timeout. The tracr_* columns are its compile seconds, layers, parameters and the
fraction of sampled inputs it gets fully right.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

VOCABS = {
    "reverse": list("abcdefgh"),
    "sort": list("abcdefgh"),
    "sort_by_most_freq": list("abcdefgh"),
    "dyck2": list("(){}a"),
}
WORDS = 300


def one_case(name: str, max_len: int, dtype: str) -> dict:
    """Compile, verify and time one program (in this process)."""
    import torch

    import rasp
    from rasp.compiler import compile_program
    from rasp.compiler.verify import default_inputs, random_inputs, verify

    if name == "words":
        from scale_programs import word_program

        source, vocab = word_program(WORDS)
        prog = rasp.from_source(source)
    else:
        vocab = VOCABS[name]
        prog = rasp.load(ROOT / "programs" / f"{name}.rasp")
    start = time.perf_counter()
    model = compile_program(prog, vocab, max_len, dtype=dtype)
    compiled = time.perf_counter() - start
    report = verify(model, default_inputs(vocab, max_len, 20_000, 2_000))
    total = time.perf_counter() - start
    inputs = random_inputs(vocab, max_len, 500, seed=1, min_len=max_len)
    with torch.no_grad():
        t = time.perf_counter()
        model.run_batch(inputs)
        rate = len(inputs) / (time.perf_counter() - t)
    s = model.summary()
    return {
        "program": name, "max_len": max_len, "compile_s": round(compiled, 1), "total_s": round(total, 1),
        "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "layers": s["layers"], "d_model": s["d_model"], "mlp": max(s["mlp_hidden"], default=0),
        "params": s["params"], "checked": report.checked, "mismatches": len(report.mismatches),
        "inputs_per_s": round(rate),
    }


ENABLE_TRACR = (
    "python3 -m venv tracr-venv && tracr-venv/bin/pip install tracr-pypi jax jaxlib, "
    "then pass --tracr-python tracr-venv/bin/python or set RASP_TRACR_PYTHON"
)


def tracr_status(python: str | None) -> tuple[bool, str]:
    """Whether `python` can run bench_tracr.py, and a line saying so."""
    if not python:
        return False, f"Tracr: no Tracr columns; to add them: {ENABLE_TRACR}"
    probe = "import importlib.metadata as m, tracr, jax; print(m.version('tracr-pypi'), jax.__version__)"
    try:
        done = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"Tracr: {python} does not run ({e}); {ENABLE_TRACR}"
    if done.returncode != 0:
        return False, f"Tracr: {python} cannot import tracr and jax; {ENABLE_TRACR}"
    tracr, jax = done.stdout.split()
    return True, f"Tracr: tracr-pypi {tracr}, jax {jax} ({python}); programs from tracr.compiler.lib, see bench/bench_tracr.py"


RASP_COLUMNS = ["compile_s", "total_s", "peak_gb", "layers", "d_model", "mlp", "params", "checked", "mismatches", "inputs_per_s"]
TRACR_COLUMNS = ["compile_s", "layers", "params", "correct"]


def rasp_case(name: str, n: int, args) -> dict:
    from bench_tracr import run_json  # stdlib only: importable without Tracr

    return run_json([sys.executable, __file__, "--one", name, str(n), "--dtype", args.dtype], args.timeout)


def cells(row: dict | None, columns: list[str]) -> list[str]:
    if row is None:
        return ["-"] * len(columns)
    if "failure" in row:
        return [row["failure"]] + [""] * (len(columns) - 1)
    return [f"{row[c]:,}" if isinstance(row[c], int) else str(row[c]) for c in columns]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", default="reverse,sort,sort_by_most_freq,dyck2,words")
    ap.add_argument("--lengths", default="8,16,32,64,128,256")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--dtype", default="float64")
    ap.add_argument("--plot", default=None, help="write a plot of total time and parameters to this file")
    ap.add_argument("--tracr-python", default=os.environ.get("RASP_TRACR_PYTHON"),
                    help="a Python with tracr-pypi and jax (default: $RASP_TRACR_PYTHON)")
    ap.add_argument("--one", nargs=2, metavar=("PROGRAM", "MAX_LEN"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_case(args.one[0], int(args.one[1]), args.dtype)))
        return
    with_tracr, status = tracr_status(args.tracr_python)
    print(status)
    header = ["program", "max_len", *RASP_COLUMNS] + (["tracr_" + c for c in TRACR_COLUMNS] if with_tracr else [])
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    rows, tracr_rows = [], []
    for name in args.programs.split(","):
        rasp_on = True
        tracr_on = with_tracr and name in VOCABS  # Tracr has no port of the word program
        for n in [int(x) for x in args.lengths.split(",")]:
            if not (rasp_on or tracr_on):
                break  # longer lengths would fail too
            row = rasp_case(name, n, args) if rasp_on else None
            if row is not None and "failure" not in row:
                rows.append(row)
            rasp_on = row is not None and "failure" not in row
            tracr_row = None
            if tracr_on:
                from bench_tracr import run_case

                tracr_row = run_case(args.tracr_python, name, n, args.timeout, 200, 50)
                tracr_on = "failure" not in tracr_row
                if tracr_on:
                    tracr_rows.append(tracr_row)
            line = [name, str(n), *cells(row, RASP_COLUMNS)]
            if with_tracr:
                line += cells(tracr_row, TRACR_COLUMNS)
            print("| " + " | ".join(line) + " |", flush=True)
    if args.plot and (rows or tracr_rows):
        plot(rows, tracr_rows, args.plot)


def plot(rows: list[dict], tracr_rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    colours = {}
    for name in dict.fromkeys(r["program"] for r in rows + tracr_rows):
        mine = [r for r in rows if r["program"] == name]
        if mine:
            (line,) = left.plot([r["max_len"] for r in mine], [r["total_s"] for r in mine], "o-", label=name)
            right.plot([r["max_len"] for r in mine], [r["params"] for r in mine], "o-", color=line.get_color())
            colours[name] = line.get_color()
        theirs = [r for r in tracr_rows if r["program"] == name]
        if theirs:
            style = {"color": colours[name]} if name in colours else {}
            left.plot([r["max_len"] for r in theirs], [r["compile_s"] for r in theirs], "x--", label=f"{name} (Tracr)", **style)
            right.plot([r["max_len"] for r in theirs], [r["params"] for r in theirs], "x--", **style)
    left_label = "compile + verify (s); Tracr: compile (s)" if tracr_rows else "compile + verify (s)"
    for ax, label in ((left, left_label), (right, "parameters")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("max_len")
        ax.set_ylabel(label)
    left.legend()
    fig.tight_layout()
    fig.savefig(path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
