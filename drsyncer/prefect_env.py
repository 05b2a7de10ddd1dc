"""Prefect defaults for every dr-syncer entry point, and the run log levels every flow applies at start.

- Tasks never cache unless they say so (``PREFECT_TASKS_DEFAULT_NO_CACHE``): our tasks have side
  effects, and a cached "Completed" that did nothing is the worst kind of green.
- With ``PREFECT_API_URL`` unset, commands use dr-syncer's local Prefect server, started on first use
  and kept running (:mod:`drsyncer.local_server`); ``DRSYNCER_PREFECT=ephemeral`` keeps Prefect's
  temporary server per command, which gets a start-up timeout long enough for a slow machine (a fresh
  ``PREFECT_HOME`` takes 16-18 s on 2 cores).
- ``drsyncer serve``'s runner polls for runs to start every :data:`RUNNER_POLL_SECONDS` (2 s) instead of
  Prefect's 10 s (``PREFECT_RUNNER_POLL_FREQUENCY``), so a triggered deployment run starts promptly.
- Two log levels, never one: ``DRSYNCER_LOG_LEVEL`` is terminal verbosity (Prefect's console handler);
  ``DRSYNCER_RUN_LOG_LEVEL`` (INFO by default) is what a run sends to the Prefect API, i.e. what the
  Prefect UI shows. Copying the terminal level into ``PREFECT_LOGGING_LEVEL`` would drop every INFO
  record before it reaches the API, so nothing here sets ``PREFECT_LOGGING_LEVEL``.
- A task run's "Finished in state Completed()" line is dropped (:class:`QuietCompletedTasks`): with one
  task per kind they would bury the run's story in the UI.

:func:`apply_prefect_defaults` runs in our entry points before Prefect is imported; its environment is
inherited by the runs ``drsyncer serve`` starts. Runs started by a process or Kubernetes worker never pass
through our entry points, so every flow also calls :func:`apply_run_log_levels` as its first line.

Values the user already set in the environment win.
"""

from __future__ import annotations

import logging
import os
import sys

RUNNER_POLL_SECONDS = 2
"""How often ``drsyncer serve``'s runner asks the API for runs to start (Prefect's default is 10 s, so a
triggered run waited 5 s on average before it started). One small request per poll
(``POST /deployments/get_scheduled_flow_runs``); see docs/operations.md for the measured cost."""

DEFAULTS = {
    "PREFECT_TASKS_DEFAULT_NO_CACHE": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_RUNNER_POLL_FREQUENCY": str(RUNNER_POLL_SECONDS),
}

CONSOLE_LEVEL_VARIABLE = "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"
"""Prefect's override of its console handler's level (terminal verbosity)."""

API_LEVEL_VARIABLE = "PREFECT_LOGGING_HANDLERS_API_LEVEL"
"""Prefect's override of its API handler's level (what the Prefect UI gets)."""

RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
"""Prefect's run loggers (``get_run_logger()``); their records are the ones sent to the API."""

RUN_LEVEL_VARIABLES = tuple(
    f"PREFECT_LOGGING_LOGGERS_{name.upper().replace('.', '_')}_LEVEL" for name in RUN_LOGGERS
)
"""Prefect's overrides of the run loggers' levels (a run's first engine lines follow the setting too)."""


def apply_prefect_defaults() -> None:
    """Set dr-syncer's Prefect defaults in ``os.environ`` where the user has not set them.

    ``DRSYNCER_PREFECT_STARTUP_TIMEOUT`` becomes the ephemeral server's start-up timeout,
    ``DRSYNCER_LOG_LEVEL`` the console handler's level and ``DRSYNCER_RUN_LOG_LEVEL`` the run loggers'
    level (see :mod:`drsyncer.settings`). Last, unless a Prefect API is configured, ``PREFECT_API_URL``
    is pointed at the local server (started if needed; raises
    :class:`~drsyncer.errors.LocalServerError` when it cannot be).
    """
    from drsyncer.settings import load_settings

    settings = load_settings()
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault(
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(settings.prefect_startup_timeout)
    )
    os.environ.setdefault(CONSOLE_LEVEL_VARIABLE, settings.log_level)
    os.environ.setdefault(API_LEVEL_VARIABLE, settings.run_log_level)
    for variable in RUN_LEVEL_VARIABLES:
        os.environ.setdefault(variable, _lower(settings.log_level, settings.run_log_level))
    from drsyncer.local_server import use_local_server
    from drsyncer.warm_start import after_prefect_defaults

    server = use_local_server(settings, announce=lambda line: print(line, file=sys.stderr, flush=True))
    after_prefect_defaults(settings.data_dir, server=server)


def apply_run_log_levels() -> None:
    """Make this process's run logs follow the two settings; the first call in every flow's body.

    Prefect's API handlers get ``DRSYNCER_RUN_LOG_LEVEL`` and its console handlers ``DRSYNCER_LOG_LEVEL``
    (unless ``PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL`` is set); the run loggers let through the lower of
    the two, so INFO reaches the Prefect API even where the environment says
    ``PREFECT_LOGGING_LEVEL=WARNING``, and each side filters on its own.
    """
    from prefect.logging.handlers import APILogHandler, PrefectConsoleHandler

    from drsyncer.settings import load_settings

    settings = load_settings()
    console_level = (os.environ.get(CONSOLE_LEVEL_VARIABLE) or settings.log_level).upper()
    loggers = [logging.getLogger(name) for name in RUN_LOGGERS]
    for logger in loggers:
        logger.setLevel(_lower(console_level, settings.run_log_level))
    task_logger = logging.getLogger("prefect.task_runs")
    if not any(isinstance(f, QuietCompletedTasks) for f in task_logger.filters):
        task_logger.addFilter(QuietCompletedTasks())
    for logger in (*loggers, logging.getLogger("prefect"), logging.getLogger()):
        for handler in logger.handlers:
            if isinstance(handler, APILogHandler):
                handler.setLevel(settings.run_log_level)
            elif isinstance(handler, PrefectConsoleHandler):
                handler.setLevel(console_level)


class QuietCompletedTasks(logging.Filter):
    """Drops Prefect's "Finished in state Completed()" line of every task run (DEBUG and failures stay).

    A sync runs one task per kind, so these lines would outnumber the story; the task's state shows in
    the UI anyway. A failed or retried task's line (ERROR) is kept.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a completed task's closing line."""
        return not (
            record.levelno == logging.INFO and str(record.msg).startswith("Finished in state Completed(")
        )


def _lower(first: str, second: str) -> str:
    """The more verbose of two level names."""
    return first if logging.getLevelName(first) <= logging.getLevelName(second) else second
