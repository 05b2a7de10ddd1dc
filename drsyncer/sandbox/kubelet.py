"""Simulated node-side and workload controllers: provisioner, kubelet, Deployment/StatefulSet/DaemonSet.

Explicit by default (``cluster.kubelet.settle()`` — or ``cluster.settle()`` — runs every controller
until nothing changes), or in the background (``FakeCluster(..., background=True)`` or
``cluster.set_background(True)``), reacting to each change like a real cluster.

- **Provisioner**: a Pending PVC whose StorageClass exists (any provisioner but
  ``kubernetes.io/no-provisioner``) gets a new PV ``pvc-<claim uid>`` with a CSI-like spec
  (``csi.driver`` = the class's provisioner, ``csi.volumeHandle``), ``claimRef``, node affinity to the
  node holding its data, and a backing directory ``<node root>/volumes/<pv>``. ``WaitForFirstConsumer``
  classes wait for a pod. Deleting the claim deletes (policy Delete, directory included) or releases
  (Retain) the PV.
- **Kubelet**: a pod is placed on ``spec.nodeName``, else a node matching its nodeSelector / required
  node affinity / bound PVs, else the next node round-robin; once its claims are bound it becomes
  Running and Ready, and each mounted PVC appears at
  ``<node root>/pods/<pod uid>/volumes/kubernetes.io~csi/<pv>/mount`` as a real directory (the PV's
  data directory is moved there while mounted and ``<node root>/volumes/<pv>`` becomes a symlink to
  it; a second pod mounting the same volume gets a symlink to the first pod's mount). When the pod goes,
  the data moves back (or to the next pod mounting it) before the pod's directory is removed.
- **Workloads**: Deployment → ReplicaSet (``<name>-<template hash>``) → pods; StatefulSet →
  ``<name>-<ordinal>`` pods with claims from volumeClaimTemplates; DaemonSet → one pod per matching
  node. Scaling to 0 removes pods; statuses (replicas, readyReplicas, ...) follow.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox import mount_table
from drsyncer.sandbox.api import Api, now
from drsyncer.sandbox.resources import ResourceType
from drsyncer.sandbox.selectors import selector_matches
from drsyncer.sandbox.status import ApiError

SANDBOX_PROVISIONER = "sandbox.csi.dr-syncer.io"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
CSI_DIR = "kubernetes.io~csi"


@dataclass(frozen=True)
class NodeSpec:
    """One simulated node: its name, kubelet root directory and addresses."""

    name: str
    root_dir: Path
    internal_ip: str = ""
    external_ip: str = ""
    labels: dict[str, str] = field(default_factory=dict)


def node_object(node: NodeSpec, cluster_index: int) -> KubeObject:
    """The Node object a kubelet registers for ``node``."""
    addresses = []
    if node.internal_ip:
        addresses.append({"type": "InternalIP", "address": node.internal_ip})
    if node.external_ip:
        addresses.append({"type": "ExternalIP", "address": node.external_ip})
    addresses.append({"type": "Hostname", "address": node.name})
    stamp = now()
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": {
                "kubernetes.io/hostname": node.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": "amd64",
                **node.labels,
            },
            "annotations": {"sandbox.dr-syncer.io/root-dir": str(node.root_dir)},
        },
        "spec": {"podCIDR": f"10.244.{cluster_index % 250}.0/24"},
        "status": {
            "addresses": addresses,
            "capacity": {"cpu": "2", "memory": "8Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "allocatable": {"cpu": "2", "memory": "8Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": stamp,
                    "lastTransitionTime": stamp,
                }
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.31.0-sandbox",
                "kubeProxyVersion": "v1.31.0-sandbox",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "containerRuntimeVersion": "containerd://1.7.0",
                "kernelVersion": "6.1.0",
                "osImage": "Sandbox Linux",
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
            },
        },
    }


def template_hash(template: Any) -> str:
    """A stable pod-template-hash (10 characters from the Kubernetes alphabet)."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:10])


