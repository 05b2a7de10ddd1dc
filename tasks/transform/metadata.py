"""Metadata rules: strip what the source cluster's server wrote, keep what people wrote.

First family in the catalogue: every kind passes through it. Labels and annotations are kept byte for
byte, except ``kubectl.kubernetes.io/last-applied-configuration`` (it describes the source's history and
may hold Secret values in clear text).
"""

from __future__ import annotations

from drsyncer.objects import KubeObject
from tasks.transform.context import TransformContext
from tasks.transform.edits import Edit, RemoveField

SERVER_METADATA_FIELDS = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "selfLink",
    "managedFields",
    "ownerReferences",
    "finalizers",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def strip_server_metadata(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Drop the metadata the source's API server owns.

    Removes `uid`, `resourceVersion`, `generation`, `creationTimestamp`, `selfLink`, `managedFields`,
    `ownerReferences`, `finalizers`, `deletionTimestamp` and `deletionGracePeriodSeconds`. The DR
    server assigns its own; ownerReferences name source UIDs that do not exist in DR (objects with a
    controller owner are filtered out before this stage, except claims, which are synced without
    their owner). Applies to every kind.
    """
    metadata = obj.get("metadata") or {}
    return [
        RemoveField(("metadata", field), "set by the source API server")
        for field in SERVER_METADATA_FIELDS
        if field in metadata
    ]


def drop_last_applied_configuration(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Drop the `kubectl.kubernetes.io/last-applied-configuration` annotation.

    It records the source's `kubectl apply` history (for Secrets, in clear text). Every other
    annotation is kept byte for byte. Applies to every kind.
    """
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if LAST_APPLIED not in annotations:
        return []
    return [RemoveField(("metadata", "annotations", LAST_APPLIED), "kubectl history of the source")]


def drop_status(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Drop `status`.

    Status is written by controllers in each cluster; the DR copy gets its own. (DR-Syncer copied it
    and compared it, which rewrote every Deployment on every pass.) Applies to every kind.
    """
    return [RemoveField(("status",), "written by the cluster's controllers")] if "status" in obj else []
