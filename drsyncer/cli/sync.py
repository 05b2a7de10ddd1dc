"""``drsyncer plan`` and ``drsyncer sync``: what a sync would do, and doing it.

``plan`` reads both clusters and prints, per object, create / update (with a field-level diff) /
unchanged / prune / skip (with the reason). It sends zero mutating requests and needs no Prefect server.
Its ``--output json`` is the sync report's contract with ``phase: Planned``, counts of what a sync would
do (``created`` = would be created, ...) and each object's ``reason`` and ``diff``.

``sync`` runs the namespace-sync flow for each selected mapping, in this process, against the Prefect API
(``PREFECT_API_URL``; when it is unset, dr-syncer's local Prefect server, see
:mod:`drsyncer.local_server`). Exit code 0 when everything synced, 1 when any object or PVC failed, 2 for
bad input. With ``--output json`` stdout holds exactly one JSON document (one report object for one
mapping, a list for several) and logs go to stderr.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from drsyncer.cli.config_paths import config_paths
from drsyncer.cli.output import OUTPUT_OPTION, OutputFormat, print_json, stderr, stdout, user_errors
from drsyncer.config.effective import EffectiveMapping
from drsyncer.errors import UsageError
from drsyncer.local_server import LOST_API, exit_if_server_stops, exit_without_draining
from drsyncer.prefect_env import apply_prefect_defaults
from drsyncer.report import SyncReport
from drsyncer.settings import load_settings

CONFIG_ARGUMENT = typer.Argument(None, help="Configuration files or directories.", show_default=False)
MAPPING_OPTION = typer.Option(
    None, "--mapping", "-m", help="NamespaceMapping name (metadata.name, or NAMESPACE/NAME). Repeatable."
)
FROM_CLUSTER_OPTION = typer.Option(
    False, "--from-cluster", help="Read RemoteCluster/ClusterMapping/NamespaceMapping CRs from a cluster."
)
KUBECONFIG_OPTION = typer.Option(None, "--kubeconfig", help="Kubeconfig of the controller cluster.")
CONTEXT_OPTION = typer.Option(None, "--context", help="Context in --kubeconfig (default: its current one).")


def _controller(from_cluster: bool, kubeconfig: Path | None, context: str | None) -> dict[str, Any] | None:
    if not from_cluster:
        if kubeconfig is not None:
            raise UsageError("--kubeconfig is only used with --from-cluster", fix="add --from-cluster")
        return None
    if kubeconfig is None:
        raise UsageError("--from-cluster needs --kubeconfig", fix="pass --kubeconfig CONTROLLER_KUBECONFIG")
    return {"kubeconfig": str(kubeconfig.expanduser().resolve()), "context": context}


def _selected(
    config: list[Path] | None, mappings: list[str] | None, controller: dict[str, Any] | None
) -> list[str]:
    """Mapping names to run: the ``--mapping`` values, or every mapping of the configuration."""
    if controller is not None:
        if config:
            raise UsageError(
                "CONFIG paths and --from-cluster exclude each other", fix="give one or the other"
            )
        if not mappings:
            raise UsageError(
                "controller mode needs --mapping NAMESPACE/NAME", fix="name the NamespaceMapping to sync"
            )
        return list(mappings)
    from drsyncer.config.loader import load_config

    loaded = load_config(config_paths(config))
    return [mapping.key for mapping in loaded.select(mappings or None)]


def plan(
    config: list[Path] | None = CONFIG_ARGUMENT,
    mapping: list[str] | None = MAPPING_OPTION,
    from_cluster: bool = FROM_CLUSTER_OPTION,
    kubeconfig: Path | None = KUBECONFIG_OPTION,
    context: str | None = CONTEXT_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Show what a sync would do, object by object. Sends no mutating request."""
    with user_errors():
        controller = _controller(from_cluster, kubeconfig, context)
        names = _selected(config, mapping, controller)
        paths = [] if controller is not None else config_paths(config)
        documents = [_plan_one(paths, name, controller) for name in names]
    if output == OutputFormat.json:
        print_json(documents[0] if len(documents) == 1 else documents)
    else:
        for document in documents:
            _print_plan(document)


def _plan_one(config: list[Path], name: str, controller: dict[str, Any] | None) -> dict[str, Any]:
    from flows.mapping_source import MappingSource, resolve_mapping
    from tasks.session import open_session, plan_session, prepare_kinds

    started = time.monotonic()
    resolved = resolve_mapping(MappingSource(tuple(str(p) for p in config), controller), name)
    session = open_session(resolved.mapping, controller=resolved.controller)
    try:
        kinds = [*prepare_kinds(session, plan_only=True), *session.kind_outcomes]
        prepared = plan_session(session)
        warnings = session.warnings()
    finally:
        session.close()
    return _plan_document(
        resolved.mapping,
        prepared.all_entries,
        duration=time.monotonic() - started,
        kinds=kinds,
        warnings=warnings,
    )


