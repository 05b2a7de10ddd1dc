"""Commands are data: typed rsync and ssh options in, an argv list out.

Everything that starts rsync or ssh for PVC data builds its argv here, from frozen dataclasses, with no
shell anywhere. User-supplied ``rsyncOptions`` pass :func:`validate_extra_options`, an allowlist: options
that run programs or name other hosts (``-e``, ``--rsh``, ``--rsync-path``), server modes (``--server``,
``--daemon``), options that delete or write outside the destination (``--remove-source-files``,
``--backup-dir``, ``--temp-dir``, ``--link-dest``, ``--delete-excluded`` ...), options that read local files
(``--files-from``, ``--exclude-from``, ``--filter`` merge rules), symlink-following (``-L``, ``-k``, ``-K``),
privilege and device options (``--super``, ``--fake-super``, ``-D``/``--devices``/``--specials``, a
``--chmod`` that sets setuid, setgid or sticky bits) and anything not known are refused with
:class:`UnsafeRsyncOptionError`. Every pull also ends its options with ``--no-devices --no-specials``:
device nodes and FIFOs of a source volume are never recreated on a DR node.

This module is imported by the DR agent's control program as well as by the mover, so it is stdlib-only;
the agent re-validates every request it receives with the same functions (the control key holder does
not get to pick rsync options the allowlist refuses).
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass

DEFAULT_CIPHERS: tuple[str, ...] = ("aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com")
"""AES-GCM first (hardware AES: fastest on loopback and LANs), ChaCha20 for hosts without AES-NI."""

SSH_USER = "root"
"""Agents run sshd in the node's network namespace; the pull key's forced command limits what root can do."""


class UnsafeRsyncOptionError(ValueError):
    """A user-supplied rsync option, host or path was refused."""


# --- user option allowlist -------------------------------------------------------------------------

_ALLOWED_SHORT = frozenset("arlptgoHAXSxczvhiWOJuUN")
"""Short flags without arguments that only change how the destination mirrors the source."""

_ALLOWED_LONG_FLAGS = frozenset(
    {
        "archive", "recursive", "links", "perms", "times", "group", "owner",
        "hard-links", "acls", "xattrs", "sparse", "one-file-system", "checksum", "compress", "verbose",
        "human-readable", "itemize-changes", "whole-file", "no-whole-file", "omit-dir-times",
        "omit-link-times", "update", "atimes", "crtimes", "numeric-ids", "size-only", "ignore-times",
        "delete", "delete-before", "delete-during", "delete-delay", "delete-after",
        "safe-links", "munge-links", "executability", "stats", "progress", "no-motd", "prune-empty-dirs",
        "preallocate", "fsync", "open-noatime", "no-perms", "no-owner", "no-group", "no-times",
        "no-compress", "no-devices", "no-specials",
    }
)  # fmt: skip

_CHMOD_CLAUSE = r"[DF]?(?:[ugoa]*[+\-=][rwxX]*|0?[0-7]{3})"
"""One ``--chmod`` clause without setuid, setgid or sticky bits (no ``s``/``t``, no 4-digit modes)."""

_ALLOWED_LONG_WITH_VALUE: dict[str, re.Pattern[str]] = {
    "bwlimit": re.compile(r"^\d+(\.\d+)?[KMGkmg]?$"),
    "compress-level": re.compile(r"^\d$"),
    "compress-choice": re.compile(r"^(zstd|lz4|zlibx|zlib|none)$"),
    "checksum-choice": re.compile(r"^(xxh128|xxh3|xxh64|md5|md4|sha1|none)$"),
    "block-size": re.compile(r"^\d+$"),
    "modify-window": re.compile(r"^-?\d+$"),
    "max-size": re.compile(r"^\d+(\.\d+)?[KMGTkmgt]?[Bb]?$"),
    "min-size": re.compile(r"^\d+(\.\d+)?[KMGTkmgt]?[Bb]?$"),
    "timeout": re.compile(r"^\d+$"),
    "contimeout": re.compile(r"^\d+$"),
    "chmod": re.compile(rf"^{_CHMOD_CLAUSE}(?:,{_CHMOD_CLAUSE})*$"),
    "info": re.compile(r"^[A-Za-z0-9,]+$"),
    "exclude": re.compile(r"^[^\n\r\x00]+$"),
    "include": re.compile(r"^[^\n\r\x00]+$"),
    "max-delete": re.compile(r"^\d+$"),
}

_REFUSED_REASONS: dict[str, str] = {
    "e": "runs a program of the caller's choice",
    "rsh": "runs a program of the caller's choice",
    "rsync-path": "runs a program on the remote side",
    "server": "rsync internal server mode",
    "sender": "rsync internal server mode",
    "daemon": "starts an rsync daemon",
    "remove-source-files": "deletes data on the source",
    "remove-sent-files": "deletes data on the source",
    "files-from": "reads a local file",
    "exclude-from": "reads a local file",
    "include-from": "reads a local file",
    "filter": "merge rules read local files",
    "f": "merge rules read local files",
    "log-file": "writes a local file",
    "write-batch": "writes a local file",
    "only-write-batch": "writes a local file",
    "read-batch": "reads a local file",
    "backup-dir": "writes outside the destination",
    "temp-dir": "writes outside the destination",
    "T": "writes outside the destination",
    "partial-dir": "writes outside the destination",
    "link-dest": "reads outside the destination",
    "copy-dest": "reads outside the destination",
    "compare-dest": "reads outside the destination",
    "copy-links": "follows symlinks out of the volume",
    "L": "follows symlinks out of the volume",
    "copy-unsafe-links": "follows symlinks out of the volume",
    "copy-dirlinks": "follows symlinks out of the volume",
    "k": "follows symlinks out of the volume",
    "keep-dirlinks": "follows symlinks out of the volume",
    "K": "follows symlinks out of the volume",
    "inplace": "a cut transfer would leave torn files in DR",
    "append": "a cut transfer would leave torn files in DR",
    "append-verify": "a cut transfer would leave torn files in DR",
    "dry-run": "the mover decides when to dry-run",
    "n": "the mover decides when to dry-run",
    "list-only": "the mover decides when to list",
    "port": "the mover decides the port",
    "address": "the mover decides addresses",
    "sockopts": "the mover decides socket options",
    "password-file": "reads a local file",
    "config": "reads a local file",
    "relative": "changes the destination layout",
    "R": "changes the destination layout",
    "mkpath": "creates paths outside the volume",
    "write-devices": "writes through device files",
    "copy-devices": "reads device files",
    "delete-excluded": "with an --exclude it empties the destination past the empty-source guard",
    "super": "lets the receiver create devices and set privileged attributes",
    "fake-super": "stores privileged attributes in xattrs the DR workload can forge",
    "devices": "recreates source device nodes on the DR node",
    "specials": "recreates source FIFOs and sockets on the DR node",
    "D": "recreates source device nodes on the DR node",
}


def validate_extra_options(options: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return ``options`` if every one is on the allowlist, else raise :class:`UnsafeRsyncOptionError`.

    Accepted forms: ``--name``, ``--name=value`` (value checked per option) and short clusters such as
    ``-aHv``. A bare value (no leading ``-``) or ``--`` is refused: extras are options, never operands.
    """
    for option in options:
        _validate_one(option)
    return tuple(options)


