"""Learning a program's lexicon (`rasp train --learn lexicon`) and reading it back.

The second of the seed write-up's three ways: keep every programmed weight and learn
only the token embedding, so the program's relationships stay as written and examples
say what each word is. `--learn-words FILE` narrows the learning to those words' rows
(the other rows keep their compiled values exactly).

Reading back: a token feature is an element-wise map of the tokens alone (a lexicon
lookup, `role = lookup(table, tokens, "neutral")`, and maps of it). Its value at a
position depends on that position's token only. Two readings, by how it was compiled:
- the feature has its own residual space (a compiler that writes token features in the
  embedding): run the model, with the learned embedding, on the one-word input [word]
  and decode that space there, the decoding the compiled model uses for every s-op; a
  continuous feature (a valence) comes back as any number;
- the compiler folded the feature into the heads or MLPs that read it (no space of its
  own): the learned row is written in the basis of the compiled rows (least squares:
  row = sum_j c_j compiled_row_j), and the word's value is the same mixture of the
  interpreter's values of those words: sum_j c_j f(word_j) for a number (exact where the
  readers are linear in the token, as a head's value matrix is), the value with the most
  weight for a category.
The words and their values are written as `word<TAB>value` lines, the format of
the `read_tsv` lexicons programs load (programs/vader.rasp's vader/lexicon.tsv).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from ..errors import RaspInputError
from ..files import read_text, write_atomic
from ..ir.graph import build_graph, topological_exprs
from ..ir.sops import Constant, Map, SequenceMap, SOp, Tokens


def read_words(path: str) -> list[str]:
    """The words of a `--learn-words` file: one a line (a TAB ends the word, so a lexicon
    file serves too); blank and `#` lines skipped."""
    words = []
    for line in read_text(path, what="word list").splitlines():
        word = line.split("\t")[0].strip()
        if word and not word.startswith("#"):
            words.append(word)
    if not words:
        raise RaspInputError(f"the word list {path} has no words", hint="one word a line")
    return list(dict.fromkeys(words))


def embedding_rows(vocab: Sequence[Any], words: Sequence[str] | None) -> list[int]:
    """The embedding rows of `words` (row 0 is BOS; None: every vocabulary row)."""
    if words is None:
        return list(range(1, len(vocab) + 1))
    index = {str(v): i for i, v in enumerate(vocab, start=1)}
    missing = [w for w in words if w not in index]
    if len(missing) == len(words):
        raise RaspInputError(f"none of the {len(words)} words to learn is in the vocabulary "
                             f"(first: {words[0]!r})", hint="the corpus's words are the vocabulary")
    return [index[w] for w in words if w in index]


def freeze_all_but_rows(module: Any, rows: Sequence[int], compiled_w_e: Any = None) -> Any:
    """Freeze every parameter except the token embedding, and of that learn only `rows`
    and, in them, only the word dimensions: the residual dimensions in which the compiled
    token rows differ (the token features, or the token one-hot). The other dimensions
    belong to s-ops computed later (the output among them): a row free to write there
    would answer for the program instead of saying what the word is. Gradients outside
    are masked, so everything else keeps its compiled value exactly. The word dimensions
    are read off `compiled_w_e` (the exact embedding; default: the module's own), so noise
    added before does not make every dimension look like a word dimension. Returns W_E."""
    import torch

    for p in module.parameters():
        p.requires_grad_(False)
    w_e = module.W_E
    w_e.requires_grad_(True)
    tokens = (w_e if compiled_w_e is None else compiled_w_e).detach()[1:].to(w_e.device)
    word_dims = (tokens.max(dim=0).values != tokens.min(dim=0).values).to(w_e.dtype)
    mask = torch.zeros(w_e.shape[0], 1, dtype=w_e.dtype, device=w_e.device)
    mask[list(rows)] = 1.0
    mask = mask * word_dims[None, :]
    w_e.register_hook(lambda grad: grad * mask)
    return w_e


def token_features(sop: SOp) -> list[SOp]:
    """The s-ops that are element-wise maps of the tokens alone, in program order."""
    order = topological_exprs(build_graph(sop))
    pure: dict[int, bool] = {}  # expr id -> a function of the tokens (and constants) only
    for expr in order:
        if isinstance(expr, (Tokens, Constant)):
            pure[expr.id] = True
        elif isinstance(expr, (Map, SequenceMap)):
            pure[expr.id] = all(pure.get(c.id, False) for c in expr.children)
        else:
            pure[expr.id] = False
    reads_tokens: dict[int, bool] = {}
    for expr in order:
        reads_tokens[expr.id] = isinstance(expr, Tokens) or any(reads_tokens.get(c.id, False) for c in expr.children)
    return [e for e in order if isinstance(e, (Map, SequenceMap)) and pure[e.id] and reads_tokens[e.id]]


def lexicon_sop(sop: SOp, name: str | None) -> SOp:
    """The token feature a lexicon is read from: the one named `name`, or the only token
    feature that reads the tokens directly."""
    features = token_features(sop)
    names = list(dict.fromkeys(e.name for e in features))
    if name is not None:
        found = [e for e in features if e.name == name]
        if not found:
            raise RaspInputError(f"--lexicon-sop {name!r} is not a token feature (a lookup of the tokens) "
                                 "of the program", hint=f"token features: {', '.join(names) or 'none'}")
        return found[0]
    direct = [e for e in features if any(isinstance(c, Tokens) for c in e.children)]
    if len(direct) == 1:
        return direct[0]
    if not features:
        raise RaspInputError("the program has no token feature (a lookup of the tokens) to read a lexicon from")
    raise RaspInputError(f"the program has {len(direct) or len(names)} token features; say which one is "
                         "the lexicon with --lexicon-sop", hint=f"token features: {', '.join(names)}")


def with_module(compiled: Any, module: Any) -> Any:
    """The compiled model's reading API over other weights (same shape)."""
    view = copy.copy(compiled)
    view.module = module
    return view


def decode_features(compiled: Any, module: Any, words: Sequence[Any], feature: SOp) -> dict[Any, Any]:
    """Each word's value of token feature `feature` under `module`'s weights (see above)."""
    import torch

    from ..ir.evaluate import evaluate_batch, native

    if feature.name not in compiled.spaces:
        vocab = list(compiled.vocab)
        known = [native(v[0]) for v in evaluate_batch(feature, [[w] for w in vocab])]
        return {w: _mixture(c, known) for w, c in zip(words, row_coordinates(compiled, module, words))}
    view = with_module(compiled, module)
    out = {}
    with torch.no_grad():
        for word in words:
            out[word] = native(view.read(view.run_with_cache([word]), feature.name)[0])
    return out


def row_coordinates(compiled: Any, module: Any, words: Sequence[Any]) -> Any:
    """(words, vocab): each word's row in `module` in the basis of the compiled rows."""
    import numpy as np

    index = {str(v): i for i, v in enumerate(compiled.vocab, start=1)}
    basis = compiled.module.W_E.detach().double().cpu().numpy()[1:]  # (vocab, d_model)
    rows = module.W_E.detach().double().cpu().numpy()[[index[str(w)] for w in words]]
    coords, *_ = np.linalg.lstsq(basis.T, rows.T, rcond=None)
    return coords.T


def _mixture(weights: Any, values: list[Any]) -> Any:
    """The value of a mixture of words: the weighted sum of numbers, else the value
    (a category) with the most weight."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return float(sum(float(c) * float(v) for c, v in zip(weights, values)))
    totals: dict[Any, float] = {}
    for c, v in zip(weights, values):
        totals[v] = totals.get(v, 0.0) + float(c)
    return max(totals, key=totals.get)


def lexicon_lines(values: dict[Any, Any]) -> str:
    """`word<TAB>value` lines (numbers as the shortest exact text, 4 decimals for floats)."""
    def text(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4f}".rstrip("0").rstrip(".") if abs(v) < 1e6 else repr(v)
        return str(v)

    return "".join(f"{w}\t{text(v)}\n" for w, v in values.items())


def write_lexicon(path: Any, values: dict[Any, Any]) -> None:
    write_atomic(path, lexicon_lines(values))
