#!/usr/bin/python3 -I
"""The DR agent's forced command: the only thing the control key can run (``dr-syncer-control``).

sshd runs this program for every login with the control key
(``command="dr-syncer-control --pods-dir /var/lib/kubelet/pods ...",restrict``); the client's command line
arrives in ``SSH_ORIGINAL_COMMAND`` and is treated as data, never given to a shell. Verbs:

``probe``
    One JSON line: program version, pods directory, rsync version. Used for connectivity checks.
``pull <json>``
    Mirror a source agent's volume into a local volume. The request::

        {"source": {"host": "10.0.0.5", "port": 2222,
                    "path": "<pod uid>/volumes/kubernetes.io~csi/<pv>/mount"},
         "destination": {"path": "<pod uid>/volumes/kubernetes.io~csi/<pv>/mount"},
         "options": {"bandwidthLimitKbps": 0, "excludePaths": [], "rsyncOptions": [], "checksum": false,
                     "ioTimeoutSeconds": 300},
         "allowEmptySource": false, "timeoutSeconds": 86400,
         "verify": null | {"mode": "full"} | {"mode": "sample", "samplePercent": 10, "seed": "..."}}

    Paths are relative to the pods directory of their side (the source agent's ``rrsync -ro`` root, this
    agent's ``--pods-dir``). The destination must already exist and resolve (symlinks followed) inside
    ``--pods-dir``. Before syncing into a non-empty destination, the empty-source guard lists the
    source's top level (``tasks/data/safety.py``; one extra ssh login, skipped when the destination is
    empty). An ssh ControlMaster shared with the rsync was measured slower for large transfers.
    rsync then runs as an argv list built by ``tasks/data/rsync_command.py``
    (user options re-validated against its allowlist) with the pull key and known_hosts named on *this*
    program's command line, never in the request. rsync's stdout (``--info=progress2`` and ``--stats``) is
    streamed to our stdout (coalesced to a few writes a second); its stderr to our stderr. With
    ``verify`` set, the same rsync runs as ``--dry-run --checksum --itemize-changes`` and its itemized
    lines are streamed instead.
    One pull per destination at a time (an exclusive ``flock`` on the destination directory).
``checksum <path>``
    One JSON line per regular file under ``<path>``: ``{"path", "size", "sha256"}``, sorted by path;
    symlinks are not followed.
``df <path>``
    One JSON line: ``{"path", "totalBytes", "usedBytes", "freeBytes", "entries"}``.

Exit codes:

====  =================================================================================
0     success
1-35  ``pull``: rsync's own exit code (10 socket I/O, 12 protocol stream, 23 partial transfer,
      24 vanished source files, 30 I/O timeout, 35 daemon timeout ...); see ``man rsync``
255   ``pull``: the ssh from this agent to the source agent failed (connection, auth or host key;
      stderr says which)
64    usage: unknown verb or missing argument
65    invalid request: bad JSON, host, port or path, a refused rsync option, a path outside the pods dir
66    a path does not exist (destination, checksum/df target, or the source volume)
69    rsync or ssh is not installed where this program was told to find it
75    temporary: another pull into the same destination is running
77    refused by the empty-source guard (empty source over a non-empty destination)
124   the pull exceeded ``timeoutSeconds``; rsync was stopped
====  =================================================================================
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.data.rsync_command import (
    RsyncOptions,
    SshTransport,
    UnsafeRsyncOptionError,
    rsync_list_argv,
    rsync_pull_argv,
    validate_host,
    validate_port,
    validate_relative_path,
)
from tasks.data.safety import EmptySourceRefusedError, check_empty_source, count_entries, parse_list_only
from tasks.data.verification import choose_sample

VERSION = "1"
EXIT_OK = 0
EXIT_USAGE = 64
EXIT_INVALID = 65
EXIT_NOT_FOUND = 66
EXIT_UNAVAILABLE = 69
EXIT_BUSY = 75
EXIT_REFUSED = 77
EXIT_TIMEOUT = 124
MAX_COMMAND_BYTES = 64 * 1024
FLUSH_INTERVAL_SECONDS = 0.25


class ControlError(Exception):
    """A request this program refuses; carries the exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _say(message: str) -> None:
    sys.stderr.write(f"dr-syncer-control: {message}\n")
    sys.stderr.flush()


def _emit(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, sort_keys=True) + "\n")
    sys.stdout.flush()


