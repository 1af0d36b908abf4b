"""API errors, and the Kubernetes `Status` objects they become on the wire.

Every failure a client can cause is raised as an `ApiError` somewhere below the
views and turned into a `Status` body with the matching HTTP code by one error
handler in `app.py`; nothing else writes error responses. Store errors are
translated here too, so the views never see a `StoreError`.

    ApiError(code, reason)               a Status with kind, message, details
    +-- (raised through the helpers below: not_found, already_exists, conflict,
         invalid, bad_request, unauthorized, forbidden, expired, ...)

The reasons and messages follow Kubernetes' (k8s.io/apimachinery/pkg/api/errors),
because kubectl prints them as they are: `Error from server (NotFound): pods "x"
not found`.
"""

from __future__ import annotations

from ..api.errors import aggregate
from ..store import base as store


class ApiError(Exception):
    """An error that a client caused (or may retry); it becomes a Status."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict:
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def _details(rt, name: str | None, **extra) -> dict:
    details = {}
    if name:
        details["name"] = name
    if rt is not None:
        if rt.group:
            details["group"] = rt.group
        details["kind"] = rt.plural
    details.update(extra)
    return details


def _qualified(rt) -> str:
    return f"{rt.plural}.{rt.group}" if rt.group else rt.plural


def not_found(rt, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{_qualified(rt)} "{name}" not found', _details(rt, name))


def already_exists(rt, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{_qualified(rt)} "{name}" already exists',
                    _details(rt, name))


def conflict(rt, name: str, why: str = "") -> ApiError:
    why = why or ("the object has been modified; please apply your changes to the "
                  "latest version and try again")
    return ApiError(409, "Conflict",
                    f'Operation cannot be fulfilled on {_qualified(rt)} "{name}": {why}',
                    _details(rt, name))


def invalid(rt, name: str, field_errors) -> ApiError:
    """A 422 naming every bad field, as `Pod "x" is invalid: spec.a: Required value`."""
    causes = [e.cause() for e in field_errors]
    summary = aggregate(list(field_errors))
    kind = rt.kind if rt is not None else "object"
    # Unlike the other errors, Kubernetes names the kind (not the resource) in an
    # Invalid's details, and kubectl prints it: `The Pod "x" is invalid: ...`.
    details = _details(rt, name, causes=causes)
    details["kind"] = kind
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {summary}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(user: str, verb: str, resource: str, group: str = "", name: str = "",
              namespace: str = "", why: str = "") -> ApiError:
    """403 in Kubernetes' words: `pods "x" is forbidden: User "u" cannot get resource ...`."""
    what = f'{resource} "{name}"' if name else resource
    scope = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    message = (f'{what} is forbidden: User "{user}" cannot {verb} resource "{resource}" '
               f'in API group "{group}"{scope}')
    if why:
        message += f": {why}"
    details = {"kind": resource}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    return ApiError(403, "Forbidden", message, details)


def forbidden_path(user: str, verb: str, path: str) -> ApiError:
    return ApiError(403, "Forbidden", f'forbidden: User "{user}" cannot {verb} path "{path}"')


def expired(message: str) -> ApiError:
    # Kubernetes answers a too-old resourceVersion with 410 and reason Expired
    # (StatusReasonExpired); clients key on the code.
    return ApiError(410, "Expired", message)


def method_not_allowed(method: str, what: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed",
                    f"the server does not allow this method on the requested resource: "
                    f"{method} {what}")


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted media "
                    f"types include: application/json, application/yaml (got "
                    f"{content_type or 'none'})")


def not_acceptable(accept: str) -> ApiError:
    return ApiError(406, "NotAcceptable",
                    f"only the following media types are accepted: application/json, "
                    f"application/json;as=Table;g=meta.k8s.io;v=v1 (got {accept})")


def too_large(limit: int) -> ApiError:
    return ApiError(413, "RequestEntityTooLarge",
                    f"the request body is larger than the limit of {limit} bytes")


def timeout(message: str) -> ApiError:
    return ApiError(504, "Timeout", message)


def unavailable(message: str) -> ApiError:
    return ApiError(503, "ServiceUnavailable", message, headers={"Retry-After": "1"})


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}")


def from_store(exc: store.StoreError, rt, name: str) -> ApiError:
    """Translate a store error met while handling `rt`/`name`."""
    if isinstance(exc, store.KeyExists):
        return already_exists(rt, name)
    if isinstance(exc, store.KeyNotFound):
        return not_found(rt, name)
    if isinstance(exc, store.RevisionConflict):
        return conflict(rt, name)
    if isinstance(exc, store.Compacted):
        return expired(f"too old resource version: {exc.requested} ({exc.compacted})")
    return unavailable(f"storage is unavailable: {exc}")


def success(rt, name: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": _details(rt, name)}
