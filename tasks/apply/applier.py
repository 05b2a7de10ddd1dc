"""Apply and prune: carrying out a plan in the DR cluster (design §4.4).

Every create and update is a server-side apply with field manager ``dr-syncer`` and ``force`` (the DR
copy follows the source; fields someone changed by hand in DR are taken back). ``unchanged`` and ``skip``
entries send nothing, which is what makes a no-op re-sync send zero mutating requests.

- 409 Conflict is retried a few times.
- 422 "field is immutable" follows ``immutableResourceConfig`` (see :mod:`tasks.apply.immutable`).
- One failing object never stops the others: the failure becomes that object's outcome.
- Prune deletes only what the plan marked ``prune`` (objects dr-syncer manages whose source is gone).
- Within one kind, objects do not depend on each other: :func:`apply_entries` sends up to
  ``APPLY_WORKERS`` requests at once (kinds still go one after the other, in dependency order). The API
  server's latency, not our CPU, is what a sync waits on; kubectl applies one object at a time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from drsyncer.config.namespace_mapping import ImmutableResourceConfig, ImmutableResourceHandling
from drsyncer.errors import ClusterError
from drsyncer.kube.client import ApiError, KubeClient
from drsyncer.kube.discovery import ApiResource, Discovery
from drsyncer.labels import FIELD_MANAGER
from drsyncer.objects import KubeObject, object_name
from drsyncer.report import ObjectOutcome
from tasks.apply.drain import Drain
from tasks.apply.immutable import choose_strategy, keep_immutable_fields
from tasks.plan.planner import PlanEntry, api_group

CONFLICT_ATTEMPTS = 4
APPLY_WORKERS = 8
"""Requests in flight at once while applying one kind (bounded: a sync must not flood the DR API server)."""


@dataclass
class ApplyContext:
    """Where and how a plan is applied."""

    client: KubeClient
    discovery: Discovery
    namespace: str
    immutable: ImmutableResourceConfig = field(default_factory=ImmutableResourceConfig)
    field_manager: str = FIELD_MANAGER
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic

    def resource_for(self, entry: PlanEntry) -> ApiResource:
        """The DR cluster's served resource for an entry's group and kind."""
        group, _, version = entry.api_version.rpartition("/")
        for resource in [*self.discovery.resources(group, version or None), *self.discovery.resources(group)]:
            if resource.kind == entry.kind:
                return resource  # the entry's own version first: the sync negotiated it with DR
        name = f"{entry.kind} ({group or 'core'})"
        raise ClusterError(
            f"cluster {self.client.cluster!r} does not serve {name}",
            fix="install the kind (e.g. its CRD) in the DR cluster, or remove it from resourceTypes",
        )


def apply_entry(context: ApplyContext, entry: PlanEntry) -> ObjectOutcome:
    """Carry out one plan entry; never raises for an object-level failure."""
    outcome = ObjectOutcome(
        kind=entry.kind, name=entry.name, action=entry.action, status="", reason=entry.reason
    )
    if entry.error:
        outcome.status = "failed"
        outcome.error = entry.error
        return outcome
    if entry.action == "unchanged":
        outcome.status = "unchanged"
        return outcome
    if entry.action == "skip" or entry.obj is None:
        outcome.status = "skipped"
        return outcome
    try:
        resource = context.resource_for(entry)
        if entry.action == "prune":
            context.client.delete(resource.path(context.namespace, entry.name))
            outcome.status = "pruned"
        else:
            _apply_with_strategies(context, resource, entry.obj, outcome)
    except ApiError as error:
        outcome.status = "failed"
        outcome.error = too_large_message(entry, error) if error.is_too_large else error.message
    except ClusterError as error:
        outcome.status = "failed"
        outcome.error = error.message
    return outcome


def too_large_message(entry: PlanEntry, error: ApiError) -> str:
    """The failure of an object the API server refused as too large, stating its size."""
    size = len(json.dumps(entry.obj, separators=(",", ":")))
    detail = str(error.body.get("message", "")) if isinstance(error.body, dict) else ""
    return (
        f"the object is {size} bytes ({size / 1048576:.1f} MiB), over the size limit of "
        f"cluster {error.cluster!r} ({error.status}: {detail}); split its data into smaller objects or "
        "exclude it (excludeResources)"
    )


def apply_entries(
    context: ApplyContext, entries: Sequence[PlanEntry], *, workers: int = APPLY_WORKERS
) -> list[ObjectOutcome]:
    """Carry out the entries of one kind, up to ``workers`` at a time; outcomes in the entries' order.

    Entries that send nothing (``unchanged``, ``skip``) are answered inline without a thread.
    """
    outcomes: list[ObjectOutcome | None] = [None] * len(entries)
    pending = []
    for index, entry in enumerate(entries):
        if entry.action in ("unchanged", "skip") or entry.obj is None:
            outcomes[index] = apply_entry(context, entry)
        else:
            pending.append(index)
    if len(pending) <= 1 or workers <= 1:
        for index in pending:
            outcomes[index] = apply_entry(context, entries[index])
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(pending)), thread_name_prefix="apply") as pool:
            done = pool.map(lambda index: apply_entry(context, entries[index]), pending)
            for index, outcome in zip(pending, done, strict=True):
                outcomes[index] = outcome
    return [outcome for outcome in outcomes if outcome is not None]


def kind_groups(entries: Sequence[PlanEntry]) -> list[tuple[str, list[PlanEntry]]]:
    """Consecutive runs of one kind and phase (apply vs prune), keeping the plan's order.

    Each group is applied as a whole (one ``apply-<kind>`` task in the flow), the groups one after the
    other so dependencies land first.
    """
    groups: list[tuple[str, list[PlanEntry]]] = []
    for entry in entries:
        label = f"{entry.kind}{'-prune' if entry.action == 'prune' else ''}"
        if groups and groups[-1][0] == label:
            groups[-1][1].append(entry)
        else:
            groups.append((label, [entry]))
    return groups


def _apply_with_strategies(
    context: ApplyContext, resource: ApiResource, desired: KubeObject, outcome: ObjectOutcome
) -> None:
    body = dict(desired, apiVersion=resource.api_version)
    try:
        _apply(context, resource, body)
        outcome.status = "synced"
        return
    except ApiError as error:
        if not error.is_immutable_field:
            raise
        immutable_error = error
    strategy = choose_strategy(
        desired, group=api_group(body), plural=resource.plural, config=context.immutable
    )
    outcome.reason = f"immutable field changed; strategy {strategy.value}"
    if strategy == ImmutableResourceHandling.NoChange:
        _warn_immutable(context, desired, immutable_error)
        outcome.action = "skip"
        outcome.status = "skipped"
        outcome.reason = (
            f"immutable field changed; left as it is (NoChange): {immutable_error.body.get('message', '')}"
        )
        return
    path = resource.path(context.namespace, object_name(desired))
    if strategy == ImmutableResourceHandling.PartialUpdate:
        live = context.client.get(path) or {}
        _apply(context, resource, keep_immutable_fields(body, live))
    else:
        if strategy == ImmutableResourceHandling.RecreateWithPodDrain:
            _drain_pods(context, context.client.get(path) or desired, outcome)
        policy = "Foreground" if strategy == ImmutableResourceHandling.ForceUpdate else "Background"
        context.client.delete(path, propagation_policy=policy)
        _wait_gone(context, path)
        _apply(context, resource, body)
    outcome.status = "synced"


def _apply(context: ApplyContext, resource: ApiResource, body: KubeObject) -> KubeObject:
    path = resource.path(context.namespace, object_name(body))
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return context.client.apply(path, body, field_manager=context.field_manager, force=True)
        except ApiError as error:
            if not error.is_conflict or attempt == CONFLICT_ATTEMPTS:
                raise
            context.sleep(0.1 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _wait_gone(context: ApplyContext, path: str) -> None:
    """Wait up to ``forceDeleteTimeout`` for a deleted object to be gone before it is re-created."""
    timeout = context.immutable.force_delete_timeout
    deadline = context.monotonic() + timeout.timedelta.total_seconds()
    while context.client.get(path) is not None:
        if context.monotonic() > deadline:
            raise ClusterError(
                f"{path} was deleted for re-creation but is still there after forceDeleteTimeout "
                f"({timeout.text})",
                fix="check its finalizers in the DR cluster, or raise "
                "immutableResourceConfig.forceDeleteTimeout; the next sync re-creates it",
            )
        context.sleep(0.1)


def _drain_pods(context: ApplyContext, live: KubeObject, outcome: ObjectOutcome) -> None:
    """Drain the live DR object's pods for up to ``drainTimeout`` (RecreateWithPodDrain, :mod:`.drain`)."""
    timeout = context.immutable.drain_timeout
    drain = Drain(
        client=context.client,
        namespace=context.namespace,
        timeout=timeout.timedelta.total_seconds(),
        sleep=context.sleep,
        monotonic=context.monotonic,
    )
    remaining = drain.drain(live)
    if remaining:
        outcome.reason += (
            f"; re-created with {len(remaining)} pod(s) still terminating after drainTimeout "
            f"({timeout.text}): {', '.join(remaining)}"
        )


def _warn_immutable(context: ApplyContext, obj: KubeObject, error: ApiError) -> None:
    """Record a Warning Event ``ImmutableUpdateSkipped`` in the DR namespace (failures only logged)."""
    now = datetime.now(UTC)
    name = object_name(obj)
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.{now.strftime('%Y%m%d%H%M%S')}", "namespace": context.namespace},
        "involvedObject": {
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "name": name,
            "namespace": context.namespace,
        },
        "reason": "ImmutableUpdateSkipped",
        "message": f"Skipped update of immutable resource {context.namespace}/{name}: resource has immutable "
        "fields that cannot be updated in place",
        "type": "Warning",
        "source": {"component": "dr-syncer"},
        "firstTimestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lastTimestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "count": 1,
    }
    try:
        context.client.create(f"/api/v1/namespaces/{context.namespace}/events", event)
    except ClusterError:
        return
