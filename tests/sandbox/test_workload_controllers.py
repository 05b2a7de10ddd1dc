"""Contract: what kube-controller-manager's workload controllers (and KEDA) write to the objects we copy.

Each test names the upstream behaviour it pins. Tests without the ``sandbox`` fixture hold on a real
cluster too; the others need a sandbox aid (the jobs clock, the CronJob tick, installing KEDA, pausing
the background loop to order a scale-down).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from drsyncer.objects import KubeObject
from drsyncer.sandbox import FakeCluster
from tests.sandbox.conftest import Raw
from tests.sandbox.factories import deployment, eventually, statefulset

REVISION = "deployment.kubernetes.io/revision"


def _revision(apps: client.AppsV1Api, ns: str, name: str = "web") -> str | None:
    annotations = apps.read_namespaced_deployment(name, ns).metadata.annotations or {}
    return annotations.get(REVISION)


def _set_image(apps: client.AppsV1Api, ns: str, image: str) -> None:
    apps.patch_namespaced_deployment(
        "web", ns, {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
    )


# ------------------------------------------------------------------ Deployment revision


def test_deployment_controller_numbers_revisions_from_1_and_adds_1_per_template_change(
    apps: client.AppsV1Api, ns: str
) -> None:
    """kube-controller-manager deployment controller: ``deployment.kubernetes.io/revision`` = newest RS."""
    apps.create_namespaced_deployment(ns, deployment("web"))
    eventually(lambda: _revision(apps, ns) == "1")
    _set_image(apps, ns, "nginx:1.28")
    eventually(lambda: _revision(apps, ns) == "2")
    apps.patch_namespaced_deployment("web", ns, {"spec": {"replicas": 2}})  # not a template change
    eventually(lambda: apps.read_namespaced_deployment("web", ns).status.ready_replicas == 2)
    assert _revision(apps, ns) == "2"


def test_deployment_rollback_to_an_old_template_gets_the_next_revision(
    apps: client.AppsV1Api, ns: str
) -> None:
    """The deployment controller renumbers the old ReplicaSet (max + 1) instead of reusing its number."""
    apps.create_namespaced_deployment(ns, deployment("web"))
    eventually(lambda: _revision(apps, ns) == "1")
    _set_image(apps, ns, "nginx:1.28")
    eventually(lambda: _revision(apps, ns) == "2")
    _set_image(apps, ns, "nginx:1.27")
    eventually(lambda: _revision(apps, ns) == "3")


def test_deployment_controller_writes_its_revision_back_over_a_copied_value(
    apps: client.AppsV1Api, ns: str
) -> None:
    """A Deployment created or patched with another cluster's revision ends with this cluster's number."""
    body = deployment("web")
    body["metadata"]["annotations"] = {REVISION: "7"}
    apps.create_namespaced_deployment(ns, body)
    eventually(lambda: _revision(apps, ns) == "1")
    apps.patch_namespaced_deployment("web", ns, {"metadata": {"annotations": {REVISION: "9"}}})
    eventually(lambda: _revision(apps, ns) == "1")


def test_deployment_revision_is_an_update_by_kube_controller_manager(apps: client.AppsV1Api, ns: str) -> None:
    """managedFields: the revision belongs to ``kube-controller-manager`` with operation Update (a PUT)."""
    apps.create_namespaced_deployment(ns, deployment("web"), field_manager="dr-syncer")
    eventually(lambda: _revision(apps, ns) == "1")
    entries = apps.read_namespaced_deployment("web", ns).metadata.managed_fields
    owners = [e for e in entries if REVISION in str((e.fields_v1 or {}).get("f:metadata", {}))]
    assert [(e.manager, e.operation, e.subresource) for e in owners] == [
        ("kube-controller-manager", "Update", None)
    ]
    annotations = owners[0].fields_v1["f:metadata"]["f:annotations"]
    assert annotations == {".": {}, f"f:{REVISION}": {}}


# ------------------------------------------------------------------ StatefulSet claim retention


def _retained(name: str, *, when_deleted: str, when_scaled: str, replicas: int = 2) -> KubeObject:
    body = statefulset(name, replicas=replicas, claims=True)
    body["spec"]["persistentVolumeClaimRetentionPolicy"] = {
        "whenDeleted": when_deleted,
        "whenScaled": when_scaled,
    }
    return body


def _claim_owners(core: client.CoreV1Api, ns: str) -> dict[str, list[tuple[str, str, bool]]]:
    return {
        c.metadata.name: [(r.kind, r.name, bool(r.controller)) for r in c.metadata.owner_references or []]
        for c in core.list_namespaced_persistent_volume_claim(ns).items
    }


def test_statefulset_when_deleted_delete_makes_it_the_claims_controller(
    apps: client.AppsV1Api, core: client.CoreV1Api, ns: str
) -> None:
    """KEP-1847 (GA 1.32): whenDeleted=Delete → each claim gets a controller ownerReference to the set."""
    apps.create_namespaced_stateful_set(ns, _retained("db", when_deleted="Delete", when_scaled="Retain"))
    expected = {f"data-db-{i}": [("StatefulSet", "db", True)] for i in (0, 1)}
    eventually(lambda: _claim_owners(core, ns) == expected)
    claim = core.read_namespaced_persistent_volume_claim("data-db-0", ns)
    assert claim.metadata.owner_references[0].block_owner_deletion is True


def test_statefulset_adds_no_controller_to_a_claim_another_controller_owns(
    apps: client.AppsV1Api, core: client.CoreV1Api, ns: str
) -> None:
    """kubernetes#122499: a claim already controlled by something else (an operator) gets no set reference."""
    operator = core.create_namespaced_config_map(ns, {"metadata": {"name": "operator-cr"}})
    reference = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "operator-cr",
        "uid": operator.metadata.uid,
        "controller": True,
    }
    claim = {
        "metadata": {"name": "data-db-0", "ownerReferences": [reference]},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    core.create_namespaced_persistent_volume_claim(ns, claim)
    apps.create_namespaced_stateful_set(
        ns, _retained("db", when_deleted="Delete", when_scaled="Retain", replicas=1)
    )
    eventually(lambda: apps.read_namespaced_stateful_set("db", ns).status.ready_replicas == 1)
    assert _claim_owners(core, ns) == {"data-db-0": [("ConfigMap", "operator-cr", True)]}


def test_statefulset_retain_policy_leaves_claims_unowned(
    apps: client.AppsV1Api, core: client.CoreV1Api, ns: str
) -> None:
    """KEP-1847: Retain/Retain (the default) → claims have no ownerReferences (they outlive the set)."""
    apps.create_namespaced_stateful_set(ns, statefulset("db", replicas=2, claims=True))
    eventually(lambda: apps.read_namespaced_stateful_set("db", ns).status.ready_replicas == 2)
    assert _claim_owners(core, ns) == {"data-db-0": [], "data-db-1": []}


def test_statefulset_deleted_with_delete_policy_takes_its_claims(
    apps: client.AppsV1Api, core: client.CoreV1Api, ns: str
) -> None:
    """KEP-1847: the garbage collector deletes the claims with the StatefulSet when whenDeleted=Delete."""
    apps.create_namespaced_stateful_set(ns, _retained("db", when_deleted="Delete", when_scaled="Retain"))
    expected = {f"data-db-{i}": [("StatefulSet", "db", True)] for i in (0, 1)}
    eventually(lambda: _claim_owners(core, ns) == expected)  # (a set deleted sooner races, upstream too)
    apps.delete_namespaced_stateful_set("db", ns)
    eventually(lambda: not core.list_namespaced_persistent_volume_claim(ns).items)


@pytest.fixture
def paused_loop(sandbox: FakeCluster) -> Iterator[FakeCluster]:
    """The sandbox with its background controllers paused (the test calls ``settle()``)."""
    sandbox.set_background(False)
    try:
        yield sandbox
    finally:
        sandbox.set_background(True)


def test_statefulset_when_scaled_delete_removes_only_the_scaled_down_claims(
    apps: client.AppsV1Api, core: client.CoreV1Api, ns: str, paused_loop: FakeCluster
) -> None:
    """KEP-1847: whenScaled=Delete → a condemned pod owns its claim, which goes with the pod."""
    apps.create_namespaced_stateful_set(ns, _retained("db", when_deleted="Retain", when_scaled="Delete"))
    paused_loop.settle()
    assert _claim_owners(core, ns) == {"data-db-0": [], "data-db-1": []}
    apps.patch_namespaced_stateful_set_scale("db", ns, {"spec": {"replicas": 1}})
    paused_loop.settle()
    assert _claim_owners(core, ns) == {"data-db-0": []}


def test_claims_without_pods_are_left_alone_by_when_scaled_delete(
    apps: client.AppsV1Api, core: client.CoreV1Api, ns: str, paused_loop: FakeCluster
) -> None:
    """Upstream touches a claim's references only with its pod: a copy parked at 0 keeps its claims."""
    for ordinal in (0, 1):
        core.create_namespaced_persistent_volume_claim(
            ns,
            {
                "metadata": {"name": f"data-db-{ordinal}"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            },
        )
    apps.create_namespaced_stateful_set(
        ns, _retained("db", when_deleted="Delete", when_scaled="Delete", replicas=0)
    )
    paused_loop.settle()
    assert _claim_owners(core, ns) == {"data-db-0": [], "data-db-1": []}


def test_when_scaled_set_to_retain_before_a_scale_down_keeps_the_claims(
    apps: client.AppsV1Api, core: client.CoreV1Api, ns: str, paused_loop: FakeCluster
) -> None:
    """KEP-1847 "Mutating PersistentVolumeClaimRetentionPolicy": the controller applies the policy current
    at the scale-down, so Retain set first keeps the claims; Delete set again once no pod is left deletes
    none (a claim's references change only with its pod). What DR operations do around a stop."""
    apps.create_namespaced_stateful_set(ns, _retained("db", when_deleted="Retain", when_scaled="Delete"))
    paused_loop.settle()
    policy = {"whenDeleted": "Retain", "whenScaled": "Retain"}
    apps.patch_namespaced_stateful_set("db", ns, {"spec": {"persistentVolumeClaimRetentionPolicy": policy}})
    apps.patch_namespaced_stateful_set_scale("db", ns, {"spec": {"replicas": 0}})
    paused_loop.settle()
    assert not core.list_namespaced_pod(ns).items
    assert _claim_owners(core, ns) == {"data-db-0": [], "data-db-1": []}
    policy["whenScaled"] = "Delete"
    apps.patch_namespaced_stateful_set("db", ns, {"spec": {"persistentVolumeClaimRetentionPolicy": policy}})
    paused_loop.settle()
    assert _claim_owners(core, ns) == {"data-db-0": [], "data-db-1": []}


# ------------------------------------------------------------------ Jobs, TTL, CronJobs


def _job(name: str, **spec: Any) -> KubeObject:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "run", "image": "busybox:1.36"}]}
            },
            **spec,
        },
    }


