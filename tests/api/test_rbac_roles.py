"""The RBAC roles we ship are enough, and a missing rule fails with one line naming the rule to grant.

Both sandbox clusters enforce RBAC (``drsyncer.sandbox.rbac``) and dr-syncer authenticates as the
ServiceAccount ``dr-syncer/dr-syncer`` with a bearer token, holding exactly what
``deployments/kubernetes/rbac/source-role.yaml`` (source) and ``dr-role.yaml`` (DR) grant: the documents
are loaded from those files, bindings included. Each scenario runs once with the shipped roles and once
with one rule taken away. Scenarios with a custom resource in scope (``["*"]``, ``syncCRDs``) also grant
that kind, as docs/configuration.md ("More kinds") asks users to.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from drsyncer.objects import KubeObject
from drsyncer.sandbox import FakeCluster
from drsyncer.sandbox.rbac import kubeconfig_user
from drsyncer.sandbox.rbac_rules import service_account_user
from tasks.data.endpoints import volume_endpoint
from tasks.session import open_session
from tests.api.sync.conftest import MAPPING, SyncWorld, poll, unique_namespace
from tests.api.sync.test_idempotence import seed_realistic_namespace
from tests.factories import make_configmap, make_deployment, make_pvc, make_statefulset
from tests.fixtures.source_writes import SourceWrites
from tests.sandbox.factories import crd

pytestmark = pytest.mark.usefixtures("prefect_server")

RBAC_DIR = Path(__file__).resolve().parents[2] / "deployments" / "kubernetes" / "rbac"
TOKEN = "dr-syncer-sa-token"
Edit = Callable[[list[KubeObject]], None]


def shipped(file: str) -> list[KubeObject]:
    """The documents of one shipped RBAC file."""
    return [doc for doc in yaml.safe_load_all((RBAC_DIR / file).read_text()) if doc]


def without_verb(role: str, group: str, resource: str, verb: str) -> Edit:
    """An edit that takes ``verb`` away from ``resource`` in ClusterRole ``role``."""

    def edit(documents: list[KubeObject]) -> None:
        for doc in documents:
            if doc["kind"] != "ClusterRole" or doc["metadata"]["name"] != role:
                continue
            for rule in list(doc["rules"]):
                if group in rule.get("apiGroups", []) and resource in rule.get("resources", []):
                    rule["resources"] = [r for r in rule["resources"] if r != resource]
                    if verb not in rule["verbs"]:
                        continue
                    doc["rules"].append(
                        {
                            "apiGroups": [group],
                            "resources": [resource],
                            "verbs": [v for v in rule["verbs"] if v != verb],
                        }
                    )
            return
        raise AssertionError(f"ClusterRole {role} is not shipped")

    return edit


def enforce(cluster: FakeCluster, file: str, kubeconfig: Path, *, edit: Edit | None = None) -> None:
    """Install the shipped roles (optionally edited), add dr-syncer's token user, turn enforcement on."""
    documents = copy.deepcopy(shipped(file))
    if edit is not None:
        edit(documents)
    if cluster.get("v1", "Namespace", "dr-syncer") is None:  # the agent namespace (`drsyncer agent install`)
        cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dr-syncer"}})
    for document in documents:
        cluster.create(document)
    cluster.rbac.add_user(TOKEN, service_account_user("dr-syncer", "dr-syncer"))
    cluster.rbac.enforce()
    document = kubeconfig_user(cluster.kubeconfig(cluster.name), TOKEN)
    kubeconfig.write_text(yaml.safe_dump(document))
    kubeconfig.chmod(0o600)


