"""The empty-source guard: an empty or unmounted source never mirrors over a non-empty destination.

``rsync --delete`` from an empty directory erases the destination. A source volume looks empty when it is
really empty *or* when it is not mounted (the kubelet mount point exists but holds nothing), and the two
cannot be told apart from outside. So before a pull into a non-empty destination (an empty one has
nothing to lose, and skipping the probe saves a round trip) the DR agent lists the top level of the source
(``rsync --list-only`` without recursion, through the same read-only pull key: one round trip, no tree
walk) and looks at its own destination directory; :func:`check_empty_source` then refuses the pull when
the source is empty and the destination is not, unless the mapping sets ``allowEmptySource``. A
legitimately empty source with an empty destination syncs normally. (The pull key's gate also refuses a
source directory that is not a mount point, ``agent/volume_dir.py``; this guard still covers a mounted
volume that is empty, e.g. a freshly re-provisioned one.)

Stdlib-only: the agent's control program imports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class EmptySourceRefusedError(Exception):
    """The source is empty (or unmounted) and the destination holds data: the pull is refused."""


@dataclass(frozen=True)
class EmptySourceCheck:
    """What the guard saw and decided."""

    source_entries: int
    destination_entries: int
    allow_empty_source: bool

    @property
    def refused(self) -> bool:
        """True when mirroring would erase a non-empty destination without permission."""
        return self.source_entries == 0 and self.destination_entries > 0 and not self.allow_empty_source


def parse_list_only(lines: Iterable[str]) -> list[str]:
    """Names listed by ``rsync --list-only`` (one level), without the directory itself (``.``).

    Each line is ``<perms> <size> <date> <time> <name>``; names may contain spaces.
    """
    names: list[str] = []
    for line in lines:
        fields = line.rstrip("\n").split(None, 4)
        if len(fields) < 5 or fields[0][:1] not in "-dlcbps" or len(fields[0]) < 10:
            continue
        name = fields[4]
        if fields[0].startswith("l") and " -> " in name:
            name = name.split(" -> ", 1)[0]
        if name != ".":
            names.append(name)
    return names


def check_empty_source(
    *, source_entries: int, destination_entries: int, allow_empty_source: bool
) -> EmptySourceCheck:
    """Return the check, or raise :class:`EmptySourceRefusedError` if the pull would erase the destination."""
    check = EmptySourceCheck(source_entries, destination_entries, allow_empty_source)
    if check.refused:
        raise EmptySourceRefusedError(
            f"the source volume is empty (or not mounted) and the destination holds {destination_entries} "
            "entries; refusing to mirror it (set pvcConfig.dataSyncConfig.allowEmptySource to allow this)"
        )
    return check
