"""``drsyncer keys generate|rotate CONFIG... --cluster-mapping NAME [--out DIR]``: a mapping's SSH keys.

``generate`` makes (with :mod:`drsyncer.keys`) the ClusterMapping's pull and control keys, **and the
reverse key set** ``<dr>-to-<source>`` that failback data copies use (DR agents serve, source agents pull;
``--no-reverse`` skips it, an existing one is kept unless ``--force``). Host keys are not made here: every
agent generates its own at start and prints it to its pod log, where the controller reads and pins it
(``tasks/data/agent_host_keys.py``); rotating them is restarting the agent DaemonSet (``kubectl -n
dr-syncer rollout restart daemonset/dr-syncer-agent``). The legacy per-cluster host key under
``_hosts/`` only fills fallback known_hosts lines and is no longer shipped to agents. Files are written
by :mod:`drsyncer.key_store` (private keys 0600), with Secret manifests for reference under
``_secrets/``; ``drsyncer agent install`` builds each cluster's combined agent Secret from the same
files and applies it. Nothing is contacted; private keys are never printed.

``rotate`` is three steps (see :mod:`drsyncer.key_store`), each followed by ``drsyncer agent install``
of both clusters: ``rotate`` (new keys accepted, old ones used) -> ``rotate --switch`` (the controller's
``control-key`` file and the DR agents' pull key switch to the new keys; old ones still accepted) ->
``rotate --finish`` / ``--retire-old`` (old public keys retired). Forward and reverse sets move together.

``DIR`` defaults to ``DRSYNCER_KEY_DIR``; the data stage (``tasks/pvc_data.py``) reads
``<set>/control-key`` and ``<set>/known_hosts``::

    <set>/control-key[.pub]                 controller: runs `pull` on DR agents
    <set>/known_hosts                       controller -> DR agents ([*]:<port> <DR host key>)
    <set>/pull-key[.pub]                    goes to the DR agents (inside their Secret)
    <set>/{pull,control}-key.next[.pub]     rotation step 1; <set>/*.previous.pub: step 2
    _hosts/<cluster>/ssh_host_ed25519_key[.pub]   reused by later mappings of the same cluster
    _secrets/<cluster>-agent-keys.yaml      this mapping's part of each cluster's agent Secret
    _secrets/<set>-controller.yaml

(``_`` cannot start a Kubernetes name, so these never collide with a key set's directory.)
"""

from __future__ import annotations

from pathlib import Path

import typer
import yaml
from rich.table import Table

from drsyncer.agent_install import agent_networks
from drsyncer.cli.agent import allowed_source_cidrs, find_remote_cluster
from drsyncer.cli.output import stdout, user_errors
from drsyncer.config import load_config
from drsyncer.config.cluster_mapping import ClusterMapping
from drsyncer.config.remote_cluster import RemoteCluster
from drsyncer.errors import UsageError
from drsyncer.key_store import (
    KeySetRole,
    RotationState,
    cluster_agent_secret,
    finish_rotation,
    has_key_set,
    host_key,
    load_key_set,
    reverse_key_set_name,
    rotation_state,
    stage_rotation,
    switch_rotation,
    write_file,
    write_key_set,
)
from drsyncer.keys import (
    KeySet,
    MappingKeys,
    controller_secret,
    generate_mapping_keys,
    public_key_fingerprint,
)
from drsyncer.settings import load_settings

keys_app = typer.Typer(help="SSH keys of the PVC data agents.", no_args_is_help=True)

CONFIG_ARGUMENT = typer.Argument(..., help="Config files or directories.", show_default=False)
MAPPING_OPTION = typer.Option(..., "--cluster-mapping", help="ClusterMapping name (or namespace/name).")
OUT_OPTION = typer.Option(
    None, "--out", help="Directory for keys and Secret manifests. Default: DRSYNCER_KEY_DIR."
)
FORCE_OPTION = typer.Option(False, "--force", help="Replace this mapping's existing keys in DIR.")


def _find_mapping(mappings: list[ClusterMapping], name: str) -> ClusterMapping:
    found = [m for m in mappings if name in (m.metadata.name, f"{m.metadata.namespace}/{m.metadata.name}")]
    if len(found) == 1:
        return found[0]
    known = ", ".join(f"{m.metadata.namespace}/{m.metadata.name}" for m in mappings) or "none"
    raise UsageError(f"no single ClusterMapping {name!r} in the configuration", fix=f"known: {known}")


