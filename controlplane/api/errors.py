"""Errors of the API types package, and the field errors validation returns.

Validation never raises: it returns a list of `FieldError`s, each naming the
field the way Kubernetes does (`spec.containers[0].image`), so the API server can
turn them into one 422 `Status` whose message reads exactly like Kubernetes'
(`Pod "web" is invalid: spec.containers[0].image: Required value`) and whose
`details.causes` carry one entry per error.

Everything else that can go wrong on bad input raises from this tree:

    ApiTypeError
    +-- PatchError       a patch that cannot be applied (`code` 400 or 422)
    +-- Conflict         an operation the object's state forbids (409): binding a bound pod
    +-- SelectorError    a label or field selector that does not parse
    +-- QuantityError    a resource quantity that does not parse (also a ValueError)
"""

from __future__ import annotations

import json
from dataclasses import dataclass

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
NOT_FOUND = "FieldValueNotFound"
TYPE_INVALID = "FieldValueTypeInvalid"

_TITLES = {
    REQUIRED: "Required value",
    INVALID: "Invalid value",
    NOT_SUPPORTED: "Unsupported value",
    DUPLICATE: "Duplicate value",
    FORBIDDEN: "Forbidden",
    TOO_LONG: "Too long",
    TOO_MANY: "Too many",
    NOT_FOUND: "Not found",
    TYPE_INVALID: "Invalid value",
}

# Types whose message never repeats the offending value (as in Kubernetes).
_VALUELESS = {REQUIRED, FORBIDDEN, TOO_LONG}
_OMIT = object()


class ApiTypeError(Exception):
    """Base of every error raised by `supernetes.controlplane.api`."""


class PatchError(ApiTypeError):
    """A patch document is malformed (400) or cannot be applied to the object (422)."""

    def __init__(self, message: str, code: int = 400):
        super().__init__(message)
        self.code = code


class Conflict(ApiTypeError):
    """The request is well formed but conflicts with the object's state (HTTP 409)."""


class SelectorError(ApiTypeError):
    """A label or field selector does not parse."""


class QuantityError(ApiTypeError, ValueError):
    """A resource quantity such as `100m` or `64Mi` does not parse."""


def _go_value(value: object) -> str:
    """Render a bad value as Kubernetes' `%q` / `%v` would."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[]" + "{" + ", ".join(_go_value(v) for v in value) + "}"
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        # a label map, as Go prints map[string]string (keys sorted)
        inner = ", ".join(f"{_quote(k)}:{_quote(v)}" for k, v in sorted(value.items()))
        return "map[string]string{" + inner + "}"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return repr(value)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


@dataclass
class FieldError:
    """One validation failure: what kind, which field, why, and the bad value."""

    type: str
    field: str
    detail: str = ""
    value: object = _OMIT

    def body(self) -> str:
        """The message without the field path (a `Status` cause's `message`)."""
        text = _TITLES.get(self.type, self.type)
        if self.type not in _VALUELESS and self.value is not _OMIT:
            text = f"{text}: {_go_value(self.value)}"
        if self.detail:
            text = f"{text}: {self.detail}"
        return text

    def message(self) -> str:
        """`spec.containers[0].image: Required value`, as Kubernetes prints it."""
        return f"{self.field}: {self.body()}"

    def cause(self) -> dict:
        """The entry of a 422 `Status`'s `details.causes` for this error."""
        return {"reason": self.type, "message": self.body(), "field": self.field}

    def __str__(self) -> str:
        return self.message()


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(REQUIRED, field, detail)


def invalid(field: str, value: object, detail: str = "") -> FieldError:
    return FieldError(INVALID, field, detail, value)


def not_supported(field: str, value: object, supported) -> FieldError:
    detail = ""
    if supported:
        detail = "supported values: " + ", ".join(_quote(str(s)) for s in supported)
    return FieldError(NOT_SUPPORTED, field, detail, value)


def duplicate(field: str, value: object) -> FieldError:
    return FieldError(DUPLICATE, field, "", value)


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(FORBIDDEN, field, detail)


def too_long(field: str, max_length: int) -> FieldError:
    return FieldError(TOO_LONG, field, f"may not be longer than {max_length}")


def too_many(field: str, count: int, maximum: int) -> FieldError:
    return FieldError(TOO_MANY, field, f"must have at most {maximum} items", count)


def not_found(field: str, value: object) -> FieldError:
    return FieldError(NOT_FOUND, field, "", value)


def type_invalid(field: str, value: object, detail: str) -> FieldError:
    return FieldError(TYPE_INVALID, field, detail, value)


def aggregate(errors: list[FieldError]) -> str:
    """Kubernetes' aggregate message: one error bare, several as `[a, b]`, duplicates dropped."""
    messages: list[str] = []
    for err in errors:
        text = err.message()
        if text not in messages:
            messages.append(text)
    if len(messages) == 1:
        return messages[0]
    return "[" + ", ".join(messages) + "]"
