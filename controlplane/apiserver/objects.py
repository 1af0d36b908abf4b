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
import os
import threading
import time

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


class _RandomPool:
    """Bytes from the kernel's random source, drawn 4 KiB at a time.

    Every create takes a uid and most a generated name; os.urandom per value is a
    getrandom() system call that lets go of the GIL, which a busy server pays for
    in thread switches. The bytes are as random as os.urandom's; a forked child
    starts a pool of its own, so parent and child never hand out the same bytes.
    """

    SIZE = 4096

    def __init__(self):
        self._lock = threading.Lock()
        self._data = b""
        self._used = 0
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._data, self._used = b"", 0

    def take(self, count: int) -> bytes:
        with self._lock:
            if self._used + count > len(self._data):
                self._data, self._used = os.urandom(max(self.SIZE, count)), 0
            start = self._used
            self._used += count
            return self._data[start:self._used]


_random = _RandomPool()


def new_uid() -> str:
    """A random (version 4) UUID, as uuid.uuid4() makes it."""
    raw = bytearray(_random.take(16))
    raw[6] = (raw[6] & 0x0F) | 0x40            # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80            # the RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


# Kubernetes' alphabet for generateName suffixes: no vowels (no words), no
# look-alike characters (0/o, 1/l).
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def generate_name(base: str) -> str:
    # The modulo bias is irrelevant here.
    suffix = "".join(_SUFFIX_ALPHABET[b % len(_SUFFIX_ALPHABET)] for b in _random.take(5))
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
