"""The shipped CRDs match DR-Syncer's names and columns and cover every field our models accept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from drsyncer.config.crds import CRD_DIR, MODELS, render
from drsyncer.config.problems import strip_optional  # the same unwrapping the error messages use

FILES = {
    "RemoteCluster": "remoteclusters",
    "ClusterMapping": "clustermappings",
    "NamespaceMapping": "namespacemappings",
}


def crd(kind: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((CRD_DIR / f"{FILES[kind]}.yaml").read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize("kind", list(FILES))
def test_crd_files_are_current(kind: str) -> None:
    assert (CRD_DIR / f"{FILES[kind]}.yaml").read_text(encoding="utf-8") == render(kind), (
        "regenerate with: python -m drsyncer.config.crds"
    )


@pytest.mark.parametrize(
    ("kind", "short_names"),
    [("RemoteCluster", ["rc"]), ("ClusterMapping", ["cm"]), ("NamespaceMapping", None)],
)
def test_names_scope_and_status_subresource_are_dr_syncers(kind: str, short_names: list[str] | None) -> None:
    spec = crd(kind)["spec"]

    assert crd(kind)["metadata"]["name"] == f"{FILES[kind]}.dr-syncer.io"
    assert spec["group"] == "dr-syncer.io"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["plural"] == FILES[kind]
    assert spec["names"]["singular"] == FILES[kind][:-1]
    assert spec["names"].get("shortNames") == short_names
    (version,) = spec["versions"]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}


def test_printer_columns_are_dr_syncers() -> None:
    def columns(kind: str) -> list[str]:
        return [c["name"] for c in crd(kind)["spec"]["versions"][0]["additionalPrinterColumns"]]

    assert columns("RemoteCluster") == ["Health", "Last Sync", "PVC Sync", "Ready Agents", "Age"]
    assert columns("ClusterMapping") == [
        "Source Cluster",
        "Target Cluster",
        "Phase",
        "Connected Agents",
        "Last Verified",
        "Age",
    ]
    namespace_columns = columns("NamespaceMapping")
    assert namespace_columns == [
        "Selection Mode",
        "Source",
        "Destination",
        "Cluster Mapping",
        "Phase",
        "Last Sync",
        "Next Sync",
    ]
    assert "SOURCE" in [c.upper() for c in namespace_columns]
    assert "PHASE" in [c.upper() for c in namespace_columns]


def model_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    paths = set()
    for name, info in model.model_fields.items():
        path = f"{prefix}.{info.alias or name}" if prefix else (info.alias or name)
        paths.add(path)
        annotation = strip_optional(info.annotation)
        args = getattr(annotation, "__args__", ())
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths |= model_paths(annotation, path)
        elif args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            paths |= model_paths(args[0], f"{path}[]")
    return paths


def schema_paths(schema: dict[str, Any], prefix: str = "") -> set[str]:
    paths = set()
    for name, child in schema.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        paths.add(path)
        paths |= schema_paths(child, path)
        if "items" in child:
            paths |= schema_paths(child["items"], f"{path}[]")
    return paths


@pytest.mark.parametrize("kind", list(FILES))
def test_every_spec_field_of_the_model_is_in_the_crd_schema(kind: str) -> None:
    spec_model = MODELS[kind].model_fields["spec"].annotation
    assert isinstance(spec_model, type)
    assert issubclass(spec_model, BaseModel)
    schema = crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]

    missing = model_paths(spec_model) - schema_paths(schema)

    assert not missing


def test_our_additions_are_in_the_schema_with_defaults() -> None:
    spec = crd("NamespaceMapping")["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"][
        "properties"
    ]

    assert spec["prune"]["default"] is False
    assert spec["pvcConfig"]["properties"]["prunePVCs"]["default"] is False
    assert spec["labelSelector"]["properties"]["matchExpressions"]["items"]["properties"]["operator"][
        "enum"
    ] == [
        "In",
        "NotIn",
        "Exists",
        "DoesNotExist",
    ]
    assert spec["replicationMode"]["enum"] == ["Scheduled", "Manual", "Continuous"]
    assert spec["retryConfig"]["properties"]["initialBackoff"]["default"] == "5s"
    cluster = crd("RemoteCluster")["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"][
        "properties"
    ]
    assert set(cluster["kubeconfig"]["properties"]) == {"path", "context"}
    assert cluster["inCluster"]["default"] is False
    assert cluster["pvcSync"]["properties"]["ssh"]["properties"]["port"]["default"] == 2222


def test_status_is_preserved_unvalidated() -> None:
    status = crd("NamespaceMapping")["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"][
        "status"
    ]

    assert status["x-kubernetes-preserve-unknown-fields"] is True


def test_crd_schemas_are_structural() -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            assert not {"$ref", "anyOf", "title"} & set(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for kind in FILES:
        walk(crd(kind))


def test_generated_yaml_has_no_anchors() -> None:
    assert all(
        "&id" not in (Path(CRD_DIR) / f"{name}.yaml").read_text(encoding="utf-8") for name in FILES.values()
    )
