"""The pure part of keeping StatefulSet claims through a DR operation's scale-down (KEP-1847 whenScaled)."""

from __future__ import annotations

from drsyncer import labels
from drsyncer.objects import KubeObject
from drsyncer.sandbox.patching import apply_merge_patch
from tasks.dr.claim_retention import claims_a_stage_would_delete, restore_patch, retain_patch, when_scaled
from tests.factories import make_deployment, make_statefulset


def _with_policy(obj: KubeObject, *, when_scaled: str, when_deleted: str = "Retain") -> KubeObject:
    obj["spec"]["persistentVolumeClaimRetentionPolicy"] = {
        "whenDeleted": when_deleted,
        "whenScaled": when_scaled,
    }
    return obj


def _record(obj: KubeObject) -> str | None:
    annotations: dict[str, str] = obj["metadata"].get("annotations") or {}
    return annotations.get(labels.ORIGINAL_WHEN_SCALED)


def test_when_scaled_defaults_to_retain_like_the_api_server() -> None:
    assert when_scaled(make_statefulset()) == "Retain"
    assert when_scaled(_with_policy(make_statefulset(), when_scaled="Delete")) == "Delete"


def test_when_scaled_delete_becomes_retain_with_the_original_recorded() -> None:
    statefulset = _with_policy(make_statefulset(), when_scaled="Delete", when_deleted="Delete")

    retained = apply_merge_patch(statefulset, retain_patch(statefulset) or {})

    assert retained["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Delete",
        "whenScaled": "Retain",
    }
    assert _record(retained) == "Delete"


def test_retain_leaves_a_retain_policy_and_other_kinds_alone() -> None:
    assert retain_patch(make_statefulset()) is None
    assert retain_patch(_with_policy(make_statefulset(), when_scaled="Retain")) is None
    deployment = make_deployment()
    deployment["spec"]["persistentVolumeClaimRetentionPolicy"] = {"whenScaled": "Delete"}
    assert retain_patch(deployment) is None


def test_a_retried_stop_changes_nothing_and_keeps_the_first_record() -> None:
    statefulset = _with_policy(make_statefulset(), when_scaled="Delete")
    retained = apply_merge_patch(statefulset, retain_patch(statefulset) or {})

    assert retain_patch(retained) is None
    assert _record(retained) == "Delete"


def test_restore_puts_the_recorded_policy_back_and_removes_the_record() -> None:
    statefulset = _with_policy(make_statefulset(), when_scaled="Delete", when_deleted="Delete")
    retained = apply_merge_patch(statefulset, retain_patch(statefulset) or {})

    restored = apply_merge_patch(retained, restore_patch(retained) or {})

    assert restored["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Delete",
        "whenScaled": "Delete",
    }
    assert _record(restored) is None
    assert restore_patch(restored) is None


def test_restore_without_a_record_changes_nothing() -> None:
    assert restore_patch(_with_policy(make_statefulset(), when_scaled="Delete")) is None
    assert restore_patch(make_statefulset()) is None


def test_a_record_that_is_no_policy_is_removed_and_the_safe_retain_kept() -> None:
    statefulset = _with_policy(make_statefulset(), when_scaled="Retain")
    statefulset["metadata"].setdefault("annotations", {})[labels.ORIGINAL_WHEN_SCALED] = "sometimes"

    restored = apply_merge_patch(statefulset, restore_patch(statefulset) or {})

    assert when_scaled(restored) == "Retain"
    assert _record(restored) is None


def test_a_stage_would_delete_the_claims_of_a_running_dr_statefulset_with_delete() -> None:
    running = _with_policy(make_statefulset("db", replicas=2), when_scaled="Delete")
    parked = _with_policy(make_statefulset("cache", replicas=0), when_scaled="Delete")
    kept = _with_policy(make_statefulset("queue", replicas=1), when_scaled="Retain")

    at_risk = claims_a_stage_would_delete([running, parked, kept], [], scale_to_zero=True)

    assert at_risk == {"StatefulSet/db": "2 replicas running, whenScaled Delete"}


def test_a_stage_carries_the_source_policy_so_a_source_delete_puts_dr_claims_at_risk() -> None:
    dr_copy = _with_policy(make_statefulset("db", replicas=1), when_scaled="Retain")
    source = _with_policy(make_statefulset("db", replicas=0), when_scaled="Delete")

    assert list(claims_a_stage_would_delete([dr_copy], [source], scale_to_zero=True)) == ["StatefulSet/db"]


def test_a_stage_that_scales_nothing_down_puts_no_claim_at_risk() -> None:
    override = _with_policy(
        make_statefulset("db", replicas=2, labels={labels.SCALE_OVERRIDE: "2"}), when_scaled="Delete"
    )
    running = _with_policy(make_statefulset("cache", replicas=2), when_scaled="Delete")

    assert claims_a_stage_would_delete([override], [], scale_to_zero=True) == {}
    assert claims_a_stage_would_delete([running], [], scale_to_zero=False) == {}
