"""JSON without `import json`: the interpreter's own C codec, called directly.

Every `superc run` reads config.json and writes its state files as JSON, but
`import json` costs ~5 ms of CPU there, a sixth of what `runc run` takes in all:
json's decoder module compiles a few regular expressions at import, so it loads
`re`, and `re` loads `enum`. The C accelerator that `json` itself calls, `_json`,
needs neither, and it is built into CPython. `loads` and `dumps` here call it the
way `json.loads(s)` and `json.dumps(obj)` do with their default settings.

Anything unusual is left to `json` itself, imported only then: a document the
fast path cannot read is parsed again by `json.loads` (so a syntax error carries
json's usual message, `JSONDecodeError`), and an interpreter without `_json`, or
with one that takes other arguments, uses `json` for everything.
"""

try:
    import _json
except ImportError:  # not CPython
    _json = None

_WHITESPACE = " \t\n\r"  # what JSON allows around a value (json.decoder.WHITESPACE)


class _Defaults:
    """The settings `json.JSONDecoder()` hands its C scanner, at their defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # NaN, Infinity and -Infinity, as json reads them


def _not_serializable(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


try:
    _scan = _json.make_scanner(_Defaults())
    # (markers, default, encoder, indent, key_separator, item_separator, sort_keys,
    # skipkeys, allow_nan): json.JSONEncoder's defaults, without the circular-reference
    # check (our documents are plain trees).
    _encode = _json.make_encoder(None, _not_serializable, _json.encode_basestring_ascii,
                                 None, ": ", ", ", False, False, True)
except (AttributeError, TypeError):
    _scan = _encode = None
    # Imported now, not when first needed: dumps() also runs in a container's init
    # (hooks), where nothing can be imported after pivot_root.
    import json  # noqa: F401


def loads(data: bytes | str) -> object:
    """`json.loads(data)`."""
    if _scan is not None:
        try:
            text = data.decode() if isinstance(data, bytes) else data
            start = len(text) - len(text.lstrip(_WHITESPACE))
            value, end = _scan(text, start)
            if not text[end:].strip(_WHITESPACE):
                return value
        except (ValueError, StopIteration, SystemError):
            # Not JSON (or not UTF-8): json says what is wrong. (Python 3.11's _json
            # reports a syntax error with json.decoder's exception only if that module
            # is loaded already; otherwise it fails with a SystemError.)
            pass
    import json

    return json.loads(data)


def dumps(value: object) -> str:
    """`json.dumps(value)`."""
    if _encode is not None:
        return "".join(_encode(value, 0))
    import json

    return json.dumps(value)
