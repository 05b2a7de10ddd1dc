"""The lines a sync run writes to its Prefect run log: the story of the run, at a bounded volume.

An operator opens a run in the Prefect UI and reads, in order: one line per stage with its counts and
duration, one line per failed or skipped object with its reason, per PVC a start line, progress and an
end line (from :mod:`tasks.data.progress_log`), each retry with its cause, and the final summary. An
unchanged object never gets a line of its own, so a no-op sync of 1,000 objects stays under 50 lines.

Lines name objects by kind and name and quote error messages; they never carry object content (a
Secret's values never reach a log). Pure functions: the flow and its tasks call them and log the result.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from drsyncer.report import COUNT_KEYS, ObjectOutcome, PvcOutcome, SyncReport

MAX_OBJECT_LINES = 25
"""At most this many failed or skipped objects get a line each; the rest are counted in one line."""

MAX_FAILURE_CHARS = 2000
"""The summary line quotes the failures up to this length."""


@dataclass(frozen=True)
class LogLine:
    """One line for the run log, with its level (``logging.INFO``, ``logging.WARNING``, ...)."""

    level: int
    message: str


def human_bytes(count: float) -> str:
    """``count`` bytes as a short human size (``512 B``, ``1.5 KiB``, ``12.0 MiB``)."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop always returns


def stage_line(stage: str, counts: Mapping[str, int], *, seconds: float) -> str:
    """One stage's line: ``apply: 3 created, 1 updated, 40 unchanged in 0.4 s``."""
    parts = ", ".join(f"{count} {label}" for label, count in counts.items())
    return f"{stage}: {parts or 'nothing to do'} in {seconds:.1f} s"


def discover_line(listed: Iterable[tuple[int, int]], *, seconds: float) -> str:
    """The discover stage's line from ``(in source, in DR)`` per kind."""
    pairs = list(listed)
    counts = {
        "in source": sum(source for source, _ in pairs),
        "in DR": sum(destination for _, destination in pairs),
        "kinds": len(pairs),
    }
    return stage_line("discover", counts, seconds=seconds)


def apply_line(outcomes: Sequence[ObjectOutcome], *, seconds: float) -> str:
    """The apply (and prune) stage's line: objects per outcome."""
    report_counts = _counts(outcomes)
    return stage_line("apply", report_counts, seconds=seconds)


def object_lines(outcomes: Sequence[ObjectOutcome], *, limit: int = MAX_OBJECT_LINES) -> list[LogLine]:
    """One line per failed (WARNING) or skipped (INFO) object with its reason; beyond ``limit``, a count."""
    lines: list[LogLine] = []
    notable = [o for o in outcomes if o.status in ("failed", "skipped")]
    for outcome in notable[:limit]:
        if outcome.status == "failed":
            lines.append(LogLine(logging.WARNING, f"{outcome.kind}/{outcome.name} failed: {outcome.error}"))
        else:
            reason = outcome.reason or outcome.error or "no reason given"
            lines.append(LogLine(logging.INFO, f"{outcome.kind}/{outcome.name} skipped: {reason}"))
    if len(notable) > limit:
        lines.append(
            LogLine(
                logging.INFO,
                f"... and {len(notable) - limit} more failed or skipped objects (see the objects artifact)",
            )
        )
    return lines


def data_line(outcomes: Sequence[PvcOutcome], *, seconds: float) -> str:
    """The PVC data stage's line: claims synced and failed, bytes moved."""
    synced = [o for o in outcomes if o.status != "failed"]
    counts = {"PVCs synced": len(synced), "failed": len(outcomes) - len(synced)}
    moved = human_bytes(sum(o.bytes_transferred for o in outcomes))
    return f"{stage_line('PVC data', counts, seconds=seconds)}, {moved} transferred"


def pvc_start_line(claim: str, *, source: str, destination: str, verification: str) -> str:
    """A PVC's first line: what is copied where, and how it will be checked."""
    return f"PVC {claim}: copying {source} → {destination} (verification {verification})"


def pvc_end_line(outcome: PvcOutcome) -> LogLine:
    """A PVC's last line: bytes, files, throughput, verification and attempts, or the failure."""
    if outcome.status in ("failed", "held"):
        return LogLine(
            logging.WARNING,
            f"PVC {outcome.name} {outcome.status} after {outcome.attempts} attempt(s) in "
            f"{outcome.duration_seconds:.1f} s: {outcome.error}",
        )
    attempts = "1 attempt" if outcome.attempts == 1 else f"{outcome.attempts} attempts"
    return LogLine(
        logging.INFO,
        f"PVC {outcome.name}: {human_bytes(outcome.bytes_transferred)} in {outcome.files_transferred} files "
        f"transferred in {outcome.duration_seconds:.1f} s ({human_bytes(outcome.throughput)}/s) "
        f"of {human_bytes(outcome.total_bytes)}; verification {outcome.verification}; {attempts}",
    )


def summary_line(report: SyncReport) -> LogLine:
    """The run's last line: verb, mapping, phase, duration, counts, PVCs and the first failures."""
    verb = "plan" if report.plan_only else "sync"
    counts = ", ".join(f"{report.counts[key]} {key}" for key in COUNT_KEYS)
    text = (
        f"{verb} of {report.mapping} ({report.source_cluster}/{report.source_namespace} → "
        f"{report.destination_cluster}/{report.destination_namespace}) {report.phase} in "
        f"{report.duration_seconds:.1f} s: {counts}"
    )
    if report.pvcs:
        failed = len(report.failed_pvcs)
        moved = human_bytes(sum(p.bytes_transferred for p in report.pvcs))
        text += f"; PVCs: {len(report.pvcs) - failed} synced, {failed} failed, {moved} transferred"
    if report.succeeded:
        return LogLine(logging.INFO, text)
    failures = report.failure_summary()
    if len(failures) > MAX_FAILURE_CHARS:
        failures = failures[:MAX_FAILURE_CHARS] + " ... (see the summary artifact)"
    return LogLine(logging.ERROR, f"{text}; failed: {failures}")


def _counts(outcomes: Sequence[ObjectOutcome]) -> dict[str, int]:
    report = SyncReport(
        mapping="",
        source_cluster="",
        source_namespace="",
        destination_cluster="",
        destination_namespace="",
        started_at="",
        objects=list(outcomes),
    )
    return report.counts
