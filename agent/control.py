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

    Paths are relative to the pods directory of their side and must be exactly PersistentVolume mount
    paths (``tasks/data/volume_paths.py``). The source side is checked again by the pull key's gate on
    the source agent. The destination must exist, have no symlink in any component, be a mount point,
    and is pinned as a descriptor for the whole pull: rsync writes into ``/proc/self/fd/N``
    (``agent/volume_dir.py``), so a swap of the path mid-pull cannot redirect it. The source host must
    be an IP address inside ``--source-cidr`` (when given) and the port ``--source-port`` (when given):
    the control key cannot make this agent connect anywhere else. Failures to connect to the source are
    one normalised message, whatever the cause (refused, unreachable, not ssh).
    Before syncing into a non-empty destination, the empty-source guard lists the
    source's top level (``tasks/data/safety.py``; one extra ssh login, skipped when the destination is
    empty). An ssh ControlMaster shared with the rsync was measured slower for large transfers.
    rsync then runs as an argv list built by ``tasks/data/rsync_command.py``
    (user options re-validated against its allowlist) with the pull key and known_hosts named on *this*
    program's command line, never in the request. rsync's stdout (``--info=progress2`` and ``--stats``) is
    streamed to our stdout (coalesced to a few writes a second); its stderr to our stderr. With
    ``verify`` set, the same rsync runs as ``--dry-run --checksum --itemize-changes`` and its itemized
    lines are streamed instead.
    With ``"preview": true`` (the change guard) the same rsync runs as ``--dry-run --itemize-changes``;
    its output is counted on the agent and one JSON line ``{"changeSummary": {...}}`` is printed
    (``tasks/data/change_guard.py``); nothing is written.
    One pull per destination at a time (an exclusive ``flock`` on the destination directory).
``checksum <path>``
    One JSON line per regular file under ``<path>`` (a volume, checked like the destination):
    ``{"path", "size", "sha256"}``, sorted by path. Every directory and file is opened relative to the
    pinned volume descriptor with ``O_NOFOLLOW``: a symlink, also one swapped in after the listing, is
    never followed.
``df <path>``
    One JSON line: ``{"path", "totalBytes", "usedBytes", "freeBytes", "entries"}``.

Every request is bounded (command size, JSON depth, numbers finite and in range, path lengths); any
failure this program did not foresee is one line on stderr and exit 65, never a traceback.

Exit codes:

====  =================================================================================
0     success
1-35  ``pull``: rsync's own exit code (10 socket I/O, 12 protocol stream, 23 partial transfer,
      24 vanished source files, 30 I/O timeout, 35 daemon timeout ...); see ``man rsync``
255   ``pull``: the ssh from this agent to the source agent failed (connection, auth or host key;
      stderr says which)
64    usage: unknown verb or missing argument
65    invalid request: bad JSON, host, port or path, a refused rsync option, a path that is not a mounted
      PV without symlinks, a source outside the configured port/networks; any unexpected error
66    a path does not exist (destination, checksum/df target, or the source volume)
69    rsync or ssh is not installed where this program was told to find it
75    temporary: another pull into the same destination is running, or this key already runs its
      maximum of sessions on this agent (``agent/session_slots.py``)
77    refused by the empty-source guard (empty source over a non-empty destination)
124   the pull exceeded ``timeoutSeconds``; rsync was stopped
====  =================================================================================
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import hashlib
import io
import json
import os
import select
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NoReturn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.change_lists import ChangeListStore, ChangeListStoreError, binding_of, store_directory
from agent.list_deletions import ListedNameError, read_names, remove_listed
from agent.request_fields import (
    RequestRefusedError,
    allowed_host,
    allowed_port,
    bounded_int,
    change_list_id,
    finite_timeout,
    guard_limits,
    load_request,
    source_host_key,
    strict_bool,
    string_list,
)
from agent.session_slots import DEFAULT_LOCK_DIR, DEFAULT_MAX_SESSIONS, SessionLimitError, acquire_slot
from agent.volume_dir import PROC_MOUNTINFO, PinnedDir, VolumeDirError, open_volume_dir
from tasks.data.change_guard import ChangeCounter, ChangeSummary, held_reason
from tasks.data.change_list import ChangeListWriter, supports_change_list
from tasks.data.host_key_lines import pinned_known_hosts_line
from tasks.data.rsync_command import (
    RsyncOptions,
    SshTransport,
    UnsafeRsyncOptionError,
    rsync_list_argv,
    rsync_pull_argv,
)
from tasks.data.safety import EmptySourceRefusedError, check_empty_source, parse_list_only
from tasks.data.verification import choose_sample
from tasks.data.volume_paths import VolumePathError, validate_volume_path

