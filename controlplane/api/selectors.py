"""Label and field selectors, as `kubectl get -l` / `--field-selector` send them.

Label selectors follow Kubernetes' grammar: requirements separated by commas,
each one of `key`, `!key`, `key=value`, `key==value`, `key!=value`,
`key in (a,b)`, `key notin (a,b)`, `key>1`, `key<1`. `!=` and `notin` also match
objects without the label. The object form used in specs (`matchLabels` /
`matchExpressions`) converts to the same `LabelSelector`; an empty selector
matches everything, a missing one (`None`) nothing.

Field selectors are `path=value`, `path==value` or `path!=value` terms joined by
commas (`\\,` `\\=` `\\\\` escape); which paths are selectable is the
resource type's business (`ResourceType.field`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import validation
from .errors import SelectorError


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # in | notin | exists | ! | gt | lt  ("=", "==" are stored as "in")
    values: tuple[str, ...] = ()

    def matches(self, labels: dict) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("gt", "lt"):
            try:
                number, bound = int(value), int(self.values[0])
            except (TypeError, ValueError):
                return False
            return number > bound if self.op == "gt" else number < bound
        return False

    def __str__(self) -> str:
        if self.op == "exists":
            return self.key
        if self.op == "!":
            return f"!{self.key}"
        if self.op == "gt":
            return f"{self.key}>{self.values[0]}"
        if self.op == "lt":
            return f"{self.key}<{self.values[0]}"
        if self.op == "in" and len(self.values) == 1:
            return f"{self.key}={self.values[0]}"
        if self.op == "notin" and len(self.values) == 1:
            return f"{self.key}!={self.values[0]}"
        return f"{self.key} {self.op} ({','.join(self.values)})"


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False  # a selector that matches no object (a missing selector)

    def matches(self, labels: dict | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        return not self.requirements and not self.nothing

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def _check_key(key: str) -> None:
    problems = validation.label_key(key)
    if problems:
        raise SelectorError(f"invalid label key \"{key}\": {'; '.join(problems)}")


def _check_value(value: str) -> None:
    problems = validation.label_value(value)
    if problems:
        raise SelectorError(f"invalid label value: \"{value}\": at key: "
                            f"{'; '.join(problems)}")


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside `( )`."""
    terms, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(f"unable to parse requirement: unbalanced ')' in {text!r}")
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth:
        raise SelectorError(f"unable to parse requirement: missing ')' in {text!r}")
    terms.append("".join(current))
    return terms


_SET_TERM = re.compile(r"^\s*(\S+?)\s+(in|notin)\s*\((.*)\)\s*$")
_BINARY_TERM = re.compile(r"^\s*([^=!<>\s]+)\s*(==|=|!=|<|>)\s*(\S*)\s*$")
_EXISTS_TERM = re.compile(r"^\s*(!?)\s*([^=!<>\s(),]+)\s*$")


def _parse_term(term: str) -> Requirement:
    match = _SET_TERM.match(term)
    if match:
        key, op, inner = match.groups()
        if not inner.strip():
            raise SelectorError(f"unable to parse requirement: for 'in', 'notin' operators, "
                                f"values set can't be empty: {term.strip()!r}")
        values = tuple(sorted({v.strip() for v in inner.split(",")}))
        _check_key(key)
        for value in values:
            _check_value(value)
        return Requirement(key, op, values)
    match = _BINARY_TERM.match(term)
    if match:
        key, op, value = match.groups()
        _check_key(key)
        if op in ("<", ">"):
            if not re.match(r"^-?\d+$", value):
                raise SelectorError(f"unable to parse requirement: for 'Gt', 'Lt' operators, "
                                    f"the value must be an integer: {term.strip()!r}")
            return Requirement(key, "gt" if op == ">" else "lt", (value,))
        _check_value(value)
        return Requirement(key, "notin" if op == "!=" else "in", (value,))
    match = _EXISTS_TERM.match(term)
    if match:
        negate, key = match.groups()
        _check_key(key)
        return Requirement(key, "!" if negate else "exists")
    raise SelectorError(f"unable to parse requirement: {term.strip()!r}")