@pytest.fixture
def make_world(
    source_cluster: FakeCluster, dr_cluster: FakeCluster, tmp_path: Path
) -> Iterator[Callable[..., SyncWorld]]:
    """Build a world whose clusters enforce the shipped roles (``source_edit``/``dr_edit`` take one away)."""

    def build(*, source_edit: Edit | None = None, dr_edit: Edit | None = None) -> SyncWorld:
        namespace = unique_namespace("rbac")
        world = SyncWorld(
            source=source_cluster,
            dr=dr_cluster,
            config_dir=tmp_path,
            source_kubeconfig=tmp_path / "source.kubeconfig",
            dr_kubeconfig=tmp_path / "dr.kubeconfig",
            namespace=namespace,
            destination_namespace=namespace,
        )
        world.create_namespace()
        enforce(source_cluster, "source-role.yaml", world.source_kubeconfig, edit=source_edit)
        enforce(dr_cluster, "dr-role.yaml", world.dr_kubeconfig, edit=dr_edit)
        world.configure()
        return world

    yield build
    source_cluster.set_background(False)
    dr_cluster.set_background(False)


def _sync(world: SyncWorld) -> tuple[Any, dict[str, Any]]:
    from flows.namespace_sync import namespace_sync

    state = namespace_sync(mapping=MAPPING, config=[str(world.config_path)], return_state=True)
    report = state.result(raise_on_failure=False)
    assert isinstance(report, dict), report
    return state, report


def _forbidden(cluster: FakeCluster) -> list[str]:
    return [f"{e.method} {e.path}" for e in cluster.audit.requests(status=403)]


def test_full_sync_needs_nothing_beyond_the_shipped_roles(make_world: Callable[..., SyncWorld]) -> None:
    world = make_world()
    seed_realistic_namespace(world)

    state, report = _sync(world)
    world.dr.settle()
    again, second = _sync(world)

    assert state.is_completed(), report
    assert report["counts"]["failed"] == 0
    assert report["counts"]["created"] >= 15
    assert world.dr_get("rbac.authorization.k8s.io/v1", "RoleBinding", "app-reader") is not None
    assert again.is_completed(), second
    assert second["counts"]["created"] == second["counts"]["updated"] == 0
    assert _forbidden(world.source) == _forbidden(world.dr) == []


def test_sync_missing_a_dr_rule_names_the_rule_and_the_role_file(
    make_world: Callable[..., SyncWorld],
) -> None:
    world = make_world(dr_edit=without_verb("dr-syncer-dr", "apps", "deployments", "patch"))
    seed_realistic_namespace(world)

    state, report = _sync(world)

    assert state.is_failed()
    failed = [(o["kind"], o["name"], o["error"]) for o in report["objects"] if o["status"] == "failed"]
    assert failed == [
        (
            "Deployment",
            "web",
            f"cluster dr: forbidden to patch deployments.apps in namespace {world.namespace}; grant verbs "
            "[patch] on deployments in apiGroup apps (deployments/kubernetes/rbac/dr-role.yaml)",
        )
    ]
    assert world.dr_get("apps/v1", "StatefulSet", "db") is not None


def test_sync_missing_a_source_read_fails_the_run_with_the_rule(make_world: Callable[..., SyncWorld]) -> None:
    world = make_world(source_edit=without_verb("dr-syncer-source", "", "configmaps", "list"))
    seed_realistic_namespace(world)

    state, report = _sync(world)

    assert state.is_failed()
    assert report["error"] == (
        f"cluster source: forbidden to list configmaps in namespace {world.namespace}; grant verbs [list] on "
        'configmaps in apiGroup "" (deployments/kubernetes/rbac/source-role.yaml)'
    )
    assert _forbidden(world.dr) == []


def test_pvc_data_endpoints_resolve_with_the_shipped_roles(
    make_world: Callable[..., SyncWorld], source_writes: Callable[[FakeCluster, str], SourceWrites]
) -> None:
    """The data stage's Kubernetes side: claims, volumes, nodes and placeholder pods on both clusters."""
    world = make_world()
    writes = source_writes(world.source, world.namespace)
    world.seed(make_pvc("data", volume_name=None, server_fields=False))
    with writes.product_runs():
        state, report = _sync(world)
    assert state.is_completed(), report
    world.source.set_background(True)
    world.dr.set_background(True)
    session = open_session(world.mapping())
    try:
        with writes.product_runs():
            for client in (session.source, session.destination):
                with volume_endpoint(client, world.namespace, "data") as endpoint:
                    assert endpoint.placeholder
                    assert endpoint.path.endswith("/mount")
    finally:
        session.close()

    assert _forbidden(world.source) == _forbidden(world.dr) == []
    for cluster in (world.source, world.dr):
        poll(lambda cluster=cluster: cluster.objects("v1", "Pod", world.namespace) == [], timeout=10)


