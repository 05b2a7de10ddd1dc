"""The change guard: never mirror a corrupted or encrypted source over the last good DR copy.

A faithful mirror copies disasters too: ransomware that encrypts the source volume in place, a migration
that deletes half the database files, an operator's ``rm -rf``. At the next sync ``rsync --delete`` would
carry that over the DR copy. So before the real transfer the DR agent runs the very same rsync as a dry
run (``--dry-run --itemize-changes --stats``, same key, same options, nothing written) and
:class:`ChangeCounter` reads its itemized lines into a :class:`ChangeSummary`: how many files of the DR
copy would be deleted and how many would be rewritten, with a few sample paths. :func:`held_reason` then
compares the percentages with the mapping's limits (``pvcConfig.changeGuard``); above either one the
PVC's sync is *held*: the real transfer does not run and the DR copy stays as it was.

What counts (files, symlinks and other non-directories of the DR copy; directories never count):

- **deleted**: ``*deleting`` lines — names the real run would remove from DR (ransomware that renames
  ``x`` to ``x.locked`` shows up here *and* as new files);
- **changed**: ``>f`` lines of files that already exist in DR — the real run would rewrite them. A file
  encrypted in place keeps its name but gets new bytes, and the write sets its mtime to "now" (a program
  must call ``utimes`` on purpose to put it back) and nearly always changes its size (headers, padding,
  an appended key blob): rsync's quick check (size + mtime) sees it. The guard uses exactly the
  comparison the real transfer will use, so a file it does not count is a file the transfer would not
  touch either; with ``--checksum`` in ``rsyncOptions`` both use checksums.
- **created**: new names; reported, never held on (growth is normal).

Percentages are of the DR copy's files (``source files - created + deleted``, from ``--stats``); a copy
with fewer than ``minFiles`` files is not judged (a 10-file volume changes 10 % per file).

Stdlib-only: the agent's control program imports it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_DELETED_PERCENT = 20.0
"""Normal churn (logs rotating, temp files) deletes a few percent of a volume's files between syncs."""
DEFAULT_MAX_CHANGED_PERCENT = 50.0
"""Databases rewrite their hot files, but not most of them in one sync interval; encryption rewrites all."""
DEFAULT_MIN_FILES = 100
"""Below this many files in the DR copy the guard does not judge (one file of ten is already 10 %)."""
SAMPLE_SIZE = 10
"""Paths kept per kind of change for the held message and the report."""

_ITEMIZED = re.compile(r"^(?P<flags>[<>ch.*][fdLDS][.+?a-zA-Z ]{9}) (?P<name>.+)$")
_DELETING = re.compile(r"^\*deleting +(?P<name>.+)$")
_STAT_COUNTS = re.compile(r"^Number of files: [\d,.]+(?: \((?P<kinds>[^)]*)\))?")


@dataclass(frozen=True)
class ChangeGuardLimits:
    """When a PVC's sync is held (``pvcConfig.changeGuard``)."""

    max_deleted_percent: float = DEFAULT_MAX_DELETED_PERCENT
    max_changed_percent: float = DEFAULT_MAX_CHANGED_PERCENT
    min_files: int = DEFAULT_MIN_FILES


