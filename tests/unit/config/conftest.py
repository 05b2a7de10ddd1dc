"""Fixtures for config tests: write documents to a temporary config file and load them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from drsyncer.config import Config, load_config
from drsyncer.errors import ConfigError
from drsyncer.objects import KubeObject
from tests.unit.config.factories import write_documents

LoadDocuments = Callable[[Sequence[KubeObject | None]], Config]
Problems = Callable[[Sequence[KubeObject | None]], list[str]]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """Where the documents of a test are written."""
    return tmp_path / "config.yaml"


@pytest.fixture
def load(config_file: Path) -> LoadDocuments:
    """Write documents to ``config_file`` and load them."""

    def load_them(documents: Sequence[KubeObject | None]) -> Config:
        write_documents(config_file, documents)
        return load_config([config_file])

    return load_them


@pytest.fixture
def problems(load: LoadDocuments) -> Problems:
    """Write documents, load them, and return the problems (failing if they load)."""

    def problems_of(documents: Sequence[KubeObject | None]) -> list[str]:
        with pytest.raises(ConfigError) as raised:
            load(documents)
        return raised.value.problems

    return problems_of
