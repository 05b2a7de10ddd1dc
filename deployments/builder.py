"""From the loaded configuration to Prefect deployments (design §6).

Every NamespaceMapping becomes one deployment named after the mapping; every ClusterMapping one more
(of the cluster-sync flow, run on demand). :func:`build_deployment_specs` decides everything as plain
data (:class:`DeploymentSpec`) without importing Prefect, so the rules below are unit-tested directly;
:func:`to_runner_deployment` turns a spec into a Prefect ``RunnerDeployment`` for ``serve`` or for
registration on a server (``drsyncer deploy``).

=============  ==========================================================================================
Mapping        Deployment
=============  ==========================================================================================
Scheduled      namespace-sync flow, cron schedule = ``spec.schedule`` (default ``*/5 * * * *``) in the
               configured timezone (default **UTC**, like DR-Syncer's controller)
Manual         namespace-sync flow, no schedule (run from the UI, ``prefect deployment run``, ...)
Continuous     continuous-sync flow (long-running); a keep-alive interval schedule restarts it if it is
               not running; the concurrency limit's ``CANCEL_NEW`` drops the extra runs while it is
paused         the deployment is paused (its schedule stays, so un-pausing resumes it)
ClusterMapping cluster-sync flow over its Scheduled and Manual mappings, no schedule
=============  ==========================================================================================

Every deployment has a concurrency limit of 1 (two runs of one mapping never overlap: the second waits
in ``AwaitingConcurrencySlot``), tags ``mapping:<name>``, ``source:<cluster>`` and
``destination:<cluster>``, and parameters that only *refer* to the mapping — its name plus the
configuration paths or the controller cluster's kubeconfig path and context. Never a secret: the mapping
and its credentials are loaded afresh at the start of every run.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from drsyncer.config.effective import Config, EffectiveMapping
from drsyncer.config.namespace_mapping import ReplicationMode

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

DEFAULT_TIMEZONE = "UTC"
"""Cron schedules are evaluated in UTC unless the user chooses a timezone (``--timezone``)."""

CONTINUOUS_KEEPALIVE = timedelta(minutes=5)
"""How often the continuous deployment's schedule tries to (re)start a continuous flow that is not running."""

FlowName = Literal["namespace-sync", "continuous-sync", "cluster-sync"]

FLOW_ENTRYPOINTS: dict[FlowName, str] = {
    "namespace-sync": "flows.namespace_sync.namespace_sync",
    "continuous-sync": "flows.continuous.continuous_sync",
    "cluster-sync": "flows.cluster_sync.cluster_sync",
}
"""Module-path entrypoints: workers import the installed ``dr-syncer`` package; no code upload needed."""

CollisionStrategy = Literal["ENQUEUE", "CANCEL_NEW"]


@dataclass(frozen=True)
class MappingReference:
    """Where every run finds its configuration: files (file mode) or a controller cluster.

    Attributes:
        config: configuration files or directories, as the *runs* will see them (absolute paths).
        controller: ``{"kubeconfig": PATH, "context": NAME}`` of the controller cluster.
    """

    config: tuple[str, ...] = ()
    controller: dict[str, Any] | None = None

    def parameters(self) -> dict[str, Any]:
        """The reference as flow parameters (never secrets: paths and a context name)."""
        if self.controller:
            return {"config": None, "controller": dict(self.controller)}
        return {"config": list(self.config), "controller": None}

    @classmethod
    def from_paths(cls, paths: Sequence[str | Path]) -> MappingReference:
        """A file-mode reference with every path made absolute."""
        return cls(config=tuple(str(Path(path).expanduser().resolve()) for path in paths))


@dataclass(frozen=True)
class DeploymentSpec:
    """One Prefect deployment, as plain data."""

    name: str
    flow: FlowName
    parameters: dict[str, Any]
    tags: tuple[str, ...]
    description: str
    cron: str | None = None
    interval: timedelta | None = None
    timezone: str = DEFAULT_TIMEZONE
    paused: bool = False
    concurrency_limit: int = 1
    collision_strategy: CollisionStrategy = "ENQUEUE"
    mapping_keys: tuple[str, ...] = field(default=())
    """``namespace/name`` of the mappings this deployment syncs."""

    @property
    def entrypoint(self) -> str:
        """The flow's module path."""
        return FLOW_ENTRYPOINTS[self.flow]


def mapping_tags(mapping: EffectiveMapping) -> tuple[str, ...]:
    """``mapping:<name>``, ``source:<cluster>``, ``destination:<cluster>`` (and the mode)."""
    return (
        f"mapping:{mapping.name}",
        f"source:{mapping.source.name}",
        f"destination:{mapping.destination.name}",
        f"mode:{str(mapping.mode).lower()}",
    )


