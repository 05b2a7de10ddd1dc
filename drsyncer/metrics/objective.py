"""A mapping's RPO objective, and the RPO it has now: what "DR is too far behind" means.

**RPO** here is *now minus the start of the last successful sync* of a stage (objects, or PVC data). The
start, not the end: a change made while a sync runs may or may not be in the copy, so only what existed
when the sync started is known to be in DR.

The **objective** is, in order:

1. the NamespaceMapping annotation ``dr-syncer.io/rpo-objective`` (a duration: ``30m``, ``2h``, ``1h30m``);
2. twice the mapping's schedule interval (Scheduled and Continuous; Continuous takes the longer of its
   data schedule and ``continuous.backgroundSyncInterval``) — one missed sync is tolerated, two are not.
   For a cron with uneven gaps (``0 2 * * 1-5``) the interval is the *longest* gap (Friday to Monday);
3. none for a Manual mapping without the annotation: nothing to compare with.

Pure functions: the exporter, the alert rules (through ``drsyncer_rpo_objective_seconds``) and
``drsyncer status`` all use these.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from croniter import croniter

from drsyncer.config.durations import Duration
from drsyncer.config.effective import EffectiveMapping
from drsyncer.config.namespace_mapping import ReplicationMode
from drsyncer.errors import ConfigError
from drsyncer.labels import RPO_OBJECTIVE

OBJECTIVE_FACTOR = 2
"""The default objective is this many schedule intervals."""

_SCAN_START = datetime(2025, 1, 1, tzinfo=UTC)
_SCAN_DAYS = 400
_SCAN_FIRES = 3000


@lru_cache(maxsize=256)
def schedule_interval_seconds(cron: str) -> float:
    """The longest gap, in seconds, between two consecutive runs of ``cron`` (scanned over ~a year)."""
    times = croniter(cron, _SCAN_START)
    previous = times.get_next(datetime)
    longest = 0.0
    for _ in range(_SCAN_FIRES):
        current = times.get_next(datetime)
        longest = max(longest, (current - previous).total_seconds())
        if (current - _SCAN_START).days > _SCAN_DAYS:
            break
        previous = current
    return longest


def objective_problem(mapping: EffectiveMapping) -> str | None:
    """Why the mapping's ``dr-syncer.io/rpo-objective`` annotation is unusable, or None."""
    text = mapping.annotations.get(RPO_OBJECTIVE)
    if text is None:
        return None
    try:
        seconds = Duration.parse(text).timedelta.total_seconds()
    except ValueError as error:
        return f"NamespaceMapping {mapping.key}: annotation {RPO_OBJECTIVE}: {error}"
    if seconds <= 0:
        return f"NamespaceMapping {mapping.key}: annotation {RPO_OBJECTIVE} must be longer than 0s"
    return None


def rpo_objective_seconds(mapping: EffectiveMapping) -> float | None:
    """The mapping's RPO objective in seconds, or None (Manual without the annotation).

    Raises:
        ConfigError: the annotation is not a positive duration.
    """
    problem = objective_problem(mapping)
    if problem is not None:
        raise ConfigError([problem])
    text = mapping.annotations.get(RPO_OBJECTIVE)
    if text is not None:
        return Duration.parse(text).timedelta.total_seconds()
    if mapping.mode is ReplicationMode.Manual or not mapping.schedule:
        return None
    interval = schedule_interval_seconds(mapping.schedule)
    if mapping.mode is ReplicationMode.Continuous:
        background = mapping.continuous.background_sync_interval
        if background is not None:
            interval = max(interval, background.timedelta.total_seconds())
    return OBJECTIVE_FACTOR * interval


def rpo_seconds(last_success_start: float | None, *, now: float) -> float | None:
    """``now`` minus the start of the last successful sync (epoch seconds), or None if there never was one."""
    if last_success_start is None:
        return None
    return max(0.0, now - last_success_start)


def breaks_objective(rpo: float | None, objective: float | None, *, attempted: bool) -> bool:
    """True when a stage is further behind than the objective, or was tried and never succeeded.

    A mapping without an objective never breaks it; one that has not run yet (``attempted`` false) does not
    either — there is nothing to be behind on until it has tried once.
    """
    if objective is None:
        return False
    if rpo is None:
        return attempted
    return rpo > objective
