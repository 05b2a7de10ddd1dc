"""``drsyncer validate``: exit 0 with the mappings, or exit 2 with every problem on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drsyncer.cli.main import app
from tests.unit.config.factories import namespace_mapping, two_clusters, write_documents

REPO = Path(__file__).resolve().parents[3]
DRSYNCER = Path(sys.executable).parent / "drsyncer"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_valid_config_prints_the_mappings_and_exits_0(runner: CliRunner, tmp_path: Path) -> None:
    config = write_documents(
        tmp_path / "c.yaml", [*two_clusters(), namespace_mapping("shop", schedule="0 * * * *")]
    )

    result = runner.invoke(app, ["validate", str(config)])

    assert result.exit_code == 0, result.output
    assert "shop" in result.stdout
    assert "0 * * * *" in result.stdout
    assert "1 NamespaceMapping(s)" in result.stdout


def test_json_output_is_one_document(runner: CliRunner, tmp_path: Path) -> None:
    config = write_documents(
        tmp_path / "c.yaml", [*two_clusters(), namespace_mapping("shop", replicationMode="Manual")]
    )

    result = runner.invoke(app, ["validate", str(config), "--output", "json"])

    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["valid"] is True
    (mapping,) = document["mappings"]
    assert mapping["key"] == "dr-syncer/shop"
    assert mapping["mode"] == "Manual"
    assert mapping["schedule"] is None
    assert mapping["source"] == {"cluster": "source", "namespace": "app"}


def test_invalid_config_exits_2_with_every_problem_on_stderr(runner: CliRunner, tmp_path: Path) -> None:
    config = write_documents(
        tmp_path / "c.yaml",
        [*two_clusters(), namespace_mapping("a", schedule="61 * * * *"), namespace_mapping("b", bogus=1)],
    )

    result = runner.invoke(app, ["validate", str(config)])

    assert result.exit_code == 2
    assert "2 configuration problem(s)" in result.stderr
    assert f"{config}: document 3 (NamespaceMapping/a): spec.schedule:" in result.stderr
    assert f"{config}: document 4 (NamespaceMapping/b): spec.bogus: unknown field" in result.stderr
    assert result.stdout == ""


def test_missing_path_exits_2_with_a_clear_message(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "missing.yaml")])

    assert result.exit_code == 2
    assert "missing.yaml: no such file or directory" in result.stderr


def test_warnings_go_to_stderr(runner: CliRunner, tmp_path: Path) -> None:
    config = write_documents(
        tmp_path / "c.yaml",
        [*two_clusters(), namespace_mapping("m", replicationMode="Manual", schedule="0 * * * *")],
    )

    result = runner.invoke(app, ["validate", str(config), "-o", "json"])

    assert result.exit_code == 0
    assert "schedule is ignored in Manual mode" in result.stderr
    assert json.loads(result.stdout)["warnings"]


def run_drsyncer(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DRSYNCER), *args], capture_output=True, text=True, cwd=REPO, timeout=120, check=False
    )


def test_shipped_examples_validate_in_a_real_process() -> None:
    result = run_drsyncer("validate", "deployments/examples")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"bogus": 1}, "spec.bogus: unknown field"),
        (
            {"schedule": "61 * * * *"},
            "spec.schedule: cron schedule '61 * * * *': minute field value 61 is out of range",
        ),
        (
            {"destinationCluster": "nowhere"},
            "spec.destinationCluster: RemoteCluster dr-syncer/nowhere not found",
        ),
    ],
)
def test_bad_config_exits_2_in_a_real_process(tmp_path: Path, spec: dict[str, Any], expected: str) -> None:
    config = write_documents(tmp_path / "bad.yaml", [*two_clusters(), namespace_mapping("m", **spec)])

    result = run_drsyncer("validate", str(config))

    assert result.returncode == 2
    assert f"{config}: document 3 (NamespaceMapping/m): {expected}" in result.stderr
