"""core/v1 ConfigMap, Secret and ServiceAccount: configuration handed to pods.

Secrets keep `data` base64-encoded, as on the wire; `stringData` is a write-only
convenience merged into `data` on write (as Kubernetes' conversion does), so it is
never stored. Objects marked `immutable: true` refuse changes to their data.
"""

from __future__ import annotations

import base64

from .. import errors, tables
from .. import validation as v
from ..registry import ResourceType, register
from ..schema import BOOL, BYTES, STRING, Field, ListOf, MapOf, Struct
from .containers import IMAGE_PULL_SECRETS
from .metav1 import OBJECT_META, OBJECT_REFERENCE

CORE = "io.k8s.api.core.v1."
MAX_SIZE = 1024 * 1024
# Keys a secret of each built-in type must carry.
SECRET_KEYS = {
    "kubernetes.io/dockercfg": [".dockercfg"],
    "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
    "kubernetes.io/basic-auth": [],
    "kubernetes.io/ssh-auth": ["ssh-privatekey"],
    "kubernetes.io/tls": ["tls.crt", "tls.key"],
}

_BASE = {
    "apiVersion": Field(STRING, "APIVersion defines the versioned schema of this object."),
    "kind": Field(STRING, "Kind is a string value representing the REST resource."),
    "metadata": Field(OBJECT_META, "Standard object's metadata."),
}

CONFIG_MAP = Struct(CORE + "ConfigMap", "ConfigMap holds configuration data for pods to "
                    "consume.", {
    **_BASE,
    "immutable": Field(BOOL, "Immutable, if set to true, ensures that data stored in the "
                       "ConfigMap cannot be updated (only object metadata can be modified)."),
    "data": Field(MapOf(STRING), "Data contains the configuration data. Each key must "
                  "consist of alphanumeric characters, '-', '_' or '.'."),
    "binaryData": Field(MapOf(BYTES), "BinaryData contains the binary data, base64 encoded."),
}, ("", "v1", "ConfigMap"))

SECRET = Struct(CORE + "Secret", "Secret holds secret data of a certain type. The total "
                "bytes of the values in the Data field must be less than MaxSecretSize "
                "bytes.", {
    **_BASE,
    "immutable": Field(BOOL, "Immutable, if set to true, ensures that data stored in the "
                       "Secret cannot be updated (only object metadata can be modified)."),
    "data": Field(MapOf(BYTES), "Data contains the secret data, base64 encoded. Each key "
                  "must consist of alphanumeric characters, '-', '_' or '.'."),
    "stringData": Field(MapOf(STRING), "stringData allows specifying non-binary secret data "
                        "in string form. It is provided as a write-only input field for "
                        "convenience; its entries are merged into data."),
    "type": Field(STRING, "Used to facilitate programmatic handling of secret data. Defaults "
                  "to Opaque.", default="Opaque"),
}, ("", "v1", "Secret"))

SERVICE_ACCOUNT = Struct(CORE + "ServiceAccount", "ServiceAccount binds together: a name, "
                         "understood by users, and perhaps by peripheral systems, for an "
                         "identity; a principal that can be authenticated and authorized; a "
                         "set of secrets", {
    **_BASE,
    "secrets": Field(ListOf(OBJECT_REFERENCE, merge_key="name", strategy="merge",
                            list_type="map", map_keys=("name",)),
                     "Secrets is a list of the secrets in the same namespace that pods "
                     "running using this ServiceAccount are allowed to use."),
    "imagePullSecrets": Field(IMAGE_PULL_SECRETS, "ImagePullSecrets is a list of references "
                              "to secrets in the same namespace to use for pulling any "
                              "images in pods that reference this ServiceAccount."),
    "automountServiceAccountToken": Field(BOOL, "AutomountServiceAccountToken indicates "
                                          "whether pods running as this service account "
                                          "should have an API token automatically mounted."),
}, ("", "v1", "ServiceAccount"))


def _keys(path: str, values) -> list:
    found = []
    for key in values or {}:
        found += v.each(f"{path}[{key}]", key, v.config_map_key)
    return found


