"""``drsyncer exporter CONFIG [--port 9464]``: Prometheus metrics of every mapping, from the Prefect API.

For setups where Prefect workers (not ``drsyncer serve``) run the syncs: this process only reads — the
finished ``namespace-sync`` runs of each mapping and their run records, each mapping's deployment (paused?
next run?), and (with ``--probe-agents``) the DR agents through the control key — and serves
``http://ADDRESS:PORT/metrics`` until SIGTERM or Ctrl-C. ``drsyncer serve`` embeds the same exporter
(``--metrics-port``). Metrics, alerts and the dashboard: docs/observability.md.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import typer

from deployments.builder import MappingReference, build_deployment_specs
from drsyncer.cli.config_paths import config_paths
from drsyncer.cli.output import stderr, user_errors
from drsyncer.config.effective import Config
from drsyncer.errors import DrSyncerError, UsageError
from drsyncer.metrics.collector import AgentStatus
from drsyncer.metrics.exporter import (
    DEFAULT_PORT,
    DEFAULT_REFRESH_SECONDS,
    Exporter,
    MappingTarget,
    MetricsServer,
    start_metrics_server,
)
from drsyncer.prefect_env import apply_prefect_defaults

CONFIG_ARGUMENT = typer.Argument(None, help="Configuration files or directories.", show_default=False)
PORT_OPTION = typer.Option(DEFAULT_PORT, "--port", help="Port of the /metrics endpoint.")
ADDRESS_OPTION = typer.Option("0.0.0.0", "--address", help="Address to listen on.")
INTERVAL_OPTION = typer.Option(
    DEFAULT_REFRESH_SECONDS, "--refresh-seconds", help="How often the Prefect API is read.", min=1.0
)
logger = logging.getLogger("drsyncer.metrics")
PROBE_OPTION = typer.Option(
    False, "--probe-agents", help="Probe the DR agents with the control key (drsyncer_agent_up)."
)
FROM_CLUSTER_OPTION = typer.Option(
    False, "--from-cluster", help="Read the mappings from a controller cluster."
)
KUBECONFIG_OPTION = typer.Option(None, "--kubeconfig", help="Kubeconfig of the controller cluster.")
CONTEXT_OPTION = typer.Option(None, "--context", help="Context in --kubeconfig (default: its current one).")


def exporter(
    config: list[Path] | None = CONFIG_ARGUMENT,
    port: int = PORT_OPTION,
    address: str = ADDRESS_OPTION,
    refresh_seconds: float = INTERVAL_OPTION,
    probe_agents: bool = PROBE_OPTION,
    from_cluster: bool = FROM_CLUSTER_OPTION,
    kubeconfig: Path | None = KUBECONFIG_OPTION,
    context: str | None = CONTEXT_OPTION,
) -> None:
    """Serve Prometheus metrics (RPO, failures, bytes, agents) of every mapping until stopped."""
    with user_errors():
        loaded, reference = load_mappings(
            config, from_cluster=from_cluster, kubeconfig=kubeconfig, context=context
        )
        built = build_exporter(loaded, reference, probe_agents=probe_agents)
        apply_prefect_defaults()
        server = start_metrics_server(
            built, port=port, address=address, interval=refresh_seconds, option="--port"
        )
    stderr.print(
        f"serving metrics of {len(built.targets)} mapping(s) on http://{address}:{server.port}/metrics"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def load_mappings(
    config: list[Path] | None, *, from_cluster: bool, kubeconfig: Path | None, context: str | None
) -> tuple[Config, MappingReference]:
    """The configuration from files, or from a controller cluster's CRs; and where runs find it."""
    if from_cluster:
        if config or kubeconfig is None:
            raise UsageError(
                "--from-cluster needs --kubeconfig and no CONFIG paths",
                fix="drsyncer exporter --from-cluster --kubeconfig CONTROLLER_KUBECONFIG [--context C]",
            )
        from drsyncer.controller import load_controller_config

        controller = {"kubeconfig": str(kubeconfig.expanduser().resolve()), "context": context}
        client, loaded = load_controller_config(controller)
        client.close()
        return loaded, MappingReference(controller=controller)
    from drsyncer.config.loader import load_config

    paths = config_paths(config)
    return load_config(paths), MappingReference.from_paths(paths)


def metrics_targets(loaded: Config, reference: MappingReference) -> list[MappingTarget]:
    """Every mapping of ``loaded`` with the ``flow/deployment`` that schedules it."""
    specs = build_deployment_specs(loaded, reference, cluster_mappings=False)
    deployments = {key: f"{spec.flow}/{spec.name}" for spec in specs for key in spec.mapping_keys}
    return [MappingTarget(mapping=m, deployment=deployments.get(m.key)) for m in loaded.require_mappings()]


def build_exporter(loaded: Config, reference: MappingReference, *, probe_agents: bool) -> Exporter:
    """The exporter of ``loaded``'s mappings (with an agent probe when asked)."""
    probe = agent_probe(loaded) if probe_agents else None
    return Exporter(metrics_targets(loaded, reference), agent_probe=probe)


def agent_probe(loaded: Config) -> Callable[[], list[AgentStatus]]:
    """Probe the DR agents of ``loaded``'s data-syncing mappings; a cluster that cannot be listed keeps
    its previous results (and the failure is logged)."""
    from drsyncer.settings import load_settings
    from tasks.data.agent_health import probe_cluster, probe_targets

    targets = probe_targets(loaded.mappings, load_settings().key_dir)
    last: dict[str, list[AgentStatus]] = {}

    def probe() -> list[AgentStatus]:
        for target in targets:
            cluster = target.mapping.destination.name
            try:
                last[cluster] = [AgentStatus(h.cluster, h.node, h.up) for h in probe_cluster(target)]
            except DrSyncerError as error:
                logger.warning("metrics: cannot list the nodes of cluster %s: %s", cluster, error)
        return [status for statuses in last.values() for status in statuses]

    return probe


def start_serve_metrics(
    config: list[Path] | None,
    *,
    port: int,
    interval: float = DEFAULT_REFRESH_SECONDS,
    probe_agents: bool = False,
    from_cluster: bool,
    kubeconfig: Path | None,
    context: str | None,
) -> MetricsServer | None:
    """The exporter embedded in ``drsyncer serve`` (``--metrics-port``; 0 turns it off)."""
    if port == 0:
        return None
    loaded, reference = load_mappings(
        config, from_cluster=from_cluster, kubeconfig=kubeconfig, context=context
    )
    server = start_metrics_server(
        build_exporter(loaded, reference, probe_agents=probe_agents),
        port=port,
        interval=interval,
        option="--metrics-port",
    )
    stderr.print(f"serving metrics on http://0.0.0.0:{server.port}/metrics")
    return server
