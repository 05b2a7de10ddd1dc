"""Fixtures for the resource-sync behaviour tests: two sandbox clusters, a mapping, and the engine.

``sync_world`` gives a test a fresh, uniquely named source namespace on the session's ``source``
cluster, a configuration directory whose RemoteClusters point at the session's ``source`` and ``dr``
sandbox clusters, and three verbs:

- ``world.configure(**spec)`` writes the NamespaceMapping (extra ``spec`` fields in camelCase) and returns
  its :class:`EffectiveMapping`;
- ``world.plan()`` runs ``open_session → plan_session`` (what ``drsyncer plan`` does);
- ``world.sync()`` runs the flow's own orchestration without Prefect — ``prepare_kinds`` (CRDs),
  ``plan_session`` (discover and plan, as ``drsyncer plan``) and the flow's ``apply_plan`` with the plain
  per-kind applier in place of its ``apply`` task — and returns a :class:`SyncReport`.

A handful of tests run the real flow instead (``namespace_sync`` against the session's Prefect server).
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from drsyncer.config.effective import EffectiveMapping
from drsyncer.config.loader import load_config
from drsyncer.objects import KubeObject
from drsyncer.report import ObjectOutcome, SyncReport
from drsyncer.sandbox import FakeCluster
from drsyncer.sandbox.api import WriteOptions
from flows.namespace_sync import apply_plan
from tasks.apply.applier import ApplyContext, apply_entries
from tasks.plan.planner import PlanEntry
from tasks.prepare import PreparedPlan
from tasks.session import SyncSession, open_session, plan_session, prepare_kinds

MAPPING = "app-dr"
API = "dr-syncer.io/v1alpha1"


def unique_namespace(prefix: str = "t") -> str:
    """A namespace name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def in_namespace(obj: KubeObject, namespace: str) -> KubeObject:
    """A copy of a factory object placed in ``namespace``, without server-only fields."""
    placed = copy.deepcopy(obj)
    placed["metadata"]["namespace"] = namespace
    placed.pop("status", None)
    return placed


