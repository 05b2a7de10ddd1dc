"""The exact PV mount path shapes agents serve, and reading a mount table (pure, no I/O)."""

from __future__ import annotations

import os

import pytest

from agent.volume_dir import parse_mountinfo
from tasks.data.volume_paths import IN_TREE_PV_PLUGINS, VolumePathError, validate_volume_path

UID = "0f8b6c1e-3a2d-4c5b-9e7f-112233445566"


@pytest.mark.parametrize(
    "path",
    [
        f"{UID}/volumes/kubernetes.io~csi/pvc-1234/mount",
        f"{UID}/volumes/kubernetes.io~csi/pvc-1234/mount/",
        f"{UID}/volumes/kubernetes.io~local-volume/local-pv-1",
        "0123456789abcdef0123456789abcdef/volumes/kubernetes.io~csi/a.b-c/mount",
        *(f"{UID}/volumes/{plugin}/pv-1" for plugin in IN_TREE_PV_PLUGINS),
    ],
)
def test_pv_mount_paths_are_accepted(path: str) -> None:
    assert validate_volume_path(path) == path.rstrip("/")


@pytest.mark.parametrize(
    "path",
    [
        f"{UID}/volumes/kubernetes.io~secret/db-credentials",
        f"{UID}/volumes/kubernetes.io~projected/kube-api-access-x7k2p",
        f"{UID}/volumes/kubernetes.io~configmap/settings",
        f"{UID}/volumes/kubernetes.io~empty-dir/scratch",
        f"{UID}/volumes/kubernetes.io~downward-api/info",
        f"{UID}/volumes/kubernetes.io~csi/pvc-1/mount/sub",
        f"{UID}/volumes/kubernetes.io~csi/pvc-1",
        f"{UID}/volumes/kubernetes.io~csi/*/mount",
        f"{UID}/volumes/kubernetes.io~csi/pvc-[1]/mount",
        f"{UID}/volumes/kubernetes.io~csi/../mount",
        f"{UID}/volumes/kubernetes.io~csi/pvc-1/mount//",
        f"{UID}//volumes/kubernetes.io~csi/pvc-1/mount",
        f"./{UID}/volumes/kubernetes.io~csi/pvc-1/mount",
        f"/{UID}/volumes/kubernetes.io~csi/pvc-1/mount",
        f"{UID}/volumes/kubernetes.io~csi/pvc-1/mount\n",
        f"{UID}/volumes/kubernetes.io~csi/PVC-1/mount",
        f"{UID}/volumes/kubernetes.io~csi/{'a' * 254}/mount",
        f"{UID}/plugins/kubernetes.io~csi/pvc-1/mount",
        f"{UID}/volumes/kubernetes.io~local-volume/pv-1/mount",
        "pod-1/volumes/kubernetes.io~csi/pvc-1/mount",
        f"{UID}",
        "",
        "a" * 5000,
    ],
)
def test_everything_else_is_refused(path: str) -> None:
    with pytest.raises(VolumePathError, match="not a PersistentVolume mount path"):
        validate_volume_path(path)


def test_non_strings_are_refused() -> None:
    with pytest.raises(VolumePathError):
        validate_volume_path(["a"])


def test_mountinfo_lists_mount_points_with_their_devices_unescaped() -> None:
    text = (
        "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
        "731 22 0:52 / /var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/pv\\040a/mount rw - ext4 /dev/x rw\n"
        "garbage line\n"
    )

    mounts = parse_mountinfo(text)

    assert mounts == {
        "/": os.makedev(8, 1),
        "/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/pv a/mount": os.makedev(0, 52),
    }
