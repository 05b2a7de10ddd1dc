"""Job rule: the generated selector and labels go, a hand-written selector stays manual."""

from __future__ import annotations

from tasks.transform.runner import transform_object
from tests.factories import make_context, make_job

CTX = make_context()
GENERATED = {
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "job-name",
    "batch.kubernetes.io/job-name",
}


def test_generated_selector_and_manual_selector_are_removed() -> None:
    spec = transform_object(make_job(), CTX).obj["spec"]
    assert "selector" not in spec
    assert "manualSelector" not in spec


def test_generated_labels_leave_the_template_and_the_job() -> None:
    result = transform_object(make_job(), CTX).obj
    assert result["spec"]["template"]["metadata"]["labels"] == {"app": "migrate"}
    assert not GENERATED & set(result["metadata"].get("labels") or {})


def test_hand_written_selector_is_kept_with_manual_selector() -> None:
    spec = transform_object(make_job(extra_selector={"app": "migrate"}), CTX).obj["spec"]
    assert spec["selector"] == {"matchLabels": {"app": "migrate"}}
    assert spec["manualSelector"] is True


def test_job_template_is_otherwise_untouched() -> None:
    source = make_job()
    result = transform_object(source, CTX).obj
    assert result["spec"]["template"]["spec"] == source["spec"]["template"]["spec"]
    assert result["spec"]["backoffLimit"] == 6
