"""SSH keys for PVC data: who may log in to which agent, to do what, and how clients know the agents.

Three kinds of ed25519 keys, all generated here with ``cryptography`` in OpenSSH formats:

* **host keys are per node and not made here**: every agent generates its own at start and prints the
  public half to its pod log (``agent/entrypoint.sh``); the controller reads it through the API and pins
  it for both hops (``tasks/data/agent_host_keys.py``; never ``StrictHostKeyChecking=no``). The
  per-cluster "host key" below is legacy: it only fills the fallback known_hosts lines used when a
  request names no host key, and its private half is no longer shipped to agents;
* a **pull key per ClusterMapping**: its private half lives on the DR agents (rsync's ssh uses it), its
  public half is authorized on the source agents as ``command="dr-syncer-source-gate --pods-dir <pods
  dir>",restrict`` — read-only rsync (``rrsync -ro``) of one PersistentVolume mount at a time and
  nothing else (``agent/source_gate.py``);
* a **control key per ClusterMapping**: its private half lives with the controller (the Prefect worker),
  its public half is authorized on the DR agents with the control program as forced command
  (``agent/control.py``: ``probe``, ``pull``, ``checksum``, ``df``).

Private keys go only where they are used (:func:`agent_secret`, :func:`controller_secret`). Rotation: a
:class:`KeySet` holds the current key plus the public halves still accepted; :meth:`KeySet.rotate` makes a
new current key while the old public key stays authorized, :meth:`KeySet.retire_previous` drops the old
ones once the new private key is installed everywhere. Everything is a pure function over small frozen
dataclasses; writing Secrets to clusters is the caller's job.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drsyncer.objects import KubeObject

AGENT_NAMESPACE = "dr-syncer"
AGENT_SECRET_NAME = "dr-syncer-agent-keys"  # noqa: S105 (a name, not a secret)
CONTROLLER_SECRET_PREFIX = "dr-syncer-control-"  # noqa: S105
KEYS_MOUNT = "/etc/dr-syncer/keys"
"""Where agents mount :data:`AGENT_SECRET_NAME`."""
DEFAULT_PODS_DIR = "/var/lib/kubelet/pods"
SOURCE_GATE = "/usr/local/bin/dr-syncer-source-gate"
CONTROL_PROGRAM = "/usr/local/bin/dr-syncer-control"
HOST_KEY_FILE = "ssh_host_ed25519_key"
AUTHORIZED_KEYS_FILE = "authorized_keys"


@dataclass(frozen=True)
class KeyPair:
    """One ed25519 key: OpenSSH private key (PEM text) and its ``ssh-ed25519 AAAA... comment`` line."""

    private_openssh: str = field(repr=False)
    public_openssh: str

    @property
    def fingerprint(self) -> str:
        """``SHA256:...`` as ``ssh-keygen -l`` prints it."""
        return public_key_fingerprint(self.public_openssh)


def generate_keypair(comment: str) -> KeyPair:
    """A fresh ed25519 key; ``comment`` ends the public line (no spaces or newlines)."""
    if not comment or any(c.isspace() for c in comment):
        raise ValueError(f"key comment {comment!r} must be one word")
    private = Ed25519PrivateKey.generate()
    private_text = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public_text = (
        private.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return KeyPair(private_openssh=private_text, public_openssh=f"{public_text} {comment}")


def public_key_fingerprint(public_line: str) -> str:
    """``SHA256:<base64 without padding>`` of an OpenSSH public key line."""
    blob = base64.b64decode(_key_fields(public_line)[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _key_fields(public_line: str) -> tuple[str, str]:
    fields = public_line.split()
    if len(fields) < 2 or fields[0] != "ssh-ed25519":
        raise ValueError("not an ssh-ed25519 public key line")
    return fields[0], fields[1]


@dataclass(frozen=True)
class KeySet:
    """A key in use plus the public keys still accepted during a rotation."""

    current: KeyPair
    previous_public: tuple[str, ...] = ()

    @property
    def accepted_public(self) -> tuple[str, ...]:
        """Every public key an agent must accept now: the current one first, then the previous ones."""
        return (self.current.public_openssh, *self.previous_public)

    def rotate(self, new: KeyPair) -> KeySet:
        """Make ``new`` current; the old public key stays accepted until :meth:`retire_previous`."""
        return KeySet(current=new, previous_public=(self.current.public_openssh, *self.previous_public))

    def retire_previous(self) -> KeySet:
        """Stop accepting old keys (call once the new private key is installed everywhere)."""
        return replace(self, previous_public=())


@dataclass(frozen=True)
class MappingKeys:
    """The client keys of one ClusterMapping."""

    cluster_mapping: str
    pull: KeySet
    control: KeySet


def generate_mapping_keys(cluster_mapping: str) -> MappingKeys:
    """Fresh pull and control keys for a ClusterMapping."""
    return MappingKeys(
        cluster_mapping=cluster_mapping,
        pull=KeySet(generate_keypair(f"dr-syncer-pull@{cluster_mapping}")),
        control=KeySet(generate_keypair(f"dr-syncer-control@{cluster_mapping}")),
    )


def generate_host_key(cluster: str) -> KeyPair:
    """The host key every agent of ``cluster`` presents."""
    return generate_keypair(f"dr-syncer-agent@{cluster}")


# --- authorized_keys and known_hosts lines --------------------------------------------------------------


def forced_command_line(public_line: str, command: Sequence[str], *, from_cidrs: Sequence[str] = ()) -> str:
    """``command="...",[from="...",]restrict <key>``: only ``command``, only from ``from_cidrs``.

    ``restrict`` also means no pty, no forwarding of any kind and no rc files. ``from_cidrs`` (IP networks,
    e.g. ``pvcSync.ssh.allowedSourceCIDRs``) become sshd's ``from=`` pattern list: a key used from any
    other client address is refused at authentication.
    """
    rendered = shlex.join(command)
    if '"' in rendered or "\\" in rendered or "\n" in rendered:
        raise ValueError("forced commands must not contain double quotes, backslashes or newlines")
    key_type, blob = _key_fields(public_line)
    comment = public_line.split()[2] if len(public_line.split()) > 2 else ""
    origin = f'from="{",".join(validate_cidrs(from_cidrs))}",' if from_cidrs else ""
    return f'command="{rendered}",{origin}restrict {key_type} {blob} {comment}'.rstrip()


def validate_cidrs(cidrs: Sequence[str]) -> list[str]:
    """``cidrs`` normalised (``10.0.0.0/8``, ``fd00::/8``); a bad network (or one with host bits) raises."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(str(ipaddress.ip_network(cidr, strict=True)))
        except ValueError:
            raise ValueError(f"{cidr!r} is not an IP network in CIDR notation (e.g. 10.0.0.0/16)") from None
    return networks


