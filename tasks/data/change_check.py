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

Cost: the dry run walks both file lists exactly as the real run's first phase does (one ``lstat`` per
file on each side, the list sent over ssh; no data read) plus a control login — about a no-op re-sync:
0.75 s for 13k files in ``benchmarks/pvc_data.py`` (plain no-op rsync 0.46 s), so tens of seconds for
1M files, after which the real run finds the inodes in the page cache. It is skipped when the DR copy is
empty (nothing to lose; the agent answers at once).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drsyncer import labels
from drsyncer.errors import DataSafetyError, DataSyncError
from drsyncer.kube.client import KubeClient, object_path
from tasks.data.change_guard import ChangeGuardLimits, ChangeSummary, held_reason
from tasks.data.retry import RetryPolicy, call_with_retry
from tasks.data.transfer import AgentClient, ControlCredentials, TransferSpec, classify_exit
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
    raise ChangesHeldError(
        f"held by the change guard, DR copy left untouched: {reason}",
        fix=f"if the change is intended, release it once: {release_hint}; if the source is "
        "corrupted or encrypted, do not release it: see docs/disaster-day.md, 'When the source is corrupted'",
        summary=summary,
    )


def _claim_path(namespace: str, claim: str) -> str:
    return object_path(
        group="", version="v1", plural="persistentvolumeclaims", namespace=namespace, name=claim
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
    mapping = session.mapping
    config = mapping.spec.pvc_config.change_guard
    if not config.enabled:
        return None
    namespace = mapping.destination_namespace
    accepted = accept_changes_value(session.destination, namespace, claim) is not None
    return check_changes(
        spec,
        credentials,
        limits=ChangeGuardLimits(
            max_deleted_percent=config.max_deleted_percent,
            max_changed_percent=config.max_changed_percent,
            min_files=config.min_files,
        ),
        accepted=accepted,
        claim=claim,
        release_hint=f"`drsyncer sync CONFIG --mapping {mapping.name} --accept-changes {claim}`, or "
        f"`kubectl -n {namespace} annotate pvc {claim} {labels.ACCEPT_CHANGES}=true` in cluster "
        f"{mapping.destination.name} (the copy's side; for a failback, the source cluster)",
        retry_policy=retry_policy,
        log=log,
    )
