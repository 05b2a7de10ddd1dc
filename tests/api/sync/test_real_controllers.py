"""What real controllers do to DR copies, through the engine on sandbox clusters that run them.

Each test turns on the sandbox's real-controller models (drsyncer/sandbox/README.md, "Real controllers")
and asserts DR state and the DR cluster's audit log: a no-op re-sync stays zero writes with the Deployment
controller's revisions and a mutating webhook at work; owned claims reach DR; Jobs never run in DR;
scalers stay paused; per-cluster objects stay per cluster; node ports are DR's own; Block stays Block.
"""

from __future__ import annotations

import copy
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox.api import WriteOptions
from flows.namespace_sync import claims_to_copy
from tasks.dr.parking import park_side, unpark_side
from tasks.dr.workloads import Side, start_side
from tasks.watch.events import WatchEvent
from tasks.watch.object_sync import ObjectSyncer
from tests.api.sync.conftest import SyncWorld, outcome_of
from tests.factories import make_configmap, make_deployment, make_statefulset

REVISION = "deployment.kubernetes.io/revision"


def roll_out(world: SyncWorld, name: str, images: list[str]) -> None:
    """Change a source Deployment's image once per entry, letting the source's controller count them."""
    for image in images:
        current = world.source_object("apps/v1", "Deployment", name)
        changed = copy.deepcopy(current)
        changed["spec"]["template"]["spec"]["containers"][0]["image"] = image
        world.replace_source(changed)
        world.source.settle()


def _containers(obj: KubeObject) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
    return containers


def _resync_mutations(world: SyncWorld) -> list[tuple[str, str]]:
    """Let DR's controllers act, re-sync, and return the mutating requests the re-sync sent to DR."""
    world.dr.settle()
    world.dr.audit.clear()
    report = world.sync()
    assert report.succeeded, report.failure_summary()
    return [(entry.method, entry.path) for entry in world.dr.audit.mutations()]


# --- 1. no-op re-sync with DR controllers and a webhook at work ---------------------------------


def test_rolled_out_deployments_resync_with_zero_writes_while_dr_counts_its_own_revisions(
    sync_world: SyncWorld,
) -> None:
    sync_world.seed(make_deployment("web", replicas=2, server_fields=False))
    sync_world.source.settle()
    roll_out(sync_world, "web", ["nginx:1.28", "nginx:1.29", "nginx:1.30"])
    source = sync_world.source_object("apps/v1", "Deployment", "web")
    assert source["metadata"]["annotations"][REVISION] == "4"

    assert sync_world.sync().succeeded
    assert _resync_mutations(sync_world) == []

    dr_copy = sync_world.dr_object("apps/v1", "Deployment", "web")
    assert dr_copy["metadata"]["annotations"][REVISION] == "1"
    assert _containers(dr_copy)[0]["image"] == "nginx:1.30"


def test_webhook_sidecar_and_env_var_cause_no_diff_and_are_never_removed(sync_world: SyncWorld) -> None:
    sync_world.dr.admission.add_sidecar({"name": "istio-proxy", "image": "istio/proxyv2:1.24"})
    sync_world.dr.admission.add_env("MESH_ID", "dr")
    sync_world.seed(make_deployment("web", env=[{"name": "MODE", "value": "prod"}], server_fields=False))

    assert sync_world.sync().succeeded
    assert _resync_mutations(sync_world) == []

    roll_out(sync_world, "web", ["nginx:1.28"])
    assert sync_world.sync().succeeded
    dr_copy = sync_world.dr_object("apps/v1", "Deployment", "web")
    by_name = {container["name"]: container for container in _containers(dr_copy)}
    assert by_name["app"]["image"] == "nginx:1.28"
    assert "istio-proxy" in by_name
    assert {"name": "MESH_ID", "value": "dr"} in by_name["app"]["env"]
    assert {"name": "MODE", "value": "prod"} in by_name["app"]["env"]
    assert _resync_mutations(sync_world) == []


# --- 2. claims are never skipped for an owner ---------------------------------------------------


def retained_statefulset() -> KubeObject:
    statefulset = make_statefulset("db", replicas=1, server_fields=False)
    statefulset["spec"]["serviceName"] = "db"
    statefulset["spec"]["persistentVolumeClaimRetentionPolicy"] = {
        "whenDeleted": "Delete",
        "whenScaled": "Retain",
    }
    statefulset["spec"]["volumeClaimTemplates"] = [
        {
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }
    ]
    return statefulset


