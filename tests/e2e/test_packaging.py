"""The built wheel carries every package and the data files the product reads at run time.

The wheel is built from the working tree, installed (without dependencies, which the venv already has)
into an empty directory, and imported from there by a process whose working directory is elsewhere, so
nothing can be picked up from the source tree.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, installed into a directory of its own; returns that directory."""
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    wheels = list(out.glob("dr_syncer-*.whl"))
    assert len(wheels) == 1
    target = tmp_path_factory.mktemp("site")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--quiet",
            "--target",
            str(target),
            str(wheels[0]),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    return target


def test_every_package_imports_from_the_wheel(installed_wheel: Path, tmp_path: Path) -> None:
    script = (
        "import importlib, json\n"
        "names = ['drsyncer', 'drsyncer.cli.main', 'flows.namespace_sync', 'tasks.pvc_data',"
        " 'agent.manifests', 'deployments.builder']\n"
        "print(json.dumps({n: importlib.import_module(n).__file__ for n in names}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(installed_wheel), "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for path in json.loads(result.stdout).values():
        assert Path(path).is_relative_to(installed_wheel), path


def test_the_wheel_carries_the_agent_files_and_crds(installed_wheel: Path) -> None:
    for relative in (
        "agent/control.py",
        "agent/sshd_config.tmpl",
        "agent/entrypoint.sh",
        "agent/Dockerfile",
        "deployments/kubernetes/crds/namespacemappings.yaml",
    ):
        assert (installed_wheel / relative).is_file(), relative
