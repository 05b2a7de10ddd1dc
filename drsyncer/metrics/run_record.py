"""The run record: what one sync run did, in a small machine-readable Prefect table artifact.

The report's markdown and objects-table artifacts are for people; the metrics exporter must not parse
prose. So every sync run (not a plan) also publishes this record — a handful of rows, whatever the size of
the namespace — and the exporter reads it back from the Prefect API, whichever process ran the sync.

Rows (one table, the same columns on every row)::

    item     name                 status                         reason  seconds  bytes  files  count
    run      ""                   succeeded | failed             why     run      -      -      -
    stage    objects | data       succeeded | failed | skipped   why     stage    sum    sum    items
    pvc      <claim name>         synced | failed                -       pvc      pvc    pvc    attempts
    outcome  created | updated …  -                              -       -        -      -      objects

``reason`` is one word from :data:`FAILURE_REASONS` (bounded: it becomes a metric label). The data stage is
``skipped`` when no PVC data was copied in the run (data sync off, no claims, or the objects failed first).
The record never holds object content, hosts or secrets: names of the mapping's claims and counts only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from drsyncer.report import COUNT_KEYS, PvcOutcome, SyncReport

if TYPE_CHECKING:
    from drsyncer.config.effective import EffectiveMapping

RECORD_DESCRIPTION = "dr-syncer run record v1 (machine-readable; read by the metrics exporter)"
"""The artifact's description: how the exporter tells a run record from the other table artifacts."""

STAGES = ("objects", "data")
"""The stages a run record reports, in pipeline order."""

FAILURE_REASONS = ("error", "objects", "data", "crashed")
"""Why a run failed, most fundamental first: a run-level error (a cluster unreachable, a bad mapping), an
object, a PVC, or the run crashed or failed before it could publish a record."""

COLUMNS = ("item", "name", "status", "reason", "seconds", "bytes", "files", "count")


def failure_reason(report: SyncReport) -> str:
    """The one reason ``report`` failed (the first of :data:`FAILURE_REASONS` that applies), or ``""``."""
    if report.error:
        return "error"
    if report.failed_objects:
        return "objects"
    if report.failed_pvcs:
        return "data"
    return ""


def _row(item: str, name: str = "", **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"item": item, "name": name, "status": "", "reason": "", "seconds": 0.0}
    row |= {"bytes": 0, "files": 0, "count": 0}
    row.update(values)
    return row


def record_rows(report: SyncReport, *, data_only: bool = False) -> list[dict[str, Any]]:
    """The record's rows for ``report`` (stage durations from ``report.stage_seconds``).

    ``data_only``: the run copied PVC data only (continuous mode's ``pvc-data-sync``); its objects stage
    is ``skipped``, so it never moves the objects RPO.
    """
    stage_seconds = report.stage_seconds
    reason = failure_reason(report)
    objects_failed = bool(report.error or report.failed_objects)
    objects_status = "skipped" if data_only else ("failed" if objects_failed else "succeeded")
    if report.failed_pvcs:
        data_status = "failed"
    elif report.pvcs:
        data_status = "succeeded"
    else:
        data_status = "skipped"
    rows = [
        _row(
            "run",
            status="succeeded" if not reason else "failed",
            reason=reason,
            seconds=round(report.duration_seconds, 3),
        ),
        _row(
            "stage",
            "objects",
            status=objects_status,
            reason="error" if report.error else ("objects" if report.failed_objects else ""),
            seconds=round(stage_seconds.get("objects", 0.0), 3),
            count=len(report.objects),
        ),
        _row(
            "stage",
            "data",
            status=data_status,
            reason="data" if report.failed_pvcs else "",
            seconds=round(stage_seconds.get("data", 0.0), 3),
            bytes=sum(p.bytes_transferred for p in report.pvcs),
            files=sum(p.files_transferred for p in report.pvcs),
            count=len(report.pvcs),
        ),
    ]
    rows += [
        _row(
            "pvc",
            p.name,
            status=p.status,
            seconds=round(p.duration_seconds, 3),
            bytes=p.bytes_transferred,
            files=p.files_transferred,
            count=p.attempts,
        )
        for p in report.pvcs
    ]
    if not data_only:  # a data-only run synced no object: drsyncer_objects keeps the last sync's counts
        counts = report.counts
        rows += [_row("outcome", key, count=counts[key]) for key in COUNT_KEYS]
    return rows


