#!/bin/bash
# A worker VM: wait for the join material the control plane wrote to the shared
# folder, then join with it (join.sh).
#
#   worker.sh NODE_IP JOIN_DIR
set -euo pipefail

NODE_IP=$1 JOIN_DIR=$2
CLUSTER_DNS=${CLUSTER_DNS:-10.96.0.10}
HERE=$(cd "$(dirname "$0")" && pwd)

echo "supernetes-worker: waiting for $JOIN_DIR/server (provision the cp VM first)"
for _ in $(seq 600); do
    [ -s "$JOIN_DIR/server" ] && break
    sleep 1
done
if [ ! -s "$JOIN_DIR/server" ]; then
    echo "supernetes-worker: no $JOIN_DIR/server after 600 s: is cp provisioned?" >&2
    exit 1
fi

# A copy of its own: the agent reads the CA at every start, the share may be gone.
install -d -m 0755 /etc/supernetes
install -m 0644 "$JOIN_DIR/ca.crt" /etc/supernetes/ca.crt
"$HERE/join.sh" "$(cat "$JOIN_DIR/server")" "$JOIN_DIR/token" /etc/supernetes/ca.crt \
    "$NODE_IP" --cluster-dns "$CLUSTER_DNS"
