"""The change guard's step in a PVC's data sync: dry run, judge, hold or go on, consume an acceptance.

Called by the data stage (:func:`tasks.pvc_data.sync_claim`) after both endpoints are resolved and before
the real transfer. :func:`check_changes` asks the DR agent for a ``pull`` with ``"preview": true``: the
agent runs the very same rsync as a dry run through the same keys and options and answers one JSON line
(``tasks/data/change_guard.py`` counts there, so a million itemized lines never cross the channel). The
:class:`ChangeSummary` is judged against ``pvcConfig.changeGuard``; above a limit, and without an
acceptance, :class:`ChangesHeldError` is raised: the transfer never starts and the DR copy is untouched.

**Releasing a hold.** The source claim is read-only for dr-syncer, so the release lives on the *DR*
claim: annotation ``dr-syncer.io/accept-changes`` (any value; ``drsyncer sync --accept-changes CLAIM``
sets it). It lets the next sync of that claim through whatever the guard counts, and is removed after
that sync's transfer succeeded — consumed exactly once, so it cannot wave a later disaster through. A
transfer that fails keeps it for the retry.

**Two phases, one walk.** The dry run walks both trees exactly as a plain rsync's first phase does (one
``lstat`` per file on each side, the file list sent over ssh; no data read). The agent writes the paths it
itemizes into a change list (``tasks/data/change_list.py``, kept on the DR agent,
``agent/change_lists.py``), and the real transfer (:func:`limited_spec`) reads only those with
``--files-from --delete-missing-args``: it ``lstat``s and sends the changes, not the tree. When the dry run
found nothing at all, the real transfer is skipped (:func:`skipped_transfer`). Without restore points
(nothing to do between the two) and without a pending acceptance, both run in one control session
(:func:`single_session_limits`, ``TransferSpec.guard``): the agent dry-runs, judges with the same
:func:`~tasks.data.change_guard.held_reason`, and holds or transfers; :func:`raise_if_held` turns its
verdict into :class:`ChangesHeldError`. So a guarded sync costs one walk plus the changes, like a plain
rsync; at 1M files the walk is the cost either way (tens of seconds, the same as the plain rsync's),
and the change list of a 1 % change is 10k names (a few hundred KiB). Files that change between the
dry run and the real run are picked up by the next sync. The dry run is skipped when the DR copy is
empty (nothing to lose; the agent answers at once, and the first copy walks the tree).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drsyncer import labels
from drsyncer.errors import DataSafetyError, DataSyncError
from drsyncer.kube.client import KubeClient, object_path
from tasks.data.change_guard import ChangeGuardLimits, ChangeSummary, held_reason
from tasks.data.retry import RetryPolicy, call_with_retry
from tasks.data.transfer import AgentClient, ControlCredentials, TransferResult, TransferSpec, classify_exit
from tasks.session import SyncSession


class ChangesHeldError(DataSafetyError):
    """The dry run would delete or rewrite more of the DR copy than the change guard allows."""

    def __init__(self, message: str, *, fix: str, summary: ChangeSummary) -> None:
        super().__init__(message, fix=fix)
        self.summary = summary


@dataclass(frozen=True)
class ChangeDecision:
    """What the guard decided for one claim: the dry run's summary, and whether an acceptance was used."""

    summary: ChangeSummary
    accepted: bool = False
    """An ``accept-changes`` annotation was present (consume it once the transfer succeeded)."""
    over_limits: str | None = None
    """Why it would have been held (set only when ``accepted`` let it through)."""


def preview_changes(
    spec: TransferSpec, credentials: ControlCredentials, *, retry_policy: RetryPolicy | None = None
) -> ChangeSummary:
    """Ask the DR agent what the transfer of ``spec`` would delete and rewrite; retries transient errors."""
    request = json.loads(spec.request_json()) | {"preview": True}
    command = "pull " + json.dumps(request, separators=(",", ":"), sort_keys=True)

    def attempt(_: int) -> ChangeSummary:
        with AgentClient(
            spec.destination.host,
            spec.destination.port,
            credentials,
            connect_timeout=spec.connect_timeout_seconds,
            host_key=spec.destination.host_key,
            node=spec.destination.node,
        ) as client:
            run = client.run(command, timeout=spec.timeout_seconds + 60.0)
        if run.exit_code not in (0, 24):
            raise classify_exit(run, what="change-guard dry run")
        for line in reversed(run.stdout):
            if line.startswith('{"changeSummary"'):
                document: dict[str, Any] = json.loads(line)["changeSummary"]
                return ChangeSummary.from_json(document)
        raise DataSyncError(
            "the DR agent answered the change-guard dry run without a summary",
            fix="update the agents (`drsyncer agent install`): this agent predates the change guard",
        )

    return call_with_retry(attempt, retry_policy or RetryPolicy())


def accept_changes_value(client: KubeClient, namespace: str, claim: str) -> str | None:
    """The DR claim's ``dr-syncer.io/accept-changes`` annotation, or None."""
    obj = client.get(_claim_path(namespace, claim)) or {}
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(labels.ACCEPT_CHANGES)
    return None if value is None else str(value)


