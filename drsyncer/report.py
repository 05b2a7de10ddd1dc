"""The SyncReport: what one namespace sync did, object by object and PVC by PVC.

It is the last stage of the pipeline (``... -> apply -> prune -> PVC data -> report``) and has four
readers: the flow's return value, the Prefect artifacts (a table and a markdown summary), the CLI's
``--output json`` document, and (in controller mode) the NamespaceMapping status.

JSON contract (``drsyncer sync --output json``; documented in the README)::

    {"mapping", "source": {"cluster", "namespace"}, "destination": {"cluster", "namespace"},
     "phase": "Completed" | "Failed", "counts": {"created", "updated", "unchanged", "pruned",
     "skipped", "failed"}, "objects": [{"kind", "name", "action", "status", "error"}],
     "pvcs": [{"name", "status" (synced | failed | held), "bytesTransferred", "filesTransferred",
     "durationSeconds", "throughputBytesPerSecond", "verification", "error", "changeGuard"?,
     "restorePoint"?}],
     "durationSeconds", "startedAt", "finishedAt", "error", "warnings": ["..."], "retries": ["..."]}

``warnings`` are what went wrong without failing the sync: an API group whose discovery failed (an
aggregated API that is down), the API server's ``Warning`` headers (deprecated versions, ...). A sync with
only warnings succeeds (exit code 0). ``retries`` lists each API request that failed transiently (429,
5xx, a reset connection) and was retried.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from drsyncer.config.effective import EffectiveMapping

Action = Literal["create", "update", "unchanged", "prune", "skip"]
Outcome = Literal["synced", "unchanged", "pruned", "skipped", "failed", "planned"]

COUNT_KEYS = ("created", "updated", "unchanged", "pruned", "skipped", "failed")


@dataclass
class ObjectOutcome:
    """One object's line in the report."""

    kind: str
    name: str
    action: str
    status: str
    error: str = ""
    reason: str = ""
    diff: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The object's entry of the JSON contract."""
        entry: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "status": self.status,
            "error": self.error or None,
        }
        if self.reason:
            entry["reason"] = self.reason
        if self.diff:
            entry["diff"] = self.diff
        return entry


@dataclass
class PvcOutcome:
    """One PVC's data-sync line in the report."""

    name: str
    status: str
    bytes_transferred: int = 0
    files_transferred: int = 0
    total_bytes: int = 0
    duration_seconds: float = 0.0
    verification: str = "none"
    error: str = ""
    attempts: int = 1
    change_guard: dict[str, Any] | None = None
    """The change guard's dry-run summary (``tasks/data/change_guard.py``) when it ran."""
    restore_point: str = ""
    """The VolumeSnapshot taken of the DR claim before this sync changed it (``restore_points.py``)."""

    @property
    def throughput(self) -> float:
        """Bytes per second over the transfer (0 when instantaneous)."""
        return self.bytes_transferred / self.duration_seconds if self.duration_seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """The PVC's entry of the JSON contract."""
        return {
            "name": self.name,
            "status": self.status,
            "bytesTransferred": self.bytes_transferred,
            "filesTransferred": self.files_transferred,
            "totalBytes": self.total_bytes,
            "durationSeconds": round(self.duration_seconds, 3),
            "throughputBytesPerSecond": round(self.throughput, 1),
            "verification": self.verification,
            "attempts": self.attempts,
            "error": self.error or None,
            **({"changeGuard": self.change_guard} if self.change_guard is not None else {}),
            **({"restorePoint": self.restore_point} if self.restore_point else {}),
        }


