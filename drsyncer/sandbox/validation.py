"""Validation that bites DR tools: names, immutable fields, selectors and workload rules.

``validate(resource, new, old)`` returns the 422 causes kube-apiserver would report for a create
(``old is None``) or an update, worded like the real messages: immutable Service clusterIP, workload
selectors that must match template labels and never change, StatefulSet spec restrictions, Job
selector/template immutability and generated selectors, PVC spec immutability (except growing a bound
claim), ``immutable: true`` ConfigMaps/Secrets and Secret ``type``.
"""

from __future__ import annotations

import re
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox.resources import ResourceType
from drsyncer.sandbox.selectors import selector_matches
from drsyncer.sandbox.status import Cause, forbidden_field, invalid_value, required, unsupported_value

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")

SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case "
    "alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_LABEL_NAMED = {("", "namespaces"), ("", "services")}
_WORKLOADS = {
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "daemonsets"),
    ("apps", "statefulsets"),
}


def validate_name(resource: ResourceType, name: str) -> list[Cause]:
    """``metadata.name`` rules: DNS-1123 label for namespaces and services, subdomain otherwise."""
    if resource.custom or resource.key == ("rbac.authorization.k8s.io", "roles"):
        ok = bool(name) and "/" not in name and name not in (".", "..") and "%" not in name
        return [] if ok else [invalid_value("metadata.name", name, 'may not contain "/"')]
    if resource.key in _LABEL_NAMED:
        if len(name) > 63 or not DNS1123_LABEL.match(name):
            return [invalid_value("metadata.name", name, LABEL_MESSAGE)]
        return []
    if resource.key[0] == "rbac.authorization.k8s.io":
        return (
            []
            if name and "/" not in name and "%" not in name
            else [invalid_value("metadata.name", name, 'may not contain "/"')]
        )
    if len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        return [invalid_value("metadata.name", name, SUBDOMAIN_MESSAGE)]
    return []


def _labels(field: str, labels: Any) -> list[Cause]:
    causes: list[Cause] = []
    for key, value in (labels or {}).items():
        prefix, _, name = str(key).rpartition("/")
        if not LABEL_NAME.match(name) or len(name) > 63 or (prefix and not DNS1123_SUBDOMAIN.match(prefix)):
            causes.append(
                invalid_value(
                    field,
                    key,
                    "name part must consist of alphanumeric characters, "
                    "'-', '_' or '.', and must start and end "
                    "with an alphanumeric character (e.g. 'MyName', "
                    " or 'my.name',  or '123-abc', regex used for "
                    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                )
            )
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            causes.append(
                invalid_value(
                    field,
                    value,
                    "a valid label must be an empty string or "
                    "consist of alphanumeric characters, '-', '_' or "
                    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
                    "'my_value',  or '12345', regex used for validation is "
                    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                )
            )
    return causes


def _pod_spec(field: str, spec: dict[str, Any]) -> list[Cause]:
    containers = spec.get("containers") or []
    if not containers:
        return [required(f"{field}.containers")]
    causes = []
    for index, container in enumerate(containers):
        if not container.get("name"):
            causes.append(required(f"{field}.containers[{index}].name"))
        if not container.get("image"):
            causes.append(required(f"{field}.containers[{index}].image"))
    return causes


def _workload(resource: ResourceType, new: KubeObject, old: KubeObject | None) -> list[Cause]:
    spec = new.get("spec", {})
    causes: list[Cause] = []
    selector = spec.get("selector")
    template_labels = spec.get("template", {}).get("metadata", {}).get("labels") or {}
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(required("spec.selector"))
        if not selector:
            causes.append(invalid_value("spec.selector", "", "empty selector is invalid for deployment"))
    elif not selector_matches(selector, template_labels):
        causes.append(
            invalid_value(
                "spec.template.metadata.labels",
                template_labels,
                "`selector` does not match template `labels`",
            )
        )
    causes += _pod_spec("spec.template.spec", spec.get("template", {}).get("spec", {}))
    if spec.get("replicas") is not None and spec["replicas"] < 0:
        causes.append(invalid_value("spec.replicas", spec["replicas"], "must be greater than or equal to 0"))
    if old is not None:
        old_spec = old.get("spec", {})
        if old_spec.get("selector") != selector:
            causes.append(invalid_value("spec.selector", selector, "field is immutable"))
        if resource.plural == "statefulsets":
            mutable = {
                "replicas",
                "ordinals",
                "template",
                "updateStrategy",
                "persistentVolumeClaimRetentionPolicy",
                "minReadySeconds",
            }
            if {k: v for k, v in spec.items() if k not in mutable} != {
                k: v for k, v in old_spec.items() if k not in mutable
            }:
                causes.append(
                    forbidden_field(
                        "spec",
                        "updates to statefulset spec for fields other "
                        "than 'replicas', 'ordinals', 'template', "
                        "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' "
                        "and 'minReadySeconds' are forbidden",
                    )
                )
    return causes


