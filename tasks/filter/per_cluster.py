"""Per-cluster objects: what every cluster makes for itself in each namespace, so dr-syncer never copies.

A cluster publishes its own CA bundles (``kube-root-ca.crt``; istio's ``istio-ca-root-cert``; OpenShift's
``openshift-service-ca.crt``) and, with legacy token controllers, its own service-account token and
pull Secrets (``default-token-*``, ``default-dockercfg-*``). A copy would carry the source cluster's
identity into DR and fight DR's own publisher. ``DEFAULT_PER_CLUSTER_OBJECTS`` is the built-in list;
``NamespaceMapping.spec.perClusterObjects`` adds to it. Names are shell-style patterns (``*``, ``?``).
Pure: used by the filter checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from drsyncer.objects import KubeObject, object_name

SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"  # noqa: S105 - a Secret type, not a secret


@dataclass(frozen=True)
class PerClusterObject:
    """A kind and a name pattern of objects each cluster makes for itself, and why."""

    kind: str
    name: str
    why: str = "made by each cluster for itself"

    def matches(self, obj: KubeObject) -> bool:
        """True when ``obj`` has this kind (case-insensitive) and a name matching the pattern."""
        return str(obj.get("kind", "")).lower() == self.kind.lower() and fnmatchcase(
            object_name(obj), self.name
        )


DEFAULT_PER_CLUSTER_OBJECTS: tuple[PerClusterObject, ...] = (
    PerClusterObject(
        "ConfigMap", "kube-root-ca.crt", "the cluster's CA bundle; every namespace gets its own"
    ),
    PerClusterObject("ConfigMap", "istio-ca-root-cert", "istio's per-cluster root certificate"),
    PerClusterObject("ConfigMap", "openshift-service-ca.crt", "OpenShift's per-cluster service CA bundle"),
    PerClusterObject("Secret", "default-token-*", "legacy token of the source's default ServiceAccount"),
    PerClusterObject("Secret", "default-dockercfg-*", "registry pull Secret the source cluster issued"),
)
"""Objects never copied, whatever the configuration says."""


def per_cluster_reason(obj: KubeObject, extra: tuple[PerClusterObject, ...] = ()) -> str | None:
    """Why ``obj`` is a per-cluster object (never copied), or None.

    Args:
        obj: A source object.
        extra: The mapping's own additions to the default list.
    """
    if obj.get("kind") == "Secret" and obj.get("type") == SERVICE_ACCOUNT_TOKEN:
        return "service-account token signed by the source cluster; DR issues its own"
    for entry in (*DEFAULT_PER_CLUSTER_OBJECTS, *extra):
        if entry.matches(obj):
            return entry.why
    return None
