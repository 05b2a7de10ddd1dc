"""The PVC data stage: one Prefect task per PVC, bounded per DR cluster (design §5).

For each claim the resource sync put in the DR namespace: resolve both endpoints (placeholder pods where
no pod mounts the claim, always removed), then ask the DR agent to pull from the source agent with rsync
(:func:`tasks.data.transfer.transfer_pvc`: retries with backoff for transient failures, never for auth or
safety errors, verification per ``verificationMode``). rsync's progress lines go to the Prefect run log;
the result becomes the PVC's line in the SyncReport.

Concurrency: at most ``settings.pvc_concurrency`` transfers per DR cluster at once, through a Prefect
global concurrency limit ``dr-syncer-rsync-<cluster>`` (created on first use with that size; an operator
can resize it in the UI), and never two transfers of the same claim at once (a limit of 1 per claim).

Credentials: the controller's control key for the mapping's ClusterMapping, from
``<DRSYNCER_KEY_DIR>/<cluster-mapping>/control-key`` (written by ``drsyncer keys``). Host keys are per
node: each agent's own, read from its pod's log through the API and pinned for both hops
(:mod:`tasks.data.agent_host_keys`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from drsyncer.config.effective import EffectiveMapping
from drsyncer.errors import DataSyncError, DrSyncerError
from drsyncer.report import PvcOutcome
from drsyncer.run_log import pvc_end_line, pvc_start_line
from tasks.concurrency_limits import holding_all, limit_name, rsync_limit
from tasks.data.agent_host_keys import agent_host_key
from tasks.data.change_check import (
    ChangesHeldError,
    consume_acceptance,
    guard_claim,
    limited_spec,
    raise_if_held,
    release_hint,
    single_session_limits,
    skipped_transfer,
)
from tasks.data.endpoints import PlaceholderSettings, VolumeEndpoint, volume_endpoint
from tasks.data.progress_log import ProgressLog
from tasks.data.restore_points import restore_point_before_transfer
from tasks.data.retry import RetryPolicy
from tasks.data.rsync_command import RsyncOptions
from tasks.data.transfer import AgentEndpoint, ControlCredentials, TransferSpec, transfer_pvc
from tasks.data.verification import VerificationMode
from tasks.session import SyncSession

DEFAULT_SSH_PORT = 2222
PROGRESS_LOG_INTERVAL = 10.0
"""Seconds between progress lines of a PVC (or every 10 %; :mod:`tasks.data.progress_log`)."""


@dataclass(frozen=True)
class DataStageSettings:
    """Process-wide settings of the data stage."""

    key_dir: Path
    pvc_concurrency: int = 2
    placeholder: PlaceholderSettings = field(default_factory=PlaceholderSettings)


def key_set_name(mapping: EffectiveMapping) -> str:
    """The key set a mapping uses: its ClusterMapping's name, else ``<source>-to-<destination>``."""
    if mapping.cluster_mapping:
        return mapping.cluster_mapping.rpartition("/")[2]
    return f"{mapping.source.name}-to-{mapping.destination.name}"


def credentials_for(mapping: EffectiveMapping, key_dir: Path) -> ControlCredentials:
    """The control key (and legacy known_hosts) of ``mapping``'s key set; a clear error if no key.

    Host keys come from the agents' pod logs (per node), so a missing known_hosts is fine.
    """
    directory = key_dir / key_set_name(mapping)
    credentials = ControlCredentials(
        key_file=directory / "control-key", known_hosts_file=directory / "known_hosts"
    )
    for path in (credentials.key_file,):
        if not path.is_file():
            raise DataSyncError(
                f"PVC data sync of mapping {mapping.name!r} needs {path}, which does not exist",
                fix=_keys_fix(mapping),
            )
    return credentials


