"""The verbs of the API server, independent of HTTP: create, get, list, update, patch, delete.

Every write goes through one pipeline, as in kube-apiserver: metadata rules (uid, timestamps,
generateName, namespace checks, optimistic concurrency), status/main separation, defaulting,
allocation, validation, managedFields, a no-op check (an unchanged object keeps its resourceVersion)
and then the store, unless ``dryRun``. Deletes honour finalizers and propagation policies; the
always-on controllers in ``lifecycle.py`` finish what a delete starts (GC, namespace teardown).
Failures raise :class:`~drsyncer.sandbox.status.ApiError`.
"""

from __future__ import annotations

import base64
import builtins
import copy
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

from drsyncer.objects import KubeObject
from drsyncer.sandbox import conversion
from drsyncer.sandbox import status as errors
from drsyncer.sandbox.allocation import Allocator
from drsyncer.sandbox.defaulting import INITIAL_STATUS, apply_defaults
from drsyncer.sandbox.resources import Registry, ResourceType
from drsyncer.sandbox.selectors import field_matcher, label_matcher
from drsyncer.sandbox.store import Store
from drsyncer.sandbox.termination import GracefulTermination
from drsyncer.sandbox.validation import job_selector, validate, validate_name

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def yaml_or_json(body: bytes) -> Any:
    """An apply body: JSON when it is JSON (the common case, and far faster to parse), else YAML."""
    try:
        return json.loads(body)
    except ValueError:
        return yaml.safe_load(body)