def parse_label_selector(text: str | None) -> LabelSelector:
    """`app=web,tier!=db,env in (a,b),!legacy` -> a LabelSelector; "" matches everything."""
    if text is None or not text.strip():
        return LabelSelector()
    terms = _split_terms(text)
    if any(not t.strip() for t in terms):
        raise SelectorError(f"unable to parse requirement: empty term in {text!r}")
    requirements = sorted((_parse_term(t) for t in terms), key=lambda r: r.key)
    return LabelSelector(tuple(requirements))


_EXPR_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def from_label_selector_object(selector: dict | None) -> LabelSelector:
    """A `matchLabels`/`matchExpressions` object as a LabelSelector (None matches nothing)."""
    if selector is None:
        return LabelSelector(nothing=True)
    requirements = []
    for key, value in sorted((selector.get("matchLabels") or {}).items()):
        _check_key(key)
        _check_value(value)
        requirements.append(Requirement(key, "in", (value,)))
    for expr in selector.get("matchExpressions") or []:
        op = _EXPR_OPS.get(expr.get("operator"))
        if op is None:
            raise SelectorError(f"{expr.get('operator')!r} is not a valid label selector "
                                "operator")
        key = expr.get("key", "")
        _check_key(key)
        values = tuple(sorted(expr.get("values") or []))
        if op in ("in", "notin") and not values:
            raise SelectorError(f"for 'in', 'notin' operators, values set can't be empty "
                                f"(key {key!r})")
        if op in ("exists", "!") and values:
            raise SelectorError(f"values set must be empty for exists and does not exist "
                                f"(key {key!r})")
        requirements.append(Requirement(key, op, values))
    return LabelSelector(tuple(requirements))


def selector_from_set(labels: dict | None) -> LabelSelector:
    """Equality on every pair of a plain label map (a Service's selector); an empty
    or missing map selects everything, as a Service with no selector does."""
    return LabelSelector(tuple(Requirement(k, "in", (v,)) for k, v in
                               sorted((labels or {}).items())))


@dataclass(frozen=True)
class FieldRequirement:
    path: str
    op: str  # "=" or "!="
    value: str

    def matches(self, actual: str) -> bool:
        return (actual == self.value) if self.op == "=" else (actual != self.value)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _split_unescaped(text: str, sep: str) -> list[str]:
    return re.split(r"(?<!\\)" + re.escape(sep), text)


def parse_field_selector(text: str | None) -> list[FieldRequirement]:
    """`metadata.name=web,spec.nodeName!=` -> requirements (empty for "" or None)."""
    if text is None or not text.strip():
        return []
    found = []
    for term in _split_unescaped(text, ","):
        match = re.match(r"^\s*([^=!\s]+)\s*(==|=|!=)(.*)$", term)
        if not match:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        path, op, value = match.groups()
        if re.search(r"(?<!\\)=", value):
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        found.append(FieldRequirement(path, "!=" if op == "!=" else "=",
                                      _unescape(value.strip())))
    return found


def fields_match(rt, obj: dict, requirements: list[FieldRequirement]) -> bool:
    """Whether `obj` of type `rt` satisfies every field requirement; raises
    `SelectorError("field label not supported: ...")` for paths `rt` cannot select."""
    for req in requirements:
        actual = rt.field(obj, req.path)
        if actual is None:
            raise SelectorError(f"field label not supported: {req.path}")
        if not req.matches(actual):
            return False
    return True


def check_field_selector(rt, requirements: list[FieldRequirement]) -> None:
    """Raise `SelectorError` for a path `rt` cannot select (before listing anything)."""
    for req in requirements:
        if req.path not in rt.selectable_fields():
            raise SelectorError(f"field label not supported: {req.path}")


__all__ = ["LabelSelector", "Requirement", "FieldRequirement", "parse_label_selector",
           "from_label_selector_object", "selector_from_set", "parse_field_selector",
           "fields_match", "check_field_selector"]
