"""``FakeCluster``: one in-process Kubernetes API server with its nodes, kubelet and test aids.

A cluster owns a :class:`Store`, the kinds :class:`Registry`, the :class:`Api` verbs, the always-on
:class:`Lifecycle` controllers (namespaces, CRDs, GC), a simulated :class:`Kubelet` (provisioner, pods,
workload controllers), an :class:`AuditLog` and :class:`Faults`. ``start()`` binds 127.0.0.1 on a random
port in milliseconds; ``reset()`` restores the default objects (namespaces, nodes, StorageClass, the
``kubernetes`` Service) so session-scoped clusters are cheap to reuse between tests.
"""

from __future__ import annotations

import base64
import itertools
import tempfile
import threading
from pathlib import Path
from typing import Any

import yaml

from drsyncer.objects import KubeObject
from drsyncer.sandbox import tls
from drsyncer.sandbox.aggregated import AggregatedApis
from drsyncer.sandbox.allocation import Allocator
from drsyncer.sandbox.api import Api, WriteOptions
from drsyncer.sandbox.audit import AuditLog
from drsyncer.sandbox.faults import Faults
from drsyncer.sandbox.kubelet import SANDBOX_PROVISIONER, Kubelet, NodeSpec, node_object
from drsyncer.sandbox.lifecycle import Lifecycle
from drsyncer.sandbox.limits import SizeLimits
from drsyncer.sandbox.priority import PriorityAndFairness
from drsyncer.sandbox.rbac import Rbac
from drsyncer.sandbox.real_controllers import RealControllers
from drsyncer.sandbox.resources import Registry
from drsyncer.sandbox.server import SandboxHTTPServer
from drsyncer.sandbox.snapshots import Snapshots
from drsyncer.sandbox.store import Store
from drsyncer.sandbox.versions import KubernetesVersions

