"""Prefect global concurrency limits that dr-syncer creates on first use and holds around its work.

- ``dr-syncer-mapping-<ns>-<name>`` (1 slot): one sync of a mapping at a time, whoever started it.
- ``dr-syncer-rsync-<cluster>`` (``DRSYNCER_PVC_CONCURRENCY`` slots): PVC transfers into one DR cluster.
- ``dr-syncer-pvc-<cluster>-<ns>-<claim>`` (1 slot): never two transfers of the same claim.

An operator can resize a limit in the Prefect UI; existing limits are never changed here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


def limit_name(prefix: str, *parts: str) -> str:
    """A valid limit name from its parts (lowercase, ``-`` separated)."""
    return re.sub(r"[^a-z0-9-]+", "-", "-".join((prefix, *parts)).lower()).strip("-")


def mapping_limit(namespace: str, name: str) -> str:
    """The limit that serialises the syncs of mapping ``namespace/name`` (1 slot)."""
    return limit_name("dr-syncer-mapping", namespace, name)


def rsync_limit(cluster: str) -> str:
    """The limit on concurrent PVC transfers into DR cluster ``cluster``."""
    return limit_name("dr-syncer-rsync", cluster)


def ensure_limit(name: str, limit: int) -> None:
    """Create the global concurrency limit ``name`` with ``limit`` slots if it does not exist."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
            return
        except ObjectNotFound:
            pass
        try:
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=name, limit=max(1, limit))
            )
        except ObjectAlreadyExists:
            return


@contextmanager
def holding(name: str, *, limit: int) -> Iterator[None]:
    """Hold one slot of limit ``name`` (created with ``limit`` slots if missing) for the block."""
    with holding_all({name: limit}):
        yield


@contextmanager
def holding_all(limits: Mapping[str, int]) -> Iterator[None]:
    """Hold one slot of every limit (name → slots if it must be created) for the block.

    The slots are acquired together, in one request: all or none, so a waiter never holds one limit's
    slot while it waits for another's, and one round trip (with its lease) instead of one per limit.
    """
    from prefect.concurrency.sync import concurrency

    for name, limit in limits.items():
        ensure_limit(name, limit)
    with concurrency(list(limits), occupy=1, strict=True):
        yield
