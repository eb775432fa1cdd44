"""Turning inputs into token ids, shared by compiled and trained models: BOS (id 0) first,
vocabulary tokens from id 1, one length per batch."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..errors import RaspInputError
from ..ir.evaluate import Input, tokenize


def token_key(v: Any) -> tuple:
    """Tokens compare by type and value, so "1" and 1 are different tokens."""
    return (isinstance(v, str), v)


class VocabIndex:
    """The one rule matching input tokens to a model's vocabulary (CLI, API, trace): a token
    equal to a vocabulary token (same type and value) is that token; otherwise a token whose
    text is a vocabulary token's text (1 and "1": a vocabulary typed on the command line is
    text, JSON inputs are typed) is read as that vocabulary token. Anything else is refused."""

    def __init__(self, vocab: Sequence[Any]):
        self.vocab = list(vocab)
        self.ids = {token_key(v): i for i, v in enumerate(self.vocab, start=1)}
        by_text: dict[str, list[int]] = {}
        for i, v in enumerate(self.vocab, start=1):
            by_text.setdefault(_text(v), []).append(i)
        self.by_text = {t: ids[0] for t, ids in by_text.items() if len(ids) == 1}

    def id(self, token: Any) -> int:
        found = self.ids.get(token_key(token)) if _hashable(token) else None
        if found is None and not isinstance(token, (list, dict)):
            found = self.by_text.get(_text(token))
        if found is None:
            raise RaspInputError(f"token {token!r} is not in the model's vocabulary {self.vocab}")
        return found

    def tokens(self, raw: Input) -> list[Any]:
        """The input as the model reads it: each token replaced by its vocabulary token."""
        return [self.vocab[self.id(t) - 1] for t in tokenize(raw)]


def _text(v: Any) -> str:
    return v if isinstance(v, str) else str(v)


def _hashable(v: Any) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


def encode_ids(vocab: Sequence[Any], max_len: int, inputs: Sequence[Input], device: Any = None) -> Any:
    """Token ids (batch, 1 + length) with BOS first, for inputs of one length."""
    import torch

    rows = _id_rows(vocab, max_len, inputs)
    if len({len(r) for r in rows}) > 1:
        raise RaspInputError("encode() needs inputs of one length; run_batch() groups them")
    return torch.tensor(rows, dtype=torch.long, device=device)


def encode_padded(vocab: Sequence[Any], max_len: int, inputs: Sequence[Input], device: Any = None) -> tuple[Any, Any]:
    """Token ids (batch, 1 + longest) with BOS first for inputs of several lengths, padded
    after their end, and the key mask (False at padding) that makes padding invisible."""
    import torch

    rows = _id_rows(vocab, max_len, inputs)
    width = max(len(r) for r in rows)
    ids = torch.tensor([r + [0] * (width - len(r)) for r in rows], dtype=torch.long, device=device)
    lengths = torch.tensor([len(r) for r in rows], device=device)
    mask = torch.arange(width, device=device)[None, :] < lengths[:, None]
    return ids, mask


def _id_rows(vocab: Sequence[Any], max_len: int, inputs: Sequence[Input]) -> list[list[int]]:
    """Each input's token ids, BOS (0) first."""
    index = VocabIndex(vocab)
    rows = []
    for raw in inputs:
        tokens = tokenize(raw)
        if len(tokens) > max_len:
            raise RaspInputError(f"input has {len(tokens)} tokens; this model was built for at most {max_len}")
        rows.append([0] + [index.id(t) for t in tokens])
    return rows


# Inputs of several lengths share a padded batch while padding is at most this share of it,
# and only while the batch is smaller than SHARED_BELOW inputs: a big batch of one length
# runs unpadded (on a CPU padding is work), many small ones share a pass (a pass has a cost).
MAX_PADDING = 0.25
SHARED_BELOW = 256


def padded_batches(inputs: Sequence[Input], batch_size: int) -> Iterator[list[int]]:
    """Indices of `inputs` in batches of at most `batch_size`, shortest first, so inputs of
    many lengths cost a few forward passes, not one per length (see MAX_PADDING)."""
    lengths = [len(tokenize(raw)) for raw in inputs]
    batch: list[int] = []
    real = 0
    for i in sorted(range(len(inputs)), key=lengths.__getitem__):
        n = lengths[i] + 1
        if batch:
            new_length = n != lengths[batch[-1]] + 1
            too_padded = real + n < (1 - MAX_PADDING) * (len(batch) + 1) * n
            if len(batch) >= batch_size or (new_length and (len(batch) >= SHARED_BELOW or too_padded)):
                yield batch
                batch, real = [], 0
        batch.append(i)
        real += n
    if batch:
        yield batch


def groups_by_length(inputs: Sequence[Input], batch_size: int) -> Iterator[list[int]]:
    """Indices of `inputs`, in batches of at most `batch_size` inputs of one length."""
    by_length: dict[int, list[int]] = {}
    for i, raw in enumerate(inputs):
        by_length.setdefault(len(tokenize(raw)), []).append(i)
    for members in by_length.values():
        for start in range(0, len(members), batch_size):
            yield members[start : start + batch_size]


def run_grouped(inputs: Sequence[Input], batch_size: int, run_group: Callable[[list[Input]], list[Any]]) -> list[Any]:
    """`run_group`'s output for every input, computed one same-length batch at a time
    without gradients, in the order of `inputs`."""
    import torch

    results: list[Any] = [None] * len(inputs)
    with torch.no_grad():
        for idx in groups_by_length(inputs, batch_size):
            for i, out in zip(idx, run_group([inputs[i] for i in idx])):
                results[i] = out
    return results


def run_with_cache(module: Any, ids: Any) -> dict[str, Any]:
    """Activations under TransformerLens hook names, and the raw `output`, for token ids."""
    import torch

    cache: dict[str, Any] = {}
    with torch.no_grad():
        cache["output"] = module(ids, cache=cache)
    return cache
