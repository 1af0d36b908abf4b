"""Validation building blocks shared by every type, with Kubernetes' exact messages.

The string checks (`dns1123_label`, `label_key`, ...) return a list of reasons,
as apimachinery's `validation.IsDNS1123Label` does; the field checks return
`FieldError`s naming the field. `object_meta` and `object_meta_update` validate
`metadata` for every type; the per-type modules under `types/` add their rules.
"""

from __future__ import annotations

import json
import re

from . import errors
from .errors import FieldError
from .quantity import parse_quantity

_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = _LABEL + r"(\." + _LABEL + ")*"
_DNS1035 = "[a-z]([-a-z0-9]*[a-z0-9])?"
_KEY_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = "(" + _KEY_NAME + ")?"
_ENV_NAME = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_CONFIG_KEY = "[-._a-zA-Z0-9]+"

_LABEL_RE = re.compile(f"^{_LABEL}$")
_SUBDOMAIN_RE = re.compile(f"^{_SUBDOMAIN}$")
_DNS1035_RE = re.compile(f"^{_DNS1035}$")
_KEY_NAME_RE = re.compile(f"^{_KEY_NAME}$")
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE}$")
_ENV_NAME_RE = re.compile(f"^{_ENV_NAME}$")
_CONFIG_KEY_RE = re.compile(f"^{_CONFIG_KEY}$")

TOTAL_ANNOTATION_SIZE = 256 * 1024
IMMUTABLE = "field is immutable"


def regex_error(message: str, pattern: str, *examples: str) -> str:
    if not examples:
        return f"{message} (regex used for validation is '{pattern}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{pattern}')"


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def range_error(low: int, high: int) -> str:
    return f"must be between {low} and {high}, inclusive"


def dns1123_label(value: str) -> list[str]:
    found = []
    if len(value) > 63:
        found.append(max_len_error(63))
    if not _LABEL_RE.match(value):
        if _SUBDOMAIN_RE.match(value):
            found.append("must not contain dots")
        else:
            found.append(regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                "characters or '-', and must start and end with an alphanumeric character",
                _LABEL, "my-name", "123-abc"))
    return found


def dns1123_subdomain(value: str) -> list[str]:
    found = []
    if len(value) > 253:
        found.append(max_len_error(253))
    if not _SUBDOMAIN_RE.match(value):
        found.append(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character",
            _SUBDOMAIN, "example.com"))
    return found


def dns1035_label(value: str) -> list[str]:
    found = []
    if len(value) > 63:
        found.append(max_len_error(63))
    if not _DNS1035_RE.match(value):
        found.append(regex_error(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
            "start with an alphabetic character, and end with an alphanumeric character",
            _DNS1035, "my-name", "abc-123"))
    return found


_KEY_MESSAGE = ("must consist of alphanumeric characters, '-', '_' or '.', "
                "and must start and end with an alphanumeric character")


