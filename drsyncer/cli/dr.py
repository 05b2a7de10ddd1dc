"""``drsyncer stage|cutover|failback`` and ``drsyncer resume``: the DR operations from the command line.

Each command runs its flow (:mod:`flows.dr_operations`) in this process against the Prefect API
(``PREFECT_API_URL``, or Prefect's local ephemeral server), prints the step-by-step report (a table, or
one JSON document with ``--output json``) and exits 0 when the operation completed, 1 when it failed or
was refused or rejected, 2 for bad input. ``--dry-run`` prints the steps and touches nothing.

- ``cutover`` and ``failback`` pause for approval unless ``--yes``; approve from the Prefect UI or with
  ``drsyncer resume RUN_ID`` (``--reject`` refuses) in another shell.
- ``cutover --resume RUN_ID`` (and ``failback --resume``) retries a failed run: completed steps are
  skipped, the rest runs again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from drsyncer.cli.config_paths import config_paths
from drsyncer.cli.output import OUTPUT_OPTION, OutputFormat, print_json, stderr, stdout, user_errors
from drsyncer.config.durations import Duration
from drsyncer.errors import UsageError
from drsyncer.prefect_env import apply_prefect_defaults

CONFIG_ARGUMENT = typer.Argument(None, help="Configuration files or directories.", show_default=False)
MAPPING_OPTION = typer.Option(None, "--mapping", "-m", help="NamespaceMapping name (or NAMESPACE/NAME).")
DATA_OPTION = typer.Option(
    False, "--migrate-pvc-data", help="Copy PVC data too (cutover/failback do when the mapping syncs data)."
)
YES_OPTION = typer.Option(False, "--yes", "-y", help="Do not pause for approval.")
DRY_RUN_OPTION = typer.Option(False, "--dry-run", help="Print the steps and change nothing.")
RESUME_OPTION = typer.Option(
    None, "--resume", help="Retry the failed run RUN_ID: completed steps are skipped."
)
STALENESS_OPTION = typer.Option(
    None,
    "--max-staleness",
    help="Refuse when the last completed sync is older (e.g. 15m; default: 2 × schedule).",
)
RESTORE_POINT_OPTION = typer.Option(
    None,
    "--restore-point",
    metavar="latest|TIME",
    help="The source is corrupted: skip the final data copy and start DR on each claim's newest restore "
    "point (at or before TIME, e.g. 2026-12-03T10:00:00Z). The report warns loudly.",
)
FORCE_OPTION = typer.Option(
    False, "--force", help="Cut over even to a stale DR copy or after a failed data sync."
)
STOP_TIMEOUT_OPTION = typer.Option("5m", "--stop-timeout", help="Deadline for the stopped side's pods to go.")
READY_TIMEOUT_OPTION = typer.Option(
    "10m", "--ready-timeout", help="Deadline for the started side to be ready."
)


def _seconds(text: str, option: str) -> float:
    try:
        return Duration.parse(text).seconds
    except ValueError as error:
        raise UsageError(f"{option}: {error}", fix=f"give {option} like 30s, 5m or 1h") from error


def _mapping_key(config: list[Path] | None, mapping: str | None) -> str:
    if not mapping:
        raise UsageError("--mapping is required", fix="name the NamespaceMapping, e.g. --mapping app-dr")
    from drsyncer.config.loader import load_config

    return load_config(config_paths(config)).mapping(mapping).key


def _dry_run(operation: str, key: str, *, data: bool, yes: bool, force: bool, copy_back: bool = True) -> None:
    from flows.dr_operations import operation_steps

    steps = operation_steps(operation, data=data, approval=not yes, staleness=not force, copy_back=copy_back)
    table = Table(title=f"{operation} of {key} would run:", title_justify="left")
    table.add_column("#")
    table.add_column("STEP")
    table.add_column("WHAT IT DOES")
    for number, (step, what) in enumerate(steps, start=1):
        table.add_row(str(number), step, what)
    stdout.print(table)


def _use_prefect_api() -> None:
    """Point Prefect at its API (the local server unless one is configured) before ``flows`` is imported:
    Prefect reads its settings once, when it is imported, so a later ``PREFECT_API_URL`` is ignored and
    the run would go to a temporary server of its own."""
    with user_errors():
        apply_prefect_defaults()


def _run(flow_call: Any, output: OutputFormat) -> None:
    from drsyncer.quiet_prefect import prefect_logs_to_stderr

    _use_prefect_api()
    with prefect_logs_to_stderr():
        state = flow_call()
    document = state.result(raise_on_failure=False) if state is not None else None
    if not isinstance(document, dict):
        document = {"phase": "Failed", "error": str(document) or (state.message if state else "run failed")}
    if output == OutputFormat.json:
        print_json(document)
    else:
        print_report(document)
    if document.get("phase") != "Completed":
        raise typer.Exit(1)


def _resume(run_id: str, output: OutputFormat) -> None:
    _use_prefect_api()
    from flows.dr_operations import retry_run

    with user_errors():
        _run(lambda: retry_run(run_id), output)


def stage(
    config: list[Path] | None = CONFIG_ARGUMENT,
    mapping: str | None = MAPPING_OPTION,
    migrate_pvc_data: bool = DATA_OPTION,
    dry_run: bool = DRY_RUN_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Stage the DR copy: sync objects (and data), every DR workload at rest."""
    with user_errors():
        key = _mapping_key(config, mapping)
    if dry_run:
        _dry_run("stage", key, data=migrate_pvc_data, yes=True, force=True)
        return
    _use_prefect_api()
    from flows.dr_operations import stage as stage_flow

    paths = [str(path) for path in config_paths(config)]
    _run(
        lambda: stage_flow(mapping=key, config=paths, migrate_pvc_data=migrate_pvc_data, return_state=True),
        output,
    )


