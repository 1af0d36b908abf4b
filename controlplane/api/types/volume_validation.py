"""Validation of a pod's volumes: names unique, exactly one source each, and each
source well formed (paths relative and without `..`, file modes within 0777,
required names present), with Kubernetes' messages.
"""

from __future__ import annotations

from .. import errors
from .. import validation as v
from ..errors import FieldError
from . import container_validation as cv
from .volumes import VOLUME_SOURCES

HOST_PATH_TYPES = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File",
                   "FileOrCreate", "Socket"]


def _mode(path: str, mode) -> list[FieldError]:
    if mode is not None and not 0 <= mode <= 0o777:
        return [errors.invalid(path, mode, "must be a number between 0 and 0777 (octal), both "
                               "inclusive")]
    return []


def _items(path: str, items) -> list[FieldError]:
    found: list[FieldError] = []
    for i, item in enumerate(items or []):
        here = f"{path}[{i}]"
        if not item.get("key"):
            found.append(errors.required(f"{here}.key"))
        if not item.get("path"):
            found.append(errors.required(f"{here}.path"))
        else:
            found += cv.relative_path(f"{here}.path", item["path"])
        found += _mode(f"{here}.mode", item.get("mode"))
    return found


def _downward_items(path: str, items) -> list[FieldError]:
    found: list[FieldError] = []
    for i, item in enumerate(items or []):
        here = f"{path}[{i}]"
        if not item.get("path"):
            found.append(errors.required(f"{here}.path"))
        else:
            found += cv.relative_path(f"{here}.path", item["path"])
        refs = [k for k in ("fieldRef", "resourceFieldRef") if item.get(k) is not None]
        if len(refs) != 1:
            found.append(errors.invalid(here, "", "fieldRef and resourceFieldRef can not be "
                                        "specified simultaneously" if refs else
                                        "one of fieldRef and resourceFieldRef is required"))
        found += _mode(f"{here}.mode", item.get("mode"))
    return found


def _volume_source(path: str, kind: str, source: dict) -> list[FieldError]:
    here = f"{path}.{kind}"
    found: list[FieldError] = []
    if kind == "hostPath":
        if not source.get("path"):
            found.append(errors.required(f"{here}.path"))
        found += v.one_of(f"{here}.type", source.get("type", ""), HOST_PATH_TYPES)
    elif kind == "emptyDir":
        if source.get("sizeLimit") is not None:
            found += v.quantity(f"{here}.sizeLimit", source["sizeLimit"])
        found += v.one_of(f"{here}.medium", source.get("medium", ""), ["", "Memory",
                                                                       "HugePages"])
    elif kind in ("configMap", "secret"):
        name_key = "name" if kind == "configMap" else "secretName"
        if kind == "secret" and not source.get(name_key):
            found.append(errors.required(f"{here}.secretName"))
        found += _items(f"{here}.items", source.get("items"))
        found += _mode(f"{here}.defaultMode", source.get("defaultMode"))
    elif kind == "downwardAPI":
        found += _downward_items(f"{here}.items", source.get("items"))
        found += _mode(f"{here}.defaultMode", source.get("defaultMode"))
    elif kind == "projected":
        found += _mode(f"{here}.defaultMode", source.get("defaultMode"))
        for i, projection in enumerate(source.get("sources") or []):
            src = f"{here}.sources[{i}]"
            kinds = [k for k, val in projection.items() if val is not None]
            if len(kinds) != 1:
                found.append(errors.forbidden(src, "may not specify more than 1 volume type"
                                              if kinds else "must specify a volume type"))
            for key in ("secret", "configMap"):
                if projection.get(key) is not None:
                    found += _items(f"{src}.{key}.items", projection[key].get("items"))
            if projection.get("downwardAPI") is not None:
                found += _downward_items(f"{src}.downwardAPI.items",
                                         projection["downwardAPI"].get("items"))
            token = projection.get("serviceAccountToken")
            if token is not None:
                if not token.get("path"):
                    found.append(errors.required(f"{src}.serviceAccountToken.path"))
                if token.get("expirationSeconds", 3600) < 600:
                    found.append(errors.invalid(f"{src}.serviceAccountToken.expirationSeconds",
                                                token.get("expirationSeconds"),
                                                "may not specify a duration less than 10 "
                                                "minutes"))
    elif kind == "persistentVolumeClaim":
        if not source.get("claimName"):
            found.append(errors.required(f"{here}.claimName"))
    elif kind == "nfs":
        for key in ("server", "path"):
            if not source.get(key):
                found.append(errors.required(f"{here}.{key}"))
    elif kind == "csi" and not source.get("driver"):
        found.append(errors.required(f"{here}.driver"))
    return found


def volumes(path: str, vols) -> tuple[list[FieldError], set[str]]:
    found: list[FieldError] = []
    names: set[str] = set()
    for i, vol in enumerate(vols or []):
        here = f"{path}[{i}]"
        name = vol.get("name", "")
        found += v.name(f"{here}.name", name, v.dns1123_label)
        if name in names:
            found.append(errors.duplicate(f"{here}.name", name))
        names.add(name)
        kinds = [k for k in VOLUME_SOURCES if vol.get(k) is not None]
        if not kinds:
            found.append(errors.required(here, "must specify a volume type"))
        elif len(kinds) > 1:
            found.append(errors.forbidden(f"{here}.{kinds[1]}",
                                          "may not specify more than 1 volume type"))
        for kind in kinds:
            found += _volume_source(here, kind, vol[kind])
    return found, names
