"""Contract: per-cluster identity objects — root CA bundle, ServiceAccount tokens, istio's CA bundle.

Each cluster writes its own content into these objects in every namespace, and its publishers write a
foreign copy back: kube-controller-manager's root-ca-cert-publisher (``kube-root-ca.crt``) and tokens
controller (``kubernetes.io/service-account-token`` Secrets), the legacy token controller of clusters
before 1.24 (``secrets: [default-token-xxxxx]``), and istiod's namespace controller
(``istio-ca-root-cert``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from cryptography import x509
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from drsyncer.objects import KubeObject
from drsyncer.sandbox import FakeCluster
from tests.sandbox.factories import eventually

ROOT_CA = "kube-root-ca.crt"
TOKEN_TYPE = "kubernetes.io/service-account-token"


def _ca(core: client.CoreV1Api, ns: str) -> str:
    return str(eventually(lambda: _config_map_data(core, ns, ROOT_CA).get("ca.crt")))


def _config_map_data(core: client.CoreV1Api, ns: str, name: str) -> dict[str, str]:
    try:
        return core.read_namespaced_config_map(name, ns).data or {}
    except ApiException as exc:
        if exc.status == 404:
            return {}
        raise


def test_root_ca_publisher_puts_a_ca_certificate_in_every_namespace(core: client.CoreV1Api, ns: str) -> None:
    """root-ca-cert-publisher: ``kube-root-ca.crt`` holds the cluster's CA certificate (PEM)."""
    certificate = x509.load_pem_x509_certificate(_ca(core, ns).encode())
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_each_sandbox_cluster_has_its_own_root_ca(
    core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    """Two clusters never share a root CA, so a copied ``kube-root-ca.crt`` is wrong in the other one."""
    assert _ca(core, ns) == sandbox.identity.root_ca
    with FakeCluster("other") as other:
        theirs = other.get("v1", "ConfigMap", ROOT_CA, "default")
        assert theirs is not None
        assert theirs["data"]["ca.crt"] == other.identity.root_ca
        assert other.identity.root_ca != sandbox.identity.root_ca


def test_root_ca_publisher_writes_back_a_foreign_bundle(core: client.CoreV1Api, ns: str) -> None:
    """root-ca-cert-publisher: a ``kube-root-ca.crt`` whose data differs is updated back to this cluster's."""
    ours = _ca(core, ns)
    core.patch_namespaced_config_map(ROOT_CA, ns, {"data": {"ca.crt": "copied from another cluster"}})
    eventually(lambda: _config_map_data(core, ns, ROOT_CA).get("ca.crt") == ours)


def _token_secret(name: str, account: str, uid: str) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "annotations": {
                "kubernetes.io/service-account.name": account,
                "kubernetes.io/service-account.uid": uid,
            },
        },
        "type": TOKEN_TYPE,
        "data": {"token": base64.b64encode(b"source-cluster-token").decode()},
    }


def _secret_names(core: client.CoreV1Api, ns: str) -> set[str]:
    return {s.metadata.name for s in core.list_namespaced_secret(ns).items}


def test_tokens_controller_deletes_a_token_of_another_clusters_service_account(
    core: client.CoreV1Api, ns: str
) -> None:
    """Tokens controller: a token Secret whose ServiceAccount uid does not match (a copy) is deleted."""
    eventually(lambda: core.read_namespaced_service_account("default", ns))
    core.create_namespaced_secret(ns, _token_secret("copied-token", "default", "0f0f0f0f-uid-of-the-source"))
    eventually(lambda: "copied-token" not in _secret_names(core, ns))


def test_tokens_controller_fills_in_a_token_secret_for_an_existing_account(
    core: client.CoreV1Api, ns: str
) -> None:
    """Tokens controller: a token Secret naming an existing ServiceAccount gets token, ca.crt, namespace."""
    eventually(lambda: core.read_namespaced_service_account("default", ns))
    body = _token_secret("mine", "default", "")
    del body["metadata"]["annotations"]["kubernetes.io/service-account.uid"]
    del body["data"]
    core.create_namespaced_secret(ns, body)
    secret = eventually(lambda: (s := core.read_namespaced_secret("mine", ns)).data and s)
    assert set(secret.data) == {"token", "ca.crt", "namespace"}
    assert base64.b64decode(secret.data["namespace"]).decode() == ns
    account = core.read_namespaced_service_account("default", ns)
    assert secret.metadata.annotations["kubernetes.io/service-account.uid"] == account.metadata.uid


