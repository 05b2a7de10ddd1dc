"""The runner records which rule changed which path."""

from __future__ import annotations

from tasks.transform.catalogue import Rule
from tasks.transform.context import TransformContext
from tasks.transform.edits import Edit, SetField
from tasks.transform.runner import Change, transform_object, transform_objects
from tests.factories import make_configmap, make_context, make_deployment, make_service

CTX = make_context()


def test_changes_name_the_rule_and_the_path() -> None:
    changes = transform_object(make_service(), CTX).changes
    assert (
        Change("services.clear_cluster_ips", ("spec", "clusterIP"), "allocated by the DR cluster") in changes
    )
    assert any(change.rule == "namespace_refs.set_namespace" for change in changes)


def test_change_prints_path_note_and_rule() -> None:
    change = Change("workloads.scale_replicas", ("metadata", "annotations", "dr-syncer.io/x"), "why")
    assert str(change) == 'metadata.annotations["dr-syncer.io/x"]: why (workloads.scale_replicas)'


def test_edits_that_change_nothing_are_not_recorded() -> None:
    def keep_name(obj: dict[str, object], ctx: TransformContext) -> list[Edit]:
        return [SetField(("metadata", "name"), "settings", "same")]

    rule = Rule(name="test.keep_name", kinds=frozenset(), function=keep_name)
    assert transform_object(make_configmap(), CTX, rules=[rule]).changes == []


def test_rules_only_run_for_their_kinds() -> None:
    changes = transform_object(make_configmap(), CTX).changes
    assert {change.rule.split(".")[0] for change in changes} <= {"metadata", "namespace_refs"}


def test_transform_objects_keeps_order() -> None:
    results = transform_objects([make_configmap("a"), make_deployment("b")], CTX)
    assert [result.obj["metadata"]["name"] for result in results] == ["a", "b"]
