"""Where each workload kind keeps its pod spec.

Rules that look inside pods (env values, node selectors) use ``pod_spec_path`` so they work the same for
Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs.
"""

from __future__ import annotations

from drsyncer.objects import KubeObject
from tasks.field_paths import FieldPath

_TEMPLATE_SPEC: FieldPath = ("spec", "template", "spec")
POD_SPEC_PATHS: dict[str, FieldPath] = {
    "Pod": ("spec",),
    "Deployment": _TEMPLATE_SPEC,
    "StatefulSet": _TEMPLATE_SPEC,
    "DaemonSet": _TEMPLATE_SPEC,
    "ReplicaSet": _TEMPLATE_SPEC,
    "ReplicationController": _TEMPLATE_SPEC,
    "Job": _TEMPLATE_SPEC,
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def pod_spec_path(obj: KubeObject) -> FieldPath | None:
    """Return the path of the pod spec inside ``obj``, or None for kinds without one."""
    return POD_SPEC_PATHS.get(str(obj.get("kind", "")))
