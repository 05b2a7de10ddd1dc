"""The ``drsyncer`` command line: one typer app; each command lives in its own module.

Errors derived from :class:`drsyncer.errors.DrSyncerError` become one clear message and an exit code
(2 for bad input, 1 for failures); no traceback.
"""

from __future__ import annotations

import typer

from drsyncer import __version__

app = typer.Typer(
    name="drsyncer",
    help="Keep disaster-recovery copies of Kubernetes namespaces (objects and PVC data), on Prefect.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"drsyncer {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
    ),
) -> None:
    """Keep disaster-recovery copies of Kubernetes namespaces, on Prefect."""


# --- command registration (one line per command module) ---
from drsyncer.cli import validate as _validate  # noqa: E402

app.command("validate")(_validate.validate)
from drsyncer.cli import sync as _sync  # noqa: E402

app.command("plan")(_sync.plan)
app.command("sync")(_sync.sync)
from drsyncer.cli import demo as _demo  # noqa: E402

app.command("demo")(_demo.demo)
from drsyncer.cli.agent import agent_app as _agent_app  # noqa: E402
from drsyncer.cli.keys import keys_app as _keys_app  # noqa: E402

app.add_typer(_agent_app, name="agent")
app.add_typer(_keys_app, name="keys")
from drsyncer.cli import deploy as _deploy  # noqa: E402
from drsyncer.cli import serve as _serve  # noqa: E402
from drsyncer.cli import status as _status  # noqa: E402

app.command("serve")(_serve.serve)
app.command("deploy")(_deploy.deploy)
app.command("status")(_status.status)
from drsyncer.cli import exporter as _exporter  # noqa: E402

app.command("exporter")(_exporter.exporter)
from drsyncer.cli.sandbox import sandbox_app as _sandbox_app  # noqa: E402

app.add_typer(_sandbox_app, name="sandbox")
from drsyncer.cli import dr as _dr  # noqa: E402

app.command("stage")(_dr.stage)
app.command("cutover")(_dr.cutover)
app.command("failback")(_dr.failback)
app.command("resume")(_dr.resume)
from drsyncer.cli.server import server_app as _server_app  # noqa: E402

app.add_typer(_server_app, name="server")
from drsyncer.cli.restore_points import restore_points_app as _restore_points_app  # noqa: E402

app.add_typer(_restore_points_app, name="restore-points")
# --- end of command registration ---
