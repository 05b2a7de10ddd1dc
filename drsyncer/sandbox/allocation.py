"""Service clusterIP and nodePort allocation, per cluster, with the real server's conflict errors.

Each cluster has its own service CIDR (so the same Service gets a different IP on source and DR, as in
real life). Used addresses and ports are read from the stored Services on every allocation, so deletes
and ``reset()`` free them without bookkeeping. Errors are 422 causes worded like kube-apiserver's.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox.status import Cause, invalid_value

NODE_PORT_RANGE = (30000, 32767)


class Allocator:
    """Allocates clusterIPs from ``cidr`` and nodePorts from 30000-32767."""

    def __init__(self, cidr: str) -> None:
        self.network = ipaddress.ip_network(cidr)
        self._next_ip = 10
        self._next_port = NODE_PORT_RANGE[0]

    def first_ip(self) -> str:
        """The address of the ``kubernetes`` Service (first host of the range)."""
        return str(self.network.network_address + 1)

    def assign(
        self, spec: dict[str, Any], others: list[KubeObject], *, old: dict[str, Any] | None
    ) -> list[Cause]:
        """Fill in clusterIP(s) and nodePorts of a Service ``spec``; return conflicts as causes."""
        causes: list[Cause] = []
        used_ips: set[str] = set()
        used_ports: set[int] = set()
        for other in others:
            other_spec = other.get("spec", {})
            used_ips.update(ip for ip in other_spec.get("clusterIPs") or [other_spec.get("clusterIP")] if ip)
            used_ports.update(p["nodePort"] for p in other_spec.get("ports") or [] if p.get("nodePort"))
        if spec.get("type") != "ExternalName":
            causes += self._assign_ip(spec, used_ips, old=old)
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            _keep_allocated_ports(spec, old)
            causes += self._assign_ports(spec, used_ports, old=old)
        else:
            for port in spec.get("ports") or []:
                port.pop("nodePort", None) if not port.get("nodePort") else None
        return causes

    def _assign_ip(self, spec: dict[str, Any], used: set[str], *, old: dict[str, Any] | None) -> list[Cause]:
        requested = spec.get("clusterIP") or (spec.get("clusterIPs") or [""])[0]
        if old is not None and old.get("clusterIP"):
            if not requested:
                spec["clusterIP"] = old["clusterIP"]
                spec["clusterIPs"] = old.get("clusterIPs") or [old["clusterIP"]]
            return []
        if requested == "None":
            spec["clusterIP"], spec["clusterIPs"] = "None", ["None"]
            return []
        if requested:
            try:
                address = ipaddress.ip_address(requested)
            except ValueError:
                return [
                    invalid_value(
                        "spec.clusterIPs[0]",
                        requested,
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                    )
                ]
            if address not in self.network:
                return [
                    invalid_value(
                        "spec.clusterIPs",
                        [requested],
                        f"failed to allocate IP {requested}: the provided "
                        f"IP ({requested}) is not in the valid range. "
                        f"The range of valid IPs is {self.network}",
                    )
                ]
            if requested in used:
                return [
                    invalid_value(
                        "spec.clusterIPs",
                        [requested],
                        f"failed to allocate IP {requested}: provided IP is already allocated",
                    )
                ]
            spec["clusterIP"], spec["clusterIPs"] = requested, [requested]
            return []
        hosts = self.network.num_addresses - 2
        for _ in range(hosts):
            candidate = str(self.network.network_address + self._next_ip)
            self._next_ip = self._next_ip % hosts + 1
            if candidate not in used:
                spec["clusterIP"], spec["clusterIPs"] = candidate, [candidate]
                return []
        return [Cause("spec.clusterIPs", "Internal error: range is full", "FieldValueInvalid")]

    def _assign_ports(
        self, spec: dict[str, Any], used: set[int], *, old: dict[str, Any] | None
    ) -> list[Cause]:
        causes: list[Cause] = []
        old_ports = {p.get("nodePort") for p in (old or {}).get("ports") or [] if p.get("nodePort")}
        low, high = NODE_PORT_RANGE
        taken = set(used)
        for index, port in enumerate(spec.get("ports") or []):
            wanted = port.get("nodePort")
            if wanted:
                if not low <= wanted <= high:
                    causes.append(
                        invalid_value(
                            f"spec.ports[{index}].nodePort",
                            wanted,
                            "provided port is not in the valid range. "
                            f"The range of valid ports is {low}-{high}",
                        )
                    )
                elif wanted in taken and wanted not in old_ports:
                    causes.append(
                        invalid_value(
                            f"spec.ports[{index}].nodePort", wanted, "provided port is already allocated"
                        )
                    )
                taken.add(wanted)
                continue
            for _ in range(high - low + 1):
                candidate = self._next_port
                self._next_port = low if candidate >= high else candidate + 1
                if candidate not in taken:
                    port["nodePort"] = candidate
                    taken.add(candidate)
                    break
        return causes


def _keep_allocated_ports(spec: dict[str, Any], old: dict[str, Any] | None) -> None:
    """kube-apiserver's ``patchAllocatedValues``: a port sent without nodePort keeps the old one of its name.

    Only when the old Service had nodePorts too, and never a value another port of the new spec claims.
    """
    if old is None or old.get("type") not in ("NodePort", "LoadBalancer"):
        return
    ports = spec.get("ports") or []
    claimed = {p.get("nodePort") for p in ports if p.get("nodePort")}
    previous = {p.get("name", ""): p.get("nodePort") for p in old.get("ports") or [] if p.get("nodePort")}
    for port in ports:
        kept = previous.get(port.get("name", ""))
        if not port.get("nodePort") and kept and kept not in claimed:
            port["nodePort"] = kept
            claimed.add(kept)
