"""What every verb works with: the parsed flags, the client, the streams, the namespace.

The client is made on first use, so `superctl config ...` and `completion` work
with no server and no kubeconfig at all. Verbs raise `CtlError` (or let a client
error through); `cli.main` turns either into kubectl's one-line message.
"""

from __future__ import annotations

import sys
from functools import cached_property

from supernetes.controlplane.api import registry
from supernetes.controlplane.client import Client, Kubeconfig, Overrides, Transport
from supernetes.controlplane.client.kubeconfig import load_connection
from supernetes.controlplane.client.restmapper import ResourceInfo


class CtlError(Exception):
    """A user-facing failure: printed as `error: <message>`, exit status 1."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


class Ctx:
    def __init__(self, args, stdin=None, stdout=None, stderr=None):
        self.args = args
        self.stdin = stdin or sys.stdin
        self.out = stdout or sys.stdout
        self.err = stderr or sys.stderr

    # -- configuration ---------------------------------------------------------------

    def overrides(self) -> Overrides:
        a = self.args
        return Overrides(context=a.context, cluster=a.cluster, user=a.user,
                         namespace=a.namespace, server=a.server, token=a.token,
                         insecure=True if a.insecure_skip_tls_verify else None,
                         certificate_authority=a.certificate_authority,
                         client_certificate=a.client_certificate, client_key=a.client_key,
                         tls_server_name=a.tls_server_name)

    def kubeconfig(self) -> Kubeconfig:
        return Kubeconfig.load(self.args.kubeconfig)

    @cached_property
    def connection(self):
        return load_connection(self.args.kubeconfig, self.overrides())

    @cached_property
    def client(self) -> Client:
        timeout = _parse_timeout(self.args.request_timeout)
        options = {"timeout": timeout} if timeout else {}
        return Client(Transport(self.connection, **options), namespace=self.connection.namespace)

    @property
    def namespace(self) -> str:
        return self.args.namespace or self.connection.namespace

    @property
    def namespace_explicit(self) -> bool:
        return bool(self.args.namespace)

    # -- helpers verbs share ---------------------------------------------------------

    def resolve(self, name: str) -> ResourceInfo:
        return self.client.mapper.for_name(name)

    def resolve_kind(self, obj: dict) -> ResourceInfo:
        """The resource of an object; built-in kinds need no server (`--dry-run=client`)."""
        rt = registry.by_kind(obj["apiVersion"], obj["kind"])
        if rt is not None and rt.served:
            return ResourceInfo.from_registry(rt)
        return self.client.mapper.for_kind(obj["apiVersion"], obj["kind"])

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def warn(self, text: str) -> None:
        self.err.write(text + "\n")
        self.err.flush()


def _parse_timeout(text: str | None) -> float | None:
    """kubectl's --request-timeout: `0` (none), `30`, `30s`, `1m`, `1h`."""
    if not text or text == "0":
        return None
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError as exc:
        raise CtlError(f"invalid --request-timeout {text!r}: use a number with a "
                       "unit (1s, 2m, 3h)") from exc


def parse_duration(text: str, flag: str) -> float:
    """Go-style durations for flags: `30s`, `5m`, `1h30m`, `500ms`, bare seconds."""
    import re

    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise CtlError(f'invalid argument "{text}" for "{flag}" flag: time: invalid duration '
                       f'"{text}"')
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, u in parts)
