"""RBAC: the authorizer, the escalation check, aggregated ClusterRoles and the immutable roleRef.

Upstream behaviours reproduced (kubernetes/kubernetes):
- ``plugin/pkg/auth/authorizer/rbac`` (RBAC authorizer): ClusterRoleBindings everywhere, RoleBindings in
  their namespace, User/Group/ServiceAccount subjects, ``*/subresource``, resourceNames; a denial is
  ``responsewriters.Forbidden``: 403 ``Forbidden`` with ``<resource>[.<group>] ["<name>"] is forbidden:
  User "<u>" cannot <verb> resource "<res>" in API group "<g>" in the namespace "<ns>"`` (or ``at the
  cluster scope``), plus ``: RBAC: role... not found`` when a binding names a missing role.
- ``k8s.io/apiserver/pkg/endpoints/request.RequestInfoFactory``: list vs get vs watch vs deletecollection.
- ``k8s.io/apiserver/pkg/endpoints/handlers/patch.go`` (``withAuthorization`` on the create path): a
  server-side apply PATCH that creates its object also needs ``create``, else ``<res> "<name>" is
  forbidden: `` with the (empty) RBAC reason.
- ``pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased`` and
  ``pkg/registry/rbac/validation.ConfirmNoEscalation``: a Role granting rights its writer does not hold is
  refused (``is attempting to grant RBAC permissions not currently held``) unless the writer holds
  ``escalate``; a binding needs ``bind`` on its roleRef or the role's rights.
- ``pkg/controller/clusterroleaggregation``: aggregated ClusterRoles collect the rules of the ClusterRoles
  their ``clusterRoleSelectors`` match.
- ``pkg/apis/rbac/validation.ValidateRoleBindingUpdate``: ``roleRef: Invalid value: ...: cannot change
  roleRef`` (422).

The authorizer tests need tokens for several users, so they run on their own sandbox cluster (skipped
against a real cluster); the roleRef test runs on the contract target.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from drsyncer.objects import KubeObject
from drsyncer.sandbox import FakeCluster
from drsyncer.sandbox.rbac import kubeconfig_user
from drsyncer.sandbox.rbac_rules import User, service_account_user
from tests.sandbox.conftest import Raw, Target
from tests.sandbox.factories import deployment

RBAC = "rbac.authorization.k8s.io"
APPLY = "application/apply-patch+yaml"
NS = "shop"
OTHER = "other"


@pytest.fixture(scope="module")
def cluster(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeCluster]:
    """A sandbox cluster of its own (RBAC needs per-user tokens; skipped against a real cluster)."""
    if target.sandbox is None:
        pytest.skip("per-user tokens are a sandbox-only helper")
    with FakeCluster("rbac", token="admin-token") as fake:
        yield fake


@pytest.fixture
def enforced(cluster: FakeCluster) -> Iterator[FakeCluster]:
    """The cluster reset: namespaces shop and other, users alice, bob (group devs) and an SA; enforcing."""
    cluster.reset()
    for name in (NS, OTHER):
        cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    cluster.create(_in(deployment("web"), NS))
    cluster.rbac.add_user("alice-token", User("alice"))
    cluster.rbac.add_user("bob-token", User("bob", ("devs",)))
    cluster.rbac.add_user("sa-token", service_account_user("dr-syncer", "syncer"))
    cluster.rbac.enforce()
    yield cluster
    cluster.reset()


def _in(obj: KubeObject, namespace: str) -> KubeObject:
    obj["metadata"]["namespace"] = namespace
    return obj


def _client(cluster: FakeCluster, token: str, tmp_path: Path) -> client.ApiClient:
    path = tmp_path / f"{token}.kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig_user(cluster.kubeconfig(), token)))
    return config.new_client_from_config(str(path))


@pytest.fixture
def alice(enforced: FakeCluster, tmp_path: Path) -> Iterator[client.ApiClient]:
    """A client authenticated as alice."""
    api = _client(enforced, "alice-token", tmp_path)
    yield api
    api.close()


def _role(name: str, rules: list[dict[str, Any]], namespace: str = NS, **extra: Any) -> KubeObject:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    kind = "Role" if namespace else "ClusterRole"
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": metadata, "rules": rules, **extra}


def _binding(
    name: str, role_kind: str, role: str, subjects: list[dict[str, Any]], namespace: str = NS
) -> KubeObject:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
        "metadata": metadata,
        "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role},
        "subjects": subjects,
    }


ALICE = [{"kind": "User", "apiGroup": RBAC, "name": "alice"}]


def _denied(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ApiException) as caught:
        call(*args, **kwargs)
    assert caught.value.status == 403, caught.value.body
    body: dict[str, Any] = json.loads(caught.value.body)
    assert (body["kind"], body["status"], body["reason"], body["code"]) == (
        "Status",
        "Failure",
        "Forbidden",
        403,
    )
    return body


def test_enforcement_is_off_by_default_for_token_users(tmp_path: Path, target: Target) -> None:
    if target.sandbox is None:
        pytest.skip("sandbox-only")
    with FakeCluster("rbac-off") as fake:
        fake.rbac.add_user("alice-token", User("alice"))
        api = _client(fake, "alice-token", tmp_path)
        try:
            assert client.CoreV1Api(api).list_namespaced_pod("default").items == []
        finally:
            api.close()


def test_unknown_token_is_401(enforced: FakeCluster, tmp_path: Path) -> None:
    api = _client(enforced, "nobody-token", tmp_path)
    try:
        with pytest.raises(ApiException) as caught:
            client.CoreV1Api(api).list_namespaced_pod(NS)
        assert caught.value.status == 401
    finally:
        api.close()


def test_user_without_bindings_gets_the_upstream_forbidden_status(alice: client.ApiClient) -> None:
    core, apps = client.CoreV1Api(alice), client.AppsV1Api(alice)

    listing = _denied(core.list_namespaced_pod, NS)
    named = _denied(apps.read_namespaced_deployment, "web", NS)
    cluster_scoped = _denied(core.list_node)

    assert listing["message"] == (
        'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "shop"'
    )
    assert named["message"] == (
        'deployments.apps "web" is forbidden: User "alice" cannot get resource "deployments" in API group '
        '"apps" in the namespace "shop"'
    )
    assert named["details"] == {"name": "web", "group": "apps", "kind": "deployments"}
    assert cluster_scoped["message"] == (
        'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope'
    )


def test_discovery_is_open_to_authenticated_users_other_paths_are_not(alice: client.ApiClient) -> None:
    assert client.VersionApi(alice).get_code().major
    assert client.ApisApi(alice).get_api_versions().groups
    assert client.AppsV1Api(alice).get_api_resources().resources

    status, body, _ = Raw(alice)("GET", "/metrics")

    assert (status, body["message"]) == (403, 'forbidden: User "alice" cannot get path "/metrics"')


def test_role_binding_grants_only_in_its_namespace(enforced: FakeCluster, alice: client.ApiClient) -> None:
    enforced.create(_role("reader", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]))
    enforced.create(_binding("alice-reader", "Role", "reader", ALICE))
    core = client.CoreV1Api(alice)

    assert core.list_namespaced_pod(NS).items == []
    _denied(core.list_namespaced_pod, OTHER)
    watch = _denied(core.list_namespaced_pod, NS, watch=True, _preload_content=True)
    assert "cannot watch resource" in watch["message"]


def test_cluster_role_via_cluster_role_binding_applies_everywhere(
    enforced: FakeCluster, alice: client.ApiClient
) -> None:
    enforced.create(_role("pod-reader", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}], ""))
    enforced.create(_binding("alice-pods", "ClusterRole", "pod-reader", ALICE, ""))
    core = client.CoreV1Api(alice)

    assert core.list_namespaced_pod(NS).items == []
    assert core.list_namespaced_pod(OTHER).items == []


def test_cluster_role_via_role_binding_applies_in_the_binding_namespace_only(
    enforced: FakeCluster, alice: client.ApiClient
) -> None:
    enforced.create(_role("pod-reader", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}], ""))
    enforced.create(_binding("alice-pods", "ClusterRole", "pod-reader", ALICE))
    core = client.CoreV1Api(alice)

    assert core.list_namespaced_pod(NS).items == []
    _denied(core.list_namespaced_pod, OTHER)


def test_group_and_service_account_subjects(enforced: FakeCluster, tmp_path: Path) -> None:
    enforced.create(_role("cm", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]))
    enforced.create(_binding("devs", "Role", "cm", [{"kind": "Group", "apiGroup": RBAC, "name": "devs"}]))
    sa = [{"kind": "ServiceAccount", "name": "syncer", "namespace": "dr-syncer"}]
    enforced.create(_binding("sa", "Role", "cm", sa))
    for token in ("bob-token", "sa-token"):
        api = _client(enforced, token, tmp_path)
        try:
            assert client.CoreV1Api(api).list_namespaced_config_map(NS).items is not None
        finally:
            api.close()


def test_subresources_need_their_own_rule(enforced: FakeCluster, alice: client.ApiClient) -> None:
    rules = [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]}]
    enforced.create(_role("deploy", rules))
    enforced.create(_binding("alice-deploy", "Role", "deploy", ALICE))
    apps, core = client.AppsV1Api(alice), client.CoreV1Api(alice)

    assert apps.read_namespaced_deployment("web", NS).metadata.name == "web"
    scale = _denied(apps.patch_namespaced_deployment_scale, "web", NS, {"spec": {"replicas": 2}})
    log = _denied(core.read_namespaced_pod_log, "web-0", NS)

    status = _denied(apps.patch_namespaced_deployment_status, "web", NS, {"status": {"replicas": 1}})
    assert 'cannot patch resource "deployments/scale" in API group "apps"' in scale["message"]
    assert 'cannot patch resource "deployments/status" in API group "apps"' in status["message"]
    assert log["message"].startswith('pods "web-0" is forbidden: User "alice" cannot get resource "pods/log"')
    enforced.create(_role("scaler", [{"apiGroups": ["apps"], "resources": ["*/scale"], "verbs": ["patch"]}]))
    enforced.create(_binding("alice-scaler", "Role", "scaler", ALICE))
    scaled = apps.patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": 2}})
    assert scaled.spec.replicas == 2


def test_server_side_apply_that_creates_also_needs_create(
    enforced: FakeCluster, alice: client.ApiClient
) -> None:
    enforced.create(_role("patcher", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"]}]))
    enforced.create(_binding("alice-patcher", "Role", "patcher", ALICE))
    raw = Raw(alice)
    body = json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}}
    )
    path = f"/api/v1/namespaces/{NS}/configmaps/cfg"

    status, refused, _ = raw("PATCH", path, body, content_type=APPLY, query={"fieldManager": "test"})
    enforced.create(_role("creator", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]}]))
    enforced.create(_binding("alice-creator", "Role", "creator", ALICE))
    created, _, _ = raw("PATCH", path, body, content_type=APPLY, query={"fieldManager": "test"})

    assert (status, refused["reason"], refused["message"]) == (
        403,
        "Forbidden",
        'configmaps "cfg" is forbidden: ',
    )
    assert created == 201


def test_resource_names_limit_named_requests(enforced: FakeCluster, alice: client.ApiClient) -> None:
    rule = {
        "apiGroups": ["apps"],
        "resources": ["deployments"],
        "verbs": ["get", "list"],
        "resourceNames": ["web"],
    }
    enforced.create(_role("one", [rule]))
    enforced.create(_binding("alice-one", "Role", "one", ALICE))
    apps = client.AppsV1Api(alice)

    assert apps.read_namespaced_deployment("web", NS).metadata.name == "web"
    _denied(apps.read_namespaced_deployment, "db", NS)
    _denied(apps.list_namespaced_deployment, NS)


def test_binding_to_a_missing_role_says_so_in_the_reason(
    enforced: FakeCluster, alice: client.ApiClient
) -> None:
    enforced.create(_binding("alice-ghost", "Role", "ghost", ALICE))

    body = _denied(client.CoreV1Api(alice).list_namespaced_pod, NS)

    assert body["message"].endswith(': RBAC: role.rbac.authorization.k8s.io "ghost" not found')


def test_aggregated_cluster_role_collects_matching_rules(
    enforced: FakeCluster, alice: client.ApiClient
) -> None:
    selector = {"clusterRoleSelectors": [{"matchLabels": {"example.com/aggregate-to-viewer": "true"}}]}
    enforced.create(_role("viewer", [], "", aggregationRule=selector))
    enforced.create(_binding("alice-viewer", "ClusterRole", "viewer", ALICE, ""))
    core = client.CoreV1Api(alice)
    _denied(core.list_namespaced_config_map, NS)

    part = _role("cm-part", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}], "")
    part["metadata"]["labels"] = {"example.com/aggregate-to-viewer": "true"}
    enforced.create(part)

    assert core.list_namespaced_config_map(NS).items is not None
    stored = client.RbacAuthorizationV1Api(_admin(enforced)).read_cluster_role("viewer")
    assert [rule.resources for rule in stored.rules] == [["configmaps"]]


def _admin(cluster: FakeCluster) -> client.ApiClient:
    return config.new_client_from_config_dict(cluster.kubeconfig())


ROLE_WRITER = [{"apiGroups": [RBAC], "resources": ["roles", "rolebindings"], "verbs": ["create", "update"]}]


def test_creating_a_role_with_rights_not_held_is_escalation(
    enforced: FakeCluster, alice: client.ApiClient
) -> None:
    enforced.create(_role("role-writer", ROLE_WRITER))
    enforced.create(_binding("alice-writer", "Role", "role-writer", ALICE))
    rbac = client.RbacAuthorizationV1Api(alice)
    wanted = [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch", "get"]}]

    body = _denied(rbac.create_namespaced_role, NS, _role("deployer", wanted))

    assert body["message"] == (
        'roles.rbac.authorization.k8s.io "deployer" is forbidden: '
        'user "alice" (groups=["system:authenticated"]) '
        "is attempting to grant RBAC permissions not currently held:\n"
        '{APIGroups:["apps"], Resources:["deployments"], Verbs:["patch" "get"]}'
    )
    assert enforced.get(f"{RBAC}/v1", "Role", "deployer", NS) is None


def test_holding_the_rights_or_escalate_allows_granting_them(
    enforced: FakeCluster, alice: client.ApiClient
) -> None:
    held = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]
    enforced.create(_role("role-writer", ROLE_WRITER + held))
    enforced.create(_binding("alice-writer", "Role", "role-writer", ALICE))
    rbac = client.RbacAuthorizationV1Api(alice)

    rbac.create_namespaced_role(NS, _role("cm-reader", held))
    secrets = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]
    _denied(rbac.create_namespaced_role, NS, _role("secret-reader", secrets))
    enforced.create(
        _role("escalator", [{"apiGroups": [RBAC], "resources": ["roles"], "verbs": ["escalate"]}])
    )
    enforced.create(_binding("alice-escalator", "Role", "escalator", ALICE))
    rbac.create_namespaced_role(NS, _role("secret-reader", secrets))

    assert enforced.get(f"{RBAC}/v1", "Role", "secret-reader", NS) is not None


def test_binding_needs_bind_or_the_role_rights(enforced: FakeCluster, alice: client.ApiClient) -> None:
    enforced.create(_role("role-writer", ROLE_WRITER))
    enforced.create(_binding("alice-writer", "Role", "role-writer", ALICE))
    enforced.create(_role("admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]))
    rbac = client.RbacAuthorizationV1Api(alice)
    eve = [{"kind": "User", "apiGroup": RBAC, "name": "eve"}]

    body = _denied(rbac.create_namespaced_role_binding, NS, _binding("eve-admin", "Role", "admin", eve))
    with pytest.raises(ApiException) as missing:
        rbac.create_namespaced_role_binding(NS, _binding("eve-ghost", "Role", "ghost", eve))
    bind = [{"apiGroups": [RBAC], "resources": ["roles"], "verbs": ["bind"], "resourceNames": ["admin"]}]
    enforced.create(_role("binder", bind))
    enforced.create(_binding("alice-binder", "Role", "binder", ALICE))
    rbac.create_namespaced_role_binding(NS, _binding("eve-admin", "Role", "admin", eve))

    assert body["message"].startswith(
        'rolebindings.rbac.authorization.k8s.io "eve-admin" is forbidden: user "alice" '
        '(groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n'
    )
    assert '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}' in body["message"]
    assert missing.value.status == 404
    assert json.loads(missing.value.body)["message"] == 'roles.rbac.authorization.k8s.io "ghost" not found'


def test_aggregation_rule_needs_full_authority(enforced: FakeCluster, alice: client.ApiClient) -> None:
    writer = [{"apiGroups": [RBAC], "resources": ["clusterroles"], "verbs": ["create"]}]
    enforced.create(_role("cr-writer", writer, ""))
    enforced.create(_binding("alice-cr", "ClusterRole", "cr-writer", ALICE, ""))
    selector = {"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]}

    body = _denied(
        client.RbacAuthorizationV1Api(alice).create_cluster_role,
        _role("agg", [], "", aggregationRule=selector),
    )

    assert body["message"] == (
        'clusterroles.rbac.authorization.k8s.io "agg" is forbidden: '
        "must have cluster-admin privileges to use the aggregationRule"
    )


# ----------------------------------------------------------------------------- contract target


@pytest.mark.parametrize("namespaced", [True, False], ids=["RoleBinding", "ClusterRoleBinding"])
def test_role_ref_cannot_change(api: client.ApiClient, ns: str, *, namespaced: bool) -> None:
    rbac = client.RbacAuthorizationV1Api(api)
    namespace = ns if namespaced else ""
    name = f"ref-{ns}"
    binding = _binding(name, "ClusterRole", "view", ALICE, namespace)
    if namespaced:
        rbac.create_namespaced_role_binding(ns, binding)
    else:
        rbac.create_cluster_role_binding(binding)
    patch = {"roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "edit"}}
    try:
        change = (
            (lambda: rbac.patch_namespaced_role_binding(name, ns, patch))
            if namespaced
            else (lambda: rbac.patch_cluster_role_binding(name, patch))
        )
        with pytest.raises(ApiException) as caught:
            change()
    finally:
        if not namespaced:
            rbac.delete_cluster_role_binding(name)

    assert caught.value.status == 422
    body = json.loads(caught.value.body)
    kind = "RoleBinding" if namespaced else "ClusterRoleBinding"
    assert body["reason"] == "Invalid"
    assert body["message"] == (
        f'{kind}.rbac.authorization.k8s.io "{name}" is invalid: roleRef: Invalid value: '
        'rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"edit"}: '
        "cannot change roleRef"
    )
