#!/bin/sh
# dr-syncer agent entrypoint: install keys from the mounted Secret, render sshd_config, exec sshd.
#
# The Secret (KEYS_DIR, read-only) holds ssh_host_ed25519_key, authorized_keys (every line with a forced
# command), and per mapping pull-<mapping> / known-hosts-<mapping>. sshd's StrictModes wants root-owned,
# non-group/world-writable files in root-only directories, which a Secret volume (0777 tmpfs with
# symlinks) is not, so the host key and authorized_keys are *copied* into /run/dr-syncer (tmpfs, 0700).
# Nothing is ever appended: the files are exactly the Secret's content.
set -eu

: "${SSH_PORT:=2222}"
: "${KEYS_DIR:=/etc/dr-syncer/keys}"
: "${RUN_DIR:=/run/dr-syncer}"
: "${SSHD_TEMPLATE:=/usr/local/share/dr-syncer/sshd_config.tmpl}"
: "${SSHD_CHECK_ONLY:=}"

case "$SSH_PORT" in
  ''|*[!0-9]*) echo "dr-syncer-agent: SSH_PORT must be a number" >&2; exit 64 ;;
esac
# sshd listens on the node's own address (the DaemonSet sets LISTEN_ADDRESS from status.hostIP), not on
# every address of the node. Unset (a manual run) means all addresses.
: "${LISTEN_ADDRESS:=0.0.0.0}"
case "$LISTEN_ADDRESS" in
  ''|*[!0-9A-Fa-f.:]*) echo "dr-syncer-agent: LISTEN_ADDRESS must be an IP address" >&2; exit 64 ;;
esac
for required in ssh_host_ed25519_key authorized_keys; do
  if [ ! -s "$KEYS_DIR/$required" ]; then
    echo "dr-syncer-agent: $KEYS_DIR/$required is missing; install the keys (drsyncer keys generate)" >&2
    exit 66
  fi
done

umask 077
mkdir -p /run/sshd "$RUN_DIR"
chmod 0755 /run/sshd
chmod 0700 "$RUN_DIR"
cp "$KEYS_DIR/ssh_host_ed25519_key" "$RUN_DIR/ssh_host_ed25519_key"
cp "$KEYS_DIR/authorized_keys" "$RUN_DIR/authorized_keys"
chmod 0600 "$RUN_DIR/ssh_host_ed25519_key" "$RUN_DIR/authorized_keys"

sed -e "s|\${port}|$SSH_PORT|" \
    -e "s|\${listen_address}|$LISTEN_ADDRESS|" \
    -e "s|\${host_key}|$RUN_DIR/ssh_host_ed25519_key|" \
    -e "s|\${pid_file}|$RUN_DIR/sshd.pid|" \
    -e "s|\${authorized_keys}|$RUN_DIR/authorized_keys|" \
    -e "s|\${strict_modes}|yes|" \
    "$SSHD_TEMPLATE" > "$RUN_DIR/sshd_config"

if [ -n "$SSHD_CHECK_ONLY" ]; then
  exec /usr/sbin/sshd -t -f "$RUN_DIR/sshd_config"
fi

echo "dr-syncer-agent: node ${NODE_NAME:-?}, sshd on port $SSH_PORT" >&2
exec /usr/sbin/sshd -D -e -f "$RUN_DIR/sshd_config"