@dataclass
class SyncReport:
    """Everything one sync of one mapping did."""

    mapping: str
    source_cluster: str
    source_namespace: str
    destination_cluster: str
    destination_namespace: str
    started_at: str
    finished_at: str = ""
    duration_seconds: float = 0.0
    objects: list[ObjectOutcome] = field(default_factory=list)
    pvcs: list[PvcOutcome] = field(default_factory=list)
    error: str = ""
    plan_only: bool = False
    deployment_scales: list[dict[str, Any]] = field(default_factory=list)
    """``{"name", "originalReplicas"}`` per synced Deployment (NamespaceMapping status)."""
    warnings: list[str] = field(default_factory=list)
    """Problems that do not fail the sync (unavailable API groups, API server Warning headers)."""
    retries: list[str] = field(default_factory=list)
    """Each API request that failed transiently and was retried (what, and the status or error)."""
    stage_seconds: dict[str, float] = field(default_factory=dict)
    """Measured seconds per stage (``objects``: discover to prune; ``data``: the PVC data stage)."""

    @classmethod
    def for_mapping(
        cls, mapping: EffectiveMapping, *, started_at: str, plan_only: bool = False
    ) -> SyncReport:
        """An empty report for ``mapping`` (clusters and namespaces filled in)."""
        return cls(
            mapping=mapping.name,
            source_cluster=mapping.source.name,
            source_namespace=mapping.source_namespace,
            destination_cluster=mapping.destination.name,
            destination_namespace=mapping.destination_namespace,
            started_at=started_at,
            plan_only=plan_only,
        )

    @property
    def counts(self) -> dict[str, int]:
        """Objects per outcome (created, updated, unchanged, pruned, skipped, failed)."""
        counts = dict.fromkeys(COUNT_KEYS, 0)
        for outcome in self.objects:
            if outcome.status == "failed":
                counts["failed"] += 1
            elif outcome.action == "create":
                counts["created"] += 1
            elif outcome.action == "update":
                counts["updated"] += 1
            elif outcome.action == "prune":
                counts["pruned"] += 1
            elif outcome.action == "skip":
                counts["skipped"] += 1
            else:
                counts["unchanged"] += 1
        return counts

    @property
    def failed_objects(self) -> list[ObjectOutcome]:
        """Objects whose apply, prune or check failed."""
        return [outcome for outcome in self.objects if outcome.status == "failed"]

    @property
    def failed_pvcs(self) -> list[PvcOutcome]:
        """PVCs whose data sync failed or was held by the change guard."""
        return [outcome for outcome in self.pvcs if outcome.status in ("failed", "held")]

    @property
    def succeeded(self) -> bool:
        """True when nothing failed."""
        return not self.error and not self.failed_objects and not self.failed_pvcs

    @property
    def phase(self) -> str:
        """``Completed`` or ``Failed`` (NamespaceMapping status vocabulary)."""
        return "Completed" if self.succeeded else "Failed"

    def failure_summary(self) -> str:
        """One paragraph listing what failed (for the flow's failure message)."""
        lines = [f"{o.kind}/{o.name}: {o.error}" for o in self.failed_objects]
        lines += [f"PVC {p.name}: {p.error}" for p in self.failed_pvcs]
        if self.error:
            lines.insert(0, self.error)
        return "; ".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The documented JSON contract."""
        return {
            "mapping": self.mapping,
            "source": {"cluster": self.source_cluster, "namespace": self.source_namespace},
            "destination": {"cluster": self.destination_cluster, "namespace": self.destination_namespace},
            "phase": "Planned" if self.plan_only and self.succeeded else self.phase,
            "counts": self.counts,
            "objects": [outcome.to_json() for outcome in self.objects],
            "pvcs": [outcome.to_json() for outcome in self.pvcs],
            "durationSeconds": round(self.duration_seconds, 3),
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "error": self.error or None,
            "warnings": list(self.warnings),
            "retries": list(self.retries),
        }

    def to_markdown(self) -> str:
        """A short human summary (the Prefect markdown artifact)."""
        counts = self.counts
        lines = [
            f"# {'Plan' if self.plan_only else 'Sync'} of mapping `{self.mapping}`: **{self.phase}**",
            "",
            f"`{self.source_cluster}/{self.source_namespace}` → "
            f"`{self.destination_cluster}/{self.destination_namespace}` in {self.duration_seconds:.1f} s",
            "",
            "| created | updated | unchanged | pruned | skipped | failed |",
            "|---|---|---|---|---|---|",
            "| " + " | ".join(str(counts[key]) for key in COUNT_KEYS) + " |",
        ]
        if self.pvcs:
            lines += [
                "",
                "| PVC | status | bytes | files | seconds | verification |",
                "|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {p.name} | {p.status} | {p.bytes_transferred} | {p.files_transferred} | "
                f"{p.duration_seconds:.1f} | {p.verification} |"
                for p in self.pvcs
            ]
        if self.warnings:
            lines += ["", "## Warnings", ""]
            lines += [f"- {warning}" for warning in self.warnings]
        if not self.succeeded:
            lines += ["", "## Failures", ""]
            if self.error:
                lines.append(f"- {self.error}")
            lines += [f"- `{o.kind}/{o.name}`: {o.error}" for o in self.failed_objects]
            lines += [f"- PVC `{p.name}`: {p.error}" for p in self.failed_pvcs]
        return "\n".join(lines)

    def table_rows(self) -> list[dict[str, Any]]:
        """Rows for the Prefect table artifact: one per object."""
        return [{k: v for k, v in asdict(outcome).items() if k not in ("diff",)} for outcome in self.objects]
