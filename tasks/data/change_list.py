"""The change list: the change guard's dry run tells the real transfer exactly which paths to touch.

The guard (``tasks/data/change_guard.py``) runs the pull as a dry run first, which walks both trees. The
real transfer need not walk them again: the DR agent's control program writes the dry run's itemized
paths into two NUL-separated lists (:class:`ChangeListWriter`):

- the **transfer list**, read by the real run with ``--files-from=LIST --from0 --ignore-missing-args
  --force`` (``RsyncOptions.files_from_changes``): rsync sends the list to the source agent's sender
  itself, the sender ``lstat``s only those names, and the receiver touches only them;
- the **deletion list**: names of the DR copy the source did not have. The control program removes them
  from the pinned DR volume itself (``agent/list_deletions.py``, no symlink followed) *before* the real
  run. rsync's own ``--delete-missing-args`` would do it in one step, but ``rrsync -ro`` (the source
  agent's read-only gate) refuses every ``--delete*`` option, rightly: the sender need not know.

There is deliberately no ``--delete``: with ``--files-from`` rsync implies ``-d``, and ``--delete`` would
empty any listed directory whose contents it considers transferred (``.``). ``--ignore-missing-args``:
a listed name that vanished from the source after the dry run is skipped (the next sync deletes it);
``--force``: a directory of DR replaced by a file on the source is removed.

What goes in the transfer list, from the dry run's ``--out-format=%i %n`` lines
(``RsyncOptions.itemize_links`` off: no `` -> target``, so a name is exactly the name):

- every itemized entry (new, changed, attribute-only, symlink, directory, the root ``.`` whose mtime
  changed), without its trailing ``/``: ``-r`` is off under ``--files-from`` (``-a`` does not imply it
  there), so a listed directory brings its own attributes and, being listed, empty directories too; its
  changed children are listed by themselves. ``--relative`` (implied) recreates missing parents;
- the parent directory of every deletion, so that its mtime is set again after the deletion.

What goes in the deletion list: every ``*deleting`` entry *except* those whose parent is deleted too or
is replaced by a non-directory (removing the parent removes them). Deletions are kept in a spill file
until the dry run ends, because rsync prints a deleted tree's children before the directory itself;
only directory names are held in memory.

rsync escapes unprintable bytes in names as ``\\#ooo`` (octal); :func:`decode_name` undoes it, so any
name round-trips. Hard links (``-H``) are the exception: a new link to an unchanged file would arrive as
a copy, since rsync links only files in the same file list, so with ``-H``/``--hard-links`` (or the
``--max-delete`` backstop) in ``rsyncOptions`` :func:`supports_change_list` is false and the real run
walks the tree as before.

Files that change between the dry run and the real run are the next sync's: the lists name what the dry
run saw (a listed file deleted in between is skipped, an unlisted new file waits a cycle).

Stdlib-only: the agent's control program imports it.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from tasks.data.rsync_command import RsyncOptions

_ITEMIZED = re.compile(r"^(?P<flags>[<>ch.][fdLDS][.+?a-zA-Z ]{9}) (?P<name>.+)$")
_DELETING = re.compile(r"^\*deleting   (?P<name>.+)$")
_ESCAPED_BYTE = re.compile(rb"\\#([0-7]{3})")
_WALKING_OPTIONS = ("--hard-links", "--max-delete")
"""User options that need the whole tree in one file list: hard links, and ``--max-delete`` (rsync's own
backstop counts the deletions rsync makes; the change list's deletions are the control program's)."""


def supports_change_list(options: RsyncOptions) -> bool:
    """Whether the real run may use a change list: not with ``-H`` or ``--max-delete`` (module docstring)."""
    for option in options.extra_options:
        if option.partition("=")[0] in _WALKING_OPTIONS:
            return False
        if option.startswith("-") and not option.startswith("--") and "H" in option:
            return False
    return True


def decode_name(text: str) -> bytes:
    """A name as rsync printed it (``\\#ooo`` for unprintable bytes) back to its bytes."""
    raw = text.encode("utf-8", "surrogateescape")
    return _ESCAPED_BYTE.sub(lambda match: bytes([int(match[1], 8)]), raw)


def _entry(name: bytes) -> bytes:
    """A list entry: one trailing ``/`` (rsync's mark of a directory) dropped; the root is ``.``."""
    if name.endswith(b"/"):
        name = name[:-1]
    return name or b"."


def _parent(name: bytes) -> bytes:
    head, _, _ = name.rpartition(b"/")
    return head or b"."


class ChangeListWriter:
    """Writes a dry run's itemized paths as ``--files-from`` and deletion lists (NUL-separated); counts them.

    ``out`` receives the transfer list, ``deletions`` the deletion list; ``spill`` holds deletions until
    :meth:`finish` (see the module docstring). Feed every output line of the dry run (other lines are
    ignored), then call :meth:`finish` once.
    """

    def __init__(self, out: BinaryIO, *, deletions: BinaryIO, spill: BinaryIO) -> None:
        self._out = out
        self._deletions = deletions
        self._spill = spill
        self._deleted_directories: set[bytes] = set()
        self._deletion_parents: set[bytes] = set()
        self._replaced_directories: set[bytes] = set()
        self.entries = 0
        """Names in the transfer list so far."""
        self.deleted = 0
        """Names in the deletion list (after :meth:`finish`)."""

    @property
    def total(self) -> int:
        """Names in both lists; 0 means the real transfer has nothing to do."""
        return self.entries + self.deleted

    def feed(self, line: str) -> None:
        """Take one output line of the dry run."""
        line = line.rstrip("\r\n")
        deleting = _DELETING.match(line)
        if deleting is not None:
            raw = decode_name(deleting["name"])
            name = _entry(raw)
            if raw.endswith(b"/"):
                self._deleted_directories.add(name)
            self._deletion_parents.add(_parent(name))
            self._spill.write(name + b"\0")
            return
        itemized = _ITEMIZED.match(line)
        if itemized is None:
            return
        name = _entry(decode_name(itemized["name"]))
        if itemized["flags"][1] != "d" and name in self._deletion_parents:
            self._replaced_directories.add(name)  # a directory of DR replaced by a file or link
        self._write(name)

    def finish(self) -> int:
        """Write the deletions whose parent survives, and their parents; return :attr:`total`."""
        self._spill.flush()
        self._spill.seek(0)
        gone = self._deleted_directories | self._replaced_directories
        rest = b""
        while chunk := self._spill.read(1 << 16):
            names = (rest + chunk).split(b"\0")
            rest = names.pop()
            for name in names:
                if _parent(name) not in gone:
                    self._deletions.write(name + b"\0")
                    self.deleted += 1
        for parent in sorted(self._deletion_parents - gone):
            self._write(parent)
        self._out.flush()
        self._deletions.flush()
        return self.total

    def _write(self, name: bytes) -> None:
        self._out.write(name + b"\0")
        self.entries += 1