def test_claim_owned_by_a_statefulset_with_retention_policy_is_synced_without_its_owner(
    sync_world: SyncWorld,
) -> None:
    sync_world.seed(retained_statefulset())
    sync_world.source.settle()
    claim = sync_world.source_object("v1", "PersistentVolumeClaim", "data-db-0")
    assert [owner["controller"] for owner in claim["metadata"]["ownerReferences"]] == [True]

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert outcome_of(report, "PersistentVolumeClaim", "data-db-0").status == "synced"
    dr_claim = sync_world.dr_object("v1", "PersistentVolumeClaim", "data-db-0")
    assert "ownerReferences" not in dr_claim["metadata"]
    assert "data-db-0" in claims_to_copy(report.objects)  # the data stage copies its data next


def test_non_controller_owner_reference_is_synced_with_a_warning_in_the_plan(sync_world: SyncWorld) -> None:
    owner = sync_world.seed(make_configmap("parent", server_fields=False))[0]
    reference = {"apiVersion": "v1", "kind": "ConfigMap", "name": "parent", "uid": owner["metadata"]["uid"]}
    sync_world.seed(make_configmap("child", owner=reference, server_fields=False))

    plan = sync_world.plan()

    entry = next(entry for entry in plan.entries if entry.name == "child")
    assert entry.action == "create"
    assert "warning: ownerReferences to ConfigMap/parent are not copied" in entry.reason
    assert sync_world.sync().succeeded
    assert "ownerReferences" not in sync_world.dr_object("v1", "ConfigMap", "child")["metadata"]


# --- 3. Jobs never run in DR until cutover --------------------------------------------------------

JOB_KINDS = ["jobs", "configmaps"]


def bare_job(name: str, *, suspend: bool | None = None) -> KubeObject:
    spec: dict[str, Any] = {
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]},
        }
    }
    if suspend is not None:
        spec["suspend"] = suspend
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": spec}


def dr_pods(world: SyncWorld) -> list[str]:
    return [
        str(pod["metadata"]["name"]) for pod in world.dr.objects("v1", "Pod", world.destination_namespace)
    ]


def _dr_side(world: SyncWorld) -> tuple[Side, Any]:
    session = world.open()
    return Side(session.destination, world.destination_namespace, "dr"), session


def test_jobs_land_suspended_finished_ones_are_skipped_and_cutover_resumes_the_right_ones(
    sync_world: SyncWorld,
) -> None:
    sync_world.configure(resourceTypes=JOB_KINDS)
    sync_world.seed(bare_job("done"))
    sync_world.source.settle()
    assert sync_world.source_object("batch/v1", "Job", "done")["status"]["succeeded"] == 1
    sync_world.seed(bare_job("pending"), bare_job("held", suspend=True))

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    done = outcome_of(report, "Job", "done")
    assert done.status == "skipped"
    assert "finished Job (condition Complete)" in done.reason
    assert sync_world.dr_get("batch/v1", "Job", "done") is None
    for name, original in (("pending", "false"), ("held", "true")):
        job = sync_world.dr_object("batch/v1", "Job", name)
        assert job["spec"]["suspend"] is True
        assert job["metadata"]["annotations"]["dr-syncer.io/original-suspend"] == original
    sync_world.dr.settle()
    assert dr_pods(sync_world) == []
    assert _resync_mutations(sync_world) == []

    side, session = _dr_side(sync_world)
    try:
        change = start_side(side, session.mapping, {})
    finally:
        session.close()
    assert change.changes == {"Job/held": "unchanged", "Job/pending": "resumed"}
    sync_world.dr.settle()
    assert sync_world.dr_object("batch/v1", "Job", "pending")["status"]["succeeded"] == 1
    assert sync_world.dr_object("batch/v1", "Job", "held")["spec"]["suspend"] is True


