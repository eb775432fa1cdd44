"""Issues 22.8 and 23.5: crafted model files. The checksum is unkeyed, so a file can carry a
valid hash over any metadata: the metadata is checked against the schema, and the shapes it
declares against the tensors in the file and the memory they need, before anything is built."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import rasp
from rasp.compiler import schema
from rasp.errors import RaspLoadError

pytest.importorskip("torch")

PROGRAM = 'x = aggregate(select(indices, length - indices - 1, ==), tokens, "_");'


@pytest.fixture(scope="module")
def compiled_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "rev.safetensors"
    rasp.compile(rasp.from_source(PROGRAM), vocab="abc", max_len=4).save(path)
    return path


@pytest.fixture(scope="module")
def trained_file(tmp_path_factory) -> Path:
    from rasp.train.loop import TrainOptions, fit, prepare

    prog = rasp.from_source(PROGRAM)
    setup = prepare(prog.sop("x"), ["a", "b"], 3, False, TrainOptions(steps=1, batch=4, d_model=8))
    path = tmp_path_factory.mktemp("models") / "t.safetensors"
    fit(setup, progress=False).model.save(path)
    return path


def craft(source: Path, target: Path, edit=None, meta_json: str | None = None, tensors=None) -> Path:
    """A copy of `source` with its metadata edited (or replaced) and a valid hash: what anyone can make."""
    from safetensors import safe_open
    from safetensors.torch import save

    from rasp.compiler.checkpoint import FORMAT, _digest

    with safe_open(str(source), "pt") as f:
        state = {k: f.get_tensor(k) for k in f.keys()}
        meta = json.loads(f.metadata()["rasp.meta"])
    if edit:
        edit(meta)
    if tensors:
        tensors(state)
    text = json.dumps(meta) if meta_json is None else meta_json
    target.write_bytes(save(state, metadata={"rasp.format": FORMAT, "rasp.meta": text, "rasp.sha256": _digest(text, state)}))
    return target


def _set(*keys_value):
    *keys, value = keys_value

    def edit(meta):
        d = meta
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value

    return edit


BAD_METADATA = [
    (None, "{not json", "not valid JSON"),
    (None, "[1, 2]", "a list, not an object"),
    (None, '{"kind": "compiled", "vocab": ' + "[" * 5000 + "]" * 5000 + "}", "not valid JSON"),
    (None, '{"kind": "compiled", "max_len": ' + "9" * 6000 + "}", "not valid JSON"),
    (_set("dtype", "float128"), None, "dtype"),
    (_set("model", "layer_heads", [1]), None, "layer_heads"),
    (_set("model", "d_model", -3), None, "d_model"),
    (_set("model", "d_model", 2**40), None, "d_model"),
    (_set("model", "n_layers", "2"), None, "n_layers"),
    (_set("model", "normalization", "RMS"), None, "normalization"),
    (_set("vocab", [["a"], "b", "c"]), None, "vocab[0]"),
    (_set("vocab", {"a": 1}), None, "vocab"),
    (_set("max_len", 0), None, "max_len"),
    (_set("output", "nowhere"), None, "output"),
    (_set("spaces", 0, "dims", [10**6]), None, "space"),
    (_set("spaces", 0, "values", [float("inf")]), None, "values"),
    (_set("components", [{"kind": "attention"}]), None, "components[0]"),
    (_set("kind", "pickle"), None, "unknown kind"),
]


@pytest.mark.parametrize("edit, meta_json, needle", BAD_METADATA)
def test_crafted_metadata_is_refused_with_a_short_message(compiled_file, tmp_path, edit, meta_json, needle):
    bad = craft(compiled_file, tmp_path / "bad.safetensors", edit, meta_json)
    with pytest.raises(RaspLoadError) as info:
        rasp.load_model(bad)
    assert needle in info.value.message
    assert len(info.value.message) < 400


@pytest.mark.parametrize("edit, needle", [
    (_set("outputs", []), "empty"),
    (_set("info", json.loads("[" * 20 + "]" * 20)), "nested"),
    (_set("output_scale", "big"), "output_scale"),
    (_set("model", "d_mlp", 50_000_000), "by the description"),
])
def test_crafted_trained_metadata_is_refused(trained_file, tmp_path, edit, needle):
    from rasp.models import load_any

    bad = craft(trained_file, tmp_path / "bad.safetensors", edit)
    with pytest.raises(RaspLoadError, match=needle):
        load_any(bad)


def _peak_kb_of(code: str) -> tuple[int, str]:
    """Run `code` in a fresh interpreter: (its peak resident memory in KB, its stderr). The peak is
    the process's own VmHWM: ru_maxrss would include the (large) test process it was forked from."""
    script = code + ("\nimport sys\nprint(next(line.split()[1] for line in open('/proc/self/status') "
                     "if line.startswith('VmHWM')), file=sys.stderr)")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    return int(run.stderr.strip().splitlines()[-1]), run.stderr