VERSION = "1"
EXIT_OK = 0
EXIT_USAGE = 64
EXIT_INVALID = 65
EXIT_NOT_FOUND = 66
EXIT_UNAVAILABLE = 69
EXIT_BUSY = 75
EXIT_REFUSED = 77
EXIT_TIMEOUT = 124
EXIT_SSH = 255
MAX_COMMAND_BYTES = 64 * 1024
MAX_TIMEOUT_SECONDS = 7 * 86400
MAX_BANDWIDTH_KBPS = 100 * 1024 * 1024
FLUSH_INTERVAL_SECONDS = 0.25
CONNECTION_ERROR_MARKERS = (
    "ssh: connect to host",
    "ssh: Could not resolve",
    "kex_exchange_identification",
    "banner exchange",
    "Connection closed by",
    "Connection reset by",
    "Connection timed out during banner exchange",
    "ssh_exchange_identification",
    "Bad packet length",
    "ssh_dispatch_run_fatal",
    "Connection refused",
)
"""ssh's own words for "could not talk ssh to that address": replaced by one message, so the control key
cannot use this agent to tell a closed port from a non-ssh service (a port scanner)."""


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


def _volume(config: argparse.Namespace, path: object) -> PinnedDir:
    """Open a PV mount path below ``--pods-dir``: exact shape, no symlinks, a mount point, pinned."""
    try:
        return open_volume_dir(str(config.pods_dir), path, mountinfo=config.mountinfo)
    except VolumeDirError as error:
        raise ControlError(EXIT_NOT_FOUND if error.missing else EXIT_INVALID, str(error)) from None


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
    """sha256 of every regular file below the volume, one JSON line each, sorted by path."""
    volume = _volume(config, argument)
    entries: list[tuple[str, int, str]] = []
    try:
        for directory, dirnames, filenames, directory_fd in os.fwalk(
            ".", dir_fd=volume.fd, follow_symlinks=False
        ):
            dirnames.sort()
            for name in filenames:
                measured = _hash_file(directory_fd, name)
                if measured is not None:
                    entries.append((os.path.normpath(os.path.join(directory, name)), *measured))
    finally:
        volume.close()
    for relative, size, digest in sorted(entries):
        _emit({"path": relative, "size": size, "sha256": digest})
    return EXIT_OK


def _hash_file(directory_fd: int, name: str) -> tuple[int, str] | None:
    """Size and sha256 of a regular file opened with ``O_NOFOLLOW`` relative to its directory; else None.

    A name swapped for a symlink (ELOOP), a FIFO (``O_NONBLOCK``: no hang) or anything but a regular
    file after the directory was listed is skipped, never followed.
    """
    try:
        handle = os.open(
            name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=directory_fd
        )
    except OSError:
        return None
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode):
            return None
        digest = hashlib.sha256()
        size = 0
        while chunk := os.read(handle, 1 << 20):
            digest.update(chunk)
            size += len(chunk)
        return size, digest.hexdigest()
    finally:
        os.close(handle)


def disk_free(config: argparse.Namespace, argument: str) -> int:
    """Capacity and usage of the filesystem holding the volume."""
    volume = _volume(config, argument)
    try:
        stats = os.fstatvfs(volume.fd)
        entries = len(os.listdir(volume.fd))
    finally:
        volume.close()
    total = stats.f_blocks * stats.f_frsize
    _emit(
        {
            "path": argument,
            "totalBytes": total,
            "usedBytes": total - stats.f_bfree * stats.f_frsize,
            "freeBytes": stats.f_bavail * stats.f_frsize,
            "entries": entries,
        }
    )
    return EXIT_OK


