"""The orchestrator/worker image (``deployments/docker/Dockerfile``) installs what CI tests, and can start.

No Docker engine runs here, so the image is not built; instead: it installs with the lock file
(``deployments/docker/constraints.txt``) that CI's venv is installed with too, that lock pins exactly the
distributions of the venv these tests run in, every file it copies exists, it runs as a non-root user (the
uid the Kubernetes pool template expects), and its command exists and accepts its arguments.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from importlib.metadata import distributions
from pathlib import Path

from packaging.utils import canonicalize_name

from deployments.kubernetes_pool import RUN_AS_USER

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deployments" / "docker" / "Dockerfile"
LOCK = REPO / "deployments" / "docker" / "constraints.txt"
NOT_LOCKED = {"dr-syncer", "pip", "setuptools", "wheel"}


def _instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _lock() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name] = version
    return pins


def test_the_lock_pins_exactly_the_distributions_ci_tests() -> None:
    installed: dict[str, str] = {
        canonicalize_name(dist.metadata["Name"]): dist.version
        for dist in distributions()
        if canonicalize_name(dist.metadata["Name"]) not in NOT_LOCKED
    }
    lock = _lock()
    differences = sorted(
        f"{name}: venv {installed.get(name, '-')}, lock {lock.get(name, '-')}"
        for name in installed.keys() | lock.keys()
        if installed.get(name) != lock.get(name)
    )
    assert differences == [], f"run scripts/lock-dependencies.sh: {differences}"


def test_the_image_and_ci_install_with_the_same_lock() -> None:
    instructions = _instructions()
    copies = [arguments.split() for instruction, arguments in instructions if instruction == "COPY"]
    assert ["deployments/docker/constraints.txt", "/src/constraints.txt"] in copies
    for *sources, _ in copies:
        for source in sources:
            assert (REPO / source).exists(), f"the Dockerfile copies {source}, which does not exist"
    installs = [arguments for instruction, arguments in instructions if "pip install" in arguments]
    assert installs
    assert all("--constraint /src/constraints.txt" in command for command in installs)
    bootstrap = (REPO / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")
    assert "-c deployments/docker/constraints.txt -e '.[dev]'" in bootstrap


def test_the_image_runs_as_the_non_root_user_of_the_kubernetes_pool_template() -> None:
    users = [arguments for instruction, arguments in _instructions() if instruction == "USER"]
    assert users
    assert users[-1] == f"{RUN_AS_USER}:{RUN_AS_USER}"
    assert RUN_AS_USER != 0


def test_the_image_command_exists_and_accepts_its_arguments() -> None:
    commands = [arguments for instruction, arguments in _instructions() if instruction == "CMD"]
    assert commands
    assert not [1 for instruction, _ in _instructions() if instruction == "ENTRYPOINT"]
    argv = json.loads(commands[-1])
    assert argv[:3] == ["prefect", "worker", "start"]
    program = Path(sys.executable).with_name(argv[0])
    assert program.exists(), f"{argv[0]} is not installed with the project"
    shown = subprocess.run(
        [str(program), *argv[1:3], "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert shown.returncode == 0, shown.stderr
    for option in argv[3:]:
        if option.startswith("--"):
            assert option in shown.stdout, f"`{shlex.join(argv[:3])}` has no {option}"
