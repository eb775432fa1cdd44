"""Table 1 of the RASP paper, at CPU scale: do transformers of the RASP-predicted size learn
the task, does one layer fewer fail, and does the learned attention match the compiled one?

    python bench/table1.py --out-dir table1         # every task, about 30 minutes on 2 free cores
    python bench/table1.py --quick                  # three tasks, a few hundred steps: a smoke run
    PYTHONPATH=. python3 bench/table1.py --device cuda --jobs 8 --out-dir $OUT   # a GPU machine

For each task: train with the compiled model's layers and heads, then with one layer fewer
(same heads, same step budget), both from random weights (vocab 8, lengths up to 10, d_model
64, pre-LN, AdamW 1e-3, batch 128, at most 1,000 steps, early stop at 0.999 validation
accuracy, checked every 50 steps). Exceptions, named in the table: sort uses 16 token values
(with 8, one layer learns it too: it counts each value and its MLP reads the i-th smallest
off the counts), double hist and most-frequent get 2,000 steps. The runs are independent: `--jobs N` runs N at a time in separate processes (one
CPU thread each; on a GPU they share the card, which these tiny, launch-bound models leave
mostly idle). Accuracy is held-out whole-sequence accuracy (token accuracy in brackets);
similarity is the best match of a trained head to a compiled head (1 - mean total-variation
distance of attention rows, `rasp compare`). Prints a markdown table; `--out-dir DIR` also
writes it (table1.md, table1.json) and the loss curve and matched heads of the
predicted-size runs of reverse and the previous-token toy: six files in all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LETTERS = list("abcdefgh")
LETTERS16 = list("abcdefghijklmnop")
DEFAULT_STEPS = 1000


@dataclass
class Task:
    name: str
    program: str
    vocab: list
    causal: bool = False
    no_pos: bool = False
    bos: bool = True
    data: str = "uniform"  # skewed where uniform tokens make the task near-constant; auto: brackets
    fixed_length: bool = False  # every input max_len long (TransformerLens's previous-token toy)
    steps: int | None = None  # most steps for both runs (default DEFAULT_STEPS; --steps overrides)


TASKS = [
    Task("reverse", "reverse", LETTERS),
    Task("hist (BOS)", "hist", LETTERS),
    Task("hist (no BOS)", "hist", LETTERS, bos=False),
    Task("double hist", "hist2", LETTERS, data="auto", steps=2000),
    Task("sort", "sort", LETTERS16),
    Task("most-frequent", "most_frequent", LETTERS, data="skewed", steps=2000),
    Task("dyck1", "dyck1", ["(", ")", "a", "b", "c", "d", "e", "f"], data="auto"),
    Task("dyck2", "dyck2", ["(", ")", "{", "}", "a", "b", "c", "d"], data="auto"),
    # Fixed length as in the TransformerLens demo: with lengths 1..10, positions 0 and 1 (a third
    # of all tokens) are solvable by one layer, which can tell them apart by how much of its
    # attention BOS takes, so token accuracy would say little about finding the previous token.
    Task("previous token (causal, no pos, length 10)", "prev_token", LETTERS, causal=True, no_pos=True,
         fixed_length=True),
]
QUICK = ["reverse", "hist (BOS)", "previous token (causal, no pos, length 10)"]
PICTURED = ("reverse", "prev_token")  # programs whose predicted-size runs get pictures


def run_one(task: Task, fewer: bool, args: argparse.Namespace) -> dict:
    """One training run: the predicted size, or one layer fewer. Returns the numbers of the
    table (and, for the predicted size, the best head similarity and the pictures)."""
    import numpy as np

    import rasp
    from rasp.compiler import compile_program
    from rasp.train import data as D
    from rasp.train.compare import match_heads
    from rasp.train.loop import TrainOptions, fit, prepare

    sop = rasp.load(ROOT / "programs" / f"{task.program}.rasp").sop()
    compiled = compile_program(sop, task.vocab, args.max_len, causal=task.causal, no_pos=task.no_pos)
    layers = compiled.module.cfg.n_layers - 1 if fewer else None
    if layers == 0:
        return {"skipped": True}
    options = TrainOptions(
        layers=layers, steps=args.steps or task.steps or DEFAULT_STEPS, seed=args.seed, no_pos=task.no_pos, bos=task.bos,
        early_stop=True, keep="best", target=0.999, device=args.device, held_out=args.held_out, data=task.data, lr=args.lr,
        min_len=args.max_len if task.fixed_length else 1,
    )
    result = fit(prepare(sop, task.vocab, args.max_len, task.causal, options), progress=False)
    cfg = result.model.module.cfg
    row = {"layers": cfg.n_layers, "heads": cfg.n_heads, "accuracy": result.accuracy,
           "token_accuracy": result.token_accuracy, "steps": result.steps, "seconds": result.seconds}
    if fewer or not task.bos:  # a model without BOS has no counterpart among compiled heads
        return row
    inputs = D.sample_split(np.random.default_rng(0), task.vocab, args.max_len, 200,
                            D.resolve_distribution("auto", task.vocab), held_out=True)
    matches = match_heads(compiled, result.model, inputs)
    row["similarity"] = max(m.similarity for m in matches)
    if args.out_dir and task.program in PICTURED:
        from rasp.train.plot import loss_curve, matched_heads

        folder = Path(args.out_dir)
        try:
            loss_curve(result.history, folder / f"{task.program}_loss.png", force=True, title=task.name)
            example = max(inputs[:50], key=len)
            matched_heads(matches, compiled, result.model, example, folder / f"{task.program}_heads.png", force=True)
        except ImportError as e:  # no matplotlib: the table still counts
            print(f"no pictures for {task.name}: {e}", file=sys.stderr)
    return row


def _job(job: tuple[int, bool, argparse.Namespace]) -> tuple[int, bool, dict]:
    index, fewer, args = job
    import torch

    torch.set_num_threads(1)
    return index, fewer, run_one(TASKS_BY_INDEX[index], fewer, args)


TASKS_BY_INDEX = dict(enumerate(TASKS))


def table_row(task: Task, full: dict, fewer: dict, args: argparse.Namespace) -> dict:
    has_fewer = not fewer.get("skipped")
    notes = ([f"vocab {len(task.vocab)}"] if len(task.vocab) != len(LETTERS) else []) + (
        [f"at most {task.steps:,} steps"] if task.steps and not args.steps else [])
    return {
        "task": task.name + (f" ({', '.join(notes)})" if notes else ""),
        "size": f"{full['layers']}/{full['heads']}",
        "accuracy": f"{full['accuracy']:.3f} ({full['token_accuracy']:.3f})",
        "fewer": f"{fewer['accuracy']:.3f} ({fewer['token_accuracy']:.3f})" if has_fewer else "-",
        "similarity": f"{full['similarity']:.2f}" if "similarity" in full else "-",
        "steps": f"{full['steps']}" + (f" / {fewer['steps']}" if has_fewer else ""),
        "seconds": f"{full['seconds']:.0f}" + (f" / {fewer['seconds']:.0f}" if has_fewer else ""),
    }


def markdown(rows: list[dict], args: argparse.Namespace, device: str) -> str:
    head = ("| task | layers/heads | accuracy (token) | one layer fewer | best head similarity | steps | seconds |\n"
            "| --- | --- | --- | --- | --- | --- | --- |\n")
    body = "".join(
        f"| {r['task']} | {r['size']} | {r['accuracy']} | {r['fewer']} | {r['similarity']} | {r['steps']} | {r['seconds']} |\n"
        for r in rows
    )
    budget = f"{args.steps}" if args.steps else f"{DEFAULT_STEPS} (or as a row says)"
    note = (f"\n{device}; at most {budget} steps per run, the same for both runs of a task (early stop at 0.999 validation accuracy), batch 128, "
            f"max length {args.max_len}, d_model 64, lr {args.lr}, seed {args.seed}; held-out accuracy over {args.held_out} inputs.\n")
    return head + body + note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", help="comma-separated task names or program names (default: all)")
    parser.add_argument("--steps", type=int,
                        help=f"most steps for every run (default: the task's own budget, {DEFAULT_STEPS} unless "
                             "the table says otherwise; 300 with --quick)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--jobs", type=int, help="runs at a time, in separate processes (default: the CPU count)")
    parser.add_argument("--quick", action="store_true", help="three tasks, 300 steps: a smoke run")
    parser.add_argument("--max-len", type=int, default=10)
    parser.add_argument("--held-out", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (default 1e-3)")
    parser.add_argument("--out-dir", help="write table1.md, table1.json and the pictures to this folder")
    args = parser.parse_args(argv)
    args.steps = args.steps or (300 if args.quick else None)
    indices = list(TASKS_BY_INDEX)
    if args.programs:
        wanted = set(args.programs.split(","))
        indices = [i for i, t in TASKS_BY_INDEX.items() if t.name in wanted or t.program in wanted]
    elif args.quick:
        indices = [i for i, t in TASKS_BY_INDEX.items() if t.name in QUICK]
    if not indices:
        parser.error(f"no task matches {args.programs!r}; tasks: {', '.join(t.name for t in TASKS)}")
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    if args.out_dir:
        Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    jobs = [(i, fewer, args) for i in indices for fewer in (False, True)]
    jobs.sort(key=lambda job: -(TASKS_BY_INDEX[job[0]].steps or 0))  # the longest first: less idle at the end
    workers = max(1, min(args.jobs or os.cpu_count() or 1, len(jobs)))
    device = torch.cuda.get_device_name() if args.device == "cuda" else "CPU"
    device += f", {workers} run(s) at a time, 1 CPU thread each"
    start = time.perf_counter()
    results: dict[tuple[int, bool], dict] = {}
    if workers == 1:
        done = map(_job, jobs)
    else:
        import multiprocessing

        pool = multiprocessing.get_context("spawn").Pool(workers)  # spawn: CUDA cannot be forked
        done = pool.imap_unordered(_job, jobs)
    for index, fewer, row in done:
        results[index, fewer] = row
        print(f"{TASKS_BY_INDEX[index].name}{' (one layer fewer)' if fewer else ''}: {row}", file=sys.stderr, flush=True)
        if args.out_dir:  # the runs so far, in case the whole table is cut short
            write_json(Path(args.out_dir) / "table1.json", results)
    if workers > 1:
        pool.close()
        pool.join()
    rows = [table_row(TASKS_BY_INDEX[i], results[i, False], results[i, True], args) for i in indices]
    table = markdown(rows, args, device) + f"Total {time.perf_counter() - start:.0f} s.\n"
    print(table)
    if args.out_dir:
        folder = Path(args.out_dir)
        (folder / "table1.md").write_text(table)
    return 0


def write_json(path: Path, results: dict[tuple[int, bool], dict]) -> None:
    raw = [{"task": TASKS_BY_INDEX[i].name, "spec": asdict(TASKS_BY_INDEX[i]),
            "run": "one layer fewer" if fewer else "predicted size", **row}
           for (i, fewer), row in sorted(results.items())]
    path.write_text(json.dumps(raw, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
