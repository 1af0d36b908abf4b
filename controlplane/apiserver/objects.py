"""How objects are kept in the store: keys, stored bytes, and the resourceVersion.

Keys follow Kubernetes' layout with the group added for non-core types, so two
groups can never collide:

    /registry/pods/<namespace>/<name>              core, namespaced
    /registry/nodes/<name>                         core, cluster-scoped
    /registry/apps/deployments/<namespace>/<name>  other groups

The stored value is the object's JSON *without* `metadata.resourceVersion`: the
resourceVersion is the key's `mod_revision`, known only after the write, and it
is put back on every read. Everything under `/registry/` is an API object; the
watch cache (`watchcache.py`) relies on that to map keys back to types.
"""

from __future__ import annotations

import datetime
import secrets
import time
import uuid

from . import codec, errors

ROOT = "/registry/"


def type_prefix(rt) -> str:
    """The key prefix of every object of `rt`."""
    if rt.group:
        return f"{ROOT}{rt.group}/{rt.plural}/"
    return f"{ROOT}{rt.plural}/"


def key(rt, namespace: str | None, name: str) -> str:
    if rt.namespaced:
        return f"{type_prefix(rt)}{namespace}/{name}"
    return type_prefix(rt) + name


def list_prefix(rt, namespace: str | None) -> str:
    """The prefix of a list: one namespace, or all of them (namespace None)."""
    if rt.namespaced and namespace:
        return f"{type_prefix(rt)}{namespace}/"
    return type_prefix(rt)


_META_FIRST = b'{"metadata":{'


def encode_for_store(obj: dict) -> bytes:
    """The stored form: metadata first and no resourceVersion (see `with_revision`)."""
    meta = obj["metadata"]
    rv = meta.pop("resourceVersion", None)
    try:
        return codec.dumps({"metadata": meta, **obj})
    finally:
        if rv is not None:
            meta["resourceVersion"] = rv


def with_revision(value: bytes, revision: int) -> bytes:
    """Stored bytes -> the object's JSON with its resourceVersion, without parsing it.

    Stored objects start with `{"metadata":{` (encode_for_store puts metadata
    first), so the resourceVersion is spliced in right there: a GET costs no JSON
    work at all. Anything else (written by another tool) takes the slow path.
    """
    if value.startswith(_META_FIRST):
        rest = value[len(_META_FIRST):]
        sep = b"" if rest.startswith(b"}") else b","
        return b'%s"resourceVersion":"%d"%s%s' % (_META_FIRST, revision, sep, rest)
    return codec.dumps(decode_stored(value, revision))


def decode_stored(value: bytes, revision: int) -> dict:
    obj = codec.loads(value)
    obj["metadata"]["resourceVersion"] = str(revision)
    return obj


_last_stamp = (0, "")     # (epoch second, its timestamp): written whole, read whole


def now() -> str:
    """The current time as Kubernetes writes timestamps (RFC 3339, seconds, UTC)."""
    global _last_stamp
    second = int(time.time())
    cached_second, stamp = _last_stamp
    if cached_second != second:
        # Every create stamps its object, and formatting a datetime costs more than
        # the rest of the metadata: a busy server formats each second once.
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
        _last_stamp = (second, stamp)
    return stamp


def later(seconds: int) -> str:
    at = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_uid() -> str:
    return str(uuid.uuid4())


# Kubernetes' alphabet for generateName suffixes: no vowels (no words), no
# look-alike characters (0/o, 1/l).
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def generate_name(base: str) -> str:
    # One read of the random pool, not five (the modulo bias is irrelevant here).
    suffix = "".join(_SUFFIX_ALPHABET[b % len(_SUFFIX_ALPHABET)] for b in secrets.token_bytes(5))
    return base[:58] + suffix


def content_without_meta(obj: dict) -> dict:
    """Everything an update can change besides metadata and status: the 'spec'."""
    return {k: v for k, v in obj.items()
            if k not in ("metadata", "status", "apiVersion", "kind")}


def parse_revision(text: str | None, what: str = "resourceVersion") -> int | None:
    """A resourceVersion from a request: None when absent, an int otherwise."""
    if text is None or text == "":
        return None
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise errors.bad_request(f"invalid {what}: must be a string")
    try:
        value = int(text)
    except ValueError:
        raise errors.bad_request(f'invalid {what} "{text}": must be an integer') from None
    if value < 0:
        raise errors.bad_request(f'invalid {what} "{text}": must not be negative')
    return value
