"""The ``drsyncer`` launcher's pure rules: which commands go to the warm process, and where its socket is
(it must find the same data directory as :class:`drsyncer.settings.Settings`, without importing it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drsyncer.launcher import wants_warm
from drsyncer.settings import load_settings
from drsyncer.warm_protocol import data_dir


@pytest.mark.parametrize(
    "environment",
    [
        {},
        {"XDG_DATA_HOME": "/srv/xdg"},
        {"XDG_DATA_HOME": "relative/xdg"},
        {"DRSYNCER_DATA_DIR": "/srv/drsyncer"},
        {"DRSYNCER_DATA_DIR": "~/dr", "XDG_DATA_HOME": "/srv/xdg"},
    ],
)
def test_the_launcher_finds_the_data_directory_the_settings_use(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DRSYNCER_DATA_DIR", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)  # no .env here

    assert data_dir(environment) == load_settings(env_file=None).data_dir


@pytest.mark.parametrize(
    ("argv", "environment", "warm"),
    [
        (["drsyncer", "sync", "c.yaml"], {}, True),
        (["drsyncer", "plan", "c.yaml", "--mapping", "m"], {}, True),
        (["drsyncer", "cutover", "c.yaml"], {}, True),
        (["drsyncer", "sync", "c.yaml"], {"DRSYNCER_WARM": "0"}, False),
        (["drsyncer", "sync", "--help"], {}, False),
        (["drsyncer", "--help"], {}, False),
        (["drsyncer"], {}, False),
        (["drsyncer", "validate", "c.yaml"], {}, False),
        (["drsyncer", "serve", "c.yaml"], {}, False),
        (["drsyncer", "server", "stop"], {}, False),
    ],
)
def test_only_heavy_commands_go_to_the_warm_process(
    argv: list[str], environment: dict[str, str], warm: bool
) -> None:
    assert wants_warm(argv, environment) is warm
