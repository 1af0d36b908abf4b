"""An OCI distribution (Docker registry v2) HTTP client over `requests`.

It knows the protocol and nothing about the store: ping, fetch a manifest, stream
a blob (from an offset, to resume), check for a blob, upload one (monolithic
POST + PUT, or a cross-repository mount), put a manifest. `pull.py` and `push.py`
build the image operations on top of it.

* Scheme: HTTPS. Plain HTTP only for registries the caller marked insecure (HTTPS
  tried first, as Docker does) and for loopback ones (127.0.0.0/8, localhost, ::1:
  plain HTTP tried first, since a registry on this machine rarely has a cert).
* Auth: the first 401 of a scope runs the challenge (`auth.py`); later requests of
  that scope carry the token or basic header up front.
* Retries: connection errors, timeouts, 429 and 5xx are retried with exponential
  back-off (honouring Retry-After) for requests that can be repeated.
* Errors: 401/403 -> AuthError, 404 -> NotInRegistry, anything else -> RegistryError
  carrying the registry's own error code and message.
"""

import json
import random
import threading
import time
import urllib.parse

import requests
import requests.adapters

from . import auth as authmod
from . import oci
from .errors import AuthError, NotInRegistry, RegistryError
from .reference import is_loopback

# Jitter from a generator of our own: the global one is the caller's (tests seed it).
_random = random.Random()

_RETRY_STATUS = (429, 500, 502, 503, 504)
USER_AGENT = "supernetes-superlet/0.1 (+requests)"


