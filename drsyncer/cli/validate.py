"""``drsyncer validate CONFIG...``: check a configuration without contacting anything.

Loads the files or directories with :func:`drsyncer.config.load_config` and prints the effective
mappings (a table, or one JSON document with ``--output json``). Exit 0 when valid; exit 2 with every
problem on stderr when not. Warnings (things that load but are probably not meant) go to stderr.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from drsyncer.cli.config_paths import config_paths
from drsyncer.cli.output import OUTPUT_OPTION, OutputFormat, print_json, stderr, stdout, user_errors
from drsyncer.config import Config, EffectiveMapping, load_config

CONFIG_ARGUMENT = typer.Argument(
    None,
    help="Config files or directories (*.yaml/*.yml, searched recursively). Default: DRSYNCER_CONFIG_PATH.",
    show_default=False,
)


def validate(paths: list[Path] | None = CONFIG_ARGUMENT, output: OutputFormat = OUTPUT_OPTION) -> None:
    """Check the configuration and show the mappings it defines; nothing is contacted."""
    with user_errors():
        config = load_config(config_paths(paths))
    for warning in config.warnings:
        stderr.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if output is OutputFormat.json:
        print_json(
            {
                "valid": True,
                "sources": list(config.sources),
                "remoteClusters": [
                    f"{c.metadata.namespace}/{c.metadata.name}" for c, _ in config.remote_clusters
                ],
                "clusterMappings": [
                    f"{m.metadata.namespace}/{m.metadata.name}" for m, _ in config.cluster_mappings
                ],
                "mappings": [mapping.summary() for mapping in config.mappings],
                "warnings": list(config.warnings),
            }
        )
        return
    stdout.print(_mappings_table(config))
    stdout.print(
        f"[green]valid:[/] {len(config.remote_clusters)} RemoteCluster(s), "
        f"{len(config.cluster_mappings)} ClusterMapping(s), {len(config.mappings)} NamespaceMapping(s) "
        f"in {len(config.sources)} file(s)",
        highlight=False,
    )
    if not config.mappings:
        stderr.print("[yellow]warning:[/] no NamespaceMapping: nothing would be synced", highlight=False)


def _mappings_table(config: Config) -> Table:
    table = Table(title="NamespaceMappings", title_justify="left")
    for column in ("Mapping", "Source", "Destination", "Mode", "Schedule", "Kinds", "Data", "Paused"):
        table.add_column(column, no_wrap=column in ("Mapping", "Schedule"))
    names = [mapping.name for mapping in config.mappings]
    for mapping in config.mappings:
        table.add_row(
            mapping.name if names.count(mapping.name) == 1 else mapping.key,
            f"{mapping.source.name}/{mapping.source_namespace}",
            f"{mapping.destination.name}/{mapping.destination_namespace}",
            str(mapping.mode),
            mapping.schedule or "-",
            _kinds(mapping),
            "on" if mapping.data_sync else "off",
            "yes" if mapping.paused else "no",
        )
    return table


def _kinds(mapping: EffectiveMapping) -> str:
    kinds = list(mapping.resource_types)
    text = ", ".join(kinds) if len(kinds) <= 4 else f"{len(kinds)} kinds"
    return text + (" + all custom" if mapping.all_custom_resources else "")
