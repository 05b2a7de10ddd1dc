"""``RecreateWithPodDrain``: drain the pods that depend on a DR object before it is re-created.

DR-Syncer's design for the strategy: find the dependent pods — a workload's pods by its
``spec.selector`` (``matchLabels`` **and** ``matchExpressions``), a Service's pods by its
``spec.selector``, a claim's pods by the volumes that mount it — delete each, and poll until none is left
or ``immutableResourceConfig.drainTimeout`` passes; then the object is re-created. Pods still there at
the deadline (a finalizer, a slow grace period) do not block the re-creation: they are named in the
object's outcome instead.

The pods are those of the **live** DR object: when the selector itself is what changed, the new
selector would miss them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from drsyncer.kube.client import KubeClient, object_path
from drsyncer.objects import KubeObject, object_name
from tasks.filter.selectors import LabelSelector

WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})
POLL_SECONDS = 0.2


def pod_selector(obj: KubeObject) -> str | None:
    """The ``labelSelector`` query of the pods ``obj`` runs or serves (None: select by claim, or none)."""
    kind = str(obj.get("kind", ""))
    spec = obj.get("spec") or {}
    if kind in WORKLOAD_KINDS:
        selector = spec.get("selector") or {}
        query = str(LabelSelector.from_dict(selector))
        return query or None
    if kind == "Service":
        labels = spec.get("selector") or {}
        return ",".join(f"{key}={value}" for key, value in sorted(labels.items())) or None
    return None


def mounts_claim(pod: KubeObject, claim: str) -> bool:
    """Whether ``pod`` mounts the PersistentVolumeClaim named ``claim``."""
    volumes = (pod.get("spec") or {}).get("volumes") or []
    return any((volume.get("persistentVolumeClaim") or {}).get("claimName") == claim for volume in volumes)


@dataclass
class Drain:
    """Where pods are drained and how long to wait for them."""

    client: KubeClient
    namespace: str
    timeout: float
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic

    def dependent_pods(self, obj: KubeObject) -> list[str]:
        """The names of the pods that depend on ``obj`` in the namespace."""
        path = object_path(group="", version="v1", plural="pods", namespace=self.namespace)
        if obj.get("kind") == "PersistentVolumeClaim":
            pods, _ = self.client.list(path)
            return [object_name(pod) for pod in pods if mounts_claim(pod, object_name(obj))]
        selector = pod_selector(obj)
        if selector is None:
            return []
        pods, _ = self.client.list(path, label_selector=selector)
        return [object_name(pod) for pod in pods]

    def drain(self, obj: KubeObject) -> list[str]:
        """Delete ``obj``'s pods and wait up to ``timeout`` for them to go; return those still there."""
        names = self.dependent_pods(obj)
        for name in names:
            self.client.delete(self._pod_path(name))
        deadline = self.monotonic() + self.timeout
        remaining = [name for name in names if self.client.get(self._pod_path(name)) is not None]
        while remaining and self.monotonic() < deadline:
            self.sleep(POLL_SECONDS)
            remaining = [name for name in remaining if self.client.get(self._pod_path(name)) is not None]
        return remaining

    def _pod_path(self, name: str) -> str:
        return object_path(group="", version="v1", plural="pods", namespace=self.namespace, name=name)