RETURNS_DELETED_OBJECT = {
    ("", "pods"),
    ("", "services"),
    ("", "serviceaccounts"),
    ("", "persistentvolumeclaims"),
    ("", "persistentvolumes"),
    ("", "resourcequotas"),
    ("storage.k8s.io", "storageclasses"),
}
"""Resources whose DELETE answers with the deleted object (``ReturnDeletedObject``); others send a Status."""
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now() -> str:
    """The current time as the API formats it (RFC 3339, seconds, UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class WriteOptions:
    """Per-request write options (query parameters and the caller's identity)."""

    dry_run: bool = False
    manager: str = ""
    force: bool = False
    subresource: str = ""


@dataclass
class Hooks:
    """Side effects the lifecycle controllers attach to writes (CRD registration, namespace defaults)."""

    after_create: list[Callable[[ResourceType, KubeObject], None]] = field(default_factory=list)
    after_update: list[Callable[[ResourceType, KubeObject], None]] = field(default_factory=list)
    after_delete: list[Callable[[ResourceType, KubeObject], None]] = field(default_factory=list)
    admit: list[Callable[[ResourceType, KubeObject, KubeObject | None], None]] = field(default_factory=list)
    """Admission checks run after validation on create/update (old is None on create); they raise."""
    mutating_admission: list[Callable[[ResourceType, KubeObject], bool]] = field(default_factory=list)
    """Mutating admission (admission.py): edits the object after managedFields; True when it did."""


def manager_from_user_agent(user_agent: str) -> str:
    """The default field manager: the user agent up to its first '/' (as the real server does)."""
    return (user_agent or "unknown").split("/", 1)[0][:128]


def _field_management() -> Any:
    try:
        from drsyncer.sandbox import field_management
    except ImportError:
        return None
    return field_management


def _patching() -> Any:
    try:
        from drsyncer.sandbox import patching
    except ImportError:
        return None
    return patching


class Api:
    """The verbs of one cluster over its :class:`Store` and :class:`Registry`."""

    def __init__(self, store: Store, registry: Registry, allocator: Allocator) -> None:
        self.store = store
        self.registry = registry
        self.allocator = allocator
        self.hooks = Hooks()
        self.kick: Callable[[], None] = lambda: None
        self.termination = GracefulTermination(self)

    # ----------------------------------------------------------------- reads

    def get(self, resource: ResourceType, namespace: str, name: str) -> KubeObject:
        """The stored object (404 when absent)."""
        obj = self.store.get(resource.key, namespace, name)
        if obj is None:
            raise errors.not_found(resource.plural, resource.group, name)
        return self.present(resource, obj)

    def present(self, resource: ResourceType, obj: KubeObject) -> KubeObject:
        """``obj`` as served in ``resource``'s version (converted if needed: ``conversion.py``)."""
        if conversion.converts(resource):
            return conversion.from_storage(obj, resource)
        if obj.get("apiVersion") == resource.api_version:
            return obj
        return {**obj, "apiVersion": resource.api_version}

    def list(self, resource: ResourceType, namespace: str | None, query: dict[str, str]) -> KubeObject:
        """A ``<Kind>List`` with selectors and ``limit``/``continue`` pagination."""
        labels = label_matcher(query.get("labelSelector"))
        fields = field_matcher(query.get("fieldSelector"), resource.plural, resource.kind)
        with self.store.lock:
            version = self.store.resource_version
            items = self.store.list(resource.key, namespace)
        start = ""
        token = query.get("continue")
        if token:
            start, token_version = self._decode_continue(token)
            version = token_version
        if start:
            items = [o for o in items if _sort_key(o) > start]
        if labels is not None:
            items = [o for o in items if labels(o)]
        if fields is not None:
            items = [o for o in items if fields(o)]
        metadata: dict[str, Any] = {"resourceVersion": str(version)}
        limit = int(query.get("limit") or 0)
        if limit and len(items) > limit:
            metadata["continue"] = _encode_continue(version, _sort_key(items[limit - 1]))
            metadata["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        if resource.custom:
            items = [self.present(resource, o) for o in items]
        else:
            items = [self.present(resource, o) for o in items] if conversion.converts(resource) else items
            items = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in items]
        return {
            "kind": f"{resource.kind}List",
            "apiVersion": resource.api_version,
            "metadata": metadata,
            "items": items,
        }

    def _decode_continue(self, token: str) -> tuple[str, int]:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            start, version = str(data["start"]), int(data["rv"])
        except (ValueError, KeyError, TypeError) as exc:
            raise errors.bad_request(f"continue key is not valid: {exc}") from exc
        if version < self.store.compacted:
            raise errors.expired(
                "The provided continue parameter is too old to "
                "display a consistent list result. You can start a "
                "new list without the continue parameter, or use "
                "the continue token in this response to retrieve "
                "the remainder of the results. Continuing with the "
                "provided token results in an inconsistent list - "
                "objects that were created, modified, or deleted "
                "between the time the first chunk was returned and "
                "now may show up in the list."
            )
        return start, version

    # ----------------------------------------------------------------- create

    def create(
        self,
        resource: ResourceType,
        namespace: str,
        body: KubeObject,
        options: WriteOptions,
        *,
        owned: bool = False,
    ) -> KubeObject:
        """POST: create ``body`` (201), with every server-side rule."""
        obj = body if owned else copy.deepcopy(body)
        self._check_type(resource, obj)
        metadata = obj.setdefault("metadata", {})
        if metadata.get("resourceVersion"):
            raise errors.ApiError(
                500, "InternalError", "resourceVersion should not be set on objects to be created"
            )
        if not metadata.get("name"):
            if metadata.get("generateName"):
                suffix = "".join(random.choice(_GENERATE_ALPHABET) for _ in range(5))
                metadata["name"] = f"{metadata['generateName']}{suffix}"
            else:
                raise errors.invalid(
                    resource.kind,
                    resource.group,
                    "",
                    [errors.required("metadata.name", "name or generateName is required")],
                )
        self._place(resource, namespace, obj)
        with self.store.lock:
            return self._create_locked(resource, obj, options, managed=False)

    def _create_locked(
        self, resource: ResourceType, obj: KubeObject, options: WriteOptions, *, managed: bool
    ) -> KubeObject:
        metadata = obj["metadata"]
        name, namespace = metadata["name"], metadata.get("namespace", "")
        causes = validate_name(resource, name)
        if causes:
            raise errors.invalid(resource.kind, resource.group, name, causes)
        if resource.namespaced:
            self._check_namespace(resource, namespace, name)
        if self.store.get(resource.key, namespace, name) is not None:
            raise errors.already_exists(resource.plural, resource.group, name)
        metadata["uid"] = str(uuid.uuid4())
        metadata["creationTimestamp"] = now()
        for transient in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            metadata.pop(transient, None)
        if resource.generation:
            metadata["generation"] = 1
        else:
            metadata.pop("generation", None)
        if resource.has_status and resource.key != ("", "nodes"):
            obj.pop("status", None)
            if not resource.custom:
                obj["status"] = copy.deepcopy(INITIAL_STATUS.get(resource.key, {}))
        obj["apiVersion"], obj["kind"] = resource.api_version, resource.kind
        apply_defaults(resource.key, obj)
        if not managed:  # managedFields before admission and allocation, as kube-apiserver records them
            obj = self._record_update(None, obj, options)
        self._mutate(resource, obj)
        causes = self._server_rules(resource, obj, None)
        causes += validate(resource, obj, None)
        if causes:
            raise errors.invalid(resource.kind, resource.group, name, causes)
        for admit in self.hooks.admit:
            admit(resource, obj, None)
        if options.dry_run:
            return obj
        stored = self.store.put(resource.key, obj, event="ADDED")
        for hook in self.hooks.after_create:
            hook(resource, stored)
        return stored

    def _place(self, resource: ResourceType, namespace: str, obj: KubeObject) -> None:
        metadata = obj["metadata"]
        if resource.namespaced:
            body_namespace = metadata.get("namespace")
            if body_namespace and namespace and body_namespace != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            metadata["namespace"] = namespace or body_namespace or "default"
        else:
            metadata.pop("namespace", None)

    def _check_type(self, resource: ResourceType, obj: KubeObject) -> None:
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request must be an object")
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind and kind != resource.kind:
            raise errors.bad_request(
                f'{kind} in version "{resource.version}" cannot be handled as a {resource.kind}: '
                f"the kind in the data does not match the kind of the endpoint"
            )
        if api_version and api_version.rpartition("/")[0] != resource.group:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({resource.api_version})"
            )

    def _check_namespace(self, resource: ResourceType, namespace: str, name: str) -> None:
        found = self.store.get(("", "namespaces"), "", namespace)
        if found is None:
            raise errors.not_found("namespaces", "", namespace)
        if (
            found.get("metadata", {}).get("deletionTimestamp")
            or found.get("status", {}).get("phase") == "Terminating"
        ):
            raise errors.forbidden(
                resource.plural,
                resource.group,
                name,
                f"unable to create new content in namespace {namespace} because it is being terminated",
            )

    def _server_rules(
        self, resource: ResourceType, obj: KubeObject, old: KubeObject | None
    ) -> builtins.list[errors.Cause]:
        if resource.key == ("", "services"):
            namespace, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
            others = [
                s
                for s in self.store.list(("", "services"))
                if (s["metadata"].get("namespace"), s["metadata"]["name"]) != (namespace, name)
            ]
            return self.allocator.assign(obj.setdefault("spec", {}), others, old=(old or {}).get("spec"))
        if resource.key == ("batch", "jobs") and old is None:
            return job_selector(obj, obj["metadata"]["uid"])
        if resource.key == ("", "persistentvolumeclaims") and old is None:
            self._admit_claim(obj)
        return []

    def _admit_claim(self, claim: KubeObject) -> None:
        """The DefaultStorageClass and StorageObjectInUseProtection admission plugins."""
        spec = claim.setdefault("spec", {})
        if "storageClassName" not in spec and not spec.get("volumeName"):
            for storage_class in self.store.list(("storage.k8s.io", "storageclasses")):
                annotations = storage_class["metadata"].get("annotations") or {}
                if annotations.get("storageclass.kubernetes.io/is-default-class") == "true":
                    spec["storageClassName"] = storage_class["metadata"]["name"]
                    break
        finalizers = claim["metadata"].setdefault("finalizers", [])
        if "kubernetes.io/pvc-protection" not in finalizers:
            finalizers.append("kubernetes.io/pvc-protection")

    def _mutate(self, resource: ResourceType, obj: KubeObject) -> None:
        """Mutating admission (after managedFields, before allocation); re-default what it changed."""
        changed = [hook(resource, obj) for hook in self.hooks.mutating_admission]  # every hook runs
        if any(changed):
            apply_defaults(resource.key, obj)

    def _record_update(self, old: KubeObject | None, new: KubeObject, options: WriteOptions) -> KubeObject:
        management = _field_management()
        if management is None:
            return new
        result: KubeObject = management.record_update(
            old, new, manager=options.manager or "unknown", now=now(), subresource=options.subresource
        )
        return result

    # ----------------------------------------------------------------- update

    def replace(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        body: KubeObject,
        options: WriteOptions,
        *,
        owned: bool = False,
    ) -> KubeObject:
        """PUT: replace the object (or its status), with optimistic concurrency."""
        obj = body if owned else copy.deepcopy(body)
        self._check_type(resource, obj)
        metadata = obj.setdefault("metadata", {})
        if metadata.get("name") and metadata["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({metadata['name']}) does not match the name on the URL ({name})"
            )
        metadata["name"] = name
        self._place(resource, namespace, obj)
        with self.store.lock:
            old = self.store.get(resource.key, namespace if resource.namespaced else "", name)
            if old is None:
                if resource.key == ("", "endpoints") and not options.subresource:
                    return self._create_locked(resource, obj, options, managed=False)
                raise errors.not_found(resource.plural, resource.group, name)
            return self._update_locked(resource, old, obj, options, managed=False)

    def _update_locked(
        self,
        resource: ResourceType,
        old: KubeObject,
        new: KubeObject,
        options: WriteOptions,
        *,
        managed: bool,
    ) -> KubeObject:
        metadata, old_metadata = new.setdefault("metadata", {}), old["metadata"]
        name = old_metadata["name"]
        wanted = metadata.get("resourceVersion")
        if wanted and wanted != old_metadata.get("resourceVersion"):
            raise errors.conflict(resource.plural, resource.group, name, errors.STALE)
        if not wanted and resource.custom and not managed:
            raise errors.invalid(
                resource.kind,
                resource.group,
                name,
                [errors.invalid_value("metadata.resourceVersion", "0x0", "must be specified for an update")],
            )
        for kept in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "namespace",
        ):
            if kept in old_metadata:
                metadata[kept] = old_metadata[kept]
            else:
                metadata.pop(kept, None)
        metadata["resourceVersion"] = old_metadata["resourceVersion"]
        new["apiVersion"], new["kind"] = resource.api_version, resource.kind
        if options.subresource == "status":
            merged = copy.deepcopy(old)
            merged["status"] = new.get("status", {})
            if "managedFields" in metadata:
                merged["metadata"]["managedFields"] = metadata["managedFields"]
            new = merged
        elif options.subresource == "finalize":
            merged = copy.deepcopy(old)
            merged["spec"]["finalizers"] = new.get("spec", {}).get("finalizers") or []
            new = merged
        elif resource.has_status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        apply_defaults(resource.key, new)
        if not managed:  # managedFields before admission and allocation, as kube-apiserver records them
            new = self._record_update(old, new, options)
        if not options.subresource:
            self._mutate(resource, new)
        metadata = new["metadata"]
        causes = self._server_rules(resource, new, old) if not options.subresource else []
        causes += validate(resource, new, old)
        if causes:
            raise errors.invalid(resource.kind, resource.group, name, causes)
        for admit in self.hooks.admit:
            admit(resource, new, old)
        if resource.generation:
            metadata["generation"] = old_metadata.get("generation", 1)
            if _spec_changed(resource, old, new):
                metadata["generation"] += 1
        if old_metadata.get("deletionTimestamp") and _finalized(new):
            if options.dry_run:
                return new
            gone = self.store.remove(resource.key, new)
            self._deleted(resource, gone)
            return gone
        if _same(old, new, managed=managed):
            return old
        if options.dry_run:
            return new
        stored = self.store.put(resource.key, new, event="MODIFIED")
        for hook in self.hooks.after_update:
            hook(resource, stored)
        if old_metadata.get("deletionTimestamp"):
            self.kick()
        return stored

    # ----------------------------------------------------------------- patch

    def patch(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        body: bytes,
        content_type: str,
        options: WriteOptions,
    ) -> tuple[int, KubeObject]:
        """PATCH with one of the four patch types; returns (HTTP code, object)."""
        media = content_type.split(";", 1)[0].strip()
        accepted = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH] + ([] if resource.custom else [STRATEGIC_PATCH])
        if media not in accepted:
            raise errors.unsupported_media_type(media, accepted)
        patching = _patching()
        if patching is None and media != APPLY_PATCH:
            raise errors.ApiError(500, "InternalError", "patch engine not available")
        try:
            document: Any = yaml_or_json(body) if media == APPLY_PATCH else json.loads(body or b"null")
        except (ValueError, yaml.YAMLError) as exc:
            raise errors.bad_request(f"error decoding patch: {exc}") from exc
        if media == APPLY_PATCH:
            return self._apply(resource, namespace, name, document, options)
        with self.store.lock:
            old = self.store.get(resource.key, namespace if resource.namespaced else "", name)
            if old is None:
                raise errors.not_found(resource.plural, resource.group, name)
            try:
                if media == JSON_PATCH:
                    if not isinstance(document, list):
                        raise errors.bad_request(
                            "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
                        )
                    patched = patching.apply_json_patch(copy.deepcopy(old), document)
                elif not isinstance(document, dict):
                    raise errors.bad_request("error decoding patch: the patch is not a JSON object")
                elif media == MERGE_PATCH:
                    patched = patching.apply_merge_patch(copy.deepcopy(old), document)
                else:
                    patched = patching.apply_strategic_merge_patch(copy.deepcopy(old), document)
            except patching.PatchError as exc:
                raise errors.ApiError(exc.code, exc.reason, exc.message) from exc
            patched_metadata = patched.setdefault("metadata", {})
            if patched_metadata.get("name", name) != name:
                raise errors.bad_request(
                    f"the name of the object ({patched_metadata['name']}) "
                    f"does not match the name on the URL ({name})"
                )
            patched_metadata["name"] = name
            if resource.namespaced:
                patched_metadata["namespace"] = namespace
            if not patched_metadata.get("resourceVersion"):
                patched_metadata["resourceVersion"] = old["metadata"]["resourceVersion"]
            return 200, self._update_locked(resource, old, patched, options, managed=False)

    def _apply(
        self, resource: ResourceType, namespace: str, name: str, applied: Any, options: WriteOptions
    ) -> tuple[int, KubeObject]:
        if not options.manager:
            raise errors.bad_request("PATCH, application/apply-patch+yaml requires fieldManager to be set")
        if not isinstance(applied, dict):
            raise errors.bad_request("error decoding YAML: the apply configuration must be an object")
        self._check_type(resource, applied)
        if not applied.get("apiVersion") or not applied.get("kind"):
            raise errors.bad_request("apiVersion and kind must be set in the apply configuration")
        applied_metadata = applied.setdefault("metadata", {})
        if applied_metadata.get("name", name) != name:
            raise errors.bad_request(
                f"the name of the object ({applied_metadata['name']}) "
                f"does not match the name on the URL ({name})"
            )
        management = _field_management()
        if management is None:
            raise errors.ApiError(500, "InternalError", "server-side apply engine not available")
        with self.store.lock:
            old = self.store.get(resource.key, namespace if resource.namespaced else "", name)
            try:
                result = management.server_side_apply(
                    copy.deepcopy(old) if old is not None else None,
                    copy.deepcopy(applied),
                    manager=options.manager,
                    force=options.force,
                    now=now(),
                    subresource=options.subresource,
                    status_is_subresource=resource.has_status,
                )
            except management.ApplyConflict as exc:
                raise _apply_conflict(resource, name, exc) from exc
            result.setdefault("metadata", {})["name"] = name
            if old is None:
                self._place(resource, namespace, result)
                result["metadata"].pop("resourceVersion", None)
                return 201, self._create_locked(resource, result, options, managed=True)
            if resource.namespaced:
                result["metadata"]["namespace"] = namespace
            wanted = applied_metadata.get("resourceVersion")
            result["metadata"]["resourceVersion"] = wanted or old["metadata"]["resourceVersion"]
            return 200, self._update_locked(resource, old, result, options, managed=True)

    # ----------------------------------------------------------------- delete

    def delete(
        self, resource: ResourceType, namespace: str, name: str, body: KubeObject, options: WriteOptions
    ) -> KubeObject:
        """DELETE one object: finalizers and propagation honoured; returns the object or a Status."""
        with self.store.lock:
            obj = self.store.get(resource.key, namespace if resource.namespaced else "", name)
            if obj is None:
                raise errors.not_found(resource.plural, resource.group, name)
            preconditions = body.get("preconditions") or {}
            if (
                preconditions.get("resourceVersion")
                and preconditions["resourceVersion"] != obj["metadata"]["resourceVersion"]
            ):
                raise errors.conflict(
                    resource.plural,
                    resource.group,
                    name,
                    "the ResourceVersion in the precondition "
                    f"({preconditions['resourceVersion']}) does not match the "
                    f"ResourceVersion in record ({obj['metadata']['resourceVersion']}). "
                    "The object might have been "
                    "modified",
                )
            if preconditions.get("uid") and preconditions["uid"] != obj["metadata"]["uid"]:
                raise errors.conflict(
                    resource.plural,
                    resource.group,
                    name,
                    f"the UID in the precondition ({preconditions['uid']}) does not match the UID in record "
                    f"({obj['metadata']['uid']}). The object might have been deleted and then recreated",
                )
            return self._delete_locked(
                resource, obj, _propagation(resource, body), options, grace=body.get("gracePeriodSeconds")
            )

    def _delete_locked(
        self,
        resource: ResourceType,
        obj: KubeObject,
        propagation: str,
        options: WriteOptions,
        *,
        grace: Any = None,
    ) -> KubeObject:
        metadata = obj["metadata"]
        if metadata.get("deletionTimestamp"):
            return self.present(resource, obj)
        if resource.key == ("", "pods"):  # graceful deletion (termination.py)
            marked = self.termination.begin(obj, grace, dry_run=options.dry_run)
            if marked is not None:
                self.kick()
                return self.present(resource, marked)
        finalizers = list(metadata.get("finalizers") or [])
        if propagation == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        if propagation == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        namespace_finalizers = resource.key == ("", "namespaces")
        if finalizers or namespace_finalizers:
            marked = copy.deepcopy(obj)
            marked["metadata"]["deletionTimestamp"] = now()
            marked["metadata"]["deletionGracePeriodSeconds"] = 0
            if finalizers:
                marked["metadata"]["finalizers"] = finalizers
            if namespace_finalizers:
                marked.setdefault("status", {})["phase"] = "Terminating"
            if options.dry_run:
                return marked
            stored = self.store.put(resource.key, marked, event="MODIFIED")
            self.kick()
            return self.present(resource, stored)
        returns_object = resource.custom or resource.key in RETURNS_DELETED_OBJECT
        if options.dry_run:
            if returns_object:
                return self.present(resource, obj)
            return errors.success(metadata["name"], resource.group, resource.plural, metadata["uid"])
        gone = self.store.remove(resource.key, obj)
        self._deleted(resource, gone)
        if returns_object:
            return self.present(resource, gone)
        return errors.success(metadata["name"], resource.group, resource.plural, metadata["uid"])

    def _deleted(self, resource: ResourceType, gone: KubeObject) -> None:
        for hook in self.hooks.after_delete:
            hook(resource, gone)
        self.kick()

    def delete_collection(
        self,
        resource: ResourceType,
        namespace: str | None,
        query: dict[str, str],
        body: KubeObject,
        options: WriteOptions,
    ) -> KubeObject:
        """DELETE on a collection: every selected object; returns the list of what was deleted."""
        listing = self.list(
            resource, namespace, {k: v for k, v in query.items() if k in ("labelSelector", "fieldSelector")}
        )
        deleted = []
        with self.store.lock:
            for item in listing["items"]:
                current = self.store.get(
                    resource.key, item["metadata"].get("namespace", ""), item["metadata"]["name"]
                )
                if current is not None:
                    self._delete_locked(resource, current, _propagation(resource, body), options)
                    deleted.append(self.present(resource, current))
        listing["items"] = deleted
        return listing

    def delete_internal(
        self, resource: ResourceType, obj: KubeObject, *, propagation: str = "Background"
    ) -> None:
        """Delete as a controller does (no request, no options)."""
        with self.store.lock:
            current = self.store.get(
                resource.key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
            )
            if current is not None and current["metadata"]["uid"] == obj["metadata"]["uid"]:
                self._delete_locked(resource, current, propagation, WriteOptions())

    def update_internal(self, resource: ResourceType, new: KubeObject, *, manager: str = "") -> KubeObject:
        """Write ``new`` as a controller does: no validation or defaulting, RV checked if set."""
        with self.store.lock:
            metadata = new["metadata"]
            old = self.store.get(resource.key, metadata.get("namespace", ""), metadata["name"])
            if old is None:
                raise errors.not_found(resource.plural, resource.group, metadata["name"])
            if (
                metadata.get("resourceVersion")
                and metadata["resourceVersion"] != old["metadata"]["resourceVersion"]
            ):
                raise errors.conflict(resource.plural, resource.group, metadata["name"], errors.STALE)
            if old["metadata"].get("deletionTimestamp") and _finalized(new):
                gone = self.store.remove(resource.key, new)
                self._deleted(resource, gone)
                return gone
            if _same(old, new):
                return old
            if manager:
                new = self._record_update(old, new, WriteOptions(manager=manager))
            stored = self.store.put(resource.key, new, event="MODIFIED")
            for hook in self.hooks.after_update:
                hook(resource, stored)
            return stored

    def create_internal(self, resource: ResourceType, obj: KubeObject, *, manager: str = "") -> KubeObject:
        """Create as a controller does: full pipeline, manager named."""
        return self.create(resource, obj["metadata"].get("namespace", ""), obj, WriteOptions(manager=manager))


