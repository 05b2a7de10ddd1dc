#!/usr/bin/env bash
# Create .venv (if missing) and install dr-syncer with its dev extras, pinned to the lock the worker image
# installs too (deployments/docker/constraints.txt; scripts/lock-dependencies.sh rewrites it). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -c deployments/docker/constraints.txt -e '.[dev]'