def test_jobs_of_a_cronjob_stay_with_their_cronjob(sync_world: SyncWorld) -> None:
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "report"},
        "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": bare_job("x")["spec"]}},
    }
    sync_world.configure(resourceTypes=["jobs", "cronjobs"])
    sync_world.seed(cronjob)
    sync_world.source.cronjobs.tick()
    sync_world.source.settle()
    (job,) = sync_world.source.objects("batch/v1", "Job", sync_world.namespace)

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert "controlled by CronJob/report" in outcome_of(report, "Job", job["metadata"]["name"]).reason
    assert sync_world.dr.objects("batch/v1", "Job", sync_world.destination_namespace) == []
    sync_world.dr.cronjobs.tick()
    sync_world.dr.settle()
    assert sync_world.dr.objects("batch/v1", "Job", sync_world.destination_namespace) == []


# --- 4. scalers and custom workloads stay parked until cutover ------------------------------------

PAUSED = "autoscaling.keda.sh/paused-replicas"


def scaled_object_for(target: str) -> KubeObject:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": target},
        "spec": {"scaleTargetRef": {"name": target}, "minReplicaCount": 2, "maxReplicaCount": 5},
    }


def _crd(group: str, kind: str, plural: str) -> KubeObject:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }


def _replicas(world: SyncWorld, name: str) -> int:
    return int(world.dr_object("apps/v1", "Deployment", name)["spec"]["replicas"])


def test_keda_scaled_object_lands_paused_and_cutover_lets_it_scale(sync_world: SyncWorld) -> None:
    for cluster in (sync_world.source, sync_world.dr):
        cluster.keda.install()
    sync_world.configure(namespaceScopedResources=["scaledobjects.keda.sh"])
    sync_world.seed(make_deployment("worker", replicas=3, server_fields=False), scaled_object_for("worker"))

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    scaled_object = sync_world.dr_object("keda.sh/v1alpha1", "ScaledObject", "worker")
    assert scaled_object["metadata"]["annotations"][PAUSED] == "0"
    sync_world.dr.settle()
    assert _replicas(sync_world, "worker") == 0
    assert _resync_mutations(sync_world) == []

    side, session = _dr_side(sync_world)
    try:
        changes = unpark_side(side, session.mapping)
    finally:
        session.close()
    assert changes == {"ScaledObject/worker": "resumed"}
    sync_world.dr.settle()
    assert PAUSED not in (
        sync_world.dr_object("keda.sh/v1alpha1", "ScaledObject", "worker")["metadata"].get("annotations")
        or {}
    )
    assert _replicas(sync_world, "worker") == 2


def test_hpa_is_copied_as_it_is_and_leaves_the_parked_deployment_at_zero(sync_world: SyncWorld) -> None:
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 2,
            "maxReplicas": 5,
        },
    }
    sync_world.seed(make_deployment("web", replicas=3, server_fields=False), hpa)

    assert sync_world.sync().succeeded
    sync_world.dr.settle()

    dr_hpa = sync_world.dr_object("autoscaling/v2", "HorizontalPodAutoscaler", "web")
    assert dr_hpa["spec"]["minReplicas"] == 2
    assert _replicas(sync_world, "web") == 0
    assert _resync_mutations(sync_world) == []


def test_workload_parking_zeroes_a_custom_kind_and_cutover_restores_it(sync_world: SyncWorld) -> None:
    for cluster in (sync_world.source, sync_world.dr):
        cluster.create(_crd("argoproj.io", "Rollout", "rollouts"))
    sync_world.configure(
        namespaceScopedResources=["rollouts.argoproj.io"],
        workloadParking=[{"group": "argoproj.io", "kind": "Rollout", "replicasPath": "spec.replicas"}],
    )
    rollout = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "web"}}
    sync_world.seed(rollout | {"spec": {"replicas": 4}})

    assert sync_world.sync().succeeded

    dr_rollout = sync_world.dr_object("argoproj.io/v1alpha1", "Rollout", "web")
    assert dr_rollout["spec"]["replicas"] == 0
    assert dr_rollout["metadata"]["annotations"]["dr-syncer.io/original-replicas"] == "4"
    assert _resync_mutations(sync_world) == []
    side, session = _dr_side(sync_world)
    try:
        assert unpark_side(side, session.mapping) == {"Rollout/web": "spec.replicas 0 → 4"}
        assert sync_world.dr_object("argoproj.io/v1alpha1", "Rollout", "web")["spec"]["replicas"] == 4
        assert park_side(side, session.mapping) == {"Rollout/web": "spec.replicas 4 → 0"}
    finally:
        session.close()
    assert sync_world.dr_object("argoproj.io/v1alpha1", "Rollout", "web")["spec"]["replicas"] == 0
    report = sync_world.sync()  # stage after failback: the copy is parked as the sync leaves it
    assert outcome_of(report, "Rollout", "web").status == "unchanged"


