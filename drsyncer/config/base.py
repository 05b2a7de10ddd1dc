"""The building blocks every configuration kind shares: the strict model base, metadata and value types.

Configuration documents are Kubernetes objects (``apiVersion``, ``kind``, ``metadata``, ``spec``,
``status``). Python code uses snake_case attributes; YAML uses DR-Syncer's camelCase field names via an
alias generator. Models are strict (unknown fields are errors) and frozen (the loaded config is shared
read-only by every stage). Every field carries a ``description``: it feeds the CRD schema, the docs and
error messages.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from pydantic.alias_generators import to_camel

from drsyncer.config.cron import cron_problem
from drsyncer.config.names import dns1123_label_problem, dns1123_subdomain_problem

API_VERSION = "dr-syncer.io/v1alpha1"
"""The apiVersion of every configuration kind (DR-Syncer's)."""
GROUP = "dr-syncer.io"
VERSION = "v1alpha1"
DEFAULT_CONFIG_NAMESPACE = "dr-syncer"
"""Namespace of a config object whose ``metadata.namespace`` is absent (DR-Syncer keeps its CRs here)."""
DEFAULT_SCHEDULE = "*/5 * * * *"
"""Schedule of a Scheduled mapping without ``schedule`` (DR-Syncer's code default)."""


class ConfigModel(BaseModel):
    """Base of every configuration model: camelCase aliases, unknown fields forbidden, frozen."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_enum_values=False,
        validate_default=False,
    )


def _check(problem_of: Any) -> Any:
    def validate(value: str) -> str:
        problem = problem_of(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(validate)


Bool = StrictBool
"""A YAML boolean (``true``/``false``); the string "true" is refused as Kubernetes would."""
Int = StrictInt
"""A YAML integer; strings and floats are refused as Kubernetes would."""
Str = StrictStr
"""A YAML string; numbers are refused (quote them) as Kubernetes would."""
ObjectName = Annotated[StrictStr, _check(dns1123_subdomain_problem)]
"""A Kubernetes object name (DNS-1123 subdomain)."""
NamespaceName = Annotated[StrictStr, _check(dns1123_label_problem)]
"""A Kubernetes namespace name (DNS-1123 label)."""
CronSchedule = Annotated[StrictStr, _check(cron_problem)]
"""A 5-field cron expression (see :mod:`drsyncer.config.cron`)."""


class ObjectMeta(ConfigModel):
    """Kubernetes object metadata: ``name`` and ``namespace`` matter; the rest is accepted as exported."""

    name: ObjectName = Field(description="Name of the object, unique per kind and namespace (DNS-1123).")
    namespace: NamespaceName = Field(
        default=DEFAULT_CONFIG_NAMESPACE,
        description="Namespace of the object; references resolve within it. Default dr-syncer.",
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Labels (accepted, not used).")
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Annotations (dr-syncer.io/sync-now is read in controller mode)."
    )
    generate_name: Str | None = Field(default=None, description="Accepted as exported; not used.")
    uid: Any = Field(default=None, description="Accepted as exported from a cluster; ignored.")
    resource_version: Any = Field(default=None, description="Accepted as exported from a cluster; ignored.")
    generation: Any = Field(default=None, description="Accepted as exported from a cluster; ignored.")
    creation_timestamp: Any = Field(default=None, description="Accepted as exported from a cluster; ignored.")
    deletion_timestamp: Any = Field(default=None, description="Accepted as exported from a cluster; ignored.")
    deletion_grace_period_seconds: Any = Field(
        default=None, description="Accepted as exported from a cluster; ignored."
    )
    self_link: Any = Field(default=None, description="Accepted as exported from a cluster; ignored.")
    managed_fields: Any = Field(default=None, description="Accepted as exported from a cluster; ignored.")
    finalizers: Any = Field(default=None, description="Accepted as exported from a cluster; ignored.")
    owner_references: Any = Field(default=None, description="Accepted as exported from a cluster; ignored.")


class SecretReference(ConfigModel):
    """A Secret by name and namespace."""

    name: ObjectName = Field(description="Name of the Secret.")
    namespace: NamespaceName = Field(description="Namespace of the Secret.")


class VerificationMode(StrEnum):
    """How PVC data is verified after an rsync."""

    none = "none"
    sample = "sample"
    full = "full"
