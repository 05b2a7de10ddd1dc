"""The rsync-over-SSH data mover: ask a DR agent to pull one volume from a source agent, and judge the result.

``transfer_pvc`` is the whole per-PVC data step after endpoint resolution. It opens a **fabric** connection
to the DR agent with the mapping's control key (host key checked against our known_hosts with paramiko's
``RejectPolicy``; no ssh-agent, no ``~/.ssh`` keys, no user ssh config; connect, banner and auth timeouts)
and runs ``pull <json>`` — the DR agent's forced command then runs rsync from the source agent with the
pull key (``agent/control.py``). rsync's progress and ``--stats`` stream back line by line to ``on_line``
(the Prefect task logs them and updates a progress artifact); the stats become a :class:`TransferResult`.
After the pull it verifies (``none|sample|full``, :mod:`tasks.data.verification`); a mismatch triggers one
checksum re-sync and a second verification, and fails the PVC if files still differ.

Failures are classified once, here (see :func:`classify_exit`), into the error tree of
:mod:`drsyncer.errors`: connection refused/reset/timeouts, rsync stream and I/O-timeout errors and a busy
destination are :class:`TransientDataError` and retried with backoff (:mod:`tasks.data.retry`); refused
keys and unknown or changed host keys are :class:`DataAuthError`; the empty-source guard is
:class:`DataSafetyError`; invalid requests are plain :class:`DataSyncError`. None of those three are retried.
rsync exit 23 (partial transfer: some files could not be read) is not retried: the cause (permissions,
unreadable files) does not go away by itself, and ``--partial`` + ``--delay-updates``-free mirroring has
already kept every file it could. Exit 24 (source files vanished during the run: a live volume) counts as
success with ``vanished_files`` set.
"""

from __future__ import annotations

import base64
import json
import random
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
from fabric import Config, Connection
from invoke.exceptions import CommandTimedOut

from drsyncer.errors import DataAuthError, DataSafetyError, DataSyncError, TransientDataError
from tasks.data.change_guard import ChangeGuardLimits, ChangeSummary, held_reason
from tasks.data.retry import RetryPolicy, call_with_retry
from tasks.data.rsync_command import SSH_USER, RsyncOptions, validate_host, validate_port
from tasks.data.rsync_stats import RsyncStats, parse_stats, split_stream
from tasks.data.verification import VerificationMode, VerificationResult, mismatched_paths

LineCallback = Callable[[str], None]

TRANSIENT_RSYNC_EXITS = frozenset({10, 11, 12, 20, 30, 35})
"""socket I/O, file I/O, protocol stream, killed by signal, I/O timeout, daemon timeout."""
CONTROL_EXIT_MEANINGS = {
    64: "the agent refused the command (usage)",
    65: "the agent refused the request as invalid",
    66: "a volume path does not exist on the agent",
    69: "rsync or ssh is missing on the agent",
    75: "another pull into the same destination is running",
    77: "the empty-source guard refused the pull",
    124: "the pull exceeded its timeout",
}
SOURCE_GATE_NAME = "dr-syncer-source-gate"
"""How the pull key's forced command on source agents signs its refusals (``agent/source_gate.py``)."""
_AUTH_MARKERS = (
    "Host key verification failed",
    "REMOTE HOST IDENTIFICATION HAS CHANGED",
    "Permission denied (publickey",
    "No ED25519 host key is known",
)


@dataclass(frozen=True)
class AgentEndpoint:
    """One side of a transfer: the agent's address and the volume path below its kubelet pods dir."""

    host: str
    port: int
    path: str
    host_key: str = ""
    """The agent's own public host key (``<type> <base64>``, :mod:`tasks.data.agent_host_keys`): when
    set, the only key accepted for this agent (else the credentials' known_hosts)."""
    node: str = ""
    """The node the agent runs on (for messages)."""


@dataclass(frozen=True)
class ControlCredentials:
    """The controller's key material for one ClusterMapping: control private key and DR known_hosts."""

    key_file: Path
    known_hosts_file: Path