def _immutability(obj: dict, old: dict | None, keys: tuple[str, ...]) -> list:
    if old is None or not old.get("immutable"):
        return []
    found = []
    for key in keys:
        if obj.get(key) != old.get(key):
            found.append(errors.forbidden(key, "field is immutable when `immutable` is set"))
    if not obj.get("immutable"):
        found.append(errors.forbidden("immutable", "field is immutable when `immutable` is "
                                      "set"))
    return found


def validate_config_map(cm: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(cm, old, namespaced=True)
    data, binary = cm.get("data") or {}, cm.get("binaryData") or {}
    found += _keys("data", data) + _keys("binaryData", binary)
    for key in set(data) & set(binary):
        found.append(errors.invalid("data", key, "duplicate of key present in binaryData"))
    size = sum(len(k) + len(val) for k, val in data.items()) + sum(
        len(k) + len(val) * 3 // 4 for k, val in binary.items())
    if size > MAX_SIZE:
        found.append(errors.FieldError(errors.TOO_LONG, "", f"must have at most {MAX_SIZE} "
                                       "bytes"))
    return found + _immutability(cm, old, ("data", "binaryData"))


def default_secret(secret: dict) -> None:
    strings = secret.pop("stringData", None)
    if isinstance(strings, dict) and strings:
        data = secret.get("data")
        if not isinstance(data, dict):
            data = secret["data"] = {}
        for key, value in strings.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def validate_secret(secret: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(secret, old, namespaced=True)
    data = secret.get("data") or {}
    found += _keys("data", data)
    kind = secret.get("type", "Opaque")
    for key in SECRET_KEYS.get(kind, []):
        if key not in data:
            found.append(errors.required(f"data[{key}]"))
    if kind == "kubernetes.io/service-account-token":
        annotations = (secret.get("metadata") or {}).get("annotations") or {}
        if not annotations.get("kubernetes.io/service-account.name"):
            found.append(errors.required("metadata.annotations[kubernetes.io/service-account."
                                         "name]"))
    if sum(len(k) + len(val) * 3 // 4 for k, val in data.items()) > MAX_SIZE:
        found.append(errors.FieldError(errors.TOO_LONG, "data", f"must have at most "
                                       f"{MAX_SIZE} bytes"))
    if old is not None:
        found += v.immutable("type", kind, old.get("type", "Opaque"))
    return found + _immutability(secret, old, ("data",))


def validate_service_account(sa: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(sa, old, namespaced=True)
    for key in ("secrets", "imagePullSecrets"):
        for i, ref in enumerate(sa.get(key) or []):
            if not ref.get("name"):
                found.append(errors.required(f"{key}[{i}].name"))
    return found


def _count(obj: dict, *keys: str) -> int:
    return sum(len(obj.get(k) or {}) for k in keys)


_DATA = tables.column("Data", "string", "Number of keys in the object.")

CONFIG_MAPS = register(ResourceType(
    "", "v1", "ConfigMap", "configmaps", "configmap", True, CONFIG_MAP, short_names=("cm",),
    has_status=False, validator=validate_config_map,
    tabler=lambda objs, wide=True: tables.build(
        [tables.NAME, _DATA, tables.AGE],
        lambda cm: [tables.name(cm), _count(cm, "data", "binaryData"), tables.age(cm)],
        objs, wide)))

SECRETS = register(ResourceType(
    "", "v1", "Secret", "secrets", "secret", True, SECRET, has_status=False,
    defaulter=default_secret, validator=validate_secret,
    tabler=lambda objs, wide=True: tables.build(
        [tables.NAME, tables.column("Type", "string", "The type of the secret"), _DATA,
         tables.AGE],
        lambda s: [tables.name(s), s.get("type", ""), _count(s, "data"), tables.age(s)],
        objs, wide),
    fields=lambda s, path: s.get("type", "") if path == "type" else None,
    field_paths=("type",)))

SERVICE_ACCOUNTS = register(ResourceType(
    "", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", True, SERVICE_ACCOUNT,
    short_names=("sa",), has_status=False, subresources=("token",),
    validator=validate_service_account,
    tabler=lambda objs, wide=True: tables.build(
        [tables.NAME, tables.column("Secrets", "string", "Number of secrets"), tables.AGE],
        lambda sa: [tables.name(sa), len(sa.get("secrets") or []), tables.age(sa)],
        objs, wide)))
