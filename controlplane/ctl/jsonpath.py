"""kubectl's JSONPath templates (`-o jsonpath=...`, `custom-columns`, `--sort-by`).

A template is text with actions in braces:

    {.metadata.name}                 a field
    {.items[*].metadata.name}        every item's name, joined by spaces
    {.items[0]} {.items[-1:]} {.items[0:2]}   index, slices
    {..image}                        every `image` at any depth
    {.status.conditions[?(@.type=="Ready")].status}   a filter (== != < <= > >=, or @.x alone)
    {.metadata.labels.app\\.kubernetes\\.io/name}     escaped dots; or ['app.kubernetes.io/name']
    {range .items[*]}{.metadata.name}{"\\n"}{end}    iteration
    {"literal\\t"}                   text with escapes

Missing keys print nothing (kubectl's default `--allow-missing-template-keys`).
Strings print raw, numbers and booleans as JSON, maps and lists as compact JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass


class JSONPathError(ValueError):
    pass


@dataclass
class _Text:
    text: str


@dataclass
class _Expr:
    steps: list


@dataclass
class _Range:
    steps: list
    body: list


def parse_template(template: str) -> list:
    nodes, stack = [], []
    current = nodes
    pos = 0
    while pos < len(template):
        start = template.find("{", pos)
        if start < 0:
            current.append(_Text(template[pos:]))
            break
        if start > pos:
            current.append(_Text(template[pos:start]))
        end = _closing_brace(template, start)
        action = template[start + 1:end].strip()
        pos = end + 1
        if action.startswith("range "):
            node = _Range(parse_path(action[6:].strip()), [])
            current.append(node)
            stack.append(current)
            current = node.body
        elif action == "end":
            if not stack:
                raise JSONPathError("unexpected {end}")
            current = stack.pop()
        elif action[:1] in ("'", '"'):
            current.append(_Text(_unquote(action)))
        else:
            current.append(_Expr(parse_path(action)))
    if stack:
        raise JSONPathError("{range} without {end}")
    return nodes


def _closing_brace(text: str, start: int) -> int:
    quote = None
    i = start + 1
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "}":
            return i
        i += 1
    raise JSONPathError(f"unclosed action in {text!r}")


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return body.encode("latin-1", "backslashreplace").decode("unicode_escape")


_STEP = re.compile(r"\.\.|\.|\[")


def parse_path(path: str) -> list:
    """Steps: ("field", name) ("all",) ("recurse", name) ("index", i) ("slice", a, b, step)
    ("filter", subpath, op, value) ("union", [keys])."""
    steps = []
    text = path.strip()
    if text.startswith("$") or text.startswith("@"):
        text = text[1:]
    i = 0
    if text and text[0] not in ".[":
        text = "." + text
    while i < len(text):
        if text.startswith("..", i):
            name, i = _name(text, i + 2)
            steps.append(("recurse", name))
        elif text[i] == ".":
            name, i = _name(text, i + 1)
            if name == "*":
                steps.append(("all",))
            elif name:
                steps.append(("field", name))
        elif text[i] == "[":
            end = _closing_bracket(text, i)
            steps.append(_bracket(text[i + 1:end].strip()))
            i = end + 1
        else:
            raise JSONPathError(f"unexpected {text[i]!r} in {path!r}")
    return steps


def _name(text: str, i: int) -> tuple[str, int]:
    out = []
    while i < len(text) and text[i] not in ".[":
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out), i


def _closing_bracket(text: str, start: int) -> int:
    depth, quote = 0, None
    for i in range(start, len(text)):
        c = text[i]
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return i
    raise JSONPathError(f"unclosed [ in {text!r}")


_FILTER = re.compile(r"^\?\((@[^=!<>]*?)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)$")


def _bracket(inner: str):
    if inner == "*":
        return ("all",)
    if inner.startswith("?"):
        m = _FILTER.match(inner)
        if not m:
            raise JSONPathError(f"invalid filter [{inner}]")
        sub, op, value = m.groups()
        literal = None
        if op:
            value = value.strip()
            literal = _unquote(value) if value[:1] in "'\"" else json.loads(value)
        return ("filter", parse_path(sub), op, literal)
    if ":" in inner:
        parts = [p.strip() for p in inner.split(":")]
        nums = [int(p) if p else None for p in parts] + [None] * (3 - len(parts))
        return ("slice", *nums[:3])
    keys = [k.strip() for k in inner.split(",")]
    if len(keys) == 1 and keys[0][:1] not in "'\"":
        try:
            return ("index", int(keys[0]))
        except ValueError as exc:
            raise JSONPathError(f"invalid index [{inner}]") from exc
    return ("union", [_unquote(k) if k[:1] in "'\"" else int(k) for k in keys])


def evaluate(steps: list, data) -> list:
    values = [data]
    for step in steps:
        values = [out for value in values for out in _apply(step, value)]
    return values


def _apply(step, value) -> list:
    kind = step[0]
    if kind == "field":
        return [value[step[1]]] if isinstance(value, dict) and step[1] in value else []
    if kind == "all":
        if isinstance(value, dict):
            return list(value.values())
        return list(value) if isinstance(value, list) else []
    if kind == "recurse":
        return _recurse(value, step[1])
    if kind == "index":
        if isinstance(value, list) and -len(value) <= step[1] < len(value):
            return [value[step[1]]]
        return []
    if kind == "slice":
        return value[slice(*step[1:])] if isinstance(value, list) else []
    if kind == "union":
        return [out for key in step[1] for out in _apply(
            ("index", key) if isinstance(key, int) else ("field", key), value)]
    if kind == "filter":
        _, sub, op, literal = step
        items = value if isinstance(value, list) else [value]
        return [item for item in items if _matches(evaluate(sub, item), op, literal)]
    raise JSONPathError(f"unknown step {step}")


def _recurse(value, name: str) -> list:
    found = []
    if isinstance(value, dict):
        if name in value:
            found.append(value[name])
        for child in value.values():
            found.extend(_recurse(child, name))
    elif isinstance(value, list):
        for child in value:
            found.extend(_recurse(child, name))
    return found


def _matches(results: list, op: str | None, literal) -> bool:
    if op is None:
        return bool(results)
    for result in results:
        try:
            if op == "==" and result == literal or op == "!=" and result != literal:
                return True
            ordered = op in ("<", "<=", ">", ">=") and isinstance(result, int | float) and \
                isinstance(literal, int | float)
            if ordered and {"<": result < literal, "<=": result <= literal,
                            ">": result > literal, ">=": result >= literal}[op]:
                return True
        except TypeError:
            continue
    return False


def to_text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return "null" if value is None else str(value)


def render(template: str | list, data) -> str:
    nodes = parse_template(template) if isinstance(template, str) else template
    out = []
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Expr):
            out.append(" ".join(to_text(v) for v in evaluate(node.steps, data)))
        else:
            for item in evaluate(node.steps, data):
                out.append(render(node.body, item))
    return "".join(out)


def relaxed(expression: str) -> list:
    """A custom-columns / --sort-by expression: `{.a.b}`, `.a.b` or `a.b`."""
    text = expression.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    return parse_path(text)
