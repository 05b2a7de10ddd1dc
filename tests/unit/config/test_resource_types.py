"""The resource type table and the normalisation of what users write in resourceTypes."""

from __future__ import annotations

import pytest

from drsyncer.config.resource_types import (
    DEFAULT_RESOURCE_TYPES,
    NEVER_SYNCED,
    SYNCABLE,
    ResourceTypeError,
    normalise_resource_types,
    resolve_resource_type,
)


@pytest.mark.parametrize(
    ("entry", "canonical"),
    [
        ("cm", "configmaps"),
        ("ConfigMap", "configmaps"),
        ("CONFIGMAPS", "configmaps"),
        ("deploy", "deployments"),
        ("svc", "services"),
        ("ing", "ingresses"),
        ("pvc", "persistentvolumeclaims"),
        ("sts", "statefulsets"),
        ("ds", "daemonsets"),
        ("sa", "serviceaccounts"),
        ("hpa", "horizontalpodautoscalers"),
        ("pdb", "poddisruptionbudgets"),
        ("netpol", "networkpolicies"),
        ("cj", "cronjobs"),
        ("job", "jobs"),
        ("rolebinding", "rolebindings"),
        ("deployments.apps", "deployments"),
        ("Widgets.Example.com", "widgets.example.com"),
    ],
)
def test_names_resolve_to_canonical_plurals(entry: str, canonical: str) -> None:
    assert resolve_resource_type(entry) == canonical


@pytest.mark.parametrize(
    "entry",
    [
        "pods",
        "pod",
        "replicasets",
        "rs",
        "events",
        "leases",
        "endpoints",
        "endpointslices",
        "controllerrevisions",
        "replicasets.apps",
    ],
)
def test_never_synced_kinds_are_refused(entry: str) -> None:
    with pytest.raises(ResourceTypeError, match="is never synced"):
        resolve_resource_type(entry)


def test_unknown_builtin_looking_name_lists_accepted_names() -> None:
    with pytest.raises(ResourceTypeError, match="expected one of configmaps, cronjobs"):
        resolve_resource_type("statefullsets")


def test_empty_or_star_means_the_default_kinds_without_jobs() -> None:
    assert normalise_resource_types([]) == (DEFAULT_RESOURCE_TYPES, [])
    assert normalise_resource_types(["*"]) == (DEFAULT_RESOURCE_TYPES, [])
    assert "jobs" not in DEFAULT_RESOURCE_TYPES


def test_star_with_more_entries_adds_them_to_the_defaults() -> None:
    names, problems = normalise_resource_types(["*", "jobs"])

    assert names == (*DEFAULT_RESOURCE_TYPES, "jobs")
    assert problems == []


def test_duplicates_are_dropped_and_order_is_kept() -> None:
    assert normalise_resource_types(["svc", "cm", "services"]) == (("services", "configmaps"), [])


def test_table_covers_every_default_and_never_synced_kinds_are_not_syncable() -> None:
    assert set(DEFAULT_RESOURCE_TYPES) <= set(SYNCABLE)
    assert not set(NEVER_SYNCED) & set(SYNCABLE)
    assert all(rt.namespaced for rt in SYNCABLE.values())
    assert SYNCABLE["horizontalpodautoscalers"].api_version == "autoscaling/v2"
    assert SYNCABLE["configmaps"].api_version == "v1"
