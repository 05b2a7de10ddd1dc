"""Process-wide settings from DRSYNCER_* environment variables and a .env file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from drsyncer.settings import DEFAULT_AGENT_IMAGE, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("DRSYNCER_"):
            monkeypatch.delenv(name)


def test_defaults_without_environment(tmp_path: Path) -> None:
    settings = load_settings(env_file=tmp_path / "absent.env")

    assert settings.config_path is None
    assert settings.log_level == "WARNING"
    assert settings.run_log_level == "INFO"
    assert settings.pvc_concurrency == 2
    assert settings.agent_image == DEFAULT_AGENT_IMAGE == "ghcr.io/dr-syncer/agent:0.1.0"
    assert settings.key_dir == Path("~/.config/dr-syncer/keys").expanduser()
    assert settings.known_hosts_path == settings.key_dir / "known_hosts"
    assert settings.prefect_startup_timeout == 120


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DRSYNCER_CONFIG_PATH", str(tmp_path / "config"))
    monkeypatch.setenv("DRSYNCER_LOG_LEVEL", "debug")
    monkeypatch.setenv("DRSYNCER_RUN_LOG_LEVEL", "warning")
    monkeypatch.setenv("DRSYNCER_PVC_CONCURRENCY", "4")
    monkeypatch.setenv("DRSYNCER_AGENT_IMAGE", "registry.local/agent:dev")
    monkeypatch.setenv("DRSYNCER_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("DRSYNCER_KNOWN_HOSTS", str(tmp_path / "hosts"))
    monkeypatch.setenv("DRSYNCER_PREFECT_STARTUP_TIMEOUT", "30")

    settings = load_settings(env_file=None)

    assert settings.config_path == tmp_path / "config"
    assert settings.log_level == "DEBUG"
    assert settings.run_log_level == "WARNING"
    assert settings.pvc_concurrency == 4
    assert settings.agent_image == "registry.local/agent:dev"
    assert settings.key_dir == tmp_path / "keys"
    assert settings.known_hosts_path == tmp_path / "hosts"
    assert settings.prefect_startup_timeout == 30


def test_env_file_is_read_and_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DRSYNCER_PVC_CONCURRENCY=3\nDRSYNCER_LOG_LEVEL=WARNING\n", encoding="utf-8")
    monkeypatch.setenv("DRSYNCER_LOG_LEVEL", "ERROR")

    settings = load_settings(env_file=env_file)

    assert settings.pvc_concurrency == 3
    assert settings.log_level == "ERROR"


def test_dotenv_in_the_working_directory_is_read_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("DRSYNCER_AGENT_IMAGE=from-dotenv:1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    assert load_settings().agent_image == "from-dotenv:1"


@pytest.mark.parametrize(
    ("name", "value"),
    [("DRSYNCER_PVC_CONCURRENCY", "0"), ("DRSYNCER_LOG_LEVEL", "loud"), ("DRSYNCER_RUN_LOG_LEVEL", "chatty")],
)
def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError):
        load_settings(env_file=None)
