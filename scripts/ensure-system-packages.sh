#!/usr/bin/env bash
# Install the system packages the tests need (openssh-server, rsync, chromium for the browser tier,
# prometheus for promtool) when missing and we are root.
set -euo pipefail
missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
{ command -v rsync >/dev/null 2>&1 && command -v rrsync >/dev/null 2>&1; } || missing+=(rsync)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
{ command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; } || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${missing[*]} (install them: sudo apt-get install -y ${missing[*]})" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" python3 >/dev/null
