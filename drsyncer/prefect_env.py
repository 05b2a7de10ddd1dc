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
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


def apply_prefect_defaults() -> None:
    """Set dr-syncer's Prefect defaults in ``os.environ`` where the user has not set them.

    ``DRSYNCER_PREFECT_STARTUP_TIMEOUT`` and ``DRSYNCER_LOG_LEVEL`` (see :mod:`drsyncer.settings`) become
    the ephemeral server's start-up timeout and Prefect's console log level.
    """
    from drsyncer.settings import load_settings

    settings = load_settings()
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault(
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(settings.prefect_startup_timeout)
    )
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", settings.log_level)
