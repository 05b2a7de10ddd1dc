"""``drsyncer status [CONFIG...] [--output json]``: what every mapping's deployment has been doing.

Reads the Prefect API (``PREFECT_API_URL``, or the local ephemeral server's database): per mapping its
deployment, whether it is paused, the last run's state and time, the next scheduled run, the last error
and the objects and bytes the last finished sync moved. With CONFIG, exactly that configuration's mappings
are shown (``NOT_DEPLOYED`` when a deployment is missing); without, every deployment tagged ``mapping:``.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from deployments.builder import MappingReference, build_deployment_specs
from deployments.status import MappingStatus, read_statuses
from drsyncer.cli.output import OUTPUT_OPTION, OutputFormat, print_json, stdout, user_errors
from drsyncer.prefect_env import apply_prefect_defaults

CONFIG_ARGUMENT = typer.Argument(None, help="Configuration files or directories.", show_default=False)


def status(config: list[Path] | None = CONFIG_ARGUMENT, output: OutputFormat = OUTPUT_OPTION) -> None:
    """Show each mapping's last run, next run, last error and what it synced."""
    with user_errors():
        names: list[tuple[str, str]] | None = None
        if config:
            from drsyncer.config.loader import load_config

            loaded = load_config(config)
            specs = build_deployment_specs(
                loaded, MappingReference.from_paths(config), cluster_mappings=False
            )
            names = [(f"{spec.flow}/{spec.name}", spec.parameters["mapping"]) for spec in specs]
        apply_prefect_defaults()
        statuses = read_statuses(names)
    if output == OutputFormat.json:
        print_json([item.to_json() for item in statuses])
        return
    stdout.print(_table(statuses))


def _table(statuses: list[MappingStatus]) -> Table:
    table = Table("mapping", "deployment", "last run", "next run", "objects", "bytes", "last error")
    for item in statuses:
        last = "never" if item.last_state is None else item.last_state
        if item.last_run_time is not None:
            last += f" {item.last_run_time:%Y-%m-%d %H:%M:%S}"
        next_run = (
            "paused"
            if item.paused
            else (f"{item.next_run_time:%Y-%m-%d %H:%M:%S}" if item.next_run_time else "-")
        )
        objects = ", ".join(f"{count} {name}" for name, count in item.objects.items() if count) or "-"
        table.add_row(
            item.mapping,
            item.deployment,
            last,
            next_run,
            objects,
            "-" if item.bytes_synced is None else str(item.bytes_synced),
            item.last_error or "",
        )
    return table
