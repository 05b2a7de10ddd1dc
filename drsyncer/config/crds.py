"""The CustomResourceDefinitions of our three kinds, generated from the config models.

Controller-cluster mode stores RemoteClusters, ClusterMappings and NamespaceMappings as CRs. Their CRDs
(``deployments/kubernetes/crds/*.yaml``) are generated here from the same pydantic models the loader
uses, so the schema cannot drift from what we accept; names, short names and printer columns are
DR-Syncer's. Regenerate with ``python -m drsyncer.config.crds`` (a unit test checks the files are current).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from drsyncer.config.base import GROUP, VERSION
from drsyncer.config.cluster_mapping import ClusterMapping
from drsyncer.config.namespace_mapping import NamespaceMapping
from drsyncer.config.remote_cluster import RemoteCluster

CRD_DIR = Path(__file__).resolve().parents[2] / "deployments" / "kubernetes" / "crds"

_NAMES: dict[str, dict[str, Any]] = {
    "RemoteCluster": {"plural": "remoteclusters", "singular": "remotecluster", "shortNames": ["rc"]},
    "ClusterMapping": {"plural": "clustermappings", "singular": "clustermapping", "shortNames": ["cm"]},
    "NamespaceMapping": {"plural": "namespacemappings", "singular": "namespacemapping"},
}

_AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
_COLUMNS: dict[str, list[dict[str, Any]]] = {
    "RemoteCluster": [
        {"name": "Health", "type": "string", "jsonPath": ".status.health"},
        {"name": "Last Sync", "type": "date", "jsonPath": ".status.lastSyncTime"},
        {"name": "PVC Sync", "type": "string", "jsonPath": ".status.pvcSync.phase"},
        {"name": "Ready Agents", "type": "string", "jsonPath": ".status.pvcSync.agentStatus.readyNodes"},
        _AGE,
    ],
    "ClusterMapping": [
        {"name": "Source Cluster", "type": "string", "jsonPath": ".spec.sourceCluster"},
        {"name": "Target Cluster", "type": "string", "jsonPath": ".spec.targetCluster"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {
            "name": "Connected Agents",
            "type": "string",
            "jsonPath": ".status.connectionStatus.connectedAgents",
        },
        {"name": "Last Verified", "type": "date", "jsonPath": ".status.lastVerified"},
        _AGE,
    ],
    "NamespaceMapping": [
        {"name": "Selection Mode", "type": "string", "jsonPath": ".spec.namespaceSelector", "priority": 1},
        {"name": "Source", "type": "string", "jsonPath": ".spec.sourceNamespace"},
        {"name": "Destination", "type": "string", "jsonPath": ".spec.destinationNamespace"},
        {"name": "Cluster Mapping", "type": "string", "jsonPath": ".spec.clusterMappingRef.name"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Last Sync", "type": "string", "jsonPath": ".status.lastSyncTime"},
        {"name": "Next Sync", "type": "string", "jsonPath": ".status.nextSyncTime"},
    ],
}

MODELS: dict[str, type[BaseModel]] = {
    "RemoteCluster": RemoteCluster,
    "ClusterMapping": ClusterMapping,
    "NamespaceMapping": NamespaceMapping,
}

_KEPT = ("type", "description", "default", "enum", "minimum", "maximum", "pattern", "minLength")


def crd_manifest(kind: str) -> dict[str, Any]:
    """The CustomResourceDefinition of ``kind`` as a dict (apiextensions.k8s.io/v1)."""
    model = MODELS[kind]
    full = model.model_json_schema(by_alias=True, mode="validation")
    definitions = full.get("$defs", {})
    spec = _structural(full["properties"]["spec"], definitions)
    names = {"kind": kind, "listKind": f"{kind}List", **_NAMES[kind]}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{names['plural']}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": names,
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": _COLUMNS[kind],
                    "schema": {
                        "openAPIV3Schema": {
                            "description": (model.__doc__ or kind).strip(),
                            "type": "object",
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec,
                                "status": {
                                    "description": "Written by dr-syncer.",
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                },
                            },
                            "required": ["spec"],
                        }
                    },
                }
            ],
        },
    }


def _structural(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """Turn a pydantic JSON schema node into a Kubernetes structural schema node (no $ref, no anyOf)."""
    description = schema.get("description")
    default = schema.get("default")
    if "$ref" in schema:
        schema = {**definitions[schema["$ref"].rsplit("/", 1)[-1]], **_without(schema, "$ref")}
    if "anyOf" in schema:
        options = [option for option in schema["anyOf"] if option.get("type") != "null"]
        types = {option.get("type") for option in options}
        if types == {"string", "integer"}:
            node: dict[str, Any] = {"x-kubernetes-int-or-string": True}
        elif len(options) == 1:
            node = _structural(options[0], definitions)
        else:
            node = {"x-kubernetes-preserve-unknown-fields": True}
    else:
        node = {key: schema[key] for key in _KEPT if key in schema}
        if schema.get("type") == "object" or "properties" in schema:
            node["type"] = "object"
            if "properties" in schema:
                node["properties"] = {
                    name: _structural(child, definitions) for name, child in schema["properties"].items()
                }
            if schema.get("required"):
                node["required"] = list(schema["required"])
            additional = schema.get("additionalProperties")
            if isinstance(additional, dict):
                node["additionalProperties"] = _structural(additional, definitions)
        elif schema.get("type") == "array":
            node["items"] = _structural(schema.get("items", {}), definitions)
        elif "type" not in schema and "enum" not in schema:
            node["x-kubernetes-preserve-unknown-fields"] = True
        if "enum" in schema and "type" not in node:
            node["type"] = "string"
    if description:
        node["description"] = description
    if default is not None and default not in ([], {}):
        node["default"] = default
    elif "default" in node and node["default"] in (None, [], {}):
        del node["default"]
    return node


def _without(schema: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k != key}


def render(kind: str) -> str:
    """The CRD of ``kind`` as YAML text, as stored in the repository."""
    header = "# Generated by `python -m drsyncer.config.crds` from drsyncer/config; do not edit.\n"
    return header + yaml.dump(crd_manifest(kind), Dumper=_NoAliasDumper, sort_keys=False, width=110)


class _NoAliasDumper(yaml.SafeDumper):
    """Writes repeated values (e.g. enums) in full instead of YAML anchors, as kubectl users expect."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_all(directory: Path = CRD_DIR) -> list[Path]:
    """Write the three CRD files into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, names in _NAMES.items():
        path = directory / f"{names['plural']}.yaml"
        path.write_text(render(kind), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    for written_path in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else CRD_DIR):
        sys.stdout.write(f"wrote {written_path}\n")
