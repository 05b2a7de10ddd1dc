"""The DR cluster's StorageClass names, so the plan can fail a claim DR could never provision.

Listed once per sync, and only when the mapping syncs PersistentVolumeClaims. A cluster that does not
let us list StorageClasses (RBAC) is not checked: the plan then says nothing about classes, as before.
"""

from __future__ import annotations

from collections.abc import Iterable

from drsyncer.errors import ClusterError
from drsyncer.kube.client import KubeClient, object_path
from drsyncer.kube.discovery import ApiResource
from drsyncer.objects import object_name

CLAIMS = "persistentvolumeclaims"


def storage_class_names(client: KubeClient, resources: Iterable[ApiResource]) -> frozenset[str] | None:
    """The StorageClass names of ``client``'s cluster, or None when no claims are synced or listing fails."""
    if not any(resource.plural == CLAIMS and resource.group == "" for resource in resources):
        return None
    path = object_path(
        group="storage.k8s.io", version="v1", plural="storageclasses", namespace=None, name=None
    )
    try:
        items, _ = client.list(path)
    except ClusterError:
        return None
    return frozenset(object_name(item) for item in items)
