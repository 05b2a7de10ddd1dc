"""Two log levels: DRSYNCER_LOG_LEVEL is the terminal's, DRSYNCER_RUN_LOG_LEVEL what the Prefect UI gets."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from prefect.logging.handlers import APILogHandler, PrefectConsoleHandler

from drsyncer.prefect_env import (
    API_LEVEL_VARIABLE,
    CONSOLE_LEVEL_VARIABLE,
    RUN_LEVEL_VARIABLES,
    RUN_LOGGERS,
    QuietCompletedTasks,
    apply_prefect_defaults,
    apply_run_log_levels,
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in list(os.environ):
        if name.startswith("DRSYNCER_") or name in (
            CONSOLE_LEVEL_VARIABLE,
            API_LEVEL_VARIABLE,
            *RUN_LEVEL_VARIABLES,
        ):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("no-dotenv"))


@dataclass
class Handlers:
    """A Prefect console handler on the root logger and an API handler on the flow-run logger."""

    console: PrefectConsoleHandler
    api: APILogHandler


@pytest.fixture
def handlers() -> Iterator[Handlers]:
    """Prefect's two handlers, as its logging config attaches them; every level changed is put back."""
    added = Handlers(console=PrefectConsoleHandler(), api=APILogHandler())
    root, flow_runs = logging.getLogger(), logging.getLogger("prefect.flow_runs")
    root.addHandler(added.console)
    flow_runs.addHandler(added.api)
    levels = {name: logging.getLogger(name).level for name in RUN_LOGGERS}
    yield added
    root.removeHandler(added.console)
    flow_runs.removeHandler(added.api)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    task_runs = logging.getLogger("prefect.task_runs")
    for added_filter in [f for f in task_runs.filters if isinstance(f, QuietCompletedTasks)]:
        task_runs.removeFilter(added_filter)


def test_defaults_keep_the_terminal_at_warning_and_never_lower_prefect_logging_level(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PREFECT_LOGGING_LEVEL", raising=False)

    apply_prefect_defaults()

    assert os.environ[CONSOLE_LEVEL_VARIABLE] == "WARNING"
    assert os.environ[API_LEVEL_VARIABLE] == "INFO"
    assert [os.environ[name] for name in RUN_LEVEL_VARIABLES] == ["INFO", "INFO"]
    assert "PREFECT_LOGGING_LEVEL" not in os.environ, "it would drop INFO run logs before the API"


def test_the_two_settings_go_to_their_own_prefect_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRSYNCER_LOG_LEVEL", "error")
    monkeypatch.setenv("DRSYNCER_RUN_LOG_LEVEL", "debug")

    apply_prefect_defaults()

    assert os.environ[CONSOLE_LEVEL_VARIABLE] == "ERROR"
    assert os.environ[API_LEVEL_VARIABLE] == "DEBUG"
    assert [os.environ[name] for name in RUN_LEVEL_VARIABLES] == ["DEBUG", "DEBUG"]


def test_a_console_level_the_user_set_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONSOLE_LEVEL_VARIABLE, "DEBUG")
    monkeypatch.setenv("DRSYNCER_LOG_LEVEL", "ERROR")

    apply_prefect_defaults()

    assert os.environ[CONSOLE_LEVEL_VARIABLE] == "DEBUG"


def test_flow_start_sends_info_runs_logs_even_under_prefect_logging_level_warning(
    handlers: Handlers,
) -> None:
    logging.getLogger("prefect").setLevel(logging.WARNING)
    try:
        apply_run_log_levels()

        for name in RUN_LOGGERS:
            assert logging.getLogger(name).isEnabledFor(logging.INFO)
            assert not logging.getLogger(name).isEnabledFor(logging.DEBUG)
        assert handlers.api.level == logging.INFO
        assert handlers.console.level == logging.WARNING
    finally:
        logging.getLogger("prefect").setLevel(logging.NOTSET)


def test_flow_start_filters_terminal_and_ui_each_on_its_own_level(
    monkeypatch: pytest.MonkeyPatch, handlers: Handlers
) -> None:
    monkeypatch.setenv("DRSYNCER_LOG_LEVEL", "INFO")
    monkeypatch.setenv("DRSYNCER_RUN_LOG_LEVEL", "ERROR")

    apply_run_log_levels()

    assert logging.getLogger("prefect.flow_runs").isEnabledFor(logging.INFO), "the terminal wants INFO"
    assert handlers.console.level == logging.INFO
    assert handlers.api.level == logging.ERROR


def test_completed_task_lines_are_dropped_failed_ones_kept(handlers: Handlers) -> None:
    apply_run_log_levels()
    apply_run_log_levels()
    task_runs = logging.getLogger("prefect.task_runs")

    def passes(level: int, message: str) -> bool:
        return bool(
            task_runs.filter(logging.LogRecord("prefect.task_runs", level, "", 0, message, None, None))
        )

    assert sum(isinstance(f, QuietCompletedTasks) for f in task_runs.filters) == 1
    assert not passes(logging.INFO, "Finished in state Completed()")
    assert passes(logging.ERROR, "Finished in state Failed('boom')")
    assert passes(logging.INFO, "apply-ConfigMap: 3 created")


def test_served_deployments_poll_for_runs_every_two_seconds_unless_the_user_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``drsyncer serve``'s runner inherits this: a triggered run starts within ~2 s, not Prefect's 10 s."""
    monkeypatch.delenv("PREFECT_RUNNER_POLL_FREQUENCY", raising=False)
    apply_prefect_defaults()
    assert os.environ["PREFECT_RUNNER_POLL_FREQUENCY"] == "2"

    monkeypatch.setenv("PREFECT_RUNNER_POLL_FREQUENCY", "30")
    apply_prefect_defaults()
    assert os.environ["PREFECT_RUNNER_POLL_FREQUENCY"] == "30"
