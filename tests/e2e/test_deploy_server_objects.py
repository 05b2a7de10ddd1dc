"""``drsyncer deploy`` prepares the Prefect server for workers: concurrency limits and the zombie-run check.

On the session's real Prefect server: the mapping and rsync limits exist before any run (so runs that
start together at one schedule tick never race to create them), an operator's resize of a limit survives
a re-deploy, the zombie-run automation (Prefect's "Detect zombie flows" recipe) exists exactly once, and
the deployments' runs send heartbeats often enough for it, tagged so that only they are watched. That the
automation really turns a run whose process died into ``Crashed`` is the scale tier's worker-stop test.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path
from typing import Any

from deployments.server_objects import (
    HEARTBEAT_ENV,
    HEARTBEAT_SECONDS,
    HEARTBEAT_TAG,
    ZOMBIE_AFTER,
    ZOMBIE_AUTOMATION,
    concurrency_limits,
)
from drsyncer.config.loader import load_config

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "deployments" / "examples" / "file-mode"
POOL = "drsyncer-server-objects-test"


def _deploy(env: dict[str, str]) -> None:
    subprocess.run(
        [str(Path(sys.executable).parent / "drsyncer"), "deploy", str(EXAMPLES), "--pool", POOL],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=180,
        check=True,
    )


def test_deploy_creates_the_limits_and_the_zombie_automation_once_and_keeps_an_operators_resize(
    prefect_api_env: dict[str, str],
) -> None:
    from prefect import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate, WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    env = dict(prefect_api_env, DRSYNCER_PVC_CONCURRENCY="3")
    expected = concurrency_limits(load_config([EXAMPLES]), pvc_concurrency=3)
    assert any(name.startswith("dr-syncer-rsync-") for name in expected)
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(POOL)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
        for name in expected:
            with contextlib.suppress(ObjectNotFound):
                client.delete_global_concurrency_limit_by_name(name)

    _deploy(env)
    with get_client(sync_client=True) as client:
        created = {name: client.read_global_concurrency_limit_by_name(name).limit for name in expected}
        assert created == expected
        resized = next(name for name in expected if name.startswith("dr-syncer-rsync-"))
        client.update_global_concurrency_limit(resized, GlobalConcurrencyLimitUpdate(limit=7))

    _deploy(env)
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name(resized).limit == 7
        automations = client.read_automations_by_name(ZOMBIE_AUTOMATION)
        deployment = client.read_deployment_by_name("namespace-sync/database-with-data")
    assert len(automations) == 1, "a re-deploy must not add a second automation"
    trigger: Any = automations[0].trigger
    assert (trigger.posture, trigger.within, trigger.after) == (
        "Proactive",
        ZOMBIE_AFTER,
        {"prefect.flow-run.heartbeat"},
    )
    assert "prefect.flow-run.Completed" in trigger.expect
    assert trigger.match_related.root.get("prefect.resource.id") == f"prefect.tag.{HEARTBEAT_TAG}"
    assert [action.state.value for action in automations[0].actions] == ["CRASHED"]
    assert deployment.job_variables == {"env": {HEARTBEAT_ENV: str(HEARTBEAT_SECONDS)}}
    assert HEARTBEAT_TAG in deployment.tags
