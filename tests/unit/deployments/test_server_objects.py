"""Which deployments' runs send heartbeats often enough for the zombie-run automation, and its scope."""

from __future__ import annotations

from deployments.kubernetes_pool import kubernetes_job_template
from deployments.server_objects import (
    HEARTBEAT_ENV,
    HEARTBEAT_SECONDS,
    HEARTBEAT_TAG,
    sends_heartbeats,
    with_heartbeat,
    zombie_automation,
)

HEARTBEAT = {HEARTBEAT_ENV: str(HEARTBEAT_SECONDS)}


def test_a_process_pool_gets_the_heartbeat_in_the_runs_environment_and_a_users_value_wins() -> None:
    assert with_heartbeat({}, pool_type="process") == {"env": HEARTBEAT}
    assert with_heartbeat({"env": {"A": "1", HEARTBEAT_ENV: "60"}}, pool_type="process") == {
        "env": {HEARTBEAT_ENV: "60", "A": "1"}
    }


def test_a_kubernetes_pool_keeps_its_default_environment_unless_the_deployment_sets_one() -> None:
    assert with_heartbeat({"image": "x"}, pool_type="kubernetes") == {"image": "x"}
    assert with_heartbeat({"env": {"A": "1"}}, pool_type="kubernetes") == {"env": {**HEARTBEAT, "A": "1"}}


def test_only_runs_that_heartbeat_every_30_s_are_watched() -> None:
    ours = kubernetes_job_template(image="i", namespace="n", service_account="s", env=None, config_path="/c")
    foreign = {"variables": {"properties": {"env": {"default": {}}}}}
    assert sends_heartbeats({}, pool_template=ours)
    assert not sends_heartbeats({}, pool_template=foreign)
    assert not sends_heartbeats({"env": {"A": "1"}}, pool_template=ours)  # replaces the pool's env
    assert sends_heartbeats(with_heartbeat({}, pool_type="process"), pool_template={})
    assert not sends_heartbeats({"env": {HEARTBEAT_ENV: "180"}}, pool_template={})


def test_the_automation_crashes_only_tagged_runs_that_went_silent() -> None:
    automation = zombie_automation()
    trigger = automation.trigger
    assert trigger.match_related.root == {  # type: ignore[union-attr]
        "prefect.resource.role": "tag",
        "prefect.resource.id": f"prefect.tag.{HEARTBEAT_TAG}",
    }
    assert trigger.for_each == {"prefect.resource.id"}  # type: ignore[union-attr]
    assert trigger.within.total_seconds() >= 3 * HEARTBEAT_SECONDS  # type: ignore[union-attr]
