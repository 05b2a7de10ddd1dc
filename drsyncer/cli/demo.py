"""``drsyncer demo``: two sandbox clusters, a realistic namespace, one real sync flow, and what landed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer
from rich.table import Table

from drsyncer.cli.output import stderr, stdout, user_errors
from drsyncer.prefect_env import apply_prefect_defaults

DIR_OPTION = typer.Option(None, "--dir", help="Working directory for kubeconfigs, config and node data.")


def demo(workdir: Path | None = DIR_OPTION) -> None:
    """Run dr-syncer end to end on two sandbox clusters (no real cluster needed)."""
    with user_errors():
        apply_prefect_defaults()
    from drsyncer import demo as scenario
    from drsyncer.quiet_prefect import prefect_logs_to_stderr
    from flows.namespace_sync import namespace_sync

    base = workdir or Path(tempfile.mkdtemp(prefix="drsyncer-demo-"))
    stderr.print(f"[bold]1/4[/] starting source and DR sandbox clusters in {base}", highlight=False)
    clusters = scenario.start_clusters(base)
    try:
        stderr.print(
            f"[bold]2/4[/] seeding namespace {scenario.NAMESPACE!r} (and files in the database volume) "
            "in the source cluster",
            highlight=False,
        )
        written = scenario.seed(clusters.source)
        os.environ["DRSYNCER_KEY_DIR"] = str(clusters.key_dir)
        where = os.environ.get("PREFECT_API_URL") or "Prefect's temporary server (first start takes ~20 s)"
        stderr.print(f"[bold]3/4[/] running the namespace-sync flow on {where}", highlight=False)
        with prefect_logs_to_stderr():
            state = namespace_sync(
                mapping=scenario.MAPPING, config=[str(clusters.config_path)], return_state=True
            )
        report = state.result(raise_on_failure=False)
        stderr.print("[bold]4/4[/] what landed in the DR cluster:", highlight=False)
        table = Table(title=f"DR namespace {scenario.NAMESPACE!r}", title_justify="left")
        for column in ("KIND", "NAME", "DETAIL"):
            table.add_column(column)
        for row in scenario.dr_summary(clusters.dr):
            table.add_row(*row)
        stdout.print(table)
        copied = scenario.dr_volume_files(clusters.dr)
        same = {name: copied.get(name) for name in written} == written
        stdout.print(
            f"database volume in DR: {len(copied)} files, {sum(copied.values())} bytes "
            f"({'identical to' if same else 'DIFFERENT from'} the {len(written)} files written in the "
            "source)",
            highlight=False,
        )
        if isinstance(report, dict):
            counts = report.get("counts", {})
            stdout.print(
                f"sync {report.get('phase')}: " + ", ".join(f"{v} {k}" for k, v in counts.items()),
                highlight=False,
            )
            for pvc in report.get("pvcs", []):
                stdout.print(
                    f"PVC {pvc['name']}: {pvc['status']}, {pvc['bytesTransferred']} bytes in "
                    f"{pvc['filesTransferred']} files",
                    highlight=False,
                )
        stdout.print(_where_to_see(state.state_details.flow_run_id), highlight=False)
        stdout.print(f"Config used: {clusters.config_path}", highlight=False)
        if not state.is_completed() or not same:
            raise typer.Exit(1)
    finally:
        clusters.stop()


def _where_to_see(flow_run_id: object) -> str:
    """Where the demo's run can be seen: its UI page when the API is a server that stays up."""
    api_url = os.environ.get("PREFECT_API_URL", "")
    if not api_url:
        return (
            "The run was on Prefect's temporary server, which has stopped (DRSYNCER_PREFECT=ephemeral); "
            "run the demo without it to keep the run in dr-syncer's local Prefect server."
        )
    ui_url = api_url.removesuffix("/").removesuffix("/api")
    return f"See the run in the Prefect UI: {ui_url}/runs/flow-run/{flow_run_id} (the server stays up)"
