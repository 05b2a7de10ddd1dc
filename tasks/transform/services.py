"""Service rules: let the DR cluster allocate its own cluster IPs, keep everything people chose.

A source ClusterIP is an address in the source cluster's service range; the DR server allocates a new one.
Headless Services (``clusterIP: None``) stay headless — DR-Syncer's defect of turning them into normal
Services is not repeated. A nodePort is kept only when a user chose it (the source's managedFields or
kubectl's last-applied configuration name it); one the source cluster allocated is dropped, so DR
allocates its own instead of colliding (a user-chosen port taken in DR fails that Service alone, at
apply). ``serviceConfig.loadBalancer: ClusterIP`` turns LoadBalancer Services into ClusterIP ones.
"""

from __future__ import annotations

import json
from typing import Any

from drsyncer.objects import KubeObject
from tasks.plan.managed_fields import ListKey, fields_v1_paths
from tasks.transform.context import LOAD_BALANCER_CLUSTER_IP, TransformContext
from tasks.transform.edits import Edit, RemoveField, SetField

ALLOCATOR_MANAGERS = frozenset({"kube-apiserver", "service-allocator", "nodeport-allocator"})
"""Field managers that stand for the API server's own allocation (a real server records none)."""
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
LOAD_BALANCER_ONLY_FIELDS = (
    "loadBalancerIP",
    "loadBalancerSourceRanges",
    "loadBalancerClass",
    "allocateLoadBalancerNodePorts",
    "externalTrafficPolicy",
    "healthCheckNodePort",
)

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

    Node ports (`spec.ports[].nodePort`) follow `drop_allocated_node_ports`. Applies to Services.
    """
    if "healthCheckNodePort" not in (obj.get("spec") or {}):
        return []
    return [RemoveField(("spec", "healthCheckNodePort"), "allocated by the DR cluster")]


def _port_key(port: dict[str, Any]) -> tuple[Any, str]:
    return port.get("port"), str(port.get("protocol") or "TCP")


def _managed_node_ports(obj: KubeObject) -> set[tuple[Any, str]]:
    """Ports whose nodePort a manager other than the allocator owns in the source's managedFields."""
    chosen: set[tuple[Any, str]] = set()
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") in ALLOCATOR_MANAGERS:
            continue
        for path in fields_v1_paths(entry.get("fieldsV1") or {}):
            if len(path) == 4 and path[:2] == ("spec", "ports") and path[3] == "nodePort":
                step = path[2]
                if isinstance(step, ListKey):
                    fields = dict(step.fields)
                    chosen.add((fields.get("port"), str(fields.get("protocol") or "TCP")))
    return chosen


def _last_applied_node_ports(obj: KubeObject) -> set[tuple[Any, str]]:
    """Ports whose nodePort ``kubectl apply``'s last-applied configuration names."""
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    try:
        applied = json.loads(text) if text else {}
    except ValueError:
        return set()
    ports = ((applied or {}).get("spec") or {}).get("ports") if isinstance(applied, dict) else None
    return {_port_key(port) for port in ports or [] if isinstance(port, dict) and port.get("nodePort")}


def drop_allocated_node_ports(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Keep a `spec.ports[].nodePort` only when a user chose it; drop the ones the source allocated.

    A nodePort is user-chosen when the source's `managedFields` show it owned by a manager other than
    the API server's allocator (a real server records no owner for the ports it allocates), or when
    `kubectl.kubernetes.io/last-applied-configuration` names it. Other nodePorts were allocated by
    the source cluster: pinning them in DR would collide with DR's own allocations, so they are
    dropped and DR allocates its own. A user-chosen port already taken in DR fails that Service
    alone, with an error naming the port; the rest of the sync goes on. Runs before the metadata
    rules (it reads the source's managedFields). Applies to Services.
    """
    ports = (obj.get("spec") or {}).get("ports") or []
    if not any(isinstance(port, dict) and port.get("nodePort") for port in ports):
        return []
    chosen = _managed_node_ports(obj) | _last_applied_node_ports(obj)
    return [
        RemoveField(("spec", "ports", index, "nodePort"), "allocated by the source cluster")
        for index, port in enumerate(ports)
        if isinstance(port, dict) and port.get("nodePort") and _port_key(port) not in chosen
    ]


def convert_load_balancers(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """With `serviceConfig.loadBalancer: ClusterIP`, a LoadBalancer Service lands as `ClusterIP` in DR.

    For DR sites that should not hold cloud load balancers (and their addresses) while on standby.
    Sets `spec.type: ClusterIP` and drops the node ports and `loadBalancerIP`,
    `loadBalancerSourceRanges`, `loadBalancerClass`, `allocateLoadBalancerNodePorts`,
    `externalTrafficPolicy` and `healthCheckNodePort`. With `Keep` (the default) LoadBalancer
    Services are copied as they are. Applies to Services.
    """
    spec = obj.get("spec") or {}
    if ctx.load_balancer != LOAD_BALANCER_CLUSTER_IP or spec.get("type") != "LoadBalancer":
        return []
    edits: list[Edit] = [SetField(("spec", "type"), "ClusterIP", "serviceConfig.loadBalancer: ClusterIP")]
    edits.extend(
        RemoveField(("spec", field), "only meaningful for a LoadBalancer")
        for field in LOAD_BALANCER_ONLY_FIELDS
        if field in spec
    )
    edits.extend(
        RemoveField(("spec", "ports", index, "nodePort"), "a ClusterIP Service has no node port")
        for index, port in enumerate(spec.get("ports") or [])
        if isinstance(port, dict) and "nodePort" in port
    )
    return edits
