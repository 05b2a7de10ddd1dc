"""Conversion between served versions of one kind, through the stored (internal) form.

Upstream behaviour reproduced: the API server stores one object per resource and converts it to
whichever version a request names, through its internal form (``pkg/apis/autoscaling/v1/conversion.go``
for HorizontalPodAutoscalers). ``autoscaling/v1`` has no ``metrics``: the CPU utilisation target is
``spec.targetCPUUtilizationPercentage`` and everything v1 cannot express rides in annotations
(``autoscaling.alpha.kubernetes.io/metrics``, ``.../behavior``, ``.../conditions``,
``.../current-metrics``), so a v2 → v1 → v2 round trip loses nothing. Kinds whose versions share a schema
(CronJob ``v1beta1``/``v1``, HPA ``v2beta2``/``v2``, CRDs with ``conversion: None``) differ only in
``apiVersion`` and need no converter.

The sandbox stores HPAs in their ``v2`` form. :func:`converts` says whether a resource's version needs a
converter; :func:`from_storage` and :func:`to_storage` convert one object.
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

import yaml

from drsyncer.objects import KubeObject
from drsyncer.sandbox import patching
from drsyncer.sandbox import status as errors
from drsyncer.sandbox.resources import ResourceType

if TYPE_CHECKING:
    from drsyncer.sandbox.api import Api, WriteOptions

APPLY_PATCH = "application/apply-patch+yaml"

HPAS = ("autoscaling", "horizontalpodautoscalers")
STORAGE_VERSIONS: dict[tuple[str, str], str] = {HPAS: "v2"}
"""The version each converted resource is stored in."""
METRICS = "autoscaling.alpha.kubernetes.io/metrics"
BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"


def converts(resource: ResourceType) -> bool:
    """Whether objects of ``resource`` need converting (served at a version other than the stored one)."""
    storage = STORAGE_VERSIONS.get(resource.key)
    return storage is not None and resource.version == "v1" and storage != resource.version


def storage_version(resource: ResourceType) -> str:
    """The version ``resource``'s objects are stored in."""
    return STORAGE_VERSIONS.get(resource.key, resource.version)


def from_storage(obj: KubeObject, resource: ResourceType) -> KubeObject:
    """A stored (``autoscaling/v2``) HPA as ``autoscaling/v1`` serves it."""
    served = copy.deepcopy(obj)
    served["apiVersion"] = resource.api_version
    annotations = dict((served.get("metadata") or {}).get("annotations") or {})
    spec = served.get("spec") or {}
    metrics = spec.pop("metrics", None) or []
    cpu = [m for m in metrics if _is_cpu_utilization(m)]
    others = [m for m in metrics if not _is_cpu_utilization(m)]
    if cpu:
        spec["targetCPUUtilizationPercentage"] = cpu[0]["resource"]["target"]["averageUtilization"]
    if others:
        annotations[METRICS] = json.dumps(others, separators=(",", ":"))
    behavior = spec.pop("behavior", None)
    if behavior:
        annotations[BEHAVIOR] = json.dumps(behavior, separators=(",", ":"))
    status = served.get("status")
    if isinstance(status, dict):
        current = status.pop("currentMetrics", None) or []
        cpu_now = [
            m
            for m in current
            if m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == "cpu"
        ]
        if cpu_now and "averageUtilization" in (cpu_now[0]["resource"].get("current") or {}):
            status["currentCPUUtilizationPercentage"] = cpu_now[0]["resource"]["current"][
                "averageUtilization"
            ]
        rest = [m for m in current if m not in cpu_now]
        if rest:
            annotations[CURRENT_METRICS] = json.dumps(rest, separators=(",", ":"))
        conditions = status.pop("conditions", None)
        if conditions:
            annotations[CONDITIONS] = json.dumps(conditions, separators=(",", ":"))
    if annotations:
        served.setdefault("metadata", {})["annotations"] = annotations
    return served


