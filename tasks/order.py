"""Apply order: which kinds go to the DR cluster first (design §4.4).

Dependencies first, so a Pod never starts before its ServiceAccount, ConfigMaps, Secrets and claims exist:
Namespace, CRDs, ServiceAccounts, RBAC, ConfigMaps, Secrets, PVCs, Services, workloads, Ingresses,
NetworkPolicies, HPAs, PDBs, then every other kind (custom resources) by name. Pruning walks the same
order backwards. The planner sorts its entries with ``apply_rank``; apply follows the plan.
"""

from __future__ import annotations

KIND_ORDER: tuple[str, ...] = (
    "Namespace",
    "CustomResourceDefinition",
    "ServiceAccount",
    "ClusterRole",
    "Role",
    "ClusterRoleBinding",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Service",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "CronJob",
    "Job",
    "Ingress",
    "NetworkPolicy",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
)
_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}


def apply_rank(kind: str) -> int:
    """Return the position of ``kind`` in the apply order; unknown kinds come last."""
    return _RANK.get(kind, len(KIND_ORDER))


def apply_sort_key(kind: str, name: str) -> tuple[int, str, str]:
    """Sort key for applying: kind rank, then kind (for the kinds ranked last), then name."""
    return (apply_rank(kind), kind, name)


def prune_sort_key(kind: str, name: str) -> tuple[int, str, str]:
    """Sort key for pruning: the apply order reversed by kind (names stay ascending)."""
    return (-apply_rank(kind), _reverse(kind), name)


def _reverse(text: str) -> str:
    """A key that sorts strings in descending order (for the kinds sharing the last rank)."""
    return "".join(chr(0x10FFFF - ord(char)) for char in text)
