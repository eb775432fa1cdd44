"""Flags shared by every subcommand, so each takes programs, inputs and outputs one way.

- input:   `--input TEXT` (one token per character; `--tokenizer NAME` splits it with a
           registered tokenizer, `--words` is `--tokenizer words`), or `--input-json '[...]'`
           (tokens keep their JSON types); never both.
- program: `FILE --vocab a,b,c --max-len N [--sop NAME] [--causal]`.
- s-op:    `--sop NAME` picks the s-op (`--output` is kept as an alias).
- files:   `-o/--out PATH` names the file written; `--force` lets it replace an existing one.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import RaspInputError


def load_program(path: str, draw_files: bool = False) -> Any:
    """The program in `path` (after the stdlib); its warnings go to stderr."""
    from ..language.program import load

    prog = load(path, draw_files=draw_files)
    for w in prog.warnings:
        print(w.format(), file=sys.stderr)
    return prog


def add_input_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", "-i", help="input text, one token per character (see --words, --tokenizer)")
    p.add_argument("--input-json", help="input as a JSON list of tokens, e.g. '[1, 2, 3]'")
    p.add_argument("--words", action="store_true", help="split --input on whitespace into word tokens (--tokenizer words)")
    add_tokenizer_arg(p, "split --input with this tokenizer (a saved model's own by default)")


def add_tokenizer_arg(p: argparse.ArgumentParser, what: str) -> None:
    from ..text import TOKENIZERS, get_tokenizer

    get_tokenizer("chars")  # registers the built-in tokenizers, so the help can list them
    names = ", ".join(sorted(TOKENIZERS))
    p.add_argument("--tokenizer", metavar="NAME", help=f"{what}; one of {names}")


def tokenizer_of(args: argparse.Namespace, default: str | None = None) -> str | None:
    """The tokenizer the flags name (`--words` is `words`), else `default`."""
    name = getattr(args, "tokenizer", None)
    if getattr(args, "words", False):
        if name not in (None, "words"):
            raise RaspInputError(f"give --words or --tokenizer {name}, not both")
        name = "words"
    return name or default


def read_input(args: argparse.Namespace, default_tokenizer: str | None = None) -> Any:
    """The input the flags of `add_input_args` describe; `default_tokenizer` (a saved
    model's) splits --input when no flag names one."""
    if args.input_json is not None and args.input is not None:
        raise RaspInputError("give either --input or --input-json, not both")
    if args.input_json is not None:
        return json_input(args.input_json, "--input-json")
    if args.input is None:
        raise RaspInputError("no input given: use --input TEXT or --input-json '[...]'")
    name = tokenizer_of(args, default_tokenizer)
    if name is None:
        return args.input
    from ..text import tokenize

    return tokenize(args.input, name)


def json_input(text: str, what: str) -> Any:
    """An input given as JSON text: a list of tokens (or a string). Numbers are checked as
    they are read, so an integer of 5,000 digits or a list nested 30,000 deep is a clean
    error, not Python's digit limit or its recursion limit."""
    try:
        value = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as e:
        raise RaspInputError(f"{what} is not valid JSON: {e.msg} (column {e.colno})") from None
    except RecursionError:
        raise RaspInputError(f"{what} is nested too deeply; give a flat list of tokens") from None
    if not isinstance(value, (list, str)):
        raise RaspInputError(f"{what} must be a JSON list of tokens or a string")
    return value


def _json_int(digits: str) -> int:
    """A JSON integer; one of more than 20 digits cannot fit the 64 bits tokens have."""
    if len(digits.lstrip("-")) > 20:
        raise RaspInputError(f"the token {digits[:12]}... ({len(digits):,} digits) is too large: "
                             "integer tokens must fit in 64 bits")
    return int(digits)


def add_sop_arg(p: argparse.ArgumentParser, what: str = "use") -> None:
    p.add_argument("--sop", "--output", "-n", dest="sop", metavar="NAME", type=sop_name,
                   help=f"the s-op to {what} (default: the last one the file assigns)")


def sop_name(text: str) -> str:
    """An argparse type: a name, not empty (an empty --sop must not mean "the default")."""
    if not text.strip():
        raise argparse.ArgumentTypeError("give the name of an s-op (it is empty)")
    return text


def parse_vocab(text: str) -> list[str]:
    """`--vocab`: the API's convention (`split_vocab`), with no empty tokens."""
    from ..compiler.compiled import split_vocab

    tokens = split_vocab(text)
    if any(t == "" for t in tokens):
        raise RaspInputError(f"--vocab {text!r} has an empty token; separate tokens with single commas")
    return tokens


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number >= 0 (budgets, counts)."""
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give 0 or more")
    return value


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # not digits, or more than Python's 4,300-digit limit
        digits = text.strip().lstrip("+-").isdigit()
        shown = text[:30] + ("..." if len(text) > 30 else "")
        raise argparse.ArgumentTypeError(f"{shown!r} " + ("has too many digits" if digits else "is not a whole number")) from None


def seed_int(text: str) -> int:
    """An argparse type: a random seed, a whole number from 0 to 2**64 - 1 (what numpy and
    torch both take)."""
    value = non_negative_int(text)
    if value >= 2**64:
        raise argparse.ArgumentTypeError(f"{text} is too large for a seed; give 0 to 2**64 - 1")
    return value


# Flags whose value may start with '-' (a vocabulary of negative numbers, an input "-ab"):
# argparse would read `--vocab -1,2` as two flags, so `attach_dash_values` joins them.
DASH_VALUE_FLAGS = ("--vocab", "--input", "-i")


def attach_dash_values(argv: list[str]) -> list[str]:
    """`--vocab -1,2` as `--vocab=-1,2`, the form argparse reads. A value that looks like a
    flag of its own (`--max-len`, `-o`) is left alone, so a missing value stays an error."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] in DASH_VALUE_FLAGS and i + 1 < len(argv) and _dash_value(argv[i + 1]):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def _dash_value(text: str) -> bool:
    return text.startswith("-") and not text.startswith("--") and not (len(text) == 2 and text[1].isalpha())


def corpus_columns(text: str) -> tuple[int, int]:
    """An argparse type: `--columns IN,EXPECTED`, two different 1-based TAB-separated fields."""
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) >= 1 for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r}: give two field numbers from 1, e.g. 3,2")
    first, second = (int(p) for p in parts)
    if first == second:
        raise argparse.ArgumentTypeError("the input and the expected output must be different fields")
    return first, second


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1 (lengths)."""
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a length; give 1 or more")
    return value


def add_program_args(p: argparse.ArgumentParser, what: str = "compile", required: bool = True,
                     open_vocab: bool = False) -> None:
    """A program to compile: file, vocabulary, maximum length, s-op, masking. With
    `required=False`, --vocab and --max-len may be left out (a saved model file, or a
    command that finds them itself). With `open_vocab`, the vocabulary may come from a
    file (`--vocab-file`) and unknown tokens map to `--unk` (read both with `program_vocab`)."""
    p.add_argument("file", help="a .rasp program" + ("" if required else " or a saved model file"))
    p.add_argument("--vocab", required=required and not open_vocab,
                   help="input tokens, comma-separated (a,b,c); without commas, one token per character")
    if open_vocab:
        p.add_argument("--vocab-file", metavar="FILE",
                       help="input tokens, one a line (UTF-8; tokens may hold commas and quotes)")
        p.add_argument("--unk", metavar="TOKEN",
                       help="map tokens outside the vocabulary to TOKEN, or to the most specific shape "
                            "the vocabulary lists around it (^TOKEN, TOKENs, ...); see the README")
    p.add_argument("--max-len", type=positive_int, required=required, metavar="N",
                   help="the longest input the model must handle")
    add_sop_arg(p, what)
    p.add_argument("--causal", action="store_true", help="mask attention causally")


def add_out_arg(p: argparse.ArgumentParser, default: str | None, help: str) -> None:
    p.add_argument("-o", "--out", default=default, metavar="PATH", help=help)
    p.add_argument("--force", action="store_true", help="replace the output file if it exists")


def program_vocab(args: argparse.Namespace) -> list[str]:
    """The vocabulary of `add_program_args(open_vocab=True)`: --vocab or --vocab-file."""
    if (args.vocab is None) == (getattr(args, "vocab_file", None) is None):
        raise RaspInputError("give the vocabulary with --vocab a,b,c or --vocab-file FILE (one of them)")
    if args.vocab is not None:
        return parse_vocab(args.vocab)
    from ..compiler.vocab import read_vocab_file

    return read_vocab_file(args.vocab_file)
