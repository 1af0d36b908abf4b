"""Kubeconfig: find, merge and resolve it exactly as kubectl does.

Which files (client-go's `ClientConfigLoadingRules`, plus our own default):

    --kubeconfig FILE       that file alone; it must exist
    $KUBECONFIG a:b:c       every listed file that exists, merged
    ~/.kube/config          when it exists
    /etc/supernetes/admin.kubeconfig   Supernetes' default, written by `supernetes server`
    in-cluster              a pod's service account (KUBERNETES_SERVICE_HOST + token)

Merging: for clusters, users and contexts the first file that defines a name wins,
and so does the first file that sets `current-context`. Relative paths inside a
file (certificate-authority, client-certificate, client-key, tokenFile) are
relative to that file's folder, so they are resolved as each file is read.

`Kubeconfig.connection()` applies the command-line overrides (`--context`,
`--cluster`, `--user`, `-n`, `--server`, `--token`, ...) and returns a
`Connection`: everything the transport needs to reach one API server as one user.
Writing (`superctl config use-context`) goes to the file kubectl would pick.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from dataclasses import dataclass, field

import yaml

from .errors import ConfigError

SUPERNETES_DEFAULT = "/etc/supernetes/admin.kubeconfig"
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

_PATH_KEYS = {
    "clusters": ("cluster", ("certificate-authority",)),
    "users": ("user", ("client-certificate", "client-key", "tokenFile")),
}


@dataclass
class Connection:
    """One API server and one identity: the result of resolving a kubeconfig."""

    server: str
    namespace: str = "default"
    token: str | None = None
    username: str | None = None
    password: str | None = None
    ca_data: bytes | None = None
    client_cert_data: bytes | None = None
    client_key_data: bytes | None = None
    insecure: bool = False
    tls_server_name: str | None = None
    context: str = ""
    cluster: str = ""
    user: str = ""
    namespace_explicit: bool = False


@dataclass
class Overrides:
    """What command-line flags replace (kubectl's `ConfigOverrides`)."""

    context: str | None = None
    cluster: str | None = None
    user: str | None = None
    namespace: str | None = None
    server: str | None = None
    token: str | None = None
    insecure: bool | None = None
    certificate_authority: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    tls_server_name: str | None = None


@dataclass
class KubeconfigFile:
    path: str
    data: dict = field(default_factory=dict)


def default_paths(environ=None) -> list[str]:
    """The files kubectl would read, in precedence order (existing or not)."""
    environ = os.environ if environ is None else environ
    listed = environ.get("KUBECONFIG", "")
    if listed:
        paths = []
        for path in listed.split(os.pathsep):
            if path and path not in paths:
                paths.append(os.path.expanduser(path))
        return paths
    home = os.path.expanduser("~/.kube/config")
    return [home, SUPERNETES_DEFAULT]


def read_file(path: str) -> KubeconfigFile:
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read kubeconfig {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"kubeconfig {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"kubeconfig {path} is not a Config object")
    base = os.path.dirname(os.path.abspath(path))
    for section, (inner, keys) in _PATH_KEYS.items():
        for entry in data.get(section) or []:
            body = (entry or {}).get(inner) or {}
            for key in keys:
                value = body.get(key)
                if value and not os.path.isabs(value):
                    body[key] = os.path.join(base, os.path.expanduser(value))
    return KubeconfigFile(path, data)


def write_file(kc_file: KubeconfigFile) -> None:
    """Write one kubeconfig file back, privately (it holds credentials)."""
    data = dict(kc_file.data)
    data.setdefault("apiVersion", "v1")
    data.setdefault("kind", "Config")
    folder = os.path.dirname(os.path.abspath(kc_file.path))
    os.makedirs(folder, exist_ok=True)
    tmp = f"{kc_file.path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        yaml.safe_dump(data, f, default_flow_style=False, sort_keys=False)
    os.replace(tmp, kc_file.path)


class Kubeconfig:
    """The merged view of the kubeconfig files kubectl would read."""

    def __init__(self, files: list[KubeconfigFile], candidates: list[str] | None = None):
        self.files = files
        self.candidates = candidates or [f.path for f in files]
        self.clusters: dict[str, dict] = {}
        self.users: dict[str, dict] = {}
        self.contexts: dict[str, dict] = {}
        self.current_context = ""
        for kc_file in files:
            for section, target, inner in (("clusters", self.clusters, "cluster"),
                                           ("users", self.users, "user"),
                                           ("contexts", self.contexts, "context")):
                for entry in kc_file.data.get(section) or []:
                    name = (entry or {}).get("name")
                    if name and name not in target:
                        target[name] = entry.get(inner) or {}
            if not self.current_context:
                self.current_context = kc_file.data.get("current-context") or ""

    @classmethod
    def load(cls, explicit: str | None = None, environ=None) -> Kubeconfig:
        if explicit:
            if not os.path.exists(explicit):
                raise ConfigError(f"kubeconfig {explicit}: no such file")
            return cls([read_file(explicit)])
        candidates = default_paths(environ)
        if not (os.environ if environ is None else environ).get("KUBECONFIG"):
            # ~/.kube/config and our default are alternatives, not a merge.
            existing = [p for p in candidates if os.path.exists(p)][:1]
        else:
            existing = [p for p in candidates if os.path.exists(p)]
        return cls([read_file(p) for p in existing], candidates)

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]

    # -- resolving ---------------------------------------------------------------

    def connection(self, overrides: Overrides | None = None) -> Connection:
        o = overrides or Overrides()
        if not self.files and not o.server:
            incluster = in_cluster_connection(o)
            if incluster:
                return incluster
            raise ConfigError("no configuration found: pass --kubeconfig, set $KUBECONFIG, or "
                              f"create ~/.kube/config or {SUPERNETES_DEFAULT}")
        context_name = o.context or self.current_context
        if context_name and context_name not in self.contexts:
            raise ConfigError(f'context "{context_name}" does not exist in '
                              f"{', '.join(self.paths)}")
        if not context_name and not o.server:
            raise ConfigError(f"current-context is not set in {', '.join(self.paths)}; "
                              "pass --context or run `superctl config use-context NAME`")
        context = self.contexts.get(context_name, {})
        cluster_name = o.cluster or context.get("cluster") or ""
        user_name = o.user or context.get("user") or ""
        if cluster_name and cluster_name not in self.clusters and not o.server:
            raise ConfigError(f'cluster "{cluster_name}" does not exist')
        if o.user and o.user not in self.users:
            raise ConfigError(f'user "{o.user}" does not exist')
        cluster = self.clusters.get(cluster_name, {})
        user = self.users.get(user_name, {})
        server = o.server or cluster.get("server")
        if not server:
            raise ConfigError(f'no server found for cluster "{cluster_name}"')
        conn = Connection(server=server.rstrip("/"),
                          namespace=o.namespace or context.get("namespace") or "default",
                          namespace_explicit=bool(o.namespace),
                          context=context_name, cluster=cluster_name, user=user_name)
        conn.insecure = bool(cluster.get("insecure-skip-tls-verify"))
        conn.tls_server_name = cluster.get("tls-server-name")
        conn.ca_data = _data_or_file(cluster, "certificate-authority")
        _apply_user(conn, user)
        _apply_overrides(conn, o)
        return conn

    # -- writing ---------------------------------------------------------------

    def destination(self, section: str | None = None, name: str | None = None) -> KubeconfigFile:
        """The file a change goes to: the one defining `name`, else kubectl's default file."""
        if section and name:
            for kc_file in self.files:
                for entry in kc_file.data.get(section) or []:
                    if (entry or {}).get("name") == name:
                        return kc_file
        if self.files:
            if section is None:
                for kc_file in self.files:
                    if kc_file.data.get("current-context"):
                        return kc_file
            return self.files[0]
        path = self.candidates[0] if self.candidates else os.path.expanduser("~/.kube/config")
        kc_file = KubeconfigFile(path, {"apiVersion": "v1", "kind": "Config"})
        self.files.append(kc_file)
        return kc_file


def _data_or_file(body: dict, key: str) -> bytes | None:
    data = body.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode(data)
        except ValueError as exc:
            raise ConfigError(f"{key}-data is not valid base64") from exc
    path = body.get(key)
    if path:
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as exc:
            raise ConfigError(f"cannot read {key} {path}: {exc.strerror}") from exc
    return None


def _apply_user(conn: Connection, user: dict) -> None:
    conn.client_cert_data = _data_or_file(user, "client-certificate")
    conn.client_key_data = _data_or_file(user, "client-key")
    conn.token = user.get("token")
    if not conn.token and user.get("tokenFile"):
        conn.token = _read_text(user["tokenFile"], "tokenFile")
    conn.username = user.get("username")
    conn.password = user.get("password")
    if user.get("exec"):
        _run_exec_plugin(conn, user["exec"])


def _apply_overrides(conn: Connection, o: Overrides) -> None:
    if o.token is not None:
        conn.token = o.token
    if o.insecure is not None:
        conn.insecure = o.insecure
    if o.certificate_authority:
        conn.ca_data = _data_or_file({"certificate-authority": o.certificate_authority},
                                     "certificate-authority")
    if o.client_certificate:
        conn.client_cert_data = _data_or_file({"c": o.client_certificate}, "c")
    if o.client_key:
        conn.client_key_data = _data_or_file({"k": o.client_key}, "k")
    if o.tls_server_name:
        conn.tls_server_name = o.tls_server_name


def _read_text(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from exc


def _run_exec_plugin(conn: Connection, spec: dict) -> None:
    """client.authentication.k8s.io exec credential plugins (what cloud CLIs install)."""
    command = [spec.get("command", "")] + list(spec.get("args") or [])
    env = dict(os.environ)
    for pair in spec.get("env") or []:
        env[pair["name"]] = pair["value"]
    env["KUBERNETES_EXEC_INFO"] = json.dumps({
        "apiVersion": spec.get("apiVersion", "client.authentication.k8s.io/v1"),
        "kind": "ExecCredential", "spec": {"interactive": False}})
    try:
        out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60,
                             check=True).stdout
        status = json.loads(out).get("status") or {}
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise ConfigError(f"exec credential plugin {command[0]!r} failed: {exc}") from exc
    conn.token = status.get("token") or conn.token
    if status.get("clientCertificateData"):
        conn.client_cert_data = status["clientCertificateData"].encode()
        conn.client_key_data = (status.get("clientKeyData") or "").encode()


def in_cluster_connection(o: Overrides) -> Connection | None:
    """A pod's own service account, when running inside the cluster."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT")
    token_path = os.path.join(SERVICE_ACCOUNT_DIR, "token")
    if not (host and port and os.path.exists(token_path)):
        return None
    if ":" in host:
        host = f"[{host}]"
    namespace = "default"
    ns_path = os.path.join(SERVICE_ACCOUNT_DIR, "namespace")
    if os.path.exists(ns_path):
        namespace = _read_text(ns_path, "namespace")
    conn = Connection(server=f"https://{host}:{port}", namespace=o.namespace or namespace,
                      namespace_explicit=bool(o.namespace),
                      token=_read_text(token_path, "token"))
    conn.ca_data = _data_or_file({"ca": os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt")}, "ca")
    _apply_overrides(conn, o)
    return conn


def load_connection(kubeconfig: str | None = None, overrides: Overrides | None = None,
                    environ=None) -> Connection:
    """The usual entry: resolve the kubeconfig kubectl would use into a Connection."""
    return Kubeconfig.load(kubeconfig, environ).connection(overrides)
