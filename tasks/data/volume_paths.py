"""The exact shapes of a PersistentVolume's path below the kubelet pods dir: the only paths agents serve.

The kubelet shows a volume that a pod mounts at ``<pods dir>/<pod uid>/volumes/<escaped plugin>/<name>``;
CSI volumes add a ``/mount`` level. Next to PersistentVolumes the same tree holds the pod's Secrets,
projected service-account tokens, ConfigMaps and emptyDirs (``kubernetes.io~secret``,
``kubernetes.io~projected``, ``kubernetes.io~configmap``, ``kubernetes.io~empty-dir`` ...), which an agent
must never read or write. So both agents (the pull key's gate on source nodes, the control program on DR
nodes) accept a path only when it is *exactly* one of these shapes:

* ``<pod uid>/volumes/kubernetes.io~csi/<pv name>/mount`` (CSI, and in-tree plugins migrated to CSI);
* ``<pod uid>/volumes/kubernetes.io~<plugin>/<pv name>`` for the in-tree plugins in
  :data:`IN_TREE_PV_PLUGINS`, whose only volumes are PersistentVolumes or network/block disks.

A pod uid is a UUID (or the 32-hex hash of a static pod), a PV name a DNS-1123 subdomain. No globs, no
``..``, no empty or ``.`` components, no trailing garbage: a string either matches a shape or is refused.
Whether the path is also a mount point without symlinks is checked on the node (``agent/volume_dir.py``).

Stdlib only: the agent image imports this module.
"""

from __future__ import annotations

import re

CSI_PLUGIN_DIR = "kubernetes.io~csi"
IN_TREE_PV_PLUGINS: tuple[str, ...] = (
    "kubernetes.io~local-volume",
    "kubernetes.io~nfs",
    "kubernetes.io~iscsi",
    "kubernetes.io~fc",
    "kubernetes.io~rbd",
    "kubernetes.io~cephfs",
    "kubernetes.io~aws-ebs",
    "kubernetes.io~gce-pd",
    "kubernetes.io~azure-disk",
    "kubernetes.io~azure-file",
    "kubernetes.io~cinder",
    "kubernetes.io~vsphere-volume",
    "kubernetes.io~portworx-volume",
)
"""In-tree volume plugins whose directories hold PersistentVolumes (no ``/mount`` level)."""

MAX_PV_NAME = 253
_POD_UID = r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})"
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_PV_NAME = rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*"
_PLUGINS = "|".join(re.escape(plugin) for plugin in IN_TREE_PV_PLUGINS)
_SHAPE = re.compile(
    rf"^(?P<uid>{_POD_UID})/volumes/"
    rf"(?:{re.escape(CSI_PLUGIN_DIR)}/(?P<csi>{_PV_NAME})/mount|(?P<plugin>{_PLUGINS})/(?P<pv>{_PV_NAME}))$"
)


class VolumePathError(ValueError):
    """A path is not the exact shape of a PersistentVolume mount below the kubelet pods dir."""


def validate_volume_path(path: object) -> str:
    """Return ``path`` (one trailing ``/`` dropped) if it is exactly a PV mount path shape, else raise.

    Raises:
        VolumePathError: naming the path (truncated) and the shapes accepted.
    """
    if not isinstance(path, str):
        raise VolumePathError("volume path must be a string")
    candidate = path[:-1] if path.endswith("/") else path
    match = _SHAPE.fullmatch(candidate) if len(candidate) <= 512 else None
    if match is None or len(match.group("csi") or match.group("pv") or "") > MAX_PV_NAME:
        shown = path if len(path) <= 120 else path[:117] + "..."
        raise VolumePathError(
            f"path {shown!r} is not a PersistentVolume mount path; agents serve only "
            f"'<pod uid>/volumes/{CSI_PLUGIN_DIR}/<pv>/mount' and '<pod uid>/volumes/<in-tree plugin>/<pv>'"
        )
    return candidate