_CLUSTER_INDEX = itertools.count()
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class FakeCluster:
    """A sandbox Kubernetes cluster served over HTTP(S) on 127.0.0.1."""

    def __init__(
        self,
        name: str,
        *,
        https: bool = False,
        token: str | None = None,
        nodes: list[NodeSpec] | tuple[NodeSpec, ...] = (),
        service_cidr: str | None = None,
        background: bool = False,
        bookmark_interval: float = 1.0,
    ) -> None:
        index = next(_CLUSTER_INDEX)
        self.name = name
        self.https = https
        self.token = token
        self.bookmark_interval = bookmark_interval
        self.index = index
        self.store = Store()
        self.registry = Registry()
        self.allocator = Allocator(service_cidr or f"10.{96 + index % 100}.0.0/16")
        self.api = Api(self.store, self.registry, self.allocator)
        self.lifecycle = Lifecycle(self.api)
        self.rbac = Rbac(self.api)
        self.audit = AuditLog()
        self.faults = Faults()
        self.aggregated = AggregatedApis(self.api)
        self.limits = SizeLimits()
        self.priority = PriorityAndFairness()
        self.versions = KubernetesVersions(self.registry, self.store)
        self.api.hooks.admit.append(self.limits.admit)
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        if not nodes:
            self._temporary = tempfile.TemporaryDirectory(prefix=f"sandbox-{name}-")
            nodes = (
                NodeSpec(
                    f"{name}-node-1",
                    Path(self._temporary.name) / f"{name}-node-1",
                    internal_ip=f"192.168.{index % 250}.11",
                ),
            )
        self.nodes = list(nodes)
        self.kubelet = Kubelet(self.api, self.nodes, cluster_index=index)
        self.controllers = RealControllers(self.api, cluster_name=name)  # README.md, "Real controllers"
        self.lifecycle.root_ca = self.controllers.identity.root_ca
        self.kubelet.controllers.extend(self.controllers.passes())
        self.identity, self.admission = self.controllers.identity, self.controllers.admission
        self.jobs, self.cronjobs = self.controllers.jobs, self.controllers.cronjobs
        self.keda = self.controllers.keda
        self.snapshots = Snapshots(  # README.md, "Real controllers" (optional: CSI snapshots)
            self.api, volume_dir=self.kubelet.volume_dir, snapshot_root=self.nodes[0].root_dir / "snapshots"
        )
        self.kubelet.controllers.append(self.snapshots.reconcile)
        self._background = background
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.certificates: tls.Certificates | None = None
        self._install_defaults()
        self._defaults = self.store.snapshot()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> FakeCluster:
        """Listen on 127.0.0.1:<random port> and start the controllers; returns self."""
        if self._server is not None:
            return self
        self.store.closed = False
        server = SandboxHTTPServer(self)
        if self.https:
            self.certificates = tls.generate(self.name)
            server.socket = self.certificates.server_context().wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{self.name}",
            daemon=True,
        )
        self._thread.start()
        self.lifecycle.start()
        if self._background:
            self.kubelet.start_background()
        return self

    def stop(self) -> None:
        """Stop serving: end watches, close connections, stop controllers."""
        self.kubelet.stop_background()
        self.api.termination.cancel()
        self.lifecycle.stop()
        self.store.close()
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def close(self) -> None:
        """Stop and remove the temporary node directories this cluster created."""
        self.stop()
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None

    def __enter__(self) -> FakeCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        """The listening port (0 before ``start()``)."""
        return self._server.server_address[1] if self._server is not None else 0

    @property
    def url(self) -> str:
        """``http(s)://127.0.0.1:<port>``."""
        scheme = "https" if self.https else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    # ------------------------------------------------------------ test aids

    def reset(self) -> None:
        """Drop everything but the default objects; clear audit, faults and CRD kinds. Cheap."""
        self.kubelet.reset()
        self.api.termination.reset()
        self.registry.reset()
        self.store.restore(self._defaults)
        self.audit.clear()
        self.faults.clear()
        self.rbac.reset()
        self.aggregated.reset()
        self.limits.reset()
        self.priority.reset()
        self.versions.reset()
        self.lifecycle.establish_delay = 0.0
        self.controllers.reset()
        self.snapshots.reset()

    def compact(self) -> int:
        """Forget watch history: watches and continue tokens from older versions get 410 Expired."""
        return self.store.compact()

    def settle(self) -> None:
        """Run every controller (GC, namespaces, provisioner, kubelet, workloads) until nothing changes."""
        for _ in range(20):
            before = self.store.resource_version
            self.lifecycle.settle()
            self.kubelet.settle()
            if self.store.resource_version == before:
                return

    def set_background(self, enabled: bool) -> None:
        """Turn the background kubelet/provisioner/workload controllers on or off."""
        self._background = enabled
        if enabled and self._server is not None:
            self.kubelet.start_background()
        else:
            self.kubelet.stop_background()

    # ------------------------------------------------------------ objects

    def create(self, obj: KubeObject, *, manager: str = "sandbox") -> KubeObject:
        """Create ``obj`` directly (bypassing HTTP), with the full server pipeline."""
        resource = self.registry.by_kind(obj["apiVersion"], obj["kind"])
        if resource is None:
            raise KeyError(f"{obj['apiVersion']}/{obj['kind']} is not served")
        namespace = obj.get("metadata", {}).get("namespace", "") if resource.namespaced else ""
        return self.api.create(resource, namespace, obj, WriteOptions(manager=manager))

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> KubeObject | None:
        """One object (None when absent), directly from the store."""
        resource = self.registry.by_kind(api_version, kind)
        if resource is None:
            return None
        return self.store.get(resource.key, namespace if resource.namespaced else "", name)

    def objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[KubeObject]:
        """Every object of one kind (optionally in one namespace), directly from the store."""
        resource = self.registry.by_kind(api_version, kind)
        return [] if resource is None else self.store.list(resource.key, namespace)

    def kubeconfig(self, context: str | None = None, *, namespace: str | None = None) -> dict[str, Any]:
        """A kubeconfig document for this cluster."""
        context = context or self.name
        cluster: dict[str, Any] = {"server": self.url}
        if self.certificates is not None:
            cluster["certificate-authority-data"] = base64.b64encode(self.certificates.ca_pem).decode()
        user: dict[str, Any] = {"token": self.token} if self.token else {}
        context_body: dict[str, Any] = {"cluster": context, "user": context}
        if namespace:
            context_body["namespace"] = namespace
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": cluster}],
            "users": [{"name": context, "user": user}],
            "contexts": [{"name": context, "context": context_body}],
            "current-context": context,
            "preferences": {},
        }

    def write_kubeconfig(self, path: str | Path, context: str | None = None) -> Path:
        """Write a kubeconfig for this cluster to ``path`` (mode 0600); returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(self.kubeconfig(context), sort_keys=False))
        target.chmod(0o600)
        return target

    # ------------------------------------------------------------ defaults

    def _install_defaults(self) -> None:
        for namespace in DEFAULT_NAMESPACES:
            self.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
                manager="kube-apiserver",
            )
        self.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": "kubernetes",
                    "namespace": "default",
                    "labels": {"component": "apiserver", "provider": "kubernetes"},
                },
                "spec": {
                    "clusterIP": self.allocator.first_ip(),
                    "ports": [{"name": "https", "port": 443, "targetPort": 6443, "protocol": "TCP"}],
                },
            },
            manager="kube-apiserver",
        )
        self.create(
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {
                    "name": "standard",
                    "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                },
                "provisioner": SANDBOX_PROVISIONER,
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "Immediate",
                "allowVolumeExpansion": True,
            },
            manager="kube-apiserver",
        )
        for node in self.nodes:
            self.create(node_object(node, self.index), manager="kubelet")
        self.aggregated.install_local()
        self.lifecycle.settle()