def _job(new: KubeObject, old: KubeObject | None) -> list[Cause]:
    spec = new.get("spec", {})
    causes = _pod_spec("spec.template.spec", spec.get("template", {}).get("spec", {}))
    policy = spec.get("template", {}).get("spec", {}).get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        causes.append(unsupported_value("spec.template.spec.restartPolicy", policy, ["OnFailure", "Never"]))
    if old is None:
        return causes
    old_spec = old.get("spec", {})
    if spec.get("selector") != old_spec.get("selector"):
        causes.append(invalid_value("spec.selector", spec.get("selector"), "field is immutable"))
    if spec.get("template") != old_spec.get("template") and not old_spec.get("suspend"):
        causes.append(invalid_value("spec.template", spec.get("template"), "field is immutable"))
    if spec.get("completions") != old_spec.get("completions"):
        causes.append(invalid_value("spec.completions", spec.get("completions"), "field is immutable"))
    return causes


def job_selector(new: KubeObject, uid: str) -> list[Cause]:
    """On Job create: generate the selector and template labels, or check a manual one."""
    spec = new.setdefault("spec", {})
    if spec.get("manualSelector"):
        selector = spec.get("selector")
        labels = spec.get("template", {}).get("metadata", {}).get("labels") or {}
        if not selector:
            return [required("spec.selector")]
        if not selector_matches(selector, labels):
            return [
                invalid_value(
                    "spec.template.metadata.labels", labels, "`selector` does not match template `labels`"
                )
            ]
        return []
    if spec.get("selector"):
        return [invalid_value("spec.selector", spec["selector"], "`selector` not auto-generated")]
    name = new["metadata"]["name"]
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
    labels.update(
        {
            "batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": uid,
            "job-name": name,
        }
    )
    return []


def _pvc(new: KubeObject, old: KubeObject | None) -> list[Cause]:
    spec = new.get("spec", {})
    causes: list[Cause] = []
    if not spec.get("accessModes"):
        causes.append(required("spec.accessModes", "at least 1 access mode is required"))
    if not spec.get("resources", {}).get("requests", {}).get("storage") and not spec.get("volumeName"):
        causes.append(required("spec.resources[storage]"))
    if old is None or causes:
        return causes
    old_spec = old.get("spec", {})
    bound = old.get("status", {}).get("phase") == "Bound"
    new_size = _quantity(spec.get("resources", {}).get("requests", {}).get("storage"))
    old_size = _quantity(old_spec.get("resources", {}).get("requests", {}).get("storage"))

    def comparable(s: dict[str, Any]) -> dict[str, Any]:
        clone = {k: v for k, v in s.items() if k not in ("volumeAttributesClassName",)}
        if bound:
            clone["resources"] = {**s.get("resources", {}), "requests": {}}
        if not old_spec.get("volumeName"):
            clone.pop("volumeName", None)
        return clone

    if comparable(spec) != comparable(old_spec):
        causes.append(
            forbidden_field(
                "spec",
                "spec is immutable after creation except "
                "resources.requests and volumeAttributesClassName for "
                "bound claims",
            )
        )
    elif bound and new_size < old_size:
        causes.append(
            forbidden_field("spec.resources.requests.storage", "field can not be less than status.capacity")
        )
    return causes


_UNITS = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
}


def _quantity(value: Any) -> float:
    text = str(value or "0")
    for suffix, factor in _UNITS.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    try:
        return float(text)
    except ValueError:
        return 0.0


def quantity(value: Any) -> float:
    """A Kubernetes quantity string as a number of bytes/units."""
    return _quantity(value)


def _immutable_data(new: KubeObject, old: KubeObject | None, *, secret: bool) -> list[Cause]:
    causes: list[Cause] = []
    if secret and old is not None and new.get("type") != old.get("type"):
        causes.append(invalid_value("type", new.get("type"), "field is immutable"))
    if old is not None and old.get("immutable"):
        message = "field is immutable when `immutable` is set"
        if not new.get("immutable"):
            causes.append(forbidden_field("immutable", message))
        if new.get("data") != old.get("data"):
            causes.append(forbidden_field("data", message))
        if not secret and new.get("binaryData") != old.get("binaryData"):
            causes.append(forbidden_field("binaryData", message))
    return causes


