"""The Job controller and the TTL-after-finished controller, with a clock tests can move.

As kube-controller-manager's ``job`` controller:

- an unsuspended Job gets pods (``<job>-xxxxx``, a controller ownerReference, the template's labels)
  up to ``parallelism`` and until ``completions`` have succeeded. The sandbox's containers exit 0 at
  once: a Running Job pod becomes ``Succeeded``. The Job's status follows: ``startTime``, ``active``,
  ``ready``, ``succeeded``, ``uncountedTerminatedPods``, and when done ``completionTime`` and condition
  ``Complete``;
- a Job with ``spec.suspend: true`` starts nothing (running pods are deleted) and has condition
  ``Suspended`` (reason ``JobSuspended``); unsuspending it starts it.

As the ``ttl-after-finished`` controller: a finished Job (condition ``Complete`` or ``Failed``) with
``spec.ttlSecondsAfterFinished`` is deleted (propagation Foreground) once that many seconds have passed
since it finished on this module's clock: ``cluster.jobs.advance(seconds)`` moves it (0 = at once).
"""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox.api import Api
from drsyncer.sandbox.owner_references import controlled_by, controller_reference, deleting

MANAGER = "kube-controller-manager"
JOBS = ("batch", "jobs")
PODS = ("", "pods")
FINISHED = ("Complete", "Failed")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def finished(job: KubeObject) -> bool:
    """Whether a Job has a true ``Complete`` or ``Failed`` condition."""
    return any(
        c.get("type") in FINISHED and c.get("status") == "True"
        for c in (job.get("status") or {}).get("conditions") or []
    )


def _pod_name(job: KubeObject, index: int, version: int) -> str:
    digest = hashlib.sha256(f"{job['metadata']['uid']}-{index}-{version}".encode()).digest()
    return f"{job['metadata']['name']}-" + "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:5])


class JobController:
    """Runs Jobs to completion and deletes finished ones whose TTL has passed."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self._offset = timedelta()

    # ------------------------------------------------------------ clock

    def now(self) -> datetime:
        """The controllers' clock: wall time plus every ``advance()``."""
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward (TTL-after-finished and the CronJob controller read it)."""
        self._offset += timedelta(seconds=seconds)

    def reset(self) -> None:
        """Back to wall time."""
        self._offset = timedelta()

    def _stamp(self) -> str:
        return self.now().strftime(TIME_FORMAT)

    # ------------------------------------------------------------ reconcile

    def reconcile(self) -> None:
        """One pass over every Job."""
        for job in self.api.store.list(JOBS):
            if deleting(job):
                continue
            if finished(job):
                self._expire(job)
            elif (job.get("spec") or {}).get("suspend"):
                self._suspend(job)
            else:
                self._run(job)

    def _pods(self, job: KubeObject) -> list[KubeObject]:
        pods = self.api.store.list(PODS, job["metadata"]["namespace"])
        return [p for p in pods if controlled_by(p, job) and not deleting(p)]

    def _run(self, job: KubeObject) -> None:
        spec = job["spec"]
        pod_type = self.api.registry.by_key(PODS)
        assert pod_type is not None
        pods = self._pods(job)
        for pod in pods:
            if (pod.get("status") or {}).get("phase") == "Running":
                self._exit_zero(pod_type, pod)
        pods = self._pods(job)
        succeeded = sum(1 for p in pods if p.get("status", {}).get("phase") == "Succeeded")
        active = [p for p in pods if p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]
        completions = spec.get("completions")
        remaining = (completions if completions is not None else 1) - succeeded
        wanted = max(0, min(spec.get("parallelism", 1), remaining))
        for index in range(len(active), wanted):
            self._new_pod(job, index)
        status = copy.deepcopy(job.get("status") or {})
        status.setdefault("startTime", self._stamp())
        status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "Suspended"]
        status.update(
            {
                "active": len(active),
                "ready": sum(1 for p in active if p.get("status", {}).get("phase") == "Running"),
                "succeeded": succeeded,
                "terminating": 0,
                "uncountedTerminatedPods": {},
            }
        )
        if remaining <= 0 and not active:
            stamp = self._stamp()
            status["completionTime"] = stamp
            status["conditions"].append(
                {
                    "type": "Complete",
                    "status": "True",
                    "lastProbeTime": stamp,
                    "lastTransitionTime": stamp,
                }
            )
        self._write_status(job, status)

    def _suspend(self, job: KubeObject) -> None:
        pod_type = self.api.registry.by_key(PODS)
        assert pod_type is not None
        for pod in self._pods(job):
            if pod.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
                self.api.delete_internal(pod_type, pod)
        status = copy.deepcopy(job.get("status") or {})
        status.pop("startTime", None)
        status["active"] = 0
        conditions = status.setdefault("conditions", [])
        if not any(c.get("type") == "Suspended" and c.get("status") == "True" for c in conditions):
            stamp = self._stamp()
            conditions[:] = [c for c in conditions if c.get("type") != "Suspended"]
            conditions.append(
                {
                    "type": "Suspended",
                    "status": "True",
                    "reason": "JobSuspended",
                    "message": "Job suspended",
                    "lastProbeTime": stamp,
                    "lastTransitionTime": stamp,
                }
            )
        self._write_status(job, status)

    def _expire(self, job: KubeObject) -> None:
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        done = (job.get("status") or {}).get("completionTime") or max(
            c.get("lastTransitionTime", "") for c in job["status"]["conditions"] if c.get("type") in FINISHED
        )
        finished_at = datetime.strptime(done, TIME_FORMAT).replace(tzinfo=UTC)
        if self.now() >= finished_at + timedelta(seconds=ttl):
            job_type = self.api.registry.by_key(JOBS)
            assert job_type is not None
            self.api.delete_internal(job_type, job, propagation="Foreground")

    def _new_pod(self, job: KubeObject, index: int) -> None:
        template = job["spec"].get("template") or {}
        metadata: dict[str, Any] = copy.deepcopy(template.get("metadata") or {})
        name = _pod_name(job, index, self.api.store.resource_version)
        metadata.update(
            {
                "name": name,
                "namespace": job["metadata"]["namespace"],
                "ownerReferences": [controller_reference(job)],
            }
        )
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": metadata,
            "spec": copy.deepcopy(template["spec"]),
        }
        pod_type = self.api.registry.by_key(PODS)
        assert pod_type is not None
        if self.api.store.get(PODS, metadata["namespace"], name) is None:
            self.api.create_internal(pod_type, pod, manager=MANAGER)

    def _exit_zero(self, pod_type: Any, pod: KubeObject) -> None:
        """The sandbox's containers exit 0 as soon as they run (no ``job-tracking`` finalizer is modelled)."""
        updated = copy.deepcopy(pod)
        status = updated.setdefault("status", {})
        status["phase"] = "Succeeded"
        status["conditions"] = [
            {**c, "status": "False", "reason": "PodCompleted"}
            if c.get("type") in ("Ready", "ContainersReady")
            else c
            for c in status.get("conditions") or []
        ]
        self.api.update_internal(pod_type, updated)

    def _write_status(self, job: KubeObject, status: dict[str, Any]) -> None:
        if job.get("status") == status:
            return
        updated = copy.deepcopy(job)
        updated["status"] = status
        job_type = self.api.registry.by_key(JOBS)
        assert job_type is not None
        self.api.update_internal(job_type, updated)
