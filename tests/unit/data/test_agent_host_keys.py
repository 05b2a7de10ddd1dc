"""Reading an agent's host key from its log, and checking a host key string: pure rules."""

from __future__ import annotations

import base64

import pytest

from drsyncer.keys import generate_host_key
from tasks.data.agent_host_keys import host_key_from_log, host_key_line, host_keys_in_log
from tasks.data.host_key_lines import HostKeyError, pinned_known_hosts_line, public_host_key

KEY_A = " ".join(generate_host_key("a").public_openssh.split()[:2])
KEY_B = " ".join(generate_host_key("b").public_openssh.split()[:2])


def test_the_newest_line_for_the_node_wins() -> None:
    log = "\n".join(
        [host_key_line("node-1", KEY_A), "sshd: Server listening", host_key_line("node-1", KEY_B), ""]
    )

    assert host_key_from_log(log, "node-1") == KEY_B


def test_lines_for_other_nodes_and_malformed_lines_are_ignored() -> None:
    log = "\n".join(
        [
            host_key_line("node-1", KEY_A),
            host_key_line("node-2", KEY_B),
            "dr-syncer-agent host-key node-1 ssh-ed25519 not-base64!",
            "dr-syncer-agent host-key node-1 ssh-dss AAAA",
            "  dr-syncer-agent host-key node-1 " + KEY_B,
        ]
    )

    assert host_key_from_log(log, "node-1") == KEY_A
    assert host_key_from_log(log, "node-3") is None
    assert host_key_from_log("", "node-1") is None


def test_a_public_key_line_keeps_type_and_key_only() -> None:
    assert public_host_key(KEY_A + " dr-syncer-agent@a") == KEY_A
    assert pinned_known_hosts_line(KEY_A, host="10.0.0.5", port=2222) == f"[10.0.0.5]:2222 {KEY_A}"
    assert pinned_known_hosts_line(KEY_A, host="10.0.0.5", port=22) == f"10.0.0.5 {KEY_A}"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ssh-ed25519",
        f"{KEY_A}\n{KEY_B}",
        f"@cert-authority * {KEY_A}",
        "ssh-dss " + KEY_A.split()[1],
        "ssh-rsa " + KEY_A.split()[1],  # an ed25519 blob under another type
        "ssh-ed25519 " + base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519").decode(),  # no key material
        f"{KEY_A} {'c' * 3000}",
        None,
        7,
    ],
)
def test_anything_but_one_well_formed_key_is_refused(text: object) -> None:
    with pytest.raises(HostKeyError):
        public_host_key(text)


def test_every_distinct_key_of_the_node_is_reported_newest_first() -> None:
    log = "\n".join([host_key_line("n", KEY_A), host_key_line("n", KEY_B), host_key_line("n", KEY_B)])

    assert host_keys_in_log(log, "n") == [KEY_B, KEY_A]
    assert host_keys_in_log(host_key_line("n", KEY_A), "n") == [KEY_A]
