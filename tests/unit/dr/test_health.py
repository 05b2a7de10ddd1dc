"""Probes: which workloads still have pods, which are ready, and deadlines driven by a fake clock."""

from __future__ import annotations

import pytest

from drsyncer.objects import KubeObject
from tasks.dr.health import ProbeTimeoutError, _wait, ready_state, stopped_state
from tests.factories import make_cronjob, make_daemonset, make_deployment


def _pod(app: str, name: str) -> KubeObject:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": app}}}


def _selecting(obj: KubeObject, app: str) -> KubeObject:
    obj["spec"]["selector"] = {"matchLabels": {"app": app}}
    return obj


def test_stopped_state_counts_the_pods_each_workload_selects() -> None:
    web = _selecting(make_deployment("web"), "web")
    db = _selecting(make_deployment("db"), "db")

    state = stopped_state([web, db, make_cronjob()], [_pod("web", "web-1"), _pod("web", "web-2")])

    assert state == {"Deployment/web": "2 pods left", "Deployment/db": "stopped"}


def test_ready_state_waits_for_every_wanted_replica() -> None:
    web = make_deployment("web", replicas=3)
    web["status"] = {"readyReplicas": 2, "observedGeneration": 1}
    web["metadata"]["generation"] = 1

    assert ready_state([web]) == {"Deployment/web": "2/3 ready"}


def test_ready_state_is_not_fooled_by_a_status_from_an_older_generation() -> None:
    agent = make_daemonset()
    agent["metadata"]["generation"] = 3
    agent["status"] = {"observedGeneration": 2, "desiredNumberScheduled": 0, "numberReady": 0}

    assert ready_state([agent]) == {"DaemonSet/agent": "spec not yet observed"}


def test_ready_state_of_a_daemonset_compares_ready_with_scheduled() -> None:
    agent = make_daemonset()
    agent["metadata"]["generation"] = 2
    agent["status"] = {"observedGeneration": 2, "desiredNumberScheduled": 2, "numberReady": 2}

    assert ready_state([agent]) == {"DaemonSet/agent": "ready"}


class FakeClock:
    """A clock that advances only when the probe sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_returns_once_the_probe_is_satisfied() -> None:
    clock = FakeClock()
    answers = iter([{"Deployment/web": "1 pods left"}, {"Deployment/web": "stopped"}])

    result = _wait(lambda: next(answers), what="x", timeout=10, clock=clock, sleep=clock.sleep)

    assert result.workloads == {"Deployment/web": "stopped"}
    assert len(clock.sleeps) == 1


def test_wait_names_the_pending_workloads_at_the_deadline() -> None:
    clock = FakeClock()

    with pytest.raises(ProbeTimeoutError, match=r"Deployment/web: 1/3 ready"):
        _wait(
            lambda: {"Deployment/web": "1/3 ready", "Deployment/db": "ready"},
            what="not ready",
            timeout=5,
            clock=clock,
            sleep=clock.sleep,
        )
    assert clock.now >= 5
