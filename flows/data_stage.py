"""The PVC data stage of a flow: one task per claim, all submitted at once, bounded by Prefect limits.

Used by the namespace-sync flow (after the objects) and by the DR operations (the final delta copy of a
cutover, the reverse copy of a failback). Must be called inside a flow run.
"""

from __future__ import annotations

from collections.abc import Sequence

from drsyncer.errors import DrSyncerError
from drsyncer.report import PvcOutcome
from drsyncer.settings import load_settings
from tasks.data.endpoints import PlaceholderSettings
from tasks.pvc_data import DataStageSettings, credentials_for, pvc_data
from tasks.session import SyncSession


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
    try:
        credentials = credentials_for(session.mapping, settings.key_dir)
    except DrSyncerError as error:
        return [PvcOutcome(name=claim, status="failed", error=str(error)) for claim in claims]
    futures = [pvc_data.submit(session, claim, credentials, settings) for claim in claims]
    return [future.result() for future in futures]
