"""A claim its StatefulSet owns (PVC retention policy, GA in Kubernetes 1.32) is never skipped: through
the real flow, with real agents, the claim reaches DR without its owner and its data is copied."""

from __future__ import annotations

from tests.e2e.test_pvc_data_flow import DataWorld, clusters, poll, tree, world, write

__all__ = ["clusters", "world"]  # module fixtures shared with the PVC data flow tests


def test_claim_owned_by_a_statefulset_is_synced_and_its_data_copied(world: DataWorld) -> None:
    world.source.create(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": world.namespace},
            "spec": {
                "replicas": 1,
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"},
                "template": {
                    "metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "db", "image": "postgres:17"}]},
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "storageClassName": "standard",
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
            },
        }
    )
    poll(lambda: world.phase(world.source, "Pod", "db-0") == "Running")
    claim = world.source.get("v1", "PersistentVolumeClaim", "data-db-0", world.namespace)
    assert claim is not None
    assert [owner.get("controller") for owner in claim["metadata"].get("ownerReferences") or []] == [True]
    write(world.volume(world.source, "data-db-0"), {"base/1": b"tuples" * 1000, "pg_wal/0001": b"w" * 4096})

    state, report = world.sync()

    assert state.is_completed(), report
    dr_claim = world.dr.get("v1", "PersistentVolumeClaim", "data-db-0", world.namespace)
    assert dr_claim is not None
    assert "ownerReferences" not in dr_claim["metadata"]
    assert tree(world.volume(world.dr, "data-db-0")) == tree(world.volume(world.source, "data-db-0"))
    (pvc,) = [pvc for pvc in report["pvcs"] if pvc["name"] == "data-db-0"]
    assert pvc["status"] == "synced"
