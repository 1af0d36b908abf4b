"""`superctl edit`: the object in $EDITOR, the changes sent back as a merge patch.

    superctl edit deployment/web            (KUBE_EDITOR, EDITOR, else vi)
    superctl edit cm cfg -o json

The object is written to a private temporary file (YAML, or JSON with
`-o json`) under kubectl's header comment. Saving it unchanged (or empty) cancels.
The difference is sent as a JSON merge patch with the object's resourceVersion as a
precondition, so an edit based on a stale copy fails with a Conflict instead of
silently undoing someone else's change. When the server refuses the edit, the
file is reopened with the error on top, as kubectl does; quitting it unchanged
gives up. A last-applied annotation, if present, is updated to match.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile

import yaml

from supernetes.controlplane.client import ApiError

from . import printers
from .apply import LAST_APPLIED, go_json
from .context import CtlError, Ctx
from .errors import format_error
from .targets import from_args
from .threeway import diff

HEADER = ("# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
          "# and an empty file will abort the edit. If an error occurs while saving this file "
          "will be\n# reopened with the relevant failures.\n#\n")


def register(sub, parent) -> None:
    p = sub.add_parser("edit", parents=[parent], help="Edit a resource on the server",
                       description="Edit a resource from the default editor.")
    p.add_argument("resources", nargs="+", metavar="TYPE NAME | TYPE/NAME")
    p.add_argument("-o", "--output", choices=["yaml", "json"], default="yaml")
    p.set_defaults(func=run)


def editor_command() -> list[str]:
    editor = os.environ.get("KUBE_EDITOR") or os.environ.get("EDITOR") or "vi"
    return shlex.split(editor)


def run(ctx: Ctx) -> int:
    targets = from_args(ctx, ctx.args.resources, verb="edit")
    failures = 0
    for target in targets:
        if not target.names:
            raise CtlError("edit needs a name: superctl edit TYPE NAME")
        for name in target.names:
            if not _edit_one(ctx, target.info, name):
                failures += 1
    return 1 if failures else 0


def _serialise(obj: dict, fmt: str) -> str:
    return printers.to_json(obj) if fmt == "json" else printers.to_yaml(obj)


def _parse(text: str, fmt: str):
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    if not body.strip():
        return None
    return json.loads(body) if fmt == "json" else yaml.safe_load(body)


def _edit_one(ctx: Ctx, info, name: str) -> bool:
    resource = ctx.client.resource_for(info)
    original = resource.get(name, ctx.namespace)
    original.setdefault("apiVersion", info.api_version)
    original.setdefault("kind", info.kind)
    fmt = ctx.args.output
    text = HEADER + _serialise(original, fmt)
    shown, error_note = original, ""
    with tempfile.TemporaryDirectory(prefix="superctl-edit-") as tmp:
        path = os.path.join(tmp, f"{info.plural}-{name}.{'json' if fmt == 'json' else 'yaml'}")
        while True:
            with open(path, "w", encoding="utf-8") as f:
                f.write(error_note + text)
            try:
                subprocess.run([*editor_command(), path], check=True)
            except (OSError, subprocess.CalledProcessError) as exc:
                raise CtlError(f"there was a problem with the editor {editor_command()[0]!r}: "
                               f"{exc}") from exc
            with open(path, encoding="utf-8") as f:
                edited_text = f.read()
            try:
                edited = _parse(edited_text, fmt)
            except (ValueError, yaml.YAMLError) as exc:
                raise CtlError(f"the edited file is not valid {fmt}: "
                               f"{' '.join(str(exc).split())}") from exc
            if edited is None:
                ctx.print("Edit cancelled, no changes made.")
                return True
            if edited == shown:
                if error_note:
                    ctx.warn(f"error: {info.kind_name}/{name} could not be updated: edit "
                             "cancelled")
                    return False
                ctx.print("Edit cancelled, no changes made.")
                return True
            annotations = (edited.get("metadata") or {}).get("annotations") or {}
            if LAST_APPLIED in annotations:
                config = json.loads(json.dumps(edited))
                config.get("metadata", {}).get("annotations", {}).pop(LAST_APPLIED, None)
                for key in ("resourceVersion", "uid", "creationTimestamp", "generation",
                            "managedFields"):
                    config.get("metadata", {}).pop(key, None)
                config.pop("status", None)
                annotations[LAST_APPLIED] = go_json(config)
            patch = diff(original, edited)
            patch.setdefault("metadata", {})["resourceVersion"] = \
                original["metadata"].get("resourceVersion")
            try:
                resource.patch(name, patch, ctx.namespace, patch_type="merge")
            except ApiError as exc:
                message = format_error(exc)
                error_note = "".join(f"# {line}\n" for line in message.splitlines()) + "#\n"
                text = HEADER + _serialise(edited, fmt)
                shown = edited
                continue
            ctx.print(f"{info.kind_name}/{name} edited")
            return True
