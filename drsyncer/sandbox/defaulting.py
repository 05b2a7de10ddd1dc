"""Defaulting: the fields a real API server fills in on every create and update.

Runs on the decoded body before validation, exactly where kube-apiserver runs its defaulters (and the
few admission plugins that matter here: the default StorageClass and the pod's ``default`` service
account). Pure functions of the object; cluster allocations (clusterIP, nodePort) live in
``allocation.py``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from drsyncer.objects import KubeObject

Defaulter = Callable[[KubeObject], None]


def _container(container: dict[str, Any]) -> None:
    image = str(container.get("image", ""))
    tag = image.rsplit("/", 1)[-1]
    default_policy = (
        "Always" if ("@" not in tag and (":" not in tag or tag.endswith(":latest"))) else "IfNotPresent"
    )
    container.setdefault("imagePullPolicy", default_policy)
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for env in container.get("env") or []:
        source = env.get("valueFrom", {}).get("fieldRef")
        if source is not None:
            source.setdefault("apiVersion", "v1")


def pod_spec(spec: dict[str, Any]) -> None:
    """Pod spec defaults (also applied to every workload template)."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        _container(container)
    for volume in spec.get("volumes") or []:
        for source in ("configMap", "secret"):
            if source in volume:
                volume[source].setdefault("defaultMode", 420)
        if "emptyDir" in volume and volume["emptyDir"] is None:
            volume["emptyDir"] = {}


def _template(obj: KubeObject) -> None:
    template = obj.setdefault("spec", {}).setdefault("template", {})
    template.setdefault("metadata", {})
    pod_spec(template.setdefault("spec", {}))


def pod(obj: KubeObject) -> None:
    """Pods: spec defaults, the default service account, links, tolerations, phase Pending."""
    spec = obj.setdefault("spec", {})
    pod_spec(spec)
    spec.setdefault("serviceAccountName", spec.get("serviceAccount", "default"))
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    status = obj.setdefault("status", {})
    status.setdefault("phase", "Pending")
    status.setdefault("qosClass", "BestEffort")
    spec.setdefault(
        "tolerations",
        [
            {
                "key": f"node.kubernetes.io/{t}",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            }
            for t in ("not-ready", "unreachable")
        ],
    )


def deployment(obj: KubeObject) -> None:
    """Deployments: replicas, strategy, revisionHistoryLimit, progressDeadlineSeconds, template."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(obj)


def replicaset(obj: KubeObject) -> None:
    """ReplicaSets: replicas and template."""
    obj.setdefault("spec", {}).setdefault("replicas", 1)
    _template(obj)


def pvc_spec(spec: dict[str, Any]) -> None:
    """PVC spec defaults (claims and StatefulSet volumeClaimTemplates)."""
    spec.setdefault("volumeMode", "Filesystem")


def statefulset(obj: KubeObject) -> None:
    """StatefulSets: replicas, policies, update strategy, claim templates, template."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        strategy.setdefault("type", "RollingUpdate")
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    for claim in spec.get("volumeClaimTemplates") or []:
        claim.setdefault("apiVersion", "v1")
        claim.setdefault("kind", "PersistentVolumeClaim")
        pvc_spec(claim.setdefault("spec", {}))
        claim.setdefault("status", {"phase": "Pending"})
    _template(obj)


def daemonset(obj: KubeObject) -> None:
    """DaemonSets: update strategy, revisionHistoryLimit, template."""
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type") == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    _template(obj)


def job_spec(spec: dict[str, Any]) -> None:
    """Job spec defaults (jobs and CronJob jobTemplates)."""
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    if spec.get("completions") is None and spec.get("parallelism") == 1:
        spec.setdefault("completions", 1)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {})
    pod_spec(template.setdefault("spec", {}))


def job(obj: KubeObject) -> None:
    """Jobs (the generated selector and labels are set at create time, see validation)."""
    job_spec(obj.setdefault("spec", {}))