def _finalized(obj: KubeObject) -> bool:
    """Whether a deleting object has no finalizers left (a Namespace's ``spec.finalizers`` count too)."""
    if obj["metadata"].get("finalizers"):
        return False
    return not (obj.get("kind") == "Namespace" and obj.get("spec", {}).get("finalizers"))


def _apply_conflict(resource: ResourceType, name: str, exc: Any) -> errors.ApiError:
    conflicts = list(getattr(exc, "conflicts", []))
    message = getattr(exc, "message", "") or str(exc)
    causes = [
        {"reason": "FieldManagerConflict", "message": f'conflict with "{m}"', "field": p}
        for m, p in conflicts
    ]
    if hasattr(exc, "as_status"):
        rendered = exc.as_status().get("details", {}).get("causes", [])
        causes = [
            {
                "reason": c.get("reason") or c.get("type", "FieldManagerConflict"),
                "message": c["message"],
                "field": c["field"],
            }
            for c in rendered
        ]
    details: dict[str, Any] = {"name": name, "kind": resource.plural, "causes": causes}
    if resource.group:
        details["group"] = resource.group
    return errors.ApiError(409, "Conflict", message, details=details)


def _propagation(resource: ResourceType, body: KubeObject) -> str:
    policy = body.get("propagationPolicy")
    if policy in ("Foreground", "Background", "Orphan"):
        return str(policy)
    if policy:
        raise errors.bad_request(
            f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "{policy}": '
            'supported values: "Foreground", "Background", "Orphan", "nil"'
        )
    if body.get("orphanDependents") is True:
        return "Orphan"
    if resource.key == ("batch", "jobs") and body.get("orphanDependents") is None:
        return "Orphan"
    return "Background"


