"""``drsyncer deploy CONFIG... --pool NAME``: register the mappings' deployments on a Prefect server.

For scale-out with Prefect workers (design §6): the same deployments as ``drsyncer serve`` (see
:mod:`deployments.builder`), registered on the server at ``PREFECT_API_URL`` for a work pool; workers
polling the pool run them. Entrypoints are module paths (``flows.namespace_sync.namespace_sync``), so the
worker's environment — a venv for a process pool, the image for a Kubernetes pool — must have
``dr-syncer`` installed; no code is uploaded or built.

- **Process pool** (local, one machine): ``prefect work-pool create drsyncer --type process``,
  ``drsyncer deploy CONFIG --pool drsyncer``, ``prefect worker start --pool drsyncer``.
- **Kubernetes pool** (production, ``pip install 'dr-syncer[kubernetes-pool]'`` on the worker):
  ``--image``, ``--namespace``, ``--service-account`` and ``--env KEY=VALUE`` become the job variables
  ``image``, ``namespace``, ``service_account_name`` and ``env`` of prefect-kubernetes' base job template.
  The configuration must be readable at the same path inside the job's pod: pass ``--config-path`` with
  where it is mounted (e.g. a ConfigMap at ``/etc/drsyncer``). Secrets (kubeconfigs, SSH keys) are
  mounted or read by the job at run time, never passed as variables or parameters.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer

from deployments.builder import DeploymentSpec, MappingReference, build_deployment_specs, to_runner_deployment
from deployments.server_objects import (
    HEARTBEAT_TAG,
    concurrency_limits,
    ensure_concurrency_limits,
    ensure_zombie_automation,
    sends_heartbeats,
    with_heartbeat,
)
from drsyncer.cli.output import OUTPUT_OPTION, OutputFormat, print_json, stderr, stdout, user_errors
from drsyncer.errors import UsageError
from drsyncer.prefect_env import apply_prefect_defaults
from drsyncer.settings import load_settings

CONFIG_ARGUMENT = typer.Argument(None, help="Configuration files or directories.", show_default=False)
POOL_OPTION = typer.Option(..., "--pool", help="Work pool the deployments run on (it must exist).")
IMAGE_OPTION = typer.Option(None, "--image", help="Container image with dr-syncer (Kubernetes/Docker pools).")
NAMESPACE_OPTION = typer.Option(None, "--namespace", help="Namespace of the flow-run pods (Kubernetes pool).")
SERVICE_ACCOUNT_OPTION = typer.Option(
    None, "--service-account", help="Service account of the flow-run pods (Kubernetes pool)."
)
ENV_OPTION = typer.Option(
    None, "--env", help="KEY=VALUE environment variable of the flow runs (no secrets). Repeatable."
)
CONFIG_PATH_OPTION = typer.Option(
    None,
    "--config-path",
    help="Where the runs read the configuration (default: the CONFIG paths, made absolute). Repeatable.",
)
TIMEZONE_OPTION = typer.Option("UTC", "--timezone", help="IANA timezone of the cron schedules (default UTC).")
JOB_TEMPLATE_OPTION = typer.Option(
    False,
    "--kubernetes-job-template",
    help="Print the Kubernetes work pool's base job template for --pool (uses --image, --namespace, "
    "--service-account, --env, --config-path) and register nothing.",
)


def job_variables(
    *,
    image: str | None,
    namespace: str | None,
    service_account: str | None,
    env: list[str] | None,
) -> dict[str, Any]:
    """The work-pool job variables a dr-syncer deployment needs (prefect-kubernetes names)."""
    variables: dict[str, Any] = {}
    if image:
        variables["image"] = image
    if namespace:
        variables["namespace"] = namespace
    if service_account:
        variables["service_account_name"] = service_account
    environment: dict[str, str] = {}
    for item in env or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--env {item!r} is not KEY=VALUE", fix="e.g. --env DRSYNCER_LOG_LEVEL=INFO")
        environment[key] = value
    if environment:
        variables["env"] = environment
    return variables


def deploy(
    config: list[Path] | None = CONFIG_ARGUMENT,
    pool: str = POOL_OPTION,
    image: str | None = IMAGE_OPTION,
    namespace: str | None = NAMESPACE_OPTION,
    service_account: str | None = SERVICE_ACCOUNT_OPTION,
    env: list[str] | None = ENV_OPTION,
    config_path: list[str] | None = CONFIG_PATH_OPTION,
    timezone: str = TIMEZONE_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
    kubernetes_job_template: bool = JOB_TEMPLATE_OPTION,
) -> None:
    """Register every mapping's deployment on the Prefect server for a work pool's workers."""
    if kubernetes_job_template:
        print_job_template(
            pool=pool,
            image=image,
            namespace=namespace,
            service_account=service_account,
            env=env,
            config_path=config_path,
        )
        return
    with user_errors():
        if not config:
            raise UsageError("no CONFIG given", fix="pass configuration files or directories")
        if not os.environ.get("PREFECT_API_URL"):
            raise UsageError(
                "PREFECT_API_URL is not set; deployments for workers need a running Prefect server",
                fix="export PREFECT_API_URL=http://HOST:4200/api (or use `drsyncer serve`)",
            )
        from drsyncer.config.loader import load_config

        loaded = load_config(config)
        loaded.require_mappings()
        reference = (
            MappingReference(config=tuple(config_path))
            if config_path
            else MappingReference.from_paths(config)
        )
        specs = build_deployment_specs(loaded, reference, timezone=timezone)
        variables = job_variables(image=image, namespace=namespace, service_account=service_account, env=env)
        apply_prefect_defaults()
        # Before the deployments exist, so before any run: the limits many runs would otherwise create at
        # once (a run's own creation would race this one), and the zombie-run check.
        ensure_concurrency_limits(concurrency_limits(loaded, pvc_concurrency=load_settings().pvc_concurrency))
        ensure_zombie_automation()
        registered = register(specs, pool=pool, job_variables=variables)
    if output == OutputFormat.json:
        print_json(registered)
        return
    for item in registered:
        stdout.print(f"{item['deployment']}  {item['schedule'] or 'no schedule'}  {item['id']}")
    stderr.print(f"{len(registered)} deployments registered for work pool {pool!r}")


def print_job_template(
    *,
    pool: str,
    image: str | None,
    namespace: str | None,
    service_account: str | None,
    env: list[str] | None,
    config_path: list[str] | None,
) -> None:
    """Print the base job template of Kubernetes pool ``pool`` (JSON), and how to create the pool with it."""
    from deployments.kubernetes_pool import kubernetes_job_template

    with user_errors():
        if not image:
            raise UsageError(
                "--kubernetes-job-template needs --image",
                fix="e.g. --image registry.example.com/dr-syncer:0.1.0",
            )
        if config_path and len(config_path) > 1:
            raise UsageError("one --config-path with --kubernetes-job-template", fix="mount one directory")
        variables = job_variables(image=image, namespace=namespace, service_account=service_account, env=env)
        template = kubernetes_job_template(
            image=image,
            namespace=variables.get("namespace", "dr-syncer"),
            service_account=variables.get("service_account_name", "dr-syncer"),
            env=variables.get("env"),
            config_path=config_path[0] if config_path else "/etc/drsyncer",
        )
    print_json(template)
    stderr.print(
        f"save it as {pool}.json, then: prefect work-pool create {pool} --type kubernetes "
        f"--base-job-template {pool}.json"
    )


def register(
    specs: list[DeploymentSpec], *, pool: str, job_variables: dict[str, Any]
) -> list[dict[str, Any]]:
    """Create or update the deployments on the server; the work pool must exist."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            work_pool = client.read_work_pool(pool)
        except ObjectNotFound:
            raise UsageError(
                f"work pool {pool!r} does not exist on the Prefect server",
                fix=f"prefect work-pool create {pool} --type process (or --type kubernetes)",
            ) from None
    variables = with_heartbeat(job_variables, pool_type=work_pool.type)
    heartbeat = sends_heartbeats(variables, pool_template=work_pool.base_job_template)
    registered = []
    for spec in specs:
        # The zombie-run automation watches runs that send heartbeats often (deployments.server_objects).
        tagged = replace(spec, tags=(*spec.tags, HEARTBEAT_TAG)) if heartbeat else spec
        deployment = to_runner_deployment(tagged, work_pool_name=pool, job_variables=variables or None)
        deployment_id = deployment.apply(work_pool_name=pool)
        registered.append(
            {
                "deployment": f"{spec.flow}/{spec.name}",
                "id": str(deployment_id),
                "schedule": spec.cron or (f"every {spec.interval}" if spec.interval else None),
                "paused": spec.paused,
            }
        )
    return registered
