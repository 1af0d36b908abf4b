"""Output as kubectl prints it: server Tables, JSON, YAML, names, JSONPath, custom columns.

Tables: the server sends `columnDefinitions` and `rows`; columns with priority > 0
show only with `-o wide`. kubectl lays rows out with Go's tabwriter (cells padded
to the widest in their column plus 3 spaces, at least 6 wide; the last cell not
padded), prefixes NAMESPACE with `-A`, the kind (`pod/web`) when several kinds are
printed, and appends LABELS / `-L` columns from each row's object metadata.

JSON and YAML match kubectl byte for byte where it matters: keys sorted (kubectl
marshals maps), four-space JSON indent with Go's HTML escaping, and YAML in
go-yaml's style (double quotes where a plain scalar would be misread, `|` blocks
for multi-line strings, sequences not indented under their key).
"""

from __future__ import annotations

import json
import re

import yaml

from . import jsonpath

NONE = "<none>"


def layout(rows: list[list[str]]) -> str:
    """Go tabwriter(minwidth=6, padding=3), each row's last cell left unpadded."""
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    widths = [0] * width
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell) + 3, 6)
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("".join(cells) + (row[-1] if row else ""))
    return "\n".join(lines) + "\n"


def cell_text(value) -> str:
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def labels_text(labels: dict | None) -> str:
    if not labels:
        return NONE
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


class TableOptions:
    def __init__(self, *, wide=False, no_headers=False, with_namespace=False, kind_prefix="",
                 show_labels=False, label_columns=(), show_kind=False):
        self.wide = wide
        self.no_headers = no_headers
        self.with_namespace = with_namespace
        self.kind_prefix = kind_prefix
        self.show_labels = show_labels
        self.label_columns = list(label_columns)


def table_rows(table: dict, opts: TableOptions, headers: bool = True) -> list[list[str]]:
    columns = table.get("columnDefinitions") or []
    shown = [i for i, c in enumerate(columns) if opts.wide or not c.get("priority")]
    out = []
    if headers and not opts.no_headers:
        head = [columns[i]["name"].upper() for i in shown]
        if opts.with_namespace:
            head.insert(0, "NAMESPACE")
        head += [key.rsplit("/", 1)[-1].upper() for key in opts.label_columns]
        if opts.show_labels:
            head.append("LABELS")
        out.append(head)
    for row in table.get("rows") or []:
        cells = row.get("cells") or []
        meta = ((row.get("object") or {}).get("metadata")) or {}
        texts = [cell_text(cells[i]) if i < len(cells) else "" for i in shown]
        if opts.kind_prefix and texts and columns and columns[shown[0]]["name"] == "Name":
            texts[0] = f"{opts.kind_prefix}/{texts[0]}"
        if opts.with_namespace:
            texts.insert(0, meta.get("namespace", ""))
        labels = meta.get("labels") or {}
        texts += [labels.get(key, "") for key in opts.label_columns]
        if opts.show_labels:
            texts.append(labels_text(labels))
        out.append(texts)
    return out


# -- JSON and YAML ---------------------------------------------------------------------


def to_json(obj) -> str:
    text = json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False)
    # Go's encoding/json escapes these, and kubectl's output carries the escapes.
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text + "\n"


class _GoStyleDumper(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:
        return True         # go-yaml never writes anchors: a shared dict is written twice


_GO_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_INT = re.compile(r"^[-+]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)$")
_STR_TAG = "tag:yaml.org,2002:str"


def _represent_str(dumper, value: str):
    # go-yaml double-quotes a string whose plain form it would read back as something
    # else (its YAML 1.1 booleans include y and n; Go's number syntax is wider than
    # PyYAML's); PyYAML would single-quote those or leave them plain.
    if value == "" or value in ("y", "Y", "n", "N") or _GO_FLOAT.match(value) or \
            _GO_INT.match(value) or \
            dumper.resolve(yaml.ScalarNode, value, (True, False)) != _STR_TAG:
        return dumper.represent_scalar(_STR_TAG, value, style='"')
    if "\n" in value and all(c.isprintable() or c == "\n" for c in value) and \
            not any(line != line.rstrip(" ") for line in value.split("\n")):
        return dumper.represent_scalar(_STR_TAG, value, style="|")
    return dumper.represent_scalar(_STR_TAG, value)


_GoStyleDumper.add_representer(str, _represent_str)


def to_yaml(obj) -> str:
    return yaml.dump(obj, Dumper=_GoStyleDumper, default_flow_style=False, sort_keys=True,
                     allow_unicode=True, width=80)


def as_list(items: list[dict]) -> dict:
    """What kubectl prints for several objects: a v1 List."""
    return {"apiVersion": "v1", "items": items, "kind": "List",
            "metadata": {"resourceVersion": ""}}


# -- the rest ----------------------------------------------------------------------------


def name_of(obj: dict, kind_name: str) -> str:
    return f"{kind_name}/{(obj.get('metadata') or {}).get('name', '')}"


def custom_columns(spec: str, objs: list[dict], no_headers: bool = False) -> str:
    columns = []
    for part in spec.split(","):
        header, sep, expr = part.partition(":")
        if not sep or not header:
            raise ValueError(f"custom-columns format: expected HEADER:JSONPATH, got {part!r}")
        columns.append((header, jsonpath.relaxed(expr)))
    rows = [] if no_headers else [[h for h, _ in columns]]
    for obj in objs:
        row = []
        for _, steps in columns:
            values = jsonpath.evaluate(steps, obj)
            row.append(",".join(jsonpath.to_text(v) for v in values) if values else NONE)
        rows.append(row)
    return layout(rows)
