"""rsync and ssh argv building, and the allowlist for user rsync options."""

from __future__ import annotations

import pytest

from tasks.data.rsync_command import (
    RsyncOptions,
    SshTransport,
    UnsafeRsyncOptionError,
    rsync_list_argv,
    rsync_pull_argv,
    rsync_remote,
    ssh_argv,
    validate_extra_options,
    validate_host,
    validate_relative_path,
)

TRANSPORT = SshTransport(port=2222, identity_file="/keys/pull", known_hosts_file="/keys/known_hosts")


def _pull(**options: object) -> list[str]:
    return rsync_pull_argv(
        source_host="10.0.0.5",
        source_path="uid/volumes/kubernetes.io~csi/pv/mount",
        destination_dir="/var/lib/kubelet/pods/u2/volumes/kubernetes.io~csi/pv2/mount",
        transport=TRANSPORT,
        options=RsyncOptions(**options),  # type: ignore[arg-type]
    )


def test_pull_has_the_safe_defaults_and_no_compression() -> None:
    argv = _pull()

    for flag in ("-a", "--delete", "--numeric-ids", "--partial", "--info=progress2", "--stats"):
        assert flag in argv
    assert "-z" not in argv
    assert "--compress" not in argv
    assert "--inplace" not in argv
    assert argv[-3:] == [
        "--",
        "root@10.0.0.5:uid/volumes/kubernetes.io~csi/pv/mount/",
        "/var/lib/kubelet/pods/u2/volumes/kubernetes.io~csi/pv2/mount/",
    ]


def test_pull_ssh_checks_host_keys_and_uses_one_key() -> None:
    ssh = ssh_argv(TRANSPORT)
    joined = " ".join(ssh)

    assert ssh[:3] == ["ssh", "-p", "2222"]
    for option in (
        "-i /keys/pull",
        "IdentitiesOnly=yes",
        "UserKnownHostsFile=/keys/known_hosts",
        "StrictHostKeyChecking=yes",
        "BatchMode=yes",
        "ConnectTimeout=10",
        "-c aes128-gcm@openssh.com,chacha20-poly1305@openssh.com",
    ):
        assert option in joined
    assert "StrictHostKeyChecking=no" not in joined


def test_pull_honours_bandwidth_excludes_and_extras() -> None:
    argv = _pull(bandwidth_limit_kbps=2048, exclude_paths=("cache/", "*.tmp"), extra_options=("-H", "--acls"))

    assert "--bwlimit=2048" in argv
    assert "--exclude=cache/" in argv
    assert "--exclude=*.tmp" in argv
    assert argv.index("-H") < argv.index("--")


def test_ipv6_hosts_are_bracketed() -> None:
    assert rsync_remote("fd00::5", "a/b") == "root@[fd00::5]:a/b/"


def test_list_argv_lists_one_level() -> None:
    argv = rsync_list_argv(source_host="10.0.0.5", source_path="a/b", transport=TRANSPORT)

    assert "--list-only" in argv
    assert "-r" not in argv
    assert "-a" not in argv


@pytest.mark.parametrize(
    "option",
    [
        "-e", "--rsh=ssh", "--rsh", "--rsync-path=sudo rsync", "--server", "--sender", "--daemon",
        "--remove-source-files", "--files-from=/etc/x", "--exclude-from=/etc/x", "--filter=merge /x",
        "-f", "--backup-dir=/tmp", "--temp-dir=/tmp", "--link-dest=/", "--log-file=/tmp/x", "-L",
        "--copy-links", "-avL", "-ave", "--inplace", "--dry-run", "/etc/passwd", "--", "target",
        "--bwlimit=1;id", "--unknown-option", "--chmod=$(id)", "--delete-excluded", "--super",
        "--fake-super", "-D", "-aD", "--devices", "--specials", "--chmod=F4755", "--chmod=u+s",
        "--chmod=D1777", "--chmod=g+rws", "--chmod=Fo+t",
    ],
)  # fmt: skip
def test_allowlist_refuses_dangerous_or_unknown_options(option: str) -> None:
    with pytest.raises(UnsafeRsyncOptionError):
        validate_extra_options([option])


@pytest.mark.parametrize(
    "option",
    ["-H", "-aHAX", "--acls", "--xattrs", "--checksum", "--bwlimit=5M", "--exclude=*.log", "--sparse"],
)
def test_allowlist_accepts_harmless_options(option: str) -> None:
    assert validate_extra_options([option]) == (option,)


@pytest.mark.parametrize(
    "host",
    ["-oProxyCommand=x", "a b", "a;b", "", "host:22", "$(id)", "a" * 300, "fe80::1%eth0", "fe80::1%x;id"],
)
def test_hosts_that_are_not_addresses_are_refused(host: str) -> None:
    with pytest.raises(UnsafeRsyncOptionError):
        validate_host(host)


@pytest.mark.parametrize("host", ["10.0.0.5", "fd00::1", "node-1.example.com", "localhost"])
def test_addresses_and_names_are_accepted(host: str) -> None:
    assert validate_host(host) == host


@pytest.mark.parametrize("path", ["../x", "a/../../b", "/abs", "-e", "~root", "", ".", "a\nb"])
def test_relative_paths_must_stay_below_the_pods_dir(path: str) -> None:
    with pytest.raises(UnsafeRsyncOptionError):
        validate_relative_path(path)


def test_relative_paths_are_normalised() -> None:
    assert validate_relative_path("uid//volumes/./pv/mount/") == "uid/volumes/pv/mount"


def test_every_pull_ends_its_options_with_no_devices_after_user_extras() -> None:
    argv = rsync_pull_argv(
        source_host="10.0.0.5",
        source_path="a/b",
        destination_dir="/d",
        transport=TRANSPORT,
        options=RsyncOptions(extra_options=("-a",)),
    )

    operands = argv.index("--")
    assert argv.index("-a", 2) < argv.index("--no-devices") < operands
    assert "--no-specials" in argv[:operands]


def test_sample_file_lists_are_nul_separated() -> None:
    argv = rsync_pull_argv(
        source_host="10.0.0.5",
        source_path="a/b",
        destination_dir="/d",
        transport=TRANSPORT,
        options=RsyncOptions(),
        files_from="/tmp/list",
    )

    assert argv[argv.index("--files-from=/tmp/list") + 1] == "--from0"
