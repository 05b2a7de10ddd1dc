"""The PVC data stage of a flow: one task per claim, all submitted at once, bounded by Prefect limits.

Used by the namespace-sync flow (after the objects) and by the DR operations (the final delta copy of a
cutover, the reverse copy of a failback). Must be called inside a flow run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture, as_completed

from drsyncer.config.effective import EffectiveMapping
from drsyncer.errors import DrSyncerError
from drsyncer.kube.client import KubeClient, object_path
from drsyncer.metrics.run_record import publish_data_record
from drsyncer.prefect_env import apply_run_log_levels
from drsyncer.report import PvcOutcome
from drsyncer.settings import load_settings
from tasks.data.endpoints import PlaceholderSettings
from tasks.pvc_data import DataStageSettings, credentials_for, pvc_data
from tasks.session import SyncSession, open_session


def data_stage_settings() -> DataStageSettings:
    """The data stage's settings from ``DRSYNCER_*`` (key dir, concurrency, placeholder image)."""
    settings = load_settings()
    return DataStageSettings(
        key_dir=settings.key_dir,
        pvc_concurrency=settings.pvc_concurrency,
        placeholder=PlaceholderSettings(image=settings.placeholder_image),
    )


def sync_pvc_data(
    session: SyncSession, claims: Sequence[str], *, settings: DataStageSettings | None = None
) -> list[PvcOutcome]:
    """Copy the data of ``claims`` (source namespace → DR namespace); one outcome per claim."""
    if not claims:
        return []
    settings = settings or data_stage_settings()
    session.agent_host_keys.clear()  # read afresh each stage: a restarted agent has a new key
    try:
        credentials = credentials_for(session.mapping, settings.key_dir)
    except DrSyncerError as error:
        return [PvcOutcome(name=claim, status="failed", error=str(error)) for claim in claims]
    # At most the cluster's rsync slots in flight: more tasks would only wait on the global limit, and
    # Prefect makes a waiter back off for up to 30 s (Retry-After grows with the queue), leaving slots
    # idle. The global limit still bounds transfers across runs and workers.
    submitted: list[PrefectFuture[PvcOutcome]] = []
    running: list[PrefectFuture[PvcOutcome]] = []
    for claim in claims:
        if len(running) >= settings.pvc_concurrency:
            running.remove(next(as_completed(running)))
        future = pvc_data.submit(session, claim, credentials, settings)
        submitted.append(future)
        running.append(future)
    return [future.result() for future in submitted]


@flow(name="pvc-data-sync", flow_run_name="pvc-data-{mapping_key}")
def mapping_data_sync(mapping: EffectiveMapping, mapping_key: str) -> list[PvcOutcome]:
    """Copy every claim of ``mapping`` that exists in both namespaces (continuous mode's data cadence).

    Objects are the continuous watchers' business; this only moves data, for the claims already in DR.
    """
    apply_run_log_levels()
    started, started_at = time.monotonic(), datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    session = open_session(mapping)
    try:
        outcomes = sync_pvc_data(session, shared_claims(session))
    finally:
        session.close()
    publish_data_record(mapping, outcomes, started_at=started_at, seconds=time.monotonic() - started)
    failed = [outcome for outcome in outcomes if outcome.status in ("failed", "held")]
    if failed:
        get_run_logger().warning(
            "PVC data of %s: %s", mapping_key, "; ".join(f"{o.name}: {o.error}" for o in failed)
        )
    return outcomes


def continuous_data_sync(mapping: EffectiveMapping) -> list[PvcOutcome]:
    """The continuous flow's data job: one ``pvc-data-sync`` subflow run."""
    return mapping_data_sync(mapping, mapping.key)


def shared_claims(session: SyncSession) -> list[str]:
    """PVCs of the session's source namespace that also exist in its destination namespace."""
    mapping = session.mapping
    return sorted(
        set(_claim_names(session.source, mapping.source_namespace))
        & set(_claim_names(session.destination, mapping.destination_namespace))
    )


def _claim_names(client: KubeClient, namespace: str) -> list[str]:
    items, _ = client.list(
        object_path(group="", version="v1", plural="persistentvolumeclaims", namespace=namespace)
    )
    return [str(item["metadata"]["name"]) for item in items]
