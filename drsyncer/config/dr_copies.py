"""How DR copies differ from their sources on real clusters (our additions to NamespaceMapping).

Real clusters run controllers that act on what dr-syncer writes: scalers scale parked workloads back up,
each cluster publishes its own CA bundles and tokens, allocates its own node ports. The rules that deal
with them (``tasks/transform``, ``tasks/filter``) have built-in defaults; these fields extend them:

- ``workloadParking``: custom kinds kept at rest in DR (a replica field set to 0, or annotations added);
  KEDA ScaledObjects are parked without configuration;
- ``perClusterObjects``: objects each cluster makes for itself, never copied, added to the default list;
- ``serviceConfig.loadBalancer``: ``Keep`` LoadBalancer Services, or land them as ``ClusterIP``;
- ``namespaceConfig.excludeMetadata`` (in ``namespace_mapping``): cluster-specific namespace labels and
  annotations, added to the default list.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from drsyncer.config.base import ConfigModel, Str

_FIELD_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class LoadBalancerHandling(StrEnum):
    """What DR gets for a LoadBalancer Service."""

    Keep = "Keep"
    ClusterIP = "ClusterIP"


class ServiceConfig(ConfigModel):
    """How Services are copied."""

    load_balancer: LoadBalancerHandling = Field(
        default=LoadBalancerHandling.Keep,
        description="Our addition: Keep (LoadBalancer Services are copied as they are) or ClusterIP (they "
        "land as ClusterIP Services, without node ports, loadBalancerIP and loadBalancerSourceRanges).",
    )


class WorkloadParkingEntry(ConfigModel):
    """One custom kind that runs things, and how DR keeps it at rest until cutover."""

    group: Str = Field(description="API group of the kind, e.g. argoproj.io ('' for the core group).")
    kind: Str = Field(description="Kind, e.g. Rollout.")
    replicas_path: Str | None = Field(
        default=None,
        description="Dotted path of the replica field set to 0 in DR (e.g. spec.replicas, spec.instances); "
        "the source value is kept in the dr-syncer.io/original-replicas annotation for cutover.",
    )
    annotations: dict[Str, Str] = Field(
        default_factory=dict,
        description="Annotations added in DR that pause the kind (e.g. autoscaling.keda.sh/paused: "
        '"true"); cutover restores the source values.',
    )

    @field_validator("replicas_path")
    @classmethod
    def _dotted(cls, value: str | None) -> str | None:
        if value is not None and not _FIELD_PATH.match(value):
            raise ValueError(f"replicasPath {value!r} is not a dotted field path like spec.replicas")
        return value

    @model_validator(mode="after")
    def _one_way(self) -> WorkloadParkingEntry:
        if (self.replicas_path is None) == (not self.annotations):
            raise ValueError(
                f"workloadParking entry {self.group}/{self.kind}: give exactly one of replicasPath "
                "(a field set to 0) or annotations (added to pause it)"
            )
        return self


class PerClusterObjectEntry(ConfigModel):
    """Objects each cluster makes for itself (never copied), by kind and name pattern."""

    kind: Str = Field(description="Kind of the objects, e.g. ConfigMap (any case).")
    name: Str = Field(description="Name, or a shell-style pattern (* and ?), e.g. my-mesh-ca-*.")
