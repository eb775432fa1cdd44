"""Is the trained model running the program? Probes and interchange interventions for the
Table 1 tasks (`bench/table1.py`'s settings), and the previous-token story.

    python bench/hypothesis.py --out-dir docs/hypothesis       # every task (make hypothesis)
    python bench/hypothesis.py --programs prev_token,reverse --steps 300

For each task: train the predicted-size model from random weights as Table 1 does (vocab 8,
lengths up to 10, d_model 64, early stop at 0.999 validation accuracy; at most --steps steps),
match its heads to the compiled ones (`rasp compare`'s best similarity), and find each named
s-op's best site by interchange intervention accuracy (`rasp intervene`: heads, MLPs,
residual sites and DAS subspaces, one random position pair per (base, source) pair). For the
previous-token toy (causal, no positional embeddings) it also probes every s-op at every
residual site, in the trained model and in the compiled `--no-pos` one, and draws the
heatmaps. Writes hypothesis.md, hypothesis.json and the pictures to --out-dir.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from table1 import TASKS  # noqa: E402


def run_task(index: int, args: argparse.Namespace) -> dict:
    import numpy as np
    import torch

    import rasp
    from rasp.analysis.highlevel import high_level
    from rasp.analysis.intervene import align, best
    from rasp.analysis.patching import sample_pairs
    from rasp.analysis.subject import Subject
    from rasp.compiler import compile_program
    from rasp.train import data as D
    from rasp.train.compare import match_heads
    from rasp.train.loop import TrainOptions, fit, prepare

    torch.set_num_threads(1)
    task = TASKS[index]
    sop = rasp.load(ROOT / "programs" / f"{task.program}.rasp").sop()
    compiled = compile_program(sop, task.vocab, args.max_len, causal=task.causal, no_pos=task.no_pos)
    min_len = args.max_len if task.fixed_length else 1
    options = TrainOptions(steps=min(task.steps or args.steps, args.steps), seed=args.seed, no_pos=task.no_pos,
                           bos=task.bos, target=0.999, held_out=args.held_out, data=task.data, min_len=min_len)
    start = time.perf_counter()
    result = fit(prepare(sop, task.vocab, args.max_len, task.causal, options), progress=False)
    train_s = time.perf_counter() - start
    model = result.model
    dist = D.resolve_distribution("auto", task.vocab)
    row = {"task": task.name, "program": task.program, "accuracy": result.accuracy, "steps": result.steps,
           "train_seconds": round(train_s, 1)}
    if task.bos:
        inputs = D.sample_split(np.random.default_rng(0), task.vocab, args.max_len, 200, dist, True, min_len)
        row["similarity"] = max(m.similarity for m in match_heads(compiled, model, inputs))
    high = high_level(sop, task.causal)
    names = [v.name for v in high.chosen(every=task.program == "prev_token")]
    rng = np.random.default_rng(args.seed)
    pairs = sample_pairs(rng, task.vocab, args.max_len, args.pairs, dist, "any", True, min_len)
    train_pairs = sample_pairs(rng, task.vocab, args.max_len, args.pairs, dist, "any", False, min_len)
    start = time.perf_counter()
    trained = align(Subject.of(model), high, pairs, train_pairs, names, das_steps=args.das_steps)
    row["intervene_seconds"] = round(time.perf_counter() - start, 1)
    row["best"] = best(trained)
    row["compiled_best"] = best(align(Subject.of(compiled), high, pairs, None, names))
    if task.program == "prev_token" and args.out_dir:
        row["probes"] = story(model, compiled, high, names, trained, task, args, min_len, dist)
    return row


def _job(job: tuple[int, argparse.Namespace]) -> dict:
    return run_task(*job)


def story(model, compiled, high, names, trained, task, args, min_len, dist) -> dict:
    """Probe heatmaps of the trained and the compiled no-pos models, and the trained IIA heatmap."""
    import numpy as np

    from rasp.analysis.plot import heatmap, iia_matrix
    from rasp.analysis.probe import probe_all
    from rasp.analysis.subject import Subject
    from rasp.train import data as D

    rng = np.random.default_rng(args.seed)
    train = D.sample_split(rng, task.vocab, args.max_len, 500, dist, False, min_len)
    test = D.sample_split(rng, task.vocab, args.max_len, 250, dist, True, min_len)
    folder = Path(args.out_dir)
    out = {}
    for label, m in (("trained", model), ("compiled", compiled)):
        subject = Subject.of(m)
        probes = probe_all(subject, high, train, test, names, reference=compiled)
        sites = subject.residual_sites()
        scores = np.array([[p.score for p in probes if p.sop == n] for n in names])
        heatmap(scores, names, sites, folder / f"prev_token_probe_{label}.png",
                f"previous token, {label} (causal, no positions): linear probes", "accuracy", force=True)
        out[label] = [p.to_dict() for p in probes]
    scores, sites = iia_matrix(trained, names)
    heatmap(scores, names, sites, folder / "prev_token_iia_trained.png",
            "previous token, trained: interchange intervention accuracy", "IIA", force=True)
    return out


def markdown(rows: list[dict]) -> str:
    lines = ["| task | accuracy | head similarity | s-op | trained: best site | IIA | changed | compiled: best site | IIA |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        for k, (sop, b) in enumerate(r["best"].items()):
            c = r["compiled_best"].get(sop, {})
            first = k == 0
            sim = f"{r['similarity']:.2f}" if "similarity" in r else "-"
            task, acc = (r["task"], f"{r['accuracy']:.3f}") if first else ("", "")
            lines.append(f"| {task} | {acc} | {sim if first else ''} | `{sop}` | `{b['site']}` | {b['iia']:.2f} | "
                         f"{b['changed']:.2f} | "
                         f"`{c.get('site', '-')}` | {c.get('iia', 0):.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", help="comma-separated task or program names (default: all)")
    parser.add_argument("--steps", type=int, default=1000, help="most training steps per task (default 1000)")
    parser.add_argument("--pairs", type=int, default=200, help="(base, source) pairs to score (and to train DAS)")
    parser.add_argument("--das-steps", type=int, default=100, help="training steps per DAS subspace")
    parser.add_argument("--max-len", type=int, default=10)
    parser.add_argument("--held-out", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="tasks at a time (processes)")
    parser.add_argument("--out-dir", help="write hypothesis.md, hypothesis.json and the pictures here")
    parser.add_argument("--resume", action="store_true",
                        help="keep the tasks already in --out-dir's hypothesis.json and run the others")
    args = parser.parse_args(argv)
    wanted = set(args.programs.split(",")) if args.programs else None
    indices = [i for i, t in enumerate(TASKS) if not wanted or t.name in wanted or t.program in wanted]
    saved = Path(args.out_dir or ".") / "hypothesis.json"
    kept = json.loads(saved.read_text()) if args.resume and saved.exists() else []
    indices = [i for i in indices if TASKS[i].name not in {r["task"] for r in kept}]
    if args.out_dir:
        Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    # The previous-token story first, then the quickest tasks: a run cut short keeps the most.
    indices.sort(key=lambda i: (TASKS[i].program != "prev_token", TASKS[i].steps or 0, len(TASKS[i].vocab)))
    jobs = [(i, args) for i in indices]
    rows = list(kept)
    if args.jobs > 1 and len(jobs) > 1:
        import multiprocessing

        pool = multiprocessing.get_context("spawn").Pool(min(args.jobs, len(jobs)))
        done = pool.imap_unordered(_job, jobs)
    else:
        done = map(_job, jobs)
    for r in done:
        rows.append(r)
        print(f"{r['task']}: accuracy {r['accuracy']:.3f}, {r['train_seconds']} s training, "
              f"{r['intervene_seconds']} s interventions", file=sys.stderr, flush=True)
        if args.out_dir:  # the tasks so far, in case the run is cut short
            (Path(args.out_dir) / "hypothesis.json").write_text(json.dumps(rows, indent=1) + "\n")
    rows.sort(key=lambda r: [t.name for t in TASKS].index(r["task"]))
    total = f"{time.perf_counter() - start:.0f} s" + (" (this run; earlier tasks kept)" if kept else "")
    train_s, intervene_s = (sum(r[k] for r in rows) for k in ("train_seconds", "intervene_seconds"))
    table = markdown(rows) + (f"\nPer task, summed: {train_s:.0f} s training, {intervene_s:.0f} s interventions "
                              f"(wall clock). Total {total}, {args.jobs} job(s) at a time.\n")
    print(table)
    if args.out_dir:
        folder = Path(args.out_dir)
        (folder / "hypothesis.md").write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
