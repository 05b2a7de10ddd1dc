"""Reading FieldsV1 into paths and following them in objects."""

from __future__ import annotations

from typing import Any

from tasks.field_paths import MISSING
from tasks.plan.managed_fields import (
    ListKey,
    SetValue,
    describe,
    fields_v1_paths,
    is_managed_by,
    owned_paths,
    resolve,
)
from tests.factories import make_configmap, make_managed_entry

FIELDS: dict[str, Any] = {
    "f:metadata": {"f:labels": {"f:app": {}}},
    "f:spec": {
        "f:containers": {
            'k:{"name":"app"}': {
                ".": {},
                "f:image": {},
                "f:env": {'k:{"name":"DB"}': {".": {}, "f:name": {}, "f:value": {}}},
            }
        },
        "f:finalizers": {'v:"a/b"': {}},
        "f:items": {"i:0": {}},
    },
}


def test_fields_v1_paths_reads_fields_keys_values_indexes_and_dots() -> None:
    paths = set(fields_v1_paths(FIELDS))
    app = ListKey(fields=(("name", "app"),))
    db = ListKey(fields=(("name", "DB"),))
    assert paths == {
        ("metadata", "labels", "app"),
        ("spec", "containers", app),
        ("spec", "containers", app, "image"),
        ("spec", "containers", app, "env", db),
        ("spec", "containers", app, "env", db, "name"),
        ("spec", "containers", app, "env", db, "value"),
        ("spec", "finalizers", SetValue("a/b")),
        ("spec", "items", 0),
    }


def test_resolve_follows_keyed_items_to_concrete_indexes() -> None:
    obj = {"spec": {"containers": [{"name": "side"}, {"name": "app", "env": [{"name": "DB", "value": "x"}]}]}}
    path = ("spec", "containers", ListKey((("name", "app"),)), "env", ListKey((("name", "DB"),)), "value")
    assert resolve(obj, path) == ("x", ("spec", "containers", 1, "env", 0, "value"))


def test_resolve_reports_missing_items() -> None:
    obj: dict[str, Any] = {"spec": {"containers": [{"name": "side"}]}}
    value, _ = resolve(obj, ("spec", "containers", ListKey((("name", "app"),))))
    assert value is MISSING


def test_resolve_matches_items_missing_a_defaulted_key_field() -> None:
    obj = {"ports": [{"containerPort": 80}]}
    key = ListKey((("containerPort", 80), ("protocol", "TCP")))
    assert resolve(obj, ("ports", key))[0] == {"containerPort": 80}


def test_resolve_set_values() -> None:
    assert resolve({"f": ["x", "a/b"]}, ("f", SetValue("a/b"))) == ("a/b", ("f", 1))


def test_owned_paths_only_from_apply_entries_of_the_manager() -> None:
    obj = make_configmap(server_fields=False)
    obj["metadata"]["managedFields"] = [
        make_managed_entry("dr-syncer", {"f:data": {"f:a": {}}}),
        make_managed_entry("dr-syncer", {"f:data": {"f:b": {}}}, operation="Update"),
        make_managed_entry("kubectl", {"f:data": {"f:c": {}}}),
    ]
    assert owned_paths(obj) == [("data", "a")]
    assert is_managed_by(obj)
    assert not is_managed_by(obj, manager="helm")


def test_describe_renders_keys_and_list_items() -> None:
    path = ("metadata", "labels", "app.kubernetes.io/name")
    assert describe(path) == 'metadata.labels["app.kubernetes.io/name"]'
    assert (
        describe(("spec", "containers", ListKey((("name", "app"),)), "image"))
        == "spec.containers[name=app].image"
    )
