"""Kubeconfig files: written by the API server, read by superctl, the agent and tests.

A kubeconfig here is what kubectl expects (`apiVersion: v1, kind: Config`) with
one cluster (server URL + CA certificate data), one user (a bearer token) and
one context joining them, so `kubectl --kubeconfig D/admin.kubeconfig` works
as it is. Files are written atomically (temp file + rename, mode 0600), so a
reader waiting for the file never sees half of it.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class KubeConfig:
    server: str                 # https://host:port
    ca_pem: bytes               # the cluster CA certificate (PEM)
    token: str                  # bearer token
    user: str = "admin"
    cluster: str = "supernetes"

    def to_dict(self) -> dict:
        context = f"{self.user}@{self.cluster}"
        return {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": self.cluster, "cluster": {
                "server": self.server,
                "certificate-authority-data": base64.b64encode(self.ca_pem).decode()}}],
            "users": [{"name": self.user, "user": {"token": self.token}}],
            "contexts": [{"name": context, "context": {"cluster": self.cluster,
                                                       "user": self.user}}],
            "current-context": context,
        }


def write(path: Path, config: KubeConfig) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(config.to_dict(), f, sort_keys=False)
    os.replace(tmp, path)


class KubeConfigError(Exception):
    """A kubeconfig that cannot be used: missing, unreadable, or without what we need."""


def load(path: Path) -> KubeConfig:
    """Read the current context of a kubeconfig (token users only)."""
    try:
        data = yaml.safe_load(Path(path).read_text())
        current = data["current-context"]
        context = next(c["context"] for c in data["contexts"] if c["name"] == current)
        cluster = next(c["cluster"] for c in data["clusters"]
                       if c["name"] == context["cluster"])
        user = next(u["user"] for u in data["users"] if u["name"] == context["user"])
        ca = base64.b64decode(cluster.get("certificate-authority-data", ""))
        if not ca and cluster.get("certificate-authority"):
            ca = Path(cluster["certificate-authority"]).read_bytes()
        return KubeConfig(cluster["server"], ca, user["token"], context["user"],
                          context["cluster"])
    except (OSError, yaml.YAMLError, KeyError, StopIteration, TypeError, ValueError) as exc:
        raise KubeConfigError(f"{path}: not a usable kubeconfig: {exc}") from exc
