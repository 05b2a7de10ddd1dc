"""The metrics exporter: a refresh loop over the Prefect API and an HTTP ``/metrics`` endpoint.

One :class:`Exporter` serves ``drsyncer exporter CONFIG`` (standalone, next to Prefect workers) and
``drsyncer serve --metrics-port`` (in a daemon thread of the serving process). Contracts:

- **Read-only and off the sync path.** The exporter only reads the Prefect API (and probes agents with the
  read-only ``probe`` verb); it runs in threads of its own and takes no lock a sync takes, so it never
  blocks or slows a sync. A scrape never waits for the Prefect API: it serves the last snapshot.
- **Last known values when Prefect is away.** A failed refresh keeps every value and sets
  ``drsyncer_exporter_up 0``; RPO keeps growing (computed at scrape time). The next good refresh sets it
  back to 1.
- **A port in use is one clear error** (:class:`~drsyncer.errors.UsageError`, exit code 2).
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import Metric

from drsyncer import __version__
from drsyncer.config.effective import EffectiveMapping
from drsyncer.errors import UsageError
from drsyncer.metrics.collector import AgentStatus, MappingView, families
from drsyncer.metrics.history import DeploymentInfo, read_deployment, read_finished_runs, run_names
from drsyncer.metrics.objective import rpo_objective_seconds
from drsyncer.metrics.state import FinishedRun, MappingState, observe

DEFAULT_PORT = 9464
"""The default metrics port (the OpenTelemetry Prometheus exporter's, as the issue asks)."""
DEFAULT_REFRESH_SECONDS = 30.0

logger = logging.getLogger("drsyncer.metrics")

AgentProbe = Callable[[], list[AgentStatus]]


@dataclass(frozen=True)
class MappingTarget:
    """A mapping to export, and the ``flow/deployment`` that schedules it (if it has one)."""

    mapping: EffectiveMapping
    deployment: str | None = None


def mapping_labels(mappings: Sequence[EffectiveMapping]) -> dict[str, str]:
    """Mapping key → its ``mapping`` label: the name, or ``namespace/name`` when two share a name."""
    names = Counter(mapping.name for mapping in mappings)
    return {m.key: (m.name if names[m.name] == 1 else m.key) for m in mappings}


class Exporter:
    """The exporter's snapshot, its refresh from the Prefect API and its Prometheus collector."""

    def __init__(
        self,
        targets: Sequence[MappingTarget],
        *,
        agent_probe: AgentProbe | None = None,
        clock: Callable[[], float] = time.time,
        client_factory: Callable[[], Any] | None = None,
    ) -> None:
        """Prepare the snapshot; raises ConfigError when a mapping's RPO objective annotation is wrong."""
        self.targets = list(targets)
        self._labels = mapping_labels([t.mapping for t in self.targets])
        self._objectives = {t.mapping.key: rpo_objective_seconds(t.mapping) for t in self.targets}
        self._states = {t.mapping.key: MappingState() for t in self.targets}
        self._deployments: dict[str, DeploymentInfo | None] = {}
        self._agents: list[AgentStatus] = []
        self._agent_probe = agent_probe
        self._clock = clock
        self._client_factory = client_factory or _prefect_client
        self._lock = threading.Lock()
        self.up = False
        self.last_refresh: float | None = None

    # --- refresh -------------------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Read every mapping's finished runs (and deployment) from Prefect; False when Prefect failed."""
        try:
            runs, deployments = self._read()
        except Exception as error:  # the API is away or broken: keep the last values, say so
            logger.warning("metrics: cannot read the Prefect API (%s); serving the last known values", error)
            with self._lock:
                self.up = False
            return False
        with self._lock:
            for key, finished in runs.items():
                state = self._states[key]
                for run in finished:
                    observe(state, run)
                # A run that left the read window is never read again: remember only the window's runs.
                state.seen &= {run.run_id for run in finished}
            self._deployments.update(deployments)
            self.up = True
            self.last_refresh = self._clock()
        return True

    def _read(self) -> tuple[dict[str, list[FinishedRun]], dict[str, DeploymentInfo | None]]:
        runs: dict[str, list[FinishedRun]] = {}
        deployments: dict[str, DeploymentInfo | None] = {}
        with self._client_factory() as client:
            for target in self.targets:
                key = target.mapping.key
                with self._lock:
                    known = set(self._states[key].seen)
                runs[key] = read_finished_runs(client, run_names(target.mapping), known=known)
                if target.deployment is not None:
                    deployments[key] = read_deployment(client, target.deployment)
        return runs, deployments

    def probe_agents(self) -> None:
        """Probe the agents (when a probe is configured); a failing probe marks agents down, never raises."""
        if self._agent_probe is None:
            return
        try:
            agents = self._agent_probe()
        except Exception as error:
            logger.warning("metrics: agent probe failed: %s", error)
            return
        with self._lock:
            self._agents = agents

    def run(self, stop: threading.Event, *, interval: float = DEFAULT_REFRESH_SECONDS) -> None:
        """Refresh and probe every ``interval`` seconds until ``stop`` is set."""
        while not stop.is_set():
            self.refresh()
            self.probe_agents()
            stop.wait(interval)

    # --- what a scrape sees --------------------------------------------------------------------------

    def views(self) -> list[MappingView]:
        """A consistent copy of every mapping's view (for the collector and ``drsyncer status``)."""
        with self._lock:
            views = []
            for target in self.targets:
                mapping, key = target.mapping, target.mapping.key
                deployment = self._deployments.get(key)
                views.append(
                    MappingView(
                        label=self._labels[key],
                        source=mapping.source.name,
                        destination=mapping.destination.name,
                        objective=self._objectives[key],
                        paused=mapping.paused or bool(deployment and deployment.paused),
                        state=_copy(self._states[key]),
                    )
                )
            return views

    def deployment(self, mapping_key: str) -> DeploymentInfo | None:
        """The last read of a mapping's deployment (None: not deployed, or not read yet)."""
        with self._lock:
            return self._deployments.get(mapping_key)

    def collect(self) -> Iterable[Metric]:
        """The Prometheus collector protocol: every family, from the last snapshot.

        Mapping series appear with the first successful read of Prefect, holding what the history says
        (so a restart never shows old failures as an ``increase``); until then only ``drsyncer_info``,
        ``drsyncer_exporter_up 0`` and the agents are served.
        """
        with self._lock:
            up, last_refresh, agents = self.up, self.last_refresh, list(self._agents)
        views = self.views() if last_refresh is not None else []
        return families(
            views, now=self._clock(), up=up, last_refresh=last_refresh, agents=agents, version=__version__
        )

    def registry(self) -> CollectorRegistry:
        """A registry holding only this exporter."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        return registry


def _copy(state: MappingState) -> MappingState:
    import copy

    return copy.deepcopy(state)


def _prefect_client() -> Any:
    from prefect import get_client

    return get_client(sync_client=True)


@dataclass
class MetricsServer:
    """A running exporter: its HTTP server and refresh thread; :meth:`stop` ends both."""

    exporter: Exporter
    port: int
    httpd: Any
    stop_event: threading.Event
    refresher: threading.Thread

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop serving and refreshing (waits up to ``timeout`` s for a refresh in progress to end)."""
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.refresher.join(timeout)


def start_metrics_server(
    exporter: Exporter,
    *,
    port: int = DEFAULT_PORT,
    address: str = "0.0.0.0",
    interval: float = DEFAULT_REFRESH_SECONDS,
    option: str = "--port",
) -> MetricsServer:
    """Serve ``exporter`` on ``address:port`` and refresh it in a daemon thread.

    Raises:
        UsageError: the port is in use or cannot be bound (``option`` names the flag to change it).
    """
    try:
        httpd, _ = start_http_server(port, addr=address, registry=exporter.registry())
    except OSError as error:
        reason = (
            "is already in use" if error.errno == errno.EADDRINUSE else f"cannot be used ({error.strerror})"
        )
        raise UsageError(
            f"metrics port {port} on {address} {reason}",
            fix=f"stop the process that holds it or choose another port with {option} PORT",
        ) from error
    stop = threading.Event()
    refresher = threading.Thread(
        target=exporter.run, args=(stop,), kwargs={"interval": interval}, name="drsyncer-metrics", daemon=True
    )
    refresher.start()
    return MetricsServer(
        exporter=exporter, port=int(httpd.server_port), httpd=httpd, stop_event=stop, refresher=refresher
    )