def test_agent_host_keys_are_read_with_the_agent_namespace_role_only(
    make_world: Callable[..., SyncWorld],
) -> None:
    """Per-node host keys: list agent pods and read their logs in ``dr-syncer``, and no other pod's log."""
    from agent.manifests import AgentSettings, daemon_set
    from drsyncer.keys import generate_host_key
    from drsyncer.kube.client import ForbiddenError, object_path
    from drsyncer.sandbox.pod_logs import append_container_log, container_log_path
    from tasks.data.agent_host_keys import agent_host_key, host_key_line

    world = make_world()
    world.source.set_background(True)
    world.dr.set_background(True)
    printed: dict[str, str] = {}
    for cluster in (world.source, world.dr):
        cluster.create(daemon_set(AgentSettings(cluster=cluster.name)))
        for node in cluster.nodes:

            def agent_running(c: FakeCluster = cluster, n: str = node.name) -> bool:
                return any(
                    p["spec"].get("nodeName") == n and p.get("status", {}).get("phase") == "Running"
                    for p in c.objects("v1", "Pod", "dr-syncer")
                )

            poll(agent_running, timeout=10)
            key = " ".join(generate_host_key(node.name).public_openssh.split()[:2])
            path = container_log_path(
                node.root_dir, namespace="dr-syncer", workload="dr-syncer-agent", container="agent"
            )
            append_container_log(path, host_key_line(node.name, key))
            printed[f"{cluster.name}/{node.name}"] = key
    world.seed(make_configmap("bystander", server_fields=False))
    session = open_session(world.mapping())
    try:
        for client, cluster in ((session.source, world.source), (session.destination, world.dr)):
            for node in cluster.nodes:
                assert agent_host_key(client, node.name) == printed[f"{cluster.name}/{node.name}"]
        pod_log = object_path(
            group="", version="v1", plural="pods", namespace=world.namespace, name="any", subresource="log"
        )
        with pytest.raises(ForbiddenError):
            list(session.source.stream_lines(pod_log, query=[]))
    finally:
        session.close()

    assert [line for line in _forbidden(world.source) if "/log" not in line] == _forbidden(world.dr) == []


# ----------------------------------------------------------------------------- cutover


def _workloads(world: SyncWorld) -> None:
    """web (2 replicas) and db (1), each with pods of its own; kubelets in the background."""
    web = make_deployment("web", replicas=2, server_fields=False)
    db = make_statefulset("db", replicas=1, server_fields=False)
    for obj in (web, db):
        name = obj["metadata"]["name"]
        obj["spec"]["selector"] = {"matchLabels": {"app": name}}
        obj["spec"]["template"]["metadata"]["labels"] = {"app": name}
    world.seed(web, db)
    world.source.set_background(True)
    world.dr.set_background(True)
    poll(lambda: _ready(world.source, world.namespace, "web", 2), timeout=10)


def _ready(cluster: FakeCluster, namespace: str, name: str, count: int) -> bool:
    found = cluster.get("apps/v1", "Deployment", name, namespace) or {}
    return int((found.get("status") or {}).get("readyReplicas", 0)) == count


def _operate(operation: str, world: SyncWorld, **parameters: Any) -> tuple[Any, dict[str, Any]]:
    from flows import dr_operations

    flow = getattr(dr_operations, operation)
    state = flow(mapping=MAPPING, config=[str(world.config_path)], return_state=True, **parameters)
    document = state.result(raise_on_failure=False)
    assert isinstance(document, dict), document
    return state, document


CUTOVER = {"yes": True, "stop_timeout_seconds": 20, "ready_timeout_seconds": 20}


