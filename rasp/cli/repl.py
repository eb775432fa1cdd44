"""The interactive RASP REPL (`rasp` with no arguments): the prompt and the loops.

The REPL itself, without a terminal, is `repl_session.ReplSession` (its commands are in
`repl_commands`). `main` wraps it in a prompt_toolkit loop (history in ~/.rasp_history or
$RASP_HISTORY, continuation prompt, completion) or, when stdin is not a terminal, in a
plain line-by-line loop that prints errors on stderr and exits 1 if any statement failed.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from ..errors import RaspError
from ..view.display import format_example
from .repl_commands import COLON_COMMANDS, HISTORY_ENV, HISTORY_FILE
from .repl_session import DEFAULT_EXAMPLE, MAX_LINE_LENGTH, Output, ReplSession

__all__ = ["ReplSession", "MAX_LINE_LENGTH", "main", "plain_loop", "prompt_loop", "make_prompt", "make_history"]

PROMPT = ">> "
CONTINUATION_PROMPT = "... "
KEYWORDS = ["def", "return", "for", "in", "if", "else", "and", "or", "not", "lambda", "load", "select"]


# --- terminal loops -------------------------------------------------------------------------


def banner(session: ReplSession) -> str:
    from .. import __version__

    return (
        f"RASP {__version__}: type :help for commands, exit or Ctrl-D to leave\n"
        f"running example is: {format_example(session.example)}"
    )


def make_history(path: str | os.PathLike[str] | None = None) -> Any:
    """A FileHistory at `path` (~/.rasp_history), or in-memory history if it is not writable."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    target = Path(os.path.expanduser(str(path if path is not None else HISTORY_FILE)))
    try:
        with open(target, "a", encoding="utf-8"):
            pass
    except OSError:
        return InMemoryHistory()
    return FileHistory(str(target))


def _completer(session: ReplSession) -> Any:
    from prompt_toolkit.completion import WordCompleter

    def words() -> list[str]:
        names = [n for n in session.interp.globals.all_names() if not n.startswith("_")]
        return sorted(set(names + KEYWORDS)) + [f":{c}" for c in COLON_COMMANDS]

    return WordCompleter(words, pattern=re.compile(r"(:?[A-Za-z_][A-Za-z0-9_]*|:)"))


def _key_bindings(session: ReplSession) -> Any:
    """Enter runs a finished statement and starts a new line inside an unfinished one, so a
    multi-line `def` is edited, and recalled from history, as one entry."""
    from prompt_toolkit.key_binding import KeyBindings

    kb = KeyBindings()

    @kb.add("enter")
    @kb.add("c-j")
    def _(event: Any) -> None:
        buffer = event.current_buffer
        if session.is_complete(buffer.text):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    return kb