def _port(cluster: RemoteCluster) -> int:
    return cluster.spec.pvc_sync.ssh.port if cluster.spec.pvc_sync else 2222


def _resolve(
    paths: list[Path], cluster_mapping: str, out: Path | None
) -> tuple[ClusterMapping, RemoteCluster, RemoteCluster, Path]:
    config = load_config(paths)
    mapping = _find_mapping([m for m, _ in config.cluster_mappings], cluster_mapping)
    clusters = [c for c, _ in config.remote_clusters if c.metadata.namespace == mapping.metadata.namespace]
    source = find_remote_cluster(clusters, mapping.spec.source_cluster)
    target = find_remote_cluster(clusters, mapping.spec.target_cluster)
    key_dir = out if out is not None else load_settings().key_dir.expanduser()
    return mapping, source, target, key_dir


def _roles(
    mapping: ClusterMapping, source: RemoteCluster, target: RemoteCluster, key_dir: Path
) -> list[KeySetRole]:
    source_name, target_name = source.metadata.name, target.metadata.name
    roles = [
        KeySetRole(
            mapping.metadata.name,
            source_name,
            target_name,
            _port(source),
            source_cidrs=agent_networks(source),
        )
    ]
    reverse = reverse_key_set_name(source_name, target_name)
    if has_key_set(key_dir, reverse):
        roles.append(
            KeySetRole(reverse, target_name, source_name, _port(target), source_cidrs=agent_networks(target))
        )
    return roles


def _write_secrets(key_dir: Path, roles: list[KeySetRole], clusters: dict[str, RemoteCluster]) -> None:
    """This mapping's part of each cluster's agent Secret, and the controller Secret per key set."""
    for name, cluster in clusters.items():
        secret = cluster_agent_secret(
            key_dir, name, roles, allowed_source_cidrs=allowed_source_cidrs(cluster)
        )
        write_file(
            key_dir / "_secrets" / f"{name}-agent-keys.yaml",
            yaml.safe_dump(secret, sort_keys=False),
            private=True,
        )
    for role in roles:
        dr_host, _ = host_key(key_dir, role.dr_cluster)
        secret = controller_secret(
            load_key_set(key_dir, role.name), dr_host_key=dr_host, dr_port=_port(clusters[role.dr_cluster])
        )
        write_file(
            key_dir / "_secrets" / f"{role.name}-controller.yaml",
            yaml.safe_dump(secret, sort_keys=False),
            private=True,
        )


NO_REVERSE_OPTION = typer.Option(
    False, "--no-reverse", help="Skip the reverse key set <dr>-to-<source> (failback data copies need it)."
)


@keys_app.command("generate")
def generate(
    paths: list[Path] = CONFIG_ARGUMENT,
    cluster_mapping: str = MAPPING_OPTION,
    out: Path | None = OUT_OPTION,
    force: bool = FORCE_OPTION,
    no_reverse: bool = NO_REVERSE_OPTION,
) -> None:
    """Generate a ClusterMapping's keys, both directions (and missing host keys), into files and Secrets."""
    with user_errors():
        mapping, source, target, out = _resolve(paths, cluster_mapping, out)
        name = mapping.metadata.name
        mapping_dir = out / name
        if mapping_dir.exists() and not force:
            raise UsageError(
                f"{mapping_dir} already holds keys for ClusterMapping {name}",
                fix="keep them, or pass --force to replace them (agents must then get the new Secrets)",
            )
    source_name, target_name = source.metadata.name, target.metadata.name
    source_host, _ = host_key(out, source_name, create=True)  # legacy known_hosts lines only
    target_host, _ = host_key(out, target_name, create=True)
    keys: MappingKeys = generate_mapping_keys(name)
    write_key_set(out, keys, dr_host_key=target_host, dr_port=_port(target))
    reverse_name = reverse_key_set_name(source_name, target_name)
    reverse: MappingKeys | None = None
    reverse_kept = False
    if not no_reverse:
        if has_key_set(out, reverse_name) and not force:
            reverse_kept = True
            reverse = load_key_set(out, reverse_name)
        else:
            reverse = generate_mapping_keys(reverse_name)
            write_key_set(out, reverse, dr_host_key=source_host, dr_port=_port(source))
    with user_errors():
        _write_secrets(out, _roles(mapping, source, target, out), {source_name: source, target_name: target})
    table = Table(title=f"Keys for ClusterMapping {name} in {out}", title_justify="left")
    for column in ("Key", "Fingerprint", "Private key goes to"):
        table.add_column(column)
    table.add_row(
        "host keys", "one per node", "nowhere: each agent makes its own and prints it to its pod log"
    )
    _rows(table, keys, source_name, target_name, "")
    if reverse is not None:
        _rows(table, reverse, target_name, source_name, " (kept)" if reverse_kept else "")
    stdout.print(table)
    stdout.print(f"Secret manifests: {out / '_secrets'} (private keys inside)")
    stdout.print(
        f"Next: `drsyncer agent install CONFIG --cluster {source_name}` and `--cluster {target_name}`",
        highlight=False,
    )