def _conditions(job: Any) -> dict[str, str]:
    return {c.type: c.status for c in (job.status.conditions or [])}


def test_job_controller_runs_an_unsuspended_job_to_complete(
    batch: client.BatchV1Api, core: client.CoreV1Api, ns: str
) -> None:
    """Job controller: pods owned by the Job run; status.succeeded, completionTime, condition Complete."""
    batch.create_namespaced_job(ns, _job("once"))
    job = eventually(lambda: (j := batch.read_namespaced_job("once", ns)).status.completion_time and j)
    assert job.status.succeeded == 1
    assert _conditions(job)["Complete"] == "True"
    assert job.status.start_time is not None
    pods = core.list_namespaced_pod(ns, label_selector="job-name=once").items
    assert [
        (p.status.phase, p.metadata.owner_references[0].kind, p.metadata.owner_references[0].controller)
        for p in pods
    ] == [("Succeeded", "Job", True)]


def test_suspended_job_starts_nothing_until_unsuspended(
    batch: client.BatchV1Api, core: client.CoreV1Api, ns: str
) -> None:
    """Job controller: spec.suspend=true → no pods and condition Suspended; unsuspending starts it."""
    batch.create_namespaced_job(ns, _job("parked", suspend=True))
    job = eventually(lambda: (j := batch.read_namespaced_job("parked", ns)).status.conditions and j)
    assert _conditions(job) == {"Suspended": "True"}
    assert not core.list_namespaced_pod(ns).items
    assert job.status.start_time is None
    batch.patch_namespaced_job("parked", ns, {"spec": {"suspend": False}})
    eventually(lambda: _conditions(batch.read_namespaced_job("parked", ns)).get("Complete") == "True")


