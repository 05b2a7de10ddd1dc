"""Apply order (design §4.4) and its reverse for pruning."""

from __future__ import annotations

from tasks.field_paths import MISSING, format_path, lookup
from tasks.order import KIND_ORDER, apply_rank, apply_sort_key, prune_sort_key

DESIGN_ORDER = [
    "Namespace",
    "CustomResourceDefinition",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "PersistentVolumeClaim",
    "Service",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "CronJob",
    "Job",
    "Ingress",
    "NetworkPolicy",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
]


def test_kinds_follow_the_design_order() -> None:
    ranks = [apply_rank(kind) for kind in DESIGN_ORDER]
    assert ranks == sorted(ranks)


def test_unknown_kinds_come_last_sorted_by_kind_then_name() -> None:
    keys = [("Widget", "b"), ("PodDisruptionBudget", "z"), ("Gadget", "a"), ("Widget", "a")]
    assert sorted(keys, key=lambda key: apply_sort_key(*key)) == [
        ("PodDisruptionBudget", "z"),
        ("Gadget", "a"),
        ("Widget", "a"),
        ("Widget", "b"),
    ]
    assert apply_rank("Widget") == len(KIND_ORDER)


def test_prune_order_reverses_kinds() -> None:
    keys = [("ConfigMap", "a"), ("Gadget", "a"), ("Deployment", "a"), ("Widget", "a")]
    assert [kind for kind, _ in sorted(keys, key=lambda key: prune_sort_key(*key))] == [
        "Widget",
        "Gadget",
        "Deployment",
        "ConfigMap",
    ]


def test_format_path_quotes_keys_with_dots_and_slashes() -> None:
    assert format_path(("spec", "containers", 0, "image")) == "spec.containers[0].image"
    assert (
        format_path(("metadata", "labels", "app.kubernetes.io/name"))
        == 'metadata.labels["app.kubernetes.io/name"]'
    )


def test_lookup_returns_missing_for_absent_fields_and_none_for_nulls() -> None:
    obj = {"a": {"b": None}, "l": [1]}
    assert lookup(obj, ("a", "b")) is None
    assert lookup(obj, ("a", "c")) is MISSING
    assert lookup(obj, ("l", 3)) is MISSING
    assert lookup(obj, ("l", 0)) == 1