def _parse_pull(config: argparse.Namespace, argument: str) -> dict[str, Any]:
    """The pull request, every field checked and bounded (``agent/request_fields.py``), or exit 65."""
    try:
        request = load_request(argument)
        known = {"source", "destination", "options", "allowEmptySource", "timeoutSeconds", "verify"}
        known |= {"preview", "changeList", "guard"}
        unknown = set(request) - known
        if unknown:
            raise RequestRefusedError(f"pull request has unknown fields {sorted(unknown)[:5]}")
        source = request.get("source")
        destination = request.get("destination")
        if not isinstance(source, dict) or not isinstance(destination, dict):
            raise RequestRefusedError("pull request needs 'source' and 'destination' objects")
        options = request.get("options") or {}
        if not isinstance(options, dict):
            raise RequestRefusedError("'options' must be an object")
        host = allowed_host(source.get("host", ""), networks=config.source_cidr)
        port = allowed_port(source.get("port"), configured=config.source_port)
        source["hostKey"] = source_host_key(source.get("hostKey"))
        validate_volume_path(source.get("path", ""))
        rsync_options = RsyncOptions(
            bandwidth_limit_kbps=bounded_int(
                options.get("bandwidthLimitKbps", 0), "bandwidthLimitKbps", maximum=MAX_BANDWIDTH_KBPS
            ),
            exclude_paths=string_list(options.get("excludePaths", []), "excludePaths"),
            extra_options=string_list(options.get("rsyncOptions", []), "rsyncOptions"),
            checksum=strict_bool(options.get("checksum", False), "checksum"),
            io_timeout_seconds=bounded_int(
                options.get("ioTimeoutSeconds", 300), "ioTimeoutSeconds", maximum=MAX_TIMEOUT_SECONDS
            ),
        )
        # Build once now so every option is validated before anything runs.
        rsync_pull_argv(
            source_host=host,
            source_path=source["path"],
            destination_dir="/nonexistent",
            transport=_transport(config, port),
            options=rsync_options,
        )
        request["rsyncOptions"] = rsync_options
        request["timeoutSeconds"] = finite_timeout(
            request.get("timeoutSeconds", 86400), maximum=MAX_TIMEOUT_SECONDS
        )
        request["allowEmptySource"] = strict_bool(request.get("allowEmptySource", False), "allowEmptySource")
        request["preview"] = strict_bool(request.get("preview", False), "preview")
        request["changeList"] = change_list_id(request.get("changeList"))
        request["guard"] = guard_limits(request.get("guard"))
    except (RequestRefusedError, UnsafeRsyncOptionError, VolumePathError, TypeError, KeyError) as error:
        raise ControlError(EXIT_INVALID, str(error)) from None
    return request


def _transport(config: argparse.Namespace, port: int, *, known_hosts: str = "") -> SshTransport:
    return SshTransport(
        port=port,
        identity_file=str(config.pull_key),
        known_hosts_file=known_hosts or str(config.known_hosts),
        connect_timeout_seconds=config.connect_timeout,
        ssh_binary=config.ssh,
    )


