"""What the Prefect UI shows of a sync run: its logs, artifacts and names, read back from a real server.

The CLI (``drsyncer sync``), ``drsyncer serve``, and the two commands workers use to execute a
deployment's flow run (``prefect flow-run execute`` for Kubernetes workers, ``python -m prefect.engine``
for process workers and serve's runner) run as subprocesses against the session's Prefect server and
two sandbox clusters; the assertions read ``/api/logs/filter``, ``/api/artifacts/filter`` and the run
names as the UI does. Logs are sent to the API here (``PREFECT_LOGGING_TO_API_ENABLED=true``) even though
the rest of the test session turns that off.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from drsyncer.sandbox import FakeCluster
from tests.api.sync.conftest import SyncWorld, unique_namespace
from tests.factories import make_configmap, make_secret, make_service
from tests.prefect_runs import artifacts, only_flow_run, task_runs, wait_for_logs

REPO = Path(__file__).resolve().parents[2]
DRSYNCER = str(Path(sys.executable).parent / "drsyncer")
PREFECT = str(Path(sys.executable).parent / "prefect")
SECRET_VALUE = "c2VjcmV0LXZhbHVlLW5ldmVyLWxvZ2dlZA=="  # base64 of "secret-value-never-logged"
OBJECTS = 300
"""Objects of the line-budget tests (1,000 was measured by hand; see the README)."""
LINE_BUDGET = 50


class LogWorld:
    """A test's namespace and its own uniquely named mapping, so its runs can be found by name."""

    def __init__(self, world: SyncWorld, env: dict[str, str], tmp_path: Path) -> None:
        self.world = world
        self.mapping = f"logs-{uuid.uuid4().hex[:8]}"
        self.env = {key: value for key, value in env.items() if key != "KUBECONFIG"}
        self.env["PREFECT_LOGGING_TO_API_ENABLED"] = "true"
        self.env.pop("DRSYNCER_LOG_LEVEL", None)
        self.env.pop("DRSYNCER_RUN_LOG_LEVEL", None)
        self.config = tmp_path / "config.yaml"
        documents = world.documents()
        documents[-1]["metadata"]["name"] = self.mapping
        self.config.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")

    @property
    def api(self) -> str:
        return self.env["PREFECT_API_URL"]

    def sync(self, **extra_env: str) -> subprocess.CompletedProcess[str]:
        """``drsyncer sync CONFIG --mapping NAME --output json`` with ``extra_env``."""
        return subprocess.run(
            [DRSYNCER, "sync", str(self.config), "--mapping", self.mapping, "--output", "json"],
            env={**self.env, **extra_env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def run(self, index: int = 0) -> dict[str, Any]:
        """The ``index``-th sync run of this mapping (by name, as the UI lists them)."""
        from tests.prefect_runs import flow_runs

        runs = flow_runs(self.api, name_like=f"-{self.mapping}-")
        assert len(runs) > index, [run["name"] for run in runs]
        return runs[index]

    def logs(self, run: dict[str, Any]) -> list[dict[str, Any]]:
        """The run's logs, once its final summary line arrived."""
        return wait_for_logs(
            self.api,
            run["id"],
            until=lambda logs: any(f"sync of {self.mapping}" in r["message"] for r in logs),
        )


@pytest.fixture
def log_world(
    source_cluster: FakeCluster,
    dr_cluster: FakeCluster,
    source_kubeconfig: Path,
    dr_kubeconfig: Path,
    prefect_api_env: dict[str, str],
    tmp_path: Path,
) -> LogWorld:
    """A fresh source namespace, a mapping named for this test, and an environment that logs to the API."""
    namespace = unique_namespace("logs")
    world = SyncWorld(
        source=source_cluster,
        dr=dr_cluster,
        config_dir=tmp_path,
        source_kubeconfig=source_kubeconfig,
        dr_kubeconfig=dr_kubeconfig,
        namespace=namespace,
        destination_namespace=namespace,
    )
    world.create_namespace()
    return LogWorld(world, prefect_api_env, tmp_path)


def _messages(logs: list[dict[str, Any]]) -> list[str]:
    return [str(record["message"]) for record in logs]


def _apply_count(logs: list[dict[str, Any]], outcome: str) -> int:
    """The count of ``outcome`` on the run's ``apply:`` line."""
    line = next(m for m in _messages(logs) if m.startswith("apply: "))
    match = re.search(rf"(\d+) {outcome}", line)
    assert match, line
    return int(match[1])


def test_cli_run_sends_info_story_to_the_ui_while_the_terminal_stays_quiet(log_world: LogWorld) -> None:
    log_world.world.seed(
        make_configmap("settings", server_fields=False),
        make_secret("credentials", data={"password": SECRET_VALUE}, server_fields=False),
        make_configmap("skipped", labels={"dr-syncer.io/ignore": "true"}, server_fields=False),
    )

    result = log_world.sync()

    assert result.returncode == 0, result.stderr[-3000:]
    run = log_world.run()
    logs = log_world.logs(run)
    messages = _messages(logs)
    assert {record["level"] for record in logs} >= {20}, "INFO lines must reach the Prefect API"
    assert any(m.startswith("discover: ") and " in source" in m for m in messages), messages
    assert any(m.startswith("plan: ") for m in messages), messages
    assert any(m.startswith("apply: ") and "0 failed" in m for m in messages), messages
    assert any(m.startswith("ConfigMap/skipped skipped: ") for m in messages), messages
    summary = [m for m in messages if m.startswith(f"sync of {log_world.mapping} ")]
    assert len(summary) == 1, messages
    assert "Completed" in summary[0]
    assert "| INFO " not in result.stderr, "the terminal shows WARNING and above by default"
    everything = " ".join(messages) + str(artifacts(log_world.api, run["id"]))
    assert SECRET_VALUE not in everything
    assert "secret-value-never-logged" not in everything


def test_terminal_level_follows_drsyncer_log_level_without_changing_what_the_ui_gets(
    log_world: LogWorld,
) -> None:
    log_world.world.seed(make_configmap("settings", server_fields=False))

    result = log_world.sync(DRSYNCER_LOG_LEVEL="INFO", DRSYNCER_RUN_LOG_LEVEL="WARNING")

    assert result.returncode == 0, result.stderr[-3000:]
    assert f"sync of {log_world.mapping} " in result.stderr
    run = log_world.run()
    logs = wait_for_logs(log_world.api, run["id"], until=lambda logs: True)
    assert all(record["level"] >= 30 for record in logs), _messages(logs)


def test_failed_object_and_summary_name_the_reason_at_warning_and_error(log_world: LogWorld) -> None:
    world = log_world.world
    squatter_namespace = unique_namespace("squat")
    world.dr.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": squatter_namespace}})
    world.dr.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "squatter", "namespace": squatter_namespace},
            "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30411}]},
        }
    )
    world.seed(
        make_service("web", cluster_ip=None, service_type="NodePort", node_port=30411, server_fields=False)
    )

    result = log_world.sync()

    assert result.returncode == 1, result.stderr[-3000:]
    logs = log_world.logs(log_world.run())
    failed = [r for r in logs if r["message"].startswith("Service/web failed: ")]
    assert len(failed) == 1, _messages(logs)
    assert failed[0]["level"] == 30
    assert "30411" in failed[0]["message"]
    summary = [r for r in logs if r["message"].startswith(f"sync of {log_world.mapping} ")]
    assert summary[0]["level"] == 40
    assert "Service/web" in summary[0]["message"]