def cronjob(obj: KubeObject) -> None:
    """CronJobs: policies, history limits and the job template."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_template = spec.setdefault("jobTemplate", {})
    job_template.setdefault("metadata", {})
    job_spec(job_template.setdefault("spec", {}))


def service(obj: KubeObject) -> None:
    """Services: type, sessionAffinity, ports protocol/targetPort, IP families, traffic policies."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    if spec["type"] == "ExternalName":
        return
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if "port" in port:
            port.setdefault("targetPort", port["port"])
    if spec.get("clusterIP") == "None" or (spec.get("clusterIPs") or [None])[0] == "None":
        spec.setdefault("clusterIP", "None")
        spec.setdefault("clusterIPs", ["None"])
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    obj.setdefault("status", {}).setdefault("loadBalancer", {})


def secret(obj: KubeObject) -> None:
    """Secrets: ``stringData`` merged into ``data`` (base64), type Opaque."""
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None) or {}
    if string_data:
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def namespace(obj: KubeObject) -> None:
    """Namespaces: the ``kubernetes`` finalizer, phase Active and the metadata.name label."""
    name = obj.get("metadata", {}).get("name", "")
    if name:
        labels = obj["metadata"].setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = name
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")


def pvc(obj: KubeObject) -> None:
    """PVCs: volumeMode and phase Pending."""
    pvc_spec(obj.setdefault("spec", {}))
    obj.setdefault("status", {}).setdefault("phase", "Pending")


def pv(obj: KubeObject) -> None:
    """PVs: reclaim policy, volumeMode, phase Pending."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    spec.setdefault("volumeMode", "Filesystem")
    obj.setdefault("status", {}).setdefault("phase", "Pending")


def storageclass(obj: KubeObject) -> None:
    """StorageClasses: reclaim policy and binding mode."""
    obj.setdefault("reclaimPolicy", "Delete")
    obj.setdefault("volumeBindingMode", "Immediate")


def crd(obj: KubeObject) -> None:
    """CRDs: scope and conversion."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("scope", "Namespaced")
    spec.setdefault("conversion", {"strategy": "None"})
    names = spec.setdefault("names", {})
    if "kind" in names:
        names.setdefault("singular", str(names["kind"]).lower())
        names.setdefault("listKind", f"{names['kind']}List")


def hpa(obj: KubeObject) -> None:
    """HPAs (v2): minReplicas."""
    obj.setdefault("spec", {}).setdefault("minReplicas", 1)


_ZERO_DAEMONS = {
    "currentNumberScheduled": 0,
    "desiredNumberScheduled": 0,
    "numberMisscheduled": 0,
    "numberReady": 0,
}
INITIAL_STATUS: dict[tuple[str, str], dict[str, Any]] = {
    ("apps", "statefulsets"): {"replicas": 0, "availableReplicas": 0},
    ("apps", "daemonsets"): _ZERO_DAEMONS,
    ("apps", "replicasets"): {"replicas": 0},
    ("autoscaling", "horizontalpodautoscalers"): {"currentReplicas": 0, "desiredReplicas": 0},
    ("policy", "poddisruptionbudgets"): {
        "disruptionsAllowed": 0,
        "currentHealthy": 0,
        "desiredHealthy": 0,
        "expectedPods": 0,
    },
    ("networking.k8s.io", "ingresses"): {"loadBalancer": {}},
}
"""The status a freshly created object carries (Go structs serialise their non-omitempty zero fields)."""

DEFAULTERS: dict[tuple[str, str], Defaulter] = {
    ("", "pods"): pod,
    ("", "services"): service,
    ("", "secrets"): secret,
    ("", "namespaces"): namespace,
    ("", "persistentvolumeclaims"): pvc,
    ("", "persistentvolumes"): pv,
    ("apps", "deployments"): deployment,
    ("apps", "replicasets"): replicaset,
    ("apps", "statefulsets"): statefulset,
    ("apps", "daemonsets"): daemonset,
    ("batch", "jobs"): job,
    ("batch", "cronjobs"): cronjob,
    ("storage.k8s.io", "storageclasses"): storageclass,
    ("apiextensions.k8s.io", "customresourcedefinitions"): crd,
    ("autoscaling", "horizontalpodautoscalers"): hpa,
}


def apply_defaults(key: tuple[str, str], obj: KubeObject) -> None:
    """Fill in the defaults for one object of resource ``key`` (group, plural), in place."""
    defaulter = DEFAULTERS.get(key)
    if defaulter is not None:
        defaulter(obj)
