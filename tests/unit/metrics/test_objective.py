"""The RPO objective: 2x the schedule interval (its longest gap), or the mapping's annotation."""

from __future__ import annotations

from typing import Any

import pytest

from drsyncer.config import SourcedDocument, load_documents
from drsyncer.config.effective import EffectiveMapping
from drsyncer.errors import ConfigError
from drsyncer.labels import RPO_OBJECTIVE
from drsyncer.metrics.objective import breaks_objective, rpo_objective_seconds, schedule_interval_seconds
from tests.unit.config.factories import namespace_mapping, two_clusters


def _mapping(*, annotations: dict[str, str] | None = None, **spec: Any) -> EffectiveMapping:
    document = namespace_mapping("web", **spec)
    if annotations:
        document["metadata"]["annotations"] = annotations
    config = load_documents([SourcedDocument(body) for body in [*two_clusters(), document]])
    return config.mapping("web")


def test_interval_of_an_even_cron_is_its_period() -> None:
    assert schedule_interval_seconds("*/5 * * * *") == 300


def test_interval_of_a_weekday_cron_is_its_longest_gap_friday_to_monday() -> None:
    assert schedule_interval_seconds("0 2 * * 1-5") == 3 * 24 * 3600


def test_default_objective_is_twice_the_schedule_interval() -> None:
    assert rpo_objective_seconds(_mapping(schedule="*/15 * * * *")) == 1800


def test_the_annotation_overrides_the_default_objective() -> None:
    assert (
        rpo_objective_seconds(_mapping(schedule="*/5 * * * *", annotations={RPO_OBJECTIVE: "1h30m"})) == 5400
    )


def test_a_manual_mapping_has_no_objective_unless_annotated() -> None:
    assert rpo_objective_seconds(_mapping(replicationMode="Manual")) is None
    assert (
        rpo_objective_seconds(_mapping(replicationMode="Manual", annotations={RPO_OBJECTIVE: "2h"})) == 7200
    )


def test_continuous_objective_covers_the_background_full_sync_interval() -> None:
    mapping = _mapping(replicationMode="Continuous", continuous={"backgroundSyncInterval": "30m"})
    assert rpo_objective_seconds(mapping) == 3600


def test_a_bad_annotation_is_a_config_error_naming_mapping_annotation_and_forms() -> None:
    with pytest.raises(ConfigError) as raised:
        rpo_objective_seconds(_mapping(annotations={RPO_OBJECTIVE: "soon"}))
    assert "web" in str(raised.value)
    assert RPO_OBJECTIVE in str(raised.value)
    assert "30s, 5m" in str(raised.value)


@pytest.mark.parametrize(
    ("rpo", "objective", "attempted", "breaks"),
    [
        (599.0, 600.0, True, False),
        (601.0, 600.0, True, True),
        (None, 600.0, True, True),  # tried and never succeeded
        (None, 600.0, False, False),  # not run yet
        (10_000.0, None, True, False),  # no objective
    ],
)
def test_breaks_objective(rpo: float | None, objective: float | None, attempted: bool, breaks: bool) -> None:
    assert breaks_objective(rpo, objective, attempted=attempted) is breaks
