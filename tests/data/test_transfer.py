"""The mover end to end: control key -> DR agent -> rsync pull from the source agent, on loopback."""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import pytest

from drsyncer.errors import DataAuthError, DataSafetyError, DataSyncError, TransientDataError
from drsyncer.keys import known_hosts_line
from tasks.data.retry import RetryPolicy
from tasks.data.rsync_command import RsyncOptions
from tasks.data.transfer import (
    AgentClient,
    AgentEndpoint,
    ControlCredentials,
    TransferSpec,
    transfer_pvc,
)
from tasks.data.verification import VerificationMode
from tests.data.trees import build_rich_tree, snapshot
from tests.fixtures.agents import DataSandbox, Volume

FAST_RETRY = RetryPolicy(max_retries=3, initial_backoff_seconds=0.05, max_backoff_seconds=0.2, jitter=0.0)


def _spec(source: Volume, destination: Volume, **kwargs: object) -> TransferSpec:
    return TransferSpec(source=source.endpoint, destination=destination.endpoint, **kwargs)  # type: ignore[arg-type]


def _sync(sandbox: DataSandbox, spec: TransferSpec, **kwargs: object):  # type: ignore[no-untyped-def]
    kwargs.setdefault("retry_policy", FAST_RETRY)
    return transfer_pvc(spec, sandbox.credentials, **kwargs)  # type: ignore[arg-type]


