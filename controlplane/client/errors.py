"""What the client raises: one tree, so callers catch exactly what they can handle.

    ClientError                  anything the client raises
    +-- ConfigError              no kubeconfig, a malformed one, an unknown context
    +-- ConnectionFailed         the server could not be reached (names the URL)
    +-- UnknownResource          an apiVersion/kind or resource name nobody serves
    +-- StreamError              a websocket stream (exec) broke or was refused
    +-- ApiError                 the server answered with a Kubernetes Status
        +-- BadRequest (400)     Unauthorized (401)     Forbidden (403)
        +-- NotFound (404)       MethodNotAllowed (405)
        +-- AlreadyExists (409)  Conflict (409)
        +-- Gone (410)           Invalid (422)          TooManyRequests (429)

`ApiError` carries the server's Status as is (`.status`) and its `code`,
`reason` and `message`; the subclass is chosen by the Status' reason first (two
409s mean different things), then by its code. A response that is not a Status
(a proxy's HTML error page) becomes one with the wording client-go uses, so a
caller never has to parse bodies.
"""

from __future__ import annotations

import json


class ClientError(Exception):
    """Base of every error the client raises."""


class ConfigError(ClientError):
    """The kubeconfig could not be found, read or resolved."""


class ConnectionFailed(ClientError):
    """The server at `url` could not be reached; `refused` when nothing listens there."""

    def __init__(self, url: str, detail: str, *, refused: bool = False, timeout: bool = False):
        super().__init__(f"cannot reach the server {url}: {detail}")
        self.url = url
        self.detail = detail
        self.refused = refused
        self.timeout = timeout


class UnknownResource(ClientError):
    """An apiVersion/kind, or a resource name, that the server does not serve."""


class StreamError(ClientError):
    """A websocket stream (exec, attach) could not be opened or broke."""


class ApiError(ClientError):
    """The server refused or failed a request and said why in a `Status` object."""

    def __init__(self, status: dict):
        self.status = status
        self.code = int(status.get("code") or 0)
        self.reason = status.get("reason") or ""
        self.message = status.get("message") or self.reason or f"HTTP {self.code}"
        super().__init__(self.message)

    @property
    def details(self) -> dict:
        return self.status.get("details") or {}

    @property
    def retry_after(self) -> float | None:
        seconds = self.details.get("retryAfterSeconds")
        return float(seconds) if seconds else None

    @staticmethod
    def from_status(status: dict) -> ApiError:
        cls = _BY_REASON.get(status.get("reason") or "")
        if cls is None:
            cls = _BY_CODE.get(int(status.get("code") or 0), ApiError)
        return cls(status)

    @staticmethod
    def from_response(code: int, body: bytes, url: str = "") -> ApiError:
        """The error for a non-2xx response: its Status, or one made up as client-go does."""
        try:
            status = json.loads(body)
        except ValueError:
            status = None
        if isinstance(status, dict) and status.get("kind") == "Status":
            status.setdefault("code", code)
            return ApiError.from_status(status)
        reason, message = _UNSTRUCTURED.get(code, ("", "unknown error"))
        if code >= 500 and code not in _UNSTRUCTURED:
            reason, message = "InternalError", "an error on the server ({body}) has prevented " \
                                               "the request from succeeding"
        text = body.decode("utf-8", "replace").strip()[:200]
        message = message.format(body=json.dumps(text) if text else '"unknown"')
        if code == 403 and text:
            message = text
        return ApiError.from_status({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                     "code": code, "reason": reason, "message": message,
                                     "details": {"causes": [{"reason": "UnexpectedServerResponse",
                                                             "message": text}]}})


class BadRequest(ApiError):
    pass


class Unauthorized(ApiError):
    pass


class Forbidden(ApiError):
    pass


class NotFound(ApiError):
    pass


class MethodNotAllowed(ApiError):
    pass


class AlreadyExists(ApiError):
    pass


class Conflict(ApiError):
    pass


class Gone(ApiError):
    """410: the resourceVersion asked for is older than the history the server keeps."""


class Invalid(ApiError):
    pass


class TooManyRequests(ApiError):
    pass


_BY_REASON = {
    "BadRequest": BadRequest,
    "Unauthorized": Unauthorized,
    "Forbidden": Forbidden,
    "NotFound": NotFound,
    "MethodNotAllowed": MethodNotAllowed,
    "AlreadyExists": AlreadyExists,
    "Conflict": Conflict,
    "Gone": Gone,
    "Expired": Gone,
    "Invalid": Invalid,
    "TooManyRequests": TooManyRequests,
}

_BY_CODE = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound,
            405: MethodNotAllowed, 409: Conflict, 410: Gone, 422: Invalid, 429: TooManyRequests}

# client-go's wording (k8s.io/apimachinery/pkg/api/errors.NewGenericServerResponse).
_UNSTRUCTURED = {
    400: ("BadRequest", "the server rejected our request for an unknown reason"),
    401: ("Unauthorized", "the server has asked for the client to provide credentials"),
    403: ("Forbidden", "forbidden"),
    404: ("NotFound", "the server could not find the requested resource"),
    405: ("MethodNotAllowed", "the server does not allow this method on the requested resource"),
    409: ("Conflict", "the server reported a conflict"),
    410: ("Gone", "the server no longer has the requested resource"),
    422: ("Invalid", "the server rejected our request due to an error in our request"),
    429: ("TooManyRequests",
          "the server has received too many requests and has asked us to try again later"),
    500: ("InternalError", "an error on the server ({body}) has prevented the request "
                           "from succeeding"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: ("Timeout", "the server was unable to return a response in the time allotted, "
                     "but may still be processing the request"),
}
