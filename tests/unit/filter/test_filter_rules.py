"""Filter checks: each skip with its reason, everything else kept in order."""

from __future__ import annotations

import pytest

from drsyncer.objects import KubeObject
from tasks.filter.rules import FilterContext, filter_objects, skip_reason
from tasks.filter.selectors import LabelSelector
from tests.factories import (
    make_configmap,
    make_deployment,
    make_secret,
    make_service,
    make_service_account,
)

NO_FILTERS = FilterContext()


def _reason(obj: KubeObject, ctx: FilterContext = NO_FILTERS) -> str | None:
    skipped = skip_reason(obj, ctx)
    return None if skipped is None else skipped.reason


def test_plain_objects_are_kept_in_input_order() -> None:
    objects = [make_configmap("a"), make_secret("b"), make_deployment("c")]
    result = filter_objects(objects, NO_FILTERS)
    assert result.kept == objects
    assert result.skipped == []


def test_ignore_label_true_skips_with_reason() -> None:
    result = filter_objects([make_configmap(labels={"dr-syncer.io/ignore": "true"})], NO_FILTERS)
    assert result.kept == []
    (skipped,) = result.skipped
    assert skipped.obj_ref == "ConfigMap/settings"
    assert skipped.kind == "ConfigMap"
    assert skipped.name == "settings"
    assert skipped.check == "ignore_label"
    assert "dr-syncer.io/ignore" in skipped.reason


@pytest.mark.parametrize("value", ["True", "false", "yes", "1", ""])
def test_ignore_label_other_values_do_not_skip(value: str) -> None:
    assert _reason(make_configmap(labels={"dr-syncer.io/ignore": value})) is None


def test_ignore_annotation_is_not_the_ignore_label() -> None:
    assert _reason(make_configmap(annotations={"dr-syncer.io/ignore": "true"})) is None


def test_exclude_resources_matches_kind_case_insensitively() -> None:
    ctx = FilterContext(exclude_resources=(("configmap", "settings"),))
    assert _reason(make_configmap("settings"), ctx) == "listed in excludeResources"


def test_exclude_resources_needs_the_exact_name_and_kind() -> None:
    ctx = FilterContext(exclude_resources=(("ConfigMap", "settings"),))
    assert _reason(make_configmap("settings-2"), ctx) is None
    assert _reason(make_secret("settings"), ctx) is None


def test_kube_root_ca_configmap_is_skipped() -> None:
    assert "CA bundle" in (_reason(make_configmap("kube-root-ca.crt")) or "")


def test_service_account_token_secret_is_skipped() -> None:
    secret = make_secret("app-token", secret_type="kubernetes.io/service-account-token")
    assert "service-account token" in (_reason(secret) or "")


def test_other_secret_types_are_kept() -> None:
    assert _reason(make_secret(secret_type="kubernetes.io/tls")) is None
    assert _reason(make_secret(secret_type="helm.sh/release.v1")) is None


def test_default_service_account_is_synced() -> None:
    assert _reason(make_service_account("default")) is None


def test_controller_owned_object_is_skipped_naming_its_owner() -> None:
    owner = {"apiVersion": "example.com/v1", "kind": "Database", "name": "pg", "uid": "u", "controller": True}
    assert _reason(make_configmap(owner=owner)) == "controlled by Database/pg, which is synced instead"


def test_non_controller_owner_reference_does_not_skip() -> None:
    owner = {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "u"}
    assert _reason(make_configmap(owner=owner)) is None


def test_never_synced_kinds_are_skipped() -> None:
    pod: KubeObject = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1"}}
    assert "never synced" in (_reason(pod) or "")


def test_label_selector_match_labels_keeps_matching_objects() -> None:
    ctx = FilterContext(label_selector=LabelSelector.from_dict({"matchLabels": {"tier": "front"}}))
    assert _reason(make_service(labels={"tier": "front", "x": "y"}), ctx) is None
    assert "labelSelector tier=front" in (_reason(make_service(labels={"tier": "back"}), ctx) or "")
    assert _reason(make_service(), ctx) is not None


@pytest.mark.parametrize(
    ("expression", "labels", "matches"),
    [
        ({"key": "env", "operator": "In", "values": ["prod", "dr"]}, {"env": "prod"}, True),
        ({"key": "env", "operator": "In", "values": ["prod"]}, {"env": "dev"}, False),
        ({"key": "env", "operator": "In", "values": ["prod"]}, {}, False),
        ({"key": "env", "operator": "NotIn", "values": ["dev"]}, {"env": "prod"}, True),
        ({"key": "env", "operator": "NotIn", "values": ["dev"]}, {}, True),
        ({"key": "env", "operator": "NotIn", "values": ["dev"]}, {"env": "dev"}, False),
        ({"key": "env", "operator": "Exists"}, {"env": ""}, True),
        ({"key": "env", "operator": "Exists"}, {}, False),
        ({"key": "env", "operator": "DoesNotExist"}, {}, True),
        ({"key": "env", "operator": "DoesNotExist"}, {"env": "x"}, False),
    ],
)
def test_label_selector_expressions_follow_kubernetes_semantics(
    expression: dict[str, object], labels: dict[str, str], *, matches: bool
) -> None:
    selector = LabelSelector.from_dict({"matchExpressions": [expression]})
    assert selector.matches(labels) is matches


def test_label_selector_needs_labels_and_expressions_to_match() -> None:
    selector = LabelSelector.from_dict(
        {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "env", "operator": "Exists"}]}
    )
    assert selector.matches({"app": "web", "env": "prod"})
    assert not selector.matches({"app": "web"})
    assert not selector.matches({"env": "prod"})


def test_empty_label_selector_matches_everything() -> None:
    assert LabelSelector.from_dict({}).matches({})


def test_unknown_selector_operator_is_refused() -> None:
    with pytest.raises(ValueError, match="Gt"):
        LabelSelector.from_dict({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})


def test_first_matching_check_gives_the_reason() -> None:
    ctx = FilterContext(exclude_resources=(("ConfigMap", "settings"),))
    skipped = skip_reason(make_configmap(labels={"dr-syncer.io/ignore": "true"}), ctx)
    assert skipped is not None
    assert skipped.check == "ignore_label"


def test_filter_does_not_change_its_input() -> None:
    objects = [make_configmap(labels={"dr-syncer.io/ignore": "true"}), make_deployment()]
    before = [dict(obj) for obj in objects]
    filter_objects(objects, NO_FILTERS)
    assert objects == before