def _sort_key(obj: KubeObject) -> str:
    metadata = obj["metadata"]
    return f"{metadata.get('namespace', '')}/{metadata['name']}"


def _encode_continue(version: int, start: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"rv": version, "start": start}).encode()).decode()


def _same(old: KubeObject, new: KubeObject, *, managed: bool = False) -> bool:
    """Whether a write changes nothing (then the real server keeps the resourceVersion)."""

    def strip(obj: KubeObject) -> KubeObject:
        metadata = {
            k: v for k, v in obj.get("metadata", {}).items() if k not in ("resourceVersion", "managedFields")
        }
        if managed:
            metadata["managedFields"] = [
                {k: v for k, v in entry.items() if k != "time"}
                for entry in obj["metadata"].get("managedFields") or []
            ]
        return {**obj, "metadata": metadata}

    return strip(old) == strip(new)


def _spec_changed(resource: ResourceType, old: KubeObject, new: KubeObject) -> bool:
    if resource.custom and not resource.has_status:
        strip = {"metadata", "status"} if resource.has_status else {"metadata"}
        return {k: v for k, v in old.items() if k not in strip} != {
            k: v for k, v in new.items() if k not in strip
        }
    return old.get("spec") != new.get("spec") or (
        resource.custom
        and {k: v for k, v in old.items() if k not in ("metadata", "status")}
        != {k: v for k, v in new.items() if k not in ("metadata", "status")}
    )