def _suffix(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:5])


def _owner(obj: KubeObject) -> dict[str, Any]:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _owned_by(obj: KubeObject, owner: KubeObject) -> bool:
    return any(
        r.get("uid") == owner["metadata"]["uid"] and r.get("controller")
        for r in obj["metadata"].get("ownerReferences") or []
    )


def _deleting(obj: KubeObject) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


class Kubelet:
    """Provisioner, kubelet and workload controllers of one cluster."""

    def __init__(self, api: Api, nodes: list[NodeSpec], *, cluster_index: int = 0) -> None:
        self.api = api
        self.nodes = nodes
        self.cluster_index = cluster_index
        self._next_node = 0
        self._pod_ip = 10
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.controllers: list[Callable[[], None]] = []
        """Real-controller passes (wired by cluster.py: jobs, hpa, ...), run first in each round."""

    def _type(self, group: str, plural: str) -> ResourceType:
        resource = self.api.registry.by_key((group, plural))
        assert resource is not None
        return resource

    # ------------------------------------------------------------ paths

    def node(self, name: str) -> NodeSpec:
        """The node called ``name``."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def volume_dir(self, pv_name: str) -> Path:
        """The backing directory of a PV provisioned here."""
        pv = self.api.store.get(("", "persistentvolumes"), "", pv_name)
        node_name = (pv or {}).get("metadata", {}).get("annotations", {}).get("sandbox.dr-syncer.io/node")
        node = self.node(node_name) if node_name else self.nodes[0]
        return node.root_dir / "volumes" / pv_name

    def pod_volume_path(self, pod: KubeObject, pv_name: str) -> Path:
        """Where the kubelet mounts ``pv_name`` for ``pod``."""
        node = self.node(pod["spec"]["nodeName"])
        uid = str(pod["metadata"]["uid"])
        return node.root_dir / "pods" / uid / "volumes" / CSI_DIR / pv_name / "mount"

    # ------------------------------------------------------------ running

    def settle(self, rounds: int = 30) -> None:
        """Run every controller until nothing changes."""
        with self._lock:
            for _ in range(rounds):
                before = self.api.store.resource_version
                self._round()
                if self.api.store.resource_version == before:
                    return

    def _round(self) -> None:
        for step in (
            *self.controllers,
            self._deployments,
            self._replicasets,
            self._statefulsets,
            self._daemonsets,
            self._provision,
            self._reclaim,
            self._pods,
            self._workload_status,
        ):
            try:
                step()
            except ApiError:
                continue  # a concurrent write won; the next round retries

    def start_background(self, interval: float = 0.05) -> None:
        """React to every change from a daemon thread until ``stop_background()``."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            seen = -1
            while not self._stop.is_set():
                if self.api.store.resource_version != seen:
                    self.settle()
                    seen = self.api.store.resource_version
                self.api.store.wait(interval)

        self._thread = threading.Thread(target=loop, name="sandbox-kubelet", daemon=True)
        self._thread.start()

    def stop_background(self) -> None:
        """Stop the background thread (if running) and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def reset(self) -> None:
        """Forget per-test state and remove every pod and volume directory under the node roots."""
        with self._lock:
            self._next_node = 0
            for node in self.nodes:
                for sub in ("pods", "volumes"):
                    shutil.rmtree(node.root_dir / sub, ignore_errors=True)

    # ------------------------------------------------------------ provisioner

    def _provision(self) -> None:
        store = self.api.store
        classes = {c["metadata"]["name"]: c for c in store.list(("storage.k8s.io", "storageclasses"))}
        for claim in store.list(("", "persistentvolumeclaims")):
            if _deleting(claim) or claim.get("status", {}).get("phase") == "Bound":
                continue
            spec = claim.get("spec", {})
            if spec.get("volumeName"):
                self._bind_static(claim)
                continue
            storage_class = classes.get(spec.get("storageClassName") or "")
            if storage_class is None or storage_class.get("provisioner") == NO_PROVISIONER:
                continue
            annotations = claim["metadata"].get("annotations") or {}
            selected = annotations.get("volume.kubernetes.io/selected-node")
            if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer" and not selected:
                continue
            self._provision_claim(claim, storage_class, selected or self.nodes[0].name)

    def provision(self, claim: KubeObject) -> KubeObject:
        """Bind one claim now (explicit helper); returns its PV."""
        self.settle()
        stored = self.api.store.get(
            ("", "persistentvolumeclaims"), claim["metadata"]["namespace"], claim["metadata"]["name"]
        )
        pv_name = (stored or {}).get("spec", {}).get("volumeName", "")
        pv = self.api.store.get(("", "persistentvolumes"), "", pv_name)
        if pv is None:
            raise LookupError(f"claim {claim['metadata']['name']} was not provisioned")
        return pv

    def _provision_claim(self, claim: KubeObject, storage_class: KubeObject, node_name: str) -> None:
        name = f"pvc-{claim['metadata']['uid']}"
        provisioner = storage_class["provisioner"]
        storage = claim["spec"].get("resources", {}).get("requests", {}).get("storage", "1Gi")
        node = self.node(node_name)
        directory = node.root_dir / "volumes" / name
        directory.mkdir(parents=True, exist_ok=True)
        pv: KubeObject = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {
                "name": name,
                "annotations": {
                    "pv.kubernetes.io/provisioned-by": provisioner,
                    "volume.kubernetes.io/provisioner-deletion-secret-name": "",
                    "volume.kubernetes.io/provisioner-deletion-secret-namespace": "",
                    "sandbox.dr-syncer.io/node": node.name,
                    "sandbox.dr-syncer.io/path": str(directory),
                },
            },
            "spec": {
                "accessModes": claim["spec"].get("accessModes", ["ReadWriteOnce"]),
                "capacity": {"storage": storage},
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "name": claim["metadata"]["name"],
                    "namespace": claim["metadata"]["namespace"],
                    "uid": claim["metadata"]["uid"],
                    "resourceVersion": claim["metadata"]["resourceVersion"],
                },
                "csi": {
                    "driver": provisioner,
                    "volumeHandle": f"{node.name}/{name}",
                    "fsType": "ext4",
                    "volumeAttributes": {
                        "storage.kubernetes.io/csiProvisionerIdentity": f"sandbox-{node.name}"
                    },
                },
                "nodeAffinity": {
                    "required": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [node.name]}
                                ]
                            }
                        ]
                    }
                },
                "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy", "Delete"),
                "storageClassName": storage_class["metadata"]["name"],
                "volumeMode": claim["spec"].get("volumeMode", "Filesystem"),
            },
        }
        if self.api.store.get(("", "persistentvolumes"), "", name) is None:
            created = self.api.create_internal(
                self._type("", "persistentvolumes"), pv, manager="csi-provisioner"
            )
            bound_pv = copy.deepcopy(created)
            bound_pv["status"] = {"phase": "Bound", "lastPhaseTransitionTime": now()}
            self.api.update_internal(self._type("", "persistentvolumes"), bound_pv)
        self._mark_bound(claim, name, storage, provisioner)

    def _mark_bound(self, claim: KubeObject, pv_name: str, storage: str, provisioner: str) -> None:
        bound = copy.deepcopy(claim)
        annotations = bound["metadata"].setdefault("annotations", {})
        annotations.update(
            {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes"}
        )
        if provisioner:
            annotations["volume.beta.kubernetes.io/storage-provisioner"] = provisioner
            annotations["volume.kubernetes.io/storage-provisioner"] = provisioner
        bound["spec"]["volumeName"] = pv_name
        bound["status"] = {
            "phase": "Bound",
            "accessModes": claim["spec"].get("accessModes", ["ReadWriteOnce"]),
            "capacity": {"storage": storage},
        }
        self.api.update_internal(
            self._type("", "persistentvolumeclaims"), bound, manager="kube-controller-manager"
        )

    def _bind_static(self, claim: KubeObject) -> None:
        pv = self.api.store.get(("", "persistentvolumes"), "", claim["spec"]["volumeName"])
        if pv is None or pv.get("status", {}).get("phase") not in ("Available", "Pending", None):
            return
        updated = copy.deepcopy(pv)
        updated["spec"]["claimRef"] = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "name": claim["metadata"]["name"],
            "namespace": claim["metadata"]["namespace"],
            "uid": claim["metadata"]["uid"],
        }
        updated["status"] = {"phase": "Bound"}
        self.api.update_internal(self._type("", "persistentvolumes"), updated)
        storage = pv["spec"].get("capacity", {}).get("storage", "")
        self._mark_bound(claim, pv["metadata"]["name"], storage, "")

    def _reclaim(self) -> None:
        store = self.api.store
        pv_type = self._type("", "persistentvolumes")
        for pv in store.list(("", "persistentvolumes")):
            reference = pv.get("spec", {}).get("claimRef")
            if not reference or _deleting(pv) or pv.get("status", {}).get("phase") != "Bound":
                continue
            claim = store.get(
                ("", "persistentvolumeclaims"), reference.get("namespace", ""), reference["name"]
            )
            if claim is not None and claim["metadata"]["uid"] == reference.get(
                "uid", claim["metadata"]["uid"]
            ):
                continue
            if pv["spec"].get("persistentVolumeReclaimPolicy") == "Delete":
                self.api.delete_internal(pv_type, pv)
                path = (pv["metadata"].get("annotations") or {}).get("sandbox.dr-syncer.io/path")
                if path:
                    home = Path(path)
                    if home.is_symlink():
                        shutil.rmtree(os.readlink(home), ignore_errors=True)
                        home.unlink()
                    shutil.rmtree(home, ignore_errors=True)
            else:
                released = copy.deepcopy(pv)
                released["status"] = {"phase": "Released"}
                self.api.update_internal(pv_type, released)

    # ------------------------------------------------------------ kubelet

    def _choose_node(self, pod: KubeObject) -> NodeSpec | None:
        spec = pod["spec"]
        store = self.api.store
        candidates = []
        for node in self.nodes:
            node_obj = store.get(("", "nodes"), "", node.name)
            labels = (node_obj or {}).get("metadata", {}).get("labels") or {}
            if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
                continue
            terms = (
                spec.get("affinity", {})
                .get("nodeAffinity", {})
                .get("requiredDuringSchedulingIgnoredDuringExecution", {})
                .get("nodeSelectorTerms")
            )
            if terms and not any(_term_matches(t, labels, node.name) for t in terms):
                continue
            candidates.append(node)
        for volume in spec.get("volumes") or []:
            claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            claim = store.get(("", "persistentvolumeclaims"), pod["metadata"]["namespace"], claim_name or "")
            pv = store.get(("", "persistentvolumes"), "", (claim or {}).get("spec", {}).get("volumeName", ""))
            pinned = ((pv or {}).get("metadata", {}).get("annotations") or {}).get(
                "sandbox.dr-syncer.io/node"
            )
            if pinned:
                candidates = [n for n in candidates if n.name == pinned]
        if not candidates:
            return None
        chosen = candidates[self._next_node % len(candidates)]
        self._next_node += 1
        return chosen

    def _pods(self) -> None:
        store = self.api.store
        pod_type = self._type("", "pods")
        live: set[str] = set()
        for pod in store.list(("", "pods")):
            live.add(pod["metadata"]["uid"])
            if _deleting(pod):
                continue
            if pod.get("status", {}).get("phase") == "Pending":
                self._start_pod(pod_type, pod)
        for node in self.nodes:
            pods_dir = node.root_dir / "pods"
            if pods_dir.is_dir():
                for entry in pods_dir.iterdir():
                    if entry.name not in live:
                        self._unmount_all(entry)
                        shutil.rmtree(entry, ignore_errors=True)

    def _start_pod(self, pod_type: ResourceType, pod: KubeObject) -> None:
        store = self.api.store
        node_name = pod["spec"].get("nodeName")
        node = self.node(node_name) if node_name and any(n.name == node_name for n in self.nodes) else None
        if node is None and not node_name:
            node = self._choose_node(pod)
        if node is None:
            return
        mounts: list[tuple[str, Path]] = []
        for volume in pod["spec"].get("volumes") or []:
            claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim_name:
                continue
            claim = store.get(("", "persistentvolumeclaims"), pod["metadata"]["namespace"], claim_name)
            if claim is None:
                return
            if claim.get("status", {}).get("phase") != "Bound":
                annotations = claim["metadata"].get("annotations") or {}
                if "volume.kubernetes.io/selected-node" not in annotations:
                    selected = copy.deepcopy(claim)
                    selected["metadata"].setdefault("annotations", {})[
                        "volume.kubernetes.io/selected-node"
                    ] = node.name
                    self.api.update_internal(self._type("", "persistentvolumeclaims"), selected)
                return
            pv_name = claim["spec"]["volumeName"]
            mounts.append((pv_name, self.volume_dir(pv_name)))
        running = copy.deepcopy(pod)
        running["spec"]["nodeName"] = node.name
        for pv_name, home in mounts:
            target = node.root_dir / "pods" / pod["metadata"]["uid"] / "volumes" / CSI_DIR / pv_name / "mount"
            self._mount(home, target)
            if not target.is_symlink():
                mount_table.record_mount(node.root_dir, target)
        stamp = now()
        self._pod_ip += 1
        pod_ip = f"10.244.{self.cluster_index % 250}.{self._pod_ip % 250 + 2}"
        node_obj = store.get(("", "nodes"), "", node.name) or {}
        host_ip = next(
            (
                a["address"]
                for a in node_obj.get("status", {}).get("addresses", [])
                if a["type"] == "InternalIP"
            ),
            "",
        )
        conditions = [
            {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}
            for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
        ]
        running["status"] = {
            "phase": "Running",
            "conditions": conditions,
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}] if host_ip else [],
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": stamp,
            "qosClass": "BestEffort",
            "containerStatuses": [
                {
                    "name": c["name"],
                    "image": c.get("image", ""),
                    "imageID": f"{c.get('image', '')}@sha256:{'0' * 64}",
                    "containerID": f"containerd://{_suffix(pod['metadata']['uid'] + c['name']) * 8}",
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": stamp}},
                    "lastState": {},
                }
                for c in pod["spec"].get("containers", [])
            ],
        }
        self.api.update_internal(pod_type, running, manager="kubelet")

    # ------------------------------------------------------------ mounts

    @staticmethod
    def _mount(home: Path, target: Path) -> None:
        """Make the PV whose data lives at ``home`` appear at ``target`` as a real directory.

        A real kubelet bind-mounts the volume there; we move the data directory instead (a rename, so
        nothing is copied) and leave ``home`` as a symlink to it. A second pod mounting the same volume
        gets a symlink to the first pod's mount, which stays inside the pods directory, as agents require.
        """
        if target.exists() or target.is_symlink():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        if home.is_symlink():
            primary = Path(os.readlink(home))
            if primary.is_dir():
                target.symlink_to(primary, target_is_directory=True)
                return
            home.unlink()
        home.mkdir(parents=True, exist_ok=True)
        shutil.move(str(home), str(target))
        home.symlink_to(target, target_is_directory=True)

    def _unmount_all(self, pod_dir: Path) -> None:
        """Before a pod's directory goes: move each volume it holds to another pod mounting it, or home."""
        for mount in pod_dir.glob(f"volumes/{CSI_DIR}/*/mount"):
            if mount.is_symlink() or not mount.is_dir():
                continue
            pv_name = mount.parent.name
            home = self.volume_dir(pv_name)
            followers = [
                candidate
                for node in self.nodes
                for candidate in (node.root_dir / "pods").glob(f"*/volumes/{CSI_DIR}/{pv_name}/mount")
                if candidate.is_symlink() and Path(os.readlink(candidate)) == mount
            ]
            destination = followers[0] if followers else home
            if destination.is_symlink():
                destination.unlink()
            mount_table.forget_mounts(pod_dir.parent.parent, mount)
            shutil.move(str(mount), str(destination))
            if followers:
                mount_table.record_mount(destination.parents[5], destination)  # <root>/pods/<uid>/volumes/..
                for link in [*followers[1:], home]:
                    if link.is_symlink():
                        link.unlink()
                    link.symlink_to(destination, target_is_directory=True)

    # ------------------------------------------------------------ workloads

    def _pods_of(self, owner: KubeObject) -> list[KubeObject]:
        pods = self.api.store.list(("", "pods"), owner["metadata"]["namespace"])
        return [p for p in pods if _owned_by(p, owner)]

    def _new_pod(
        self, owner: KubeObject, name: str, template: dict[str, Any], extra_labels: dict[str, str]
    ) -> None:
        metadata = copy.deepcopy(template.get("metadata") or {})
        metadata["name"] = name
        metadata["namespace"] = owner["metadata"]["namespace"]
        metadata["labels"] = {**(metadata.get("labels") or {}), **extra_labels}
        metadata["ownerReferences"] = [_owner(owner)]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": metadata,
            "spec": copy.deepcopy(template.get("spec", {})),
        }
        if self.api.store.get(("", "pods"), metadata["namespace"], name) is None:
            self.api.create_internal(self._type("", "pods"), pod, manager="kube-controller-manager")

    def _deployments(self) -> None:
        store = self.api.store
        rs_type = self._type("apps", "replicasets")
        for deployment in store.list(("apps", "deployments")):
            if _deleting(deployment):
                continue
            spec = deployment["spec"]
            pod_hash = template_hash(spec["template"])
            name = f"{deployment['metadata']['name']}-{pod_hash}"
            namespace = deployment["metadata"]["namespace"]
            owned = [r for r in store.list(("apps", "replicasets"), namespace) if _owned_by(r, deployment)]
            for old in owned:
                if old["metadata"]["name"] != name and old["spec"].get("replicas", 0) != 0:
                    scaled = copy.deepcopy(old)
                    scaled["spec"]["replicas"] = 0
                    self.api.update_internal(rs_type, scaled)
            current = store.get(("apps", "replicasets"), namespace, name)
            replicas = spec.get("replicas", 1)
            if current is None:
                template = copy.deepcopy(spec["template"])
                template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = pod_hash
                selector = copy.deepcopy(spec["selector"])
                selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
                replica_set = {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": name,
                        "namespace": namespace,
                        "labels": {
                            **(spec["template"].get("metadata", {}).get("labels") or {}),
                            "pod-template-hash": pod_hash,
                        },
                        "annotations": {
                            "deployment.kubernetes.io/desired-replicas": str(replicas),
                            "deployment.kubernetes.io/revision": str(len(owned) + 1),
                        },
                        "ownerReferences": [_owner(deployment)],
                    },
                    "spec": {"replicas": replicas, "selector": selector, "template": template},
                }
                self.api.create_internal(rs_type, replica_set, manager="kube-controller-manager")
            elif current["spec"].get("replicas") != replicas:
                scaled = copy.deepcopy(current)
                scaled["spec"]["replicas"] = replicas
                self.api.update_internal(rs_type, scaled)

    def _replicasets(self) -> None:
        pod_type = self._type("", "pods")
        for replica_set in self.api.store.list(("apps", "replicasets")):
            if _deleting(replica_set):
                continue
            pods = [p for p in self._pods_of(replica_set) if not _deleting(p)]
            wanted = replica_set["spec"].get("replicas", 1)
            for index in range(len(pods), wanted):
                seed = f"{replica_set['metadata']['uid']}-{index}-{self.api.store.resource_version}"
                self._new_pod(
                    replica_set,
                    f"{replica_set['metadata']['name']}-{_suffix(seed)}",
                    replica_set["spec"]["template"],
                    {},
                )
            for extra in sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"])[wanted:]:
                self.api.delete_internal(pod_type, extra)

    def _statefulsets(self) -> None:
        store = self.api.store
        pod_type, claim_type = self._type("", "pods"), self._type("", "persistentvolumeclaims")
        for statefulset in store.list(("apps", "statefulsets")):
            if _deleting(statefulset):
                continue
            name, namespace = statefulset["metadata"]["name"], statefulset["metadata"]["namespace"]
            spec = statefulset["spec"]
            wanted = spec.get("replicas", 1)
            revision = f"{name}-{template_hash(spec['template'])}"
            for ordinal in range(wanted):
                pod_name = f"{name}-{ordinal}"
                if store.get(("", "pods"), namespace, pod_name) is not None:
                    continue
                template = copy.deepcopy(spec["template"])
                volumes = template.setdefault("spec", {}).setdefault("volumes", [])
                for claim_template in spec.get("volumeClaimTemplates") or []:
                    template_name = claim_template["metadata"]["name"]
                    claim_name = f"{template_name}-{pod_name}"
                    if store.get(("", "persistentvolumeclaims"), namespace, claim_name) is None:
                        claim = {
                            "apiVersion": "v1",
                            "kind": "PersistentVolumeClaim",
                            "metadata": {
                                "name": claim_name,
                                "namespace": namespace,
                                "labels": dict(spec.get("selector", {}).get("matchLabels") or {}),
                            },
                            "spec": copy.deepcopy(claim_template.get("spec", {})),
                        }
                        self.api.create_internal(claim_type, claim, manager="kube-controller-manager")
                    volumes.append(
                        {"name": template_name, "persistentVolumeClaim": {"claimName": claim_name}}
                    )
                self._new_pod(
                    statefulset,
                    pod_name,
                    template,
                    {
                        "statefulset.kubernetes.io/pod-name": pod_name,
                        "apps.kubernetes.io/pod-index": str(ordinal),
                        "controller-revision-hash": revision,
                    },
                )
            for pod in self._pods_of(statefulset):
                ordinal = int(pod["metadata"]["name"].rsplit("-", 1)[-1])
                if ordinal >= wanted and not _deleting(pod):
                    self.api.delete_internal(pod_type, pod)

    def _daemonsets(self) -> None:
        store = self.api.store
        pod_type = self._type("", "pods")
        for daemonset in store.list(("apps", "daemonsets")):
            if _deleting(daemonset):
                continue
            template = daemonset["spec"]["template"]
            selector = template.get("spec", {}).get("nodeSelector") or {}
            pods = {p["spec"].get("nodeName"): p for p in self._pods_of(daemonset)}
            for node in self.nodes:
                node_obj = store.get(("", "nodes"), "", node.name) or {}
                labels = node_obj.get("metadata", {}).get("labels") or {}
                fits = all(labels.get(k) == v for k, v in selector.items())
                if fits and node.name not in pods:
                    pinned = copy.deepcopy(template)
                    pinned.setdefault("spec", {})["nodeName"] = node.name
                    seed = f"{daemonset['metadata']['uid']}-{node.name}"
                    self._new_pod(daemonset, f"{daemonset['metadata']['name']}-{_suffix(seed)}", pinned, {})
                elif not fits and node.name in pods:
                    self.api.delete_internal(pod_type, pods[node.name])

    def _workload_status(self) -> None:
        store = self.api.store
        for group_plural in (
            ("apps", "replicasets"),
            ("apps", "statefulsets"),
            ("apps", "daemonsets"),
            ("apps", "deployments"),
        ):
            resource = self._type(*group_plural)
            for workload in store.list(group_plural):
                if _deleting(workload):
                    continue
                status = self._status_of(group_plural[1], workload)
                if workload.get("status") != status:
                    updated = copy.deepcopy(workload)
                    updated["status"] = status
                    self.api.update_internal(resource, updated)

    def _status_of(self, plural: str, workload: KubeObject) -> dict[str, Any]:
        generation = workload["metadata"].get("generation", 1)
        if plural == "deployments":
            owned = [
                r
                for r in self.api.store.list(("apps", "replicasets"), workload["metadata"]["namespace"])
                if _owned_by(r, workload)
            ]
            pods = [p for r in owned for p in self._pods_of(r) if not _deleting(p)]
        else:
            pods = [p for p in self._pods_of(workload) if not _deleting(p)]
        ready = sum(1 for p in pods if p.get("status", {}).get("phase") == "Running")
        total = len(pods)
        if plural == "daemonsets":
            desired = sum(1 for n in self.nodes if self._fits_daemon(workload, n))
            return _nonzero(
                {
                    "currentNumberScheduled": total,
                    "desiredNumberScheduled": desired,
                    "numberMisscheduled": 0,
                    "numberReady": ready,
                    "numberAvailable": ready,
                    "updatedNumberScheduled": total,
                    "observedGeneration": generation,
                },
                keep=(
                    "currentNumberScheduled",
                    "desiredNumberScheduled",
                    "numberMisscheduled",
                    "numberReady",
                ),
            )
        status: dict[str, Any] = {
            "observedGeneration": generation,
            "replicas": total,
            "readyReplicas": ready,
            "availableReplicas": ready,
        }
        if plural == "replicasets":
            status["fullyLabeledReplicas"] = total
            return _nonzero(status, keep=("replicas",))
        if plural == "statefulsets":
            revision = f"{workload['metadata']['name']}-{template_hash(workload['spec']['template'])}"
            status.update(
                {
                    "currentReplicas": total,
                    "updatedReplicas": total,
                    "currentRevision": revision,
                    "updateRevision": revision,
                    "collisionCount": 0,
                }
            )
            return _nonzero(status, keep=("replicas", "availableReplicas", "collisionCount"))
        status["updatedReplicas"] = total
        wanted = workload["spec"].get("replicas", 1)
        stamp = workload["metadata"]["creationTimestamp"]
        available = ready >= wanted
        status["conditions"] = [
            {
                "type": "Available",
                "status": "True" if available else "False",
                "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                "message": "Deployment has minimum availability."
                if available
                else "Deployment does not have minimum availability.",
                "lastUpdateTime": stamp,
                "lastTransitionTime": stamp,
            },
            {
                "type": "Progressing",
                "status": "True",
                "reason": "NewReplicaSetAvailable",
                "message": f'ReplicaSet "{workload["metadata"]["name"]}" has successfully progressed.',
                "lastUpdateTime": stamp,
                "lastTransitionTime": stamp,
            },
        ]
        return _nonzero(status, keep=())

    def _fits_daemon(self, daemonset: KubeObject, node: NodeSpec) -> bool:
        selector = daemonset["spec"]["template"].get("spec", {}).get("nodeSelector") or {}
        node_obj = self.api.store.get(("", "nodes"), "", node.name) or {}
        labels = node_obj.get("metadata", {}).get("labels") or {}
        return all(labels.get(k) == v for k, v in selector.items())


def _nonzero(status: dict[str, Any], *, keep: tuple[str, ...]) -> dict[str, Any]:
    """Drop zero-valued counters (Go's omitempty), except the ones the real type always sends."""
    return {k: v for k, v in status.items() if v != 0 or k in keep}


def _term_matches(term: dict[str, Any], labels: dict[str, str], node_name: str) -> bool:
    for expression in term.get("matchExpressions") or []:
        if not selector_matches({"matchExpressions": [expression]}, labels):
            return False
    for expression in term.get("matchFields") or []:
        if expression.get("key") == "metadata.name" and not selector_matches(
            {"matchExpressions": [expression]}, {"metadata.name": node_name}
        ):
            return False
    return True
