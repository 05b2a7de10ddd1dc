"""Graceful pod termination: a deleted pod stays ``Terminating`` for its grace period, then goes.

Upstream (kube-apiserver's pod strategy ``CheckGracefulDelete`` and the kubelet): a DELETE of a pod does
not remove it. The server sets ``metadata.deletionTimestamp`` (now + the grace period) and
``metadata.deletionGracePeriodSeconds`` — the grace period is ``DeleteOptions.gracePeriodSeconds`` when
given, else the pod's ``spec.terminationGracePeriodSeconds`` (defaulted to 30) — and answers 200 with the
pod. The kubelet sends SIGTERM, waits at most the grace period, kills the containers and then deletes the
pod with grace 0; only then is it gone, unless finalizers hold it (it stays, terminating, until they are
removed). ``gracePeriodSeconds=0`` deletes at once, and so does deleting a pod that no node runs yet
or that already ended. Controllers do not count terminating pods as replicas.

The sandbox scales the time: a pod stays ``grace period × seconds_per_grace_second`` real seconds.
The default scale is 0 (pods go at once, as the sandbox always did); tests that need a real wait set it
per cluster, e.g. ``cluster.api.termination.seconds_per_grace_second = 0.05`` (30 s → 1.5 s). A timer per
terminating pod plays the kubelet, so pods go on time whether or not the background controllers run.
Pinned by ``tests/sandbox/test_termination.py``.
"""

from __future__ import annotations

import copy
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox.status import ApiError

if TYPE_CHECKING:
    from drsyncer.sandbox.api import Api

PODS = ("", "pods")
DEFAULT_GRACE_SECONDS = 30


def grace_period(pod: KubeObject, requested: Any) -> int:
    """The pod's grace period (upstream ``CheckGracefulDelete``): 0 for a pod not scheduled to a node or
    already terminated, else ``DeleteOptions.gracePeriodSeconds`` if given, else its spec's (30)."""
    spec = pod.get("spec") or {}
    phase = (pod.get("status") or {}).get("phase")
    if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
        return 0
    if requested is not None:
        return max(0, int(requested))
    return max(0, int(spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)))


def terminating(pod: KubeObject, grace: int, *, now: datetime) -> KubeObject:
    """A copy of ``pod`` marked for graceful deletion (deletionTimestamp = now + grace)."""
    marked = copy.deepcopy(pod)
    deadline = (now + timedelta(seconds=grace)).strftime("%Y-%m-%dT%H:%M:%SZ")
    marked["metadata"]["deletionTimestamp"] = deadline
    marked["metadata"]["deletionGracePeriodSeconds"] = grace
    return marked


class GracefulTermination:
    """The graceful-deletion rule and the kubelet's final delete, for one cluster's :class:`Api`."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.seconds_per_grace_second = 0.0
        """Real seconds per second of grace period; 0 deletes pods at once."""
        self._timers: dict[str, threading.Timer] = {}
        self._lock = threading.Lock()

    def begin(self, pod: KubeObject, requested: Any, *, dry_run: bool) -> KubeObject | None:
        """Mark ``pod`` terminating and schedule its removal; ``None`` when it is to go at once.

        Called with the store lock held, for a pod without ``deletionTimestamp``.
        """
        grace = grace_period(pod, requested)
        if grace == 0 or self.seconds_per_grace_second <= 0:
            return None
        marked = terminating(pod, grace, now=datetime.now(UTC))
        if dry_run:
            return marked
        stored = self.api.store.put(PODS, marked, event="MODIFIED")
        self._schedule(stored, grace * self.seconds_per_grace_second)
        return stored

    def _schedule(self, pod: KubeObject, delay: float) -> None:
        uid = str(pod["metadata"]["uid"])
        timer = threading.Timer(delay, self._kill, args=(pod,))
        timer.daemon = True
        with self._lock:
            self._timers[uid] = timer
        timer.start()

    def _kill(self, pod: KubeObject) -> None:
        """The kubelet's final delete: containers are gone; the pod goes unless finalizers hold it."""
        metadata = pod["metadata"]
        with self._lock:
            self._timers.pop(str(metadata["uid"]), None)
        resource = self.api.registry.by_key(PODS)
        assert resource is not None
        with self.api.store.lock:
            current = self.api.store.get(PODS, metadata.get("namespace", ""), metadata["name"])
            if current is None or current["metadata"]["uid"] != metadata["uid"]:
                return
            killed = copy.deepcopy(current)
            killed["metadata"]["deletionGracePeriodSeconds"] = 0
            try:
                self.api.update_internal(resource, killed)
            except ApiError:
                return
        self.api.kick()

    def pending(self) -> int:
        """How many pods are waiting out their grace period."""
        with self._lock:
            return len(self._timers)

    def reset(self) -> None:
        """Back to the default (pods go at once); scheduled final deletes are forgotten."""
        self.seconds_per_grace_second = 0.0
        self.cancel()

    def cancel(self) -> None:
        """Forget every scheduled final delete (cluster reset or stop)."""
        with self._lock:
            timers = list(self._timers.values())
            self._timers.clear()
        for timer in timers:
            timer.cancel()
