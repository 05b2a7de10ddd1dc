"""Plan-time checks of claims: what would fail or be refused in DR, said before anything is written.

- A PVC whose storage class the DR cluster does not have would stay Pending forever: the plan fails that
  claim (only that claim) with the fix — a ``storageClassMappings`` entry.
- A StatefulSet's ``volumeClaimTemplates`` are immutable: when the DR copy's templates would change
  (e.g. a new storage class mapping), the plan says so on the StatefulSet; ``immutableResourceConfig``
  then decides at apply (NoChange keeps the DR StatefulSet, Recreate replaces it).

Pure: plan entries in, plan entries out.
"""

from __future__ import annotations

from dataclasses import replace

from tasks.plan.planner import PlanEntry

PVC = "PersistentVolumeClaim"
TEMPLATES_PATH = "spec.volumeClaimTemplates"


def missing_storage_class(entry: PlanEntry, *, storage_classes: frozenset[str]) -> str | None:
    """The storage class a planned claim asks for that DR does not have, or None."""
    if entry.kind != PVC or entry.obj is None or entry.action not in ("create", "update"):
        return None
    wanted = (entry.obj.get("spec") or {}).get("storageClassName")
    if not wanted or wanted in storage_classes:
        return None
    return str(wanted)


def check_storage_classes(
    entries: list[PlanEntry], *, storage_classes: frozenset[str], cluster: str
) -> list[PlanEntry]:
    """Fail each claim whose storage class is missing in DR, naming the class and the fix."""
    checked = []
    for entry in entries:
        missing = missing_storage_class(entry, storage_classes=storage_classes)
        if missing is None:
            checked.append(entry)
            continue
        error = (
            f"storage class {missing} does not exist in cluster {cluster}; add a storageClassMappings entry"
        )
        checked.append(replace(entry, error=error, reason=error))
    return checked


def report_claim_template_changes(entries: list[PlanEntry]) -> list[PlanEntry]:
    """Say on each StatefulSet update that would change its (immutable) claim templates."""
    reported = []
    for entry in entries:
        if entry.kind == "StatefulSet" and entry.action == "update":
            changed = [diff.path for diff in entry.diff if diff.path.startswith(TEMPLATES_PATH)]
            if changed:
                note = (
                    "volumeClaimTemplates would change and are immutable: immutableResourceConfig decides "
                    "(NoChange keeps the DR StatefulSet's templates; Recreate replaces it)"
                )
                reported.append(replace(entry, reason=f"{entry.reason}; {note}"))
                continue
        reported.append(entry)
    return reported
