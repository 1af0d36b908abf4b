#!/bin/bash
# Any machine: run the node agent as the systemd unit superlet.service, joining the
# cluster with a bootstrap token. The command it runs is the one every node of
# Supernetes joins with (the lab's nodes and `supernetes up` too):
#
#   superlet run --server URL --token-file FILE --ca-file CA --node-ip IP [ARGS...]
#
#   join.sh URL TOKEN_FILE CA_FILE NODE_IP [SUPERLET ARGS...]
#
# The token is read from a file so it never shows in a provisioning log, and the
# agent reads it from its own copy ($SUPERNETES_ETC/bootstrap-token, mode 0600) so
# it never shows in `ps` either. The files go to $SUPERNETES_ETC (default /etc/supernetes) and $SYSTEMD_UNIT_DIR (default
# /etc/systemd/system); the repository's tests point both at a temporary directory.
set -euo pipefail

if [ "$#" -lt 4 ]; then
    echo "usage: join.sh URL TOKEN_FILE CA_FILE NODE_IP [SUPERLET ARGS...]" >&2
    exit 2
fi
SERVER=$1 TOKEN_FILE=$2 CA_FILE=$3 NODE_IP=$4
shift 4
HERE=$(cd "$(dirname "$0")" && pwd)
ETC=${SUPERNETES_ETC:-/etc/supernetes}
UNIT_DIR=${SYSTEMD_UNIT_DIR:-/etc/systemd/system}

install -d -m 0755 "$ETC"
umask 077
tr -d '[:space:]' <"$TOKEN_FILE" >"$ETC/bootstrap-token.tmp"
if [ ! -s "$ETC/bootstrap-token.tmp" ]; then
    rm -f "$ETC/bootstrap-token.tmp"
    echo "join.sh: $TOKEN_FILE holds no token" >&2
    exit 1
fi
mv "$ETC/bootstrap-token.tmp" "$ETC/bootstrap-token"
# EnvironmentFile= takes VAR=VALUE lines; SUPERLET_ARGS is split on spaces by the
# unit's `$SUPERLET_ARGS`, so no argument here may contain one.
{
    echo "SERVER=$SERVER"
    echo "TOKEN_FILE=$ETC/bootstrap-token"
    echo "CA_FILE=$CA_FILE"
    echo "NODE_IP=$NODE_IP"
    echo "SUPERLET_ARGS=$*"
} >"$ETC/superlet.env.tmp"
mv "$ETC/superlet.env.tmp" "$ETC/superlet.env"

install -m 0644 "$HERE/../systemd/superlet.service" "$UNIT_DIR/superlet.service"
systemctl daemon-reload
systemctl enable superlet.service
systemctl restart superlet.service
echo "supernetes-join: superlet.service started, joining $SERVER as $(hostname) ($NODE_IP)"
