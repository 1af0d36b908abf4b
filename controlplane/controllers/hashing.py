"""The pod-template hash, and template equality that ignores it.

A Deployment names each ReplicaSet `<deployment>-<hash>` and labels its pods
`pod-template-hash=<hash>`; a DaemonSet labels its pods `controller-revision-hash`.
Kubernetes' `ComputeHash`: FNV-32a over the template, then the collision count as
4 little-endian bytes (so a Deployment whose name collides with a foreign
ReplicaSet bumps `status.collisionCount` and gets a new name), the 32-bit sum
printed in decimal and each digit mapped onto a vowel-free alphabet
(`SafeEncodeString`, so no hash spells a word).

Kubernetes feeds FNV the Go struct as printed by spew; we feed it canonical JSON
(sorted keys, no spaces, empty values dropped), so the same template hashes to a
different value than on a real cluster, with the same shape (`web-7b9f5c6d48`).
"""

from __future__ import annotations

import copy
import json

HASH_LABEL = "pod-template-hash"
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv32a(data: bytes, value: int = _FNV_OFFSET) -> int:
    for byte in data:
        value ^= byte
        value = (value * _FNV_PRIME) & 0xFFFFFFFF
    return value


def safe_encode(text: str) -> str:
    return "".join(SAFE_ALPHABET[ord(ch) % len(SAFE_ALPHABET)] for ch in text)


def prune(value):
    """Drop None, empty maps and empty lists, recursively: Kubernetes' semantic
    equality treats a missing field and an empty one alike."""
    if isinstance(value, dict):
        pruned = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def canonical(value) -> bytes:
    return json.dumps(prune(value), sort_keys=True, separators=(",", ":")).encode()


def compute_hash(template: dict, collision_count: int | None = None) -> str:
    value = fnv32a(canonical(template))
    if collision_count is not None:
        value = fnv32a(int(collision_count).to_bytes(4, "little", signed=False), value)
    return safe_encode(str(value))


def without_hash_label(template: dict | None, label: str = HASH_LABEL) -> dict:
    template = copy.deepcopy(template or {})
    labels = (template.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(label, None)
    return template


def equal_ignore_hash(left: dict | None, right: dict | None, label: str = HASH_LABEL) -> bool:
    """Templates equal up to the hash label (Kubernetes' EqualIgnoreHash)."""
    return prune(without_hash_label(left, label)) == prune(without_hash_label(right, label))
