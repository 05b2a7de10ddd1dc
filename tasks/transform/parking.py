"""Parking rules for scalers and custom workload kinds: in DR they exist but do not run, until cutover.

A KEDA ScaledObject in DR would scale its (parked, 0-replica) Deployment back up to ``minReplicaCount``
— and DR pods would consume production queues. KEDA's own pause annotation stops it:
``autoscaling.keda.sh/paused-replicas: "0"``. Other kinds that run things (Argo Rollouts, an operator's
instance count) are parked per the mapping's ``workloadParking``: a replica field set to 0, or
annotations added. Everything here is undone at cutover and redone at failback by
:mod:`tasks.dr.parking`, from what the DR copy records:

- a replica field: the source count in ``dr-syncer.io/original-replicas`` (as for Deployments);
- annotations: the source's own values of those keys in ``dr-syncer.io/parked-annotations`` (JSON,
  ``null`` for a key the source did not have).

HorizontalPodAutoscalers are left as they are: the HPA controller does nothing while its target has 0
replicas (condition ``ScalingActive`` False), so a parked Deployment stays at 0.
"""

from __future__ import annotations

import json
from typing import Any

from drsyncer import labels
from drsyncer.objects import KubeObject
from tasks.field_paths import MISSING, FieldPath, format_path, lookup
from tasks.transform.context import TransformContext, WorkloadParking
from tasks.transform.edits import Edit, SetField
from tasks.transform.workloads import DEFAULT_REPLICAS, dr_replicas


def _annotations(obj: KubeObject) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def _labels(obj: KubeObject) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def _parse_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def parse_recorded_annotations(obj: KubeObject) -> dict[str, str | None] | None:
    """The source's own values recorded in ``dr-syncer.io/parked-annotations`` (None when absent/bad)."""
    text = _annotations(obj).get(labels.PARKED_ANNOTATIONS)
    if text is None:
        return None
    try:
        loaded = json.loads(text)
    except ValueError:
        return None
    if not isinstance(loaded, dict):
        return None
    return {str(key): None if value is None else str(value) for key, value in loaded.items()}


def original_annotations(obj: KubeObject, parking: WorkloadParking) -> dict[str, str | None]:
    """The source's own values of the parking annotations of ``obj``.

    When ``obj`` already is in the parked shape and carries a record (a DR copy of itself, e.g. after
    failback), the record is the truth; otherwise its current values are.
    """
    current = _annotations(obj)
    recorded = parse_recorded_annotations(obj)
    parked = all(current.get(key) == value for key, value in parking.annotations)
    if parked and recorded is not None and set(recorded) == {key for key, _ in parking.annotations}:
        return recorded
    return {key: current.get(key) for key, _ in parking.annotations}


def record_text(originals: dict[str, str | None]) -> str:
    """The JSON written into ``dr-syncer.io/parked-annotations`` (keys sorted, compact)."""
    return json.dumps(originals, sort_keys=True, separators=(",", ":"))


def original_count(obj: KubeObject, path: FieldPath, *, target_for: Any) -> int:
    """The source count of a replica field: its value, unless ``obj`` is already a DR copy of itself.

    ``target_for(count)`` is the DR count a source count becomes (so a parked copy is recognised).
    """
    value = lookup(obj, path)
    current = DEFAULT_REPLICAS if value is MISSING or value is None else _parse_int(value)
    recorded = _parse_int(_annotations(obj).get(labels.ORIGINAL_REPLICAS))
    if recorded is not None and current is not None and target_for(recorded) == current:
        return recorded
    return DEFAULT_REPLICAS if current is None else current


def park_workloads(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Park scalers and custom workload kinds: KEDA ScaledObjects and the `workloadParking` kinds.

    A KEDA ScaledObject (`keda.sh`) lands paused: `autoscaling.keda.sh/paused-replicas: "0"` (KEDA
    then holds its target at 0). A `workloadParking` entry (`group`, `kind` and either `replicasPath`
    or `annotations`) parks other kinds: the replica field is set to 0 (`scaleToZero`; the label
    `dr-syncer.io/scale-override` works as for Deployments) with the source count in
    `dr-syncer.io/original-replicas`, or the annotations are added with the source's own values of
    those keys in `dr-syncer.io/parked-annotations` (JSON, `null` when absent). Cutover undoes it,
    failback redoes it. HorizontalPodAutoscalers are left as they are: the HPA controller does
    nothing while its target has 0 replicas (condition `ScalingActive` False). Applies to the kinds
    listed (by API group and kind).
    """
    parking = ctx.parking_for(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    if parking is None:
        return []
    edits: list[Edit] = []
    if parking.replicas_path is not None:
        override = _labels(obj).get(labels.SCALE_OVERRIDE)

        def target_for(count: int) -> int:
            return dr_replicas(count, override, scale_to_zero=ctx.scale_to_zero)

        source = original_count(obj, parking.replicas_path, target_for=target_for)
        note = f"DR {format_path(parking.replicas_path)} (workloadParking)"
        edits.append(SetField(parking.replicas_path, target_for(source), note))
        edits.append(
            SetField(("metadata", "annotations", labels.ORIGINAL_REPLICAS), str(source), "source count")
        )
    if parking.annotations:
        originals = original_annotations(obj, parking)
        edits.extend(
            SetField(("metadata", "annotations", key), value, "parked in DR until cutover")
            for key, value in parking.annotations
        )
        edits.append(
            SetField(
                ("metadata", "annotations", labels.PARKED_ANNOTATIONS),
                record_text(originals),
                "source values of the parking annotations, for cutover",
            )
        )
    return edits
