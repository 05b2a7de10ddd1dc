"""``drsyncer deploy --pool NAME --kubernetes-job-template``: the Kubernetes work pool variant, rendered.

The printed template is rendered the way a Kubernetes worker renders it for a flow run (Prefect's own
``apply_values`` over the variables' defaults plus the run's command), and the resulting Job is sent to
a sandbox cluster with the real ``kubernetes`` client as a server-side dry run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from kubernetes.dynamic import DynamicClient

from drsyncer.sandbox import FakeCluster

DRSYNCER = str(Path(sys.executable).with_name("drsyncer"))
EXAMPLES = Path(__file__).resolve().parents[2] / "deployments" / "examples" / "file-mode"


def _render(template: dict[str, Any], *, command: str) -> dict[str, Any]:
    from prefect.utilities.templating import apply_values

    values = {name: spec.get("default") for name, spec in template["variables"]["properties"].items()}
    values.update(command=command, name="sync-shop", labels={"prefect.io/flow-run-id": "0"})
    rendered: dict[str, Any] = apply_values(template["job_configuration"], values)
    return rendered


def test_the_rendered_job_template_runs_dr_syncer_non_root_with_config_and_keys_mounted(
    dr_cluster: FakeCluster, dr_dynamic: DynamicClient
) -> None:
    result = subprocess.run(
        [
            DRSYNCER,
            "deploy",
            str(EXAMPLES),
            "--pool",
            "drsyncer-k8s",
            "--kubernetes-job-template",
            "--image",
            "registry.example.com/dr-syncer:0.1.0",
            "--namespace",
            "dr-syncer",
            "--service-account",
            "dr-syncer",
            "--config-path",
            "/etc/drsyncer",
            "--env",
            "DRSYNCER_LOG_LEVEL=INFO",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "prefect work-pool create drsyncer-k8s --type kubernetes --base-job-template" in result.stderr
    template = json.loads(result.stdout)

    configuration = _render(template, command="python -m prefect.engine")
    job = configuration["job_manifest"]
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert (container["name"], container["image"]) == ("prefect-job", "registry.example.com/dr-syncer:0.1.0")
    assert (job["metadata"]["namespace"], pod["serviceAccountName"]) == ("dr-syncer", "dr-syncer")
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert job["spec"]["backoffLimit"] == 0  # prefect-kubernetes then reschedules a run whose pod is evicted
    mounts = {mount["name"]: mount for mount in container["volumeMounts"]}
    assert mounts["config"]["mountPath"] == "/etc/drsyncer"
    assert mounts["config"]["readOnly"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes["config"]["configMap"]["name"] == "dr-syncer-config"
    assert volumes["keys"]["secret"]["secretName"] == "dr-syncer-controller-keys"
    env = configuration["env"]
    assert mounts["keys"]["mountPath"] == f"{env['DRSYNCER_KEY_DIR']}/source-to-dr"
    assert (env["PREFECT_TASKS_DEFAULT_NO_CACHE"], env["DRSYNCER_LOG_LEVEL"]) == ("true", "INFO")

    # As the worker does: env as a list, args split; then the real client sends it (dry run).
    container["env"] = [{"name": key, "value": value} for key, value in env.items()]
    container["args"] = configuration["command"].split()
    job["metadata"]["generateName"] = "sync-shop-"
    dr_cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dr-syncer"}})
    # prefect-kubernetes requires parallelism/completions under the pod spec (its base manifest check), where
    # the API server ignores them; the typed client refuses them, so send it as the worker does: as JSON.
    jobs = dr_dynamic.resources.get(api_version="batch/v1", kind="Job")
    created = jobs.create(body=job, namespace="dr-syncer", query_params=[("dryRun", "All")])
    assert created.spec.template.spec.containers[0].volumeMounts[0].mountPath == "/etc/drsyncer"
    assert dr_cluster.objects("batch/v1", "Job", "dr-syncer") == []


def test_the_job_template_needs_an_image() -> None:
    result = subprocess.run(
        [DRSYNCER, "deploy", str(EXAMPLES), "--pool", "drsyncer-k8s", "--kubernetes-job-template"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "--kubernetes-job-template needs --image" in result.stderr
    assert result.stdout == ""