def test_stage_and_cutover_need_nothing_beyond_the_shipped_roles(
    make_world: Callable[..., SyncWorld],
) -> None:
    world = make_world()
    _workloads(world)

    staged, stage_document = _operate("stage", world)
    state, document = _operate("cutover", world, **CUTOVER)

    assert staged.is_completed(), stage_document
    assert state.is_completed(), document
    assert document["counts"] == {"Deployment/web": 2, "StatefulSet/db": 1}
    assert _ready(world.dr, world.destination_namespace, "web", 2)
    source = world.source.get("apps/v1", "Deployment", "web", world.namespace)
    assert source is not None
    assert source["spec"]["replicas"] == 0
    assert _forbidden(world.source) == _forbidden(world.dr) == []


def test_cutover_missing_the_source_operations_rule_names_it(make_world: Callable[..., SyncWorld]) -> None:
    world = make_world(
        source_edit=without_verb("dr-syncer-source-operations", "apps", "deployments", "patch")
    )
    _workloads(world)
    staged, stage_document = _operate("stage", world)
    assert staged.is_completed(), stage_document

    state, document = _operate("cutover", world, **CUTOVER)

    assert state.is_failed()
    assert document["error"] == (
        f"cluster source: forbidden to patch deployments.apps in namespace {world.namespace}; grant verbs "
        "[patch] on deployments in apiGroup apps (deployments/kubernetes/rbac/source-role.yaml)"
    )
    failed = [step for step in document["steps"] if step["outcome"] == "failed"]
    assert [step["step"] for step in failed] == ["record-source-replicas"]


# ----------------------------------------------------------------------------- custom resources

GROUP = "example.dr-syncer.io"
OLM = "packages.operators.coreos.com"
FULL_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")
CRD_NAME = f"widgets.{GROUP}"


def _grant_widgets(world: SyncWorld) -> None:
    """What docs/configuration.md ("More kinds") tells users to add for a custom kind in scope."""
    for cluster, verbs in ((world.source, ["get", "list", "watch"]), (world.dr, list(FULL_VERBS))):
        role: KubeObject = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "dr-syncer-widgets"},
            "rules": [{"apiGroups": [GROUP], "resources": ["widgets"], "verbs": verbs}],
        }
        binding: KubeObject = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "dr-syncer-widgets"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role["metadata"]["name"],
            },
            "subjects": [{"kind": "ServiceAccount", "name": "dr-syncer", "namespace": "dr-syncer"}],
        }
        cluster.create(role)
        cluster.create(binding)


