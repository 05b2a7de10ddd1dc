"""How commands talk to the terminal.

Contract: with ``--output json`` stdout holds exactly one JSON document and everything else (logs,
progress, warnings) goes to stderr. Human output is rich tables on stdout. Errors are one message plus
the fix on stderr, with the error's exit code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, NoReturn

import typer
from rich.console import Console

from drsyncer.errors import ConfigError, DrSyncerError

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def reset_consoles() -> None:
    """Re-detect the terminal (colours, width, ``NO_COLOR``...) for both consoles, in place: for a child
    of the warm process (:mod:`drsyncer.warm_process`), whose streams and environment are the caller's."""
    stdout.__init__(soft_wrap=True)  # type: ignore[misc]
    stderr.__init__(stderr=True, soft_wrap=True)  # type: ignore[misc]


class OutputFormat(StrEnum):
    """What a command prints on stdout."""

    table = "table"
    json = "json"


OUTPUT_OPTION = typer.Option(
    OutputFormat.table, "--output", "-o", help="table (for people) or json (one document on stdout)."
)


def print_json(document: Any) -> None:
    """Write one JSON document to stdout (and nothing else)."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def fail(error: DrSyncerError) -> NoReturn:
    """Print ``error`` as the user should see it and exit with its code."""
    if isinstance(error, ConfigError):
        stderr.print(f"[bold red]error:[/] {len(error.problems)} configuration problem(s):", highlight=False)
        for problem in error.problems:
            stderr.print(f"  - {problem}", markup=False, highlight=False)
        stderr.print(f"[dim]{error.fix}[/]", highlight=False)
    else:
        stderr.print("[bold red]error:[/] ", end="", highlight=False)
        stderr.print(error.message, markup=False, highlight=False)
        if error.fix:
            stderr.print(f"[dim]fix: {error.fix}[/]", highlight=False)
    raise typer.Exit(error.exit_code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn :class:`DrSyncerError` raised inside the block into a clean message and exit code."""
    try:
        yield
    except DrSyncerError as error:
        fail(error)