def _validate_one(option: str) -> None:
    if not isinstance(option, str) or not option or any(c in option for c in "\x00\n\r"):
        raise UnsafeRsyncOptionError(
            f"rsync option {option!r} is refused: empty or contains control characters"
        )
    if option.startswith("--"):
        name, has_value, value = option[2:].partition("=")
        if name in _REFUSED_REASONS:
            raise UnsafeRsyncOptionError(f"rsync option --{name} is refused: {_REFUSED_REASONS[name]}")
        if has_value:
            pattern = _ALLOWED_LONG_WITH_VALUE.get(name)
            if pattern is None:
                raise UnsafeRsyncOptionError(f"rsync option --{name} is not on the allowlist (with a value)")
            if not pattern.match(value):
                reason = " (setuid, setgid and sticky bits are refused)" if name == "chmod" else ""
                raise UnsafeRsyncOptionError(f"rsync option --{name} has an invalid value {value!r}{reason}")
            return
        if name not in _ALLOWED_LONG_FLAGS:
            raise UnsafeRsyncOptionError(f"rsync option --{name} is not on the allowlist")
        return
    if option.startswith("-") and len(option) > 1:
        for letter in option[1:]:
            if letter in _REFUSED_REASONS:
                raise UnsafeRsyncOptionError(f"rsync option -{letter} is refused: {_REFUSED_REASONS[letter]}")
            if letter not in _ALLOWED_SHORT:
                raise UnsafeRsyncOptionError(f"rsync option -{letter} is not on the allowlist")
        return
    raise UnsafeRsyncOptionError(f"rsync argument {option!r} is refused: extra options must be options")


