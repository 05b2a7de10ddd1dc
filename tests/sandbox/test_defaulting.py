"""Defaulting: the fields the real server fills in."""

from __future__ import annotations

from kubernetes import client

from tests.sandbox.factories import deployment, pvc, service, statefulset


def test_service_defaults(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_service(ns, service("web"))
    spec = created.spec
    assert spec.type == "ClusterIP"
    assert spec.session_affinity == "None"
    assert spec.ip_families == ["IPv4"]
    assert spec.ip_family_policy == "SingleStack"
    assert spec.internal_traffic_policy == "Cluster"
    assert spec.ports[0].protocol == "TCP"
    assert spec.ports[0].target_port == 80


def test_node_port_service_defaults_external_traffic_policy(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_service(ns, service("web", type="NodePort"))
    assert created.spec.external_traffic_policy == "Cluster"


def test_deployment_defaults(apps: client.AppsV1Api, ns: str) -> None:
    body = deployment("web")
    del body["spec"]["replicas"]
    spec = apps.create_namespaced_deployment(ns, body).spec
    assert spec.replicas == 1
    assert spec.strategy.type == "RollingUpdate"
    assert spec.strategy.rolling_update.max_surge == "25%"
    assert spec.strategy.rolling_update.max_unavailable == "25%"
    assert spec.revision_history_limit == 10
    assert spec.progress_deadline_seconds == 600


def test_pod_template_defaults(apps: client.AppsV1Api, ns: str) -> None:
    template = apps.create_namespaced_deployment(ns, deployment("web")).spec.template.spec
    assert template.restart_policy == "Always"
    assert template.dns_policy == "ClusterFirst"
    assert template.termination_grace_period_seconds == 30
    assert template.scheduler_name == "default-scheduler"
    container = template.containers[0]
    assert container.termination_message_path == "/dev/termination-log"
    assert container.termination_message_policy == "File"
    assert container.image_pull_policy == "IfNotPresent"
    assert container.ports[0].protocol == "TCP"


def test_latest_image_pulls_always(apps: client.AppsV1Api, ns: str) -> None:
    body = deployment("web")
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx"
    created = apps.create_namespaced_deployment(ns, body)
    assert created.spec.template.spec.containers[0].image_pull_policy == "Always"


def test_statefulset_defaults(apps: client.AppsV1Api, ns: str) -> None:
    spec = apps.create_namespaced_stateful_set(ns, statefulset("db", claims=True)).spec
    assert spec.pod_management_policy == "OrderedReady"
    assert spec.update_strategy.type == "RollingUpdate"
    assert spec.update_strategy.rolling_update.partition == 0
    assert spec.revision_history_limit == 10
    assert spec.volume_claim_templates[0].spec.volume_mode == "Filesystem"
    assert spec.persistent_volume_claim_retention_policy.when_deleted == "Retain"


def test_pvc_defaults(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_persistent_volume_claim(ns, pvc("data"))
    assert created.spec.volume_mode == "Filesystem"
    assert created.spec.storage_class_name
    assert created.status.phase in ("Pending", "Bound")
    assert "kubernetes.io/pvc-protection" in created.metadata.finalizers


def test_namespace_defaults(core: client.CoreV1Api, ns: str) -> None:
    namespace = core.read_namespace(ns)
    assert namespace.spec.finalizers == ["kubernetes"]
    assert namespace.status.phase == "Active"
    assert namespace.metadata.labels["kubernetes.io/metadata.name"] == ns


def test_secret_string_data_becomes_data(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "stringData": {"user": "admin"}})
    assert created.data == {"user": "YWRtaW4="}
    assert created.string_data is None
    assert created.type == "Opaque"


def test_job_defaults(api: client.ApiClient, ns: str) -> None:
    template = {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}
    job = client.BatchV1Api(api).create_namespaced_job(
        ns, {"metadata": {"name": "j"}, "spec": {"template": template}}
    )
    assert job.spec.backoff_limit == 6
    assert job.spec.completions == 1
    assert job.spec.parallelism == 1
    assert job.spec.completion_mode == "NonIndexed"
    assert job.spec.suspend is False


def test_cronjob_defaults(api: client.ApiClient, ns: str) -> None:
    template = {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}
    cron = client.BatchV1Api(api).create_namespaced_cron_job(
        ns,
        {
            "metadata": {"name": "c"},
            "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}},
        },
    )
    assert cron.spec.concurrency_policy == "Allow"
    assert cron.spec.successful_jobs_history_limit == 3
    assert cron.spec.failed_jobs_history_limit == 1
    assert cron.spec.suspend is False


def test_pod_defaults(core: client.CoreV1Api, ns: str) -> None:
    pod = core.create_namespaced_pod(
        ns, {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}
    )
    assert pod.spec.service_account_name == "default"
    assert pod.spec.enable_service_links is True
    assert pod.status.phase == "Pending"
