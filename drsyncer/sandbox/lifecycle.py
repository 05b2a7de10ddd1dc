"""The always-on controllers of a sandbox cluster: CRD registration, namespace setup and teardown, GC.

Like kube-controller-manager (and the apiextensions server), these run without being asked:

- a created Namespace gets its ``default`` ServiceAccount and ``kube-root-ca.crt`` ConfigMap;
- a CRD registers its served versions (status Established) and, on delete, unregisters them and drops
  its custom resources;
- a deleted Namespace is Terminating until its contents are gone, then its ``kubernetes`` finalizer is
  removed and it disappears;
- every Service with a selector gets Endpoints and an EndpointSlice of its Running pods
  (``endpoints.py``);
- the garbage collector deletes dependents whose owners are gone (background propagation), deletes
  dependents first for ``foregroundDeletion``, and strips owner references for ``orphan``.

Teardown and GC run on one worker thread woken by deletes (so, as in a real cluster, they complete
shortly *after* the DELETE returns); ``settle()`` runs them to completion synchronously.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox import endpoints
from drsyncer.sandbox.api import Api
from drsyncer.sandbox.resources import ResourceType, resources_from_crd

NAMESPACES = ("", "namespaces")
CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
WAKES_ENDPOINTS = {("", "services"), ("", "pods")}
ROOT_CA = "-----BEGIN CERTIFICATE-----\nMIIBsandboxrootca\n-----END CERTIFICATE-----\n"


class Lifecycle:
    """Hooks and the background worker for one cluster's :class:`Api`."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        api.hooks.after_create.append(self._created)
        api.hooks.after_update.append(self._updated)
        api.hooks.after_delete.append(self._deleted)
        api.kick = self._wake.set
        self.establish_delay = 0.0
        """Seconds a created CRD waits before it is Established and its kinds are served (0: at once)."""
        self.root_ca = ROOT_CA
        """The CA bundle new namespaces get in ``kube-root-ca.crt`` (cluster.py sets the cluster's own)."""

    # ------------------------------------------------------------- hooks

    def _created(self, resource: ResourceType, obj: KubeObject) -> None:
        if resource.key in WAKES_ENDPOINTS:
            self._wake.set()
        if resource.key == NAMESPACES:
            self._populate_namespace(obj["metadata"]["name"])
        elif resource.key == CRDS:
            if self.establish_delay:
                self._establish_later(obj["metadata"]["name"], self.establish_delay)
            else:
                self._establish(obj)

    def _updated(self, resource: ResourceType, obj: KubeObject) -> None:
        if resource.key in WAKES_ENDPOINTS:
            self._wake.set()
        if resource.key == CRDS and not obj["metadata"].get("deletionTimestamp"):
            self._establish(obj)

    def _deleted(self, resource: ResourceType, obj: KubeObject) -> None:
        if resource.key == CRDS:
            spec = obj.get("spec", {})
            group, plural = spec.get("group", ""), spec.get("names", {}).get("plural", "")
            self.api.registry.unregister(group, plural)
            self.api.store.drop_resource((group, plural))

    def _populate_namespace(self, namespace: str) -> None:
        api = self.api
        account = api.registry.lookup("", "v1", "serviceaccounts")
        config_maps = api.registry.lookup("", "v1", "configmaps")
        assert account is not None
        assert config_maps is not None
        manager = "kube-controller-manager"  # the serviceaccounts controller and root-ca-cert-publisher
        api.create_internal(
            account, {"metadata": {"name": "default", "namespace": namespace}}, manager=manager
        )
        api.create_internal(
            config_maps,
            {
                "metadata": {
                    "name": "kube-root-ca.crt",
                    "namespace": namespace,
                    "annotations": {"kubernetes.io/description": "Contains a CA bundle for the cluster."},
                },
                "data": {"ca.crt": self.root_ca},
            },
            manager=manager,
        )

    def _establish_later(self, name: str, delay: float) -> None:
        """Establish CRD ``name`` after ``delay`` seconds (as the apiextensions server, not at once)."""

        def establish() -> None:
            current = self.api.store.get(CRDS, "", name)
            if current is not None and not current["metadata"].get("deletionTimestamp"):
                self._establish(current)

        timer = threading.Timer(delay, establish)
        timer.daemon = True
        timer.start()

    def _establish(self, crd: KubeObject) -> None:
        served = resources_from_crd(crd)
        self.api.registry.register(served)
        spec = crd.get("spec", {})
        names = dict(spec.get("names", {}))
        status: dict[str, Any] = {
            "acceptedNames": names,
            "conditions": [
                {
                    "type": "NamesAccepted",
                    "status": "True",
                    "reason": "NoConflicts",
                    "message": "no conflicts found",
                    "lastTransitionTime": crd["metadata"]["creationTimestamp"],
                },
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                    "lastTransitionTime": crd["metadata"]["creationTimestamp"],
                },
            ],
            "storedVersions": [v["name"] for v in spec.get("versions", []) if v.get("storage")],
        }
        if crd.get("status") != status:
            updated = copy.deepcopy(crd)
            updated["status"] = status
            self.api.store.put(CRDS, updated, event="MODIFIED")

    # ------------------------------------------------------------- worker

    def start(self) -> None:
        """Start the background worker (daemon thread)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sandbox-controllers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the worker and wait for it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            if self._stop.is_set():
                return
            self.settle()

    def settle(self, rounds: int = 50) -> None:
        """Run namespace teardown and GC until nothing changes."""
        for _ in range(rounds):
            with self.api.store.lock:
                before = self.api.store.resource_version
                self._namespaces()
                self._collect_garbage()
                self._release_claims()
                endpoints.reconcile(self.api)
                if self.api.store.resource_version == before:
                    return

    def _namespaces(self) -> None:
        api = self.api
        namespace_type = api.registry.by_key(NAMESPACES)
        assert namespace_type is not None
        for namespace in api.store.list(NAMESPACES):
            if not namespace["metadata"].get("deletionTimestamp"):
                continue
            name = namespace["metadata"]["name"]
            remaining = 0
            for key in api.store.resources():
                resource = api.registry.by_key(key)
                if resource is None or not resource.namespaced:
                    continue
                for obj in api.store.list(key, name):
                    remaining += 1
                    api.delete_internal(resource, obj)
            if remaining or any(api.store.list(k, name) for k in api.store.resources()):
                continue
            finalizers = namespace.get("spec", {}).get("finalizers") or []
            if finalizers:
                updated = copy.deepcopy(namespace)
                updated["spec"]["finalizers"] = []
                api.update_internal(namespace_type, updated)
            elif not namespace["metadata"].get("finalizers"):
                gone = api.store.remove(NAMESPACES, namespace)
                for hook in api.hooks.after_delete:
                    hook(namespace_type, gone)

    def _collect_garbage(self) -> None:
        api = self.api
        everything: list[tuple[ResourceType, KubeObject]] = []
        for key in api.store.resources():
            resource = api.registry.by_key(key)
            if resource is not None:
                everything.extend((resource, obj) for obj in api.store.list(key))
        uids = {obj["metadata"]["uid"] for _, obj in everything}
        dependents: dict[str, list[tuple[ResourceType, KubeObject]]] = {}
        for resource, obj in everything:
            for reference in obj["metadata"].get("ownerReferences") or []:
                dependents.setdefault(reference.get("uid", ""), []).append((resource, obj))
        for resource, obj in everything:
            metadata = obj["metadata"]
            finalizers = metadata.get("finalizers") or []
            if not metadata.get("deletionTimestamp") or not finalizers:
                continue
            mine = dependents.get(metadata["uid"], [])
            if "orphan" in finalizers:
                for dep_resource, dependent in mine:
                    stripped = copy.deepcopy(dependent)
                    stripped["metadata"]["ownerReferences"] = [
                        r for r in dependent["metadata"]["ownerReferences"] if r.get("uid") != metadata["uid"]
                    ]
                    if not stripped["metadata"]["ownerReferences"]:
                        del stripped["metadata"]["ownerReferences"]
                    api.update_internal(dep_resource, stripped)
                self._drop_finalizer(resource, obj, "orphan")
            elif "foregroundDeletion" in finalizers:
                if mine:
                    for dep_resource, dependent in mine:
                        api.delete_internal(dep_resource, dependent, propagation="Foreground")
                else:
                    self._drop_finalizer(resource, obj, "foregroundDeletion")
        for resource, obj in everything:
            references = obj["metadata"].get("ownerReferences") or []
            if references and not any(r.get("uid") in uids for r in references):
                api.delete_internal(resource, obj)

    def _release_claims(self) -> None:
        """The PVC-protection controller: a deleting claim no live pod uses loses its finalizer."""
        claims = self.api.registry.by_key(("", "persistentvolumeclaims"))
        assert claims is not None
        for claim in self.api.store.list(claims.key):
            metadata = claim["metadata"]
            if not metadata.get("deletionTimestamp") or "kubernetes.io/pvc-protection" not in (
                metadata.get("finalizers") or []
            ):
                continue
            in_use = any(
                (volume.get("persistentVolumeClaim") or {}).get("claimName") == metadata["name"]
                and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")
                for pod in self.api.store.list(("", "pods"), metadata["namespace"])
                for volume in pod.get("spec", {}).get("volumes") or []
            )
            if not in_use:
                self._drop_finalizer(claims, claim, "kubernetes.io/pvc-protection")

    def _drop_finalizer(self, resource: ResourceType, obj: KubeObject, finalizer: str) -> None:
        current = self.api.store.get(
            resource.key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
        )
        if current is None:
            return
        updated = copy.deepcopy(current)
        updated["metadata"]["finalizers"] = [
            f for f in current["metadata"].get("finalizers") or [] if f != finalizer
        ]
        if not updated["metadata"]["finalizers"]:
            del updated["metadata"]["finalizers"]
        self.api.update_internal(resource, updated)