LOAD = "import rasp.models\ntry:\n    rasp.models.load_any({path!r})\nexcept Exception as e:\n    print(e, file=__import__('sys').stderr)"


def test_declared_shapes_are_checked_before_allocating(compiled_file, tmp_path):
    """A 17 KB file declaring d_mlp = 50,000,000 would need gigabytes if built first."""
    bad = craft(compiled_file, tmp_path / "wide.safetensors",
                lambda m: m["model"].update(d_mlp=50_000_000, layer_mlps=[50_000_000] * m["model"]["n_layers"]))
    assert bad.stat().st_size < 100_000
    baseline, _ = _peak_kb_of("import torch, rasp.models")
    peak, err = _peak_kb_of(LOAD.format(path=str(bad)))
    assert "does not fit the weights" in err and "50,000,000" in err
    assert peak - baseline < 200_000  # KB: nothing near the 6.8 GB the declared width needs


def test_a_huge_layer_count_is_refused_at_once(compiled_file, tmp_path):
    for n, needle in ((200_000, "n_layers"), (50_000, "50,000 layers")):
        bad = craft(compiled_file, tmp_path / "deep.safetensors",
                    lambda m, n=n: m["model"].update(n_layers=n, layer_heads=None, layer_mlps=None))
        with pytest.raises(RaspLoadError) as info:
            rasp.load_model(bad)
        assert needle in info.value.message and len(info.value.message) < 300


def test_tensors_missing_or_extra_are_named(compiled_file, tmp_path):
    import torch

    bad = craft(compiled_file, tmp_path / "extra.safetensors", tensors=lambda s: s.update(junk=torch.zeros(3, dtype=torch.float64)))
    with pytest.raises(RaspLoadError, match="junk is not part of the model"):
        rasp.load_model(bad)
    bad = craft(compiled_file, tmp_path / "mixed.safetensors",
                tensors=lambda s: s.update(W_E=s["W_E"].float()))
    with pytest.raises(RaspLoadError, match="one float dtype"):
        rasp.load_model(bad)


def test_a_model_larger_than_memory_is_refused_before_reading(compiled_file, monkeypatch):
    monkeypatch.setenv("RASP_MEMORY_BYTES", "1000")
    with pytest.raises(RaspLoadError, match="memory"):
        rasp.load_model(compiled_file)


def test_a_sparse_multi_gigabyte_file_is_refused_without_reading_it(tmp_path):
    sparse = tmp_path / "sparse.safetensors"
    with open(sparse, "wb") as f:
        f.truncate(3_900_000_000)
    peak, err = _peak_kb_of(LOAD.format(path=str(sparse)))
    assert "not a rasp model" in err
    assert peak < 1_000_000  # KB: the header alone was read


def test_valid_files_still_load(compiled_file, trained_file):
    from rasp.models import load_any

    assert rasp.load_model(compiled_file).run("abc") == ["c", "b", "a"]
    assert len(load_any(trained_file).run("ab")) == 2


def test_the_schema_is_a_table_that_new_fields_join():
    """Other features add metadata fields by adding rows: a row's check runs, an unknown field is ignored."""
    check = schema.record({"tokenizer": schema.Field(schema.one_of("chars", "words"), required=False)})
    assert check({"tokenizer": "words", "future": [1]}) is None
    assert "not one of" in check({"tokenizer": "bytes"})
    assert set(schema.COMMON) <= set(schema.COMPILED) and set(schema.COMMON) <= set(schema.TRAINED)