def _plan_document(
    mapping: EffectiveMapping,
    entries: list[Any],
    *,
    duration: float,
    kinds: list[Any] | None = None,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """The plan in the report's JSON contract (``phase: Planned``), with each object's reason and diff.

    ``kinds`` are the kind-level lines decided before listing (CRDs to copy, kinds left out);
    ``warnings`` the session's (unavailable API groups, API server warnings).
    """
    from tasks.prepare import planned_outcome

    report = SyncReport.for_mapping(mapping, started_at="", plan_only=True)
    report.duration_seconds = duration
    report.objects = [*(kinds or []), *(planned_outcome(entry) for entry in entries)]
    report.warnings = list(warnings or [])
    document = report.to_json()
    for item in document["objects"]:
        item.setdefault("reason", "")
        item.setdefault("diff", [])
    return document


_ACTION_STYLE = {"create": "green", "update": "yellow", "unchanged": "dim", "prune": "red", "skip": "cyan"}


def _print_plan(document: dict[str, Any]) -> None:
    source, destination = document["source"], document["destination"]
    table = Table(
        title=f"Plan for {document['mapping']}: {source['cluster']}/{source['namespace']} → "
        f"{destination['cluster']}/{destination['namespace']}",
        title_justify="left",
    )
    for column in ("KIND", "NAME", "ACTION", "WHY / CHANGES"):
        table.add_column(column, overflow="fold")
    for item in document["objects"]:
        details = item["reason"]
        if item["diff"]:
            details += "\n" + "\n".join(
                f"{d['change'][0].upper() if d['change'] else '~'} {d['path']}: {_short(d['before'])} → "
                f"{_short(d['after'])}"
                for d in item["diff"][:12]
            )
        style = _ACTION_STYLE.get(item["action"], "")
        table.add_row(item["kind"], item["name"], f"[{style}]{item['action']}[/]", details)
    stdout.print(table)
    actions: dict[str, int] = {}
    for item in document["objects"]:
        actions[item["action"]] = actions.get(item["action"], 0) + 1
    stdout.print(", ".join(f"{count} {action}" for action, count in sorted(actions.items())))


def _short(value: Any) -> str:
    text = "-" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


VIA_DEPLOYMENT_OPTION = typer.Option(
    False,
    "--via-deployment",
    help="Trigger the mapping's deployment on the Prefect server (PREFECT_API_URL; served by `drsyncer "
    "serve` or a worker) and wait for the run, instead of running the flow in this process.",
)


ACCEPT_CHANGES_OPTION = typer.Option(
    None,
    "--accept-changes",
    metavar="CLAIM",
    help="Let this claim's next data sync through the change guard once (a PVC reported 'held'): sets "
    "dr-syncer.io/accept-changes on the DR claim. Repeatable; needs exactly one --mapping.",
)


def sync(
    config: list[Path] | None = CONFIG_ARGUMENT,
    mapping: list[str] | None = MAPPING_OPTION,
    from_cluster: bool = FROM_CLUSTER_OPTION,
    kubeconfig: Path | None = KUBECONFIG_OPTION,
    context: str | None = CONTEXT_OPTION,
    via_deployment: bool = VIA_DEPLOYMENT_OPTION,
    output: OutputFormat = OUTPUT_OPTION,
    accept: list[str] | None = ACCEPT_CHANGES_OPTION,
) -> None:
    """Run the sync flow now for one mapping (--mapping) or every mapping of CONFIG."""
    with user_errors():
        controller = _controller(from_cluster, kubeconfig, context)
        names = _selected(config, mapping, controller)
        paths = [] if controller is not None else config_paths(config)
        if accept:
            _accept_changes(paths, names, accept, controller=controller)
        if via_deployment:
            if controller is not None:
                raise UsageError(
                    "--via-deployment works with CONFIG paths", fix="run the deployment from the Prefect UI"
                )
            _sync_via_deployments(paths, names, output)
            return
        apply_prefect_defaults()
    exit_if_server_stops(
        load_settings(), announce=lambda line: stderr.print(line, markup=False, highlight=False)
    )
    documents = []
    for name in names:
        if output == OutputFormat.json or not stderr.is_terminal:
            documents.append(_sync_one(paths, name, controller))
            continue
        with stderr.status(f"syncing {name}: discover → plan → apply → PVC data ...", spinner="dots"):
            documents.append(_sync_one(paths, name, controller))
    if output == OutputFormat.json:
        print_json(documents[0] if len(documents) == 1 else documents)
    else:
        for document in documents:
            _print_report(document)
    if any(LOST_API in str(document.get("error", "")) for document in documents):
        exit_without_draining(1)
    if any(document.get("phase") != "Completed" for document in documents):
        raise typer.Exit(1)


def _accept_changes(
    paths: list[Path], names: list[str], claims: list[str], *, controller: dict[str, Any] | None
) -> None:
    if controller is not None:
        raise UsageError(
            "--accept-changes works with CONFIG paths",
            fix="annotate the DR claim: kubectl annotate pvc CLAIM dr-syncer.io/accept-changes=true",
        )
    import datetime

    from drsyncer.cli.accept_changes import accept_changes

    accept_changes(paths, names, claims, now=datetime.datetime.now(datetime.UTC))


def _sync_one(config: list[Path], name: str, controller: dict[str, Any] | None) -> dict[str, Any]:
    import httpx

    from drsyncer.flow_heartbeat import prompt_heartbeat
    from drsyncer.local_server import lost_api_message
    from drsyncer.quiet_prefect import prefect_logs_to_stderr
    from flows.namespace_sync import namespace_sync

    try:
        with prefect_logs_to_stderr(), prompt_heartbeat(namespace_sync) as sync_flow:
            state = sync_flow(
                mapping=name, config=[str(p) for p in config], controller=controller, return_state=True
            )
    except httpx.TransportError as error:  # the Prefect server went away mid-run
        return {"mapping": name, "phase": "Failed", "error": lost_api_message(error)}
    result = state.result(raise_on_failure=False)
    if isinstance(result, dict):
        return result
    return {"mapping": name, "phase": "Failed", "error": str(result) or state.message or "flow run failed"}


def _print_report(document: dict[str, Any]) -> None:
    if "counts" not in document:
        stderr.print(f"[bold red]error:[/] {document.get('mapping')}: ", end="", highlight=False)
        stderr.print(str(document.get("error")), markup=False, highlight=False)
        return
    source, destination = document["source"], document["destination"]
    phase = document["phase"]
    colour = "green" if phase == "Completed" else "red"
    stdout.print(
        f"[bold]{document['mapping']}[/]: {source['cluster']}/{source['namespace']} → "
        f"{destination['cluster']}/{destination['namespace']}: [{colour}]{phase}[/] "
        f"in {document['durationSeconds']:.1f} s",
        highlight=False,
    )
    stdout.print(
        "  " + ", ".join(f"{count} {key}" for key, count in document["counts"].items()), highlight=False
    )
    for item in document["objects"]:
        if item["status"] == "failed":
            stdout.print(f"  [red]failed[/] {item['kind']}/{item['name']}: ", end="", highlight=False)
            stdout.print(str(item["error"]), markup=False, highlight=False)
    for pvc in document.get("pvcs", []):
        stdout.print(
            f"  PVC {pvc['name']}: {pvc['status']}, {pvc['bytesTransferred']} bytes, "
            f"{pvc['filesTransferred']} files, verification {pvc['verification']}",
            highlight=False,
        )
    if document.get("error"):
        stdout.print("  [red]error:[/] ", end="", highlight=False)
        stdout.print(str(document["error"]), markup=False, highlight=False)


def _sync_via_deployments(paths: list[Path], names: list[str], output: OutputFormat) -> None:
    """Trigger each mapping's deployment and wait; print a summary per run (the full report is the run's
    artifact). Exit 1 when a run did not complete."""
    import os

    from deployments.builder import deployment_name
    from drsyncer.config.loader import load_config

    apply_prefect_defaults()  # points PREFECT_API_URL at the local server unless DRSYNCER_PREFECT=ephemeral
    if not os.environ.get("PREFECT_API_URL"):
        raise UsageError(
            "--via-deployment needs a Prefect server that outlives the command",
            fix="set PREFECT_API_URL to the server where `drsyncer serve` or `drsyncer deploy` registered "
            "the deployments, or unset DRSYNCER_PREFECT=ephemeral to use the local server",
        )
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    config = load_config(paths)
    summaries = []
    for name in names:
        mapping = config.mapping(name)
        deployment = deployment_name(config, mapping)
        if output != OutputFormat.json:
            stderr.print(f"[bold]triggering[/] {deployment} and waiting for the run ...", highlight=False)
        run = run_deployment(name=deployment, timeout=None)
        if not isinstance(run, FlowRun):  # pragma: no cover - only in an async context
            raise UsageError("--via-deployment cannot run inside an event loop", fix="run it from a shell")
        state = run.state
        summary: dict[str, Any] = {
            "mapping": mapping.name,
            "deployment": deployment,
            "flowRunId": str(run.id),
            "flowRunName": run.name,
            "phase": "Completed" if state is not None and state.is_completed() else "Failed",
            "state": state.name if state is not None else "Unknown",
            "message": state.message if state is not None else "",
        }
        with contextlib.suppress(ValueError):
            summary.update(json.loads(summary["message"] or ""))
        summaries.append(summary)
    if output == OutputFormat.json:
        print_json(summaries[0] if len(summaries) == 1 else summaries)
    else:
        for item in summaries:
            stdout.print(
                f"{item['mapping']}: run {item['flowRunName']} {item['state']}: {item['message']}",
                highlight=False,
            )
    if any(item["phase"] != "Completed" for item in summaries):
        raise typer.Exit(1)
