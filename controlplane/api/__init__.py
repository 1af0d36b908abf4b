"""API types shared by the API server, the controllers, superctl and the agent.

Objects are plain dicts everywhere; this package *describes* them once and
derives the rest from those descriptions:

- `registry`: every served resource type (`ResourceType`): names, scope,
  subresources, verbs, and its defaulting, validation, table and field-selector
  functions; `types/` holds one module per resource family and registers them.
- `schema`: the schema DSL, strict unknown-field and JSON type checks, constant
  defaults. `openapi` (with `openapi_schemas`) renders the same schemas as
  OpenAPI v2/v3, `openapi_proto` the v2 document in the protobuf kubectl wants.
- `errors`: `FieldError` (validation results, rendered as Kubernetes renders them)
  and the package's exception tree.
- `validation`, `tables`, `meta`: shared building blocks.
- `patch`, `strategic`: JSON merge patch, JSON patch, strategic merge patch.
- `selectors`, `quantity`: label/field selectors and resource quantities.
"""

from .errors import ApiTypeError, Conflict, FieldError, PatchError, QuantityError, SelectorError

__all__ = ["ApiTypeError", "Conflict", "FieldError", "PatchError", "QuantityError",
           "SelectorError"]
