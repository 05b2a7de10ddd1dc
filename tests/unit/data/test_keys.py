"""Key generation formats, forced-command lines, known_hosts lines, rotation and Secrets."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drsyncer.keys import (
    AGENT_SECRET_NAME,
    DrRole,
    KeySet,
    agent_secret,
    authorized_keys,
    controller_secret,
    forced_command_line,
    generate_host_key,
    generate_keypair,
    generate_mapping_keys,
    key_id,
    known_hosts_line,
)


def test_keypair_is_openssh_ed25519_and_halves_match() -> None:
    pair = generate_keypair("test@x")

    assert pair.private_openssh.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert pair.public_openssh.startswith("ssh-ed25519 AAAA")
    assert pair.public_openssh.endswith(" test@x")
    private = serialization.load_ssh_private_key(pair.private_openssh.encode(), password=None)
    assert isinstance(private, Ed25519PrivateKey)
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert pair.public_openssh.startswith(public.decode())
    assert pair.fingerprint.startswith("SHA256:")
    assert "PRIVATE" not in repr(pair)


def test_pull_key_line_forces_the_source_gate() -> None:
    keys = generate_mapping_keys("prod-to-dr")

    text = authorized_keys(pull_keys=[keys.pull])

    assert text.startswith(
        'command="/usr/local/bin/dr-syncer-source-gate --pods-dir /var/lib/kubelet/pods '
        f'--key-id {key_id(keys.pull.current.public_openssh)}",restrict ssh-ed25519 AAAA'
    )
    assert text.count("\n") == 1


def test_allowed_source_cidrs_put_from_on_every_key() -> None:
    keys = generate_mapping_keys("prod-to-dr")

    text = authorized_keys(
        pull_keys=[keys.pull],
        control_keys={"prod-to-dr": keys.control},
        from_cidrs=["10.0.0.0/16", "fd00::/8"],
    )

    lines = text.splitlines()
    assert len(lines) == 2
    assert all(',from="10.0.0.0/16,fd00::/8",restrict ssh-ed25519 ' in line for line in lines)


@pytest.mark.parametrize("cidr", ["10.0.0.1/16", "10.0.0.0/33", "*", '10.0.0.0/8",command="sh', ""])
def test_bad_or_injected_cidrs_are_refused(cidr: str) -> None:
    with pytest.raises(ValueError, match="CIDR"):
        authorized_keys(pull_keys=[generate_mapping_keys("m").pull], from_cidrs=[cidr])


def test_dr_agent_control_key_is_bound_to_the_source_port() -> None:
    keys = generate_mapping_keys("prod-to-dr")
    secret = agent_secret(
        "dr",
        generate_host_key("dr"),
        as_dr=[
            DrRole(
                keys=keys,
                source_host_key=generate_host_key("prod"),
                source_port=2299,
                source_cidrs=("10.1.0.0/16",),
            )
        ],
        allowed_source_cidrs=["192.168.0.0/24"],
    )

    text = base64.b64decode(secret["data"]["authorized_keys"]).decode()
    assert "--source-port 2299" in text
    assert "--source-cidr=10.1.0.0/16" in text
    assert 'from="192.168.0.0/24"' in text


def test_control_key_line_forces_the_control_program_with_its_pull_key() -> None:
    keys = generate_mapping_keys("prod-to-dr")

    text = authorized_keys(control_keys={"prod-to-dr": keys.control})

    assert text.startswith(
        'command="/usr/local/bin/dr-syncer-control --pods-dir /var/lib/kubelet/pods '
        "--pull-key /etc/dr-syncer/keys/pull-prod-to-dr "
        "--known-hosts /etc/dr-syncer/keys/known-hosts-prod-to-dr "
        f'--key-id {key_id(keys.control.current.public_openssh)}",restrict ssh-ed25519 '
    )


def test_each_key_line_names_its_own_key_for_session_limits() -> None:
    keys = generate_mapping_keys("prod-to-dr")
    rotated = keys.pull.rotate(generate_keypair("new"))

    lines = authorized_keys(pull_keys=[rotated], session_dir="/run/x").splitlines()

    assert [line.split("--key-id ")[1].split()[0] for line in lines] == [
        key_id(public) for public in rotated.accepted_public
    ]
    assert len({key_id(public) for public in rotated.accepted_public}) == 2
    assert all("--lock-dir /run/x" in line for line in lines)


def test_forced_commands_with_quotes_are_refused() -> None:
    with pytest.raises(ValueError, match="double quotes"):
        forced_command_line(generate_keypair("x").public_openssh, ['a"b'])


def test_known_hosts_line_names_host_and_port() -> None:
    host_key = generate_host_key("prod")

    line = known_hosts_line(host_key.public_openssh, host="*", port=2222)

    assert line.startswith("[*]:2222 ssh-ed25519 AAAA")
    assert "dr-syncer-agent@prod" not in line


def test_rotation_keeps_the_old_key_accepted_until_retired() -> None:
    old = generate_keypair("old")
    new = generate_keypair("new")

    rotated = KeySet(old).rotate(new)

    assert rotated.current == new
    assert rotated.accepted_public == (new.public_openssh, old.public_openssh)
    assert len(authorized_keys(pull_keys=[rotated]).splitlines()) == 2
    assert rotated.retire_previous().accepted_public == (new.public_openssh,)


def _decoded(secret: dict[str, object]) -> dict[str, str]:
    data = secret["data"]
    assert isinstance(data, dict)
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


def test_private_keys_only_go_where_they_are_used() -> None:
    keys = generate_mapping_keys("m")
    prod, dr = generate_host_key("prod"), generate_host_key("dr")

    source_files = _decoded(agent_secret("prod", prod, as_source=[keys]))
    dr_files = _decoded(agent_secret("dr", dr, as_dr=[DrRole(keys, source_host_key=prod, source_port=2222)]))
    controller_files = _decoded(controller_secret(keys, dr_host_key=dr, dr_port=2222))

    assert keys.pull.current.private_openssh not in source_files.values()
    assert keys.control.current.private_openssh not in source_files.values()
    assert dr_files["pull-m"] == keys.pull.current.private_openssh
    assert keys.control.current.private_openssh not in dr_files.values()
    assert dr_files["known-hosts-m"].startswith("[*]:2222 " + " ".join(prod.public_openssh.split()[:2]))
    assert controller_files["control-key"] == keys.control.current.private_openssh
    assert set(controller_files) == {"control-key", "known_hosts"}
    assert prod.private_openssh not in source_files.values()  # agents generate their own, per node
    assert dr.private_openssh not in dr_files.values()
    assert not any(name.startswith("ssh_host_") for name in (*source_files, *dr_files))


def test_agent_secret_is_a_valid_secret_object() -> None:
    secret = agent_secret("prod", generate_host_key("prod"))

    assert secret["kind"] == "Secret"
    assert secret["metadata"]["name"] == AGENT_SECRET_NAME
    assert secret["metadata"]["namespace"] == "dr-syncer"
    assert secret["type"] == "Opaque"
