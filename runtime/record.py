"""A plain typed record: the shape of every config object in the runtime.

The OCI spec objects (`spec.py`) and the runtime's own config (`config.py`) are
plain data: named, annotated fields with defaults, compared by value. That is
what `dataclasses` gives, but `import dataclasses` pulls in `inspect` and costs
about 6 ms, a quarter of runc's whole `run`; superc's CLI cannot afford it. This
base class does the little we need: the class annotations name the fields, class
attributes give the defaults, and `__init__` takes the fields as keywords.

Defaults must be immutable (None, numbers, strings, tuples); parsers always pass
fresh lists and dicts.
"""


class Record:
    """Base class: fields are the annotations of the subclass (no inheritance chains)."""

    __slots__ = ()

    def __init__(self, **fields: object) -> None:
        cls = type(self)
        for name in cls.__annotations__:
            value = fields.pop(name) if name in fields else getattr(cls, name, None)
            object.__setattr__(self, name, value)
        if fields:
            raise TypeError(f"{cls.__name__} has no field(s) {', '.join(sorted(fields))}")

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in type(self).__annotations__)
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in type(self).__annotations__)

    __hash__ = None  # mutable, compared by value