def test_ttl_after_finished_zero_deletes_the_finished_job(batch: client.BatchV1Api, ns: str) -> None:
    """TTL-after-finished controller: ttlSecondsAfterFinished=0 → the Job is deleted once it finishes."""
    batch.create_namespaced_job(ns, _job("short", ttlSecondsAfterFinished=0))

    def gone() -> bool:
        try:
            batch.read_namespaced_job("short", ns)
        except ApiException as exc:
            return exc.status == 404
        return False

    eventually(gone)


def test_ttl_after_finished_waits_for_the_ttl_on_the_jobs_clock(
    batch: client.BatchV1Api, ns: str, sandbox: FakeCluster
) -> None:
    """TTL-after-finished controller: deletion only after completionTime + TTL (sandbox clock advanced)."""
    batch.create_namespaced_job(ns, _job("kept", ttlSecondsAfterFinished=3600))
    eventually(lambda: batch.read_namespaced_job("kept", ns).status.completion_time)
    sandbox.settle()
    assert batch.read_namespaced_job("kept", ns).metadata.deletion_timestamp is None
    try:
        sandbox.jobs.advance(3601)
        sandbox.settle()  # moving the clock changes no object: nothing wakes the background loop
        assert not batch.list_namespaced_job(ns).items
    finally:
        sandbox.jobs.reset()


