"""Keeping stdout clean while a flow runs in the CLI's process.

Prefect's console handler writes run logs to stdout/stderr as configured; the ``--output json`` contract
says stdout holds exactly one JSON document. :func:`prefect_logs_to_stderr` redirects anything written
to ``sys.stdout`` during the flow to ``sys.stderr``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def prefect_logs_to_stderr() -> Iterator[None]:
    """Send everything printed to stdout inside the block to stderr."""
    with contextlib.redirect_stdout(sys.stderr):
        yield