# --- hosts and paths ----------------------------------------------------------------------------------

_HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*$")


def validate_host(host: str) -> str:
    """Return ``host`` if it is an IP address or a DNS name; refuse option-like or odd strings.

    IPv6 scope IDs (``fe80::1%eth0``) are refused: ``ipaddress`` accepts any text after ``%``.
    """
    if not isinstance(host, str) or "%" in host:
        raise UnsafeRsyncOptionError(f"host {str(host)[:80]!r} is not an IP address or DNS name")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not isinstance(host, str) or len(host) > 253 or not _HOSTNAME.match(host):
            raise UnsafeRsyncOptionError(f"host {host!r} is not an IP address or DNS name") from None
    return host


def validate_port(port: object) -> int:
    """Return ``port`` if it is an int in 1..65535."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise UnsafeRsyncOptionError(f"port {port!r} is not an integer between 1 and 65535")
    return port


def validate_relative_path(path: str) -> str:
    """Return ``path`` normalised (no trailing slash) if it is relative, has no ``..`` and no odd characters.

    Volume paths travel relative to a kubelet pods directory (``<pod uid>/volumes/<plugin>/<pv>/mount``);
    the side that owns the directory resolves them again (``rrsync`` on source agents, the control
    program on DR agents).
    """
    if not isinstance(path, str) or not path or any(c in path for c in "\x00\n\r"):
        raise UnsafeRsyncOptionError(f"path {path!r} is empty or contains control characters")
    if path.startswith(("/", "-", "~")):
        raise UnsafeRsyncOptionError(f"path {path!r} must be relative to the pods directory")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        raise UnsafeRsyncOptionError(
            f"path {path!r} must name a directory below the pods directory, without '..'"
        )
    return "/".join(parts)


# --- ssh and rsync ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SshTransport:
    """How rsync reaches an agent: one key, our known_hosts, fail closed, no agent or user config."""

    port: int
    identity_file: str
    known_hosts_file: str
    connect_timeout_seconds: int = 10
    server_alive_interval_seconds: int = 5
    server_alive_count_max: int = 3
    ciphers: tuple[str, ...] = DEFAULT_CIPHERS
    ssh_binary: str = "ssh"


def ssh_argv(transport: SshTransport) -> list[str]:
    """The ssh command (without host) rsync runs via ``-e``; never trusts an unknown host key."""
    return [
        transport.ssh_binary,
        "-p", str(validate_port(transport.port)),
        "-i", transport.identity_file,
        "-F", "/dev/null",
        "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none",
        "-o", f"UserKnownHostsFile={transport.known_hosts_file}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "CheckHostIP=no",
        "-o", "UpdateHostKeys=no",
        "-o", "BatchMode=yes",
        "-o", "PasswordAuthentication=no",
        "-o", "ForwardAgent=no",
        "-o", "ForwardX11=no",
        "-o", "ClearAllForwardings=yes",
        "-o", f"ConnectTimeout={transport.connect_timeout_seconds}",
        "-o", f"ServerAliveInterval={transport.server_alive_interval_seconds}",
        "-o", f"ServerAliveCountMax={transport.server_alive_count_max}",
        "-o", "LogLevel=ERROR",
        "-c", ",".join(transport.ciphers),
        "-o", "ControlMaster=no",
        "-o", "ControlPath=none",
    ]  # fmt: skip


@dataclass(frozen=True)
class RsyncOptions:
    """What one pull does beyond the defaults (``-a --delete --numeric-ids --partial --stats``)."""

    bandwidth_limit_kbps: int = 0
    """rsync ``--bwlimit`` in KiB/s; 0 means unlimited."""
    exclude_paths: tuple[str, ...] = ()
    extra_options: tuple[str, ...] = ()
    """User ``rsyncOptions``; must pass :func:`validate_extra_options`."""
    checksum: bool = False
    """Compare whole-file checksums instead of size+mtime (``--checksum``)."""
    delete: bool = True
    progress: bool = True
    io_timeout_seconds: int = 300
    """rsync ``--timeout``: give up when no data moves for this long (exit code 30)."""
    dry_run: bool = False
    itemize: bool = False
    itemize_links: bool = True
    """Itemized lines end with `` -> target`` for symlinks (``%L``); off for the change list's exact names."""
    compress: bool = False
    files_from_changes: bool = False
    """With ``files_from``: the change list's real run (``tasks/data/change_list.py``): a listed name the
    source no longer has is skipped (``--ignore-missing-args``), a directory replaced by a file is removed
    (``--force``)."""


