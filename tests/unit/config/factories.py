"""Factories for configuration documents (plain dicts, as YAML gives them) and a file writer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from drsyncer.objects import KubeObject

API = "dr-syncer.io/v1alpha1"


def remote_cluster(name: str, *, namespace: str | None = None, **spec: Any) -> KubeObject:
    """A RemoteCluster reached through a kubeconfig file (context = its name) unless ``spec`` says so."""
    body = spec or {"kubeconfig": {"path": "./kubeconfig", "context": name}}
    return _document("RemoteCluster", name, namespace, body)


def cluster_mapping(
    name: str, *, source: str = "source", target: str = "dr", namespace: str | None = None, **spec: Any
) -> KubeObject:
    """A ClusterMapping from ``source`` to ``target``."""
    return _document(
        "ClusterMapping", name, namespace, {"sourceCluster": source, "targetCluster": target, **spec}
    )


def namespace_mapping(
    name: str, *, source_namespace: str = "app", namespace: str | None = None, **spec: Any
) -> KubeObject:
    """A NamespaceMapping between clusters ``source`` and ``dr`` unless ``spec`` names others."""
    body: dict[str, Any] = {"sourceNamespace": source_namespace}
    if "clusterMappingRef" not in spec:
        body |= {"sourceCluster": "source", "destinationCluster": "dr"}
    return _document("NamespaceMapping", name, namespace, body | spec)


def two_clusters() -> list[KubeObject]:
    """The RemoteClusters ``source`` and ``dr``."""
    return [remote_cluster("source"), remote_cluster("dr")]


def _document(kind: str, name: str, namespace: str | None, spec: dict[str, Any]) -> KubeObject:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": API, "kind": kind, "metadata": metadata, "spec": spec}


def write_documents(path: Path, documents: Sequence[KubeObject | None]) -> Path:
    """Write ``documents`` as one multi-document YAML file at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(list(documents), sort_keys=False), encoding="utf-8")
    return path
