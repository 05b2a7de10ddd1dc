"""Aggregated APIs: API groups served by another server behind the kube-apiserver's aggregator.

A real cluster registers an ``apiregistration.k8s.io/v1`` ``APIService`` per group version. Built-in and
CRD groups are *Local* (``spec.service: null``); groups such as ``metrics.k8s.io`` (metrics-server),
``custom.metrics.k8s.io`` (KEDA, prometheus-adapter), ``packages.operators.coreos.com`` (OLM) or
``projectcalico.org`` (Calico's API server) name a Service the aggregator proxies to. ``/apis`` advertises
every registered group, whether its backend is up or not. When the backend is down, the aggregator
answers every request under ``/apis/<group>/<version>`` — the discovery document and the resources — with
``503`` and the plain-text body ``service unavailable`` (kube-aggregator ``handler_proxy.go``:
``proxyError(w, req, "service unavailable", http.StatusServiceUnavailable)``, i.e. ``http.Error``; no
``Status`` object), and the APIService reports ``Available=False``. A slow backend makes those requests
slow.

:class:`AggregatedApis` models that for one sandbox cluster: :meth:`AggregatedApis.add` serves a group
through the registry (so ``/apis`` lists it), creates its APIService, and :meth:`AggregatedApis.intercept`
is the server's hook that stalls or refuses requests to it. Local APIServices for the built-in groups are
created with the cluster's defaults (:meth:`AggregatedApis.install_local`).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from drsyncer.sandbox.api import Api
from drsyncer.sandbox.resources import ResourceType

APISERVICES = ("apiregistration.k8s.io", "apiservices")
UNAVAILABLE_TEXT = "service unavailable\n"
READ_ONLY_VERBS = ("get", "list")
_TIMESTAMP = "2026-01-01T00:00:00Z"


@dataclass(frozen=True)
class ProxyRefusal:
    """The aggregator's answer for a group whose backend is down: a plain-text 503."""

    code: int = 503
    text: str = UNAVAILABLE_TEXT
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = (("X-Content-Type-Options", "nosniff"),)


@dataclass(frozen=True)
class AggregatedGroup:
    """One aggregated group version and the state of its backend."""

    group: str
    version: str
    available: bool
    latency: float

    @property
    def prefix(self) -> str:
        """The path prefix the aggregator proxies: ``/apis/<group>/<version>``."""
        return f"/apis/{self.group}/{self.version}"


@dataclass
class AggregatedApis:
    """The aggregated groups of one sandbox cluster; thread-safe."""

    api: Api
    _groups: dict[tuple[str, str], AggregatedGroup] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        group: str,
        version: str,
        resources: Sequence[tuple[str, str, bool, tuple[str, ...]]],
        *,
        available: bool = False,
        latency: float = 0.0,
        service: tuple[str, str] | None = None,
    ) -> AggregatedGroup:
        """Serve ``group/version`` through the aggregator.

        Args:
            group: the API group, e.g. ``custom.metrics.k8s.io``.
            version: its version, e.g. ``v1beta1``.
            resources: ``(kind, plural, namespaced, verbs)`` per resource it advertises.
            available: whether the backend answers (``False``: every request gets the 503).
            latency: seconds every request to the group takes before it is answered.
            service: ``(namespace, name)`` of the backend Service (default ``kube-system/<group>``).
        """
        served = [
            ResourceType(group, version, kind, plural, namespaced, verbs=tuple(verbs), custom=True)
            for kind, plural, namespaced, verbs in resources
        ]
        self.api.registry.register(served)
        entry = AggregatedGroup(group=group, version=version, available=available, latency=latency)
        with self._lock:
            self._groups[(group, version)] = entry
        namespace, name = service or ("kube-system", group.split(".", maxsplit=1)[0])
        self._put_apiservice(
            group,
            version,
            service={"namespace": namespace, "name": name, "port": 443},
            available=available,
        )
        return entry

    def install_local(self) -> None:
        """One Local APIService per built-in group version (``spec.service: null``), as a real cluster has."""
        for group, versions in self.api.registry.group_versions().items():
            for version in versions:
                self._put_apiservice(group, version, service=None, available=True)

    def intercept(self, path: str) -> ProxyRefusal | None:
        """The aggregator's hook for one request: stall for a slow group, refuse for an unavailable one."""
        with self._lock:
            groups = list(self._groups.values())
        for entry in groups:
            if path == entry.prefix or path.startswith(entry.prefix + "/"):
                if entry.latency:
                    time.sleep(entry.latency)
                return None if entry.available else ProxyRefusal()
        return None

    def reset(self) -> None:
        """Forget every aggregated group (their kinds go with the registry's reset)."""
        with self._lock:
            self._groups.clear()

    def _put_apiservice(
        self, group: str, version: str, *, service: dict[str, object] | None, available: bool
    ) -> None:
        resource = self.api.registry.lookup(APISERVICES[0], "v1", APISERVICES[1])
        if resource is None:
            return
        name = f"{version}.{group}" if group else version
        spec: dict[str, object] = {
            "group": group,
            "version": version,
            "groupPriorityMinimum": 18000 if service is None else 100,
            "versionPriority": 15 if service is None else 100,
        }
        if service is not None:
            spec["service"] = service
            spec["insecureSkipTLSVerify"] = True
        condition = (
            {"reason": "Local", "message": "Local APIServices are always available", "status": "True"}
            if service is None
            else {"reason": "Passed", "message": "all checks passed", "status": "True"}
            if available
            else {
                "reason": "FailedDiscoveryCheck",
                "message": f"failing or missing response from https://{service['name']}.{service['namespace']}"
                f".svc:443/apis/{group}/{version}: bad status from "
                f"https://{service['name']}.{service['namespace']}.svc:443/apis/{group}/{version}: 503",
                "status": "False",
            }
        )
        obj = {
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": {"name": name},
            "spec": spec,
        }
        existing = self.api.store.get(APISERVICES, "", name)
        if existing is None:
            stored = self.api.create_internal(resource, obj, manager="kube-apiserver")
        else:
            stored = existing
        status = {"conditions": [{"type": "Available", "lastTransitionTime": _TIMESTAMP, **condition}]}
        updated = copy.deepcopy(stored)
        updated.update(spec=spec, status=status)
        self.api.store.put(APISERVICES, updated, event="MODIFIED")