@dataclass(frozen=True)
class PvcRecord:
    """One PVC's line of a run record."""

    name: str
    succeeded: bool
    seconds: float
    bytes: int
    files: int
    held: bool = False
    """The change guard held the PVC's sync (status ``held``): its DR copy was left as it was."""


@dataclass(frozen=True)
class RunRecord:
    """A run record read back from its rows."""

    succeeded: bool
    reason: str
    seconds: float
    stage_status: dict[str, str] = field(default_factory=dict)
    """``objects``/``data`` → ``succeeded``, ``failed`` or ``skipped``."""
    stage_seconds: dict[str, float] = field(default_factory=dict)
    pvcs: tuple[PvcRecord, ...] = ()
    outcomes: dict[str, int] = field(default_factory=dict)
    """Objects per outcome (created, updated, unchanged, pruned, skipped, failed)."""


def parse_record(rows: Iterable[Mapping[str, Any]]) -> RunRecord:
    """The :class:`RunRecord` of a record's rows (unknown items are ignored: newer writers may add some)."""
    succeeded, reason, seconds = False, "crashed", 0.0
    stage_status: dict[str, str] = {}
    stage_seconds: dict[str, float] = {}
    pvcs: list[PvcRecord] = []
    outcomes: dict[str, int] = {}
    for row in rows:
        item, name = str(row.get("item", "")), str(row.get("name", ""))
        row_seconds = float(row.get("seconds") or 0.0)
        if item == "run":
            succeeded = row.get("status") == "succeeded"
            reason = "" if succeeded else (str(row.get("reason") or "") or "error")
            seconds = row_seconds
        elif item == "stage" and name in STAGES:
            stage_status[name] = str(row.get("status", ""))
            stage_seconds[name] = row_seconds
        elif item == "pvc":
            pvcs.append(
                PvcRecord(
                    name=name,
                    succeeded=row.get("status") == "synced",
                    seconds=row_seconds,
                    bytes=int(row.get("bytes") or 0),
                    files=int(row.get("files") or 0),
                    held=row.get("status") == "held",
                )
            )
        elif item == "outcome" and name in COUNT_KEYS:
            outcomes[name] = int(row.get("count") or 0)
    return RunRecord(
        succeeded=succeeded,
        reason=reason if reason in FAILURE_REASONS else ("" if succeeded else "error"),
        seconds=seconds,
        stage_status=stage_status,
        stage_seconds=stage_seconds,
        pvcs=tuple(pvcs),
        outcomes=outcomes,
    )


def parse_artifact_data(data: Any) -> RunRecord | None:
    """The record in a table artifact's ``data`` (a JSON string or already-decoded rows); None if not one."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return None
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        return None
    return parse_record(data)


def publish_run_record(report: SyncReport, *, data_only: bool = False) -> None:
    """Publish ``report``'s record as a table artifact of the current flow run (plans publish none)."""
    if report.plan_only:
        return
    from prefect.artifacts import create_table_artifact

    create_table_artifact(table=record_rows(report, data_only=data_only), description=RECORD_DESCRIPTION)


def publish_data_record(
    mapping: EffectiveMapping, pvcs: list[PvcOutcome], *, started_at: str, seconds: float
) -> None:
    """Publish the record of a data-only run (``pvc-data-sync``): its PVC outcomes, objects skipped."""
    report = SyncReport.for_mapping(mapping, started_at=started_at)
    report.pvcs = list(pvcs)
    report.duration_seconds = seconds
    report.stage_seconds["data"] = seconds
    publish_run_record(report, data_only=True)
