"""Which configuration a command reads: the CONFIG arguments, else ``DRSYNCER_CONFIG_PATH``."""

from __future__ import annotations

from pathlib import Path

from drsyncer.errors import UsageError
from drsyncer.settings import load_settings


def config_paths(given: list[Path] | None) -> list[Path]:
    """The CONFIG paths given, or the ``DRSYNCER_CONFIG_PATH`` setting; a usage error when neither is set."""
    if given:
        return given
    configured = load_settings().config_path
    if configured is not None:
        return [configured]
    raise UsageError(
        "no CONFIG given",
        fix="pass configuration files or directories (e.g. deployments/examples/file-mode), "
        "or set DRSYNCER_CONFIG_PATH",
    )
