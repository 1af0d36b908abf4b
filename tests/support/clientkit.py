"""Small object builders shared by the client and superctl tests."""

from __future__ import annotations


def configmap(name: str, **data) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"app": "test"}}, "data": data}


def pod(name: str, node: str = "", **labels) -> dict:
    spec: dict = {"containers": [{"name": "main", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {"app": "test"}}, "spec": spec}


def deployment(name: str, replicas: int = 1, image: str = "nginx") -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


def superctl_path() -> str:
    """The installed superctl next to the running interpreter."""
    import sys
    from pathlib import Path
    return str(Path(sys.executable).parent / "superctl")
