"""What real clusters make for themselves is never copied; claims are never skipped for an owner;
finished Jobs are not run again in DR."""

from __future__ import annotations

from typing import Any

import pytest

from drsyncer.objects import KubeObject
from tasks.filter.per_cluster import PerClusterObject
from tasks.filter.rules import FilterContext, owner_warning, skip_reason
from tests.factories import make_configmap, make_job, make_pvc, make_secret

CTX = FilterContext()
STATEFULSET_OWNER = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "name": "db",
    "uid": "u",
    "controller": True,
}


def _reason(obj: KubeObject, ctx: FilterContext = CTX) -> str | None:
    skipped = skip_reason(obj, ctx)
    return None if skipped is None else skipped.reason


@pytest.mark.parametrize("name", ["kube-root-ca.crt", "istio-ca-root-cert", "openshift-service-ca.crt"])
def test_per_cluster_ca_bundles_are_never_copied(name: str) -> None:
    assert _reason(make_configmap(name)) is not None


@pytest.mark.parametrize("name", ["default-token-x7k2p", "default-dockercfg-9qz4s"])
def test_per_cluster_default_secrets_are_never_copied(name: str) -> None:
    assert _reason(make_secret(name)) is not None


def test_app_secret_with_a_similar_name_is_copied() -> None:
    assert _reason(make_secret("default-tokens-for-app")) is None


def test_per_cluster_list_is_extendable() -> None:
    ctx = FilterContext(per_cluster_objects=(PerClusterObject("configmap", "mesh-ca-*", "listed"),))
    assert _reason(make_configmap("mesh-ca-east"), ctx) == "listed"
    assert _reason(make_configmap("mesh-ca-east")) is None


def test_claim_owned_by_a_statefulset_is_synced_with_a_warning() -> None:
    claim = make_pvc("data-db-0")
    claim["metadata"]["ownerReferences"] = [STATEFULSET_OWNER]
    assert _reason(claim) is None
    warning = owner_warning(claim)
    assert warning is not None
    assert "StatefulSet/db" in warning


def test_claim_owned_by_an_operator_resource_is_synced() -> None:
    claim = make_pvc("pg-1")
    owner = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "name": "pg",
        "uid": "u",
        "controller": True,
    }
    claim["metadata"]["ownerReferences"] = [owner]
    assert _reason(claim) is None


def test_other_controller_owned_objects_stay_skipped() -> None:
    owner = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "name": "c",
        "uid": "u",
        "controller": True,
    }
    assert _reason(make_configmap(owner=owner)) == "controlled by Certificate/c, which is synced instead"


def test_object_without_owners_has_no_warning() -> None:
    assert owner_warning(make_configmap()) is None


def _finished(condition: str, status: str = "True") -> KubeObject:
    job = make_job()
    conditions: list[dict[str, Any]] = [{"type": condition, "status": status}]
    job["status"] = {"conditions": conditions}
    return job


@pytest.mark.parametrize("condition", ["Complete", "Failed"])
def test_finished_jobs_are_skipped_with_a_reason(condition: str) -> None:
    reason = _reason(_finished(condition))
    assert reason is not None
    assert condition in reason


def test_running_job_is_synced() -> None:
    assert _reason(make_job()) is None
    assert _reason(_finished("Complete", status="False")) is None
