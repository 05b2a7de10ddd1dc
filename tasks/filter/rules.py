"""Filter checks: which source objects are not synced, and why.

Second stage of the pipeline, between discovery and transformation. ``filter_objects`` runs the ordered
``CHECKS`` over every discovered object; the first check that returns a reason skips the object. Skipped
objects appear in the plan and the report with that reason. (Which *kinds* are synced is decided earlier,
by discovery from ``resourceTypes``.) Pure: no I/O, inputs unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from drsyncer import labels
from drsyncer.objects import KubeObject, object_name, object_ref
from tasks.filter.per_cluster import PerClusterObject, per_cluster_reason
from tasks.filter.selectors import LabelSelector

NEVER_SYNCED_KINDS = frozenset(
    {"Pod", "Event", "Endpoints", "EndpointSlice", "Lease", "ControllerRevision", "Binding", "TokenReview"}
)


@dataclass(frozen=True)
class FilterContext:
    """What the filter checks know about the mapping.

    Attributes:
        exclude_resources: ``(kind, name)`` pairs never synced; kind compared case-insensitively.
        label_selector: When set, only objects whose labels match are synced.
        per_cluster_objects: The mapping's additions to the default list of per-cluster objects.
    """

    exclude_resources: tuple[tuple[str, str], ...] = ()
    label_selector: LabelSelector | None = None
    per_cluster_objects: tuple[PerClusterObject, ...] = ()


@dataclass(frozen=True)
class Skipped:
    """An object the filter left out: its ``Kind/name``, kind, name, the check and a reason."""

    obj_ref: str
    kind: str
    name: str
    check: str
    reason: str


@dataclass(frozen=True)
class FilterResult:
    """The objects to sync, in input order, and the skipped ones with reasons."""

    kept: list[KubeObject] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _labels(obj: KubeObject) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def never_synced_kind(obj: KubeObject, ctx: FilterContext) -> str | None:
    """Skip kinds that only make sense in their own cluster.

    Pods, Events, Endpoints, EndpointSlices, Leases and ControllerRevisions are created by the DR
    cluster's own controllers; copying them would be wrong or pointless. Discovery never asks for them;
    this check is the safety net.
    """
    kind = str(obj.get("kind", ""))
    return (
        f"{kind} objects are never synced (the DR cluster makes its own)"
        if kind in NEVER_SYNCED_KINDS
        else None
    )


def cluster_generated(obj: KubeObject, ctx: FilterContext) -> str | None:
    """Skip objects every namespace gets from its own cluster (per-cluster objects).

    Never copied: the CA bundles `kube-root-ca.crt`, `istio-ca-root-cert` and
    `openshift-service-ca.crt` (ConfigMaps), Secrets of type `kubernetes.io/service-account-token`
    (tokens signed by the source cluster; DR issues its own) and the Secrets `default-token-*` and
    `default-dockercfg-*`. The mapping's `perClusterObjects` (kind and name pattern) add to this
    list. The `default` ServiceAccount *is* synced, deliberately, but only for its
    `imagePullSecrets` (see `service_accounts.limit_service_account_secrets`).
    """
    return per_cluster_reason(obj, ctx.per_cluster_objects)


def controller_owned(obj: KubeObject, ctx: FilterContext) -> str | None:
    """Skip objects with a controller ownerReference: their owner is synced and recreates them.

    E.g. ReplicaSets of a Deployment, Jobs of a CronJob, cert-manager's CertificateRequests. Claims
    are the exception: a PVC owned by a StatefulSet (with a `persistentVolumeClaimRetentionPolicy`)
    or by an operator's custom resource (CloudNativePG, Strimzi, ECK) holds data nobody recreates,
    so it is synced, its references stripped, and its data copied. Objects with only non-controller
    references are synced too, with a warning in the plan (`owner_warning`).
    """
    if obj.get("kind") == "PersistentVolumeClaim":
        return None
    for owner in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if owner.get("controller") is True:
            return f"controlled by {owner.get('kind', '?')}/{owner.get('name', '?')}, which is synced instead"
    return None


def finished_job(obj: KubeObject, ctx: FilterContext) -> str | None:
    """Skip finished Jobs: a copy would only run them again in DR.

    A Job whose status has the condition `Complete` or `Failed` (status `"True"`) has done its
    work at the source. Unfinished Jobs are synced, suspended (`jobs.suspend_jobs`).
    """
    if obj.get("kind") != "Job":
        return None
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return (
                f"finished Job (condition {condition['type']}); running it again in DR would repeat its work"
            )
    return None


def owner_warning(obj: KubeObject) -> str | None:
    """A warning for a synced object that has ownerReferences (they are stripped in DR), or None."""
    owners = (obj.get("metadata") or {}).get("ownerReferences") or []
    if not owners:
        return None
    names = ", ".join(f"{owner.get('kind', '?')}/{owner.get('name', '?')}" for owner in owners)
    return f"warning: ownerReferences to {names} are not copied (DR has no such owner)"


def ignore_label(obj: KubeObject, ctx: FilterContext) -> str | None:
    """Skip objects labelled `dr-syncer.io/ignore: "true"`.

    Exactly the string `"true"` (as DR-Syncer): any other value, `"True"` included, means "sync".
    """
    if _labels(obj).get(labels.IGNORE) == "true":
        return f'labelled {labels.IGNORE}: "true"'
    return None


def excluded_resource(obj: KubeObject, ctx: FilterContext) -> str | None:
    """Skip objects listed in the mapping's `excludeResources` (`kind` case-insensitive, `name` exact)."""
    kind, name = str(obj.get("kind", "")).lower(), object_name(obj)
    if any(
        kind == excluded_kind.lower() and name == excluded_name
        for excluded_kind, excluded_name in ctx.exclude_resources
    ):
        return "listed in excludeResources"
    return None


def label_selector_mismatch(obj: KubeObject, ctx: FilterContext) -> str | None:
    """Skip objects whose labels do not match the mapping's `labelSelector` (when one is set).

    Standard selector semantics: every `matchLabels` entry and every `matchExpressions` requirement
    (`In`, `NotIn`, `Exists`, `DoesNotExist`) must hold.
    """
    selector = ctx.label_selector
    if selector is None or selector.matches(_labels(obj)):
        return None
    return f"labels do not match labelSelector {selector}"


FilterCheck = Callable[[KubeObject, FilterContext], str | None]
CHECKS: tuple[FilterCheck, ...] = (
    never_synced_kind,
    cluster_generated,
    controller_owned,
    finished_job,
    ignore_label,
    excluded_resource,
    label_selector_mismatch,
)
"""Every filter check, in the order they are tried."""


def skip_reason(obj: KubeObject, ctx: FilterContext) -> Skipped | None:
    """Return why ``obj`` is skipped, or None when it is synced."""
    for check in CHECKS:
        reason = check(obj, ctx)
        if reason is not None:
            kind = str(obj.get("kind", ""))
            return Skipped(
                obj_ref=object_ref(obj), kind=kind, name=object_name(obj), check=check.__name__, reason=reason
            )
    return None


def filter_objects(objects: Iterable[KubeObject], ctx: FilterContext) -> FilterResult:
    """Split ``objects`` into those to sync and those skipped (with reasons), keeping input order."""
    result = FilterResult()
    for obj in objects:
        skipped = skip_reason(obj, ctx)
        if skipped is None:
            result.kept.append(obj)
        else:
            result.skipped.append(skipped)
    return result
