"""Fuzzing the command line with hostile files: crafted model headers (shapes, counts, sizes,
metadata, with a valid hash, as anyone can make) and output paths that are the command's own
inputs (by name, by case, through links) or not files at all.

Every run must end with a clean exit status and no traceback, in bounded time and memory;
no input may change, and nothing may be left but the output asked for.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli_fuzz import MEMORY_HEADROOM, _memory_cap, _run_cli

import rasp

pytest.importorskip("torch")

PROGRAM = 'x = aggregate(select(indices, length - indices - 1, ==), tokens, "_");\n'
SECONDS_PER_COMMAND = 30


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, bytes]:
    from rasp.train.loop import train

    folder = tmp_path_factory.mktemp("fuzz-models")
    prog = rasp.from_source(PROGRAM)
    rasp.compile(prog, vocab="ab", max_len=3).save(folder / "c.safetensors")
    train(prog.sop("x"), list("ab"), 3, steps=1, batch=4, d_model=8, held_out=20, train_size=50).model.save(
        folder / "t.safetensors")
    return {kind: (folder / f"{kind}.safetensors").read_bytes() for kind in ("c", "t")}


# --- crafted model headers ------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(-3, 70), st.sampled_from([0, 1, 2**31, 2**40, 50_000_000, 200_000, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
)
JSON = st.recursive(
    st.one_of(NUMBERS, st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=8,
)
CONFIG_FIELDS = ["n_layers", "d_model", "n_heads", "d_head", "d_mlp", "d_vocab", "n_ctx", "d_out",
                 "layer_heads", "layer_mlps", "normalization", "causal", "biases"]
TOP_FIELDS = ["kind", "vocab", "max_len", "causal", "dtype", "output", "spaces", "labels", "alive_until",
              "components", "outputs", "no_pos", "numeric_output", "output_scale", "bos", "sop", "info", "model"]
EDITS = st.lists(
    st.one_of(
        st.tuples(st.just("config"), st.sampled_from(CONFIG_FIELDS), st.one_of(NUMBERS, JSON)),
        st.tuples(st.just("config-list"), st.sampled_from(["layer_heads", "layer_mlps"]),
                  st.lists(st.integers(-1, 10**8), max_size=6)),
        st.tuples(st.just("top"), st.sampled_from(TOP_FIELDS), JSON),
        st.tuples(st.just("delete"), st.sampled_from(TOP_FIELDS + ["model." + f for f in CONFIG_FIELDS]), st.none()),
        st.tuples(st.just("space"), st.sampled_from(["dims", "values", "categorical", "name"]), JSON),
        st.tuples(st.just("tensor"), st.sampled_from(["drop", "widen", "dtype", "extra"]), st.none()),
        st.tuples(st.just("bomb"), st.sampled_from(["d_mlp", "d_model", "n_ctx", "d_vocab"]),
                  st.sampled_from([50_000_000, 10**9])),  # a few KB declaring gigabytes
    ),
    min_size=1, max_size=3,
)


def _apply(meta: dict, state: dict, edit: tuple) -> None:
    import torch

    kind, field, value = edit
    if kind == "config":
        meta["model"][field] = value
    elif kind == "bomb":
        meta["model"][field] = value
        if field == "d_mlp" and meta["model"].get("layer_mlps"):
            meta["model"]["layer_mlps"] = [value] * len(meta["model"]["layer_mlps"])
    elif kind == "config-list":
        meta["model"][field] = value
    elif kind == "top":
        meta[field] = value
    elif kind == "delete":
        holder, _, name = field.rpartition(".")
        (meta["model"] if holder else meta).pop(name, None)
    elif kind == "space" and meta.get("spaces"):
        meta["spaces"][-1][field] = value
    elif kind == "tensor":
        name = sorted(state)[len(state) // 2]
        if field == "drop":
            state.pop(name)
        elif field == "widen":
            state[name] = torch.zeros(*[d + 1 for d in state[name].shape], dtype=state[name].dtype)
        elif field == "dtype":
            state[name] = state[name].to(torch.float16)
        else:
            state["blocks.7.attn.W_Q"] = torch.zeros(1, 2, 3, dtype=state[name].dtype)


def _crafted(original: bytes, edits: list, folder: Path) -> Path:
    from safetensors.torch import load, save

    from rasp.compiler.checkpoint import FORMAT, _digest

    n = int.from_bytes(original[:8], "little")
    header = json.loads(original[8 : 8 + n])["__metadata__"]
    meta, state = json.loads(header["rasp.meta"]), dict(load(original))
    for edit in edits:
        _apply(meta, state, edit)
    text = json.dumps(meta)
    path = folder / "m.safetensors"
    path.write_bytes(save(state, metadata={"rasp.format": FORMAT, "rasp.meta": text, "rasp.sha256": _digest(text, state)}))
    return path


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(which=st.sampled_from(["c", "t"]), edits=EDITS, command=st.sampled_from(["trace", "show-model", "view"]))
def test_crafted_model_headers_are_clean_errors(models, which, edits, command):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = _crafted(models[which], edits, folder)
        argv = [command, str(path), "--input", "ab"]
        if command != "trace":
            argv += ["-o", str(folder / ("out.png" if command == "show-model" else "out.html"))]
        before = path.read_bytes()
        start = time.perf_counter()
        with _memory_cap(MEMORY_HEADROOM):
            code, text = _run_cli(argv, "")
        seconds = time.perf_counter() - start
        assert path.read_bytes() == before
        leftovers = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert code in (0, 1, 2), (edits, code, text[-2000:])
    assert "Traceback" not in text and "internal error" not in text, (edits, text[-2000:])
    assert len(text) < 20_000, edits  # no error listing every key of a huge model
    assert seconds < SECONDS_PER_COMMAND, (edits, seconds)
    assert not leftovers


# --- output paths that are inputs, or not files -------------------------------------------------------

# Each command, and the files it reads (which no output may replace).
COMMANDS = {
    "compile": (["compile", "prog.rasp", "--vocab", "ab", "--max-len", "2"], ["prog.rasp"]),
    "draw": (["draw", "prog.rasp", "--input", "ab"], ["prog.rasp"]),
    "view": (["view", "prog.rasp", "--vocab", "ab", "--max-len", "2", "--input", "ab"], ["prog.rasp"]),
    "view-model": (["view", "model.safetensors", "--input", "ab"], ["model.safetensors"]),
    "show-model": (["show-model", "model.safetensors", "--input", "ab"], ["model.safetensors"]),
    "train": (["train", "prog.rasp", "--corpus", "corpus.data", "--steps", "1", "--d-model", "8", "--batch", "2"],
              ["prog.rasp", "corpus.data"]),
}
INPUTS = ["prog.rasp", "model.safetensors", "corpus.data"]
OUTPUTS = st.one_of(
    st.sampled_from(INPUTS + ["PROG.RASP", "Prog.Rasp", "hard", "soft", "hard.svg", "soft.dot"]),  # inputs
    st.sampled_from(["", " ", "newdir/", "newdir", "sub/", "./", "/dev/null", "/proc/self/out.svg",
                     "/sys/out.svg", "x" * 300, "fifo.svg"]),  # not files
    st.sampled_from(["new.svg", "new.dot", "new.safetensors"]),
    st.text(alphabet="ab./-_ ", max_size=6),
)


def _workspace(work: Path, model: bytes, link_to: str) -> None:
    (work / "prog.rasp").write_text(PROGRAM)
    (work / "model.safetensors").write_bytes(model)
    (work / "corpus.data").write_text("a b\tb a\nb a\ta b\n")
    (work / "sub").mkdir()
    os.mkfifo(work / "fifo.svg")
    for name in ("hard", "hard.svg"):
        os.link(work / link_to, work / name)
    for name in ("soft", "soft.dot"):
        os.symlink(work / link_to, work / name)


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.data())
def test_outputs_never_replace_inputs_or_land_elsewhere(models, data):
    command = data.draw(st.sampled_from(sorted(COMMANDS)), "command")
    argv, reads = COMMANDS[command]
    link_to = data.draw(st.sampled_from(reads), "link_to")  # hard and soft links lead to an input
    out = data.draw(st.one_of(st.sampled_from(reads), OUTPUTS), "out")  # often the input itself
    force = data.draw(st.sampled_from([True, True, False]), "force")
    argv = argv + ["-o", out] + (["--force"] if force else [])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _workspace(work, models["c"], link_to)
        before = {name: (work / name).read_bytes() for name in reads}
        names_before = set(os.listdir(work))
        old = os.getcwd()
        os.chdir(work)
        try:
            start = time.perf_counter()
            with _memory_cap(MEMORY_HEADROOM):
                code, text = _run_cli(argv, "")
            seconds = time.perf_counter() - start
        finally:
            os.chdir(old)
        after = {name: (work / name).read_bytes() for name in reads}
        new = set(os.listdir(work)) - names_before
    assert code in (0, 1, 2), (argv, code, text[-2000:])
    assert "Traceback" not in text and "internal error" not in text, (argv, text[-2000:])
    assert seconds < SECONDS_PER_COMMAND, (argv, seconds)
    changed = [name for name in reads if after[name] != before[name]]
    assert not changed, (argv, changed, text[-500:])  # no input replaced, under any name
    assert not any(n.endswith(".tmp") for n in new), (argv, new)
    allowed = {Path(out).name, "prog.loss.png", Path(out).name.split(".")[0] + ".loss.png"} if out.strip() else set()
    assert new <= allowed, (argv, new)
    if code == 0:
        assert out.strip() and not out.endswith("/")
