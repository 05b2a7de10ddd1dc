"""Reading rsync's output: ``--info=progress2`` lines while it runs, ``--stats`` when it ends.

The DR agent streams rsync's stdout back over the control channel unchanged; the mover splits it on
``\\r`` and ``\\n`` and feeds each line here. :func:`parse_progress` turns a progress2 line into a
:class:`Progress` (for logs and a progress artifact); :func:`parse_stats` turns the ``--stats`` block into
:class:`RsyncStats` (bytes and files for the report). Pure, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_PROGRESS = re.compile(
    r"^\s*(?P<bytes>[\d,]+)\s+(?P<percent>\d+)%\s+(?P<rate>[\d.,]+)(?P<unit>[kMGT]?B)/s\s+"
    r"(?P<eta>\d+:\d{2}:\d{2})(?:\s+\(xfr#(?P<xfr>\d+),\s+(?:ir|to)-chk=(?P<left>\d+)/(?P<total>\d+)\))?\s*$"
)
_UNITS = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
_STAT_LINES = {
    "Number of files": "files_total",
    "Number of created files": "files_created",
    "Number of deleted files": "files_deleted",
    "Number of regular files transferred": "files_transferred",
    "Total file size": "total_size",
    "Total transferred file size": "transferred_size",
    "Literal data": "literal_data",
    "Matched data": "matched_data",
    "Total bytes sent": "bytes_sent",
    "Total bytes received": "bytes_received",
}


@dataclass(frozen=True)
class Progress:
    """One ``--info=progress2`` update: bytes so far, percent, rate, and files done / to check."""

    bytes_done: int
    percent: int
    bytes_per_second: float
    eta: str
    files_transferred: int | None = None
    files_to_check: int | None = None
    files_total: int | None = None


@dataclass(frozen=True)
class RsyncStats:
    """The ``--stats`` summary; for a pull run on the DR agent, ``bytes_received`` crossed the wire."""

    files_total: int = 0
    files_created: int = 0
    files_deleted: int = 0
    files_transferred: int = 0
    total_size: int = 0
    transferred_size: int = 0
    literal_data: int = 0
    matched_data: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0

    @property
    def wire_bytes(self) -> int:
        """Bytes that crossed the network in both directions."""
        return self.bytes_sent + self.bytes_received


def _number(text: str) -> int:
    return int(text.replace(",", "").replace(".", "").split()[0] or 0)


def parse_progress(line: str) -> Progress | None:
    """A :class:`Progress` from a progress2 line, or None when the line is something else."""
    match = _PROGRESS.match(line)
    if match is None:
        return None
    rate = float(match["rate"].replace(",", "")) * _UNITS[match["unit"]]
    return Progress(
        bytes_done=_number(match["bytes"]),
        percent=int(match["percent"]),
        bytes_per_second=rate,
        eta=match["eta"],
        files_transferred=int(match["xfr"]) if match["xfr"] else None,
        files_to_check=int(match["left"]) if match["left"] else None,
        files_total=int(match["total"]) if match["total"] else None,
    )


def parse_stats(lines: Iterable[str]) -> RsyncStats | None:
    """The ``--stats`` block found among ``lines`` (None if rsync printed none, e.g. it failed early)."""
    values: dict[str, int] = {}
    for line in lines:
        name, separator, rest = line.strip().partition(": ")
        if separator and name in _STAT_LINES:
            values[_STAT_LINES[name]] = int(re.sub(r"[^\d]", "", rest.split(" (")[0].split(" bytes")[0]) or 0)
    if not values:
        return None
    return RsyncStats(**values)


def split_stream(buffer: str) -> tuple[list[str], str]:
    """Split streamed text into complete lines (ending in ``\\r`` or ``\\n``) and the unfinished rest."""
    parts = re.split(r"\r\n|\r|\n", buffer)
    return [part for part in parts[:-1] if part.strip()], parts[-1]
