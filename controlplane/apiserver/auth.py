"""Bearer-token authentication: who is making this request.

Four kinds of credential, all bearer tokens (`Authorization: Bearer <token>`):

    admin      D/tokens/admin      user "admin", group system:masters: everything
    viewer     D/tokens/viewer     user "viewer": get/list/watch (not secrets)
    bootstrap  D/tokens/bootstrap  may only join a node (`join.py`), as kubeadm's
                                   bootstrap tokens; format [a-z0-9]{6}.[a-z0-9]{16}
    node       issued by a join    user "system:node:<name>", group system:nodes,
                                   authorised by NodeRestriction (`authz.py`)

The static tokens are made on first start (mode 0600, in the data dir, where
`superlet run --token $(cat D/tokens/bootstrap)` finds them). Node tokens are
kept in the store, hashed, under `/registry/supernetes.io/nodetokens/<node>`,
so that several API servers sharing one etcd accept them and a restart keeps
them; a rejoin replaces the node's token. Tokens are compared by their SHA-256
digest in a dict, so a lookup costs the same whether or not it matches.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import string
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..store import base as store
from . import codec, objects

NODE_TOKEN_PREFIX = objects.ROOT + "supernetes.io/nodetokens/"
MASTERS = "system:masters"
NODES = "system:nodes"
AUTHENTICATED = "system:authenticated"
BOOTSTRAPPERS = "system:bootstrappers"


@dataclass(frozen=True)
class User:
    name: str
    role: str                         # "admin" | "viewer" | "node" | "bootstrap"
    groups: tuple[str, ...] = ()
    node: str | None = None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _bootstrap_token() -> str:
    alphabet = string.ascii_lowercase + string.digits
    pick = lambda n: "".join(secrets.choice(alphabet) for _ in range(n))  # noqa: E731
    return f"{pick(6)}.{pick(16)}"


@dataclass(frozen=True)
class StaticTokens:
    admin: str
    viewer: str
    bootstrap: str

    @classmethod
    def load_or_create(cls, data_dir: Path) -> StaticTokens:
        """Read D/tokens/{admin,viewer,bootstrap}, making the missing ones."""
        folder = Path(data_dir) / "tokens"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        makers = {"admin": lambda: secrets.token_urlsafe(32),
                  "viewer": lambda: secrets.token_urlsafe(32),
                  "bootstrap": _bootstrap_token}
        values = {}
        for name, make in makers.items():
            path = folder / name
            if path.exists():
                values[name] = path.read_text().strip()
                continue
            values[name] = make()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(values[name] + "\n")
        return cls(**values)


def node_user(node: str) -> User:
    return User(f"system:node:{node}", "node", (NODES, AUTHENTICATED), node)


class Authenticator:
    """Maps a bearer token to a User (or None)."""

    REFRESH_EVERY = 1.0               # at most one store scan per second for unknown tokens

    def __init__(self, tokens: StaticTokens, store_: store.Store):
        self.store = store_
        self.static = {
            digest(tokens.admin): User("admin", "admin", (MASTERS, AUTHENTICATED)),
            digest(tokens.viewer): User("viewer", "viewer", (AUTHENTICATED,)),
            digest(tokens.bootstrap): User("system:bootstrap", "bootstrap", (BOOTSTRAPPERS,)),
        }
        self.nodes: dict[str, User] = {}
        self._lock = threading.Lock()
        self._refreshed = 0.0

    def authenticate(self, header: str | None) -> User | None:
        if not header or not header.startswith("Bearer "):
            return None
        token_digest = digest(header[7:].strip())
        user = self.static.get(token_digest) or self.nodes.get(token_digest)
        if user is None and self._refresh():
            user = self.nodes.get(token_digest)
        return user

    def _refresh(self) -> bool:
        """Reload node tokens from the store (another API server may have issued one)."""
        with self._lock:
            if time.monotonic() - self._refreshed < self.REFRESH_EVERY:
                return False
            self._refreshed = time.monotonic()
            try:
                kvs, _ = self.store.list(NODE_TOKEN_PREFIX)
            except store.StoreError:
                return False
            fresh = {}
            for kv in kvs:
                record = codec.loads(kv.value)
                fresh[record["tokenHash"]] = node_user(record["node"])
            self.nodes = fresh
            return True

    def issue_node_token(self, node: str) -> str:
        """Make (or replace) the credential of `node`; return the token."""
        token = secrets.token_urlsafe(32)
        record = codec.dumps({"node": node, "tokenHash": digest(token),
                              "created": objects.now()})
        key = NODE_TOKEN_PREFIX + node
        try:
            self.store.create(key, record)
        except store.KeyExists:
            self.store.update(key, record)
        with self._lock:
            fresh = {h: u for h, u in self.nodes.items() if u.node != node}
            fresh[digest(token)] = node_user(node)
            self.nodes = fresh
        return token
