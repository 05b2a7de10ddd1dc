"""The continuous-sync flow: one long-running flow run per Continuous mapping (design §6).

It wires :class:`tasks.watch.loop.ContinuousSync` to the mapping and to Prefect, and does nothing else:

- one watch per synced kind on the source namespace (:mod:`tasks.watch.watcher`), changes debounced per
  object (``debounce_seconds``) and synced one object at a time (:mod:`tasks.watch.object_sync`);
- a full sync — the namespace-sync flow as a subflow, so it has its own run, report and artifacts — at
  start and every ``continuous.backgroundSyncInterval``; a failed full sync is logged, not fatal;
- PVC data on the mapping's ``schedule`` cadence through :data:`PVC_DATA_SYNC` (a subflow per firing);
- it stops when the run is cancelled (Prefect raises in the flow; the loop's ``finally`` stops the
  watchers and closes the clients), after ``max_duration_seconds``, or on :func:`request_stop`.

DR-Syncer's defects this fixes: a full namespace sync per watch event (and N syncs at start for N objects),
informers leaked on every reconcile, an empty ``resourceTypes`` watching nothing.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger

from drsyncer.config.effective import EffectiveMapping
from drsyncer.controller import StatusWriter
from drsyncer.kube.access import SOURCE_ROLE_FILE
from drsyncer.kube.connect import connect_cluster
from drsyncer.prefect_env import apply_run_log_levels
from flows.data_stage import continuous_data_sync
from flows.mapping_source import MappingSource, resolve_mapping
from flows.namespace_sync import namespace_sync
from tasks.mapping_contexts import label_selector_query
from tasks.session import open_session
from tasks.watch.events import WatchEvent
from tasks.watch.loop import ContinuousSettings, ContinuousSync
from tasks.watch.object_sync import ObjectSyncer
from tasks.watch.watcher import WATCH_TIMEOUT_SECONDS, KindWatcher

PVC_DATA_SYNC: Callable[[EffectiveMapping], object] | None = continuous_data_sync
"""The function that syncs one mapping's PVC data, called on the mapping's ``schedule`` cadence while the
continuous flow runs (a ``pvc-data-sync`` subflow run; replaceable, e.g. ``None`` to replicate objects
only)."""

_STOP_EVENTS: dict[str, threading.Event] = {}
_LOOPS: dict[str, ContinuousSync] = {}


def request_stop(mapping: str) -> bool:
    """Ask the continuous flow of ``mapping`` running in this process to stop; False when none runs."""
    event = _STOP_EVENTS.get(mapping)
    if event is None:
        return False
    event.set()
    return True


def running_stats(mapping: str) -> dict[str, Any] | None:
    """The live statistics of ``mapping``'s continuous flow running in this process (events taken from the
    watchers, objects synced and written, ...); ``None`` when none runs."""
    loop = _LOOPS.get(mapping)
    return None if loop is None else loop.stats.to_json()


def _run_name() -> str:
    from prefect.runtime import flow_run

    mapping = str(flow_run.parameters.get("mapping", "mapping")).replace("/", "-")
    return f"continuous-{mapping}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


class WatchStatus:
    """Controller mode: keeps the NamespaceMapping at phase ``Running`` with a recent ``lastWatchEvent``.

    ``lastWatchEvent`` is written at most every ``interval`` seconds, so a burst of events costs one
    status write, not one per event. Without a status writer (file mode) it does nothing.
    """

    def __init__(self, writer: StatusWriter | None, *, interval: float = 5.0) -> None:
        self.writer = writer
        self.interval = interval
        self._last_write = 0.0
        self._lock = threading.Lock()

    def running(self) -> None:
        """Phase back to Running after a full sync (which writes Completed or Failed)."""
        if self.writer is not None:
            self.writer.mark_watching()

    def forward(self, emit: Callable[[WatchEvent], None]) -> Callable[[WatchEvent], None]:
        """``emit`` that also records the event time (throttled)."""

        def emit_and_record(event: WatchEvent) -> None:
            emit(event)
            self._record()

        return emit_and_record

    def _record(self) -> None:
        if self.writer is None:
            return
        now = time.monotonic()
        with self._lock:
            if now - self._last_write < self.interval:
                return
            self._last_write = now
        self.writer.mark_watching(event_time=datetime.now(UTC))


@flow(name="continuous-sync", flow_run_name=_run_name, log_prints=False)
def continuous_sync(
    mapping: str,
    config: list[str] | None = None,
    controller: dict[str, Any] | None = None,
    debounce_seconds: float = 1.0,
    background_sync_seconds: float | None = None,
    max_duration_seconds: float | None = None,
    watch_timeout_seconds: int = WATCH_TIMEOUT_SECONDS,
) -> dict[str, object]:
    """Replicate one mapping continuously until cancelled; returns the loop's statistics.

    Args:
        mapping: the NamespaceMapping's ``metadata.name`` (or ``namespace/name``).
        config: configuration files or directories (file mode).
        controller: ``{"kubeconfig": PATH, "context": NAME}`` of the controller cluster (controller mode).
        debounce_seconds: quiet time per object before it is synced.
        background_sync_seconds: override of ``continuous.backgroundSyncInterval`` (tests).
        max_duration_seconds: stop after this long (tests; default: run until cancelled).
        watch_timeout_seconds: server-side length of one watch request before it is resumed.
    """
    apply_run_log_levels()
    logger = get_run_logger()
    resolved = resolve_mapping(MappingSource(config=tuple(config or ()), controller=controller), mapping)
    effective = resolved.mapping
    session = open_session(effective, controller=resolved.controller)
    watch_client = connect_cluster(effective.source, controller=resolved.controller)
    watch_client.role_file = SOURCE_ROLE_FILE
    stop = _STOP_EVENTS.setdefault(mapping, threading.Event())
    stop.clear()
    events: queue.Queue[WatchEvent] = queue.Queue()
    watching = WatchStatus(resolved.status)
    watchers = [
        KindWatcher(
            client=watch_client,
            resource=resource,
            namespace=effective.source_namespace,
            emit=watching.forward(events.put),
            stop=stop,
            label_selector=label_selector_query(effective),
            timeout_seconds=watch_timeout_seconds,
            log=logger.info,
        )
        for resource in session.resources
    ]

    syncer = ObjectSyncer.for_mapping(
        effective,
        destination=session.destination,
        destination_discovery=session.destination_discovery,
        source=session.source,
        resources=list(session.resources),
    )

    def full_sync() -> None:
        state = namespace_sync(mapping=mapping, config=config, controller=controller, return_state=True)
        if not state.is_completed():
            # A cutover made DR live: stop here rather than retry against it (DrLiveError ends the run).
            syncer.refuse_if_dr_live()
            logger.warning("full sync of %s did not complete: %s", effective.key, state.message)
        watching.running()

    loop = ContinuousSync(
        watchers=watchers,
        syncer=syncer,
        full_sync=full_sync,
        settings=ContinuousSettings(
            background_interval=background_sync_seconds
            or effective.continuous.background_sync_interval.seconds,
            debounce_window=debounce_seconds,
            debounce_max_delay=max(10.0, 10 * debounce_seconds),
            data_interval=_data_interval(effective),
            max_duration=max_duration_seconds,
        ),
        stop=stop,
        events=events,
        data_sync=_data_job(effective, logger),
        log=logger.info,
    )
    logger.info("watching %d kinds of %s", len(watchers), effective.key)
    _LOOPS[mapping] = loop
    try:
        stats = loop.run()
    finally:
        _LOOPS.pop(mapping, None)
        _STOP_EVENTS.pop(mapping, None)
        session.close()
        watch_client.close()
    logger.info("continuous sync of %s stopped: %s", effective.key, stats.to_json())
    return stats.to_json()


def _data_interval(mapping: EffectiveMapping) -> float | None:
    """Seconds between two firings of the mapping's schedule (the PVC data cadence)."""
    if not mapping.data_sync or mapping.schedule is None:
        return None
    from croniter import croniter

    now = datetime.now(UTC)
    schedule = croniter(mapping.schedule, now)
    first = schedule.get_next(datetime)
    second = schedule.get_next(datetime)
    return float((second - first).total_seconds())


def _data_job(mapping: EffectiveMapping, logger: Any) -> Callable[[], None] | None:
    if not mapping.data_sync:
        return None
    data_sync = PVC_DATA_SYNC
    if data_sync is None:
        logger.warning("%s has pvcConfig.syncData, but PVC data sync is turned off here", mapping.key)
        return None

    def run_data_sync() -> None:
        data_sync(mapping)

    return run_data_sync