def _widget(name: str) -> KubeObject:
    return {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": name}, "spec": {"size": 3}}


def _custom_world(world: SyncWorld, *, in_dr: bool) -> None:
    """The widgets CRD in the source (and in DR with ``in_dr``), one Widget and one ConfigMap to copy."""
    for cluster in (world.source, world.dr) if in_dr else (world.source,):
        cluster.create(crd("widgets", "Widget", GROUP))
    _grant_widgets(world)
    world.seed(make_configmap("settings", server_fields=False), _widget("blue"))


def _kind_lines(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in report["objects"] if o["name"] == "*"}


def test_wildcard_sync_needs_nothing_beyond_the_shipped_roles_and_the_custom_kind(
    make_world: Callable[..., SyncWorld],
) -> None:
    """``["*"]`` reads the APIService list (source-role.yaml grants it) and skips the aggregated group."""
    world = make_world()
    _custom_world(world, in_dr=True)
    world.source.aggregated.add(OLM, "v1", [("PackageManifest", "packagemanifests", True, FULL_VERBS)])
    world.configure(resourceTypes=["configmaps"], namespaceScopedResources=["*"])

    state, report = _sync(world)

    assert state.is_completed(), report
    assert report["counts"]["failed"] == 0
    assert report["warnings"] == []
    assert world.dr.get(f"{GROUP}/v1", "Widget", "blue", world.namespace) is not None
    assert "aggregated API" in _kind_lines(report)[OLM]["reason"]
    assert _forbidden(world.source) == _forbidden(world.dr) == []


def test_sync_crds_needs_nothing_beyond_the_shipped_roles_and_the_custom_kind(
    make_world: Callable[..., SyncWorld],
) -> None:
    world = make_world()
    _custom_world(world, in_dr=False)
    world.configure(resourceTypes=["configmaps"], namespaceScopedResources=["*"], syncCRDs=True)

    state, report = _sync(world)

    assert state.is_completed(), report
    assert report["counts"]["failed"] == 0
    crd_lines = [
        (o["name"], o["status"]) for o in report["objects"] if o["kind"] == "CustomResourceDefinition"
    ]
    assert crd_lines == [(CRD_NAME, "synced")]
    assert world.dr.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", CRD_NAME) is not None
    assert world.dr.get(f"{GROUP}/v1", "Widget", "blue", world.namespace) is not None
    assert _forbidden(world.source) == _forbidden(world.dr) == []


def test_sync_crds_missing_the_dr_crd_rule_names_the_rule_and_the_role_file(
    make_world: Callable[..., SyncWorld],
) -> None:
    world = make_world(
        dr_edit=without_verb(
            "dr-syncer-dr-crds", "apiextensions.k8s.io", "customresourcedefinitions", "create"
        )
    )
    _custom_world(world, in_dr=False)
    world.configure(resourceTypes=["configmaps"], namespaceScopedResources=["*"], syncCRDs=True)

    state, report = _sync(world)

    assert state.is_failed()
    crd_line = next(o for o in report["objects"] if o["kind"] == "CustomResourceDefinition")
    assert crd_line["error"] == (
        "cluster dr: forbidden to create customresourcedefinitions.apiextensions.k8s.io at cluster scope; "
        "grant verbs [create] on customresourcedefinitions in apiGroup apiextensions.k8s.io "
        "(deployments/kubernetes/rbac/dr-role.yaml)"
    )
    assert _kind_lines(report)["Widget"]["status"] == "failed"
    assert world.dr_get("v1", "ConfigMap", "settings") is not None


def test_wildcard_without_the_apiservices_rule_warns_and_leaves_custom_groups_out(
    make_world: Callable[..., SyncWorld],
) -> None:
    """Unable to tell local from aggregated groups, ``["*"]`` copies none: a warning, not a failure."""
    world = make_world(
        source_edit=without_verb("dr-syncer-source-cluster", "apiregistration.k8s.io", "apiservices", "list")
    )
    _custom_world(world, in_dr=True)
    world.configure(resourceTypes=["configmaps"], namespaceScopedResources=["*"])

    state, report = _sync(world)

    assert state.is_completed(), report
    assert report["counts"]["failed"] == 0
    assert report["warnings"] == [
        f"cluster 'source': namespaceScopedResources [\"*\"] left out API groups {GROUP} (it cannot tell "
        "them from aggregated APIs without the APIService list): forbidden to list "
        "apiservices.apiregistration.k8s.io at cluster scope; grant verbs [list] on apiservices in apiGroup "
        "apiregistration.k8s.io (deployments/kubernetes/rbac/source-role.yaml)"
    ]
    assert _kind_lines(report)[GROUP]["status"] == "skipped"
    assert world.dr_get("v1", "ConfigMap", "settings") is not None
    assert world.dr.get(f"{GROUP}/v1", "Widget", "blue", world.namespace) is None
    assert _forbidden(world.source) == ["GET /apis/apiregistration.k8s.io/v1/apiservices"]


def test_wildcard_with_aggregated_apis_included_does_not_need_the_apiservices_rule(
    make_world: Callable[..., SyncWorld],
) -> None:
    world = make_world(
        source_edit=without_verb("dr-syncer-source-cluster", "apiregistration.k8s.io", "apiservices", "list")
    )
    _custom_world(world, in_dr=True)
    world.configure(
        resourceTypes=["configmaps"],
        namespaceScopedResources=["*"],
        wildcardConfig={"includeAggregatedAPIs": True},
    )

    session = open_session(world.mapping())
    try:
        kinds = [resource.qualified_name for resource in session.resources]
        warnings = session.warnings()
    finally:
        session.close()

    assert kinds == ["configmaps", CRD_NAME]
    assert warnings == []
    assert _forbidden(world.source) == []
