"""Content digests (`sha256:<hex>`): parsing, hashing, and a hashing pass-through reader.

Everything in the store is addressed by digest, and every byte that enters it is
hashed on the way in; this module is the one place that knows what a valid digest
looks like. Only sha256 is produced; sha512 digests are accepted when verifying
content that names them (the OCI image spec registers both).
"""

import hashlib
import re

from .errors import DigestMismatch, FormatError

_PATTERNS = {
    "sha256": re.compile(r"[a-f0-9]{64}"),
    "sha512": re.compile(r"[a-f0-9]{128}"),
}


def parse(digest: str) -> tuple[str, str]:
    """Split `sha256:abc...` into (algorithm, hex); raise FormatError when malformed."""
    algorithm, sep, hexpart = str(digest).partition(":")
    pattern = _PATTERNS.get(algorithm)
    if not sep or pattern is None or not pattern.fullmatch(hexpart):
        raise FormatError(f"invalid digest {digest!r} (want sha256:<64 hex digits>)")
    return algorithm, hexpart


def validate(digest: str) -> str:
    parse(digest)
    return digest


def hasher(digest: str = "sha256:"):
    """A fresh hashlib object for the algorithm `digest` names."""
    algorithm = digest.partition(":")[0] or "sha256"
    return hashlib.new(algorithm)


def of_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def verify_bytes(data: bytes, expected: str, what: str = "content") -> None:
    algorithm, _ = parse(expected)
    actual = f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
    if actual != expected:
        raise DigestMismatch(f"{what}: digest mismatch, expected {expected}, got {actual}")


def chain_ids(diff_ids: list[str]) -> list[str]:
    """The OCI chain IDs of a layer stack: ChainID(n) = sha256(ChainID(n-1) + " " + DiffID(n)).

    A chain ID names a layer *together with everything below it*, so two images
    that share their first three layers share three snapshots.
    """
    chain: list[str] = []
    for diff_id in diff_ids:
        validate(diff_id)
        chain.append(diff_id if not chain else of_bytes(f"{chain[-1]} {diff_id}".encode()))
    return chain


class HashingReader:
    """Wraps a binary stream; hashes and counts every byte read through it."""

    def __init__(self, stream, digest: str = "sha256:"):
        self._stream = stream
        self._hash = hasher(digest)
        self._algorithm = digest.partition(":")[0] or "sha256"
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self._hash.update(data)
        self.size += len(data)
        return data

    def drain(self, chunk: int = 1 << 20) -> None:
        """Read to the end, so the digest covers the whole stream (tar padding included)."""
        while self.read(chunk):
            pass

    @property
    def digest(self) -> str:
        return f"{self._algorithm}:{self._hash.hexdigest()}"
