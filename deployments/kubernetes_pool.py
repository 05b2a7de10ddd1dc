"""The base job template of a Kubernetes work pool that runs dr-syncer's flows (production, design §6).

``drsyncer deploy CONFIG --pool NAME --kubernetes-job-template`` prints it;
``prefect work-pool create NAME --type kubernetes --base-job-template FILE`` creates the pool with it.
It is prefect-kubernetes' default template (a ``batch/v1`` Job running ``{{ command }}`` in container
``prefect-job``; the job variables ``image``, ``namespace``, ``service_account_name``, ``env``,
``finished_job_ttl``, ... keep their upstream names, so deployments' job variables still apply) plus what
a dr-syncer flow-run pod needs:

- the configuration mounted read-only from a ConfigMap (``config_map``) at ``config_path``, where the
  deployments' parameters say it is (``drsyncer deploy --config-path``);
- the controller's SSH keys of one key set (``control-key`` and ``known_hosts`` of ClusterMapping
  ``key_set``) mounted read-only from a Secret (``keys_secret``) at ``DRSYNCER_KEY_DIR/<key_set>``, where
  dr-syncer looks for them; never passed as variables (more ClusterMappings: add a mount per key set);
- a non-root pod (``runAsNonRoot``, uid 10001 as in ``deployments/docker/Dockerfile``), no privilege
  escalation, a read-only service account token as Kubernetes mounts it;
- ``backoffLimit: 0``: prefect-kubernetes then sets ``PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR=reschedule``,
  so an evicted or drained pod puts its flow run back to Scheduled (it runs again) instead of Kubernetes
  re-running the same run in a second pod;
- ``PREFECT_TASKS_DEFAULT_NO_CACHE=true`` in the default environment (a sync task is never "Cached"), and
  ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` (heartbeats for the zombie-run automation ``drsyncer deploy``
  creates; see :mod:`deployments.server_objects`).

Pure: no Prefect import; the template is plain JSON data.
"""

from __future__ import annotations

import copy
from typing import Any

from deployments.server_objects import HEARTBEAT_ENV, HEARTBEAT_SECONDS

RUN_AS_USER = 10001
"""The image's non-root user (``deployments/docker/Dockerfile``)."""
KEYS_SECRET = "dr-syncer-controller-keys"  # noqa: S105 - the name of a Secret, not a secret
"""The Secret holding the controller's key files (``drsyncer keys generate`` writes them)."""
KEY_DIR = "/var/run/dr-syncer/keys"
"""Where the flow-run pod sees the controller's keys (``DRSYNCER_KEY_DIR``)."""


def _variables(
    *,
    image: str,
    namespace: str,
    service_account: str,
    env: dict[str, str],
    config_map: str,
    keys_secret: str,
    key_set: str,
) -> dict[str, Any]:
    def string(default: str | None, description: str) -> dict[str, Any]:
        return {"type": "string", "default": default, "description": description}

    return {
        "type": "object",
        "properties": {
            "name": {"type": "string", "title": "Name", "description": "Name given to the flow-run Job."},
            "command": {"type": "string", "description": "Command of the flow run (set by Prefect)."},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "env": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "default": env,
                "description": "Environment of the flow run. No secrets: they are stored in plain text.",
            },
            "image": string(image, "Image with dr-syncer and Prefect (deployments/docker/Dockerfile)."),
            "image_pull_policy": string("IfNotPresent", "Kubernetes image pull policy."),
            "namespace": string(namespace, "Namespace of the flow-run Jobs."),
            "service_account_name": string(
                service_account, "Service account of the flow-run pods (reads kubeconfig Secrets if used)."
            ),
            "config_map": string(config_map, "ConfigMap holding the dr-syncer configuration files."),
            "keys_secret": string(keys_secret, "Secret with the key set's control-key and known_hosts."),
            "key_set": string(
                key_set, "ClusterMapping whose keys the Secret holds (drsyncer keys generate)."
            ),
            "finished_job_ttl": {
                "type": "integer",
                "default": 3600,
                "description": "Seconds a finished Job is kept before Kubernetes deletes it.",
            },
            "job_watch_timeout_seconds": {"type": "integer", "default": None},
            "pod_watch_timeout_seconds": {"type": "integer", "default": 300},
            "stream_output": {"type": "boolean", "default": True},
        },
    }


def _job_manifest(*, config_path: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"labels": "{{ labels }}", "namespace": "{{ namespace }}", "generateName": "{{ name }}-"},
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": "{{ finished_job_ttl }}",
            "template": {
                "spec": {
                    "parallelism": 1,
                    "completions": 1,
                    "restartPolicy": "Never",
                    "serviceAccountName": "{{ service_account_name }}",
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUN_AS_USER,
                        "runAsGroup": RUN_AS_USER,
                        "fsGroup": RUN_AS_USER,
                    },
                    "containers": [
                        {
                            "name": "prefect-job",
                            "env": "{{ env }}",
                            "image": "{{ image }}",
                            "imagePullPolicy": "{{ image_pull_policy }}",
                            "args": "{{ command }}",
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": [
                                {"name": "config", "mountPath": config_path, "readOnly": True},
                                {
                                    "name": "keys",
                                    "mountPath": f"{KEY_DIR}/{{{{ key_set }}}}",
                                    "readOnly": True,
                                },
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "config", "configMap": {"name": "{{ config_map }}"}},
                        {"name": "keys", "secret": {"secretName": "{{ keys_secret }}", "defaultMode": 0o400}},
                    ],
                }
            },
        },
    }


def kubernetes_job_template(
    *,
    image: str,
    namespace: str = "dr-syncer",
    service_account: str = "dr-syncer",
    env: dict[str, str] | None = None,
    config_map: str = "dr-syncer-config",
    config_path: str = "/etc/drsyncer",
    keys_secret: str = KEYS_SECRET,
    key_set: str = "source-to-dr",
) -> dict[str, Any]:
    """The work pool's base job template (``job_configuration`` + ``variables``), as JSON data.

    Args:
        image: Image with dr-syncer installed (the worker image of ``deployments/docker``).
        namespace: Namespace the flow-run Jobs run in.
        service_account: Their service account.
        env: Extra environment of every flow run (no secrets).
        config_map: ConfigMap with the configuration files, mounted at ``config_path``.
        config_path: Where the flow-run pods read the configuration (``drsyncer deploy --config-path``).
        keys_secret: Secret with the key set's files, mounted at ``KEY_DIR/<key_set>``.
        key_set: The ClusterMapping whose keys the Secret holds.
    """
    environment = {
        "PREFECT_TASKS_DEFAULT_NO_CACHE": "true",
        "DRSYNCER_KEY_DIR": KEY_DIR,
        HEARTBEAT_ENV: str(HEARTBEAT_SECONDS),
        **(env or {}),
    }
    return {
        "job_configuration": {
            "command": "{{ command }}",
            "env": "{{ env }}",
            "labels": "{{ labels }}",
            "name": "{{ name }}",
            "namespace": "{{ namespace }}",
            "job_manifest": _job_manifest(config_path=config_path),
            "cluster_config": None,
            "job_watch_timeout_seconds": "{{ job_watch_timeout_seconds }}",
            "pod_watch_timeout_seconds": "{{ pod_watch_timeout_seconds }}",
            "stream_output": "{{ stream_output }}",
        },
        "variables": copy.deepcopy(
            _variables(
                image=image,
                namespace=namespace,
                service_account=service_account,
                env=environment,
                config_map=config_map,
                keys_secret=keys_secret,
                key_set=key_set,
            )
        ),
    }
