"""A mutating-webhook-like hook per cluster: edits pod templates on every write.

``cluster.admission.add_pod_template_mutation(fn)`` makes the cluster call ``fn(pod_spec)`` on every
create and update of a Pod and of a workload's pod template (Deployment, StatefulSet, DaemonSet,
ReplicaSet, Job, CronJob) — through the HTTP API, server-side apply and the simulated controllers alike
— the way a mutating admission webhook (istio's sidecar injector, Kyverno, Vault's agent injector)
patches objects in flight. ``add_sidecar(container)`` and ``add_env(name, value)`` are the two common
cases; both are idempotent (nothing added twice). ``clear()`` removes every mutation; the cluster's
``reset()`` calls it.

Where it runs, as in kube-apiserver: **after** the request's managedFields entry is computed and before
the server's own allocation and validation, then the result is defaulted again. So what a webhook adds
is owned by **no** manager — not the request's (kube-apiserver's create/update handlers call
``FieldManager.UpdateNoErrors`` before ``mutatingAdmission.Admit``: kubernetes#87672, PR #87671) — and
a later server-side apply that does not mention the sidecar leaves it in place.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox.resources import ResourceType

PodSpecMutation = Callable[[dict[str, Any]], None]

POD_SPEC_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "pods"): ("spec",),
    ("apps", "deployments"): ("spec", "template", "spec"),
    ("apps", "statefulsets"): ("spec", "template", "spec"),
    ("apps", "daemonsets"): ("spec", "template", "spec"),
    ("apps", "replicasets"): ("spec", "template", "spec"),
    ("batch", "jobs"): ("spec", "template", "spec"),
    ("batch", "cronjobs"): ("spec", "jobTemplate", "spec", "template", "spec"),
}


def pod_spec_of(resource_key: tuple[str, str], obj: KubeObject) -> dict[str, Any] | None:
    """The pod spec inside ``obj`` (a Pod or a workload's template), or None for other kinds."""
    path = POD_SPEC_PATHS.get(resource_key)
    node: Any = obj
    for key in path or ():
        node = node.get(key) if isinstance(node, dict) else None
    return node if path and isinstance(node, dict) else None


class Admission:
    """The mutating admission hook of one cluster."""

    def __init__(self) -> None:
        self._mutations: list[tuple[PodSpecMutation, frozenset[str]]] = []

    def add_pod_template_mutation(self, mutation: PodSpecMutation, *, kinds: tuple[str, ...] = ()) -> None:
        """Call ``mutation(pod_spec)`` on writes of ``kinds`` (default: Pods and every workload kind)."""
        self._mutations.append((mutation, frozenset(kinds)))

    def add_sidecar(self, container: dict[str, Any], *, kinds: tuple[str, ...] = ()) -> None:
        """Append ``container`` to ``spec.containers`` unless a container of that name is there."""

        def inject(spec: dict[str, Any]) -> None:
            containers = spec.setdefault("containers", [])
            if all(c.get("name") != container["name"] for c in containers):
                containers.append(copy.deepcopy(container))

        self.add_pod_template_mutation(inject, kinds=kinds)

    def add_env(self, name: str, value: str, *, kinds: tuple[str, ...] = ()) -> None:
        """Add env var ``name=value`` to every container that has no variable of that name."""

        def inject(spec: dict[str, Any]) -> None:
            for container in spec.get("containers") or []:
                env = container.setdefault("env", [])
                if all(e.get("name") != name for e in env):
                    env.append({"name": name, "value": value})

        self.add_pod_template_mutation(inject, kinds=kinds)

    def clear(self) -> None:
        """Remove every mutation."""
        self._mutations.clear()

    def admit(self, resource: ResourceType, obj: KubeObject) -> bool:
        """Run the mutations on ``obj`` in place; whether any applies to its kind."""
        spec = pod_spec_of(resource.key, obj) if self._mutations else None
        if spec is None:
            return False
        applied = False
        for mutation, kinds in self._mutations:
            if not kinds or resource.kind in kinds:
                mutation(spec)
                applied = True
        return applied
