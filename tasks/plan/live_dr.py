"""A DR side that runs after a cutover is never synced over from the stopped source.

After a cutover the source's Deployments and StatefulSets are at 0 replicas with their counts recorded in
``dr-syncer.io/original-replicas`` (written by the operation, :mod:`tasks.dr.workloads`), and DR runs them.
A sync from that source would put DR at rest again (the DR copy of a 0-replica source is parked) and
overwrite the objects DR now serves from, in the middle of a disaster. Cutover pauses the mapping's sync
deployments, but a sync started by hand, by an outside scheduler or by a continuous run that was not
cancelled would still do it. So every sync checks first and refuses, naming the workloads; the way back is
``drsyncer failback``, which copies DR back to the source and stages DR again.

"Stopped by an operation" is precise: 0 replicas *and* a recorded count above 0. A source scaled to 0 by
its owners carries no record (or a record of 0), and a DR copy kept warm with ``dr-syncer.io/scale-override``
runs while its source runs too; neither is refused. Pure: objects in, findings out.
"""

from __future__ import annotations

from collections.abc import Iterable

from drsyncer.errors import DrSyncerError
from drsyncer.labels import ORIGINAL_REPLICAS
from drsyncer.objects import KubeObject, object_name

WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet"})
SHOWN = 5
"""How many workloads the refusal names."""


class DrLiveError(DrSyncerError):
    """DR runs after a cutover; a sync from the stopped source would undo it."""


def _replicas(obj: KubeObject) -> int:
    value = (obj.get("spec") or {}).get("replicas", 1)
    return value if isinstance(value, int) else 1


def stopped_by_operation(source: KubeObject) -> bool:
    """Whether a source workload was stopped by a cutover: 0 replicas and a recorded count above 0."""
    if source.get("kind") not in WORKLOAD_KINDS or _replicas(source) != 0:
        return False
    recorded = ((source.get("metadata") or {}).get("annotations") or {}).get(ORIGINAL_REPLICAS, "")
    return recorded.isdigit() and int(recorded) > 0


def live_workload(source: KubeObject | None, dr: KubeObject | None) -> str | None:
    """``Deployment/web (3 replicas)`` when ``dr`` runs while ``source`` was stopped by a cutover."""
    if source is None or dr is None or not stopped_by_operation(source):
        return None
    if dr.get("kind") != source.get("kind") or _replicas(dr) == 0:
        return None
    return f"{dr['kind']}/{object_name(dr)} ({_replicas(dr)} replicas)"


def live_workloads(sources: Iterable[KubeObject], dr_objects: Iterable[KubeObject]) -> list[str]:
    """Every DR workload running while its source was stopped by a cutover (sorted)."""
    by_key = {
        (obj.get("kind"), object_name(obj)): obj for obj in dr_objects if obj.get("kind") in WORKLOAD_KINDS
    }
    found = (
        live_workload(source, by_key.get((source.get("kind"), object_name(source)))) for source in sources
    )
    return sorted(entry for entry in found if entry is not None)


def refuse_live_dr(found: list[str], *, mapping: str, dr_namespace: str) -> None:
    """Raise :class:`DrLiveError` naming the live workloads, if any."""
    if not found:
        return
    more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    raise DrLiveError(
        f"DR is live in {dr_namespace} after a cutover ({', '.join(found[:SHOWN])}{more} run there while "
        f"the source is stopped); a sync from the source would stop DR and overwrite its objects, so "
        f"nothing was written",
        fix=f"return with `drsyncer failback CONFIG --mapping {mapping}` (it copies DR back and stages DR "
        "again); "
        "sync only after the failback",
    )
