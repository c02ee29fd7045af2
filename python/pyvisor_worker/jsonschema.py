"""pydantic models (any class with `model_json_schema()`) as type nodes, read from their JSON schema.

Loaded only when such a class is annotated. The subset pydantic writes is understood: `type`
(string, integer, number, boolean, null, array with `items` or `prefixItems`, object with
`properties`/`required` or `additionalProperties`), `enum`, `const`, `anyOf`/`oneOf`, a single
`allOf`, and `$ref` into `$defs` (each definition becomes a named type). Anything else is
`unknown` with a note.
"""
from .typenodes import union, unknown

_SIMPLE = {"string": {"t": "str"}, "integer": {"t": "int"}, "number": {"t": "float"},
           "boolean": {"t": "bool"}, "null": {"t": "none"}}


def schema_node(types, schema, name):
    """The node of a model's top-level schema (its own object type); `$defs` become named types."""
    defs = schema.get("$defs") or schema.get("definitions") or {}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.rsplit("/", 1)[-1] == name and name in defs:
        schema = defs[name]  # a recursive model: the schema is a reference to its own definition
    return _Reader(types, defs, name).node(schema)


class _Reader:
    def __init__(self, types, defs, top):
        self.types = types
        self.defs = defs
        self.top = top

    def node(self, s):
        if not isinstance(s, dict):
            return {"t": "any"} if s is True else unknown(f"schema {s!r}")
        if "$ref" in s:
            return self.ref(s["$ref"])
        if "const" in s:
            return {"t": "literal", "values": [s["const"]]}
        if "enum" in s:
            return {"t": "literal", "values": list(s["enum"])}
        for key in ("anyOf", "oneOf"):
            if key in s:
                return union([self.node(x) for x in s[key]])
        if "allOf" in s and len(s["allOf"]) == 1:
            return self.node(s["allOf"][0])
        kind = s.get("type")
        if isinstance(kind, list):
            return union([self.node(dict(s, type=k)) for k in kind])
        if kind in _SIMPLE:
            return _SIMPLE[kind]
        if kind == "array":
            if "prefixItems" in s:
                items = [self.node(x) for x in s["prefixItems"]]
                rest = s.get("items")
                return {"t": "tuple", "items": items, **({"rest": self.node(rest)} if isinstance(rest, dict) else {})}
            return {"t": "list", "of": self.node(s.get("items", True))}
        if kind == "object":
            props = s.get("properties")
            if props is None:
                extra = s.get("additionalProperties", True)
                return {"t": "dict", "of": self.node(extra)}
            required = set(s.get("required", []))
            return {"t": "object", "fields": [{"name": k, "type": self.node(v), "optional": k not in required}
                                              for k, v in props.items()]}
        if not s or set(s) <= {"title", "description", "default"}:
            return {"t": "any"}
        return unknown(f"JSON schema {sorted(s)!r} not understood")

    def ref(self, ref):
        prefix = next((p for p in ("#/$defs/", "#/definitions/") if ref.startswith(p)), None)
        if prefix is None:
            return unknown(f"$ref {ref!r}")
        key = ref[len(prefix):]
        target = self.defs.get(key)
        if target is None:
            return unknown(f"$ref {ref!r} has no definition")
        doc = target.get("description") if isinstance(target, dict) else None
        return self.types.named(key, doc, lambda: self.node(target))
