"""Loading a configuration: documents → validated objects → resolved references → effective mappings.

The entry point of the config layer. :func:`load_config` reads files and directories (file mode);
:func:`load_documents` takes already-parsed documents (controller-cluster mode reads the CRs and calls
it). Both validate every document, check names are unique per kind and namespace, resolve
NamespaceMapping → ClusterMapping → RemoteCluster references *within the same namespace* (as DR-Syncer),
and build one :class:`EffectiveMapping` per NamespaceMapping. All problems are collected and raised
together as one :class:`~drsyncer.errors.ConfigError`; nothing is contacted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from drsyncer.config.base import API_VERSION, DEFAULT_CONFIG_NAMESPACE, DEFAULT_SCHEDULE
from drsyncer.config.cluster_mapping import ClusterMapping
from drsyncer.config.effective import ClusterRef, Config, EffectiveMapping
from drsyncer.config.namespace_mapping import NamespaceMapping, ReplicationMode
from drsyncer.config.problems import describe_error
from drsyncer.config.reading import read_config_files
from drsyncer.config.remote_cluster import RemoteCluster
from drsyncer.config.resource_types import CRD_NAMES, normalise_resource_types, resolve_resource_type
from drsyncer.config.sources import SourcedDocument, SourceRef
from drsyncer.errors import ConfigError

KINDS: dict[str, type[BaseModel]] = {
    "RemoteCluster": RemoteCluster,
    "ClusterMapping": ClusterMapping,
    "NamespaceMapping": NamespaceMapping,
}
"""The configuration kinds, by ``kind`` (all ``apiVersion: dr-syncer.io/v1alpha1``)."""


def load_config(paths: Sequence[Path]) -> Config:
    """Load and resolve the configuration in ``paths`` (files or directories, searched recursively).

    Raises:
        ConfigError: with every problem found (missing paths, YAML errors, invalid fields, references).
    """
    read = read_config_files(paths)
    documents = [document for document in read.documents if document.body is not None]
    if not documents and not read.problems:
        shown = ", ".join(str(path) for path in paths) or "(no paths)"
        read.problems.append(
            f"{shown}: no configuration documents found; expected YAML documents with apiVersion: "
            f"{API_VERSION} and kind RemoteCluster, ClusterMapping or NamespaceMapping"
        )
    return load_documents(read.documents, problems=read.problems, sources=[str(file) for file in read.files])


def load_documents(
    documents: Sequence[SourcedDocument],
    *,
    problems: Sequence[str] = (),
    sources: Sequence[str] | None = None,
) -> Config:
    """Validate and resolve already-parsed ``documents`` (dicts, each with its source).

    ``problems`` are earlier problems (e.g. YAML errors) to report together with ours. Empty documents
    are skipped; ``kind: List`` documents (``kubectl get -o yaml``) are expanded into their items.

    Raises:
        ConfigError: with every problem found.
    """
    builder = _Builder(problems=list(problems))
    for document in documents:
        builder.add(document)
    builder.check_duplicates()
    mappings = builder.resolve()
    labels = sources if sources is not None else list(dict.fromkeys(d.source.label for d in documents))
    if builder.problems:
        raise ConfigError(_in_source_order(builder.problems, [d.source.label for d in documents]))
    return Config(
        remote_clusters=tuple(builder.clusters),
        cluster_mappings=tuple(builder.cluster_mappings),
        namespace_mappings=tuple(builder.namespace_mappings),
        mappings=tuple(mappings),
        warnings=tuple(builder.warnings),
        sources=tuple(labels),
    )


_Document = TypeVar("_Document", RemoteCluster, ClusterMapping, NamespaceMapping)


@dataclass
class _Builder:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    clusters: list[tuple[RemoteCluster, SourceRef]] = field(default_factory=list)
    cluster_mappings: list[tuple[ClusterMapping, SourceRef]] = field(default_factory=list)
    namespace_mappings: list[tuple[NamespaceMapping, SourceRef]] = field(default_factory=list)
    failed: set[tuple[str, str, str]] = field(default_factory=set)
    """(kind, namespace, name) of documents that failed validation: not reported again as dangling."""

    # --- documents -------------------------------------------------------------------------------

    def add(self, document: SourcedDocument) -> None:
        body, source = document.body, document.source
        if body is None:
            return
        if not isinstance(body, dict):
            self.problems.append(
                f"{source.describe()}: got {type(body).__name__}; expected a mapping with apiVersion, kind, "
                "metadata and spec"
            )
            return
        if body.get("kind") == "List" and isinstance(body.get("items"), list):
            for position, item in enumerate(body["items"], start=1):
                self.add(
                    SourcedDocument(
                        body=item,
                        source=SourceRef(source.label, source.index, base_dir=source.base_dir, item=position),
                    )
                )
            return
        kind, api_version = body.get("kind"), body.get("apiVersion")
        name = _raw_name(body)
        model = KINDS.get(kind) if isinstance(kind, str) else None
        if model is None or api_version != API_VERSION:
            self.problems.append(_wrong_kind(source, api_version, kind, name))
            return
        context = {"base_dir": source.base_dir}
        try:
            validated = model.model_validate(body, context=context)
        except ValidationError as error:
            namespace = _raw_namespace(body)
            self.failed.add((str(kind), namespace, name))
            for detail in error.errors():
                self.problems.append(f"{source.describe(str(kind), name)}: {describe_error(detail, model)}")
            return
        if isinstance(validated, RemoteCluster):
            self.clusters.append((validated, source))
        elif isinstance(validated, ClusterMapping):
            self.cluster_mappings.append((validated, source))
        elif isinstance(validated, NamespaceMapping):
            self.namespace_mappings.append((validated, source))

    def check_duplicates(self) -> None:
        self.clusters = self._unique("RemoteCluster", self.clusters)
        self.cluster_mappings = self._unique("ClusterMapping", self.cluster_mappings)
        self.namespace_mappings = self._unique("NamespaceMapping", self.namespace_mappings)

    def _unique(
        self, kind: str, items: list[tuple[_Document, SourceRef]]
    ) -> list[tuple[_Document, SourceRef]]:
        seen: dict[tuple[str, str], SourceRef] = {}
        unique = []
        for obj, source in items:
            key = (obj.metadata.namespace, obj.metadata.name)
            if key in seen:
                self.problems.append(
                    f"{source.describe(kind, obj.metadata.name)}: metadata.name: duplicate {kind} "
                    f"{key[0]}/{key[1]}, already defined in {seen[key].describe()}; "
                    "expected names unique per kind and namespace"
                )
                continue
            seen[key] = source
            unique.append((obj, source))
        return unique

    # --- references ------------------------------------------------------------------------------

    def resolve(self) -> list[EffectiveMapping]:
        clusters = {(c.metadata.namespace, c.metadata.name): (c, s) for c, s in self.clusters}
        cluster_mappings = {(m.metadata.namespace, m.metadata.name): (m, s) for m, s in self.cluster_mappings}
        for cm, source in self.cluster_mappings:
            namespace = cm.metadata.namespace
            for field_name, cluster_name in (
                ("sourceCluster", cm.spec.source_cluster),
                ("targetCluster", cm.spec.target_cluster),
            ):
                if (namespace, cluster_name) not in clusters:
                    self._dangling(
                        source.describe("ClusterMapping", cm.metadata.name),
                        path=f"spec.{field_name}",
                        kind="RemoteCluster",
                        namespace=namespace,
                        name=cluster_name,
                        known=[name for ns, name in clusters if ns == namespace],
                        elsewhere=[ns for ns, name in clusters if name == cluster_name],
                    )
        mappings = []
        for nm, source in self.namespace_mappings:
            mapping = self._resolve_mapping(nm, source, clusters, cluster_mappings)
            if mapping is not None:
                mappings.append(mapping)
        return mappings

    def _resolve_mapping(
        self,
        nm: NamespaceMapping,
        source: SourceRef,
        clusters: dict[tuple[str, str], tuple[RemoteCluster, SourceRef]],
        cluster_mappings: dict[tuple[str, str], tuple[ClusterMapping, SourceRef]],
    ) -> EffectiveMapping | None:
        spec, namespace, name = nm.spec, nm.metadata.namespace, nm.metadata.name
        where = source.describe("NamespaceMapping", name)
        paused = spec.paused
        cluster_mapping_key: str | None = None
        if spec.cluster_mapping_ref is not None:
            cm_namespace = spec.cluster_mapping_ref.namespace or namespace
            cm_name = spec.cluster_mapping_ref.name
            found = cluster_mappings.get((cm_namespace, cm_name))
            if found is None:
                self._dangling(
                    where,
                    path="spec.clusterMappingRef.name",
                    kind="ClusterMapping",
                    namespace=cm_namespace,
                    name=cm_name,
                    known=[n for ns, n in cluster_mappings if ns == cm_namespace],
                    elsewhere=[ns for ns, n in cluster_mappings if n == cm_name],
                )
                return None
            cm, _ = found
            cluster_mapping_key = f"{cm_namespace}/{cm_name}"
            paused = paused or cm.spec.paused
            clusters_namespace = cm_namespace
            source_name, destination_name = cm.spec.source_cluster, cm.spec.target_cluster
            for field_name, given, used in (
                ("sourceCluster", spec.source_cluster, source_name),
                ("destinationCluster", spec.destination_cluster, destination_name),
            ):
                if given is not None and given != used:
                    self.warnings.append(
                        f"{where}: spec.{field_name}: {given!r} is overridden by ClusterMapping "
                        f"{cluster_mapping_key} ({used!r}), as in DR-Syncer"
                    )
            source_ref = clusters.get((clusters_namespace, source_name))
            destination_ref = clusters.get((clusters_namespace, destination_name))
            if source_ref is None or destination_ref is None:
                return None  # reported on the ClusterMapping
        else:
            clusters_namespace = namespace
            source_name = spec.source_cluster or ""
            destination_name = spec.destination_cluster or ""
            source_ref = clusters.get((namespace, source_name))
            destination_ref = clusters.get((namespace, destination_name))
            for field_name, cluster_name, ref in (
                ("sourceCluster", source_name, source_ref),
                ("destinationCluster", destination_name, destination_ref),
            ):
                if ref is None:
                    self._dangling(
                        where,
                        path=f"spec.{field_name}",
                        kind="RemoteCluster",
                        namespace=namespace,
                        name=cluster_name,
                        known=[n for ns, n in clusters if ns == namespace],
                        elsewhere=[ns for ns, n in clusters if n == cluster_name],
                    )
            if source_ref is None or destination_ref is None:
                return None
        source_cluster = ClusterRef(source_name, clusters_namespace, source_ref[0], source_ref[1])
        destination_cluster = ClusterRef(
            destination_name, clusters_namespace, destination_ref[0], destination_ref[1]
        )
        source_namespace = spec.source_namespace
        destination_namespace = spec.destination_namespace or source_namespace
        if _same_cluster(source_cluster, destination_cluster) and source_namespace == destination_namespace:
            self.problems.append(
                f"{where}: spec.destinationNamespace: source and destination are the same namespace "
                f"{source_namespace!r} of the same cluster "
                f"({source_cluster.name} → {destination_cluster.name}); "
                "expected a different destinationNamespace or a different destination cluster"
            )
            return None
        resource_types, ok = self._resource_types(nm, where)
        all_custom = False
        extra: list[str] = []
        for index, entry in enumerate(spec.namespace_scoped_resources):
            if entry.strip() == "*":
                all_custom = True
                continue
            try:
                extra.append(resolve_resource_type(entry))
            except ValueError as error:
                self.problems.append(f"{where}: spec.namespaceScopedResources[{index}]: {error}")
                ok = False
        if not ok:
            return None
        mode = spec.replication_mode
        schedule: str | None = spec.schedule or DEFAULT_SCHEDULE
        if mode is ReplicationMode.Manual:
            if spec.schedule is not None:
                self.warnings.append(f"{where}: spec.schedule is ignored in Manual mode")
            schedule = None
        if spec.pvc_config.sync_data:
            for cluster_ref in (source_cluster, destination_cluster):
                if not cluster_ref.spec.data_sync_enabled:
                    self.warnings.append(
                        f"{where}: spec.pvcConfig.syncData is true but RemoteCluster {cluster_ref.key} "
                        "does not have pvcSync.enabled: true; PVC data cannot be copied until its agent "
                        "is enabled"
                    )
            if not spec.pvc_config.restore_points.volume_snapshot_class_name:
                self.warnings.append(
                    f"{where}: spec.pvcConfig.syncData is true without restore points: a sync mirrors "
                    "whatever the source holds over the only DR copy; set "
                    "spec.pvcConfig.restorePoints.volumeSnapshotClassName to keep points in time"
                )
        return EffectiveMapping(
            name=name,
            namespace=namespace,
            source=source_cluster,
            destination=destination_cluster,
            source_namespace=source_namespace,
            destination_namespace=destination_namespace,
            mode=mode,
            schedule=schedule,
            paused=paused,
            resource_types=tuple(dict.fromkeys((*resource_types, *extra))),
            all_custom_resources=all_custom,
            spec=spec,
            source_ref=source,
            cluster_mapping=cluster_mapping_key,
            annotations=dict(nm.metadata.annotations),
        )

    def _resource_types(self, nm: NamespaceMapping, where: str) -> tuple[tuple[str, ...], bool]:
        names, problems = normalise_resource_types(nm.spec.resource_types)
        for problem in problems:
            self.problems.append(f"{where}: spec.resourceTypes{problem}")
        if any(entry.strip().lower() in CRD_NAMES for entry in nm.spec.resource_types):
            self.warnings.append(
                f"{where}: spec.resourceTypes lists CRDs, which are copied only with syncCRDs: true; "
                "entry ignored"
            )
        return names, not problems

    def _dangling(
        self,
        where: str,
        *,
        path: str,
        kind: str,
        namespace: str,
        name: str,
        known: list[str],
        elsewhere: list[str],
    ) -> None:
        if (kind, namespace, name) in self.failed:
            return  # that document's own problems are reported already
        known_text = (
            f"expected one of the {kind}s in namespace {namespace}: {', '.join(sorted(known))}"
            if known
            else f"expected the name of a {kind} in namespace {namespace} (there is none)"
        )
        hint = (
            f" ({kind} {name!r} exists in namespace {', '.join(sorted(elsewhere))}; references resolve "
            "within the same namespace)"
            if elsewhere
            else ""
        )
        self.problems.append(f"{where}: {path}: {kind} {namespace}/{name} not found; {known_text}{hint}")


_POSITION = re.compile(r"^(?P<label>.*?): document (?P<index>\d+)(?:, item (?P<item>\d+))?[:( ]")


def _in_source_order(problems: list[str], labels: Sequence[str]) -> list[str]:
    """``problems`` sorted by source, document and item (stable; unplaced problems first)."""
    rank = {label: position for position, label in enumerate(dict.fromkeys(labels))}

    def key(problem: str) -> tuple[int, int, int]:
        match = _POSITION.match(problem)
        if match is None or match["label"] not in rank:
            return (-1, 0, 0)
        return (rank[match["label"]], int(match["index"]), int(match["item"] or 0))

    return sorted(problems, key=key)


def _same_cluster(a: ClusterRef, b: ClusterRef) -> bool:
    """Whether two RemoteClusters are the same cluster (same object, or the same connection)."""
    return a.key == b.key or (_connection(a) is not None and _connection(a) == _connection(b))


def _connection(ref: ClusterRef) -> tuple[Any, ...] | None:
    spec = ref.spec
    if spec.kubeconfig is not None:
        return ("file", spec.kubeconfig.path, spec.kubeconfig.context)
    if spec.in_cluster:
        return ("in-cluster",)
    if spec.kubeconfig_secret_ref is not None:
        secret = spec.kubeconfig_secret_ref
        return ("secret", secret.namespace or ref.namespace, secret.name, secret.key)
    return None


def _raw_name(body: dict[str, Any]) -> str:
    metadata = body.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else ""


def _raw_namespace(body: dict[str, Any]) -> str:
    metadata = body.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    return namespace if isinstance(namespace, str) else DEFAULT_CONFIG_NAMESPACE


def _wrong_kind(source: SourceRef, api_version: Any, kind: Any, name: str) -> str:
    where = source.describe(str(kind or ""), name) if kind or name else source.describe()
    kinds = ", ".join(KINDS)
    if isinstance(kind, str) and kind in KINDS:
        return f"{where}: apiVersion: {api_version!r} is not accepted for {kind}; expected {API_VERSION}"
    if api_version == API_VERSION:
        return f"{where}: kind: {kind!r} is not a dr-syncer kind; expected one of {kinds}"
    return (
        f"{where}: {api_version or '(no apiVersion)'} {kind or '(no kind)'} is not a dr-syncer configuration "
        f"document; expected apiVersion: {API_VERSION} with kind {kinds}"
    )
