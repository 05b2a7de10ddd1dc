"""Every shipped example loads, and each one shows what it claims to show."""

from __future__ import annotations

from pathlib import Path

import pytest

from drsyncer.config import ReplicationMode, load_config

EXAMPLES = Path(__file__).resolve().parents[3] / "deployments" / "examples"


@pytest.mark.parametrize("directory", ["file-mode", "dr-syncer-samples"])
def test_example_directory_loads(directory: str) -> None:
    config = load_config([EXAMPLES / directory])

    assert config.mappings


@pytest.mark.parametrize("file", sorted(EXAMPLES.rglob("*.yaml")), ids=lambda p: p.name)
def test_every_example_file_is_valid_yaml_of_our_kinds(file: Path) -> None:
    load_config([file.parent])


def test_all_examples_load_together_without_warnings() -> None:
    config = load_config([EXAMPLES])

    # DR-Syncer's own samples (loaded unchanged) predate restore points, our addition: their only warning.
    assert [
        warning
        for warning in config.warnings
        if not ("dr-syncer-samples" in warning and "without restore points" in warning)
    ] == []


def test_file_mode_examples_cover_every_mode_pause_data_and_rename() -> None:
    mappings = load_config([EXAMPLES / "file-mode"]).mappings

    assert {m.mode for m in mappings} == set(ReplicationMode)
    assert any(m.paused for m in mappings)
    assert any(m.data_sync and m.pvc_config.storage_class_mappings for m in mappings)
    assert any(m.namespace_renamed for m in mappings)
    assert any(
        m.mode is ReplicationMode.Continuous and m.continuous.background_sync_interval.text == "30m"
        for m in mappings
    )
    assert all(m.source.spec.kubeconfig is not None for m in mappings)
