"""``RecreateWithPodDrain`` and the re-creation timeouts of ``immutableResourceConfig``.

When DR answers 422 to an immutable change, RecreateWithPodDrain deletes the pods of the **live** DR
workload — selected by its whole selector, ``matchExpressions`` included — waits for them up to
``drainTimeout``, then deletes and re-creates the object, waiting up to ``forceDeleteTimeout`` for the
deletion.
"""

from __future__ import annotations

from typing import Any

from drsyncer.objects import KubeObject
from tests.api.sync.conftest import SyncWorld, outcome_of
from tests.factories import make_deployment

OLD_SELECTOR = {
    "matchLabels": {"app": "web"},
    "matchExpressions": [{"key": "track", "operator": "In", "values": ["stable"]}],
}


def _web(selector: dict[str, Any], labels: dict[str, str]) -> KubeObject:
    deployment = make_deployment("web", replicas=2, server_fields=False)
    deployment["spec"]["selector"] = selector
    deployment["spec"]["template"]["metadata"]["labels"] = labels
    return deployment


def _change_source_selector(world: SyncWorld) -> None:
    """Re-create the source Deployment with another selector (its DR copy cannot follow in place)."""
    resource = world.source.registry.by_kind("apps/v1", "Deployment")
    assert resource is not None
    world.source.store.remove(resource.key, world.source_object("apps/v1", "Deployment", "web"))
    selector = {**OLD_SELECTOR, "matchLabels": {"app": "web", "tier": "front"}}
    world.seed(_web(selector, {"app": "web", "track": "stable", "tier": "front"}))


def _dr_pod(
    world: SyncWorld, name: str, labels: dict[str, str], *, finalizers: list[str] | None = None
) -> None:
    metadata: dict[str, Any] = {"name": name, "namespace": world.destination_namespace, "labels": labels}
    if finalizers:
        metadata["finalizers"] = finalizers
    world.dr.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": metadata,
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        }
    )


def _pod_names(world: SyncWorld) -> list[str]:
    return sorted(p["metadata"]["name"] for p in world.dr.objects("v1", "Pod", world.destination_namespace))


def _first_sync(world: SyncWorld, **immutable: Any) -> None:
    world.seed(_web(OLD_SELECTOR, {"app": "web", "track": "stable"}))
    world.configure(immutableResourceConfig={"defaultHandling": "RecreateWithPodDrain", **immutable})
    first = world.sync()
    assert first.succeeded, first.failure_summary()


def test_drain_deletes_the_pods_the_whole_live_selector_selects(sync_world: SyncWorld) -> None:
    _first_sync(sync_world)
    _dr_pod(sync_world, "web-old", {"app": "web", "track": "stable"})
    _dr_pod(sync_world, "web-canary", {"app": "web", "track": "canary"})
    _change_source_selector(sync_world)
    sync_world.dr.audit.clear()

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert outcome_of(report, "Deployment", "web").status == "synced"
    deleted = [e.path.rsplit("/", 1)[-1] for e in sync_world.dr.audit.mutations(path_regex=r"/pods/")]
    assert deleted == ["web-old"]
    assert _pod_names(sync_world) == ["web-canary"]
    selector = sync_world.dr_object("apps/v1", "Deployment", "web")["spec"]["selector"]
    assert selector["matchLabels"] == {"app": "web", "tier": "front"}


def test_drain_waits_at_most_drain_timeout_and_names_the_pods_left(sync_world: SyncWorld) -> None:
    _first_sync(sync_world, drainTimeout="1s")
    _dr_pod(sync_world, "web-held", {"app": "web", "track": "stable"}, finalizers=["example.com/hold"])
    _change_source_selector(sync_world)

    report = sync_world.sync()

    outcome = outcome_of(report, "Deployment", "web")
    assert outcome.status == "synced"
    assert outcome.reason.endswith(
        "re-created with 1 pod(s) still terminating after drainTimeout (1s): web-held"
    )
    pod = sync_world.dr.get("v1", "Pod", "web-held", sync_world.destination_namespace)
    assert pod is not None
    assert pod["metadata"].get("deletionTimestamp")


def test_recreate_gives_up_after_force_delete_timeout(sync_world: SyncWorld) -> None:
    _first_sync(sync_world, defaultHandling="Recreate", forceDeleteTimeout="1s")
    live = sync_world.dr_object("apps/v1", "Deployment", "web")
    live["metadata"]["finalizers"] = ["example.com/hold"]
    resource = sync_world.dr.registry.by_kind("apps/v1", "Deployment")
    assert resource is not None
    sync_world.dr.api.update_internal(resource, live)
    _change_source_selector(sync_world)

    report = sync_world.sync()

    outcome = outcome_of(report, "Deployment", "web")
    assert outcome.status == "failed"
    assert outcome.error is not None
    assert outcome.error.endswith(
        "was deleted for re-creation but is still there after forceDeleteTimeout (1s)"
    )
