"""Where a flow finds its mapping: configuration files, or the CRs of a controller cluster.

Flow parameters carry only this reference (paths, or the controller's kubeconfig path and context), so
deployments never hold secrets; the mapping is loaded afresh at the start of every run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drsyncer.config.effective import EffectiveMapping
from drsyncer.config.loader import load_config
from drsyncer.controller import StatusWriter, find_mapping, load_controller_config
from drsyncer.errors import UsageError
from drsyncer.kube.client import KubeClient
from drsyncer.report import SyncReport


@dataclass(frozen=True)
class MappingSource:
    """Configuration paths (file mode) or a controller cluster (``{"kubeconfig", "context"}``)."""

    config: tuple[str, ...] = ()
    controller: dict[str, Any] | None = None


@dataclass
class ResolvedMapping:
    """A loaded mapping, the controller client (controller mode) and how to write its status back."""

    mapping: EffectiveMapping
    controller: KubeClient | None = None
    status_writer: Callable[[SyncReport], None] | None = None
    on_start: Callable[[], None] | None = None
    status: StatusWriter | None = None
    """The NamespaceMapping's status writer (controller mode)."""


def resolve_mapping(source: MappingSource, name: str) -> ResolvedMapping:
    """Load the mapping called ``name`` from ``source``."""
    if source.controller:
        client, config = load_controller_config(source.controller)
        mapping = find_mapping(config, name)
        writer = StatusWriter(client, mapping)
        return ResolvedMapping(
            mapping=mapping,
            controller=client,
            status_writer=writer.write_report,
            on_start=writer.mark_running,
            status=writer,
        )
    if not source.config:
        raise UsageError("no configuration given", fix="pass CONFIG paths, or --from-cluster --kubeconfig K")
    config = load_config([Path(path) for path in source.config])
    return ResolvedMapping(mapping=config.mapping(name))
