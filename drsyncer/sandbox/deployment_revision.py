"""The Deployment controller's revision numbers: ``deployment.kubernetes.io/revision``.

kube-controller-manager's deployment controller numbers the ReplicaSets of a Deployment: the ReplicaSet
of the current pod template carries the highest revision (a new template gets "max of the others + 1";
going back to an old template gives that old ReplicaSet the next number and remembers the old one in
``deployment.kubernetes.io/revision-history``), and the controller copies that number onto the
Deployment's own annotation with an ordinary update (managedFields: manager ``kube-controller-manager``,
operation ``Update``). So a Deployment is revision "1" when created, +1 per template change, and any
write that sets another value (a DR copy carrying the source's number) is written back.

The ReplicaSets themselves are created by ``kubelet.py``'s workload controllers; this module only keeps
the numbers, and runs before them in every ``settle()`` round.
"""

from __future__ import annotations

import copy

from drsyncer.objects import KubeObject
from drsyncer.sandbox.api import Api
from drsyncer.sandbox.kubelet import template_hash
from drsyncer.sandbox.owner_references import controlled_by, deleting

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
MANAGER = "kube-controller-manager"
DEPLOYMENTS = ("apps", "deployments")
REPLICA_SETS = ("apps", "replicasets")


def _revision(obj: KubeObject) -> int:
    value = (obj["metadata"].get("annotations") or {}).get(REVISION, "")
    return int(value) if str(value).isdigit() else 0


class DeploymentRevisions:
    """Keeps ``deployment.kubernetes.io/revision`` on every Deployment and its current ReplicaSet."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def reconcile(self) -> None:
        """One pass over every Deployment."""
        for deployment in self.api.store.list(DEPLOYMENTS):
            if not deleting(deployment):
                self._sync(deployment)

    def _sync(self, deployment: KubeObject) -> None:
        store = self.api.store
        namespace = deployment["metadata"]["namespace"]
        current_name = f"{deployment['metadata']['name']}-{template_hash(deployment['spec']['template'])}"
        owned = [r for r in store.list(REPLICA_SETS, namespace) if controlled_by(r, deployment)]
        current = next((r for r in owned if r["metadata"]["name"] == current_name), None)
        if current is None:
            return  # the ReplicaSet of this template is created in this round; numbered in the next
        newest_other = max((_revision(r) for r in owned if r is not current), default=0)
        revision = _revision(current)
        if revision <= newest_other:
            revision = newest_other + 1
            self._renumber(current, revision)
        wanted = str(revision)
        annotations = deployment["metadata"].get("annotations") or {}
        if annotations.get(REVISION) != wanted:
            updated = copy.deepcopy(deployment)
            updated["metadata"].setdefault("annotations", {})[REVISION] = wanted
            resource = self.api.registry.by_key(DEPLOYMENTS)
            assert resource is not None
            self.api.update_internal(resource, updated, manager=MANAGER)

    def _renumber(self, replica_set: KubeObject, revision: int) -> None:
        updated = copy.deepcopy(replica_set)
        annotations = updated["metadata"].setdefault("annotations", {})
        old = annotations.get(REVISION)
        if old:
            history = [h for h in (annotations.get(REVISION_HISTORY) or "").split(",") if h]
            annotations[REVISION_HISTORY] = ",".join([*history, old])
        annotations[REVISION] = str(revision)
        resource = self.api.registry.by_key(REPLICA_SETS)
        assert resource is not None
        self.api.update_internal(resource, updated, manager=MANAGER)
