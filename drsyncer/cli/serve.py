"""``drsyncer serve CONFIG...``: every mapping on its schedule, from this one process (design §6).

The embedded way to run dr-syncer unattended: the deployments of :mod:`deployments.builder` are
registered on the Prefect API and served by a Prefect runner in this process, which starts their flow
runs (scheduled, triggered from the UI or ``prefect deployment run``) as subprocesses.

- Prefect API: ``PREFECT_API_URL`` when set; otherwise Prefect's local ephemeral server (SQLite under
  ``PREFECT_HOME``), started with a long start-up timeout (a fresh home takes ~17 s on 2 cores).
- Continuous mappings get their long-running flow started at once (and restarted by the deployment's
  keep-alive schedule if it ever stops).
- ``--from-cluster --kubeconfig K [--context C]`` reads the mappings from a controller cluster's CRs and
  also watches them: a new ``dr-syncer.io/sync-now`` value or a spec change starts a run of that mapping's
  deployment (once per value, recorded in its status; see :mod:`tasks.watch.sync_now`); paused mappings
  never start. Mappings added to the controller cluster later need a restart of ``serve``.
- ``--metrics-port`` (default 9464; 0 turns it off) serves the Prometheus metrics of every served mapping
  on ``/metrics`` from a daemon thread (the exporter of :mod:`drsyncer.metrics`, as ``drsyncer exporter``):
  read-only, it never blocks a run; a port in use stops serve before anything is served (exit code 2).
- SIGTERM or Ctrl-C stop cleanly: the runner stops polling, cancels its in-flight runs and exits 0.
- ``pause_on_shutdown`` (Prefect's default, kept here): on shutdown the served deployments' schedules are
  **paused**, so no run piles up while nothing serves them; the next ``drsyncer serve`` un-pauses them.
  ``--keep-schedules-on-shutdown`` leaves them active (e.g. when a worker pool also runs them). Mappings
  that are ``paused`` in the configuration stay paused either way.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import typer

from deployments.builder import (
    DeploymentSpec,
    MappingReference,
    build_deployment_specs,
    to_runner_deployment,
)
from drsyncer.cli.exporter import start_serve_metrics
from drsyncer.cli.output import stderr, user_errors
from drsyncer.errors import UsageError
from drsyncer.prefect_env import apply_prefect_defaults
from tasks.watch.sync_now import SyncNowWatcher

CONFIG_ARGUMENT = typer.Argument(None, help="Configuration files or directories.", show_default=False)
TIMEZONE_OPTION = typer.Option(
    "UTC", "--timezone", help="IANA timezone the cron schedules are evaluated in (default UTC)."
)
MAPPING_OPTION = typer.Option(
    None, "--mapping", "-m", help="Serve only these NamespaceMappings (NAME or NAMESPACE/NAME). Repeatable."
)
LIMIT_OPTION = typer.Option(None, "--limit", help="Maximum flow runs executing at once in this process.")
FROM_CLUSTER_OPTION = typer.Option(
    False, "--from-cluster", help="Read the CRs from a controller cluster and act on sync-now / spec changes."
)
KUBECONFIG_OPTION = typer.Option(None, "--kubeconfig", help="Kubeconfig of the controller cluster.")
CONTEXT_OPTION = typer.Option(None, "--context", help="Context in --kubeconfig (default: its current one).")
METRICS_PORT_OPTION = typer.Option(
    9464, "--metrics-port", help="Port of the Prometheus /metrics endpoint (0: no metrics endpoint)."
)
PROBE_AGENTS_OPTION = typer.Option(
    False, "--probe-agents", help="Probe the DR agents with the control key for drsyncer_agent_up."
)
METRICS_REFRESH_OPTION = typer.Option(
    30.0, "--metrics-refresh-seconds", min=1.0, help="How often the metrics endpoint reads the Prefect API."
)
PAUSE_OPTION = typer.Option(
    True,
    "--pause-on-shutdown/--keep-schedules-on-shutdown",
    help="Pause the served schedules when serve stops (Prefect's default).",
)


def serve(
    config: list[Path] | None = CONFIG_ARGUMENT,
    mapping: list[str] | None = MAPPING_OPTION,
    timezone: str = TIMEZONE_OPTION,
    limit: int | None = LIMIT_OPTION,
    pause_on_shutdown: bool = PAUSE_OPTION,
    from_cluster: bool = FROM_CLUSTER_OPTION,
    kubeconfig: Path | None = KUBECONFIG_OPTION,
    context: str | None = CONTEXT_OPTION,
    metrics_port: int = METRICS_PORT_OPTION,
    metrics_refresh_seconds: float = METRICS_REFRESH_OPTION,
    probe_agents: bool = PROBE_AGENTS_OPTION,
) -> None:
    """Serve every mapping on its schedule (Scheduled, Manual on demand, Continuous) until stopped."""
    with user_errors():
        watcher: SyncNowWatcher | None = None
        if from_cluster:
            if config or kubeconfig is None:
                raise UsageError(
                    "--from-cluster needs --kubeconfig and no CONFIG paths",
                    fix="drsyncer serve --from-cluster --kubeconfig CONTROLLER_KUBECONFIG [--context C]",
                )
            specs, watcher = _controller_specs(kubeconfig, context, mapping, timezone)
        else:
            specs = _specs(config, mapping, timezone)
        apply_prefect_defaults()
        metrics = start_serve_metrics(
            config,
            port=metrics_port,
            interval=metrics_refresh_seconds,
            probe_agents=probe_agents,
            from_cluster=from_cluster,
            kubeconfig=kubeconfig,
            context=context,
        )
        if not os.environ.get("PREFECT_API_URL"):
            stderr.print(
                "PREFECT_API_URL is not set: using Prefect's local ephemeral server "
                f"(PREFECT_HOME={os.environ.get('PREFECT_HOME', '~/.prefect')})."
            )
        if watcher is not None:
            watcher.trigger = _deployment_trigger(specs)
            threading.Thread(target=watcher.run, name="sync-now-watcher", daemon=True).start()
        try:
            run_server(specs, limit=limit, pause_on_shutdown=pause_on_shutdown)
        finally:
            if watcher is not None:
                watcher.stop.set()
            if metrics is not None:
                metrics.stop()


def _specs(config: list[Path] | None, mappings: list[str] | None, timezone: str) -> list[DeploymentSpec]:
    if not config:
        raise UsageError("no CONFIG given", fix="pass configuration files or directories")
    from drsyncer.config.loader import load_config

    loaded = load_config(config)
    selected = {m.key for m in loaded.select(mappings or None)}
    specs = build_deployment_specs(loaded, MappingReference.from_paths(config), timezone=timezone)
    if mappings:
        return [s for s in specs if s.flow != "cluster-sync" and set(s.mapping_keys) & selected]
    return specs


def _controller_specs(
    kubeconfig: Path, context: str | None, mappings: list[str] | None, timezone: str
) -> tuple[list[DeploymentSpec], SyncNowWatcher]:
    from drsyncer.controller import load_controller_config

    controller = {"kubeconfig": str(kubeconfig.expanduser().resolve()), "context": context}
    client, loaded = load_controller_config(controller)
    selected = {m.key for m in loaded.select(mappings or None)}
    specs = build_deployment_specs(
        loaded, MappingReference(controller=controller), timezone=timezone, cluster_mappings=False
    )
    specs = [s for s in specs if set(s.mapping_keys) & selected]
    watcher = SyncNowWatcher(client=client, trigger=lambda key, reason: None, log=stderr.print)
    return specs, watcher


def _deployment_trigger(specs: list[DeploymentSpec]) -> Callable[[str, str], None]:
    """Start a run of the deployment of mapping ``namespace/name`` (not for Continuous mappings)."""
    by_mapping = {key: spec for spec in specs if spec.flow == "namespace-sync" for key in spec.mapping_keys}

    def trigger(key: str, reason: str) -> None:
        from prefect import get_client

        spec = by_mapping.get(key)
        if spec is None:
            stderr.print(f"{key}: {reason}, but it has no namespace-sync deployment (Continuous or new)")
            return
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(f"{spec.flow}/{spec.name}")
            client.create_flow_run_from_deployment(deployment.id, tags=[f"trigger:{reason}"])

    return trigger


def run_server(specs: list[DeploymentSpec], *, limit: int | None, pause_on_shutdown: bool) -> None:
    """Register and serve ``specs`` until SIGTERM or Ctrl-C."""
    from prefect import serve as prefect_serve

    deployments = [to_runner_deployment(spec) for spec in specs]
    continuous = [spec for spec in specs if spec.flow == "continuous-sync" and not spec.paused]
    if continuous:
        for spec, deployment in zip(specs, deployments, strict=True):
            if spec in continuous:
                deployment.apply()
        start_continuous(continuous)
    stderr.print(f"serving {len(deployments)} deployments: {', '.join(spec.name for spec in specs)}")
    prefect_serve(
        *deployments, pause_on_shutdown=pause_on_shutdown, limit=limit, print_starting_message=False
    )


def start_continuous(specs: list[DeploymentSpec]) -> None:
    """Create a run of each continuous deployment that has none running or about to run."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    active = [StateType.RUNNING, StateType.PENDING, StateType.CANCELLING]
    with get_client(sync_client=True) as client:
        for spec in specs:
            deployment = client.read_deployment_by_name(f"{spec.flow}/{spec.name}")
            running = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=active))
                ),
                limit=1,
            )
            if not running:
                client.create_flow_run_from_deployment(deployment.id, tags=["started-by:serve"])
