"""Plan-time claim checks: a missing DR storage class fails that claim alone; immutable StatefulSet
claim templates that would change are reported."""

from __future__ import annotations

from tasks.plan.claim_checks import check_storage_classes, report_claim_template_changes
from tasks.plan.diff import FieldDiff
from tasks.plan.planner import PlanEntry
from tasks.transform.runner import transform_object
from tests.factories import make_configmap, make_context, make_pvc

CTX = make_context()


def _create(obj: dict[str, object]) -> PlanEntry:
    desired = transform_object(obj, CTX).obj
    return PlanEntry(str(desired["kind"]), desired["metadata"]["name"], "create", obj=desired)


def test_claim_of_a_missing_storage_class_fails_naming_the_class_and_the_fix() -> None:
    entries = [
        _create(make_pvc("data", storage_class="gp3")),
        _create(make_pvc("logs")),
        _create(make_configmap()),
    ]
    checked = check_storage_classes(entries, storage_classes=frozenset({"standard"}), cluster="dr")
    assert (
        checked[0].error == "storage class gp3 does not exist in cluster dr; add a storageClassMappings entry"
    )
    assert [entry.error for entry in checked[1:]] == ["", ""]


def test_claim_without_a_class_uses_the_dr_default_and_passes() -> None:
    checked = check_storage_classes(
        [_create(make_pvc("data", storage_class=None))], storage_classes=frozenset(), cluster="dr"
    )
    assert checked[0].error == ""


def test_statefulset_whose_claim_templates_would_change_is_reported() -> None:
    diff = FieldDiff("spec.volumeClaimTemplates[0].spec.storageClassName", "gp3", "standard", "changed")
    entry = PlanEntry("StatefulSet", "db", "update", diff=[diff], reason="1 field differs")
    (reported,) = report_claim_template_changes([entry])
    assert "volumeClaimTemplates would change and are immutable" in reported.reason
    other = PlanEntry("StatefulSet", "db", "update", diff=[FieldDiff("spec.replicas", 1, 0, "changed")])
    assert report_claim_template_changes([other]) == [other]
