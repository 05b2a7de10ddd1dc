"""The StatefulSet controller's PVC retention policy (KEP-1847, GA in Kubernetes 1.32).

With ``spec.persistentVolumeClaimRetentionPolicy`` the StatefulSet controller puts owner references on
the claims it made from ``volumeClaimTemplates`` so the garbage collector deletes them at the right time
(kube-controller-manager ``updateClaimOwnerRefForSetAndPod``; since kubernetes#122499 they are
*controller* references made by ``metav1.NewControllerRef`` — ``blockOwnerDeletion: true`` — a claim
with another controller gets none, and a claim with a stale reference to an earlier set or pod of the
same name is not touched):

- ``whenDeleted: Delete`` → every claim is owned by the StatefulSet (it goes with the StatefulSet);
- ``whenScaled: Delete`` → the claim of a scaled-down ordinal is owned by its pod instead (it goes with
  the pod). Only claims of existing pods are touched: claims of ordinals that have no pod (a copy parked
  at 0 replicas) keep whatever references they have, as upstream;
- ``Retain`` (the default) → the controller's references are removed.

The claims themselves are created by ``kubelet.py``'s StatefulSet controller; this module runs before it
in every ``settle()`` round, so a condemned pod's claim is owned by the pod before the pod is deleted.
"""

from __future__ import annotations

import copy
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox.api import Api
from drsyncer.sandbox.owner_references import controller_reference, deleting

MANAGER = "kube-controller-manager"
STATEFULSETS = ("apps", "statefulsets")
CLAIMS = ("", "persistentvolumeclaims")
PODS = ("", "pods")
DELETE = "Delete"


class ClaimRetention:
    """Keeps claim ownerReferences in line with each StatefulSet's retention policy."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def reconcile(self) -> None:
        """One pass over every StatefulSet."""
        for statefulset in self.api.store.list(STATEFULSETS):
            if not deleting(statefulset):
                self._sync(statefulset)

    def _sync(self, statefulset: KubeObject) -> None:
        store = self.api.store
        name, namespace = statefulset["metadata"]["name"], statefulset["metadata"]["namespace"]
        spec = statefulset["spec"]
        policy = spec.get("persistentVolumeClaimRetentionPolicy") or {}
        when_deleted, when_scaled = policy.get("whenDeleted", "Retain"), policy.get("whenScaled", "Retain")
        replicas = spec.get("replicas", 1)
        templates = [t["metadata"]["name"] for t in spec.get("volumeClaimTemplates") or []]
        for claim in store.list(CLAIMS, namespace):
            ordinal = _ordinal(claim["metadata"]["name"], templates, name)
            if ordinal is None or deleting(claim):
                continue
            pod = store.get(PODS, namespace, f"{name}-{ordinal}")
            if pod is None or deleting(pod):
                continue  # upstream updates a claim's references only along with its live pod
            condemned = ordinal >= replicas
            owners = []
            if condemned and when_scaled == DELETE:
                owners.append(pod)
            elif when_deleted == DELETE:
                owners.append(statefulset)
            self._own(claim, wanted=owners, ours=[statefulset, pod])

    def _own(self, claim: KubeObject, *, wanted: list[KubeObject], ours: list[KubeObject]) -> None:
        """Upstream ``isClaimOwnerUpToDate`` / ``updateClaimOwnerRefForSetAndPod`` for one claim."""
        references: list[dict[str, Any]] = list(claim["metadata"].get("ownerReferences") or [])
        by_name = {(o["kind"], o["metadata"]["name"]): o["metadata"]["uid"] for o in ours}
        if any(by_name.get((r.get("kind"), r.get("name")), r.get("uid")) != r.get("uid") for r in references):
            return  # a stale reference (an earlier set or pod of that name): upstream leaves the claim alone
        our_uids = set(by_name.values())
        foreign_controller = any(r.get("controller") and r.get("uid") not in our_uids for r in references)
        scrubbed = [r for r in references if r.get("uid") not in our_uids]
        if not foreign_controller:  # never a second controller on top of another one
            scrubbed += [controller_reference(owner) for owner in wanted]
        if _ownership(scrubbed) == _ownership(references):
            return
        updated = copy.deepcopy(claim)
        if scrubbed:
            updated["metadata"]["ownerReferences"] = scrubbed
        else:
            updated["metadata"].pop("ownerReferences", None)
        claim_type = self.api.registry.by_key(CLAIMS)
        assert claim_type is not None
        self.api.update_internal(claim_type, updated, manager=MANAGER)


def _ownership(references: list[dict[str, Any]]) -> set[tuple[str, bool]]:
    return {(str(r.get("uid")), bool(r.get("controller"))) for r in references}


def _ordinal(claim_name: str, templates: list[str], statefulset: str) -> int | None:
    """The ordinal of a claim named ``<template>-<statefulset>-<ordinal>``, else None."""
    for template in templates:
        prefix = f"{template}-{statefulset}-"
        rest = claim_name.removeprefix(prefix)
        if rest != claim_name and rest.isdigit():
            return int(rest)
    return None
