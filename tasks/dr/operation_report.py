"""The report of a DR operation (stage, cutover, failback): one line per step, then the outcome.

Four readers: the flow's return value, the CLI (a table, or ``--output json``), a Prefect markdown
artifact, and a person on disaster day reading a failure. A failed operation says which step failed, what
state each side is in, and the exact commands to resume or roll back.

JSON contract (``drsyncer stage|cutover|failback --output json``)::

    {"operation", "mapping", "flowRunId",
     "phase": "Completed" | "Failed" | "Refused" | "Rejected" | "Planned",
     "source": {"cluster", "namespace"}, "destination": {"cluster", "namespace"},
     "steps": [{"step", "startedAt", "finishedAt", "outcome", "objects", "bytes", "detail"}],
     "counts": {"Kind/name": replicas}, "sides": {"source": {...}, "dr": {...}},
     "resume": "command" | null, "rollback": "command" | null, "error": str | null}

Step outcomes: ``done``, ``skipped`` (completed by an earlier attempt of the same run, or not needed),
``failed``, ``planned`` (``--dry-run``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def now_text() -> str:
    """The current UTC time, as the report writes it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class StepRecord:
    """One step of an operation."""

    step: str
    started_at: str = ""
    finished_at: str = ""
    outcome: str = "done"
    objects: int = 0
    bytes: int = 0
    detail: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    """Replica counts a ``record`` step found (``Kind/name`` → count); not part of the step's JSON."""

    def to_json(self) -> dict[str, Any]:
        """The step's entry of the JSON contract."""
        return {
            "step": self.step,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "outcome": self.outcome,
            "objects": self.objects,
            "bytes": self.bytes,
            "detail": self.detail,
        }


@dataclass
class OperationReport:
    """Everything one DR operation did, step by step."""

    operation: str
    mapping: str
    source_cluster: str
    source_namespace: str
    destination_cluster: str
    destination_namespace: str
    flow_run_id: str = ""
    steps: list[StepRecord] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    sides: dict[str, dict[str, str]] = field(default_factory=dict)
    phase: str = "Completed"
    error: str = ""
    resume: str = ""
    rollback: str = ""

    @property
    def succeeded(self) -> bool:
        """True when the operation did everything it set out to do."""
        return self.phase in ("Completed", "Planned")

    def to_json(self) -> dict[str, Any]:
        """The documented JSON contract."""
        return {
            "operation": self.operation,
            "mapping": self.mapping,
            "flowRunId": self.flow_run_id or None,
            "phase": self.phase,
            "source": {"cluster": self.source_cluster, "namespace": self.source_namespace},
            "destination": {"cluster": self.destination_cluster, "namespace": self.destination_namespace},
            "steps": [step.to_json() for step in self.steps],
            "counts": dict(self.counts),
            "sides": {role: dict(state) for role, state in self.sides.items()},
            "resume": self.resume or None,
            "rollback": self.rollback or None,
            "error": self.error or None,
        }

    def to_markdown(self) -> str:
        """The Prefect artifact: a table of steps, then the failure and what to do."""
        lines = [
            f"# {self.operation.capitalize()} of mapping `{self.mapping}`: **{self.phase}**",
            "",
            f"`{self.source_cluster}/{self.source_namespace}` → "
            f"`{self.destination_cluster}/{self.destination_namespace}`",
            "",
            "| step | start | end | outcome | objects | bytes | detail |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {s.step} | {s.started_at} | {s.finished_at} | {s.outcome} | {s.objects} | {s.bytes} | "
            f"{s.detail.replace('|', '/')} |"
            for s in self.steps
        ]
        if self.error:
            lines += ["", "## What went wrong", "", self.error]
        for role, state in self.sides.items():
            lines += ["", f"## {role} side now", ""]
            lines += [f"- `{ref}`: {value}" for ref, value in state.items()] or ["- no workloads"]
        if self.resume:
            lines += ["", f"Resume: `{self.resume}`"]
        if self.rollback:
            lines += ["", f"Roll back: `{self.rollback}`"]
        return "\n".join(lines)