def _service(new: KubeObject, old: KubeObject | None) -> list[Cause]:
    spec = new.get("spec", {})
    causes: list[Cause] = []
    service_type = spec.get("type", "ClusterIP")
    types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
    if service_type not in types:
        causes.append(unsupported_value("spec.type", service_type, types))
    if service_type != "ExternalName" and not spec.get("ports") and spec.get("clusterIP") != "None":
        causes.append(required("spec.ports"))
    for index, port in enumerate(spec.get("ports") or []):
        if len(spec["ports"]) > 1 and not port.get("name"):
            causes.append(required(f"spec.ports[{index}].name"))
        number = port.get("port")
        if not isinstance(number, int) or not 0 < number < 65536:
            causes.append(
                invalid_value(f"spec.ports[{index}].port", number, "must be between 1 and 65535, inclusive")
            )
    if old is not None:
        old_spec = old.get("spec", {})
        old_ip = old_spec.get("clusterIP")
        if old_ip and service_type != "ExternalName" and old_spec.get("type") != "ExternalName":
            if spec.get("clusterIP") != old_ip:
                causes.append(
                    invalid_value("spec.clusterIPs[0]", spec.get("clusterIP"), "may not change once set")
                )
            elif spec.get("clusterIPs") and spec.get("clusterIPs") != old_spec.get("clusterIPs"):
                causes.append(
                    invalid_value("spec.clusterIPs[0]", spec["clusterIPs"][0], "may not change once set")
                )
    return causes


_BINDINGS = (
    ("rbac.authorization.k8s.io", "rolebindings"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
)


def _role_ref(new: KubeObject, old: KubeObject) -> list[Cause]:
    """A binding's roleRef never changes (``ValidateRoleBindingUpdate``: ``cannot change roleRef``)."""
    ref = {key: (new.get("roleRef") or {}).get(key, "") for key in ("apiGroup", "kind", "name")}
    if ref == {key: (old.get("roleRef") or {}).get(key, "") for key in ("apiGroup", "kind", "name")}:
        return []
    shown = f'rbac.RoleRef{{APIGroup:"{ref["apiGroup"]}", Kind:"{ref["kind"]}", Name:"{ref["name"]}"}}'
    return [Cause("roleRef", f"Invalid value: {shown}: cannot change roleRef")]


def validate(resource: ResourceType, new: KubeObject, old: KubeObject | None) -> list[Cause]:
    """Every 422 cause for writing ``new`` over ``old`` (None on create)."""
    metadata = new.get("metadata", {})
    causes = _labels("metadata.labels", metadata.get("labels"))
    key = resource.key
    if key in _WORKLOADS:
        causes += _workload(resource, new, old)
    elif key == ("batch", "jobs"):
        causes += _job(new, old)
    elif key == ("", "persistentvolumeclaims"):
        causes += _pvc(new, old)
    elif key == ("", "configmaps"):
        causes += _immutable_data(new, old, secret=False)
    elif key == ("", "secrets"):
        causes += _immutable_data(new, old, secret=True)
    elif key == ("", "services"):
        causes += _service(new, old)
    elif key in _BINDINGS and old is not None:
        causes += _role_ref(new, old)
    elif key == ("", "pods"):
        causes += _pod_spec("spec", new.get("spec", {}))
        if old is not None:
            causes += _pod_update(new, old)
    return causes


def _pod_update(new: KubeObject, old: KubeObject) -> list[Cause]:
    spec, old_spec = dict(new.get("spec", {})), dict(old.get("spec", {}))
    images = [c.get("image") for c in spec.get("containers", [])]
    for mutable in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
        spec.pop(mutable, None)
        old_spec.pop(mutable, None)
    if len(images) == len(old_spec.get("containers", [])):
        old_spec["containers"] = [
            {**c, "image": i} for c, i in zip(old_spec["containers"], images, strict=True)
        ]
    if spec != old_spec:
        return [
            forbidden_field(
                "spec",
                "pod updates may not change fields other than `spec.containers[*].image`,"
                "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
                "(only additions "
                "to existing tolerations),`spec.terminationGracePeriodSeconds` "
                "(allow it to be set to 1 if it "
                "was previously negative)",
            )
        ]
    return []
