"""Render schema DSL nodes as OpenAPI v2 definitions or v3 component schemas.

Named structs and named scalars (Time, Quantity, IntOrString) become definitions
referenced by `$ref`, as in Kubernetes' own documents; list fields carry the
`x-kubernetes-list-type` / `-list-map-keys` and `x-kubernetes-patch-merge-key` /
`-patch-strategy` extensions that `kubectl apply` and `kubectl explain` read, and
top-level kinds `x-kubernetes-group-version-kind`. v3 wraps a described `$ref`
in `allOf` (OpenAPI 3.0 ignores siblings of `$ref`) and shows constant defaults.
"""

from __future__ import annotations

from . import schema as sch

_SCALAR_DOCS = {
    sch.TIME.name: "Time is a wrapper around time.Time which supports correct marshaling "
                   "to YAML and JSON: an RFC 3339 date and time in UTC.",
    sch.MICRO_TIME.name: "MicroTime is version of Time with microsecond level precision.",
    sch.QUANTITY.name: "Quantity is a fixed-point representation of a number, such as "
                       "`100m`, `1.5`, `64Mi` or `1G`: a signed number followed by an "
                       "optional binary-SI (Ki..Ei), decimal-SI (n, u, m, k..E) or decimal "
                       "exponent (e3) suffix.",
    sch.INT_OR_STRING.name: "IntOrString is a type that can hold an int32 or a string.",
    sch.RAW_EXTENSION.name: "RawExtension is used to hold extensions in external versions: "
                            "any JSON object.",
}


class Renderer:
    """Turns schemas into JSON schema dicts, collecting named definitions as it goes."""

    def __init__(self, v3: bool):
        self.v3 = v3
        self.definitions: dict[str, dict] = {}
        self.gvks: dict[str, list[dict]] = {}

    def ref(self, name: str) -> dict:
        prefix = "#/components/schemas/" if self.v3 else "#/definitions/"
        return {"$ref": prefix + name}

    def add_gvk(self, struct: sch.Struct, group: str, version: str, kind: str) -> None:
        entry = {"group": group, "kind": kind, "version": version}
        found = self.gvks.setdefault(struct.name, [])
        if entry not in found:
            found.append(entry)

    def node(self, node: sch.Schema) -> dict:
        """The schema of a value (a `$ref` for named types)."""
        if isinstance(node, sch.Struct):
            self.struct(node)
            return self.ref(node.name)
        if isinstance(node, sch.Scalar):
            if node.name:
                self._named_scalar(node)
                return self.ref(node.name)
            return self._scalar(node)
        if isinstance(node, sch.Free):
            if node.name:
                self.definitions.setdefault(node.name, {
                    "description": _SCALAR_DOCS.get(node.name, ""), "type": "object"})
                return self.ref(node.name)
            return self._free()
        if isinstance(node, sch.ListOf):
            out = {"type": "array", "items": self.node(node.items)}
            if node.list_type:
                out["x-kubernetes-list-type"] = node.list_type
            if node.map_keys:
                out["x-kubernetes-list-map-keys"] = list(node.map_keys)
            if node.merge_key:
                out["x-kubernetes-patch-merge-key"] = node.merge_key
            if node.strategy:
                out["x-kubernetes-patch-strategy"] = node.strategy
            return out
        if isinstance(node, sch.MapOf):
            return {"type": "object", "additionalProperties": self.node(node.values)}
        raise TypeError(f"cannot render {node!r}")

    def _free(self) -> dict:
        if self.v3:
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        return {"type": "object"}

    def _scalar(self, node: sch.Scalar) -> dict:
        if node.type in ("int-or-string", "quantity"):
            return {"type": "string", "format": "int-or-string"} if node.type == \
                "int-or-string" else {"type": "string"}
        out = {"type": node.type}
        if node.format:
            out["format"] = node.format
        return out

    def _named_scalar(self, node: sch.Scalar) -> None:
        if node.name in self.definitions:
            return
        if node.type == "int-or-string":
            body = {"type": "string", "format": "int-or-string"}
        elif node.type == "quantity":
            body = {"type": "string"}
        else:
            body = self._scalar(node)
        self.definitions[node.name] = {"description": _SCALAR_DOCS.get(node.name, ""), **body}

    def struct(self, struct: sch.Struct) -> None:
        if struct.name in self.definitions:
            return
        out: dict = {"description": struct.doc, "type": "object"}
        self.definitions[struct.name] = out  # before recursing: structs may nest
        properties = {}
        for key, field in struct.fields.items():
            properties[key] = self.property(field)
        if properties:
            out["properties"] = properties
        required = sorted(k for k, f in struct.fields.items() if f.required)
        if required:
            out["required"] = required

    def property(self, field: sch.Field) -> dict:
        value = self.node(field.schema)
        extra: dict = {}
        if field.doc:
            extra["description"] = field.doc
        if field.strategy:
            extra["x-kubernetes-patch-strategy"] = field.strategy
        if self.v3 and field.has_default:
            extra["default"] = field.default
        if "$ref" in value:
            if not extra:
                return value
            if self.v3:
                return {"allOf": [value], **extra}
            # Kubernetes' v2 documents keep the description next to $ref.
            return {**extra, **value}
        return {**extra, **value}

    def finish(self) -> dict[str, dict]:
        for name, gvks in self.gvks.items():
            self.definitions[name]["x-kubernetes-group-version-kind"] = gvks
        return dict(sorted(self.definitions.items()))
