"""Cutover onto restore points (``drsyncer cutover --restore-point latest|TIME``) instead of a final copy.

When the source is corrupted, its last changes are exactly what must not reach DR. This step replaces the
cutover's ``final-data`` copy: every DR claim of the mapping is restored (:mod:`tasks.data.restore_claim`)
from its newest ready restore point taken at or before ``TIME`` (``latest``: the newest), while DR is
still parked. A claim without such a point fails the step (nothing is started on a copy of unknown age).
The step's record says, loudly, that the final data copy was skipped and which point each claim got.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import task

from drsyncer.errors import UsageError
from drsyncer.kube.client import object_path
from tasks.data.restore_claim import restore_claim
from tasks.data.restore_points import RestorePoint, list_restore_points
from tasks.dr.dr_tasks import CHECKPOINT, StepFailedError
from tasks.dr.operation_report import StepRecord, now_text
from tasks.session import SyncSession

LATEST = "latest"


def parse_before(text: str) -> datetime | None:
    """``latest`` → None (no bound); an ISO 8601 time (``2026-12-03T10:00:00Z``) → that UTC time."""
    if text.strip().lower() == LATEST:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--restore-point {text!r} is neither 'latest' nor a time",
            fix="give latest, or a UTC time such as 2026-12-03T10:00:00Z (the newest point at or before it)",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def choose_point(points: list[RestorePoint], *, before: datetime | None) -> RestorePoint | None:
    """The newest ready point taken at or before ``before`` (any time when None)."""
    eligible = [p for p in points if p.ready and (before is None or p.taken_at <= before)]
    return max(eligible, key=lambda p: p.taken_at, default=None)


@task(name="dr-restore-points", task_run_name="{step}", cache_policy=CHECKPOINT, persist_result=True)
def restore_from_points(session: SyncSession, restore_point: str, step: str) -> StepRecord:
    """Restore every DR claim of the mapping from its restore point (DR parked); see the module docstring."""
    started = now_text()
    mapping = session.mapping
    before = parse_before(restore_point)
    client = session.destination
    namespace = mapping.destination_namespace
    claims, _ = client.list(
        object_path(group="", version="v1", plural="persistentvolumeclaims", namespace=namespace)
    )
    chosen: dict[str, RestorePoint] = {}
    for claim in sorted(str(item["metadata"]["name"]) for item in claims):
        point = choose_point(
            list_restore_points(client, namespace, mapping=mapping.name, claim=claim), before=before
        )
        if point is None:
            raise StepFailedError(
                f"claim {claim} has no ready restore point at or before {restore_point}",
                fix="pick another --restore-point, restore it with `drsyncer restore-points restore`, or cut "
                "over without --restore-point",
            )
        chosen[claim] = point
    for claim, point in chosen.items():
        restore_claim(client, mapping, claim=claim, point=point.name, force=False, now=datetime.now(UTC))
    restored = ", ".join(f"{claim} ← {point.name}" for claim, point in chosen.items()) or "no claims"
    return StepRecord(
        step=step,
        started_at=started,
        finished_at=now_text(),
        objects=len(chosen),
        detail=f"WARNING: final data copy SKIPPED, DR starts on restore points: {restored}",
    )
