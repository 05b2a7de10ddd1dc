"""Workload rules: DR copies of workloads exist but do not run (unless told to).

The standby promise of DR: every workload is in the DR namespace, ready for cutover, without competing
with the source. Deployments, StatefulSets and ReplicaSets are scaled (to 0 by default), CronJobs are
suspended and DaemonSets are parked on a node selector no node has. The label
``dr-syncer.io/scale-override`` on the source opts a workload out (an integer sets the DR replica count).
The annotations written here are the only bookkeeping dr-syncer adds to any object; cutover reads them.
"""

from __future__ import annotations

from drsyncer import labels
from drsyncer.objects import KubeObject
from tasks.transform.context import TransformContext
from tasks.transform.edits import Edit, SetField

DEFAULT_REPLICAS = 1
"""What the API server sets when ``spec.replicas`` is omitted."""


def _labels(obj: KubeObject) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def _annotations(obj: KubeObject) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def _annotate(key: str, value: str, note: str) -> SetField:
    return SetField(("metadata", "annotations", key), value, note)


def _parse_int(text: str | None) -> int | None:
    try:
        return int(str(text).strip())
    except ValueError:
        return None


def dr_replicas(source_replicas: int, override: str | None, *, scale_to_zero: bool) -> int:
    """Return the DR replica count for a workload with ``source_replicas`` and an override label value."""
    if override is not None:
        forced = _parse_int(override)
        return forced if forced is not None and 0 <= forced <= 2**31 - 1 else source_replicas
    return 0 if scale_to_zero else source_replicas


def _source_replicas(obj: KubeObject, override: str | None, *, scale_to_zero: bool) -> int:
    """The source count: the current replicas, unless the object is already a DR copy of itself."""
    current = (obj.get("spec") or {}).get("replicas")
    current_count = DEFAULT_REPLICAS if current is None else int(current)
    recorded = _parse_int(_annotations(obj).get(labels.ORIGINAL_REPLICAS))
    if recorded is not None and dr_replicas(recorded, override, scale_to_zero=scale_to_zero) == current_count:
        return recorded
    return current_count


def scale_replicas(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Set DR replicas and record the source count, exactly as DR-Syncer does.

    Replicas on DR: the label `dr-syncer.io/scale-override` with a non-negative integer value sets
    that count; any other value (e.g. `"true"`) keeps the source count; without the label, 0 when
    `scaleToZero` (the default), else the source count. The DR copy is annotated with
    `dr-syncer.io/original-replicas` (the source count; `"1"` when the source omits `spec.replicas`,
    because the API server defaults it to 1 — DR-Syncer wrote `"0"`) and
    `dr-syncer.io/source-namespace`. A source that already carries `original-replicas` (e.g. after a
    failback) has it refreshed from its `spec.replicas`, unless the object is exactly in the shape this
    rule produces from that annotation (so the rule is idempotent). Applies to Deployments,
    StatefulSets and ReplicaSets.
    """
    override = _labels(obj).get(labels.SCALE_OVERRIDE)
    source = _source_replicas(obj, override, scale_to_zero=ctx.scale_to_zero)
    target = dr_replicas(source, override, scale_to_zero=ctx.scale_to_zero)
    edits: list[Edit] = []
    current = (obj.get("spec") or {}).get("replicas")
    if current is not None or target != DEFAULT_REPLICAS:
        reason = (
            "scale-override" if override is not None else ("scaleToZero" if ctx.scale_to_zero else "source")
        )
        edits.append(SetField(("spec", "replicas"), target, f"DR replicas ({reason})"))
    edits.append(_annotate(labels.ORIGINAL_REPLICAS, str(source), "source replica count for cutover"))
    edits.append(_annotate(labels.SOURCE_NAMESPACE, ctx.source_namespace, "origin of the DR copy"))
    return edits


def suspend_cronjobs(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Suspend DR CronJobs unless the source carries `dr-syncer.io/scale-override`.

    Sets `spec.suspend: true`, so the DR copy schedules nothing until cutover. Annotates
    `dr-syncer.io/source-namespace` and `dr-syncer.io/original-suspend` (`"true"`/`"false"`, the
    source's own `suspend`) so a cutover with an unreachable source knows whether to resume it. With
    the override label, the CronJob is copied as is (plus `source-namespace`). Applies to CronJobs.
    """
    edits: list[Edit] = [_annotate(labels.SOURCE_NAMESPACE, ctx.source_namespace, "origin of the DR copy")]
    if labels.SCALE_OVERRIDE in _labels(obj):
        return edits
    suspended = bool((obj.get("spec") or {}).get("suspend"))
    recorded = _annotations(obj).get(labels.ORIGINAL_SUSPEND)
    original = recorded if suspended and recorded in ("true", "false") else str(suspended).lower()
    edits.append(SetField(("spec", "suspend"), True, "DR CronJobs stay suspended until cutover"))
    edits.append(_annotate(labels.ORIGINAL_SUSPEND, original, "source suspend state for cutover"))
    return edits


def park_daemonsets(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Park DR DaemonSets on a node selector no node has, unless scale-overridden.

    DaemonSets cannot scale to 0, so the pod template gets the node selector
    `dr-syncer.io/parked: "true"`; cutover removes exactly that key. Annotates
    `dr-syncer.io/source-namespace` only (`original-replicas` means nothing for a DaemonSet). With the
    label `dr-syncer.io/scale-override` the DaemonSet runs on DR as on the source. Applies to
    DaemonSets.
    """
    edits: list[Edit] = [_annotate(labels.SOURCE_NAMESPACE, ctx.source_namespace, "origin of the DR copy")]
    if labels.SCALE_OVERRIDE not in _labels(obj):
        path = ("spec", "template", "spec", "nodeSelector", labels.PARKED)
        edits.append(SetField(path, "true", "parked on DR until cutover"))
    return edits
