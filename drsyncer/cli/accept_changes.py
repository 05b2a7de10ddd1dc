"""``drsyncer sync --accept-changes CLAIM``: release a claim held by the change guard, once.

The change guard (``tasks/data/change_check.py``) holds a PVC's data sync that would delete or rewrite
too much of the DR copy. The release is the annotation ``dr-syncer.io/accept-changes`` on the *DR* claim
(the source is read-only for dr-syncer); the next sync of that claim goes through whatever the dry run
counts and removes the annotation once its transfer succeeded. This module sets that annotation before
``sync`` runs the flow, so the CLI and a ``kubectl annotate`` are one and the same release. The value
records who released it and when (``drsyncer-cli <UTC time>``).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path

from drsyncer import labels
from drsyncer.config.loader import load_config
from drsyncer.errors import UsageError
from drsyncer.kube.client import object_path
from drsyncer.kube.connect import connect_cluster


def accept_changes(
    paths: Sequence[Path], mapping_names: Sequence[str], claims: Sequence[str], *, now: datetime.datetime
) -> None:
    """Annotate each DR claim of ``claims`` (of the one selected mapping) to pass the change guard once.

    Raises :class:`UsageError` when not exactly one mapping is selected or a claim is not in DR; nothing is
    annotated then.
    """
    if len(mapping_names) != 1:
        raise UsageError(
            "--accept-changes needs exactly one mapping",
            fix="select the mapping whose claims were held with --mapping NAME",
        )
    mapping = load_config(list(paths)).mapping(mapping_names[0])
    client = connect_cluster(mapping.destination)
    try:
        namespace = mapping.destination_namespace
        claim_paths = {
            claim: object_path(
                group="", version="v1", plural="persistentvolumeclaims", namespace=namespace, name=claim
            )
            for claim in claims
        }
        missing = [claim for claim, path in claim_paths.items() if client.get(path) is None]
        if missing:
            raise UsageError(
                f"--accept-changes: no PVC {', '.join(missing)} in {mapping.destination.name}/{namespace}",
                fix="name a claim of this mapping that the change guard held (see the sync report)",
            )
        value = f"drsyncer-cli {now.astimezone(datetime.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"
        for path in claim_paths.values():
            client.patch(path, {"metadata": {"annotations": {labels.ACCEPT_CHANGES: value}}})
    finally:
        client.close()