def pull_command(
    *, pods_dir: str = DEFAULT_PODS_DIR, program: Sequence[str] = (SOURCE_GATE,), mountinfo: str | None = None
) -> list[str]:
    """The forced command of the pull key on source agents: read-only rsync of one PV mount at a time.

    ``agent/source_gate.py`` checks the one requested path (exact PV mount shape, no symlinks, a mount
    point in ``mountinfo``, default ``/proc/self/mountinfo``) and hands it to ``rrsync -ro`` rooted at
    that volume.
    """
    return [*program, "--pods-dir", pods_dir, *(["--mountinfo", mountinfo] if mountinfo else [])]


def control_command(
    cluster_mapping: str,
    *,
    pods_dir: str = DEFAULT_PODS_DIR,
    program: Sequence[str] = (CONTROL_PROGRAM,),
    keys_dir: str = KEYS_MOUNT,
    mountinfo: str | None = None,
    source_port: int | None = None,
    source_cidrs: Sequence[str] = (),
) -> list[str]:
    """The forced command of a mapping's control key on DR agents; it names that mapping's pull key.

    ``source_port`` (the source cluster's ``pvcSync.ssh.port``) and ``source_cidrs`` (where its agents
    may be) bind what a ``pull`` request may connect to.
    """
    return [
        *program,
        "--pods-dir", pods_dir,
        "--pull-key", f"{keys_dir}/{pull_key_file(cluster_mapping)}",
        "--known-hosts", f"{keys_dir}/{known_hosts_file(cluster_mapping)}",
        *(["--mountinfo", mountinfo] if mountinfo else []),
        *(["--source-port", str(source_port)] if source_port else []),
        *[f"--source-cidr={cidr}" for cidr in validate_cidrs(source_cidrs)],
    ]  # fmt: skip


