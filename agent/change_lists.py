"""Where the DR agent keeps a change list between the guard's dry run and the real transfer.

The change guard's dry run and the real pull are two control logins (the controller takes a restore
point between them). The dry run's paths (``tasks/data/change_list.py``) wait on the DR agent in a private
directory beside the session slots: ``<parent of --lock-dir>/change-lists`` (default
``/run/dr-syncer/change-lists``; tmpfs in the agent container), created ``0700``, refused unless it is a
real directory owned by this user and closed to others. A list is two files, ``<binding>.<id>`` (the
transfer list) and ``<binding>.<id>.deletions``:

- ``binding`` is a digest of the pods directory and the request's source, destination and options
  (:func:`binding_of`), so a list is only ever used for the transfer it was made for;
- ``id`` is 128 random bits the preview answers (``changeSummary.changeList``); a pull names only the id
  (``"changeList"`` in the request, 32 hex digits) and this module makes the path: the caller never
  chooses a file.

One list per binding: a new preview replaces the previous one; a successful pull deletes its list (a
failed one keeps it for the retry); lists older than :data:`MAX_AGE_SECONDS` are swept by the next
preview. A pull whose list is gone (agent restarted, swept) falls back to a full walk, which is always
correct.

Stdlib only: the agent image runs it with ``python3 -I``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import stat
import time
from typing import Any

DIRECTORY_NAME = "change-lists"
MAX_AGE_SECONDS = 24 * 3600
"""A list not used within a day is stale (its PVC was held, or the controller went away)."""
_ID_DIGITS = 32


class ChangeListStoreError(Exception):
    """The change-list directory is unusable (not ours, open to others, a symlink)."""


def store_directory(lock_dir: str) -> str:
    """The change-list directory for an agent whose session slots live in ``lock_dir``."""
    return os.path.join(os.path.dirname(os.path.normpath(lock_dir)), DIRECTORY_NAME)


def binding_of(pods_dir: str, request: dict[str, Any]) -> str:
    """The digest that ties a list to one transfer: pods dir, source, destination and options."""
    material = {
        "podsDir": os.path.normpath(pods_dir),
        "source": request.get("source"),
        "destination": request.get("destination"),
        "options": request.get("options") or {},
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]


def valid_id(value: str) -> bool:
    """Whether ``value`` has the shape of an id this module hands out."""
    return len(value) == _ID_DIGITS and all(c in "0123456789abcdef" for c in value)


class ChangeListStore:
    """The private directory of change lists (see the module docstring)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def ensure(self) -> None:
        """Create the directory if needed; raise :class:`ChangeListStoreError` unless it is private."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        info = os.lstat(self.directory)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
            raise ChangeListStoreError(
                f"{self.directory} must be a directory owned by uid {os.geteuid()} with mode 0700"
            )

    def new(self, binding: str) -> tuple[str, str]:
        """``(id, path)`` of a fresh list for ``binding``; earlier lists of it and stale ones are removed."""
        self.ensure()
        now = time.time()
        for name in os.listdir(self.directory):
            path = os.path.join(self.directory, name)
            try:
                stale = now - os.lstat(path).st_mtime > MAX_AGE_SECONDS
            except FileNotFoundError:
                continue
            if name.startswith(binding + ".") or stale:
                _remove(path)
        list_id = secrets.token_hex(_ID_DIGITS // 2)
        return list_id, os.path.join(self.directory, f"{binding}.{list_id}")

    def existing(self, binding: str, list_id: str) -> str | None:
        """The path of list ``list_id`` for ``binding``, or None when it is not there (any more)."""
        if not valid_id(list_id):
            return None
        self.ensure()
        path = os.path.join(self.directory, f"{binding}.{list_id}")
        for part in (path, self.deletions_of(path)):
            try:
                info = os.lstat(part)
            except FileNotFoundError:
                return None
            if not stat.S_ISREG(info.st_mode):
                return None
        return path

    @staticmethod
    def deletions_of(path: str) -> str:
        """The deletion list that goes with the transfer list at ``path``."""
        return path + ".deletions"

    @classmethod
    def discard(cls, path: str) -> None:
        """Remove a list (after the pull that used it succeeded)."""
        _remove(path)
        _remove(cls.deletions_of(path))


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