def resolve_inside(pods_dir: Path, path: str) -> Path:
    """Resolve ``path`` (relative to ``pods_dir``, or absolute) and require it to stay inside ``pods_dir``."""
    if not path or "\x00" in path or "\n" in path:
        raise ControlError(EXIT_INVALID, f"invalid path {path!r}")
    candidate = Path(path)
    if ".." in candidate.parts:
        raise ControlError(EXIT_INVALID, f"path {path!r} contains '..'")
    root = pods_dir.resolve()
    full = candidate if candidate.is_absolute() else root / candidate
    try:
        resolved = full.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        raise ControlError(EXIT_NOT_FOUND, f"path {path!r} does not exist") from None
    if resolved != root and root not in resolved.parents:
        raise ControlError(EXIT_INVALID, f"path {path!r} resolves outside the pods directory")
    if resolved == root:
        raise ControlError(EXIT_INVALID, f"path {path!r} is the pods directory itself, not a volume")
    return resolved


# --- verbs -------------------------------------------------------------------------------------------


def probe(config: argparse.Namespace) -> int:
    """Report that the agent is alive and what it runs."""
    try:
        rsync_version = subprocess.run(
            [config.rsync, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        rsync_version = ""
    _emit({"ok": True, "version": VERSION, "podsDir": str(config.pods_dir), "rsync": rsync_version})
    return EXIT_OK


def checksum(config: argparse.Namespace, argument: str) -> int:
    """sha256 of every regular file below the path, one JSON line each."""
    base = resolve_inside(config.pods_dir, argument)
    if not base.is_dir():
        raise ControlError(EXIT_INVALID, f"path {argument!r} is not a directory")
    files: list[tuple[str, Path]] = []
    for directory, dirnames, filenames in os.walk(base, followlinks=False):
        dirnames.sort()
        for name in filenames:
            full = Path(directory) / name
            if full.is_file() and not full.is_symlink():
                files.append((str(full.relative_to(base)), full))
    for relative, full in sorted(files):
        digest = hashlib.sha256()
        with full.open("rb") as handle:
            for chunk in iter(lambda h=handle: h.read(1 << 20), b""):  # type: ignore[misc]
                digest.update(chunk)
        _emit({"path": relative, "size": full.stat().st_size, "sha256": digest.hexdigest()})
    return EXIT_OK


def disk_free(config: argparse.Namespace, argument: str) -> int:
    """Capacity and usage of the filesystem holding the path."""
    base = resolve_inside(config.pods_dir, argument)
    stats = os.statvfs(base)
    total = stats.f_blocks * stats.f_frsize
    free = stats.f_bavail * stats.f_frsize
    entries = count_entries(str(base)) if base.is_dir() else 0
    _emit(
        {
            "path": argument,
            "totalBytes": total,
            "usedBytes": total - stats.f_bfree * stats.f_frsize,
            "freeBytes": free,
            "entries": entries,
        }
    )
    return EXIT_OK


def _parse_pull(config: argparse.Namespace, argument: str) -> dict[str, Any]:
    try:
        request = json.loads(argument)
    except json.JSONDecodeError as error:
        raise ControlError(EXIT_INVALID, f"pull request is not JSON: {error}") from None
    if not isinstance(request, dict):
        raise ControlError(EXIT_INVALID, "pull request must be a JSON object")
    known = {"source", "destination", "options", "allowEmptySource", "timeoutSeconds", "verify"}
    unknown = set(request) - known
    if unknown:
        raise ControlError(EXIT_INVALID, f"pull request has unknown fields {sorted(unknown)}")
    source = request.get("source")
    destination = request.get("destination")
    if not isinstance(source, dict) or not isinstance(destination, dict):
        raise ControlError(EXIT_INVALID, "pull request needs 'source' and 'destination' objects")
    options = request.get("options") or {}
    if not isinstance(options, dict):
        raise ControlError(EXIT_INVALID, "'options' must be an object")
    try:
        validate_host(source.get("host", ""))
        validate_port(source.get("port"))
        validate_relative_path(source.get("path", ""))
        rsync_options = RsyncOptions(
            bandwidth_limit_kbps=_int(options.get("bandwidthLimitKbps", 0), "bandwidthLimitKbps"),
            exclude_paths=_strings(options.get("excludePaths", []), "excludePaths"),
            extra_options=_strings(options.get("rsyncOptions", []), "rsyncOptions"),
            checksum=bool(options.get("checksum", False)),
            io_timeout_seconds=_int(options.get("ioTimeoutSeconds", 300), "ioTimeoutSeconds"),
        )
        # Build once now so every option is validated before anything runs.
        rsync_pull_argv(
            source_host=source["host"],
            source_path=source["path"],
            destination_dir="/nonexistent",
            transport=_transport(config, source["port"]),
            options=rsync_options,
        )
    except (UnsafeRsyncOptionError, TypeError, KeyError) as error:
        raise ControlError(EXIT_INVALID, str(error)) from None
    request["rsyncOptions"] = rsync_options
    request["destinationDir"] = resolve_inside(config.pods_dir, str(destination.get("path", "")))
    if not request["destinationDir"].is_dir():
        raise ControlError(EXIT_INVALID, "destination is not a directory")
    return request


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UnsafeRsyncOptionError(f"'{name}' must be a non-negative integer")
    return value


def _strings(value: object, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise UnsafeRsyncOptionError(f"'{name}' must be a list of strings")
    return tuple(value)


def _transport(config: argparse.Namespace, port: int) -> SshTransport:
    return SshTransport(
        port=port,
        identity_file=str(config.pull_key),
        known_hosts_file=str(config.known_hosts),
        connect_timeout_seconds=config.connect_timeout,
        ssh_binary=config.ssh,
    )


def _lock(directory: Path) -> int:
    handle = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(handle)
        raise ControlError(EXIT_BUSY, "another pull into this destination is running") from None
    return handle


def _guard_empty_source(config: argparse.Namespace, request: dict[str, Any], transport: SshTransport) -> None:
    destination_entries = count_entries(str(request["destinationDir"]))
    if destination_entries == 0:
        return  # nothing to protect: skip the round trip to the source
    source = request["source"]
    argv = rsync_list_argv(
        source_host=source["host"],
        source_path=source["path"],
        transport=transport,
        rsync_binary=config.rsync,
    )
    listing = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    if listing.returncode != 0:
        sys.stderr.write(listing.stderr)
        if "No such file or directory" in listing.stderr:  # rrsync (exit 12) or rsync (exit 23)
            raise ControlError(EXIT_NOT_FOUND, "the source volume path does not exist on the source agent")
        raise ControlError(listing.returncode, f"listing the source failed (rsync exit {listing.returncode})")
    names = parse_list_only(listing.stdout.splitlines())
    try:
        check_empty_source(
            source_entries=len(names),
            destination_entries=destination_entries,
            allow_empty_source=bool(request.get("allowEmptySource", False)),
        )
    except EmptySourceRefusedError as error:
        raise ControlError(EXIT_REFUSED, str(error)) from None


def _sample_list(destination: Path, verify: dict[str, Any]) -> str | None:
    """For ``sample`` verification: write the chosen files (relative) to a temp file rsync reads."""
    if verify.get("mode") == "full":
        return None
    if verify.get("mode") != "sample":
        raise ControlError(EXIT_INVALID, "verify.mode must be 'full' or 'sample'")
    percent = verify.get("samplePercent", 10)
    if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 < percent <= 100:
        raise ControlError(EXIT_INVALID, "verify.samplePercent must be in (0, 100]")
    files: list[str] = []
    for directory, dirnames, filenames in os.walk(destination, followlinks=False):
        dirnames.sort()
        files += [str((Path(directory) / name).relative_to(destination)) for name in filenames]
    chosen = choose_sample(files, percent=float(percent), seed=str(verify.get("seed", "")))
    handle, name = tempfile.mkstemp(prefix="dr-syncer-sample-")
    with os.fdopen(handle, "w") as listing:
        listing.write("".join(f"{path}\n" for path in chosen))
    _say(f"verifying {len(chosen)} of {len(files)} files")
    return name


def pull(config: argparse.Namespace, argument: str) -> int:
    """Guard, then run rsync from the source agent into the destination, streaming its output."""
    request = _parse_pull(config, argument)
    lock = _lock(request["destinationDir"])
    files_from: str | None = None
    source = request["source"]
    transport = _transport(config, source["port"])
    try:
        verify = request.get("verify")
        options: RsyncOptions = request["rsyncOptions"]
        if verify:
            if not isinstance(verify, dict):
                raise ControlError(EXIT_INVALID, "'verify' must be an object")
            files_from = _sample_list(request["destinationDir"], verify)
            options = RsyncOptions(
                exclude_paths=options.exclude_paths,
                checksum=True,
                dry_run=True,
                itemize=True,
                progress=False,
                delete=files_from is None,
                io_timeout_seconds=options.io_timeout_seconds,
            )
        else:
            _guard_empty_source(config, request, transport)
        argv = rsync_pull_argv(
            source_host=source["host"],
            source_path=source["path"],
            destination_dir=str(request["destinationDir"]),
            transport=transport,
            options=options,
            rsync_binary=config.rsync,
            files_from=files_from,
        )
        timeout = request.get("timeoutSeconds", 86400)
        return _run_streaming(argv, timeout=float(timeout) if isinstance(timeout, (int, float)) else 86400.0)
    finally:
        if files_from:
            os.unlink(files_from)
        os.close(lock)


def _run_streaming(argv: list[str], *, timeout: float) -> int:
    """Run ``argv``; copy its stdout to ours as it arrives; stop it at ``timeout`` or if our reader leaves."""
    try:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise ControlError(EXIT_UNAVAILABLE, f"{argv[0]} is not installed") from None
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        process.terminate()

    timer = threading.Timer(timeout, stop)
    timer.daemon = True
    timer.start()
    assert process.stdout is not None
    try:
        _forward_coalesced(process.stdout.fileno(), sys.stdout.buffer)
    except (BrokenPipeError, OSError):
        process.terminate()
    finally:
        code = process.wait()
        timer.cancel()
    if timed_out.is_set():
        _say(f"pull stopped after {timeout:.0f} s (timeoutSeconds)")
        return EXIT_TIMEOUT
    return code


def _forward_coalesced(source: int, out: Any, *, interval: float = FLUSH_INTERVAL_SECONDS) -> None:
    """Copy ``source`` to ``out`` until EOF, flushing at most every ``interval`` seconds.

    rsync's progress2 writes a few bytes per file; forwarding each write as its own SSH packet made the
    controller's SSH client the bottleneck of small-file transfers. Coalescing keeps progress live
    (a few updates a second) without that cost.
    """
    pending = bytearray()
    last_flush = time.monotonic()
    while True:
        ready, _, _ = select.select([source], [], [], interval)
        if ready:
            chunk = os.read(source, 65536)
            if not chunk:
                break
            pending += chunk
        now = time.monotonic()
        if pending and (now - last_flush >= interval or len(pending) >= 65536):
            out.write(bytes(pending))
            out.flush()
            pending.clear()
            last_flush = now
    if pending:
        out.write(bytes(pending))
    out.flush()


# --- entry point -------------------------------------------------------------------------------------


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dr-syncer-control", description="dr-syncer agent forced command")
    parser.add_argument("--pods-dir", type=Path, required=True, help="kubelet pods directory (the only root)")
    parser.add_argument("--pull-key", type=Path, default=Path("/etc/dr-syncer/keys/pull/id_ed25519"))
    parser.add_argument("--known-hosts", type=Path, default=Path("/etc/dr-syncer/keys/pull/known_hosts"))
    parser.add_argument("--rsync", default="/usr/bin/rsync")
    parser.add_argument("--ssh", default="/usr/bin/ssh")
    parser.add_argument("--connect-timeout", type=int, default=10)
    return parser.parse_args(argv)


def _usage(message: str) -> NoReturn:
    _say(message + " (verbs: probe | pull <json> | checksum <path> | df <path>)")
    sys.exit(EXIT_USAGE)


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``SSH_ORIGINAL_COMMAND`` to a verb; return the exit code."""
    config = _arguments(sys.argv[1:] if argv is None else argv)
    command = os.environ.get("SSH_ORIGINAL_COMMAND", "")
    if not command.strip():
        _usage("no command given")
    if len(command.encode()) > MAX_COMMAND_BYTES:
        _usage("command too long")
    verb, _, argument = command.strip().partition(" ")
    argument = argument.strip()
    try:
        if verb == "probe" and not argument:
            return probe(config)
        if not argument:
            _usage(f"unknown command {verb!r} or missing argument")
        if verb == "pull":
            return pull(config, argument)
        if verb == "checksum":
            return checksum(config, argument)
        if verb == "df":
            return disk_free(config, argument)
        _usage(f"unknown command {verb!r}")
    except ControlError as error:
        _say(str(error))
        return error.code


if __name__ == "__main__":
    sys.exit(main())
