#!/usr/bin/env bash
# The README's test command: system packages (as root), the venv, then every test tier.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-system-packages.sh
[ -x .venv/bin/pytest ] || ./scripts/bootstrap.sh
exec .venv/bin/pytest -q "$@"
