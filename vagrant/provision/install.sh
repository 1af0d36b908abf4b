#!/bin/bash
# Every VM: install Supernetes exactly as the README does (`make install` in the
# repository: the apt packages and the .venv), put its commands on PATH, turn on
# what a node's network needs, and build the image every node runs out of the box.
#
#   install.sh [REPO]          (default /vagrant, the synced repository)
set -euo pipefail

REPO=${1:-/vagrant}
AGENT_IMAGES=/var/lib/supernetes/superlet/images
BUSYBOX=localhost/busybox:latest

log() { echo "supernetes-install: $*"; }

# make itself first: a bare Debian box has no build tools at all.
if ! command -v make >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends make
fi

log "make install in $REPO"
make -C "$REPO" install

for cmd in supernetes superlet superctl superc; do
    ln -sfn "$REPO/.venv/bin/$cmd" "/usr/local/bin/$cmd"
done

# Pod traffic is routed between nodes (host-gw) and services are NATed on every node.
cat >/etc/sysctl.d/90-supernetes.conf <<'SYSCTL'
net.ipv4.ip_forward = 1
SYSCTL
sysctl -q --system

# Debian 12 mounts only cgroup2 at /sys/fs/cgroup: the agent's v2 driver runs here.
log "cgroup file system: $(stat -fc %T /sys/fs/cgroup)"

# The same image `supernetes up` and the lab put on every node, built offline from
# busybox-static, so pods run without any registry.
if ! superlet image --root "$AGENT_IMAGES" inspect "$BUSYBOX" >/dev/null 2>&1; then
    log "building $BUSYBOX into $AGENT_IMAGES"
    superlet image --root "$AGENT_IMAGES" --quiet build busybox --name "$BUSYBOX"
fi
