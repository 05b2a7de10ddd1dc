"""Contract: a volume a pod uses is a *mount point* on its node, listed in the node's mount table.

Upstream behaviour reproduced: the kubelet's CSI volume plugin publishes each PersistentVolume a pod uses
at ``/var/lib/kubelet/pods/<pod uid>/volumes/kubernetes.io~csi/<pv>/mount`` (kubernetes
``pkg/volume/csi/csi_mounter.go``: ``SetUpAt`` -> ``NodePublishVolume`` with that target path, a bind
mount), and unmounts it (``TearDownAt``) before the pod's directory is removed. Such a target shows up in
``/proc/self/mountinfo`` of any process that sees the kubelet dir with ``HostToContainer`` propagation
(our agent). The sandbox records it in ``<node root>/mountinfo``; the agents refuse anything else.
"""

from __future__ import annotations

import os

from kubernetes import client

from agent.volume_dir import parse_mountinfo
from drsyncer.sandbox import FakeCluster
from drsyncer.sandbox.mount_table import mountinfo_path
from tests.sandbox.factories import eventually, pvc


def _pod_with_claim(name: str, claim: str) -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "spec": {
            "containers": [
                {"name": "c", "image": "busybox:1", "volumeMounts": [{"name": "d", "mountPath": "/d"}]}
            ],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}],
        },
    }


def _mounts(sandbox: FakeCluster, node: str) -> dict[str, int]:
    table = mountinfo_path(sandbox.kubelet.node(node).root_dir)
    return parse_mountinfo(table.read_text()) if table.exists() else {}


def test_a_used_volume_is_a_mount_point_until_its_pod_goes(
    core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    core.create_namespaced_persistent_volume_claim(ns, pvc("data"))
    core.create_namespaced_pod(ns, _pod_with_claim("p", "data"))
    pod = eventually(lambda: (p := core.read_namespaced_pod("p", ns)).status.phase == "Running" and p)
    volume = core.read_namespaced_persistent_volume_claim("data", ns).spec.volume_name
    root = sandbox.kubelet.node(pod.spec.node_name).root_dir
    mount = root / "pods" / pod.metadata.uid / "volumes" / "kubernetes.io~csi" / volume / "mount"

    assert _mounts(sandbox, pod.spec.node_name).get(str(mount)) == os.stat(mount).st_dev
    assert not any("kubernetes.io~secret" in point for point in _mounts(sandbox, pod.spec.node_name))

    core.delete_namespaced_pod("p", ns)
    eventually(lambda: str(mount) not in _mounts(sandbox, pod.spec.node_name))