def poll(check: Callable[[], bool], *, timeout: float = 5.0, interval: float = 0.02) -> None:
    """Wait (with a deadline) until ``check()`` is true."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@dataclass
class SyncWorld:
    """One test's clusters, namespaces, configuration and engine entry points."""

    source: FakeCluster
    dr: FakeCluster
    config_dir: Path
    source_kubeconfig: Path
    dr_kubeconfig: Path
    namespace: str
    destination_namespace: str
    spec: dict[str, Any] = field(default_factory=dict)

    # --- setup ---------------------------------------------------------------------------------

    def create_namespace(
        self, *, labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None
    ) -> None:
        """Create the source namespace."""
        metadata: dict[str, Any] = {"name": self.namespace}
        if labels:
            metadata["labels"] = labels
        if annotations:
            metadata["annotations"] = annotations
        self.source.create({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})

    def seed(self, *objects: KubeObject) -> list[KubeObject]:
        """Create factory objects in the source namespace; returns what the server stored."""
        return [self.source.create(in_namespace(obj, self.namespace)) for obj in objects]

    def replace_source(self, obj: KubeObject) -> KubeObject:
        """Replace a source object as a user would (``kubectl replace``), through the server pipeline."""
        resource = self.source.registry.by_kind(obj["apiVersion"], obj["kind"])
        assert resource is not None
        return self.source.api.replace(
            resource, self.namespace, obj["metadata"]["name"], obj, WriteOptions(manager="kubectl-replace")
        )

    def documents(self, **spec: Any) -> list[KubeObject]:
        """The configuration documents: the two RemoteClusters and the NamespaceMapping."""
        mapping_spec: dict[str, Any] = {
            "sourceCluster": "source",
            "destinationCluster": "dr",
            "sourceNamespace": self.namespace,
            "destinationNamespace": self.destination_namespace,
            "replicationMode": "Manual",
        }
        mapping_spec.update(spec)
        return [
            _document(
                "RemoteCluster",
                "source",
                {"kubeconfig": {"path": str(self.source_kubeconfig), "context": "source"}},
            ),
            _document(
                "RemoteCluster", "dr", {"kubeconfig": {"path": str(self.dr_kubeconfig), "context": "dr"}}
            ),
            _document("NamespaceMapping", MAPPING, mapping_spec),
        ]

    def configure(self, **spec: Any) -> EffectiveMapping:
        """Write the configuration with the NamespaceMapping's extra ``spec`` fields; return the mapping."""
        self.spec = spec
        self.config_path.write_text(yaml.safe_dump_all(self.documents(**spec), sort_keys=False))
        return self.mapping()

    @property
    def config_path(self) -> Path:
        """The configuration file."""
        return self.config_dir / "config.yaml"

    def mapping(self) -> EffectiveMapping:
        """The effective mapping of the current configuration (written on first use)."""
        if not self.config_path.exists():
            self.configure()
        return load_config([self.config_path]).mapping(MAPPING)

    # --- the engine, without Prefect -----------------------------------------------------------

    def open(self) -> SyncSession:
        """A session for the current mapping."""
        return open_session(self.mapping())

    def plan(self) -> PreparedPlan:
        """``drsyncer plan``: discover and plan."""
        session = self.open()
        try:
            return plan_session(session)
        finally:
            session.close()

    def sync(self) -> SyncReport:
        """One sync through the plain engine: the flow's stages without Prefect."""
        mapping = self.mapping()
        report = SyncReport.for_mapping(mapping, started_at="")
        session = open_session(mapping)
        try:
            kind_outcomes = [*prepare_kinds(session), *session.kind_outcomes]
            report.objects = kind_outcomes + apply_plan(session, plan_session(session), apply=apply_one_kind)
        finally:
            session.close()
        return report

    # --- reading the DR cluster ----------------------------------------------------------------

    def dr_get(self, api_version: str, kind: str, name: str) -> KubeObject | None:
        """One object in the DR namespace, straight from the DR store."""
        return self.dr.get(api_version, kind, name, self.destination_namespace)

    def dr_object(self, api_version: str, kind: str, name: str) -> KubeObject:
        """One object in the DR namespace that must exist."""
        found = self.dr_get(api_version, kind, name)
        assert found is not None, f"{kind}/{name} not in DR namespace {self.destination_namespace}"
        return found

    def source_object(self, api_version: str, kind: str, name: str) -> KubeObject:
        """One object in the source namespace that must exist."""
        found = self.source.get(api_version, kind, name, self.namespace)
        assert found is not None
        return found


def apply_one_kind(context: ApplyContext, kind: str, entries: list[PlanEntry]) -> list[ObjectOutcome]:
    """What the flow's ``apply`` task does for one kind, without Prefect (its logging left out)."""
    return apply_entries(context, entries)


def outcome_of(report: SyncReport, kind: str, name: str) -> ObjectOutcome:
    """The report's outcome for one object."""
    for outcome in report.objects:
        if outcome.kind == kind and outcome.name == name:
            return outcome
    raise AssertionError(f"{kind}/{name} not in the report: {[(o.kind, o.name) for o in report.objects]}")


def _document(kind: str, name: str, spec: dict[str, Any]) -> KubeObject:
    return {"apiVersion": API, "kind": kind, "metadata": {"name": name}, "spec": spec}


@pytest.fixture
def sync_world(
    source_cluster: FakeCluster,
    dr_cluster: FakeCluster,
    source_kubeconfig: Path,
    dr_kubeconfig: Path,
    tmp_path: Path,
) -> SyncWorld:
    """A fresh source namespace (created, empty) and a mapping to the same name in DR."""
    namespace = unique_namespace()
    world = SyncWorld(
        source=source_cluster,
        dr=dr_cluster,
        config_dir=tmp_path,
        source_kubeconfig=source_kubeconfig,
        dr_kubeconfig=dr_kubeconfig,
        namespace=namespace,
        destination_namespace=namespace,
    )
    world.create_namespace()
    source_cluster.audit.clear()
    return world
