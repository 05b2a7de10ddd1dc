"""DR day on the sandbox: stage, a scheduled sync, cutover and failback through the ``drsyncer`` CLI, with
real agents (sshd + rsync) and real data, next to a naive kubectl + rsync runbook in the same run.

Run: ``.venv/bin/python benchmarks/dr_day.py [--objects 200] [--pvcs 4] [--mib 64] [--no-docs]``.

One source and one DR sandbox cluster (two nodes each, background kubelets and controllers, agents on
every node for both directions) hold two identical namespaces: ``bench`` for dr-syncer and
``bench-naive`` for the baseline. Each has N objects: K Deployments (1 replica) that each mount one of K
PVCs holding M/K MiB of mixed incompressible files, K Services, the rest ConfigMaps and Secrets.

**dr-syncer** (what users run, each a subprocess with ``--output json`` on dr-syncer's local Prefect
server, started first and timed apart):

1. ``drsyncer stage --migrate-pvc-data``: the first sync (objects, then all data);
2. ~1 % of every volume changes, then ``drsyncer sync``: the last scheduled sync (a delta);
3. writes after that sync: a new file and a rewritten file in every volume, a new ConfigMap, and the
   app's last words (a file each app pod writes as it exits, i.e. during the cutover);
4. ``drsyncer cutover --yes``: the RTO, from the command to DR ready, split by step (each step ends at
   its ``step NAME:`` line in the run log in the Prefect API; "CLI start-up" is the command's start to
   the flow run's, "report + exit" the last step to the command's exit), and the run's per-PVC log
   lines. Asserted: every write of step 3 is in DR, and every DR volume equals its source;
5. ~1 % of every DR volume changes, then ``drsyncer failback --yes``: bytes moved back DR → source as a
   share of the volume.

**Naive baseline**, in the order a person runs it, on ``bench-naive``: ``kubectl get -o json | cleanup
(server fields, clusterIPs, PVC binding, replicas → 0) | kubectl apply --server-side``; for each PVC a
Running pod that mounts it on both sides (an ``rsync`` helper pod where none does: DR at rest, the source
stopped), plain ``rsync -a --delete -e ssh`` pulling from the source node's agent into the DR mount (the
same agents, keys and dirs the product uses), helpers deleted; for cutover ``kubectl scale --replicas=0``,
``kubectl wait --for=delete`` on the pods, the final rsync, the objects again, ``kubectl scale`` to the
recorded counts, ``kubectl rollout status``; failback the same the other way.

Pod termination grace periods are scaled (30 s → 1.5 s) like the e2e tests. Writes
``docs/benchmarks.md`` and its charts (``docs/images/dr-day-*.png``) unless ``--no-docs``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.pvc_data import MIB, change_one_percent, generate  # noqa: E402
from benchmarks.resource_sync import CliRunner  # noqa: E402
from drsyncer.demo import node_specs  # noqa: E402
from drsyncer.keys import known_hosts_file, pull_key_file  # noqa: E402
from drsyncer.objects import KubeObject  # noqa: E402
from drsyncer.sandbox import FakeCluster  # noqa: E402
from drsyncer.sandbox.agent_pods import start_agents_with_pods  # noqa: E402
from drsyncer.sandbox.agents import AgentSet, cluster_port  # noqa: E402
from drsyncer.sandbox.config_files import remote_cluster_yaml  # noqa: E402
from tasks.data.rsync_command import SshTransport, ssh_argv  # noqa: E402
from tasks.data.rsync_stats import parse_stats  # noqa: E402

KUBECTL = "/usr/bin/kubectl"
PRODUCT_NS = "bench"
NAIVE_NS = "bench-naive"
MAPPING = "bench"
FORWARD_KEYS = "source-to-dr"
REVERSE_KEYS = "dr-to-source"
GRACE_SCALE = 0.05
"""Sandbox seconds per second of a pod's termination grace period (30 s → 1.5 s), as in the e2e tests."""
NAIVE_KINDS = "configmaps,secrets,services,persistentvolumeclaims,deployments"
HELPER_LABEL = "dr-day/helper"
CSI_DIR = "kubernetes.io~csi"
DOCS = ROOT / "docs"
PRODUCT = "dr-syncer"
NAIVE = "naive baseline"
FIRST = "first sync (stage)"
DELTA = "scheduled sync after a ~1 % change"
CUTOVER = "cutover RTO (command → DR ready)"
LOSS = "data-loss window: writes after the last scheduled sync"
FAILBACK = "failback after a ~1 % change in DR"


# --- the namespace -----------------------------------------------------------------------------------


def app_name(index: int) -> str:
    """The name of app ``index`` (its Deployment, Service and PVC)."""
    return f"app-{index:02d}"


