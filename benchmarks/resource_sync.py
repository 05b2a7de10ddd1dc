"""Resource sync between two sandbox clusters: dr-syncer's engine against a kubectl baseline.

Run: ``.venv/bin/python benchmarks/resource_sync.py [--objects 1000] [--large 5000] [--skip-flow]
[--cli-objects 1000,5000] [--cli-only | --skip-cli] [--profile-noop]``.

Scenario 0 (issue 13), **what users run**, first: ``drsyncer sync`` / ``plan`` as subprocesses without
``PREFECT_API_URL`` (so on dr-syncer's local Prefect server, in a private data directory and port), in the
same run and on the same seeded source as kubectl's **client-side** and **server-side** pipelines (first
sync and no-op each, into their own DR clusters): the first command with no server running (start-up
included) and a second one; then with the server running a first sync, a no-op re-sync, a 1-object
change and ``plan`` — through the warm process (the benchmark waits for the one the first command
started), with a no-op and a ``plan`` also run cold (``DRSYNCER_WARM=0``) for comparison; a no-op run of
the deployment served by ``drsyncer serve`` and triggered with ``--via-deployment``. A warm row reports its
child's CPU and peak RSS (from ``warm.log``); a warm process that refuses a command because the source
tree changed meanwhile (a shared working tree) makes that row a cold run, which its notes show.
Each row has the wall time, the flow run's own duration from the Prefect API, and the
writes and requests the step sent, the command's CPU and peak RSS; then the issue's targets against
kubectl. The first sync with the server running is profiled: requests per kind and the run log's stage
lines (time per stage). ``--profile-noop`` adds a cProfile of one no-op ``drsyncer sync`` (top 25 by
cumulative time).

Engine scenarios (design §10, issue 4 "Performance"), each on fresh sandbox clusters:

1. **1,000 mixed objects** (ConfigMaps, Secrets, ServiceAccounts, Roles, Deployments, StatefulSets,
   Services, Ingresses, CronJobs, PDBs) synced by the plain engine (``open_session → plan_session →
   apply`` kind by kind, no Prefect) in a child process, as in production (the sync never runs inside the
   API server's process; the sandbox servers live in this one): the first sync, a no-op re-sync
   (asserted: **0 mutating requests**, and the list requests per kind counted from the audit logs) and a
   1-object change. Half the Deployments are rolled out several times at the source first (their
   ``deployment.kubernetes.io/revision`` is 4), and the DR cluster's controllers — the Deployment
   controller writing its own revision, as kube-controller-manager does — run before the no-op re-sync.
   Times are the sync itself (child start-up and imports excluded).
2. The **kubectl baseline** in the same invocation, into a second DR cluster: ``kubectl get -o json`` of the
   same kinds, piped through a minimal cleanup (drop uid, resourceVersion, creationTimestamp, managedFields,
   status, clusterIP(s)) into ``kubectl apply --server-side --validate=false -f -``; then the same for a
   no-op and a 1-object change (kubectl re-applies everything every time).
   Scenarios 1 and 2 run twice: on the plain sandbox, and with ``--write-latency`` (5 ms) added to every
   DR write, which stands in for a real API server whose writes wait on etcd.
3. **5,000 objects** for correctness, the engine in a child process so its peak RSS
   (``resource.getrusage``) is the engine's alone.
4. One run **through the Prefect flow** (ephemeral Prefect server) for the flow overhead, unless
   ``--skip-flow``.

The plain sandbox is one Python process: it serves roughly 500-700 server-side applies per second
whoever sends them, and kubectl's sequential applies already use most of that, so on the plain sandbox
the first sync is bounded by the server, not by the client.

Target: the first sync at least 2× faster than the kubectl baseline.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from drsyncer.objects import KubeObject  # noqa: E402
from drsyncer.sandbox import FakeCluster  # noqa: E402

NAMESPACE = "bench"
MAPPING = "bench"
KUBECTL = "/usr/bin/kubectl"
KUBECTL_KINDS = (
    "configmaps,secrets,serviceaccounts,roles,deployments,statefulsets,services,ingresses,cronjobs,"
    "poddisruptionbudgets"
)
# Share of each kind in the namespace (sums to 1.0).
MIX: tuple[tuple[str, float], ...] = (
    ("ConfigMap", 0.30),
    ("Secret", 0.20),
    ("ServiceAccount", 0.05),
    ("Role", 0.05),
    ("Deployment", 0.12),
    ("StatefulSet", 0.03),
    ("Service", 0.12),
    ("Ingress", 0.05),
    ("CronJob", 0.04),
    ("PodDisruptionBudget", 0.04),
)


# --- the namespace ---------------------------------------------------------------------------------


def _pod_template(name: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": name}},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "nginx:1.27",
                    "ports": [{"containerPort": 80}],
                    "env": [{"name": "MODE", "value": "production"}],
                }
            ]
        },
    }


def make_object(kind: str, index: int) -> KubeObject:
    """One small, realistic object of ``kind`` named after ``index``."""
    name = f"{kind.lower()}-{index:05d}"
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": NAMESPACE,
        "labels": {"app.kubernetes.io/name": name, "team": "shop"},
        "annotations": {"example.com/owner": "platform"},
    }
    if kind == "ConfigMap":
        return {"apiVersion": "v1", "kind": kind, "metadata": metadata, "data": {"key": f"value-{index}" * 4}}
    if kind == "Secret":
        secret = base64.b64encode(f"secret-{index}".encode()).decode()
        return {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": metadata,
            "type": "Opaque",
            "data": {"password": secret},
        }
    if kind == "ServiceAccount":
        return {"apiVersion": "v1", "kind": kind, "metadata": metadata}
    if kind == "Role":
        rules = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": kind,
            "metadata": metadata,
            "rules": rules,
        }
    if kind in ("Deployment", "StatefulSet"):
        spec: dict[str, Any] = {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": _pod_template(name),
        }
        if kind == "StatefulSet":
            spec["serviceName"] = name
        return {"apiVersion": "apps/v1", "kind": kind, "metadata": metadata, "spec": spec}
    if kind == "Service":
        spec = {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
        return {"apiVersion": "v1", "kind": kind, "metadata": metadata, "spec": spec}
    if kind == "Ingress":
        backend = {"service": {"name": name, "port": {"number": 80}}}
        rule = {
            "host": f"{name}.example.com",
            "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
        }
        spec = {"ingressClassName": "nginx", "rules": [rule]}
        return {"apiVersion": "networking.k8s.io/v1", "kind": kind, "metadata": metadata, "spec": spec}
    if kind == "CronJob":
        template = _pod_template(name)
        template["spec"]["restartPolicy"] = "OnFailure"
        spec = {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}}
        return {"apiVersion": "batch/v1", "kind": kind, "metadata": metadata, "spec": spec}
    if kind == "PodDisruptionBudget":
        spec = {"minAvailable": 1, "selector": {"matchLabels": {"app": name}}}
        return {"apiVersion": "policy/v1", "kind": kind, "metadata": metadata, "spec": spec}
    raise ValueError(kind)


def seed(cluster: FakeCluster, count: int) -> Counter[str]:
    """Create the source namespace with ``count`` objects in the MIX proportions; return counts per kind."""
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    counts: Counter[str] = Counter()
    remaining = count
    for position, (kind, share) in enumerate(MIX):
        wanted = remaining if position == len(MIX) - 1 else round(count * share)
        for index in range(wanted):
            cluster.create(make_object(kind, index))
        counts[kind] = wanted
        remaining -= wanted
    return counts


def roll_out_deployments(cluster: FakeCluster, *, share: float = 0.5, times: int = 3) -> int:
    """Change the image of ``share`` of the Deployments ``times`` times, letting the controllers count
    each roll-out (revision ``times + 1``); return how many Deployments were rolled out."""
    from drsyncer.sandbox.api import WriteOptions

    registry = cluster.registry.by_kind("apps/v1", "Deployment")
    assert registry is not None
    deployments = sorted(
        cluster.objects("apps/v1", "Deployment", NAMESPACE), key=lambda d: d["metadata"]["name"]
    )
    rolled = deployments[: int(len(deployments) * share)]
    cluster.settle()
    for round_number in range(times):
        for deployment in rolled:
            name = deployment["metadata"]["name"]
            current = cluster.get("apps/v1", "Deployment", name, NAMESPACE)
            assert current is not None
            current["spec"]["template"]["spec"]["containers"][0]["image"] = f"nginx:1.{28 + round_number}"
            cluster.api.replace(registry, NAMESPACE, name, current, WriteOptions(manager="kubectl-edit"))
        cluster.settle()
    return len(rolled)


def change_one_object(cluster: FakeCluster) -> None:
    """The 1-object change: one ConfigMap's data."""
    registry = cluster.registry.by_kind("v1", "ConfigMap")
    assert registry is not None
    from drsyncer.sandbox.api import WriteOptions

    current = cluster.get("v1", "ConfigMap", "configmap-00000", NAMESPACE)
    assert current is not None
    current["data"] = {"key": "changed"}
    cluster.api.replace(registry, NAMESPACE, "configmap-00000", current, WriteOptions(manager="kubectl-edit"))


