"""What autoscalers act on: the object a ``scaleTargetRef`` names, read and scaled via its Scale.

The HPA controller and KEDA both resolve ``spec.scaleTargetRef`` ({apiVersion, kind, name}) in the
autoscaler's namespace and change replicas through the ``scale`` subresource, so the write is recorded in
managedFields with ``subresource: scale`` under the autoscaler's manager, exactly as on a real cluster.
Custom resources use the replica path their CRD declares (``scale.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox.api import Api, WriteOptions
from drsyncer.sandbox.resources import ResourceType
from drsyncer.sandbox.scale import from_scale, paths_from_crd, to_scale

CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")


@dataclass(frozen=True)
class ScaleTarget:
    """A resolved scale target: its type, the stored object and the replica paths."""

    resource: ResourceType
    obj: KubeObject
    paths: dict[str, str]

    @property
    def replicas(self) -> int:
        """The target's desired replicas (``spec.replicas`` or the CRD's path)."""
        return int(to_scale(self.obj, self.paths)["spec"]["replicas"])


def resolve(
    api: Api, namespace: str, reference: dict[str, Any], *, default_kind: str = ""
) -> ScaleTarget | None:
    """The object ``reference`` names in ``namespace``, or None when its kind or the object is missing."""
    kind = reference.get("kind") or default_kind
    api_version = reference.get("apiVersion") or ("apps/v1" if kind in ("Deployment", "StatefulSet") else "")
    resource = api.registry.by_kind(api_version, kind) if api_version and kind else None
    if resource is None or not reference.get("name"):
        return None
    obj = api.store.get(resource.key, namespace, reference["name"])
    if obj is None:
        return None
    crd = api.store.get(CRDS, "", f"{resource.plural}.{resource.group}") if resource.custom else None
    return ScaleTarget(resource, obj, paths_from_crd(crd, resource.version))


def scale(api: Api, target: ScaleTarget, replicas: int, *, manager: str) -> KubeObject:
    """Set the target's replicas via its ``scale`` subresource as ``manager``; returns the stored object."""
    metadata = target.obj["metadata"]
    updated = from_scale(
        target.obj,
        {"spec": {"replicas": replicas}, "metadata": {"resourceVersion": metadata["resourceVersion"]}},
        target.paths,
    )
    options = WriteOptions(manager=manager, subresource="scale")
    return api.replace(target.resource, metadata.get("namespace", ""), metadata["name"], updated, options)