# --- 5. per-cluster objects stay per cluster ------------------------------------------------------


def test_ca_bundles_tokens_and_default_account_secrets_stay_per_cluster(sync_world: SyncWorld) -> None:
    for cluster in (sync_world.source, sync_world.dr):
        cluster.identity.enable_legacy_tokens().enable_istio_ca()
    pull_secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "regcred"},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": "e30="},
    }
    sync_world.configure(perClusterObjects=[{"kind": "ConfigMap", "name": "mesh-ca-*"}])
    sync_world.seed(pull_secret, make_configmap("mesh-ca-east", server_fields=False))
    sync_world.source.settle()
    default = copy.deepcopy(sync_world.source_object("v1", "ServiceAccount", "default"))
    default["imagePullSecrets"] = [{"name": "regcred"}, {"name": "only-in-source-registry"}]
    sync_world.replace_source(default)
    source_tokens = [
        secret["metadata"]["name"]
        for secret in sync_world.source.objects("v1", "Secret", sync_world.namespace)
        if secret.get("type") == "kubernetes.io/service-account-token"
    ]
    assert source_tokens

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    for name in ("kube-root-ca.crt", "istio-ca-root-cert", "mesh-ca-east"):
        assert outcome_of(report, "ConfigMap", name).status == "skipped"
    assert sync_world.dr_get("v1", "ConfigMap", "mesh-ca-east") is None
    for name in source_tokens:
        assert outcome_of(report, "Secret", name).status == "skipped"
        assert sync_world.dr_get("v1", "Secret", name) is None
    sync_world.dr.settle()
    source_ca = sync_world.source_object("v1", "ConfigMap", "kube-root-ca.crt")["data"]
    assert sync_world.dr_object("v1", "ConfigMap", "kube-root-ca.crt")["data"] != source_ca
    dr_default = sync_world.dr_object("v1", "ServiceAccount", "default")
    assert dr_default["imagePullSecrets"] == [{"name": "regcred"}]
    assert {entry["name"] for entry in dr_default.get("secrets") or []}.isdisjoint(source_tokens)
    assert _resync_mutations(sync_world) == []


# --- 6. node ports and load balancers -------------------------------------------------------------


def _node_port_service(
    name: str, *, node_port: int | None = None, service_type: str = "NodePort"
) -> KubeObject:
    port: dict[str, Any] = {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}
    if node_port is not None:
        port["nodePort"] = node_port
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"type": service_type, "selector": {"app": name}, "ports": [port]},
    }


def test_allocated_node_ports_are_dr_s_own_and_a_taken_chosen_port_fails_only_its_service(
    sync_world: SyncWorld,
) -> None:
    squatter = _node_port_service("squatter", node_port=30555)
    squatter["metadata"]["namespace"] = "default"
    sync_world.dr.create(squatter)
    sync_world.seed(_node_port_service("auto"), _node_port_service("chosen", node_port=30555))
    sync_world.seed(make_configmap("settings", server_fields=False))

    report = sync_world.sync()

    chosen = outcome_of(report, "Service", "chosen")
    assert chosen.status == "failed"
    assert "30555" in chosen.error
    assert "provided port is already allocated" in chosen.error
    assert outcome_of(report, "Service", "auto").status == "synced"
    assert outcome_of(report, "ConfigMap", "settings").status == "synced"
    applied = [
        entry.body
        for entry in sync_world.dr.audit.mutations(path_regex=r"/services/auto$")
        if isinstance(entry.body, dict)
    ]
    assert applied
    assert all("nodePort" not in port for body in applied for port in body["spec"]["ports"])
    assert sync_world.dr_object("v1", "Service", "auto")["spec"]["ports"][0]["nodePort"] >= 30000