def _keys_fix(mapping: EffectiveMapping) -> str:
    if mapping.cluster_mapping:
        command = f"drsyncer keys generate --cluster-mapping {key_set_name(mapping)}"
    else:
        command = (
            "drsyncer keys generate --cluster-mapping NAME for the ClusterMapping between "
            f"{mapping.source.name} and {mapping.destination.name} (it also makes the reverse key set "
            f"{key_set_name(mapping)} used by failback)"
        )
    return f"run `{command}`, then `drsyncer agent install` for both clusters; or set DRSYNCER_KEY_DIR"


def _ssh_port(mapping: EffectiveMapping, *, source: bool) -> int:
    spec = (mapping.source if source else mapping.destination).spec
    pvc_sync = spec.pvc_sync
    if pvc_sync is None or pvc_sync.ssh is None or not pvc_sync.ssh.port:
        return DEFAULT_SSH_PORT
    return int(pvc_sync.ssh.port)


def _address_type(mapping: EffectiveMapping, *, source: bool) -> str | None:
    pvc_sync = (mapping.source if source else mapping.destination).spec.pvc_sync
    if pvc_sync is None or pvc_sync.address_type is None:
        return None
    return str(pvc_sync.address_type.value)


def _agent_endpoint(session: SyncSession, found: VolumeEndpoint, *, source_side: bool) -> AgentEndpoint:
    """Where the agent serving ``found`` listens, with the host key its pod printed.

    The key is read once per node and sync (a pod list and a log read each): every claim on the node after
    the first reuses it.
    """
    client = session.source if source_side else session.destination
    known = session.agent_host_keys
    if (client.cluster, found.node) not in known:
        known[(client.cluster, found.node)] = agent_host_key(client, found.node)
    return AgentEndpoint(
        found.address,
        _ssh_port(session.mapping, source=source_side),
        found.path,
        host_key=known[(client.cluster, found.node)],
        node=found.node,
    )


def _rsync_options(mapping: EffectiveMapping) -> RsyncOptions:
    config = mapping.data_sync_config
    return RsyncOptions(
        bandwidth_limit_kbps=int(config.bandwidth_limit or 0),
        exclude_paths=tuple(config.exclude_paths or ()),
        extra_options=tuple(config.rsync_options or ()),
        checksum="--checksum" in (config.rsync_options or ()),
    )


def verification_mode(mapping: EffectiveMapping) -> VerificationMode:
    """The mapping's ``verificationMode``, else the DR RemoteCluster's default, else ``none``."""
    chosen = mapping.data_sync_config.verification_mode
    if chosen is None:
        pvc_sync = mapping.destination.spec.pvc_sync
        chosen = getattr(pvc_sync, "default_verification_mode", None) if pvc_sync is not None else None
    return VerificationMode(str(chosen.value if chosen is not None else "none"))


def _retry_policy(mapping: EffectiveMapping) -> RetryPolicy:
    retry = mapping.retry_config
    return RetryPolicy(
        max_retries=int(retry.max_retries),
        initial_backoff_seconds=retry.initial_backoff.seconds,
        max_backoff_seconds=retry.max_backoff.seconds,
        backoff_multiplier_percent=int(retry.backoff_multiplier),
    )