def cutover(
    config: list[Path] | None = CONFIG_ARGUMENT,
    mapping: str | None = MAPPING_OPTION,
    migrate_pvc_data: bool = DATA_OPTION,
    yes: bool = YES_OPTION,
    dry_run: bool = DRY_RUN_OPTION,
    max_staleness: str | None = STALENESS_OPTION,
    force: bool = FORCE_OPTION,
    stop_timeout: str = STOP_TIMEOUT_OPTION,
    ready_timeout: str = READY_TIMEOUT_OPTION,
    resume: str | None = RESUME_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
    restore_point: str | None = RESTORE_POINT_OPTION,
) -> None:
    """Switch a mapping to DR: stop the source, copy the last changes, start DR at the source's counts."""
    if resume:
        _resume(resume, output)
        return
    with user_errors():
        key = _mapping_key(config, mapping)
        staleness = _seconds(max_staleness, "--max-staleness") if max_staleness else None
        stop_seconds = _seconds(stop_timeout, "--stop-timeout")
        ready_seconds = _seconds(ready_timeout, "--ready-timeout")
        if restore_point:
            _use_prefect_api()  # the module below imports prefect
            from tasks.dr.restore_point_step import parse_before

            parse_before(restore_point)  # a bad TIME is exit 2 before anything runs
    if dry_run:
        _dry_run("cutover", key, data=migrate_pvc_data, yes=yes, force=force)
        return
    _use_prefect_api()
    from flows.dr_operations import cutover as cutover_flow

    paths = [str(path) for path in config_paths(config)]
    _run(
        lambda: cutover_flow(
            mapping=key,
            config=paths,
            migrate_pvc_data=migrate_pvc_data,
            yes=yes,
            max_staleness_seconds=staleness,
            force=force,
            stop_timeout_seconds=stop_seconds,
            ready_timeout_seconds=ready_seconds,
            restore_point=restore_point,
            return_state=True,
        ),
        output,
    )


