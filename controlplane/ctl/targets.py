"""What a command line names: resource types and objects, from arguments or from files.

Arguments, as kubectl reads them:

    pods                    every pod (in the namespace, or all with -A)
    pods web-0 web-1        those pods
    pod/web-0 svc/web       objects of several types
    pods,svc                several types
    all                     every type in the `all` category (pods, services, deployments...)
    po, deploy, Pod, deployments.apps, deployments.v1.apps   short, singular, kind, qualified

Files (`-f`): a file, a directory of .yaml/.yml/.json files (`-R` to descend), or
`-` for stdin; YAML may hold several documents; a `kind: List` is unpacked.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import yaml

from supernetes.controlplane.client.restmapper import ResourceInfo

from .context import CtlError, Ctx

EXTENSIONS = (".yaml", ".yml", ".json")


@dataclass
class Target:
    info: ResourceInfo
    names: list[str] = field(default_factory=list)     # empty: the whole collection


def from_args(ctx: Ctx, words: list[str], verb: str = "get") -> list[Target]:
    if not words:
        raise CtlError(f"You must specify the type of resource to {verb}. Use \"superctl "
                       "api-resources\" for a complete list of supported resources.")
    if any("/" in w for w in words):
        if not all("/" in w for w in words):
            raise CtlError("there is no need to specify a resource type as a separate argument "
                           "when passing arguments in resource/name form (e.g. 'superctl get "
                           "resource/<resource_name>' instead of 'superctl get resource "
                           "resource/<resource_name>'")
        targets: dict[ResourceInfo, Target] = {}
        for word in words:
            kind, _, name = word.partition("/")
            if not name:
                raise CtlError(f"arguments in resource/name form must have a single resource "
                               f"and name: {word!r}")
            info = ctx.resolve(kind)
            targets.setdefault(info, Target(info)).names.append(name)
        return list(targets.values())
    kinds, names = words[0], words[1:]
    targets = []
    for kind in kinds.split(","):
        if not kind:
            continue
        infos = expand(ctx, kind)
        targets.extend(Target(info, list(names)) for info in infos)
    return targets


def expand(ctx: Ctx, kind: str) -> list[ResourceInfo]:
    """`all` (or another category) -> its types; anything else -> one type."""
    if kind == "all":
        infos = ctx.client.mapper.for_category("all")
        if infos:
            return _one_version_each(infos)
    return [ctx.resolve(kind)]


def _one_version_each(infos: list[ResourceInfo]) -> list[ResourceInfo]:
    seen, out = set(), []
    for info in infos:
        if (info.group, info.plural) not in seen:
            seen.add((info.group, info.plural))
            out.append(info)
    return out


# -- files -----------------------------------------------------------------------------


@dataclass
class Manifest:
    source: str
    obj: dict


def load_files(ctx: Ctx, paths: list[str], recursive: bool = False) -> list[Manifest]:
    manifests: list[Manifest] = []
    for path in paths:
        if "://" in path:
            raise CtlError(f"{path}: reading manifests from URLs is not supported; "
                           "download it and pass the file, or pipe it to -f -")
        if path == "-":
            manifests.extend(parse_documents(ctx.stdin.read(), "STDIN"))
        elif os.path.isdir(path):
            for file_path in _walk(path, recursive):
                manifests.extend(parse_documents(_read(file_path), file_path))
        elif os.path.exists(path):
            manifests.extend(parse_documents(_read(path), path))
        else:
            raise CtlError(f'the path "{path}" does not exist')
    if not manifests:
        raise CtlError("no objects passed to apply" if ctx.args.verb == "apply"
                       else "no objects passed")
    return manifests


def _walk(folder: str, recursive: bool) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(EXTENSIONS):
                found.append(os.path.join(dirpath, name))
        if not recursive:
            break
    return found


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CtlError(f"error reading {path}: {exc}") from exc


def parse_documents(text: str, source: str) -> list[Manifest]:
    try:
        if text.lstrip().startswith(("{", "[")):
            docs = [json.loads(text)]
        else:
            docs = list(yaml.safe_load_all(text))
    except (ValueError, yaml.YAMLError) as exc:
        raise CtlError(f'error parsing {source}: {_one_line(exc)}') from exc
    out = []
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise CtlError(f"error validating \"{source}\": error validating data: "
                           "the document is not an object")
        if doc.get("kind", "").endswith("List") and isinstance(doc.get("items"), list):
            out.extend(Manifest(source, item) for item in doc["items"] if item)
            continue
        missing = [f"{k} not set" for k in ("apiVersion", "kind") if not doc.get(k)]
        if missing:
            raise CtlError(f'error validating "{source}": error validating data: '
                           f"[{', '.join(missing)}]")
        out.append(Manifest(source, doc))
    return out


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