def _cronjob(name: str, **spec: Any) -> KubeObject:
    template = _job("unused")["spec"]
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {
            "schedule": "*/5 * * * *",
            "jobTemplate": {"metadata": {"labels": {"team": "ops"}}, "spec": template},
            **spec,
        },
    }


def test_cronjob_tick_creates_a_job_it_controls(
    batch: client.BatchV1Api, ns: str, sandbox: FakeCluster
) -> None:
    """CronJob controller: each firing creates Job <name>-<minutes> with a controller ownerReference."""
    batch.create_namespaced_cron_job(ns, _cronjob("nightly"))
    created = sandbox.cronjobs.tick()
    mine = [j for j in created if j["metadata"]["namespace"] == ns]
    assert len(mine) == 1
    job = batch.read_namespaced_job(mine[0]["metadata"]["name"], ns)
    assert job.metadata.name.removeprefix("nightly-").isdigit()
    owner = job.metadata.owner_references[0]
    assert (owner.kind, owner.name, owner.controller) == ("CronJob", "nightly", True)
    assert job.metadata.labels["team"] == "ops"
    eventually(
        lambda: _conditions(batch.read_namespaced_job(job.metadata.name, ns)).get("Complete") == "True"
    )
    assert batch.read_namespaced_cron_job("nightly", ns).status.last_schedule_time is not None


def test_suspended_cronjob_creates_no_job_on_tick(
    batch: client.BatchV1Api, ns: str, sandbox: FakeCluster
) -> None:
    """CronJob controller: spec.suspend=true → the schedule firing creates nothing."""
    batch.create_namespaced_cron_job(ns, _cronjob("parked", suspend=True))
    sandbox.cronjobs.tick()
    assert not batch.list_namespaced_job(ns).items


# ------------------------------------------------------------------ HPA


def _hpa(target: str, *, low: int, high: int) -> KubeObject:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": target},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": low,
            "maxReplicas": high,
        },
    }


def _hpa_conditions(autoscaling: client.AutoscalingV2Api, ns: str, name: str) -> dict[str, tuple[str, str]]:
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler(name, ns)
    return {c.type: (c.status, c.reason) for c in hpa.status.conditions or []}


@pytest.fixture
def autoscaling(api: client.ApiClient) -> client.AutoscalingV2Api:
    """AutoscalingV2Api."""
    return client.AutoscalingV2Api(api)


def test_hpa_keeps_its_target_within_min_and_max(
    apps: client.AppsV1Api, autoscaling: client.AutoscalingV2Api, ns: str
) -> None:
    """HPA controller: current replicas above maxReplicas (or below minReplicas) are rescaled into range."""
    apps.create_namespaced_deployment(ns, deployment("web", replicas=5))
    autoscaling.create_namespaced_horizontal_pod_autoscaler(ns, _hpa("web", low=2, high=3))
    eventually(lambda: apps.read_namespaced_deployment("web", ns).spec.replicas == 3)
    apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 1}})
    eventually(lambda: apps.read_namespaced_deployment("web", ns).spec.replicas == 2)


def test_hpa_does_nothing_to_a_target_at_zero(
    apps: client.AppsV1Api, autoscaling: client.AutoscalingV2Api, ns: str
) -> None:
    """HPA controller: replicas 0 → ScalingActive False (ScalingDisabled), and the target stays at 0."""
    apps.create_namespaced_deployment(ns, deployment("web", replicas=0))
    autoscaling.create_namespaced_horizontal_pod_autoscaler(ns, _hpa("web", low=2, high=3))
    eventually(
        lambda: _hpa_conditions(autoscaling, ns, "web").get("ScalingActive") == ("False", "ScalingDisabled")
    )
    assert apps.read_namespaced_deployment("web", ns).spec.replicas == 0