# --- configuration and the engine ------------------------------------------------------------------


def write_config(folder: Path, source: FakeCluster, destination: FakeCluster) -> Path:
    """Kubeconfigs and a NamespaceMapping ``bench`` from ``source`` to ``destination``."""
    source_kubeconfig = source.write_kubeconfig(folder / "source.kubeconfig", "source")
    dr_kubeconfig = destination.write_kubeconfig(folder / "dr.kubeconfig", "dr")

    def document(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "dr-syncer.io/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec}

    documents = [
        document(
            "RemoteCluster", "source", {"kubeconfig": {"path": str(source_kubeconfig), "context": "source"}}
        ),
        document("RemoteCluster", "dr", {"kubeconfig": {"path": str(dr_kubeconfig), "context": "dr"}}),
        document(
            "NamespaceMapping",
            MAPPING,
            {
                "sourceCluster": "source",
                "destinationCluster": "dr",
                "sourceNamespace": NAMESPACE,
                "replicationMode": "Manual",
            },
        ),
    ]
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path


def engine_sync(config: Path) -> dict[str, int]:
    """One sync through the plain engine (what the flow runs, without Prefect); returns status counts."""
    from drsyncer.config.loader import load_config
    from tasks.apply.applier import ApplyContext, apply_entries, apply_entry, kind_groups
    from tasks.session import open_session, plan_session

    mapping = load_config([config]).mapping(MAPPING)
    session = open_session(mapping)
    try:
        plan = plan_session(session)
        namespace_context = ApplyContext(
            client=session.destination, discovery=session.destination_discovery, namespace=""
        )
        outcomes = [apply_entry(namespace_context, plan.namespace)]
        context = ApplyContext(
            client=session.destination,
            discovery=session.destination_discovery,
            namespace=mapping.destination_namespace,
            immutable=mapping.immutable_resource_config,
        )
        for _, entries in kind_groups(plan.entries):  # kind by kind, in dependency order
            outcomes += apply_entries(context, entries)
    finally:
        session.close()
    return dict(Counter(outcome.status for outcome in outcomes))


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    """``with timed() as elapsed: ...`` then ``elapsed()`` in seconds."""
    started = time.perf_counter()
    finished: list[float] = []
    yield lambda: (finished[0] if finished else time.perf_counter()) - started
    finished.append(time.perf_counter())


def list_requests_per_kind(*clusters: FakeCluster) -> dict[str, int]:
    """List operations (first pages: ``?limit=`` without ``continue``) per resource, summed over
    ``clusters``; Secrets and ConfigMaps are read in smaller pages, which are still one list."""
    counts: Counter[str] = Counter()
    for cluster in clusters:
        for entry in cluster.audit.requests(method="GET"):
            if "limit" in entry.query and "continue" not in entry.query:
                counts[entry.path.rstrip("/").rsplit("/", 1)[-1]] += 1
    return dict(sorted(counts.items()))


# --- kubectl baseline ------------------------------------------------------------------------------


def kubectl_sync(
    source_kubeconfig: Path, dr_kubeconfig: Path, cache: Path, *, server_side: bool = True
) -> None:
    """``kubectl get -o json | cleanup | kubectl apply [--server-side]``."""
    base = [KUBECTL, "--cache-dir", str(cache)]
    got = subprocess.run(
        [*base, "--kubeconfig", str(source_kubeconfig), "get", KUBECTL_KINDS, "-n", NAMESPACE, "-o", "json"],
        capture_output=True,
        check=True,
        timeout=600,
    )
    document = json.loads(got.stdout)
    document["items"] = [  # each namespace's own CA bundle, owned by DR's kube-controller-manager
        item
        for item in document["items"]
        if (item["kind"], item["metadata"]["name"]) != ("ConfigMap", "kube-root-ca.crt")
    ]
    for item in document["items"]:
        metadata = item["metadata"]
        for key in ("uid", "resourceVersion", "creationTimestamp", "managedFields"):
            metadata.pop(key, None)
        item.pop("status", None)
        if item["kind"] == "Service":
            item["spec"].pop("clusterIP", None)
            item["spec"].pop("clusterIPs", None)
    subprocess.run(
        [
            *base,
            "--kubeconfig",
            str(dr_kubeconfig),
            "apply",
            *(["--server-side"] if server_side else []),
            "--validate=false",
            "-f",
            "-",
        ],
        input=json.dumps(document).encode(),
        capture_output=True,
        check=True,
        timeout=600,
    )


# --- scenarios -------------------------------------------------------------------------------------


def run_engine(config: Path) -> dict[str, Any]:
    """One engine sync in a child process (as in production: not inside the API server's process)."""
    result = subprocess.run(
        [sys.executable, __file__, "--engine-child", str(config)],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    outcome: dict[str, Any] = json.loads(result.stdout)
    return outcome


def compare(
    count: int, folder: Path, *, write_latency: float = 0.0
) -> list[tuple[str, float, float | None, str]]:
    """Scenarios 1 and 2 on ``count`` objects. Rows: (step, engine s, kubectl s, note).

    ``write_latency`` delays every write to the DR clusters (sandbox fault rule), standing in for a real
    API server, whose writes wait on etcd.
    """
    rows: list[tuple[str, float, float | None, str]] = []
    suffix = f", {write_latency * 1000:.0f} ms/write" if write_latency else ""
    with FakeCluster("source") as source, FakeCluster("dr") as dr, FakeCluster("dr-kubectl") as dr_kubectl:
        kinds = seed(source, count)
        rolled = roll_out_deployments(source)
        config = write_config(folder, source, dr)
        if write_latency:
            for cluster in (dr, dr_kubectl):
                cluster.faults.add(method="PATCH", latency=write_latency, times=None)
        print(f"seeded {count} objects: {dict(kinds)}", file=sys.stderr)

        source.audit.clear()
        first = run_engine(config)
        writes = len(dr.audit.mutations())
        assert first["statuses"].get("failed", 0) == 0, first
        assert not source.audit.mutations(), "the sync wrote to the source cluster"

        dr.settle()  # DR's controllers act on the copies (the Deployment controller writes revision 1)
        source.audit.clear()
        dr.audit.clear()
        noop = run_engine(config)
        noop_writes = dr.audit.mutations() + source.audit.mutations()
        assert not noop_writes, [(m.method, m.path) for m in noop_writes[:10]]
        lists = list_requests_per_kind(source, dr)
        assert all(value <= 2 for value in lists.values()), lists  # 1 in source + 1 in DR per kind

        change_one_object(source)
        dr.audit.clear()
        change = run_engine(config)
        change_writes = len(dr.audit.mutations())

        source_kubeconfig = source.write_kubeconfig(folder / "k-source.kubeconfig", "source")
        kubectl_kubeconfig = dr_kubectl.write_kubeconfig(folder / "k-dr.kubeconfig", "dr")
        dr_kubectl.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        cache = folder / "kubectl-cache"
        timings = []
        for _ in range(3):  # first (cold discovery cache), no-op, then after a 1-object change
            dr_kubectl.audit.clear()
            with timed() as elapsed:
                kubectl_sync(source_kubeconfig, kubectl_kubeconfig, cache)
            timings.append((elapsed(), len(dr_kubectl.audit.mutations())))
            if len(timings) == 2:
                change_one_object(source)
        copied = len(dr_kubectl.objects("v1", "ConfigMap", NAMESPACE))
        assert copied >= kinds["ConfigMap"], copied

        rows.append(
            (
                f"first sync ({count} objects{suffix})",
                first["seconds"],
                timings[0][0],
                f"writes: engine {writes}, kubectl {timings[0][1]}",
            )
        )
        rows.append(
            (
                "no-op re-sync",
                noop["seconds"],
                timings[1][0],
                f"writes: engine {len(noop_writes)} ({rolled} Deployments rolled out 3x, DR revisions "
                f"written), kubectl {timings[1][1]}",
            )
        )
        rows.append(
            (
                "1-object change",
                change["seconds"],
                timings[2][0],
                f"writes: engine {change_writes}, kubectl {timings[2][1]}",
            )
        )
        if not write_latency:
            rows.append(("no-op lists per kind (source+DR)", 0.0, None, json.dumps(lists)))
    return rows


def large(count: int, folder: Path) -> dict[str, Any]:
    """Scenario 3: ``count`` objects, the engine in a child process; correctness and its peak RSS."""
    with FakeCluster("source") as source, FakeCluster("dr") as dr:
        seed(source, count)
        config = write_config(folder, source, dr)
        child = run_engine(config)
        synced = sum(len(dr.objects(api, kind, NAMESPACE)) for api, kind in _KINDS)
        expected = sum(len(source.objects(api, kind, NAMESPACE)) for api, kind in _KINDS)
        dr.audit.clear()
        noop = run_engine(config)
        return {
            **child,
            "objects_in_dr": synced,
            "objects_in_source": expected,
            "noop_seconds": noop["seconds"],
            "noop_writes": len(dr.audit.mutations()),
        }


_KINDS = (
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("v1", "Service"),
    ("networking.k8s.io/v1", "Ingress"),
    ("batch/v1", "CronJob"),
    ("policy/v1", "PodDisruptionBudget"),
)


def engine_child(config: Path) -> None:
    """Child-process mode: one engine sync, then print seconds, statuses and peak RSS as JSON."""
    import tasks.apply.applier
    import tasks.session  # noqa: F401  (imports are not part of the sync's time)

    with timed() as elapsed:
        statuses = engine_sync(config)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed(), "statuses": statuses, "peak_rss_mib": round(peak_kib / 1024, 1)}))