def label_key(value: str) -> list[str]:
    """A qualified name: `[prefix/]name` (label keys, annotation keys, finalizers)."""
    found = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            found.append("prefix part must be non-empty")
        else:
            found.extend("prefix part " + m for m in dns1123_subdomain(prefix))
    else:
        return ["a qualified name " + regex_error(_KEY_MESSAGE, _KEY_NAME, "MyName", "my.name",
                                                  "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        found.append("name part must be non-empty")
    elif len(name) > 63:
        found.append("name part " + max_len_error(63))
    if not _KEY_NAME_RE.match(name):
        found.append("name part " + regex_error(_KEY_MESSAGE, _KEY_NAME, "MyName", "my.name",
                                                "123-abc"))
    return found


def label_value(value: str) -> list[str]:
    found = []
    if len(value) > 63:
        found.append(max_len_error(63))
    if not _LABEL_VALUE_RE.match(value):
        found.append(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, "
            "'-', '_' or '.', and must start and end with an alphanumeric character",
            _LABEL_VALUE, "MyValue", "my_value", "12345"))
    return found


def port_name(value: str) -> list[str]:
    """An IANA_SVC_NAME: at most 15 of [-a-z0-9], at least one letter."""
    found = []
    if len(value) > 15:
        found.append(max_len_error(15))
    if not re.match(r"^[-a-z0-9]+$", value):
        found.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        found.append("must contain at least one letter (a-z)")
    if "--" in value:
        found.append("must not contain consecutive hyphens")
    if value and (value[0] == "-" or value[-1] == "-"):
        found.append("must not begin or end with a hyphen")
    return found


def env_var_name(value: str) -> list[str]:
    found = []
    if not _ENV_NAME_RE.match(value):
        found.append(regex_error(
            "a valid environment variable name must consist of alphabetic characters, "
            "digits, '_', '-', or '.', and must not start with a digit",
            _ENV_NAME, "my.env-name", "MY_ENV.NAME", "MyEnvName1"))
    return found


def config_map_key(value: str) -> list[str]:
    found = []
    if len(value) > 253:
        found.append(max_len_error(253))
    if not _CONFIG_KEY_RE.match(value):
        found.append(regex_error("a valid config key must consist of alphanumeric characters, "
                                 "'-', '_' or '.'", _CONFIG_KEY, "key.name", "KEY_NAME",
                                 "key-name"))
    if value in (".", ".."):
        found.append(f"must not be '{value}'")
    elif value.startswith(".."):
        found.append("must not start with '..'")
    return found


def each(path: str, value: str, check) -> list[FieldError]:
    """One `Invalid value` error per reason `check(value)` gives."""
    return [errors.invalid(path, value, reason) for reason in check(value)]


def name(path: str, value, check=dns1123_subdomain) -> list[FieldError]:
    if not value:
        return [errors.required(path)]
    return each(path, value, check)


def port_number(path: str, value) -> list[FieldError]:
    if value is None:
        return [errors.required(path)]
    if not 1 <= value <= 65535:
        return [errors.invalid(path, value, range_error(1, 65535))]
    return []


def non_negative(path: str, value) -> list[FieldError]:
    if value is not None and value < 0:
        return [errors.invalid(path, value, "must be greater than or equal to 0")]
    return []


def positive(path: str, value) -> list[FieldError]:
    if value is not None and value <= 0:
        return [errors.invalid(path, value, "must be greater than 0")]
    return []


def one_of(path: str, value, supported) -> list[FieldError]:
    if value not in supported:
        return [errors.not_supported(path, value, supported)]
    return []


def immutable(path: str, new, old) -> list[FieldError]:
    if new != old:
        return [errors.invalid(path, new, IMMUTABLE)]
    return []


def quantity(path: str, value, allow_negative: bool = False) -> list[FieldError]:
    try:
        amount = parse_quantity(value)
    except errors.QuantityError:
        return [errors.invalid(path, value, "must be a valid quantity")]
    if amount < 0 and not allow_negative:
        return [errors.invalid(path, value, "must be greater than or equal to 0")]
    return []


def labels(path: str, values) -> list[FieldError]:
    found = []
    for key, value in (values or {}).items():
        found += each(path, key, label_key)
        if not isinstance(value, str):
            found.append(errors.invalid(f"{path}[{key}]", value, "must be a string"))
        else:
            found += each(path, value, label_value)
    return found


def annotations(path: str, values) -> list[FieldError]:
    found = []
    total = 0
    for key, value in (values or {}).items():
        found += each(path, key.lower(), label_key)
        total += len(key) + len(value if isinstance(value, str) else json.dumps(value))
    if total > TOTAL_ANNOTATION_SIZE:
        found.append(errors.FieldError(errors.TOO_LONG, path,
                                       f"must have at most {TOTAL_ANNOTATION_SIZE} bytes"))
    return found


def label_selector(path: str, selector) -> list[FieldError]:
    """A `matchLabels`/`matchExpressions` selector object."""
    if selector is None:
        return []
    found = labels(f"{path}.matchLabels", selector.get("matchLabels"))
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        here = f"{path}.matchExpressions[{i}]"
        op, values = expr.get("operator"), expr.get("values") or []
        found += each(f"{here}.key", expr.get("key", ""), label_key)
        if op in ("In", "NotIn"):
            if not values:
                found.append(errors.required(
                    f"{here}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                found.append(errors.forbidden(
                    f"{here}.values",
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        else:
            found.append(errors.not_supported(f"{here}.operator", op,
                                              ["In", "NotIn", "Exists", "DoesNotExist"]))
        for j, value in enumerate(values):
            found += each(f"{here}.values[{j}]", value, label_value)
    return found


def owner_references(path: str, refs) -> list[FieldError]:
    found = []
    controllers = []
    for i, ref in enumerate(refs or []):
        here = f"{path}[{i}]"
        for key in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(key):
                found.append(errors.invalid(f"{here}.{key}", ref.get(key, ""),
                                            f"{key} must not be empty"))
        if ref.get("controller"):
            controllers.append(f"{ref.get('kind')}/{ref.get('name')}")
    if len(controllers) > 1:
        found.append(errors.invalid(
            path, refs, "Only one reference can have Controller set to true. Found \"true\" "
            f"in references for {' and '.join(controllers)}"))
    return found


def object_meta(meta, namespaced: bool, check_name=dns1123_subdomain,
                path: str = "metadata") -> list[FieldError]:
    """Kubernetes' ValidateObjectMeta: name (or generateName), namespace, labels,
    annotations, owner references, finalizers."""
    meta = meta or {}
    found = []
    if meta.get("generateName"):
        # The server appends 5 random characters; what is given must be a valid prefix.
        prefix = meta["generateName"]
        for reason in check_name(prefix + "a" if not prefix[-1].isalnum() else prefix):
            found.append(errors.invalid(f"{path}.generateName", prefix, reason))
    if not meta.get("name"):
        if not meta.get("generateName"):
            found.append(errors.required(f"{path}.name", "name or generateName is required"))
    else:
        found += each(f"{path}.name", meta["name"], check_name)
    if namespaced:
        if not meta.get("namespace"):
            found.append(errors.required(f"{path}.namespace"))
        else:
            found += each(f"{path}.namespace", meta["namespace"], dns1123_label)
    elif meta.get("namespace"):
        found.append(errors.forbidden(f"{path}.namespace", "not allowed on this type"))
    found += labels(f"{path}.labels", meta.get("labels"))
    found += annotations(f"{path}.annotations", meta.get("annotations"))
    found += owner_references(f"{path}.ownerReferences", meta.get("ownerReferences"))
    for i, fin in enumerate(meta.get("finalizers") or []):
        found += each(f"{path}.finalizers[{i}]", fin, label_key)
    return found


def object_meta_update(meta, old_meta, path: str = "metadata") -> list[FieldError]:
    """The metadata fields an update may not change."""
    meta, old_meta = meta or {}, old_meta or {}
    found = []
    for key in ("name", "namespace", "uid", "creationTimestamp"):
        if key in old_meta and meta.get(key) != old_meta.get(key):
            found += immutable(f"{path}.{key}", meta.get(key), old_meta.get(key))
    return found


def meta_for(obj: dict, old: dict | None, namespaced: bool,
             check_name=dns1123_subdomain) -> list[FieldError]:
    """Metadata validation for a create or an update, in one call."""
    found = object_meta(obj.get("metadata"), namespaced, check_name)
    if old is not None:
        found += object_meta_update(obj.get("metadata"), old.get("metadata"))
    return found
