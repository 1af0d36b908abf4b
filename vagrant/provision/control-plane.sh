#!/bin/bash
# The control-plane VM: `supernetes server` as the unit supernetes-server.service,
# the join material for the workers in the shared folder, and (k3s-style) a node
# agent of its own, tainted NoSchedule unless CP_SCHEDULABLE=true.
#
#   control-plane.sh ADVERTISE_ADDRESS JOIN_DIR
#
# JOIN_DIR (shared with the workers) gets: server (the API URL), token (the
# bootstrap token), ca.crt (the cluster CA) and admin.kubeconfig (for the host).
set -euo pipefail

ADDRESS=$1 JOIN_DIR=$2
CP_SCHEDULABLE=${CP_SCHEDULABLE:-false}
CLUSTER_DNS=${CLUSTER_DNS:-10.96.0.10}
DATA_DIR=/var/lib/supernetes
HERE=$(cd "$(dirname "$0")" && pwd)
SERVER="https://$ADDRESS:6443"

install -d -m 0755 /etc/supernetes
cat >/etc/supernetes/server.env <<ENV
DATA_DIR=$DATA_DIR
BIND_ADDRESS=0.0.0.0
ADVERTISE_ADDRESS=$ADDRESS
SERVER_ARGS=${SERVER_ARGS:-}
ENV
install -m 0644 "$HERE/../systemd/supernetes-server.service" \
    /etc/systemd/system/supernetes-server.service
systemctl daemon-reload
systemctl enable supernetes-server.service
systemctl restart supernetes-server.service

echo "supernetes-control-plane: waiting for the API server at $SERVER"
for _ in $(seq 120); do
    [ -s "$DATA_DIR/admin.kubeconfig" ] && break
    sleep 1
done
if [ ! -s "$DATA_DIR/admin.kubeconfig" ]; then
    echo "supernetes-control-plane: no $DATA_DIR/admin.kubeconfig after 120 s" \
         "(journalctl -u supernetes-server)" >&2
    exit 1
fi

# superctl and kubectl find it here, for root and for the vagrant user.
install -m 0600 "$DATA_DIR/admin.kubeconfig" /etc/supernetes/admin.kubeconfig
install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.kube
install -m 0600 -o vagrant -g vagrant "$DATA_DIR/admin.kubeconfig" /home/vagrant/.kube/config
install -d -m 0700 /root/.kube
ln -sfn /etc/supernetes/admin.kubeconfig /root/.kube/config

install -d -m 0700 "$JOIN_DIR"
echo "$SERVER" >"$JOIN_DIR/server.tmp"
install -m 0600 "$DATA_DIR/tokens/bootstrap" "$JOIN_DIR/token.tmp"
install -m 0644 "$DATA_DIR/pki/ca.crt" "$JOIN_DIR/ca.crt.tmp"
install -m 0600 "$DATA_DIR/admin.kubeconfig" "$JOIN_DIR/admin.kubeconfig.tmp"
# the server file last: a worker waiting for it finds everything else already there
for name in token ca.crt admin.kubeconfig server; do
    mv "$JOIN_DIR/$name.tmp" "$JOIN_DIR/$name"
done

TAINT=()
if [ "$CP_SCHEDULABLE" != "true" ]; then
    TAINT=(--register-with-taints node-role.kubernetes.io/control-plane:NoSchedule)
fi
"$HERE/join.sh" "$SERVER" "$DATA_DIR/tokens/bootstrap" "$DATA_DIR/pki/ca.crt" "$ADDRESS" \
    --cluster-dns "$CLUSTER_DNS" --node-label node-role.kubernetes.io/control-plane=true \
    "${TAINT[@]}"
