"""The transformation catalogue: every rule, in the order the runner applies them.

This list *is* the transformation stage. A new rule is one function in its family's module (its docstring
is its user documentation), one line here, and its tests; ``docs/rules.md`` is generated from this list
(``python -m tasks.transform.docs``). Rules see the object as left by the rules before them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drsyncer.objects import KubeObject
from tasks.transform import (
    controller_fields,
    jobs,
    metadata,
    namespace_metadata,
    namespace_refs,
    parking,
    pvcs,
    service_accounts,
    services,
    workloads,
)
from tasks.transform.context import TransformContext
from tasks.transform.edits import Edit

RuleFunction = Callable[[KubeObject, TransformContext], list[Edit]]
ALL_KINDS: frozenset[str] = frozenset()
_SCALABLE_KINDS = ("Deployment", "StatefulSet", "ReplicaSet")
_POD_TEMPLATE_KINDS = frozenset(
    {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"}
)


@dataclass(frozen=True)
class Rule:
    """One transformation rule: a name, the kinds it applies to (empty = every kind), its function."""

    name: str
    kinds: frozenset[str]
    function: RuleFunction

    def applies_to(self, kind: str) -> bool:
        """True when this rule runs for objects of ``kind``."""
        return not self.kinds or kind in self.kinds

    @property
    def documentation(self) -> str:
        """The rule's user documentation: its function's docstring."""
        return (self.function.__doc__ or "").strip()


def _rule(function: RuleFunction, *kinds: str) -> Rule:
    family = function.__module__.rsplit(".", 1)[-1]
    return Rule(name=f"{family}.{function.__name__}", kinds=frozenset(kinds), function=function)


RULES: tuple[Rule, ...] = (
    _rule(services.drop_allocated_node_ports, "Service"),
    _rule(metadata.strip_server_metadata),
    _rule(metadata.drop_last_applied_configuration),
    _rule(metadata.drop_status),
    _rule(controller_fields.drop_controller_annotations, *_SCALABLE_KINDS, "DaemonSet"),
    _rule(namespace_metadata.drop_cluster_specific_namespace_metadata, "Namespace"),
    _rule(namespace_refs.set_namespace),
    _rule(namespace_refs.rewrite_role_binding_subjects, "RoleBinding"),
    _rule(namespace_refs.rewrite_persistent_volume_claim_ref, "PersistentVolume"),
    _rule(namespace_refs.rewrite_service_hostnames, "ConfigMap", *_POD_TEMPLATE_KINDS),
    _rule(workloads.scale_replicas, "Deployment", "StatefulSet", "ReplicaSet"),
    _rule(workloads.suspend_cronjobs, "CronJob"),
    _rule(workloads.park_daemonsets, "DaemonSet"),
    _rule(parking.park_workloads),
    _rule(service_accounts.limit_service_account_secrets, "ServiceAccount"),
    _rule(services.clear_cluster_ips, "Service"),
    _rule(services.drop_health_check_node_port, "Service"),
    _rule(services.convert_load_balancers, "Service"),
    _rule(pvcs.map_storage_class, "PersistentVolumeClaim"),
    _rule(pvcs.map_access_modes, "PersistentVolumeClaim"),
    _rule(pvcs.clear_volume_name, "PersistentVolumeClaim"),
    _rule(pvcs.drop_binding_annotations, "PersistentVolumeClaim"),
    _rule(pvcs.drop_volume_attributes, "PersistentVolumeClaim"),
    _rule(pvcs.map_claim_templates, "StatefulSet"),
    _rule(jobs.drop_generated_job_selector, "Job"),
    _rule(jobs.suspend_jobs, "Job"),
)
"""Every transformation rule, in application order."""

VERBATIM_NOTES = (
    "Ingresses, ConfigMaps, Secrets, ServiceAccounts, Roles, NetworkPolicies, HorizontalPodAutoscalers, "
    "PodDisruptionBudgets and custom resources have no rule of their own: after the metadata and namespace "
    "rules they are copied verbatim (Ingress annotations such as `kubernetes.io/ingress.class`, TLS, class "
    "and backends included). No kind other than the workloads above gets any label or annotation from "
    "dr-syncer: a DR ConfigMap, Secret, Service, Ingress or PVC carries exactly the source's labels and "
    "annotations, minus the ones the rules above name."
)
