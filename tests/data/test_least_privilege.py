"""Issue 12's attacks, replayed against the real sandbox sshd, rrsync and control program: all refused.

Each test plays a holder of one key (the pull key stolen from a DR agent, or the controller's control
key) and checks both the refusal and that nothing was read, written or deleted outside the claim.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from drsyncer.keys import authorized_keys, known_hosts_line, pull_key_file
from drsyncer.sandbox.agents import (
    AgentNode,
    LocalAgent,
    control_program_argv,
    free_port,
    render_sshd_config,
    source_gate_argv,
)
from drsyncer.sandbox.mount_table import mountinfo_path
from tasks.data.rsync_command import SshTransport, ssh_argv
from tasks.data.transfer import TransferSpec, transfer_pvc
from tasks.data.verification import VerificationMode
from tests.data.agent_access import (
    SECRET,
    TOKEN,
    control,
    control_ssh,
    copied_bytes,
    pod_on_node,
    pull_key_ssh,
    pull_request,
    rsync_with_pull_key,
    run,
)
from tests.fixtures.agents import MAPPING, DataSandbox

# --- source side: the pull key serves one mounted PV, nothing next to it ------------------------------


def test_pull_key_still_reads_a_mounted_volume(data_sandbox: DataSandbox, tmp_path: Path) -> None:
    pod = pod_on_node(data_sandbox, "prod-1")

    result = rsync_with_pull_key(data_sandbox, f"{pod.volume}/", tmp_path / "out")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "data.txt").read_text() == "volume data"


@pytest.mark.parametrize(
    "remote",
    [
        "{secret}/",
        "{secret}/password",
        "{token}/",
        "{token}/token",
        "{uid}/",
        "{uid}/volumes/",
        "",
        "./",
        "{volume}/../../../kubernetes.io~secret/db-credentials/",
        "{uid}/volumes/kubernetes.io~*/*/",
        "*/volumes/kubernetes.io~secret/*/",
        "{volume}/../../../../",
        "{volume}",
    ],
)
def test_pull_key_cannot_read_secrets_tokens_or_anything_but_a_volume(
    data_sandbox: DataSandbox, tmp_path: Path, remote: str
) -> None:
    pod = pod_on_node(data_sandbox, "prod-1")
    path = remote.format(secret=pod.secret_dir, token=pod.token_dir, uid=pod.uid, volume=pod.volume)

    result = rsync_with_pull_key(data_sandbox, path, tmp_path / "out")

    assert result.returncode != 0
    assert "dr-syncer-source-gate" in result.stderr
    assert SECRET not in copied_bytes(tmp_path / "out")
    assert TOKEN not in copied_bytes(tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_pull_key_cannot_list_the_pods_dir(data_sandbox: DataSandbox) -> None:
    pod = pod_on_node(data_sandbox, "prod-1")
    ssh = " ".join(pull_key_ssh(data_sandbox, "prod-1"))

    for remote in ("", f"{pod.uid}/", f"{pod.uid}/volumes/kubernetes.io~secret/"):
        result = run(["rsync", "--list-only", "-r", "-e", ssh, f"root@127.0.0.1:{remote}"])
        assert result.returncode != 0
        assert pod.uid not in result.stdout
        assert "password" not in result.stdout


def test_pull_key_refuses_a_volume_path_that_is_a_symlink_to_secrets(
    data_sandbox: DataSandbox, tmp_path: Path
) -> None:
    pod = pod_on_node(data_sandbox, "prod-1")
    fake = pod.pods_dir / pod.uid / "volumes" / "kubernetes.io~csi" / "pvc-fake" / "mount"
    fake.parent.mkdir(parents=True)
    fake.symlink_to(pod.pods_dir / pod.secret_dir)

    result = rsync_with_pull_key(
        data_sandbox, f"{pod.uid}/volumes/kubernetes.io~csi/pvc-fake/mount/", tmp_path
    )

    assert result.returncode != 0
    assert "symlink" in result.stderr
    assert SECRET not in copied_bytes(tmp_path)


def test_pull_key_refuses_an_unmounted_volume_directory(data_sandbox: DataSandbox, tmp_path: Path) -> None:
    pod = pod_on_node(data_sandbox, "prod-1")
    unmounted = pod.pods_dir / pod.uid / "volumes" / "kubernetes.io~csi" / "pvc-gone" / "mount"
    unmounted.mkdir(parents=True)
    (unmounted / "stale").write_text("stale copy")

    result = rsync_with_pull_key(
        data_sandbox, f"{pod.uid}/volumes/kubernetes.io~csi/pvc-gone/mount/", tmp_path
    )

    assert result.returncode != 0
    assert "not a mount point" in result.stderr
    assert copied_bytes(tmp_path) == []


@pytest.mark.parametrize("follow", ["-L", "--copy-links", "--copy-unsafe-links", "-k", "--copy-dirlinks"])
def test_pull_key_never_follows_a_symlink_out_of_the_volume(
    data_sandbox: DataSandbox, tmp_path: Path, follow: str
) -> None:
    pod = pod_on_node(data_sandbox, "prod-1")
    (pod.volume_dir / "to-secret").symlink_to(pod.pods_dir / pod.secret_dir / "password")
    (pod.volume_dir / "to-secrets-dir").symlink_to(pod.pods_dir / pod.secret_dir)

    result = rsync_with_pull_key(data_sandbox, f"{pod.volume}/", tmp_path / "out", follow)

    assert result.returncode != 0
    assert SECRET not in copied_bytes(tmp_path / "out")


@pytest.mark.parametrize(
    "listed",
    [
        "../../../kubernetes.io~secret/db-credentials/password",
        "/{secret}/password",
        "{pods}/{secret}/password",
        "./../../../kubernetes.io~projected/kube-api-access-x7k2p/token",
    ],
)
def test_pull_key_files_from_cannot_name_files_outside_the_volume(
    data_sandbox: DataSandbox, tmp_path: Path, listed: str
) -> None:
    pod = pod_on_node(data_sandbox, "prod-1")
    file_list = tmp_path / "list"
    file_list.write_text(listed.format(secret=pod.secret_dir, pods=pod.pods_dir) + "\n")

    rsync_with_pull_key(
        data_sandbox, f"{pod.volume}/", tmp_path / "out", f"--files-from={file_list}", "--relative"
    )

    assert SECRET not in copied_bytes(tmp_path / "out")
    assert TOKEN not in copied_bytes(tmp_path / "out")


def test_pull_key_copies_symlinks_in_a_volume_as_links(data_sandbox: DataSandbox, tmp_path: Path) -> None:
    pod = pod_on_node(data_sandbox, "prod-1")
    (pod.volume_dir / "to-secret").symlink_to(pod.pods_dir / pod.secret_dir / "password")

    result = rsync_with_pull_key(data_sandbox, f"{pod.volume}/", tmp_path / "out")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "to-secret").is_symlink()
    assert SECRET not in copied_bytes(tmp_path / "out")


def test_pull_key_serves_one_volume_per_request(data_sandbox: DataSandbox) -> None:
    first, second = pod_on_node(data_sandbox, "prod-1"), pod_on_node(data_sandbox, "prod-1")
    command = f"rsync --server --sender -logDtpre.iLsfxCIvu . {first.volume}/ {second.secret_dir}/"

    result = run([*pull_key_ssh(data_sandbox, "prod-1"), "root@127.0.0.1", command])

    assert result.returncode == 65
    assert "exactly one volume path" in result.stderr
    assert "password" not in result.stdout


def test_control_key_is_refused_by_a_source_agent(data_sandbox: DataSandbox) -> None:
    result = run([*control_ssh(data_sandbox, "prod-1"), "root@127.0.0.1", "probe"])

    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr
    assert '"ok"' not in result.stdout


def test_pull_key_is_refused_by_a_dr_agent(data_sandbox: DataSandbox) -> None:
    dr_config = data_sandbox.agents["dr-1"].config_dir
    ssh = ssh_argv(
        SshTransport(
            port=data_sandbox.agents["dr-1"].port,
            identity_file=str(dr_config / pull_key_file(MAPPING)),
            known_hosts_file=str(data_sandbox.credentials.known_hosts_file),
        )
    )

    result = run([*ssh, "root@127.0.0.1", "probe"])

    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr


def test_control_pull_refuses_a_secret_volume_as_source(data_sandbox: DataSandbox) -> None:
    pod = pod_on_node(data_sandbox, "prod-1")
    destination = data_sandbox.volume("dr-1")

    result = control(data_sandbox, pull_request(data_sandbox, pod.secret_dir, destination.endpoint.path))

    assert result.returncode == 65
    assert "not a PersistentVolume mount path" in result.stderr
    assert list(destination.path.iterdir()) == []


# --- DR side: the control key writes only into a mounted PV, through no symlink ----------------------


def test_control_pull_refuses_another_pods_empty_dir_as_destination(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    (source.path / "entrypoint.sh").write_text("#!/bin/sh\necho pwned\n")
    victim = pod_on_node(data_sandbox, "dr-1")

    result = control(data_sandbox, pull_request(data_sandbox, source.endpoint.path, victim.empty_dir))

    assert result.returncode == 65
    assert (
        victim.pods_dir / victim.empty_dir / "entrypoint.sh"
    ).read_bytes() == b"#!/bin/sh\necho original\n"


@pytest.mark.parametrize("target", ["{uid}", "{uid}/volumes", "{uid}/volumes/kubernetes.io~csi/{pv}"])
def test_control_pull_cannot_empty_a_pod_directory(data_sandbox: DataSandbox, target: str) -> None:
    source = data_sandbox.volume("prod-1")
    (source.path / "x").write_text("x")
    victim = pod_on_node(data_sandbox, "dr-1")
    path = target.format(uid=victim.uid, pv=victim.volume.split("/")[3])

    result = control(
        data_sandbox, pull_request(data_sandbox, source.endpoint.path, path, allowEmptySource=True)
    )

    assert result.returncode == 65
    assert (victim.pods_dir / victim.secret_dir / "password").read_bytes() == SECRET
    assert (victim.volume_dir / "data.txt").exists()


def test_control_pull_refuses_a_destination_mount_that_is_a_symlink(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    (source.path / "payload").write_text("x")
    victim = pod_on_node(data_sandbox, "dr-1")
    attacker = data_sandbox.volume("dr-1", create=False)
    attacker.path.parent.mkdir(parents=True)
    attacker.path.symlink_to(victim.volume_dir)  # "my" volume is a link into another pod's volume

    result = control(data_sandbox, pull_request(data_sandbox, source.endpoint.path, attacker.endpoint.path))

    assert result.returncode == 65
    assert "symlink" in result.stderr
    assert sorted(p.name for p in victim.volume_dir.iterdir()) == ["data.txt"]


def test_control_pull_refuses_a_symlink_in_a_middle_component(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    (source.path / "payload").write_text("x")
    victim = pod_on_node(data_sandbox, "dr-1")
    fake_uid = str(uuid.uuid4())
    (victim.pods_dir / fake_uid).mkdir()
    (victim.pods_dir / fake_uid / "volumes").symlink_to(victim.pods_dir / victim.uid / "volumes")
    path = fake_uid + victim.volume[len(victim.uid) :]

    result = control(data_sandbox, pull_request(data_sandbox, source.endpoint.path, path))

    assert result.returncode == 65
    assert sorted(p.name for p in victim.volume_dir.iterdir()) == ["data.txt"]


def test_control_pull_refuses_an_unmounted_destination(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    (source.path / "big").write_bytes(b"x" * 4096)
    unmounted = data_sandbox.volume("dr-1", create=False)
    unmounted.path.mkdir(parents=True)  # the directory exists, but nothing is mounted there

    result = control(data_sandbox, pull_request(data_sandbox, source.endpoint.path, unmounted.endpoint.path))

    assert result.returncode == 65
    assert "not a mount point" in result.stderr
    assert list(unmounted.path.iterdir()) == []


def test_control_pull_is_pinned_while_the_destination_is_swapped_for_a_symlink(
    data_sandbox: DataSandbox, tmp_path: Path
) -> None:
    source = data_sandbox.volume("prod-1")
    for index in range(20):
        (source.path / f"f{index}").write_bytes(os.urandom(2048))
    destination = data_sandbox.volume("dr-1")
    outside = tmp_path / "outside"
    outside.mkdir()
    parked = destination.path.with_name("parked")
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            os.rename(destination.path, parked)
            destination.path.symlink_to(outside)
            destination.path.unlink()
            os.rename(parked, destination.path)

    swapper = threading.Thread(target=swap, daemon=True)
    swapper.start()
    try:
        codes = [
            control(
                data_sandbox, pull_request(data_sandbox, source.endpoint.path, destination.endpoint.path)
            ).returncode
            for _ in range(12)
        ]
    finally:
        stop.set()
        swapper.join(timeout=10)

    assert list(outside.iterdir()) == []
    assert set(codes) <= {0, 65, 66}


# --- rsync options and devices -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        ["--delete-excluded", "--exclude=*"],
        ["--chmod=F4755"],
        ["--chmod=Fg+s"],
        ["--chmod=D1777"],
        ["--super"],
        ["--fake-super"],
        ["-D"],
        ["--devices"],
        ["--specials"],
        ["-aD"],
    ],
)
def test_control_pull_refuses_privileged_or_destructive_options(
    data_sandbox: DataSandbox, options: list[str]
) -> None:
    source = data_sandbox.volume("prod-1")
    (source.path / "tool").write_text("#!/bin/sh\n")
    destination = data_sandbox.volume("dr-1")
    (destination.path / "precious").write_text("keep")

    result = control(
        data_sandbox,
        pull_request(
            data_sandbox, source.endpoint.path, destination.endpoint.path, options={"rsyncOptions": options}
        ),
    )

    assert result.returncode == 65
    assert sorted(p.name for p in destination.path.iterdir()) == ["precious"]


def test_source_device_nodes_and_fifos_are_not_recreated_on_dr(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    os.mknod(source.path / "disk", stat.S_IFBLK | 0o600, os.makedev(7, 0))
    os.mknod(source.path / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mkfifo(source.path / "pipe")
    (source.path / "file").write_text("data")
    destination = data_sandbox.volume("dr-1")

    result = control(
        data_sandbox,
        pull_request(
            data_sandbox, source.endpoint.path, destination.endpoint.path, options={"rsyncOptions": ["-a"]}
        ),
    )

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in destination.path.iterdir()) == ["file"]


# --- odd inputs: one line, exit 65, never a traceback ------------------------------------------------


def _one_line_refusal(result: object) -> None:
    assert result.returncode == 65, result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda r: r.update(timeoutSeconds=-5), id="negative timeout"),
        pytest.param(lambda r: r.update(timeoutSeconds=float("nan")), id="NaN timeout"),
        pytest.param(lambda r: r.update(timeoutSeconds=float("inf")), id="infinite timeout"),
        pytest.param(lambda r: r["source"].update(host="fe80::1%eth0;id"), id="scope id with text"),
        pytest.param(lambda r: r["source"].update(host="fe80::1%25eth0"), id="scope id"),
        pytest.param(lambda r: r["source"].update(host="127.0.0.2"), id="host outside the source CIDRs"),
        pytest.param(lambda r: r["destination"].update(path="a" * 5000), id="long path component"),
        pytest.param(
            lambda r: r["destination"].update(path=r["destination"]["path"][:-5] + "x" * 300 + "/mount"),
            id="long pv name",
        ),
        pytest.param(
            lambda r: r.update(verify={"mode": "sample", "samplePercent": float("nan")}), id="NaN %"
        ),
        pytest.param(lambda r: r["options"].update(bandwidthLimitKbps=10**30), id="huge bandwidth"),
        pytest.param(lambda r: r.update(allowEmptySource="yes"), id="string boolean"),
    ],
)
def test_control_refuses_odd_pull_requests_in_one_line(data_sandbox: DataSandbox, mutate: object) -> None:
    source = data_sandbox.volume("prod-1")
    destination = data_sandbox.volume("dr-1")
    request: dict[str, object] = {
        "source": {
            "host": "127.0.0.1",
            "port": data_sandbox.agents["prod-1"].port,
            "path": source.endpoint.path,
        },
        "destination": {"path": destination.endpoint.path},
        "options": {},
    }
    mutate(request)  # type: ignore[operator]

    _one_line_refusal(control(data_sandbox, "pull " + json.dumps(request)))


def test_control_refuses_deeply_nested_json_and_huge_numbers_in_one_line(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    destination = data_sandbox.volume("dr-1")
    request = pull_request(data_sandbox, source.endpoint.path, destination.endpoint.path)
    port = str(data_sandbox.agents["prod-1"].port)

    _one_line_refusal(control(data_sandbox, "pull " + "[" * 5000 + "]" * 5000))
    _one_line_refusal(control(data_sandbox, 'pull {"source": ' + '{"a": ' * 3000 + "1" + "}" * 3001))
    _one_line_refusal(control(data_sandbox, request.replace(port, "9" * 5000)))
    _one_line_refusal(control(data_sandbox, request.replace(port, "1e999")))


def test_control_refuses_a_symlink_loop_in_one_line(data_sandbox: DataSandbox) -> None:
    loop = data_sandbox.volume("dr-1", create=False)
    loop.path.parent.mkdir(parents=True)
    loop.path.symlink_to(loop.path)

    for verb in ("checksum", "df"):
        _one_line_refusal(control(data_sandbox, f"{verb} {loop.endpoint.path}"))


@pytest.mark.parametrize("verb", ["checksum", "df"])
def test_checksum_and_df_serve_only_mounted_volumes(data_sandbox: DataSandbox, verb: str) -> None:
    victim = pod_on_node(data_sandbox, "dr-1")

    for path in (victim.secret_dir, victim.token_dir, victim.uid, victim.empty_dir):
        result = control(data_sandbox, f"{verb} {path}")
        assert result.returncode == 65
        assert result.stdout == ""
    assert control(data_sandbox, f"{verb} {victim.volume}").returncode == 0


# --- the DR agent is no port scanner -----------------------------------------------------------------


@pytest.fixture
def not_ssh_listener() -> Iterator[int]:
    """A TCP service on 127.0.0.1 that answers like HTTP, not ssh; closed after the test."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            with connection:
                connection.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connection_failures_are_one_message_whatever_listens(
    data_sandbox: DataSandbox, not_ssh_listener: int
) -> None:
    source = data_sandbox.volume("prod-1")
    messages = []
    for port in (_closed_port(), not_ssh_listener):
        destination = data_sandbox.volume("dr-1")
        request = json.loads(pull_request(data_sandbox, source.endpoint.path, destination.endpoint.path)[5:])
        request["source"]["port"] = port
        result = control(data_sandbox, "pull " + json.dumps(request))
        assert result.returncode == 255
        messages.append(result.stderr.replace(str(port), "PORT"))

    assert messages[0] == messages[1]
    assert "cannot connect to the source agent" in messages[0]
    assert "refused" not in messages[0].replace("(refused, unreachable", "")