def test_hpa_scales_through_the_scale_subresource(
    apps: client.AppsV1Api, autoscaling: client.AutoscalingV2Api, ns: str
) -> None:
    """HPA controller writes replicas via /scale: managedFields kube-controller-manager, subresource scale."""
    apps.create_namespaced_deployment(ns, deployment("web", replicas=5))
    autoscaling.create_namespaced_horizontal_pod_autoscaler(ns, _hpa("web", low=1, high=2))
    eventually(lambda: apps.read_namespaced_deployment("web", ns).spec.replicas == 2)
    entries = apps.read_namespaced_deployment("web", ns).metadata.managed_fields
    scalers = [(e.manager, e.operation) for e in entries if e.subresource == "scale"]
    assert scalers == [("kube-controller-manager", "Update")]


# ------------------------------------------------------------------ KEDA


@pytest.fixture
def keda(sandbox: FakeCluster, raw: Raw) -> Iterator[FakeCluster]:
    """The sandbox with KEDA installed; uninstalled (CRD deleted) afterwards."""
    sandbox.keda.install()
    eventually(lambda: raw("GET", "/apis/keda.sh/v1alpha1")[0] == 200)
    yield sandbox
    sandbox.keda.reset()
    raw("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scaledobjects.keda.sh")


def _scaled_object(target: str, *, minimum: int, annotations: dict[str, str] | None = None) -> KubeObject:
    body: KubeObject = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": target},
        "spec": {
            "scaleTargetRef": {"name": target},
            "minReplicaCount": minimum,
            "maxReplicaCount": 10,
            "triggers": [
                {
                    "type": "cron",
                    "metadata": {
                        "timezone": "UTC",
                        "start": "0 8 * * *",
                        "end": "0 9 * * *",
                        "desiredReplicas": "5",
                    },
                }
            ],
        },
    }
    if annotations:
        body["metadata"]["annotations"] = annotations
    return body


def _create_scaled_object(raw: Raw, ns: str, body: KubeObject) -> None:
    status, answer, _ = raw(
        "POST", f"/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects", copy.deepcopy(body)
    )
    assert status == 201, answer


def test_keda_scales_a_parked_target_up_to_min_replica_count(
    apps: client.AppsV1Api, raw: Raw, ns: str, keda: FakeCluster
) -> None:
    """KEDA scale executor: a target below minReplicaCount is scaled up to it (via /scale, manager keda)."""
    apps.create_namespaced_deployment(ns, deployment("worker", replicas=0))
    _create_scaled_object(raw, ns, _scaled_object("worker", minimum=2))
    eventually(lambda: apps.read_namespaced_deployment("worker", ns).spec.replicas == 2)
    entries = apps.read_namespaced_deployment("worker", ns).metadata.managed_fields
    assert [(e.manager, e.subresource) for e in entries if e.subresource == "scale"] == [("keda", "scale")]


def test_keda_paused_replicas_annotation_holds_the_target_at_that_count(
    apps: client.AppsV1Api, raw: Raw, ns: str, keda: FakeCluster
) -> None:
    """KEDA: ``autoscaling.keda.sh/paused-replicas: "0"`` scales the target to 0 and keeps it there."""
    apps.create_namespaced_deployment(ns, deployment("worker", replicas=3))
    paused = {"autoscaling.keda.sh/paused-replicas": "0"}
    _create_scaled_object(raw, ns, _scaled_object("worker", minimum=2, annotations=paused))
    eventually(lambda: apps.read_namespaced_deployment("worker", ns).spec.replicas == 0)
    _, scaled_object, _ = raw("GET", f"/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects/worker")
    conditions = {c["type"]: c["status"] for c in scaled_object["status"]["conditions"]}
    assert conditions["Paused"] == "True"
    assert scaled_object["status"]["pausedReplicaCount"] == 0
    keda.settle()
    assert apps.read_namespaced_deployment("worker", ns).spec.replicas == 0


def test_keda_paused_annotation_leaves_the_target_alone(
    apps: client.AppsV1Api, raw: Raw, ns: str, keda: FakeCluster
) -> None:
    """KEDA: ``autoscaling.keda.sh/paused: "true"`` stops scaling at the current count (here 0)."""
    apps.create_namespaced_deployment(ns, deployment("worker", replicas=0))
    paused = {"autoscaling.keda.sh/paused": "true"}
    _create_scaled_object(raw, ns, _scaled_object("worker", minimum=2, annotations=paused))
    eventually(
        lambda: raw("GET", f"/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects/worker")[1].get("status")
    )
    keda.settle()
    assert apps.read_namespaced_deployment("worker", ns).spec.replicas == 0


def test_keda_is_not_installed_by_default(raw: Raw, sandbox: FakeCluster) -> None:
    """KEDA is an add-on: a cluster serves keda.sh only after ``cluster.keda.install()``."""
    assert raw("GET", "/apis/keda.sh/v1alpha1")[0] == 404
