"""Server-side field validation (``fieldValidation=Strict|Warn|Ignore``) of built-in kinds.

Upstream behaviour reproduced (KEP-2885, GA in 1.27): the API server decodes a write's body against the
kind's schema. A field the schema does not know is, by the request's ``fieldValidation``:

- ``Strict``: refused with ``400 BadRequest``, message ``<Kind> in version "<v>" cannot be handled as a
  <Kind>: strict decoding error: unknown field "<path>"`` (several joined with ``, ``);
- ``Warn`` (the default when the parameter is absent): dropped, with a ``Warning: 299 - "unknown field
  \\"<path>\\""`` header;
- ``Ignore``: dropped silently.

The sandbox has no OpenAPI schemas, so it knows the top-level fields of the common built-in kinds and
every ``metadata`` field; deeper paths and custom resources (CRDs here preserve unknown fields) are not
checked. Bodies of POST, PUT and PATCH (every patch type but JSON patch) are checked; strategic-merge
directives (``$patch``, ``$setElementOrder/...``) are not fields.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from drsyncer.sandbox import status as errors
from drsyncer.sandbox.resources import ResourceType

COMMON = frozenset({"apiVersion", "kind", "metadata"})
SPEC_STATUS = frozenset({"spec", "status"})
TOP_LEVEL: dict[tuple[str, str], frozenset[str]] = {
    ("", "configmaps"): frozenset({"data", "binaryData", "immutable"}),
    ("", "secrets"): frozenset({"data", "stringData", "type", "immutable"}),
    ("", "serviceaccounts"): frozenset({"secrets", "imagePullSecrets", "automountServiceAccountToken"}),
    ("", "services"): SPEC_STATUS,
    ("", "persistentvolumeclaims"): SPEC_STATUS,
    ("", "namespaces"): SPEC_STATUS,
    ("", "limitranges"): frozenset({"spec"}),
    ("", "resourcequotas"): SPEC_STATUS,
    ("apps", "deployments"): SPEC_STATUS,
    ("apps", "statefulsets"): SPEC_STATUS,
    ("apps", "daemonsets"): SPEC_STATUS,
    ("batch", "jobs"): SPEC_STATUS,
    ("batch", "cronjobs"): SPEC_STATUS,
    ("networking.k8s.io", "ingresses"): SPEC_STATUS,
    ("networking.k8s.io", "networkpolicies"): frozenset({"spec"}),
    ("rbac.authorization.k8s.io", "roles"): frozenset({"rules"}),
    ("rbac.authorization.k8s.io", "rolebindings"): frozenset({"subjects", "roleRef"}),
    ("autoscaling", "horizontalpodautoscalers"): SPEC_STATUS,
    ("policy", "poddisruptionbudgets"): SPEC_STATUS,
}
"""Top-level fields besides apiVersion, kind and metadata, per (group, plural)."""
METADATA = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
MODES = ("Strict", "Warn", "Ignore")


def unknown_fields(resource: ResourceType, body: Any) -> list[str]:
    """The paths of the fields in ``body`` the API server does not know for ``resource``."""
    known = TOP_LEVEL.get(resource.key)
    if resource.custom or known is None or not isinstance(body, dict):
        return []
    unknown = [key for key in body if key not in COMMON | known and not key.startswith("$")]
    metadata = body.get("metadata")
    if isinstance(metadata, dict):
        unknown += [f"metadata.{key}" for key in metadata if key not in METADATA and not key.startswith("$")]
    return unknown


def validate_body(
    resource: ResourceType, raw: bytes, content_type: str, mode: str
) -> tuple[bytes, list[str]]:
    """Check a write's body; return the body to serve (unknown fields dropped) and warning texts.

    Raises:
        ApiError: 400 for an invalid ``fieldValidation`` value, or for unknown fields under ``Strict``.
    """
    mode = mode or "Warn"
    if mode not in MODES:
        raise errors.bad_request(f'fieldValidation must be one of "Ignore", "Warn", "Strict", got "{mode}"')
    if not raw or content_type.startswith("application/json-patch"):
        return raw, []
    try:
        body = yaml.safe_load(raw) if "yaml" in content_type else json.loads(raw)
    except (ValueError, yaml.YAMLError):
        return raw, []  # the verb reports the decoding error
    unknown = unknown_fields(resource, body)
    if not unknown:
        return raw, []
    if mode == "Strict":
        fields = ", ".join(f'unknown field "{path}"' for path in unknown)
        raise errors.bad_request(
            f'{resource.kind} in version "{resource.version}" cannot be handled as a {resource.kind}: '
            f"strict decoding error: {fields}"
        )
    for path in unknown:
        parent = body["metadata"] if path.startswith("metadata.") else body
        parent.pop(path.removeprefix("metadata."), None)
    kept = json.dumps(body).encode()  # JSON is YAML too: fine for apply patches
    return kept, [] if mode == "Ignore" else [f'unknown field "{path}"' for path in unknown]
