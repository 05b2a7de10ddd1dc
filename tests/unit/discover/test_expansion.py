"""What namespaceScopedResources ["*"] expands to: the group and resource rules, one reason each."""

from __future__ import annotations

import pytest

from drsyncer.config.wildcard import DEFAULT_EXCLUDED, WildcardConfig
from drsyncer.kube.discovery import ApiResource
from tasks.discover.expansion import (
    GROUP_RULES,
    RESOURCE_RULES,
    expansion_context,
    group_verdict,
    resource_verdict,
)

FULL = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


def _resource(plural: str, group: str, *, verbs: tuple[str, ...] = FULL) -> ApiResource:
    return ApiResource(
        group=group, version="v1", kind=plural.title()[:-1], plural=plural, namespaced=True, verbs=verbs
    )


def test_a_local_group_with_every_verb_is_expanded() -> None:
    context = expansion_context(
        non_local_groups=frozenset(), excluded=DEFAULT_EXCLUDED, include_aggregated=False
    )

    assert group_verdict("example.com", context) is None
    assert resource_verdict(_resource("widgets", "example.com"), context) is None


@pytest.mark.parametrize("group", ["snapshot.storage.k8s.io", "metrics.k8s.io", "wgpolicyk8s.io"])
def test_default_excluded_groups_are_left_out_with_the_config_field_named(group: str) -> None:
    context = expansion_context(
        non_local_groups=frozenset(), excluded=DEFAULT_EXCLUDED, include_aggregated=False
    )

    assert group_verdict(group, context) == f"{group} is on wildcardConfig.excluded"


def test_an_empty_exclusion_list_keeps_volume_snapshots() -> None:
    context = expansion_context(non_local_groups=frozenset(), excluded=[], include_aggregated=False)

    assert group_verdict("snapshot.storage.k8s.io", context) is None


def test_one_resource_of_a_group_can_be_excluded_by_its_qualified_name() -> None:
    context = expansion_context(
        non_local_groups=frozenset(), excluded=["PolicyReports.Example.com"], include_aggregated=False
    )

    assert resource_verdict(_resource("policyreports", "example.com"), context) == (
        "policyreports.example.com is on wildcardConfig.excluded"
    )
    assert resource_verdict(_resource("widgets", "example.com"), context) is None


def test_aggregated_groups_are_left_out_unless_included() -> None:
    left_out = expansion_context(
        non_local_groups=frozenset({"projectcalico.org"}), excluded=[], include_aggregated=False
    )
    included = expansion_context(
        non_local_groups=frozenset({"projectcalico.org"}), excluded=[], include_aggregated=True
    )

    assert group_verdict("projectcalico.org", left_out) == (
        "projectcalico.org is served by an aggregated API (APIService); set "
        "wildcardConfig.includeAggregatedAPIs to copy it"
    )
    assert group_verdict("projectcalico.org", included) is None


def test_read_only_resources_are_left_out_naming_the_missing_verbs() -> None:
    context = expansion_context(non_local_groups=frozenset(), excluded=[], include_aggregated=True)

    reason = resource_verdict(
        _resource("packagemanifests", "packages.operators.coreos.com", verbs=("get", "list")), context
    )

    assert reason == (
        "packagemanifests.packages.operators.coreos.com does not support create, patch, delete "
        "(read-only or virtual)"
    )


def test_the_first_reason_wins_when_several_apply() -> None:
    context = expansion_context(
        non_local_groups=frozenset({"metrics.k8s.io"}), excluded=DEFAULT_EXCLUDED, include_aggregated=False
    )

    assert group_verdict("metrics.k8s.io", context) == "metrics.k8s.io is on wildcardConfig.excluded"


def test_the_default_exclusion_list_is_the_configs_default() -> None:
    assert tuple(WildcardConfig().excluded) == DEFAULT_EXCLUDED
    assert not WildcardConfig().include_aggregated_apis


@pytest.mark.parametrize("rule", [*GROUP_RULES, *RESOURCE_RULES])
def test_every_rule_is_documented(rule: object) -> None:
    assert (getattr(rule, "__doc__", "") or "").strip()


def test_without_the_apiservice_list_a_custom_group_is_left_out_naming_the_rule_to_grant() -> None:
    context = expansion_context(non_local_groups=None, excluded=DEFAULT_EXCLUDED, include_aggregated=False)

    assert group_verdict("example.com", context) == (
        "example.com may be served by an aggregated API (the APIService list could not be read); grant "
        "list on apiservices in apiGroup apiregistration.k8s.io, or name its kinds in "
        "namespaceScopedResources"
    )
    assert group_verdict("snapshot.storage.k8s.io", context) == (
        "snapshot.storage.k8s.io is on wildcardConfig.excluded"
    )


def test_with_aggregated_apis_included_the_apiservice_list_is_not_needed() -> None:
    context = expansion_context(non_local_groups=None, excluded=[], include_aggregated=True)

    assert group_verdict("example.com", context) is None