class RegistryClient:
    def __init__(self, registry: str, *, api_host: str | None = None,
                 credentials: authmod.Credentials | None = None, insecure: bool = False,
                 timeout: float = 30.0, retries: int = 4, backoff: float = 0.25):
        self.registry = registry
        self.host = api_host or registry
        self.credentials = credentials
        self.allow_http = insecure or is_loopback(self.host)
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self._scheme: str | None = None
        self._scheme_lock = threading.Lock()
        self._tokens = authmod.TokenCache()
        self._basic = False  # the registry asked for Basic auth
        self._bearer: dict[str, dict] = {}  # scope -> challenge params
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def close(self) -> None:
        self.session.close()

    # --- plumbing ------------------------------------------------------------------------

    @property
    def base(self) -> str:
        with self._scheme_lock:
            if self._scheme is None:
                self._scheme = self._pick_scheme()
            return f"{self._scheme}://{self.host}"

    def _pick_scheme(self) -> str:
        """Ping /v2/ (the API's version check) to learn whether the registry talks TLS."""
        if is_loopback(self.host):
            schemes = ("http", "https")  # a registry on this machine: plain HTTP is the norm
        else:
            schemes = ("https", "http") if self.allow_http else ("https",)
        last: Exception | None = None
        for scheme in schemes:
            try:
                with self.session.get(f"{scheme}://{self.host}/v2/", timeout=self.timeout) as r:
                    # 200 or 401 is a registry; a TLS server answering plain HTTP says 400.
                    if r.status_code in (200, 401):
                        return scheme
                    last = RegistryError(f"GET /v2/ answered HTTP {r.status_code}")
            except requests.exceptions.ConnectionError as exc:  # SSLError included
                last = exc
        raise RegistryError(f"cannot reach registry {self.host}: {_reason(last)}") from last

    def request(self, method: str, path: str, scope: str, *, headers: dict | None = None,
                body=None, stream: bool = False, repeatable: bool = True,
                url: str | None = None) -> requests.Response:
        """One API call with auth and retries. `body` may be a callable returning a fresh body."""
        url = url or f"{self.base}{path}"
        authed_retry = False
        attempt = 0
        while True:
            all_headers = dict(headers or {})
            authorization = self._authorization(scope)
            if authorization:
                all_headers["Authorization"] = authorization
            data = body() if callable(body) else body
            try:
                response = self.session.request(method, url, headers=all_headers, data=data,
                                                stream=stream, timeout=self.timeout)
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                if not repeatable or attempt >= self.retries:
                    raise RegistryError(f"{method} {url}: {_reason(exc)}") from exc
                attempt += 1
                time.sleep(self._delay(attempt))
                continue
            finally:
                if hasattr(data, "close"):
                    data.close()
            if response.status_code == 401 and not authed_retry:
                authed_retry = True
                response.close()  # before the challenge can raise: never leak the connection
                self._challenge(response, scope)
                continue
            if response.status_code in _RETRY_STATUS and repeatable and attempt < self.retries:
                attempt += 1
                delay = _retry_after(response) or self._delay(attempt)
                response.close()
                time.sleep(delay)
                continue
            return response

    def _delay(self, attempt: int) -> float:
        return self.backoff * (2 ** (attempt - 1)) * (0.5 + _random.random())

    # --- auth ----------------------------------------------------------------------------

    def _authorization(self, scope: str) -> str | None:
        params = self._bearer.get(scope)
        if params is not None:
            token = self._tokens.get(_token_key(params, scope))
            return f"Bearer {token}" if token else self._fetch_token(params, scope)
        if self._basic and self.credentials:
            return self.credentials.basic_header()
        return None

    def _challenge(self, response: requests.Response, scope: str) -> None:
        header = response.headers.get("WWW-Authenticate", "")
        scheme, params = authmod.parse_challenge(header)
        if scheme == "bearer" and params.get("realm"):
            self._tokens.drop(_token_key(params, scope))
            self._bearer[scope] = params
            self._fetch_token(params, scope)
        elif scheme == "basic":
            if not self.credentials:
                raise AuthError(f"registry {self.registry} requires a login "
                                "(pass --creds USER:PASSWORD or use an auth file)")
            self._refuse_plaintext(self.base, "credentials")
            self._basic = True
        else:
            raise AuthError(f"registry {self.registry} answered 401 with no usable challenge "
                            f"({header or 'no WWW-Authenticate header'})")

    def _fetch_token(self, params: dict, scope: str) -> str:
        realm = params["realm"]
        self._refuse_plaintext(realm, "a token request")
        query = {"scope": scope.split()}  # a push that mounts needs two scopes
        if params.get("service"):
            query["service"] = params["service"]
        headers = {"Authorization": self.credentials.basic_header()} if self.credentials else {}
        try:
            response = self.session.get(realm, params=query, headers=headers, timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise AuthError(f"token server {realm}: {_reason(exc)}") from exc
        if response.status_code in (401, 403):
            raise AuthError(f"token server {realm} refused "
                            f"{'the credentials' if self.credentials else 'anonymous access'} "
                            f"for {scope} (HTTP {response.status_code})")
        if response.status_code != 200:
            raise AuthError(f"token server {realm}: HTTP {response.status_code}")
        try:
            doc = response.json()
            token = doc.get("token") or doc.get("access_token")
            expires_in = int(doc.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError) as exc:
            raise AuthError(f"token server {realm} sent no JSON token") from exc
        if not token:
            raise AuthError(f"token server {realm} sent no token")
        self._tokens.put(_token_key(params, scope), token, expires_in)
        return f"Bearer {token}"

    def _refuse_plaintext(self, url: str, what: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        plain_ok = self.allow_http and (is_loopback(parsed.netloc) or parsed.netloc == self.host)
        if parsed.scheme == "http" and not plain_ok:
            raise AuthError(f"refusing to send {what} over plain HTTP to {parsed.netloc}")

    # --- the API -------------------------------------------------------------------------

    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str, str | None]:
        """(body, content type, Docker-Content-Digest) of a manifest or index."""
        response = self.request("GET", f"/v2/{repository}/manifests/{reference}",
                                pull_scope(repository), headers={"Accept": oci.ACCEPT},
                                stream=True)
        with response:
            self.check(response, f"manifest {self.registry}/{repository}:{reference}")
            body = response.raw.read(oci.MAX_DOCUMENT + 1, decode_content=True)
            if len(body) > oci.MAX_DOCUMENT:
                raise RegistryError(f"manifest {repository}:{reference} is larger than "
                                    f"{oci.MAX_DOCUMENT} bytes")
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
            return body, content_type, response.headers.get("Docker-Content-Digest")

    def blob(self, repository: str, digest: str, offset: int = 0) -> requests.Response:
        """A streaming response for a blob, from `offset` (206) or from the start (200)."""
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        response = self.request("GET", f"/v2/{repository}/blobs/{digest}",
                                pull_scope(repository), headers=headers, stream=True)
        self.check(response, f"blob {digest} of {self.registry}/{repository}", (200, 206))
        return response

    def has_blob(self, repository: str, digest: str, scope: str | None = None) -> bool:
        response = self.request("HEAD", f"/v2/{repository}/blobs/{digest}",
                                scope or pull_scope(repository))
        with response:
            if response.status_code == 404:
                return False
            self.check(response, f"blob {digest} of {self.registry}/{repository}")
            return True

    def upload_blob(self, repository: str, digest: str, size: int, open_body,
                    mount_from: str | None = None) -> None:
        """Upload one blob: try a cross-repo mount, else POST an upload and PUT the bytes."""
        scope = push_scope(repository, mount_from)
        query = f"?mount={digest}&from={mount_from}" if mount_from else ""
        for attempt in range(self.retries + 1):
            response = self.request("POST", f"/v2/{repository}/blobs/uploads/{query}", scope)
            with response:
                if response.status_code == 201:
                    return  # mounted: the registry already had it
                self.check(response, f"starting upload of {digest} to {repository}", (202,))
                location = urllib.parse.urljoin(self.base + "/", response.headers["Location"])
            separator = "&" if "?" in location else "?"
            put = self.request("PUT", "", scope, url=f"{location}{separator}digest={digest}",
                               headers={"Content-Type": "application/octet-stream",
                                        "Content-Length": str(size)},
                               body=open_body, repeatable=False)
            with put:
                if put.status_code in _RETRY_STATUS and attempt < self.retries:
                    time.sleep(self._delay(attempt + 1))
                    continue
                self.check(put, f"uploading blob {digest} to {repository}", (201, 204))
                return

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        response = self.request("PUT", f"/v2/{repository}/manifests/{reference}",
                                push_scope(repository),
                                headers={"Content-Type": media_type}, body=body)
        with response:
            self.check(response, f"pushing manifest {repository}:{reference}", (200, 201))
            return response.headers.get("Docker-Content-Digest", "")

    def check(self, response: requests.Response, what: str, ok=(200,)) -> None:
        if response.status_code in ok:
            return
        detail = _error_detail(response)
        if response.status_code == 401:
            raise AuthError(f"{what}: authentication failed{detail}")
        if response.status_code == 403:
            raise AuthError(f"{what}: access denied{detail}")
        if response.status_code == 404:
            raise NotInRegistry(f"{what}: not found{detail}")
        raise RegistryError(f"{what}: HTTP {response.status_code}{detail}")


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


def push_scope(repository: str, mount_from: str | None = None) -> str:
    scope = f"repository:{repository}:pull,push"
    return scope + (f" repository:{mount_from}:pull" if mount_from else "")


def _token_key(params: dict, scope: str) -> tuple:
    return params.get("realm"), params.get("service"), scope


def _retry_after(response: requests.Response) -> float | None:
    try:
        return min(float(response.headers["Retry-After"]), 30.0)
    except (KeyError, ValueError):
        return None


def _error_detail(response: requests.Response) -> str:
    try:
        errors = json.loads(response.content or b"{}").get("errors") or []
        text = "; ".join(f"{e.get('code', '?')}: {e.get('message', '')}" for e in errors)
    except (ValueError, AttributeError, requests.exceptions.RequestException):
        text = ""
    return f" ({text})" if text else ""


def _reason(exc: Exception | None) -> str:
    """The innermost useful message of a requests/urllib3 exception chain."""
    while exc is not None and exc.__context__ is not None and not str(exc):
        exc = exc.__context__
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out",
                   "Temporary failure in name resolution", "certificate verify failed",
                   "No route to host", "Connection reset"):
        if marker in text:
            return marker
    return text
