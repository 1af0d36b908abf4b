"""Joining the cluster: a bootstrap token in, a node credential out, kept on disk.

The first start of an agent trades the bootstrap token for a node credential at
the API server's join endpoint (`POST /supernetes/v1/join`, see the API
server's join.py), exactly as `kubeadm join` trades a bootstrap token for a
kubelet client certificate. The answer (a token bound to `system:node:<name>`,
which NodeRestriction confines to its own Node, Lease and pods, and the cluster
CA) is written as a kubeconfig under the root dir; later starts use it and need
no bootstrap token. Without `--ca-file` the join request itself cannot verify
the server (there is no CA yet, the trust-on-first-use of kubeadm's unpinned
discovery); every request after it verifies the server against the CA it got.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from supernetes.controlplane import kubeconfig
from supernetes.controlplane.client import Client, ClientError, Connection, Transport

JOIN_PATH = "/supernetes/v1/join"


class JoinError(Exception):
    """The node could not join: no credential on disk and the join was refused."""


def credentials(server: str, token: str, node_name: str, path: str,
                ca_file: str | None = None) -> str:
    """The node's kubeconfig path, joining first if there is none yet."""
    if os.path.exists(path):
        return path
    if not server or not token:
        raise JoinError(f"no node credential at {path}: give --server and --token "
                        "(the bootstrap token) to join")
    ca = Path(ca_file).read_bytes() if ca_file else None
    connection = Connection(server=server, token=token, ca_data=ca, insecure=ca is None)
    client = Client(Transport(connection))
    try:
        answer = client.request("POST", JOIN_PATH, body={"nodeName": node_name}).json()
    except ClientError as exc:
        raise JoinError(f"joining {server} as {node_name}: {exc}") from exc
    finally:
        client.close()
    ca_pem = base64.b64decode(answer.get("caData") or "") or ca or b""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    kubeconfig.write(Path(path), kubeconfig.KubeConfig(
        server=server, ca_pem=ca_pem, token=answer["token"],
        user=answer.get("user") or f"system:node:{node_name}"))
    return path


def client_for(path: str) -> Client:
    return Client.from_kubeconfig(path)