def pull_key_file(cluster_mapping: str) -> str:
    """File name of a mapping's pull private key inside the agent Secret."""
    return f"pull-{cluster_mapping}"


def known_hosts_file(cluster_mapping: str) -> str:
    """File name of the known_hosts (source cluster's host key) a DR agent uses for a mapping."""
    return f"known-hosts-{cluster_mapping}"


def known_hosts_line(public_line: str, *, host: str, port: int) -> str:
    """``[host]:port ssh-ed25519 AAAA...``; ``host`` may be an OpenSSH pattern such as ``*``.

    A cluster's agents share one host key and run on nodes whose addresses change, so the production
    line is ``[*]:<port>``: the key, not the address, is the identity.
    """
    if not 1 <= port <= 65535 or not host or any(c.isspace() or c == "," for c in host):
        raise ValueError(f"bad known_hosts host {host!r} or port {port!r}")
    key_type, blob = _key_fields(public_line)
    return f"[{host}]:{port} {key_type} {blob}"


@dataclass(frozen=True)
class ControlLimits:
    """Where a DR agent's ``pull`` for one mapping may connect: the source port and networks (empty: any)."""

    source_port: int | None = None
    source_cidrs: tuple[str, ...] = ()


def authorized_keys(
    *,
    pull_keys: Sequence[KeySet] = (),
    control_keys: Mapping[str, KeySet] | None = None,
    pods_dir: str = DEFAULT_PODS_DIR,
    source_gate: Sequence[str] = (SOURCE_GATE,),
    control_program: Sequence[str] = (CONTROL_PROGRAM,),
    keys_dir: str = KEYS_MOUNT,
    mountinfo: str | None = None,
    from_cidrs: Sequence[str] = (),
    control_limits: Mapping[str, ControlLimits] | None = None,
    session_dir: str | None = None,
) -> str:
    """An agent's authorized_keys: pull keys it serves as source, control keys (by mapping) it obeys as DR.

    ``from_cidrs`` (the cluster's ``pvcSync.ssh.allowedSourceCIDRs``) restricts every key to clients in
    those networks; ``control_limits`` (per mapping) bind the sources a ``pull`` may reach. Every command
    ends with ``--key-id <digest of its key>``: the forced commands limit sessions per key
    (``agent/session_slots.py``, slot files below ``session_dir``, default ``/run/dr-syncer/sessions``).
    """
    gate = pull_command(pods_dir=pods_dir, program=source_gate, mountinfo=mountinfo)
    lines = [
        forced_command_line(public, [*gate, *_session_args(public, session_dir)], from_cidrs=from_cidrs)
        for key_set in pull_keys
        for public in key_set.accepted_public
    ]
    for mapping, key_set in sorted((control_keys or {}).items()):
        limits = (control_limits or {}).get(mapping, ControlLimits())
        command = control_command(
            mapping,
            pods_dir=pods_dir,
            program=control_program,
            keys_dir=keys_dir,
            mountinfo=mountinfo,
            source_port=limits.source_port,
            source_cidrs=limits.source_cidrs,
        )
        lines += [
            forced_command_line(
                public, [*command, *_session_args(public, session_dir)], from_cidrs=from_cidrs
            )
            for public in key_set.accepted_public
        ]
    return "".join(f"{line}\n" for line in lines)


