"""The agent's Kubernetes manifests for one cluster."""

from __future__ import annotations

from typing import Any

from agent.manifests import AgentSettings, render_agent_manifests


def _by_kind(settings: AgentSettings) -> dict[str, dict]:  # type: ignore[type-arg]
    return {obj["kind"]: obj for obj in render_agent_manifests(settings)}


def test_objects_come_in_apply_order_without_rbac() -> None:
    kinds = [obj["kind"] for obj in render_agent_manifests(AgentSettings(cluster="prod"))]

    assert kinds == ["Namespace", "ServiceAccount", "DaemonSet"]


def test_daemon_set_runs_sshd_on_the_port_with_the_kubelet_dir() -> None:
    ds = _by_kind(AgentSettings(cluster="prod", ssh_port=2345))["DaemonSet"]
    pod = ds["spec"]["template"]["spec"]
    container = pod["containers"][0]

    assert ds["metadata"]["name"] == "dr-syncer-agent"
    assert ds["metadata"]["namespace"] == "dr-syncer"
    assert pod["hostNetwork"] is True
    assert pod["automountServiceAccountToken"] is False
    assert container["ports"][0]["containerPort"] == 2345
    assert container["readinessProbe"]["tcpSocket"] == {"port": "ssh"}
    assert container["livenessProbe"]["tcpSocket"] == {"port": "ssh"}
    pods = next(m for m in container["volumeMounts"] if m["name"] == "pods")
    assert pods == {
        "name": "pods",
        "mountPath": "/var/lib/kubelet/pods",
        "mountPropagation": "HostToContainer",
        "readOnly": False,
    }
    assert container["securityContext"]["privileged"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    keys = next(v for v in pod["volumes"] if v["name"] == "keys")
    assert keys["secret"] == {"secretName": "dr-syncer-agent-keys", "defaultMode": 0o400}


def test_scheduling_comes_from_the_settings() -> None:
    settings = AgentSettings(
        cluster="dr",
        node_selector={"storage": "yes"},
        tolerations=[{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
        resources={"requests": {"cpu": "100m"}},
        priority_class_name="system-node-critical",
        keys_version="7",
    )
    pod_template = _by_kind(settings)["DaemonSet"]["spec"]["template"]
    pod = pod_template["spec"]

    assert pod["nodeSelector"] == {"storage": "yes"}
    assert pod["tolerations"][0]["key"] == "dedicated"
    assert pod["containers"][0]["resources"] == {"requests": {"cpu": "100m"}}
    assert pod["priorityClassName"] == "system-node-critical"
    assert pod_template["metadata"]["annotations"]["dr-syncer.io/keys-version"] == "7"
    assert pod_template["metadata"]["labels"]["dr-syncer.io/remote-cluster"] == "dr"


def test_defaults_leave_optional_scheduling_out() -> None:
    pod = _by_kind(AgentSettings(cluster="prod"))["DaemonSet"]["spec"]["template"]["spec"]

    assert "nodeSelector" not in pod
    assert "tolerations" not in pod
    assert "priorityClassName" not in pod


def test_agent_reaches_only_the_pods_dir_with_few_capabilities_and_seccomp() -> None:
    pod = _by_kind(AgentSettings(cluster="prod"))["DaemonSet"]["spec"]["template"]["spec"]
    container = pod["containers"][0]

    host_paths = [v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v]
    assert host_paths == ["/var/lib/kubelet/pods"]  # no kubelet PKI, device-plugin or plugin sockets
    context = container["securityContext"]
    assert not {"MKNOD", "KILL", "SYS_ADMIN", "NET_ADMIN"} & set(context["capabilities"]["add"])
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert context["allowPrivilegeEscalation"] is False
    listen = next(e for e in container["env"] if e["name"] == "LISTEN_ADDRESS")
    assert listen["valueFrom"] == {"fieldRef": {"fieldPath": "status.hostIP"}}


def test_a_source_only_cluster_mounts_the_pods_dir_read_only() -> None:
    container = _by_kind(AgentSettings(cluster="prod", source_only=True))["DaemonSet"]["spec"]["template"][
        "spec"
    ]["containers"][0]

    assert next(m for m in container["volumeMounts"] if m["name"] == "pods")["readOnly"] is True


def test_privileged_is_rendered_only_when_asked_for() -> None:
    def context(settings: AgentSettings) -> Any:
        return _by_kind(settings)["DaemonSet"]["spec"]["template"]["spec"]["containers"][0]["securityContext"]

    assert context(AgentSettings(cluster="prod"))["privileged"] is False
    assert context(AgentSettings(cluster="prod", privileged=True))["privileged"] is True