def namespace_objects(namespace: str, *, objects: int, pvcs: int) -> list[KubeObject]:
    """``objects`` objects: per app a PVC, a Deployment mounting it and a Service; then ConfigMaps and
    Secrets (3:2) for the rest."""
    found: list[KubeObject] = []
    for index in range(pvcs):
        name = app_name(index)
        labels = {"app": name, "tier": "app"}
        found.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": "standard",
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
        )
        found.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "containers": [
                                {
                                    "name": "app",
                                    "image": "nginx:1.27",
                                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                                }
                            ],
                            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": name}}],
                        },
                    },
                },
            }
        )
        found.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80}]},
            }
        )
    for index in range(max(objects - len(found), 0)):
        metadata = {"name": f"config-{index:04d}", "namespace": namespace, "labels": {"team": "shop"}}
        if index % 5 < 3:
            found.append(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": metadata,
                    "data": {"k": f"v{index}" * 8},
                }
            )
        else:
            found.append(
                {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": "Opaque", "data": {}}
            )
    return found


def poll(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Wait with a deadline until ``check()`` holds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def ready(cluster: FakeCluster, namespace: str, name: str, count: int) -> bool:
    """Whether Deployment ``name`` reports ``count`` ready replicas."""
    found = cluster.get("apps/v1", "Deployment", name, namespace) or {}
    return int((found.get("status") or {}).get("readyReplicas", 0)) == count


def volume(cluster: FakeCluster, namespace: str, claim: str) -> Path:
    """The backing directory of ``claim``'s volume (a symlink to the pod's mount while mounted)."""
    found = cluster.get("v1", "PersistentVolumeClaim", claim, namespace) or {}
    name = (found.get("spec") or {}).get("volumeName")
    if not name:
        raise RuntimeError(f"claim {namespace}/{claim} is not bound in {cluster.name}")
    return cluster.kubelet.volume_dir(str(name))


def tree(root: Path) -> dict[str, bytes]:
    """Relative path → content of every file under ``root``."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def seed_namespace(cluster: FakeCluster, namespace: str, *, objects: int, pvcs: int, mib: int) -> int:
    """Create the namespace, wait for its apps, fill their volumes (same seed per app); the bytes written."""
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    for obj in namespace_objects(namespace, objects=objects, pvcs=pvcs):
        cluster.create(obj)
    total = 0
    for index in range(pvcs):
        name = app_name(index)
        poll(functools.partial(ready, cluster, namespace, name, 1), timeout=60, what=f"{name} ready")
        _, written = generate(volume(cluster, namespace, name), size_mib=max(mib // pvcs, 1), seed=index)
        total += written
    return total


def change_volumes(cluster: FakeCluster, namespace: str, *, pvcs: int, seed: int) -> int:
    """Rewrite ~1 % of every volume of ``namespace``; the bytes changed."""
    changed = 0
    for index in range(pvcs):
        root = volume(cluster, namespace, app_name(index))
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        changed += change_one_percent(root, total_bytes=size, seed=seed + index)
    return changed


@dataclass
class LateWrites:
    """Writes made after the last sync: what DR must hold after the cutover."""

    cluster: FakeCluster
    namespace: str
    pvcs: int
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)
    exits: int = 0
    last_write: float = 0.0
    """Wall clock of the last write (an app pod's last words, during the cutover)."""

    def write(self) -> None:
        """A new file and a rewritten file in every volume, and a new ConfigMap."""
        stamp = datetime.now(UTC).isoformat()
        for index in range(self.pvcs):
            claim = app_name(index)
            root = volume(self.cluster, self.namespace, claim)
            for relative in ("after-last-sync.txt", "large/blob-00.bin"):
                content = f"{claim} {relative} written at {stamp}\n".encode()
                (root / relative).write_bytes(content)
                self.files[(claim, relative)] = content
        self.cluster.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "after-last-sync", "namespace": self.namespace},
                "data": {"written": stamp},
            }
        )
        self.last_write = time.time()

    @property
    def count(self) -> int:
        """Writes made: files plus the ConfigMap."""
        return len(self.files) + 1

    def outcome(self, dr: FakeCluster, *, since: float) -> str:
        """How many late writes DR holds, and the window they span from ``since`` (the last sync's start)."""
        held = self.count - len(self.missing_in(dr))
        return f"{held}/{self.count} writes in DR, made up to {self.last_write - since:.1f} s after it began"

    def last_words(self, resource: Any, obj: KubeObject) -> None:
        """The app's flush on SIGTERM: each app pod writes ``last-words.txt`` as it goes."""
        labels = obj["metadata"].get("labels") or {}
        if resource.key != ("", "pods") or obj["metadata"].get("namespace") != self.namespace:
            return
        if labels.get("tier") != "app":
            return
        claim = str(labels["app"])
        content = f"{obj['metadata']['name']} stopped\n".encode()
        (volume(self.cluster, self.namespace, claim) / "last-words.txt").write_bytes(content)
        self.files[(claim, "last-words.txt")] = content
        self.exits += 1
        self.last_write = time.time()

    def missing_in(self, dr: FakeCluster) -> list[str]:
        """The late writes DR does not hold (empty: no data loss)."""
        missing = [
            f"{claim}/{relative}"
            for (claim, relative), content in self.files.items()
            if tree(volume(dr, self.namespace, claim)).get(relative) != content
        ]
        if dr.get("v1", "ConfigMap", "after-last-sync", self.namespace) is None:
            missing.append("ConfigMap/after-last-sync")
        return missing


