"""``drsyncer server start|stop|status``: the user's local Prefect server (see :mod:`drsyncer.local_server`).

Commands start the server by themselves on first use when ``PREFECT_API_URL`` is unset; these commands
manage it explicitly. ``status --output json`` prints ``{"running", "uiUrl", "apiUrl", "pid", "port",
"database", "log", "idleTimeoutSeconds", "prefectVersion"}``; its exit code is 0 when a server is running,
3 when none is (like ``systemctl status``).
"""

from __future__ import annotations

from typing import Any

import typer

from drsyncer.cli.output import OUTPUT_OPTION, OutputFormat, print_json, stderr, stdout, user_errors
from drsyncer.settings import Settings, load_settings

server_app = typer.Typer(
    help="Manage dr-syncer's local Prefect server (used when PREFECT_API_URL is unset).",
    no_args_is_help=True,
)

NOT_RUNNING_EXIT_CODE = 3


def _document(settings: Settings) -> dict[str, Any]:
    from drsyncer.local_server import ServerFiles, running_server

    files = ServerFiles(settings.data_dir)
    state = running_server(files)
    document: dict[str, Any] = {
        "running": state is not None,
        "database": str(files.database),
        "log": str(files.log),
    }
    if state is not None:
        document.update(
            uiUrl=state.ui_url,
            apiUrl=state.api_url,
            pid=state.pid,
            port=state.port,
            idleTimeoutSeconds=state.idle_timeout,
            prefectVersion=state.prefect_version,
        )
    return document


@server_app.command("start")
def start() -> None:
    """Start the local Prefect server (or report the one already running) and print its UI URL."""
    from drsyncer.local_server import ensure_server

    settings = load_settings()
    with user_errors():
        state = ensure_server(settings, announce=lambda line: stderr.print(line, highlight=False))
    stdout.print(f"local Prefect server running: UI {state.ui_url} (pid {state.pid})", highlight=False)


@server_app.command("stop")
def stop() -> None:
    """Stop the local Prefect server (runs and history stay in its database)."""
    from drsyncer.local_server import stop_server

    state = stop_server(load_settings())
    if state is None:
        stdout.print("no local Prefect server was running")
    else:
        stdout.print(f"stopped the local Prefect server (pid {state.pid}, port {state.port})")


@server_app.command("status")
def status(output: OutputFormat = OUTPUT_OPTION) -> None:
    """Show whether the local Prefect server runs, its UI URL, database and log."""
    document = _document(load_settings())
    if output == OutputFormat.json:
        print_json(document)
    elif document["running"]:
        stdout.print(
            f"running: UI {document['uiUrl']} (pid {document['pid']}, Prefect {document['prefectVersion']}, "
            f"stops after {document['idleTimeoutSeconds']} s idle)\ndatabase {document['database']}\n"
            f"log {document['log']}",
            highlight=False,
        )
    else:
        stdout.print(f"not running (database {document['database']})", highlight=False)
    if not document["running"]:
        raise typer.Exit(NOT_RUNNING_EXIT_CODE)
