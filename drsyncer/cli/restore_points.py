"""``drsyncer restore-points list|restore``: the DR copies' points in time, and putting one back.

``list CONFIG --mapping NAME [--claim C]`` shows the mapping's restore points in the DR cluster (newest
first: name, claim, time, ready). ``restore CONFIG --mapping NAME --claim C --point P [--force]`` replaces
the DR claim with one restored from the point (``tasks/data/restore_claim.py``); it is refused while DR
is active unless ``--force``. Exit code 0, 1 when the restore failed, 2 for bad input.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from drsyncer.cli.config_paths import config_paths
from drsyncer.cli.output import OUTPUT_OPTION, OutputFormat, print_json, stderr, stdout, user_errors

if TYPE_CHECKING:
    from drsyncer.config.effective import EffectiveMapping
    from drsyncer.kube.client import KubeClient

restore_points_app = typer.Typer(
    help="Restore points: VolumeSnapshots of DR claims taken before data syncs changed them.",
    no_args_is_help=True,
)

CONFIG_ARGUMENT = typer.Argument(..., help="Configuration files or directories.", show_default=False)
MAPPING_OPTION = typer.Option(..., "--mapping", "-m", help="NamespaceMapping name (metadata.name).")


def _mapping_and_client(config: list[Path], name: str) -> tuple[EffectiveMapping, KubeClient]:
    from drsyncer.config.loader import load_config
    from drsyncer.kube.connect import connect_cluster

    mapping = load_config(config_paths(config)).mapping(name)
    return mapping, connect_cluster(mapping.destination)


@restore_points_app.command("list")
def list_points(
    config: list[Path] = CONFIG_ARGUMENT,
    mapping: str = MAPPING_OPTION,
    claim: str | None = typer.Option(None, "--claim", help="Only this claim's restore points."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """List a mapping's restore points in the DR cluster, newest first."""
    from tasks.data.restore_points import list_restore_points

    with user_errors():
        effective, client = _mapping_and_client(config, mapping)
        try:
            points = list_restore_points(
                client, effective.destination_namespace, mapping=effective.name, claim=claim
            )
        finally:
            client.close()
    if output == OutputFormat.json:
        print_json(
            [
                {
                    "name": p.name,
                    "claim": p.claim,
                    "time": p.taken_at.isoformat(),
                    "ready": p.ready,
                    "error": p.error,
                    "operation": p.operation,
                }
                for p in points
            ]
        )
        return
    table = Table("NAME", "CLAIM", "TIME (UTC)", "READY", "BEFORE")
    for point in points:
        table.add_row(
            point.name,
            point.claim,
            point.taken_at.strftime("%Y-%m-%d %H:%M:%S"),
            str(point.ready),
            point.operation,
        )
    stdout.print(table)


@restore_points_app.command("restore")
def restore(
    config: list[Path] = CONFIG_ARGUMENT,
    mapping: str = MAPPING_OPTION,
    claim: str = typer.Option(..., "--claim", help="The DR claim to restore."),
    point: str = typer.Option(..., "--point", help="The restore point (a name from `list`)."),
    force: bool = typer.Option(False, "--force", help="Restore even while DR is active (workloads running)."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Replace a DR claim with one restored from a restore point (DR must be parked, unless --force)."""
    from tasks.data.restore_claim import restore_claim

    with user_errors():
        effective, client = _mapping_and_client(config, mapping)
        try:
            result = restore_claim(
                client,
                effective,
                claim=claim,
                point=point,
                force=force,
                now=datetime.datetime.now(datetime.UTC),
            )
        finally:
            client.close()
    if output == OutputFormat.json:
        print_json({"claim": result.claim, "point": result.point, "safetyPoint": result.safety_point or None})
        return
    stdout.print(f"claim {result.claim} restored from {result.point}", highlight=False)
    if result.safety_point:
        stdout.print(f"  the replaced copy is restore point {result.safety_point}", highlight=False)
    stderr.print(
        "[yellow]warning:[/] the next data sync mirrors the source over this claim: pause the mapping "
        "(spec.paused: true) until you cut over or the source is repaired",
        highlight=False,
    )
