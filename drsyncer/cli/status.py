"""``drsyncer status [CONFIG...] [--output json]``: how far behind DR is, and what each mapping is doing.

Reads the Prefect API (``PREFECT_API_URL``, or the local ephemeral server's database): per mapping its
deployment, whether it is paused, the last run's state and time, the next scheduled run, the last error
and the objects and bytes the last finished sync moved. With CONFIG, exactly that configuration's mappings
are shown (``NOT_DEPLOYED`` when a deployment is missing) with their **RPO per stage** (objects, PVC data:
now minus the start of the last successful sync, whichever process ran it) against the RPO objective; the
command **exits 1 when an active mapping breaks its objective**, so it can serve as a cron or CI check.
Without CONFIG, every deployment tagged ``mapping:`` is listed (no RPO: the objective needs the mapping).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from deployments.builder import MappingReference, build_deployment_specs
from deployments.status import MappingStatus, read_statuses
from drsyncer.cli.output import OUTPUT_OPTION, OutputFormat, print_json, stdout, user_errors
from drsyncer.errors import DrSyncerError
from drsyncer.metrics.exporter import Exporter, MappingTarget
from drsyncer.metrics.history import run_names
from drsyncer.metrics.rpo_report import MappingRpo, mapping_rpo
from drsyncer.prefect_env import apply_prefect_defaults

CONFIG_ARGUMENT = typer.Argument(None, help="Configuration files or directories.", show_default=False)


def status(config: list[Path] | None = CONFIG_ARGUMENT, output: OutputFormat = OUTPUT_OPTION) -> None:
    """Show each mapping's RPO per stage, last run, next run and last error (exit 1: RPO objective broken)."""
    with user_errors():
        names: list[tuple[str, str]] | None = None
        targets: list[MappingTarget] = []
        if config:
            from drsyncer.cli.exporter import metrics_targets
            from drsyncer.config.loader import load_config

            loaded = load_config(config)
            reference = MappingReference.from_paths(config)
            specs = build_deployment_specs(loaded, reference, cluster_mappings=False)
            names = [(f"{spec.flow}/{spec.name}", spec.parameters["mapping"]) for spec in specs]
            targets = metrics_targets(loaded, reference)
        apply_prefect_defaults()
        statuses, rpos = _read(names, targets)
    if output == OutputFormat.json:
        print_json([_json(item, rpos.get(item.mapping)) for item in statuses])
    else:
        stdout.print(_table(statuses, rpos))
    if any(rpo.breaks for rpo in rpos.values()):
        raise typer.Exit(1)


def _read(
    names: list[tuple[str, str]] | None, targets: list[MappingTarget]
) -> tuple[list[MappingStatus], dict[str, MappingRpo]]:
    """Deployment statuses, and RPO per mapping (keyed by the status' mapping name), from Prefect."""
    try:
        statuses = read_statuses(names)
        exporter = Exporter(targets)
        if targets and not exporter.refresh():
            raise ConnectionError("the runs of the mappings could not be read")
    except DrSyncerError:
        raise
    except Exception as error:
        raise DrSyncerError(
            f"cannot read the Prefect API: {error}",
            fix="start the Prefect server, or set PREFECT_API_URL to the one your deployments use",
        ) from error
    now = time.time()
    rpos: dict[str, MappingRpo] = {}
    for target, view in zip(targets, exporter.views(), strict=True):
        rpo = mapping_rpo(view, now=now, data_sync=target.mapping.data_sync)
        for item in statuses:
            if item.mapping in run_names(target.mapping):
                rpos[item.mapping] = rpo
                if item.last_state == "NOT_DEPLOYED" and view.state.last_state is not None:
                    item.last_state = f"{view.state.last_state.title()} (not deployed)"
                    item.last_run_time = _time(view.state.last_end)
                if item.last_error is None and view.state.last_error is not None:
                    item.last_error = view.state.last_error
                    item.last_error_time = _time(view.state.last_error_time)
    return statuses, rpos


def _time(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def _iso(epoch: float | None) -> str | None:
    moment = _time(epoch)
    return moment.isoformat() if moment is not None else None


def _json(item: MappingStatus, rpo: MappingRpo | None) -> dict[str, Any]:
    document = item.to_json()
    if rpo is None:
        return document
    document["rpoObjectiveSeconds"] = rpo.objective
    document["rpo"] = {
        stage.stage: {
            "seconds": None if stage.rpo is None else round(stage.rpo, 1),
            "lastSuccessStart": _iso(stage.last_success),
            "breaksObjective": stage.breaks,
        }
        for stage in rpo.stages
    }
    document["breaksObjective"] = rpo.breaks
    return document


def age(seconds: float) -> str:
    """A duration for people: ``42s``, ``12m 5s``, ``3h 4m``, ``2d 3h``."""
    value = int(seconds)
    if value < 60:
        return f"{value}s"
    if value < 3600:
        return f"{value // 60}m {value % 60}s"
    if value < 86400:
        return f"{value // 3600}h {value % 3600 // 60}m"
    return f"{value // 86400}d {value % 86400 // 3600}h"


def _rpo_cell(rpo: MappingRpo | None, stage: str) -> str:
    if rpo is None:
        return "-"
    found = next((s for s in rpo.stages if s.stage == stage), None)
    if found is None:
        return "-"
    text = "never" if found.rpo is None else age(found.rpo)
    return f"[bold red]{text} ![/]" if found.breaks and not rpo.paused else text


def _table(statuses: list[MappingStatus], rpos: dict[str, MappingRpo]) -> Table:
    table = Table(
        "mapping", "deployment", "RPO objects", "RPO data", "objective", "last run", "next run", "objects",
        "bytes", "last error",
    )  # fmt: skip
    for item in statuses:
        rpo = rpos.get(item.mapping)
        last = "never" if item.last_state is None else item.last_state
        if item.last_run_time is not None:
            last += f" {item.last_run_time:%Y-%m-%d %H:%M:%S}"
        next_run = (
            "paused"
            if item.paused or (rpo is not None and rpo.paused)
            else (f"{item.next_run_time:%Y-%m-%d %H:%M:%S}" if item.next_run_time else "-")
        )
        objects = ", ".join(f"{count} {name}" for name, count in item.objects.items() if count) or "-"
        objective = "-" if rpo is None or rpo.objective is None else age(rpo.objective)
        table.add_row(
            item.mapping,
            item.deployment,
            _rpo_cell(rpo, "objects"),
            _rpo_cell(rpo, "data"),
            objective,
            last,
            next_run,
            objects,
            "-" if item.bytes_synced is None else str(item.bytes_synced),
            item.last_error or "",
        )
    return table
