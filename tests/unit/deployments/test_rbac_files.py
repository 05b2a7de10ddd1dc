"""The shipped RBAC files: every ClusterRole bound and documented; the source read-only for syncs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
RBAC_DIR = ROOT / "deployments" / "kubernetes" / "rbac"
DOC = ROOT / "docs" / "configuration.md"
WRITES = {"create", "update", "patch", "delete", "deletecollection", "escalate", "bind", "*"}


def _documents(file: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((RBAC_DIR / file).read_text()) if doc]


@pytest.mark.parametrize("file", ["source-role.yaml", "dr-role.yaml"])
def test_every_cluster_role_is_bound_and_documented(file: str) -> None:
    documents = _documents(file)
    roles = {doc["metadata"]["name"] for doc in documents if doc["kind"] == "ClusterRole"}
    bound = {doc["roleRef"]["name"] for doc in documents if doc["kind"] == "ClusterRoleBinding"}
    text = DOC.read_text()

    assert roles
    assert roles == bound
    assert f"`{file}`" in text
    for role in roles:
        assert f"`{role}`" in text, f"{role} is not explained in docs/configuration.md"


def test_the_source_sync_roles_only_read_except_placeholder_pods() -> None:
    writes = [
        (doc["metadata"]["name"], resource, sorted(set(rule["verbs"]) & WRITES))
        for doc in _documents("source-role.yaml")
        if doc["kind"] == "ClusterRole" and doc["metadata"]["name"] != "dr-syncer-source-operations"
        for rule in doc["rules"]
        for resource in rule["resources"]
        if set(rule["verbs"]) & WRITES
    ]

    assert writes == [("dr-syncer-source", "pods", ["create", "delete"])]


def test_no_rule_grants_wildcards() -> None:
    for file in ("source-role.yaml", "dr-role.yaml"):
        for doc in _documents(file):
            for rule in doc.get("rules") or []:
                for key in ("apiGroups", "resources", "verbs"):
                    assert "*" not in rule.get(key, []), (file, doc["metadata"]["name"], rule)


def _rules(file: str) -> dict[str, list[dict[str, Any]]]:
    return {doc["metadata"]["name"]: doc["rules"] for doc in _documents(file) if doc["kind"] == "ClusterRole"}


def _grants(rules: list[dict[str, Any]], group: str, resource: str) -> set[str]:
    return {
        verb
        for rule in rules
        if group in rule.get("apiGroups", []) and resource in rule.get("resources", [])
        for verb in rule["verbs"]
    }


@pytest.mark.parametrize(
    ("file", "role", "verbs"),
    [
        ("source-role.yaml", "dr-syncer-source-crds", {"get"}),
        ("dr-role.yaml", "dr-syncer-dr-crds", {"get", "create", "patch"}),
    ],
)
def test_sync_crds_rights_live_in_a_role_of_their_own_and_never_delete(
    file: str, role: str, verbs: set[str]
) -> None:
    """syncCRDs reads CRDs at the source and applies them in DR; deleting one would delete its objects."""
    granted = {
        name: _grants(rules, "apiextensions.k8s.io", "customresourcedefinitions")
        for name, rules in _rules(file).items()
    }

    assert {name: found for name, found in granted.items() if found} == {role: verbs}


@pytest.mark.parametrize("file", ["source-role.yaml", "dr-role.yaml"])
def test_apiservices_are_only_listed_for_the_wildcard_expansion(file: str) -> None:
    granted = {
        name: _grants(rules, "apiregistration.k8s.io", "apiservices") for name, rules in _rules(file).items()
    }

    cluster_role = file.replace("-role.yaml", "")
    assert {name: found for name, found in granted.items() if found} == {
        f"dr-syncer-{cluster_role}-cluster": {"list"}
    }
