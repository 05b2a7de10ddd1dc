"""Per-mapping metric state, folded from finished sync runs: the pure middle of the exporter.

:func:`observe` folds one :class:`FinishedRun` (read from the Prefect API by :mod:`.history`) into a
:class:`MappingState`; it ignores a run it has already seen, so the exporter can re-read overlapping
windows of history on every refresh. Runs are folded oldest first.

- *Last success* per stage (``objects``, ``data``) and per PVC is the **start** of the run (Prefect's
  flow-run start time) whose stage, or PVC, succeeded — the RPO is measured from it.
- Counters (failures by reason, PVC bytes and files) and the duration histograms add up the runs this
  exporter has seen: the bootstrap window (the latest runs of each mapping) and every run since.
  A restart starts them again, which Prometheus handles as a counter reset.
- ``objects`` (per outcome) and the last error are those of the latest finished run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drsyncer.metrics.run_record import FAILURE_REASONS, STAGES, RunRecord

DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0)
"""Upper bounds (seconds) of the ``drsyncer_sync_duration_seconds`` histogram buckets (+Inf implied)."""

SUCCEEDED, FAILED, CRASHED, CANCELLED = "COMPLETED", "FAILED", "CRASHED", "CANCELLED"
"""Prefect state types of a finished run."""


@dataclass(frozen=True)
class FinishedRun:
    """One finished namespace-sync run of a mapping, as read from the Prefect API."""

    run_id: str
    state_type: str
    """``COMPLETED``, ``FAILED``, ``CRASHED`` or ``CANCELLED``."""
    start: float | None
    """Flow-run start time (epoch seconds); None when it never started."""
    end: float
    message: str = ""
    record: RunRecord | None = None


@dataclass
class Histogram:
    """Cumulative bucket counts, sum and count of observed durations."""

    buckets: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS))
    total: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> None:
        """Add one observation."""
        for index, bound in enumerate(DURATION_BUCKETS):
            if seconds <= bound:
                self.buckets[index] += 1
        self.total += seconds
        self.count += 1


@dataclass
class MappingState:
    """What the exporter knows about one mapping."""

    last_success: dict[str, float] = field(default_factory=dict)
    """Stage → start (epoch seconds) of the last run whose stage succeeded."""
    pvc_last_success: dict[str, float] = field(default_factory=dict)
    attempted: set[str] = field(default_factory=set)
    """Stages some run tried (succeeded or failed): a stage tried and never successful breaks the RPO."""
    failures: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAILURE_REASONS, 0))
    consecutive_failures: int = 0
    pvc_bytes: dict[str, int] = field(default_factory=dict)
    pvc_files: dict[str, int] = field(default_factory=dict)
    pvc_held: dict[str, bool] = field(default_factory=dict)
    """PVC → whether the latest run that synced it was held by the change guard."""
    durations: dict[str, Histogram] = field(default_factory=lambda: {stage: Histogram() for stage in STAGES})
    outcomes: dict[str, int] = field(default_factory=dict)
    last_state: str | None = None
    last_end: float | None = None
    last_error: str | None = None
    last_error_time: float | None = None
    seen: set[str] = field(default_factory=set)


def observe(state: MappingState, run: FinishedRun) -> bool:
    """Fold ``run`` into ``state``; False (and no change) when it was already folded in."""
    if run.run_id in state.seen:
        return False
    state.seen.add(run.run_id)
    latest = state.last_end is None or run.end >= state.last_end
    if latest:
        state.last_state, state.last_end = run.state_type, run.end
    if run.state_type == CANCELLED:
        return True
    record = run.record
    # A data-only run completes even when a PVC failed: its record says whether it succeeded.
    succeeded = record.succeeded if record is not None else run.state_type == SUCCEEDED
    state.attempted.add("objects")
    if succeeded:
        if latest:
            state.consecutive_failures = 0
    else:
        state.failures[_reason(run)] += 1
        if latest:
            state.consecutive_failures += 1
        if state.last_error_time is None or run.end >= state.last_error_time:
            state.last_error, state.last_error_time = run.message or run.state_type.lower(), run.end
    if record is None:
        if succeeded and run.start is not None:
            _advance(state.last_success, "objects", run.start)
        return True
    if latest and record.outcomes:
        state.outcomes = dict(record.outcomes)
    for stage in STAGES:
        status = record.stage_status.get(stage)
        if status in ("succeeded", "failed"):
            state.attempted.add(stage)
            state.durations[stage].observe(record.stage_seconds.get(stage, 0.0))
        if status == "succeeded" and run.start is not None:
            _advance(state.last_success, stage, run.start)
    for pvc in record.pvcs:
        state.pvc_bytes[pvc.name] = state.pvc_bytes.get(pvc.name, 0) + pvc.bytes
        state.pvc_files[pvc.name] = state.pvc_files.get(pvc.name, 0) + pvc.files
        if pvc.succeeded and run.start is not None:
            _advance(state.pvc_last_success, pvc.name, run.start)
        if latest:
            state.pvc_held[pvc.name] = pvc.held
    return True


def _reason(run: FinishedRun) -> str:
    if run.state_type == CRASHED or run.record is None:
        return "crashed" if run.state_type == CRASHED else "error"
    return run.record.reason or "error"


def _advance(times: dict[str, float], key: str, start: float) -> None:
    if start > times.get(key, float("-inf")):
        times[key] = start
