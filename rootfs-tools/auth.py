"""Registry credentials and the two auth schemes of the distribution API.

A registry that wants credentials answers 401 with a `WWW-Authenticate` challenge:

* `Basic realm="..."`: resend the request with `Authorization: Basic` (htpasswd).
* `Bearer realm="https://auth/token",service="registry",scope="repository:x:pull"`:
  fetch a token from the realm (GET, with basic credentials when we have some,
  anonymous otherwise) and resend with `Authorization: Bearer <token>`.

Tokens are cached per scope until they expire. Credentials come from the command
line (`--creds user:pass`) or from a Docker/Podman-style auth file
(`{"auths": {"host": {"auth": base64("user:pass")}}}`: `$REGISTRY_AUTH_FILE`,
`$XDG_RUNTIME_DIR/containers/auth.json`, `~/.docker/config.json`).
"""

import base64
import dataclasses
import json
import os
import re
import threading
import time

from .errors import AuthError

_PARAM = re.compile(r'([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


@dataclasses.dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    @classmethod
    def parse(cls, text: str) -> "Credentials":
        username, sep, password = text.partition(":")
        if not sep or not username:
            raise AuthError("credentials must be given as USER:PASSWORD")
        return cls(username, password)

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="x",service="y"` -> ("bearer", {"realm": "x", "service": "y"})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
              .replace('\\"', '"') for m in _PARAM.finditer(rest)}
    return scheme.lower(), params


def default_auth_files() -> list[str]:
    files = []
    if os.environ.get("REGISTRY_AUTH_FILE"):
        files.append(os.environ["REGISTRY_AUTH_FILE"])
    if os.environ.get("XDG_RUNTIME_DIR"):
        files.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "containers", "auth.json"))
    files.append(os.path.expanduser("~/.docker/config.json"))
    return files


def lookup(registry: str, auth_file: str | None = None) -> Credentials | None:
    """Credentials for `registry` from the first auth file that names it, if any."""
    for path in [auth_file] if auth_file else default_auth_files():
        try:
            with open(path) as f:
                auths = json.load(f).get("auths", {})
        except FileNotFoundError:
            if auth_file:
                raise AuthError(f"auth file {auth_file} does not exist") from None
            continue
        except (OSError, ValueError, AttributeError) as exc:
            raise AuthError(f"cannot read auth file {path}: {exc}") from exc
        for key in (registry, f"https://{registry}", f"http://{registry}"):
            entry = auths.get(key) or (auths.get("https://index.docker.io/v1/")
                                       if registry == "docker.io" else None)
            if entry and entry.get("auth"):
                try:
                    return Credentials.parse(base64.b64decode(entry["auth"]).decode())
                except (ValueError, UnicodeDecodeError) as exc:
                    raise AuthError(f"auth file {path}: bad 'auth' entry for {key}") from exc
    return None


class TokenCache:
    """Bearer tokens by (realm, service, scope), shared by the download threads."""

    def __init__(self):
        self._tokens: dict[tuple, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> str | None:
        with self._lock:
            token, expires = self._tokens.get(key, (None, 0.0))
            return token if token and time.monotonic() < expires else None

    def put(self, key: tuple, token: str, expires_in: int) -> None:
        with self._lock:
            # Renew a little early: a token must not expire between check and use.
            self._tokens[key] = (token, time.monotonic() + max(expires_in - 10, 1))

    def drop(self, key: tuple) -> None:
        with self._lock:
            self._tokens.pop(key, None)
