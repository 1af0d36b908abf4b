#!/bin/bash
# The control-plane VM: the real kubectl, for `make e2e` and for users. Debian 12's
# own kubernetes-client is 1.20, too old for the API version the server reports,
# so it comes from the Kubernetes project's apt repository (pkgs.k8s.io).
#
#   kubectl.sh [MINOR]         (default v1.33)
set -euo pipefail

MINOR=${1:-v1.33}
KEYRING=/etc/apt/keyrings/kubernetes-apt-keyring.gpg

if command -v kubectl >/dev/null; then
    echo "supernetes-kubectl: $(kubectl version --client 2>/dev/null | head -1)"
    exit 0
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnupg curl
install -d -m 0755 /etc/apt/keyrings
curl -fsSL "https://pkgs.k8s.io/core:/stable:/$MINOR/deb/Release.key" |
    gpg --dearmor --yes -o "$KEYRING"
echo "deb [signed-by=$KEYRING] https://pkgs.k8s.io/core:/stable:/$MINOR/deb/ /" \
    >/etc/apt/sources.list.d/kubernetes.list
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends kubectl