# --- the world ---------------------------------------------------------------------------------------


@dataclass
class World:
    """The two sandbox clusters, their agents, kubeconfigs and the product's configuration."""

    source: FakeCluster
    dr: FakeCluster
    agents: AgentSet
    workdir: Path
    config: Path

    def kubeconfig(self, cluster: FakeCluster) -> Path:
        return self.workdir / f"{cluster.name}.kubeconfig"

    def stop(self) -> None:
        self.agents.stop()
        self.source.close()
        self.dr.close()


def start_world(workdir: Path) -> World:
    """Start both clusters with background controllers and agents for both directions."""
    source = FakeCluster("source", nodes=node_specs(workdir, "source", 131), background=True).start()
    dr = FakeCluster("dr", nodes=node_specs(workdir, "dr", 132), background=True).start()
    for cluster in (source, dr):
        cluster.api.termination.seconds_per_grace_second = GRACE_SCALE
    try:
        agents = start_agents_with_pods(
            (source, dr),
            [(FORWARD_KEYS, "source", "dr"), (REVERSE_KEYS, "dr", "source")],
            work_dir=workdir / "agents",
        )
    except BaseException:
        source.close()
        dr.close()
        raise
    for cluster in (source, dr):
        cluster.write_kubeconfig(workdir / f"{cluster.name}.kubeconfig", cluster.name)
    config = workdir / "dr-syncer.yaml"
    remotes = [
        remote_cluster_yaml(name, workdir / f"{name}.kubeconfig", ssh_port=cluster_port(agents, name))
        for name in ("source", "dr")
    ]
    config.write_text(
        f"""{remotes[0]}---
{remotes[1]}---
apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata: {{name: {MAPPING}}}
spec:
  sourceCluster: source
  destinationCluster: dr
  sourceNamespace: {PRODUCT_NS}
  replicationMode: Scheduled
  schedule: "*/5 * * * *"
  pvcConfig: {{syncData: true}}
""",
        encoding="utf-8",
    )
    return World(source=source, dr=dr, agents=agents, workdir=workdir, config=config)


# --- timing ------------------------------------------------------------------------------------------


@dataclass
class Step:
    """One step of an operation: seconds from the command's start."""

    name: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


class Timeline:
    """Steps of a naive runbook, timed as they run."""

    def __init__(self) -> None:
        self.began = time.perf_counter()
        self.steps: list[Step] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter() - self.began
        yield
        self.steps.append(Step(name, started, time.perf_counter() - self.began))

    @property
    def total(self) -> float:
        return self.steps[-1].end if self.steps else 0.0


def _parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def product_steps(runner: CliRunner, document: dict[str, Any], *, began: float, ended: float) -> list[Step]:
    """The operation's steps with sub-second times, framed by the command's start-up and exit.

    Each step ends when the flow logs ``step NAME: outcome`` (the run log in the Prefect API, stamped to the
    millisecond) and starts where the one before it ended; the first starts with the flow run (so it
    includes opening both clusters' sessions). ``began``/``ended``: the command's wall clock.
    """
    run_id = document["flowRunId"]
    wanted = [record["step"] for record in document["steps"]]
    deadline = time.monotonic() + 20  # logs reach the API in batches, shortly after the command
    while True:
        logs = runner.api(
            "/logs/filter",
            {"logs": {"flow_run_id": {"any_": [run_id]}}, "sort": "TIMESTAMP_ASC", "limit": 200},
        )
        ends: dict[str, float] = {}
        for log in logs:
            message = str(log["message"])
            if message.startswith("step ") and ":" in message:
                ends.setdefault(message[5 : message.index(":")], _parse_time(log["timestamp"]))
        if set(wanted) <= set(ends) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    missing = [step for step in wanted if step not in ends]
    if missing:
        raise RuntimeError(f"no 'step NAME:' log line in the Prefect API for {missing}")
    runs = runner.api("/flow_runs/filter", {"flow_runs": {"id": {"any_": [run_id]}}, "limit": 1})
    flow_start = _parse_time(runs[0]["start_time"]) - began
    steps = [Step("CLI start-up", 0.0, flow_start)]
    previous = flow_start
    for step in wanted:
        steps.append(Step(step, previous, ends[step] - began))
        previous = ends[step] - began
    steps.append(Step("report + exit", previous, ended - began))
    return steps


def pvc_lines(runner: CliRunner, document: dict[str, Any], *, began: float) -> list[str]:
    """The run's per-PVC log lines (start, end with bytes and seconds), stamped from the command's start."""
    logs = runner.api(
        "/logs/filter",
        {"logs": {"flow_run_id": {"any_": [document["flowRunId"]]}}, "sort": "TIMESTAMP_ASC", "limit": 200},
    )
    return [
        f"+{_parse_time(log['timestamp']) - began:5.1f} s  {log['message']}"
        for log in logs
        if str(log["message"]).startswith("PVC ")
    ]


