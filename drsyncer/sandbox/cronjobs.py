"""The CronJob controller, ticked by tests instead of a wall-clock schedule.

kube-controller-manager's ``cronjob`` controller creates a Job from ``spec.jobTemplate`` each time the
schedule fires: named ``<cronjob>-<scheduled time in minutes since the epoch>``, with a controller
ownerReference to the CronJob, the template's labels and annotations plus
``batch.kubernetes.io/cronjob-scheduled-timestamp``; the CronJob's ``status.lastScheduleTime`` and
``status.active`` follow. A suspended CronJob creates nothing; ``concurrencyPolicy: Forbid`` skips a
tick while a Job of it is still running.

The sandbox does not read the cron expression: ``cluster.cronjobs.tick()`` means "every unsuspended
CronJob's schedule fires now" (now = the jobs clock, ``cluster.jobs.now()``; ``tick(at=...)`` picks the
time). The Jobs it creates are then run by the Job controller (``jobs.py``) like any other.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox.api import Api
from drsyncer.sandbox.jobs import TIME_FORMAT, finished
from drsyncer.sandbox.owner_references import controlled_by, controller_reference, deleting

MANAGER = "kube-controller-manager"
CRONJOBS = ("batch", "cronjobs")
JOBS = ("batch", "jobs")
SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"


class CronJobController:
    """Creates a CronJob's Jobs when a test ticks it."""

    def __init__(self, api: Api, clock: Callable[[], datetime]) -> None:
        self.api = api
        self.clock = clock

    def tick(self, *, at: datetime | None = None) -> list[KubeObject]:
        """Fire every unsuspended CronJob's schedule at ``at`` (default: now); returns the Jobs created."""
        scheduled = at or self.clock()
        created = []
        for cronjob in self.api.store.list(CRONJOBS):
            if deleting(cronjob) or (cronjob.get("spec") or {}).get("suspend"):
                continue
            job = self._fire(cronjob, scheduled)
            if job is not None:
                created.append(job)
        return created

    def _fire(self, cronjob: KubeObject, scheduled: datetime) -> KubeObject | None:
        store = self.api.store
        namespace = cronjob["metadata"]["namespace"]
        spec = cronjob["spec"]
        running = [j for j in store.list(JOBS, namespace) if controlled_by(j, cronjob) and not finished(j)]
        if running and spec.get("concurrencyPolicy") == "Forbid":
            return None
        name = f"{cronjob['metadata']['name']}-{int(scheduled.timestamp() // 60)}"
        if store.get(JOBS, namespace, name) is not None:
            return None
        template = spec.get("jobTemplate") or {}
        template_metadata: dict[str, Any] = copy.deepcopy(template.get("metadata") or {})
        stamp = scheduled.strftime(TIME_FORMAT)
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": namespace,
            "labels": template_metadata.get("labels") or {},
            "annotations": {**(template_metadata.get("annotations") or {}), SCHEDULED_TIMESTAMP: stamp},
            "ownerReferences": [controller_reference(cronjob)],
        }
        if not metadata["labels"]:
            del metadata["labels"]
        job_type = self.api.registry.by_key(JOBS)
        assert job_type is not None
        job = self.api.create_internal(
            job_type,
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": metadata,
                "spec": copy.deepcopy(template.get("spec") or {}),
            },
            manager=MANAGER,
        )
        updated = copy.deepcopy(store.get(CRONJOBS, namespace, cronjob["metadata"]["name"]) or cronjob)
        status = updated.setdefault("status", {})
        status["lastScheduleTime"] = stamp
        status["active"] = [
            *[r for r in status.get("active") or [] if r.get("name") != name],
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": name,
                "namespace": namespace,
                "uid": job["metadata"]["uid"],
                "resourceVersion": job["metadata"]["resourceVersion"],
            },
        ]
        cronjob_type = self.api.registry.by_key(CRONJOBS)
        assert cronjob_type is not None
        self.api.update_internal(cronjob_type, updated)
        return job
