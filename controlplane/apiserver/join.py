"""Joining a node: trade the bootstrap token for a node credential.

The node agent's first call, before it has any identity of its own:

    POST /supernetes/v1/join
    Authorization: Bearer <bootstrap token>          (D/tokens/bootstrap on the server)
    {"nodeName": "node-1"}

    201 {"kind": "NodeCredential", "apiVersion": "supernetes.io/v1",
         "nodeName": "node-1", "user": "system:node:node-1",
         "token": "<node token>", "caData": "<base64 PEM of the cluster CA>"}

The agent then uses `token` as its bearer token and `caData` to verify the
server (a TLS client that has not yet got the CA joins with verification off,
or with the CA copied out of band, as `kubeadm join --discovery-token-ca-cert-hash`
pins it). The token is bound to `system:node:<name>` and authorised by
NodeRestriction (`authz.py`): it may write its own Node, its Lease and the status
of its pods only. Joining again with the same name replaces the old token.
Only the bootstrap token and the admin may join; node names follow the DNS
subdomain rule, as Node names do.
"""

from __future__ import annotations

import base64
import re

from flask import Blueprint, Response, current_app, g, request

from . import codec, errors

PATH = "/supernetes/v1/join"
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

blueprint = Blueprint("join", __name__)


@blueprint.post(PATH)
def join():
    server = current_app.extensions["supernetes"]
    user = g.user
    if user.role not in ("bootstrap", "admin"):
        raise errors.forbidden_path(user.name, "create", PATH)
    body = codec.decode(codec.read_body(request.stream, request.content_length),
                        request.headers.get("Content-Type"))
    node = body.get("nodeName") if isinstance(body, dict) else None
    if not isinstance(node, str) or len(node) > 253 or not _DNS_SUBDOMAIN.match(node):
        raise errors.ApiError(422, "Invalid", f'nodeName "{node}" is invalid: must be a DNS '
                              f"subdomain (lower case letters, digits, '-' and '.')")
    token = server.authenticator.issue_node_token(node)
    ca_pem = (server.config.pki_dir / "ca.crt").read_bytes() \
        if (server.config.pki_dir / "ca.crt").exists() else b""
    body = {"kind": "NodeCredential", "apiVersion": "supernetes.io/v1", "nodeName": node,
            "user": f"system:node:{node}", "token": token,
            "caData": base64.b64encode(ca_pem).decode()}
    return Response(codec.dumps(body), 201, content_type="application/json")
