"""The Prefect artifacts of dr-syncer runs: what the UI's Artifacts tab shows for a sync or DR operation.

- A sync (or plan) publishes two artifacts: a markdown summary (key ``sync-<mapping>``) and a table of
  every object with its action and outcome (``sync-<mapping>-objects``). Keys are stable per mapping, so
  the UI's artifact page of a key is that mapping's history, run after run.
- A DR operation publishes its step table (``<operation>-<mapping>-steps``) when it starts and updates
  that same artifact as each step starts and completes, so a person watching a cutover sees it advance;
  its markdown report (``<operation>-<mapping>``) comes at the end.

Prefect artifact keys may hold only lowercase letters, digits and dashes: :func:`artifact_key` makes one
from any mapping name.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from drsyncer.report import SyncReport
from tasks.dr.operation_report import StepRecord


def artifact_key(*parts: str) -> str:
    """A valid Prefect artifact key from ``parts`` (``"sync", "Shop/Web"`` → ``sync-shop-web``)."""
    text = "-".join(parts).lower()
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]+", "-", text)).strip("-")


def publish_sync_report(report: SyncReport) -> None:
    """The report as two artifacts of the current run: a markdown summary and the objects table."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    key = artifact_key("plan" if report.plan_only else "sync", report.mapping)
    create_markdown_artifact(markdown=report.to_markdown(), key=key, description="dr-syncer sync summary")
    create_table_artifact(
        table=report.table_rows(), key=f"{key}-objects", description="objects: action and outcome"
    )


def step_rows(steps: Sequence[StepRecord], *, running: str = "") -> list[dict[str, Any]]:
    """The step table's rows: every recorded step, then the step running now (if any)."""
    rows = [
        {
            "step": step.step,
            "outcome": step.outcome,
            "started": step.started_at,
            "finished": step.finished_at,
            "objects": step.objects,
            "bytes": step.bytes,
            "detail": step.detail,
        }
        for step in steps
    ]
    if running and running not in {step.step for step in steps}:
        rows.append(
            {
                "step": running,
                "outcome": "running",
                "started": "",
                "finished": "",
                "objects": 0,
                "bytes": 0,
                "detail": "",
            }
        )
    return rows


@dataclass
class StepTable:
    """A DR operation's step table artifact: created on the first publish, then updated in place."""

    operation: str
    mapping: str
    artifact_id: uuid.UUID | None = None

    @property
    def key(self) -> str:
        """The artifact key, stable per operation and mapping."""
        return artifact_key(self.operation, self.mapping, "steps")

    def publish(self, steps: Sequence[StepRecord], *, running: str = "") -> None:
        """Show ``steps`` (and the step ``running`` now) in the run's step table."""
        from prefect.artifacts import create_table_artifact
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.actions import ArtifactUpdate

        rows = step_rows(steps, running=running)
        if self.artifact_id is None:
            created = create_table_artifact(
                table=rows, key=self.key, description=f"dr-syncer {self.operation}: steps so far"
            )
            self.artifact_id = cast(uuid.UUID, created)  # the sync call returns the id, not a coroutine
            return
        with get_client(sync_client=True) as client:
            client.update_artifact(self.artifact_id, ArtifactUpdate(data=json.dumps(rows)))