def rsync_remote(host: str, path: str, *, user: str = SSH_USER) -> str:
    """``user@host:path/`` (IPv6 in brackets); the trailing slash copies the directory's contents."""
    validate_host(host)
    rendered_host = f"[{host}]" if ":" in host else host
    return f"{user}@{rendered_host}:{validate_relative_path(path)}/"


def rsync_pull_argv(
    *,
    source_host: str,
    source_path: str,
    destination_dir: str,
    transport: SshTransport,
    options: RsyncOptions,
    rsync_binary: str = "rsync",
    files_from: str | None = None,
) -> list[str]:
    """The rsync argv a DR agent runs to mirror ``source_host:source_path/`` into ``destination_dir/``.

    ``files_from`` names a NUL-separated file list (``--from0``: any byte but NUL may be in a name).

    ``source_path`` is relative to the source agent's pods directory (its ``rrsync -ro`` root);
    ``destination_dir`` is the already-resolved absolute directory on the DR agent.
    """
    argv = [rsync_binary, "-a", "--numeric-ids", "--partial", "--stats"]
    argv += ["-e", shlex.join(ssh_argv(transport))]
    if options.delete:
        argv.append("--delete")
    if options.progress:
        argv.append("--info=progress2")
    if options.checksum:
        argv.append("--checksum")
    if options.compress:
        argv.append("--compress")
    if options.dry_run:
        argv.append("--dry-run")
    if options.itemize:
        argv += [
            "--itemize-changes",
            "--out-format=%i %n%L" if options.itemize_links else "--out-format=%i %n",
        ]
    if options.bandwidth_limit_kbps > 0:
        argv.append(f"--bwlimit={int(options.bandwidth_limit_kbps)}")
    if options.io_timeout_seconds > 0:
        argv.append(f"--timeout={int(options.io_timeout_seconds)}")
    for pattern in options.exclude_paths:
        _validate_one(f"--exclude={pattern}")
        argv.append(f"--exclude={pattern}")
    argv += list(validate_extra_options(options.extra_options))
    argv += ["--no-devices", "--no-specials"]  # after the extras: a user "-a" must not bring -D back
    if files_from is not None:
        argv += [f"--files-from={files_from}", "--from0"]
        if options.files_from_changes:
            argv += ["--ignore-missing-args", "--force"]
    argv += ["--", rsync_remote(source_host, source_path), destination_dir.rstrip("/") + "/"]
    return argv


def rsync_list_argv(
    *,
    source_host: str,
    source_path: str,
    transport: SshTransport,
    rsync_binary: str = "rsync",
    io_timeout_seconds: int = 60,
) -> list[str]:
    """List the top level of the source volume (``--list-only`` without recursion): the empty-source probe."""
    return [
        rsync_binary,
        "--list-only",
        "--no-motd",
        f"--timeout={io_timeout_seconds}",
        "-e",
        shlex.join(ssh_argv(transport)),
        "--",
        rsync_remote(source_host, source_path),
    ]