@pytest.fixture
def legacy_tokens(sandbox: FakeCluster) -> Iterator[FakeCluster]:
    """The sandbox running the pre-1.24 legacy token controller; turned off afterwards."""
    sandbox.identity.enable_legacy_tokens()
    yield sandbox
    sandbox.identity.reset()


def test_legacy_token_controller_lists_a_token_secret_on_each_service_account(
    core: client.CoreV1Api, ns: str, legacy_tokens: FakeCluster
) -> None:
    """Legacy token controller (< 1.24): ``secrets: [default-token-xxxxx]`` and that token Secret."""
    account = eventually(lambda: (a := core.read_namespaced_service_account("default", ns)).secrets and a)
    [reference] = account.secrets
    assert reference.name.startswith("default-token-")
    assert len(reference.name.removeprefix("default-token-")) == 5
    secret = core.read_namespaced_secret(reference.name, ns)
    assert secret.type == TOKEN_TYPE
    assert secret.metadata.annotations["kubernetes.io/service-account.name"] == "default"
    assert secret.metadata.annotations["kubernetes.io/service-account.uid"] == account.metadata.uid
    assert set(secret.data) == {"token", "ca.crt", "namespace"}


def test_legacy_tokens_are_off_by_default(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    """Clusters since 1.24 create no token Secrets: the default ServiceAccount lists none."""
    account = eventually(lambda: core.read_namespaced_service_account("default", ns))
    sandbox.settle()
    assert not core.read_namespaced_service_account("default", ns).secrets
    assert not [s for s in core.list_namespaced_secret(ns).items if s.type == TOKEN_TYPE]
    assert account.metadata.name == "default"


@pytest.fixture
def istio(sandbox: FakeCluster) -> Iterator[FakeCluster]:
    """The sandbox running istiod's ``istio-ca-root-cert`` publisher; turned off afterwards."""
    sandbox.identity.enable_istio_ca()
    yield sandbox
    sandbox.identity.reset()


def test_istio_publishes_its_root_cert_in_each_namespace(
    core: client.CoreV1Api, ns: str, istio: FakeCluster
) -> None:
    """istiod namespace controller: ConfigMap ``istio-ca-root-cert`` (root-cert.pem) in every namespace."""
    data = eventually(lambda: _config_map_data(core, ns, "istio-ca-root-cert"))
    assert data == {"root-cert.pem": istio.identity.istio_root_cert}
    config_map = core.read_namespaced_config_map("istio-ca-root-cert", ns)
    assert config_map.metadata.labels == {"istio.io/config": "true"}
    assert [e.manager for e in config_map.metadata.managed_fields] == ["pilot-discovery"]


def test_istio_writes_back_a_copied_root_cert(core: client.CoreV1Api, ns: str, istio: FakeCluster) -> None:
    """istiod namespace controller: a changed ``istio-ca-root-cert`` is written back."""
    ours = eventually(lambda: _config_map_data(core, ns, "istio-ca-root-cert").get("root-cert.pem"))
    core.patch_namespaced_config_map("istio-ca-root-cert", ns, {"data": {"root-cert.pem": "source mesh CA"}})
    eventually(lambda: _config_map_data(core, ns, "istio-ca-root-cert").get("root-cert.pem") == ours)


def test_istio_publisher_is_off_by_default(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    """Without istio installed no ``istio-ca-root-cert`` appears."""
    sandbox.settle()
    assert _config_map_data(core, ns, "istio-ca-root-cert") == {}


def test_reset_restores_the_default_controllers(sandbox: FakeCluster) -> None:
    """``reset()``: optional controllers off, admission mutations gone, jobs clock on wall time."""
    with FakeCluster("resettable") as cluster:
        cluster.identity.enable_legacy_tokens()
        cluster.identity.enable_istio_ca()
        cluster.keda.install()
        cluster.admission.add_env("MESH_ID", "dr-mesh")
        cluster.jobs.advance(3600)
        cluster.reset()
        assert not cluster.identity.legacy_tokens
        assert not cluster.identity.istio_ca
        assert not cluster.keda.installed
        assert cluster.registry.by_key(("keda.sh", "scaledobjects")) is None
        assert abs((cluster.jobs.now() - datetime.now(UTC)).total_seconds()) < 60
        created = cluster.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p", "namespace": "default"},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
            }
        )
        assert "env" not in created["spec"]["containers"][0]
        cluster.settle()
        account = cluster.get("v1", "ServiceAccount", "default", "default")
        assert account is not None
        assert "secrets" not in account
        assert cluster.get("v1", "ConfigMap", "istio-ca-root-cert", "default") is None
