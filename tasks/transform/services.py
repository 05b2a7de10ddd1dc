"""Service rules: let the DR cluster allocate its own cluster IPs, keep everything people chose.

A source ClusterIP is an address in the source cluster's service range; the DR server allocates a new one.
Headless Services (``clusterIP: None``) stay headless — DR-Syncer's defect of turning them into normal
Services is not repeated. NodePorts are kept (a port taken in DR is reported per object at apply).
"""

from __future__ import annotations

from drsyncer.objects import KubeObject
from tasks.transform.context import TransformContext
from tasks.transform.edits import Edit, RemoveField

HEADLESS = "None"


def clear_cluster_ips(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Drop `spec.clusterIP` and `spec.clusterIPs` so the DR cluster allocates new ones.

    A headless Service keeps `clusterIP: None` (and `clusterIPs: [None]`). Applies to Services.
    """
    spec = obj.get("spec") or {}
    if spec.get("clusterIP") == HEADLESS:
        return []
    return [
        RemoveField(("spec", field), "allocated by the DR cluster")
        for field in ("clusterIP", "clusterIPs")
        if field in spec
    ]


def drop_health_check_node_port(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Drop `spec.healthCheckNodePort`; the DR cluster allocates one for `Local` traffic policy.

    Other node ports (`spec.ports[].nodePort`) are kept. Applies to Services.
    """
    if "healthCheckNodePort" not in (obj.get("spec") or {}):
        return []
    return [RemoveField(("spec", "healthCheckNodePort"), "allocated by the DR cluster")]