def test_a_no_op_and_a_first_sync_of_many_objects_stay_within_the_line_budget(log_world: LogWorld) -> None:
    log_world.world.seed(*(make_configmap(f"cm-{i:04d}", server_fields=False) for i in range(OBJECTS)))

    first = log_world.sync()
    no_op = log_world.sync()

    assert first.returncode == 0, first.stderr[-2000:]
    assert no_op.returncode == 0, no_op.stderr[-2000:]
    first_logs = log_world.logs(log_world.run(0))
    no_op_logs = log_world.logs(log_world.run(1))
    assert _apply_count(first_logs, "created") >= OBJECTS
    assert _apply_count(no_op_logs, "unchanged") >= OBJECTS
    assert len(no_op_logs) < LINE_BUDGET, _messages(no_op_logs)
    assert len(first_logs) < LINE_BUDGET, _messages(first_logs)
    assert not any("cm-0001" in m for m in _messages(no_op_logs)), "no per-object line for unchanged objects"
    assert "Finished in state Completed()" not in _messages(first_logs), "a completed task's line is noise"


def test_artifacts_and_names_say_mapping_verb_and_kind(log_world: LogWorld) -> None:
    log_world.world.seed(
        make_configmap("settings", server_fields=False), make_service("web", server_fields=False)
    )

    log_world.sync()
    log_world.sync()

    runs = [log_world.run(0), log_world.run(1)]
    for run in runs:
        assert run["name"].startswith("sync-")
        assert f"-{log_world.mapping}-" in run["name"]
        keys = {artifact["key"]: artifact for artifact in artifacts(log_world.api, run["id"])}
        assert {f"sync-{log_world.mapping}", f"sync-{log_world.mapping}-objects"} <= set(keys)
        assert keys[f"sync-{log_world.mapping}"]["type"] == "markdown"
        assert keys[f"sync-{log_world.mapping}-objects"]["type"] == "table"
        assert "settings" in str(keys[f"sync-{log_world.mapping}-objects"]["data"])
    names = {task["name"] for task in task_runs(log_world.api, runs[0]["id"])}
    assert {"discover-configmaps", "discover-services", "apply-ConfigMap", "apply-Service"} <= names, names


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([PREFECT, "flow-run", "execute"], id="kubernetes-worker"),
        pytest.param([sys.executable, "-m", "prefect.engine"], id="process-worker-and-serve"),
    ],
)
def test_worker_started_run_sends_info_logs_even_when_prefect_logging_level_says_warning(
    log_world: LogWorld, command: list[str]
) -> None:
    """Workers run the flow without our entry points; the flow applies DRSYNCER_RUN_LOG_LEVEL itself."""
    from prefect import get_client
    from prefect.deployments.runner import RunnerDeployment

    from flows.namespace_sync import namespace_sync

    log_world.world.seed(make_configmap("settings", server_fields=False))
    deployment = cast(RunnerDeployment, namespace_sync.to_deployment(name=f"worker-{log_world.mapping}"))
    deployment_id = cast(uuid.UUID, deployment.apply())
    with get_client(sync_client=True) as client:
        flow_run = client.create_flow_run_from_deployment(
            deployment_id, parameters={"mapping": log_world.mapping, "config": [str(log_world.config)]}
        )
    env = {
        **log_world.env,
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT__FLOW_RUN_ID": str(flow_run.id),
    }
    argv = [*command, str(flow_run.id)] if command[0] == PREFECT else command

    result = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)

    assert result.returncode == 0, result.stderr[-3000:]
    logs = wait_for_logs(
        log_world.api,
        str(flow_run.id),
        until=lambda logs: any(r["message"].startswith(f"sync of {log_world.mapping} ") for r in logs),
    )
    assert any(r["message"].startswith("apply: ") and r["level"] == 20 for r in logs), _messages(logs)
    assert only_flow_run(log_world.api, name_like=f"-{log_world.mapping}-")["id"] == str(flow_run.id)


