"""Toleration matching (Kubernetes' `Toleration.ToleratesTaint`), shared by the plugins
that look at taints. Not a plugin itself."""

from __future__ import annotations


def tolerates(toleration: dict, taint: tuple[str, str, str]) -> bool:
    key, value, effect = taint
    wanted_effect = toleration.get("effect") or ""
    if wanted_effect and wanted_effect != effect:
        return False
    wanted_key = toleration.get("key") or ""
    if wanted_key and wanted_key != key:
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return str(toleration.get("value") or "") == value
    return False


def untolerated(taints: list[tuple[str, str, str]], tolerations: list[dict],
                effects: tuple[str, ...]) -> list[int]:
    """Indexes into `taints` of those with one of `effects` that no toleration covers."""
    return [i for i, taint in enumerate(taints)
            if taint[2] in effects and not any(tolerates(t, taint) for t in tolerations)]
