"""A side's workloads during a DR operation: record their replica counts, stop them, start them again.

A *side* is one cluster and namespace of a mapping (the source, or the DR copy). The DR copy is kept at
rest by the transform rules (:mod:`tasks.transform.workloads`): Deployments and StatefulSets at 0 (or the
``dr-syncer.io/scale-override`` count), CronJobs suspended, DaemonSets parked on a node selector no node
has. Cutover and failback put a side at rest the same way and bring it back:

- :func:`record_replicas` writes each Deployment's and StatefulSet's count into its
  ``dr-syncer.io/original-replicas`` annotation and returns the counts (a workload already stopped by an
  earlier attempt keeps its recorded count: a retry never records 0);
- :func:`stop_side` scales to 0, suspends CronJobs (remembering ``dr-syncer.io/original-suspend``) and
  parks DaemonSets;
- :func:`start_side` scales to given counts, resumes CronJobs that were not suspended originally and
  unparks DaemonSets.

Every change is a merge patch with field manager ``dr-syncer-operations``; patches are built by pure
functions (``*_patch``) so they are unit-tested without a cluster. Only the workloads the mapping syncs
are touched (its kinds, its filters: ignore label, excludes, label selector, controller-owned objects).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drsyncer import labels
from drsyncer.config.effective import EffectiveMapping
from drsyncer.kube.client import KubeClient, object_path
from drsyncer.objects import KubeObject, object_name
from tasks.filter.rules import skip_reason
from tasks.mapping_contexts import filter_context

OPERATIONS_MANAGER = "dr-syncer-operations"
"""Field manager of the patches DR operations send (the sync's own manager is ``dr-syncer``)."""

DEFAULT_REPLICAS = 1


@dataclass(frozen=True)
class WorkloadKind:
    """One workload kind DR operations handle."""

    kind: str
    group: str
    version: str
    plural: str

    def path(self, namespace: str, name: str | None = None) -> str:
        """The REST path of the collection (``name=None``) or of one object."""
        return object_path(
            group=self.group, version=self.version, plural=self.plural, namespace=namespace, name=name
        )


DEPLOYMENT = WorkloadKind("Deployment", "apps", "v1", "deployments")
STATEFULSET = WorkloadKind("StatefulSet", "apps", "v1", "statefulsets")
DAEMONSET = WorkloadKind("DaemonSet", "apps", "v1", "daemonsets")
CRONJOB = WorkloadKind("CronJob", "batch", "v1", "cronjobs")
JOB = WorkloadKind("Job", "batch", "v1", "jobs")
WORKLOAD_KINDS = (DEPLOYMENT, STATEFULSET, DAEMONSET, CRONJOB, JOB)
SUSPENDABLE = (CRONJOB.kind, JOB.kind)
"""Kinds at rest with ``spec.suspend: true`` (Jobs only when the mapping lists them)."""
SCALABLE = (DEPLOYMENT, STATEFULSET)
KINDS_BY_NAME = {kind.kind: kind for kind in WORKLOAD_KINDS}


@dataclass(frozen=True)
class Side:
    """One side of a mapping in an operation: a connected client, its namespace and its role."""

    client: KubeClient
    namespace: str
    role: str
    """``source`` or ``dr`` (the mapping's roles, whatever the direction of the operation)."""

    @property
    def cluster(self) -> str:
        """The cluster's name in the configuration."""
        return self.client.cluster


@dataclass
class SideChange:
    """What one stop or start did to a side: ``Kind/name`` → what changed (``3 → 0``, ``suspended``...)."""

    changes: dict[str, str]

    @property
    def count(self) -> int:
        """Objects changed."""
        return sum(1 for change in self.changes.values() if change != "unchanged")


def workload_ref(obj: KubeObject) -> str:
    """``Kind/name`` of a workload."""
    return f"{obj.get('kind', '?')}/{object_name(obj)}"


def _annotations(obj: KubeObject) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def _parse_count(text: str | None) -> int | None:
    try:
        value = int(str(text).strip())
    except ValueError:
        return None
    return value if value >= 0 else None


def replicas_of(obj: KubeObject) -> int:
    """``spec.replicas`` (the API server's default 1 when omitted)."""
    value = (obj.get("spec") or {}).get("replicas")
    return DEFAULT_REPLICAS if value is None else int(value)


def kinds_of(mapping: EffectiveMapping) -> tuple[WorkloadKind, ...]:
    """The workload kinds ``mapping`` syncs."""
    return tuple(kind for kind in WORKLOAD_KINDS if kind.plural in mapping.resource_types)


def list_workloads(side: Side, mapping: EffectiveMapping) -> list[KubeObject]:
    """The side's workloads that ``mapping`` syncs, in kind order then by name."""
    context = filter_context(mapping)
    found: list[KubeObject] = []
    for kind in kinds_of(mapping):
        items, _ = side.client.list(kind.path(side.namespace))
        for item in sorted(items, key=object_name):
            item.setdefault("kind", kind.kind)
            if skip_reason(item, context) is None:
                found.append(item)
    return found


# --- pure patch builders ------------------------------------------------------------------------


def recorded_count(obj: KubeObject) -> int:
    """The count to record for a Deployment/StatefulSet: its replicas, or the recorded count when it is
    at 0 and already carries one (stopped by an earlier attempt of an operation)."""
    current = replicas_of(obj)
    recorded = _parse_count(_annotations(obj).get(labels.ORIGINAL_REPLICAS))
    if current == 0 and recorded is not None:
        return recorded
    return current


def record_patch(obj: KubeObject, count: int) -> dict[str, Any] | None:
    """The patch writing ``count`` into ``original-replicas`` (``None`` when it is already there)."""
    if _annotations(obj).get(labels.ORIGINAL_REPLICAS) == str(count):
        return None
    return {"metadata": {"annotations": {labels.ORIGINAL_REPLICAS: str(count)}}}


def stop_patch(obj: KubeObject) -> tuple[dict[str, Any] | None, str]:
    """The patch that puts one workload at rest, and a word on what it does."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind in (DEPLOYMENT.kind, STATEFULSET.kind):
        current = replicas_of(obj)
        return (None, "unchanged") if current == 0 else ({"spec": {"replicas": 0}}, f"{current} → 0")
    if kind in SUSPENDABLE:
        if spec.get("suspend"):
            return None, "unchanged"
        annotations = {labels.ORIGINAL_SUSPEND: "false"}
        return {"metadata": {"annotations": annotations}, "spec": {"suspend": True}}, "suspended"
    if kind == DAEMONSET.kind:
        selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
        if selector.get(labels.PARKED) == "true":
            return None, "unchanged"
        parked = {"template": {"spec": {"nodeSelector": {labels.PARKED: "true"}}}}
        return {"spec": parked}, "parked"
    return None, "unchanged"


def start_patch(obj: KubeObject, counts: dict[str, int]) -> tuple[dict[str, Any] | None, str]:
    """The patch that brings one workload back: the count in ``counts`` (by ``Kind/name``; else its
    ``original-replicas`` annotation), CronJobs resumed unless originally suspended, DaemonSets unparked."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    annotations = _annotations(obj)
    if kind in (DEPLOYMENT.kind, STATEFULSET.kind):
        wanted = counts.get(workload_ref(obj))
        if wanted is None:
            wanted = _parse_count(annotations.get(labels.ORIGINAL_REPLICAS))
        current = replicas_of(obj)
        if wanted is None or wanted == current:
            return None, "unchanged"
        return {"spec": {"replicas": wanted}}, f"{current} → {wanted}"
    if kind in SUSPENDABLE:
        original = annotations.get(labels.ORIGINAL_SUSPEND)
        suspend = original == "true"
        if original not in ("true", "false") or bool(spec.get("suspend")) == suspend:
            return None, "unchanged"
        return {"spec": {"suspend": suspend}}, "suspended" if suspend else "resumed"
    if kind == DAEMONSET.kind:
        selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
        if labels.PARKED not in selector:
            return None, "unchanged"
        return {"spec": {"template": {"spec": {"nodeSelector": {labels.PARKED: None}}}}}, "unparked"
    return None, "unchanged"


# --- effects ------------------------------------------------------------------------------------


def _patch(side: Side, obj: KubeObject, patch: dict[str, Any]) -> None:
    kind = KINDS_BY_NAME[str(obj["kind"])]
    side.client.patch(kind.path(side.namespace, object_name(obj)), patch, field_manager=OPERATIONS_MANAGER)


def record_replicas(side: Side, mapping: EffectiveMapping) -> dict[str, int]:
    """Record every Deployment's and StatefulSet's count on the side; return ``Kind/name`` → count."""
    counts: dict[str, int] = {}
    for obj in list_workloads(side, mapping):
        if obj.get("kind") not in (DEPLOYMENT.kind, STATEFULSET.kind):
            continue
        count = recorded_count(obj)
        counts[workload_ref(obj)] = count
        patch = record_patch(obj, count)
        if patch is not None:
            _patch(side, obj, patch)
    return counts


def stop_side(side: Side, mapping: EffectiveMapping) -> SideChange:
    """Put every workload of the side at rest (0 replicas, CronJobs suspended, DaemonSets parked)."""
    changes: dict[str, str] = {}
    for obj in list_workloads(side, mapping):
        patch, change = stop_patch(obj)
        if patch is not None:
            _patch(side, obj, patch)
        changes[workload_ref(obj)] = change
    return SideChange(changes)


def start_side(side: Side, mapping: EffectiveMapping, counts: dict[str, int]) -> SideChange:
    """Bring every workload of the side back to ``counts`` (or its recorded count), resume, unpark."""
    changes: dict[str, str] = {}
    for obj in list_workloads(side, mapping):
        patch, change = start_patch(obj, counts)
        if patch is not None:
            _patch(side, obj, patch)
        changes[workload_ref(obj)] = change
    return SideChange(changes)


def side_state(side: Side, mapping: EffectiveMapping) -> dict[str, str]:
    """A one-word-per-workload picture of the side (for failure reports): ``3/3 ready``, ``suspended``..."""
    state: dict[str, str] = {}
    for obj in list_workloads(side, mapping):
        status = obj.get("status") or {}
        spec = obj.get("spec") or {}
        if obj.get("kind") in SUSPENDABLE:
            state[workload_ref(obj)] = "suspended" if spec.get("suspend") else "active"
        elif obj.get("kind") == DAEMONSET.kind:
            selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
            parked = "parked, " if labels.PARKED in selector else ""
            state[workload_ref(obj)] = f"{parked}{status.get('numberReady', 0)} pods ready"
        else:
            state[workload_ref(obj)] = f"{status.get('readyReplicas', 0)}/{replicas_of(obj)} ready"
    return state


def at_rest_problems(workloads: list[KubeObject]) -> dict[str, str]:
    """DR workloads not at rest as the transform rules leave them (``Kind/name`` → what is wrong).

    At rest: Deployments/StatefulSets at 0, CronJobs suspended, DaemonSets parked — except workloads
    labelled ``dr-syncer.io/scale-override``, which run on DR as configured.
    """
    problems: dict[str, str] = {}
    for obj in workloads:
        if labels.SCALE_OVERRIDE in ((obj.get("metadata") or {}).get("labels") or {}):
            continue
        spec = obj.get("spec") or {}
        kind = obj.get("kind")
        if kind in (DEPLOYMENT.kind, STATEFULSET.kind) and replicas_of(obj) != 0:
            problems[workload_ref(obj)] = f"{replicas_of(obj)} replicas"
        elif kind in SUSPENDABLE and not spec.get("suspend"):
            problems[workload_ref(obj)] = "not suspended"
        elif kind == DAEMONSET.kind:
            selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
            if selector.get(labels.PARKED) != "true":
                problems[workload_ref(obj)] = "not parked"
    return problems