def step_bytes(document: dict[str, Any], step: str) -> int:
    """Bytes the operation's data step ``step`` moved (rsync's bytes received)."""
    return int(next((s["bytes"] for s in document["steps"] if s["step"] == step), 0))


def sync_bytes(document: dict[str, Any]) -> int:
    """Bytes a ``drsyncer sync`` report's PVCs moved."""
    return sum(int(p.get("bytesTransferred", 0)) for p in document.get("pvcs", []))


# --- the naive baseline ------------------------------------------------------------------------------


class Naive:
    """A person's runbook: kubectl commands and a plain rsync script, on ``bench-naive``."""

    def __init__(self, world: World, pvcs: int) -> None:
        self.world = world
        self.pvcs = pvcs
        self.cache = world.workdir / "kubectl-cache"

    def kubectl(self, cluster: FakeCluster, *args: str, stdin: bytes | None = None) -> bytes:
        completed = subprocess.run(
            [
                KUBECTL,
                "--cache-dir",
                str(self.cache),
                "--kubeconfig",
                str(self.world.kubeconfig(cluster)),
                "-n",
                NAIVE_NS,
                *args,
            ],
            input=stdin,
            capture_output=True,
            timeout=300,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {completed.stderr.decode()[-1500:]}")
        return completed.stdout

    def copy_objects(self, source: FakeCluster, target: FakeCluster) -> int:
        """``kubectl get -o json | cleanup | kubectl apply --server-side``; the objects applied."""
        document = json.loads(self.kubectl(source, "get", NAIVE_KINDS, "-o", "json"))
        items = [i for i in document["items"] if i["metadata"]["name"] != "kube-root-ca.crt"]
        for item in items:
            metadata = item["metadata"]
            for key in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"):
                metadata.pop(key, None)
            for key in list(metadata.get("annotations") or {}):
                if key.startswith(("pv.kubernetes.io/", "volume.", "deployment.kubernetes.io/")):
                    del metadata["annotations"][key]
            item.pop("status", None)
            spec = item.get("spec") or {}
            if item["kind"] == "Service":
                spec.pop("clusterIP", None)
                spec.pop("clusterIPs", None)
            if item["kind"] == "PersistentVolumeClaim":
                spec.pop("volumeName", None)
            if item["kind"] == "Deployment":
                spec["replicas"] = 0
        document["items"] = items
        self.kubectl(
            target,
            "apply",
            "--server-side",
            "--force-conflicts",
            "--validate=false",
            "-f",
            "-",
            stdin=json.dumps(document).encode(),
        )
        return len(items)

    def mounts(self, cluster: FakeCluster) -> dict[str, tuple[str, str]]:
        """Claim → (node, mount path relative to the node's pods dir) of a Running pod mounting it;
        an ``rsync`` helper pod for claims no Running pod mounts."""
        found = self._mounts(cluster)
        missing = [app_name(i) for i in range(self.pvcs) if app_name(i) not in found]
        if missing:
            pods = [
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": f"rsync-{claim}", "labels": {HELPER_LABEL: "rsync"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "sh",
                                "image": "busybox",
                                "command": ["sleep", "3600"],
                                "volumeMounts": [{"name": "d", "mountPath": "/d"}],
                            }
                        ],
                        "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}],
                    },
                }
                for claim in missing
            ]
            self.kubectl(
                cluster,
                "apply",
                "--validate=false",
                "-f",
                "-",
                stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": pods}).encode(),
            )
            self.kubectl(
                cluster, "wait", "--for=condition=Ready", "pod", "-l", HELPER_LABEL, "--timeout=120s"
            )
            found = self._mounts(cluster)
        return found

    def _mounts(self, cluster: FakeCluster) -> dict[str, tuple[str, str]]:
        claims = json.loads(self.kubectl(cluster, "get", "pvc", "-o", "json"))["items"]
        volumes = {c["metadata"]["name"]: c["spec"].get("volumeName") for c in claims}
        found: dict[str, tuple[str, str]] = {}
        for pod in json.loads(self.kubectl(cluster, "get", "pods", "-o", "json"))["items"]:
            running = (pod.get("status") or {}).get("phase") == "Running"
            if not running or pod["metadata"].get("deletionTimestamp"):
                continue
            for entry in pod["spec"].get("volumes") or []:
                claim = str((entry.get("persistentVolumeClaim") or {}).get("claimName"))
                if claim in volumes and claim not in found:
                    relative = f"{pod['metadata']['uid']}/volumes/{CSI_DIR}/{volumes[claim]}/mount"
                    found[claim] = (pod["spec"]["nodeName"], relative)
        return found

    def remove_helpers(self, cluster: FakeCluster) -> None:
        self.kubectl(cluster, "delete", "pod", "-l", HELPER_LABEL, "--grace-period=1", "--wait=true")

    def rsync(self, source: FakeCluster, target: FakeCluster, keys: str) -> int:
        """Plain ``rsync -a --delete`` per PVC, pulling from the source node's agent into the target mount
        (as a script on the target node would); helper pods made and removed; the bytes received."""
        sources = self.mounts(source)
        targets = self.mounts(target)
        addresses = {n.name: n.internal_ip for n in (*source.nodes, *target.nodes)}
        roots = {n.name: n.root_dir for n in target.nodes}
        moved = 0
        for claim, (source_node, source_path) in sorted(sources.items()):
            target_node, target_path = targets[claim]
            config = self.world.agents[target_node].config_dir
            transport = SshTransport(
                port=self.world.agents[source_node].port,
                identity_file=str(config / pull_key_file(keys)),
                known_hosts_file=str(config / known_hosts_file(keys)),
                ciphers=("aes128-gcm@openssh.com",),
            )
            completed = subprocess.run(
                [
                    "rsync",
                    "-a",
                    "--delete",
                    "--stats",
                    "-e",
                    " ".join(ssh_argv(transport)),
                    f"root@{addresses[source_node]}:{source_path}/",
                    f"{roots[target_node] / 'pods' / target_path}/",
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if completed.returncode != 0:
                raise RuntimeError(f"rsync of {claim}: {completed.stderr[-1500:]}")
            stats = parse_stats(completed.stdout.splitlines())
            moved += stats.bytes_received if stats else 0
        for cluster in (source, target):
            self.remove_helpers(cluster)
        return moved

    def replicas(self, cluster: FakeCluster) -> dict[str, int]:
        items = json.loads(self.kubectl(cluster, "get", "deployments", "-o", "json"))["items"]
        return {d["metadata"]["name"]: int(d["spec"].get("replicas") or 0) for d in items}

    def stop(self, cluster: FakeCluster, line: Timeline, side: str) -> None:
        with line.step(f"scale {side} to 0"):
            self.kubectl(cluster, "scale", "deployment", "--all", "--replicas=0")
        with line.step(f"wait {side} pods gone"):
            self.kubectl(cluster, "wait", "--for=delete", "pod", "-l", "tier=app", "--timeout=300s")

    def start(self, cluster: FakeCluster, counts: dict[str, int], line: Timeline, side: str) -> None:
        with line.step(f"scale {side} up"):
            for name, count in sorted(counts.items()):
                self.kubectl(cluster, "scale", f"deployment/{name}", f"--replicas={count}")
        with line.step(f"wait {side} ready"):
            for name in sorted(counts):
                self.kubectl(cluster, "rollout", "status", f"deployment/{name}", "--timeout=300s")


# --- the run -----------------------------------------------------------------------------------------


@dataclass
class Results:
    """Everything the table and charts show."""

    parameters: dict[str, Any]
    cells: dict[str, dict[str, str]] = field(default_factory=dict)
    """Phase → tool → what it took."""
    product_rto: list[Step] = field(default_factory=list)
    naive_rto: list[Step] = field(default_factory=list)
    moved: dict[str, dict[str, int]] = field(default_factory=dict)
    volume_bytes: int = 0
    pvc_lines: list[str] = field(default_factory=list)
    """The cutover run's per-PVC log lines (where its final-data time goes)."""


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def run_product(world: World, runner: CliRunner, results: Results, *, pvcs: int) -> None:
    """Stage, scheduled sync, late writes, cutover, failback through the ``drsyncer`` CLI."""
    config = str(world.config)
    mapping = ["--mapping", MAPPING]
    seconds, staged, _ = runner.run("stage", config, *mapping, "--migrate-pvc-data")
    assert staged["phase"] == "Completed", staged
    first = step_bytes(staged, "copy-data")
    results.cells[FIRST] = {PRODUCT: f"`drsyncer stage --migrate-pvc-data`: {seconds:.1f} s"}

    change_volumes(world.source, PRODUCT_NS, pvcs=pvcs, seed=100)
    sync_began = time.time()
    seconds, synced, _ = runner.run("sync", config, *mapping)
    assert synced["phase"] == "Completed", synced
    delta = sync_bytes(synced)
    results.cells[DELTA] = {PRODUCT: f"`drsyncer sync`: {seconds:.1f} s"}

    late = LateWrites(world.source, PRODUCT_NS, pvcs)
    late.write()
    world.source.api.hooks.after_delete.append(late.last_words)
    began = time.time()
    try:
        seconds, cut, _ = runner.run("cutover", config, *mapping, "--yes")
    finally:
        world.source.api.hooks.after_delete.remove(late.last_words)
    ended = time.time()
    assert cut["phase"] == "Completed", cut
    results.product_rto = product_steps(runner, cut, began=began, ended=ended)
    results.pvc_lines = pvc_lines(runner, cut, began=began)
    missing = late.missing_in(world.dr)
    assert late.exits == pvcs, f"{late.exits} of {pvcs} app pods wrote their last words"
    assert not missing, f"writes after the last sync missing in DR after the cutover: {missing}"
    for index in range(pvcs):
        claim = app_name(index)
        assert tree(volume(world.dr, PRODUCT_NS, claim)) == tree(volume(world.source, PRODUCT_NS, claim)), (
            claim
        )
        assert ready(world.dr, PRODUCT_NS, claim, 1), claim
    final = step_bytes(cut, "final-data")
    results.cells[CUTOVER] = {PRODUCT: f"`drsyncer cutover --yes`: {seconds:.1f} s"}
    results.cells[LOSS] = {PRODUCT: late.outcome(world.dr, since=sync_began)}

    change_volumes(world.dr, PRODUCT_NS, pvcs=pvcs, seed=200)
    began = time.time()
    seconds, back, _ = runner.run("failback", config, *mapping, "--yes")
    assert back["phase"] == "Completed", back
    source_ready = next(
        s.end
        for s in product_steps(runner, back, began=began, ended=time.time())
        if s.name == "wait-source-ready"
    )
    for index in range(pvcs):
        claim = app_name(index)
        assert tree(volume(world.source, PRODUCT_NS, claim)) == tree(volume(world.dr, PRODUCT_NS, claim)), (
            claim
        )
    reverse = step_bytes(back, "reverse-data")
    results.cells[FAILBACK] = {
        PRODUCT: f"`drsyncer failback --yes`: source ready at {source_ready:.1f} s; {seconds:.1f} s in all "
        "(it stages DR again)"
    }
    results.moved["dr-syncer"] = {
        "first sync": first,
        "scheduled delta": delta,
        "cutover delta": final,
        "failback": reverse,
    }


def run_naive(world: World, results: Results, *, pvcs: int) -> None:
    """The same day with kubectl and a plain rsync script."""
    naive = Naive(world, pvcs)
    first_line = Timeline()
    with first_line.step("namespace"):
        naive.kubectl(world.dr, "create", "namespace", NAIVE_NS)
    with first_line.step("objects"):
        naive.copy_objects(world.source, world.dr)
    with first_line.step("data"):
        first = naive.rsync(world.source, world.dr, FORWARD_KEYS)
    results.cells[FIRST][NAIVE] = f"{first_line.total:.1f} s"

    change_volumes(world.source, NAIVE_NS, pvcs=pvcs, seed=100)
    sync_began = time.time()
    delta_line = Timeline()
    with delta_line.step("objects"):
        naive.copy_objects(world.source, world.dr)
    with delta_line.step("data"):
        delta = naive.rsync(world.source, world.dr, FORWARD_KEYS)
    results.cells[DELTA][NAIVE] = f"{delta_line.total:.1f} s"

    late = LateWrites(world.source, NAIVE_NS, pvcs)
    late.write()
    world.source.api.hooks.after_delete.append(late.last_words)
    line = Timeline()
    try:
        with line.step("record replicas"):
            counts = naive.replicas(world.source)
        naive.stop(world.source, line, "source")
    finally:
        world.source.api.hooks.after_delete.remove(late.last_words)
    with line.step("final data"):
        final = naive.rsync(world.source, world.dr, FORWARD_KEYS)
    with line.step("objects"):
        naive.copy_objects(world.source, world.dr)
    naive.start(world.dr, counts, line, "DR")
    results.naive_rto = line.steps
    results.cells[CUTOVER][NAIVE] = f"{line.total:.1f} s"
    results.cells[LOSS][NAIVE] = late.outcome(world.dr, since=sync_began)

    change_volumes(world.dr, NAIVE_NS, pvcs=pvcs, seed=200)
    back = Timeline()
    naive.stop(world.dr, back, "DR")
    with back.step("data back"):
        reverse = naive.rsync(world.dr, world.source, REVERSE_KEYS)
    naive.start(world.source, counts, back, "source")
    results.cells[FAILBACK][NAIVE] = f"source ready at {back.total:.1f} s (no DR re-stage)"
    results.moved["naive rsync"] = {
        "first sync": first,
        "scheduled delta": delta,
        "cutover delta": final,
        "failback": reverse,
    }


# --- charts and docs ---------------------------------------------------------------------------------


STEP_COLORS = {
    "command overhead": "#9A9A9A",
    "waiting for pods": "#55A868",
    "copying data": "#DD8452",
    "other steps": "#4C72B0",
}


def step_category(name: str) -> str:
    """The chart colour group of a step, by its name."""
    if name in ("CLI start-up", "report + exit"):
        return "command overhead"
    if name.startswith("wait"):
        return "waiting for pods"
    if "data" in name:
        return "copying data"
    return "other steps"


def size_text(count: int) -> str:
    """``count`` bytes in MiB, or KiB below one MiB."""
    return f"{count / MIB:.1f} MiB" if count >= MIB else f"{count / 1024:.0f} KiB"


PHASE_LABELS = {
    "first sync": "first sync\n(stage: everything)",
    "scheduled delta": "scheduled delta\n(~1 % changed)",
    "cutover delta": "cutover delta\n(writes after the last sync)",
    "failback": "failback\n(~1 % changed in DR)",
}


def rto_chart(results: Results, path: Path) -> None:
    """Cutover RTO as a timeline of steps, dr-syncer above the naive runbook, same time axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    runs = [
        ("dr-syncer: drsyncer cutover --yes", results.product_rto),
        ("naive: kubectl + rsync runbook", results.naive_rto),
    ]
    heights = [max(len(steps), 1) for _, steps in runs]
    figure, axes = plt.subplots(
        2, 1, figsize=(10, 1.6 + 0.38 * sum(heights)), sharex=True, gridspec_kw={"height_ratios": heights}
    )
    limit = max(max((s.end for s in steps), default=0) for _, steps in runs)
    for axis, (title, steps) in zip(axes, runs, strict=True):
        names = [s.name for s in steps]
        colors = [STEP_COLORS[step_category(s.name)] for s in steps]
        axis.barh(names, [s.seconds for s in steps], left=[s.start for s in steps], color=colors)
        for position, step in enumerate(steps):
            axis.text(step.end + limit * 0.01, position, f"{step.seconds:.2f} s", va="center", fontsize=8)
        axis.invert_yaxis()
        total = max((s.end for s in steps), default=0.0)
        axis.set_title(f"{title} — {total:.1f} s to DR ready", fontsize=10, loc="left")
        axis.tick_params(axis="y", labelsize=8)
        axis.grid(axis="x", alpha=0.3)
    axes[-1].set_xlim(0, limit * 1.15)
    handles = [Patch(color=color, label=label) for label, color in STEP_COLORS.items()]
    axes[-1].legend(handles=handles, loc="lower right", fontsize=8)
    axes[-1].set_xlabel("seconds from the command")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def bytes_chart(results: Results, path: Path) -> None:
    """Bytes moved per phase, dr-syncer next to plain rsync, with the share of the volume."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    phases = list(next(iter(results.moved.values())))
    figure, axis = plt.subplots(figsize=(9, 4.2))
    width = 0.38
    for offset, (tool, color) in enumerate((("dr-syncer", "#4C72B0"), ("naive rsync", "#DD8452"))):
        values = [results.moved[tool][phase] / MIB for phase in phases]
        positions = [i + (offset - 0.5) * width for i in range(len(phases))]
        bars = axis.bar(positions, values, width, label=tool, color=color)
        for bar, phase in zip(bars, phases, strict=True):
            share = results.moved[tool][phase] / results.volume_bytes * 100
            axis.annotate(
                f"{size_text(results.moved[tool][phase])}\n{share:.2f} %",
                (bar.get_x() + width / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    axis.set_xticks(range(len(phases)), [PHASE_LABELS.get(phase, phase) for phase in phases])
    axis.set_yscale("log")
    axis.set_ylabel("MiB received (log scale)")
    axis.set_title(
        f"Bytes moved per phase (volume: {results.volume_bytes / MIB:.0f} MiB in "
        f"{results.parameters['PVCs (K)']} PVCs; % = share of the volume)",
        fontsize=10,
    )
    smallest = min(max(min(v.values()), 1) for v in results.moved.values()) / MIB
    axis.set_ylim(smallest / 4, max(max(v.values()) for v in results.moved.values()) / MIB * 5)
    axis.legend()
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def markdown(results: Results) -> str:
    """docs/benchmarks.md."""
    lines = [
        "# Benchmarks",
        "",
        "## DR day (`benchmarks/dr_day.py`)",
        "",
        "Generated by `.venv/bin/python benchmarks/dr_day.py` (do not edit by hand). A source and a DR",
        "sandbox cluster (two nodes each, background controllers, real sshd + rsync agents on every node) on",
        "one machine; dr-syncer runs through the `drsyncer` command (`--output json`, on its local Prefect",
        "server, started beforehand), the naive baseline is kubectl and a plain rsync-over-ssh script",
        "between the same agents and directories, in the same run, on an identical namespace. Pod",
        "termination grace periods are scaled 30 s → 1.5 s. See the module docstring for every step.",
        "",
        "### Parameters",
        "",
        "| parameter | value |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in results.parameters.items()],
        "",
        "### Results",
        "",
        f"| phase | {PRODUCT} | {NAIVE} |",
        "|---|---|---|",
        *[
            f"| {phase} | {cells.get(PRODUCT, '')} | {cells.get(NAIVE, '')} |"
            for phase, cells in results.cells.items()
        ],
        "",
        "Bytes received by the pulling side (rsync `--stats`), as a share of the volume:",
        "",
        "| phase | " + " | ".join(results.moved) + " |",
        "|---|" + "---|" * len(results.moved),
    ]
    for phase in next(iter(results.moved.values())):
        cells = [
            f"{values[phase] / MIB:.2f} MiB ({values[phase] / results.volume_bytes * 100:.2f} %)"
            for values in results.moved.values()
        ]
        lines.append(f"| {phase} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Cutover RTO by step (seconds):",
        "",
        "| dr-syncer step | s | naive step | s |",
        "|---|---|---|---|",
    ]
    for index in range(max(len(results.product_rto), len(results.naive_rto))):
        left = results.product_rto[index] if index < len(results.product_rto) else None
        right = results.naive_rto[index] if index < len(results.naive_rto) else None
        lines.append(
            f"| {left.name if left else ''} | {f'{left.seconds:.2f}' if left else ''} "
            f"| {right.name if right else ''} | {f'{right.seconds:.2f}' if right else ''} |"
        )
    lines += [
        "",
        "The cutover run's PVC log lines (seconds from the command), where `final-data`'s time goes:",
        "",
        "```",
        *results.pvc_lines,
        "```",
        "",
        "![Cutover RTO by step](images/dr-day-rto.png)",
        "",
        "![Bytes moved: first sync, deltas, failback](images/dr-day-bytes.png)",
        "",
        "### Reading it",
        "",
        "- **Data-loss window**: every write made after the last scheduled sync — files in every volume, a",
        "  new ConfigMap, and the file each app pod writes as it exits during the cutover — is in DR after",
        "  the cutover (the benchmark asserts it, and that every DR volume equals its source): the final",
        "  delta copy runs after the source's pods are gone.",
        "- **Failback bytes**: only what changed in DR moves back (rsync deltas). dr-syncer's failback also",
        "  stages DR again (objects and data) before it returns; the naive runbook stops at the source being",
        "  ready, so its time is not comparable one to one.",
        "- dr-syncer's cutover time includes its safety steps (staleness check, pausing the schedules,",
        "  recording replica counts on the source, guarding that the source stays stopped) and Prefect's",
        '  bookkeeping per step; "CLI start-up" is the command\'s import and flow-run creation.',
        "- `final-data` (the PVC log lines above): per PVC, placeholder pods on both sides (the source's",
        "  pods are gone and DR is at rest), the control connection and the pull, a bounded number of PVCs",
        "  at a time (rsync slots per cluster); the naive runbook's helper pods and rsync do the same copy",
        "  without the checks.",
        "- Sandbox numbers on a shared 2-core machine: orders of magnitude, not a promise for real clusters.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=200, help="objects per namespace (N)")
    parser.add_argument("--pvcs", type=int, default=4, help="PVCs per namespace (K)")
    parser.add_argument("--mib", type=int, default=64, help="MiB of data over all PVCs (M)")
    parser.add_argument("--no-docs", action="store_true", help="print only; do not write docs/")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args()
    if shutil.which("rsync") is None or not Path("/usr/sbin/sshd").exists() or not Path(KUBECTL).exists():
        raise SystemExit(
            "dr_day needs rsync, openssh-server (/usr/sbin/sshd) and kubectl: install them first"
        )

    workdir = Path(tempfile.mkdtemp(prefix="drsyncer-drday-"))
    os.chdir(workdir)  # no stray ``.env`` of the checkout changes the commands' settings
    results = Results(
        parameters={
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "objects per namespace (N)": args.objects,
            "PVCs (K)": args.pvcs,
            "data (M)": f"{args.mib} MiB",
            "load before (uptime)": load(),
        }
    )
    world = start_world(workdir)
    runner = CliRunner(workdir / "cli")
    runner.env["DRSYNCER_KEY_DIR"] = str(world.agents.work_dir / "controller")
    try:
        for namespace in (PRODUCT_NS, NAIVE_NS):
            written = seed_namespace(
                world.source, namespace, objects=args.objects, pvcs=args.pvcs, mib=args.mib
            )
        results.volume_bytes = written
        results.parameters["data written"] = f"{written / MIB:.1f} MiB per namespace"
        started = time.perf_counter()
        subprocess.run(
            [runner.drsyncer, "server", "start"], env=runner.env, capture_output=True, timeout=180, check=True
        )
        results.parameters["local Prefect server start (not counted)"] = (
            f"{time.perf_counter() - started:.1f} s"
        )
        print("dr-syncer ...", flush=True)
        run_product(world, runner, results, pvcs=args.pvcs)
        print("naive baseline ...", flush=True)
        run_naive(world, results, pvcs=args.pvcs)
        results.parameters["load after (uptime)"] = load()
    finally:
        runner.stop()
        world.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    text = markdown(results)
    print(text)
    if not args.no_docs:
        (DOCS / "images").mkdir(parents=True, exist_ok=True)
        rto_chart(results, DOCS / "images" / "dr-day-rto.png")
        bytes_chart(results, DOCS / "images" / "dr-day-bytes.png")
        (DOCS / "benchmarks.md").write_text(text, encoding="utf-8")
        print(f"wrote {DOCS / 'benchmarks.md'} and its charts", file=sys.stderr)


if __name__ == "__main__":
    main()