def sync_claim(
    session: SyncSession,
    claim: str,
    credentials: ControlCredentials,
    *,
    placeholder: PlaceholderSettings,
    log: Callable[[str], object] = print,
) -> PvcOutcome:
    """Copy one claim's data from the source to the DR namespace; never raises for a PVC failure."""
    mapping = session.mapping
    config = mapping.data_sync_config
    mode = verification_mode(mapping)
    outcome = PvcOutcome(name=claim, status="failed", verification=mode.value)
    started = time.monotonic()
    progress = ProgressLog(claim, interval_seconds=PROGRESS_LOG_INTERVAL)

    def on_line(line: str) -> None:
        text = progress.line_for(line)
        if text is not None:
            log(text)

    try:
        with (
            volume_endpoint(
                session.source,
                mapping.source_namespace,
                claim,
                address_type=_address_type(mapping, source=True),
                settings=placeholder,
            ) as source,
            volume_endpoint(
                session.destination,
                mapping.destination_namespace,
                claim,
                address_type=_address_type(mapping, source=False),
                settings=placeholder,
            ) as destination,
        ):
            spec = TransferSpec(
                source=_agent_endpoint(session, source, source_side=True),
                destination=_agent_endpoint(session, destination, source_side=False),
                options=_rsync_options(mapping),
                allow_empty_source=bool(config.allow_empty_source),
                timeout_seconds=int(config.timeout.seconds) if config.timeout else 86400,
            )
            limits = single_session_limits(session, claim)  # the agent judges its dry run itself
            if limits is not None:
                spec = dataclasses.replace(spec, guard=limits)
            guard = None
            if limits is None:
                guard = guard_claim(
                    session, claim, spec, credentials, retry_policy=_retry_policy(mapping), log=log
                )
            if guard is not None:
                outcome.change_guard = guard.summary.to_json()
            point = None
            if limits is None:
                point = restore_point_before_transfer(
                    session, claim, spec, credentials, summary=guard.summary if guard else None, log=log
                )
            outcome.restore_point = point.name if point is not None else ""
            skipped = skipped_transfer(guard) if mode is VerificationMode.none else None
            if skipped is not None:
                log(f"PVC {claim}: the change guard's dry run found nothing to transfer")
            result = skipped or transfer_pvc(
                limited_spec(spec, guard),
                credentials,
                retry_policy=_retry_policy(mapping),
                verification_mode=mode,
                sample_percent=float(config.sample_percent or 10),
                verification_seed=f"{mapping.key}/{claim}",
                on_line=on_line,
            )
            if result.change_summary is not None:
                outcome.change_guard = result.change_summary.to_json()
                raise_if_held(result, hint=release_hint(session, claim))
            if guard is not None and guard.accepted:
                consume_acceptance(session.destination, mapping.destination_namespace, claim)
        outcome.status = "synced"
        outcome.bytes_transferred = result.bytes_transferred
        outcome.files_transferred = result.files_transferred
        outcome.total_bytes = result.total_size
        summary = guard.summary if guard is not None else result.change_summary
        if summary is not None and summary.source_bytes is not None:
            outcome.total_bytes = summary.source_bytes  # a limited transfer's stats see only changes
        outcome.attempts = result.attempts
        if result.verification is not None:
            outcome.verification = f"{mode.value}: {result.verification.files_checked} files checked, passed"
    except ChangesHeldError as error:
        outcome.status = "held"
        outcome.error = str(error)
        outcome.change_guard = error.summary.to_json()
    except DrSyncerError as error:
        outcome.error = str(error)
        outcome.attempts = getattr(error, "attempts", 1)
    outcome.duration_seconds = time.monotonic() - started
    return outcome


@task(name="pvc-data", task_run_name="pvc-data-{claim}", cache_policy=NO_CACHE)
def pvc_data(
    session: SyncSession, claim: str, credentials: ControlCredentials, settings: DataStageSettings
) -> PvcOutcome:
    """Sync one PVC's data, holding a per-cluster rsync slot and the claim's own lock."""
    logger = get_run_logger()
    mapping = session.mapping
    cluster_slot = rsync_limit(mapping.destination.name)
    claim_lock = limit_name("dr-syncer-pvc", mapping.destination.name, mapping.destination_namespace, claim)
    with holding_all({cluster_slot: settings.pvc_concurrency, claim_lock: 1}):
        logger.info(
            "%s",
            pvc_start_line(
                claim,
                source=f"{mapping.source.name}/{mapping.source_namespace}",
                destination=f"{mapping.destination.name}/{mapping.destination_namespace}",
                verification=verification_mode(mapping).value,
            ),
        )
        outcome = sync_claim(session, claim, credentials, placeholder=settings.placeholder, log=logger.info)
    end = pvc_end_line(outcome)
    logger.log(end.level, "%s", end.message)
    return outcome
