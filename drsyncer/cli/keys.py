"""``drsyncer keys generate CONFIG... --cluster-mapping NAME [--out DIR]``: make a mapping's SSH keys.

Generates (with :mod:`drsyncer.keys`) the ClusterMapping's pull and control keys and, unless already in
``DIR``, the ed25519 host key of each of its two clusters; writes them as files (private keys 0600) and
as Secret manifests ready to apply: the agent Secret of the source cluster (host key + pull-key
authorized_keys), of the DR cluster (host key + control-key authorized_keys + the pull private key and
a known_hosts for the source agents), and the controller's Secret (control private key + DR
known_hosts). Nothing is contacted; private keys are never printed. Applying the Secrets to clusters
(and ``keys rotate``) comes with the kube client layer.

``DIR`` defaults to ``DRSYNCER_KEY_DIR``; its layout is what the data stage (``tasks/pvc_data.py``)
reads — ``<mapping>/control-key`` and ``<mapping>/known_hosts``::

    <mapping>/control-key[.pub]             controller: runs `pull` on DR agents
    <mapping>/known_hosts                   controller -> DR agents ([*]:<port> <DR host key>)
    <mapping>/pull-key[.pub]                goes to the DR agents (inside their Secret)
    _hosts/<cluster>/ssh_host_ed25519_key[.pub]   reused by later mappings of the same cluster
    _secrets/<cluster>-agent-keys.yaml      one per cluster of the mapping
    _secrets/<mapping>-controller.yaml

(``_`` cannot start a Kubernetes name, so these never collide with a mapping's directory.) A cluster in
several mappings needs one agent Secret combining them (:func:`drsyncer.keys.agent_secret` takes lists);
this command renders each mapping's part.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer
import yaml
from rich.table import Table

from drsyncer.cli.agent import find_remote_cluster
from drsyncer.cli.output import stdout, user_errors
from drsyncer.config import load_config
from drsyncer.config.cluster_mapping import ClusterMapping
from drsyncer.errors import UsageError
from drsyncer.keys import (
    DrRole,
    KeyPair,
    KeySet,
    MappingKeys,
    agent_secret,
    controller_secret,
    generate_host_key,
    generate_mapping_keys,
    known_hosts_line,
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


def _write(path: Path, text: str, *, private: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def _write_pair(directory: Path, name: str, pair: KeyPair) -> None:
    _write(directory / name, pair.private_openssh, private=True)
    _write(directory / f"{name}.pub", pair.public_openssh + "\n", private=False)


def _host_key(out: Path, cluster: str) -> tuple[KeyPair, bool]:
    directory = out / "_hosts" / cluster
    private, public = directory / "ssh_host_ed25519_key", directory / "ssh_host_ed25519_key.pub"
    if private.exists() and public.exists():
        return KeyPair(private.read_text(), public.read_text().strip()), False
    pair = generate_host_key(cluster)
    _write_pair(directory, "ssh_host_ed25519_key", pair)
    return pair, True


def _find_mapping(mappings: list[ClusterMapping], name: str) -> ClusterMapping:
    found = [m for m in mappings if name in (m.metadata.name, f"{m.metadata.namespace}/{m.metadata.name}")]
    if len(found) == 1:
        return found[0]
    known = ", ".join(f"{m.metadata.namespace}/{m.metadata.name}" for m in mappings) or "none"
    raise UsageError(f"no single ClusterMapping {name!r} in the configuration", fix=f"known: {known}")


@keys_app.command("generate")
def generate(
    paths: list[Path] = CONFIG_ARGUMENT,
    cluster_mapping: str = MAPPING_OPTION,
    out: Path | None = OUT_OPTION,
    force: bool = FORCE_OPTION,
) -> None:
    """Generate a ClusterMapping's keys (and missing cluster host keys) into files and Secret manifests."""
    with user_errors():
        config = load_config(paths)
        mapping = _find_mapping([m for m, _ in config.cluster_mappings], cluster_mapping)
        clusters = [
            c for c, _ in config.remote_clusters if c.metadata.namespace == mapping.metadata.namespace
        ]
        source = find_remote_cluster(clusters, mapping.spec.source_cluster)
        target = find_remote_cluster(clusters, mapping.spec.target_cluster)
        name = mapping.metadata.name
        out = out if out is not None else load_settings().key_dir
        mapping_dir = out / name
        if mapping_dir.exists() and not force:
            raise UsageError(
                f"{mapping_dir} already holds keys for ClusterMapping {name}",
                fix="keep them, or pass --force to replace them (agents must then get the new Secrets)",
            )
    source_port = source.spec.pvc_sync.ssh.port if source.spec.pvc_sync else 2222
    target_port = target.spec.pvc_sync.ssh.port if target.spec.pvc_sync else 2222
    source_host, source_new = _host_key(out, source.metadata.name)
    target_host, target_new = _host_key(out, target.metadata.name)
    keys: MappingKeys = generate_mapping_keys(name)
    _write_pair(mapping_dir, "pull-key", keys.pull.current)
    _write_pair(mapping_dir, "control-key", keys.control.current)
    _write(
        mapping_dir / "known_hosts",
        known_hosts_line(target_host.public_openssh, host="*", port=target_port) + "\n",
        private=False,
    )
    secrets = {
        f"{source.metadata.name}-agent-keys.yaml": agent_secret(
            source.metadata.name, source_host, as_source=[keys]
        ),
        f"{target.metadata.name}-agent-keys.yaml": agent_secret(
            target.metadata.name,
            target_host,
            as_dr=[DrRole(keys=keys, source_host_key=source_host, source_port=source_port)],
        ),
        f"{name}-controller.yaml": controller_secret(keys, dr_host_key=target_host, dr_port=target_port),
    }
    for file_name, secret in secrets.items():
        _write(out / "_secrets" / file_name, yaml.safe_dump(secret, sort_keys=False), private=True)
    _summary(
        name,
        source=source.metadata.name,
        source_host=source_host,
        source_new=source_new,
        target=target.metadata.name,
        target_host=target_host,
        target_new=target_new,
        keys=keys,
        out=out,
    )


def _summary(
    mapping: str,
    *,
    source: str,
    source_host: KeyPair,
    source_new: bool,
    target: str,
    target_host: KeyPair,
    target_new: bool,
    keys: MappingKeys,
    out: Path,
) -> None:
    table = Table(title=f"Keys for ClusterMapping {mapping} in {out}", title_justify="left")
    for column in ("Key", "Fingerprint", "Private key goes to"):
        table.add_column(column)
    table.add_row(
        f"host key {source}" + (" (new)" if source_new else ""), source_host.fingerprint, f"{source} agents"
    )
    table.add_row(
        f"host key {target}" + (" (new)" if target_new else ""), target_host.fingerprint, f"{target} agents"
    )
    table.add_row("pull key", _fingerprint(keys.pull), f"{target} agents (reads {source} agents, rrsync -ro)")
    table.add_row("control key", _fingerprint(keys.control), "the controller (runs pull on DR agents)")
    stdout.print(table)
    stdout.print(f"Secret manifests: {out / '_secrets'} (apply them to the clusters; private keys inside)")


def _fingerprint(key_set: KeySet) -> str:
    return public_key_fingerprint(key_set.current.public_openssh)
