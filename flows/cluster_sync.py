"""The cluster-sync flow: every NamespaceMapping of one ClusterMapping, as namespace-sync subflows.

A ClusterMapping pairs two clusters; this flow syncs all its Scheduled and Manual mappings now, at most
``max_concurrency`` at a time (each in a thin task so Prefect's bounded task runner does the fan-out and
every mapping keeps its own subflow run, logs and report). Continuous mappings are left to their own
long-running flow; paused ones are reported as skipped. The flow fails when any mapping failed, after all
of them ran. Parameters carry only references, like the namespace-sync flow's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from prefect import State, flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, Failed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from drsyncer.config.effective import EffectiveMapping
from drsyncer.config.loader import load_config
from drsyncer.config.namespace_mapping import ReplicationMode
from drsyncer.errors import UsageError
from drsyncer.prefect_env import apply_run_log_levels
from flows.namespace_sync import namespace_sync

MAX_CONCURRENCY = 4
"""Upper bound of mappings synced at once (the task runner's worker count)."""


def _run_name() -> str:
    from prefect.runtime import flow_run

    name = str(flow_run.parameters.get("cluster_mapping", "cluster"))
    return f"cluster-sync-{name}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


def cluster_members(mappings: tuple[EffectiveMapping, ...], cluster_mapping: str) -> list[EffectiveMapping]:
    """The mappings that refer to ``cluster_mapping`` (``name`` or ``namespace/name``)."""
    return [
        m
        for m in mappings
        if m.cluster_mapping is not None
        and cluster_mapping in (m.cluster_mapping, m.cluster_mapping.partition("/")[2])
    ]


@task(name="sync-mapping", task_run_name="sync-mapping-{mapping}", cache_policy=NO_CACHE)
def sync_mapping(mapping: str, config: list[str] | None, controller: dict[str, Any] | None) -> dict[str, Any]:
    """Run one mapping's namespace-sync subflow; return its report (a failed sync is a result)."""
    state = namespace_sync(mapping=mapping, config=config, controller=controller, return_state=True)
    data = state.data if isinstance(state.data, dict) else {}
    return {"mapping": mapping, "state": state.type.value, "message": state.message or "", "report": data}


@flow(
    name="cluster-sync",
    flow_run_name=_run_name,
    task_runner=cast("TaskRunner[Any]", ThreadPoolTaskRunner(max_workers=MAX_CONCURRENCY)),
)
def cluster_sync(
    cluster_mapping: str,
    config: list[str] | None = None,
    controller: dict[str, Any] | None = None,
) -> State:
    """Sync every Scheduled and Manual NamespaceMapping of ``cluster_mapping``, bounded.

    Args:
        cluster_mapping: the ClusterMapping's ``metadata.name`` (or ``namespace/name``).
        config: configuration files or directories (file mode).
        controller: ``{"kubeconfig": PATH, "context": NAME}`` (controller mode; not supported yet here).
    """
    apply_run_log_levels()
    logger = get_run_logger()
    if controller:
        raise UsageError(
            "cluster-sync reads file-mode configuration only for now",
            fix="deploy the NamespaceMappings individually in controller mode",
        )
    loaded = load_config([Path(path) for path in config or ()])
    members = cluster_members(loaded.mappings, cluster_mapping)
    if not members:
        raise UsageError(f"no NamespaceMapping refers to ClusterMapping {cluster_mapping!r}")
    runnable = [m for m in members if not m.paused and m.mode != ReplicationMode.Continuous]
    for skipped in (m for m in members if m not in runnable):
        logger.info("%s skipped: %s", skipped.key, "paused" if skipped.paused else "Continuous mode")
    futures = [sync_mapping.submit(m.key, config, controller) for m in runnable]
    results = [future.result() for future in futures]
    failed = [r["mapping"] for r in results if r["state"] != "COMPLETED"]
    document = {"clusterMapping": cluster_mapping, "mappings": results}
    if failed:
        return Failed(
            message=f"{len(failed)} of {len(results)} mappings failed: {', '.join(failed)}", data=document
        )
    return Completed(message=f"{len(results)} mappings synced", data=document)
