"""PersistentVolumeClaim rules: a fresh claim in DR, on DR's storage, with the source's size.

A source claim is bound to a volume of the source cluster; its DR copy must be a new, unbound claim that
the DR cluster provisions. Storage classes and access modes are mapped per the mapping's ``pvcConfig``,
the binding and provisioning traces are removed, and — since claim specs are immutable — an existing DR
claim keeps its spec and only ever grows (``reconcile_pvc_with_live``, used by the planner's caller).
"""

from __future__ import annotations

import copy
from typing import Any

from drsyncer import labels
from drsyncer.objects import KubeObject
from tasks.transform.context import TransformContext
from tasks.transform.edits import Edit, RemoveField, SetField
from tasks.transform.quantities import parse_quantity

BINDING_ANNOTATIONS = (
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.kubernetes.io/selected-node",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
)
VOLUME_ATTRIBUTES = ("volumeMode", "selector", "dataSource", "dataSourceRef")
DROPPED_VOLUME_ATTRIBUTES = ("selector", "dataSource", "dataSourceRef")
IMMUTABLE_SPEC_FIELDS = ("storageClassName", "accessModes", "volumeName", *VOLUME_ATTRIBUTES)


def _spec(obj: KubeObject) -> dict[str, Any]:
    return dict(obj.get("spec") or {})


def map_storage_class(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Choose the DR storage class.

    The PVC label `dr-syncer.io/storage-class` wins; otherwise the first `storageClassMappings` entry
    whose `from` is the source class sets `to`; otherwise the class is kept (a claim without a class
    stays without one). Unlike DR-Syncer, the label is honoured even when no mappings are configured.
    Mapping tables should not chain (A→B, B→C): a chained table maps an already mapped claim again.
    Applies to PersistentVolumeClaims.
    """
    current = _spec(obj).get("storageClassName")
    chosen = ((obj.get("metadata") or {}).get("labels") or {}).get(labels.STORAGE_CLASS)
    if chosen is None:
        chosen = next((to for source, to in ctx.storage_class_mappings if source == current), current)
    if chosen is None or chosen == current:
        return []
    return [SetField(("spec", "storageClassName"), chosen, f"storage class {current!r} → {chosen!r}")]


def map_access_modes(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Map each access mode through `accessModeMappings`, one lookup per mode.

    The first entry whose `from` equals the mode replaces it; mappings do not cascade (with A→B and
    B→C, A becomes B — DR-Syncer turned it into C). Duplicates produced by the mapping are removed,
    keeping the first. Applies to PersistentVolumeClaims.
    """
    modes = list(_spec(obj).get("accessModes") or [])
    lookup = dict(reversed(ctx.access_mode_mappings))
    mapped: list[str] = []
    for mode in modes:
        new_mode = lookup.get(mode, mode)
        if new_mode not in mapped:
            mapped.append(new_mode)
    if mapped == modes:
        return []
    return [SetField(("spec", "accessModes"), mapped, f"access modes {modes} → {mapped}")]


def clear_volume_name(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Clear `spec.volumeName` unless `syncPersistentVolumes`.

    The source claim's volume exists only in the source cluster; the DR claim is provisioned afresh.
    Applies to PersistentVolumeClaims.
    """
    if ctx.sync_persistent_volumes or "volumeName" not in _spec(obj):
        return []
    return [RemoveField(("spec", "volumeName"), "the source volume is not in DR")]


def drop_binding_annotations(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Drop the annotations the source's volume controller wrote.

    Removes `pv.kubernetes.io/bind-completed`, `pv.kubernetes.io/bound-by-controller`,
    `volume.kubernetes.io/selected-node` and the provisioner annotations
    `volume.beta.kubernetes.io/storage-provisioner` / `volume.kubernetes.io/storage-provisioner`
    (DR-Syncer kept the last two, which misleads the DR provisioner when the class is remapped). All
    other labels and annotations are kept exactly. Applies to PersistentVolumeClaims.
    """
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return [
        RemoveField(("metadata", "annotations", key), "written by the source volume controller")
        for key in BINDING_ANNOTATIONS
        if key in annotations
    ]


def drop_volume_attributes(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Drop `selector`, `dataSource` and `dataSourceRef` unless preserved; always keep `volumeMode`.

    `volumeMode` is always kept: a `Block` claim stays `Block` in DR (its consumers expect a device,
    and the data copy must land on the same kind of volume). The others name source-cluster volumes
    and snapshots and are kept only with `preserveVolumeAttributes` or `syncPersistentVolumes`
    (DR-Syncer's defaults and behaviour). Applies to PersistentVolumeClaims.
    """
    if ctx.preserve_volume_attributes or ctx.sync_persistent_volumes:
        return []
    spec = _spec(obj)
    return [
        RemoveField(("spec", field), "volume attributes not preserved")
        for field in DROPPED_VOLUME_ATTRIBUTES
        if field in spec
    ]


def map_claim_templates(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Map the storage class and access modes of a StatefulSet's `volumeClaimTemplates`.

    Each template gets exactly the claim rules `map_storage_class` (its own
    `dr-syncer.io/storage-class` label wins) and `map_access_modes`, so replicas DR creates later get
    claims DR can provision. Templates are immutable: when an existing DR StatefulSet's templates
    would change, the plan says so on that StatefulSet and `immutableResourceConfig` decides (keep it,
    or Recreate). Applies to StatefulSets.
    """
    edits: list[Edit] = []
    for index, template in enumerate(_spec(obj).get("volumeClaimTemplates") or []):
        if not isinstance(template, dict):
            continue
        base = ("spec", "volumeClaimTemplates", index)
        for edit in (*map_storage_class(template, ctx), *map_access_modes(template, ctx)):
            if isinstance(edit, SetField):
                edits.append(SetField((*base, *edit.path), edit.value, f"claim template: {edit.note}"))
    return edits


def reconcile_pvc_with_live(desired: KubeObject, live: KubeObject) -> KubeObject:
    """Return ``desired`` adjusted to an existing DR claim ``live``: keep its spec, only ever grow.

    The claim spec is immutable once created except for the storage request, which may only grow. So
    the result keeps ``live``'s ``storageClassName``, ``accessModes``, ``volumeName``, ``volumeMode``,
    ``selector``, ``dataSource`` and ``dataSourceRef`` and requests the larger of the two storage sizes
    (compared as quantities: ``1Gi`` == ``1024Mi``; the live spelling is kept when they are equal).
    Labels, annotations and everything else follow ``desired``. Neither input is changed.
    """
    result = copy.deepcopy(desired)
    spec = result.setdefault("spec", {})
    live_spec = live.get("spec") or {}
    for field in IMMUTABLE_SPEC_FIELDS:
        if field in live_spec:
            spec[field] = copy.deepcopy(live_spec[field])
        else:
            spec.pop(field, None)
    live_size = ((live_spec.get("resources") or {}).get("requests") or {}).get("storage")
    wanted = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if live_size is not None and (wanted is None or _not_larger(wanted, live_size)):
        spec.setdefault("resources", {}).setdefault("requests", {})["storage"] = live_size
    return result


def _not_larger(wanted: Any, live_size: Any) -> bool:
    try:
        return parse_quantity(wanted) <= parse_quantity(live_size)
    except ValueError:
        return False
