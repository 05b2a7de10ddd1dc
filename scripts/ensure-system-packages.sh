#!/usr/bin/env bash
# Install the system packages the tests need when missing and we are root: openssh-server and rsync
# (data tier), iproute2 (`ip netns`, netns tier), chromium (browser tier), prometheus (promtool),
# postgresql (scale tier: a PostgreSQL-backed Prefect server).
# kubectl (sandbox/kubectl tests) is not in Debian's archive: it is checked, never installed.
# With --strict (CI), anything still missing is an error naming the fix; without it, a warning (the
# tier that needs it skips, saying why).
set -euo pipefail
strict=false
[ "${1:-}" = "--strict" ] && strict=true

missing_packages() {
    local missing=()
    [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
    { command -v rsync >/dev/null 2>&1 && command -v rrsync >/dev/null 2>&1; } || missing+=(rsync)
    command -v ip >/dev/null 2>&1 || missing+=(iproute2)
    command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
    { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; } || missing+=(chromium)
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
    echo "${missing[@]}"
}

read -r -a missing <<<"$(missing_packages)"
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" -eq 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" python3 >/dev/null
    read -r -a missing <<<"$(missing_packages)"
fi

problems=()
if [ ${#missing[@]} -gt 0 ]; then
    problems+=("missing system packages: ${missing[*]} (install them as root: apt-get install -y ${missing[*]})")
fi
if ! command -v kubectl >/dev/null 2>&1; then
    kubectl_fix="install it from the Kubernetes apt repository"
    kubectl_fix+=" (https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/) or put a kubectl 1.27+ on PATH"
    problems+=("kubectl is missing and Debian does not package it: $kubectl_fix")
fi
[ ${#problems[@]} -eq 0 ] && exit 0
for problem in "${problems[@]}"; do
    echo "$problem" >&2
done
if $strict; then
    echo "ensure-system-packages: --strict: the tiers that need these would skip; stopping" >&2
    exit 1
fi
exit 0
