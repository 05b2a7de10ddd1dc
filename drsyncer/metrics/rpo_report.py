"""RPO per mapping and stage, and whether it breaks the objective: what ``drsyncer status`` shows.

Built from the same :class:`~drsyncer.metrics.collector.MappingView` the exporter serves, so the command
and the metrics never disagree. A paused mapping never breaks its objective here (it has an alert of its
own after a day); a stage that was never tried (no PVC data yet, a mapping that never ran) does not either.
"""

from __future__ import annotations

from dataclasses import dataclass

from drsyncer.metrics.collector import MappingView
from drsyncer.metrics.objective import breaks_objective, rpo_seconds
from drsyncer.metrics.run_record import STAGES


@dataclass(frozen=True)
class StageRpo:
    """One stage's RPO."""

    stage: str
    last_success: float | None
    """Start (epoch seconds) of the last successful sync of the stage."""
    rpo: float | None
    breaks: bool


@dataclass(frozen=True)
class MappingRpo:
    """A mapping's RPO per stage against its objective."""

    objective: float | None
    paused: bool
    stages: tuple[StageRpo, ...]

    @property
    def breaks(self) -> bool:
        """True when an active mapping's stage is behind its objective (or was tried and never succeeded)."""
        return not self.paused and any(stage.breaks for stage in self.stages)


def mapping_rpo(view: MappingView, *, now: float, data_sync: bool) -> MappingRpo:
    """``view``'s RPO per stage at ``now`` (the data stage only for mappings that sync PVC data)."""
    stages = []
    for stage in STAGES:
        if stage == "data" and not data_sync:
            continue
        last = view.state.last_success.get(stage)
        rpo = rpo_seconds(last, now=now)
        attempted = stage in view.state.attempted
        stages.append(
            StageRpo(
                stage=stage,
                last_success=last,
                rpo=rpo,
                breaks=breaks_objective(rpo, view.objective, attempted=attempted),
            )
        )
    return MappingRpo(objective=view.objective, paused=view.paused, stages=tuple(stages))
