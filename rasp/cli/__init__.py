"""The `rasp` command line and the REPL: every subcommand is registered in `app.py`."""

from .app import main

__all__ = ["main"]
