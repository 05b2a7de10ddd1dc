"""When a NamespaceMapping asks for a run: a new sync-now value, or a spec change; never when paused."""

from __future__ import annotations

from typing import Any

from tasks.watch.sync_now import trigger_decision


def mapping(
    *,
    annotation: str | None = None,
    handled: str | None = None,
    generation: int = 1,
    observed: int | None = 1,
    paused: bool = False,
) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if handled is not None:
        status["lastSyncNowValue"] = handled
    if observed is not None:
        status["observedGeneration"] = observed
    annotations = {"dr-syncer.io/sync-now": annotation} if annotation else {}
    return {
        "metadata": {
            "name": "app",
            "namespace": "dr-syncer",
            "generation": generation,
            "annotations": annotations,
        },
        "spec": {"paused": paused},
        "status": status,
    }


def test_new_sync_now_value_triggers_and_is_recorded() -> None:
    decision = trigger_decision(mapping(annotation="2026-01-01T10:00"))
    assert decision is not None
    assert decision.reason == "sync-now"
    assert decision.record == {"lastSyncNowValue": "2026-01-01T10:00", "observedGeneration": 1}


def test_value_already_acted_on_does_nothing() -> None:
    assert trigger_decision(mapping(annotation="v1", handled="v1")) is None


def test_spec_change_triggers_once() -> None:
    decision = trigger_decision(mapping(generation=3, observed=2))
    assert decision is not None
    assert (decision.reason, decision.record) == ("spec-changed", {"observedGeneration": 3})


def test_first_sight_only_records_the_generation() -> None:
    decision = trigger_decision(mapping(generation=1, observed=None))
    assert decision is not None
    assert decision.reason is None
    assert decision.record == {"observedGeneration": 1}


def test_paused_mapping_never_triggers_nor_consumes_the_value() -> None:
    assert trigger_decision(mapping(annotation="v2", paused=True, generation=5, observed=1)) is None