def consume_acceptance(client: KubeClient, namespace: str, claim: str) -> None:
    """Remove the acceptance from the DR claim (merge patch; the annotation is not dr-syncer's field)."""
    client.patch(
        _claim_path(namespace, claim),
        {"metadata": {"annotations": {labels.ACCEPT_CHANGES: None}}},
        field_manager="dr-syncer",
    )


def check_changes(
    spec: TransferSpec,
    credentials: ControlCredentials,
    *,
    limits: ChangeGuardLimits,
    accepted: bool,
    claim: str,
    release_hint: str,
    retry_policy: RetryPolicy | None = None,
    log: Callable[[str], object] = print,
) -> ChangeDecision:
    """Dry-run the transfer and hold it (raise :class:`ChangesHeldError`) when it exceeds ``limits``.

    ``release_hint`` is the command that releases this claim (shown in the error's fix).
    """
    summary = preview_changes(spec, credentials, retry_policy=retry_policy)
    reason = held_reason(summary, limits)
    if reason is None:
        return ChangeDecision(summary=summary, accepted=accepted)
    if accepted:
        log(f"PVC {claim}: change guard: {reason}; accepted by annotation {labels.ACCEPT_CHANGES}")
        return ChangeDecision(summary=summary, accepted=True, over_limits=reason)
    raise _held(reason, summary=summary, hint=release_hint)


def limited_spec(spec: TransferSpec, decision: ChangeDecision | None) -> TransferSpec:
    """``spec`` limited to the dry run's change list (the real run walks nothing), when the agent made one."""
    if decision is None or decision.summary.change_list is None:
        return spec
    return dataclasses.replace(spec, change_list=decision.summary.change_list)


def skipped_transfer(decision: ChangeDecision | None) -> TransferResult | None:
    """The result of a transfer that need not run (the dry run found nothing to do), else None."""
    if decision is None or not decision.summary.nothing_to_transfer:
        return None
    return TransferResult(
        bytes_transferred=0,
        files_transferred=0,
        total_size=decision.summary.source_bytes or 0,
        files_total=decision.summary.dr_files,
        duration_seconds=0.0,
        attempts=0,
    )


def _claim_path(namespace: str, claim: str) -> str:
    return object_path(
        group="", version="v1", plural="persistentvolumeclaims", namespace=namespace, name=claim
    )


def guard_limits(session: SyncSession) -> ChangeGuardLimits | None:
    """The mapping's ``pvcConfig.changeGuard`` limits; None when ``enabled`` is false."""
    config = session.mapping.spec.pvc_config.change_guard
    if not config.enabled:
        return None
    return ChangeGuardLimits(
        max_deleted_percent=config.max_deleted_percent,
        max_changed_percent=config.max_changed_percent,
        min_files=config.min_files,
    )


def release_hint(session: SyncSession, claim: str) -> str:
    """The commands that release a held ``claim`` once (the held error's fix)."""
    mapping = session.mapping
    namespace = mapping.destination_namespace
    return (
        f"`drsyncer sync CONFIG --mapping {mapping.name} --accept-changes {claim}`, or "
        f"`kubectl -n {namespace} annotate pvc {claim} {labels.ACCEPT_CHANGES}=true` in cluster "
        f"{mapping.destination.name} (the copy's side; for a failback, the source cluster)"
    )


def single_session_limits(session: SyncSession, claim: str) -> ChangeGuardLimits | None:
    """Limits for a pull that judges its own dry run in one control session (``TransferSpec.guard``).

    That saves a control login per claim and sync. Only when the guard is on, no restore point may have
    to be taken between the dry run and the transfer (no ``restorePoints`` class), and no acceptance is
    pending on the claim; otherwise None, and :func:`guard_claim` runs the dry run on its own first.
    """
    limits = guard_limits(session)
    if limits is None or session.mapping.spec.pvc_config.restore_points.volume_snapshot_class_name:
        return None
    if accept_changes_value(session.destination, session.mapping.destination_namespace, claim) is not None:
        return None
    return limits


def raise_if_held(result: TransferResult, *, hint: str) -> None:
    """Raise :class:`ChangesHeldError` when the agent held a single-session guarded pull."""
    reason = result.held
    if reason is not None and result.change_summary is not None:
        raise _held(reason, summary=result.change_summary, hint=hint)


def _held(reason: str, *, summary: ChangeSummary, hint: str) -> ChangesHeldError:
    return ChangesHeldError(
        f"held by the change guard, DR copy left untouched: {reason}",
        fix=f"if the change is intended, release it once: {hint}; if the source is "
        "corrupted or encrypted, do not release it: see docs/disaster-day.md, 'When the source is corrupted'",
        summary=summary,
    )


def guard_claim(
    session: SyncSession,
    claim: str,
    spec: TransferSpec,
    credentials: ControlCredentials,
    *,
    retry_policy: RetryPolicy | None = None,
    log: Callable[[str], object] = print,
) -> ChangeDecision | None:
    """The guard for one claim of ``session``'s mapping; None when ``changeGuard.enabled`` is false."""
    limits = guard_limits(session)
    if limits is None:
        return None
    mapping = session.mapping
    accepted = accept_changes_value(session.destination, mapping.destination_namespace, claim) is not None
    return check_changes(
        spec,
        credentials,
        limits=limits,
        accepted=accepted,
        claim=claim,
        release_hint=release_hint(session, claim),
        retry_policy=retry_policy,
        log=log,
    )