def _lock(volume: PinnedDir) -> None:
    try:
        fcntl.flock(volume.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ControlError(EXIT_BUSY, "another pull into this destination is running") from None


def _guard_empty_source(
    config: argparse.Namespace, request: dict[str, Any], destination: PinnedDir, transport: SshTransport
) -> None:
    destination_entries = len(os.listdir(destination.fd))
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
        if _forward_stderr(
            listing.stderr.splitlines(keepends=True), sys.stderr, where=_where(request, transport)
        ):
            raise ControlError(EXIT_SSH, "the empty-source guard could not list the source")
        if "No such file or directory" in listing.stderr or "does not exist" in listing.stderr:
            raise ControlError(EXIT_NOT_FOUND, "the source volume path does not exist on the source agent")
        raise ControlError(listing.returncode, f"listing the source failed (rsync exit {listing.returncode})")
    names = parse_list_only(listing.stdout.splitlines())
    try:
        check_empty_source(
            source_entries=len(names),
            destination_entries=destination_entries,
            allow_empty_source=request["allowEmptySource"],
        )
    except EmptySourceRefusedError as error:
        raise ControlError(EXIT_REFUSED, str(error)) from None


def _where(request: dict[str, Any], transport: SshTransport) -> str:
    return f"{request['source']['host']}:{transport.port}"


def _forward_stderr(lines: list[str] | IO[str], out: IO[str], *, where: str) -> bool:
    """Copy rsync/ssh stderr lines to ``out``, replacing ssh's connection failures with one message.

    Returns whether there was such a failure: the caller then exits 255 whatever rsync said (12 for a
    non-ssh service, 255 for a closed port), so neither the message nor the code tells them apart.
    """
    failed = False
    held: list[str] = []  # rsync's closing lines carry its exit code: dropped after a connection failure
    for line in lines:
        if any(marker in line for marker in CONNECTION_ERROR_MARKERS):
            failed = True
            continue
        if line.startswith(("rsync: connection unexpectedly closed", "rsync error:")):
            held.append(line)
            continue
        out.write(line)
        out.flush()
    if not failed:
        out.writelines(held)
        out.flush()
    if failed:
        out.write(
            f"dr-syncer-control: cannot connect to the source agent at {where} "
            "(refused, unreachable, or not an ssh server)\n"
        )
        out.flush()
    return failed


def _sample_list(destination: PinnedDir, verify: dict[str, Any]) -> str | None:
    """For ``sample`` verification: the chosen files (relative), NUL-separated, in a temp file rsync reads."""
    if verify.get("mode") == "full":
        return None
    if verify.get("mode") != "sample":
        raise ControlError(EXIT_INVALID, "verify.mode must be 'full' or 'sample'")
    percent = verify.get("samplePercent", 10)
    if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 < percent <= 100:
        raise ControlError(EXIT_INVALID, "verify.samplePercent must be in (0, 100]")
    seed = verify.get("seed", "")
    if not isinstance(seed, (str, int)) or isinstance(seed, bool) or len(str(seed)) > 256:
        raise ControlError(EXIT_INVALID, "verify.seed must be a short string or integer")
    files: list[str] = []
    for directory, dirnames, filenames, _ in os.fwalk(".", dir_fd=destination.fd, follow_symlinks=False):
        dirnames.sort()
        files += [os.path.normpath(os.path.join(directory, name)) for name in filenames]
    chosen = choose_sample(files, percent=float(percent), seed=str(seed))
    handle, name = tempfile.mkstemp(prefix="dr-syncer-sample-")
    with os.fdopen(handle, "wb") as listing:
        listing.write(b"".join(os.fsencode(path) + b"\0" for path in chosen))
    _say(f"verifying {len(chosen)} of {len(files)} files")
    return name


def pull(config: argparse.Namespace, argument: str) -> int:
    """Guard, then run rsync from the source agent into the pinned destination, streaming its output."""
    request = _parse_pull(config, argument)
    destination = _volume(config, request["destination"].get("path", ""))
    files_from: str | None = None
    source = request["source"]
    port = allowed_port(source.get("port"), configured=config.source_port)
    pinned = _pinned_known_hosts(source["hostKey"], host=source["host"], port=port)
    transport = _transport(config, port, known_hosts=pinned or "")
    try:
        _lock(destination)
        verify = request.get("verify")
        options: RsyncOptions = request["rsyncOptions"]
        if request["preview"]:
            return _preview(config, request, destination, transport)
        change_list = None if verify else _change_list(config, request)
        if request["guard"] is not None and not verify:
            ended, change_list = _guarded(config, request, destination, transport)
            if ended is not None:
                return ended
        if verify:
            if not isinstance(verify, dict):
                raise ControlError(EXIT_INVALID, "'verify' must be an object")
            files_from = _sample_list(destination, verify)
            options = RsyncOptions(
                exclude_paths=options.exclude_paths,
                checksum=True,
                dry_run=True,
                itemize=True,
                progress=False,
                delete=files_from is None,
                io_timeout_seconds=options.io_timeout_seconds,
            )
        elif change_list is not None:
            _remove_deletions(destination, change_list)
            options = dataclasses.replace(options, delete=False, files_from_changes=True)
        else:
            _guard_empty_source(config, request, destination, transport)
        argv = rsync_pull_argv(
            source_host=source["host"],
            source_path=source["path"],
            destination_dir=destination.proc_path,
            transport=transport,
            options=options,
            rsync_binary=config.rsync,
            files_from=files_from or change_list,
        )
        code = _run_streaming(
            argv,
            timeout=request["timeoutSeconds"],
            keep_fds=(destination.fd,),
            where=_where(request, transport),
        )
        if change_list is not None and code in (EXIT_OK, 24):
            ChangeListStore.discard(change_list)  # a failed pull keeps it for the retry
        return code
    finally:
        if files_from:
            os.unlink(files_from)
        if pinned:
            os.unlink(pinned)
        destination.close()


def _pinned_known_hosts(host_key: str, *, host: str, port: int) -> str | None:
    """A private (0600) known_hosts accepting only ``host_key`` at ``host:port``, for this request only.

    The controller read the source agent's own key from that agent pod's log (per-node host keys); the
    file is removed when the pull ends. None when the request names no key (the ``--known-hosts`` file).
    """
    if not host_key:
        return None
    handle, name = tempfile.mkstemp(prefix="dr-syncer-known-hosts-")
    with os.fdopen(handle, "w") as known_hosts:
        known_hosts.write(pinned_known_hosts_line(host_key, host=host, port=port) + "\n")
    return name


def _preview(
    config: argparse.Namespace, request: dict[str, Any], destination: PinnedDir, transport: SshTransport
) -> int:
    """The change guard's dry run alone (``"preview": true``): one JSON summary line, nothing written."""
    code, summary, _ = _dry_run(config, request, destination, transport)
    if summary is not None:
        _emit({"changeSummary": summary})
    return code


def _guarded(
    config: argparse.Namespace, request: dict[str, Any], destination: PinnedDir, transport: SshTransport
) -> tuple[int | None, str | None]:
    """A ``pull`` with ``"guard"``: the dry run and its judgement in the same session as the transfer.

    Prints the summary line (with ``"held"``: the reason, or null) and returns ``(exit code, None)`` when
    the pull ends here (dry run failed, held, nothing to transfer), else ``(None, change list path or
    None)``: go on with the transfer, limited to that list when there is one.
    """
    code, summary, path = _dry_run(config, request, destination, transport)
    if summary is None:
        return code, None
    reason = held_reason(ChangeSummary.from_json(summary), request["guard"])
    _emit({"changeSummary": summary | {"held": reason}})
    if reason is not None or summary.get("entries") == 0:
        if path is not None:
            ChangeListStore.discard(path)
        return code, None
    return None, path


def _dry_run(
    config: argparse.Namespace, request: dict[str, Any], destination: PinnedDir, transport: SshTransport
) -> tuple[int, dict[str, Any] | None, str | None]:
    """The change guard's dry run (``tasks/data/change_guard.py``): ``(code, summary, change list path)``.

    The same rsync as the pull with ``--dry-run --itemize-changes``; its output is counted here, so a
    million-line itemization never crosses the control channel, and written to a change list
    (``tasks/data/change_list.py``) the real pull then transfers instead of walking the tree again. An
    empty destination has nothing to lose; an empty source over a non-empty destination is refused here
    by the empty-source guard (exit 77), before the guard's percentages could call it "100 % deleted".
    """
    counter = ChangeCounter()
    consumers: list[Callable[[str], None]] = [counter.feed]
    code = EXIT_OK
    change_list: tuple[str, str] | None = None
    writer: ChangeListWriter | None = None
    if os.listdir(destination.fd):
        options: RsyncOptions = request["rsyncOptions"]
        with contextlib.ExitStack() as files:
            if supports_change_list(options):
                change_list, writer = _new_change_list(config, request, files)
            if writer is not None:
                consumers.append(writer.feed)
            argv = rsync_pull_argv(
                source_host=request["source"]["host"],
                source_path=request["source"]["path"],
                destination_dir=destination.proc_path,
                transport=transport,
                options=dataclasses.replace(
                    options,
                    dry_run=True,
                    itemize=True,
                    progress=False,
                    delete=True,
                    itemize_links=writer is None,
                ),
                rsync_binary=config.rsync,
            )
            sink = _CountingSink(consumers)
            code = _run_streaming(
                argv,
                timeout=request["timeoutSeconds"],
                keep_fds=(destination.fd,),
                where=_where(request, transport),
                out=sink,
            )
            sink.finish()
            entries = writer.finish() if writer is not None and code in (EXIT_OK, 24) else None
        if change_list is not None:
            _keep_change_list(change_list, keep=entries is not None)
        if code in (EXIT_OK, 24) and counter.source_entries == 0:
            _refuse_empty_source(request, destination_entries=len(os.listdir(destination.fd)))
    if code not in (EXIT_OK, 24):
        return code, None, None
    summary = counter.summary().to_json()
    if change_list is not None and writer is not None:
        summary |= {"changeList": change_list[0], "entries": writer.total}
        return code, summary, change_list[1]
    return code, summary, None


def _new_change_list(
    config: argparse.Namespace, request: dict[str, Any], files: contextlib.ExitStack
) -> tuple[tuple[str, str] | None, ChangeListWriter | None]:
    """A fresh change list (``(id, path)``) and its writer, or ``(None, None)`` if the store is unusable."""
    store = ChangeListStore(store_directory(config.lock_dir))
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        list_id, path = store.new(binding_of(str(config.pods_dir), request))
        out = files.enter_context(os.fdopen(os.open(path + ".partial", flags, 0o600), "wb"))
        deletions_path = ChangeListStore.deletions_of(path) + ".partial"
        deletions = files.enter_context(os.fdopen(os.open(deletions_path, flags, 0o600), "wb"))
        spill = files.enter_context(tempfile.TemporaryFile(dir=store.directory))  # noqa: SIM115
    except (ChangeListStoreError, OSError) as error:
        _say(f"no change list ({error}); the real transfer will walk the whole tree")
        return None, None
    return (list_id, path), ChangeListWriter(out, deletions=deletions, spill=spill)


def _keep_change_list(change_list: tuple[str, str], *, keep: bool) -> None:
    """Publish the finished lists under their names, or drop the partial ones of a failed dry run."""
    for path in (change_list[1], ChangeListStore.deletions_of(change_list[1])):
        if keep:
            os.replace(path + ".partial", path)
        else:
            ChangeListStore.discard(path + ".partial")


def _remove_deletions(destination: PinnedDir, change_list: str) -> None:
    """Remove the dry run's deletions from the destination before the limited real run (exit 65 if odd)."""
    try:
        removed = remove_listed(destination.fd, read_names(ChangeListStore.deletions_of(change_list)))
    except ListedNameError as error:
        raise ControlError(EXIT_INVALID, str(error)) from None
    if removed:
        _say(f"removed {removed} entries the source no longer has")


def _change_list(config: argparse.Namespace, request: dict[str, Any]) -> str | None:
    """The path of the change list a pull names, or None (no list named, or it is gone: walk the tree)."""
    list_id: str | None = request["changeList"]
    if list_id is None or not supports_change_list(request["rsyncOptions"]):
        return None
    try:
        path = ChangeListStore(store_directory(config.lock_dir)).existing(
            binding_of(str(config.pods_dir), request), list_id
        )
    except (ChangeListStoreError, OSError) as error:
        path, reason = None, str(error)
    else:
        reason = "expired, or the agent restarted"
    if path is None:
        _say(f"change list {list_id} is not available ({reason}); walking the whole tree")
    return path


def _refuse_empty_source(request: dict[str, Any], *, destination_entries: int) -> None:
    """Exit 77 unless ``allowEmptySource``: the dry run saw nothing in the source, the destination is full."""
    try:
        check_empty_source(
            source_entries=0,
            destination_entries=destination_entries,
            allow_empty_source=request["allowEmptySource"],
        )
    except EmptySourceRefusedError as error:
        raise ControlError(EXIT_REFUSED, str(error)) from None


class _CountingSink:
    """A binary sink for :func:`_forward_coalesced` that feeds complete lines to the dry run's readers.

    Lines are decoded with ``surrogateescape``: a name's raw bytes survive into the change list.
    """

    def __init__(self, consumers: list[Callable[[str], None]]) -> None:
        self._consumers = consumers
        self._rest = b""

    def write(self, data: bytes) -> int:
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        for line in lines:
            text = line.decode("utf-8", "surrogateescape")
            for consume in self._consumers:
                consume(text)
        return len(data)

    def flush(self) -> None:
        """Nothing: a chunk may end mid-line; lines are counted as they complete (see :meth:`finish`)."""

    def finish(self) -> None:
        """Count the last line if the stream ended without a line break."""
        if self._rest:
            self.write(b"\n")


def _run_streaming(
    argv: list[str],
    *,
    timeout: float,
    keep_fds: tuple[int, ...] = (),
    where: str = "",
    out: Any = None,
) -> int:
    """Run ``argv``; copy its stdout to ours as it arrives; stop it at ``timeout`` or if our reader leaves.

    ``keep_fds`` stay open in the child (the pinned destination); its stderr goes through
    :func:`_forward_stderr` (connection failures to ``where`` become one message).
    """
    try:
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, pass_fds=keep_fds
        )
    except FileNotFoundError:
        raise ControlError(EXIT_UNAVAILABLE, f"{argv[0]} is not installed") from None
    assert process.stderr is not None
    stderr_lines = _text_lines(process.stderr)
    connection_failed: list[bool] = []
    errors = threading.Thread(
        target=lambda: connection_failed.append(_forward_stderr(stderr_lines, sys.stderr, where=where)),
        daemon=True,
    )
    errors.start()
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        process.terminate()

    timer = threading.Timer(timeout, stop)
    timer.daemon = True
    timer.start()
    assert process.stdout is not None
    try:
        _forward_coalesced(process.stdout.fileno(), out if out is not None else sys.stdout.buffer)
    except (BrokenPipeError, OSError):
        process.terminate()
    finally:
        code = process.wait()
        timer.cancel()
        errors.join(timeout=10)
    if timed_out.is_set():
        _say(f"pull stopped after {timeout:.0f} s (timeoutSeconds)")
        return EXIT_TIMEOUT
    if code != 0 and any(connection_failed):
        return EXIT_SSH
    return code


def _text_lines(stream: IO[bytes]) -> IO[str]:
    """``stream`` as text lines (undecodable bytes kept as escapes)."""
    return io.TextIOWrapper(stream, encoding="utf-8", errors="backslashreplace")


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
    parser.add_argument("--mountinfo", default=PROC_MOUNTINFO, help="the mount table volumes must be in")
    parser.add_argument("--key-id", default="", help="the key's digest: sessions are limited per key")
    parser.add_argument("--max-sessions", type=int, default=DEFAULT_MAX_SESSIONS)
    parser.add_argument("--lock-dir", default=DEFAULT_LOCK_DIR, help="where per-key session slots live")
    parser.add_argument("--source-port", type=int, default=None, help="the only port a pull may connect to")
    parser.add_argument(
        "--source-cidr", action="append", default=[], help="a network a pull's source must be in (repeatable)"
    )
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
        if config.key_id:
            try:
                acquire_slot(config.lock_dir, config.key_id, limit=config.max_sessions)  # held until exit
            except SessionLimitError as error:
                raise ControlError(EXIT_BUSY, str(error)) from None
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
    except Exception as error:
        _say(f"request refused: {type(error).__name__}: {str(error)[:200]}")
        return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
