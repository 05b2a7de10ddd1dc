"""Simulated provisioner, kubelet and workload controllers (sandbox-only helpers)."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client

from drsyncer.sandbox import SANDBOX_PROVISIONER, FakeCluster
from tests.sandbox.factories import deployment, eventually, pvc, statefulset


def _pod_with_claim(name: str, claim: str, **spec: object) -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "spec": {
            "containers": [
                {"name": "c", "image": "busybox:1", "volumeMounts": [{"name": "d", "mountPath": "/d"}]}
            ],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}],
            **spec,
        },
    }


def test_nodes_have_addresses_and_root_dirs(core: client.CoreV1Api, sandbox: FakeCluster) -> None:
    node = core.read_node(sandbox.nodes[0].name)
    types = {a.type for a in node.status.addresses}
    assert {"InternalIP", "ExternalIP", "Hostname"} <= types
    assert node.metadata.labels["kubernetes.io/hostname"] == sandbox.nodes[0].name


def test_provisioner_binds_claim_to_csi_volume(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    core.create_namespaced_persistent_volume_claim(ns, pvc("data"))
    claim = eventually(
        lambda: (c := core.read_namespaced_persistent_volume_claim("data", ns)).status.phase == "Bound" and c
    )
    volume = core.read_persistent_volume(claim.spec.volume_name)
    assert volume.spec.csi.driver == SANDBOX_PROVISIONER
    assert volume.spec.csi.volume_handle
    assert volume.spec.claim_ref.name == "data"
    assert volume.spec.claim_ref.uid == claim.metadata.uid
    assert volume.status.phase == "Bound"
    assert sandbox.kubelet.volume_dir(volume.metadata.name).is_dir()


def test_claim_of_unknown_class_stays_pending(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    core.create_namespaced_persistent_volume_claim(ns, pvc("data", storageClassName="nope"))
    sandbox.settle()
    assert core.read_namespaced_persistent_volume_claim("data", ns).status.phase == "Pending"


def test_test_registered_class_is_provisioned(
    core: client.CoreV1Api, ns: str, sandbox: FakeCluster, api: client.ApiClient
) -> None:
    name = f"fast-{ns}"
    client.StorageV1Api(api).create_storage_class(
        {"metadata": {"name": name}, "provisioner": "fast.example.com", "reclaimPolicy": "Retain"}
    )
    core.create_namespaced_persistent_volume_claim(ns, pvc("data", storageClassName=name))
    claim = eventually(
        lambda: (c := core.read_namespaced_persistent_volume_claim("data", ns)).status.phase == "Bound" and c
    )
    assert core.read_persistent_volume(claim.spec.volume_name).spec.csi.driver == "fast.example.com"
    client.StorageV1Api(api).delete_storage_class(name)


def test_pod_runs_and_mounts_claim(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    core.create_namespaced_persistent_volume_claim(ns, pvc("data"))
    core.create_namespaced_pod(ns, _pod_with_claim("p", "data"))
    pod = eventually(lambda: (p := core.read_namespaced_pod("p", ns)).status.phase == "Running" and p)
    assert pod.spec.node_name in {n.name for n in sandbox.nodes}
    assert pod.status.pod_ip
    volume_name = core.read_namespaced_persistent_volume_claim("data", ns).spec.volume_name
    mount = sandbox.kubelet.pod_volume_path(
        sandbox.api.get(sandbox.registry.by_key(("", "pods")), ns, "p"), volume_name
    )
    assert mount.is_dir()
    (mount / "hello.txt").write_text("hi")
    assert (sandbox.kubelet.volume_dir(volume_name) / "hello.txt").read_text() == "hi"
    node_root = sandbox.kubelet.node(pod.spec.node_name).root_dir
    assert (
        mount
        == node_root / "pods" / pod.metadata.uid / "volumes" / "kubernetes.io~csi" / volume_name / "mount"
    )


def test_pod_directory_removed_when_pod_goes(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    core.create_namespaced_persistent_volume_claim(ns, pvc("data"))
    core.create_namespaced_pod(ns, _pod_with_claim("p", "data"))
    pod = eventually(lambda: (p := core.read_namespaced_pod("p", ns)).status.phase == "Running" and p)
    pod_dir: Path = sandbox.kubelet.node(pod.spec.node_name).root_dir / "pods" / pod.metadata.uid
    assert pod_dir.exists()
    core.delete_namespaced_pod("p", ns)
    eventually(lambda: not pod_dir.exists())


def test_pod_pinned_by_node_name(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    target = sandbox.nodes[1].name
    core.create_namespaced_pod(
        ns,
        {
            "metadata": {"name": "p"},
            "spec": {"nodeName": target, "containers": [{"name": "c", "image": "x:1"}]},
        },
    )
    pod = eventually(lambda: (p := core.read_namespaced_pod("p", ns)).status.phase == "Running" and p)
    assert pod.spec.node_name == target


def test_pod_pinned_by_node_selector(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    target = sandbox.nodes[1].name
    spec = {"nodeSelector": {"kubernetes.io/hostname": target}, "containers": [{"name": "c", "image": "x:1"}]}
    core.create_namespaced_pod(ns, {"metadata": {"name": "p"}, "spec": spec})
    pod = eventually(lambda: (p := core.read_namespaced_pod("p", ns)).status.phase == "Running" and p)
    assert pod.spec.node_name == target


def test_deployment_gets_ready_replicas(
    apps: client.AppsV1Api, core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    apps.create_namespaced_deployment(ns, deployment("web", replicas=3))
    eventually(lambda: apps.read_namespaced_deployment("web", ns).status.ready_replicas == 3)
    pods = core.list_namespaced_pod(ns, label_selector="app=web").items
    assert len(pods) == 3
    owner = pods[0].metadata.owner_references[0]
    assert owner.kind == "ReplicaSet"
    assert apps.read_namespaced_replica_set(owner.name, ns).metadata.owner_references[0].name == "web"


def test_scale_to_zero_removes_pods(
    apps: client.AppsV1Api, core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    apps.create_namespaced_deployment(ns, deployment("web", replicas=2))
    eventually(lambda: apps.read_namespaced_deployment("web", ns).status.ready_replicas == 2)
    apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 0}})
    eventually(lambda: not core.list_namespaced_pod(ns, label_selector="app=web").items)
    eventually(lambda: not apps.read_namespaced_deployment("web", ns).status.ready_replicas)


def test_statefulset_pods_and_claims(
    apps: client.AppsV1Api, core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    apps.create_namespaced_stateful_set(ns, statefulset("db", replicas=2, claims=True))
    eventually(lambda: apps.read_namespaced_stateful_set("db", ns).status.ready_replicas == 2)
    assert {p.metadata.name for p in core.list_namespaced_pod(ns).items} == {"db-0", "db-1"}
    claims = {c.metadata.name: c.status.phase for c in core.list_namespaced_persistent_volume_claim(ns).items}
    assert claims == {"data-db-0": "Bound", "data-db-1": "Bound"}


def test_deleting_deployment_collects_pods(
    apps: client.AppsV1Api, core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    apps.create_namespaced_deployment(ns, deployment("web", replicas=1))
    eventually(lambda: core.list_namespaced_pod(ns).items)
    apps.delete_namespaced_deployment("web", ns)
    eventually(
        lambda: not core.list_namespaced_pod(ns).items and not apps.list_namespaced_replica_set(ns).items
    )


def test_daemonset_one_pod_per_node(
    apps: client.AppsV1Api, core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    body = deployment("agent")
    body["kind"] = "DaemonSet"
    del body["spec"]["replicas"]
    apps.create_namespaced_daemon_set(ns, body)
    eventually(lambda: apps.read_namespaced_daemon_set("agent", ns).status.number_ready == len(sandbox.nodes))
    assert {p.spec.node_name for p in core.list_namespaced_pod(ns).items} == {n.name for n in sandbox.nodes}


def test_deleting_claim_deletes_volume_and_directory(
    core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    core.create_namespaced_persistent_volume_claim(ns, pvc("data"))
    claim = eventually(
        lambda: (c := core.read_namespaced_persistent_volume_claim("data", ns)).status.phase == "Bound" and c
    )
    directory = sandbox.kubelet.volume_dir(claim.spec.volume_name)
    core.delete_namespaced_persistent_volume_claim("data", ns)
    eventually(lambda: not directory.exists())


def test_service_gets_endpoints_of_running_pods(
    apps: client.AppsV1Api, core: client.CoreV1Api, api: client.ApiClient, ns: str, sandbox: FakeCluster
) -> None:
    apps.create_namespaced_deployment(ns, deployment("web", replicas=2))
    core.create_namespaced_service(
        ns, {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    )

    def addresses() -> int:  # the controller creates Endpoints asynchronously, as on a real cluster
        found = core.list_namespaced_endpoints(ns, field_selector="metadata.name=web").items
        subsets = (found[0].subsets if found else None) or []
        return sum(len(s.addresses or []) for s in subsets)

    eventually(lambda: addresses() == 2)
    slices = client.DiscoveryV1Api(api).list_namespaced_endpoint_slice(
        ns, label_selector="kubernetes.io/service-name=web"
    )
    assert len(slices.items) == 1
    assert slices.items[0].metadata.owner_references[0].kind == "Service"
    core.delete_namespaced_service("web", ns)
    eventually(lambda: not core.list_namespaced_endpoints(ns).items)
