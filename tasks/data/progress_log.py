"""Which of rsync's streamed lines reach a PVC's run log, and how they read.

rsync prints a ``--info=progress2`` line several times a second and a ~15-line ``--stats`` block at the
end; sent as they come, one PVC would fill the Prefect UI. :class:`ProgressLog` keeps a progress line
when ``interval_seconds`` have passed or the percentage crossed the next ``percent_step`` since the last
one kept, drops the ``--stats`` block (the PVC's end line carries bytes, files and throughput) and keeps
everything else — rsync warnings, and the mover's own lines (each retry with its cause, a verification
re-sync). Pure: the clock is a parameter.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from drsyncer.run_log import human_bytes
from tasks.data.rsync_stats import parse_progress

DEFAULT_INTERVAL_SECONDS = 10.0
DEFAULT_PERCENT_STEP = 10

_RSYNC_SUMMARY_PREFIXES = (
    "Number of ",
    "Total file size",
    "Total transferred file size",
    "Total bytes ",
    "Literal data",
    "Matched data",
    "File list ",
    "sent ",
    "total size is ",
    "receiving incremental file list",
    "receiving file list",
)


def is_rsync_summary(line: str) -> bool:
    """True for lines of rsync's ``--stats`` block and file-list chatter (the end line says it better)."""
    return line.strip().startswith(_RSYNC_SUMMARY_PREFIXES)


def progress_text(claim: str, line: str) -> str | None:
    """``PVC data-db-0: 40% of the data, 12.0 MiB at 5.1 MiB/s, 0:00:03 left`` for a progress2 line."""
    progress = parse_progress(line)
    if progress is None:
        return None
    return (
        f"PVC {claim}: {progress.percent}%, {human_bytes(progress.bytes_done)} at "
        f"{human_bytes(progress.bytes_per_second)}/s, {progress.eta} left"
    )


@dataclass
class ProgressLog:
    """Turns one PVC's stream of rsync lines into the few lines worth a run log."""

    claim: str
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS
    percent_step: int = DEFAULT_PERCENT_STEP
    clock: Callable[[], float] = time.monotonic
    _last_time: float = field(default=0.0, init=False)
    _next_percent: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._last_time = self.clock()
        self._next_percent = self.percent_step

    def line_for(self, line: str) -> str | None:
        """The run-log line for one streamed ``line``, or None when it is not worth a line."""
        text = line.strip()
        if not text or is_rsync_summary(text):
            return None
        progress = parse_progress(text)
        if progress is None:
            return f"PVC {self.claim}: {text}"
        now = self.clock()
        due = now - self._last_time >= self.interval_seconds
        if not due and progress.percent < self._next_percent:
            return None
        self._last_time = now
        self._next_percent = (progress.percent // self.percent_step + 1) * self.percent_step
        return progress_text(self.claim, text)
