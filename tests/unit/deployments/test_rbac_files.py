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
