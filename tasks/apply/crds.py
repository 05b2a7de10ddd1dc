"""``syncCRDs: true``: copy the CustomResourceDefinitions of the custom resources in scope, first.

Before any custom resource is discovered in DR, each in-scope kind's CRD (``<plural>.<group>``) is read
from the source, planned like any object (so a re-sync with nothing changed sends nothing) and applied to
DR with server-side apply. Then each copied CRD must report ``Established`` within a deadline — the API
server serves a new kind only once its names are accepted — after which DR's discovery is refreshed and
the custom resources are synced. A CRD that is not Established in time fails its kind, with the reason.
Kinds served by an aggregated API (no CRD at the source) are left alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from drsyncer.kube.client import KubeClient
from drsyncer.kube.discovery import ApiResource
from drsyncer.labels import FIELD_MANAGER
from drsyncer.objects import KubeObject
from drsyncer.report import ObjectOutcome
from tasks.apply.applier import ApplyContext, apply_entries
from tasks.plan.planner import PlanEntry, plan_object

CRD_COLLECTION = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
CRD_KIND = "CustomResourceDefinition"
ESTABLISHED_TIMEOUT = 60.0
"""Seconds a copied CRD may take to become Established in DR."""
_DROPPED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})


def crd_name(resource: ApiResource) -> str:
    """The CRD's name: ``<plural>.<group>``."""
    return f"{resource.plural}.{resource.group}"


def desired_crd(source: KubeObject) -> KubeObject:
    """The DR form of a source CRD: name, labels, annotations and spec; no status or server fields."""
    metadata = source.get("metadata") or {}
    kept: dict[str, object] = {"name": metadata["name"]}
    if metadata.get("labels"):
        kept["labels"] = dict(metadata["labels"])
    annotations = {
        k: v for k, v in (metadata.get("annotations") or {}).items() if k not in _DROPPED_ANNOTATIONS
    }
    if annotations:
        kept["annotations"] = annotations
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": CRD_KIND,
        "metadata": kept,
        "spec": source.get("spec") or {},
    }


def plan_crds(source: KubeClient, destination: KubeClient, resources: list[ApiResource]) -> list[PlanEntry]:
    """One plan entry per in-scope custom resource whose CRD exists at the source."""
    entries = []
    for resource in resources:
        found = source.get(f"{CRD_COLLECTION}/{crd_name(resource)}")
        if found is None:
            continue
        live = destination.get(f"{CRD_COLLECTION}/{crd_name(resource)}")
        entries.append(plan_object(desired_crd(found), live, prune=False, manager=FIELD_MANAGER))
    return entries


def established(crd: KubeObject | None) -> bool:
    """Whether a CRD's ``Established`` condition is ``True``."""
    conditions = ((crd or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


@dataclass
class EstablishedWait:
    """Polls DR until the CRDs are Established or the deadline passes (clock and sleep injectable)."""

    client: KubeClient
    timeout: float = ESTABLISHED_TIMEOUT
    interval: float = 0.2
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic

    def wait(self, names: list[str]) -> dict[str, str]:
        """Wait for ``names``; return the error message of each one still not Established."""
        deadline = self.monotonic() + self.timeout
        pending = list(names)
        while True:
            pending = [
                name for name in pending if not established(self.client.get(f"{CRD_COLLECTION}/{name}"))
            ]
            if not pending or self.monotonic() >= deadline:
                break
            self.sleep(self.interval)
        return {
            name: f"CRD {name} did not become Established in cluster {self.client.cluster!r} within "
            f"{self.timeout:g} s; its custom resources were not synced"
            for name in pending
        }


def sync_crds(
    context: ApplyContext,
    source: KubeClient,
    resources: list[ApiResource],
    *,
    wait: EstablishedWait | None = None,
) -> list[ObjectOutcome]:
    """Copy the CRDs of ``resources`` to DR and wait until each is Established.

    Returns one outcome per CRD (``failed`` when it could not be applied or did not become Established).
    """
    entries = plan_crds(source, context.client, resources)
    outcomes = apply_entries(context, entries)
    waiting = [o.name for o in outcomes if o.status in ("synced", "unchanged")]
    late = (wait or EstablishedWait(context.client)).wait(waiting)
    for outcome in outcomes:
        if outcome.name in late:
            outcome.status = "failed"
            outcome.error = late[outcome.name]
    return outcomes
