"""A 403 becomes one line naming the cluster, the verb, the resource and the rule to grant."""

from __future__ import annotations

import pytest

from drsyncer.kube.access import (
    DR_ROLE_FILE,
    SOURCE_ROLE_FILE,
    Access,
    forbidden_line,
    refused_access,
    requested_access,
)


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/namespaces/shop/pods", [("limit", 500)], Access("list", "", "pods", "", "shop")),
        ("GET", "/api/v1/namespaces/shop/pods", [("watch", "true")], Access("watch", "", "pods", "", "shop")),
        (
            "GET",
            "/apis/apps/v1/namespaces/shop/deployments/web",
            None,
            Access("get", "apps", "deployments", "", "shop"),
        ),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/shop/deployments/web/scale",
            None,
            Access("patch", "apps", "deployments", "scale", "shop"),
        ),
        ("POST", "/api/v1/namespaces", None, Access("create", "", "namespaces")),
        ("GET", "/api/v1/namespaces/shop", None, Access("get", "", "namespaces", "", "shop")),
        ("DELETE", "/api/v1/namespaces/shop/pods", None, Access("deletecollection", "", "pods", "", "shop")),
        ("GET", "/api/v1/nodes/n1", None, Access("get", "", "nodes")),
    ],
)
def test_requested_access_reads_the_request_like_the_api_server(
    method: str, path: str, query: list[tuple[str, object]] | None, expected: Access
) -> None:
    found = requested_access(method, path, query)
    assert (found.verb, found.api_group, found.rule_resource, found.namespace) == (
        expected.verb,
        expected.api_group,
        expected.rule_resource,
        expected.namespace,
    )


def test_forbidden_line_names_cluster_verb_resource_and_rule() -> None:
    access = requested_access("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web", None)

    line = forbidden_line("dr", access, role_file=DR_ROLE_FILE)

    assert line == (
        "cluster dr: forbidden to patch deployments.apps in namespace shop; "
        "grant verbs [patch] on deployments in apiGroup apps (deployments/kubernetes/rbac/dr-role.yaml)"
    )


def test_forbidden_line_for_core_cluster_scoped_and_subresources() -> None:
    nodes = forbidden_line("prod", requested_access("GET", "/api/v1/nodes/n1"), role_file=SOURCE_ROLE_FILE)
    scale = forbidden_line(
        "prod", requested_access("PUT", "/apis/apps/v1/namespaces/a/statefulsets/db/scale")
    )

    assert nodes == (
        'cluster prod: forbidden to get nodes at cluster scope; grant verbs [get] on nodes in apiGroup "" '
        "(deployments/kubernetes/rbac/source-role.yaml)"
    )
    assert scale.startswith(
        "cluster prod: forbidden to update statefulsets.apps/scale in namespace a; "
        "grant verbs [update] on statefulsets/scale in apiGroup apps (see deployments/kubernetes/rbac/)"
    )


def test_non_resource_paths_name_the_path() -> None:
    line = forbidden_line("dr", requested_access("GET", "/apis"))

    assert line.startswith(
        "cluster dr: forbidden to get path /apis; grant verbs [get] on nonResourceURLs [/apis]"
    )


def test_an_apply_refused_without_cannot_patch_was_refused_create() -> None:
    access = requested_access("PATCH", "/api/v1/namespaces/shop/configmaps/a")

    created = refused_access(access, apply=True, message='configmaps "a" is forbidden: ')
    patched = refused_access(
        access, apply=True, message='configmaps "a" is forbidden: User "u" cannot patch ...'
    )

    assert (created.verb, patched.verb) == ("create", "patch")
