"""Table 1 of the RASP paper, at CPU scale: do transformers of the RASP-predicted size learn
the task, does one layer fewer fail, and does the learned attention match the compiled one?

    python bench/table1.py                      # every task, ~30 minutes on 2 free CPU cores
    python bench/table1.py --quick              # three tasks, a few hundred steps: a smoke run
    python bench/table1.py --device cuda --steps 5000 --out table1.md --pictures docs/table1

For each task: train with the compiled model's layers and heads, then with one layer fewer
(same heads, same steps), both from random weights (vocab about 8, lengths up to 10,
d_model 64, pre-LN, AdamW 1e-3, batch 128, early stop at 0.999 validation accuracy).
Accuracy is held-out whole-sequence accuracy (token accuracy in brackets); similarity is
the best match of a trained head to a compiled head (1 - mean total-variation distance of
attention rows, `rasp compare`). Writes a markdown table; with --pictures, the loss curve and
matched attention heads of every predicted-size run as PNGs.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LETTERS = list("abcdefgh")


@dataclass
class Task:
    name: str
    program: str
    vocab: list
    causal: bool = False
    no_pos: bool = False
    bos: bool = True
    data: str = "uniform"  # skewed where uniform tokens make the task near-constant; auto: brackets


TASKS = [
    Task("reverse", "reverse", LETTERS),
    Task("hist (BOS)", "hist", LETTERS),
    Task("hist (no BOS)", "hist", LETTERS, bos=False),
    Task("double hist", "hist2", LETTERS, data="auto"),
    Task("sort", "sort", LETTERS),
    Task("most-frequent", "most_frequent", LETTERS, data="skewed"),
    Task("dyck1", "dyck1", ["(", ")", "a", "b", "c", "d", "e", "f"], data="auto"),
    Task("dyck2", "dyck2", ["(", ")", "{", "}", "a", "b", "c", "d"], data="auto"),
    Task("previous token (causal, no pos)", "prev_token", LETTERS, causal=True, no_pos=True),
]
QUICK = ["reverse", "hist (BOS)", "previous token (causal, no pos)"]


def run_task(task: Task, args: argparse.Namespace) -> dict:
    import numpy as np

    import rasp
    from rasp.compiler import compile_program
    from rasp.train import data as D
    from rasp.train.compare import match_heads
    from rasp.train.loop import TrainOptions, fit, prepare

    sop = rasp.load(ROOT / "programs" / f"{task.program}.rasp").sop()

    def train(layers: int | None):
        options = TrainOptions(
            layers=layers, steps=args.steps, seed=args.seed, no_pos=task.no_pos, bos=task.bos,
            target=0.999, device=args.device, held_out=args.held_out, data=task.data, lr=args.lr,
        )
        setup = prepare(sop, task.vocab, args.max_len, task.causal, options)
        return fit(setup, progress=sys.stderr.isatty())

    full = train(None)
    cfg = full.model.module.cfg
    fewer = train(cfg.n_layers - 1) if cfg.n_layers > 1 else None
    similarity, compiled = None, None
    if task.bos:
        compiled = compile_program(sop, task.vocab, args.max_len, causal=task.causal, no_pos=task.no_pos)
        inputs = D.sample_split(np.random.default_rng(0), task.vocab, args.max_len, 200,
                                D.resolve_distribution("auto", task.vocab), held_out=True)
        matches = match_heads(compiled, full.model, inputs)
        similarity = max(m.similarity for m in matches)
    if args.pictures:
        from rasp.train.plot import loss_curve, matched_heads

        folder = Path(args.pictures)
        folder.mkdir(parents=True, exist_ok=True)
        stem = task.program + ("_nobos" if not task.bos else "")
        loss_curve(full.history, folder / f"{stem}_loss.png", force=True, title=task.name)
        if compiled is not None:
            example = max(inputs[:50], key=len)
            matched_heads(matches, compiled, full.model, example, folder / f"{stem}_heads.png", force=True)
    return {
        "task": task.name,
        "size": f"{cfg.n_layers}/{cfg.n_heads}",
        "accuracy": f"{full.accuracy:.3f} ({full.token_accuracy:.3f})",
        "fewer": f"{fewer.accuracy:.3f} ({fewer.token_accuracy:.3f})" if fewer else "-",
        "similarity": f"{similarity:.2f}" if similarity is not None else "-",
        "steps": f"{full.steps}" + (f" / {fewer.steps}" if fewer else ""),
        "seconds": f"{full.seconds:.0f}" + (f" / {fewer.seconds:.0f}" if fewer else ""),
    }


def markdown(rows: list[dict], args: argparse.Namespace, device: str) -> str:
    head = ("| task | layers/heads | accuracy (token) | one layer fewer | best head similarity | steps | seconds |\n"
            "| --- | --- | --- | --- | --- | --- | --- |\n")
    body = "".join(
        f"| {r['task']} | {r['size']} | {r['accuracy']} | {r['fewer']} | {r['similarity']} | {r['steps']} | {r['seconds']} |\n"
        for r in rows
    )
    note = (f"\n{device}; at most {args.steps} steps (early stop at 0.999 validation accuracy), batch 128, "
            f"max length {args.max_len}, d_model 64, lr {args.lr}, seed {args.seed}; held-out accuracy over {args.held_out} inputs.\n")
    return head + body + note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", help="comma-separated task names or program names (default: all)")
    parser.add_argument("--steps", type=int, help="most steps per run (default 3000; 300 with --quick)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--quick", action="store_true", help="three tasks, 300 steps: a smoke run")
    parser.add_argument("--max-len", type=int, default=10)
    parser.add_argument("--held-out", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (default 1e-3)")
    parser.add_argument("--out", help="also write the markdown table to this file")
    parser.add_argument("--pictures", help="folder for loss curves and matched-head pictures")
    args = parser.parse_args(argv)
    args.steps = args.steps or (300 if args.quick else 3000)
    tasks = TASKS
    if args.programs:
        wanted = set(args.programs.split(","))
        tasks = [t for t in TASKS if t.name in wanted or t.program in wanted]
    elif args.quick:
        tasks = [t for t in TASKS if t.name in QUICK]
    if not tasks:
        parser.error(f"no task matches {args.programs!r}; tasks: {', '.join(t.name for t in TASKS)}")
    import torch

    device = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU ({torch.get_num_threads()} threads available, 1 used)"
    start = time.perf_counter()
    rows = []
    for task in tasks:
        rows.append(run_task(task, args))
        print(f"{task.name}: {rows[-1]}", file=sys.stderr, flush=True)
    table = markdown(rows, args, device) + f"Total {time.perf_counter() - start:.0f} s.\n"
    print(table)
    if args.out:
        Path(args.out).write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