def test_load_balancer_lands_as_cluster_ip_when_configured(sync_world: SyncWorld) -> None:
    sync_world.configure(serviceConfig={"loadBalancer": "ClusterIP"})
    balancer = _node_port_service("edge", service_type="LoadBalancer")
    balancer["spec"]["loadBalancerSourceRanges"] = ["10.0.0.0/8"]
    sync_world.seed(balancer)

    assert sync_world.sync().succeeded

    spec = sync_world.dr_object("v1", "Service", "edge")["spec"]
    assert spec["type"] == "ClusterIP"
    assert "loadBalancerSourceRanges" not in spec
    assert "nodePort" not in spec["ports"][0]
    assert _resync_mutations(sync_world) == []


# --- 7. claims: Block stays Block, storage classes DR has, claim templates -------------------------


def _claim(
    name: str, *, storage_class: str | None = "standard", volume_mode: str | None = None
) -> KubeObject:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    if volume_mode is not None:
        spec["volumeMode"] = volume_mode
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec}


def test_block_claim_stays_block_and_a_missing_storage_class_fails_that_claim_alone(
    sync_world: SyncWorld,
) -> None:
    sync_world.seed(_claim("raw", volume_mode="Block"), _claim("fast", storage_class="gp3"))

    report = sync_world.sync()

    assert sync_world.dr_object("v1", "PersistentVolumeClaim", "raw")["spec"]["volumeMode"] == "Block"
    failed = outcome_of(report, "PersistentVolumeClaim", "fast")
    assert failed.status == "failed"
    assert failed.error == "storage class gp3 does not exist in cluster dr; add a storageClassMappings entry"
    assert sync_world.dr_get("v1", "PersistentVolumeClaim", "fast") is None
    assert not sync_world.dr.audit.mutations(path_regex=r"/persistentvolumeclaims/fast$")

    sync_world.configure(pvcConfig={"storageClassMappings": [{"from": "gp3", "to": "standard"}]})
    assert sync_world.sync().succeeded
    assert (
        sync_world.dr_object("v1", "PersistentVolumeClaim", "fast")["spec"]["storageClassName"] == "standard"
    )


def test_continuous_mode_fails_a_claim_whose_storage_class_dr_lacks(sync_world: SyncWorld) -> None:
    """Continuous mode syncs one object per watch event; the claim check of a full sync applies there too."""
    sync_world.seed(_claim("ok"))
    sync_world.sync()
    sync_world.seed(_claim("fast", storage_class="gp3"))
    session = sync_world.open()
    try:
        syncer = ObjectSyncer.for_mapping(
            session.mapping,
            destination=session.destination,
            destination_discovery=session.destination_discovery,
        )
        claims = session.destination_discovery.find("persistentvolumeclaims", "")
        assert claims is not None
        fast = sync_world.source_object("v1", "PersistentVolumeClaim", "fast")
        outcome = syncer.sync(WatchEvent("ADDED", claims, "fast", fast))
    finally:
        session.close()

    assert outcome is not None
    assert outcome.status == "failed"
    assert outcome.error == "storage class gp3 does not exist in cluster dr; add a storageClassMappings entry"
    assert sync_world.dr_get("v1", "PersistentVolumeClaim", "fast") is None


def test_continuous_mode_default_account_keeps_only_pull_secrets_the_mapping_copies(
    sync_world: SyncWorld,
) -> None:
    """A watch event on the ``default`` ServiceAccount drops pull secrets the mapping does not copy."""
    sync_world.seed(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "regcred"},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": "e30="},
        }
    )
    sync_world.sync()
    default = copy.deepcopy(sync_world.source_object("v1", "ServiceAccount", "default"))
    default["imagePullSecrets"] = [{"name": "regcred"}, {"name": "only-in-source-registry"}]
    changed = sync_world.replace_source(default)
    session = sync_world.open()
    try:
        syncer = ObjectSyncer.for_mapping(
            session.mapping,
            destination=session.destination,
            destination_discovery=session.destination_discovery,
            source=session.source,
            resources=list(session.resources),
        )
        accounts = session.destination_discovery.find("serviceaccounts", "")
        assert accounts is not None
        outcome = syncer.sync(WatchEvent("MODIFIED", accounts, "default", changed))
    finally:
        session.close()

    assert outcome is not None
    assert outcome.status == "synced", outcome.error
    dr_default = sync_world.dr_object("v1", "ServiceAccount", "default")
    assert dr_default["imagePullSecrets"] == [{"name": "regcred"}]