def through_flow(count: int, folder: Path) -> dict[str, float]:
    """Scenario 4: first sync and no-op re-sync through the Prefect flow (ephemeral server)."""
    os.environ.setdefault("PREFECT_HOME", str(folder / "prefect-home"))
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from drsyncer.prefect_env import apply_prefect_defaults

    apply_prefect_defaults()
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.namespace_sync import namespace_sync

    results: dict[str, float] = {}
    with (
        FakeCluster("source") as source,
        FakeCluster("dr") as dr,
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        seed(source, count)
        config = write_config(folder, source, dr)
        with timed() as elapsed:  # pays the ephemeral server's start-up; not counted below
            namespace_sync(mapping=MAPPING, config=[str(config)], plan_only=True, return_state=True)
        results["server start + plan"] = elapsed()
        for step in ("first sync", "no-op re-sync"):
            dr.audit.clear()
            with timed() as elapsed:
                state = namespace_sync(mapping=MAPPING, config=[str(config)], return_state=True)
            assert state.is_completed(), state.message
            results[step] = elapsed()
        results["no-op writes"] = float(len(dr.audit.mutations()))
    return results


# --- what users run: `drsyncer sync` through the CLI, with dr-syncer's local Prefect server -------------

CliRow = tuple[str, float, float | None, str]
"""(step, wall seconds, the flow run's own seconds from the Prefect API or None, notes)."""

STAGE_WORDS = ("discover", "plan", "apply", "PVC data")
"""Run log lines that report a stage and its duration (see drsyncer/run_log.py)."""


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class CliRunner:
    """``drsyncer`` commands as a user types them (no PREFECT_API_URL), on a private local server."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.env = {
            key: value for key, value in os.environ.items() if key not in ("PREFECT_API_URL", "KUBECONFIG")
        }
        self.env.update(
            DRSYNCER_PREFECT="local",
            DRSYNCER_DATA_DIR=str(folder / "data"),
            DRSYNCER_SERVER_PORT=str(self.port),
            DRSYNCER_SERVER_IDLE_TIMEOUT="900",
            PREFECT_HOME=str(folder / "client-prefect-home"),
            DO_NOT_TRACK="1",
        )
        self.drsyncer = str(Path(sys.executable).parent / "drsyncer")

    def warm_children(self) -> list[str]:
        """The warm process's lines about its finished children (exit, wall, CPU, peak RSS)."""
        log = self.folder / "data" / "warm.log"
        return [line for line in log.read_text().splitlines() if "] child " in line] if log.exists() else []

    def wait_for_warm_process(self, *, timeout: float = 120) -> None:
        """Wait until the warm process (started by the first command that used the local server) listens."""
        from drsyncer.warm_protocol import code_version
        from drsyncer.warm_start import answers

        deadline = time.monotonic() + timeout
        while not answers(self.folder / "data" / "warm.sock", code_version()):
            if time.monotonic() > deadline:
                raise RuntimeError("the warm process did not start; see warm.log in the data directory")
            time.sleep(0.2)

    def run(
        self, *args: str, profile: Path | None = None, cold: bool = False
    ) -> tuple[float, dict[str, Any], str]:
        """Wall time of ``drsyncer ARGS --output json``, its JSON document, and its CPU and peak RSS
        (from ``wait4``, or the warm process's log when a warm child ran it); under cProfile when
        ``profile`` is given; ``cold``: in its own process (``DRSYNCER_WARM=0``)."""
        command = [self.drsyncer, *args, "--output", "json"]
        children = len(self.warm_children())
        if profile is not None:
            code = (
                "import cProfile, sys; "
                "cProfile.run('from drsyncer.cli.main import app; app()', sys.argv.pop(1))"
            )
            command = [sys.executable, "-c", code, str(profile), *command[1:]]
        out, err = self.folder / "stdout", self.folder / "stderr"
        env = {**self.env, "DRSYNCER_WARM": "0"} if cold or profile is not None else self.env
        with out.open("w") as stdout, err.open("w") as stderr, timed() as elapsed:
            process = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in (0, 1) or not out.read_text().strip():
            raise RuntimeError(f"drsyncer {' '.join(args)} failed: {err.read_text()[-3000:]}")
        cost = f"cpu {usage.ru_utime + usage.ru_stime:.2f}s, peak RSS {usage.ru_maxrss / 1024:.0f} MiB"
        warm = self.warm_children()[children:]
        if warm:  # the launcher's own usage is tiny: the child's is what the command cost
            child = warm[-1].partition(", ")[2].partition(", ")[2]
            cost = f"warm child: {child}, launcher cpu {usage.ru_utime + usage.ru_stime:.2f}s"
        return elapsed(), json.loads(out.read_text()), cost

    def api(self, path: str, body: dict[str, Any]) -> Any:
        """POST to the local server's Prefect API."""
        import urllib.request

        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def last_flow_run(self) -> dict[str, Any]:
        """The newest flow run, as the Prefect API records it."""
        runs: list[dict[str, Any]] = self.api("/flow_runs/filter", {"sort": "START_TIME_DESC", "limit": 1})
        return runs[0]

    def stage_lines(self, flow_run_id: str) -> list[str]:
        """The run's stage log lines (what each stage did and how long it took)."""
        logs = self.api(
            "/logs/filter", {"logs": {"flow_run_id": {"any_": [flow_run_id]}}, "sort": "TIMESTAMP_ASC"}
        )
        return [log["message"] for log in logs if str(log["message"]).startswith(STAGE_WORDS)]

    def stop(self) -> None:
        """Stop the private server (`drsyncer server stop`)."""
        subprocess.run(
            [self.drsyncer, "server", "stop"], env=self.env, capture_output=True, timeout=120, check=False
        )


def _requests(*clusters: FakeCluster) -> tuple[int, int]:
    """(writes, all requests) in the clusters' audit logs."""
    return (
        sum(len(cluster.audit.mutations()) for cluster in clusters),
        sum(len(cluster.audit.requests()) for cluster in clusters),
    )


def _requests_per_kind(*clusters: FakeCluster) -> dict[str, int]:
    """Requests per ``METHOD resource`` in the clusters' audit logs (discovery under ``discovery``)."""
    counts: Counter[str] = Counter()
    for cluster in clusters:
        for entry in cluster.audit.requests():
            parts = [part for part in entry.path.split("/") if part]
            if "namespaces" in parts and parts.index("namespaces") + 2 < len(parts):
                resource = parts[parts.index("namespaces") + 2]
            elif len(parts) <= 3:
                resource = "discovery"
            else:
                resource = parts[-1]
            counts[f"{entry.method} {resource}"] += 1
    return dict(counts.most_common())


def through_cli(count: int, folder: Path, *, profile_noop: bool) -> list[CliRow]:
    """What users run, in one process's sandbox: ``drsyncer sync`` / ``plan`` through the CLI, against
    kubectl's client-side and server-side pipelines on the same source."""
    rows: list[CliRow] = []
    with (
        FakeCluster("source") as source,
        FakeCluster("dr") as cold_dr,
        FakeCluster("dr") as warm_dr,
        FakeCluster("dr-kubectl") as kubectl_client_dr,
        FakeCluster("dr-kubectl") as kubectl_server_dr,
    ):
        seed(source, count)
        roll_out_deployments(source)
        cache = folder / "kubectl-cache"
        source_kubeconfig = source.write_kubeconfig(folder / "k-source.kubeconfig", "source")
        for server_side, target in ((False, kubectl_client_dr), (True, kubectl_server_dr)):
            label = "kubectl --server-side" if server_side else "kubectl client-side"
            target.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
            target_kubeconfig = target.write_kubeconfig(folder / f"k-{server_side}.kubeconfig", "dr")
            for step in ("first sync", "no-op re-sync"):
                source.audit.clear()
                target.audit.clear()
                with timed() as elapsed:
                    kubectl_sync(source_kubeconfig, target_kubeconfig, cache, server_side=server_side)
                writes, requests = _requests(source, target)
                rows.append((f"{label}: {step}", elapsed(), None, f"writes {writes}, requests {requests}"))

        runner = CliRunner(folder / "cli")
        runner.folder.mkdir()
        for name in ("cold", "warm"):
            (folder / name).mkdir()
        cold = write_config(folder / "cold", source, cold_dr)
        warm = write_config(folder / "warm", source, warm_dr)
        try:
            for step, config, target in (
                ("first command, no server running (start-up incl.)", cold, cold_dr),
                ("second command (no-op re-sync)", cold, cold_dr),
                ("first sync, server running", warm, warm_dr),
                ("no-op re-sync, server running", warm, warm_dr),
                ("no-op re-sync, server running, DRSYNCER_WARM=0", warm, warm_dr),
                ("1-object change, server running", warm, warm_dr),
                ("plan (no change), server running", warm, warm_dr),
                ("plan (no change), server running, DRSYNCER_WARM=0", warm, warm_dr),
            ):
                if step.startswith("first sync"):
                    runner.wait_for_warm_process()  # the first command started it (a second or two)
                if step.startswith(("second", "no-op")):
                    target.settle()  # DR's controllers act on the copies first, as on a real cluster
                if step.startswith("1-object"):
                    change_one_object(source)
                source.audit.clear()
                target.audit.clear()
                command = "plan" if step.startswith("plan") else "sync"
                seconds, document, cost = runner.run(
                    command, str(config), "--mapping", MAPPING, cold=step.endswith("DRSYNCER_WARM=0")
                )
                run = runner.last_flow_run() if command == "sync" else None
                writes, requests = _requests(source, target)
                phase = document.get("phase") if isinstance(document, dict) else "?"
                rows.append(
                    (
                        f"drsyncer {step}",
                        seconds,
                        float(run["total_run_time"]) if run else None,
                        f"{phase}; writes {writes}, requests {requests}; {cost}",
                    )
                )
                if step == "first sync, server running" and run is not None:
                    print(f"\nprofile of the first sync at {count} objects (server running): {cost}")
                    print(
                        f"  requests per kind (source+DR): {json.dumps(_requests_per_kind(source, target))}"
                    )
                    print("  stages (run log): " + " | ".join(runner.stage_lines(str(run["id"]))))
            rows.append(served_run(runner, warm, source, warm_dr))
            if profile_noop:
                warm_dr.settle()
                profile = folder / "noop.prof"
                runner.run("sync", str(warm), "--mapping", MAPPING, profile=profile)
                import pstats

                print(f"\ncProfile of one no-op `drsyncer sync` at {count} objects (server running), top 25:")
                pstats.Stats(str(profile), stream=sys.stdout).sort_stats("cumulative").print_stats(25)
        finally:
            runner.stop()
    return rows


def served_run(runner: CliRunner, config: Path, source: FakeCluster, target: FakeCluster) -> CliRow:
    """A no-op run of the mapping's deployment served by ``drsyncer serve`` (on the same local server),
    triggered by ``drsyncer sync --via-deployment``; the flow-run time is the Prefect API's."""
    serve = subprocess.Popen(
        [runner.drsyncer, "serve", str(config)],
        env=runner.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while not runner.api("/deployments/filter", {}):
            if time.monotonic() > deadline or serve.poll() is not None:
                raise RuntimeError("drsyncer serve did not register the deployment")
            time.sleep(0.5)
        target.settle()
        source.audit.clear()
        target.audit.clear()
        seconds, document, _ = runner.run("sync", str(config), "--mapping", MAPPING, "--via-deployment")
        run = runner.api("/flow_runs/filter", {"flow_runs": {"id": {"any_": [document["flowRunId"]]}}})[0]
        writes, requests = _requests(source, target)
        note = f"{document['state']}; writes {writes}, requests {requests} (wall includes the runner's poll)"
        return ("drsyncer served deployment run (no-op)", seconds, float(run["total_run_time"]), note)
    finally:
        serve.terminate()
        serve.wait(timeout=120)


def print_cli_rows(count: int, rows: list[CliRow]) -> None:
    """The CLI table, then the issue's targets against the kubectl rows."""
    print(f"\n{f'what users run, {count} objects (1 run each)':<58} {'wall':>8} {'flow run':>9}  notes")
    for step, seconds, flow_seconds, note in rows:
        flow = f"{flow_seconds:>8.2f}s" if flow_seconds is not None else f"{'':>9}"
        print(f"{step:<58} {seconds:>7.2f}s {flow}  {note}")
    times = {step: seconds for step, seconds, _, _ in rows}
    kubectl_noop = times["kubectl client-side: no-op re-sync"]
    kubectl_server_first = times["kubectl --server-side: first sync"]
    targets = (
        ("drsyncer 1-object change, server running", kubectl_noop, 0.5, "kubectl no-op"),
        ("drsyncer no-op re-sync, server running", kubectl_noop, 0.7, "kubectl no-op"),
        ("drsyncer first sync, server running", kubectl_server_first, 1.0, "kubectl --server-side first"),
        ("drsyncer plan (no change), server running", kubectl_noop, 0.5, "kubectl no-op"),
    )
    for step, baseline, limit, against in targets:
        ratio = times[step] / baseline
        verdict = "met" if ratio <= limit else "NOT met"
        print(f"target {step.removeprefix('drsyncer ')} <= {limit}x {against}: {ratio:.2f}x {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--large", type=int, default=5000, help="objects of the correctness run (0 skips it)")
    parser.add_argument(
        "--write-latency", type=float, default=0.005, help="seconds per DR write in the second comparison"
    )
    parser.add_argument("--skip-flow", action="store_true", help="skip the run through the Prefect flow")
    parser.add_argument("--engine-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--cli-only", action="store_true", help="only the CLI scenario (what users run) and kubectl"
    )
    parser.add_argument("--skip-cli", action="store_true", help="skip the CLI scenario")
    parser.add_argument(
        "--cli-objects",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1000, 5000],
        help="object counts of the CLI scenario, comma-separated (default 1000,5000)",
    )
    parser.add_argument(
        "--profile-noop", action="store_true", help="cProfile one no-op `drsyncer sync` (server running)"
    )
    args = parser.parse_args()
    if args.engine_child:
        engine_child(args.engine_child)
        return
    with tempfile.TemporaryDirectory(prefix="bench-resource-sync-") as temporary:
        folder = Path(temporary)
        if not args.skip_cli:
            for count in args.cli_objects:
                (folder / f"cli-{count}").mkdir()
                rows = through_cli(count, folder / f"cli-{count}", profile_noop=args.profile_noop)
                print_cli_rows(count, rows)
            if args.cli_only:
                return
        rows = compare(args.objects, folder)
        (folder / "latency").mkdir()
        rows += compare(args.objects, folder / "latency", write_latency=args.write_latency)
        print()
        print(f"{'step':<36} {'dr-syncer':>10} {'kubectl':>10} {'speed-up':>9}  notes")
        for step, engine, baseline, note in rows:
            if baseline is None:
                print(f"{step:<36} {'':>10} {'':>10} {'':>9}  {note}")
                continue
            print(f"{step:<36} {engine:>9.2f}s {baseline:>9.2f}s {baseline / engine:>8.1f}×  {note}")
        first = rows[0]
        assert first[2] is not None
        verdict = "met" if first[2] / first[1] >= 2 else "NOT met"
        print(
            f"target first sync ≥ 2× faster than kubectl (plain sandbox): {verdict} "
            f"({first[2] / first[1]:.1f}×)"
        )
        if args.large:
            (folder / "large").mkdir()
            outcome = large(args.large, folder / "large")
            print(
                f"\n{args.large} objects (engine in a child process): first sync {outcome['seconds']:.2f}s "
                f"{outcome['statuses']}, peak RSS {outcome['peak_rss_mib']} MiB; "
                f"DR has {outcome['objects_in_dr']}/{outcome['objects_in_source']} objects; "
                f"no-op re-sync {outcome['noop_seconds']:.2f}s with {outcome['noop_writes']} writes"
            )
        if not args.skip_flow:
            (folder / "flow").mkdir()
            flow = through_flow(args.objects, folder / "flow")
            print(
                f"\nthrough the Prefect flow ({args.objects} objects): "
                + ", ".join(
                    f"{key} {value:.2f}" + ("s" if "writes" not in key else "") for key, value in flow.items()
                )
            )


if __name__ == "__main__":
    main()
