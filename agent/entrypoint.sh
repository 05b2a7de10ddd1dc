#!/bin/sh
# dr-syncer agent entrypoint: generate this node's host key, install authorized_keys from the mounted
# Secret, render sshd_config, print the host key, exec sshd.
#
# The Secret (KEYS_DIR, read-only) holds authorized_keys (every line with a forced command) and per
# mapping pull-<mapping> / known-hosts-<mapping>. sshd's StrictModes wants root-owned,
# non-group/world-writable files in root-only directories, which a Secret volume (0777 tmpfs with
# symlinks) is not, so authorized_keys is *copied* into /run/dr-syncer (tmpfs, 0700). Nothing is ever
# appended: the file is exactly the Secret's content.
#
# Host keys are per node: a new ed25519 key is generated at every container start in /run/dr-syncer (a
# memory-backed emptyDir: the private key never leaves this pod), and its public half is printed to
# stdout as "dr-syncer-agent host-key <node> <type> <base64>" now and every HOST_KEY_PRINT_SECONDS (so
# log rotation never loses it). The controller reads it from this pod's log through the API and pins it
# (tasks/data/agent_host_keys.py). A host key in the Secret (written by dr-syncer before per-node keys)
# is ignored: it is shared by every node. Rotating host keys = restarting the DaemonSet's pods.
set -eu

: "${SSH_PORT:=2222}"
: "${KEYS_DIR:=/etc/dr-syncer/keys}"
: "${RUN_DIR:=/run/dr-syncer}"
: "${SSHD_TEMPLATE:=/usr/local/share/dr-syncer/sshd_config.tmpl}"
: "${SSHD_CHECK_ONLY:=}"
: "${HOST_KEY_PRINT_SECONDS:=300}"
: "${NODE_NAME:=$(hostname)}"

case "$SSH_PORT" in
  ''|*[!0-9]*) echo "dr-syncer-agent: SSH_PORT must be a number" >&2; exit 64 ;;
esac
# sshd listens on the node's own address (the DaemonSet sets LISTEN_ADDRESS from status.hostIP), not on
# every address of the node. Unset (a manual run) means all addresses.
: "${LISTEN_ADDRESS:=0.0.0.0}"
case "$LISTEN_ADDRESS" in
  ''|*[!0-9A-Fa-f.:]*) echo "dr-syncer-agent: LISTEN_ADDRESS must be an IP address" >&2; exit 64 ;;
esac
case "$NODE_NAME" in
  ''|*[!a-z0-9.-]*)
    echo "dr-syncer-agent: NODE_NAME must be a node name (the DaemonSet sets spec.nodeName)" >&2; exit 64 ;;
esac
case "$HOST_KEY_PRINT_SECONDS" in
  ''|0|*[!0-9]*) echo "dr-syncer-agent: HOST_KEY_PRINT_SECONDS must be a positive number" >&2; exit 64 ;;
esac
if [ ! -s "$KEYS_DIR/authorized_keys" ]; then
  echo "dr-syncer-agent: $KEYS_DIR/authorized_keys is missing; install the keys (drsyncer keys generate)" >&2
  exit 66
fi
if [ -e "$KEYS_DIR/ssh_host_ed25519_key" ]; then
  echo "dr-syncer-agent: ignoring the shared host key in $KEYS_DIR (every agent now has its own)" >&2
fi

umask 077
mkdir -p /run/sshd "$RUN_DIR"
chmod 0755 /run/sshd
chmod 0700 "$RUN_DIR"
rm -f "$RUN_DIR/ssh_host_ed25519_key" "$RUN_DIR/ssh_host_ed25519_key.pub"
ssh-keygen -q -t ed25519 -N '' -C "dr-syncer-agent@$NODE_NAME" -f "$RUN_DIR/ssh_host_ed25519_key"
cp "$KEYS_DIR/authorized_keys" "$RUN_DIR/authorized_keys"
chmod 0600 "$RUN_DIR/ssh_host_ed25519_key" "$RUN_DIR/authorized_keys"
host_key_line="dr-syncer-agent host-key $NODE_NAME $(cut -d' ' -f1,2 "$RUN_DIR/ssh_host_ed25519_key.pub")"

sed -e "s|\${port}|$SSH_PORT|" \
    -e "s|\${listen_address}|$LISTEN_ADDRESS|" \
    -e "s|\${host_key}|$RUN_DIR/ssh_host_ed25519_key|" \
    -e "s|\${pid_file}|$RUN_DIR/sshd.pid|" \
    -e "s|\${authorized_keys}|$RUN_DIR/authorized_keys|" \
    -e "s|\${strict_modes}|yes|" \
    "$SSHD_TEMPLATE" > "$RUN_DIR/sshd_config"

echo "$host_key_line"
if [ -n "$SSHD_CHECK_ONLY" ]; then
  exec /usr/sbin/sshd -t -f "$RUN_DIR/sshd_config"
fi

# Re-print the host key periodically: the kubelet rotates container logs, and the controller reads a
# bounded tail. This loop outlives the exec below as a child of sshd (PID 1 of the container).
( while sleep "$HOST_KEY_PRINT_SECONDS"; do echo "$host_key_line"; done ) &

echo "dr-syncer-agent: node $NODE_NAME, sshd on port $SSH_PORT" >&2
# sshd's log carries client-chosen text (a user name may hold a newline, so an unauthenticated client
# could write a line of its choosing, e.g. a forged host-key line). Every line sshd logs goes through sed,
# which prefixes "sshd: ", so only this script's own lines can start with "dr-syncer-agent host-key".
# sshd stays PID 1 (signals reach it); sed ends when sshd closes the pipe.
rm -f "$RUN_DIR/sshd-log"
mkfifo -m 0600 "$RUN_DIR/sshd-log"
sed -u 's/^/sshd: /' < "$RUN_DIR/sshd-log" &
exec /usr/sbin/sshd -D -e -f "$RUN_DIR/sshd_config" 2> "$RUN_DIR/sshd-log"