def to_storage(obj: KubeObject, resource: ResourceType) -> KubeObject:
    """An ``autoscaling/v1`` HPA in its stored (``autoscaling/v2``) form."""
    stored = copy.deepcopy(obj)
    stored["apiVersion"] = f"{resource.group}/{storage_version(resource)}"
    metadata = stored.get("metadata") or {}
    annotations = dict(metadata.get("annotations") or {})
    spec = stored.get("spec")
    if isinstance(spec, dict):
        metrics = _loads(annotations.pop(METRICS, None))
        target = spec.pop("targetCPUUtilizationPercentage", None)
        if target is not None:
            metrics.insert(0, _cpu_metric(target))
        if metrics:
            spec["metrics"] = metrics
        behavior = annotations.pop(BEHAVIOR, None)
        if behavior:
            spec["behavior"] = json.loads(behavior)
    status = stored.get("status")
    current = _loads(annotations.pop(CURRENT_METRICS, None))
    conditions = _loads(annotations.pop(CONDITIONS, None))
    if isinstance(status, dict):
        utilization = status.pop("currentCPUUtilizationPercentage", None)
        if utilization is not None:
            current.insert(
                0,
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "current": {"averageUtilization": utilization}},
                },
            )
        if current:
            status["currentMetrics"] = current
        if conditions:
            status["conditions"] = conditions
    if "metadata" in stored:
        if annotations:
            metadata["annotations"] = annotations
        else:
            metadata.pop("annotations", None)
    return stored


def _is_cpu_utilization(metric: dict[str, Any]) -> bool:
    source = metric.get("resource") or {}
    return (
        metric.get("type") == "Resource"
        and source.get("name") == "cpu"
        and (source.get("target") or {}).get("type") == "Utilization"
        and "averageUtilization" in (source.get("target") or {})
    )


def _cpu_metric(utilization: int) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": utilization}},
    }


def _loads(text: str | None) -> list[Any]:
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def converted_write(
    api: Api,
    resource: ResourceType,
    namespace: str,
    name: str,
    *,
    method: str,
    raw: bytes,
    content_type: str,
    options: WriteOptions,
) -> tuple[int, KubeObject]:
    """A POST, PUT or PATCH at a converted version: converted to the stored form, written, served back.

    Non-apply patches are applied to the object as this version serves it, then converted (as the API
    server patches the versioned object).
    """
    storage = api.registry.lookup(resource.group, storage_version(resource), resource.plural)
    if storage is None:  # pragma: no cover - the stored version is always served
        raise errors.ApiError(500, "InternalError", f"no stored version of {resource.plural}")
    media = content_type.split(";", 1)[0].strip()
    if method == "PATCH" and media != APPLY_PATCH:
        current = api.get(resource, namespace, name)
        patched = _patched(current, raw, media)
        patched.setdefault("metadata", {}).setdefault(
            "resourceVersion", current["metadata"].get("resourceVersion", "")
        )
        stored = api.replace(storage, namespace, name, to_storage(patched, resource), options, owned=True)
        return 200, api.present(resource, stored)
    body = to_storage(_decoded(raw, media), resource)
    if method == "POST":
        return 201, api.present(resource, api.create(storage, namespace, body, options, owned=True))
    if method == "PUT":
        return 200, api.present(resource, api.replace(storage, namespace, name, body, options, owned=True))
    code, stored = api.patch(storage, namespace, name, json.dumps(body).encode(), content_type, options)
    return code, api.present(resource, stored)


def _decoded(raw: bytes, media: str) -> KubeObject:
    try:
        decoded = yaml.safe_load(raw) if media == APPLY_PATCH else json.loads(raw or b"{}")
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"error decoding request body: {exc}") from exc
    return decoded if isinstance(decoded, dict) else {}


def _patched(current: KubeObject, raw: bytes, media: str) -> KubeObject:
    document = json.loads(raw or b"null")
    if media not in patching.PATCH_TYPES:
        raise errors.unsupported_media_type(media, [*patching.PATCH_TYPES, APPLY_PATCH])
    try:
        return patching.apply_patch(current, document, media)
    except patching.PatchError as exc:
        raise errors.ApiError(exc.code, exc.reason, exc.message) from exc
