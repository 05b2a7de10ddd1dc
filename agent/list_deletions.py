"""Removing the change list's deletions from the pinned DR volume, never following a symlink.

The change guard's dry run lists the names of the DR copy that the source no longer has
(``tasks/data/change_list.py``). The source agent's ``rrsync -ro`` refuses rsync's
``--delete-missing-args``, so the DR agent's control program removes them itself, before the real run:
every name is resolved one component at a time from the volume's pinned descriptor with
``O_DIRECTORY | O_NOFOLLOW`` (a symlink in the way, e.g. one the DR copy mirrors, is never followed:
that name is skipped), then the last component is unlinked, or removed as a tree with
:func:`shutil.rmtree` relative to its parent's descriptor (which does not follow symlinks either).
A name that is already gone is fine: the goal is its absence.

Stdlib only: the agent image runs it with ``python3 -I``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat

_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class ListedNameError(ValueError):
    """A deletion list entry that is not a plain relative path (empty component, ``.`` or ``..``)."""


def read_names(path: str) -> list[bytes]:
    """The NUL-separated names of a deletion list."""
    with open(path, "rb") as listing:
        return [name for name in listing.read().split(b"\0") if name]


def remove_listed(volume_fd: int, names: list[bytes]) -> int:
    """Remove every name (relative to ``volume_fd``) that exists; return how many were removed."""
    removed = 0
    for name in names:
        parts = name.split(b"/")
        if any(part in (b"", b".", b"..") for part in parts):
            raise ListedNameError(f"deletion list entry {name[:80]!r} is not a plain relative path")
        parent = _open_parent(volume_fd, parts[:-1])
        if parent is None:
            continue
        try:
            removed += _remove_entry(parent, os.fsdecode(parts[-1]))
        finally:
            if parent != volume_fd:
                os.close(parent)
    return removed


def _open_parent(volume_fd: int, components: list[bytes]) -> int | None:
    """A descriptor on the parent directory, or None when a component is missing or not a real directory."""
    current = volume_fd
    for component in components:
        try:
            opened = os.open(component, _DIRECTORY_FLAGS, dir_fd=current)
        except OSError:  # missing, not a directory, or a symlink (ELOOP)
            opened = -1
        if current != volume_fd:
            os.close(current)
        if opened < 0:
            return None
        current = opened
    return current


def _remove_entry(parent: int, name: str) -> int:
    try:
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return 0
    if stat.S_ISDIR(info.st_mode):
        shutil.rmtree(name, dir_fd=parent)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=parent)
    return 1