@dataclass(frozen=True)
class TransferSpec:
    """Everything one PVC pull needs besides credentials."""

    source: AgentEndpoint
    destination: AgentEndpoint
    options: RsyncOptions = field(default_factory=RsyncOptions)
    allow_empty_source: bool = False
    timeout_seconds: int = 86400
    connect_timeout_seconds: float = 10.0
    change_list: str | None = None
    """The change guard's list on the DR agent (``tasks/data/change_list.py``): the pull transfers only it."""
    guard: ChangeGuardLimits | None = None
    """Judge the change guard's dry run in the pull's own session (``tasks/data/change_check.py``): the
    agent dry-runs, holds above these limits, else transfers only the dry run's change list."""

    def request_json(self, *, verify: dict[str, Any] | None = None) -> str:
        """The ``pull`` request the control program reads (no secrets in it)."""
        request: dict[str, Any] = {
            "source": {"host": self.source.host, "port": self.source.port, "path": self.source.path}
            | ({"hostKey": self.source.host_key} if self.source.host_key else {}),
            "destination": {"path": self.destination.path},
            "options": {
                "bandwidthLimitKbps": self.options.bandwidth_limit_kbps,
                "excludePaths": list(self.options.exclude_paths),
                "rsyncOptions": list(self.options.extra_options),
                "checksum": self.options.checksum,
                "ioTimeoutSeconds": self.options.io_timeout_seconds,
            },
            "allowEmptySource": self.allow_empty_source,
            "timeoutSeconds": self.timeout_seconds,
        }
        if verify is not None:
            request["verify"] = verify
        elif self.change_list is not None:
            request["changeList"] = self.change_list
        if verify is None and self.guard is not None:
            request["guard"] = {
                "maxDeletedPercent": self.guard.max_deleted_percent,
                "maxChangedPercent": self.guard.max_changed_percent,
                "minFiles": self.guard.min_files,
            }
        return json.dumps(request, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class TransferResult:
    """What one PVC's data step did."""

    bytes_transferred: int
    """Bytes received over the network by the DR agent (rsync ``Total bytes received``)."""
    files_transferred: int
    total_size: int
    files_total: int
    duration_seconds: float
    attempts: int
    stats: RsyncStats | None = None
    verification: VerificationResult | None = None
    vanished_files: bool = False
    change_summary: ChangeSummary | None = None
    """The change guard's dry run, when the pull judged it itself (``TransferSpec.guard``)."""
    limits: ChangeGuardLimits | None = None
    """The limits the change summary was judged against."""

    @property
    def held(self) -> str | None:
        """Why the agent held the transfer (nothing written), or None."""
        guard = self.change_summary
        return None if guard is None or self.limits is None else held_reason(guard, self.limits)

    @property
    def throughput_bytes_per_second(self) -> float:
        """Wire bytes per second of wall time (0 for an instant no-op)."""
        return self.bytes_transferred / self.duration_seconds if self.duration_seconds > 0 else 0.0


# --- known_hosts with OpenSSH patterns (paramiko only matches exact names) ----------------------------


def _pattern_matches(pattern: str, name: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name, flags=re.IGNORECASE) is not None


def host_keys_for(known_hosts_file: Path, host: str, port: int) -> list[tuple[str, bytes]]:
    """``(key type, key blob)`` of every known_hosts line whose host patterns match ``[host]:port``."""
    name = host if port == 22 else f"[{host}]:{port}"
    found: list[tuple[str, bytes]] = []
    for line in known_hosts_file.read_text().splitlines():
        fields = line.split()
        if len(fields) < 3 or line.lstrip().startswith(("#", "@")):
            continue
        patterns = fields[0].split(",")
        if any(p.startswith("!") and _pattern_matches(p[1:], name) for p in patterns):
            continue
        if any(_pattern_matches(p, name) for p in patterns if not p.startswith("!")):
            found.append((fields[1], base64.b64decode(fields[2])))
    return found


# --- the control connection ----------------------------------------------------------------------------


class _LineWriter:
    """A file-like sink for fabric that hands complete lines (split on ``\\r``/``\\n``) to a callback."""

    def __init__(self, callback: LineCallback | None, keep: list[str]) -> None:
        self._callback = callback
        self._keep = keep
        self._rest = ""

    def write(self, text: str) -> int:
        lines, self._rest = split_stream(self._rest + text)
        for line in lines:
            self._keep.append(line)
            if self._callback is not None:
                self._callback(line)
        return len(text)

    def flush(self) -> None:
        """Nothing: invoke flushes after every chunk, and a chunk may end mid-line (see :meth:`finish`)."""

    def finish(self) -> None:
        """Hand over the last line if the stream ended without a line break."""
        if self._rest.strip():
            self.write("\n")


@dataclass(frozen=True)
class RemoteRun:
    """Exit code and output lines of one control-program command."""

    exit_code: int
    stdout: list[str]
    stderr: list[str]


class AgentClient:
    """A fabric connection to one agent, authenticated with a control key; use as a context manager."""

    def __init__(
        self,
        host: str,
        port: int,
        credentials: ControlCredentials,
        *,
        connect_timeout: float = 10.0,
        host_key: str = "",
        node: str = "",
    ) -> None:
        """Prepare the connection (made on first use).

        Args:
            host: the agent's address.
            port: its ssh port.
            credentials: the control key (and, when ``host_key`` is empty, the known_hosts to check).
            connect_timeout: seconds for connect, banner and authentication.
            host_key: the agent's own public host key (``<type> <base64>``): the only key accepted.
            node: the agent's node, for messages.
        """
        validate_host(host)
        validate_port(port)
        self.host = host
        self.port = port
        self.node = node
        self.pinned = bool(host_key)
        config = Config(overrides={"load_ssh_configs": False}, ssh_config=paramiko.SSHConfig(), lazy=True)
        self._connection = Connection(
            host,
            user=SSH_USER,
            port=port,
            config=config,
            connect_timeout=int(connect_timeout),
            forward_agent=False,
            connect_kwargs={
                "key_filename": [str(credentials.key_file)],
                "allow_agent": False,
                "look_for_keys": False,
                "banner_timeout": connect_timeout,
                "auth_timeout": connect_timeout,
                "channel_timeout": connect_timeout,
            },
        )
        client = self._connection.client
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        name = host if port == 22 else f"[{host}]:{port}"
        if host_key:
            pinned_type, _, pinned_blob = host_key.partition(" ")
            client.get_host_keys().add(
                name, pinned_type, paramiko.PKey.from_type_string(pinned_type, base64.b64decode(pinned_blob))
            )
            return
        if not credentials.known_hosts_file.is_file():
            return  # nothing known: RejectPolicy refuses the agent (a clear DataAuthError)
        for key_type, blob in host_keys_for(credentials.known_hosts_file, host, port):
            if key_type == "ssh-ed25519":
                client.get_host_keys().add(name, key_type, paramiko.Ed25519Key(data=blob))

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the SSH connection."""
        self._connection.close()

    def run(
        self, command: str, *, on_line: LineCallback | None = None, timeout: float | None = None
    ) -> RemoteRun:
        """Run one control-program command; stream stdout lines to ``on_line``; classify connection errors."""
        out: list[str] = []
        err: list[str] = []
        out_writer, err_writer = _LineWriter(on_line, out), _LineWriter(None, err)
        try:
            result = self._connection.run(
                command,
                hide=True,
                warn=True,
                pty=False,
                in_stream=False,
                out_stream=out_writer,
                err_stream=err_writer,
                timeout=timeout,
            )
        except Exception as error:
            if self.pinned and isinstance(error, paramiko.BadHostKeyException):
                raise DataAuthError(
                    f"agent {self.host}:{self.port} presented a host key that is not the one the agent pod "
                    f"on node {self.node or '?'} printed: another machine answers at that node's address",
                    fix="check which host listens on that address and port (a stale or rogue sshd, or an "
                    "address that moved to another node); the agent pod's log holds its host key",
                ) from error
            raise classify_connection_error(error, self.host, self.port) from error
        out_writer.finish()
        err_writer.finish()
        exit_code = result.exited if isinstance(result.exited, int) else -1
        return RemoteRun(exit_code=exit_code, stdout=out, stderr=err)

    def probe(self) -> dict[str, Any]:
        """The agent's ``probe`` answer."""
        run = self.run("probe", timeout=30)
        if run.exit_code != 0 or not run.stdout:
            raise classify_exit(run, what="probe")
        answer: dict[str, Any] = json.loads(run.stdout[0])
        return answer

    def checksums(self, path: str) -> dict[str, str]:
        """``{relative path: sha256}`` of every regular file below ``path`` on the agent."""
        run = self.run(f"checksum {path}", timeout=3600)
        if run.exit_code != 0:
            raise classify_exit(run, what="checksum")
        entries = [json.loads(line) for line in run.stdout]
        return {str(entry["path"]): str(entry["sha256"]) for entry in entries}

    def disk_free(self, path: str) -> dict[str, Any]:
        """The agent's ``df`` answer for ``path``."""
        run = self.run(f"df {path}", timeout=30)
        if run.exit_code != 0 or not run.stdout:
            raise classify_exit(run, what="df")
        answer: dict[str, Any] = json.loads(run.stdout[0])
        return answer

    def pull(self, spec: TransferSpec, *, on_line: LineCallback | None = None) -> tuple[RsyncStats, bool]:
        """Run one pull; return its stats and whether source files vanished mid-run (rsync exit 24)."""
        run = self.run(f"pull {spec.request_json()}", on_line=on_line, timeout=spec.timeout_seconds + 60.0)
        if run.exit_code not in (0, 24):
            raise classify_exit(run, what="pull")
        return parse_stats(run.stdout) or RsyncStats(), run.exit_code == 24

    def guarded_pull(
        self, spec: TransferSpec, *, on_line: LineCallback | None = None
    ) -> tuple[RsyncStats, bool, ChangeSummary | None]:
        """A pull with ``spec.guard``, and the dry run summary the agent judged (None: an old agent)."""
        run = self.run(f"pull {spec.request_json()}", on_line=on_line, timeout=spec.timeout_seconds + 60.0)
        if run.exit_code not in (0, 24):
            raise classify_exit(run, what="pull")
        summary = next(
            (
                ChangeSummary.from_json(json.loads(line)["changeSummary"])
                for line in reversed(run.stdout)
                if line.startswith('{"changeSummary"')
            ),
            None,
        )
        return parse_stats(run.stdout) or RsyncStats(), run.exit_code == 24, summary

    def verify(
        self, spec: TransferSpec, *, mode: VerificationMode, sample_percent: float = 10.0, seed: str = ""
    ) -> VerificationResult:
        """Compare source and DR by checksum (``full`` or a ``sample``); never changes anything."""
        if mode is VerificationMode.none:
            return VerificationResult(mode=mode)
        verify: dict[str, Any] = {"mode": mode.value}
        if mode is VerificationMode.sample:
            verify |= {"samplePercent": sample_percent, "seed": seed}
        run = self.run(f"pull {spec.request_json(verify=verify)}", timeout=spec.timeout_seconds + 60.0)
        if run.exit_code not in (0, 24):
            raise classify_exit(run, what="verification")
        stats = parse_stats(run.stdout)
        checked = stats.files_total if stats is not None else 0
        return VerificationResult(
            mode=mode, files_checked=checked, mismatches=tuple(mismatched_paths(run.stdout))
        )


# --- classification ----------------------------------------------------------------------------------


def classify_connection_error(error: BaseException, host: str, port: int) -> DataSyncError:
    """Map a connect/run exception on the control connection to our error tree."""
    where = f"agent {host}:{port}"
    if isinstance(error, paramiko.BadHostKeyException):
        return DataAuthError(
            f"{where} presented a host key that does not match known_hosts",
            fix="check that the agent Secret and the controller's known_hosts come from the same key set",
        )
    if isinstance(error, paramiko.AuthenticationException):
        return DataAuthError(
            f"{where} refused the control key", fix="install the mapping's keys on the agents"
        )
    if isinstance(error, paramiko.SSHException) and "not found in known_hosts" in str(error):
        return DataAuthError(
            f"{where} is not in known_hosts (host key unknown); refusing to connect",
            fix="regenerate the controller known_hosts from the cluster's host-key Secret",
        )
    if isinstance(error, CommandTimedOut):
        return TransientDataError(f"{where}: command timed out", fix="it will be retried")
    if isinstance(
        error,
        (
            paramiko.ssh_exception.NoValidConnectionsError,
            socket.timeout,
            TimeoutError,
            ConnectionError,
            EOFError,
            OSError,
            paramiko.SSHException,
        ),
    ):
        return TransientDataError(f"cannot reach {where}: {error}", fix="it will be retried")
    return DataSyncError(f"{where}: {type(error).__name__}: {error}")


def classify_exit(run: RemoteRun, *, what: str) -> DataSyncError:
    """Map a non-zero exit of the control program (its own codes or rsync's) to our error tree."""
    code = run.exit_code
    detail = " | ".join(line for line in run.stderr if line.strip())[-800:]
    message = f"{what} failed with exit code {code}: {CONTROL_EXIT_MEANINGS.get(code, 'rsync/ssh error')}"
    if detail:
        message += f" ({detail})"
    if any(marker in detail for marker in _AUTH_MARKERS):
        return DataAuthError(
            message, fix="check the pull key and the source cluster's host key on the DR agents"
        )
    if code in (12, 23) and (
        ("No such file or directory" in detail and ("rrsync" in detail or "change_dir" in detail))
        or (f"{SOURCE_GATE_NAME}: volume path" in detail and "does not exist" in detail)
    ):
        return DataSyncError(
            f"{what} failed: the source volume path does not exist on the source agent ({detail})",
            fix="check the source endpoint (is the volume mounted on that node?)",
        )
    if f"{SOURCE_GATE_NAME}:" in detail:
        return DataSyncError(
            f"{what} failed: the source agent refused the volume path ({detail})",
            fix="check the source endpoint: only mounted PersistentVolume paths are served",
        )
    if code == 77:
        return DataSafetyError(message, fix="check the source volume is mounted; or set allowEmptySource")
    if code in (64, 65, 66, 69):
        return DataSyncError(message, fix="check the resolved volume paths and rsync options")
    if code in (75, 124, 255, -1) or code in TRANSIENT_RSYNC_EXITS:
        return TransientDataError(message, fix="it will be retried")
    return DataSyncError(message)


# --- the mover ---------------------------------------------------------------------------------------


def transfer_pvc(
    spec: TransferSpec,
    credentials: ControlCredentials,
    *,
    retry_policy: RetryPolicy | None = None,
    verification_mode: VerificationMode = VerificationMode.none,
    sample_percent: float = 10.0,
    verification_seed: str = "",
    on_line: LineCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> TransferResult:
    """Mirror ``spec.source`` into ``spec.destination`` through the DR agent; retry transient failures.

    Returns a :class:`TransferResult`; raises :class:`DataAuthError`, :class:`DataSafetyError`,
    :class:`DataSyncError`, or the last :class:`TransientDataError` once retries are exhausted.
    """
    started = clock()
    attempts = 0

    guarded: list[ChangeSummary | None] = [None]

    def attempt(number: int) -> tuple[RsyncStats, bool, VerificationResult | None]:
        nonlocal attempts
        attempts = number
        with AgentClient(
            spec.destination.host,
            spec.destination.port,
            credentials,
            connect_timeout=spec.connect_timeout_seconds,
            host_key=spec.destination.host_key,
            node=spec.destination.node,
        ) as client:
            if spec.guard is not None:
                stats, vanished, guarded[0] = client.guarded_pull(spec, on_line=on_line)
                if guarded[0] is not None and held_reason(guarded[0], spec.guard) is not None:
                    return stats, vanished, None  # held: nothing was written, nothing to verify
            else:
                stats, vanished = client.pull(spec, on_line=on_line)
            if verification_mode is VerificationMode.none:
                return stats, vanished, None
            check = client.verify(
                spec, mode=verification_mode, sample_percent=sample_percent, seed=verification_seed
            )
            if check.passed:
                return stats, vanished, check
            if on_line is not None:
                on_line(
                    f"verification found {len(check.mismatches)} differing files; re-syncing with --checksum"
                )
            resync = TransferSpec(
                source=spec.source,
                destination=spec.destination,
                options=RsyncOptions(**{**spec.options.__dict__, "checksum": True}),
                allow_empty_source=spec.allow_empty_source,
                timeout_seconds=spec.timeout_seconds,
                connect_timeout_seconds=spec.connect_timeout_seconds,
            )
            stats, vanished = client.pull(resync, on_line=on_line)
            check = client.verify(
                spec, mode=verification_mode, sample_percent=sample_percent, seed=verification_seed
            )
            if not check.passed:
                raise DataSyncError(
                    f"verification failed: {len(check.mismatches)} files differ after a checksum re-sync "
                    f"(first: {check.mismatches[0]!r})",
                    fix="check that only one node writes the source volume and that the DR disk is healthy",
                )
            return stats, vanished, check

    def log_retry(number: int, wait: float, error: TransientDataError) -> None:
        if on_line is not None:
            on_line(f"attempt {number} failed ({error.message}); retrying in {wait:.1f} s")

    try:
        stats, vanished, check = call_with_retry(
            attempt, retry_policy or RetryPolicy(), sleep=sleep, rng=rng, on_retry=log_retry
        )
    except TransientDataError as error:
        exhausted = TransientDataError(
            error.message, fix=f"gave up after {attempts} attempts; the next sync tries again"
        )
        exhausted.attempts = attempts
        raise exhausted from error
    return TransferResult(
        bytes_transferred=stats.bytes_received,
        files_transferred=stats.files_transferred,
        total_size=stats.total_size,
        files_total=stats.files_total,
        duration_seconds=clock() - started,
        attempts=attempts,
        stats=stats,
        verification=check,
        vanished_files=vanished,
        change_summary=guarded[0],
        limits=spec.guard,
    )