def build_deployment_specs(
    config: Config,
    reference: MappingReference,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    continuous_keepalive: timedelta | None = CONTINUOUS_KEEPALIVE,
    cluster_mappings: bool = True,
) -> list[DeploymentSpec]:
    """One spec per NamespaceMapping (and per ClusterMapping), in configuration order."""
    duplicated = _duplicated_names(config)
    specs = [
        _mapping_spec(
            mapping,
            reference,
            timezone=timezone,
            keepalive=continuous_keepalive,
            qualified=mapping.name in duplicated,
        )
        for mapping in config.mappings
    ]
    if cluster_mappings:
        specs.extend(_cluster_mapping_specs(config, reference))
    return specs


def _duplicated_names(config: Config) -> set[str]:
    return {name for name, count in Counter(m.name for m in config.mappings).items() if count > 1}


def deployment_name(config: Config, mapping: EffectiveMapping) -> str:
    """The full name (``flow/deployment``) of the deployment that runs ``mapping``."""
    flow_name = "continuous-sync" if mapping.mode == ReplicationMode.Continuous else "namespace-sync"
    name = (
        f"{mapping.namespace}-{mapping.name}" if mapping.name in _duplicated_names(config) else mapping.name
    )
    return f"{flow_name}/{name}"


def _mapping_spec(
    mapping: EffectiveMapping,
    reference: MappingReference,
    *,
    timezone: str,
    keepalive: timedelta | None,
    qualified: bool,
) -> DeploymentSpec:
    name = f"{mapping.namespace}-{mapping.name}" if qualified else mapping.name
    parameters: dict[str, Any] = {"mapping": mapping.key if qualified else mapping.name}
    parameters.update(reference.parameters())
    where = (
        f"{mapping.source.name}/{mapping.source_namespace} → "
        f"{mapping.destination.name}/{mapping.destination_namespace}"
    )
    common: dict[str, Any] = {
        "name": name,
        "parameters": parameters,
        "tags": mapping_tags(mapping),
        "timezone": timezone,
        "paused": mapping.paused,
        "mapping_keys": (mapping.key,),
    }
    if mapping.mode == ReplicationMode.Continuous:
        return DeploymentSpec(
            flow="continuous-sync",
            description=f"Continuous DR sync of {where} (watch + full sync every "
            f"{mapping.continuous.background_sync_interval}).",
            interval=keepalive,
            collision_strategy="CANCEL_NEW",
            **common,
        )
    if mapping.mode == ReplicationMode.Manual:
        return DeploymentSpec(
            flow="namespace-sync", description=f"Manual DR sync of {where} (run on demand).", **common
        )
    return DeploymentSpec(
        flow="namespace-sync",
        description=f"Scheduled DR sync of {where}, cron {mapping.schedule!r} ({timezone}).",
        cron=mapping.schedule,
        **common,
    )


def _cluster_mapping_specs(config: Config, reference: MappingReference) -> list[DeploymentSpec]:
    specs = []
    for cluster_mapping, _ in config.cluster_mappings:
        key = f"{cluster_mapping.metadata.namespace}/{cluster_mapping.metadata.name}"
        members = [
            m for m in config.mappings if m.cluster_mapping == key and m.mode != ReplicationMode.Continuous
        ]
        parameters: dict[str, Any] = {"cluster_mapping": cluster_mapping.metadata.name}
        parameters.update(reference.parameters())
        spec = cluster_mapping.spec
        specs.append(
            DeploymentSpec(
                name=cluster_mapping.metadata.name,
                flow="cluster-sync",
                parameters=parameters,
                tags=(
                    f"cluster-mapping:{cluster_mapping.metadata.name}",
                    f"source:{spec.source_cluster}",
                    f"destination:{spec.target_cluster}",
                ),
                description=f"Sync every Scheduled and Manual mapping of ClusterMapping {key} "
                f"({spec.source_cluster} → {spec.target_cluster}) now, as subflows.",
                paused=spec.paused,
                mapping_keys=tuple(m.key for m in members),
            )
        )
    return specs


def load_flow(spec: DeploymentSpec) -> Any:
    """Import the spec's flow object (this imports Prefect)."""
    module_name, _, attribute = spec.entrypoint.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def to_runner_deployment(
    spec: DeploymentSpec,
    *,
    work_pool_name: str | None = None,
    job_variables: dict[str, Any] | None = None,
) -> RunnerDeployment:
    """A Prefect ``RunnerDeployment`` for ``spec`` (module-path entrypoint, no code upload)."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.schedules import Cron, Interval
    from prefect.types.entrypoint import EntrypointType

    schedules = []
    if spec.cron:
        schedules.append(Cron(spec.cron, timezone=spec.timezone))
    if spec.interval is not None:
        schedules.append(Interval(spec.interval, timezone=spec.timezone))
    deployment: RunnerDeployment = load_flow(spec).to_deployment(
        name=spec.name,
        schedules=schedules or None,
        paused=spec.paused,
        parameters=dict(spec.parameters),
        tags=list(spec.tags),
        description=spec.description,
        concurrency_limit=ConcurrencyLimitConfig(
            limit=spec.concurrency_limit,
            collision_strategy=ConcurrencyLimitStrategy(spec.collision_strategy),
        ),
        work_pool_name=work_pool_name,
        job_variables=job_variables,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    return deployment
