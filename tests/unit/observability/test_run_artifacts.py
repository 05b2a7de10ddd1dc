"""Artifact keys stable per mapping and valid for Prefect; the DR step table's rows."""

from __future__ import annotations

import pytest
from prefect.client.schemas.actions import ArtifactCreate

from flows.run_artifacts import artifact_key, step_rows
from tasks.dr.operation_report import StepRecord


@pytest.mark.parametrize(
    ("parts", "key"),
    [
        (("sync", "web"), "sync-web"),
        (("sync", "Shop/Web_App"), "sync-shop-web-app"),
        (("cutover", "--odd--name."), "cutover-odd-name"),
        (("failback", "web", "steps"), "failback-web-steps"),
    ],
)
def test_artifact_keys_are_stable_and_accepted_by_prefect(parts: tuple[str, ...], key: str) -> None:
    assert artifact_key(*parts) == key
    assert ArtifactCreate(key=artifact_key(*parts), type="markdown", data="x").key == key


def test_step_rows_show_done_steps_then_the_running_one() -> None:
    steps = [StepRecord(step="sync-objects", objects=3, detail="3 created")]

    rows = step_rows(steps, running="copy-data")

    assert [(row["step"], row["outcome"]) for row in rows] == [
        ("sync-objects", "done"),
        ("copy-data", "running"),
    ]
    assert rows[0]["detail"] == "3 created"


def test_a_finished_step_is_not_shown_running_twice() -> None:
    rows = step_rows([StepRecord(step="copy-data")], running="copy-data")

    assert [row["step"] for row in rows] == ["copy-data"]