def _rows(table: Table, keys: MappingKeys, source: str, target: str, note: str) -> None:
    name = keys.cluster_mapping
    table.add_row(
        f"pull key {name}{note}",
        _fingerprint(keys.pull),
        f"{target} agents (reads mounted volumes on {source} agents, read-only)",
    )
    table.add_row(
        f"control key {name}{note}",
        _fingerprint(keys.control),
        f"the controller (runs pull on {target} agents)",
    )


def _fingerprint(key_set: KeySet) -> str:
    return public_key_fingerprint(key_set.current.public_openssh)


SWITCH_OPTION = typer.Option(
    False, "--switch", help="Step 2: use the new keys (controller and DR agents); old ones stay accepted."
)
FINISH_OPTION = typer.Option(
    False, "--finish", "--retire-old", help="Step 3: retire the old public keys (agents refuse them)."
)


@keys_app.command("rotate")
def rotate(
    paths: list[Path] = CONFIG_ARGUMENT,
    cluster_mapping: str = MAPPING_OPTION,
    out: Path | None = OUT_OPTION,
    switch: bool = SWITCH_OPTION,
    finish: bool = FINISH_OPTION,
) -> None:
    """Rotate a mapping's pull and control keys (both directions) in three steps, installing after each.

    1. `keys rotate`: new keys are staged; agents accept old and new, everyone still uses the old.
    2. `keys rotate --switch`: the controller and the DR agents use the new keys; old still accepted.
    3. `keys rotate --finish`: the old public keys are retired.
    After each step run `drsyncer agent install` for both clusters (any order) before the next step.
    Host keys are not rotated here: each agent makes its own at start; restart the agent DaemonSet
    (`kubectl -n dr-syncer rollout restart daemonset/dr-syncer-agent`) to rotate them.
    """
    with user_errors():
        if switch and finish:
            raise UsageError("--switch and --finish are separate steps", fix="run them one after the other")
        mapping, source, target, key_dir = _resolve(paths, cluster_mapping, out)
        roles = _roles(mapping, source, target, key_dir)
        names = [role.name for role in roles]
        states = {rotation_state(key_dir, name) for name in names if has_key_set(key_dir, name)}
        if len(states) > 1:
            raise UsageError(
                f"the key sets {', '.join(names)} are at different rotation steps",
                fix="inspect the key directory; the *.next and *.previous.pub files show each step",
            )
        step = finish_rotation if finish else switch_rotation if switch else stage_rotation
        rotated = [step(key_dir, name) for name in names]
        clusters = {source.metadata.name: source, target.metadata.name: target}
        _write_secrets(key_dir, roles, clusters)
    state = rotation_state(key_dir, names[0])
    table = Table(title=f"Key rotation of {', '.join(names)}: step {_STEPS[state]}", title_justify="left")
    for column in ("Key", "In use", "Also accepted"):
        table.add_column(column)
    for keys in rotated:
        for kind, key_set in (("pull", keys.pull), ("control", keys.control)):
            table.add_row(
                f"{kind} key {keys.cluster_mapping}",
                _fingerprint(key_set),
                ", ".join(public_key_fingerprint(p) for p in key_set.previous_public) or "-",
            )
    stdout.print(table)
    install = " and ".join(f"`drsyncer agent install CONFIG --cluster {c}`" for c in clusters)
    follow_up = {
        RotationState.staged: "then `drsyncer keys rotate CONFIG --cluster-mapping {m} --switch`",
        RotationState.switched: "then `drsyncer keys rotate CONFIG --cluster-mapping {m} --finish`",
        RotationState.none: "after that the old keys are refused",
    }[state].format(m=mapping.metadata.name)
    stdout.print(f"Next: {install}; {follow_up}", highlight=False)


_STEPS = {
    RotationState.staged: "1/3 staged (new keys accepted, old keys in use)",
    RotationState.switched: "2/3 switched (new keys in use, old keys still accepted)",
    RotationState.none: "3/3 finished (old keys retired)",
}
