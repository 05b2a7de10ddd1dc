"""A KEDA-like operator for ``keda.sh/v1alpha1`` ScaledObjects — optional, installed per cluster.

``cluster.keda.install()`` creates KEDA's ``scaledobjects.keda.sh`` CRD in that cluster and starts the
controller (``reset()`` removes both). As KEDA's ScaledObject controller and scale executor (sandbox
triggers are never active, so KEDA only enforces the floor):

- a target below ``spec.minReplicaCount`` (default 0) is scaled up to it — so a copy parked at 0 with
  ``minReplicaCount: 2`` comes back up to 2;
- annotation ``autoscaling.keda.sh/paused-replicas: "N"`` scales the target to exactly N and keeps it
  there (``status.pausedReplicaCount``, condition ``Paused`` True);
- annotation ``autoscaling.keda.sh/paused: "true"`` leaves the target alone (condition ``Paused`` True).

Scaling goes through the target's scale subresource as manager ``keda`` (``scale_targets.py``). Not
modelled: the ``keda-hpa-<name>`` HPA KEDA creates, triggers and activity, cooldown to 0, ScaledJobs.
"""

from __future__ import annotations

import copy
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox import scale_targets
from drsyncer.sandbox.api import Api
from drsyncer.sandbox.owner_references import deleting

MANAGER = "keda"
GROUP = "keda.sh"
SCALED_OBJECTS = (GROUP, "scaledobjects")
CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas"
PAUSED = "autoscaling.keda.sh/paused"


def scaled_object_crd() -> KubeObject:
    """KEDA's ScaledObject CRD (``keda.sh/v1alpha1``, status subresource, permissive schema)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"scaledobjects.{GROUP}",
            "labels": {"app.kubernetes.io/part-of": "keda-operator"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "plural": "scaledobjects",
                "singular": "scaledobject",
                "kind": "ScaledObject",
                "listKind": "ScaledObjectList",
                "shortNames": ["so"],
            },
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                    "subresources": {"status": {}},
                }
            ],
        },
    }


def _paused_replicas(annotations: dict[str, str]) -> int | None:
    value = annotations.get(PAUSED_REPLICAS)
    return int(value) if value is not None and str(value).isdigit() else None


class Keda:
    """The optional KEDA operator of one cluster."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.installed = False

    def install(self) -> Keda:
        """Create the ScaledObject CRD in this cluster (if absent) and start reconciling; returns self."""
        resource = self.api.registry.by_key(CRDS)
        assert resource is not None
        if self.api.store.get(CRDS, "", f"scaledobjects.{GROUP}") is None:
            self.api.create_internal(resource, scaled_object_crd(), manager="helm")
        self.installed = True
        return self

    def reset(self) -> None:
        """Uninstalled (the cluster's ``reset()`` drops the CRD itself)."""
        self.installed = False

    def reconcile(self) -> None:
        """One pass over every ScaledObject (nothing when not installed)."""
        if not self.installed or self.api.registry.by_key(SCALED_OBJECTS) is None:
            return
        for scaled_object in self.api.store.list(SCALED_OBJECTS):
            if not deleting(scaled_object):
                self._sync(scaled_object)

    def _sync(self, scaled_object: KubeObject) -> None:
        metadata = scaled_object["metadata"]
        annotations = metadata.get("annotations") or {}
        spec = scaled_object.get("spec") or {}
        target = scale_targets.resolve(
            self.api, metadata["namespace"], spec.get("scaleTargetRef") or {}, default_kind="Deployment"
        )
        status: dict[str, Any] = copy.deepcopy(scaled_object.get("status") or {})
        paused_replicas = _paused_replicas(annotations)
        paused = paused_replicas is not None or annotations.get(PAUSED) == "true"
        if target is not None:
            current = target.replicas
            wanted = current
            if paused_replicas is not None:
                wanted = paused_replicas
            elif not paused:
                wanted = max(current, int(spec.get("minReplicaCount", 0)))
            if wanted != current:
                scale_targets.scale(self.api, target, wanted, manager=MANAGER)
            status["originalReplicaCount"] = status.get("originalReplicaCount", current)
        if paused_replicas is not None:
            status["pausedReplicaCount"] = paused_replicas
        else:
            status.pop("pausedReplicaCount", None)
        reference = spec.get("scaleTargetRef") or {}
        status["scaleTargetKind"] = (
            f"{reference.get('apiVersion', 'apps/v1')}.{reference.get('kind', 'Deployment')}"
        )
        conditions = [
            (
                "Ready",
                target is not None,
                "ScaledObjectReady" if target is not None else "ScaledObjectCheckFailed",
                "ScaledObject is defined correctly and is ready for scaling"
                if target is not None
                else "ScaledObject doesn't have correct scaleTargetRef specification",
            ),
            ("Active", False, "ScalerNotActive", "Scaling is not performed because triggers are not active"),
            (
                "Paused",
                paused,
                "ScaledObjectPaused" if paused else "ScaledObjectUnpaused",
                "ScaledObject is paused" if paused else "ScaledObject is not paused",
            ),
        ]
        # KEDA's conditions carry no timestamps (its Condition type has type/status/reason/message only)
        status["conditions"] = [
            {"type": kind, "status": "True" if value else "False", "reason": reason, "message": message}
            for kind, value, reason, message in conditions
        ]
        if status != scaled_object.get("status"):
            resource = self.api.registry.by_key(SCALED_OBJECTS)
            assert resource is not None
            current_object = (
                self.api.store.get(SCALED_OBJECTS, metadata["namespace"], metadata["name"]) or scaled_object
            )
            updated = copy.deepcopy(current_object)
            updated["status"] = status
            self.api.update_internal(resource, updated)