def failback(
    config: list[Path] | None = CONFIG_ARGUMENT,
    mapping: str | None = MAPPING_OPTION,
    migrate_pvc_data: bool = DATA_OPTION,
    no_copy_back: bool = typer.Option(
        False, "--no-copy-back", help="Copy no data DR → source (roll back an interrupted cutover)."
    ),
    yes: bool = YES_OPTION,
    dry_run: bool = DRY_RUN_OPTION,
    stop_timeout: str = STOP_TIMEOUT_OPTION,
    ready_timeout: str = READY_TIMEOUT_OPTION,
    resume: str | None = RESUME_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Come back to the source: stop DR, copy its changes back, start the source, stage DR again."""
    if resume:
        _resume(resume, output)
        return
    with user_errors():
        key = _mapping_key(config, mapping)
        stop_seconds = _seconds(stop_timeout, "--stop-timeout")
        ready_seconds = _seconds(ready_timeout, "--ready-timeout")
    if dry_run:
        _dry_run("failback", key, data=migrate_pvc_data, yes=yes, force=True, copy_back=not no_copy_back)
        return
    _use_prefect_api()
    from flows.dr_operations import failback as failback_flow

    paths = [str(path) for path in config_paths(config)]
    _run(
        lambda: failback_flow(
            mapping=key,
            config=paths,
            migrate_pvc_data=migrate_pvc_data,
            copy_back=not no_copy_back,
            yes=yes,
            stop_timeout_seconds=stop_seconds,
            ready_timeout_seconds=ready_seconds,
            return_state=True,
        ),
        output,
    )


def resume(
    run_id: str = typer.Argument(..., help="The paused flow run's id."),
    reject: bool = typer.Option(False, "--reject", help="Refuse the operation instead of approving it."),
    approver: str = typer.Option("", "--approver", help="Who decides (recorded in the report)."),
    comment: str = typer.Option("", "--comment", help="Why (recorded in the report)."),
) -> None:
    """Answer a cutover or failback waiting for approval (approve, or --reject)."""
    _use_prefect_api()
    from flows.dr_operations import answer_approval

    with user_errors():
        apply_prefect_defaults()
        try:
            answer_approval(run_id, approve=not reject, approver=approver, comment=comment)
        except ValueError as error:
            raise UsageError(
                f"{run_id!r} is not a flow run id", fix="copy the id from the paused run"
            ) from error
    stderr.print(f"{'rejected' if reject else 'approved'} flow run {run_id}", highlight=False)


_OUTCOME_STYLE = {"done": "green", "skipped": "dim", "failed": "red", "planned": "cyan"}


def print_report(document: dict[str, Any]) -> None:
    """The operation report for people: a table of steps, then what went wrong and what to do."""
    if "steps" not in document:
        stderr.print("[bold red]error:[/] ", end="", highlight=False)
        stderr.print(str(document.get("error")), markup=False, highlight=False)
        return
    source, destination = document["source"], document["destination"]
    phase = document["phase"]
    table = Table(
        title=f"{document['operation']} of {document['mapping']}: "
        f"{source['cluster']}/{source['namespace']} → "
        f"{destination['cluster']}/{destination['namespace']}: {phase}",
        title_justify="left",
    )
    for column in ("STEP", "START", "END", "OUTCOME", "OBJECTS", "BYTES", "DETAIL"):
        table.add_column(column, overflow="fold")
    for step in document["steps"]:
        style = _OUTCOME_STYLE.get(step["outcome"], "")
        table.add_row(
            step["step"],
            step["startedAt"],
            step["finishedAt"],
            f"[{style}]{step['outcome']}[/]",
            str(step["objects"]),
            str(step["bytes"]),
            step["detail"],
        )
    stdout.print(table)
    if document.get("error"):
        stdout.print("[red]error:[/] ", end="", highlight=False)
        stdout.print(str(document["error"]), markup=False, highlight=False)
    for role, state in (document.get("sides") or {}).items():
        stdout.print(f"{role} side now:", highlight=False)
        for ref, value in state.items():
            stdout.print(f"  {ref}: {value}", markup=False, highlight=False)
    if document.get("resume"):
        stdout.print(f"resume:    {document['resume']}", markup=False, highlight=False)
    if document.get("rollback"):
        stdout.print(f"roll back: {document['rollback']}", markup=False, highlight=False)
