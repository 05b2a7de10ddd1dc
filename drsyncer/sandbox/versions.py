"""Per-cluster Kubernetes version: which API versions a cluster serves, and deprecation warnings.

Upstream behaviour reproduced:

- Each Kubernetes minor serves a different set of versions of some built-in kinds (the deprecated-API
  migration guide): ``batch/v1beta1`` CronJob and ``policy/v1beta1`` PodDisruptionBudget until 1.24,
  ``autoscaling/v2beta2`` HorizontalPodAutoscaler until 1.25. Objects are stored once and served in every
  version (the API server converts through its internal form); for these kinds the versions differ only in
  ``apiVersion`` for the fields dr-syncer copies.
- A request to a deprecated version gets the header ``Warning: 299 - "<text>"``: for built-ins the
  text of ``k8s.io/apiserver/pkg/endpoints/deprecation`` (``batch/v1beta1 CronJob is deprecated in
  v1.21+, unavailable in v1.25+; use batch/v1 CronJob``), for a CRD version marked ``deprecated: true``
  its ``deprecationWarning`` or ``<group>/<version> <Kind> is deprecated``.
- ``/version`` reports the cluster's version.

:class:`KubernetesVersions` holds one cluster's version (``1.31`` by default; tests call
:meth:`KubernetesVersions.set`, ``reset()`` restores the default).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drsyncer.objects import KubeObject
from drsyncer.sandbox.discovery import VERSION
from drsyncer.sandbox.resources import Registry, ResourceType
from drsyncer.sandbox.store import Store

DEFAULT_MINOR = 31
CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")


@dataclass(frozen=True)
class LegacyVersion:
    """A built-in kind's older version: served before ``removed``, deprecated from ``deprecated``."""

    resource: ResourceType
    deprecated: int
    removed: int
    replacement: str

    def warning(self) -> str:
        """The API server's deprecation warning text."""
        r = self.resource
        return (
            f"{r.api_version} {r.kind} is deprecated in v1.{self.deprecated}+, unavailable in "
            f"v1.{self.removed}+; use {self.replacement}"
        )


LEGACY: tuple[LegacyVersion, ...] = (
    LegacyVersion(
        ResourceType("batch", "v1beta1", "CronJob", "cronjobs", True, ("cj",), ("status",), ("all",)),
        deprecated=21,
        removed=25,
        replacement="batch/v1 CronJob",
    ),
    LegacyVersion(
        ResourceType("policy", "v1beta1", "PodDisruptionBudget", "poddisruptionbudgets", True, ("pdb",)),
        deprecated=21,
        removed=25,
        replacement="policy/v1 PodDisruptionBudget",
    ),
    LegacyVersion(
        ResourceType(
            "autoscaling",
            "v2beta2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            True,
            ("hpa",),
            ("status",),
            ("all",),
        ),
        deprecated=23,
        removed=26,
        replacement="autoscaling/v2 HorizontalPodAutoscaler",
    ),
)
"""Older built-in versions the sandbox serves on older minors (the newest ones are always served)."""


@dataclass
class KubernetesVersions:
    """One cluster's Kubernetes version and the API versions it serves because of it."""

    registry: Registry
    store: Store
    minor: int = DEFAULT_MINOR
    _served: list[ResourceType] = field(default_factory=list)

    def set(self, version: str) -> None:
        """Make the cluster a ``1.<minor>`` cluster (``"1.24"``): serve the versions that minor serves."""
        major, _, minor = version.removeprefix("v").partition(".")
        if major != "1" or not minor.isdigit() or int(minor) < 23:
            raise ValueError(f"unsupported Kubernetes version {version!r}: expected 1.23 or later")
        self._withdraw()
        self.minor = int(minor)
        self._served = [legacy.resource for legacy in LEGACY if self.minor < legacy.removed]
        self.registry.add_builtins(self._served)

    def reset(self) -> None:
        """Back to the default version."""
        self._withdraw()
        self.minor = DEFAULT_MINOR

    def version_document(self) -> KubeObject:
        """``/version``."""
        return {
            **VERSION,
            "minor": str(self.minor),
            "gitVersion": f"v1.{self.minor}.0-sandbox",
        }

    def warning(self, resource: ResourceType) -> str | None:
        """The deprecation warning for a request served by ``resource``, if its version is deprecated."""
        if resource.custom:
            return self._crd_warning(resource)
        key = (resource.group, resource.version, resource.plural)
        for legacy in LEGACY:
            legacy_key = (legacy.resource.group, legacy.resource.version, legacy.resource.plural)
            if legacy_key == key and self.minor >= legacy.deprecated:
                return legacy.warning()
        return None

    def _crd_warning(self, resource: ResourceType) -> str | None:
        crd = self.store.get(CRDS, "", f"{resource.plural}.{resource.group}")
        for version in ((crd or {}).get("spec") or {}).get("versions") or []:
            if version.get("name") == resource.version and version.get("deprecated"):
                default = f"{resource.group}/{resource.version} {resource.kind} is deprecated"
                return str(version.get("deprecationWarning") or default)
        return None

    def _withdraw(self) -> None:
        self.registry.remove_builtins(self._served)
        self._served = []


def resource_for_path(registry: Registry, path: str) -> ResourceType | None:
    """The resource a request path addresses (``/apis/batch/v1beta1/namespaces/x/cronjobs/y``), if any."""
    parts = [part for part in path.split("/") if part]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if rest[0] == "namespaces" and len(rest) >= 3:
        rest = rest[2:]
    return registry.lookup(group, version, rest[0])


def warning_header(text: str) -> str:
    """``299 - "<text>"`` with quotes and backslashes escaped (RFC 7234, as kube-apiserver writes it)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'
