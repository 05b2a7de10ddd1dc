"""A DR operation's step table artifact: one artifact per run, updated in place as steps complete."""

from __future__ import annotations

import json

from flows.run_artifacts import artifact_key
from tests.api.sync.conftest import MAPPING, SyncWorld
from tests.e2e.test_dr_operations import world  # noqa: F401  (the DR operations' fixture)
from tests.prefect_runs import artifacts


def test_stage_publishes_one_step_table_updated_as_each_step_completes(
    world: SyncWorld,  # noqa: F811
    prefect_server: str,
) -> None:
    from flows.dr_operations import stage

    state = stage(mapping=MAPPING, config=[str(world.config_path)], return_state=True)

    document = state.result(raise_on_failure=False)
    assert isinstance(document, dict), document
    assert document["phase"] == "Completed", document
    run_artifacts = artifacts(prefect_server, document["flowRunId"])
    tables = [a for a in run_artifacts if a["key"] == artifact_key("stage", MAPPING, "steps")]
    assert len(tables) == 1, [a["key"] for a in run_artifacts]
    table = tables[0]
    assert table["type"] == "table"
    rows = json.loads(table["data"]) if isinstance(table["data"], str) else table["data"]
    assert [(row["step"], row["outcome"]) for row in rows] == [
        ("sync-objects", "done"),
        ("verify-dr-at-rest", "done"),
    ]
    assert table["updated"] > table["created"], "the table is updated in place, not re-created"
    assert artifact_key("stage", MAPPING) in {a["key"] for a in run_artifacts}