def key_id(public_line: str) -> str:
    """A key's id for per-key session limits: the hex sha256 of its public key blob (32 digits)."""
    return hashlib.sha256(base64.b64decode(_key_fields(public_line)[1])).hexdigest()[:32]


def _session_args(public_line: str, session_dir: str | None) -> list[str]:
    return ["--key-id", key_id(public_line), *(["--lock-dir", session_dir] if session_dir else [])]


# --- Secrets ---------------------------------------------------------------------------------------------


def secret_manifest(
    name: str, namespace: str, files: Mapping[str, str], *, labels: Mapping[str, str] | None = None
) -> KubeObject:
    """An Opaque Secret holding ``files`` (base64 ``data``), labelled as ours."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/part-of": "dr-syncer",
                "app.kubernetes.io/managed-by": "dr-syncer",
                **(labels or {}),
            },
        },
        "type": "Opaque",
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in sorted(files.items())},
    }


@dataclass(frozen=True)
class DrRole:
    """What a DR agent needs for one mapping: its keys and the source cluster's host key, port, networks."""

    keys: MappingKeys
    source_host_key: KeyPair
    source_port: int
    source_cidrs: tuple[str, ...] = ()
    """The source cluster's ``pvcSync.ssh.agentCIDRs``: where a ``pull`` may connect (empty: anywhere)."""


def agent_secret(
    cluster: str,
    host_key: KeyPair,
    *,
    as_source: Sequence[MappingKeys] = (),
    as_dr: Sequence[DrRole] = (),
    pods_dir: str = DEFAULT_PODS_DIR,
    allowed_source_cidrs: Sequence[str] = (),
) -> KubeObject:
    """The Secret mounted by every agent of ``cluster`` at :data:`KEYS_MOUNT`.

    Holds authorized_keys, and for each mapping where the cluster is DR the pull private key plus a
    legacy known_hosts for the source cluster's agents (used only when a pull request names no host key).
    No host key: every agent generates its own (per node), so no node holds another's private host key;
    ``host_key`` is kept for callers and no longer shipped.
    ``allowed_source_cidrs`` (the cluster's ``pvcSync.ssh.allowedSourceCIDRs``) puts ``from=`` on every
    key; each control key's ``pull`` may only reach its source cluster's ``pvcSync.ssh.port`` (and
    ``agentCIDRs``, when set).
    """
    _ = host_key
    files = {
        AUTHORIZED_KEYS_FILE: authorized_keys(
            pull_keys=[mapping.pull for mapping in as_source],
            control_keys={role.keys.cluster_mapping: role.keys.control for role in as_dr},
            pods_dir=pods_dir,
            from_cidrs=allowed_source_cidrs,
            control_limits={
                role.keys.cluster_mapping: ControlLimits(
                    source_port=role.source_port, source_cidrs=role.source_cidrs
                )
                for role in as_dr
            },
        ),
    }
    for role in as_dr:
        mapping = role.keys.cluster_mapping
        files[pull_key_file(mapping)] = role.keys.pull.current.private_openssh
        files[known_hosts_file(mapping)] = (
            known_hosts_line(role.source_host_key.public_openssh, host="*", port=role.source_port) + "\n"
        )
    return secret_manifest(
        AGENT_SECRET_NAME, AGENT_NAMESPACE, files, labels={"dr-syncer.io/remote-cluster": cluster}
    )


def controller_secret(
    keys: MappingKeys, *, dr_host_key: KeyPair, dr_port: int, namespace: str = AGENT_NAMESPACE
) -> KubeObject:
    """The Secret the controller (Prefect worker) reads: the control private key and the DR known_hosts."""
    return secret_manifest(
        f"{CONTROLLER_SECRET_PREFIX}{keys.cluster_mapping}",
        namespace,
        {
            "control-key": keys.control.current.private_openssh,
            "known_hosts": known_hosts_line(dr_host_key.public_openssh, host="*", port=dr_port) + "\n",
        },
        labels={"dr-syncer.io/cluster-mapping": keys.cluster_mapping},
    )