def test_claim_templates_are_mapped_and_an_immutable_change_is_reported(sync_world: SyncWorld) -> None:
    statefulset = retained_statefulset()
    statefulset["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] = "gp3"
    sync_world.seed(statefulset)
    sync_world.configure(pvcConfig={"storageClassMappings": [{"from": "gp3", "to": "standard"}]})

    assert sync_world.sync().succeeded

    template = sync_world.dr_object("apps/v1", "StatefulSet", "db")["spec"]["volumeClaimTemplates"][0]
    assert template["spec"]["storageClassName"] == "standard"
    sync_world.dr.create(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "fast"},
            "provisioner": "sandbox.csi.dr-syncer.io",
        }
    )
    sync_world.configure(pvcConfig={"storageClassMappings": [{"from": "gp3", "to": "fast"}]})
    entry = next(entry for entry in sync_world.plan().entries if entry.name == "db")
    assert entry.action == "update"
    assert "volumeClaimTemplates would change and are immutable" in entry.reason
    outcome = outcome_of(sync_world.sync(), "StatefulSet", "db")
    assert outcome.status == "skipped", outcome
    assert "immutable" in outcome.reason
    template = sync_world.dr_object("apps/v1", "StatefulSet", "db")["spec"]["volumeClaimTemplates"][0]
    assert template["spec"]["storageClassName"] == "standard"


# --- 8. namespace metadata -------------------------------------------------------------------------


def test_namespace_labels_and_annotations_are_copied_except_cluster_specific_ones(
    sync_world: SyncWorld,
) -> None:
    source_namespace = copy.deepcopy(sync_world.source.get("v1", "Namespace", sync_world.namespace))
    assert source_namespace is not None
    source_namespace["metadata"].setdefault("labels", {}).update({"team": "shop", "internal/zone": "a"})
    source_namespace["metadata"]["annotations"] = {
        "openshift.io/sa.scc.uid-range": "1000680000/10000",
        "openshift.io/sa.scc.mcs": "s0:c26,c25",
        "owner": "payments",
    }
    resource = sync_world.source.registry.by_kind("v1", "Namespace")
    assert resource is not None
    sync_world.source.api.replace(
        resource, "", sync_world.namespace, source_namespace, WriteOptions(manager="kubectl-edit")
    )
    sync_world.configure(namespaceConfig={"excludeMetadata": ["internal/*"]})

    assert sync_world.sync().succeeded

    dr_namespace = sync_world.dr.get("v1", "Namespace", sync_world.destination_namespace)
    assert dr_namespace is not None
    metadata = dr_namespace["metadata"]
    assert metadata["labels"] == {
        "kubernetes.io/metadata.name": sync_world.destination_namespace,
        "team": "shop",
    }
    assert metadata["annotations"] == {"owner": "payments"}


def test_a_job_that_finishes_or_vanishes_at_the_source_after_its_copy_stays_suspended_at_cutover(
    sync_world: SyncWorld,
) -> None:
    sync_world.configure(resourceTypes=JOB_KINDS)
    short_lived = bare_job("cleanup")
    short_lived["spec"]["ttlSecondsAfterFinished"] = 0
    sync_world.seed(bare_job("migrate"), short_lived)
    assert sync_world.sync().succeeded
    sync_world.source.settle()
    sync_world.source.jobs.advance(1)
    sync_world.source.settle()
    assert sync_world.source_object("batch/v1", "Job", "migrate")["status"]["succeeded"] == 1
    assert sync_world.source.get("batch/v1", "Job", "cleanup", sync_world.namespace) is None

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert (
        "finished at the source: the DR copy stays suspended" in outcome_of(report, "Job", "migrate").reason
    )
    assert "gone from the source: the DR copy stays suspended" in outcome_of(report, "Job", "cleanup").reason
    for name in ("migrate", "cleanup"):
        annotations = sync_world.dr_object("batch/v1", "Job", name)["metadata"]["annotations"]
        assert annotations["dr-syncer.io/original-suspend"] == "true"
    assert _resync_mutations(sync_world) == []
    side, session = _dr_side(sync_world)
    try:
        change = start_side(side, session.mapping, {})
    finally:
        session.close()
    assert change.changes == {"Job/cleanup": "unchanged", "Job/migrate": "unchanged"}
    sync_world.dr.settle()
    assert dr_pods(sync_world) == []