@dataclass(frozen=True)
class ChangeSummary:
    """What the dry run says the real transfer would do to the DR copy."""

    dr_files: int = 0
    """Non-directory entries in the DR copy before the transfer."""
    deleted: int = 0
    changed: int = 0
    created: int = 0
    deleted_sample: tuple[str, ...] = ()
    changed_sample: tuple[str, ...] = ()
    change_list: str | None = None
    """The id of the dry run's change list on the DR agent (``agent/change_lists.py``), or None: the real
    transfer then walks the whole tree (empty DR copy, hard links, an older agent)."""
    entries: int | None = None
    """Paths in that change list; 0 means the real transfer has nothing to do."""
    source_bytes: int | None = None
    """The source's total file size (``Total file size``): the volume size the report shows."""

    @property
    def nothing_to_transfer(self) -> bool:
        """The dry run found nothing at all to do (not even a timestamp): the real transfer can be skipped."""
        return self.change_list is not None and self.entries == 0

    @property
    def deleted_percent(self) -> float:
        """Deleted files as a percentage of the DR copy (0 for an empty copy)."""
        return 100.0 * self.deleted / self.dr_files if self.dr_files else 0.0

    @property
    def changed_percent(self) -> float:
        """Rewritten files as a percentage of the DR copy (0 for an empty copy)."""
        return 100.0 * self.changed / self.dr_files if self.dr_files else 0.0

    @property
    def touches_dr_copy(self) -> bool:
        """Whether the real transfer would change anything that is in DR now (restore points key on it)."""
        return self.deleted > 0 or self.changed > 0

    def to_json(self) -> dict[str, Any]:
        """The summary as the agent prints it and the report shows it."""
        return {
            "drFiles": self.dr_files,
            "deleted": self.deleted,
            "changed": self.changed,
            "created": self.created,
            "deletedPercent": round(self.deleted_percent, 2),
            "changedPercent": round(self.changed_percent, 2),
            "deletedSample": list(self.deleted_sample),
            "changedSample": list(self.changed_sample),
            "changeList": self.change_list,
            "entries": self.entries,
            "sourceBytes": self.source_bytes,
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> ChangeSummary:
        """Read :meth:`to_json`'s document back (the controller reads the agent's line)."""
        return cls(
            dr_files=int(document.get("drFiles", 0)),
            deleted=int(document.get("deleted", 0)),
            changed=int(document.get("changed", 0)),
            created=int(document.get("created", 0)),
            deleted_sample=tuple(str(p) for p in document.get("deletedSample", ())),
            changed_sample=tuple(str(p) for p in document.get("changedSample", ())),
            change_list=None if document.get("changeList") is None else str(document["changeList"]),
            entries=None if document.get("entries") is None else int(document["entries"]),
            source_bytes=None if document.get("sourceBytes") is None else int(document["sourceBytes"]),
        )


@dataclass
class ChangeCounter:
    """Counts a dry run's itemized output line by line; keeps only counts and a bounded sample.

    A wholesale rewrite of a million files is a million lines: nothing but the counters grows.
    """

    sample_size: int = SAMPLE_SIZE
    deleted: int = 0
    changed: int = 0
    created: int = 0
    source_files: int | None = None
    source_entries: int | None = None
    """Entries of the source below its root, directories included (``Number of files`` minus the root)."""
    source_bytes: int | None = None
    deleted_sample: list[str] = field(default_factory=list)
    changed_sample: list[str] = field(default_factory=list)

    def feed(self, line: str) -> None:
        """Count one output line (itemized change, deletion or the ``Number of files`` stat)."""
        line = line.rstrip("\r\n")
        deleting = _DELETING.match(line)
        if deleting is not None:
            name = deleting["name"]
            if not name.endswith("/"):
                self.deleted += 1
                self._keep(self.deleted_sample, name)
            return
        itemized = _ITEMIZED.match(line)
        if itemized is not None:
            flags = itemized["flags"]
            if flags[1] == "d":
                return
            if flags[2:] == "+" * 9:
                self.created += 1
            elif flags[0] == ">":
                self.changed += 1
                self._keep(self.changed_sample, itemized["name"].split(" -> ")[0])
            return
        if line.startswith("Total file size: "):
            self.source_bytes = _number(line.split(":", 1)[1])
            return
        stats = _STAT_COUNTS.match(line)
        if stats is not None:
            self.source_files = _non_directories(line, stats["kinds"] or "")
            self.source_entries = max(_number(line.split(":", 1)[1].split("(", maxsplit=1)[0]) - 1, 0)

    def feed_all(self, lines: Iterable[str]) -> ChangeCounter:
        """Feed every line; return self."""
        for line in lines:
            self.feed(line)
        return self

    def summary(self) -> ChangeSummary:
        """The counts so far; the DR copy's size is derived from the source's and the differences."""
        source = self.source_files if self.source_files is not None else self.created
        return ChangeSummary(
            dr_files=max(source - self.created + self.deleted, self.deleted + self.changed),
            deleted=self.deleted,
            changed=self.changed,
            created=self.created,
            deleted_sample=tuple(self.deleted_sample),
            changed_sample=tuple(self.changed_sample),
            source_bytes=self.source_bytes,
        )

    def _keep(self, sample: list[str], name: str) -> None:
        if len(sample) < self.sample_size:
            sample.append(name)


def _non_directories(line: str, kinds: str) -> int:
    """Non-directory count of a ``Number of files: 8 (reg: 5, dir: 2, link: 1)`` line."""
    total = _number(line.split(":", 1)[1].split("(", maxsplit=1)[0])
    directories = re.search(r"dir: ([\d,.]+)", kinds)
    return total - (_number(directories[1]) if directories else 0)


def _number(text: str) -> int:
    """A count as rsync prints it (``12,345`` or ``12.345`` by locale)."""
    return int(re.sub(r"[^\d]", "", text) or 0)


def held_reason(summary: ChangeSummary, limits: ChangeGuardLimits) -> str | None:
    """Why the sync must be held (a sentence with counts and sample paths), or None when it may go on."""
    if summary.dr_files < limits.min_files:
        return None
    reasons = []
    if summary.deleted_percent > limits.max_deleted_percent:
        reasons.append(
            f"{summary.deleted} of {summary.dr_files} files ({summary.deleted_percent:.1f} %) would be "
            f"deleted, above maxDeletedPercent {limits.max_deleted_percent:g} "
            f"(e.g. {', '.join(summary.deleted_sample[:3])})"
        )
    if summary.changed_percent > limits.max_changed_percent:
        reasons.append(
            f"{summary.changed} of {summary.dr_files} files ({summary.changed_percent:.1f} %) would be "
            f"rewritten, above maxChangedPercent {limits.max_changed_percent:g} "
            f"(e.g. {', '.join(summary.changed_sample[:3])})"
        )
    return "; ".join(reasons) or None
