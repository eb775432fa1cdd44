"""The compiler at scale: compile + verification time, peak memory, parameters and
throughput against max_len, for reverse, sort, sort_by_most_freq, dyck2 and a
synthetic word-level program (300 words), with Tracr side by side where it installs.

    .venv/bin/python bench/bench_scale.py [--programs reverse,sort] [--lengths 8,64,256]
        [--timeout 300] [--dtype float64] [--plot scale.png]

Each case runs in a fresh process (so peak memory is its own) and is stopped after
--timeout seconds. Times include verification (`rasp compile` verifies every
model). On a shared machine the times are noisy: compare within one run.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

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


def tracr_status() -> str:
    try:
        import tracr  # noqa: F401
    except ImportError:
        return "Tracr: not installed here (pip install tracr-pypi jax), so no Tracr column"
    return "Tracr: installed, but this benchmark has no Tracr port of the programs yet"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", default="reverse,sort,sort_by_most_freq,dyck2,words")
    ap.add_argument("--lengths", default="8,16,32,64,128,256")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--dtype", default="float64")
    ap.add_argument("--plot", default=None, help="write a plot of total time and parameters to this file")
    ap.add_argument("--one", nargs=2, metavar=("PROGRAM", "MAX_LEN"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_case(args.one[0], int(args.one[1]), args.dtype)))
        return
    print(tracr_status())
    header = ["program", "max_len", "compile_s", "total_s", "peak_gb", "layers", "d_model", "mlp", "params", "checked", "mismatches", "inputs_per_s"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    rows = []
    for name in args.programs.split(","):
        for n in [int(x) for x in args.lengths.split(",")]:
            cmd = [sys.executable, __file__, "--one", name, str(n), "--dtype", args.dtype]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, check=False)
                row = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
                failure = None if row else (done.stderr.strip().splitlines() or ["failed"])[-1][:80]
            except subprocess.TimeoutExpired:
                row, failure = None, f"over {args.timeout} s"
            if row is None:
                print(f"| {name} | {n} | {failure} |", flush=True)
                break  # longer lengths would fail too
            rows.append(row)
            print("| " + " | ".join(f"{row[h]:,}" if isinstance(row[h], int) and h != "max_len" else str(row[h]) for h in header) + " |", flush=True)
    if args.plot and rows:
        plot(rows, args.plot)


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name in dict.fromkeys(r["program"] for r in rows):
        mine = [r for r in rows if r["program"] == name]
        left.plot([r["max_len"] for r in mine], [r["total_s"] for r in mine], "o-", label=name)
        right.plot([r["max_len"] for r in mine], [r["params"] for r in mine], "o-", label=name)
    for ax, label in ((left, "compile + verify (s)"), (right, "parameters")):
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