def test_a_run_started_by_drsyncer_serve_sends_info_logs(log_world: LogWorld, tmp_path: Path) -> None:
    from prefect import get_client

    log_world.world.seed(make_configmap("settings", server_fields=False))
    env = {**log_world.env, "PREFECT_RUNNER_POLL_FREQUENCY": "1", "PREFECT_LOGGING_LEVEL": "WARNING"}
    with (tmp_path / "serve.log").open("wb") as serve_log:
        process = subprocess.Popen(
            [DRSYNCER, "serve", str(log_world.config), "--mapping", log_world.mapping],
            cwd=REPO,
            env=env,
            stdout=serve_log,
            stderr=subprocess.STDOUT,
        )
        try:
            with get_client(sync_client=True) as client:
                deployment = _poll(
                    lambda: _deployment(client, f"namespace-sync/{log_world.mapping}"), process, timeout=90
                )
                flow_run = client.create_flow_run_from_deployment(deployment.id)
            logs = wait_for_logs(
                log_world.api,
                str(flow_run.id),
                until=lambda logs: any(
                    r["message"].startswith(f"sync of {log_world.mapping} ") for r in logs
                ),
                timeout=90,
            )
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert any(r["message"].startswith("apply: ") and r["level"] == 20 for r in logs), _messages(logs)


def _deployment(client: Any, name: str) -> Any:
    """The deployment called ``name``, or None while it is not registered yet."""
    from prefect.exceptions import ObjectNotFound

    try:
        return client.read_deployment_by_name(name)
    except ObjectNotFound:
        return None


def _poll(read: Callable[[], Any], process: subprocess.Popen[bytes], *, timeout: float) -> Any:
    """``read()``'s first non-None value, while ``process`` keeps running; fails at the deadline."""
    deadline = time.monotonic() + timeout
    while (value := read()) is None:
        assert process.poll() is None, "drsyncer serve exited early"
        assert time.monotonic() < deadline, f"nothing within {timeout} s"
        time.sleep(0.2)
    return value