def make_prompt(session: ReplSession, input: Any = None, output: Any = None, history: Any = None) -> Any:
    """The prompt_toolkit prompt: RASP highlighted, suggestions from history, multi-line entries."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.lexers import PygmentsLexer

    from ..view.lexer import RaspLexer

    return PromptSession(
        history=history,
        input=input,
        output=output,
        completer=_completer(session),
        complete_while_typing=False,
        lexer=PygmentsLexer(RaspLexer),
        auto_suggest=AutoSuggestFromHistory(),
        multiline=True,
        key_bindings=_key_bindings(session),
        prompt_continuation=lambda width, line_number, wrap_count: CONTINUATION_PROMPT.rjust(width),
    )


def prompt_loop(
    session: ReplSession,
    input: Any = None,
    output: Any = None,
    history: Any = None,
    write: Callable[[str], Any] | None = None,
) -> int:
    """The interactive loop: prompt_toolkit reads, the session evaluates, `write` prints."""
    emit = write or _stdout_writer()
    prompt_session = make_prompt(session, input, output, history)
    while not session.done:
        try:
            line = prompt_session.prompt(CONTINUATION_PROMPT if session.pending else PROMPT)
        except KeyboardInterrupt:
            session.reset()
            continue
        except EOFError:
            _emit(emit, session.finish())
            break
        try:
            _emit(emit, session.feed(line))
        except KeyboardInterrupt:
            session.reset()
            _emit(emit, "interrupted")
    return 0


def plain_loop(
    session: ReplSession,
    stdin: TextIO | BinaryIO,
    write: Callable[[str], Any] | None = None,
    write_error: Callable[[str], Any] | None = None,
) -> int:
    """The loop for piped input: no prompts, one line at a time; errors go to `write_error`
    (stderr; where only `write` is given, there too). Exits 1 if any statement failed or a
    line is not UTF-8 (so scripts notice), else 0."""
    emit = write or _writer(sys.stdout)
    emit_error = write_error or (write if write is not None else _writer(sys.stderr))

    def show(outputs: list[Output]) -> None:
        for o in outputs:
            _emit(emit_error if o.error else emit, o.text)

    for number, line in enumerate(_bounded_lines(stdin), start=1):
        try:
            if isinstance(line, _LongLine):
                show([session.refuse_line()])
            elif isinstance(line, _Undecodable):
                session.reset()
                show([session.fail(f"error: line {number} of standard input is not UTF-8 text (byte {line.at}); it was skipped")])
            else:
                show(session.feed_parts(line.rstrip("\r\n")))
        except KeyboardInterrupt:
            session.reset()
            _emit(emit_error, "interrupted")
            return 130
        if session.done:
            break
    else:
        text = session.finish()
        _emit(emit_error, text)
    return 1 if session.failed else 0


class _LongLine:
    """A line over MAX_LINE_LENGTH, read past and dropped."""


class _Undecodable:
    def __init__(self, at: int):
        self.at = at


def _bounded_lines(stdin: TextIO | BinaryIO) -> Iterator[str | _LongLine | _Undecodable]:
    """The lines of `stdin` (bytes are decoded as UTF-8, one line at a time, so a bad byte
    costs its line only); a line over MAX_LINE_LENGTH characters is never held whole."""
    while True:
        line = stdin.readline(MAX_LINE_LENGTH + 1)
        if not line:
            return
        newline = "\n" if isinstance(line, str) else b"\n"
        if len(line) > MAX_LINE_LENGTH:
            rest = line
            while rest and not rest.endswith(newline):
                rest = stdin.readline(MAX_LINE_LENGTH)
            yield _LongLine()
            continue
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as e:
                yield _Undecodable(e.start)
                continue
        yield line


def _writer(stream: TextIO) -> Callable[[str], Any]:
    def write(text: str) -> None:
        stream.write(text)
        stream.flush()

    return write


def _stdout_writer() -> Callable[[str], Any]:
    return _writer(sys.stdout)


def _emit(write: Callable[[str], Any], text: str) -> None:
    if text:
        write(text + "\n")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="rasp repl", description="The interactive RASP REPL.")
    p.add_argument("files", nargs="*", help=".rasp files to load first")
    p.add_argument("--example", "-e", help='the starting example input (default "hello")')
    p.add_argument("--no-history", action="store_true",
                   help=f"do not read or write the history file ({HISTORY_FILE}, or ${HISTORY_ENV} when set)")
    return p.parse_args(argv if argv is not None else [])


def main(argv: list[str] | None = None, input: Any = None, output: Any = None) -> int:
    """Run the REPL; `input`/`output` are prompt_toolkit Input/Output objects (for tests)."""
    args = _parse_args(argv)
    try:
        session = ReplSession(example=args.example if args.example else DEFAULT_EXAMPLE)
    except RaspError as e:  # a broken standard library must not look like a crash
        print(e.format(), file=sys.stderr)
        return 1
    interactive = input is not None or output is not None or (sys.stdin.isatty() and sys.stdout.isatty())
    if interactive:
        _emit(_stdout_writer(), banner(session))
    for f in args.files:
        for o in session.feed_parts(f":load {shlex.quote(f)}"):
            _emit(_writer(sys.stderr) if o.error and not interactive else _stdout_writer(), o.text)
    if not interactive:
        try:  # bytes, decoded line by line: a bad byte is an error on its line, not the end
            return plain_loop(session, getattr(sys.stdin, "buffer", sys.stdin))
        except BrokenPipeError:
            return 0
    if args.no_history:
        from prompt_toolkit.history import InMemoryHistory

        history = InMemoryHistory()
    else:
        history = make_history(os.environ.get(HISTORY_ENV) or HISTORY_FILE)
    return prompt_loop(session, input=input, output=output, history=history)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
