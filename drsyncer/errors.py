"""The errors dr-syncer raises, in one tree.

::

    DrSyncerError                 every error we raise on purpose; has ``message`` and ``fix``
    ├── ConfigError               bad configuration; carries every problem found (exit code 2)
    ├── UsageError                bad command-line input (exit code 2)
    ├── ClusterError              a cluster cannot be reached, refuses us, or lacks a kind / namespace
    │   └── TransientClusterError retried: 429, 5xx, connection reset/refused/timeout
    ├── LocalServerError          the local Prefect server cannot start or be used
    └── DataSyncError             one PVC's data could not be synced
        ├── TransientDataError    retried with backoff: connection refused/reset/timeout, stream errors
        ├── DataAuthError         never retried: key refused, host key mismatch
        └── DataSafetyError       never retried: empty source over full copy, path escape

The CLI turns a ``DrSyncerError`` into one line (message, then the fix) and an exit code; it never shows
a traceback for these.
"""

from __future__ import annotations


class DrSyncerError(Exception):
    """Base of every error dr-syncer raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} ({self.fix})" if self.fix else self.message


class ConfigError(DrSyncerError):
    """The configuration is invalid. ``problems`` lists every problem found, in file order."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        count = len(problems)
        super().__init__(
            f"{count} configuration problem{'s' if count != 1 else ''}:\n" + "\n".join(problems),
            fix="correct the fields named above; nothing was contacted or changed",
        )
        self.problems = problems


class UsageError(DrSyncerError):
    """A command-line argument is wrong."""

    exit_code = 2


class ClusterError(DrSyncerError):
    """A cluster cannot be used: unreachable, unauthorised, or missing a kind or namespace."""

    exit_code = 1


class TransientClusterError(ClusterError):
    """A cluster request failed in a way worth retrying (429, 5xx, connection errors)."""


class LocalServerError(DrSyncerError):
    """dr-syncer's local Prefect server cannot be started or used (port taken, start-up failed, newer
    database); the message names the log or file to look at."""


class DataSyncError(DrSyncerError):
    """One PVC's data could not be synced."""


class TransientDataError(DataSyncError):
    """A data transfer failed in a way worth retrying; ``attempts`` says how often it was tried."""

    attempts: int = 1


class DataAuthError(DataSyncError):
    """A key or host key was refused; retrying cannot help."""


class DataSafetyError(DataSyncError):
    """A transfer was refused because it could lose data or escape its volume."""
