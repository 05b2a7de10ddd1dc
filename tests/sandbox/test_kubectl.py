"""kubectl against the target: apply (client- and server-side), get -l, scale, diff, delete."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import yaml
from kubernetes import client

from tests.sandbox.factories import deployment, eventually

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def _manifest(ns: str, name: str = "web", replicas: int = 2) -> str:
    body = deployment(name, replicas=replicas)
    body["metadata"]["namespace"] = ns
    body["metadata"]["labels"] = {"app": name}
    return yaml.safe_dump(body)


def test_kubectl_get_namespaces(kubectl: Kubectl) -> None:
    names = json.loads(kubectl("get", "namespaces", "-o", "json").stdout)
    assert "default" in [i["metadata"]["name"] for i in names["items"]]


def test_kubectl_client_side_apply_creates_and_configures(
    kubectl: Kubectl, apps: client.AppsV1Api, ns: str
) -> None:
    assert "created" in kubectl("apply", "--validate=false", "-f", "-", stdin=_manifest(ns)).stdout
    assert (
        "configured"
        in kubectl("apply", "--validate=false", "-f", "-", stdin=_manifest(ns, replicas=3)).stdout
    )
    live = apps.read_namespaced_deployment("web", ns)
    assert live.spec.replicas == 3
    assert "kubectl.kubernetes.io/last-applied-configuration" in live.metadata.annotations


def test_kubectl_server_side_apply(kubectl: Kubectl, apps: client.AppsV1Api, ns: str) -> None:
    result = kubectl("apply", "--server-side", "--validate=false", "-f", "-", stdin=_manifest(ns))
    assert "serverside-applied" in result.stdout
    live = apps.read_namespaced_deployment("web", ns)
    assert any(m.manager == "kubectl" and m.operation == "Apply" for m in live.metadata.managed_fields)


def test_kubectl_server_side_apply_conflict(kubectl: Kubectl, apps: client.AppsV1Api, ns: str) -> None:
    kubectl("apply", "--server-side", "--validate=false", "-f", "-", stdin=_manifest(ns))
    apps.patch_namespaced_deployment("web", ns, {"spec": {"replicas": 5}}, field_manager="other")
    result = kubectl(
        "apply", "--server-side", "--validate=false", "-f", "-", stdin=_manifest(ns), check=False
    )
    assert result.returncode != 0
    assert "conflict" in result.stderr.lower()


def test_kubectl_get_with_label_selector(kubectl: Kubectl, ns: str) -> None:
    kubectl("apply", "--validate=false", "-f", "-", stdin=_manifest(ns, "web"))
    kubectl("apply", "--validate=false", "-f", "-", stdin=_manifest(ns, "api"))
    output = kubectl("get", "deployments", "-n", ns, "-l", "app=api", "-o", "name").stdout
    assert output.split() == ["deployment.apps/api"]


def test_kubectl_scale(kubectl: Kubectl, apps: client.AppsV1Api, ns: str) -> None:
    kubectl("apply", "--validate=false", "-f", "-", stdin=_manifest(ns))
    assert "scaled" in kubectl("scale", "deployment/web", "-n", ns, "--replicas=0").stdout
    assert apps.read_namespaced_deployment("web", ns).spec.replicas == 0


def test_kubectl_diff_shows_changes(kubectl: Kubectl, ns: str) -> None:
    kubectl("apply", "--validate=false", "-f", "-", stdin=_manifest(ns))
    result = kubectl("diff", "-f", "-", stdin=_manifest(ns, replicas=4), check=False)
    assert result.returncode == 1, result.stderr
    assert "replicas: 4" in result.stdout


def test_kubectl_delete_waits_until_gone(kubectl: Kubectl, apps: client.AppsV1Api, ns: str) -> None:
    kubectl("apply", "--validate=false", "-f", "-", stdin=_manifest(ns))
    assert "deleted" in kubectl("delete", "deployment", "web", "-n", ns, "--timeout=20s").stdout
    eventually(lambda: not apps.list_namespaced_deployment(ns).items)


def test_kubectl_get_prints_server_side_columns(kubectl: Kubectl, core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "v"}})
    header = kubectl("get", "configmaps", "-n", ns).stdout.splitlines()[0].split()
    assert header == ["NAME", "DATA", "AGE"]
