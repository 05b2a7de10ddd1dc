"""Controller-written fields: what the source cluster's controllers wrote, the DR cluster's write afresh.

The Deployment controller keeps its own rollout count in ``deployment.kubernetes.io/revision`` (1 for a
new Deployment, +1 per pod-template change) and writes it back after every change; the API server's
DaemonSet strategy does the same with ``deprecated.daemonset.template.generation``. A copy carrying the
source's values would differ from DR's forever, and every re-sync would write it again. They are
dropped here; the planner also leaves to DR's controllers any other field they have taken over
(``tasks.plan.planner.yield_to_dr_controllers``).
"""

from __future__ import annotations

from drsyncer.objects import KubeObject
from tasks.transform.context import TransformContext
from tasks.transform.edits import Edit, RemoveField

CONTROLLER_ANNOTATIONS = (
    "deployment.kubernetes.io/revision",
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.daemonset.template.generation",
)
"""Annotations each cluster's workload controllers (or API server strategies) write for themselves."""


def drop_controller_annotations(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Drop the annotations the source cluster's workload controllers wrote.

    Removes `deployment.kubernetes.io/revision` (the Deployment controller's rollout count; DR's own
    controller starts at 1 and keeps its own count), `deployment.kubernetes.io/revision-history`,
    `desired-replicas`, `max-replicas` and `deprecated.daemonset.template.generation`. Neither copied
    nor compared, so a Deployment rolled out many times at the source is still unchanged on a no-op
    re-sync. More generally, the planner never compares or sends a field that a DR controller (any
    field manager other than dr-syncer's and kubectl's) has taken over, except `spec.replicas`,
    `spec.suspend` and dr-syncer's own annotations. Applies to Deployments, StatefulSets, DaemonSets
    and ReplicaSets.
    """
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return [
        RemoveField(("metadata", "annotations", key), "written by each cluster's own controller")
        for key in CONTROLLER_ANNOTATIONS
        if key in annotations
    ]
