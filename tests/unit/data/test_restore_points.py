"""Restore points' pure rules: retention (``points_to_prune``), names and labels, the restored claim."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from drsyncer.objects import KubeObject
from tasks.data.restore_claim import restored_claim
from tasks.data.restore_points import RestorePoint, label_value, parse_time, points_to_prune

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def point(name: str, *, hours_ago: float) -> RestorePoint:
    return RestorePoint(name=name, claim="db", taken_at=NOW - timedelta(hours=hours_ago), ready=True)


def names(points: list[RestorePoint]) -> list[str]:
    return [p.name for p in points]


def test_retention_by_count_deletes_the_oldest_beyond_keep() -> None:
    points = [point("a", hours_ago=3), point("c", hours_ago=1), point("b", hours_ago=2)]

    assert names(points_to_prune(points, keep=2, keep_within=None, now=NOW)) == ["a"]


def test_retention_by_age_deletes_older_than_keep_within_but_never_the_newest() -> None:
    points = [point("old", hours_ago=200), point("older", hours_ago=300), point("fresh", hours_ago=1)]
    only_old = [point("old", hours_ago=200), point("older", hours_ago=300)]

    assert names(points_to_prune(points, keep=7, keep_within=timedelta(hours=168), now=NOW)) == [
        "old",
        "older",
    ]
    assert names(points_to_prune(only_old, keep=7, keep_within=timedelta(hours=168), now=NOW)) == ["older"]


def test_time_labels_parse_as_utc_and_odd_ones_sort_first() -> None:
    assert parse_time("20261203T101500Z") == datetime(2026, 12, 3, 10, 15, tzinfo=UTC)
    assert parse_time("yesterday") == datetime.fromtimestamp(0, UTC)


def test_long_names_become_a_stable_label_value() -> None:
    long = "c" * 80

    assert label_value("db") == "db"
    assert label_value(long) == label_value(long)
    assert len(label_value(long)) <= 63


def test_the_restored_claim_keeps_the_spec_and_names_the_snapshot_without_binding_fields() -> None:
    current: KubeObject = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": "db",
            "namespace": "shop",
            "uid": "u1",
            "resourceVersion": "7",
            "labels": {"app": "db"},
            "annotations": {"pv.kubernetes.io/bind-completed": "yes", "team": "payments"},
        },
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "standard",
            "volumeName": "pvc-u1",
            "resources": {"requests": {"storage": "5Gi"}},
        },
        "status": {"phase": "Bound"},
    }

    claim = restored_claim(current, snapshot="db-20261203t101500z-3f2a", restore_size="5Gi")

    assert claim["metadata"] == {
        "name": "db",
        "namespace": "shop",
        "labels": {"app": "db"},
        "annotations": {"team": "payments"},
    }
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "standard",
        "resources": {"requests": {"storage": "5Gi"}},
        "dataSource": {
            "apiGroup": "snapshot.storage.k8s.io",
            "kind": "VolumeSnapshot",
            "name": "db-20261203t101500z-3f2a",
        },
    }
    assert "status" not in claim
