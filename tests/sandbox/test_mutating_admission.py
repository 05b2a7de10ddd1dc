"""Contract: a mutating admission webhook on the cluster (sidecar injection, env injection).

kube-apiserver computes the request's managedFields entry before it calls mutating admission
(create/update handlers: ``FieldManager.UpdateNoErrors`` then ``mutatingAdmission.Admit``;
kubernetes#87672, PR #87671), so what a webhook adds is owned by no manager, and a server-side apply
that does not mention it leaves it in place. The object is defaulted again after the webhook's patch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from drsyncer.sandbox import FakeCluster
from tests.sandbox.factories import deployment, eventually

SIDECAR = {"name": "istio-proxy", "image": "istio/proxyv2:1.24"}
APPLY = "application/apply-patch+yaml"


@pytest.fixture
def webhook(sandbox: FakeCluster) -> Iterator[FakeCluster]:
    """The sandbox with a mutating webhook injecting a sidecar and an env var; removed afterwards."""
    sandbox.admission.add_sidecar(SIDECAR)
    sandbox.admission.add_env("MESH_ID", "dr-mesh")
    yield sandbox
    sandbox.admission.clear()


def _containers(obj: Any) -> list[str]:
    return [c.name for c in obj.spec.template.spec.containers]


def _owned_by(obj: Any, text: str) -> list[str]:
    return [e.manager for e in obj.metadata.managed_fields or [] if text in json.dumps(e.fields_v1)]


def test_webhook_adds_sidecar_and_env_to_the_pod_template_on_create(
    apps: client.AppsV1Api, ns: str, webhook: FakeCluster
) -> None:
    """Mutating admission: the stored Deployment has the sidecar (defaulted) and the env var."""
    created = apps.create_namespaced_deployment(ns, deployment("web"), field_manager="dr-syncer")
    assert _containers(created) == ["app", "istio-proxy"]
    sidecar = created.spec.template.spec.containers[1]
    assert sidecar.termination_message_path == "/dev/termination-log"
    assert sidecar.image_pull_policy == "IfNotPresent"
    for container in created.spec.template.spec.containers:
        assert [(e.name, e.value) for e in container.env] == [("MESH_ID", "dr-mesh")]


def test_webhook_mutation_is_owned_by_no_manager(
    apps: client.AppsV1Api, ns: str, webhook: FakeCluster
) -> None:
    """The request's managedFields entry is computed before the webhook runs: the sidecar is unowned."""
    created = apps.create_namespaced_deployment(ns, deployment("web"), field_manager="dr-syncer")
    assert _owned_by(created, 'k:{\\"name\\":\\"app\\"}') == ["dr-syncer"]
    assert _owned_by(created, "istio-proxy") == []
    assert _owned_by(created, "MESH_ID") == []


def test_apply_without_the_sidecar_keeps_it_and_changes_nothing(
    apps: client.AppsV1Api, ns: str, webhook: FakeCluster
) -> None:
    """A re-apply of the same configuration (no sidecar in it) is a no-op: same resourceVersion."""
    body = deployment("web")
    apps.patch_namespaced_deployment("web", ns, body, field_manager="dr-syncer", _content_type=APPLY)
    webhook.settle()  # the controllers' own writes (revision, status) are done
    settled = apps.read_namespaced_deployment("web", ns)
    again = apps.patch_namespaced_deployment("web", ns, body, field_manager="dr-syncer", _content_type=APPLY)
    assert _containers(again) == ["app", "istio-proxy"]
    assert again.metadata.resource_version == settled.metadata.resource_version


def test_webhook_mutation_reaches_the_pods(
    apps: client.AppsV1Api, core: client.CoreV1Api, ns: str, webhook: FakeCluster
) -> None:
    """Pods made from the mutated template run the sidecar too."""
    apps.create_namespaced_deployment(ns, deployment("web"))
    pod = eventually(lambda: next(iter(core.list_namespaced_pod(ns, label_selector="app=web").items), None))
    assert [c.name for c in pod.spec.containers] == ["app", "istio-proxy"]


def test_webhook_limited_to_kinds_leaves_others_alone(
    apps: client.AppsV1Api, ns: str, sandbox: FakeCluster
) -> None:
    """A webhook registered for Pods only does not touch a Deployment's template."""
    sandbox.admission.add_sidecar(SIDECAR, kinds=("Pod",))
    try:
        created = apps.create_namespaced_deployment(ns, deployment("web"))
    finally:
        sandbox.admission.clear()
    assert _containers(created) == ["app"]


def test_no_mutation_without_a_webhook(apps: client.AppsV1Api, ns: str, sandbox: FakeCluster) -> None:
    """By default a cluster mutates nothing."""
    created = apps.create_namespaced_deployment(ns, deployment("web"))
    assert _containers(created) == ["app"]
    assert created.spec.template.spec.containers[0].env is None
