"""Kubernetes objects as plain data.

Every stage of the pipeline (discover -> filter -> transform -> plan -> apply) passes objects as the
JSON dictionaries the API server speaks. ``KubeObject`` names that type so signatures say what they mean.
"""

from __future__ import annotations

from typing import Any

KubeObject = dict[str, Any]
"""One Kubernetes object as returned by the API (``apiVersion``, ``kind``, ``metadata``, ...)."""


def object_name(obj: KubeObject) -> str:
    """Return ``metadata.name`` ('' when absent)."""
    return str(obj.get("metadata", {}).get("name", ""))


def object_namespace(obj: KubeObject) -> str:
    """Return ``metadata.namespace`` ('' for cluster-scoped objects)."""
    return str(obj.get("metadata", {}).get("namespace", "") or "")


def object_ref(obj: KubeObject) -> str:
    """Return ``Kind/name`` for messages."""
    return f"{obj.get('kind', '?')}/{object_name(obj)}"
