"""Per-key session limits: a key runs at most N forced-command sessions on an agent at once.

sshd limits unauthenticated connections (``MaxStartups``, ``PerSourceMaxStartups``) and sessions per
connection (``MaxSessions``), but not sessions per key: a stolen key could start thousands of rsyncs.
Every authorized_keys line names its key (``--key-id``, a digest of the public key, written by
``drsyncer.keys``), so the forced command takes one of N slot files in ``<lock dir>/<key id>/`` with a
non-blocking ``flock`` before it does anything, and holds it (the descriptor survives ``exec`` into
rrsync) until the session ends; the kernel drops the lock when the process exits, however it exits.
No free slot: the session is refused with exit 75 (temporary; the controller retries with backoff).

Stdlib only: the agent image runs it with ``python3 -I``.
"""

from __future__ import annotations

import fcntl
import os
import re

DEFAULT_LOCK_DIR = "/run/dr-syncer/sessions"
DEFAULT_MAX_SESSIONS = 16
_KEY_ID = re.compile(r"^[0-9a-f]{16,64}$")


class SessionLimitError(Exception):
    """Every session slot of a key is taken (or the key id or lock directory is unusable)."""


def acquire_slot(lock_dir: str, key_id: str, *, limit: int) -> int:
    """Lock one of ``limit`` slots for ``key_id``; return the descriptor holding it (inheritable).

    Raises:
        SessionLimitError: all slots are held by running sessions of this key, or the key id is odd.
    """
    if not _KEY_ID.match(key_id) or limit < 1:
        raise SessionLimitError(
            f"invalid session limit configuration (key id {key_id[:20]!r}, limit {limit})"
        )
    directory = os.path.join(lock_dir, key_id)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    for slot in range(limit):
        fd = os.open(
            os.path.join(directory, f"slot-{slot}"),
            os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        os.set_inheritable(fd, True)
        return fd
    raise SessionLimitError(f"this key already runs {limit} sessions on this agent; try again later")
