"""Prefect defaults for every dr-syncer entry point, set before Prefect is imported.

- Tasks never cache unless they say so (``PREFECT_TASKS_DEFAULT_NO_CACHE``): our tasks have side
  effects, and a cached "Completed" that did nothing is the worst kind of green.
- The ephemeral server (used when ``PREFECT_API_URL`` is not set) gets a start-up timeout long enough
  for a slow machine (a fresh ``PREFECT_HOME`` takes 16-18 s on 2 cores).

Values the user already set in the environment win.
"""

from __future__ import annotations

import os

DEFAULTS = {
    "PREFECT_TASKS_DEFAULT_NO_CACHE": "true",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


def apply_prefect_defaults(*, startup_timeout: int | None = None) -> None:
    """Set dr-syncer's Prefect defaults in ``os.environ`` where the user has not set them."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    if startup_timeout is not None:
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(startup_timeout))
