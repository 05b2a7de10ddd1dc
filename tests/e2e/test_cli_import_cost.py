"""The fixed cost of the commands that need no Prefect: ``--help``, ``validate`` and ``plan``.

Each runs in a fresh interpreter, as a user's shell would start it, and the modules it imported are
listed at exit. Prefect (1.5 s of imports, its server more), fabric and paramiko are for ``sync`` and
the data stage; these commands must not pay for them, nor start any Prefect server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.sync.conftest import MAPPING, SyncWorld
from tests.e2e.test_cli_sync import world  # noqa: F401  (the two-cluster CLI world, reused)
from tests.factories import make_configmap

DRIVER = """
import json, sys
from drsyncer.cli.main import app
out, sys.argv = sys.argv[1], ["drsyncer", *sys.argv[2:]]
try:
    app()
except SystemExit as exit:
    code = exit.code or 0
with open(out, "w") as handle:
    json.dump({"code": code, "modules": sorted(sys.modules)}, handle)
"""

FORBIDDEN = ("prefect", "prefect.server", "fabric", "paramiko")


def _imported_by(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, set[str]]:
    out = tmp_path / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, str(out), *args],
        env={key: value for key, value in env.items() if key != "KUBECONFIG"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.exists(), result.stderr[-3000:]
    document = json.loads(out.read_text())
    return int(document["code"]), set(document["modules"])


@pytest.mark.parametrize("command", [["--help"], ["validate", "--help"], ["plan", "--help"]])
def test_help_imports_no_prefect_fabric_or_paramiko(tmp_path: Path, command: list[str]) -> None:
    code, modules = _imported_by(tmp_path, dict(os.environ), *command)

    assert code == 0
    assert modules.isdisjoint(FORBIDDEN), sorted(modules & set(FORBIDDEN))
    assert "drsyncer.sandbox" not in modules, "the sandbox is for `drsyncer sandbox up` and the demo"
    assert "kubernetes" not in modules, "help contacts no cluster: the kubernetes library (~0.1 s) waits"


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_validate_and_plan_import_no_prefect_fabric_or_paramiko(
    tmp_path: Path,
    world: SyncWorld,  # noqa: F811  (the fixture imported above)
    command: str,
) -> None:
    world.seed(make_configmap("settings", server_fields=False))
    world.configure()
    env = dict(os.environ)

    mapping = ["--mapping", MAPPING] if command == "plan" else []
    code, modules = _imported_by(tmp_path, env, command, str(world.config_path), *mapping)

    assert code == 0
    assert modules.isdisjoint(FORBIDDEN), sorted(modules & set(FORBIDDEN))