def test_pull_makes_a_byte_identical_tree(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    destination = data_sandbox.volume("dr-1")
    build_rich_tree(source.path)
    lines: list[str] = []

    result = _sync(data_sandbox, _spec(source, destination), on_line=lines.append)

    assert snapshot(destination.path) == snapshot(source.path)
    assert os.readlink(destination.path / "link-outside") == "/etc/passwd"  # copied as a link, not followed
    assert result.files_transferred == 7  # regular files, the empty one included
    assert result.bytes_transferred > 10_000
    assert result.attempts == 1
    assert any("to-chk=" in line for line in lines)  # progress was streamed


def test_second_pull_mirrors_deletions_and_changes(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    destination = data_sandbox.volume("dr-1")
    build_rich_tree(source.path)
    _sync(data_sandbox, _spec(source, destination))
    (source.path / "a" / "b" / "c" / "deep.txt").unlink()
    (source.path / "shared").rmdir()
    (source.path / "new.txt").write_text("new")

    result = _sync(data_sandbox, _spec(source, destination))

    assert snapshot(destination.path) == snapshot(source.path)
    assert result.stats is not None
    assert result.stats.files_deleted == 2


def test_noop_resync_transfers_no_files(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    destination = data_sandbox.volume("dr-1")
    build_rich_tree(source.path)
    _sync(data_sandbox, _spec(source, destination))

    result = _sync(data_sandbox, _spec(source, destination))

    assert result.files_transferred == 0


def test_empty_source_syncs_into_empty_destination(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-2")
    destination = data_sandbox.volume("dr-1")

    result = _sync(data_sandbox, _spec(source, destination))

    assert result.files_transferred == 0
    assert list(destination.path.iterdir()) == []


def test_empty_source_never_erases_a_full_destination(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    destination = data_sandbox.volume("dr-1")
    (destination.path / "precious.db").write_text("keep me")
    sleeps: list[float] = []

    with pytest.raises(DataSafetyError, match="empty"):
        _sync(data_sandbox, _spec(source, destination), sleep=sleeps.append)

    assert (destination.path / "precious.db").read_text() == "keep me"
    assert sleeps == []  # never retried


def test_allow_empty_source_mirrors_the_empty_source(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    destination = data_sandbox.volume("dr-1")
    (destination.path / "stale").write_text("old")

    _sync(data_sandbox, _spec(source, destination, allow_empty_source=True))

    assert list(destination.path.iterdir()) == []


def test_missing_source_volume_fails_without_retry(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1", create=False)
    destination = data_sandbox.volume("dr-1")
    sleeps: list[float] = []

    with pytest.raises(DataSyncError, match="does not exist") as caught:
        _sync(data_sandbox, _spec(source, destination), sleep=sleeps.append)

    assert not isinstance(caught.value, TransientDataError)
    assert sleeps == []


def test_exclude_paths_are_not_copied(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    destination = data_sandbox.volume("dr-1")
    (source.path / "keep.txt").write_text("k")
    (source.path / "cache").mkdir()
    (source.path / "cache" / "big.tmp").write_text("t")

    _sync(data_sandbox, _spec(source, destination, options=RsyncOptions(exclude_paths=("cache/",))))

    assert sorted(p.name for p in destination.path.iterdir()) == ["keep.txt"]


def test_unknown_dr_host_key_fails_closed_without_retry(data_sandbox: DataSandbox, tmp_path: Path) -> None:
    source = data_sandbox.volume("prod-1")
    destination = data_sandbox.volume("dr-1")
    (source.path / "f").write_text("x")
    wrong = tmp_path / "known_hosts"
    # The DR agent's port, but the *prod* cluster's host key: a man in the middle, as far as we know.
    wrong.write_text(
        f"[127.0.0.1]:{destination.endpoint.port} {data_sandbox.host_keys['prod-1'].public_openssh}\n"
    )
    sleeps: list[float] = []

    with pytest.raises(DataAuthError, match="host key"):
        transfer_pvc(
            _spec(source, destination),
            ControlCredentials(data_sandbox.credentials.key_file, wrong),
            retry_policy=FAST_RETRY,
            sleep=sleeps.append,
        )

    assert sleeps == []
    assert list(destination.path.iterdir()) == []


def test_dr_agent_host_key_missing_from_known_hosts_fails_closed(
    data_sandbox: DataSandbox, tmp_path: Path
) -> None:
    destination = data_sandbox.volume("dr-1")
    empty = tmp_path / "known_hosts"
    empty.write_text("")

    with pytest.raises(DataAuthError, match="known_hosts"):
        transfer_pvc(
            _spec(destination, destination),
            ControlCredentials(data_sandbox.credentials.key_file, empty),
            retry_policy=FAST_RETRY,
        )


def test_source_with_wrong_host_key_fails_closed_on_the_dr_agent(data_sandbox: DataSandbox) -> None:
    # Point the DR agent at the DR agent itself as "source": its host key is not the prod cluster's. The
    # impostor serves a different tree, so a pull that went ahead would show in the destination.
    destination = data_sandbox.volume("dr-1")
    (destination.path / "keep").write_text("x")
    before = snapshot(destination.path)
    planted = data_sandbox.volume("dr-1")
    (planted.path / "planted.txt").write_text("from the impostor")
    impostor = AgentEndpoint("127.0.0.1", planted.endpoint.port, planted.endpoint.path)
    sleeps: list[float] = []

    with pytest.raises(DataAuthError, match="Host key verification failed"):
        _sync(
            data_sandbox, TransferSpec(source=impostor, destination=destination.endpoint), sleep=sleeps.append
        )

    assert sleeps == []
    assert snapshot(destination.path) == before


def test_dr_agent_down_is_transient_retried_then_fails(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    down = AgentEndpoint("127.0.0.1", _closed_port(), "x/volumes/y/mount")
    sleeps: list[float] = []

    with pytest.raises(TransientDataError, match="cannot reach"):
        _sync(data_sandbox, TransferSpec(source=source.endpoint, destination=down), sleep=sleeps.append)

    assert sleeps == pytest.approx([0.05, 0.1, 0.2])


def test_source_agent_down_is_transient(data_sandbox: DataSandbox) -> None:
    destination = data_sandbox.volume("dr-1")
    down = AgentEndpoint(
        "127.0.0.1", _closed_port(), data_sandbox.volume("prod-1", create=False).endpoint.path
    )
    sleeps: list[float] = []

    with pytest.raises(TransientDataError):
        _sync(data_sandbox, TransferSpec(source=down, destination=destination.endpoint), sleep=sleeps.append)

    assert len(sleeps) == FAST_RETRY.max_retries


def test_transfer_cut_midway_is_retried_and_ends_identical(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-2")
    destination = data_sandbox.volume("dr-1")
    for index in range(3):
        (source.path / f"blob-{index}.bin").write_bytes(random.Random(index).randbytes(1024 * 1024))
    source_agent = data_sandbox.agents["prod-2"]
    cut: list[int] = []

    def cut_once(line: str) -> None:
        if not cut and "xfr#" not in line and line.strip()[:1].isdigit() and "%" in line:
            done = int(line.split(maxsplit=1)[0].replace(",", ""))
            if done > 256 * 1024:
                cut.extend(source_agent.cut_sessions())

    result = _sync(
        data_sandbox,
        _spec(source, destination, options=RsyncOptions(bandwidth_limit_kbps=1024)),
        on_line=cut_once,
    )

    assert cut, "the transfer was never cut"
    assert result.attempts >= 2
    assert snapshot(destination.path) == snapshot(source.path)


def test_control_connection_cut_midway_is_retried_and_ends_identical(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-2")
    destination = data_sandbox.volume("dr-1")
    for index in range(3):
        (source.path / f"blob-{index}.bin").write_bytes(random.Random(10 + index).randbytes(1024 * 1024))
    dr_agent = data_sandbox.agents["dr-1"]
    cut: list[int] = []

    def cut_once(line: str) -> None:
        if (
            not cut
            and "%" in line
            and line.strip()[:1].isdigit()
            and int(line.split(maxsplit=1)[0].replace(",", "")) > 0
        ):
            cut.extend(dr_agent.cut_sessions())

    result = _sync(
        data_sandbox,
        _spec(source, destination, options=RsyncOptions(bandwidth_limit_kbps=1024)),
        on_line=cut_once,
    )

    assert cut, "the transfer was never cut"
    assert result.attempts >= 2
    assert snapshot(destination.path) == snapshot(source.path)


def _timed_pull(sandbox: DataSandbox, source: Volume, options: RsyncOptions) -> tuple[float, str]:
    """Pull ``source`` into a fresh DR volume; the seconds it took and the transfer rsync's arguments."""
    destination = sandbox.volume("dr-1")
    started_at = time.time()
    started = time.monotonic()
    result = _sync(sandbox, _spec(source, destination, options=options))
    elapsed = time.monotonic() - started
    assert result.files_transferred == 1
    transfers = [p for p in sandbox.agents.pulls() if p.started >= started_at and p.kind == "transfer"]
    assert transfers, "the agent ran no rsync transfer"
    return elapsed, transfers[0].arguments


def test_bandwidth_limit_is_honoured(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    # ≥ 6 s at 1 MiB/s; unlimited, a pull costs ~2 s here (logins, listing) plus well under a second of copy,
    # so the ratio below holds until that fixed cost triples under load
    size = 6 * 1024 * 1024
    (source.path / "payload.bin").write_bytes(random.Random(7).randbytes(size))

    unlimited, unlimited_arguments = _timed_pull(data_sandbox, source, RsyncOptions())
    limited, limited_arguments = _timed_pull(data_sandbox, source, RsyncOptions(bandwidth_limit_kbps=1024))

    assert "--bwlimit=1024" in limited_arguments.split()
    assert "--bwlimit" not in unlimited_arguments
    # the limit must slow the pull down for real (load slows both pulls alike, so a ratio tolerates it)
    assert limited >= 2 * unlimited, f"limited {limited:.2f} s vs unlimited {unlimited:.2f} s"


def test_full_verification_detects_and_repairs_a_corrupted_dr_file(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    destination = data_sandbox.volume("dr-1")
    build_rich_tree(source.path)
    spec = _spec(source, destination)
    _sync(data_sandbox, spec)
    _corrupt_keeping_size_and_mtime(destination.path / "a" / "b" / "c" / "deep.txt")

    with AgentClient("127.0.0.1", destination.endpoint.port, data_sandbox.credentials) as client:
        check = client.verify(spec, mode=VerificationMode.full)
    assert check.mismatches == ("a/b/c/deep.txt",)

    result = _sync(data_sandbox, spec, verification_mode=VerificationMode.full)
    assert result.verification is not None
    assert result.verification.passed
    assert snapshot(destination.path) == snapshot(source.path)


def test_sample_verification_detects_a_corrupted_dr_file(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    destination = data_sandbox.volume("dr-1")
    for index in range(20):
        (source.path / f"f{index:02}.txt").write_text(f"content {index}\n" * 50)
    spec = _spec(source, destination)
    _sync(data_sandbox, spec)
    for index in range(20):
        _corrupt_keeping_size_and_mtime(destination.path / f"f{index:02}.txt")

    with AgentClient("127.0.0.1", destination.endpoint.port, data_sandbox.credentials) as client:
        first = client.verify(spec, mode=VerificationMode.sample, sample_percent=25, seed="s1")
        second = client.verify(spec, mode=VerificationMode.sample, sample_percent=25, seed="s1")

    assert len(first.mismatches) == 5
    assert first.mismatches == second.mismatches  # deterministic from the seed


def test_two_pulls_into_one_destination_never_run_at_once(data_sandbox: DataSandbox) -> None:
    source = data_sandbox.volume("prod-1")
    destination = data_sandbox.volume("dr-1")
    # 4 MiB at 512 KiB/s holds the first pull for ~8 s: room for the second pull's control connection
    # even on a loaded 2-core runner (1 MiB was not always enough).
    (source.path / "slow.bin").write_bytes(random.Random(3).randbytes(4 * 1024 * 1024))
    spec = _spec(source, destination, options=RsyncOptions(bandwidth_limit_kbps=512))
    started = threading.Event()
    first: list[object] = []

    def slow_pull() -> None:
        first.append(_sync(data_sandbox, spec, on_line=lambda line: started.set()))

    worker = threading.Thread(target=slow_pull)
    worker.start()
    assert started.wait(timeout=10)
    no_retry = RetryPolicy(max_retries=0)
    with pytest.raises(TransientDataError, match="another pull"):
        _sync(data_sandbox, spec, retry_policy=no_retry)
    worker.join(timeout=30)
    assert first
    assert snapshot(destination.path) == snapshot(source.path)


def _corrupt_keeping_size_and_mtime(path: Path) -> None:
    info = path.stat()
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_production_wildcard_known_hosts_line_is_accepted_by_fabric(
    data_sandbox: DataSandbox, tmp_path: Path
) -> None:
    dr_port = data_sandbox.agents["dr-1"].port
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(
        known_hosts_line(data_sandbox.host_keys["dr-1"].public_openssh, host="*", port=dr_port) + "\n"
    )

    with AgentClient(
        "127.0.0.1", dr_port, ControlCredentials(data_sandbox.credentials.key_file, known_hosts)
    ) as client:
        assert client.probe()["ok"] is True