# --- races: a symlink swapped in after a check is never followed -------------------------------------


@pytest.fixture
def toggler() -> Iterator[Callable[[Callable[[], None]], None]]:
    """Run a toggle function in a loop on a thread until the test ends."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(toggle: Callable[[], None]) -> None:
        def loop() -> None:
            while not stop.is_set():
                toggle()

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        threads.append(thread)

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=10)


def _swap_file_and_symlink(path: Path, target: Path) -> Callable[[], None]:
    """Each call: ``path`` a regular file, then a symlink to ``target`` (renames, so each state is whole)."""
    spare_file = path.with_name(".spare-file")
    spare_link = path.with_name(".spare-link")

    def toggle() -> None:
        spare_file.write_bytes(b"harmless")
        os.replace(spare_file, path)
        spare_link.unlink(missing_ok=True)
        spare_link.symlink_to(target)
        os.replace(spare_link, path)

    return toggle


def test_checksum_never_follows_a_symlink_swapped_in_after_the_listing(
    data_sandbox: DataSandbox, toggler: Callable[[Callable[[], None]], None]
) -> None:
    victim = pod_on_node(data_sandbox, "dr-1")
    volume = data_sandbox.volume("dr-1")
    for index in range(30):
        (volume.path / f"file-{index:02}").write_bytes(b"x" * 64)
    secret_digest = hashlib.sha256(SECRET).hexdigest()
    toggler(_swap_file_and_symlink(volume.path / "file-15", victim.pods_dir / victim.secret_dir / "password"))

    digests: set[str] = set()
    for _ in range(36):
        result = control(data_sandbox, f"checksum {volume.endpoint.path}")
        assert result.returncode == 0, result.stderr
        digests |= {json.loads(line)["sha256"] for line in result.stdout.splitlines()}

    assert secret_digest not in digests
    assert hashlib.sha256(b"harmless").hexdigest() in digests  # the race did run both ways


def test_pull_never_copies_a_secret_through_a_symlink_swapped_in_on_the_source(
    data_sandbox: DataSandbox, toggler: Callable[[Callable[[], None]], None]
) -> None:
    pod = pod_on_node(data_sandbox, "prod-1")
    toggler(_swap_file_and_symlink(pod.volume_dir / "swapped", pod.pods_dir / pod.secret_dir / "password"))

    for _ in range(12):
        destination = data_sandbox.volume("dr-1")
        result = control(data_sandbox, pull_request(data_sandbox, pod.volume, destination.endpoint.path))
        assert result.returncode in (0, 23, 24), result.stderr
        assert SECRET not in copied_bytes(destination.path)


def test_sample_verification_handles_a_file_name_with_a_newline(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    destination = data_sandbox.volume("dr-1")
    (source.path / "line\nbreak.txt").write_text("one")
    (source.path / "plain.txt").write_text("two")
    spec = TransferSpec(source=source.endpoint, destination=destination.endpoint)

    result = transfer_pvc(
        spec,
        data_sandbox.credentials,
        verification_mode=VerificationMode.sample,
        sample_percent=100,
    )

    assert (destination.path / "line\nbreak.txt").read_text() == "one"
    assert result.verification is not None
    assert result.verification.passed
    assert result.verification.files_checked == 2


# --- sshd: production settings, idle connections closed ----------------------------------------------


def test_agents_run_sshd_with_strict_modes_and_connection_limits(data_sandbox: DataSandbox) -> None:
    config = data_sandbox.agents["prod-1"].config_dir / "sshd_config"

    effective = run(["/usr/sbin/sshd", "-T", "-f", str(config)]).stdout.splitlines()

    assert "strictmodes yes" in effective
    assert "maxsessions 4" in effective
    assert "unusedconnectiontimeout 10" in effective
    assert any(line.startswith("maxstartups 10:30:60") for line in effective)


def test_an_authenticated_connection_without_a_session_is_closed(data_sandbox: DataSandbox) -> None:
    started = time.monotonic()

    result = run([*pull_key_ssh(data_sandbox, "prod-1"), "-N", "root@127.0.0.1"], timeout=40)

    assert result.returncode == 255
    assert time.monotonic() - started < 30


# --- from=: keys bound to client networks (pvcSync.ssh.allowedSourceCIDRs) ---------------------------


@contextlib.contextmanager
def _own_source_agent(
    sandbox: DataSandbox, authorize: Callable[[Path], object]
) -> Iterator[tuple[Path, list[str]]]:
    """A source agent of its own (real sshd, prod-1's pods dir, StrictModes yes) whose authorized_keys
    ``authorize(path)`` writes (and may rewrite); yields that path and ssh argv with the pull key."""
    node = AgentNode("prod-own", "prod", sandbox.agents["prod-1"].node.root_dir)
    secure = Path(tempfile.mkdtemp(prefix="dr-syncer-own-", dir="/run"))
    agent = LocalAgent(node=node, port=free_port(), config_dir=secure)
    try:
        (secure / "host_key").write_text(sandbox.host_keys["prod-1"].private_openssh)
        (secure / "host_key").chmod(0o600)
        authorize(secure / "authorized_keys")
        (secure / "sshd_config").write_text(
            render_sshd_config(
                port=agent.port,
                host_key=str(secure / "host_key"),
                authorized_keys_file=str(secure / "authorized_keys"),
                pid_file=str(secure / "sshd.pid"),
            )
        )
        known_hosts = secure / "known_hosts"
        known_hosts.write_text(
            known_hosts_line(sandbox.host_keys["prod-1"].public_openssh, host="127.0.0.1", port=agent.port)
            + "\n"
        )
        dr_config = sandbox.agents["dr-1"].config_dir
        ssh = ssh_argv(
            SshTransport(
                port=agent.port,
                identity_file=str(dr_config / pull_key_file(MAPPING)),
                known_hosts_file=str(known_hosts),
            )
        )
        agent.start()
        yield secure / "authorized_keys", ssh
    finally:
        agent.stop()
        shutil.rmtree(secure, ignore_errors=True)


def _pull_key_lines(
    sandbox: DataSandbox, *, cidrs: Sequence[str] = (), gate_extra: Sequence[str] = ()
) -> str:  # type: ignore[assignment]
    node = sandbox.agents["prod-1"].node
    return authorized_keys(
        pull_keys=[sandbox.agents.mappings[MAPPING].keys.pull],
        pods_dir=str(node.pods_dir),
        source_gate=[*source_gate_argv(), *gate_extra],
        mountinfo=str(mountinfo_path(node.root_dir)),
        from_cidrs=cidrs,
        session_dir=str(node.root_dir / "sessions-own"),
    )


def test_a_key_bound_to_other_networks_is_refused_by_sshd(data_sandbox: DataSandbox) -> None:
    pod = pod_on_node(data_sandbox, "prod-1")

    with _own_source_agent(
        data_sandbox, lambda path: path.write_text(_pull_key_lines(data_sandbox, cidrs=["10.255.0.0/16"]))
    ) as (authorized, ssh):
        refused = run(["rsync", "--list-only", "-e", " ".join(ssh), f"root@127.0.0.1:{pod.volume}/"])
        authorized.write_text(_pull_key_lines(data_sandbox, cidrs=["127.0.0.0/8"]))
        allowed = run(["rsync", "--list-only", "-e", " ".join(ssh), f"root@127.0.0.1:{pod.volume}/"])

    assert refused.returncode != 0
    assert "Permission denied (publickey)" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr
    assert "data.txt" in allowed.stdout


def test_a_key_runs_a_bounded_number_of_sessions(data_sandbox: DataSandbox) -> None:
    pod = pod_on_node(data_sandbox, "prod-1")
    command = f"rsync --server --sender -logDtpre.iLsfxCIvu . {pod.volume}/"
    slots = data_sandbox.agents["prod-1"].node.root_dir / "sessions-own"
    held: list[subprocess.Popen[bytes]] = []

    def slots_held() -> int:
        count = 0
        for slot in slots.rglob("slot-*"):
            with slot.open("rb") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    count += 1
        return count

    with _own_source_agent(
        data_sandbox,
        lambda path: path.write_text(_pull_key_lines(data_sandbox, gate_extra=["--max-sessions", "2"])),
    ) as (_, ssh):
        try:
            for _ in range(2):  # two sessions that never finish the rsync handshake: they hold their slots
                held.append(
                    subprocess.Popen(
                        [*ssh, "root@127.0.0.1", command],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            deadline = time.monotonic() + 20
            while slots_held() < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            third = run([*ssh, "root@127.0.0.1", command], timeout=30)
        finally:
            for process in held:
                process.kill()
                process.wait(timeout=10)
        deadline = time.monotonic() + 20
        while slots_held() > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        after = run(["rsync", "--list-only", "-e", " ".join(ssh), f"root@127.0.0.1:{pod.volume}/"])

    assert third.returncode == 75
    assert "already runs 2 sessions" in third.stderr
    assert after.returncode == 0, after.stderr


def test_pull_may_only_reach_the_source_clusters_agent_port(data_sandbox: DataSandbox) -> None:
    # The sandbox's data agents listen on one port per node, so this runs the control program as sshd
    # would, with the --source-port its authorized_keys line carries on a real cluster.
    dr = data_sandbox.agents["dr-1"]
    source = data_sandbox.volume("prod-1")
    destination = data_sandbox.volume("dr-1")
    request = json.loads(pull_request(data_sandbox, source.endpoint.path, destination.endpoint.path)[5:])
    request["source"]["port"] = 22
    argv = [
        *control_program_argv(),
        "--pods-dir", str(dr.node.pods_dir),
        "--mountinfo", str(mountinfo_path(dr.node.root_dir)),
        "--source-port", str(data_sandbox.agents["prod-1"].port),
    ]  # fmt: skip

    result = subprocess.run(
        argv,
        env={"SSH_ORIGINAL_COMMAND": "pull " + json.dumps(request), "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 65
    assert f"source cluster's agent port {data_sandbox.agents['prod-1'].port}" in result.stderr
    assert list(destination.path.iterdir()) == []
