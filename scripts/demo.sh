#!/usr/bin/env bash
# The README's main job: the two-cluster sandbox demo (system packages as root, the venv, then the demo).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-system-packages.sh
[ -x .venv/bin/drsyncer ] || ./scripts/bootstrap.sh
exec .venv/bin/drsyncer demo "$@"
