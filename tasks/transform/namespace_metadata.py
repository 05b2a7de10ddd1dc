"""Namespace metadata: the source namespace's labels and annotations, minus the cluster-specific ones.

The DR namespace carries the source namespace's labels and annotations (``namespaceConfig.preserveLabels``
/ ``preserveAnnotations``), except keys each cluster writes for itself: the API server's
``kubernetes.io/metadata.name``, OpenShift's per-namespace UID and SELinux ranges (``openshift.io/sa.scc.*``)
and requester, Rancher's project binding. ``namespaceConfig.excludeMetadata`` adds patterns to the list.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from drsyncer.objects import KubeObject
from tasks.transform.context import TransformContext
from tasks.transform.edits import Edit, RemoveField

CLUSTER_SPECIFIC_NAMESPACE_KEYS: tuple[str, ...] = (
    "kubernetes.io/metadata.name",
    "openshift.io/sa.scc.*",
    "openshift.io/requester",
    "field.cattle.io/projectId",
    "cattle.io/status",
    "lifecycle.cattle.io/*",
    "kubectl.kubernetes.io/last-applied-configuration",
)
"""Label and annotation keys (shell-style patterns) never copied to the DR namespace."""


def is_cluster_specific(key: str, extra: tuple[str, ...] = ()) -> bool:
    """True when a namespace label or annotation ``key`` is written by each cluster for itself."""
    return any(fnmatchcase(key, pattern) for pattern in (*CLUSTER_SPECIFIC_NAMESPACE_KEYS, *extra))


def drop_cluster_specific_namespace_metadata(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Copy the namespace's labels and annotations except the cluster-specific ones.

    Never copied: `kubernetes.io/metadata.name` (the DR API server sets it), `openshift.io/sa.scc.*`
    (OpenShift's per-cluster UID, supplemental-group and SELinux ranges), `openshift.io/requester`,
    Rancher's `field.cattle.io/projectId`, `cattle.io/status` and `lifecycle.cattle.io/*`, and
    kubectl's last-applied configuration. `namespaceConfig.excludeMetadata` adds key patterns; with
    `preserveLabels` / `preserveAnnotations` false none are copied. Applies to the Namespace.
    """
    metadata = obj.get("metadata") or {}
    return [
        RemoveField(("metadata", field, key), "written by each cluster for itself")
        for field in ("labels", "annotations")
        for key in metadata.get(field) or {}
        if is_cluster_specific(key, ctx.namespace_metadata_excludes)
    ]
