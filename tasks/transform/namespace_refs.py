"""Namespace rules: move the object to the DR namespace and follow structured references there.

Second family in the catalogue. ``metadata.namespace`` always becomes the destination. When the mapping
renames the namespace, references that name the source namespace *as a field* (RoleBinding subjects, PV
claimRefs) follow it. Free text — env values, ConfigMap data — is rewritten only when the mapping asks
for it (``rewriteTextReferences``) and only for in-cluster service names ``<name>.<source-ns>.svc``.
"""

from __future__ import annotations

import re
from typing import Any

from drsyncer.objects import KubeObject
from tasks.field_paths import FieldPath, lookup
from tasks.transform.context import TransformContext
from tasks.transform.edits import Edit, RemoveField, SetField
from tasks.transform.pod_templates import CONTAINER_LISTS, pod_spec_path

_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"


def set_namespace(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Set `metadata.namespace` to the destination namespace.

    Cluster-scoped objects (no `metadata.namespace` in the source, e.g. CRDs, PersistentVolumes) are
    left cluster-scoped. Applies to every kind.
    """
    namespace = (obj.get("metadata") or {}).get("namespace")
    if not namespace or namespace == ctx.destination_namespace:
        return []
    return [SetField(("metadata", "namespace"), ctx.destination_namespace, "destination namespace")]


def rewrite_role_binding_subjects(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """With a renamed namespace, point RoleBinding subjects in the source namespace at the destination.

    A subject (usually a ServiceAccount) whose `namespace` is the source namespace gets the destination
    namespace; subjects in other namespaces, Users and Groups without a namespace are untouched.
    Applies to RoleBindings.
    """
    if not ctx.renames_namespace:
        return []
    return [
        SetField(("subjects", index, "namespace"), ctx.destination_namespace, "subject moved with namespace")
        for index, subject in enumerate(obj.get("subjects") or [])
        if isinstance(subject, dict) and subject.get("namespace") == ctx.source_namespace
    ]


def rewrite_persistent_volume_claim_ref(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Point a synced PersistentVolume's `claimRef` at the DR claim.

    Only with `syncPersistentVolumes`. The claimRef's `uid` and `resourceVersion` name the source
    claim and would stop the DR claim from binding, so they are dropped; a claimRef in the source
    namespace moves to the destination namespace. Applies to PersistentVolumes.
    """
    claim_ref = (obj.get("spec") or {}).get("claimRef")
    if not ctx.sync_persistent_volumes or not isinstance(claim_ref, dict):
        return []
    edits: list[Edit] = [
        RemoveField(("spec", "claimRef", field), "names the source claim")
        for field in ("uid", "resourceVersion")
        if field in claim_ref
    ]
    if claim_ref.get("namespace") == ctx.source_namespace and ctx.renames_namespace:
        edits.append(
            SetField(
                ("spec", "claimRef", "namespace"), ctx.destination_namespace, "claim moved with namespace"
            )
        )
    return edits


def rewrite_service_hostnames(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """With `rewriteTextReferences` and a renamed namespace, rewrite in-cluster service names in text.

    In container env `value`s and ConfigMap `data` values, `<name>.<source-ns>.svc` (and so also
    `<name>.<source-ns>.svc.cluster.local`) becomes `<name>.<destination-ns>.svc`. Nothing else in the
    text changes: a bare `<name>.<source-ns>` or the namespace name on its own is not rewritten, and
    `binaryData` is never touched. Off by default (DR-Syncer never rewrote text). Applies to
    ConfigMaps and every kind with a pod template.
    """
    if not (ctx.rewrite_text_references and ctx.renames_namespace):
        return []
    pattern = re.compile(rf"(?<![-a-z0-9])({_LABEL})\.{re.escape(ctx.source_namespace)}\.svc(?![-a-z0-9_])")
    replacement = rf"\1.{ctx.destination_namespace}.svc"
    edits: list[Edit] = []
    for path in _text_paths(obj):
        text = lookup(obj, path)
        new_text = pattern.sub(replacement, text)
        if new_text != text:
            edits.append(SetField(path, new_text, "service name moved with namespace"))
    return edits


def _text_paths(obj: KubeObject) -> list[FieldPath]:
    if obj.get("kind") == "ConfigMap":
        data = obj.get("data") or {}
        return [("data", key) for key in sorted(data) if isinstance(data[key], str)]
    spec_path = pod_spec_path(obj)
    if spec_path is None:
        return []
    pod_spec: Any = lookup(obj, spec_path)
    if not isinstance(pod_spec, dict):
        return []
    paths: list[FieldPath] = []
    for list_name in CONTAINER_LISTS:
        for c_index, container in enumerate(pod_spec.get(list_name) or []):
            for e_index, env in enumerate(container.get("env") or []):
                if isinstance(env.get("value"), str):
                    paths.append((*spec_path, list_name, c_index, "env", e_index, "value"))
    return paths
